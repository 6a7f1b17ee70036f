package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"go.yaml.in/yaml/v3"
)

// The spec in docs/openapi.yaml and the server's routes must not drift: every
// route is documented and every documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("openapi %q, want 3.1", spec.OpenAPI)
	}
	var documented []string
	methods := regexp.MustCompile(`^(get|post|put|patch|delete)$`)
	for path, ops := range spec.Paths {
		for m := range ops {
			if methods.MatchString(m) {
				documented = append(documented, strings.ToUpper(m)+" "+path)
			}
		}
	}
	served := (&Server{}).Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("spec and routes differ:\nspec:   %v\nserved: %v", documented, served)
	}
}

// The check of every request and response against docs/openapi.yaml bites:
// each deliberately wrong copy of the document makes the same exchanges
// with the real server fail, naming the route and the field, while the
// document itself passes them.
func TestOpenAPICheckBites(t *testing.T) {
	doc, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fx := setup(t, Options{Rate: 1e9})
	exchanges := []struct{ method, path, body string }{
		{"GET", "/v1/companies", ""},
		{"GET", "/v1/account", ""},
		{"GET", "/v1/tokens", ""},
		{"HEAD", "/v1/licenses?limit=1", ""},
		{"DELETE", "/v1/tokens/lct_nosuchtok", ""},
		{"GET", "/v1/licenses/" + fx.key, ""},
		{"GET", "/v1/products/no-such-product", ""},
		{"POST", "/v1/quotes", `{"lines":[{"product":"backup-server","quantity":1}],"trial":true}`},
		{"POST", "/v1/tokens", ""},
		{"GET", "/v1/licenses?kind=Trial&status=Not%20Activated", ""},
		{"PUT", "/v1/companies", ""},
	}
	check := func(t *testing.T, doc []byte) *openapicheck.Checker {
		t.Helper()
		spec, err := openapicheck.Load(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		c := spec.Checker(NewServer(fx.store, Options{Rate: 1e9}))
		for _, x := range exchanges {
			req := httptest.NewRequest(x.method, x.path, strings.NewReader(x.body))
			req.Header.Set("Authorization", "Bearer "+fx.tokenA)
			c.ServeHTTP(httptest.NewRecorder(), req)
		}
		if c.Checked() != len(exchanges) {
			t.Fatalf("%d exchanges checked, want %d", c.Checked(), len(exchanges))
		}
		return c
	}
	if m := check(t, doc).Mismatches(); len(m) != 0 {
		t.Fatalf("the document itself: %q", m)
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"a field's type", "        name: {type: string}\n        licenses: {type: integer}\n        created_at",
			"        name: {type: string}\n        licenses: {type: string}\n        created_at",
			"GET /v1/companies → 200: field /0/licenses: "},
		{"a field the document does not name", "        rm_supported: {type: boolean}\n", "",
			"GET /v1/licenses/{key} → 200: field /rm_supported: sent but not in the document"},
		{"a status not listed", "          content: {application/json: {schema: {$ref: \"#/components/schemas/Product\"}}}\n        \"404\": {$ref: \"#/components/responses/NotFound\"}\n",
			"          content: {application/json: {schema: {$ref: \"#/components/schemas/Product\"}}}\n",
			"GET /v1/products/{sku} → 404: status is not supported"},
		{"a request the document refuses", "        trial: {type: boolean}\n        idempotency_key", "        trial: {type: string}\n        idempotency_key",
			"POST /v1/quotes → 200: the server accepted a request the document refuses: request body: field /trial: "},
		{"a header not declared", "            Cache-Control: {$ref: \"#/components/headers/NoStore\"}\n", "",
			"POST /v1/tokens → 201: header Cache-Control is sent but not declared for this status"},
		{"an enum without the server's any-case reading", "      x-licensectl-any-case: true\n      schema: {type: string, enum: [commercial, trial, all]}",
			"      schema: {type: string, enum: [commercial, trial, all]}",
			"GET /v1/licenses → 200: the server accepted a request the document refuses: query parameter kind: "},
		{"a method the Allow header names but the document does not", "    post:\n      operationId: createCompany", "    x-post:\n      operationId: createCompany",
			`PUT /v1/companies → 405: header Allow "GET, HEAD, POST", the document serves "GET, HEAD"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if strings.Count(string(doc), c.old) != 1 {
				t.Fatalf("the document does not hold %q once", c.old)
			}
			m := check(t, []byte(strings.Replace(string(doc), c.old, c.new, 1))).Mismatches()
			if !slices.ContainsFunc(m, func(s string) bool { return strings.HasPrefix(s, c.want) }) {
				t.Fatalf("mismatches %q, want one starting %q", m, c.want)
			}
		})
	}
}

// No key of docs/openapi.yaml is without a value: in a flow mapping, a comma
// in an unquoted value ({description: a, b}) silently makes a key of what
// follows, which the validators take for an unknown keyword.
func TestOpenAPINoStrayKeys(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if sub == nil {
					t.Errorf("%s/%s has no value (a comma in an unquoted flow value?)", path, k)
				}
				walk(path+"/"+k, sub)
			}
		case []any:
			for i, sub := range v {
				walk(fmt.Sprintf("%s/%d", path, i), sub)
			}
		}
	}
	walk("", doc)
}
