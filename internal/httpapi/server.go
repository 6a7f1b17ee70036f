package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Backend is what the server needs of a store.
type Backend interface {
	licensing.Services
	licensing.TokenService
	licensing.IdempotencyService
	Ping(ctx context.Context) error
}

// A client address may fail authentication authFailureBurst times in a row,
// then once every 1/authFailureRate seconds: token guessing gets nowhere
// (tokens hold 120 secret bits anyway), legitimate typos are not locked out.
const (
	authFailureBurst = 20
	authFailureRate  = 0.2
)

// Options tune a Server.
type Options struct {
	Logger *slog.Logger
	// Rate and Burst bound requests per token (a token bucket); zero Rate
	// means 50 requests/s with bursts of 100.
	Rate  float64
	Burst int
	// MaxBody bounds request bodies; zero means 1 MiB.
	MaxBody int64
	// MaxStreams bounds the license lists that may stream at once (a list
	// larger than a page holds one of the store's read connections until its
	// client has read it); zero means 2, so slow clients cannot take every
	// connection. StreamWait is how long another waits for a turn (default
	// 5 s) before a 503.
	MaxStreams int
	StreamWait time.Duration
	// Mailer sends attach confirmation codes; the server, not the client,
	// decides where mail goes.
	Mailer licensing.Mailer
	// Clock is the server's time (renewal runs never go past it).
	Clock licensing.Clock
}

// Server serves the REST API over a Backend.
type Server struct {
	b       Backend
	log     *slog.Logger
	limiter *limiter
	// authFailures slows token guessing per client address.
	authFailures *limiter
	maxBody      int64
	mux          *http.ServeMux
	mailer       licensing.Mailer
	clock        licensing.Clock
	bufs         sync.Pool // *[]byte for encoding license pages
	streams      chan struct{}
	streamWait   time.Duration
}

// route is one endpoint; the OpenAPI test walks these.
type route struct {
	pattern string // "METHOD /path"
	auth    bool
	handler func(w http.ResponseWriter, r *http.Request) error
	// replay: a POST whose Idempotency-Key the server handles by storing and
	// replaying the response. Purchases don't need it: the store checks their
	// key inside the purchase's own transaction (the stronger guarantee), and
	// responses holding a secret (a new token) must never be stored.
	replay bool
}

// NewServer builds the server and its routes.
func NewServer(b Backend, opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opt.Rate == 0 {
		opt.Rate, opt.Burst = 50, 100
	}
	if opt.Burst == 0 {
		opt.Burst = int(opt.Rate) * 2
	}
	if opt.MaxBody == 0 {
		opt.MaxBody = 1 << 20
	}
	if opt.Clock == nil {
		opt.Clock = licensing.SystemClock{}
	}
	s := &Server{b: b, log: opt.Logger, limiter: newLimiter(opt.Rate, opt.Burst), maxBody: opt.MaxBody,
		authFailures: newLimiter(authFailureRate, authFailureBurst),
		mux:          http.NewServeMux(), mailer: opt.Mailer, clock: opt.Clock}
	if opt.MaxStreams <= 0 {
		opt.MaxStreams = 2
	}
	if opt.StreamWait <= 0 {
		opt.StreamWait = 5 * time.Second
	}
	s.streams, s.streamWait = make(chan struct{}, opt.MaxStreams), opt.StreamWait
	s.bufs.New = func() any { b := make([]byte, 0, pageFlush+4<<10); return &b }
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(licensing.Errorf(licensing.ENOTFOUND, "no such endpoint %s %s", r.Method, r.URL.Path)))
	})
	return s
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
	return append([]route{
		{"GET /healthz", false, s.healthz, false},
		{"GET /readyz", false, s.readyz, false},
		{"GET /v1/account", true, s.getAccount, false},
		{"GET /v1/products", false, s.listProducts, false},
		{"GET /v1/products/{sku}", false, s.getProduct, false},
		{"GET /v1/companies", true, s.listCompanies, false},
		{"POST /v1/companies", true, s.createCompany, true},
		{"GET /v1/licenses", true, s.listLicenses, false},
		{"GET /v1/license-groups", true, s.groupLicenses, false},
		{"GET /v1/licenses/{key}", true, s.getLicense, false},
		{"PATCH /v1/licenses/{key}", true, s.updateLicense, false},
		{"POST /v1/purchases", true, s.buy, false},
		{"POST /v1/quotes", true, s.quote, false},
		{"GET /v1/audit", true, s.listAudit, false},
		{"GET /v1/tokens", true, s.listTokens, false},
		{"POST /v1/tokens", true, s.createToken, false},
		{"DELETE /v1/tokens/{prefix}", true, s.revokeToken, false},
	}, s.capabilityRoutes()...)
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

// wrap applies, in order: logging, body limit, authentication, the per-token
// rate limit, Idempotency-Key handling for POST, and error rendering.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var tokenPrefix, account string
		defer func() {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("token", tokenPrefix), slog.String("account", account),
				slog.String("remote", r.RemoteAddr))
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, s.maxBody)
		}
		if rt.auth {
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
			ip := clientIP(r)
			if wait, blocked := s.authFailures.exhausted(ip); blocked {
				s.tooMany(rec, wait, "too many failed authentications from %s", ip)
				return
			}
			email, err := s.b.Authenticate(r.Context(), secret)
			if err != nil {
				if licensing.ErrorCode(err) == licensing.EUNAUTHORIZED {
					s.authFailures.allow(ip)
				}
				rec.Header().Set("WWW-Authenticate", `Bearer realm="licensectl", error="invalid_token"`)
				s.fail(rec, r, err)
				return
			}
			account = email
			if wait, ok := s.limiter.allow(tokenPrefix); !ok {
				s.tooMany(rec, wait, "rate limit exceeded")
				return
			}
			r = r.WithContext(licensing.WithAccount(r.Context(), email))
		}
		if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost && rt.auth && rt.replay {
			s.idempotent(rec, r, key, rt)
			return
		}
		if err := rt.handler(rec, r); err != nil {
			s.fail(rec, r, err)
		}
	})
}

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, wait time.Duration, format string, args ...any) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
	p := problemFor(licensing.Errorf(licensing.EUNAUTHORIZED, format+"; retry in %s", append(args, wait.Round(time.Millisecond))...))
	p.Status, p.Title = http.StatusTooManyRequests, http.StatusText(http.StatusTooManyRequests)
	writeProblem(w, p)
}

// clientIP is the address a request came from (behind a proxy, the proxy's).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
		p := problemFor(licensing.Errorf(licensing.ECONFLICT, "Idempotency-Key %q was already used with a different request", key))
		p.Status, p.Title = http.StatusUnprocessableEntity, http.StatusText(http.StatusUnprocessableEntity)
		writeProblem(rec, p)
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
	if err := s.b.FinishIdempotent(ctx, key, rec.status, rec.keep.Bytes()); err != nil {
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
// cannot set what the request type does not name: owner, price, expiry).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return licensing.Errorf(licensing.EINVALID, "invalid request body: %v", err)
	}
	if dec.More() {
		return licensing.Errorf(licensing.EINVALID, "invalid request body: more than one JSON value")
	}
	return nil
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

// limiter is a token bucket per API token.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// exhausted reports, without taking from it, whether key's bucket is empty
// and how long until it holds one again.
func (l *limiter) exhausted(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0, false
	}
	tokens := min(l.burst, b.tokens+time.Since(b.last).Seconds()*l.rate)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / l.rate * float64(time.Second)), true
}

// allow takes one request from key's bucket, or says how long to wait.
func (l *limiter) allow(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now() // wall time: rate limits are about load, not the store's clock
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100000 {
			clear(l.buckets) // bounded memory; a reset only forgives
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}
