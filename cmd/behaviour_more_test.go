package cmd

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/licensing/licensingtest"
)

func testSigningKeys(t *testing.T) []licensing.SigningKey {
	t.Helper()
	var keys []licensing.SigningKey
	retired := testNow.Add(-time.Hour)
	for i, id := range []string{"k-new", "k-old"} {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		k := licensing.SigningKey{ID: id, PublicKey: pub, Current: i == 0, CreatedAt: testNow.Add(-time.Duration(i) * 24 * time.Hour)}
		if i > 0 {
			k.RetiredAt = &retired
		}
		keys = append(keys, k)
	}
	return keys
}

// keys public prints PEM even in a pipe (so `> pub.pem` works), the current
// key only unless --all, and JSON only when asked for.
func TestKeysPublic(t *testing.T) {
	keys := testSigningKeys(t)
	svc := &licensingtest.Services{SigningKeysFn: func(context.Context) ([]licensing.SigningKey, error) { return keys, nil }}
	for _, c := range []struct {
		output string
		all    bool
		blocks int
	}{{"", false, 1}, {"", true, 2}} {
		e, _, out, _ := testEnv(svc, Config{Output: c.output})
		if err := keysPublicRun(context.Background(), &keysPublicOptions{env: e, All: c.all}); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), "-----BEGIN PUBLIC KEY-----"); n != c.blocks {
			t.Errorf("--all=%v: %d PEM blocks, want %d:\n%s", c.all, n, c.blocks, out)
		}
	}
	e, _, out, _ := testEnv(svc, Config{Output: "json"})
	if err := keysPublicRun(context.Background(), &keysPublicOptions{env: e, All: true}); err != nil {
		t.Fatal(err)
	}
	var views []keyView
	if err := json.Unmarshal(out.Bytes(), &views); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(views) != 2 || views[0].ID != "k-new" || !views[0].Current || views[1].RetiredAt == nil ||
		!strings.HasPrefix(views[1].PEM, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("json: %+v", views)
	}
}

func TestKeysRotate(t *testing.T) {
	keys := testSigningKeys(t)
	rotated := 0
	svc := &licensingtest.Services{RotateSigningKeyFn: func(context.Context) (*licensing.SigningKey, error) {
		rotated++
		return &keys[0], nil
	}}
	e, _, out, _ := testEnv(svc, Config{Output: "table"})
	if err := keysRotateRun(context.Background(), &keysRotateOptions{env: e}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "New signing key k-new; the previous key is retired\n" {
		t.Errorf("got %q", out)
	}
	e, _, out, _ = testEnv(svc, Config{Output: "table", Quiet: true})
	if err := keysRotateRun(context.Background(), &keysRotateOptions{env: e}); err != nil || out.Len() != 0 {
		t.Errorf("--quiet: %v, %q", err, out)
	}
	if rotated != 2 {
		t.Errorf("rotated %d times, want 2", rotated)
	}
}

// offline activate hands the request file to the backend byte for byte and
// writes the certificate it answers; a second activation says "Renewed".
func TestOfflineActivateWritesTheCertificate(t *testing.T) {
	dir := t.TempDir()
	reqFile, certFile := filepath.Join(dir, "req.json"), filepath.Join(dir, "cert.lic")
	request := []byte(`{"request":"as the machine wrote it"}` + "\n")
	if err := os.WriteFile(reqFile, request, 0o600); err != nil {
		t.Fatal(err)
	}
	existing := false
	svc := &licensingtest.Services{ActivateOfflineFn: func(ctx context.Context, got []byte) (*licensing.OfflineActivation, error) {
		if string(got) != string(request) {
			t.Errorf("request %q, want %q", got, request)
		}
		if licensing.AccountFrom(ctx) != "ops@example.com" {
			t.Errorf("account %q", licensing.AccountFrom(ctx))
		}
		return &licensing.OfflineActivation{Activation: licensing.Activation{ID: 7, LicenseKey: "K", Machine: "vault-1",
			Mode: "offline", Existing: existing}, Certificate: "-----BEGIN LICENSECTL CERTIFICATE-----\nxyz\n"}, nil
	}}
	for _, want := range []string{"Created", "Renewed"} {
		e, _, out, errOut := testEnv(svc, Config{Output: "table", Account: "ops@example.com"})
		if err := offlineActivateRun(context.Background(), &offlineActivateOptions{env: e, RequestFile: reqFile, Out: certFile}); err != nil {
			t.Fatal(err)
		}
		cert, err := os.ReadFile(certFile)
		if err != nil || string(cert) != "-----BEGIN LICENSECTL CERTIFICATE-----\nxyz\n" {
			t.Errorf("certificate file %q, %v", cert, err)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(errOut.String(), "carry it back to vault-1") {
			t.Errorf("want %q: stdout %q, stderr %q", want, out, errOut)
		}
		existing = true
	}
	// To stdout: the certificate alone, nothing else on stdout.
	e, _, out, _ := testEnv(svc, Config{Output: "table", Account: "ops@example.com"})
	if err := offlineActivateRun(context.Background(), &offlineActivateOptions{env: e, RequestFile: reqFile, Out: "-"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "-----BEGIN LICENSECTL CERTIFICATE-----\nxyz\n" {
		t.Errorf("stdout %q", out)
	}
}

// renewals list asks for what falls due by --as-of + --due-within and sums
// the renewals (not the ends) in its footer.
func TestRenewalsListTotals(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var asked time.Time
	svc := &licensingtest.Services{DueRenewalsFn: func(_ context.Context, until time.Time) ([]licensing.Renewal, error) {
		asked = until
		return []licensing.Renewal{
			{Kind: licensing.RenewalSubscription, Object: "K1", Action: licensing.RenewalRenew, PriceCents: 123456, DueAt: at},
			{Kind: licensing.RenewalMaintenance, Object: "M-1", Action: licensing.RenewalRenew, PriceCents: 2400, DueAt: at},
			{Kind: licensing.RenewalTrial, Object: "K2", Action: licensing.RenewalExpire, DueAt: at},
		}, nil
	}}
	e, _, out, _ := testEnv(svc, Config{Output: "table"})
	if err := renewalsListRun(context.Background(), &renewalsListOptions{env: e, At: at, Ahead: lookAhead{months: 6}}); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC); !asked.Equal(want) {
		t.Errorf("asked until %v, want %v", asked, want)
	}
	if !strings.Contains(out.String(), "2 renewal(s) for $1,258.56, 1 end(s) by 2026-09-01T00:00:00Z") {
		t.Errorf("footer missing:\n%s", out)
	}
}

// licenses find shows the license's account, or that it waits for one;
// JSON is the owner object, not a list.
func TestLicensesFindShowsTheAccount(t *testing.T) {
	cust := "cust@example.com"
	owners := map[string]*licensing.LicenseOwner{
		"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA": {Account: &cust, License: testLicenses()[0]},
		"BBBBB-BBBBB-BBBBB-BBBBB-BBBBB": {License: testLicenses()[1]},
	}
	svc := &licensingtest.Services{FindLicenseFn: func(_ context.Context, key string) (*licensing.LicenseOwner, error) {
		return owners[key], nil
	}}
	for _, c := range []struct{ key, format, want string }{
		{"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "table", "cust@example.com"},
		{"BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", "table", "(none: waiting for an account)"},
		{"BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", "table", "Acme Dental"},
		{"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "json", `"account": "cust@example.com"`},
		{"BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", "json", `"account": null`},
	} {
		e, _, out, _ := testEnv(svc, Config{Output: c.format})
		if err := licensesFindRun(context.Background(), &licensesFindOptions{env: e, Key: c.key}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%s -o %s:\n%s\nwant %q", c.key, c.format, out, c.want)
		}
		if c.format == "json" && !strings.HasPrefix(out.String(), "{") {
			t.Errorf("-o json is not an object:\n%s", out)
		}
	}
}

// Token lists show every scope by name, and "never" for no expiry.
func TestTokenListShowsScopesAndExpiry(t *testing.T) {
	exp := testNow.Add(24 * time.Hour)
	svc := &licensingtest.Services{ListTokensFn: func(context.Context) ([]licensing.Token, error) {
		return []licensing.Token{
			{Prefix: "lct_aaaaaaaa", Name: "ci", Scopes: []string{"activations:write", "validate"}, CreatedAt: testNow, ExpiresAt: &exp},
			{Prefix: "lct_bbbbbbbb", Scopes: licensing.AccountScopes(), CreatedAt: testNow},
		}, nil
	}}
	e, _, out, _ := testEnv(svc, Config{Output: "wide"})
	if err := tokenListRun(context.Background(), &tokenListOptions{env: e}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "PREFIX NAME SCOPES CREATED LAST USED EXPIRES REVOKED" {
		t.Fatalf("table:\n%s", out)
	}
	if !strings.Contains(lines[1], "activations:write,validate") || !strings.Contains(lines[1], "2026-01-16 10:00") {
		t.Errorf("row 1: %q", lines[1])
	}
	if !strings.Contains(lines[2], strings.Join(licensing.AccountScopes(), ",")) || !strings.Contains(lines[2], "never") || strings.Contains(lines[2], "all") {
		t.Errorf("row 2: %q", lines[2])
	}
}
