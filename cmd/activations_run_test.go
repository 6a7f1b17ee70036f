package cmd

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/licensing/licensingtest"
)

func TestLeaseFlags(t *testing.T) {
	key := testKey(t)
	machine := []string{"--machine", "ci-01", "--fingerprint", "fp", "--os", "linux", "--version", "7.9.4"}
	o := mustParse(t, newActivateCmd, append([]string{key, "--lease", "10m"}, machine...)...)
	if o.Request.LicenseKey != key || o.Request.LeaseSeconds != 600 || o.Request.Product != "" {
		t.Errorf("activate --lease: %+v", o.Request)
	}
	o = mustParse(t, newActivateCmd, append([]string{"--product", "backup-server", "--company", "Acme", "--lease", "1d"}, machine...)...)
	if o.Request.LicenseKey != "" || o.Request.Product != "backup-server" || o.Request.Company != "Acme" || o.Request.LeaseSeconds != 86400 {
		t.Errorf("activate --product: %+v", o.Request)
	}
	wantUsageError(t, newActivateCmd, "not both", append([]string{key, "--product", "backup-server"}, machine...)...)
	wantUsageError(t, newActivateCmd, "name a license KEY, or --product SKU", machine...)
	wantUsageError(t, newActivateCmd, "it needs --product SKU", append([]string{key, "--company", "Acme"}, machine...)...)
	wantUsageError(t, newActivateCmd, "a lease lasts from 30s to 720h", append([]string{key, "--lease", "5s"}, machine...)...)
	wantUsageError(t, newActivateCmd, `invalid --lease "0"`, append([]string{key, "--lease", "0"}, machine...)...)
	wantUsageError(t, newActivateCmd, "at most one license key", append([]string{key, key}, machine...)...)

	r := mustParse(t, newActivationsRunCmd, append(append([]string{key, "--lease", "90s", "--wait", "15m", "--keep-running"}, machine...), "--", "make", "-j", "4", "--quiet")...)
	if r.Request.LeaseSeconds != 90 || r.Wait != 15*time.Minute || !r.KeepRunning || strings.Join(r.Command, " ") != "make -j 4 --quiet" || r.Grace != stopGrace {
		t.Errorf("run: %+v", r)
	}
	wantUsageError(t, newActivationsRunCmd, "--lease is required", append(append([]string{key}, machine...), "--", "true")...)
	wantUsageError(t, newActivationsRunCmd, "name the command to run after --", append([]string{key, "--lease", "1m"}, machine...)...)
	wantUsageError(t, newActivationsRunCmd, "name the command to run after --", append(append([]string{key, "--lease", "1m"}, machine...), "--")...)
	wantUsageError(t, newActivationsRunCmd, "at most one license key before --", append(append([]string{key, key, "--lease", "1m"}, machine...), "--", "true")...)

	if h := mustParse(t, newHeartbeatCmd, "12"); h.ID != 12 {
		t.Errorf("heartbeat: %+v", h)
	}
	wantUsageError(t, newHeartbeatCmd, "is not a positive number", "0")
	if rel := mustParse(t, newActivationsReleaseCmd, "--stale", "2w", "--dry-run"); rel.Stale != 14*24*time.Hour || !rel.DryRun {
		t.Errorf("release: %+v", rel)
	}
	wantUsageError(t, newActivationsReleaseCmd, "--stale is required")
	wantUsageError(t, newActivationsReleaseCmd, "at least 1m", "--stale", "59s")
	if l := mustParse(t, newActivationsListCmd, "--stale", "36h"); l.Filter.Stale != 36*time.Hour || !l.Filtered {
		t.Errorf("list --stale: %+v", l.Filter)
	}
}

func TestLeaseText(t *testing.T) {
	for seconds, want := range map[int64]string{30: "30s", 60: "1m", 90: "1m30s", 600: "10m", 3600: "1h", 5400: "1h30m", 86400: "24h"} {
		if got := leaseText(seconds); got != want {
			t.Errorf("leaseText(%d) = %q, want %q", seconds, got, want)
		}
	}
}

// runFixture is a backend for activations run: Activate hands out
// activation 7 with a lease of leaseSeconds; Heartbeat answers heartbeat.
func runFixture(t *testing.T, leaseSeconds int64, heartbeat func(n int) error) (*licensingtest.Services, *atomic.Int64) {
	t.Helper()
	var deactivated atomic.Int64
	var mu sync.Mutex
	beats := 0
	svc := &licensingtest.Services{
		ActivateFn: func(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
			exp := testNow.Add(time.Duration(leaseSeconds) * time.Second)
			return &licensing.Activation{ID: 7, LicenseKey: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", Machine: r.Machine,
				LeaseSeconds: leaseSeconds, LeaseExpiresAt: &exp}, nil
		},
		HeartbeatFn: func(ctx context.Context, id int64) (*licensing.Activation, error) {
			mu.Lock()
			beats++
			n := beats
			mu.Unlock()
			if err := heartbeat(n); err != nil {
				return nil, err
			}
			return &licensing.Activation{ID: id}, nil
		},
		DeactivateFn: func(ctx context.Context, r licensing.DeactivateRequest) (*licensing.Activation, error) {
			if ctx.Err() != nil {
				t.Errorf("released with a cancelled context: %v", ctx.Err())
			}
			deactivated.Store(r.ID)
			return &licensing.Activation{ID: r.ID}, nil
		},
	}
	return svc, &deactivated
}

func runCommand(e env, lease int64, keep bool, command ...string) *activationsRunOptions {
	return &activationsRunOptions{env: e, Request: licensing.ActivationRequest{LicenseKey: "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA",
		Machine: "ci-01", Fingerprint: "fp", OS: "linux", Version: "7.9.4", LeaseSeconds: lease},
		KeepRunning: keep, Command: command, Grace: time.Second}
}

// A heartbeat refused as a conflict means the lease is lost: the command is
// told to stop (SIGTERM), licensectl exits with its status and releases.
func TestRunStopsTheCommandWhenTheLeaseIsLost(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	svc, deactivated := runFixture(t, 3, func(int) error {
		return licensing.Errorf(licensing.ECONFLICT, "the lease of activation 7 expired at 2026-01-15T10:00:03Z: its seat is free for other machines")
	})
	e, _, out, errOut := testEnv(svc, Config{})
	start := time.Now()
	err := activationsRunRun(context.Background(), runCommand(e, 3, false, "sh", "-c", `trap 'echo stopped; exit 9' TERM; while :; do sleep 0.05; done`))
	var ce *childExit
	if !errors.As(err, &ce) || ce.ExitCode() != 9 || !ce.Silent() {
		t.Fatalf("err %v, want the command's exit status 9", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the first heartbeat is due after a third of the 3s lease", d)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("the command was not sent SIGTERM: stdout %q", out)
	}
	if want := "licensectl: the lease of activation 7 was lost (the lease of activation 7 expired at 2026-01-15T10:00:03Z: its seat is free for other machines); stopping sh\n"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if deactivated.Load() != 7 {
		t.Error("the seat was not released")
	}
}

// Failed heartbeats are retried while the lease lasts; one that succeeds in
// time keeps the command running. With --keep-running a lost lease is only
// reported.
func TestRunRetriesHeartbeatsAndKeepsRunning(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	svc, deactivated := runFixture(t, 3, func(n int) error {
		switch n {
		case 1:
			return licensing.Errorf(licensing.EUNAVAILABLE, "the server is unavailable")
		case 2:
			return nil
		}
		return licensing.Errorf(licensing.ENOTFOUND, "no activation 7")
	})
	e, _, out, errOut := testEnv(svc, Config{})
	err := activationsRunRun(context.Background(), runCommand(e, 3, true, "sh", "-c", "sleep 4.5; echo finished"))
	if err != nil {
		t.Fatalf("err %v, want the command's success", err)
	}
	if !strings.Contains(out.String(), "finished") {
		t.Errorf("the command did not finish: stdout %q", out)
	}
	for _, want := range []string{
		"licensectl: holding seat of AAAAA-AAAAA-AAAAA-AAAAA-AAAAA (activation 7, lease 3s)\n",
		"licensectl: heartbeat of activation 7 failed (the server is unavailable); retrying until the lease expires\n",
		"licensectl: the lease of activation 7 was lost (no activation 7); sh keeps running (--keep-running)\n",
		"licensectl: released seat of AAAAA-AAAAA-AAAAA-AAAAA-AAAAA (activation 7)\n",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
	if deactivated.Load() != 7 {
		t.Error("the seat was not released")
	}
}

// Without a free seat, run waits up to --wait and then fails with the
// last refusal (exit 5); any other refusal fails at once.
func TestRunWaitsForAFreeSeat(t *testing.T) {
	var tries atomic.Int32
	full := licensing.Errorf(licensing.ECONFLICT, "no free seat of mbs-server in the global pool (8 of 8 in use)")
	svc := &licensingtest.Services{ActivateFn: func(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
		tries.Add(1)
		return nil, full
	}}
	e, _, _, errOut := testEnv(svc, Config{})
	e.IO.StderrTTY = true
	o := runCommand(e, 60, false, "true")
	o.Wait = 1500 * time.Millisecond
	start := time.Now()
	err := activationsRunRun(context.Background(), o)
	if !errors.Is(err, full) || exitCode(err, true) != ExitConflict {
		t.Fatalf("err %v, want the refusal, exit 5", err)
	}
	if d := time.Since(start); d < o.Wait || d > o.Wait+time.Second {
		t.Errorf("gave up after %v, want about %v", d, o.Wait)
	}
	if n := tries.Load(); n < 2 {
		t.Errorf("%d attempt(s), want more than one", n)
	}
	if got, want := errOut.String(), "licensectl: waiting for a free seat of mbs-server in the global pool (8 of 8 in use)…\n"; got != want {
		t.Errorf("stderr %q, want %q once", got, want)
	}

	tries.Store(0)
	expired := licensing.Errorf(licensing.ECONFLICT, "license AAAAA-AAAAA-AAAAA-AAAAA-AAAAA expired at 2026-01-01T00:00:00Z")
	svc.ActivateFn = func(ctx context.Context, r licensing.ActivationRequest) (*licensing.Activation, error) {
		tries.Add(1)
		return nil, expired
	}
	if err := activationsRunRun(context.Background(), o); !errors.Is(err, expired) || tries.Load() != 1 {
		t.Errorf("err %v after %d attempt(s), want the refusal at once", err, tries.Load())
	}
}
