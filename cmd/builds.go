package cmd

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/artifacts"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newProductsBuildsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "builds", Short: "Register and list the builds licenses download"}
	cmd.AddCommand(newBuildsAddCmd(f, nil), newBuildsListCmd(f, nil))
	return cmd
}

type buildsAddOptions struct {
	env
	SKU, OS, Version, File, URL, SHA256, Released, Package string
	Size                                                   int64
}

func newBuildsAddCmd(f *Factory, runF func(*buildsAddOptions) error) *cobra.Command {
	o := &buildsAddOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "add SKU --os OS --version V (--file PATH | --url URL --sha256 HEX --size N) [--released DATE]",
		Short: "Register a build of a product (operators)",
		Long: `Register a build that licenses of the product may download: its OS/package
(windows, macos, linux-deb, linux-rpm; linux means linux-deb), version,
release date (default today) and where its bytes are.

--file hashes the file. With the local backend it is copied into the artifact
directory (--artifacts, default "artifacts" beside the store file) unless that
holds the same bytes already. With the http backend the file must already be
in the server's --artifacts directory under the same name: the server checks
its size and SHA-256 before it registers the build.

--url registers an upstream build: give its --sha256 and --size, which every
download is verified against. The server redirects downloads to the URL with
a short-lived signature (lc_expires, lc_kid, lc_signature: Ed25519 with the
key ` + "`licensectl keys public`" + ` prints).`,
		Example: `  licensectl products builds add backup-server --os linux-deb --version 8.0.0 --file backup-server-8.0.0.deb
  licensectl products builds add backup-desktop --os windows --version 8.0.0 --released 2026-01-15 \
      --url https://cdn.example.com/bd-8.0.0.exe --sha256 9f86d0... --size 73400320`,
		Args: exactArgs(1, "a product SKU"),
		RunE: func(c *cobra.Command, args []string) error {
			o.SKU = args[0]
			if (o.File == "") == (o.URL == "") {
				return licensing.Errorf(licensing.EINVALID, "give --file PATH or --url URL (with --sha256 and --size)")
			}
			if o.File != "" && (o.SHA256 != "" || o.Size != 0) {
				return licensing.Errorf(licensing.EINVALID, "--sha256 and --size go with --url: a --file is hashed")
			}
			if o.URL != "" && (o.SHA256 == "" || o.Size == 0) {
				return licensing.Errorf(licensing.EINVALID, "--url needs --sha256 HEX and --size BYTES")
			}
			if runF != nil {
				return runF(o)
			}
			return buildsAddRun(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.OS, "os", "", "windows, macos, linux-deb or linux-rpm (linux = linux-deb)")
	fl.StringVar(&o.Version, "version", "", "version, MAJOR.MINOR[.PATCH]")
	fl.StringVar(&o.File, "file", "", "the build's file (hashed; copied into the artifact directory with the local backend)")
	fl.StringVar(&o.URL, "url", "", "upstream URL of the build's bytes")
	fl.StringVar(&o.SHA256, "sha256", "", "SHA-256 of an upstream build, hex")
	fl.Int64Var(&o.Size, "size", 0, "size of an upstream build in bytes")
	fl.StringVar(&o.Released, "released", "", "release date, YYYY-MM-DD or RFC 3339 (default: now)")
	fl.StringVar(&o.Package, "package", "", "package kind: exe or msi (windows), pkg or dmg (macos); default from the file name")
	fl.String("artifacts", "", "artifact directory of the local store (default: \"artifacts\" beside the store file)")
	return c
}

func buildsAddRun(ctx context.Context, o *buildsAddOptions) error {
	at, err := o.asOf(o.Released)
	if err != nil {
		return err
	}
	b := licensing.Build{Product: o.SKU, Target: o.OS, Version: o.Version, URL: o.URL, SHA256: o.SHA256, Size: o.Size,
		Package: o.Package, ReleasedAt: at}
	if o.File != "" {
		if b.Size, b.SHA256, err = artifacts.HashFile(o.File); err != nil {
			return err
		}
		b.Artifact = filepath.Base(o.File)
	}
	if err := b.Validate(); err != nil { // before anything is copied
		return err
	}
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	var dir artifacts.Dir
	created := false
	if o.File != "" && o.Config().Backend == "local" {
		dir = artifacts.Dir(o.Config().Artifacts)
		if created, err = dir.Put(o.File, b.Artifact, b.Size, b.SHA256); err != nil {
			return err
		}
	}
	added, err := svc.AddBuild(ctx, b)
	if err != nil {
		if created {
			_ = dir.Remove(b.Artifact) // no partial change
		}
		return err
	}
	return output.Object(o.IO.Out, format, added, func(w io.Writer) error {
		return output.KeyValues(w, buildKeyValues(added))
	})
}

type buildsListOptions struct {
	env
	SKU string
}

func newBuildsListCmd(f *Factory, runF func(*buildsListOptions) error) *cobra.Command {
	o := &buildsListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list [SKU]",
		Short:   "List the builds of the catalog, newest first",
		Example: "  licensectl products builds list\n  licensectl products builds list backup-server -o json",
		Args:    maxArgs(1, "a product SKU"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.SKU = args[0]
			}
			if runF != nil {
				return runF(o)
			}
			return buildsListRun(c.Context(), o)
		},
	}
}

func buildsListRun(ctx context.Context, o *buildsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	builds, err := svc.ListBuilds(ctx, o.SKU)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, buildColumns(), builds, "No builds yet — register one with `licensectl products builds add`")
}

func buildColumns() []output.Column[licensing.Build] {
	type B = licensing.Build
	return []output.Column[B]{
		{Header: "PRODUCT", Keep: true, Value: func(b B) string { return b.Product }},
		{Header: "OS", Field: "target", Keep: true, Value: func(b B) string { return b.Target }},
		{Header: "VERSION", Keep: true, Value: func(b B) string { return b.Version }},
		{Header: "RELEASED", Field: "released_at", Priority: 8, Value: func(b B) string { return b.ReleasedAt.Format(dateLayout) },
			CSV: func(b B) string { return b.ReleasedAt.Format(time.RFC3339) }},
		{Header: "PACKAGE", Priority: 3, Value: func(b B) string { return b.Package }},
		{Header: "SIZE", Priority: 6, Value: func(b B) string { return byteSize(b.Size) }, CSV: func(b B) string { return strconv.FormatInt(b.Size, 10) }},
		{Header: "SOURCE", Priority: 5, Value: func(b B) string { return buildSource(b) }},
		{Header: "SHA256", Wide: true, Value: func(b B) string { return b.SHA256 }},
	}
}

func buildKeyValues(b *licensing.Build) [][2]string {
	return [][2]string{
		{"Product", b.Product},
		{"Version", b.Version},
		{"OS", fmt.Sprintf("%s (%s)", b.Target, b.Package)},
		{"Released", b.ReleasedAt.Format(dateLayout)},
		{"Source", buildSource(*b)},
		{"Size", fmt.Sprintf("%s (%d bytes)", byteSize(b.Size), b.Size)},
		{"SHA-256", cmp.Or(b.SHA256, "-")},
	}
}

func buildSource(b licensing.Build) string {
	if b.Artifact != "" {
		return "artifact " + b.Artifact
	}
	return b.URL
}

// byteSize is a size for people: "73.4 MB"; "-" for unknown.
func byteSize(n int64) string {
	if n <= 0 {
		return "-"
	}
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
