package cmd

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/licensectl/licensectl/internal/licensing"
)

// envName is the environment variable of a config key.
func envName(key string) string {
	return "LICENSECTL_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// configReference renders every config key with its flag, environment
// variable, default and meaning, from the command tree and configKeys, so
// docs/configuration-reference.md cannot drift from the code.
func configReference(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString("# Configuration reference\n\nGenerated from the code by `licensectl docs config docs/configuration-reference.md`; `docs/configuration.md` explains it.\nPrecedence: flag > environment > config file > default.\n\n")
	b.WriteString("| config key | flag | environment | default | meaning |\n|---|---|---|---|---|\n")
	keys := configKeys()
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, key := range names {
		flagName := keys[key]
		flag, where := findFlag(root, flagName)
		env := "`" + envName(key) + "`"
		if key == "api.token" {
			env += ", `LICENSECTL_TOKEN`"
		}
		def, usage, flagCol := "", "", "—"
		if flag != nil {
			def, usage = flag.DefValue, flag.Usage
			flagCol = "`--" + flag.Name + "`"
			if flag.Shorthand != "" {
				flagCol = "`-" + flag.Shorthand + "`, " + flagCol
			}
			if where != root {
				flagCol += " (" + where.Name() + ")"
			}
		} else {
			usage = mailKeyUsage(key)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", key, flagCol, env, code(def), escapePipes(usage))
	}
	b.WriteString("\nFlags that are not config keys: `--config FILE` (`LICENSECTL_CONFIG`; default `$XDG_CONFIG_HOME/licensectl/config.yaml`) and `--jq EXPR`.\n")
	return b.String()
}

func code(s string) string {
	if s == "" || s == "[]" {
		return ""
	}
	return "`" + s + "`"
}

func escapePipes(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func mailKeyUsage(key string) string {
	switch key {
	case "mail.smtp.host":
		return "SMTP server for attach confirmation codes; when empty, codes go to the outbox directory"
	case "mail.smtp.port":
		return "SMTP port (default 587; STARTTLS when offered)"
	case "mail.smtp.username", "mail.smtp.password":
		return "SMTP authentication (PLAIN, only over TLS)"
	case "mail.from":
		return "sender address (default licensectl@localhost)"
	case "mail.outbox":
		return "directory of .eml files, one per message (default: `outbox` beside the store)"
	case "pager":
		return "command that long tables at a terminal go through (default: $PAGER, else `less -FRX`); empty, `cat` or `false`: none"
	case "refunds.window":
		return "how long after a purchase its buyer may refund it (default 30d; operators refund later with --force)"
	case "receipts.seller":
		return "the seller receipts name (default licensectl)"
	case "payment.provider":
		return "none (default: purchases are recorded as paid) or stripe (card payments through Stripe)"
	case "payment.grace":
		return "how long a subscription whose renewal charge failed stays valid, past due (default 7d)"
	case "payment.stripe.secret_key":
		return "Stripe secret key (sk_live_... or sk_test_...); keep it in the environment, not in a file others read"
	case "payment.stripe.webhook_secret":
		return "signing secret of the webhook endpoint POST /v1/webhooks/stripe (whsec_...)"
	case "payment.stripe.api_base":
		return "Stripe API base URL (default https://api.stripe.com; tests point it at stripe-mock)"
	case "payment.stripe.success_url":
		return "where Stripe Checkout sends the customer after `billing setup` saved a card"
	case "webhooks.allow_private":
		return "let webhook endpoints be loopback, private or link-local addresses (default false: refused, at create time and on every connection)"
	case "webhooks.timeout":
		return "how long one webhook attempt may take, connection to answer (default 10s)"
	case "webhooks.retry_for":
		return "how long a webhook delivery is retried, with exponential backoff, before its endpoint is disabled and the account mailed (default 3d)"
	case "webhooks.backoff":
		return "the delay before a failed webhook's first retry, doubled for each next one up to 6h, jittered (default 5s)"
	case "webhooks.poll":
		return "how often serve's dispatcher looks for other replicas' events and retries coming due (default 1s)"
	case "http.retry_for":
		return "backend http: how long requests that may safely be repeated are retried while the server is unavailable (default 15s; 0: no retries)"
	}
	return ""
}

// findFlag finds a flag by name: a global one on the root, else the first
// command that defines it.
func findFlag(root *cobra.Command, name string) (*pflag.Flag, *cobra.Command) {
	if name == "" {
		return nil, nil
	}
	if f := root.PersistentFlags().Lookup(name); f != nil {
		return f, root
	}
	var found *pflag.Flag
	var where *cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if found == nil {
			if f := c.LocalNonPersistentFlags().Lookup(name); f != nil {
				found, where = f, c
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return found, where
}

// jsonObjects are the objects commands print with -o json, in the order the
// reference lists them.
func jsonObjects() []struct {
	name string
	v    any
} {
	return []struct {
		name string
		v    any
	}{
		{"license (licenses list, set)", licensing.License{}},
		{"license detail (licenses show)", licenseShow{}},
		{"machine (licenses show: machines)", machineView{}},
		{"license group (licenses list --group)", licensing.LicenseGroup{}},
		{"product (products list)", licensing.Product{}},
		{"purchase (licenses buy)", licensing.Purchase{}},
		{"line item (purchase items)", licensing.LineItem{}},
		{"account (accounts list, disable, enable)", licensing.Account{}},
		{"account (accounts create)", accountView{}},
		{"company", licensing.Company{}},
		{"token (accounts token create/list, operators token create/list)", licensing.Token{}},
		{"operator (operators create/list/disable/enable)", licensing.Operator{}},
		{"license owner (licenses find)", licensing.LicenseOwner{}},
		{"purchase owner (purchases find)", licensing.PurchaseOwner{}},
		{"purchase owner license (purchases find: licenses)", licensing.PurchaseOwned{}},
		{"audit event (audit list)", licensing.AuditEvent{}},
		{"maintenance plan (maintenance list)", licensing.MaintenancePlan{}},
		{"maintenance purchase (maintenance buy)", licensing.MaintenancePurchase{}},
		{"renewal (renewals list)", licensing.Renewal{}},
		{"renewal run (renewals run)", licensing.RenewalRun{}},
		{"activation (activations list, activate)", licensing.Activation{}},
		{"validation (licenses validate)", licensing.Validation{}},
		{"download (licenses download)", licensing.Download{}},
		{"attach request (licenses attach --purchase-id/--key)", licensing.AttachPending{}},
		{"attach result (licenses attach --code)", licensing.AttachResult{}},
	}
}

// jsonReference renders the JSON fields of every printed object, from the
// types themselves.
func jsonReference() string {
	var b strings.Builder
	b.WriteString("# JSON field reference\n\nGenerated from the code by `licensectl docs json docs/json-fields.md`. Field names are stable snake_case; " +
		"times are RFC 3339 in UTC; money is integer cents with a `currency`; `null` means absent (no company: the global pool; no expiry: a lifetime license). " +
		"Lists (`-o json`) are arrays of these objects, one per line.\n")
	for _, o := range jsonObjects() {
		fmt.Fprintf(&b, "\n## %s\n\n| field | type |\n|---|---|\n", o.name)
		writeFields(&b, reflect.TypeOf(o.v))
	}
	return b.String()
}

func writeFields(b *strings.Builder, t reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			writeFields(b, f.Type)
			continue
		}
		if name == "" {
			name = f.Name
		}
		fmt.Fprintf(b, "| `%s` | %s |\n", name, jsonType(f.Type))
	}
}

func jsonType(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(licensing.Error{}):
		return "object"
	case t.String() == "time.Time":
		return "string (RFC 3339)"
	case t.String() == "json.RawMessage":
		return "object"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonType(t.Elem()) + " or null"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string (base64)"
		}
		return "array of " + jsonType(t.Elem())
	case reflect.Struct:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64:
		return "integer"
	case reflect.Float64:
		return "number"
	}
	return t.Kind().String()
}
