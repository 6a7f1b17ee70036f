package httpapi

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Downloader is what a server needs of its backend to hand out a build's
// bytes: StartDownload checks the entitlement, records the download and
// signs an upstream URL; ArtifactFile opens a file of its artifact
// directory. *app.App implements it; a backend without it answers 503 at
// the file route.
type Downloader interface {
	StartDownload(ctx context.Context, r licensing.DownloadRequest) (*licensing.Download, error)
	ArtifactFile(name string) (*os.File, error)
}

type buildBody struct {
	Product    string    `json:"product"`
	OS         string    `json:"os"`
	Version    string    `json:"version"`
	Package    string    `json:"package,omitempty"`
	URL        string    `json:"url,omitempty"`
	Artifact   string    `json:"artifact,omitempty"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	ReleasedAt time.Time `json:"released_at"`
}

func (b buildBody) build() licensing.Build {
	return licensing.Build{Product: b.Product, Target: b.OS, Version: b.Version, Package: b.Package, URL: b.URL,
		Artifact: b.Artifact, Size: b.Size, SHA256: b.SHA256, ReleasedAt: b.ReleasedAt}
}

func buildBodyOf(b licensing.Build) buildBody {
	return buildBody{Product: b.Product, OS: b.Target, Version: b.Version, Package: b.Package, URL: b.URL,
		Artifact: b.Artifact, Size: b.Size, SHA256: b.SHA256, ReleasedAt: b.ReleasedAt}
}

// downloadRequest reads a download route's path and query.
func downloadRequest(r *http.Request) (licensing.DownloadRequest, error) {
	q := r.URL.Query()
	os, err := licensing.ParseTarget(q.Get("os"))
	if err != nil {
		return licensing.DownloadRequest{}, err
	}
	return licensing.DownloadRequest{Key: r.PathValue("key"), OS: os, Version: q.Get("version")}, nil
}

// buildRoutes are the catalog's builds and the download of their bytes.
func (s *Server) buildRoutes() []route {
	return []route{
		{"GET /v1/builds", public(), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.Build, error) {
			return svc.ListBuilds(ctx, r.URL.Query().Get("product"))
		}), false},
		{"POST /v1/builds", op(licensing.ScopeCatalogWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, b buildBody, _ *http.Request) (*licensing.Build, error) {
				return svc.AddBuild(ctx, b.build())
			}), false},
		{"GET /v1/licenses/{key}/download", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.Download, error) {
			req, err := downloadRequest(r)
			if err != nil {
				return nil, err
			}
			return svc.Download(ctx, req)
		}), false},
		{"GET /v1/licenses/{key}/download/file", acct(licensing.ScopeLicensesRead), s.downloadFile, false},
	}
}

// downloadFile streams the build a license may download, with Range
// (resuming), or redirects to its signed upstream URL.
func (s *Server) downloadFile(w http.ResponseWriter, r *http.Request) error {
	req, err := downloadRequest(r)
	if err != nil {
		return err
	}
	dl, ok := s.b.(Downloader)
	if !ok {
		return licensing.Errorf(licensing.EUNAVAILABLE, "this server does not serve downloads")
	}
	// Every request is recorded, a resumed one too.
	d, err := dl.StartDownload(r.Context(), req)
	if err != nil {
		return err
	}
	return s.sendBuild(w, r, dl, d)
}

func (s *Server) sendBuild(w http.ResponseWriter, r *http.Request, dl Downloader, d *licensing.Download) error {
	if d.Artifact == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", d.FetchURL)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	f, err := dl.ArtifactFile(d.Artifact)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != d.Size {
		return licensing.Errorf(licensing.EINTERNAL, "artifact %s has %d bytes, the catalog says %d", d.Artifact, st.Size(), d.Size)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.FileName()}))
	h.Set("ETag", fmt.Sprintf("%q", d.SHA256))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Licensectl-Build-Version", d.Version)
	http.ServeContent(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w)}, r, "", st.ModTime(), f)
	return nil
}

// deadlineWriter moves the connection's write deadline on with every write,
// so that a long download is not cut by the server's WriteTimeout while a
// stalled client still is.
type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	last time.Time
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.extend()
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) extend() {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		d.last = now
		_ = d.rc.SetWriteDeadline(now.Add(time.Minute))
	}
}

// sendfileChunk is how much of a file goes out between deadline moves
// when the connection sends it straight from the file (sendfile).
const sendfileChunk = 8 << 20

// ReadFrom sends a file (what http.ServeContent copies: an *os.File, or
// an io.LimitedReader of one) through the connection's own ReadFrom, so
// the kernel copies it (sendfile) instead of this process, in chunks
// between which the write deadline moves on. Anything else is copied.
func (d *deadlineWriter) ReadFrom(src io.Reader) (int64, error) {
	rec, _ := d.ResponseWriter.(*recorder)
	var inner io.ReaderFrom
	if rec != nil {
		inner, _ = rec.ResponseWriter.(io.ReaderFrom)
	}
	f, limit := src, int64(-1)
	if lr, ok := src.(*io.LimitedReader); ok {
		f, limit = lr.R, lr.N
	}
	file, isFile := f.(*os.File)
	if inner == nil || !isFile {
		return io.Copy(writerOnly{d}, src)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	var total int64
	for limit != 0 {
		d.extend()
		chunk := int64(sendfileChunk)
		if limit > 0 && limit < chunk {
			chunk = limit
		}
		n, err := inner.ReadFrom(&io.LimitedReader{R: file, N: chunk})
		total += n
		rec.bytes += int(n)
		if limit > 0 {
			limit -= n
		}
		if err != nil {
			return total, err
		}
		if n < chunk { // the file's end
			break
		}
	}
	if lr, ok := src.(*io.LimitedReader); ok {
		lr.N -= total
	}
	return total, nil
}

// writerOnly hides ReadFrom, for io.Copy's fallback.
type writerOnly struct{ io.Writer }
