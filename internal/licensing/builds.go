package licensing

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"
)

// Build targets: the OS and package kind the vendor ships a build for. A
// target names one OS (OSWindows, OSMacOS, OSLinux); Linux builds come as
// .deb or .rpm, so Linux has two targets.
const (
	TargetWindows  = "windows"
	TargetMacOS    = "macos"
	TargetLinuxDeb = "linux-deb"
	TargetLinuxRPM = "linux-rpm"
)

// TargetEnum is a build's OS/package. "linux" alone is read as linux-deb
// (ParseTarget), the Linux package built first and what "--os linux"
// always downloaded.
func TargetEnum() Enum {
	return Enum{"os", []string{TargetWindows, TargetMacOS, TargetLinuxDeb, TargetLinuxRPM}, false}
}

// ParseTarget reads a build target: windows, macos, linux-deb, linux-rpm,
// or linux (= linux-deb). "" stays "".
func ParseTarget(s string) (string, error) {
	if EnumKey(s) == OSLinux {
		return TargetLinuxDeb, nil
	}
	t, err := TargetEnum().Parse(s)
	if err != nil {
		return "", Errorf(EINVALID, "invalid os %q: want windows, macos, linux-deb, linux-rpm or linux (= linux-deb)", clip(strings.TrimSpace(s)))
	}
	return t, nil
}

// TargetOS is the OS a target runs on: linux for linux-deb and linux-rpm.
func TargetOS(target string) string {
	if strings.HasPrefix(target, OSLinux+"-") {
		return OSLinux
	}
	return target
}

// targetPackages are the package kinds a target's builds come in, the
// default first.
func targetPackages(target string) []string {
	switch target {
	case TargetWindows:
		return []string{"exe", "msi"}
	case TargetMacOS:
		return []string{"pkg", "dmg"}
	case TargetLinuxDeb:
		return []string{"deb"}
	case TargetLinuxRPM:
		return []string{"rpm"}
	}
	return nil
}

// MaxArtifactSize bounds a build's size (64 GiB): anything larger is a typo.
const MaxArtifactSize = 64 << 30

// Validate checks a build as registered: known product (not checked
// here), a target, a readable version, exactly one of artifact and url, a
// size and a SHA-256 in lower-case hex. It fills OS and, when empty,
// Package from the target and the file name.
func (b *Build) Validate() error {
	b.Product = strings.ToLower(strings.TrimSpace(b.Product))
	if b.Product == "" {
		return Errorf(EINVALID, "a build needs a product SKU")
	}
	target := b.Target
	if target == "" {
		target = b.OS
	}
	t, err := ParseTarget(target)
	if err != nil {
		return err
	}
	if t == "" {
		return Errorf(EINVALID, "build of %s: --os is required (windows, macos, linux-deb or linux-rpm)", b.Product)
	}
	b.Target, b.OS = t, TargetOS(t)
	b.Version = strings.TrimSpace(b.Version)
	if _, ok := parseVersion(b.Version); !ok {
		return Errorf(EINVALID, "build of %s: invalid version %q: want MAJOR.MINOR[.PATCH]", b.Product, clip(b.Version))
	}
	b.Artifact, b.URL = strings.TrimSpace(b.Artifact), strings.TrimSpace(b.URL)
	switch {
	case b.Artifact == "" && b.URL == "":
		return Errorf(EINVALID, "build %s %s %s: give the artifact (--file) or an upstream --url", b.Product, b.Version, b.Target)
	case b.Artifact != "" && b.URL != "":
		return Errorf(EINVALID, "build %s %s %s: give an artifact or a url, not both", b.Product, b.Version, b.Target)
	case b.Artifact != "":
		if err := CheckArtifactName(b.Artifact); err != nil {
			return err
		}
	default:
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Errorf(EINVALID, "build %s %s: invalid url %q: want an http(s) URL", b.Product, b.Version, clip(b.URL))
		}
	}
	if b.Size <= 0 || b.Size > MaxArtifactSize {
		return Errorf(EINVALID, "build %s %s: size must be between 1 and %d bytes", b.Product, b.Version, int64(MaxArtifactSize))
	}
	b.SHA256 = strings.ToLower(strings.TrimSpace(b.SHA256))
	if raw, err := hex.DecodeString(b.SHA256); err != nil || len(raw) != 32 {
		return Errorf(EINVALID, "build %s %s: sha256 must be 64 hex digits", b.Product, b.Version)
	}
	pkgs := targetPackages(b.Target)
	if b.Package == "" {
		b.Package = pkgs[0]
		ext := strings.TrimPrefix(path.Ext(b.FileName()), ".")
		for _, p := range pkgs {
			if strings.EqualFold(ext, p) {
				b.Package = p
			}
		}
	}
	b.Package = strings.ToLower(b.Package)
	if !containsString(pkgs, b.Package) {
		return Errorf(EINVALID, "build %s %s: a %s build is a %s package, not %s", b.Product, b.Version, b.Target, OrList(pkgs), b.Package)
	}
	if b.ReleasedAt.IsZero() {
		return Errorf(EINVALID, "build %s %s: the release date is required", b.Product, b.Version)
	}
	b.ReleasedAt = b.ReleasedAt.UTC().Truncate(time.Second)
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CheckArtifactName accepts a plain file name inside an artifact
// directory: no directories, not hidden, no control characters.
func CheckArtifactName(name string) error {
	bad := name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\:`) || len(name) > 255
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			bad = true
		}
	}
	if bad {
		return Errorf(EINVALID, "invalid artifact name %q: want a plain file name inside the artifact directory", clip(name))
	}
	return nil
}

// FileName is the name a downloaded build is saved as: its artifact's
// name, else the last segment of its URL, else product-version.package.
func (b *Build) FileName() string {
	if b.Artifact != "" {
		return b.Artifact
	}
	if u, err := url.Parse(b.URL); err == nil {
		if name := path.Base(u.Path); name != "." && name != "/" && CheckArtifactName(name) == nil {
			return name
		}
	}
	return fmt.Sprintf("%s-%s.%s", b.Product, b.Version, b.Package)
}

// Verifiable reports whether the catalog knows the build's size and
// SHA-256 (the seeded builds do not).
func (b *Build) Verifiable() bool { return b.Size > 0 && len(b.SHA256) == 64 }

// DownloadRequest asks which build a license may download.
type DownloadRequest struct {
	Key string `json:"key"`
	// OS is a build target (ParseTarget): windows, macos, linux-deb,
	// linux-rpm; linux is linux-deb; "" for the product's only platform.
	OS string `json:"os"`
	// Version asks for one version, which the license must be entitled to;
	// "" for the newest it may use.
	Version string `json:"version"`
}

// ChooseBuild picks the build of a license's product for a target: the
// newest it may use (LatestBuild), or the version asked for, which a
// lifetime license without maintenance may download only when it was
// released before its upgrades ended (else EFORBIDDEN, with the reason).
func ChooseBuild(l *License, builds []Build, target, version string, now time.Time) (*Download, error) {
	if version == "" {
		return LatestBuild(l, builds, target, now)
	}
	var b *Build
	for i := range builds {
		if CompareVersions(builds[i].Version, version) == 0 {
			b = &builds[i]
		}
	}
	if b == nil {
		var have []string
		for _, x := range builds {
			have = append(have, x.Version)
		}
		e := Errorf(ENOTFOUND, "%s has no %s build of version %s", l.Product, target, clip(version))
		if len(have) > 0 {
			return nil, e.WithHint("builds: %s", strings.Join(have, ", "))
		}
		return nil, e
	}
	cutoff := UpgradeCutoff(l, now)
	d := &Download{LicenseKey: l.Key, Build: *b, Rule: RuleRequested, Cutoff: cutoff}
	if cutoff == nil {
		d.Reason = fmt.Sprintf("%s was asked for; %s", b.Version, newestWhy(l))
		return d, nil
	}
	if b.ReleasedAt.After(*cutoff) {
		return nil, Errorf(EFORBIDDEN, "license %s may not download %s %s: it was released %s, after this license's upgrades ended %s (%s)",
			l.Key, l.Product, b.Version, b.ReleasedAt.Format("2006-01-02"), cutoff.Format("2006-01-02"), cutoffWhy(l)).
			WithHint("buy maintenance for %s, or leave out --version for the newest build it may use", l.Key)
	}
	d.Reason = fmt.Sprintf("%s was asked for; released %s, before this license's upgrades ended %s (%s)",
		b.Version, b.ReleasedAt.Format("2006-01-02"), cutoff.Format("2006-01-02"), cutoffWhy(l))
	return d, nil
}

// BuildService registers the builds of the catalog and lists them.
type BuildService interface {
	// AddBuild registers a build (operators): ECONFLICT when the product
	// has one of that version for that target already.
	AddBuild(ctx context.Context, b Build) (*Build, error)
	// ListBuilds lists the builds of one product ("" for every product),
	// newest first per product and target.
	ListBuilds(ctx context.Context, sku string) ([]Build, error)
	// ImportCatalog inserts or replaces products and builds in one
	// transaction: ImportProducts with builds.
	ImportCatalog(ctx context.Context, products []Product, builds []Build) (*CatalogImport, error)
	// Download picks the build a license may download (ChooseBuild).
	Download(ctx context.Context, r DownloadRequest) (*Download, error)
	// OpenDownload picks the build as Download does, records the download
	// in the account's audit log and opens the build's bytes from byte
	// offset on (HTTP Range; a source that cannot resume starts at 0,
	// which DownloadBody.Offset says).
	OpenDownload(ctx context.Context, r DownloadRequest, offset int64) (*Download, *DownloadBody, error)
}

// DownloadBody is a build's bytes from Offset to its end.
type DownloadBody struct {
	io.ReadCloser
	Offset int64
}

// CatalogImport is what an import changed.
type CatalogImport struct {
	Products int `json:"products"`
	Builds   int `json:"builds"`
}
