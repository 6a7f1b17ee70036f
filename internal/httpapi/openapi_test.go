package httpapi

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

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
