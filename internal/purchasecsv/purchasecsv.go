// Package purchasecsv reads bulk purchase files: a CSV with the header
// product,quantity,company,billing,premium_support,onboarding (product and
// quantity required, columns in any order), one purchase line per row.
//
// A file is checked whole: Parse reports every bad row, in file order, each
// with its line and the column at fault, and keeps the good rows, so that
// the caller can check those against the store too (File.Add) and report
// everything wrong with the file at once. Nothing is bought from a file
// with a bad row.
package purchasecsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// MaxRows bounds a file: one purchase holds at most this many lines.
const MaxRows = 1000

func columns() []string {
	return []string{"product", "quantity", "company", "billing", "premium_support", "onboarding"}
}

// File is a parsed purchase file: its good rows, in order, and what is
// wrong with the others.
type File struct {
	Name string
	Rows []Row
	Bad  []RowError
}

// Row is a good row: the purchase line and the file line it is on.
type Row struct {
	Line int
	licensing.BuyLine
}

// RowError is what is wrong with one row: its file line, the column at
// fault ("" for the row as a whole) and why.
type RowError struct {
	Line    int
	Column  string
	Message string
}

// String renders the error as FILE:LINE: column "C": message.
func (e RowError) String(file string) string {
	where := file
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Column != "" {
		return fmt.Sprintf("%s: column %q: %s", where, e.Column, e.Message)
	}
	return where + ": " + e.Message
}

// Lines returns the good rows as purchase lines.
func (f *File) Lines() []licensing.BuyLine {
	out := make([]licensing.BuyLine, len(f.Rows))
	for i, r := range f.Rows {
		out[i] = r.BuyLine
	}
	return out
}

// Add records what the store found wrong with the good rows: the bad lines
// of a request made of Lines() (licensing.ErrorLines), each mapped back to
// its file line and column.
func (f *File) Add(lines []licensing.LineError) {
	for _, l := range lines {
		e := RowError{Column: l.Field, Message: l.Message}
		if l.Line >= 0 && l.Line < len(f.Rows) {
			e.Line = f.Rows[l.Line].Line
		}
		f.Bad = append(f.Bad, e)
	}
}

// Err returns nil when every row is good, else an *Error listing the bad
// rows in file order.
func (f *File) Err() error {
	if len(f.Bad) == 0 {
		return nil
	}
	bad := slices.Clone(f.Bad)
	slices.SortStableFunc(bad, func(a, b RowError) int { return a.Line - b.Line })
	return &Error{File: f.Name, Rows: bad}
}

// Error is an invalid purchase file: every bad row. It is an invalid-input
// error (exit 2) whatever the rows' own reasons.
type Error struct {
	File string
	Rows []RowError
}

func (e *Error) Error() string { return e.Messages()[0] }

// Messages returns one line per bad row: FILE:LINE: column "C": message.
func (e *Error) Messages() []string {
	out := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		out[i] = r.String(e.File)
	}
	return out
}

// Unwrap gives the domain error: invalid input, with the hint.
func (e *Error) Unwrap() error {
	rows := "the line"
	if n := len(e.Rows); n > 1 {
		rows = fmt.Sprintf("these %d lines", n)
	}
	return licensing.Errorf(licensing.EINVALID, "%s", e.Error()).
		WithHint("nothing was bought; fix %s and run the command again", rows)
}

// Parse reads every row of r; name is the file's name in messages. Its
// error is for a file that cannot be read as a purchase file at all (no
// header, unknown columns); bad rows are in File.Bad.
func Parse(r io.Reader, name string) (*File, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	f := &File{Name: name}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fileErr(f, 1, "", "empty file: want a header %s", strings.Join(columns(), ","))
	}
	if err != nil {
		return nil, csvErr(f, err)
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(columns(), h) {
			return nil, fileErr(f, 1, "", "unknown column %q: want %s", clip(h), strings.Join(columns(), ","))
		}
		if _, dup := index[h]; dup {
			return nil, fileErr(f, 1, h, "appears twice")
		}
		index[h] = i
	}
	for _, required := range []string{"product", "quantity"} {
		if _, ok := index[required]; !ok {
			return nil, fileErr(f, 1, required, "missing: the header must name it")
		}
	}
	// The payment mode each subscription type got from its first row that
	// names one: a later row asking for the other conflicts with that row.
	billing := map[string]Row{}
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, csvErr(f, err)
			}
			// The rest of the file cannot be read reliably: report what it
			// has so far and this.
			f.Bad = append(f.Bad, RowError{Line: pe.Line, Message: pe.Err.Error()})
			break
		}
		line, _ := cr.FieldPos(0)
		if rows++; rows > MaxRows {
			f.Bad = append(f.Bad, RowError{Line: line, Message: fmt.Sprintf("too many rows: at most %d per file", MaxRows)})
			break
		}
		if len(rec) != len(header) {
			f.Bad = append(f.Bad, RowError{Line: line, Message: fmt.Sprintf("want %d fields, got %d", len(header), len(rec))})
			continue
		}
		field := func(col string) string {
			if i, ok := index[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := len(f.Bad)
		addBad := func(col, format string, args ...any) {
			f.Bad = append(f.Bad, RowError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
		}
		bl := licensing.BuyLine{Product: field("product"), Company: field("company"), Billing: field("billing")}
		q, err := strconv.Atoi(field("quantity"))
		if err != nil || q < 1 || q > licensing.MaxQuantity {
			addBad("quantity", "must be a whole number from 1 to %d", licensing.MaxQuantity)
			q = 1 // check the rest of the row all the same
		}
		bl.Quantity = q
		for _, b := range []struct {
			col string
			dst *bool
		}{{"premium_support", &bl.PremiumSupport}, {"onboarding", &bl.Onboarding}} {
			v, err := parseBool(field(b.col))
			if err != nil {
				addBad(b.col, "%v", err)
			}
			*b.dst = v
		}
		one := licensing.BuyRequest{Lines: []licensing.BuyLine{bl}}
		if err := one.Normalize(); err != nil {
			lines := licensing.ErrorLines(err)
			if len(lines) == 0 {
				addBad("", "%s", licensing.ErrorMessage(err))
			}
			for _, l := range lines {
				addBad(l.Field, "%s", l.Message)
			}
		}
		if len(f.Bad) > bad {
			continue
		}
		row := Row{Line: line, BuyLine: one.Lines[0]}
		if row.Billing != "" {
			if first, ok := billing[row.Product]; !ok {
				billing[row.Product] = row
			} else if first.Billing != row.Billing {
				addBad("billing", "%s conflicts with %s on line %d for %s", row.Billing, first.Billing, first.Line, row.Product)
				continue
			}
		}
		f.Rows = append(f.Rows, row)
	}
	if rows == 0 && len(f.Bad) == 0 {
		return nil, fileErr(f, 2, "", "no rows after the header")
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "n":
		return false, nil
	case "1", "true", "yes", "y":
		return true, nil
	}
	return false, errors.New("want true or false, got " + strconv.Quote(clip(s)))
}

// fileErr is a file that is not a purchase file at all.
func fileErr(f *File, line int, col, format string, args ...any) error {
	f.Bad = []RowError{{Line: line, Column: col, Message: fmt.Sprintf(format, args...)}}
	return f.Err()
}

func csvErr(f *File, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fileErr(f, pe.Line, "", "%v", pe.Err)
	}
	return licensing.Errorf(licensing.EINVALID, "%s: %v", f.Name, err)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
