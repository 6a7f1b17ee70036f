package output

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type lic struct {
	Key, Product, Status string
	Expires              time.Time
}

func licCols() []Column[lic] {
	return []Column[lic]{
		{Header: "KEY", Keep: true, Value: func(l lic) string { return l.Key }},
		{Header: "PRODUCT", Priority: 2, Value: func(l lic) string { return l.Product }},
		{Header: "STATUS", Keep: true, Enum: true, Value: func(l lic) string { return l.Status }},
		{Header: "EXPIRES", Priority: 1, Whole: true, Value: func(l lic) string { return l.Expires.Format("2006-01-02") },
			CSV: func(l lic) string { return l.Expires.Format(time.RFC3339) }},
	}
}

var now = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

func renderTo(t *testing.T, w interface {
	Write([]byte) (int, error)
}, f Format, rows []lic) {
	t.Helper()
	l := &List[lic]{Format: f, Columns: licCols()}
	if err := l.Begin(w); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.End(); err != nil {
		t.Fatal(err)
	}
}

var rows = []lic{
	{"NRDV2-K79AY-WWP1H-J14B8-T6B1K", "backup-ultimate-with-a-very-long-product-name", "activated", now.AddDate(0, 3, 0)},
	{"30QDZ-HZP43-KCYFY-H061X-ZGTDG", "mbs-server", "not_activated", now.AddDate(0, 0, -2)},
}

func TestTerminalTable(t *testing.T) {
	var buf bytes.Buffer
	renderTo(t, &Terminal{Writer: &buf, Color: true, Width: 80, Now: now}, Table, rows)
	out := buf.String()
	for _, want := range []string{"\x1b[32mActivated\x1b[0m", "\x1b[31mNot activated\x1b[0m", "in 3 months", "2 days ago",
		"NRDV2-K79AY-WWP1H-J14B8-T6B1K", "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stripANSI(out)), "\n") {
		if n := displayWidth(line); n > 80 {
			t.Errorf("line of %d columns in an 80-column terminal: %q", n, line)
		}
	}
}

func TestTerminalNoColor(t *testing.T) {
	var buf bytes.Buffer
	renderTo(t, &Terminal{Writer: &buf, Now: now}, Table, rows)
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("colour without Color: %q", buf.String())
	}
	if strings.Contains(buf.String(), "…") {
		t.Fatalf("cut without a width: %q", buf.String())
	}
}

// Machine formats stay exact even at a terminal.
func TestTerminalMachineFormats(t *testing.T) {
	var buf bytes.Buffer
	renderTo(t, &Terminal{Writer: &buf, Color: true, Width: 20, Now: now}, CSV, rows)
	if !strings.Contains(buf.String(), "2026-04-15T10:00:00Z") || strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("csv at a terminal = %q", buf.String())
	}
}

// The key is never cut, however narrow the terminal.
func TestTerminalNarrow(t *testing.T) {
	var buf bytes.Buffer
	renderTo(t, &Terminal{Writer: &buf, Width: 10, Now: now}, Table, rows)
	if !strings.Contains(buf.String(), rows[0].Key) {
		t.Fatalf("key cut: %q", buf.String())
	}
}

func TestRelative(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "now"}, {90 * time.Second, "in 1 minute"}, {-5 * time.Hour, "5 hours ago"},
		{24 * time.Hour, "in 1 day"}, {-40 * 24 * time.Hour, "40 days ago"},
		{92 * 24 * time.Hour, "in 3 months"}, {400 * 24 * time.Hour, "in 1 year"},
	} {
		if got := Relative(now.Add(tc.d), now); got != tc.want {
			t.Errorf("Relative(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
