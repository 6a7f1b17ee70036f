package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Backups taken while other processes keep buying are consistent copies:
// integrity ok and every purchase in them whole. Restoring one brings back
// exactly its state.
func TestBackupWhileBuying(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	t.Parallel()
	db := newStore(t)
	// A server keeps the store open throughout, as in production: commits
	// then stay in the WAL instead of being checkpointed by each buyer's exit,
	// so a copy of the main file alone would miss them.
	_, stopServe := startServe(t, db)
	dir := t.TempDir()
	buyers, rounds, qty := 2, 6, scaled(3000, 1000)
	var wg sync.WaitGroup
	errs := make(chan string, buyers*rounds)
	done := make(chan struct{})
	for b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				key := fmt.Sprintf("buyer%d-%d", b, r)
				if _, errOut, err := licensectl(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(qty), "--idempotency-key", key, "-q"); err != nil {
					errs <- fmt.Sprintf("%s: %v %s", key, err, errOut)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	var backups []string
	var states []map[string]int
	partial := 0 // backups taken with some but not all purchases made
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		file := filepath.Join(dir, fmt.Sprintf("backup-%02d.db", len(backups)))
		mustRun(t, db, "backup", file, "-q")
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup %s: mode %v, %v; want 0600", file, fi.Mode(), err)
		}
		state := storeState(t, file)
		for key, n := range state {
			if n != qty {
				t.Fatalf("backup %s holds %d licenses under %s, want 0 or %d", file, n, key, qty)
			}
		}
		if n := len(state); n > 0 && n < buyers*rounds {
			partial++
		}
		backups, states = append(backups, file), append(states, state)
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	t.Logf("%d backups taken during %d purchases, %d of them mid-way", len(backups), buyers*rounds, partial)
	if partial == 0 {
		t.Log("no backup fell between purchases this time; each was still checked whole")
	}
	// A small purchase stays in the WAL (below the auto-checkpoint).
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", "3", "--idempotency-key", "last", "-q")
	final := filepath.Join(dir, "final.db")
	mustRun(t, db, "backup", final, "-q")
	if got, want := storeState(t, final), storeState(t, db); len(want) != buyers*rounds+1 || !maps.Equal(got, want) {
		t.Fatalf("backup after the purchases holds %d of %d purchases", len(got), len(want))
	}
	stopServe()

	// Restore an early backup: the store holds exactly what it held.
	pick := len(backups) / 2
	before := fileDigest(t, backups[pick])
	mustRun(t, db, "restore", backups[pick], "--yes", "-q")
	if got := storeState(t, db); !maps.Equal(got, states[pick]) {
		t.Fatalf("after restore: %v, want %v", got, states[pick])
	}
	if fileDigest(t, backups[pick]) != before {
		t.Fatal("restore changed the backup file")
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored store: mode %v, %v; want 0600", fi.Mode(), err)
	}
	// The restored store takes writes again, and the retry of a purchase
	// it lost completes once.
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(qty), "--idempotency-key", "buyer0-5", "-q")
	if got := storeState(t, db)["buyer0-5"]; got != qty {
		t.Fatalf("retry after restore: %d licenses", got)
	}
}

// A damaged backup, or a store another process has open, is refused and
// nothing changes.
func TestRestoreRefusesDamagedBackupAndBusyStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	t.Parallel()
	db := newStore(t)
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", "2000", "-q")
	good := filepath.Join(t.TempDir(), "good.db")
	mustRun(t, db, "backup", good, "-q")
	mustRun(t, db, "licenses", "buy", "--product", "backup-desktop", "--quantity", "5", "-q")
	want := storeState(t, db)

	// Scribble over a page in the middle of the licenses table.
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(b) / 2 / 4096 * 4096
	for i := mid + 8; i < mid+4096; i++ {
		b[i] ^= 0x5a
	}
	bad := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	storeBefore := fileDigest(t, db)
	_, errOut, err := licensectl(t, db, "restore", bad, "--yes")
	if code := exitCode(t, err); code != 2 || !strings.HasPrefix(errOut, "error: "+bad+" is damaged") {
		t.Fatalf("damaged backup: exit %d, %q", code, errOut)
	}
	if fileDigest(t, db) != storeBefore {
		t.Fatal("a refused restore changed the store")
	}

	// A running server has the store open: refused with exit 5.
	startServe(t, db)
	_, errOut, err = licensectl(t, db, "restore", good, "--yes")
	if code := exitCode(t, err); code != 5 || !strings.Contains(errOut, "is in use by another process") {
		t.Fatalf("busy store: exit %d, %q", code, errOut)
	}
	if got := storeState(t, db); !maps.Equal(got, want) {
		t.Fatalf("store changed: %v, want %v", got, want)
	}
}
