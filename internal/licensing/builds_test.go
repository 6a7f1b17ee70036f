package licensing

import (
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{"linux": TargetLinuxDeb, "Linux-RPM": TargetLinuxRPM, "linux_deb": TargetLinuxDeb, "MacOS": TargetMacOS, "": ""} {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseTarget("solaris"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseTarget(solaris): %v", err)
	}
	if TargetOS(TargetLinuxRPM) != OSLinux || TargetOS(TargetWindows) != OSWindows {
		t.Error("TargetOS")
	}
}

func TestBuildValidate(t *testing.T) {
	ok := func() Build {
		return Build{Product: " Backup-Server ", Target: "linux", Version: "8.0.0", Artifact: "bs.rpm.deb", Size: 10,
			SHA256: strings.Repeat("AB", 32), ReleasedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	b := ok()
	if err := b.Validate(); err != nil || b.Product != "backup-server" || b.Target != TargetLinuxDeb || b.OS != OSLinux ||
		b.Package != "deb" || b.SHA256 != strings.Repeat("ab", 32) {
		t.Fatalf("Validate = %v, %+v", err, b)
	}
	w := ok()
	w.Target, w.Artifact = "windows", "setup.MSI"
	if err := w.Validate(); err != nil || w.Package != "msi" {
		t.Errorf("windows .msi: %v, %+v", err, w)
	}
	for name, mut := range map[string]func(*Build){
		"no os":             func(b *Build) { b.Target = "" },
		"bad version":       func(b *Build) { b.Version = "eight" },
		"both sources":      func(b *Build) { b.URL = "https://x.example/a.deb" },
		"no source":         func(b *Build) { b.Artifact = "" },
		"path artifact":     func(b *Build) { b.Artifact = "../etc/passwd" },
		"hidden artifact":   func(b *Build) { b.Artifact = ".bashrc" },
		"ftp url":           func(b *Build) { b.Artifact, b.URL = "", "ftp://x.example/a.deb" },
		"zero size":         func(b *Build) { b.Size = 0 },
		"short sha":         func(b *Build) { b.SHA256 = "abcd" },
		"rpm for deb":       func(b *Build) { b.Package = "rpm" },
		"no release date":   func(b *Build) { b.ReleasedAt = time.Time{} },
		"exe for linux":     func(b *Build) { b.Package = "exe" },
		"huge":              func(b *Build) { b.Size = MaxArtifactSize + 1 },
		"control in name":   func(b *Build) { b.Artifact = "a\nb.deb" },
		"backslash in name": func(b *Build) { b.Artifact = `a\b.deb` },
	} {
		b := ok()
		mut(&b)
		if err := b.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func TestChooseBuild(t *testing.T) {
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
	builds := []Build{{Version: "8.0.0", ReleasedAt: day(1, 10)}, {Version: "8.1.0", ReleasedAt: day(12, 1)}, {Version: "7.5.0", ReleasedAt: day(1, 1)}}
	now := day(12, 20)
	lifetime := &License{Key: "K", Product: "p", Term: LicenseTermPerpetual, Kind: KindCommercial, CreatedAt: day(6, 1)}
	d, err := ChooseBuild(lifetime, builds, TargetLinuxDeb, "", now)
	if err != nil || d.Version != "8.0.0" || d.Rule != RuleMaintenanceCutoff {
		t.Fatalf("newest it may use: %+v, %v", d, err)
	}
	if _, err := ChooseBuild(lifetime, builds, TargetLinuxDeb, "8.1.0", now); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("8.1.0 without maintenance: %v", err)
	}
	if d, err := ChooseBuild(lifetime, builds, TargetLinuxDeb, "7.5", now); err != nil || d.Version != "7.5.0" || d.Rule != RuleRequested {
		t.Errorf("7.5 (= 7.5.0): %+v, %v", d, err)
	}
	if _, err := ChooseBuild(lifetime, builds, TargetLinuxDeb, "9.0.0", now); ErrorCode(err) != ENOTFOUND {
		t.Errorf("9.0.0: %v", err)
	}
	till := day(12, 31)
	maintained := *lifetime
	maintained.MaintenanceTill = &till
	if d, err := ChooseBuild(&maintained, builds, TargetLinuxDeb, "8.1.0", now); err != nil || d.Version != "8.1.0" {
		t.Errorf("8.1.0 with maintenance: %+v, %v", d, err)
	}
}

func TestBuildFileName(t *testing.T) {
	for _, c := range []struct {
		b    Build
		want string
	}{
		{Build{Artifact: "a.deb"}, "a.deb"},
		{Build{URL: "https://cdn.example.com/x/bd-8.0.0.exe?sig=1"}, "bd-8.0.0.exe"},
		{Build{URL: "https://cdn.example.com/", Product: "p", Version: "1.0", Package: "pkg"}, "p-1.0.pkg"},
	} {
		if got := c.b.FileName(); got != c.want {
			t.Errorf("FileName(%+v) = %q, want %q", c.b, got, c.want)
		}
	}
}
