package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/output"
)

// progressBar draws "label  done/total [====>   ] 45%" on stderr. It draws only
// for people: stderr a terminal, a table format, not --quiet, not in CI.
type progressBar struct {
	f     *Factory
	label string
	total int
	on    bool
	last  time.Time
}

func (f *Factory) progress(label string, total int, format output.Format) *progressBar {
	on := f.IO.StderrTTY && format.IsTable() && !f.cfg.Quiet && os.Getenv("CI") == "" && total >= 1000
	return &progressBar{f: f, label: label, total: total, on: on}
}

func (b *progressBar) set(done int) {
	if !b.on || (time.Since(b.last) < 100*time.Millisecond && done < b.total) {
		return
	}
	b.last = time.Now()
	const width = 30
	filled := width * done / max(b.total, 1)
	fmt.Fprintf(b.f.IO.ErrOut, "\r%s %d/%d [%s>%s] %3d%%", b.label, done, b.total,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), 100*done/max(b.total, 1))
}

func (b *progressBar) done() {
	if b.on {
		fmt.Fprint(b.f.IO.ErrOut, "\r\033[K")
	}
}
