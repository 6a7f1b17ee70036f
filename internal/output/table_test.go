package output

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/clipperhouse/displaywidth"
)

type wideRow struct {
	Key, Product, Status, Company, Note string
	AllowRM                             bool
}

func wideCols() []Column[wideRow] {
	return []Column[wideRow]{
		{Header: "KEY", Keep: true, Value: func(r wideRow) string { return r.Key }},
		{Header: "PRODUCT", Priority: 9, Whole: true, Value: func(r wideRow) string { return r.Product }},
		{Header: "STATUS", Keep: true, Enum: true, Value: func(r wideRow) string { return r.Status }},
		{Header: "COMPANY", Priority: 5, Value: func(r wideRow) string { return r.Company }},
		{Header: "MAINTENANCE TILL", Priority: 3, Value: func(r wideRow) string { return r.Note }},
		{Header: "ALLOW RM", Priority: 1, Enum: true, Value: func(r wideRow) string {
			if r.AllowRM {
				return "true"
			}
			return "false"
		}},
	}
}

func renderList[T any](t *testing.T, w interface{ Write([]byte) (int, error) }, l *List[T], rows []T) {
	t.Helper()
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

var wideRows = []wideRow{
	{"NRDV2-K79AY-WWP1H-J14B8-T6B1K", "backup-ultimate", "not_activated", "Zürich Dental 東京支社 🦷 and a long tail", "2027-01-01", true},
	{"30QDZ-HZP43-KCYFY-H061X-ZGTDG", "mbs-server", "activated", "Acme", "2027-02-01", false},
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// Too wide: the lowest priority goes first (ALLOW RM, then MAINTENANCE
// TILL), the key and the status stay whole, the company is cut, and every
// line fits.
func TestFitDropsLowPriorityFirst(t *testing.T) {
	var buf bytes.Buffer
	renderList(t, &Terminal{Writer: &buf, Width: 90}, &List[wideRow]{Format: Table, Columns: wideCols()}, wideRows)
	out := buf.String()
	for _, line := range lines(out) {
		if n := displaywidth.String(line); n > 90 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	if strings.Contains(out, "ALLOW RM") || strings.Contains(out, "MAINTENANCE") {
		t.Errorf("low-priority columns kept:\n%s", out)
	}
	for _, want := range []string{wideRows[0].Key, "Not activated", "backup-ultimate", "COMPANY", "Zürich", "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	// Wide: every column, uncut, even at a narrow terminal.
	buf.Reset()
	renderList(t, &Terminal{Writer: &buf, Width: 40}, &List[wideRow]{Format: Wide, Columns: wideCols()}, wideRows)
	if out := buf.String(); !strings.Contains(out, "ALLOW RM") || !strings.Contains(out, wideRows[0].Company) || strings.Contains(out, "…") {
		t.Errorf("wide at 40 columns:\n%s", out)
	}
}

// A header shrinks with its column rather than holding it wide.
func TestHeadersShrinkWithColumns(t *testing.T) {
	cols := []tableColumn{{header: "KEY", keep: true}, {header: "MAINTENANCE TILL", priority: 1}}
	var buf bytes.Buffer
	rows := [][]cell{{{text: strings.Repeat("K", 29)}, {text: "2027-01-01"}}}
	if err := renderTable(&buf, cols, rows, tableStyle{width: 41}); err != nil {
		t.Fatal(err)
	}
	if got := lines(buf.String())[0]; got != "KEY"+strings.Repeat(" ", 28)+"MAINTENAN…" {
		t.Fatalf("header line = %q", got)
	}
}

// CJK and emoji take two columns each: the next column still starts at the
// same display column on every line. (Emoji joined by ZWJ, such as 👩‍💻, are
// measured per rune by tablewriter v1.1.5 and so are two columns off; none of
// the product's own names contain them.)
func TestWideCharactersKeepAlignment(t *testing.T) {
	type co struct{ Name, N string }
	cols := []Column[co]{
		{Header: "NAME", Keep: true, Value: func(c co) string { return c.Name }},
		{Header: "LICENSES", Value: func(c co) string { return c.N }},
	}
	var buf bytes.Buffer
	renderList(t, &buf, &List[co]{Format: Table, Columns: cols},
		[]co{{"東京支社", "1"}, {"Zürich 🦷", "2"}, {"Acme", "3"}, {"🦷🦷 Dev", "4"}})
	want := -1
	for _, line := range lines(buf.String()) {
		field := strings.LastIndex(line, " ") + 1
		col := displaywidth.String(line[:field]) // the terminal's view, not the renderer's
		if want < 0 {
			want = col
		}
		if col != want {
			t.Errorf("second column at %d, want %d: %q\n%s", col, want, line, buf.String())
		}
	}
}

// Enum columns: labels in tables, tokens in CSV.
func TestLabelsInTablesTokensInCSV(t *testing.T) {
	var buf bytes.Buffer
	renderList(t, &buf, &List[wideRow]{Format: Table, Columns: wideCols()}, wideRows)
	for _, want := range []string{"Not activated", "Activated", "Yes", "No"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "not_activated") || strings.Contains(buf.String(), "true") {
		t.Errorf("table shows tokens:\n%s", buf.String())
	}
	buf.Reset()
	renderList(t, &buf, &List[wideRow]{Format: CSV, Columns: wideCols()}, wideRows)
	if !strings.Contains(buf.String(), ",not_activated,") || !strings.Contains(buf.String(), ",true\n") || strings.Contains(buf.String(), "Yes") {
		t.Errorf("csv:\n%s", buf.String())
	}
	for token, label := range map[string]string{"perpetual": "One-time", "annual": "Annual", "monthly": "Monthly",
		"commercial": "Commercial", "none": "None", "unknown_token": "unknown_token"} {
		if got := Label(token); got != label {
			t.Errorf("Label(%q) = %q, want %q", token, got, label)
		}
	}
}

// No rows: no lone header, the note on Notes; machine formats print their
// empty value and no note.
func TestEmptyListSaysSo(t *testing.T) {
	var out, notes bytes.Buffer
	renderList(t, &out, &List[wideRow]{Format: Table, Columns: wideCols(), Empty: "No licenses match these filters", Notes: &notes, Footer: "total"}, nil)
	if out.Len() != 0 || notes.String() != "No licenses match these filters\n" {
		t.Fatalf("stdout %q, notes %q", out.String(), notes.String())
	}
	out.Reset()
	notes.Reset()
	renderList(t, &out, &List[wideRow]{Format: JSON, Columns: wideCols(), Empty: "nothing", Notes: &notes}, nil)
	if out.String() != "[]\n" || notes.Len() != 0 {
		t.Fatalf("json: stdout %q, notes %q", out.String(), notes.String())
	}
	// With rows: the footer follows the table.
	out.Reset()
	renderList(t, &out, &List[wideRow]{Format: Table, Columns: wideCols(), Footer: "2 licenses", Notes: &notes}, wideRows)
	if !strings.HasSuffix(out.String(), "\n\n2 licenses\n") || notes.Len() != 0 {
		t.Fatalf("footer: %q", out.String())
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"less -FRX":                     {"less", "-FRX"},
		`  "/opt/my pager/p" -x 'a b' `: {"/opt/my pager/p", "-x", "a b"},
		`more\ than one`:                {"more than", "one"},
		"":                              nil,
	} {
		if got := SplitCommand(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCommand(%q) = %q, want %q", in, got, want)
		}
	}
}

// A text longer than the window goes through the pager; a short one, or one
// whose pager cannot start, is written directly.
func TestShowPagesLongText(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "paged")
	pager := filepath.Join(dir, "pager.sh")
	if err := os.WriteFile(pager, []byte("#!/bin/sh\necho \"$@\" > '"+marker+"'\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	long := []byte(strings.Repeat("row\n", 30))
	var buf bytes.Buffer
	term := &Terminal{Writer: &buf, Width: 80, Height: 24, Pager: pager + " -X"}
	if err := term.Show(long); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "-X\n" || buf.String() != string(long) {
		t.Fatalf("long text: marker %q (%v), output %d bytes", b, err, buf.Len())
	}
	os.Remove(marker)
	buf.Reset()
	if err := term.Show([]byte("row\n")); err != nil || buf.String() != "row\n" {
		t.Fatalf("short text: %q %v", buf.String(), err)
	}
	// Long lines wrap: 10 lines of 200 columns fill 30 rows of 80.
	buf.Reset()
	if err := term.Show([]byte(strings.Repeat(strings.Repeat("x", 200)+"\n", 10))); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("wrapped lines not paged: %v", err)
	}
	buf.Reset()
	term.Pager = filepath.Join(dir, "no-such-pager")
	if err := term.Show(long); err != nil || buf.String() != string(long) {
		t.Fatalf("missing pager: %d bytes, %v", buf.Len(), err)
	}
}
