package cmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

type licensesValidateOptions struct {
	env
	Key         string
	Fingerprint string
	Version     string
}

func newLicensesValidateCmd(f *Factory, runF func(*licensesValidateOptions) error) *cobra.Command {
	o := &licensesValidateOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "validate KEY [--fingerprint FP] [--version V]",
		Short: "Answer a stable reason code: VALID, EXPIRED, NO_MACHINE, ... (exit 0 only if VALID)",
		Long: `Validate a license, and with --fingerprint one machine's activation of it.
The answer is a stable reason code, in text or JSON (-o json); this is what a
CI job calls.

  code                  exit  meaning
  VALID                 0     the license (and machine) may run
  NOT_FOUND             3     no such license for the acting account
  NO_MACHINE            3     --fingerprint given, license activated nowhere
  FINGERPRINT_MISMATCH  3     not activated on this machine; a seat is free
  EXPIRED               5     the license expired
  SUSPENDED             5     an operator suspended the license
  TOO_MANY_MACHINES     5     not on this machine and every seat is taken
  MAINTENANCE_EXPIRED   5     valid, but the version (--version, or the
                              machine's) was released after upgrades ended`,
		Example: `  licensectl licenses validate 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --fingerprint 4f:9a:0c
  licensectl licenses validate 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --version 7.9.4 -o json`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := licensing.ParseKey(args[0])
			if err != nil {
				return err
			}
			o.Key = key
			o.Fingerprint, o.Version = strings.TrimSpace(o.Fingerprint), strings.TrimSpace(o.Version)
			if runF != nil {
				return runF(o)
			}
			return licensesValidateRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Fingerprint, "fingerprint", "", "check the activation of the machine with fingerprint `FP`")
	fl.StringVar(&o.Version, "version", "", "check that the license covers product version `V`")
	return c
}

func licensesValidateRun(ctx context.Context, o *licensesValidateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	v, err := svc.ValidateLicense(ctx, o.Key, o.Fingerprint, o.Version)
	if err != nil {
		return err
	}
	code := licensing.ValidationErrorCode(v.Code)
	if v.Warning != "" {
		fmt.Fprintf(o.IO.ErrOut, "warning: %s\n", v.Warning)
	}
	if o.quiet() {
		if code != "" {
			return licensing.Errorf(code, "%s: %s", v.Code, v.Message)
		}
		return nil
	}
	if err := output.Object(o.IO.Out, format, v, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s: %s\n", v.Code, v.Message)
		return err
	}); err != nil {
		return err
	}
	if code != "" {
		// The reason is on stdout already: only the exit code is left to tell.
		return &exitError{err: licensing.Errorf(code, "%s: %s", v.Code, v.Message), code: exitCodeFor(code), silent: true}
	}
	return nil
}
