package cmd

import (
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

func newInitCmd(f *Factory) *cobra.Command {
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
			cfg := f.Config()
			if cfg.Backend != "local" {
				return licensing.Errorf(licensing.EINVALID, "init works on a local store; the server initialises its own")
			}
			format, err := f.Format()
			if err != nil {
				return err
			}
			s, err := openStore(c.Context(), f, true)
			if err != nil {
				return err
			}
			defer s.Close()
			added, err := s.Seed(c.Context())
			if err != nil {
				return err
			}
			version, err := s.SchemaVersion(c.Context())
			if err != nil {
				return err
			}
			res := initResult{Path: s.Path(), SchemaVersion: version, ProductsAdded: added}
			if cfg.Quiet {
				return nil
			}
			return output.Object(f.IO.Out, format, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Store ready at %s (schema version %d, %d catalog products added)\n", res.Path, res.SchemaVersion, res.ProductsAdded)
				return err
			})
		},
	}
}
