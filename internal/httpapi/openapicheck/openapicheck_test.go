package openapicheck

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// recordingTB is a test double of testing.TB that keeps what a checker
// reports and the cleanups it registers, so that a test can look at a
// failure without failing itself.
type recordingTB struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Helper()             {}
func (r *recordingTB) Cleanup(f func())    { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Logf(string, ...any) {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// fakeServer is a test double of the server's handler: it answers every
// request with the same status, headers and body.
type fakeServer struct {
	status int
	header map[string]string
	body   string
}

func (f fakeServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(f.status)
	fmt.Fprint(w, f.body)
}

// A mismatch fails the test that wrapped the server, when it ends, naming
// the operation, the status and the field or header; a response that keeps
// to the document passes.
func TestWrapReportsMismatches(t *testing.T) {
	spec := LoadDoc(t)
	json := map[string]string{"Content-Type": "application/json"}
	problem := `{"type":"https://licensectl.dev/problems/not_found","title":"Not Found","status":404,"detail":"x","code":"not_found"}`
	for _, c := range []struct {
		name   string
		server fakeServer
		method string
		path   string
		auth   bool
		want   string // "" for no mismatch
	}{
		{"good", fakeServer{200, json, `{"status":"ok"}`}, "GET", "/healthz", false, ""},
		{"a field's type", fakeServer{200, json, `{"status":1}`}, "GET", "/healthz", false,
			"openapi: GET /healthz → 200: field /status: "},
		{"a field not documented", fakeServer{200, json, `{"status":"ok","uptime":3}`}, "GET", "/healthz", false,
			"openapi: GET /healthz → 200: field /uptime: sent but not in the document"},
		{"a header not declared", fakeServer{200, map[string]string{"Content-Type": "application/json", "X-Powered-By": "go"}, `{"status":"ok"}`}, "GET", "/healthz", false,
			"openapi: GET /healthz → 200: header X-Powered-By is sent but not declared for this status"},
		{"a status not listed", fakeServer{418, json, `{"status":"ok"}`}, "GET", "/healthz", false,
			"openapi: GET /healthz → 418: status is not supported"},
		{"a required header missing", fakeServer{429, map[string]string{"Content-Type": "application/problem+json"}, problem}, "GET", "/healthz", false,
			`openapi: GET /healthz → 429: response header "Retry-After" missing`},
		{"no token, yet served", fakeServer{200, json, `[]`}, "GET", "/v1/companies", false,
			"openapi: GET /v1/companies → 200: the server accepted a request the document refuses: security: no bearer token"},
		{"an unknown path served", fakeServer{200, json, `{}`}, "GET", "/v1/nothing", true,
			"openapi: GET /v1/nothing → 200: the document has no such path"},
		{"a path param template matched, a method not", fakeServer{404, map[string]string{"Content-Type": "application/problem+json"}, problem}, "PUT", "/v1/licenses/K", true,
			"openapi: PUT /v1/licenses/K → 404: the document has no PUT at this path, the server answered 404"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			h := spec.Wrap(tb, c.server)
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.auth {
				req.Header.Set("Authorization", "Bearer lct_x")
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			for _, f := range slices.Backward(tb.cleanups) {
				f()
			}
			switch {
			case c.want == "" && len(tb.errors) != 0:
				t.Fatalf("reported %q", tb.errors)
			case c.want != "" && !slices.ContainsFunc(tb.errors, func(e string) bool { return strings.HasPrefix(e, c.want) }):
				t.Fatalf("reported %q, want one starting %q", tb.errors, c.want)
			}
		})
	}
}

// The server's any-case reading of enumerated values is the document's:
// "Not Activated" is not_activated, "LINUX" is linux, in a query and in a
// body; a value outside the enum is still refused.
func TestAnyCase(t *testing.T) {
	spec := LoadDoc(t)
	for _, c := range []struct {
		method, target, body string
		refused              bool
	}{
		{"GET", "/v1/licenses?status=Not%20Activated&kind=TRIAL&usage=UNUSED", "", false},
		{"GET", "/v1/licenses?usage=sometimes", "", true},
		{"GET", "/v1/licenses/K/download?os=MacOS", "", false},
		{"POST", "/v1/activations", `{"license_key":"K","machine":"m","fingerprint":"f","os":" Linux ","version":"5.2"}`, false},
		{"POST", "/v1/activations", `{"license_key":"K","machine":"m","fingerprint":"f","os":"beos","version":"5.2"}`, true},
		{"POST", "/v1/purchases", `{"lines":[{"product":"mbs-server","quantity":1,"billing":"ANNUAL"}]}`, false},
	} {
		req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer lct_x")
		body, whole := readBody(req)
		rc := spec.request(req, body, whole)
		if rc.input == nil || (rc.refused != "") != c.refused {
			t.Errorf("%s %s %s: refused %q, want refused %v", c.method, c.target, c.body, rc.refused, c.refused)
		}
	}
}

// BenchmarkCheck is what the check adds to a typical exchange: a purchase
// and a page of 50 licenses.
func BenchmarkCheck(b *testing.B) {
	spec := LoadDoc(b)
	license := `{"key":"K","product":"backup-server","product_name":"Backup Server","kind":"commercial","term":"perpetual","status":"not_activated","validity":"valid","usage":"unused","company":null,"purchase_id":"P-1","purchase_email":"a@example.com","allow_rm":false,"auto_renew":false,"expires_at":null,"maintenance":"none","maintenance_till":null,"seats":1,"seats_used":0,"created_at":"2026-01-02T03:04:05Z"}`
	page := "[" + strings.TrimSuffix(strings.Repeat(license+",", 50), ",") + "]"
	json := map[string]string{"Content-Type": "application/json"}
	list := spec.Checker(fakeServer{200, json, page})
	purchase := `{"purchase_id":"P-1","account":"a@example.com","purchase_email":"a@example.com","idempotency_key":"k","items":[{"sku":"backup-server","description":"Backup Server","quantity":1,"unit_price_cents":12999,"amount_cents":12999}],"total_cents":12999,"currency":"USD","billing":"","trial":false,"licenses":["K"],"created_at":"2026-01-02T03:04:05Z","replayed":false}`
	buy := spec.Checker(fakeServer{201, json, purchase})
	for b.Loop() {
		req := httptest.NewRequest("GET", "/v1/licenses?kind=commercial&limit=50", nil)
		req.Header.Set("Authorization", "Bearer lct_x")
		list.ServeHTTP(httptest.NewRecorder(), req)
		req = httptest.NewRequest("POST", "/v1/purchases", strings.NewReader(`{"lines":[{"product":"backup-server","quantity":1}]}`))
		req.Header.Set("Authorization", "Bearer lct_x")
		buy.ServeHTTP(httptest.NewRecorder(), req)
	}
	if m := slices.Concat(list.Mismatches(), buy.Mismatches()); len(m) != 0 {
		b.Fatal(m)
	}
}

// The document keeps the rules of its own description, which spectral does
// not know: every operation is named, tagged and summarized, lists its
// statuses (no default), and every response declares X-Request-ID; a 401
// declares WWW-Authenticate, a 429 or a problem 503 Retry-After.
func TestDocumentRules(t *testing.T) {
	doc := LoadDoc(t).doc
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := method + " " + path
			if op.OperationID == "" || len(op.Tags) == 0 || op.Summary == "" || op.Description == "" {
				t.Errorf("%s: operationId %q, tags %v, summary %q, description %q", at, op.OperationID, op.Tags, op.Summary, op.Description)
			}
			if ids[op.OperationID] {
				t.Errorf("%s: operationId %q twice", at, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Responses.Default() != nil {
				t.Errorf("%s: a default response: list the statuses", at)
			}
			for status, ref := range op.Responses.Map() {
				r := ref.Value
				if !declared(r.Headers, "X-Request-ID") {
					t.Errorf("%s → %s: no X-Request-ID", at, status)
				}
				problem := r.Content.Get("application/problem+json") != nil
				switch {
				case status == "401" && !declared(r.Headers, "WWW-Authenticate"):
					t.Errorf("%s → 401: no WWW-Authenticate", at)
				case (status == "429" || status == "503" && problem) && !declared(r.Headers, "Retry-After"):
					t.Errorf("%s → %s: no Retry-After", at, status)
				}
			}
		}
	}
}
