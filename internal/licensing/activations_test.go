package licensing

import (
	"strings"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"7.9.4", "7.9.4", 0}, {"7.10.0", "7.9.4", 1}, {"5.2", "5.2.0", 0}, {"v7.8", "7.9", -1},
		{"banana", "1.0", -1}, {"1.0", "banana", 1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRMState(t *testing.T) {
	for _, tc := range []struct {
		allow   bool
		version string
		want    string
	}{
		{true, "5.2", RMEnabled}, {false, "5.10.1", RMDisabled}, {true, "5.1.9", RMUnsupported}, {true, "4.99", RMUnsupported},
	} {
		if got := RMState(tc.allow, tc.version); got != tc.want {
			t.Errorf("RMState(%v, %s) = %s, want %s", tc.allow, tc.version, got, tc.want)
		}
	}
}

func TestCheckActivationReasons(t *testing.T) {
	now := day(2026, 1, 15)
	past := now.Add(-time.Hour)
	ok := Seat{Key: "K", Kind: KindCommercial, Seats: 1, Edition: EditionServer, Platforms: []string{OSWindows, OSLinux, OSMacOS}}
	for _, tc := range []struct {
		name string
		edit func(*Seat)
		os   string
		want string // a word of the message; "" for allowed
	}{
		{"allowed", func(*Seat) {}, OSLinux, ""},
		{"suspended first", func(s *Seat) { s.Suspended, s.SeatsUsed = true, 1 }, OSLinux, "suspended"},
		{"trial expired", func(s *Seat) { s.Kind, s.ExpiresAt = KindTrial, &past }, OSWindows, "trial license K expired"},
		{"expired", func(s *Seat) { s.ExpiresAt = &past }, OSWindows, "license K expired"},
		{"edition", func(s *Seat) { s.Edition = "mssql" }, OSMacOS, "need a Desktop or Server license"},
		{"edition ok on windows", func(s *Seat) { s.Edition = "mssql" }, OSWindows, ""},
		{"platform", func(s *Seat) { s.Platforms = []string{OSWindows} }, OSLinux, "does not cover linux"},
		{"no seat", func(s *Seat) { s.SeatsUsed = 1 }, OSLinux, "no free seat"},
	} {
		s := ok
		tc.edit(&s)
		err := CheckActivation(s, tc.os, now)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (ErrorCode(err) != ECONFLICT || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a conflict saying %q", tc.name, err, tc.want)
		}
	}
}

func TestLatestBuildRules(t *testing.T) {
	now := day(2026, 1, 15)
	builds := DefaultBuilds(Product{SKU: "backup-server", Platforms: []string{OSLinux}})
	maint := func(till time.Time) *time.Time { return &till }
	for _, tc := range []struct {
		name    string
		lic     License
		version string
		rule    string
	}{
		{"maintenance active", License{Term: LicenseTermPerpetual, CreatedAt: day(2024, 1, 1), MaintenanceTill: maint(day(2026, 6, 1))}, "7.9.4", RuleNewest},
		{"maintenance ended", License{Term: LicenseTermPerpetual, CreatedAt: day(2024, 1, 1), MaintenanceTill: maint(day(2025, 7, 1))}, "7.8.0", RuleMaintenanceCutoff},
		{"never had maintenance", License{Term: LicenseTermPerpetual, CreatedAt: day(2024, 10, 1)}, "7.5.0", RuleMaintenanceCutoff},
		{"subscription", License{Term: LicenseTermAnnual, CreatedAt: day(2024, 1, 1)}, "7.9.4", RuleNewest},
		{"trial", License{Term: LicenseTermPerpetual, Kind: KindTrial, CreatedAt: day(2024, 1, 1)}, "7.9.4", RuleNewest},
	} {
		d, err := LatestBuild(&tc.lic, builds, OSLinux, now)
		if err != nil || d.Version != tc.version || d.Rule != tc.rule || d.Reason == "" {
			t.Errorf("%s: %+v, %v; want %s by %s", tc.name, d, err, tc.version, tc.rule)
		}
	}
	// Bought before any build: nothing to download, and the hint says why.
	_, err := LatestBuild(&License{Key: "K", Term: LicenseTermPerpetual, CreatedAt: day(2023, 1, 1)}, builds, OSLinux, now)
	if ErrorCode(err) != ENOTFOUND || !strings.Contains(ErrorHint(err), "maintenance") {
		t.Errorf("no build before the cutoff: %v", err)
	}
}

func TestActivationRequestNormalize(t *testing.T) {
	r := ActivationRequest{Machine: " build-01 ", Fingerprint: "fp", OS: "Linux", Version: "v7.9.4"}
	if err := r.Normalize(); err != nil || r.OS != OSLinux || r.Version != "7.9.4" || r.Machine != "build-01" {
		t.Errorf("Normalize = %+v, %v", r, err)
	}
	for _, bad := range []ActivationRequest{
		{Machine: "m", Fingerprint: "f", OS: "linux"},
		{Machine: "m", Fingerprint: "f\x00", OS: "linux", Version: "1.0"},
		{Machine: "m", Fingerprint: "f", OS: "solaris", Version: "1.0"},
		{Machine: "m", Fingerprint: "f", OS: "linux", Version: "1"},
	} {
		if err := bad.Normalize(); ErrorCode(err) != EINVALID {
			t.Errorf("Normalize(%+v) = %v, want EINVALID", bad, err)
		}
	}
}
