package contract

import (
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Company and machine names are compared in their folded form
// (licensing.FoldName): NFC under full Unicode case folding, the same in
// every store. Folding is not accent stripping.
func testUnicodeNames(t *testing.T, e *env) {
	a := e.account("a@example.com")
	c, err := e.svc.CreateCompany(a, "Zu\u0308rich AG") // decomposed ü
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Zürich AG" {
		t.Errorf("company stored as %q, want the NFC form", c.Name)
	}
	for _, dup := range []string{"ZÜRICH AG", "zürich ag", "Zürich AG", " ZÜRICH AG "} {
		_, err := e.svc.CreateCompany(a, dup)
		wantCode(t, err, licensing.ECONFLICT, "duplicate company "+dup)
	}
	e.company(a, "Zurich AG") // no accent: another company
	e.company(a, "Straße GmbH")
	_, err = e.svc.CreateCompany(a, "STRASSE GMBH")
	wantCode(t, err, licensing.ECONFLICT, "ß folds to ss")
	for _, bad := range []string{"Zürich\u200bAG", "\u202eGA hcirüZ", "Zü\u00adrich", "\ufeffZürich", "Zürich\u2028AG", "Zürich\u2029AG"} {
		_, err := e.svc.CreateCompany(a, bad)
		wantCode(t, err, licensing.EINVALID, "invisible characters in a company name")
	}

	zu := e.buy(a, req(inCompany(line("backup-server", 2), "ZÜRICH AG"))).Licenses
	plain := e.buy(a, req(inCompany(line("backup-server", 1), "zurich ag"))).Licenses
	strasse := e.buy(a, req(inCompany(line("backup-desktop", 1), "strasse gmbh"))).Licenses
	pool := e.buy(a, req(line("backup-desktop", 1))).Licenses
	if l := e.license(a, zu[0]); l.Company == nil || *l.Company != "Zürich AG" {
		t.Errorf("license bought for ZÜRICH AG shows company %v", l.Company)
	}
	e.wantKeys(a, "--company in capitals", licensing.LicenseFilter{Company: "ZÜRICH AG"}, zu)
	e.wantKeys(a, "--company decomposed", licensing.LicenseFilter{Company: "zu\u0308rich ag"}, zu)
	e.wantKeys(a, "--company without the accent", licensing.LicenseFilter{Company: "ZURICH AG"}, plain)
	e.wantKeys(a, "--search in capitals", licensing.LicenseFilter{Search: "ZÜRICH"}, zu)
	e.wantKeys(a, "--search in lower case", licensing.LicenseFilter{Search: "zürich"}, zu)
	e.wantKeys(a, "--search decomposed", licensing.LicenseFilter{Search: "ZU\u0308RICH"}, zu)
	e.wantKeys(a, "--search without the accent", licensing.LicenseFilter{Search: "zurich"}, plain)
	e.wantKeys(a, "--search ß as SS", licensing.LicenseFilter{Search: "STRASSE"}, strasse)
	e.wantKeys(a, "--sort company folds", licensing.LicenseFilter{Sort: []licensing.SortField{{Field: "company"}, {Field: "created_at"}}},
		join(pool, strasse, plain, zu))
	if _, err := e.svc.UpdateLicense(a, pool[0], licensing.LicenseUpdate{Company: ptr("STRASSE GMBH")}); err != nil {
		t.Fatal(err)
	}
	if l := e.license(a, pool[0]); l.Company == nil || *l.Company != "Straße GmbH" {
		t.Errorf("moved to STRASSE GMBH, shows company %v", l.Company)
	}
	cs, err := e.svc.ListCompanies(a)
	if err != nil || len(cs) != 3 || cs[0].Name != "Straße GmbH" || cs[1].Name != "Zurich AG" || cs[2].Name != "Zürich AG" || cs[2].Licenses != 2 {
		t.Errorf("ListCompanies = %+v, %v", cs, err)
	}

	// Machine names: any case, in any script; no invisible characters.
	svc := e.activations()
	e.activate(a, machine(zu[0], "Büro-PC", licensing.OSWindows, "7.9"))
	e.activate(a, machine(zu[1], "ΣΟΦΊΑ", licensing.OSWindows, "7.9"))
	for _, c := range []struct{ name, want string }{{"BÜRO-PC", "Büro-PC"}, {"bu\u0308ro-pc", "Büro-PC"}, {"σοφία", "ΣΟΦΊΑ"}, {"buro-pc", ""}} {
		list, err := svc.ListActivations(a, licensing.ActivationFilter{Machine: c.name})
		switch {
		case err != nil:
			t.Fatal(err)
		case c.want == "" && len(list) != 0, c.want != "" && (len(list) != 1 || list[0].Machine != c.want):
			t.Errorf("activations of machine %q = %+v, want %q", c.name, list, c.want)
		}
	}
	e.wantKeys(a, "--search a machine name", licensing.LicenseFilter{Search: "büro-pc"}, zu[:1])
	e.wantKeys(a, "--search a machine name in capitals", licensing.LicenseFilter{Search: "ΣΟΦΊΑ"}, zu[1:])
	for _, bad := range []string{"build\u200b1", "build\u202e1", "build\u00ad1", "\ufeffbuild1", "build\u20281"} {
		_, err := svc.Activate(a, machine(plain[0], bad, licensing.OSWindows, "7.9"))
		wantCode(t, err, licensing.EINVALID, "invisible characters in a machine name")
	}
	if l := e.license(a, plain[0]); l.SeatsUsed != 0 {
		t.Errorf("a refused machine name took a seat: %d used", l.SeatsUsed)
	}
}
