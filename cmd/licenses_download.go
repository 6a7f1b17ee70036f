package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/artifacts"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

type licensesDownloadOptions struct {
	env
	Key      string
	OS       string
	Version  string
	Output   string // -O: a file, a directory, "-" for stdout; "" the build's file name here
	PrintURL bool
}

func newLicensesDownloadCmd(f *Factory, runF func(*licensesDownloadOptions) error) *cobra.Command {
	o := &licensesDownloadOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "download KEY [--os OS] [--version V] [-O FILE|-] [--print-url]",
		Short: "Download the build this license may use, verified",
		Long: `Download the build of the license's product that the license may use, and
verify it: the newest build, except for lifetime licenses without active
maintenance, which get the newest build released before their maintenance
ended (or, never having had maintenance, before they were bought). --version
asks for one version, which the license must be entitled to (else exit 4,
with the reason).

The bytes go to FILE.part first (-O FILE; default: the build's file name in
the current directory; -O - writes to stdout). An interrupted download is
resumed from FILE.part by running the command again (HTTP Range). The file is
renamed into place only when its size and SHA-256 match the catalog's; a
mismatch removes the partial file and exits 1, naming both hashes. A file
already in place with the right bytes is not fetched again. A build the
catalog has no SHA-256 for (the seeded ones) is not downloaded: its URL is
shown, as with --print-url.

At a terminal a progress line (bytes, rate, ETA) is drawn on stderr; in pipes
nothing is. --print-url only names the build, its URL and why it was chosen.

--os is windows, macos, linux-deb or linux-rpm; linux means linux-deb.`,
		Example: `  licensectl licenses download 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --os linux-deb
  licensectl licenses download 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --version 7.8.0 -O /tmp/
  licensectl licenses download 7K3D9-QX2M1-ABCDE-FGHJK-MNPQ4 --print-url -o json`,
		Args: exactArgs(1, "a license key"),
		RunE: func(c *cobra.Command, args []string) error {
			key, err := licensing.ParseKey(args[0])
			if err != nil {
				return err
			}
			o.Key = key
			if o.OS, err = licensing.ParseTarget(o.OS); err != nil {
				return err
			}
			if o.PrintURL && c.Flags().Changed("output-file") {
				return licensing.Errorf(licensing.EINVALID, "--print-url downloads nothing: leave out -O")
			}
			if runF != nil {
				return runF(o)
			}
			return licensesDownloadRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.OS, "os", "", "windows, macos, linux-deb or linux-rpm; linux = linux-deb (default: the product's only platform)")
	fl.StringVar(&o.Version, "version", "", "download this version (the license must be entitled to it)")
	fl.StringVarP(&o.Output, "output-file", "O", "", "save to FILE (or into a directory); - for stdout (default: the build's file name)")
	fl.BoolVar(&o.PrintURL, "print-url", false, "only show the build, its URL and why it was chosen")
	fl.String("artifacts", "", "artifact directory of the local store (default: \"artifacts\" beside the store file)")
	return c
}

// downloadResult is what `licenses download -o json` prints.
type downloadResult struct {
	*licensing.Download
	File     string `json:"file"` // "-" for stdout
	Verified bool   `json:"verified"`
	Resumed  bool   `json:"resumed"`
}

func licensesDownloadRun(ctx context.Context, o *licensesDownloadOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	req := licensing.DownloadRequest{Key: o.Key, OS: o.OS, Version: o.Version}
	d, err := svc.Download(ctx, req)
	if err != nil {
		return err
	}
	if !o.PrintURL && !d.Verifiable() {
		// A build seeded before builds had hashes: nothing to verify it
		// against, so it is named, as download always did, not fetched.
		o.info("note: %s %s (%s) has no recorded size and SHA-256, so it is not downloaded; its URL is below\n", d.Product, d.Version, d.Target)
		o.PrintURL = true
	}
	if o.PrintURL {
		return output.Object(o.IO.Out, format, d, func(w io.Writer) error {
			return output.KeyValues(w, downloadKeyValues(d, d.URL))
		})
	}
	// From here on, the build is the one chosen: a newer one registered
	// meanwhile does not change what a resumed download fetches.
	req.OS, req.Version = d.Target, d.Version
	res := &downloadResult{Download: d}
	if o.Output == "-" {
		res.File = "-"
		if err := o.toStdout(ctx, svc, req, d); err != nil {
			return err
		}
	} else {
		res.File = o.Output
		if res.File == "" {
			res.File = d.FileName()
		} else if st, err := os.Stat(res.File); err == nil && st.IsDir() {
			res.File = filepath.Join(res.File, d.FileName())
		}
		if res.Resumed, err = o.toFile(ctx, svc, req, d, res.File); err != nil {
			return err
		}
	}
	res.Verified = true
	if o.Output == "-" {
		o.info("Downloaded %s %s (%s), SHA-256 %s verified\n", d.Product, d.Version, byteSize(d.Size), d.SHA256)
		return nil
	}
	return output.Object(o.IO.Out, format, res, func(w io.Writer) error {
		kv := downloadKeyValues(d, "")
		kv = append(kv, [2]string{"File", res.File}, [2]string{"SHA-256", d.SHA256 + " (verified)"})
		return output.KeyValues(w, kv)
	})
}

func downloadKeyValues(d *licensing.Download, url string) [][2]string {
	kv := [][2]string{
		{"Version", d.Version},
		{"OS", fmt.Sprintf("%s (%s)", d.OS, d.Package)},
		{"Released", d.ReleasedAt.Format(dateLayout)},
	}
	if url != "" {
		kv = append(kv, [2]string{"URL", url})
	}
	if d.Size > 0 {
		kv = append(kv, [2]string{"Size", fmt.Sprintf("%s (%d bytes)", byteSize(d.Size), d.Size)})
	}
	return append(kv, [2]string{"Why", d.Reason})
}

// mismatch is the verification failure: exit 1.
func mismatch(file string, d *licensing.Download, size int64, sum string) error {
	return &exitError{code: ExitFailure, err: licensing.Errorf(licensing.EINTERNAL,
		"verification failed for %s: got %d bytes with SHA-256 %s, the catalog says %d bytes with SHA-256 %s; the partial file was removed",
		file, size, sum, d.Size, d.SHA256).WithHint("download again; if it fails again, the build's artifact differs from what was registered")}
}

// toStdout streams the build to stdout, verifying it at the end (the bytes
// are out by then: a mismatch still exits 1).
func (o *licensesDownloadOptions) toStdout(ctx context.Context, svc licensing.Services, req licensing.DownloadRequest, d *licensing.Download) error {
	_, body, err := svc.OpenDownload(ctx, req, 0)
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	bar := o.byteProgress(d.FileName(), d.Size, 0)
	n, err := copyHashed(o.IO.Out, h, bar, body, d.Size+1)
	bar.finish()
	if err != nil {
		return interrupted(err, "")
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != d.Size || sum != d.SHA256 {
		return &exitError{code: ExitFailure, err: licensing.Errorf(licensing.EINTERNAL,
			"verification failed: got %d bytes with SHA-256 %s, the catalog says %d bytes with SHA-256 %s: discard what was written", n, sum, d.Size, d.SHA256)}
	}
	return nil
}

// interrupted is a download cut off midway: a temporary failure (75) that
// running the command again resumes.
func interrupted(err error, part string) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	e := licensing.Errorf(licensing.EUNAVAILABLE, "download interrupted: %v", err)
	if part != "" {
		return e.WithHint("%s keeps what arrived: run the same command again to resume", part)
	}
	return e
}

// toFile downloads into file.part, resuming what is there, verifies it and
// renames it into place. It answers whether it resumed.
func (o *licensesDownloadOptions) toFile(ctx context.Context, svc licensing.Services, req licensing.DownloadRequest, d *licensing.Download, file string) (bool, error) {
	if st, err := os.Stat(file); err == nil {
		if !st.Mode().IsRegular() {
			return false, licensing.Errorf(licensing.EINVALID, "%s exists and is not a regular file", file)
		}
		if n, sum, err := artifacts.HashFile(file); err == nil && n == d.Size && sum == d.SHA256 {
			o.info("%s is already there, SHA-256 verified\n", file)
			return false, nil
		}
		return false, licensing.Errorf(licensing.ECONFLICT, "%s exists and is not this build", file).
			WithHint("remove it, or save elsewhere with -O FILE")
	}
	part := file + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, licensing.Errorf(licensing.EINVALID, "cannot write %s: %v", part, unwrapPathError(err))
	}
	defer f.Close()
	h := sha256.New()
	have, err := hashPrefix(f, h, d.Size)
	if err != nil {
		return false, err
	}
	resumed := have > 0
	if have < d.Size {
		if err := o.fetchInto(ctx, svc, req, d, f, h, &have, part); err != nil {
			return false, err
		}
	}
	// No fsync before the rename, as curl and wget: it would cost a 200 MiB
	// download a third of its time, and what is checked is the bytes
	// received; a crash right after may leave a file that a later run
	// reports as "not this build".
	if sum := hex.EncodeToString(h.Sum(nil)); have != d.Size || sum != d.SHA256 {
		f.Close()
		os.Remove(part)
		return false, mismatch(file, d, have, sum)
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(part, file); err != nil {
		return false, err
	}
	if resumed {
		o.info("Resumed and verified %s\n", file)
	}
	return resumed, nil
}

// hashPrefix hashes what a part file holds already (at most size bytes;
// more is cut off) and leaves f at its end.
func hashPrefix(f *os.File, h hash.Hash, size int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() > size {
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		return 0, nil
	}
	n, err := io.Copy(h, f)
	if err != nil && !errors.Is(err, fs.ErrClosed) {
		return 0, err
	}
	return n, err
}

// fetchInto appends the bytes from *have on to f, hashing them.
func (o *licensesDownloadOptions) fetchInto(ctx context.Context, svc licensing.Services, req licensing.DownloadRequest, d *licensing.Download, f *os.File, h hash.Hash, have *int64, part string) error {
	_, body, err := svc.OpenDownload(ctx, req, *have)
	if err != nil {
		return err
	}
	defer body.Close()
	if body.Offset != *have { // the source sent the whole file: start over
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h.Reset()
		*have = 0
	}
	bar := o.byteProgress(d.FileName(), d.Size, *have)
	n, err := copyHashed(f, h, bar, body, d.Size-*have+1)
	*have += n
	bar.finish()
	if err != nil {
		return interrupted(err, part)
	}
	return nil
}

// copyBuffer is the size of the reads of a download: large, so that a
// fast link costs few system calls.
const copyBuffer = 1 << 20

// copyHashed copies at most limit bytes of src to dst and to the hash h,
// which runs on another goroutine, so that hashing overlaps receiving and
// writing (SHA-256 is slower than loopback): each buffer read is written,
// then handed to the hasher, which hands it back. bar counts the bytes.
func copyHashed(dst io.Writer, h io.Writer, bar io.Writer, src io.Reader, limit int64) (int64, error) {
	const buffers = 4
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, copyBuffer)
	}
	work := make(chan []byte, buffers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range work {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var n int64
	var err error
	for limit > 0 {
		b := <-free
		if int64(len(b)) > limit {
			b = b[:limit]
		}
		m, rerr := src.Read(b)
		if m > 0 {
			if _, werr := dst.Write(b[:m]); werr != nil {
				err = werr
				free <- b
				break
			}
			bar.Write(b[:m])
			work <- b[:m]
			n += int64(m)
			limit -= int64(m)
		} else {
			free <- b
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(work)
	<-done
	return n, err
}
