package cmd

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensekey"
	"github.com/licensectl/licensectl/internal/licensing"
)

var testNow = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func testKey(t *testing.T) string {
	t.Helper()
	k, err := licensekey.New(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// parseFlags runs a command with args and a runF that captures its options
// instead of running it: what flag parsing and checking alone make of args.
func parseFlags[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	io, _, _, _ := TestIO()
	f := &Factory{IO: io, Clock: licensing.FixedClock(testNow)}
	var got *O
	c := newCmd(f, func(o *O) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(io.Out)
	c.SetErr(io.ErrOut)
	c.SilenceErrors, c.SilenceUsage = true, true
	err := c.Execute()
	if err == nil && got == nil {
		t.Fatalf("%v: runF was not called", args)
	}
	return got, err
}

func mustParse[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, args ...string) *O {
	t.Helper()
	o, err := parseFlags(t, newCmd, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o
}

// wantUsageError checks that args are refused before the command runs, as
// a usage error (exit 2) whose message contains want.
func wantUsageError[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, want string, args ...string) {
	t.Helper()
	o, err := parseFlags(t, newCmd, args...)
	switch {
	case err == nil:
		t.Errorf("%v: accepted, options %+v", args, o)
	case o != nil:
		t.Errorf("%v: refused (%v) after runF was called", args, err)
	case exitCode(err, true) != ExitUsage || !strings.Contains(oneLineMessage(err), want):
		t.Errorf("%v: %q (exit %d), want %q (exit 2)", args, oneLineMessage(err), exitCode(err, true), want)
	}
}

func TestLicensesBuyFlags(t *testing.T) {
	o := mustParse(t, newLicensesBuyCmd, "--product", " Backup-Server ", "--quantity", "3", "--company", "Acme Dental",
		"--premium-support", "--billing", "annual", "--idempotency-key", "order-7", "--dry-run")
	want := licensing.BuyLine{Product: "backup-server", Quantity: 3, Company: "Acme Dental", Billing: "annual", PremiumSupport: true}
	if len(o.Request.Lines) != 1 || o.Request.Lines[0] != want {
		t.Errorf("lines %+v, want [%+v]", o.Request.Lines, want)
	}
	if !o.DryRun || o.Request.IdempotencyKey != "order-7" || o.Request.Trial || o.CSVFile != "" {
		t.Errorf("options %+v", o)
	}
	if o := mustParse(t, newLicensesBuyCmd, "--product", "mbs-desktop", "--trial"); !o.Request.Trial || o.Request.Lines[0].Quantity != 1 {
		t.Errorf("--trial: %+v", o.Request)
	}
	// A purchase file is read when the command runs, not while parsing.
	if o := mustParse(t, newLicensesBuyCmd, "--from-csv", "order.csv", "--idempotency-key", "k"); o.CSVFile != "order.csv" || o.Request.Lines != nil {
		t.Errorf("--from-csv: %+v", o)
	}
	wantUsageError(t, newLicensesBuyCmd, "--product is required")
	wantUsageError(t, newLicensesBuyCmd, "--company cannot be combined with --from-csv", "--from-csv", "order.csv", "--company", "Acme")
	wantUsageError(t, newLicensesBuyCmd, "quantity", "--product", "backup-server", "--quantity", "0")
}

func TestLicensesListFlags(t *testing.T) {
	o := mustParse(t, newLicensesListCmd, "--company", "Acme Dental", "--validity", "valid", "--usage", "unused",
		"--sort", "product,-expires_at", "--limit", "20", "--search", "P-7K3D")
	f := o.Filter
	if f.Company != "Acme Dental" || f.Validity != "valid" || f.Usage != "unused" || f.Limit != 20 || f.Search != "P-7K3D" || o.Group {
		t.Errorf("filter %+v", f)
	}
	if want := []licensing.SortField{{Field: "product"}, {Field: "expires_at", Desc: true}}; len(f.Sort) != 2 || f.Sort[0] != want[0] || f.Sort[1] != want[1] {
		t.Errorf("sort %+v, want %+v", f.Sort, want)
	}
	if !o.Filtered {
		t.Error("filters given, but Filtered is false")
	}
	// --sort, --limit and --group shape the list; they filter nothing.
	if o := mustParse(t, newLicensesListCmd, "--group", "--sort", "-created_at", "--limit", "5"); !o.Group || o.Filtered {
		t.Errorf("--group --sort --limit: group %v, filtered %v", o.Group, o.Filtered)
	}
	wantUsageError(t, newLicensesListCmd, "sort", "--sort", "colour")
	wantUsageError(t, newLicensesListCmd, "", "--validity", "sometimes")
}

func TestLicensesSetFlags(t *testing.T) {
	key := testKey(t)
	o := mustParse(t, newLicensesSetCmd, key, "--allow-rm=true", "--pool")
	u := o.Update
	if o.Key != key || u.AllowRM == nil || !*u.AllowRM || u.AutoRenew != nil || u.Suspended != nil || u.Company == nil || *u.Company != "" {
		t.Errorf("key %s, update %+v", o.Key, u)
	}
	o = mustParse(t, newLicensesSetCmd, strings.ToLower(key), "--auto-renew=false", "--company", "  Acme Dental ")
	if u := o.Update; o.Key != key || u.AutoRenew == nil || *u.AutoRenew || u.AllowRM != nil || u.Company == nil || *u.Company != "Acme Dental" {
		t.Errorf("key %s, update %+v", o.Key, o.Update)
	}
	wantUsageError(t, newLicensesSetCmd, "nothing to change", key)
	wantUsageError(t, newLicensesSetCmd, "--company and --pool cannot be combined", key, "--pool", "--company", "Acme")
	wantUsageError(t, newLicensesSetCmd, "malformed license key", "not-a-key", "--pool")
}

func TestLicensesValidateFlags(t *testing.T) {
	key := testKey(t)
	o := mustParse(t, newLicensesValidateCmd, key, "--fingerprint", " 4f:9a:0c ", "--version", "7.9.4")
	if o.Key != key || o.Fingerprint != "4f:9a:0c" || o.Version != "7.9.4" {
		t.Errorf("options %+v", o)
	}
	wantUsageError(t, newLicensesValidateCmd, "expects a license key", key, "extra")
}

func TestLicensesAttachFlags(t *testing.T) {
	key := testKey(t)
	if o := mustParse(t, newLicensesAttachCmd, "--key", key); o.Confirm || o.Request.Key != key {
		t.Errorf("--key: %+v", o)
	}
	if o := mustParse(t, newLicensesAttachCmd, "--code", "K7M2Q-9XDPA"); !o.Confirm || o.Code != "K7M2Q-9XDPA" {
		t.Errorf("--code: %+v", o)
	}
	wantUsageError(t, newLicensesAttachCmd, "give exactly one of --purchase-id, --key or --code", "--key", key, "--code", "X")
	wantUsageError(t, newLicensesAttachCmd, "give exactly one of")
}

func TestActivateFlags(t *testing.T) {
	key := testKey(t)
	o := mustParse(t, newActivateCmd, key, "--machine", " build-01 ", "--fingerprint", "4f:9a:0c", "--os", "Linux", "--version", "v7.9.4")
	want := licensing.ActivationRequest{LicenseKey: key, Machine: "build-01", Fingerprint: "4f:9a:0c", OS: "linux", Version: "7.9.4"}
	if o.Request != want {
		t.Errorf("request %+v, want %+v", o.Request, want)
	}
	wantUsageError(t, newActivateCmd, "--machine, --fingerprint, --os and --version are required", key)
	wantUsageError(t, newActivateCmd, "--version is required", key, "--machine", "m", "--fingerprint", "f", "--os", "linux")
	wantUsageError(t, newActivateCmd, "", key, "--machine", "m", "--fingerprint", "f", "--os", "beos", "--version", "1.0")
}

func TestDeactivateFlags(t *testing.T) {
	key := testKey(t)
	if o := mustParse(t, newDeactivateCmd, "12", "--force"); o.Request != (licensing.DeactivateRequest{ID: 12, Force: true}) {
		t.Errorf("by id: %+v", o.Request)
	}
	if o := mustParse(t, newDeactivateCmd, "--license", key, "--fingerprint", "4f:9a:0c"); o.Request != (licensing.DeactivateRequest{LicenseKey: key, Fingerprint: "4f:9a:0c"}) {
		t.Errorf("by machine: %+v", o.Request)
	}
	wantUsageError(t, newDeactivateCmd, "is not a positive number", "twelve")
	wantUsageError(t, newDeactivateCmd, "name the activation by ID, or by --license KEY and --fingerprint FP", "12", "--license", key)
}

func TestActivationsListFlags(t *testing.T) {
	key := testKey(t)
	o := mustParse(t, newActivationsListCmd, "--license", strings.ToLower(key), "--offline")
	if o.Filter != (licensing.ActivationFilter{LicenseKey: key, Offline: true}) || !o.Filtered {
		t.Errorf("filter %+v, filtered %v", o.Filter, o.Filtered)
	}
	if o := mustParse(t, newActivationsListCmd); o.Filtered {
		t.Error("no flags, but Filtered")
	}
}

func TestOfflineFlags(t *testing.T) {
	key := testKey(t)
	o := mustParse(t, newOfflineRequestCmd, "--key", key, "--machine", "vault", "--fingerprint", "9c:1e", "--os", "linux",
		"--version", "7.9.4", "--out", "req.json", "--state", "state.json")
	if o.Request.LicenseKey != key || o.Request.Machine != "vault" || o.Out != "req.json" || o.State != "state.json" || o.Rand == nil {
		t.Errorf("request options %+v", o)
	}
	wantUsageError(t, newOfflineRequestCmd, "--out are required", "--key", key)

	v := mustParse(t, newOfflineVerifyCmd, "cert.lic", "--public-key", "pub.pem", "--fingerprint", " 9c:1e ")
	if v.CertFile != "cert.lic" || v.PublicKeyFile != "pub.pem" || v.Fingerprint != "9c:1e" || v.AnyMachine {
		t.Errorf("verify options %+v", v)
	}
	wantUsageError(t, newOfflineVerifyCmd, "say which machine", "cert.lic", "--public-key", "pub.pem")
	wantUsageError(t, newOfflineVerifyCmd, "cannot be combined", "cert.lic", "--public-key", "pub.pem", "--any-machine", "--fingerprint", "x")
	wantUsageError(t, newOfflineVerifyCmd, "--public-key is required", "cert.lic", "--any-machine")

	d := mustParse(t, newOfflineDeactivateCmd, "cert.lic", "-O", "-")
	if d.CertFile != "cert.lic" || d.Out != "-" || d.State == "" {
		t.Errorf("deactivate options %+v", d)
	}
	wantUsageError(t, newOfflineDeactivateCmd, "--out is required", "cert.lic")
}

func TestMaintenanceBuyFlags(t *testing.T) {
	key := testKey(t)
	if o := mustParse(t, newMaintenanceBuyCmd, key); o.Request.Key != key || o.Request.NoAutoRenew || o.Request.All || o.DryRun {
		t.Errorf("KEY: %+v", o.Request)
	}
	o := mustParse(t, newMaintenanceBuyCmd, "--all", "--company", "Acme Dental", "--product", "backup-server", "--auto-renew=false", "--dry-run")
	if r := o.Request; !r.All || r.Company != "Acme Dental" || r.Product != "backup-server" || !r.NoAutoRenew || !o.DryRun || r.Key != "" {
		t.Errorf("--all: %+v, dry run %v", r, o.DryRun)
	}
	wantUsageError(t, newMaintenanceBuyCmd, "takes at most one license key", key, key)
	wantUsageError(t, newMaintenanceBuyCmd, "malformed license key", "nope")
}

func TestMaintenanceAssignAndSetFlags(t *testing.T) {
	key := testKey(t)
	if o := mustParse(t, newMaintenanceAssignCmd, "M-7K3D9QX2M1AB", strings.ToLower(key)); o.ID != "M-7K3D9QX2M1AB" || o.Key != key {
		t.Errorf("assign: %+v", o)
	}
	wantUsageError(t, newMaintenanceAssignCmd, "expects a maintenance plan id and a license key", "M-7K3D9QX2M1AB")
	if o := mustParse(t, newMaintenanceSetCmd, "M-1", "--auto-renew=false"); o.ID != "M-1" || o.Update.AutoRenew == nil || *o.Update.AutoRenew {
		t.Errorf("set: %+v", o)
	}
	wantUsageError(t, newMaintenanceSetCmd, "nothing to change", "M-1")
}

func TestMaintenanceListFlags(t *testing.T) {
	key := testKey(t)
	if o := mustParse(t, newMaintenanceListCmd, "--available", "--license", key); !o.Filter.Available || o.Filter.License != key {
		t.Errorf("filter %+v", o.Filter)
	}
}

func TestRenewalsFlags(t *testing.T) {
	o := mustParse(t, newRenewalsRunCmd)
	if !o.At.Equal(testNow) || o.DryRun {
		t.Errorf("no flags: as of %v (want the clock's %v), dry run %v", o.At, testNow, o.DryRun)
	}
	future := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if o := mustParse(t, newRenewalsRunCmd, "--as-of", "2031-01-01", "--dry-run"); !o.At.Equal(future) || !o.DryRun {
		t.Errorf("--dry-run --as-of: %v, %v", o.At, o.DryRun)
	}
	wantUsageError(t, newRenewalsRunCmd, "", "--as-of", "2031-01-01") // a run never goes past now
	wantUsageError(t, newRenewalsRunCmd, "invalid time", "--as-of", "soon")

	l := mustParse(t, newRenewalsListCmd, "--due-within", "1y6mo", "--as-of", "2026-01-01")
	if until := l.Ahead.from(l.At); !until.Equal(time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("--due-within 1y6mo from 2026-01-01: until %v", until)
	}
	wantUsageError(t, newRenewalsListCmd, "", "--due-within", "forever")
}

func TestAccountsCompaniesTokensProductsAuditKeysFlags(t *testing.T) {
	if o := mustParse(t, newAccountsCreateCmd, "ops@example.com", "--if-missing"); o.Email != "ops@example.com" || !o.IfMissing {
		t.Errorf("accounts create: %+v", o)
	}
	wantUsageError(t, newAccountsCreateCmd, "expects an email")
	if o := mustParse(t, newCompaniesCreateCmd, "Acme Dental"); o.Name != "Acme Dental" {
		t.Errorf("companies create: %+v", o)
	}
	if o := mustParse(t, newTokenRevokeCmd, "lct_abcd1234"); o.Prefix != "lct_abcd1234" {
		t.Errorf("token revoke: %+v", o)
	}
	if o := mustParse(t, newProductsImportCmd, "prices.yaml"); o.File != "prices.yaml" {
		t.Errorf("products import: %+v", o)
	}
	wantUsageError(t, newProductsListCmd, "unexpected argument", "extra")

	a := mustParse(t, newAuditListCmd, "--action", "purchase.", "--since", "2026-01-01", "--limit", "5")
	if a.Filter.Action != "purchase." || a.Filter.Since == nil || !a.Filter.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		a.Filter.Limit != 5 || !a.Filtered {
		t.Errorf("audit list: %+v", a.Filter)
	}
	if a := mustParse(t, newAuditListCmd); a.Filter.Limit != 100 || a.Filtered {
		t.Errorf("audit list defaults: %+v, filtered %v", a.Filter, a.Filtered)
	}
	wantUsageError(t, newAuditListCmd, "--limit must not be negative", "--limit", "-1")

	if k := mustParse(t, newKeysPublicCmd, "--all"); !k.All {
		t.Error("keys public --all: All is false")
	}
	if l := mustParse(t, newLoginCmd, "--with-token"); !l.WithToken || l.ConfigPath == nil {
		t.Errorf("login: %+v", l)
	}
}

func TestTokenFlags(t *testing.T) {
	o := mustParse(t, newTokenCreateCmd, "--name", " ci ", "--scope", "Validate, activations:write", "--expires", "90d")
	want := licensing.TokenRequest{Name: "ci", Scopes: []string{"activations:write", "validate"}, ExpiresIn: 90 * 24 * time.Hour}
	if o.Request.Name != want.Name || strings.Join(o.Request.Scopes, ",") != "activations:write,validate" || o.Request.ExpiresIn != want.ExpiresIn {
		t.Errorf("accounts token create: %+v, want %+v", o.Request, want)
	}
	if o := mustParse(t, newTokenCreateCmd); o.Request.Scopes != nil || o.Request.ExpiresIn != 0 || o.Request.Name != "" {
		t.Errorf("accounts token create defaults: %+v, want every scope, no expiry", o.Request)
	}
	if o := mustParse(t, newTokenCreateCmd, "--expires", "12h"); o.Request.ExpiresIn != 12*time.Hour {
		t.Errorf("--expires 12h: %v", o.Request.ExpiresIn)
	}
	wantUsageError(t, newTokenCreateCmd, `unknown scope "lookup"`, "--scope", "validate,lookup")
	wantUsageError(t, newTokenCreateCmd, "--scope needs at least one scope", "--scope", " , ")
	wantUsageError(t, newTokenCreateCmd, `invalid --expires "soon"`, "--expires", "soon")
	wantUsageError(t, newTokenCreateCmd, `invalid --expires "0d"`, "--expires", "0d")
	wantUsageError(t, newTokenCreateCmd, "too short", "--expires", "30s")

	op := mustParse(t, newOperatorsTokenCreateCmd, "alice", "--scope", "lookup,impersonate", "--expires", "1w")
	if op.Name != "alice" || strings.Join(op.Request.Scopes, ",") != "lookup,impersonate" || op.Request.ExpiresIn != 7*24*time.Hour {
		t.Errorf("operators token create: %+v", op)
	}
	wantUsageError(t, newOperatorsTokenCreateCmd, `unknown scope "validate"`, "alice", "--scope", "validate")
	wantUsageError(t, newOperatorsTokenCreateCmd, "expects an operator name", "--scope", "lookup")
}

func TestOperatorAndLookupFlags(t *testing.T) {
	if o := mustParse(t, newOperatorsCreateCmd, "alice"); o.Name != "alice" {
		t.Errorf("operators create: %+v", o)
	}
	if o := mustParse(t, newOperatorsTokenRevokeCmd, "lco_abcd1234"); o.Prefix != "lco_abcd1234" {
		t.Errorf("operators token revoke: %+v", o)
	}
	disable := func(f *Factory, runF func(*operatorsDisableOptions) error) *cobra.Command {
		return newOperatorsDisableCmd(f, runF, true)
	}
	enable := func(f *Factory, runF func(*accountsDisableOptions) error) *cobra.Command {
		return newAccountsDisableCmd(f, runF, false)
	}
	if o := mustParse(t, disable, "alice"); o.Name != "alice" || !o.Disabled {
		t.Errorf("operators disable: %+v", o)
	}
	if o := mustParse(t, enable, "cust@example.com"); o.Email != "cust@example.com" || o.Disabled {
		t.Errorf("accounts enable: %+v", o)
	}
	key := testKey(t)
	if o := mustParse(t, newLicensesFindCmd, strings.ToLower(key)); o.Key != key {
		t.Errorf("licenses find: %+v, want key %s", o, key)
	}
	wantUsageError(t, newLicensesFindCmd, "malformed license key", "NOT-A-KEY")
	if o := mustParse(t, newPurchasesFindCmd, " p-7k3d9qx2m1ab "); o.PurchaseID != "P-7K3D9QX2M1AB" {
		t.Errorf("purchases find: %+v", o)
	}
	wantUsageError(t, newPurchasesFindCmd, "malformed purchase ID", "P-1")
}

// Every scope has a meaning in the help texts.
func TestEveryScopeIsExplained(t *testing.T) {
	for _, s := range append(licensing.AccountScopes(), licensing.OperatorScopes()...) {
		if scopeMeanings[s] == "" {
			t.Errorf("scope %s has no meaning in scopeMeanings", s)
		}
	}
}
