package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/licensectl/licensectl/cmd"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/payment/stripe/stripemock"
	"github.com/licensectl/licensectl/internal/postgres/pgtest"
)

// TestMain makes the test binary double as licensectl: each `exec licensectl`
// in a script is a separate process running the real command tree. Only this
// test binary honours LICENSECTL_TEST_NOW, to pin the clock.
//
// PostgreSQL for the tests that need it (postgres.txtar) is found, or a
// private cluster started, once for the whole binary: see pgtest.Main.
func TestMain(m *testing.M) {
	testscript.Main(withPostgres{m}, map[string]func(){
		"licensectl": func() {
			var clock licensing.Clock = licensing.SystemClock{}
			if s := os.Getenv("LICENSECTL_TEST_NOW"); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					panic("LICENSECTL_TEST_NOW: " + err.Error())
				}
				clock = licensing.FixedClock(t)
			}
			cmd.Main(cmd.BuildInfo{Version: "test", Commit: "test", Date: "test"}, clock)
		},
	})
}

// scaled is the size of a fault suite's work: full under CI (.ci/run sets
// CI=true) or with LICENSECTL_TEST_FULL=1, quick otherwise - small enough
// for a plain `go test ./...` to stay within a minute, large enough that
// signals still land mid-write and writers still queue behind each other.
func scaled(full, quick int) int {
	if os.Getenv("CI") != "" || os.Getenv("LICENSECTL_TEST_FULL") != "" {
		return full
	}
	return quick
}

// withPostgres runs the tests with pgtest's server; testscript.Main calls
// Run only in the test process, never in the licensectl processes.
type withPostgres struct{ m *testing.M }

func (w withPostgres) Run() int { return pgtest.Main(w.m, false) }

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
			env.Setenv("CI", "")
			env.Setenv("NO_COLOR", "")
			env.Values[scriptT{}] = env.T() // for pgschema to skip a script
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":      exitsCmd,
			"capture":    captureCmd,
			"waitfile":   waitfileCmd,
			"pgschema":   pgSchemaCmd,
			"flipbyte":   flipByteCmd,
			"readme":     readmeCmd,
			"httpget":    httpgetCmd,
			"stripemock": stripeMockCmd,
			"cutserve":   cutserveCmd,
			"receiver":   receiverCmd,
			"hooks":      hooksCmd,
		},
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") != "",
	})
}

// exitsCmd runs `exits CODE PROGRAM ARGS...` and fails unless the program
// exits with exactly CODE; its stdout and stderr are kept for the next checks.
func exitsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// captureCmd runs `capture NAME REGEXP`: it sets $NAME to the first group of
// REGEXP in the last command's stdout, so a script can use a key it bought.
func captureCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	m := regexp.MustCompile(`(?m)` + args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture: no match for %q in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}

// waitfileCmd runs `waitfile FILE`: it waits (up to 20 s) until FILE exists
// and is not empty, e.g. the address file of a server started with &.
func waitfileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
	}
	ts.Fatalf("waitfile: %s did not appear", args[0])
}

// stripeMockCmd runs `stripemock`: it starts stripe-mock (the pinned
// version, installed with go install) on a loopback port for the rest of
// the script and sets $STRIPE_API_BASE to it. Where it cannot run the
// script skips, except under CI=true.
func stripeMockCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: stripemock")
	}
	url, stop, err := stripemock.Run()
	if err != nil {
		if stripemock.Required() {
			ts.Fatalf("stripe-mock: %v", err)
		}
		if t, ok := ts.Value(scriptT{}).(testscript.T); ok {
			t.Skip(fmt.Sprintf("SKIP: stripe-mock cannot run here (%v); with CI=true this fails", err))
		}
		ts.Fatalf("stripe-mock: %v", err)
	}
	ts.Defer(stop)
	ts.Setenv("STRIPE_API_BASE", url)
}
