package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/sqlite"
)

type migrateResult struct {
	From string `json:"from"`
	To   string `json:"to"`
	*postgres.CopyReport
}

type migrateOptions struct {
	localOptions
	// From is the SQLite store to copy (sqlite:PATH without the prefix) and
	// To the PostgreSQL URL; both empty: upgrade the configured store in
	// place.
	From, To string
}

func newMigrateCmd(f *Factory, runF func(*migrateOptions) error) *cobra.Command {
	o := &migrateOptions{localOptions: f.localOptions()}
	var from string
	c := &cobra.Command{
		Use:   "migrate [--from sqlite:PATH --to postgres://...]",
		Short: "Upgrade the store's schema, or copy a SQLite store into a new PostgreSQL store",
		Long: `Without flags: bring the configured store (--db) to the schema this licensectl
knows and say which version it is at. Every command does this on open; migrate
does only that, for an upgrade step in a deployment script.

With --from and --to: copy every account, company, purchase, license, maintenance plan, renewal
record, attach request, activation, signing key, audit event, API token and
idempotency record of a SQLite store into an empty PostgreSQL store, in one
transaction: each table is streamed with COPY, read back and compared with the
source (row count and SHA-256) before anything is committed. An error or an
interrupt leaves the PostgreSQL store empty; run the command again.

The PostgreSQL store is created (with the schema named in search_path) if it
does not exist; it must hold no data. Stop writers of the SQLite store first:
the copy is of one consistent snapshot, and later changes are not carried over.`,
		Example: "  licensectl migrate --db /srv/licensectl/licenses.db\n  licensectl migrate --from sqlite:./licensectl.db --to 'postgres://licensectl@db.internal/licensectl?search_path=licensing'",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if from != "" || o.To != "" {
				path, ok := strings.CutPrefix(from, "sqlite:")
				if !ok || path == "" {
					return licensing.Errorf(licensing.EINVALID, "--from must be sqlite:PATH").
						WithHint("for example --from sqlite:./licensectl.db")
				}
				if !postgres.IsURL(o.To) {
					return licensing.Errorf(licensing.EINVALID, "--to must be a postgres:// or postgresql:// URL")
				}
				o.From = path
			}
			if runF != nil {
				return runF(o)
			}
			if o.From == "" {
				return migrateInPlace(c.Context(), o)
			}
			return migrateCopy(c.Context(), o)
		},
	}
	c.Flags().StringVar(&from, "from", "", "source store: sqlite:PATH")
	c.Flags().StringVar(&o.To, "to", "", "destination: postgres://USER@HOST:PORT/DATABASE[?search_path=SCHEMA]")
	return c
}

// migrateCopy copies a SQLite store into a new PostgreSQL store.
func migrateCopy(ctx context.Context, o *migrateOptions) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	src, err := sqlite.Open(ctx, o.From, sqlite.Options{Clock: o.Clock})
	if err != nil {
		return err
	}
	defer src.Close()
	snap, err := src.BeginSnapshot(ctx)
	if err != nil {
		return err
	}
	defer snap.Rollback()
	dst, err := postgres.Open(ctx, o.To, postgres.Options{Create: true, Clock: o.Clock})
	if err != nil {
		return err
	}
	defer dst.Close()
	report, err := dst.CopyFromSQLite(ctx, snap, nil)
	if err != nil {
		return err
	}
	res := migrateResult{From: "sqlite:" + src.Path(), To: dst.Path(), CopyReport: report}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		for _, t := range res.Tables {
			if _, err := fmt.Fprintf(w, "%-17s %d\n", t.Table, t.Rows); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "Copied %d rows from %s to %s (verified, sha256 %s)\n", res.Rows, res.From, res.To, res.Checksum)
		return err
	})
}

// migrateInPlace opens the configured store, which applies any migration it
// lacks, and reports the schema version.
func migrateInPlace(ctx context.Context, o *migrateOptions) error {
	if err := o.local("migrate works on a local store; a server migrates its own on start"); err != nil {
		return err
	}
	format, err := o.format()
	if err != nil {
		return err
	}
	s, err := o.OpenStore(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	res := map[string]any{"path": s.Path(), "schema_version": v}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store %s is at schema version %d\n", s.Path(), v)
		return err
	})
}
