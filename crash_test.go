package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ledger is what a store holds, counted the way the crash tests compare it.
type ledger struct {
	plansByKey  map[string]int // maintenance plans per purchase idempotency key
	renewals    int            // rows of the renewals ledger
	renewedCost int64          // sum of renewal purchase totals
}

// checkLedger checks integrity and that every kind of purchase is whole:
// license purchases (via storeState's rules, here extended to skip
// maintenance lines), maintenance purchases (a plan per item, their audit
// events, each license's maintenance date equal to its latest plan's end)
// and renewal runs (a renewals row and an audit event per renewed period,
// each renewal purchase's items matching its rows).
func checkLedger(t *testing.T, db string) ledger {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	one := func(query string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	var integrity string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	if n := one("SELECT count(*) FROM pragma_foreign_key_check"); n != 0 {
		t.Fatalf("%d dangling references", n)
	}
	// Aggregates joined per purchase: correlated subqueries would make the
	// check quadratic on stores of a few hundred thousand rows.
	const perPurchase = `WITH
		lic AS (SELECT purchase_id AS id, count(*) AS n FROM licenses GROUP BY 1),
		items AS (SELECT purchase_id AS id,
			sum(CASE WHEN sku LIKE '%:maintenance' OR sku IN ('premium-support', 'onboarding') THEN 0 ELSE quantity END) AS licenses,
			sum(CASE WHEN sku LIKE '%:maintenance' THEN quantity ELSE 0 END) AS plans,
			sum(quantity) AS all_items FROM purchase_items GROUP BY 1),
		plans AS (SELECT purchase_id AS id, count(*) AS n FROM maintenance_plans GROUP BY 1),
		ren AS (SELECT purchase_id AS id, count(*) AS n FROM renewals WHERE purchase_id IS NOT NULL GROUP BY 1),
		created AS (SELECT object AS id, count(*) AS n FROM audit WHERE action = 'purchase.create' GROUP BY 1),
		mbuy AS (SELECT object AS id, count(*) AS n FROM audit WHERE action = 'maintenance.buy' GROUP BY 1)
		SELECT count(*) FROM purchases p
			LEFT JOIN lic ON lic.id = p.id LEFT JOIN items ON items.id = p.id LEFT JOIN plans ON plans.id = p.id
			LEFT JOIN ren ON ren.id = p.id LEFT JOIN created ON created.id = p.id LEFT JOIN mbuy ON mbuy.id = p.id
		WHERE `
	checks := []struct{ what, query string }{
		{"purchase without its one purchase.create event", perPurchase + `ifnull(created.n, 0) <> 1`},
		{"license purchase with licenses missing", perPurchase + `p.idempotency_key NOT LIKE 'renewal-%' AND ifnull(lic.n, 0) <> ifnull(items.licenses, 0)`},
		{"maintenance purchase with plans missing", perPurchase + `p.idempotency_key NOT LIKE 'renewal-%' AND ifnull(plans.n, 0) <> ifnull(items.plans, 0)`},
		{"maintenance purchase without its maintenance.buy event", perPurchase + `plans.n > 0 AND ifnull(mbuy.n, 0) <> 1`},
		{"renewal purchase whose items do not match its renewals", perPurchase + `p.idempotency_key LIKE 'renewal-%' AND ifnull(ren.n, 0) <> ifnull(items.all_items, 0)`},
		{"license whose maintenance date is not its latest plan's end", `SELECT count(*) FROM licenses l
			LEFT JOIN (SELECT license_id, max(ends_at) AS till FROM maintenance_plans WHERE license_id IS NOT NULL GROUP BY 1) m ON m.license_id = l.id
			WHERE l.maintenance_till IS NOT m.till`},
		{"renewal without its audit event", `SELECT (SELECT count(*) FROM renewals) - (SELECT count(*) FROM audit WHERE action LIKE 'renewal.%')`},
		{"renewed plan whose end is not its last renewal's", `SELECT count(*) FROM maintenance_plans m
			JOIN (SELECT object, max(new_end) AS last FROM renewals WHERE kind = 'maintenance' GROUP BY 1) r ON r.object = m.id
			WHERE m.ends_at <> r.last`},
	}
	for _, c := range checks {
		if n := one(c.query); n != 0 {
			t.Fatalf("%d %s", n, c.what)
		}
	}
	storeStateOf(t, conn) // orphans
	l := ledger{plansByKey: map[string]int{}}
	rows, err := conn.Query(`SELECT p.idempotency_key, count(*) FROM maintenance_plans m JOIN purchases p ON p.id = m.purchase_id GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			t.Fatal(err)
		}
		l.plansByKey[key] = n
	}
	l.renewals = int(one("SELECT count(*) FROM renewals"))
	l.renewedCost = one("SELECT coalesce(sum(total_cents), 0) FROM purchases WHERE idempotency_key LIKE 'renewal-%'")
	return l
}

// storeStateOf checks that no license lost its purchase.
func storeStateOf(t *testing.T, conn *sql.DB) {
	t.Helper()
	var orphans int
	conn.QueryRow(`SELECT count(*) FROM licenses WHERE purchase_id NOT IN (SELECT id FROM purchases)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d licenses without a purchase", orphans)
	}
}

// killAtRandom starts licensectl with args, sends sig after a random delay
// within the time a whole run takes (so most signals land mid-write) and
// waits. A SIGINT must end in exit 130 with "error: interrupted" (or a
// normal exit if the work was already done).
func killAtRandom(t *testing.T, db string, sig syscall.Signal, run time.Duration, args ...string) {
	t.Helper()
	cmd := exec.Command("licensectl", append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "LICENSECTL_ACCOUNT=ops@example.com", "CI=1")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(run/5 + rand.N(run))
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	if sig == syscall.SIGINT && err != nil {
		if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(errOut.String(), "error: interrupted") {
			t.Fatalf("SIGINT: exit %d, stderr %q", code, errOut.String())
		}
	}
}

var crashSignals = []syscall.Signal{syscall.SIGKILL, syscall.SIGKILL, syscall.SIGKILL, syscall.SIGINT, syscall.SIGINT, syscall.SIGINT}

// timed runs licensectl to completion and says how long it took.
func timed(t *testing.T, db string, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	mustRun(t, db, args...)
	return time.Since(start)
}

// A bulk maintenance purchase killed at a random point is all there or not
// there, and its retry with the same idempotency key completes it once.
func TestKilledBulkMaintenanceIsAllOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real processes")
	}
	t.Parallel()
	db := newStore(t)
	qty := scaled(10000, 2500)
	// Fresh licenses each round: --all covers exactly these.
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(qty), "-q")
	run := timed(t, db, "maintenance", "buy", "--all", "--yes", "--idempotency-key", "maint-warmup", "-q")
	for i, sig := range crashSignals {
		mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(qty), "-q")
		key := fmt.Sprintf("maint-%d", i)
		buy := []string{"maintenance", "buy", "--all", "--yes", "--idempotency-key", key, "-q"}
		killAtRandom(t, db, sig, run, buy...)
		got := checkLedger(t, db).plansByKey[key]
		if got != 0 && got != qty {
			t.Fatalf("run %d (%v): %d plans under %s", i, sig, got, key)
		}
		t.Logf("run %d: %v; purchase present: %v", i, sig, got == qty)
		mustRun(t, db, buy...)
		mustRun(t, db, buy...)
		l := checkLedger(t, db)
		if l.plansByKey[key] != qty || len(l.plansByKey) != i+2 {
			t.Fatalf("after retries: %v, want %d plans under each of %d keys", l.plansByKey, qty, i+2)
		}
	}
}

// A renewals run killed at a random point renews everything due or
// nothing, and running it again for the same date renews each period once.
func TestKilledRenewalsRunIsAllOrNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills real processes")
	}
	// Not parallel: the clock is moved with t.Setenv.
	db := newStore(t)
	qty := scaled(10000, 2500)
	mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(qty), "-q")
	mustRun(t, db, "maintenance", "buy", "--all", "--yes", "-q")
	// Each year's run renews every plan's period once. A run never goes
	// past now: the clock (the test binary's LICENSECTL_TEST_NOW) moves to
	// each run's date.
	year := time.Now().UTC().Year() + 1
	t.Setenv("LICENSECTL_TEST_NOW", fmt.Sprintf("%d-12-31T00:00:00Z", year))
	run := timed(t, db, "renewals", "run", "--as-of", fmt.Sprintf("%d-12-31", year), "-q")
	for i, sig := range crashSignals {
		asOf := fmt.Sprintf("%d-12-31", year+1+i)
		t.Setenv("LICENSECTL_TEST_NOW", asOf+"T00:00:00Z")
		before := checkLedger(t, db)
		killAtRandom(t, db, sig, run, "renewals", "run", "--as-of", asOf, "-q")
		got := checkLedger(t, db).renewals - before.renewals
		if got != 0 && got != qty {
			t.Fatalf("run %d (%v): %d renewals recorded", i, sig, got)
		}
		t.Logf("run %d: %v; run complete: %v", i, sig, got == qty)
		mustRun(t, db, "renewals", "run", "--as-of", asOf, "-q")
		mustRun(t, db, "renewals", "run", "--as-of", asOf, "-q")
		after := checkLedger(t, db)
		if after.renewals != (i+2)*qty {
			t.Fatalf("after reruns: %d renewals, want %d", after.renewals, (i+2)*qty)
		}
		// Every year costs the same: nothing was charged twice.
		if charged := after.renewedCost - before.renewedCost; charged != after.renewedCost/int64(i+2) || charged == 0 {
			t.Fatalf("run %d charged %d cents; %d in all over %d runs", i, charged, after.renewedCost, i+2)
		}
	}
}
