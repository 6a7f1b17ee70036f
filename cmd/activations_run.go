package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
)

// How `activations run` paces itself.
const (
	// Waiting for a free seat polls with exponential backoff and full
	// jitter: from seatPollFirst, times 1.5 each time, at most seatPollMax.
	// The cap is low: a job that has waited long must not poll less often
	// than one that just arrived, or it keeps losing freed seats to newer
	// jobs (bench/leases showed one job waiting a whole minute with 10 s).
	seatPollFirst = 500 * time.Millisecond
	seatPollMax   = 2 * time.Second
	// A failed heartbeat is retried this often (or every sixth of a short
	// lease) until the lease expires.
	heartbeatRetry = 2 * time.Second
	// releaseTimeout bounds the release of the seat after the command.
	releaseTimeout = 30 * time.Second
	// stopGrace is how long a command told to stop (SIGTERM) has before
	// it is killed (SIGKILL).
	stopGrace = 10 * time.Second
)

type activationsRunOptions struct {
	env
	Request     licensing.ActivationRequest
	Wait        time.Duration
	KeepRunning bool
	// Command is the command to run and its arguments.
	Command []string
	// Grace is how long the command has between SIGTERM and SIGKILL when
	// the lease is lost.
	Grace time.Duration

	seat seatFlags
	wait string
}

func newActivationsRunCmd(f *Factory, runF func(*activationsRunOptions) error) *cobra.Command {
	o := &activationsRunOptions{env: f.env(), Grace: stopGrace}
	r := &o.Request
	c := &cobra.Command{
		Use:   "run (KEY | --product SKU [--company C]) --machine NAME --fingerprint FP --os OS --version V --lease DUR [--wait DUR] [flags] -- COMMAND [ARGS...]",
		Short: "Hold a leased seat for as long as a command runs (a CI job, a build)",
		Long: `Take a leased seat, run COMMAND, and release the seat when it exits -
however it exits. Made for CI jobs and short-lived machines: nothing needs
cleaning up afterwards.

  - The seat is of the license KEY, or with --product of any valid license
    of that product (the global pool, or with --company that company's).
    When none is free, --wait DUR keeps trying that long (polling with
    backoff), then gives up with exit 5; without --wait it gives up at once.
  - COMMAND runs with stdin, stdout and stderr passed through, and with
    LICENSECTL_LICENSE_KEY and LICENSECTL_ACTIVATION_ID in its environment.
  - While it runs, a heartbeat renews the lease every third of its length;
    failed heartbeats are retried until the lease runs out. A lease that is
    lost (refused, or not renewed in time) is reported on stderr and
    COMMAND is stopped: SIGTERM, then SIGKILL after 10 seconds. With
    --keep-running it is only reported.
  - SIGTERM is passed on to COMMAND, and SIGINT too when stdin is not a
    terminal (at a terminal Ctrl-C reaches COMMAND by itself). The seat is
    released when COMMAND exits.
  - If licensectl itself is killed (SIGKILL), COMMAND is killed with it on
    Linux, and the lease expires by itself: the seat comes back within the
    lease (plus the server's sweep interval).

licensectl exits with COMMAND's exit status (128+N when a signal N ended
it), 127 when COMMAND cannot be found. It prints a line on stderr when it
takes the seat and when it releases it (none with -q); errors always.`,
		Example: `  licensectl activations run 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --machine build-01 \
      --fingerprint "$CI_JOB_ID" --os linux --version 7.9.4 --lease 10m -- make test
  licensectl activations run --product backup-server --company "Acme Dental" \
      --machine "$HOSTNAME" --fingerprint "$GITHUB_RUN_ID-$GITHUB_JOB" --os linux \
      --version 7.9.4 --lease 5m --wait 30m -- ./build.sh --release`,
		Args: func(c *cobra.Command, args []string) error {
			dash := c.ArgsLenAtDash()
			switch {
			case dash < 0 || dash == len(args):
				return licensing.Errorf(licensing.EINVALID, "name the command to run after --").
					WithHint("usage: %s", c.UseLine())
			case dash > 1:
				return licensing.Errorf(licensing.EINVALID, "%s expects at most one license key before --, got %d arguments", c.CommandPath(), dash).
					WithHint("usage: %s", c.UseLine())
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			dash := c.ArgsLenAtDash()
			if err := o.seat.request(c, args[:dash], r, o.now(), "lease"); err != nil {
				return err
			}
			o.Command = args[dash:]
			if changed(c.Flags(), "wait") {
				wait, err := parseDurationFlag("--wait", o.wait, o.now())
				if err != nil {
					return err
				}
				o.Wait = wait
			}
			if runF != nil {
				return runF(o)
			}
			return activationsRunRun(c.Context(), o)
		},
	}
	machineFlags(c, r)
	o.seat.add(c, r, "the lease's length `DURATION` (30s to 720h), e.g. 10m; heartbeats renew it while COMMAND runs (required)")
	fl := c.Flags()
	fl.StringVar(&o.wait, "wait", "", "when no seat is free, keep trying for up to `DURATION`, e.g. 15m (default: give up at once)")
	fl.BoolVar(&o.KeepRunning, "keep-running", false, "when the lease is lost, only say so on stderr instead of stopping COMMAND")
	return c
}

// childExit is how COMMAND ended: its exit status becomes licensectl's, and
// there is nothing more to say about it.
type childExit struct {
	command string
	code    int
}

func (e *childExit) Error() string { return fmt.Sprintf("%s exited with status %d", e.command, e.code) }
func (e *childExit) ExitCode() int { return e.code }
func (e *childExit) Silent() bool  { return true }

func activationsRunRun(ctx context.Context, o *activationsRunOptions) error {
	svc, _, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	a, taken, err := o.acquire(ctx, svc)
	if err != nil {
		return err
	}
	o.info("licensectl: holding seat of %s (activation %d, lease %s)\n", a.LicenseKey, a.ID, leaseText(a.LeaseSeconds))
	code, err := o.supervise(ctx, svc, a, taken)
	o.release(ctx, svc, a)
	switch {
	case err != nil:
		return err
	case code != 0:
		return &childExit{command: o.Command[0], code: code}
	}
	return nil
}

// acquire takes the leased seat; when none is free it tries again until
// --wait runs out. It answers the activation and when the request that
// took it was sent: the lease runs from no earlier than that.
func (o *activationsRunOptions) acquire(ctx context.Context, svc licensing.ActivationService) (*licensing.Activation, time.Time, error) {
	deadline := time.Now().Add(o.Wait)
	backoff := seatPollFirst
	said := ""
	for {
		sent := time.Now()
		a, err := svc.Activate(ctx, o.Request)
		if err == nil {
			return a, sent, nil
		}
		if ctx.Err() != nil {
			return nil, sent, ctx.Err()
		}
		left := time.Until(deadline)
		if !noFreeSeat(err) || left <= 0 {
			return nil, sent, err
		}
		if msg := waitingText(err); msg != said && o.IO.StderrTTY && !o.quiet() {
			fmt.Fprintf(o.IO.ErrOut, "licensectl: %s…\n", msg)
			said = msg
		}
		t := time.NewTimer(min(rand.N(backoff)+time.Millisecond, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, sent, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*3/2, seatPollMax)
	}
}

// noFreeSeat reports whether err refused an activation for want of a
// free seat, the one refusal that waiting may cure.
func noFreeSeat(err error) bool {
	return licensing.ErrorCode(err) == licensing.ECONFLICT && strings.HasPrefix(licensing.ErrorMessage(err), "no free seat")
}

// waitingText turns "no free seat of SKU in ... (8 of 8 in use)" into
// "waiting for a free seat of SKU in ... (8 of 8 in use)".
func waitingText(err error) string {
	return "waiting for a free seat" + strings.TrimPrefix(oneLineMessage(err), "no free seat")
}

// heartbeatEvent is what the heartbeats tell the loop that watches COMMAND:
// a failure that will be retried, or the lease lost.
type heartbeatEvent struct {
	err  error
	lost bool
}

// supervise runs COMMAND on the seat of a and answers its exit status. It
// passes signals on, heartbeats, and stops COMMAND when the lease is lost.
func (o *activationsRunOptions) supervise(ctx context.Context, svc licensing.ActivationService, a *licensing.Activation, taken time.Time) (int, error) {
	name := filepath.Base(o.Command[0])
	errOut := o.IO.ErrOut
	if _, ok := errOut.(*os.File); !ok {
		errOut = &syncWriter{w: errOut} // COMMAND's stderr and these messages share it
	}
	child := exec.Command(o.Command[0], o.Command[1:]...)
	child.Stdin, child.Stdout, child.Stderr = o.IO.In, o.IO.Out, errOut
	child.Env = append(os.Environ(), "LICENSECTL_LICENSE_KEY="+a.LicenseKey, "LICENSECTL_ACTIVATION_ID="+strconv.FormatInt(a.ID, 10))
	dieWithParent(child)

	forward := []os.Signal{syscall.SIGTERM}
	if !o.IO.StdinTTY {
		forward = append(forward, os.Interrupt) // at a terminal COMMAND gets Ctrl-C by itself
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forward...)
	defer signal.Stop(sigs)
	if err := ctx.Err(); err != nil {
		return 0, err // interrupted before COMMAND started
	}
	if err := child.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return 0, &exitError{err: licensing.Errorf(licensing.EINVALID, "cannot run %s: %v", licensing.ClipArg(o.Command[0]), unwrapExec(err)), code: code}
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()

	// Heartbeats outlive a signal: the root context ends with SIGINT and
	// SIGTERM, but the seat is held until COMMAND exits.
	hbCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	events := make(chan heartbeatEvent, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		o.heartbeats(hbCtx, svc, a, taken, events)
	}()
	defer func() {
		stop()
		wg.Wait()
	}()

	var kill <-chan time.Time
	for {
		select {
		case err := <-done:
			if child.ProcessState == nil {
				return 0, err
			}
			return exitStatus(child.ProcessState), nil
		case s := <-sigs:
			_ = child.Process.Signal(s)
		case ev := <-events:
			reason := oneLineMessage(ev.err)
			switch {
			case !ev.lost:
				fmt.Fprintf(errOut, "licensectl: heartbeat of activation %d failed (%s); retrying until the lease expires\n", a.ID, reason)
			case o.KeepRunning:
				fmt.Fprintf(errOut, "licensectl: the lease of activation %d was lost (%s); %s keeps running (--keep-running)\n", a.ID, reason, name)
			default:
				fmt.Fprintf(errOut, "licensectl: the lease of activation %d was lost (%s); stopping %s\n", a.ID, reason, name)
				if err := child.Process.Signal(syscall.SIGTERM); err != nil {
					_ = child.Process.Kill()
				}
				kill = time.After(o.Grace)
			}
		case <-kill:
			_ = child.Process.Kill()
		}
	}
}

// heartbeats renews a's lease every third of its length until ctx ends. A
// failed heartbeat is retried every few seconds while the lease lasts (by
// this machine's clock, from when the last renewal was sent); one refused
// as a conflict or not found, or no success before the lease expires,
// means the lease is lost, and heartbeats stop. Events go to events
// without blocking: a failure is told once per run of failures.
func (o *activationsRunOptions) heartbeats(ctx context.Context, svc licensing.ActivationService, a *licensing.Activation, taken time.Time, events chan<- heartbeatEvent) {
	lease := time.Duration(a.LeaseSeconds) * time.Second
	every := max(lease/3, time.Second)
	expires := taken.Add(lease)
	next := time.Until(taken.Add(every))
	var failed error
	for {
		t := time.NewTimer(max(next, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		sent := time.Now()
		if !sent.Before(expires) {
			err := licensing.Errorf(licensing.EUNAVAILABLE, "no heartbeat succeeded before it expired: %s", oneLineMessage(failed))
			send(events, heartbeatEvent{err: err, lost: true})
			return
		}
		call, cancel := context.WithDeadline(ctx, expires)
		_, err := svc.Heartbeat(call, a.ID)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch licensing.ErrorCode(err) {
		case "":
			expires, next, failed = sent.Add(lease), every, nil
			continue
		case licensing.ECONFLICT, licensing.ENOTFOUND:
			send(events, heartbeatEvent{err: err, lost: true})
			return
		}
		if failed == nil {
			send(events, heartbeatEvent{err: err})
		}
		failed = err
		next = min(heartbeatRetry, every/2, time.Until(expires))
	}
}

func send(events chan<- heartbeatEvent, ev heartbeatEvent) {
	select {
	case events <- ev:
	default: // the loop has one to tell already
	}
}

// release frees the seat after COMMAND exited, with a context of its own:
// a signal that ended COMMAND ended the root context too. A failure is
// told but changes no exit status: the lease expires by itself.
func (o *activationsRunOptions) release(ctx context.Context, svc licensing.ActivationService, a *licensing.Activation) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, err := svc.Deactivate(ctx, licensing.DeactivateRequest{ID: a.ID})
	switch {
	case err == nil:
		o.info("licensectl: released seat of %s (activation %d)\n", a.LicenseKey, a.ID)
	case licensing.ErrorCode(err) == licensing.ENOTFOUND:
		o.info("licensectl: activation %d was released already\n", a.ID)
	default:
		fmt.Fprintf(o.IO.ErrOut, "licensectl: could not release activation %d (%s); its lease expires by itself\n", a.ID, oneLineMessage(err))
	}
}

// exitStatus is a process's exit status as a shell reports it: 128+N when
// signal N ended it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(interface {
		Signaled() bool
		Signal() syscall.Signal
	}); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// unwrapExec drops exec's "exec: " prefix, which the message says already.
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// syncWriter serializes writes to a writer that COMMAND's output (copied
// by os/exec) and licensectl's messages share.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
