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
