package cmd

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/output"
)

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit, build date and Go version",
		Example: "  licensectl version\n  licensectl version -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			format, err := f.Format()
			if err != nil {
				return err
			}
			v := map[string]string{"version": f.Build.Version, "commit": f.Build.Commit, "date": f.Build.Date, "go": runtime.Version()}
			return output.Object(f.IO.Out, format, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "licensectl %s (commit %s, built %s, %s)\n", v["version"], v["commit"], v["date"], v["go"])
				return err
			})
		},
	}
}
