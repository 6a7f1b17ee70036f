package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// operatorOnly says where a vendor's command runs, for help texts.
func operatorOnly(scope licensing.Scope) string {
	return fmt.Sprintf(`Run it on the server host, with --db (the store is the root of trust: there
every command may do anything), or over the API with an operator token
that has the %s scope.`, scope)
}

func newOperatorsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operators",
		Short: "Manage operators (the vendor's support engineers) and their API tokens",
		Long: `Operators are the vendor's support engineers. An operator's API token
(lco_...) works across accounts: it creates and disables accounts, imports
the catalog, suspends licenses, finds the account of a key, and with the
impersonate scope acts on behalf of an account (--account EMAIL); the audit
log names the operator and the account.

Run these commands on the server host, with --db (the store is the root of
trust: there every command may do anything), or over the API with an
operator token that has the operators:write scope.

Operator scopes:

` + scopeTable(licensing.OperatorScopes()),
	}
	cmd.AddCommand(newOperatorsCreateCmd(f, nil), newOperatorsListCmd(f, nil),
		newOperatorsDisableCmd(f, nil, true), newOperatorsDisableCmd(f, nil, false), newOperatorsTokenCmd(f))
	return cmd
}

type operatorsCreateOptions struct {
	env
	Name string
}

func newOperatorsCreateCmd(f *Factory, runF func(*operatorsCreateOptions) error) *cobra.Command {
	o := &operatorsCreateOptions{env: f.env()}
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create an operator; give it a token with operators token create",
		Long: `Create an operator: 1 to 64 of a-z, 0-9, '.', '_' and '-'. It has no API
token until one is made with licensectl operators token create NAME.

` + operatorOnly(licensing.ScopeOperatorsWrite),
		Example: "  licensectl --db /srv/licensectl.db operators create alice\n  licensectl --db /srv/licensectl.db operators token create alice --expires 90d",
		Args:    exactArgs(1, "an operator name"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(o)
			}
			return operatorsCreateRun(c.Context(), o)
		},
	}
}

func operatorsCreateRun(ctx context.Context, o *operatorsCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	op, err := svc.CreateOperator(ctx, o.Name)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, op, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Created operator %s; give it a token with: licensectl operators token create %s\n", op.Name, op.Name)
		return err
	})
}

type operatorsListOptions struct{ env }

func newOperatorsListCmd(f *Factory, runF func(*operatorsListOptions) error) *cobra.Command {
	o := &operatorsListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List operators with their live token counts",
		Long:    "List every operator by name: when it was created, whether it is disabled,\nand how many of its tokens are neither revoked nor expired.\n\n" + operatorOnly(licensing.ScopeOperatorsWrite),
		Example: "  licensectl operators list\n  licensectl operators list -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return operatorsListRun(c.Context(), o)
		},
	}
}

func operatorsListRun(ctx context.Context, o *operatorsListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	ops, err := svc.ListOperators(ctx)
	if err != nil {
		return err
	}
	type O = licensing.Operator
	return writeSlice(o.env, format, []output.Column[O]{
		{Header: "NAME", Keep: true, Value: func(op O) string { return op.Name }},
		{Header: "CREATED", Priority: 1, Whole: true, Value: func(op O) string { return op.CreatedAt.Format(dateTimeLayout) }},
		{Header: "DISABLED", Field: "disabled_at", Priority: 3, Whole: true, Value: func(op O) string {
			if op.DisabledAt == nil {
				return "-"
			}
			return op.DisabledAt.Format(dateTimeLayout)
		}},
		{Header: "TOKENS", Priority: 2, Value: func(op O) string { return strconv.Itoa(op.Tokens) }},
	}, ops, "No operators yet — create one with `licensectl operators create NAME`")
}

type operatorsDisableOptions struct {
	env
	Name     string
	Disabled bool
}

// newOperatorsDisableCmd is operators disable (disable true) or operators
// enable.
func newOperatorsDisableCmd(f *Factory, runF func(*operatorsDisableOptions) error, disable bool) *cobra.Command {
	o := &operatorsDisableOptions{env: f.env(), Disabled: disable}
	c := &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable an operator: its tokens stop working at once",
		Long: `Disable an operator: its API tokens are refused from the next request on.
An operator cannot disable itself. licensectl operators enable NAME undoes
it.

` + operatorOnly(licensing.ScopeOperatorsWrite),
		Example: "  licensectl --db /srv/licensectl.db operators disable alice",
		Args:    exactArgs(1, "an operator name"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(o)
			}
			return operatorsDisableRun(c.Context(), o)
		},
	}
	if !disable {
		c.Use, c.Short = "enable NAME", "Enable a disabled operator: its tokens work again"
		c.Long = "Enable a disabled operator: its tokens that are neither revoked nor expired\nwork again.\n\n" + operatorOnly(licensing.ScopeOperatorsWrite)
		c.Example = "  licensectl --db /srv/licensectl.db operators enable alice"
	}
	return c
}

func operatorsDisableRun(ctx context.Context, o *operatorsDisableOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	op, err := svc.SetOperatorDisabled(ctx, o.Name, o.Disabled)
	if err != nil {
		return err
	}
	if o.quiet() {
		return nil
	}
	return output.Object(o.IO.Out, format, op, func(w io.Writer) error {
		if op.DisabledAt != nil {
			_, err := fmt.Fprintf(w, "Operator %s is disabled since %s: its tokens are refused\n", op.Name, op.DisabledAt.Format(time.RFC3339))
			return err
		}
		_, err := fmt.Fprintf(w, "Operator %s is enabled: its tokens work\n", op.Name)
		return err
	})
}

func newOperatorsTokenCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke operators' API tokens"}
	cmd.AddCommand(newOperatorsTokenCreateCmd(f, nil), newOperatorsTokenListCmd(f, nil), newOperatorsTokenRevokeCmd(f, nil))
	return cmd
}

type operatorsTokenCreateOptions struct {
	env
	Name    string
	Request licensing.TokenRequest
}

func newOperatorsTokenCreateCmd(f *Factory, runF func(*operatorsTokenCreateOptions) error) *cobra.Command {
	o := &operatorsTokenCreateOptions{env: f.env()}
	var tf tokenFlags
	c := &cobra.Command{
		Use:   "create NAME [--name N] [--scope S,...] [--expires DURATION]",
		Short: "Create an operator's API token (lco_..., shown once; only its hash is stored)",
		Long: `Create an API token for an operator. Its secret (lco_...) is shown once;
only its hash is stored. By default it has every operator scope, until it is
revoked; --scope narrows it, --expires ends it after a while:

` + scopeTable(licensing.OperatorScopes()) + `
Acting on behalf of an account (impersonate, --account EMAIL) the token may
also do what that account's own default token may; account scopes are not
given to an operator's token itself.

` + operatorOnly(licensing.ScopeOperatorsWrite) + `
Over the API a token can only create tokens with scopes it holds itself.`,
		Example: `  licensectl --db /srv/licensectl.db operators token create alice --expires 90d -o json
  licensectl operators token create bob --name lookups --scope lookup,licenses:suspend`,
		Args: exactArgs(1, "an operator name"),
		RunE: func(c *cobra.Command, args []string) error {
			req, err := tf.request(c.Flags(), licensing.OperatorScopes(), o.now())
			if err != nil {
				return err
			}
			o.Name, o.Request = args[0], req
			if runF != nil {
				return runF(o)
			}
			return operatorsTokenCreateRun(c.Context(), o)
		},
	}
	tf.add(c.Flags(), licensing.OperatorScopes())
	return c
}

func operatorsTokenCreateRun(ctx context.Context, o *operatorsTokenCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	t, err := svc.CreateOperatorToken(ctx, o.Name, o.Request)
	if err != nil {
		return err
	}
	return writeNewToken(o.IO.Out, format, t, "licensectl operators token revoke "+t.Prefix)
}

type operatorsTokenListOptions struct {
	env
	Name string
}

func newOperatorsTokenListCmd(f *Factory, runF func(*operatorsTokenListOptions) error) *cobra.Command {
	o := &operatorsTokenListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list NAME",
		Short:   "List an operator's tokens by prefix, with their names, scopes and expiry",
		Long:    "List an operator's tokens, oldest first, revoked and expired ones too.\n\n" + operatorOnly(licensing.ScopeOperatorsWrite),
		Example: "  licensectl operators token list alice\n  licensectl operators token list alice -o json",
		Args:    exactArgs(1, "an operator name"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Name = args[0]
			if runF != nil {
				return runF(o)
			}
			return operatorsTokenListRun(c.Context(), o)
		},
	}
}

func operatorsTokenListRun(ctx context.Context, o *operatorsTokenListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	ts, err := svc.ListOperatorTokens(ctx, o.Name)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, tokenColumns(), ts,
		fmt.Sprintf("No API tokens — create one with `licensectl operators token create %s`", o.Name))
}

type operatorsTokenRevokeOptions struct {
	env
	Prefix string
}

func newOperatorsTokenRevokeCmd(f *Factory, runF func(*operatorsTokenRevokeOptions) error) *cobra.Command {
	o := &operatorsTokenRevokeOptions{env: f.env()}
	return &cobra.Command{
		Use:     "revoke PREFIX",
		Short:   "Revoke an operator's token by its prefix",
		Long:    "Revoke an operator's token: it is refused from the next request on.\n\n" + operatorOnly(licensing.ScopeOperatorsWrite),
		Example: "  licensectl operators token revoke lco_abcd1234",
		Args:    exactArgs(1, "a token prefix"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Prefix = args[0]
			if runF != nil {
				return runF(o)
			}
			return operatorsTokenRevokeRun(c.Context(), o)
		},
	}
}

func operatorsTokenRevokeRun(ctx context.Context, o *operatorsTokenRevokeOptions) error {
	svc, _, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	if err := svc.RevokeOperatorToken(ctx, o.Prefix); err != nil {
		return err
	}
	o.info("Revoked operator token %s\n", o.Prefix)
	return nil
}
