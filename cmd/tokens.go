package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func newTokenCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens of the acting account"}
	cmd.AddCommand(newTokenCreateCmd(f, nil), newTokenListCmd(f, nil), newTokenRevokeCmd(f, nil))
	return cmd
}

type tokenCreateOptions struct {
	env
	Request licensing.TokenRequest
}

func newTokenCreateCmd(f *Factory, runF func(*tokenCreateOptions) error) *cobra.Command {
	o := &tokenCreateOptions{env: f.env()}
	var tf tokenFlags
	c := &cobra.Command{
		Use:   "create [--name N] [--scope S,...] [--expires DURATION]",
		Short: "Create an API token (shown once; only its hash is stored)",
		Long: `Create an API token of the acting account. Its secret (lct_...) is shown
once; only its hash is stored. By default a token may do everything the
account may, until it is revoked; --scope narrows it to some of these, and
--expires ends it after a while:

` + scopeTable(licensing.AccountScopes()) + `
Over the API a token can only create tokens with scopes it holds itself
(creating one needs tokens:write). A CI job that only activates and
validates gets --scope activations:write,validate.`,
		Example: `  licensectl --db /srv/licensectl.db --account ops@example.com accounts token create
  licensectl accounts token create --name ci --scope activations:write,validate --expires 90d
  licensectl accounts token create -o json | jq -r .token`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			req, err := tf.request(c.Flags(), licensing.AccountScopes(), o.now())
			if err != nil {
				return err
			}
			o.Request = req
			if runF != nil {
				return runF(o)
			}
			return tokenCreateRun(c.Context(), o)
		},
	}
	tf.add(c.Flags(), licensing.AccountScopes())
	return c
}

func tokenCreateRun(ctx context.Context, o *tokenCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	t, err := svc.CreateToken(ctx, o.Request)
	if err != nil {
		return err
	}
	return writeNewToken(o.IO.Out, format, t, "licensectl accounts token revoke "+t.Prefix)
}

// tokenFlags are the flags that say what a new token may do: its name, its
// scopes and its lifetime.
type tokenFlags struct {
	name, scopes, expires string
}

func (t *tokenFlags) add(fl *pflag.FlagSet, scopes []licensing.Scope) {
	fl.StringVar(&t.name, "name", "", "a `NAME` saying what the token is for, shown in token lists")
	fl.StringVar(&t.scopes, "scope", "", "comma-separated `SCOPES` the token may use (default: all of them): "+strings.Join(scopes, ", "))
	fl.StringVar(&t.expires, "expires", "", "end the token after this `DURATION`: 90d, 12h, 2w, 1y (default: never, until revoked)")
}

// request checks the flags for a token whose scopes come from allowed and
// answers the request; its lifetime counts from now.
func (t *tokenFlags) request(fl *pflag.FlagSet, allowed []licensing.Scope, now time.Time) (licensing.TokenRequest, error) {
	req := licensing.TokenRequest{Name: t.name, Scopes: licensing.ParseScopes(t.scopes)}
	if changed(fl, "scope") && len(req.Scopes) == 0 {
		return req, licensing.Errorf(licensing.EINVALID, "--scope needs at least one scope").
			WithHint("scopes: %s (leave --scope out for all of them)", strings.Join(allowed, ", "))
	}
	if changed(fl, "expires") {
		period, err := parsePeriod("--expires", t.expires)
		if err != nil {
			return req, err
		}
		if req.ExpiresIn = period.from(now).Sub(now); req.ExpiresIn <= 0 {
			return req, licensing.Errorf(licensing.EINVALID, "invalid --expires %q: want a period longer than 0, e.g. 90d", licensing.ClipArg(t.expires)).
				WithHint("leave --expires out for a token that lasts until it is revoked")
		}
	}
	checked, err := licensing.CheckTokenRequest(req, allowed)
	if err != nil {
		return req, err
	}
	if len(req.Scopes) == 0 {
		checked.Scopes = nil // none: every scope, as the backend decides
	}
	return checked, nil
}

// writeNewToken prints a token just made: its secret, once, and what it may
// do.
func writeNewToken(w io.Writer, format output.Format, t *licensing.Token, revoke string) error {
	return output.Object(w, format, t, func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "%s\n\n", t.Secret); err != nil {
			return err
		}
		if err := output.KeyValues(w, [][2]string{
			{"Prefix", t.Prefix},
			{"Name", orDash(t.Name)},
			{"Scopes", strings.Join(t.Scopes, ",")},
			{"Expires", expiresOrNever(t.ExpiresAt)},
		}); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "\nThis is the only time the token is shown: store it now (e.g. licensectl login --with-token).\nIt can be revoked with: %s\n", revoke)
		return err
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func expiresOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// scopeTable lists scopes with what each allows, for help texts.
func scopeTable(scopes []licensing.Scope) string {
	width := 0
	for _, s := range scopes {
		width = max(width, len(s))
	}
	var b strings.Builder
	for _, s := range scopes {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, s, scopeMeanings[s])
	}
	return b.String()
}

// scopeMeanings say what each scope allows, for help texts.
var scopeMeanings = map[licensing.Scope]string{
	licensing.ScopeLicensesRead:     "list and show licenses, companies, maintenance, activations, downloads",
	licensing.ScopeLicensesWrite:    "change licenses and plans (set, assign), create companies",
	licensing.ScopePurchasesWrite:   "buy licenses and maintenance, run renewals",
	licensing.ScopeActivationsWrite: "activate, deactivate and release machines, online and offline",
	licensing.ScopeValidate:         "validate a license",
	licensing.ScopeAttach:           "attach licenses bought with another email",
	licensing.ScopeAuditRead:        "read the audit log",
	licensing.ScopeTokensWrite:      "list, create and revoke the account's tokens",
	licensing.ScopeWebhooks:         "create, list, test and delete webhooks; list and redeliver their deliveries",
	licensing.ScopeOperatorsWrite:   "create, disable and enable operators, issue and revoke their tokens",
	licensing.ScopeAccountsWrite:    "create, disable and enable accounts",
	licensing.ScopeCatalogWrite:     "import the product catalog",
	licensing.ScopeLicensesSuspend:  "suspend and reinstate licenses, by key alone",
	licensing.ScopeKeysWrite:        "rotate the offline signing key",
	licensing.ScopeRenewalsRun:      "preview and run renewals for every account",
	licensing.ScopeLookup:           "find the account of a key or purchase, list accounts",
	licensing.ScopeImpersonate:      "act on behalf of an account (--account EMAIL)",
	licensing.ScopeRefundsOverride:  "refund past the refund window, and activated licenses (purchases refund --force)",
}

type tokenListOptions struct{ env }

func newTokenListCmd(f *Factory, runF func(*tokenListOptions) error) *cobra.Command {
	o := &tokenListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List tokens by prefix, with their names, scopes and expiry",
		Example: "  licensectl accounts token list\n  licensectl accounts token list -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return tokenListRun(c.Context(), o)
		},
	}
}

func tokenListRun(ctx context.Context, o *tokenListOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	ts, err := svc.ListTokens(ctx)
	if err != nil {
		return err
	}
	return writeSlice(o.env, format, tokenColumns(), ts, "No API tokens — create one with `licensectl accounts token create`")
}

// tokenColumns are the columns of a token list, an account's or an
// operator's.
func tokenColumns() []output.Column[licensing.Token] {
	type T = licensing.Token
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(dateTimeLayout)
	}
	return []output.Column[T]{
		{Header: "PREFIX", Keep: true, Value: func(t T) string { return t.Prefix }},
		{Header: "NAME", Priority: 7, Value: func(t T) string { return orDash(t.Name) }},
		{Header: "SCOPES", Priority: 5, Value: func(t T) string { return strings.Join(t.Scopes, ",") }},
		{Header: "CREATED", Priority: 3, Whole: true, Value: func(t T) string { return t.CreatedAt.Format(dateTimeLayout) }},
		{Header: "LAST USED", Priority: 2, Whole: true, Value: func(t T) string { return when(t.LastUsed) }},
		{Header: "EXPIRES", Field: "expires_at", Priority: 6, Whole: true, Value: func(t T) string {
			if t.ExpiresAt == nil {
				return "never"
			}
			return t.ExpiresAt.Format(dateTimeLayout)
		}},
		{Header: "REVOKED", Priority: 4, Whole: true, Value: func(t T) string { return when(t.RevokedAt) }},
	}
}

type tokenRevokeOptions struct {
	env
	Prefix string
}

func newTokenRevokeCmd(f *Factory, runF func(*tokenRevokeOptions) error) *cobra.Command {
	o := &tokenRevokeOptions{env: f.env()}
	return &cobra.Command{
		Use:     "revoke PREFIX",
		Short:   "Revoke a token by its prefix",
		Example: "  licensectl accounts token revoke lct_abcd1234",
		Args:    exactArgs(1, "a token prefix"),
		RunE: func(c *cobra.Command, args []string) error {
			o.Prefix = args[0]
			if runF != nil {
				return runF(o)
			}
			return tokenRevokeRun(c.Context(), o)
		},
	}
}

func tokenRevokeRun(ctx context.Context, o *tokenRevokeOptions) error {
	svc, _, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	if err := svc.RevokeToken(ctx, o.Prefix); err != nil {
		return err
	}
	o.info("Revoked token %s\n", o.Prefix)
	return nil
}

type loginOptions struct {
	env
	WithToken bool
	// ConfigPath is the file the login is stored in, for the resolved
	// configuration.
	ConfigPath func(*Config) string
}

func newLoginCmd(f *Factory, runF func(*loginOptions) error) *cobra.Command {
	o := &loginOptions{env: f.env()}
	c := &cobra.Command{
		Use:   "login --api-url URL [--with-token]",
		Short: "Check a token against a licensectl server and store it in the config file",
		Long: `Check an API token against a licensectl server and store the server's URL and
the token in the config file (created with 0600 permissions), with backend:
http, so later commands talk to that server. The token comes from standard
input with --with-token (so it stays out of shell history), or from --token /
LICENSECTL_API_TOKEN.

An account's token (lct_...) acts for its account. An operator's token
(lco_..., from licensectl operators token create) acts for the vendor, and
for an account named with --account EMAIL where its impersonate scope allows.`,
		Example: `  licensectl login --api-url https://licenses.example.com --with-token < token.txt`,
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o.ConfigPath = func(cfg *Config) string { return configPath(c, cfg) }
			if runF != nil {
				return runF(o)
			}
			return loginRun(c.Context(), o)
		},
	}
	c.Flags().BoolVar(&o.WithToken, "with-token", false, "read the token from standard input")
	return c
}

func loginRun(ctx context.Context, o *loginOptions) error {
	cfg := o.Config()
	if cfg.APIURL == "" {
		return licensing.Errorf(licensing.EINVALID, "--api-url is required")
	}
	token := cfg.Token
	if o.WithToken {
		line, err := bufio.NewReader(o.IO.In).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		token = strings.TrimSpace(line)
		if token == "" {
			return licensing.Errorf(licensing.EINVALID, "--with-token: standard input was empty").
				WithHint("pass the token on standard input: licensectl login --api-url %s --with-token < token.txt", cfg.APIURL)
		}
	}
	if token == "" {
		return licensing.Errorf(licensing.EINVALID, "no token: pass --with-token and the token on standard input")
	}
	client, err := httpapi.NewClient(cfg.APIURL, token)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	me, err := client.Whoami(ctx)
	if err != nil {
		return err
	}
	who := me.Email
	if me.Kind == licensing.KindOperator {
		who = fmt.Sprintf("operator %s (scopes %s)", me.Operator, strings.Join(me.Scopes, ","))
	}
	path := o.ConfigPath(cfg)
	if err := saveLogin(path, cfg.APIURL, token); err != nil {
		return err
	}
	o.info("Logged in to %s as %s; token stored in %s\n", cfg.APIURL, who, path)
	return nil
}

// configPath is the file login writes: the one that was read, the one named,
// or the default.
func configPath(c *cobra.Command, cfg *Config) string {
	if cfg.File != "" {
		return cfg.File
	}
	if p, _ := flagOrEnv(c.Flags(), "config", os.Getenv("LICENSECTL_CONFIG")); p != "" {
		return p
	}
	return defaultConfigFile()
}

// saveLogin sets backend, api.url and api.token in the config file, keeping
// its other keys, and leaves it readable by its owner only.
func saveLogin(path, url, token string) error {
	doc := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return licensing.Errorf(licensing.EINVALID, "config file %s: %s", path, oneLine(err))
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	if doc == nil {
		doc = map[string]any{}
	}
	api, _ := doc["api"].(map[string]any)
	if api == nil {
		api = map[string]any{}
	}
	api["url"], api["token"] = url, token
	doc["api"], doc["backend"] = api, "http"
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}
