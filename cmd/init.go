package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

type initResult struct {
	Path          string `json:"path"`
	SchemaVersion int    `json:"schema_version"`
	ProductsAdded int    `json:"products_added"`
}

// localOptions are what the commands that work on the store itself (init,
// migrate, backup, restore) take from the Factory besides env: the store's
// opener.
type localOptions struct {
	env
	// OpenStore opens the configured store; create makes it if need be.
	OpenStore func(ctx context.Context, create bool) (localStore, error)
}

func (f *Factory) localOptions() localOptions {
	return localOptions{env: f.env(), OpenStore: func(ctx context.Context, create bool) (localStore, error) {
		return openStore(ctx, f, create)
	}}
}

// local refuses the http backend: these commands work on a store file or
// database, not through a server.
func (o localOptions) local(why string) error {
	if b := o.Config().Backend; b != "local" {
		return licensing.Errorf(licensing.EINVALID, "%s", why)
	}
	return nil
}

type initOptions struct{ localOptions }

func newInitCmd(f *Factory, runF func(*initOptions) error) *cobra.Command {
	o := &initOptions{localOptions: f.localOptions()}
	return &cobra.Command{
		Use:   "init",
		Short: "Create or upgrade the store and seed the product catalog",
		Long: `Create the store (or upgrade an existing one to the current schema) and
seed the default product catalog. Running it again is harmless: existing data
and imported prices are kept. --db takes a SQLite file path (the default) or a
postgres:// URL; on PostgreSQL the schema named first in the URL's search_path
is created if it does not exist.`,
		Example: "  licensectl init\n  licensectl init --db ./licenses.db\n  licensectl init --db 'postgres://licensectl@db.internal/licensectl?search_path=licensing'",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return initRun(c.Context(), o)
		},
	}
}

func initRun(ctx context.Context, o *initOptions) error {
	if err := o.local("init works on a local store; the server initialises its own"); err != nil {
		return err
	}
	format, err := o.format()
	if err != nil {
		return err
	}
	s, err := o.OpenStore(ctx, true)
	if err != nil {
		return err
	}
	defer s.Close()
	added, err := s.Seed(ctx)
	if err != nil {
		return err
	}
	version, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	res := initResult{Path: s.Path(), SchemaVersion: version, ProductsAdded: added}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Store ready at %s (schema version %d, %d catalog products added)\n", res.Path, res.SchemaVersion, res.ProductsAdded)
		return err
	})
}
