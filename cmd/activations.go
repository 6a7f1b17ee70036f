package cmd

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
	"github.com/licensectl/licensectl/internal/output"
)

// Exit codes of `activations offline verify`, one per reason a certificate
// fails (a malformed file is a usage error, 2).
const (
	ExitCertSignature = 10
	ExitCertExpired   = 11
	ExitCertMachine   = 12
	ExitCertKey       = 13
)

// exitError is an error with its own exit code; root's exitCode honours it.
// A silent one was already reported on stdout: Execute prints nothing more.
type exitError struct {
	err    *licensing.Error
	code   int
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }
func (e *exitError) Silent() bool  { return e.silent }

func newActivationsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "activations", Aliases: []string{"activation"},
		Short: "Activate and release machines, online and offline"}
	cmd.AddCommand(newActivationsListCmd(f), newActivateCmd(f), newDeactivateCmd(f), newOfflineCmd(f))
	return cmd
}

func activationColumns() []output.Column[licensing.Activation] {
	type A = licensing.Activation
	return []output.Column[A]{
		{Header: "ID", Keep: true, Value: func(a A) string { return strconv.FormatInt(a.ID, 10) }},
		{Header: "LICENSE", Field: "license_key", Keep: true, Value: func(a A) string { return a.LicenseKey }},
		{Header: "PRODUCT", Wide: true, Value: func(a A) string { return a.Product }},
		{Header: "MACHINE", Priority: 9, Value: func(a A) string { return a.Machine }},
		{Header: "FINGERPRINT", Wide: true, Value: func(a A) string { return a.Fingerprint }},
		{Header: "OS", Enum: true, Priority: 5, Value: func(a A) string { return a.OS }},
		{Header: "VERSION", Priority: 6, Value: func(a A) string { return a.Version }},
		{Header: "MODE", Enum: true, Priority: 7, Value: func(a A) string { return a.Mode }},
		{Header: "RM", Enum: true, Priority: 4, Value: func(a A) string { return a.RM }},
		{Header: "SINCE", Field: "activated_at", Priority: 3, Whole: true, Value: func(a A) string { return a.ActivatedAt.Format(dateTimeLayout) },
			CSV: func(a A) string { return a.ActivatedAt.Format(time.RFC3339) }},
		{Header: "LAST SEEN", Field: "last_seen_at", Priority: 8, Whole: true, Value: func(a A) string { return a.LastSeenAt.Format(dateTimeLayout) },
			CSV: func(a A) string { return a.LastSeenAt.Format(time.RFC3339) }},
	}
}

func newActivationsListCmd(f *Factory) *cobra.Command {
	var filter licensing.ActivationFilter
	c := &cobra.Command{
		Use:   "list",
		Short: "List current activations: machine, OS, version, online/offline, since, last seen",
		Example: `  licensectl activations list
  licensectl activations list --license 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4
  licensectl activations list --offline --machine vault-01 -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if filter.LicenseKey != "" {
				key, err := parseKey(filter.LicenseKey)
				if err != nil {
					return err
				}
				filter.LicenseKey = key
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			list, err := svc.ListActivations(c.Context(), filter)
			if err != nil {
				return err
			}
			empty := "No machines are activated — activate one with `licensectl activations activate KEY ...`"
			if filtered(c) {
				empty = "No activations match these filters"
			}
			return writeSlice(f, format, activationColumns(), list, empty)
		},
	}
	fl := c.Flags()
	fl.StringVar(&filter.LicenseKey, "license", "", "only this license's activations")
	fl.StringVar(&filter.Machine, "machine", "", "only this machine (by name, any case)")
	fl.BoolVar(&filter.Offline, "offline", false, "only offline activations")
	return c
}

func writeActivation(f *Factory, format output.Format, a *licensing.Activation, verb string) error {
	if f.cfg.Quiet {
		return nil
	}
	return output.Object(f.IO.Out, format, a, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s activation %d: %s on %s (%s, %s %s, %s), RM %s\n", verb, a.ID, a.LicenseKey, a.Machine,
			a.Fingerprint, a.OS, a.Version, a.Mode, a.RM)
		return err
	})
}

func machineFlags(c *cobra.Command, r *licensing.ActivationRequest) {
	fl := c.Flags()
	fl.StringVar(&r.Machine, "machine", "", "machine `NAME` (required)")
	fl.StringVar(&r.Fingerprint, "fingerprint", "", "machine fingerprint `FP` (required)")
	fl.StringVar(&r.OS, "os", "", "`OS`: windows, macos or linux (required)")
	fl.StringVar(&r.Version, "version", "", "product version `V` installed, e.g. 7.9.4 (required)")
}

// requireFlags names, in one error, every flag of names that is missing or
// empty, so a CI job learns all of them at once.
func requireFlags(c *cobra.Command, names ...string) error {
	var missing []string
	for _, name := range names {
		if fl := c.Flags().Lookup(name); fl == nil || strings.TrimSpace(fl.Value.String()) == "" {
			missing = append(missing, "--"+name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return licensing.Errorf(licensing.EINVALID, "%s is required", missing[0]).WithHint("usage: %s", c.UseLine())
	}
	return licensing.Errorf(licensing.EINVALID, "%s and %s are required", strings.Join(missing[:len(missing)-1], ", "), missing[len(missing)-1]).
		WithHint("usage: %s", c.UseLine())
}

func newActivateCmd(f *Factory) *cobra.Command {
	var r licensing.ActivationRequest
	c := &cobra.Command{
		Use:   "activate KEY --machine NAME --fingerprint FP --os OS --version V",
		Short: "Activate a license on a machine (takes a seat)",
		Long: `Activate a license on a machine. A per-instance license has one seat; some
types have more (mbs-vm: 2). Activating the same fingerprint again returns the
existing activation (exit 0) and takes no seat.

Refusals exit 5, each with its own message: no free seat, license expired,
trial expired, macOS/Linux on an edition other than Desktop or Server, license
suspended, platform not covered.`,
		Example: `  licensectl activations activate 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --machine build-01 \
      --fingerprint 4f:9a:0c --os linux --version 7.9.4`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseKey(args[0])
			if err != nil {
				return err
			}
			r.LicenseKey = key
			if err := requireFlags(c, "machine", "fingerprint", "os", "version"); err != nil {
				return err
			}
			if err := r.Normalize(); err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			a, err := svc.Activate(c.Context(), r)
			if err != nil {
				return err
			}
			verb := "Created"
			if a.Existing {
				verb = "Existing"
			}
			return writeActivation(f, format, a, verb)
		},
	}
	machineFlags(c, &r)
	return c
}

func newDeactivateCmd(f *Factory) *cobra.Command {
	var r licensing.DeactivateRequest
	c := &cobra.Command{
		Use:   "deactivate ID | --license KEY --fingerprint FP",
		Short: "Release an activation's seat",
		Long: `Release an activation's seat. An offline activation is released by its
machine's signed proof (activations offline release); --force releases it
without one, for a lost machine, and the audit log records that.`,
		Example: `  licensectl activations deactivate 12
  licensectl activations deactivate --license 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --fingerprint 4f:9a:0c
  licensectl activations deactivate 13 --force`,
		RunE: func(c *cobra.Command, args []string) error {
			byMachine := changed(c.Flags(), "license") || changed(c.Flags(), "fingerprint")
			switch {
			case len(args) == 1 && !byMachine:
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || id <= 0 {
					return licensing.Errorf(licensing.EINVALID, "activation id %q is not a positive number", clipArg(args[0]))
				}
				r.ID = id
			case len(args) == 0 && r.LicenseKey != "" && r.Fingerprint != "":
				key, err := parseKey(r.LicenseKey)
				if err != nil {
					return err
				}
				r.LicenseKey = key
			default:
				return licensing.Errorf(licensing.EINVALID, "name the activation by ID, or by --license KEY and --fingerprint FP").
					WithHint("usage: %s", c.UseLine())
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			a, err := svc.Deactivate(c.Context(), r)
			if err != nil {
				return err
			}
			return writeActivation(f, format, a, "Released")
		},
	}
	fl := c.Flags()
	fl.StringVar(&r.LicenseKey, "license", "", "license key of the activation")
	fl.StringVar(&r.Fingerprint, "fingerprint", "", "machine fingerprint of the activation")
	fl.BoolVar(&r.Force, "force", false, "release an offline activation without the machine's proof")
	return c
}

func newOfflineCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "offline", Short: "Activate and release machines without network",
		Long: `Offline activation in three steps:

  1. on the offline machine:   activations offline request ... --out req.json
  2. on a connected machine:   activations offline activate req.json --out cert.lic
  3. on the offline machine:   activations offline verify cert.lic --public-key pub.pem --fingerprint FP

To give the seat back: "offline deactivate cert.lic --out proof.json" on the
offline machine, then "offline release proof.json" on the connected side.`}
	cmd.AddCommand(newOfflineRequestCmd(f), newOfflineActivateCmd(f), newOfflineVerifyCmd(f),
		newOfflineDeactivateCmd(f), newOfflineReleaseCmd(f))
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

func writeOutput(f *Factory, path string, b []byte) error {
	if path == "-" {
		_, err := f.IO.Out.Write(b)
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

func newOfflineRequestCmd(f *Factory) *cobra.Command {
	var r licensing.ActivationRequest
	var out, state string
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
			key, err := parseKey(r.LicenseKey)
			if err != nil {
				return err
			}
			if err := r.Normalize(); err != nil {
				return err
			}
			if err := requireOut(out); err != nil {
				return err
			}
			if state == "" {
				state = defaultStatePath()
			}
			m := &offline.Machine{StatePath: state, Rand: rand.Reader}
			_, b, err := m.Request(key, r.Machine, r.Fingerprint, r.OS, r.Version, f.Clock.Now())
			if err != nil {
				return err
			}
			if err := writeOutput(f, out, b); err != nil {
				return err
			}
			if out != "-" {
				f.info("Wrote activation request %s for %s on %s; carry it to a connected machine\n", out, key, r.Machine)
			}
			return nil
		},
	}
	machineFlags(c, &r)
	fl := c.Flags()
	fl.StringVar(&r.LicenseKey, "key", "", "license key (required)")
	fl.StringVarP(&out, "out", "O", "", "request file to write, - for stdout (required)")
	fl.StringVar(&state, "state", "", "this machine's offline state file (default beside the default store)")
	return c
}

func newOfflineActivateCmd(f *Factory) *cobra.Command {
	var out string
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
			if err := requireOut(out); err != nil {
				return err
			}
			req, err := readInput(args[0], "request")
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			oa, err := svc.ActivateOffline(c.Context(), req)
			if err != nil {
				return err
			}
			if err := writeOutput(f, out, []byte(oa.Certificate)); err != nil {
				return err
			}
			if out == "-" {
				return nil
			}
			verb := "Created"
			if oa.Existing {
				verb = "Renewed"
			}
			if err := writeActivation(f, format, &oa.Activation, verb); err != nil {
				return err
			}
			f.info("Wrote certificate %s; carry it back to %s\n", out, oa.Machine)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "O", "", "certificate file to write, - for stdout (required)")
	return c
}

// certificateView is what verify prints. MachineChecked is false with
// --any-machine: the certificate may have been copied from another machine.
type certificateView struct {
	Valid          bool `json:"valid"`
	MachineChecked bool `json:"machine_checked"`
	offline.Certificate
}

func newOfflineVerifyCmd(f *Factory) *cobra.Command {
	var pubFile, fingerprint string
	var anyMachine bool
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
			if pubFile == "" {
				return licensing.Errorf(licensing.EINVALID, "--public-key is required").
					WithHint("get it with `licensectl keys public > licensectl.pem` where the store is")
			}
			fingerprint = strings.TrimSpace(fingerprint)
			switch {
			case anyMachine && changed(c.Flags(), "fingerprint"):
				return licensing.Errorf(licensing.EINVALID, "--fingerprint and --any-machine cannot be combined")
			case !anyMachine && fingerprint == "":
				return licensing.Errorf(licensing.EINVALID, "say which machine the certificate must be for: --fingerprint FP, or --any-machine").
					WithHint("without --fingerprint a certificate copied from another machine passes; --any-machine accepts that knowingly")
			}
			format, err := f.Format()
			if err != nil {
				return err
			}
			text, err := readInput(args[0], "certificate")
			if err != nil {
				return err
			}
			pem, err := readInput(pubFile, "public key")
			if err != nil {
				return err
			}
			keys, err := offline.ParsePublicKeys(pem)
			if err != nil {
				return licensing.Errorf(licensing.EINVALID, "%s: %v", pubFile, err)
			}
			cert, err := offline.Verify(text, keys, fingerprint, f.Clock.Now())
			if err != nil {
				return verifyError(err)
			}
			if f.cfg.Quiet {
				return nil
			}
			checked := "yes: it is this machine (--fingerprint)"
			if anyMachine {
				checked = "NO (--any-machine): a certificate copied from another machine passes too"
			}
			view := certificateView{Valid: true, MachineChecked: !anyMachine, Certificate: *cert}
			return output.Object(f.IO.Out, format, view, func(w io.Writer) error {
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
		},
	}
	fl := c.Flags()
	fl.StringVar(&pubFile, "public-key", "", "PEM `FILE` with the public key(s) (required)")
	fl.StringVar(&fingerprint, "fingerprint", "", "this machine's fingerprint `FP`: the certificate must be for it")
	fl.BoolVar(&anyMachine, "any-machine", false, "do not check the machine: accept a certificate of any machine")
	return c
}

func verifyError(err error) error {
	var ve *offline.VerifyError
	if !errors.As(err, &ve) {
		return err
	}
	e := &licensing.Error{Code: licensing.EINVALID, Message: ve.Detail}
	code := ExitUsage
	switch ve.Reason {
	case offline.ReasonBadSignature:
		code = ExitCertSignature
		e.Hint = "use the certificate file exactly as it was issued"
	case offline.ReasonExpired:
		code = ExitCertExpired
		e.Hint = "write a new request on the machine and activate it again"
	case offline.ReasonWrongMachine:
		code = ExitCertMachine
	case offline.ReasonUnknownKey:
		code = ExitCertKey
		e.Hint = "after a key rotation, verify with `licensectl keys public --all`"
	}
	return &exitError{err: e, code: code}
}

func newOfflineDeactivateCmd(f *Factory) *cobra.Command {
	var out, state string
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
			if err := requireOut(out); err != nil {
				return err
			}
			text, err := readInput(args[0], "certificate")
			if err != nil {
				return err
			}
			signed, err := offline.ParseCertificate(text)
			if err != nil {
				return licensing.Errorf(licensing.EINVALID, "%s: %v", args[0], err)
			}
			cert := &signed.Certificate
			if state == "" {
				state = defaultStatePath()
			}
			m := &offline.Machine{StatePath: state, Rand: rand.Reader}
			d, err := m.Deactivate(cert, f.Clock.Now())
			if errors.Is(err, offline.ErrNoMachineKey) {
				return licensing.Errorf(licensing.ENOTFOUND, "this machine holds no key for the activation of %s in %s", cert.LicenseKey, args[0]).
					WithHint("run it on the machine that wrote the request (state file %s)", state)
			} else if err != nil {
				return err
			}
			if err := writeOutput(f, out, d.Proof); err != nil {
				return err
			}
			if err := d.Forget(); err != nil {
				return err
			}
			if err := os.Remove(args[0]); err != nil {
				return err
			}
			if out != "-" {
				f.info("Deactivated %s on %s; carry %s to a connected machine and run `licensectl activations offline release %s`\n",
					cert.LicenseKey, cert.Machine, out, out)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVarP(&out, "out", "O", "", "proof file to write, - for stdout (required)")
	fl.StringVar(&state, "state", "", "this machine's offline state file (default beside the default store)")
	return c
}

func newOfflineReleaseCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "release PROOF",
		Short: "Free the seat of an offline machine with its signed deactivation proof",
		Long: `Check a deactivation proof against the machine key recorded at activation
and free the seat. A proof works once (a second use exits 5); a proof that
does not match the machine key exits 4.`,
		Example: "  licensectl activations offline release proof.json",
		Args:    exactArgs(1, "a proof file"),
		RunE: func(c *cobra.Command, args []string) error {
			proof, err := readInput(args[0], "proof")
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			a, err := svc.ReleaseOffline(c.Context(), proof)
			if err != nil {
				return err
			}
			return writeActivation(f, format, a, "Released")
		},
	}
}

func newKeysCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "The keys that sign offline activation certificates"}
	var all bool
	public := &cobra.Command{
		Use:   "public",
		Short: "Print the public signing key as PEM (the private key is never printed)",
		Long: `Print the current public signing key as a PKIX PEM block; with --all, the
retired keys too, so certificates signed before a rotation still verify. The
key pair is made on first use and kept in the store.`,
		Example: "  licensectl keys public > licensectl.pem\n  licensectl keys public --all -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			keys, err := svc.SigningKeys(c.Context())
			if err != nil {
				return err
			}
			if !all {
				keys = keys[:1]
			}
			views := make([]keyView, len(keys))
			for i, k := range keys {
				views[i] = newKeyView(k)
			}
			// PEM is the default even in a pipe (`keys public > pub.pem`);
			// JSON and YAML only when asked for.
			if f.cfg.Output != "" && (format == output.JSON || format == output.YAML) {
				return output.Object(f.IO.Out, format, views, nil)
			}
			var b strings.Builder
			for _, v := range views {
				b.WriteString(v.PEM)
			}
			_, err = io.WriteString(f.IO.Out, b.String())
			return err
		},
	}
	public.Flags().BoolVar(&all, "all", false, "also print retired keys")
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Retire the signing key and make a new one",
		Long: `Make a new signing key for new certificates. Certificates signed with the
old key still verify with the old public key until they expire: hand out
` + "`keys public --all`" + ` to verifiers.`,
		Example: "  licensectl keys rotate\n  licensectl keys public --all > verifier-keys.pem",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			k, err := svc.RotateSigningKey(c.Context())
			if err != nil {
				return err
			}
			if f.cfg.Quiet {
				return nil
			}
			v := newKeyView(*k)
			return output.Object(f.IO.Out, format, v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "New signing key %s; the previous key is retired\n", v.ID)
				return err
			})
		},
	}
	cmd.AddCommand(public, rotate)
	return cmd
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

func newLicensesValidateCmd(f *Factory) *cobra.Command {
	var fingerprint, version string
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
			key, err := parseKey(args[0])
			if err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			v, err := svc.ValidateLicense(c.Context(), key, strings.TrimSpace(fingerprint), strings.TrimSpace(version))
			if err != nil {
				return err
			}
			code := licensing.ValidationErrorCode(v.Code)
			if f.cfg.Quiet {
				if code != "" {
					return licensing.Errorf(code, "%s: %s", v.Code, v.Message)
				}
				return nil
			}
			if err := output.Object(f.IO.Out, format, v, func(w io.Writer) error {
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
		},
	}
	fl := c.Flags()
	fl.StringVar(&fingerprint, "fingerprint", "", "check the activation of the machine with fingerprint `FP`")
	fl.StringVar(&version, "version", "", "check that the license covers product version `V`")
	return c
}

func newLicensesDownloadCmd(f *Factory) *cobra.Command {
	var osName string
	c := &cobra.Command{
		Use:   "download KEY [--os OS]",
		Short: "Show the latest build this license may download, and why",
		Long: `Show the newest build of the license's product for an OS that the license
may use: the newest build, except for lifetime licenses without active
maintenance, which get the newest build released before their maintenance
ended (or, never having had maintenance, before they were bought).`,
		Example: "  licensectl licenses download 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --os linux -o json",
		Args:    exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := parseKey(args[0])
			if err != nil {
				return err
			}
			if osName, err = licensing.OSEnum().Parse(osName); err != nil {
				return err
			}
			svc, format, err := f.begin(c)
			if err != nil {
				return err
			}
			d, err := svc.LatestDownload(c.Context(), key, osName)
			if err != nil {
				return err
			}
			return output.Object(f.IO.Out, format, d, func(w io.Writer) error {
				return output.KeyValues(w, [][2]string{
					{"Version", d.Version},
					{"OS", fmt.Sprintf("%s (%s)", d.OS, d.Package)},
					{"Released", d.ReleasedAt.Format("2006-01-02")},
					{"URL", d.URL},
					{"Why", d.Reason},
				})
			})
		},
	}
	c.Flags().StringVar(&osName, "os", "", "windows, macos or linux (default: the product's only platform)")
	return c
}
