package cmd

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
	"github.com/licensectl/licensectl/internal/output"
)

func newKeysCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "The keys that sign offline activation certificates"}
	cmd.AddCommand(newKeysPublicCmd(f, nil), newKeysRotateCmd(f, nil))
	return cmd
}

type keysPublicOptions struct {
	env
	All bool
}

func newKeysPublicCmd(f *Factory, runF func(*keysPublicOptions) error) *cobra.Command {
	o := &keysPublicOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "public",
		Short: "Print the public signing key as PEM (the private key is never printed)",
		Long: `Print the current public signing key as a PKIX PEM block; with --all, the
retired keys too, so certificates signed before a rotation still verify. The
key pair is made on first use and kept in the store.`,
		Example: "  licensectl keys public > licensectl.pem\n  licensectl keys public --all -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return keysPublicRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.All, "all", false, "also print retired keys")
	return c
}

func keysPublicRun(ctx context.Context, o *keysPublicOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	keys, err := svc.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if !o.All {
		keys = keys[:1]
	}
	views := make([]keyView, len(keys))
	for i, k := range keys {
		views[i] = newKeyView(k)
	}
	// PEM is the default even in a pipe (`keys public > pub.pem`);
	// JSON and YAML only when asked for.
	if o.Config().Output != "" && (format == output.JSON || format == output.YAML) {
		return output.Object(o.IO.Out, format, views, nil)
	}
	var b strings.Builder
	for _, v := range views {
		b.WriteString(v.PEM)
	}
	_, err = io.WriteString(o.IO.Out, b.String())
	return err
}

type keysRotateOptions struct{ env }

func newKeysRotateCmd(f *Factory, runF func(*keysRotateOptions) error) *cobra.Command {
	o := &keysRotateOptions{env: f.env()}
	return &cobra.Command{
		Use:   "rotate",
		Short: "Retire the signing key and make a new one",
		Long: `Make a new signing key for new certificates. Certificates signed with the
old key still verify with the old public key until they expire: hand out
` + "`keys public --all`" + ` to verifiers.`,
		Example: "  licensectl keys rotate\n  licensectl keys public --all > verifier-keys.pem",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return keysRotateRun(c.Context(), o)
		},
	}
}

func keysRotateRun(ctx context.Context, o *keysRotateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	k, err := svc.RotateSigningKey(ctx)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	v := newKeyView(*k)
	return output.Object(o.IO.Out, format, v, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "New signing key %s; the previous key is retired\n", v.ID)
		return err
	})
}

type keyView struct {
	ID        string     `json:"kid"`
	Current   bool       `json:"current"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"`
	PEM       string     `json:"public_key_pem"`
}

func newKeyView(k licensing.SigningKey) keyView {
	return keyView{ID: k.ID, Current: k.Current, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt,
		PEM: string(offline.PublicKeyPEM(ed25519.PublicKey(k.PublicKey)))}
}
