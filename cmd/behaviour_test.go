package cmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/licensing/licensingtest"
)

// testEnv is a run function's environment over a test double: buffers for
// the streams (none a terminal), a pinned clock and cfg as the resolved
// configuration.
func testEnv(svc *licensingtest.Services, cfg Config) (env, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	io, in, out, errOut := TestIO()
	return env{
		IO:       io,
		Services: func(context.Context) (licensing.Services, error) { return svc, nil },
		Clock:    licensing.FixedClock(testNow),
		Config:   func() *Config { return &cfg },
	}, in, out, errOut
}

func testLicenses() []*licensing.License {
	acme := "Acme Dental"
	exp := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	return []*licensing.License{
		{Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Product: "backup-server", Kind: "commercial", Term: "perpetual",
			Status: "activated", Validity: "valid", Usage: "used", Maintenance: "none", Seats: 1, SeatsUsed: 1, CreatedAt: testNow},
		{Key: "BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", Product: "mbs-server", Kind: "trial", Term: "monthly", Company: &acme,
			Status: "not_activated", Validity: "valid", Usage: "unused", Maintenance: "none", Seats: 1, ExpiresAt: &exp, CreatedAt: testNow},
	}
}

// The list streams what the backend yields as a table, with the acting
// account in the context the backend is asked with.
func TestLicensesListRendersATable(t *testing.T) {
	svc := &licensingtest.Services{
		ListLicensesFn: func(ctx context.Context, f licensing.LicenseFilter, fn func(*licensing.License) error) error {
			if got := licensing.AccountFrom(ctx); got != "ops@example.com" {
				t.Errorf("acting account in ctx %q", got)
			}
			for _, l := range testLicenses() {
				if err := fn(l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	e, _, out, errOut := testEnv(svc, Config{Output: "table", Account: "OPS@example.com"})
	if err := licensesListRun(context.Background(), &licensesListOptions{env: e}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "KEY") || !strings.Contains(lines[0], "MAINTENANCE TILL") {
		t.Fatalf("table:\n%s", out)
	}
	for i, want := range [][]string{{"AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "backup-server", "(pool)", "-"},
		{"BBBBB-BBBBB-BBBBB-BBBBB-BBBBB", "mbs-server", "Trial", "Not activated", "Acme Dental", "2027-01-15"}} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("row %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr %q", errOut)
	}
}

// An empty list prints no lone header: a note on stderr says why, and a
// type never bought gets the portal's words even in JSON (stdout stays []).
func TestLicensesListSaysWhyItIsEmpty(t *testing.T) {
	none := func(context.Context, licensing.LicenseFilter, func(*licensing.License) error) error { return nil }
	for _, c := range []struct {
		name   string
		o      licensesListOptions
		output string
		stdout string
		note   string
	}{
		{"nothing yet", licensesListOptions{}, "table", "", "No licenses yet — buy some with `licensectl licenses buy --product SKU`\n"},
		{"filtered", licensesListOptions{Filtered: true}, "table", "", "No licenses match these filters\n"},
		{"never bought", licensesListOptions{Filter: licensing.LicenseFilter{Product: "MBS-Server"}, Filtered: true}, "json", "[]\n",
			"You have not purchased licenses of this type (mbs-server)\n"},
	} {
		svc := &licensingtest.Services{
			ListLicensesFn: none,
			FindProductFn: func(_ context.Context, sku string) (*licensing.Product, error) {
				return &licensing.Product{SKU: strings.ToLower(sku)}, nil
			},
			GroupLicensesFn: func(_ context.Context, f licensing.LicenseFilter) ([]licensing.LicenseGroup, error) {
				if f.Product != "mbs-server" {
					t.Errorf("%s: grouped by %q, not the catalog's SKU", c.name, f.Product)
				}
				return nil, nil
			},
		}
		e, _, out, errOut := testEnv(svc, Config{Output: c.output})
		c.o.env = e
		if err := licensesListRun(context.Background(), &c.o); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if out.String() != c.stdout || errOut.String() != c.note {
			t.Errorf("%s: stdout %q, stderr %q; want %q and %q", c.name, out, errOut, c.stdout, c.note)
		}
	}
}

// An error the backend returns keeps its code on the way to the exit code,
// and nothing is printed on stdout.
func TestServiceErrorsBecomeExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{licensing.Errorf(licensing.ENOTFOUND, "license not found"), ExitNotFound},
		{licensing.Errorf(licensing.EINVALID, "bad"), ExitUsage},
		{licensing.Errorf(licensing.EUNAUTHORIZED, "no account"), ExitAuth},
		{licensing.Errorf(licensing.EFORBIDDEN, "scope"), ExitAuth},
		{licensing.Errorf(licensing.ECONFLICT, "no seat free"), ExitConflict},
		{licensing.Errorf(licensing.EUNAVAILABLE, "store busy"), ExitTempFail},
		{licensing.Errorf(licensing.ERATELIMITED, "slow down"), ExitTempFail},
		{errors.New("disk on fire"), ExitFailure},
	} {
		svc := &licensingtest.Services{
			GetLicenseFn: func(context.Context, string) (*licensing.LicenseDetail, error) { return nil, c.err },
		}
		e, _, out, _ := testEnv(svc, Config{Output: "json"})
		err := licensesShowRun(context.Background(), &licensesShowOptions{env: e, Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"})
		if !errors.Is(err, c.err) || exitCode(err, true) != c.code || out.Len() != 0 {
			t.Errorf("%v: got %v, exit %d, stdout %q; want exit %d", c.err, err, exitCode(err, true), out, c.code)
		}
	}
}

// Declining the bulk maintenance question buys nothing and exits 1 with
// "nothing was done"; with no terminal to ask at, --yes is required (exit 2).
func TestMaintenanceBuyAllDeclined(t *testing.T) {
	svc := &licensingtest.Services{
		QuoteMaintenanceFn: func(_ context.Context, r licensing.MaintenanceBuyRequest) (*licensing.MaintenancePurchase, error) {
			if !r.All {
				t.Errorf("quoted %+v", r)
			}
			return &licensing.MaintenancePurchase{Purchase: licensing.Purchase{TotalCents: 3000, Currency: "USD"}, Count: 3}, nil
		},
		// BuyMaintenanceFn is nil: a purchase fails the test.
	}
	e, in, out, errOut := testEnv(svc, Config{Output: "table"})
	e.IO.StdinTTY = true
	in.WriteString("n\n")
	err := maintenanceBuyRun(context.Background(), &maintenanceBuyOptions{env: e, Request: licensing.MaintenanceBuyRequest{All: true}})
	if exitCode(err, true) != ExitFailure || oneLineMessage(err) != "not confirmed: nothing was done" {
		t.Fatalf("declined: %v (exit %d)", err, exitCode(err, true))
	}
	if !strings.Contains(errOut.String(), "Buy 3 maintenance plan(s) for $30.00 USD, one year each? [y/N] ") || out.Len() != 0 {
		t.Errorf("declined: stdout %q, stderr %q", out, errOut)
	}

	e, _, _, errOut = testEnv(svc, Config{Output: "table"})
	err = maintenanceBuyRun(context.Background(), &maintenanceBuyOptions{env: e, Request: licensing.MaintenanceBuyRequest{All: true}})
	if exitCode(err, true) != ExitUsage || !strings.Contains(oneLineMessage(err), "confirm with --yes") || errOut.Len() != 0 {
		t.Errorf("no terminal: %v (exit %d), stderr %q", err, exitCode(err, true), errOut)
	}
}

// A license that fails validation prints its reason on stdout and exits
// with the reason's code, reporting nothing more on stderr.
func TestValidateReportsTheReasonOnce(t *testing.T) {
	for reason, code := range map[string]int{licensing.ValidValid: ExitOK, licensing.ValidExpired: ExitConflict, licensing.ValidNoMachine: ExitNotFound} {
		svc := &licensingtest.Services{
			ValidateLicenseFn: func(_ context.Context, key, fingerprint, version string) (*licensing.Validation, error) {
				return &licensing.Validation{Key: key, Code: reason, Valid: reason == licensing.ValidValid, Message: "because"}, nil
			},
		}
		e, _, out, _ := testEnv(svc, Config{Output: "table"})
		err := licensesValidateRun(context.Background(), &licensesValidateOptions{env: e, Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"})
		var silent interface{ Silent() bool }
		switch {
		case out.String() != reason+": because\n":
			t.Errorf("%s: stdout %q", reason, out)
		case code == ExitOK && err != nil:
			t.Errorf("%s: %v", reason, err)
		case code != ExitOK && (exitCode(err, true) != code || !errors.As(err, &silent) || !silent.Silent()):
			t.Errorf("%s: %v (exit %d), want a silent exit %d", reason, err, exitCode(err, true), code)
		}
	}
}

// Switching Allow RM on warns about the machines whose version cannot use it.
func TestLicensesSetWarnsAboutOldMachines(t *testing.T) {
	on := true
	svc := &licensingtest.Services{
		UpdateLicenseFn: func(_ context.Context, key string, u licensing.LicenseUpdate) (*licensing.License, error) {
			return &licensing.License{Key: key, AllowRM: *u.AllowRM}, nil
		},
		ListActivationsFn: func(context.Context, licensing.ActivationFilter) ([]licensing.Activation, error) {
			return []licensing.Activation{{Machine: "old-box", Version: "5.1.2"}, {Machine: "new-box", Version: "7.9.4"}}, nil
		},
	}
	e, _, out, errOut := testEnv(svc, Config{Output: "table"})
	err := licensesSetRun(context.Background(), &licensesSetOptions{env: e, Key: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Update: licensing.LicenseUpdate{AllowRM: &on}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "warning: remote management needs version 5.2 or newer; it stays unavailable on old-box (5.1.2) until upgraded\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if want := "Updated AAAAA-AAAAA-AAAAA-AAAAA-AAAAA: allow RM yes, auto-renew no, company (pool)\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}
