package output

import (
	"fmt"
	"io"
	"math"
	"time"
)

// Terminal is stdout when a person is reading it. A List written to it dresses
// its table for that person: dates relative to now, status words in colour
// (only if Color), columns fitted to Width (low-priority columns dropped
// first, the key and the status never cut), and a table longer than the
// window goes through Pager. Scripts never see any of this: machine formats
// and tables in a pipe go to a plain writer.
type Terminal struct {
	io.Writer
	Color  bool
	Width  int       // columns; 0 when unknown: no fitting
	Height int       // rows; 0 when unknown: no pager
	Now    time.Time // zero: dates stay absolute
	// Pager is the command line of the pager ("less -FRX"); empty: none.
	Pager string
	// Stderr is the pager's standard error.
	Stderr io.Writer
}

// ANSI styles for the words that tell a license's state at a glance, by
// token.
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
