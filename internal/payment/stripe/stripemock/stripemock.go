// Package stripemock runs stripe-mock (github.com/stripe/stripe-mock, Stripe's
// own mock API server, which checks every request against Stripe's OpenAPI
// description) on a loopback port for tests. It installs the pinned version
// with `go install` into the user's cache, once per machine.
//
// stripe-mock answers fixtures, not a payment flow: its PaymentIntent always
// says requires_payment_method. The fixtures it is started with are its own
// bundled ones with one change, a PaymentIntent that succeeded (what Stripe
// answers for its test card pm_card_visa), so that a purchase completes.
// Declines and 3-D Secure, which stripe-mock cannot produce, are tested at
// the provider interface with a test double (internal/payment/paymenttest).
package stripemock

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the pinned stripe-mock.
const Version = "v0.203.0"

const module = "github.com/stripe/stripe-mock"

// Start runs stripe-mock and returns its base URL (http://127.0.0.1:PORT);
// it stops when t ends. Without the go command or the module proxy it
// skips, loudly, except under CI=true, where it fails.
func Start(t testing.TB) string {
	t.Helper()
	url, stop, err := Run()
	if err != nil {
		if Required() {
			t.Fatalf("stripe-mock: %v", err)
		}
		t.Skipf("SKIP: stripe-mock %s cannot run here (%v); with CI=true this fails", Version, err)
	}
	t.Cleanup(stop)
	return url
}

// Required reports whether a test must fail, not skip, when stripe-mock
// cannot run: under CI=true nothing skips.
func Required() bool { return os.Getenv("CI") == "true" }

// Run starts stripe-mock on loopback and returns its base URL and how to
// stop it.
func Run() (string, func(), error) {
	bin, fixtures, err := Install()
	if err != nil {
		return "", nil, err
	}
	// Both listeners on loopback, on ports the system chooses; the HTTP
	// one's address is read from what stripe-mock prints.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:", "-fixtures", fixtures)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		pw.Close()
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				select {
				case found <- strings.TrimSpace(addr):
				default:
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return "http://" + addr, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("stripe-mock did not start listening")
	}
}

// Install puts stripe-mock Version and its patched fixtures in the user's
// cache (once) and returns their paths.
func Install() (bin, fixtures string, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "licensectl-test", "stripe-mock-"+Version)
	bin, fixtures = filepath.Join(dir, "stripe-mock"), filepath.Join(dir, "fixtures.json")
	if _, err := os.Stat(fixtures); err == nil {
		if _, err := os.Stat(bin); err == nil {
			return bin, fixtures, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	// go test puts its own GOROOT/bin first in PATH.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("the go command is needed to install stripe-mock: %v", err)
	}
	install := exec.Command(gocmd, "install", module+"@"+Version)
	install.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
	if out, err := install.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go install %s@%s: %v: %s", module, Version, err, strings.TrimSpace(string(out)))
	}
	dl := exec.Command(gocmd, "mod", "download", "-json", module+"@"+Version)
	dl.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := dl.Output()
	if err != nil {
		return "", "", fmt.Errorf("go mod download %s@%s: %v", module, Version, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", "", fmt.Errorf("go mod download: no module directory in %q", out)
	}
	raw, err := os.ReadFile(filepath.Join(info.Dir, "embedded", "openapi", "fixtures3.json"))
	if err != nil {
		return "", "", err
	}
	patched, err := succeededIntent(raw)
	if err != nil {
		return "", "", err
	}
	// Two test processes may install at once: each writes its own file
	// and renames it into place.
	tmp, err := os.CreateTemp(dir, "fixtures-*.json")
	if err != nil {
		return "", "", err
	}
	if _, err := tmp.Write(patched); err != nil {
		tmp.Close()
		return "", "", err
	}
	if err := tmp.Close(); err != nil {
		return "", "", err
	}
	return bin, fixtures, os.Rename(tmp.Name(), fixtures)
}

// succeededIntent is stripe-mock's fixtures with a PaymentIntent that
// succeeded and a receipt URL on its charge.
func succeededIntent(raw []byte) ([]byte, error) {
	var f struct {
		Resources map[string]map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("stripe-mock fixtures: %v", err)
	}
	pi := f.Resources["payment_intent"]
	if pi == nil {
		return nil, fmt.Errorf("stripe-mock fixtures have no payment_intent")
	}
	pi["status"], pi["last_payment_error"], pi["next_action"] = "succeeded", nil, nil
	if ch := f.Resources["charge"]; ch != nil {
		ch["receipt_url"] = "https://pay.stripe.com/receipts/test_receipt"
	}
	return json.Marshal(f)
}
