package cmd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
	"github.com/licensectl/licensectl/internal/output"
)

func newOfflineCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "offline", Short: "Activate and release machines without network",
		Long: `Offline activation in three steps:

  1. on the offline machine:   activations offline request ... --out req.json
  2. on a connected machine:   activations offline activate req.json --out cert.lic
  3. on the offline machine:   activations offline verify cert.lic --public-key pub.pem --fingerprint FP

To give the seat back: "offline deactivate cert.lic --out proof.json" on the
offline machine, then "offline release proof.json" on the connected side.`}
	cmd.AddCommand(newOfflineRequestCmd(f, nil), newOfflineActivateCmd(f, nil), newOfflineVerifyCmd(f, nil),
		newOfflineDeactivateCmd(f, nil), newOfflineReleaseCmd(f, nil))
	return cmd
}

// defaultStatePath keeps the offline machine's keys beside the default store.
func defaultStatePath() string {
	return filepath.Join(filepath.Dir(defaultDBPath()), "offline-state.json")
}

func readInput(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "cannot read %s %s: %v", what, path, unwrapPathError(err))
	}
	return b, nil
}

func (e env) writeOutput(path string, b []byte) error {
	if path == "-" {
		_, err := e.IO.Out.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return licensing.Errorf(licensing.EINVALID, "cannot write %s: %v", path, unwrapPathError(err))
	}
	return nil
}

func requireOut(out string) error {
	if out == "" {
		return licensing.Errorf(licensing.EINVALID, "--out is required").WithHint("--out FILE, or --out - for stdout")
	}
	return nil
}

type offlineRequestOptions struct {
	env
	Request licensing.ActivationRequest
	Out     string
	State   string
	Rand    io.Reader
}

func newOfflineRequestCmd(f *Factory, runF func(*offlineRequestOptions) error) *cobra.Command {
	o := &offlineRequestOptions{env: f.env(), Rand: rand.Reader}
	r := &o.Request
	c := &cobra.Command{
		Use:   "request --key KEY --machine NAME --fingerprint FP --os OS --version V --out req.json",
		Short: "Write an activation request on a machine without network",
		Long: `Write an activation request file: versioned JSON with the license key, the
machine's name, fingerprint, OS and version, a random nonce and the public half
of a new machine key pair - nothing else. The private half stays in the state
file on this machine (mode 0600, --state) and later signs the deactivation
proof. Needs no store and no network.`,
		Example: "  licensectl activations offline request --key 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --machine vault \\\n      --fingerprint 9c:1e --os linux --version 7.9.4 --out req.json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlags(c, "key", "machine", "fingerprint", "os", "version", "out"); err != nil {
				return err
			}
			key, err := licensing.ParseKey(r.LicenseKey)
			if err != nil {
				return err
			}
			if err := r.Normalize(); err != nil {
				return err
			}
			if err := requireOut(o.Out); err != nil {
				return err
			}
			r.LicenseKey = key
			if o.State == "" {
				o.State = defaultStatePath()
			}
			if runF != nil {
				return runF(o)
			}
			return offlineRequestRun(o)
		},
	}
	machineFlags(c, r)
	fl := c.Flags()
	fl.StringVar(&r.LicenseKey, "key", "", "license key (required)")
	fl.StringVarP(&o.Out, "out", "O", "", "request file to write, - for stdout (required)")
	fl.StringVar(&o.State, "state", "", "this machine's offline state file (default beside the default store)")
	return c
}

func offlineRequestRun(o *offlineRequestOptions) error {
	r := o.Request
	m := &offline.Machine{StatePath: o.State, Rand: o.Rand}
	_, b, err := m.Request(r.LicenseKey, r.Machine, r.Fingerprint, r.OS, r.Version, o.now())
	if err != nil {
		return err
	}
	if err := o.writeOutput(o.Out, b); err != nil {
		return err
	}
	if o.Out != "-" {
		o.info("Wrote activation request %s for %s on %s; carry it to a connected machine\n", o.Out, r.LicenseKey, r.Machine)
	}
	return nil
}

type offlineActivateOptions struct {
	env
	RequestFile string
	Out         string
}

func newOfflineActivateCmd(f *Factory, runF func(*offlineActivateOptions) error) *cobra.Command {
	o := &offlineActivateOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "activate REQUEST --out CERT",
		Short: "Record an offline activation and write its signed certificate",
		Long: `Check a request file like an online activation (seats, expiry, edition,
suspension), record an offline activation and write the certificate, signed
with the store's current key (made on first use). Refusals exit 5 as for
"activations activate".`,
		Example: "  licensectl activations offline activate req.json --out cert.lic",
		Args:    exactArgs(1, "a request file"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireOut(o.Out); err != nil {
				return err
			}
			o.RequestFile = args[0]
			if runF != nil {
				return runF(o)
			}
			return offlineActivateRun(c.Context(), o)
		},
	}
	c.Flags().StringVarP(&o.Out, "out", "O", "", "certificate file to write, - for stdout (required)")
	return c
}

func offlineActivateRun(ctx context.Context, o *offlineActivateOptions) error {
	req, err := readInput(o.RequestFile, "request")
	if err != nil {
		return err
	}
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	oa, err := svc.ActivateOffline(ctx, req)
	if err != nil {
		return err
	}
	if err := o.writeOutput(o.Out, []byte(oa.Certificate)); err != nil {
		return err
	}
	if o.Out == "-" {
		return nil
	}
	verb := "Created"
	if oa.Existing {
		verb = "Renewed"
	}
	if err := o.writeActivation(format, &oa.Activation, verb); err != nil {
		return err
	}
	o.info("Wrote certificate %s; carry it back to %s\n", o.Out, oa.Machine)
	return nil
}

// certificateView is what verify prints. MachineChecked is false with
// --any-machine: the certificate may have been copied from another machine.
type certificateView struct {
	Valid          bool `json:"valid"`
	MachineChecked bool `json:"machine_checked"`
	offline.Certificate
}

type offlineVerifyOptions struct {
	env
	CertFile      string
	PublicKeyFile string
	// Fingerprint is the machine the certificate must be for; AnyMachine
	// accepts any machine instead.
	Fingerprint string
	AnyMachine  bool
}

func newOfflineVerifyCmd(f *Factory, runF func(*offlineVerifyOptions) error) *cobra.Command {
	o := &offlineVerifyOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "verify CERT --public-key F (--fingerprint FP | --any-machine)",
		Short: "Verify a certificate with only the public key",
		Long: `Verify an activation certificate with nothing but the public key file
(` + "`licensectl keys public`" + `; after a rotation, ` + "`keys public --all`" + `). Needs no store.

Say which machine it must be for: --fingerprint FP, this machine's
fingerprint, so a certificate copied from another machine fails (exit 12).
--any-machine checks only the signature and the expiry, and says that the
machine was not checked.

Exit codes: 0 valid; 2 not a certificate, or neither --fingerprint nor
--any-machine; 10 signature does not match (the certificate was altered);
11 expired; 12 issued for another machine; 13 signed with a key not in the
public key file.`,
		Example: "  licensectl activations offline verify cert.lic --public-key licensectl.pem --fingerprint 9c:1e\n" +
			"  licensectl activations offline verify cert.lic --public-key licensectl.pem --any-machine",
		Args: exactArgs(1, "a certificate file"),
		RunE: func(c *cobra.Command, args []string) error {
			if o.PublicKeyFile == "" {
				return licensing.Errorf(licensing.EINVALID, "--public-key is required").
					WithHint("get it with `licensectl keys public > licensectl.pem` where the store is")
			}
			o.Fingerprint = strings.TrimSpace(o.Fingerprint)
			switch {
			case o.AnyMachine && changed(c.Flags(), "fingerprint"):
				return licensing.Errorf(licensing.EINVALID, "--fingerprint and --any-machine cannot be combined")
			case !o.AnyMachine && o.Fingerprint == "":
				return licensing.Errorf(licensing.EINVALID, "say which machine the certificate must be for: --fingerprint FP, or --any-machine").
					WithHint("without --fingerprint a certificate copied from another machine passes; --any-machine accepts that knowingly")
			}
			o.CertFile = args[0]
			if runF != nil {
				return runF(o)
			}
			return offlineVerifyRun(o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.PublicKeyFile, "public-key", "", "PEM `FILE` with the public key(s) (required)")
	fl.StringVar(&o.Fingerprint, "fingerprint", "", "this machine's fingerprint `FP`: the certificate must be for it")
	fl.BoolVar(&o.AnyMachine, "any-machine", false, "do not check the machine: accept a certificate of any machine")
	return c
}

func offlineVerifyRun(o *offlineVerifyOptions) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	text, err := readInput(o.CertFile, "certificate")
	if err != nil {
		return err
	}
	pem, err := readInput(o.PublicKeyFile, "public key")
	if err != nil {
		return err
	}
	keys, err := offline.ParsePublicKeys(pem)
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "%s: %v", o.PublicKeyFile, err)
	}
	cert, err := offline.Verify(text, keys, o.Fingerprint, o.now())
	if err != nil {
		return verifyError(err)
	}
	if o.quiet() {
		return nil
	}
	checked := "yes: it is this machine (--fingerprint)"
	if o.AnyMachine {
		checked = "NO (--any-machine): a certificate copied from another machine passes too"
	}
	view := certificateView{Valid: true, MachineChecked: !o.AnyMachine, Certificate: *cert}
	return output.Object(o.IO.Out, format, view, func(w io.Writer) error {
		return output.KeyValues(w, [][2]string{
			{"Certificate", "valid"},
			{"License", cert.LicenseKey},
			{"Product", cert.Product},
			{"Machine", fmt.Sprintf("%s (%s, %s)", cert.Machine, cert.Fingerprint, cert.OS)},
			{"Machine checked", checked},
			{"Versions", cert.Versions()},
			{"Issued", cert.IssuedAt},
			{"Expires", cert.ExpiresAt},
			{"Key id", cert.KeyID},
		})
	})
}

func verifyError(err error) error {
	var ve *offline.VerifyError
	if !errors.As(err, &ve) {
		return err
	}
	e := &licensing.Error{Code: licensing.EINVALID, Message: ve.Detail}
	switch ve.Reason {
	case offline.ReasonBadSignature:
		e.Hint = "use the certificate file exactly as it was issued"
	case offline.ReasonExpired:
		e.Hint = "write a new request on the machine and activate it again"
	case offline.ReasonUnknownKey:
		e.Hint = "after a key rotation, verify with `licensectl keys public --all`"
	}
	return &certFailure{msg: e, cause: ve}
}

// certFailure is a certificate that failed verification: the message the
// user sees, and the verifier's reason, from which root's exit code table
// picks the exit code (10-13).
type certFailure struct {
	msg   *licensing.Error
	cause *offline.VerifyError
}

func (c *certFailure) Error() string   { return c.msg.Error() }
func (c *certFailure) Unwrap() []error { return []error{c.msg, c.cause} }

type offlineDeactivateOptions struct {
	env
	CertFile string
	Out      string
	State    string
	Rand     io.Reader
}

func newOfflineDeactivateCmd(f *Factory, runF func(*offlineDeactivateOptions) error) *cobra.Command {
	o := &offlineDeactivateOptions{env: f.env(), Rand: rand.Reader}
	c := &cobra.Command{
		Use:   "deactivate CERT --out PROOF",
		Short: "On the offline machine: remove the activation and write a signed proof",
		Long: `Remove this machine's offline activation - its key in the state file and the
certificate file - and write a deactivation proof signed with the machine key.
Carry the proof to the connected side: "activations offline release PROOF"
frees the seat. Needs no store and no network.`,
		Example: "  licensectl activations offline deactivate cert.lic --out proof.json",
		Args:    exactArgs(1, "a certificate file"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireOut(o.Out); err != nil {
				return err
			}
			o.CertFile = args[0]
			if o.State == "" {
				o.State = defaultStatePath()
			}
			if runF != nil {
				return runF(o)
			}
			return offlineDeactivateRun(o)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&o.Out, "out", "O", "", "proof file to write, - for stdout (required)")
	fl.StringVar(&o.State, "state", "", "this machine's offline state file (default beside the default store)")
	return c
}

func offlineDeactivateRun(o *offlineDeactivateOptions) error {
	text, err := readInput(o.CertFile, "certificate")
	if err != nil {
		return err
	}
	signed, err := offline.ParseCertificate(text)
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "%s: %v", o.CertFile, err)
	}
	cert := &signed.Certificate
	m := &offline.Machine{StatePath: o.State, Rand: o.Rand}
	d, err := m.Deactivate(cert, o.now())
	if errors.Is(err, offline.ErrNoMachineKey) {
		return licensing.Errorf(licensing.ENOTFOUND, "this machine holds no key for the activation of %s in %s", cert.LicenseKey, o.CertFile).
			WithHint("run it on the machine that wrote the request (state file %s)", o.State)
	} else if err != nil {
		return err
	}
	if err := o.writeOutput(o.Out, d.Proof); err != nil {
		return err
	}
	if err := d.Forget(); err != nil {
		return err
	}
	if err := os.Remove(o.CertFile); err != nil {
		return err
	}
	if o.Out != "-" {
		o.info("Deactivated %s on %s; carry %s to a connected machine and run `licensectl activations offline release %s`\n",
			cert.LicenseKey, cert.Machine, o.Out, o.Out)
	}
	return nil
}

type offlineReleaseOptions struct {
	env
	ProofFile string
}

func newOfflineReleaseCmd(f *Factory, runF func(*offlineReleaseOptions) error) *cobra.Command {
	o := &offlineReleaseOptions{env: f.env()}
	return &cobra.Command{
		Use:   "release PROOF",
		Short: "Free the seat of an offline machine with its signed deactivation proof",
		Long: `Check a deactivation proof against the machine key recorded at activation
and free the seat. A proof works once (a second use exits 5); a proof that
does not match the machine key exits 4.`,
		Example: "  licensectl activations offline release proof.json",
		Args:    exactArgs(1, "a proof file"),
		RunE: func(c *cobra.Command, args []string) error {
			o.ProofFile = args[0]
			if runF != nil {
				return runF(o)
			}
			return offlineReleaseRun(c.Context(), o)
		},
	}
}

func offlineReleaseRun(ctx context.Context, o *offlineReleaseOptions) error {
	proof, err := readInput(o.ProofFile, "proof")
	if err != nil {
		return err
	}
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, err := svc.ReleaseOffline(ctx, proof)
	if err != nil {
		return err
	}
	return o.writeActivation(format, a, "Released")
}
