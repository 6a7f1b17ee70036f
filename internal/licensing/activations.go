package licensing

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Activation modes and remote-management states.
const (
	ModeOnline  = "online"
	ModeOffline = "offline"

	RMEnabled     = "enabled"
	RMDisabled    = "disabled"
	RMUnsupported = "unsupported"
)

// CertificateValidity is how long an offline certificate is valid when the
// license itself does not expire sooner; a machine renews it with a new request.
const CertificateValidity = 365 * 24 * time.Hour

// Activation is one machine holding a seat of a license.
type Activation struct {
	ID          int64     `json:"id"`
	LicenseKey  string    `json:"license_key"`
	Product     string    `json:"product"`
	Machine     string    `json:"machine"`
	Fingerprint string    `json:"fingerprint"`
	OS          string    `json:"os"`
	Version     string    `json:"version"`
	Mode        string    `json:"mode"`
	RM          string    `json:"rm"`
	ActivatedAt time.Time `json:"activated_at"`
	LastSeenAt  time.Time `json:"last_seen_at"`
	// LeaseSeconds is the lease's length (0: not leased); a heartbeat
	// extends LeaseExpiresAt (nil: not leased) by it. A lease not renewed
	// expires: its seat is free for the next machine.
	LeaseSeconds   int64      `json:"lease_seconds"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at"`
	// Existing is true when activate found this machine already active on the
	// license and returned that activation instead of taking another seat.
	Existing bool `json:"existing"`
}

// RMState is what an activation reports for remote management: the license's
// Allow RM switch, or unsupported for versions before 5.2.
func RMState(allowRM bool, version string) string {
	switch {
	case !SupportsRM(version):
		return RMUnsupported
	case allowRM:
		return RMEnabled
	}
	return RMDisabled
}

// ActivationRequest asks for a seat of a license for one machine.
type ActivationRequest struct {
	// LicenseKey names the license; or Product takes a free seat of any of
	// the account's valid licenses of that product in Company (or, without
	// one, in the global pool): a floating pool.
	LicenseKey  string `json:"license_key,omitempty"`
	Product     string `json:"product,omitempty"`
	Company     string `json:"company,omitempty"`
	Machine     string `json:"machine"`
	Fingerprint string `json:"fingerprint"`
	OS          string `json:"os"`
	Version     string `json:"version"`
	// LeaseSeconds makes a leased activation (0: not leased), which expires
	// unless a heartbeat renews it within this many seconds.
	LeaseSeconds int64 `json:"lease_seconds,omitempty"`
}

// Lease bounds: a lease shorter than MinLease would need heartbeats faster
// than a busy server answers; one longer than MaxLease is not a lease.
const (
	MinLease = 30 * time.Second
	MaxLease = 30 * 24 * time.Hour
)

// CheckLease checks a lease length in seconds (0: no lease).
func CheckLease(seconds int64) error {
	if seconds == 0 {
		return nil
	}
	if seconds < int64(MinLease/time.Second) || seconds > int64(MaxLease/time.Second) {
		return Errorf(EINVALID, "invalid lease of %d seconds: a lease lasts from 30s to 720h", seconds).
			WithHint("e.g. --lease 10m; heartbeats renew it")
	}
	return nil
}

// LeaseExpired reports whether a is a leased activation whose lease ran out
// at or before now.
func (a *Activation) LeaseExpired(now time.Time) bool {
	return a.LeaseExpiresAt != nil && !a.LeaseExpiresAt.After(now)
}

// Normalize validates the request's machine fields (the store checks the key).
func (r *ActivationRequest) Normalize() error {
	if err := CheckLease(r.LeaseSeconds); err != nil {
		return err
	}
	r.Machine = strings.TrimSpace(r.Machine)
	r.Fingerprint = strings.TrimSpace(r.Fingerprint)
	r.OS = strings.TrimSpace(r.OS)
	r.Version = strings.TrimPrefix(strings.TrimSpace(r.Version), "v")
	for _, f := range [][2]string{{"machine", r.Machine}, {"fingerprint", r.Fingerprint}, {"os", r.OS}, {"version", r.Version}} {
		if f[1] == "" {
			return Errorf(EINVALID, "%s is required", f[0]).WithHint("activate with --machine NAME --fingerprint FP --os windows|macos|linux --version V")
		}
		if len(f[1]) > 200 || hasControl(f[1]) {
			return Errorf(EINVALID, "%s must be at most 200 printable characters", f[0])
		}
	}
	machine, err := NormalizeMachineName(r.Machine)
	if err != nil {
		return err
	}
	r.Machine = machine
	os, err := OSEnum().Parse(r.OS)
	if err != nil {
		return err
	}
	r.OS = os
	if _, ok := parseVersion(r.Version); !ok {
		return Errorf(EINVALID, "invalid version %q: want MAJOR.MINOR[.PATCH]", clip(r.Version))
	}
	return nil
}

// Seat is what the activation rules need to know about a license.
type Seat struct {
	Key       string
	Kind      string
	ExpiresAt *time.Time
	Suspended bool
	Seats     int
	SeatsUsed int
	Edition   string
	Platforms []string
}

// CheckActivation applies the activation rules to a license, in the order a
// support engineer would explain them; each refusal has its own message.
func CheckActivation(s Seat, os string, now time.Time) error {
	switch {
	case s.Suspended:
		return Errorf(ECONFLICT, "license %s is suspended", s.Key).
			WithHint("an operator lifts it with `licensectl licenses set %s --suspended=false`", s.Key)
	case s.ExpiresAt != nil && !s.ExpiresAt.After(now) && s.Kind == KindTrial:
		return Errorf(ECONFLICT, "trial license %s expired at %s", s.Key, s.ExpiresAt.Format(time.RFC3339)).
			WithHint("buy the product to keep using it")
	case s.ExpiresAt != nil && !s.ExpiresAt.After(now):
		return Errorf(ECONFLICT, "license %s expired at %s", s.Key, s.ExpiresAt.Format(time.RFC3339)).
			WithHint("renew the subscription or use another license")
	case os != OSWindows && s.Edition != EditionDesktop && s.Edition != EditionServer:
		return Errorf(ECONFLICT, "%s machines need a Desktop or Server license; %s is of the %s edition", os, s.Key, editionName(s.Edition)).
			WithHint("use a Desktop or Server license for macOS and Linux")
	case !contains(s.Platforms, os):
		return Errorf(ECONFLICT, "license %s does not cover %s (platforms: %s)", s.Key, os, strings.Join(s.Platforms, ", "))
	case s.SeatsUsed >= s.Seats:
		return Errorf(ECONFLICT, "no free seat on license %s: %d of %d used", s.Key, s.SeatsUsed, s.Seats).
			WithHint("release one with `licensectl activations deactivate` or use another license")
	}
	return nil
}

// Editions that may run on macOS and Linux.
const (
	EditionDesktop = "desktop"
	EditionServer  = "server"
)

func editionName(e string) string {
	if e == "" {
		return "unnamed"
	}
	return e
}

// ActivationFilter selects activations; empty fields do not filter.
type ActivationFilter struct {
	LicenseKey string
	Machine    string
	Offline    bool
	// Stale keeps the activations not seen (heartbeat, validation,
	// activation) for longer than this; 0 keeps all.
	Stale time.Duration
}

// DeactivateRequest names an activation by id, or by license and fingerprint.
type DeactivateRequest struct {
	ID          int64
	LicenseKey  string
	Fingerprint string
	// Force releases an offline activation without the machine's signed proof
	// (a lost or broken machine); the audit log records it.
	Force bool
}

// Validation reason codes: stable, for scripts.
const (
	ValidValid               = "VALID"
	ValidNotFound            = "NOT_FOUND"
	ValidExpired             = "EXPIRED"
	ValidSuspended           = "SUSPENDED"
	ValidNoMachine           = "NO_MACHINE"
	ValidFingerprintMismatch = "FINGERPRINT_MISMATCH"
	ValidTooManyMachines     = "TOO_MANY_MACHINES"
	ValidMaintenanceExpired  = "MAINTENANCE_EXPIRED"
	// ValidRevoked (money.go): a refund revoked the license.
)

// ValidationErrorCode maps a reason to the error code (and so the exit code)
// the CLI answers with: the license or machine is not there (not found, 3),
// or it is there but a rule refuses it (conflict, 5).
func ValidationErrorCode(reason string) string {
	switch reason {
	case ValidValid:
		return ""
	case ValidNotFound, ValidNoMachine, ValidFingerprintMismatch:
		return ENOTFOUND
	}
	return ECONFLICT
}

// Validation is the answer of `licenses validate`.
type Validation struct {
	Key     string `json:"key"`
	Code    string `json:"code"`
	Valid   bool   `json:"valid"`
	Message string `json:"message"`
	// Warning says what will make a valid license stop being valid (a
	// failed renewal payment); omitted when nothing.
	Warning         string     `json:"warning,omitempty"`
	Product         string     `json:"product,omitempty"`
	Fingerprint     string     `json:"fingerprint,omitempty"`
	Version         string     `json:"version,omitempty"`
	Seats           int        `json:"seats"`
	SeatsUsed       int        `json:"seats_used"`
	ExpiresAt       *time.Time `json:"expires_at"`
	MaintenanceTill *time.Time `json:"maintenance_till"`
}

// Build is a downloadable release of a product for one platform.
type Build struct {
	Product string `json:"product" yaml:"product"`
	// Target is the OS/package: windows, macos, linux-deb or linux-rpm
	// (TargetEnum); OS is the OS it runs on (linux for both Linux targets).
	Target  string `json:"target" yaml:"os"`
	OS      string `json:"os" yaml:"-"`
	Version string `json:"version" yaml:"version"`
	Package string `json:"package" yaml:"package,omitempty"` // exe | msi | pkg | dmg | deb | rpm
	// URL is where an upstream build's bytes are; "" for an artifact.
	URL string `json:"url" yaml:"url,omitempty"`
	// Artifact is the build's file name in the server's artifact
	// directory; "" for an upstream build.
	Artifact   string    `json:"artifact" yaml:"artifact,omitempty"`
	Size       int64     `json:"size" yaml:"size"`     // bytes; 0 unknown (seeded builds)
	SHA256     string    `json:"sha256" yaml:"sha256"` // lower-case hex; "" unknown
	ReleasedAt time.Time `json:"released_at" yaml:"released"`
}

// Download is the build a license may use, and why.
type Download struct {
	LicenseKey string `json:"license_key"`
	Build
	// Rule is "newest", "maintenance_cutoff" or "requested" (--version).
	Rule   string     `json:"rule"`
	Cutoff *time.Time `json:"cutoff"`
	Reason string     `json:"reason"`
	// FetchURL is where to fetch an upstream build's bytes: its URL signed
	// for a short while (DownloadRequest.Fetch only).
	FetchURL string `json:"fetch_url,omitempty"`
}

// Download rules.
const (
	RuleNewest            = "newest"
	RuleMaintenanceCutoff = "maintenance_cutoff"
	RuleRequested         = "requested"
)

// UpgradeCutoff is the last release date a license may use, or nil for no
// limit. A lifetime license without active maintenance keeps the builds
// released before its maintenance ended - or, never having had maintenance,
// before it was bought. Subscriptions and trials always get the newest.
func UpgradeCutoff(l *License, now time.Time) *time.Time {
	if l.Term != LicenseTermPerpetual || l.Kind == KindTrial {
		return nil
	}
	if l.MaintenanceTill != nil && l.MaintenanceTill.After(now) {
		return nil
	}
	if l.MaintenanceTill != nil {
		t := *l.MaintenanceTill
		return &t
	}
	t := l.CreatedAt
	return &t
}

// LatestBuild picks the build a license may download from a product's builds
// for one OS and explains the choice.
func LatestBuild(l *License, builds []Build, os string, now time.Time) (*Download, error) {
	sorted := append([]Build(nil), builds...)
	sort.SliceStable(sorted, func(i, j int) bool { return CompareVersions(sorted[i].Version, sorted[j].Version) > 0 })
	if len(sorted) == 0 {
		return nil, Errorf(ENOTFOUND, "no %s build of %s in the catalog", os, l.Product)
	}
	cutoff := UpgradeCutoff(l, now)
	d := &Download{LicenseKey: l.Key, Rule: RuleNewest, Cutoff: cutoff}
	if cutoff == nil {
		d.Build = sorted[0]
		d.Reason = fmt.Sprintf("%s is the newest %s build; %s", d.Version, os, newestWhy(l))
		return d, nil
	}
	d.Rule = RuleMaintenanceCutoff
	for _, b := range sorted {
		if !b.ReleasedAt.After(*cutoff) {
			d.Build = b
			why := fmt.Sprintf("lifetime license without active maintenance: builds released up to %s (%s)", cutoff.Format("2006-01-02"), cutoffWhy(l))
			if b.Version != sorted[0].Version {
				why += fmt.Sprintf("; %s needs maintenance", sorted[0].Version)
			}
			d.Reason = why
			return d, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "no %s build of %s was released before %s, when this license's upgrades ended", os, l.Product, cutoff.Format("2006-01-02")).
		WithHint("buy maintenance for %s to download the newest build", l.Key)
}

func newestWhy(l *License) string {
	switch {
	case l.Kind == KindTrial:
		return "trials get the newest build"
	case l.Term != LicenseTermPerpetual:
		return "subscriptions include upgrades"
	}
	return "maintenance is active until " + l.MaintenanceTill.Format("2006-01-02")
}

func cutoffWhy(l *License) string {
	if l.MaintenanceTill != nil {
		return "maintenance ended " + l.MaintenanceTill.Format("2006-01-02")
	}
	return "no maintenance since it was bought on " + l.CreatedAt.Format("2006-01-02")
}

// CompareVersions orders "MAJOR.MINOR[.PATCH]" versions numerically: -1, 0
// or 1. Unreadable versions sort before readable ones.
func CompareVersions(a, b string) int {
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range va {
		if va[i] != vb[i] {
			if va[i] < vb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// DefaultBuilds are the releases seeded with the default catalog: three
// releases of every product on each of its platforms.
func DefaultBuilds(p Product) []Build {
	releases := []struct {
		version string
		at      time.Time
	}{
		{"7.5.0", time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)},
		{"7.8.0", time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC)},
		{"7.9.4", time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)},
	}
	packages := map[string]string{OSWindows: "exe", OSMacOS: "pkg", OSLinux: "deb"}
	var out []Build
	for _, os := range p.Platforms {
		for _, r := range releases {
			target := os
			if os == OSLinux {
				target = TargetLinuxDeb
			}
			out = append(out, Build{Product: p.SKU, Target: target, OS: os, Version: r.version, Package: packages[os],
				URL:        fmt.Sprintf("https://downloads.example.com/%s/%s/%s-%s.%s", p.SKU, r.version, p.SKU, r.version, packages[os]),
				ReleasedAt: r.at})
		}
	}
	return out
}

// SigningKey is a key that signs offline certificates. The private half
// never leaves the store.
type SigningKey struct {
	ID        string     `json:"kid"`
	PublicKey []byte     `json:"public_key"` // raw Ed25519, 32 bytes
	Current   bool       `json:"current"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"`
}

// OfflineActivation is what offline activate returns: the activation and
// the signed certificate envelope.
type OfflineActivation struct {
	Activation
	Certificate string `json:"certificate"`
}

// ActivationService activates and releases machines, validates licenses,
// issues offline certificates and names the build a license may download.
type ActivationService interface {
	// Activate takes a seat for a machine, or returns the machine's existing
	// activation (Existing set) when it already holds one on the license.
	Activate(ctx context.Context, r ActivationRequest) (*Activation, error)
	Deactivate(ctx context.Context, r DeactivateRequest) (*Activation, error)
	// Heartbeat renews a leased activation's lease by its length and records
	// that the machine was seen; a lease that expired is lost (ECONFLICT).
	Heartbeat(ctx context.Context, id int64) (*Activation, error)
	// ReleaseStale releases the account's online activations not seen for
	// longer than stale (dryRun: only answers which).
	ReleaseStale(ctx context.Context, stale time.Duration, dryRun bool) ([]Activation, error)
	ListActivations(ctx context.Context, f ActivationFilter) ([]Activation, error)
	// ValidateLicense answers a reason code; only a malformed key is an error.
	ValidateLicense(ctx context.Context, key, fingerprint, version string) (*Validation, error)
	// ActivateOffline checks a request file like an online activation, records
	// an offline activation and signs its certificate.
	ActivateOffline(ctx context.Context, request []byte) (*OfflineActivation, error)
	// ReleaseOffline frees the seat named by a deactivation proof the machine
	// signed; each proof works once.
	ReleaseOffline(ctx context.Context, proof []byte) (*Activation, error)
	// SigningKeys lists the signing keys, current first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey retires the current key and makes a new one.
	RotateSigningKey(ctx context.Context) (*SigningKey, error)
}
