package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// sqliteOnly refuses backends whose data this command cannot reach: backup
// and restore work on the SQLite file itself.
func (o localOptions) sqliteOnly(command string) error {
	cfg := o.Config()
	if cfg.Backend != "local" {
		return licensing.Errorf(licensing.EINVALID, "%s works on a local SQLite store, not the %s backend", command, cfg.Backend).
			WithHint("run it on the server's machine with --db pointing at its store")
	}
	if postgres.IsURL(cfg.DB) {
		return licensing.Errorf(licensing.EINVALID, "%s works on a SQLite store; --db is a PostgreSQL URL", command).
			WithHint("back up PostgreSQL with pg_dump")
	}
	return nil
}

type backupOptions struct {
	localOptions
	File  string
	Force bool
}

func newBackupCmd(f *Factory, runF func(*backupOptions) error) *cobra.Command {
	o := &backupOptions{localOptions: f.localOptions()}
	c := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store to FILE, while it is in use",
		Long: `Write a consistent copy of the SQLite store to FILE (SQLite VACUUM INTO). Other
licensectl processes, a running serve included, may keep buying and
activating meanwhile: the copy holds exactly what was committed when it
began, never half a purchase. FILE is created with mode 0600 and appears only
once complete; an existing FILE is refused unless --force.

Restore it with ` + "`licensectl restore FILE`" + `.`,
		Example: "  licensectl backup /var/backups/licensectl-$(date +%F).db\n  licensectl backup nightly.db --force",
		Args:    exactArgs(1, "a backup file"),
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			if runF != nil {
				return runF(o)
			}
			return backupRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.Force, "force", false, "overwrite FILE if it exists")
	return c
}

func backupRun(ctx context.Context, o *backupOptions) error {
	if err := o.sqliteOnly("licensectl backup"); err != nil {
		return err
	}
	format, err := o.format()
	if err != nil {
		return err
	}
	if err := storeDir(o.File); err != nil {
		return err
	}
	s, err := sqlite.Open(ctx, o.Config().DB, sqlite.Options{Clock: o.Clock})
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := s.Backup(ctx, o.File, o.Force)
	if err != nil || o.quiet() {
		return err
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Backed up %s to %s (%d bytes)\n", res.Store, res.Path, res.Bytes)
		return err
	})
}

type restoreOptions struct {
	localOptions
	File string
}

func newRestoreCmd(f *Factory, runF func(*restoreOptions) error) *cobra.Command {
	o := &restoreOptions{localOptions: f.localOptions()}
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the store with a backup, after checking the backup's integrity",
		Long: `Replace the SQLite store with the backup in FILE. FILE must be a licensectl
store that passes PRAGMA integrity_check and foreign_key_check; it is copied
(FILE itself is left untouched), checked, upgraded to this version's schema
and then swapped in atomically. A damaged backup changes nothing.

Restore refuses while any other process has the store open (a running
serve, a bulk purchase): stop them first. Everything written after the
backup was taken is lost, so it asks first; --yes skips the question and is
required when stdin is not a terminal.`,
		Example: "  licensectl restore /var/backups/licensectl-2026-11-24.db --yes",
		Args:    exactArgs(1, "a backup file"),
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			if runF != nil {
				return runF(o)
			}
			return restoreRun(c.Context(), o)
		},
	}
}

func restoreRun(ctx context.Context, o *restoreOptions) error {
	if err := o.sqliteOnly("licensectl restore"); err != nil {
		return err
	}
	format, err := o.format()
	if err != nil {
		return err
	}
	db := o.Config().DB
	if err := storeDir(db); err != nil {
		return err
	}
	if err := o.confirm(fmt.Sprintf("restore would replace %s with %s", db, o.File),
		fmt.Sprintf("Replace %s with %s? Changes made since the backup are lost.", db, o.File), "nothing was changed"); err != nil {
		return err
	}
	res, err := sqlite.Restore(ctx, o.File, db, o.Clock)
	if err != nil || o.quiet() {
		return err
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Restored %s from %s (schema version %d, %d purchases, %d licenses)\n",
			res.Store, res.From, res.SchemaVersion, res.Purchases, res.Licenses)
		return err
	})
}
