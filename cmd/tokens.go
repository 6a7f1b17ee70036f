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

type tokenCreateOptions struct{ env }

func newTokenCreateCmd(f *Factory, runF func(*tokenCreateOptions) error) *cobra.Command {
	o := &tokenCreateOptions{env: f.env()}
	return &cobra.Command{
		Use:   "create",
		Short: "Create an API token (shown once; only its hash is stored)",
		Example: `  licensectl --db /srv/licensectl.db --account ops@example.com accounts token create
  licensectl accounts token create -o json | jq -r .token`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return tokenCreateRun(c.Context(), o)
		},
	}
}

func tokenCreateRun(ctx context.Context, o *tokenCreateOptions) error {
	svc, format, ctx, err := o.begin(ctx)
	if err != nil {
		return err
	}
	t, err := svc.CreateToken(ctx, licensing.TokenRequest{})
	if err != nil {
		return err
	}
	return output.Object(o.IO.Out, format, t, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s\n\nThis is the only time the token is shown: store it now (e.g. licensectl login --with-token).\nIt can be revoked with: licensectl accounts token revoke %s\n", t.Secret, t.Prefix)
		return err
	})
}

type tokenListOptions struct{ env }

func newTokenListCmd(f *Factory, runF func(*tokenListOptions) error) *cobra.Command {
	o := &tokenListOptions{env: f.env()}
	return &cobra.Command{
		Use:     "list",
		Short:   "List tokens by prefix",
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
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format(dateTimeLayout)
	}
	return writeSlice(o.env, format, []output.Column[licensing.Token]{
		{Header: "PREFIX", Keep: true, Value: func(t licensing.Token) string { return t.Prefix }},
		{Header: "CREATED", Priority: 2, Value: func(t licensing.Token) string { return t.CreatedAt.Format(dateTimeLayout) }},
		{Header: "LAST USED", Priority: 1, Value: func(t licensing.Token) string { return when(t.LastUsed) }},
		{Header: "REVOKED", Priority: 3, Value: func(t licensing.Token) string { return when(t.RevokedAt) }},
	}, ts, "No API tokens — create one with `licensectl accounts token create`")
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
LICENSECTL_API_TOKEN.`,
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
	p, err := client.Authenticate(ctx, token)
	if err != nil {
		return err
	}
	email := p.Email
	path := o.ConfigPath(cfg)
	if err := saveLogin(path, cfg.APIURL, token); err != nil {
		return err
	}
	o.info("Logged in to %s as %s; token stored in %s\n", cfg.APIURL, email, path)
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
