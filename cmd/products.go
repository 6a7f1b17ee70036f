package cmd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newProductsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "products", Short: "Show or import the product catalog"}
	cmd.AddCommand(newProductsListCmd(f, nil), newProductsImportCmd(f, nil), newProductsBuildsCmd(f))
	return cmd
}

type productsListOptions struct{ env }

func newProductsListCmd(f *Factory, runF func(*productsListOptions) error) *cobra.Command {
	o := &productsListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List products with prices, maintenance prices and platforms",
		Example: "  licensectl products list\n  licensectl products list -o wide\n  licensectl products list --jq '.[] | select(.term == \"subscription\") | .sku'",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return productsListRun(c.Context(), o)
		},
	}
}

func productsListRun(ctx context.Context, o *productsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	products, err := svc.ListProducts(ctx)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, productColumns(), products,
		"No products yet — run `licensectl init` to load the catalog, or `licensectl products import FILE.yaml`")
}

type productsImportOptions struct {
	env
	File string
}

func newProductsImportCmd(f *Factory, runF func(*productsImportOptions) error) *cobra.Command {
	o := &productsImportOptions{env: f.env()}
	return &cobra.Command{
		Use:   "import FILE.yaml",
		Short: "Add or replace products from a YAML price list",
		Long: `Add or replace catalog products from a YAML file: a list of products (or a
"products:" key holding one) with the fields of ` + "`products list -o yaml`" + `,
and optionally a "builds:" key: builds with product, os (windows, macos,
linux-deb, linux-rpm), version, released (YYYY-MM-DD), size, sha256 and
either url or artifact (a file already in the artifact directory).
Products not in the file are kept. Maintenance prices are always 20% of the
price, rounded to whole currency units. The file is checked completely before
anything changes.`,
		Example: "  licensectl products import prices.yaml",
		Args:    exactArgs(1, "a YAML file"),
		RunE: func(c *cobra.Command, args []string) error {
			o.File = args[0]
			if runF != nil {
				return runF(o)
			}
			return productsImportRun(c.Context(), o)
		},
	}
}

func productsImportRun(ctx context.Context, o *productsImportOptions) error {
	svc, _, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	products, builds, err := readProductsYAML(o.File)
	if err != nil {
		return err
	}
	if len(builds) == 0 {
		n, err := svc.ImportProducts(ctx, products)
		if err != nil {
			return err
		}
		o.info("Imported %d products from %s\n", n, o.File)
		return nil
	}
	n, err := svc.ImportCatalog(ctx, products, builds)
	if err != nil {
		return err
	}
	o.info("Imported %d products and %d builds from %s\n", n.Products, n.Builds, o.File)
	return nil
}

func readProductsYAML(path string) ([]licensing.Product, []licensing.Build, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, licensing.Errorf(licensing.EINVALID, "cannot read %s: %v", path, unwrapPathError(err))
	}
	// A bare list, or a mapping with a "products" key; unknown fields are errors.
	var probe yaml.Node
	if err := yaml.Unmarshal(b, &probe); err != nil {
		return nil, nil, licensing.Errorf(licensing.EINVALID, "%s: %s", path, oneLine(err))
	}
	var list []licensing.Product
	var target any = &list
	var wrapped struct {
		Products []licensing.Product `yaml:"products"`
		Builds   []licensing.Build   `yaml:"builds"`
	}
	if len(probe.Content) > 0 && probe.Content[0].Kind == yaml.MappingNode {
		target = &wrapped
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(target); err != nil {
		return nil, nil, licensing.Errorf(licensing.EINVALID, "%s: %s", path, oneLine(err))
	}
	if target == &wrapped {
		list = wrapped.Products
	}
	if len(list) == 0 && len(wrapped.Builds) == 0 {
		return nil, nil, licensing.Errorf(licensing.EINVALID, "%s holds no products", path)
	}
	for i := range list {
		if err := list[i].Validate(); err != nil {
			return nil, nil, licensing.Errorf(licensing.EINVALID, "%s: product %d: %s", path, i+1, licensing.ErrorMessage(err))
		}
	}
	for i := range wrapped.Builds {
		if err := wrapped.Builds[i].Validate(); err != nil {
			return nil, nil, licensing.Errorf(licensing.EINVALID, "%s: build %d: %s", path, i+1, licensing.ErrorMessage(err))
		}
	}
	return list, wrapped.Builds, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func money(cents int64) string {
	if cents == 0 {
		return "-"
	}
	return "$" + licensing.FormatCents(cents)
}

func productColumns() []output.Column[licensing.Product] {
	type P = licensing.Product
	cents := func(c int64) string { return strconv.FormatInt(c, 10) }
	return []output.Column[P]{
		{Header: "SKU", Keep: true, Value: func(p P) string { return p.SKU }},
		{Header: "NAME", Priority: 8, Value: func(p P) string { return p.Name }},
		{Header: "TERM", Enum: true, Priority: 7, Value: func(p P) string { return p.Term }},
		{Header: "PRICE", Field: "price_cents", Priority: 9, Value: func(p P) string { return money(p.PriceCents) }, CSV: func(p P) string { return cents(p.PriceCents) }},
		{Header: "MONTHLY", Field: "monthly_price_cents", Priority: 6, Value: func(p P) string { return money(p.MonthlyPriceCents) }, CSV: func(p P) string { return cents(p.MonthlyPriceCents) }},
		{Header: "ANNUAL", Field: "annual_price_cents", Priority: 5, Value: func(p P) string { return money(p.AnnualPriceCents) }, CSV: func(p P) string { return cents(p.AnnualPriceCents) }},
		{Header: "MAINTENANCE", Field: "maintenance_price_cents", Priority: 4, Value: func(p P) string { return money(p.MaintenancePriceCents) }, CSV: func(p P) string { return cents(p.MaintenancePriceCents) }},
		{Header: "SEATS", Wide: true, Value: func(p P) string { return strconv.Itoa(p.Seats) }},
		{Header: "PLATFORMS", Priority: 3, Value: func(p P) string { return output.Labels(p.Platforms) }, CSV: func(p P) string { return strings.Join(p.Platforms, ",") }},
		{Header: "LATEST", Wide: true, Value: func(p P) string { return p.LatestVersion }},
		{Header: "CURRENCY", Wide: true, Value: func(p P) string { return p.Currency }},
	}
}
