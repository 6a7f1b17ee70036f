// Package artifacts keeps the bytes of builds: a directory of files named
// by the catalog (a server's --artifacts directory, or the local store's),
// hashing them, and fetching upstream builds over HTTP with Range.
package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Hash reads r to its end and answers its size and SHA-256 in hex.
func Hash(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// HashFile is Hash of the file at path.
func HashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", licensing.Errorf(licensing.EINVALID, "cannot read %s: %v", path, unwrap(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return 0, "", licensing.Errorf(licensing.EINVALID, "%s is not a regular file", path)
	}
	n, sum, err := Hash(f)
	if err != nil {
		return 0, "", licensing.Errorf(licensing.EINVALID, "cannot read %s: %v", path, unwrap(err))
	}
	return n, sum, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Dir is a directory of artifacts; "" is none.
type Dir string

// path is the file of an artifact name in d.
func (d Dir) path(name string) (string, error) {
	if d == "" {
		return "", licensing.Errorf(licensing.EINVALID, "no artifact directory is configured").
			WithHint("set --artifacts DIR (serve) or the artifacts config key")
	}
	if err := licensing.CheckArtifactName(name); err != nil {
		return "", err
	}
	return filepath.Join(string(d), name), nil
}

// Open opens an artifact for reading.
func (d Dir) Open(name string) (*os.File, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, licensing.Errorf(licensing.ENOTFOUND, "artifact %s is missing from the artifact directory", name)
	}
	return f, err
}

// Check verifies that the artifact name in d has the size and SHA-256 the
// catalog names.
func (d Dir) Check(name string, size int64, sum string) error {
	f, err := d.Open(name)
	if err != nil {
		if licensing.ErrorCode(err) == licensing.ENOTFOUND {
			return licensing.Errorf(licensing.EINVALID, "artifact %s is not in the artifact directory %s", name, string(d)).
				WithHint("copy the file there first, or register an upstream build with --url")
		}
		return err
	}
	defer f.Close()
	n, got, err := Hash(f)
	if err != nil {
		return err
	}
	if n != size || got != sum {
		return licensing.Errorf(licensing.EINVALID, "artifact %s in %s has %d bytes, SHA-256 %s; the build says %d bytes, SHA-256 %s",
			name, string(d), n, got, size, sum)
	}
	return nil
}

// Put copies the file at src into d as name, unless d holds that name with
// the same bytes already. It answers whether it made the file, so that a
// caller whose next step fails can remove it (Remove). Another file under
// that name is a conflict.
func (d Dir) Put(src, name string, size int64, sum string) (bool, error) {
	p, err := d.path(name)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(p); err == nil {
		if err := d.Check(name, size, sum); err != nil {
			return false, licensing.Errorf(licensing.ECONFLICT, "the artifact directory holds another %s", name).
				WithHint("give the file another name")
		}
		return false, nil
	}
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return false, err
	}
	in, err := os.Open(src)
	if err != nil {
		return false, licensing.Errorf(licensing.EINVALID, "cannot read %s: %v", src, unwrap(err))
	}
	defer in.Close()
	tmp, err := os.CreateTemp(string(d), ".put-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if n != size || hex.EncodeToString(h.Sum(nil)) != sum {
		return false, licensing.Errorf(licensing.ECONFLICT, "%s changed while it was copied", src)
	}
	// A hard link never replaces a file another writer made meanwhile; a
	// file system without them gets a rename after one more look.
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, licensing.Errorf(licensing.ECONFLICT, "the artifact directory holds another %s", name)
		}
		if _, serr := os.Lstat(p); serr == nil {
			return false, licensing.Errorf(licensing.ECONFLICT, "the artifact directory holds another %s", name)
		}
		if err := os.Rename(tmp.Name(), p); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Remove deletes an artifact Put made.
func (d Dir) Remove(name string) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

// Fetch GETs url from byte offset on: body is the response, start where
// its bytes begin in the file (offset, or 0 when the server sent the whole
// file) and total the file's size (-1 when the server does not say).
func Fetch(ctx context.Context, c *http.Client, url string, offset int64, header http.Header) (body io.ReadCloser, start, total int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, 0, licensing.Errorf(licensing.EINVALID, "bad download url: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, 0, licensing.Errorf(licensing.EUNAVAILABLE, "download: %v", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, 0, resp.ContentLength, nil
	case http.StatusPartialContent:
		total := int64(-1)
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			var from, to, all int64
			if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &from, &to, &all); err == nil {
				if from != offset {
					resp.Body.Close()
					return nil, 0, 0, licensing.Errorf(licensing.EUNAVAILABLE, "download: asked for bytes from %d, got %s", offset, cr)
				}
				total = all
			}
		}
		return resp.Body, offset, total, nil
	case http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		// The part file is as long as the file, or longer: start again.
		return Fetch(ctx, c, url, 0, header)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	code := licensing.EUNAVAILABLE
	if resp.StatusCode == http.StatusNotFound {
		code = licensing.ENOTFOUND
	}
	return nil, 0, 0, licensing.Errorf(code, "download %s: %s %s", url, resp.Status, strings.TrimSpace(firstLine(string(msg))))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
