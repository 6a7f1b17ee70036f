package cmd

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
)

type healthcheckOptions struct {
	env
	URL     string
	Timeout time.Duration
}

// newHealthcheckCmd probes a server's /healthz: the container image's
// HEALTHCHECK (it has no shell and no curl). Hidden: it is for images and
// service managers, not people.
func newHealthcheckCmd(f *Factory, runF func(*healthcheckOptions) error) *cobra.Command {
	o := &healthcheckOptions{env: f.env()}
	c := &cobra.Command{
		Use:     "healthcheck [URL]",
		Short:   "Exit 0 when the server at URL answers its health check",
		Example: "  licensectl healthcheck http://127.0.0.1:8080/healthz",
		Hidden:  true,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.URL = "http://127.0.0.1:8080/healthz"
			if len(args) == 1 {
				o.URL = args[0]
			}
			if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return licensing.Errorf(licensing.EINVALID, "healthcheck needs an http:// or https:// URL, not %q", licensing.ClipArg(o.URL))
			}
			if runF != nil {
				return runF(o)
			}
			return healthcheckRun(c.Context(), o)
		},
	}
	c.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Second, "give up after this long")
	return c
}

func healthcheckRun(ctx context.Context, o *healthcheckOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return licensing.Errorf(licensing.EUNAVAILABLE, "%s does not answer: %v", o.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return licensing.Errorf(licensing.EUNAVAILABLE, "%s answers %s", o.URL, resp.Status)
	}
	if !o.quiet() {
		fmt.Fprintf(o.IO.Out, "%s: ok\n", o.URL)
	}
	return nil
}
