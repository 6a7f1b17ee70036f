package cmd

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/output"
)

type versionOptions struct {
	env
	Build BuildInfo
}

func newVersionCmd(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	o := &versionOptions{env: f.env(), Build: f.Build}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit, build date and Go version",
		Example: "  licensectl version\n  licensectl version -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return versionRun(o)
		},
	}
}

func versionRun(o *versionOptions) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	v := map[string]string{"version": o.Build.Version, "commit": o.Build.Commit, "date": o.Build.Date, "go": runtime.Version()}
	return output.Object(o.IO.Out, format, v, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "licensectl %s (commit %s, built %s, %s)\n", v["version"], v["commit"], v["date"], v["go"])
		return err
	})
}
