package cmd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/output"
)

// progressBar draws "label  done/total [====>   ] 45%" on stderr. It draws only
// for people: stderr a terminal, a table format, not --quiet, not in CI.
type progressBar struct {
	w     io.Writer
	label string
	total int
	on    bool
	last  time.Time
}

func (e env) progress(label string, total int, format output.Format) *progressBar {
	on := e.IO.StderrTTY && format.IsTable() && !e.quiet() && os.Getenv("CI") == "" && total >= 1000
	return &progressBar{w: e.IO.ErrOut, label: label, total: total, on: on}
}

func (b *progressBar) set(done int) {
	if !b.on || (time.Since(b.last) < 100*time.Millisecond && done < b.total) {
		return
	}
	b.last = time.Now()
	const width = 30
	filled := width * done / max(b.total, 1)
	fmt.Fprintf(b.w, "\r%s %d/%d [%s>%s] %3d%%", b.label, done, b.total,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*done/max(b.total, 1))
}

func (b *progressBar) done() {
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// byteProgress draws "name  12.3 MB / 200.0 MB  45%  38.2 MB/s  ETA 5s" on
// stderr, for people only (as progressBar: stderr a terminal, not
// --quiet, not in CI); in pipes it draws nothing.
type byteProgress struct {
	w           io.Writer
	label       string
	total, done int64
	start       time.Time
	from        int64 // bytes there before this run (a resumed download)
	on          bool
	last        time.Time
}

func (e env) byteProgress(label string, total, from int64) *byteProgress {
	on := e.IO.StderrTTY && !e.quiet() && os.Getenv("CI") == ""
	return &byteProgress{w: e.IO.ErrOut, label: label, total: total, done: from, from: from, start: time.Now(), on: on}
}

// Write counts bytes going by (an io.Writer for io.TeeReader/MultiWriter).
func (b *byteProgress) Write(p []byte) (int, error) {
	b.done += int64(len(p))
	if b.on && (time.Since(b.last) >= 200*time.Millisecond || b.done >= b.total) {
		b.last = time.Now()
		b.draw()
	}
	return len(p), nil
}

func (b *byteProgress) draw() {
	secs := time.Since(b.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(b.done-b.from) / secs
	}
	eta := "--"
	if rate > 0 && b.total > b.done {
		eta = (time.Duration(float64(b.total-b.done)/rate) * time.Second / time.Second).Round(time.Second).String()
	}
	pct := int64(0)
	if b.total > 0 {
		pct = 100 * b.done / b.total
	}
	fmt.Fprintf(b.w, "\r\033[K%s  %s / %s  %3d%%  %s/s  ETA %s", b.label, byteSize(b.done), byteSize(b.total), pct,
		byteSize(int64(rate)), eta)
}

func (b *byteProgress) finish() {
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
