package cmd

import (
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

func newMigrateCmd(f *Factory) *cobra.Command {
	var from, to string
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
			if from == "" && to == "" {
				return migrateInPlace(c, f)
			}
			path, ok := strings.CutPrefix(from, "sqlite:")
			if !ok || path == "" {
				return licensing.Errorf(licensing.EINVALID, "--from must be sqlite:PATH").
					WithHint("for example --from sqlite:./licensectl.db")
			}
			if !postgres.IsURL(to) {
				return licensing.Errorf(licensing.EINVALID, "--to must be a postgres:// or postgresql:// URL")
			}
			format, err := f.Format()
			if err != nil {
				return err
			}
			ctx := c.Context()
			src, err := sqlite.Open(ctx, path, sqlite.Options{Clock: f.Clock})
			if err != nil {
				return err
			}
			defer src.Close()
			snap, err := src.BeginSnapshot(ctx)
			if err != nil {
				return err
			}
			defer snap.Rollback()
			dst, err := postgres.Open(ctx, to, postgres.Options{Create: true, Clock: f.Clock})
			if err != nil {
				return err
			}
			defer dst.Close()
			report, err := dst.CopyFromSQLite(ctx, snap, nil)
			if err != nil {
				return err
			}
			res := migrateResult{From: "sqlite:" + src.Path(), To: dst.Path(), CopyReport: report}
			if f.Config().Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, res, func(w io.Writer) error {
				for _, t := range res.Tables {
					if _, err := fmt.Fprintf(w, "%-17s %d\n", t.Table, t.Rows); err != nil {
						return err
					}
				}
				_, err := fmt.Fprintf(w, "Copied %d rows from %s to %s (verified, sha256 %s)\n", res.Rows, res.From, res.To, res.Checksum)
				return err
			})
		},
	}
	c.Flags().StringVar(&from, "from", "", "source store: sqlite:PATH")
	c.Flags().StringVar(&to, "to", "", "destination: postgres://USER@HOST:PORT/DATABASE[?search_path=SCHEMA]")
	return c
}

// migrateInPlace opens the configured store, which applies any migration it
// lacks, and reports the schema version.
func migrateInPlace(c *cobra.Command, f *Factory) error {
	if f.Config().Backend != "local" {
		return licensing.Errorf(licensing.EINVALID, "migrate works on a local store; a server migrates its own on start")
	}
	format, err := f.Format()
	if err != nil {
		return err
	}
	s, err := openStore(c.Context(), f, false)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.SchemaVersion(c.Context())
	if err != nil {
		return err
	}
	res := map[string]any{"path": s.Path(), "schema_version": v}
	if f.Config().Quiet {
		return nil
	}
	return output.Object(f.IO.Out, format, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store %s is at schema version %d\n", s.Path(), v)
		return err
	})
}
