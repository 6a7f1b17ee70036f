// Package openapicheck holds a server to its OpenAPI document in tests: it
// wraps the server's handler and validates every request and every response
// against docs/openapi.yaml with kin-openapi's openapi3filter.
//
// A request the document accepts must get a response the document
// describes: a listed status, its body's schema, its required headers, and
// no header the document does not declare for that status. A request the
// document refuses (a missing field, an unknown one, a value outside an
// enum, no bearer token) must be refused by the server with a 4xx. A method
// the document does not list for a path must answer 405 with an Allow
// header naming the documented methods; a path it does not list, 404.
//
// Objects in responses are checked as closed: a field the server sends that
// the document does not name is a mismatch, although the published document
// leaves response objects open so that clients accept fields added later.
// Enumerated query parameters marked x-licensectl-any-case are compared the
// way the server reads them (any case, spaces or hyphens for underscores).
package openapicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/licensectl/licensectl/internal/licensing"
)

// AnyCase is the extension that marks an enumerated query parameter the
// server reads in any case.
const AnyCase = "x-licensectl-any-case"

// Spec is a loaded OpenAPI document, ready to route and validate requests.
type Spec struct {
	doc *openapi3.T
}

// Load reads an OpenAPI document, checks that it is a valid one and
// prepares it for validation.
func Load(ctx context.Context, data []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: load: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapicheck: not a valid OpenAPI document: %w", err)
	}
	closeObjects(doc)
	return &Spec{doc: doc}, nil
}

// findRoute finds the operation that serves method at the escaped path as
// the server's ServeMux does: a {name} segment matches one non-empty
// segment, and the template with the most literal segments wins. It
// returns nil and the methods the path does serve when none serves method
// (nil, nil when no template matches the path).
func (s *Spec) findRoute(method, escaped string) (*routers.Route, map[string]string, []string) {
	segs := strings.Split(escaped, "/")
	var best *routers.Route
	var bestParams map[string]string
	bestLiterals := -1
	served := map[string]bool{}
	for _, path := range s.doc.Paths.InMatchingOrder() {
		params, literals, ok := matchTemplate(path, segs)
		if !ok {
			continue
		}
		item := s.doc.Paths.Value(path)
		for m := range item.Operations() {
			served[m] = true
		}
		op := item.GetOperation(method)
		if op == nil || literals <= bestLiterals {
			continue
		}
		best = &routers.Route{Spec: s.doc, Path: path, PathItem: item, Method: method, Operation: op}
		bestParams, bestLiterals = params, literals
	}
	if best != nil {
		return best, bestParams, nil
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if served[m] || (m == http.MethodHead && served[http.MethodGet]) {
			allowed = append(allowed, m)
		}
	}
	return nil, nil, allowed
}

// matchTemplate matches the segments of an escaped path to a path template.
func matchTemplate(template string, segs []string) (map[string]string, int, bool) {
	tsegs := strings.Split(template, "/")
	if len(tsegs) != len(segs) {
		return nil, 0, false
	}
	params := map[string]string{}
	literals := 0
	for i, ts := range tsegs {
		if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || segs[i] == "" {
				return nil, 0, false
			}
			params[ts[1:len(ts)-1]] = v
			continue
		}
		if ts != segs[i] {
			return nil, 0, false
		}
		literals++
	}
	return params, literals, true
}

// DocPath is docs/openapi.yaml of the module the working directory is in.
func DocPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs", "openapi.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("openapicheck: no go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadDoc loads docs/openapi.yaml for a test, or fails it.
func LoadDoc(t testing.TB) *Spec {
	t.Helper()
	path, err := DocPath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Wrap returns next checked against the document, for the test's lifetime:
// when the test ends, its mismatches fail it. Call it before starting the
// server that serves the handler (httptest.NewServer and its Cleanup), so
// that the server has finished every request when the mismatches are
// reported.
func (s *Spec) Wrap(t testing.TB, next http.Handler) *Checker {
	c := s.Checker(next)
	t.Cleanup(func() {
		for _, f := range c.Mismatches() {
			t.Errorf("openapi: %s", f)
		}
		t.Logf("openapicheck: %d requests checked against docs/openapi.yaml", c.Checked())
	})
	return c
}

// Checker is a handler that validates what passes through it.
type Checker struct {
	spec *Spec
	next http.Handler

	// queue holds the exchanges not checked yet: they are checked when the
	// mismatches are asked for, not while the server answers, so that the
	// check neither holds back an answer (the end of a streamed one
	// included) nor takes the CPU from a test that times one.
	queue []exchange
	// draining serializes the checks of the queue.
	draining sync.Mutex

	mu         sync.Mutex
	checked    int
	mismatches []string
	seen       map[string]int // mismatch → index in mismatches
	counts     []int
}

// Checker returns next checked against the document; the caller reads
// Mismatches.
func (s *Spec) Checker(next http.Handler) *Checker {
	return &Checker{spec: s, next: next, seen: map[string]int{}}
}

// exchange is one request, as it came, and its answer.
type exchange struct {
	req   *http.Request
	body  []byte
	whole bool
	resp  *capture
}

// drain checks the exchanges answered so far.
func (c *Checker) drain() {
	c.draining.Lock()
	defer c.draining.Unlock()
	c.mu.Lock()
	queue := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, x := range queue {
		c.record(c.spec.response(c.spec.request(x.req, x.body, x.whole), x.resp))
	}
}

// Checked is the number of requests checked so far: every one answered.
func (c *Checker) Checked() int {
	c.drain()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Mismatches lists every mismatch of the requests answered so far, once
// each, with how often it was seen.
func (c *Checker) Mismatches() []string {
	c.drain()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.mismatches))
	for i, m := range c.mismatches {
		out[i] = m
		if c.counts[i] > 1 {
			out[i] += fmt.Sprintf(" (%d times)", c.counts[i])
		}
	}
	return out
}

func (c *Checker) record(problems []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	for _, p := range problems {
		if i, ok := c.seen[p]; ok {
			c.counts[i]++
			continue
		}
		c.seen[p] = len(c.mismatches)
		c.mismatches = append(c.mismatches, p)
		c.counts = append(c.counts, 1)
	}
}

// bodyLimit is the most of a request or response body that is kept for
// validation; larger bodies pass unchecked (the server refuses requests of
// more than 1 MiB, and no test's response is near this).
const bodyLimit = 16 << 20

// ServeHTTP implements http.Handler.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, whole := readBody(r)
	// The request as it came, kept for the check (see Checker.queue).
	sent := r.Clone(context.WithoutCancel(r.Context()))
	cw := &capture{ResponseWriter: w}
	c.next.ServeHTTP(cw, r) // a handler that aborts (panics) leaves nothing to check
	if cw.status == 0 {
		// Nothing written: net/http answers 200 with no body.
		cw.status, cw.header = http.StatusOK, w.Header().Clone()
	}
	cw.ResponseWriter = nil // the answer is over: only the copy is checked
	c.mu.Lock()
	c.queue = append(c.queue, exchange{sent, body, whole, cw})
	c.mu.Unlock()
}

// readBody reads the request's body for validation and puts it back for the
// handler; whole is false when it was larger than bodyLimit or could not be
// read, and then only the head is kept.
func readBody(r *http.Request) (body []byte, whole bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, bodyLimit+1))
	rest := r.Body
	switch {
	case err != nil:
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), errReader{err}), rest}
		return body, false
	case len(body) > bodyLimit:
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
		return body, false
	}
	r.Body = readCloser{bytes.NewReader(body), rest}
	return body, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// capture passes a response through and keeps a copy of its status, the
// headers it was sent with and its body (up to bodyLimit).
type capture struct {
	http.ResponseWriter
	status    int
	header    http.Header
	body      bytes.Buffer
	truncated bool
}

func (cw *capture) WriteHeader(code int) {
	if cw.status == 0 && code >= 200 {
		cw.status = code
		cw.header = cw.ResponseWriter.Header().Clone()
	}
	cw.ResponseWriter.WriteHeader(code)
}

func (cw *capture) Write(b []byte) (int, error) {
	if cw.status == 0 {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.body.Len()+len(b) <= bodyLimit {
		cw.body.Write(b)
	} else {
		cw.truncated = true
	}
	return cw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (write
// deadlines, flushes).
func (cw *capture) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// requestCheck is what the document says of one request.
type requestCheck struct {
	method, path string // as sent
	input        *openapi3filter.RequestValidationInput
	// refused says why the document refuses the request; "" when it
	// accepts it.
	refused  string
	notFound bool     // no documented path matches
	allowed  []string // the path is documented but not for this method: its methods
	head     bool     // a HEAD, checked as its GET without a body
}

// name is the operation for messages: "GET /v1/licenses/{key}".
func (rc *requestCheck) name() string {
	if rc.input != nil {
		return rc.method + " " + rc.input.Route.Path
	}
	return rc.method + " " + rc.path
}

func (s *Spec) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		AuthenticationFunc:    bearerPresent,
	}
}

// bearerPresent is what the document's bearer scheme asks of a request: an
// Authorization header with a bearer token. Whether the token is good is
// the server's to say.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") {
		return fmt.Errorf("security scheme %q is not a bearer scheme", in.SecuritySchemeName)
	}
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token in Authorization")
	}
	return nil
}

func (s *Spec) request(r *http.Request, body []byte, whole bool) *requestCheck {
	rc := &requestCheck{method: r.Method, path: r.URL.Path}
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil // the server reads a body of white space as none
	}
	vr := r.Clone(context.WithoutCancel(r.Context()))
	vr.Body = io.NopCloser(bytes.NewReader(body))
	vr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if r.Method == http.MethodHead {
		rc.head = true
		vr.Method = http.MethodGet
	}
	if len(body) > 0 {
		// The server reads every body as JSON, whatever its Content-Type
		// says (the document says so): curl -d sends a form's type.
		vr.Header.Set("Content-Type", "application/json")
	}
	route, params, allowed := s.findRoute(vr.Method, r.URL.EscapedPath())
	if route == nil {
		rc.allowed = allowed
		rc.notFound = allowed == nil
		return rc
	}
	if whole {
		if norm, ok := anyCaseBody(route.Operation, body); ok {
			vr.Body = io.NopCloser(bytes.NewReader(norm))
			vr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(norm)), nil }
			vr.ContentLength = int64(len(norm))
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: s.options(), QueryParams: anyCaseQuery(route.Operation, route.PathItem, r.URL.Query())}
	rc.input = in
	if !whole {
		in.Options.ExcludeRequestBody = true
	}
	if err := openapi3filter.ValidateRequest(vr.Context(), in); err != nil {
		rc.refused = strings.Join(describe(err), "; ")
	}
	return rc
}

// anyCaseQuery returns q with the values of the operation's any-case
// enumerated parameters in the form the server compares them in.
func anyCaseQuery(op *openapi3.Operation, item *openapi3.PathItem, q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	for _, p := range slices.Concat(item.Parameters, op.Parameters) {
		if p.Value == nil || p.Value.In != openapi3.ParameterInQuery {
			continue
		}
		if on, _ := p.Value.Extensions[AnyCase].(bool); !on {
			continue
		}
		for i, v := range out[p.Value.Name] {
			out[p.Value.Name][i] = licensing.EnumKey(v)
		}
	}
	return out
}

// anyCaseBody returns a JSON request body with its any-case enumerated
// values in the form the server compares them in, and whether any changed.
func anyCaseBody(op *openapi3.Operation, body []byte) ([]byte, bool) {
	if op.RequestBody == nil || op.RequestBody.Value == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil, false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false // the validator reports it as it is
	}
	v, changed := anyCaseValue(v, mt.Schema)
	if !changed {
		return nil, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return out, true
}

func anyCaseValue(v any, ref *openapi3.SchemaRef) (any, bool) {
	if ref == nil || ref.Value == nil {
		return v, false
	}
	s := ref.Value
	switch v := v.(type) {
	case string:
		if on, _ := s.Extensions[AnyCase].(bool); on && licensing.EnumKey(v) != v {
			return licensing.EnumKey(v), true
		}
	case map[string]any:
		changed := false
		for k, sub := range v {
			var c bool
			if v[k], c = anyCaseValue(sub, s.Properties[k]); c {
				changed = true
			}
		}
		return v, changed
	case []any:
		changed := false
		for i, sub := range v {
			var c bool
			if v[i], c = anyCaseValue(sub, s.Items); c {
				changed = true
			}
		}
		return v, changed
	}
	return v, false
}

// transportHeader tells the headers net/http sets or that describe the
// message itself; the document need not declare them.
func transportHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Content-Type", "Content-Length", "Date", "Transfer-Encoding", "Connection", "Trailer":
		return true
	}
	return false
}

// response checks the response to rc and returns what does not match.
func (s *Spec) response(rc *requestCheck, cw *capture) []string {
	status := cw.status
	at := fmt.Sprintf("%s → %d", rc.name(), status)
	var out []string
	fail := func(format string, args ...any) { out = append(out, at+": "+fmt.Sprintf(format, args...)) }

	switch {
	case rc.notFound:
		if status != http.StatusNotFound {
			fail("the document has no such path (%s), the server answered %d", rc.path, status)
		}
		out = append(out, s.problemBody(at, cw)...)
		return out
	case rc.allowed != nil:
		if status != http.StatusMethodNotAllowed {
			fail("the document has no %s at this path, the server answered %d", rc.method, status)
		}
		if got, want := cw.header.Get("Allow"), strings.Join(rc.allowed, ", "); got != want {
			fail("header Allow %q, the document serves %q", got, want)
		}
		out = append(out, s.problemBody(at, cw)...)
		return out
	}

	if rc.refused != "" && status < 400 {
		fail("the server accepted a request the document refuses: %s", rc.refused)
	}
	opts := s.options()
	if rc.head {
		opts.ExcludeResponseBody = true
	}
	if cw.truncated {
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{RequestValidationInput: rc.input, Status: status,
		Header: cw.header, Options: opts}
	in.SetBodyBytes(cw.body.Bytes())
	if rc.head {
		// kin-openapi skips HEAD; check it as its GET without the body.
		get := *rc.input
		req := rc.input.Request.Clone(rc.input.Request.Context())
		req.Method = http.MethodGet
		get.Request = req
		in.RequestValidationInput = &get
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		for _, d := range describe(err) {
			fail("%s", d)
		}
	}
	if resp := rc.input.Route.Operation.Responses.Status(status); resp != nil && resp.Value != nil {
		for name := range cw.header {
			if !transportHeader(name) && !declared(resp.Value.Headers, name) {
				fail("header %s is sent but not declared for this status", name)
			}
		}
	}
	return out
}

func declared(headers openapi3.Headers, name string) bool {
	for h := range headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// problemBody checks the answer to a request the document has no operation
// for: a problem document.
func (s *Spec) problemBody(at string, cw *capture) []string {
	var out []string
	if ct := cw.header.Get("Content-Type"); ct != "application/problem+json" {
		out = append(out, fmt.Sprintf("%s: Content-Type %q, want application/problem+json", at, ct))
	}
	var v any
	if err := json.Unmarshal(cw.body.Bytes(), &v); err != nil {
		return append(out, fmt.Sprintf("%s: body is not JSON: %v", at, err))
	}
	problem := s.doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value == nil {
		return append(out, at+": the document has no Problem schema")
	}
	if err := problem.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		for _, d := range describe(err) {
			out = append(out, at+": Problem: "+d)
		}
	}
	return out
}

// describe turns a validation error into one line per problem, naming the
// parameter, header or body field at fault.
func describe(err error) []string {
	var out []string
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, sub := range e {
				walk(prefix, sub)
			}
		case *openapi3filter.RequestError:
			switch {
			case e.Parameter != nil:
				prefix += fmt.Sprintf("%s parameter %s: ", e.Parameter.In, e.Parameter.Name)
			case e.RequestBody != nil:
				prefix += "request body: "
			}
			switch {
			case e.Err == nil:
				out = append(out, prefix+e.Reason)
			case e.Reason != "" && !isSchemaError(e.Err):
				out = append(out, prefix+e.Reason+": "+e.Err.Error())
			default:
				walk(prefix, e.Err)
			}
		case *openapi3filter.ResponseError:
			if e.Err == nil {
				out = append(out, prefix+e.Reason)
				return
			}
			if e.Reason != "" && !isSchemaError(e.Err) {
				prefix += e.Reason + ": "
			}
			walk(prefix, e.Err)
		case *openapi3filter.SecurityRequirementsError:
			for _, sub := range e.Errors {
				walk(prefix+"security: ", sub)
			}
		case *openapi3.SchemaError:
			field := "/" + strings.Join(e.JSONPointer(), "/")
			reason := e.Reason
			if reason == "" {
				reason = e.Error()
			}
			if leaves := jsonSchemaLeaves(reason); leaves != nil {
				// The JSON Schema 2020-12 validator's report: one line per
				// failing value, each with its own location.
				for _, l := range leaves {
					out = append(out, prefix+fieldProblem(l[0], l[1]))
				}
				return
			}
			out = append(out, prefix+fieldProblem(field, reason))
		default:
			out = append(out, prefix+err.Error())
		}
	}
	walk("", err)
	sort.Strings(out)
	return slices.Compact(out)
}

// fieldProblem is one line of a report: the field and what is wrong with
// it; an unknown property is named as the field.
func fieldProblem(field, reason string) string {
	field = "/" + strings.Trim(field, "/")
	if name, ok := strings.CutPrefix(reason, `property "`); ok {
		if name, ok := strings.CutSuffix(name, `" is unsupported`); ok {
			return fmt.Sprintf("field %s: sent but not in the document", strings.TrimSuffix(field, "/")+"/"+name)
		}
	}
	if names, ok := strings.CutPrefix(reason, "additional properties "); ok {
		if names, ok := strings.CutSuffix(names, " not allowed"); ok {
			var out []string
			for _, n := range strings.Split(names, ", ") {
				out = append(out, fmt.Sprintf("field %s: sent but not in the document", strings.TrimSuffix(field, "/")+"/"+strings.Trim(n, "'")))
			}
			return strings.Join(out, "; ")
		}
	}
	return fmt.Sprintf("field %s: %s", field, reason)
}

// jsonSchemaLeaves reads the report of the JSON Schema 2020-12 validator
// ("jsonschema validation failed ...\n- at '/a': ...\n  - at '/a/b': ...")
// into its innermost lines: location and message. It returns nil for any
// other text.
func jsonSchemaLeaves(report string) [][2]string {
	if !strings.Contains(report, "jsonschema validation failed") {
		return nil
	}
	type line struct {
		depth    int
		at, what string
	}
	var lines []line
	for _, l := range strings.Split(report, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		rest, ok := strings.CutPrefix(trimmed, "- at '")
		if !ok {
			continue
		}
		at, what, ok := strings.Cut(rest, "': ")
		if !ok {
			continue
		}
		lines = append(lines, line{len(l) - len(trimmed), at, what})
	}
	var out [][2]string
	for i, l := range lines {
		if i+1 < len(lines) && lines[i+1].depth > l.depth {
			continue // a group of the lines below
		}
		out = append(out, [2]string{l.at, l.what})
	}
	if out == nil {
		return [][2]string{{"/", report}}
	}
	return out
}

func isSchemaError(err error) bool {
	switch err.(type) {
	case openapi3.MultiError, *openapi3.SchemaError:
		return true
	}
	return false
}

// closeObjects makes every object schema that says nothing of
// additionalProperties refuse properties it does not name, so that the
// validator reports a field the server sends but the document does not
// describe.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil &&
			len(s.AllOf) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		walk(s.Not)
		for _, list := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
			for _, sub := range list {
				walk(sub)
			}
		}
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			if mt != nil {
				walk(mt.Schema)
			}
		}
	}
	if doc.Components != nil {
		for _, ref := range doc.Components.Schemas {
			walk(ref)
		}
		for _, r := range doc.Components.Responses {
			if r.Value != nil {
				content(r.Value.Content)
			}
		}
		for _, b := range doc.Components.RequestBodies {
			if b.Value != nil {
				content(b.Value.Content)
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					content(r.Value.Content)
				}
			}
		}
	}
}
