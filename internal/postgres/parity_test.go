package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// parityStore is one backend fed the same history as the other; ordinal
// maps each license key to its place in that history, so that lists can be
// compared although the random keys differ.
type parityStore struct {
	name    string
	svc     licensing.Services
	clock   *contract.Clock
	ordinal map[string]int
}

// TestParityWithSQLite feeds SQLite and PostgreSQL the same purchases and
// compares every list: sort orders (NULLs, Unicode case folding of company
// names, the id tie-break), search (folded company names, ASCII case in the
// other columns), filters, pages and groups must come out the same.
func TestParityWithSQLite(t *testing.T) {
	ctx := context.Background()
	var stores []*parityStore
	{
		clock := contract.NewClock(contract.Start())
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "parity.db"), sqlite.Options{Create: true, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := services(s).Seed(ctx); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, &parityStore{name: "sqlite", svc: services(s), clock: clock, ordinal: map[string]int{}})
	}
	{
		clock := contract.NewClock(contract.Start())
		s, _ := openSchema(t, clock)
		stores = append(stores, &parityStore{name: "postgres", svc: services(s), clock: clock, ordinal: map[string]int{}})
	}
	a := licensing.WithAccount(ctx, "a@example.com")
	// "ärzte" below is "Ärzte": names are unique in their folded form.
	companies := []string{"acme", "Beta", "Ärzte", "Straße", "zeta", "Émile", "under_score%", "ACME West"}
	type step struct {
		req     licensing.BuyRequest
		advance time.Duration
	}
	line := func(sku string, qty int, company, billing string) licensing.BuyRequest {
		return licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: sku, Quantity: qty, Company: company, Billing: billing}}}
	}
	trial := line("mbs-desktop", 1, "", "")
	trial.Trial = true
	steps := []step{
		{req: line("backup-desktop", 2, "", "")},
		{req: line("backup-server", 1, "acme", ""), advance: time.Hour},
		{req: line("backup-server", 2, "Ärzte", "")},
		{req: line("backup-server", 1, "ärzte", ""), advance: time.Minute},
		{req: line("mbs-vm", 2, "ACME", "monthly"), advance: 24 * time.Hour},
		{req: line("mbs-server", 1, "beta", "annual")},
		{req: trial, advance: time.Hour},
		{req: line("backup-desktop", 1, "Émile", "")},
		{req: line("mbs-vm", 1, "", "")},
		{req: line("backup-server", 1, "under_score%", ""), advance: time.Second},
		{req: line("backup-desktop", 1, "acme west", "")},
		{req: line("backup-desktop", 1, "STRASSE", "")},
	}
	for _, s := range stores {
		if _, err := s.svc.CreateAccount(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		for _, c := range companies {
			if _, err := s.svc.CreateCompany(a, c); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		for _, st := range steps {
			s.clock.Add(st.advance)
			p, err := s.svc.Buy(a, st.req, nil)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			for _, k := range p.Licenses {
				s.ordinal[k] = len(s.ordinal)
			}
		}
		keys := keysByOrdinal(s.ordinal)
		t2, f := true, false
		zeta := "zeta"
		for _, u := range []struct {
			i int
			u licensing.LicenseUpdate
		}{{0, licensing.LicenseUpdate{AllowRM: &t2}}, {5, licensing.LicenseUpdate{AllowRM: &t2}},
			{6, licensing.LicenseUpdate{AutoRenew: &f}}, {1, licensing.LicenseUpdate{Company: &zeta}}} {
			if _, err := s.svc.UpdateLicense(a, keys[u.i], u.u); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		s.clock.Add(40 * 24 * time.Hour) // the trial and the monthly subscriptions expire
	}

	var filters []licensing.LicenseFilter
	for _, field := range licensing.LicenseSortFields() {
		if field == "key" || field == "purchase_id" {
			continue // random on each side
		}
		for _, desc := range []bool{false, true} {
			filters = append(filters, licensing.LicenseFilter{Sort: []licensing.SortField{{Field: field, Desc: desc}}})
		}
	}
	// Keys and purchase ids are random on each side, so a search term must
	// not be able to match one by chance or the stores differ: "mbs" and
	// then "zzz" each once matched a key on one side only. Every term below
	// either holds a character Crockford base32 and the ids lack (I, L, O,
	// U, a space, punctuation but "-", non-ASCII), matches every license
	// anyway ("a" is in every product name), or is long enough that a chance
	// match is negligible ("strasse"; "ACME" is ~1 in 6,000 runs).
	for _, search := range []string{"a", "ACME", "ä", "Ä", "É", "é", "ÄRZTE", "strasse", "_", "%", "VM (2", "desktop", "backup-S", "quux"} {
		filters = append(filters, licensing.LicenseFilter{Search: search, Sort: []licensing.SortField{{Field: "company"}}})
	}
	filters = append(filters,
		licensing.LicenseFilter{Company: "ACME"},
		licensing.LicenseFilter{Company: "ärzte", Sort: []licensing.SortField{{Field: "created_at", Desc: true}}},
		licensing.LicenseFilter{Company: "STRASSE"},
		licensing.LicenseFilter{Pool: true},
		licensing.LicenseFilter{Kind: licensing.KindTrial},
		licensing.LicenseFilter{Validity: licensing.ValidityExpired},
		licensing.LicenseFilter{Validity: licensing.ValidityValid, Sort: []licensing.SortField{{Field: "expires_at", Desc: true}}},
		licensing.LicenseFilter{AutoRenew: true},
		licensing.LicenseFilter{Product: "BACKUP-SERVER"},
		licensing.LicenseFilter{Maintenance: licensing.MaintenanceNone, Limit: 3, Offset: 2},
		licensing.LicenseFilter{Offset: 5},
		licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "company", Desc: true}, {Field: "expires_at"}}, Limit: 6},
		licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "validity"}, {Field: "product", Desc: true}}},
		licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "allow_rm", Desc: true}, {Field: "company"}}},
	)
	for _, f := range filters {
		var got [2][]string
		for i, s := range stores {
			err := s.svc.ListLicenses(a, f, func(l *licensing.License) error {
				company := "-"
				if l.Company != nil {
					company = *l.Company
				}
				got[i] = append(got[i], fmt.Sprintf("#%d %s %s %s", s.ordinal[l.Key], l.Product, company, l.Validity))
				return nil
			})
			if err != nil {
				t.Fatalf("%s %+v: %v", s.name, f, err)
			}
		}
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("filter %+v:\nsqlite   %q\npostgres %q", f, got[0], got[1])
		}
		var groups [2][]licensing.LicenseGroup
		for i, s := range stores {
			g, err := s.svc.GroupLicenses(a, licensing.LicenseFilter{Search: f.Search, Company: f.Company, Validity: f.Validity})
			if err != nil {
				t.Fatal(err)
			}
			groups[i] = g
		}
		if !slices.Equal(groups[0], groups[1]) {
			t.Errorf("groups %+v:\nsqlite   %+v\npostgres %+v", f, groups[0], groups[1])
		}
	}

	var names [2][]string
	var actions [2][]string
	for i, s := range stores {
		cs, err := s.svc.ListCompanies(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			names[i] = append(names[i], fmt.Sprintf("%s:%d", c.Name, c.Licenses))
		}
		evs, err := s.svc.ListAudit(a, licensing.AuditFilter{Action: "license."})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			actions[i] = append(actions[i], e.Action+" "+string(e.Details))
		}
	}
	if !slices.Equal(names[0], names[1]) {
		t.Errorf("companies:\nsqlite   %q\npostgres %q", names[0], names[1])
	}
	if !slices.Equal(actions[0], actions[1]) || len(actions[0]) != 4 {
		t.Errorf("audit:\nsqlite   %q\npostgres %q", actions[0], actions[1])
	}
}

func keysByOrdinal(m map[string]int) []string {
	out := make([]string, len(m))
	for k, i := range m {
		out[i] = k
	}
	return out
}
