package httpapi

import (
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
