package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/artifacts"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/offline"
)

var _ licensing.BuildService = (*App)(nil)

// BuildTx is what the build use cases need of a transaction besides
// ActivationTx's Builds and ProductTx's InsertBuilds.
type BuildTx interface {
	// InsertBuild inserts a build and reports whether it did: false when
	// the product has that version for that target already.
	InsertBuild(ctx context.Context, b licensing.Build) (bool, error)
	// UpsertBuilds inserts the builds, replacing those stored (same
	// product, target and version).
	UpsertBuilds(ctx context.Context, bs []licensing.Build) error
}

// DownloadURLValidity is how long a signed upstream URL works.
const DownloadURLValidity = 5 * time.Minute

// AddBuild registers a build of a catalog product. An artifact must be in
// the artifact directory with the size and SHA-256 given.
func (a *App) AddBuild(ctx context.Context, b licensing.Build) (*licensing.Build, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if b.Artifact != "" {
		if err := a.artifacts.Check(b.Artifact, b.Size, b.SHA256); err != nil {
			return nil, err
		}
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.Build, error) {
		if err := buildProduct(ctx, tx, &b, nil); err != nil {
			return nil, err
		}
		ok, err := tx.InsertBuild(ctx, b)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, licensing.Errorf(licensing.ECONFLICT, "%s has a %s build of version %s already", b.Product, b.Target, b.Version).
				WithHint("give another --version, or replace it with products import")
		}
		acct, err := auditAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		return &b, audit(ctx, tx, acct, now, actor(ctx), "build.add", b.Product+"@"+b.Version, buildDetails(&b))
	})
}

func buildDetails(b *licensing.Build) map[string]any {
	d := map[string]any{"product": b.Product, "target": b.Target, "version": b.Version, "size": b.Size, "sha256": b.SHA256}
	if b.Artifact != "" {
		d["artifact"] = b.Artifact
	} else {
		d["url"] = b.URL
	}
	return d
}

// auditAccount is the acting account's id when there is one (the audit log
// of an operator's change for no account is the operators').
func auditAccount(ctx context.Context, tx Tx) (int64, error) {
	if licensing.AccountFrom(ctx) == "" {
		return 0, nil
	}
	ac, err := actingAccount(ctx, tx)
	return ac.id, err
}

// buildProduct checks that a build's product is in the catalog (or among
// products being imported with it), sells licenses, and runs on its OS.
func buildProduct(ctx context.Context, tx Tx, b *licensing.Build, importing map[string]licensing.Product) error {
	p, ok := importing[b.Product]
	if !ok {
		stored, err := tx.Product(ctx, b.Product)
		if err != nil {
			return err
		}
		if stored == nil {
			return licensing.Errorf(licensing.ENOTFOUND, "product %s is not in the catalog", b.Product).WithHint("licensectl products list")
		}
		p = *stored
	}
	if p.Term == licensing.TermAddon {
		return licensing.Errorf(licensing.EINVALID, "%s is an add-on: it has no builds", p.SKU)
	}
	if !slices.Contains(p.Platforms, b.OS) {
		return licensing.Errorf(licensing.EINVALID, "%s does not run on %s: it runs on %s", p.SKU, b.OS, joinOr(p.Platforms))
	}
	return nil
}

// ListBuilds lists the builds of a product, or of every product.
func (a *App) ListBuilds(ctx context.Context, sku string) ([]licensing.Build, error) {
	sku = strings.ToLower(strings.TrimSpace(sku))
	return read(ctx, a, func(tx Tx, _ time.Time) ([]licensing.Build, error) {
		if sku != "" {
			if _, err := product(ctx, tx, sku); err != nil {
				return nil, err
			}
		}
		bs, err := tx.Builds(ctx, sku, "")
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(bs, func(x, y licensing.Build) int {
			if c := strings.Compare(x.Product, y.Product); c != 0 {
				return c
			}
			if c := strings.Compare(x.Target, y.Target); c != 0 {
				return c
			}
			return licensing.CompareVersions(y.Version, x.Version)
		})
		return bs, nil
	})
}

// ImportCatalog validates every product and build first, then upserts them
// all in one transaction.
func (a *App) ImportCatalog(ctx context.Context, products []licensing.Product, builds []licensing.Build) (*licensing.CatalogImport, error) {
	if len(products) == 0 && len(builds) == 0 {
		return nil, licensing.Errorf(licensing.EINVALID, "no products to import")
	}
	valid := make([]licensing.Product, len(products))
	skus := make([]string, len(products))
	importing := map[string]licensing.Product{}
	for i, p := range products {
		// Purchases look SKUs up in lower case, so a catalog entry in any other
		// case could never be bought.
		p.SKU = strings.ToLower(strings.TrimSpace(p.SKU))
		if err := p.Validate(); err != nil {
			return nil, err
		}
		valid[i], skus[i] = p, p.SKU
		importing[p.SKU] = p
	}
	bs := make([]licensing.Build, len(builds))
	seen := map[string]bool{}
	for i, b := range builds {
		if err := b.Validate(); err != nil {
			return nil, err
		}
		id := b.Product + " " + b.Target + " " + b.Version
		if seen[id] {
			return nil, licensing.Errorf(licensing.EINVALID, "build %s %s %s is listed twice", b.Product, b.Target, b.Version)
		}
		seen[id] = true
		if b.Artifact != "" {
			if err := a.artifacts.Check(b.Artifact, b.Size, b.SHA256); err != nil {
				return nil, err
			}
		}
		bs[i] = b
	}
	return write(ctx, a, func(tx Tx, now time.Time) (*licensing.CatalogImport, error) {
		acct, err := auditAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		for i := range bs {
			if err := buildProduct(ctx, tx, &bs[i], importing); err != nil {
				return nil, err
			}
		}
		if len(valid) > 0 {
			if err := tx.UpsertProducts(ctx, valid); err != nil {
				return nil, err
			}
			if err := audit(ctx, tx, acct, now, actor(ctx), "products.import", "",
				map[string]any{"count": len(valid), "skus": skus}); err != nil {
				return nil, err
			}
		}
		if len(bs) > 0 {
			if err := tx.UpsertBuilds(ctx, bs); err != nil {
				return nil, err
			}
			if err := audit(ctx, tx, acct, now, actor(ctx), "builds.import", "", map[string]any{"count": len(bs)}); err != nil {
				return nil, err
			}
		}
		return &licensing.CatalogImport{Products: len(valid), Builds: len(bs)}, nil
	})
}

// Download names the build a license may download on an OS (the newest it
// may use, or the version asked for) and why.
func (a *App) Download(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error) {
	return a.download(ctx, r, false)
}

// StartDownload is Download for a download that starts now: it records the
// download in the account's audit log and signs an upstream URL
// (FetchURL). A server calls it before it streams the artifact
// (ArtifactFile) or redirects to FetchURL.
func (a *App) StartDownload(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error) {
	return a.download(ctx, r, true)
}

func (a *App) download(ctx context.Context, r licensing.DownloadRequest, fetch bool) (*licensing.Download, error) {
	key, err := licensing.ParseKey(r.Key)
	if err != nil {
		return nil, err
	}
	target, err := licensing.ParseTarget(r.OS)
	if err != nil {
		return nil, err
	}
	run := a.store.Read
	if fetch {
		run = a.store.Write
	}
	return writeWith(ctx, a, run, func(tx Tx, now time.Time) (*licensing.Download, error) {
		acct, err := actingAccount(ctx, tx)
		if err != nil {
			return nil, err
		}
		l, err := seatLicense(ctx, tx, acct.id, key, NoLock)
		if err != nil {
			return nil, err
		}
		switch {
		case target == "" && len(l.Platforms) == 1:
			target = l.Platforms[0]
			if target == licensing.OSLinux {
				target = licensing.TargetLinuxDeb
			}
		case target == "":
			return nil, licensing.Errorf(licensing.EINVALID, "%s runs on %d platforms: choose one with --os", l.License.Product, len(l.Platforms)).
				WithHint("--os %s", joinOr(l.Platforms))
		case !slices.Contains(l.Platforms, licensing.TargetOS(target)):
			return nil, licensing.Errorf(licensing.ENOTFOUND, "%s has no %s build: it runs on %s", l.License.Product, target, joinOr(l.Platforms))
		}
		all, err := tx.Builds(ctx, l.License.Product, licensing.TargetOS(target))
		if err != nil {
			return nil, err
		}
		var builds []licensing.Build
		for _, b := range all {
			if b.Target == target {
				builds = append(builds, b)
			}
		}
		d, err := licensing.ChooseBuild(&l.License, builds, target, r.Version, now)
		if err != nil || !fetch {
			return d, err
		}
		if !d.Verifiable() {
			return nil, licensing.Errorf(licensing.EINVALID, "build %s %s %s has no recorded size and SHA-256: it cannot be downloaded and verified", d.Product, d.Version, d.Target).
				WithHint("register it with `licensectl products builds add`, or print its URL with --print-url")
		}
		if d.URL != "" {
			priv, err := signingKey(ctx, tx, now)
			if err != nil {
				return nil, err
			}
			d.FetchURL = SignURL(d.URL, priv, now.Add(DownloadURLValidity))
		}
		return d, audit(ctx, tx, acct.id, now, actor(ctx), "license.download", key, buildDetails(&d.Build))
	})
}

// SignURL appends to an upstream URL its expiry (lc_expires, unix
// seconds), the signing key's id (lc_kid) and an Ed25519 signature
// (lc_signature, base64url) over "GET\n" + the URL without these three
// parameters + "\n" + the expiry: a download mirror that knows
// `licensectl keys public` can check it.
func SignURL(raw string, priv ed25519.PrivateKey, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	sig := ed25519.Sign(priv, []byte("GET\n"+raw+"\n"+exp))
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	q := url.Values{"lc_expires": {exp}, "lc_kid": {offline.KeyID(priv.Public().(ed25519.PublicKey))},
		"lc_signature": {base64.RawURLEncoding.EncodeToString(sig)}}
	return raw + sep + q.Encode()
}

// OpenDownload picks the build as StartDownload does and opens its
// bytes from offset on: the artifact in the artifact directory, or the
// upstream URL fetched with Range.
func (a *App) OpenDownload(ctx context.Context, r licensing.DownloadRequest, offset int64) (*licensing.Download, *licensing.DownloadBody, error) {
	d, err := a.StartDownload(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if d.Artifact != "" {
		f, err := a.ArtifactFile(d.Artifact)
		if err != nil {
			return nil, nil, err
		}
		if offset > d.Size {
			offset = 0
		}
		if _, err := f.Seek(offset, 0); err != nil {
			f.Close()
			return nil, nil, err
		}
		return d, &licensing.DownloadBody{ReadCloser: f, Offset: offset}, nil
	}
	body, start, _, err := artifacts.Fetch(ctx, a.fetch, d.FetchURL, offset, nil)
	if err != nil {
		return nil, nil, err
	}
	return d, &licensing.DownloadBody{ReadCloser: body, Offset: start}, nil
}

// ArtifactFile opens an artifact of the artifact directory, for a server
// that streams it.
func (a *App) ArtifactFile(name string) (*os.File, error) {
	return a.artifacts.Open(name)
}
