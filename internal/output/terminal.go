package output

import (
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// Terminal is stdout when a person is reading it. A List written to it dresses
// its table for that person: dates relative to now, status words in colour
// (only if Color), columns fitted to Width with the first one (the key or ID)
// never cut. Scripts never see any of this: machine formats and tables in a
// pipe go to a plain writer.
type Terminal struct {
	io.Writer
	Color bool
	Width int       // columns; 0 when unknown: no fitting
	Now   time.Time // zero: dates stay absolute
}

// ANSI styles for the words that tell a license's state at a glance.
var statusStyles = map[string]string{
	"activated":     "\x1b[32m", // green
	"not_activated": "\x1b[31m", // red
	"expired":       "\x1b[2m",  // dim
}

// cell renders a table cell for a person; machine is the column's CSV value,
// which, when it is an RFC 3339 time, is shown relative to now.
func (t *Terminal) cell(shown, machine string) string {
	if t.Now.IsZero() || machine == "" {
		return shown
	}
	at, err := time.Parse(time.RFC3339, machine)
	if err != nil {
		return shown
	}
	return Relative(at, t.Now)
}

// dress fits the rows to the width, then colours them (colour codes do not
// count towards the width, so they go on last).
func (t *Terminal) dress(headers []string, rows [][]string) {
	widths := fitWidths(headers, rows, t.Width)
	for _, r := range rows {
		for i, c := range r {
			style, styled := statusStyles[c]
			if i < len(widths) {
				c = truncate(c, widths[i])
			}
			if styled && t.Color {
				c = style + c + "\x1b[0m"
			}
			r[i] = c
		}
	}
}

const (
	columnGap      = 2 // the table's padding between columns
	minColumnWidth = 6
)

// fitWidths returns the width of each column so the table fits in width:
// the widest cut-able column gives up space first; the first column, and any
// column already at its minimum, keeps its width. nil means nothing to cut.
func fitWidths(headers []string, rows [][]string, width int) []int {
	if width <= 0 {
		return nil
	}
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	total := columnGap * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	floors := make([]int, len(headers))
	for i, h := range headers {
		floors[i] = max(minColumnWidth, utf8.RuneCountInString(h))
	}
	for total > width {
		widest := -1 // the widest column that may still give up space
		for i := 1; i < len(widths); i++ {
			if widths[i] > floors[i] && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		cut := min(total-width, widths[widest]-floors[widest])
		// Cut down to the next widest at most, so the loss is shared.
		for i := 1; i < len(widths); i++ {
			if widths[i] < widths[widest] {
				cut = min(cut, max(1, widths[widest]-widths[i]))
			}
		}
		widths[widest] -= cut
		total -= cut
	}
	return widths
}

func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// Relative says when t is as a person would: "in 3 months", "2 days ago".
func Relative(t, now time.Time) string {
	d := t.Sub(now)
	future := d >= 0
	d = d.Abs()
	var n int
	var unit string
	switch days := d.Hours() / 24; {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		n, unit = int(d.Minutes()), "minute"
	case d < 24*time.Hour:
		n, unit = int(d.Hours()), "hour"
	case days < 45:
		n, unit = int(math.Round(days)), "day"
	case days < 365:
		n, unit = int(math.Round(days/30.44)), "month"
	default:
		n, unit = int(math.Round(days/365.25)), "year"
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}
