// Package output renders command results for people (tables) and for scripts
// (JSON, YAML, CSV). Lists are streamed: JSON and CSV write each row as it
// arrives, so a million licenses print in bounded memory.
package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Format is an output format.
type Format string

// Formats.
const (
	Table Format = "table"
	Wide  Format = "wide"
	JSON  Format = "json"
	YAML  Format = "yaml"
	CSV   Format = "csv"
)

// ParseFormat reads -o (any case, like every enumerated value). Empty means
// table at a terminal and JSON in a pipe.
func ParseFormat(s string, stdoutTTY bool) (Format, error) {
	v, err := licensing.Enum{Name: "output format", Values: []string{string(Table), string(Wide), string(JSON), string(YAML), string(CSV)}}.Parse(s)
	if err != nil {
		return "", err
	}
	if v == "" {
		if stdoutTTY {
			return Table, nil
		}
		return JSON, nil
	}
	return Format(v), nil
}

// IsTable reports whether the format is for people.
func (f Format) IsTable() bool { return f == Table || f == Wide }

// Column is one column of a list: its table header, its CSV header (Field,
// default the header in snake case), whether it shows only in wide mode, how
// to render a cell for people, and, when that differs, for CSV (RFC 3339
// dates, true/false, empty for none).
//
// Enum columns hold stable tokens (not_activated, perpetual, true): CSV shows
// the token, a table its Label ("Not activated", "One-time", "Yes").
//
// At a terminal a table fits the window: Keep columns (the key, the status)
// are never dropped nor cut; the others are dropped, lowest Priority first,
// until the rest fits, and then cut, never below Min columns (default 10) —
// Whole columns (identifiers, dates) are dropped rather than cut. -o wide
// shows every column, uncut.
type Column[T any] struct {
	Header string
	Field  string
	Wide   bool
	Value  func(T) string
	CSV    func(T) string
	// CSVOnly columns are left out of tables.
	CSVOnly bool

	Enum     bool
	Keep     bool
	Whole    bool
	Priority int
	Min      int
}

func (c Column[T]) shown(all bool, f Format) bool {
	if all {
		return true
	}
	return !c.CSVOnly && (!c.Wide || f == Wide)
}

// List writes rows of T in format f as they are produced. produce calls emit
// for each row; it is run once. For table output the rows are collected first
// (a table needs every width); for JSON and CSV they stream.
type List[T any] struct {
	Format    Format
	Columns   []Column[T]
	NoHeaders bool
	// Empty is the note a table without rows prints on Notes (stderr)
	// instead of a lone header: "No licenses match these filters".
	Empty string
	Notes io.Writer
	// Footer follows the rows of a table (a total); not in machine formats.
	Footer string
	// Page sends a table longer than the terminal through its pager. For
	// a list that is a command's whole output, not one inside a summary.
	Page bool

	w     *bufio.Writer
	out   io.Writer
	n     int
	rows  [][]cell
	items []T
	csv   *csv.Writer
	term  *Terminal
}

// Begin starts a list on w.
func (l *List[T]) Begin(w io.Writer) error {
	l.out = w
	l.term, _ = w.(*Terminal)
	l.w = bufio.NewWriterSize(w, 64<<10)
	switch l.Format {
	case JSON:
		_, err := l.w.WriteString("[")
		return err
	case CSV:
		l.csv = csv.NewWriter(l.w)
		if !l.NoHeaders {
			return l.csv.Write(l.csvHeaders())
		}
	}
	return nil
}

func (l *List[T]) csvHeaders() []string {
	var h []string
	for _, c := range l.Columns {
		h = append(h, c.csvHeader())
	}
	return h
}

func (c Column[T]) csvHeader() string {
	if c.Field != "" {
		return c.Field
	}
	return strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(c.Header))
}

// machine is a cell for CSV.
func (c Column[T]) machine(v T) string {
	if c.CSV != nil {
		return c.CSV(v)
	}
	return c.Value(v)
}

func (l *List[T]) csvCells(v T) []string {
	r := make([]string, 0, len(l.Columns))
	for _, c := range l.Columns {
		r = append(r, c.machine(v))
	}
	return r
}

// tableCells renders a row for people: labels for tokens, and at a terminal
// dates relative to now.
func (l *List[T]) tableCells(v T) []cell {
	var r []cell
	for _, c := range l.Columns {
		if !c.shown(false, l.Format) {
			continue
		}
		switch {
		case c.Enum:
			token := c.machine(v)
			r = append(r, cell{text: Label(token), token: token})
		case l.term != nil && c.CSV != nil:
			r = append(r, cell{text: l.term.cell(c.Value(v), c.CSV(v))})
		default:
			r = append(r, cell{text: c.Value(v)})
		}
	}
	return r
}

func (l *List[T]) tableColumns() []tableColumn {
	var cols []tableColumn
	for _, c := range l.Columns {
		if c.shown(false, l.Format) {
			cols = append(cols, tableColumn{header: c.Header, keep: c.Keep, whole: c.Whole, priority: c.Priority, min: c.Min})
		}
	}
	return cols
}

// Add writes or collects one row.
func (l *List[T]) Add(v T) error {
	defer func() { l.n++ }()
	switch l.Format {
	case JSON:
		if l.n > 0 {
			if err := l.w.WriteByte(','); err != nil {
				return err
			}
		}
		if err := l.w.WriteByte('\n'); err != nil {
			return err
		}
		// Encoded straight into the writer's free space: no copy when it fits.
		b, err := appendJSON(l.w.AvailableBuffer(), v)
		if err != nil {
			return err
		}
		_, err = l.w.Write(b)
		return err
	case CSV:
		return l.csv.Write(l.csvCells(v))
	case YAML:
		l.items = append(l.items, v)
	default:
		l.rows = append(l.rows, l.tableCells(v))
	}
	return nil
}

// Count is the number of rows added so far.
func (l *List[T]) Count() int { return l.n }

// End finishes the list and flushes it.
func (l *List[T]) End() error {
	switch l.Format {
	case JSON:
		if l.n > 0 {
			l.w.WriteByte('\n')
		}
		if _, err := l.w.WriteString("]\n"); err != nil {
			return err
		}
	case CSV:
		l.csv.Flush()
		if err := l.csv.Error(); err != nil {
			return err
		}
	case YAML:
		items := l.items
		if items == nil {
			items = []T{}
		}
		if err := writeYAML(l.w, items); err != nil {
			return err
		}
	default:
		return l.endTable()
	}
	return l.w.Flush()
}

// endTable renders the collected rows: fitted, coloured and paged at a
// terminal; with no rows, no header but the Empty note.
func (l *List[T]) endTable() error {
	if l.n == 0 {
		if l.Empty != "" && l.Notes != nil {
			_, err := io.WriteString(l.Notes, l.Empty+"\n")
			return err
		}
		return nil
	}
	st := tableStyle{noHeaders: l.NoHeaders}
	if l.term != nil {
		st.color = l.term.Color
		if l.Format != Wide {
			st.width = l.term.Width
		}
	}
	var buf bytes.Buffer
	if err := renderTable(&buf, l.tableColumns(), l.rows, st); err != nil {
		return err
	}
	if l.Footer != "" {
		buf.WriteString("\n" + strings.TrimSuffix(l.Footer, "\n") + "\n")
	}
	if l.term != nil && l.Page {
		return l.term.Show(buf.Bytes())
	}
	_, err := l.out.Write(buf.Bytes())
	return err
}

// Object writes one value: JSON (indented), YAML, or the result of table for
// people (table, wide and CSV fall back to it).
func Object(w io.Writer, f Format, v any, table func(w io.Writer) error) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case YAML:
		return writeYAML(w, v)
	}
	return table(w)
}

// writeYAML renders v as YAML with the same field names, in the same order,
// as its JSON (the json tags are the contract).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNode converts the next JSON value of dec into a YAML node, keeping the
// order of object keys (a map would sort them).
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.(string)})
			}
			child, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, child)
		}
		_, err := dec.Token() // the closing delimiter
		return n, err
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
}

// KeyValues renders "Label: value" lines with aligned values, for `show`.
func KeyValues(w io.Writer, pairs [][2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	bw := bufio.NewWriter(w)
	for _, p := range pairs {
		fmt.Fprintf(bw, "%-*s  %s\n", width+1, p[0]+":", p[1])
	}
	return bw.Flush()
}
