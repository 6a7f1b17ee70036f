package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// notPurchased is the portal's answer for a license type never bought.
const notPurchased = "You have not purchased licenses of this type"

// expandedGroup is a row of `licenses list --group --expand`: a type's
// counts, then its licenses (those the filters match).
type expandedGroup struct {
	licensing.LicenseGroup
	Licenses []*licensing.License `json:"licenses" yaml:"licenses"`
	// Note says why a type listed with --all-types has no licenses here:
	// never bought, or none match the filters; null otherwise.
	Note *string `json:"note" yaml:"note"`
}

// expandGroups lists each group's licenses with the same filters (limit
// and offset apply per type); with allTypes it adds every other license
// type of the catalog, with its note.
func (o *licensesListOptions) expandGroups(ctx context.Context, svc licensing.Services, filter licensing.LicenseFilter, groups []licensing.LicenseGroup) ([]expandedGroup, error) {
	var out []expandedGroup
	have := map[string]bool{}
	for _, g := range groups {
		have[g.Product] = true
		f := filter
		f.Product = g.Product
		eg := expandedGroup{LicenseGroup: g, Licenses: []*licensing.License{}}
		if err := svc.ListLicenses(ctx, f, func(l *licensing.License) error {
			c := *l
			eg.Licenses = append(eg.Licenses, &c)
			return nil
		}); err != nil {
			return nil, err
		}
		out = append(out, eg)
	}
	if !o.AllTypes {
		return out, nil
	}
	bought, err := svc.GroupLicenses(ctx, licensing.LicenseFilter{})
	if err != nil {
		return nil, err
	}
	ever := map[string]bool{}
	for _, g := range bought {
		ever[g.Product] = true
	}
	products, err := svc.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range products {
		if p.Term == licensing.TermAddon || have[p.SKU] || (filter.Product != "" && p.SKU != filter.Product) {
			continue
		}
		note := notPurchased
		if ever[p.SKU] {
			note = "No licenses of this type match these filters"
		}
		out = append(out, expandedGroup{LicenseGroup: licensing.LicenseGroup{Product: p.SKU, ProductName: p.Name},
			Licenses: []*licensing.License{}, Note: &note})
	}
	return out, nil
}

// writeExpanded prints expanded groups: JSON and YAML as an array of groups
// each with its "licenses"; CSV as the licenses' rows; a table as each
// type's row followed by its licenses, indented.
func (o *licensesListOptions) writeExpanded(format output.Format, groups []expandedGroup, empty string) error {
	switch format {
	case output.JSON, output.YAML:
		if groups == nil {
			groups = []expandedGroup{}
		}
		return output.Object(o.IO.Out, format, groups, nil)
	case output.CSV:
		var all []*licensing.License
		for _, g := range groups {
			all = append(all, g.Licenses...)
		}
		return writeSlice(o.env, format, licenseColumns(), all, empty)
	}
	if len(groups) == 0 {
		if empty != "" && !o.quiet() {
			fmt.Fprintln(o.IO.ErrOut, empty)
		}
		return nil
	}
	w := o.IO.Out
	for i, g := range groups {
		if i > 0 {
			fmt.Fprintln(w)
		}
		noun := "licenses"
		if g.Total == 1 {
			noun = "license"
		}
		fmt.Fprintf(w, "%s (%s): %d %s: %d valid, %d expired, %d used, %d unused, %d trial\n",
			g.Product, g.ProductName, g.Total, noun, g.Valid, g.Expired, g.Used, g.Unused, g.Trial)
		if g.Note != nil {
			fmt.Fprintf(w, "  %s\n", *g.Note)
			continue
		}
		var buf bytes.Buffer
		l := &output.List[*licensing.License]{Format: format, Columns: licenseColumns(), NoHeaders: o.Config().NoHeaders}
		if err := writeTo(l, &buf, g.Licenses); err != nil {
			return err
		}
		for _, line := range strings.SplitAfter(strings.TrimRight(buf.String(), "\n"), "\n") {
			if _, err := io.WriteString(w, "  "+strings.TrimRight(line, "\n")+"\n"); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeTo[T any](l *output.List[T], w io.Writer, items []T) error {
	if err := l.Begin(w); err != nil {
		return err
	}
	for _, it := range items {
		if err := l.Add(it); err != nil {
			return err
		}
	}
	return l.End()
}

// writeAllTypes is --group --all-types without --expand: the group rows,
// with a NOTE column (JSON: "note").
func (o *licensesListOptions) writeAllTypes(format output.Format, groups []expandedGroup, empty string) error {
	type G = expandedGroup
	cols := []output.Column[G]{}
	for _, c := range groupColumns() {
		c := c
		cols = append(cols, output.Column[G]{Header: c.Header, Field: c.Field, Keep: c.Keep, Priority: c.Priority,
			Value: func(g G) string { return c.Value(g.LicenseGroup) }})
	}
	cols = append(cols, output.Column[G]{Header: "NOTE", Priority: 10, Value: func(g G) string {
		if g.Note == nil {
			return ""
		}
		return *g.Note
	}})
	if format == output.JSON || format == output.YAML {
		type row struct {
			licensing.LicenseGroup
			Note *string `json:"note" yaml:"note"`
		}
		rows := []row{}
		for _, g := range groups {
			rows = append(rows, row{g.LicenseGroup, g.Note})
		}
		return output.Object(o.IO.Out, format, rows, nil)
	}
	return writeSlice(o.env, format, cols, groups, empty)
}
