package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/licensectl/licensectl/internal/app"
	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/postgres"
	"github.com/licensectl/licensectl/internal/webhook"
)

// Config is the resolved configuration of one invocation. Every field is a
// flag, a LICENSECTL_* environment variable and a config file key, with that
// precedence: flag > environment > file > default.
type Config struct {
	File      string // the config file that was read, if any
	Backend   string // local | http
	DB        string // SQLite path (or, later, a postgres:// URL)
	APIURL    string
	Token     string
	Account   string
	Output    string
	NoColor   bool
	Quiet     bool
	Yes       bool
	NoHeaders bool
	// Pager is the command line long tables at a terminal go through; ""
	// when paging is off (--no-pager, pager: cat/false/"").
	Pager string
	// Artifacts is the directory of build artifacts of the local store
	// (and of `serve`): default "artifacts" beside the store file.
	Artifacts string
	Serve     ServeConfig
	Mail      MailConfig
	// Warnings are about the config file: keys it has that nothing reads.
	Warnings []string
	HTTP     HTTPConfig
	Money    MoneyConfig
	Webhooks WebhooksConfig
}

// WebhooksConfig is the `webhooks.*` keys: how the dispatcher delivers.
type WebhooksConfig struct {
	// AllowPrivate lets endpoints be loopback, private or link-local
	// addresses (webhooks.allow_private).
	AllowPrivate bool
	// Timeout bounds one attempt (webhooks.timeout, default 10s).
	Timeout time.Duration
	// RetryFor is how long a delivery is retried before the endpoint is
	// disabled (webhooks.retry_for, default 3d).
	RetryFor time.Duration
	// Backoff is the first retry's delay (webhooks.backoff, default 5s),
	// doubled on each next one.
	Backoff time.Duration
	// Poll is how often serve looks for events other replicas recorded and
	// retries that came due (webhooks.poll, default 1s).
	Poll time.Duration
}

// MoneyConfig is the `refunds.*` and `receipts.*` keys.
type MoneyConfig struct {
	// RefundWindow is how long after a purchase its buyer may refund it
	// (refunds.window, default 30 days).
	RefundWindow time.Duration
	// Seller is who receipts name as the seller (receipts.seller).
	Seller string
	// Provider is payment.provider: none or stripe.
	Provider string
	// Grace is how long a subscription whose renewal charge failed stays
	// valid (payment.grace, default 7 days).
	Grace  time.Duration
	Stripe StripeConfig
}

// StripeConfig is the `payment.stripe.*` keys.
type StripeConfig struct {
	SecretKey, WebhookSecret, APIBase, SuccessURL string
}

// HTTPConfig is the `http.*` section: how the http backend talks to the
// server. No flags: a file or LICENSECTL_HTTP_* variables set it.
type HTTPConfig struct {
	// RetryFor is how long a request that may safely be repeated is retried
	// while the server is unavailable (http.retry_for, default 15s); 0
	// turns retries off.
	RetryFor time.Duration
}

// ServeConfig is the `serve.*` section: flags of `licensectl serve`.
type ServeConfig struct {
	Addr    string
	TLSCert string
	TLSKey  string
	Rate    float64
	// AdminAddr is the admin listener's address (/metrics, /debug/pprof/);
	// "" for none. AdminAllowRemote lets it be other than loopback.
	AdminAddr        string
	AdminAllowRemote bool
	// TrustedProxies are CIDRs or addresses, as given (one may hold several,
	// comma-separated); serve parses them.
	TrustedProxies []string
}

// MailConfig is the `mail.*` section: how confirmation codes are sent. No
// flags: a file or LICENSECTL_MAIL_* variables (SMTP password!) set it.
type MailConfig struct {
	SMTPHost     string
	SMTPPort     int // 0: the default (587)
	SMTPUsername string
	SMTPPassword string
	From         string
	Outbox       string // default: "outbox" beside the store file
}

// configKeys maps config keys to the persistent flags that set them.
func configKeys() map[string]string {
	return map[string]string{
		"backend":    "backend",
		"db":         "db",
		"api.url":    "api-url",
		"api.token":  "token",
		"account":    "account",
		"output":     "output",
		"no-color":   "no-color",
		"quiet":      "quiet",
		"yes":        "yes",
		"no-headers": "no-headers",
		"no-pager":   "no-pager",
		// The pager has no flag (--no-pager turns it off); LICENSECTL_PAGER,
		// the file, then $PAGER set it.
		"pager": "",
		// Keys of one command bind to its own flags; other commands lack them.
		"artifacts":      "artifacts",
		"serve.addr":     "addr",
		"serve.tls-cert": "tls-cert",
		"serve.tls-key":  "tls-key",
		"serve.rate":     "rate",
		// Observability: the admin listener and the proxies trusted to say
		// who the client is.
		"serve.admin-addr":         "admin-addr",
		"serve.admin-allow-remote": "admin-allow-remote",
		"serve.trusted-proxies":    "trusted-proxies",
		// Mail keys have no flag; the environment and the file set them.
		"mail.smtp.host":     "",
		"mail.smtp.port":     "",
		"mail.smtp.username": "",
		"mail.smtp.password": "",
		"mail.from":          "",
		"mail.outbox":        "",
		"http.retry_for":     "",
		// Money: the refund window and the seller receipts name.
		"refunds.window":  "",
		"receipts.seller": "",
		// The payment provider: none (recorded as paid) or stripe.
		"payment.provider":              "",
		"payment.grace":                 "",
		"payment.stripe.secret_key":     "",
		"payment.stripe.webhook_secret": "",
		"payment.stripe.api_base":       "",
		"payment.stripe.success_url":    "",
		// Webhooks: how the dispatcher delivers.
		"webhooks.allow_private": "",
		"webhooks.timeout":       "",
		"webhooks.retry_for":     "",
		"webhooks.backoff":       "",
		"webhooks.poll":          "",
	}
}

// loadConfig resolves the configuration from flags, environment and the config
// file, with one viper instance for this invocation.
func loadConfig(flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix("LICENSECTL")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	for key, flag := range configKeys() {
		if f := flags.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return nil, err
			}
		}
	}
	v.SetDefault("backend", "local")
	// The token also answers to the shorter LICENSECTL_TOKEN.
	if err := v.BindEnv("api.token", "LICENSECTL_API_TOKEN", "LICENSECTL_TOKEN"); err != nil {
		return nil, err
	}

	file, explicit := flagOrEnv(flags, "config", os.Getenv("LICENSECTL_CONFIG"))
	if file == "" {
		file = defaultConfigFile()
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			if !errors.Is(err, fs.ErrNotExist) || explicit {
				return nil, licensing.Errorf(licensing.EINVALID, "config file %s: %v", file, oneLine(err))
			}
			file = ""
		}
	}
	var warnings []string
	if file != "" {
		warnings = unknownConfigKeys(file)
	}

	c := &Config{File: file, Backend: v.GetString("backend"), DB: v.GetString("db"),
		APIURL: v.GetString("api.url"), Token: v.GetString("api.token"),
		Account: v.GetString("account"), Output: v.GetString("output"), Artifacts: v.GetString("artifacts"), Warnings: warnings}
	var noPager bool
	for key, dst := range map[string]*bool{"no-color": &c.NoColor, "quiet": &c.Quiet, "yes": &c.Yes, "no-headers": &c.NoHeaders, "no-pager": &noPager} {
		b, err := parseBool(v.GetString(key))
		if err != nil {
			return nil, licensing.Errorf(licensing.EINVALID, "%s: %v", key, err)
		}
		*dst = b
	}
	if !noPager {
		c.Pager = pagerCommand(v)
	}
	c.Serve = ServeConfig{Addr: v.GetString("serve.addr"), TLSCert: v.GetString("serve.tls-cert"),
		TLSKey: v.GetString("serve.tls-key"), Rate: v.GetFloat64("serve.rate"),
		AdminAddr: strings.TrimSpace(v.GetString("serve.admin-addr")), TrustedProxies: stringList(v.Get("serve.trusted-proxies"))}
	allowRemote, err := parseBool(v.GetString("serve.admin-allow-remote"))
	if err != nil {
		return nil, licensing.Errorf(licensing.EINVALID, "serve.admin-allow-remote: %v", err)
	}
	c.Serve.AdminAllowRemote = allowRemote
	mc, err := mailConfig(v)
	if err != nil {
		return nil, err
	}
	c.Mail = mc
	if c.HTTP, err = httpConfig(v); err != nil {
		return nil, err
	}
	if c.Money, err = moneyConfig(v); err != nil {
		return nil, err
	}
	if c.Webhooks, err = webhooksConfig(v); err != nil {
		return nil, err
	}
	if os.Getenv("NO_COLOR") != "" {
		c.NoColor = true
	}
	if c.Backend, err = (licensing.Enum{Name: "backend", Values: []string{"local", "http"}}).Parse(c.Backend); err != nil {
		return nil, err
	}
	switch c.Backend {
	case "local":
		if c.DB == "" {
			c.DB = defaultDBPath()
		}
		if c.Mail.Outbox == "" {
			dir := filepath.Dir(c.DB)
			if postgres.IsURL(c.DB) { // a URL has no directory: keep mail beside the default store
				dir = filepath.Dir(defaultDBPath())
			}
			c.Mail.Outbox = filepath.Join(dir, "outbox")
		}
		if c.Artifacts == "" {
			dir := filepath.Dir(c.DB)
			if postgres.IsURL(c.DB) {
				dir = filepath.Dir(defaultDBPath())
			}
			c.Artifacts = filepath.Join(dir, "artifacts")
		}
	case "http":
	default:
		return nil, licensing.Errorf(licensing.EINVALID, "invalid backend %q: want local or http", c.Backend)
	}
	return c, nil
}

// pagerCommand is the pager for long tables at a terminal, as gh chooses it:
// LICENSECTL_PAGER (even empty), the pager key, $PAGER, else less -FRX; ""
// when the choice is to have none (empty, cat, false, off, no, 0).
func pagerCommand(v *viper.Viper) string {
	s, set := os.LookupEnv("LICENSECTL_PAGER")
	if !set && v.IsSet("pager") {
		s, set = v.GetString("pager"), true
	}
	if !set {
		if s = os.Getenv("PAGER"); s == "" {
			s = "less -FRX"
		}
	}
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "cat", "false", "off", "no", "0":
		return ""
	}
	return s
}

// stringList reads a config value that is a string ("a,b") from a flag or
// the environment, or a list from the config file.
func stringList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func mailConfig(v *viper.Viper) (MailConfig, error) {
	m := MailConfig{SMTPHost: v.GetString("mail.smtp.host"), SMTPUsername: v.GetString("mail.smtp.username"),
		SMTPPassword: v.GetString("mail.smtp.password"), From: v.GetString("mail.from"), Outbox: v.GetString("mail.outbox")}
	if p := strings.TrimSpace(v.GetString("mail.smtp.port")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return m, licensing.Errorf(licensing.EINVALID, "mail.smtp.port: invalid port %q", p)
		}
		m.SMTPPort = n
	}
	return m, nil
}

func httpConfig(v *viper.Viper) (HTTPConfig, error) {
	h := HTTPConfig{RetryFor: httpapi.DefaultRetryFor}
	if s := strings.TrimSpace(v.GetString("http.retry_for")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return h, licensing.Errorf(licensing.EINVALID, "http.retry_for: invalid duration %q", s).
				WithHint("use a duration such as 15s or 1m; 0 turns retries off")
		}
		h.RetryFor = d
	}
	return h, nil
}

func moneyConfig(v *viper.Viper) (MoneyConfig, error) {
	m := MoneyConfig{RefundWindow: licensing.DefaultRefundWindow, Seller: strings.TrimSpace(v.GetString("receipts.seller")),
		Stripe: StripeConfig{SecretKey: strings.TrimSpace(v.GetString("payment.stripe.secret_key")),
			WebhookSecret: strings.TrimSpace(v.GetString("payment.stripe.webhook_secret")),
			APIBase:       strings.TrimSpace(v.GetString("payment.stripe.api_base")),
			SuccessURL:    strings.TrimSpace(v.GetString("payment.stripe.success_url"))}}
	provider, err := (licensing.Enum{Name: "payment.provider", Values: []string{licensing.ProviderNone, licensing.ProviderStripe}}).
		Parse(strings.TrimSpace(v.GetString("payment.provider")))
	if err != nil {
		return m, err
	}
	if provider == "" {
		provider = licensing.ProviderNone
	}
	m.Provider = provider
	m.Grace = licensing.DefaultGrace
	if s := strings.TrimSpace(v.GetString("payment.grace")); s != "" {
		d, err := parseDays(s)
		if err != nil || d < 0 {
			return m, licensing.Errorf(licensing.EINVALID, "payment.grace: invalid duration %q", s).
				WithHint("use days such as 7d, or a duration such as 72h")
		}
		m.Grace = d
	}
	if s := strings.TrimSpace(v.GetString("refunds.window")); s != "" {
		d, err := parseDays(s)
		if err != nil || d <= 0 {
			return m, licensing.Errorf(licensing.EINVALID, "refunds.window: invalid duration %q", s).
				WithHint("use days such as 30d, or a duration such as 720h")
		}
		m.RefundWindow = d
	}
	return m, nil
}

func webhooksConfig(v *viper.Viper) (WebhooksConfig, error) {
	w := WebhooksConfig{Timeout: webhook.DefaultTimeout, RetryFor: app.DefaultWebhookRetryFor, Backoff: 5 * time.Second, Poll: time.Second}
	if s := strings.TrimSpace(v.GetString("webhooks.allow_private")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return w, licensing.Errorf(licensing.EINVALID, "webhooks.allow_private: want true or false, not %q", licensing.ClipArg(s))
		}
		w.AllowPrivate = b
	}
	for _, d := range []struct {
		key string
		to  *time.Duration
	}{{"webhooks.timeout", &w.Timeout}, {"webhooks.retry_for", &w.RetryFor}, {"webhooks.backoff", &w.Backoff}, {"webhooks.poll", &w.Poll}} {
		s := strings.TrimSpace(v.GetString(d.key))
		if s == "" {
			continue
		}
		n, err := parseDays(s)
		if err != nil || n <= 0 {
			return w, licensing.Errorf(licensing.EINVALID, "%s: invalid duration %q", d.key, licensing.ClipArg(s)).
				WithHint("use a duration such as 10s, 5m or 3d")
		}
		*d.to = n
	}
	return w, nil
}

// parseDays reads a duration that may be whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 36500 {
			return 0, fmt.Errorf("invalid days %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("invalid boolean %q", s)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func flagOrEnv(flags *pflag.FlagSet, name, env string) (string, bool) {
	if f := flags.Lookup(name); f != nil && f.Changed {
		return f.Value.String(), true
	}
	return env, env != ""
}

// defaultConfigFile is $XDG_CONFIG_HOME/licensectl/config.yaml or the OS
// equivalent.
func defaultConfigFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return ""
		}
	}
	return filepath.Join(dir, "licensectl", "config.yaml")
}

// defaultDBPath is the store in the user's data directory:
// $XDG_DATA_HOME/licensectl, ~/.local/share/licensectl, ~/Library/Application
// Support/licensectl or %LocalAppData%\licensectl.
func defaultDBPath() string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home := os.Getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		switch runtime.GOOS {
		case "windows":
			dir = os.Getenv("LocalAppData")
		case "darwin":
			dir = filepath.Join(home, "Library", "Application Support")
		default:
			dir = filepath.Join(home, ".local", "share")
		}
	}
	return filepath.Join(dir, "licensectl", "licensectl.db")
}

// unknownConfigKeys warns about each key of the config file that is not a
// config key (nested keys by their dotted name), with the known key it most
// likely meant. A typo must not silently fall back to a default; but it is
// a warning, not an error, so an older or newer binary still runs.
func unknownConfigKeys(file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil // viper read it a moment ago; it reports real trouble itself
	}
	var doc map[string]any
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	known := configKeys()
	var warnings []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			key := prefix + strings.ToLower(k)
			if _, ok := known[key]; ok {
				continue
			}
			if sub, ok := m[k].(map[string]any); ok && hasKeyUnder(known, key) {
				walk(key+".", sub)
				continue
			}
			w := fmt.Sprintf("config file %s: unknown key %q", file, licensing.ClipArg(key))
			if s := suggestConfigKey(known, key); s != "" {
				w += fmt.Sprintf(" (did you mean %q?)", s)
			}
			warnings = append(warnings, w)
		}
	}
	walk("", doc)
	return warnings
}

func hasKeyUnder(known map[string]string, prefix string) bool {
	for k := range known {
		if strings.HasPrefix(k, prefix+".") {
			return true
		}
	}
	return false
}

// suggestConfigKey is the known key closest to key: within two edits (or a
// third of its length), or one that ends with it (tls-cert: serve.tls-cert).
func suggestConfigKey(known map[string]string, key string) string {
	best, bestDist := "", 0
	for k := range known {
		d := editDistance(key, k)
		if strings.HasSuffix(k, "."+key) {
			d = 1
		}
		if (d <= 2 || 3*d <= len(key)) && (best == "" || d < bestDist || d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
