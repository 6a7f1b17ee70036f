package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// These tests run the real binary (the test binary, installed on PATH as
// licensectl by testscript.Main) as separate processes.

func licensectl(t *testing.T, db string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("licensectl", append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "LICENSECTL_ACCOUNT=ops@example.com", "CI=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errOut, err := licensectl(t, db, args...)
	if err != nil {
		t.Fatalf("licensectl %v: %v\n%s", args, err, errOut)
	}
	return out
}

func newStore(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "store.db")
	mustRun(t, db, "init", "-q")
	mustRun(t, db, "accounts", "create", "ops@example.com", "-q")
	return db
}

// storeState checks the store's integrity and that every purchase is whole:
// its licenses match its line items and it has its audit event. It returns
// the number of licenses per idempotency key.
func storeState(t *testing.T, db string) map[string]int {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var integrity string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	rows, err := conn.Query(`SELECT p.id, p.idempotency_key,
		(SELECT count(*) FROM licenses l WHERE l.purchase_id = p.id),
		(SELECT coalesce(sum(quantity), 0) FROM purchase_items i WHERE i.purchase_id = p.id AND i.sku NOT IN ('premium-support', 'onboarding')),
		(SELECT count(*) FROM audit a WHERE a.action = 'purchase.create' AND a.object = p.id)
		FROM purchases p`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byKey := map[string]int{}
	for rows.Next() {
		var id, key string
		var licenses, items, events int
		if err := rows.Scan(&id, &key, &licenses, &items, &events); err != nil {
			t.Fatal(err)
		}
		if licenses != items || events != 1 {
			t.Fatalf("purchase %s is partial: %d licenses for %d bought, %d audit events", id, licenses, items, events)
		}
		byKey[key] += licenses
	}
	var orphans int
	conn.QueryRow(`SELECT count(*) FROM licenses WHERE purchase_id NOT IN (SELECT id FROM purchases)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d licenses without a purchase", orphans)
	}
	return byKey
}

// A purchase killed (SIGKILL) or interrupted (SIGINT) at a random point is
// all there or not there at all, and re-running it with the same idempotency
// key completes it exactly once.
func TestKilledPurchaseIsAllOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real processes")
	}
	t.Parallel()
	db := newStore(t)
	n0 := scaled(20000, 5000)
	qty := fmt.Sprint(n0)
	// Signals land within the time a whole purchase takes.
	run := timed(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", qty, "--idempotency-key", "warmup", "-q")
	for i, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGKILL, syscall.SIGKILL, syscall.SIGINT, syscall.SIGINT} {
		key := fmt.Sprintf("crash-%d", i)
		cmd := exec.Command("licensectl", "--db", db, "licenses", "buy", "--product", "backup-server", "--quantity", qty, "--idempotency-key", key, "-q")
		cmd.Env = append(os.Environ(), "LICENSECTL_ACCOUNT=ops@example.com", "CI=1")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Not before the process can have installed its signal handler
		// (a SIGINT then kills it by the default action, exit -1): its
		// start-up takes tens of milliseconds on a loaded machine.
		time.Sleep(max(run/20, 150*time.Millisecond) + rand.N(run))
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if sig == syscall.SIGINT && err != nil {
			if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(errOut.String(), "error: interrupted") {
				t.Fatalf("SIGINT: exit %d, stderr %q", code, errOut.String())
			}
		}
		state := storeState(t, db)
		if n := state[key]; n != 0 && n != n0 {
			t.Fatalf("run %d (%v): %d licenses under %s", i, sig, n, key)
		}
		t.Logf("run %d: %v after the process ran; purchase present: %v", i, sig, state[key] == n0)
		// The retry completes it, and a second retry buys nothing more.
		mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", qty, "--idempotency-key", key, "-q")
		mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", qty, "--idempotency-key", key, "-q")
		if n := storeState(t, db)[key]; n != n0 {
			t.Fatalf("after retries: %d licenses under %s, want %d", n, key, n0)
		}
	}
}

// Eight processes buying and listing on one store at once: nobody sees
// "database is locked", and the counts are exact.
func TestConcurrentProcessesOnOneStore(t *testing.T) {
	t.Parallel()
	db := newStore(t)
	const buyers, rounds, qty = 4, 10, 500
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for b := 0; b < buyers; b++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if _, errOut, err := licensectl(t, db, "licenses", "buy", "--product", "backup-desktop", "--quantity", fmt.Sprint(qty), "-q"); err != nil {
					errs <- fmt.Sprintf("buyer %d: %v %s", b, err, errOut)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if _, errOut, err := licensectl(t, db, "licenses", "list", "--sort", "-created_at", "--limit", "100", "-o", "json"); err != nil {
					errs <- fmt.Sprintf("lister %d: %v %s", b, err, errOut)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	out := mustRun(t, db, "licenses", "list", "--group", "-o", "csv", "--no-headers")
	if want := fmt.Sprintf("backup-desktop,Backup Desktop,%d,", buyers*rounds*qty); !strings.HasPrefix(out, want) {
		t.Fatalf("group = %q, want prefix %q", out, want)
	}
	storeState(t, db)
}
