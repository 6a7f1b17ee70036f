package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// upstream serves one build's bytes with Range, as a download mirror does,
// and answers 403 to a request without the server's signature.
func upstream(t *testing.T, body []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("lc_signature") == "" || q.Get("lc_expires") == "" || q.Get("lc_kid") == "" {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "the API token leaked to the mirror", http.StatusBadRequest)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func upstreamBuild(version string, released time.Time, url string, body []byte) licensing.Build {
	sum := sha256.Sum256(body)
	return licensing.Build{Product: "backup-desktop", Target: licensing.TargetLinuxDeb, Version: version,
		URL: url + "/backup-desktop-" + version + ".deb", Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), ReleasedAt: released}
}

var (
	beforePurchase = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) // Start() is 2025-03-10
	afterPurchase  = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

func testBuilds(t *testing.T, e *env) {
	ctx := context.Background()
	url := upstream(t, []byte("x"))
	b, err := e.svc.AddBuild(ctx, upstreamBuild("8.0.0", beforePurchase, url, []byte("eight")))
	if err != nil || b.OS != licensing.OSLinux || b.Package != "deb" || b.Target != licensing.TargetLinuxDeb {
		t.Fatalf("AddBuild = %+v, %v", b, err)
	}
	_, err = e.svc.AddBuild(ctx, upstreamBuild("8.0.0", beforePurchase, url, []byte("again")))
	wantCode(t, err, licensing.ECONFLICT, "the same version twice")
	bad := upstreamBuild("8.1", beforePurchase, url, []byte("x"))
	bad.SHA256 = "abc"
	_, err = e.svc.AddBuild(ctx, bad)
	wantCode(t, err, licensing.EINVALID, "a short sha256")
	unknown := upstreamBuild("8.1.0", beforePurchase, url, []byte("x"))
	unknown.Product = "no-such-product"
	_, err = e.svc.AddBuild(ctx, unknown)
	wantCode(t, err, licensing.ENOTFOUND, "an unknown product")
	rpm := upstreamBuild("8.0.0", beforePurchase, url, []byte("rpm"))
	rpm.Target, rpm.URL = licensing.TargetLinuxRPM, url+"/backup-desktop-8.0.0.rpm"
	if _, err := e.svc.ImportCatalog(ctx, nil, []licensing.Build{rpm, upstreamBuild("8.1.0", afterPurchase, url, []byte("eight-one"))}); err != nil {
		t.Fatalf("ImportCatalog(builds) = %v", err)
	}
	list, err := e.svc.ListBuilds(ctx, "backup-desktop")
	if err != nil {
		t.Fatal(err)
	}
	var deb []string
	for _, b := range list {
		if b.Target == licensing.TargetLinuxDeb {
			deb = append(deb, b.Version)
		}
	}
	if got := strings.Join(deb, " "); got != "8.1.0 8.0.0 7.9.4 7.8.0 7.5.0" {
		t.Errorf("linux-deb builds = %s", got)
	}
	_, err = e.svc.ListBuilds(ctx, "no-such-product")
	wantCode(t, err, licensing.ENOTFOUND, "builds of an unknown product")
}

func testDownloadEntitlement(t *testing.T, e *env) {
	url := upstream(t, []byte("x"))
	for _, b := range []licensing.Build{upstreamBuild("8.0.0", beforePurchase, url, []byte("8.0")), upstreamBuild("8.1.0", afterPurchase, url, []byte("8.1"))} {
		if _, err := e.svc.AddBuild(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	ctx := e.account("ops@example.com")
	old := e.buyOne(ctx, line("backup-desktop", 1), false)
	e.clock.Set(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	d, err := e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: "linux"})
	if err != nil || d.Version != "8.0.0" || d.Target != licensing.TargetLinuxDeb || d.Rule != licensing.RuleMaintenanceCutoff ||
		!strings.Contains(d.Reason, "8.1.0 needs maintenance") {
		t.Fatalf("Download(no maintenance) = %+v, %v", d, err)
	}
	_, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: licensing.TargetLinuxDeb, Version: "8.1.0"})
	wantCode(t, err, licensing.EFORBIDDEN, "a version released after the cut-off")
	d, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: licensing.TargetLinuxDeb, Version: "7.5.0"})
	if err != nil || d.Version != "7.5.0" || d.Rule != licensing.RuleRequested {
		t.Fatalf("Download(--version 7.5.0) = %+v, %v", d, err)
	}
	_, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: licensing.TargetLinuxDeb, Version: "9.9.9"})
	wantCode(t, err, licensing.ENOTFOUND, "a version that does not exist")
	_, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: old, OS: "beos"})
	wantCode(t, err, licensing.EINVALID, "an unknown os")
	_, _, err = e.svc.OpenDownload(ctx, licensing.DownloadRequest{Key: old, OS: licensing.TargetLinuxDeb, Version: "7.5.0"}, 0)
	wantCode(t, err, licensing.EINVALID, "a seeded build without a SHA-256")

	e.clock.Set(Start())
	trial := e.buyOne(ctx, line("backup-desktop", 1), true)
	d, err = e.svc.Download(ctx, licensing.DownloadRequest{Key: trial, OS: licensing.TargetLinuxDeb, Version: "8.1.0"})
	if err != nil || d.Version != "8.1.0" {
		t.Fatalf("Download(trial, 8.1.0) = %+v, %v", d, err)
	}
}

func testOpenDownload(t *testing.T, e *env) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	url := upstream(t, body)
	if _, err := e.svc.AddBuild(context.Background(), upstreamBuild("8.0.0", beforePurchase, url, body)); err != nil {
		t.Fatal(err)
	}
	ctx := e.account("ops@example.com")
	key := e.buyOne(ctx, line("backup-desktop", 1), false)
	req := licensing.DownloadRequest{Key: key, OS: licensing.TargetLinuxDeb}
	for _, offset := range []int64{0, 1000} {
		d, b, err := e.svc.OpenDownload(ctx, req, offset)
		if err != nil {
			t.Fatalf("OpenDownload(%d): %v", offset, err)
		}
		got, err := io.ReadAll(b)
		b.Close()
		if err != nil || b.Offset != offset || !bytes.Equal(got, body[offset:]) || d.Version != "8.0.0" {
			t.Fatalf("OpenDownload(%d): offset %d, %d bytes, %v", offset, b.Offset, len(got), err)
		}
	}
	events, err := e.svc.ListAudit(ctx, licensing.AuditFilter{Action: "license.download"})
	if err != nil || len(events) != 2 || events[0].Object != key {
		t.Fatalf("audit of downloads = %+v, %v", events, err)
	}
	_, _, err = e.svc.OpenDownload(ctx, licensing.DownloadRequest{Key: key, OS: licensing.TargetWindows}, 0)
	wantCode(t, err, licensing.EINVALID, "a seeded windows build without a SHA-256")
}
