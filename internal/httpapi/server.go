package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/metrics"
)

// Backend is what the server needs of a store.
type Backend interface {
	licensing.Services
	licensing.TokenService
	licensing.IdempotencyService
	Ping(ctx context.Context) error
	// ProbeWrite checks the store can write, so that /readyz reports a store
	// that answers but cannot write (a full disk, a read-only file).
	ProbeWrite(ctx context.Context) error
}

// Options tune a Server.
type Options struct {
	Logger *slog.Logger
	// Rate and Burst bound the requests of each token, and of each client
	// address on the routes that need no token (a token bucket each). Zero
	// Rate means 50 requests/s; zero Burst means twice Rate, at least 1.
	Rate  float64
	Burst int
	// AccountRate and AccountBurst bound the requests of all of an
	// account's tokens together; zero means twice Rate and twice Burst.
	AccountRate  float64
	AccountBurst int
	// MaxTokensPerAccount caps an account's live (neither revoked nor
	// expired) tokens: over
	// the API, creating one more is a conflict. Zero means 50.
	MaxTokensPerAccount int
	// MaxBody bounds request bodies; zero means 1 MiB.
	MaxBody int64
	// MaxStreams bounds the license lists that may stream at once (a list
	// larger than a page holds one of the store's read connections until its
	// client has read it), MaxAccountStreams those of one account, so that
	// slow clients of one account cannot take every slot. Zero means 3 and
	// 2. StreamWait is how long another waits for a slot (default 5 s)
	// before a 503. A list that fits in one page takes no slot.
	MaxStreams        int
	MaxAccountStreams int
	StreamWait        time.Duration
	// ReadyEvery is how often /readyz checks the store at most (default 1 s);
	// in between it answers with the last check.
	ReadyEvery time.Duration
	// Mailer sends attach confirmation codes; the server, not the client,
	// decides where mail goes.
	Mailer licensing.Mailer
	// Clock is the server's time (renewal runs never go past it).
	Clock licensing.Clock
	// TrustedProxies are the proxies whose X-Forwarded-For or Forwarded
	// header says who the client is (see clientAddr); none by default.
	TrustedProxies []netip.Prefix
	// Metrics records requests (by route pattern and status), those in
	// flight, 429s by limit and 503s; nil records nothing.
	Metrics *metrics.Metrics
}

// Server serves the REST API over a Backend.
type Server struct {
	b   Backend
	log *slog.Logger
	// tokens, accounts and addresses bound request rates per token, per
	// account and per client address (routes without a token).
	tokens, accounts, addresses *limiters
	// authFailures slows token guessing per client address.
	authFailures *limiters
	maxTokens    int
	tokenMu      sync.Mutex // counts and creates tokens as one step
	maxBody      int64
	mux          *http.ServeMux
	mailer       licensing.Mailer
	clock        licensing.Clock
	bufs         sync.Pool // *[]byte for encoding license pages
	streams      *streamSlots
	streamWait   time.Duration
	ready        readiness
	trusted      []netip.Prefix
	metrics      *metrics.Metrics
	// unmatched are the request metrics of the catch-all route, by method.
	unmatched map[string]*metrics.Route
}

// unmatchedRoute is the route label of requests no route takes (404, 405):
// never their path, which a client chooses.
const unmatchedRoute = "unmatched"

// route is one endpoint; the OpenAPI test walks these.
type route struct {
	pattern string // "METHOD /path"
	access  access
	handler func(w http.ResponseWriter, r *http.Request) error
	// replay: a POST whose Idempotency-Key the server handles by storing and
	// replaying the response (every POST but these). Purchases don't need it:
	// the store checks their key inside the purchase's own transaction (the
	// stronger guarantee), and responses holding a secret (a new token) must
	// never be stored.
	replay bool
}

// NewServer builds the server and its routes.
func NewServer(b Backend, opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opt.Rate <= 0 {
		opt.Rate, opt.Burst = 50, 100
	}
	if opt.Burst <= 0 {
		opt.Burst = max(1, int(math.Ceil(2*opt.Rate)))
	}
	if opt.AccountRate <= 0 {
		opt.AccountRate = 2 * opt.Rate
	}
	if opt.AccountBurst <= 0 {
		opt.AccountBurst = 2 * opt.Burst
	}
	if opt.MaxTokensPerAccount <= 0 {
		opt.MaxTokensPerAccount = 50
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.Clock == nil {
		opt.Clock = licensing.SystemClock{}
	}
	if opt.MaxStreams <= 0 {
		opt.MaxStreams = 3
	}
	if opt.MaxAccountStreams <= 0 {
		opt.MaxAccountStreams = 2
	}
	if opt.StreamWait <= 0 {
		opt.StreamWait = 5 * time.Second
	}
	if opt.ReadyEvery <= 0 {
		opt.ReadyEvery = time.Second
	}
	s := &Server{b: b, log: slog.New(requestIDHandler{opt.Logger.Handler()}), maxBody: opt.MaxBody, maxTokens: opt.MaxTokensPerAccount,
		tokens:       newLimiters(opt.Rate, opt.Burst),
		accounts:     newLimiters(opt.AccountRate, opt.AccountBurst),
		addresses:    newLimiters(opt.Rate, opt.Burst),
		authFailures: newLimiters(authFailureRate, authFailureBurst),
		mux:          http.NewServeMux(), mailer: opt.Mailer, clock: opt.Clock,
		streams:    newStreamSlots(opt.MaxStreams, opt.MaxAccountStreams),
		streamWait: opt.StreamWait,
		ready:      readiness{every: opt.ReadyEvery},
		trusted:    opt.TrustedProxies,
		metrics:    opt.Metrics}
	s.bufs.New = func() any { b := make([]byte, 0, pageFlush+4<<10); return &b }
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	// Anything else: 405 with Allow when another method is served there,
	// else 404.
	if opt.Metrics != nil {
		s.unmatched = map[string]*metrics.Route{}
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"} {
			s.unmatched[m] = opt.Metrics.Route(m, unmatchedRoute)
		}
	}
	// Unknown routes answer 404/405 to anyone, as before routes had access
	// rules: the catch-all needs no token.
	s.mux.Handle("/", s.wrap(route{pattern: "/", access: public(), handler: s.noRoute}))
	return s
}

// noRoute answers a request no route takes: 405 Method Not Allowed with the
// methods that path does serve, or 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return licensing.Errorf(licensing.ENOTFOUND, "no such endpoint %s %s", r.Method, r.URL.Path)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	p := problemFor(licensing.Errorf(licensing.EINVALID, "method %s is not allowed on %s", r.Method, r.URL.Path).
		WithHint("%s takes %s", r.URL.Path, strings.Join(allow, ", ")))
	p.Status, p.Title = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed)
	writeProblem(w, p)
	return nil
}

// Routes lists "METHOD /path" of every endpoint, for the OpenAPI check.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

func (s *Server) routes() []route {
	L := licensing.ScopeLicensesRead
	return slices.Concat([]route{
		{"GET /healthz", public(), s.healthz, false},
		{"GET /readyz", public(), s.readyz, false},
		{"GET /v1/account", either(anyScope, anyScope), s.getAccount, false},
		{"GET /v1/products", public(), s.listProducts, false},
		{"GET /v1/products/{sku}", public(), s.getProduct, false},
		{"GET /v1/companies", acct(L), s.listCompanies, false},
		{"POST /v1/companies", acct(licensing.ScopeLicensesWrite), s.createCompany, true},
		{"GET /v1/licenses", acct(L), s.listLicenses, false},
		{"GET /v1/license-groups", acct(L), s.groupLicenses, false},
		{"GET /v1/licenses/{key}", acct(L), s.getLicense, false},
		// An operator suspends a license by key alone (UpdateLicense finds
		// its account); anything else it changes for an account.
		{"PATCH /v1/licenses/{key}", either(licensing.ScopeLicensesWrite, licensing.ScopeLicensesSuspend), s.updateLicense, false},
		{"POST /v1/purchases", acct(licensing.ScopePurchasesWrite), s.buy, false},
		{"POST /v1/quotes", acct(L), s.quote, true},
		{"GET /v1/audit", acct(licensing.ScopeAuditRead), s.listAudit, false},
		{"GET /v1/tokens", acct(licensing.ScopeTokensWrite), s.listTokens, false},
		{"POST /v1/tokens", acct(licensing.ScopeTokensWrite), s.createToken, false},
		{"DELETE /v1/tokens/{prefix}", acct(licensing.ScopeTokensWrite), s.revokeToken, false},
	}, s.capabilityRoutes(), s.buildRoutes(), s.operatorRoutes(), s.moneyRoutes(), s.webhookRoutes())
}

// NewHTTPServer wraps h in an http.Server with the timeouts a public server
// needs: slow or stalled clients (slowloris) are cut off instead of holding
// connections, while long license lists move their write deadline as they
// stream.
func NewHTTPServer(h http.Handler, log *slog.Logger, readHeaderTimeout time.Duration) *http.Server {
	if readHeaderTimeout <= 0 {
		readHeaderTimeout = 5 * time.Second
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// recorder remembers the status and size of a response for the log, and
// (for idempotent POSTs) its body.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	keep   *bytes.Buffer
	limit  string // the rate limit a 429 came from (metrics.Limit*)
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.keep != nil {
		rec.keep.Write(b)
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// wrap applies, in order: the request id, logging, body limit,
// authentication, rate limits (per token and per account, or per client
// address on the routes without a token), Idempotency-Key handling for POST,
// and error rendering.
func (s *Server) wrap(rt route) http.Handler {
	var observed *metrics.Route
	if method, path, ok := strings.Cut(rt.pattern, " "); ok {
		observed = s.metrics.Route(method, path)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.Begin()
		id := requestID(r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id) // writeProblem reads it back into request_id
		r = r.WithContext(withRequestID(r.Context(), id))
		rec := &recorder{ResponseWriter: w}
		var tokenPrefix, account string
		client := clientAddr(r, s.trusted)
		defer func() {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("token", tokenPrefix), slog.String("account", account),
				slog.String("client", client), slog.String("remote", r.RemoteAddr))
			s.metrics.End()
			if s.metrics == nil {
				return
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			if observed != nil {
				observed.Observe(status, time.Since(start))
			} else {
				s.unmatched[metrics.Method(r.Method)].Observe(status, time.Since(start))
			}
			if status == http.StatusTooManyRequests {
				s.metrics.RateLimited(cmp.Or(rec.limit, metrics.LimitOther))
			}
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
		}
		ip := limiterKey(client)
		if rt.access.public {
			if wait, ok := take(start, charge{s.addresses, ip}); !ok {
				s.tooMany(rec, metrics.LimitAddress, start, wait, "rate limit exceeded for %s", ip)
				return
			}
		} else {
			secret, ok := bearer(r)
			if !ok {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="licensectl"`)
				writeProblem(rec, problemFor(licensing.Errorf(licensing.EUNAUTHORIZED, "missing bearer token").
					WithHint("create one with `licensectl accounts token create` and log in with `licensectl login`")))
				return
			}
			tokenPrefix = safePrefix(secret)
			// Guessing tokens is slowed per client address: after a burst of
			// failures it is refused before any token is even looked at.
			if wait, blocked := s.authFailures.exhausted(ip, start); blocked {
				s.tooMany(rec, metrics.LimitAuthFailures, start, wait, "too many failed authentications from %s", ip)
				return
			}
			p, err := s.b.Authenticate(r.Context(), secret)
			if err != nil {
				if licensing.ErrorCode(err) == licensing.EUNAUTHORIZED {
					take(start, charge{s.authFailures, ip})
					// Only a token the store refused is invalid_token: a
					// store that cannot be asked (503) says nothing of it,
					// and a client must not drop a good token for that.
					rec.Header().Set("WWW-Authenticate", `Bearer realm="licensectl", error="invalid_token"`)
				}
				s.fail(rec, r, err)
				return
			}
			account = p.Name()
			if wait, ok := take(start, charge{s.tokens, tokenPrefix}, charge{s.accounts, account}); !ok {
				limit := metrics.LimitAccount
				if _, empty := s.tokens.exhausted(tokenPrefix, start); empty {
					limit = metrics.LimitToken
				}
				s.tooMany(rec, limit, start, wait, "rate limit exceeded")
				return
			}
			// The route's access decides, once, what this token may do here.
			ctx, err := authorize(r.Context(), rt.access, p, r.Header.Get(AccountHeader))
			if err != nil {
				s.fail(rec, r, err)
				return
			}
			if onBehalf := licensing.OnBehalfOf(ctx); onBehalf != "" {
				account += " for " + onBehalf
			}
			// The audit log tells a change made over the API from one made
			// on the store host: "EMAIL via api token lct_abcd1234".
			r = r.WithContext(licensing.WithVia(ctx, "api token "+tokenPrefix))
		}
		// Responses are remembered per account: an operator's request for no
		// account has no replay (its operator routes are upserts or
		// conflicts when repeated).
		if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost && rt.replay &&
			licensing.AccountFrom(r.Context()) != "" {
			s.idempotent(rec, r, key, rt)
			return
		}
		if err := rt.handler(rec, r); err != nil {
			s.fail(rec, r, err)
		}
	})
}

// tooMany answers 429 rate_limited with Retry-After (whole seconds, at
// least 1) and retry_at; limit (metrics.Limit*) is the limit that refused.
func (s *Server) tooMany(w *recorder, limit string, now time.Time, wait time.Duration, format string, args ...any) {
	w.limit = limit
	// Retry-After is whole seconds, rounded up: 0 would invite an instant
	// retry that is refused again.
	wait = time.Duration(max(1, math.Ceil(wait.Seconds()))) * time.Second
	e := licensing.Errorf(licensing.ERATELIMITED, format+"; retry in %s", append(args, wait)...).
		WithHint("slow down; the limit is per token and per account")
	retryAfter429(w, &licensing.RetryError{Err: e, RetryAt: now.Add(wait)}, now)
}

// safePrefix is what of a presented token may be logged: its clear prefix.
func safePrefix(secret string) string {
	if len(secret) > 12 {
		return secret[:12]
	}
	return "?"
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// fail renders err as a problem (unless the response has begun).
func (s *Server) fail(rec *recorder, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		p := problemFor(licensing.Errorf(licensing.EINVALID, "request body larger than %d bytes", mbe.Limit))
		p.Status, p.Title = http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge)
		err = nil
		if rec.status == 0 {
			writeProblem(rec, p)
		}
		return
	case !isDomain(err):
		s.log.ErrorContext(r.Context(), "internal error", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	case licensing.RemoteMessage(err) != licensing.ErrorMessage(err):
		// The client gets the message without server-side details (the
		// store's path); the operator gets it whole.
		s.log.ErrorContext(r.Context(), "request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	if rec.status != 0 {
		// A streamed response broke half-way: cut the connection, so the
		// client sees a truncated body rather than a silent short list.
		panic(http.ErrAbortHandler)
	}
	writeProblem(rec, problemFor(err))
}

// idempotent runs a POST at most once per (account, key): a retry with the
// same body gets the stored response, a different body 422, and a retry while
// the first is still running 409.
func (s *Server) idempotent(rec *recorder, r *http.Request, key string, rt route) {
	if len(key) > 255 {
		writeProblem(rec, problemFor(licensing.Errorf(licensing.EINVALID, "Idempotency-Key longer than 255 characters")))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(rec, r, err)
		return
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
	hash := hex.EncodeToString(sum[:])
	stored, err := s.b.BeginIdempotent(r.Context(), key, hash)
	if err != nil {
		s.fail(rec, r, err)
		return
	}
	switch {
	case stored != nil && stored.RequestHash != hash:
		writeProblem(rec, problemFor(&licensing.KeyReusedError{Err: licensing.Errorf(licensing.ECONFLICT,
			"Idempotency-Key %q was already used with a different request", key).WithHint("use a new key for a new request")}))
		return
	case stored != nil && stored.Status == 0:
		writeProblem(rec, problemFor(licensing.Errorf(licensing.ECONFLICT, "a request with Idempotency-Key %q is still in progress", key).
			WithHint("retry in a moment")))
		return
	case stored != nil:
		rec.Header().Set("Content-Type", contentTypeFor(stored.Status))
		rec.Header().Set("Idempotent-Replayed", "true")
		rec.WriteHeader(stored.Status)
		rec.Write(stored.Body)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.keep = &bytes.Buffer{}
	if err := rt.handler(rec, r); err != nil {
		s.fail(rec, r, err)
	}
	// The outcome is stored even if the client went away: its retry must
	// find it. A detached context keeps the account.
	ctx := context.WithoutCancel(r.Context())
	status := rec.status
	if status == http.StatusTooManyRequests {
		// A refusal that time lifts is not the answer to keep: the key is
		// released, as after a failure, so the retry runs.
		status = http.StatusServiceUnavailable
	}
	if err := s.b.FinishIdempotent(ctx, key, status, rec.keep.Bytes()); err != nil {
		s.log.ErrorContext(ctx, "store idempotent response", slog.String("error", err.Error()))
	}
}

func contentTypeFor(status int) string {
	if status >= 400 {
		return "application/problem+json"
	}
	return "application/json"
}

// decode reads a JSON body into v: one value, no unknown fields (a client
// cannot set what the request type does not name: owner, price, expiry),
// field names exactly as documented (case matters) and none twice.
func decode(r *http.Request, v any) error { return decodeBody(r, v, false) }

// decodeBody is decode; with optional, an empty body leaves v as it is.
func decodeBody(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return licensing.Errorf(licensing.EINVALID, "cannot read the request body: %v", err)
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		// encoding/json reads null as the zero request: {"disabled":false}
		// for a PATCH, every scope for a token. The document wants an object.
		return licensing.Errorf(licensing.EINVALID, "invalid request body: null, want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return licensing.Errorf(licensing.EINVALID, "invalid request body: empty, want a JSON object")
		}
		return licensing.Errorf(licensing.EINVALID, "invalid request body: %v", err)
	}
	if dec.More() {
		return licensing.Errorf(licensing.EINVALID, "invalid request body: more than one JSON value")
	}
	return checkFieldNames(data, reflect.TypeOf(v))
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}
