package output

import (
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"bytes"
	"io"
	"strings"

	"github.com/clipperhouse/displaywidth"
)

// A table for people: borderless, left-aligned, two blanks between columns,
// like kubectl and gh. Widths are display widths (grapheme clusters, CJK and
// emoji count two), so wide characters keep the columns aligned.

// tableColumn is how one column of a table fits a terminal.
type tableColumn struct {
	header string
	// keep: never dropped nor cut (the key, the status).
	keep bool
	// whole: dropped rather than cut (an identifier, a date).
	whole bool
	// priority: when the table is too wide, the columns of lowest priority
	// are dropped first (ties: the rightmost).
	priority int
	// min: a cut column keeps at least this many columns (0: defaultMin).
	min int
}

// cell is one table cell: its text, and for an enum column the token it
// shows, which picks its colour.
type cell struct {
	text, token string
}

const (
	columnGap  = 2 // blanks between columns
	defaultMin = 10
	ellipsis   = "…"
)

// displayWidth is the number of terminal columns s takes.
func displayWidth(s string) int { return displaywidth.String(s) }

// truncate cuts s to at most width columns, ending in "…" when cut.
func truncate(s string, width int) string {
	if displayWidth(s) <= width {
		return s
	}
	return displaywidth.TruncateString(s, width, ellipsis)
}

// layout decides which columns a table shows and how wide each is, so that
// it fits in width columns: first the columns of lowest priority are dropped
// until what is left fits with its cut-able columns at their floors; then the
// widest cut-able columns give up space, one column at a time. Kept columns
// are never cut; a table of kept columns alone may be wider than width.
// width <= 0: every column at its natural width.
func layout(cols []tableColumn, natural []int, width int) (shown []bool, widths []int) {
	shown = make([]bool, len(cols))
	widths = append([]int(nil), natural...)
	for i := range shown {
		shown[i] = true
	}
	if width <= 0 {
		return shown, widths
	}
	floors := make([]int, len(cols))
	for i, c := range cols {
		floors[i] = floorWidth(c, natural[i])
	}
	total := func(w []int) int {
		sum, n := 0, 0
		for i, ok := range shown {
			if ok {
				sum += w[i]
				n++
			}
		}
		return sum + columnGap*max(n-1, 0)
	}
	for total(floors) > width {
		drop := -1
		for i, c := range cols {
			if shown[i] && !c.keep && (drop < 0 || c.priority <= cols[drop].priority) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		shown[drop] = false
	}
	for excess := total(widths) - width; excess > 0; excess-- {
		widest := -1
		for i := range cols {
			if shown[i] && widths[i] > floors[i] && (widest < 0 || widths[i] >= widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
	return shown, widths
}

// floorWidth is how narrow a column may be cut: never below its minimum nor
// below three fifths of its natural width (up to 20 columns), so a cut value
// stays readable.
func floorWidth(c tableColumn, natural int) int {
	if c.keep || c.whole {
		return natural
	}
	least := c.min
	if least <= 0 {
		least = defaultMin
	}
	return min(natural, max(least, min((natural*3+4)/5, 20)))
}

// tableStyle is how a table is dressed for the person reading it.
type tableStyle struct {
	width     int  // fit to this many columns; 0: no fitting
	color     bool // colour status words
	noHeaders bool
}

// renderTable writes the table; blanks at the end of lines are trimmed.
func renderTable(w io.Writer, cols []tableColumn, rows [][]cell, st tableStyle) error {
	natural := make([]int, len(cols))
	for i, c := range cols {
		if !st.noHeaders {
			natural[i] = displayWidth(c.header)
		}
	}
	for _, r := range rows {
		for i := range cols {
			natural[i] = max(natural[i], displayWidth(r[i].text))
		}
	}
	shown, widths := layout(cols, natural, st.width)
	// The layout decided which columns show and how wide; tablewriter draws
	// the fitted cells (borderless, left-aligned, two blanks between columns).
	fitted := func(cells []cell, header bool) []string {
		var out []string
		for i, c := range cells {
			if !shown[i] {
				continue
			}
			text := truncate(c.text, widths[i])
			if style, ok := statusStyles[c.token]; ok && st.color && !header {
				text = style + text + "\x1b[0m"
			}
			out = append(out, text)
		}
		return out
	}
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: strings.Repeat(" ", columnGap), Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	if !st.noHeaders {
		hs := make([]cell, len(cols))
		for i, c := range cols {
			hs[i] = cell{text: c.header}
		}
		t.Header(fitted(hs, true))
	}
	body := make([][]string, len(rows))
	for i, r := range rows {
		body[i] = fitted(r, false)
	}
	if err := t.Bulk(body); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	// The renderer pads the last column too; trailing blanks only hurt diffs.
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" {
			continue
		}
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}

// WriteTable renders a borderless, left-aligned table like kubectl and gh do.
// At a Terminal it fits the window: the first column is kept whole, the
// others are cut or, from the right, dropped.
func WriteTable(w io.Writer, headers []string, rows [][]string, noHeaders bool) error {
	cols := make([]tableColumn, len(headers))
	for i, h := range headers {
		cols[i] = tableColumn{header: h, keep: i == 0, priority: len(headers) - i}
	}
	cells := make([][]cell, len(rows))
	for i, r := range rows {
		cells[i] = make([]cell, len(cols))
		for j := range cols {
			if j < len(r) {
				cells[i][j] = cell{text: r[j]}
			}
		}
	}
	var st tableStyle
	if t, ok := w.(*Terminal); ok {
		st.width = t.Width
	}
	st.noHeaders = noHeaders
	return renderTable(w, cols, cells, st)
}
