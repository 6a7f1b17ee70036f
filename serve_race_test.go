package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// raceClient is an HTTP client of a real `licensectl serve` process.
type raceClient struct {
	base, token string
	http        *http.Client
}

type raceReply struct {
	status int
	body   string
}

func (c *raceClient) do(t *testing.T, method, path, body string, header ...string) raceReply {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return raceReply{}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Error(err)
		return raceReply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return raceReply{resp.StatusCode, string(b)}
}

// race sends n requests at once (released together) and returns the replies.
func race(n int, send func(i int) raceReply) []raceReply {
	out := make([]raceReply, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = send(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

func serveRaceSetup(t *testing.T) (string, *raceClient) {
	t.Helper()
	db := newStore(t)
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(mustRun(t, db, "accounts", "token", "create", "-o", "json")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v", err)
	}
	base, _ := startServe(t, db, "--rate", "100000", "--renewals-every", "0")
	return db, &raceClient{base: base, token: tok.Token, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// Many HTTP clients race for the last seat of a license: exactly one wins,
// the others get a 409 problem, and the store shows one activation.
func TestServeLastSeatRace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	t.Parallel()
	db, c := serveRaceSetup(t)
	const licenses, clients = 10, 12
	var bought struct{ Licenses []string }
	json.Unmarshal([]byte(mustRun(t, db, "licenses", "buy", "--product", "backup-server", "--quantity", fmt.Sprint(licenses), "-o", "json")), &bought)
	if len(bought.Licenses) != licenses {
		t.Fatalf("bought %v", bought.Licenses)
	}
	for _, key := range bought.Licenses {
		replies := race(clients, func(i int) raceReply {
			return c.do(t, "POST", "/v1/activations", fmt.Sprintf(`{"license_key":%q,"machine":"m%d","fingerprint":"fp-%d","os":"windows","version":"7.9.4"}`, key, i, i))
		})
		won := 0
		for _, r := range replies {
			switch {
			case r.status == 201:
				won++
			case r.status == 409 && strings.Contains(r.body, `"code":"conflict"`):
			default:
				t.Fatalf("%s: reply %d %s", key, r.status, r.body)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d clients won its one seat", key, won)
		}
	}
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var over, total int
	conn.QueryRow(`SELECT count(*) FROM (SELECT license_id FROM activations GROUP BY 1 HAVING count(*) > 1)`).Scan(&over)
	conn.QueryRow(`SELECT count(*) FROM activations`).Scan(&total)
	if over != 0 || total != licenses {
		t.Fatalf("%d licenses over-allocated, %d activations for %d one-seat licenses", over, total, licenses)
	}
	t.Logf("%d clients raced for each of %d last seats: one winner each", clients, licenses)
}

// Clients retrying one purchase with the same Idempotency-Key at the same
// moment buy it exactly once, and all see the same purchase.
func TestServeConcurrentIdempotentPurchase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real server")
	}
	t.Parallel()
	db, c := serveRaceSetup(t)
	const rounds, clients, qty = 5, 12, 500
	for r := range rounds {
		key := fmt.Sprintf("same-key-%d", r)
		body := fmt.Sprintf(`{"lines":[{"product":"backup-desktop","quantity":%d}]}`, qty)
		replies := race(clients, func(int) raceReply {
			return c.do(t, "POST", "/v1/purchases", body, "Idempotency-Key", key)
		})
		created, ids := 0, map[string]bool{}
		for _, rep := range replies {
			var p struct {
				PurchaseID string `json:"purchase_id"`
			}
			if (rep.status != 201 && rep.status != 200) || json.Unmarshal([]byte(rep.body), &p) != nil {
				t.Fatalf("reply %d %s", rep.status, rep.body)
			}
			if rep.status == 201 {
				created++
			}
			ids[p.PurchaseID] = true
		}
		if created != 1 || len(ids) != 1 {
			t.Fatalf("round %d: %d created, purchase ids %v", r, created, ids)
		}
		if n := storeState(t, db)[key]; n != qty {
			t.Fatalf("round %d: %d licenses under %s, want %d", r, n, key, qty)
		}
		// A replayed route (companies): one company, the others replay or wait.
		name := fmt.Sprintf("Acme %d", r)
		replies = race(clients, func(int) raceReply {
			return c.do(t, "POST", "/v1/companies", fmt.Sprintf(`{"name":%q}`, name), "Idempotency-Key", "co-"+key)
		})
		for _, rep := range replies {
			if rep.status != 201 && !(rep.status == 409 && strings.Contains(rep.body, "still in progress")) {
				t.Fatalf("company reply %d %s", rep.status, rep.body)
			}
		}
	}
	if got := len(storeState(t, db)); got != rounds {
		t.Fatalf("%d purchases, want %d", got, rounds)
	}
	out := mustRun(t, db, "companies", "list", "-o", "csv", "--no-headers")
	if n := strings.Count(out, "Acme "); n != rounds {
		t.Fatalf("%d companies created, want %d:\n%s", n, rounds, out)
	}
	t.Logf("%d clients × %d rounds with one Idempotency-Key each: one purchase per key", clients, rounds)
}
