package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/contract"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/httpapitest"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/sqlite"
)

// An artifact of the server's directory streams whole and from an offset
// (Range), every response checked against docs/openapi.yaml; a build whose
// file is not there is refused at registration; a file changed on disk
// after registration is a server error, never other bytes.
func TestDownloadArtifact(t *testing.T) {
	ctx := context.Background()
	clock := contract.NewClock(contract.Start())
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "server.db"), sqlite.Options{Create: true, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := app.New(store, app.Options{Clock: clock, Artifacts: dir})
	if _, err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	remote := httpapitest.Start(t, svc, clock, httpapi.Options{Rate: 10000})

	body := bytes.Repeat([]byte("licensectl build "), 200_000) // 3.4 MB
	sum := sha256.Sum256(body)
	b := licensing.Build{Product: "backup-server", Target: "linux-deb", Version: "9.0.0", Artifact: "bs-9.0.0.deb",
		Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), ReleasedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := remote.AddBuild(ctx, b); licensing.ErrorCode(err) != licensing.EINVALID {
		t.Fatalf("AddBuild before the file is there: %v, want invalid", err)
	}
	if err := os.WriteFile(filepath.Join(dir, b.Artifact), body, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.AddBuild(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.CreateAccount(ctx, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	acct := licensing.WithAccount(ctx, "ops@example.com")
	p, err := remote.Buy(acct, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := licensing.DownloadRequest{Key: p.Licenses[0], OS: "linux"}
	for _, offset := range []int64{0, 12345, int64(len(body)) - 1} {
		d, r, err := remote.OpenDownload(acct, req, offset)
		if err != nil {
			t.Fatalf("OpenDownload(%d): %v", offset, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || r.Offset != offset || !bytes.Equal(got, body[offset:]) || d.Version != "9.0.0" {
			t.Fatalf("OpenDownload(%d): offset %d, %d bytes, %v", offset, r.Offset, len(got), err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, b.Artifact), body[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := remote.OpenDownload(acct, req, 0); licensing.ErrorCode(err) != licensing.EINTERNAL {
		t.Fatalf("OpenDownload of a truncated artifact: %v, want internal", err)
	}
}
