package cmd

import (
	"bufio"
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
	req  licensing.AttachRequest
	code string
}

func newLicensesAttachCmd(f *Factory) *cobra.Command {
	var o attachOptions
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
			if changed(c.Flags(), "code") {
				return confirmAttach(f, c, o.code)
			}
			return requestAttach(f, c, o.req)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.req.PurchaseID, "purchase-id", "", "attach every license of this purchase (step 1)")
	fl.StringVar(&o.req.Key, "key", "", "attach this one license (step 1)")
	fl.StringVar(&o.code, "code", "", "the confirmation code from the email (step 2); - reads it from stdin")
	return c
}

func requestAttach(f *Factory, c *cobra.Command, req licensing.AttachRequest) error {
	if req.Key != "" {
		k, err := parseKey(req.Key)
		if err != nil {
			return err
		}
		req.Key = k
	} else {
		id, err := licensing.NormalizePurchaseID(req.PurchaseID)
		if err != nil {
			return err
		}
		req.PurchaseID = id
	}
	svc, format, err := f.begin(c)
	if err != nil {
		return err
	}
	mailer, err := f.mailer()
	if err != nil {
		return err
	}
	p, err := svc.RequestAttach(c.Context(), req, mailer)
	if err != nil {
		return err
	}
	if f.cfg.Quiet {
		return nil
	}
	return output.Object(f.IO.Out, format, p, func(w io.Writer) error {
		what := fmt.Sprintf("%d license(s) of purchase %s", p.Licenses, p.PurchaseID)
		if p.Key != "" {
			what = fmt.Sprintf("license %s (purchase %s)", p.Key, p.PurchaseID)
		}
		_, err := fmt.Fprintf(w, "Sent a confirmation code for %s to %s.\nIt is valid until %s (%d minutes).\nTo attach, run: licensectl licenses attach --code CODE\n",
			what, p.SentTo, p.ExpiresAt.Format(time.RFC3339), int(licensing.AttachCodeTTL/time.Minute))
		return err
	})
}

func confirmAttach(f *Factory, c *cobra.Command, code string) error {
	if code == "-" {
		line, err := bufio.NewReader(f.IO.In).ReadString('\n')
		if err != nil && line == "" {
			return licensing.Errorf(licensing.EINVALID, "--code -: no code on stdin")
		}
		code = strings.TrimSpace(line)
	}
	if _, err := licensing.NormalizeAttachCode(code); err != nil {
		return err
	}
	svc, format, err := f.begin(c)
	if err != nil {
		return err
	}
	r, err := svc.ConfirmAttach(c.Context(), code)
	if err != nil {
		return err
	}
	if f.cfg.Quiet {
		return nil
	}
	return output.Object(f.IO.Out, format, r, func(w io.Writer) error {
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
