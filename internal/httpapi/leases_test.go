package httpapi

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
)

// Leased activations over the API, on a pinned clock, each exchange checked
// against docs/openapi.yaml: a pool activation with a lease, heartbeats
// that renew it, a lost lease (409) that no longer holds a seat, stale lists
// and releases, and the refusals of each route.
func TestLeasesOverTheAPI(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := contract.NewClock(t0)
	store, srv, tokenFor := newServer(t, clock, Options{Rate: 1e9})
	a := licensing.WithAccount(context.Background(), "a@example.com")
	if _, err := store.CreateAccount(a, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenFor(a)
	if err != nil {
		t.Fatal(err)
	}
	p, err := store.Buy(a, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 2}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, other := p.Licenses[0], p.Licenses[1] // one seat each
	fx := &fixture{store: store, srv: srv}
	do := func(method, path, body string, status int) string {
		t.Helper()
		resp, b := fx.request(t, method, path, tok, body)
		if resp.StatusCode != status {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, b, status)
		}
		return b
	}
	decode := func(b string) licensing.Activation {
		t.Helper()
		var act licensing.Activation
		if err := json.Unmarshal([]byte(b), &act); err != nil {
			t.Fatal(err)
		}
		return act
	}

	leased := decode(do("POST", "/v1/activations", `{"product":"backup-server","machine":"ci-1","fingerprint":"fp-1","os":"linux","version":"5.0","lease_seconds":60}`, 201))
	if leased.LicenseKey != key || leased.LeaseSeconds != 60 || leased.LeaseExpiresAt == nil || !leased.LeaseExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("leased activation: %+v", leased)
	}
	plain := decode(do("POST", "/v1/activations", `{"license_key":"`+other+`","machine":"desk","fingerprint":"fp-desk","os":"linux","version":"5.0"}`, 201))
	if plain.LeaseSeconds != 0 || plain.LeaseExpiresAt != nil {
		t.Fatalf("activation without a lease: %+v", plain)
	}
	pool := `{"product":"backup-server","machine":"ci-2","fingerprint":"fp-2","os":"linux","version":"5.0","lease_seconds":60}`
	do("POST", "/v1/activations", pool, 409) // both seats taken
	beat := "/v1/activations/" + strconv.FormatInt(leased.ID, 10) + "/heartbeat"
	clock.Add(30 * time.Second)
	if act := decode(do("POST", beat, "", 200)); !act.LeaseExpiresAt.Equal(t0.Add(90*time.Second)) || !act.LastSeenAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after a heartbeat: %+v", act)
	}
	do("POST", beat, `{}`, 200)
	do("POST", beat, `{"lease_seconds":60}`, 400)
	do("POST", "/v1/activations/abc/heartbeat", "", 400)
	do("POST", "/v1/activations/0/heartbeat", "", 400)
	do("POST", "/v1/activations/999999/heartbeat", "", 404)
	do("POST", "/v1/activations/"+strconv.FormatInt(plain.ID, 10)+"/heartbeat", "", 400)

	clock.Add(61 * time.Second) // the lease ran out at t0+90s
	do("POST", beat, "", 409)
	var list []licensing.Activation
	if err := json.Unmarshal([]byte(do("GET", "/v1/activations", "", 200)), &list); err != nil || len(list) != 1 || list[0].ID != plain.ID {
		t.Fatalf("activations after the lease ran out: %+v %v", list, err)
	}
	var v licensing.Validation
	if err := json.Unmarshal([]byte(do("GET", "/v1/licenses/"+key+"/validation?fingerprint=fp-1", "", 200)), &v); err != nil || v.Code != licensing.ValidNoMachine {
		t.Fatalf("validation of the lost lease: %+v %v", v, err)
	}
	// The lost lease's seat is the next machine's; released, it is free again.
	next := decode(do("POST", "/v1/activations", pool, 201))
	if next.LicenseKey != key {
		t.Fatalf("the next pool activation: %+v, want a seat of %s", next, key)
	}
	do("POST", "/v1/deactivations", `{"id":`+strconv.FormatInt(next.ID, 10)+`}`, 200)

	// Stale: the machine without a lease was last seen 91 s ago.
	if err := json.Unmarshal([]byte(do("GET", "/v1/activations?stale=60", "", 200)), &list); err != nil || len(list) != 1 || list[0].ID != plain.ID {
		t.Fatalf("stale activations: %+v %v", list, err)
	}
	if err := json.Unmarshal([]byte(do("GET", "/v1/activations?stale=120", "", 200)), &list); err != nil || len(list) != 0 {
		t.Fatalf("activations stale for 2m: %+v %v", list, err)
	}
	if err := json.Unmarshal([]byte(do("POST", "/v1/activation-releases", `{"stale_seconds":60,"dry_run":true}`, 200)), &list); err != nil || len(list) != 1 {
		t.Fatalf("stale release, dry run: %+v %v", list, err)
	}
	if err := json.Unmarshal([]byte(do("POST", "/v1/activation-releases", `{"stale_seconds":60}`, 200)), &list); err != nil || len(list) != 1 || list[0].ID != plain.ID {
		t.Fatalf("stale release: %+v %v", list, err)
	}
	if err := json.Unmarshal([]byte(do("GET", "/v1/activations", "", 200)), &list); err != nil || len(list) != 0 {
		t.Fatalf("activations after the release: %+v %v", list, err)
	}

	// Refusals. A count of seconds too long for a duration is refused, not
	// wrapped around: 2^55+3600 s times 1e9 ns is 1h modulo 2^64.
	const wraps = "36028797018967568"
	for _, body := range []string{`{"stale_seconds":30}`, `{}`, `{"stale_seconds":` + wraps + `}`, `{"stale_seconds":60,"x":1}`} {
		do("POST", "/v1/activation-releases", body, 400)
	}
	do("GET", "/v1/activations?stale="+wraps, "", 400)
	do("GET", "/v1/activations?stale=-1", "", 400)
	for _, body := range []string{
		`{"product":"backup-server","machine":"m","fingerprint":"f","os":"linux","version":"5.0","lease_seconds":10}`,
		`{"license_key":"` + key + `","product":"backup-server","machine":"m","fingerprint":"f","os":"linux","version":"5.0"}`,
		`{"company":"Globex","machine":"m","fingerprint":"f","os":"linux","version":"5.0"}`,
		`{"machine":"m","fingerprint":"f","os":"linux","version":"5.0"}`,
	} {
		do("POST", "/v1/activations", body, 400)
	}
	do("POST", "/v1/activations", `{"product":"backup-desktop","machine":"m","fingerprint":"f","os":"linux","version":"5.0"}`, 404)
}
