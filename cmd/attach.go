package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/mail"
	"github.com/licensectl/licensectl/internal/output"
)

type attachOptions struct {
	env
	// Request is step 1: a purchase id or a key, normalized.
	Request licensing.AttachRequest
	// Code is step 2 ("-": read it from stdin); Confirm says --code was given.
	Code    string
	Confirm bool
	// Mailer is the configured mail delivery (nil when the server sends).
	Mailer func() (licensing.Mailer, error)
}

func newLicensesAttachCmd(f *Factory, runF func(*attachOptions) error) *cobra.Command {
	o := &attachOptions{env: f.env(), Mailer: f.mailer}
	c := &cobra.Command{
		Use:   "attach --purchase-id ID | --key KEY | --code CODE",
		Short: "Attach licenses bought with another email: request a code, then confirm it",
		Long: `Licenses bought with another email move to the acting account in two steps.

Step 1, --purchase-id ID (every license of the purchase) or --key KEY (that
one license): a confirmation code is emailed to the purchase email, valid for
15 minutes. The command says where it went (j***@example.com), never the code.

Step 2, --code CODE: the licenses move to the acting account. Only the account
that requested the code can use it, once. After 5 wrong codes the request is
cancelled. Licenses that sat in another account are transferred, and the
transfer is recorded in both accounts' audit logs.

--code - reads the code from stdin, which keeps it out of shell history.
At most 5 codes an hour may be requested per account and per purchase.`,
		Example: `  licensectl licenses attach --purchase-id P-7K3D9QX2M1AB
  licensectl licenses attach --key 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4
  licensectl licenses attach --code K7M2Q-9XDPA`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			set := 0
			for _, name := range []string{"purchase-id", "key", "code"} {
				if changed(c.Flags(), name) {
					set++
				}
			}
			if set != 1 {
				return licensing.Errorf(licensing.EINVALID, "give exactly one of --purchase-id, --key or --code").
					WithHint("step 1: --purchase-id ID or --key KEY emails a code; step 2: --code CODE")
			}
			o.Confirm = changed(c.Flags(), "code")
			switch {
			case o.Confirm:
			case o.Request.Key != "":
				k, err := licensing.ParseKey(o.Request.Key)
				if err != nil {
					return err
				}
				o.Request.Key = k
			default:
				id, err := licensing.NormalizePurchaseID(o.Request.PurchaseID)
				if err != nil {
					return err
				}
				o.Request.PurchaseID = id
			}
			if runF != nil {
				return runF(o)
			}
			if o.Confirm {
				return confirmAttach(c.Context(), o)
			}
			return requestAttach(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Request.PurchaseID, "purchase-id", "", "attach every license of this purchase (step 1)")
	fl.StringVar(&o.Request.Key, "key", "", "attach this one license (step 1)")
	fl.StringVar(&o.Code, "code", "", "the confirmation code from the email (step 2); - reads it from stdin")
	return c
}

func requestAttach(ctx context.Context, o *attachOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	mailer, err := o.Mailer()
	if err != nil {
		return err
	}
	p, err := svc.RequestAttach(ctx, o.Request, mailer)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, p, func(w io.Writer) error {
		what := fmt.Sprintf("%d license(s) of purchase %s", p.Licenses, p.PurchaseID)
		if p.Key != "" {
			what = fmt.Sprintf("license %s (purchase %s)", p.Key, p.PurchaseID)
		}
		_, err := fmt.Fprintf(w, "Sent a confirmation code for %s to %s.\nIt is valid until %s (%d minutes).\nTo attach, run: licensectl licenses attach --code CODE\n",
			what, p.SentTo, p.ExpiresAt.Format(time.RFC3339), int(licensing.AttachCodeTTL/time.Minute))
		return err
	})
}

func confirmAttach(ctx context.Context, o *attachOptions) error {
	code := o.Code
	if code == "-" {
		line, err := bufio.NewReader(o.IO.In).ReadString('\n')
		if err != nil && line == "" {
			return licensing.Errorf(licensing.EINVALID, "--code -: no code on stdin")
		}
		code = strings.TrimSpace(line)
	}
	if _, err := licensing.NormalizeAttachCode(code); err != nil {
		return err
	}
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	r, err := svc.ConfirmAttach(ctx, code)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, r, func(w io.Writer) error {
		fmt.Fprintf(w, "Attached %d license(s) of purchase %s to %s", len(r.Licenses), r.PurchaseID, r.Account)
		if len(r.TransferredFrom) > 0 {
			fmt.Fprintf(w, " (transferred from %s)", strings.Join(r.TransferredFrom, ", "))
		}
		fmt.Fprintln(w, ":")
		const show = 10
		for i, k := range r.Licenses {
			if i == show {
				fmt.Fprintf(w, "  ... and %d more: licensectl licenses list --search %s\n", len(r.Licenses)-show, r.PurchaseID)
				break
			}
			fmt.Fprintf(w, "  %s\n", k)
		}
		return nil
	})
}

// mailer builds the configured mail delivery. Only a local store sends mail
// itself; a server sends with its own settings, so none is needed then.
func (f *Factory) mailer() (licensing.Mailer, error) {
	if f.cfg.Backend != "local" {
		return nil, nil
	}
	m := f.cfg.Mail
	return mail.New(mail.Config{Host: m.SMTPHost, Port: m.SMTPPort, Username: m.SMTPUsername,
		Password: m.SMTPPassword, From: m.From, Outbox: m.Outbox, Clock: f.Clock})
}
