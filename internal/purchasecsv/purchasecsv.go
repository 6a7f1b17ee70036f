// Package purchasecsv reads bulk purchase files: a CSV with the header
// product,quantity,company,billing,premium_support,onboarding (product and
// quantity required, columns in any order), one purchase line per row. Every
// row is checked before anything is bought, and errors name the line.
package purchasecsv

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
)

// MaxRows bounds a file: one purchase holds at most this many lines.
const MaxRows = 1000

func columns() []string {
	return []string{"product", "quantity", "company", "billing", "premium_support", "onboarding"}
}

// Parse reads every row of r; name is used in error messages.
func Parse(r io.Reader, name string) ([]licensing.BuyLine, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, lineErr(name, 1, "empty file: want a header %s", strings.Join(columns(), ","))
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !contains(columns(), h) {
			return nil, lineErr(name, 1, "unknown column %q: want %s", clip(h), strings.Join(columns(), ","))
		}
		if _, dup := index[h]; dup {
			return nil, lineErr(name, 1, "column %q appears twice", h)
		}
		index[h] = i
	}
	for _, required := range []string{"product", "quantity"} {
		if _, ok := index[required]; !ok {
			return nil, lineErr(name, 1, "missing column %q", required)
		}
	}
	var lines []licensing.BuyLine
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, lineErr(name, line, "want %d fields, got %d", len(header), len(rec))
		}
		if len(lines) == MaxRows {
			return nil, lineErr(name, line, "too many rows: at most %d per file", MaxRows)
		}
		field := func(col string) string {
			if i, ok := index[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		q, err := strconv.Atoi(field("quantity"))
		if err != nil {
			return nil, lineErr(name, line, "quantity %q is not a whole number", clip(field("quantity")))
		}
		bl := licensing.BuyLine{Product: field("product"), Quantity: q, Company: field("company"), Billing: field("billing")}
		if bl.PremiumSupport, err = parseBool(field("premium_support")); err != nil {
			return nil, lineErr(name, line, "premium_support: %v", err)
		}
		if bl.Onboarding, err = parseBool(field("onboarding")); err != nil {
			return nil, lineErr(name, line, "onboarding: %v", err)
		}
		one := licensing.BuyRequest{Lines: []licensing.BuyLine{bl}}
		if err := one.Normalize(); err != nil {
			return nil, lineErr(name, line, "%s", licensing.ErrorMessage(err))
		}
		lines = append(lines, one.Lines[0])
	}
	if len(lines) == 0 {
		return nil, lineErr(name, 2, "no rows after the header")
	}
	return lines, nil
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

func lineErr(name string, line int, format string, args ...any) error {
	e := licensing.Errorf(licensing.EINVALID, format, args...)
	e.Message = name + ":" + strconv.Itoa(line) + ": " + e.Message
	return e.WithHint("nothing was bought; fix the line and run the command again")
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return lineErr(name, pe.Line, "%v", pe.Err)
	}
	return licensing.Errorf(licensing.EINVALID, "%s: %v", name, err)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
