package cmd

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
)

// completer lists the candidates for one argument or flag from the store.
type completer func(ctx context.Context, svc licensing.Services, toComplete string) ([]cobra.Completion, error)

// completionLimit bounds what one <TAB> lists; typing more narrows the search.
const completionLimit = 200

// registerCompletions wires dynamic shell completion into the command tree
// in one place: positional arguments by command path, flags by name
// wherever they appear (--product, --company, --license).
func registerCompletions(f *Factory, root *cobra.Command) {
	positional := map[string][]completer{
		"licenses show":        {completeLicenseKeys},
		"licenses set":         {completeLicenseKeys},
		"licenses validate":    {completeLicenseKeys},
		"licenses download":    {completeLicenseKeys},
		"maintenance buy":      {completeLicenseKeys},
		"activations activate": {completeLicenseKeys},
		"maintenance assign":   {completeMaintenanceIDs(true), completeLicenseKeys},
		"maintenance set":      {completeMaintenanceIDs(false)},
	}
	flags := map[string]completer{
		"product": completeProducts,
		"company": completeCompanies,
		"license": completeLicenseKeys,
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if cs, ok := positional[path]; ok {
			c.ValidArgsFunction = f.completeArgs(cs)
		}
		for name, comp := range flags {
			if c.Flags().Lookup(name) != nil {
				// Fails only for a flag registered twice, which this loop cannot do.
				_ = c.RegisterFlagCompletionFunc(name, f.completeFlag(comp))
			}
		}
		if path == "activations run" {
			// KEY, then (after --) a command and its arguments: the shell's own.
			keys := f.completeArgs([]completer{completeLicenseKeys})
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveDefault
				}
				return keys(c, args, toComplete)
			}
		}
		if path == "activations offline request" {
			_ = c.RegisterFlagCompletionFunc("key", f.completeFlag(completeLicenseKeys))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func (f *Factory) completeArgs(cs []completer) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(cs) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.complete(c, cs[len(args)], toComplete)
	}
}

func (f *Factory) completeFlag(comp completer) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return f.complete(c, comp, toComplete)
	}
}

// complete runs comp against the backend the command line names. Any
// failure (no store yet, no account, a server that is down) means no
// candidates: a <TAB> must never print an error into the user's prompt, nor
// create a store.
func (f *Factory) complete(c *cobra.Command, comp completer, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	// __complete parses the completed command's flags (--db, --account)
	// only now, after the root's hook ran: resolve the configuration again.
	cfg, err := loadConfig(c.Flags())
	if err != nil {
		return nil, none
	}
	f.cfg = cfg
	ctx := c.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	svc, err := f.Services(ctx)
	if err != nil {
		return nil, none
	}
	out, err := comp(f.env().withAccount(ctx), svc, toComplete)
	if err != nil {
		return nil, none
	}
	return out, none
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func completeLicenseKeys(ctx context.Context, svc licensing.Services, toComplete string) ([]cobra.Completion, error) {
	filter := licensing.LicenseFilter{Limit: completionLimit}
	if toComplete != "" {
		// The search narrows in the store; the prefix test keeps only keys.
		filter.Search = toComplete
	}
	var out []cobra.Completion
	err := svc.ListLicenses(ctx, filter, func(l *licensing.License) error {
		if hasPrefixFold(l.Key, toComplete) {
			desc := l.ProductName
			if l.Company != nil {
				desc += ", " + *l.Company
			}
			out = append(out, cobra.CompletionWithDesc(l.Key, desc))
		}
		return nil
	})
	return out, err
}

func completeProducts(ctx context.Context, svc licensing.Services, toComplete string) ([]cobra.Completion, error) {
	ps, err := svc.ListProducts(ctx)
	if err != nil {
		return nil, err
	}
	var out []cobra.Completion
	for _, p := range ps {
		if hasPrefixFold(p.SKU, toComplete) {
			out = append(out, cobra.CompletionWithDesc(p.SKU, p.Name))
		}
	}
	return out, nil
}

func completeCompanies(ctx context.Context, svc licensing.Services, toComplete string) ([]cobra.Completion, error) {
	cs, err := svc.ListCompanies(ctx)
	if err != nil {
		return nil, err
	}
	var out []cobra.Completion
	for _, co := range cs {
		if hasPrefixFold(co.Name, toComplete) {
			out = append(out, co.Name)
		}
	}
	return out, nil
}

// completeMaintenanceIDs lists plan IDs; assign wants only available plans.
func completeMaintenanceIDs(available bool) completer {
	return func(ctx context.Context, svc licensing.Services, toComplete string) ([]cobra.Completion, error) {
		plans, err := svc.ListMaintenance(ctx, licensing.MaintenanceFilter{Available: available})
		if err != nil {
			return nil, err
		}
		var out []cobra.Completion
		for _, p := range plans {
			if hasPrefixFold(p.ID, toComplete) {
				desc := p.Product + ", " + p.Status
				if p.LicenseKey != nil {
					desc += ", " + *p.LicenseKey
				}
				out = append(out, cobra.CompletionWithDesc(p.ID, desc))
			}
		}
		return out, nil
	}
}
