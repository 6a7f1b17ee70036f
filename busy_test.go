package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// buyAtOnce starts n licensectl processes that each buy qty licenses under
// the idempotency key prefix-i, and returns what failed.
func buyAtOnce(t *testing.T, db, prefix string, n, qty int) []string {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("%s-%d", prefix, i)
			_, errOut, err := licensectl(t, db, "licenses", "buy", "--product", "backup-desktop",
				"--quantity", fmt.Sprint(qty), "--idempotency-key", key, "-q")
			if err != nil || errOut != "" {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s: %v %s", key, err, strings.TrimSpace(errOut)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

// checkPurchases checks that every key bought exactly qty licenses.
func checkPurchases(t *testing.T, db, prefix string, n, qty int) {
	t.Helper()
	byKey := storeState(t, db)
	total := 0
	for i := range n {
		key := fmt.Sprintf("%s-%d", prefix, i)
		if byKey[key] != qty {
			t.Errorf("%s bought %d licenses, want %d", key, byKey[key], qty)
		}
		total += byKey[key]
	}
	if total != n*qty {
		t.Errorf("%d licenses in all, want %d", total, n*qty)
	}
}

// Sixteen writer processes queue behind another process that holds the
// store's write lock for 11 s - longer than SQLite's usual busy timeout,
// as a purchase of a few hundred thousand licenses does: every one waits
// for its turn (no "database is locked"), and every purchase is whole.
func TestWritersWaitForALongWrite(t *testing.T) {
	t.Parallel()
	db := newStore(t)
	lock, err := sql.Open("sqlite", "file:"+db+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	tx, err := lock.Begin() // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(11*time.Second, func() { tx.Rollback() })
	const writers, qty = 16, 1000
	start := time.Now()
	if failed := buyAtOnce(t, db, "queued", writers, qty); len(failed) > 0 {
		t.Fatalf("%d of %d writers failed:\n%s", len(failed), writers, strings.Join(failed, "\n"))
	}
	if waited := time.Since(start); waited < 11*time.Second {
		t.Fatalf("writers finished after %v, before the lock was released", waited)
	}
	checkPurchases(t, db, "queued", writers, qty)
}

// The case: sixteen processes each buying a large purchase at once
// on one store - at full size (CI) 20,000 licenses each, about a second
// each, so the last in the queue waits longer than SQLite's usual busy
// timeout: zero BUSY errors and exact counts. Outside CI 2,500 each (the
// long wait itself is TestWritersWaitForALongWrite's).
func TestConcurrentLargePurchases(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("buys 320,000 licenses in 16 processes: not with -short")
	}
	t.Parallel()
	db := newStore(t)
	writers, qty := 16, scaled(20000, 2500)
	if failed := buyAtOnce(t, db, "large", writers, qty); len(failed) > 0 {
		t.Fatalf("%d of %d writers failed:\n%s", len(failed), writers, strings.Join(failed, "\n"))
	}
	checkPurchases(t, db, "large", writers, qty)
}
