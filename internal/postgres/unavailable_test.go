package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensectl/licensectl/internal/httpapi"
	"github.com/licensectl/licensectl/internal/httpapi/openapicheck"
	"github.com/licensectl/licensectl/internal/licensing"
)

// proxy forwards TCP connections from a loopback port to the PostgreSQL
// server. cut drops every forwarded connection and turns new ones away
// (accepted and closed at once, as a server going down would), until
// restore: the server stays up for the other tests of this machine.
type proxy struct {
	ln      net.Listener
	network string // of the server: tcp or unix
	target  string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

// startProxy starts a proxy in front of the server dbURL names and returns
// it with dbURL rewritten to go through it.
func startProxy(t *testing.T, dbURL string) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	host, port := u.Hostname(), u.Port()
	if h := q.Get("host"); h != "" {
		host = h
	}
	if p := q.Get("port"); p != "" {
		port = p
	}
	if port == "" {
		port = "5432"
	}
	p := &proxy{network: "tcp", target: net.JoinHostPort(host, port), conns: map[net.Conn]bool{}}
	if strings.HasPrefix(host, "/") { // a unix socket directory
		p.network, p.target = "unix", filepath.Join(host, ".s.PGSQL."+port)
	}
	if p.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.ln.Close(); p.cut() })
	go p.serve()
	q.Del("host")
	q.Del("port")
	u.RawQuery = q.Encode()
	u.Host = p.ln.Addr().String()
	return p, u.String()
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		if !down {
			p.conns[c] = true
		}
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial(p.network, p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down || !p.conns[c] {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[s] = true
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// While PostgreSQL cannot be reached, a running server answers every
// request - reads, purchases, authentication - with 503, problem code
// unavailable, Retry-After of at least a second and retry_at, never 500;
// once PostgreSQL is back, the same requests succeed, without a restart.
func TestUnreachablePostgresIs503(t *testing.T) {
	direct, dbURL := openSchema(t, nil)
	ctx := newAccount(t, direct, "a@example.com")
	tok, err := services(direct).CreateToken(ctx, licensing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	px, viaProxy := startProxy(t, dbURL)
	store := openURL(t, viaProxy, nil, false)
	srv := httptest.NewServer(openapicheck.LoadDoc(t).Wrap(t, httpapi.NewServer(services(store), httpapi.Options{Rate: 10000})))
	t.Cleanup(srv.Close)

	n := 0
	request := func(method, path, body string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	requests := func() [][3]string {
		n++
		return [][3]string{
			{"GET", "/v1/licenses?limit=10", ""},
			{"GET", "/v1/account", ""},
			{"POST", "/v1/purchases", `{"lines":[{"product":"backup-server","quantity":2}],"idempotency_key":"px-` + strconv.Itoa(n) + `"}`},
			{"GET", "/v1/products", ""},
		}
	}
	for _, r := range requests() {
		if resp, body := request(r[0], r[1], r[2]); resp.StatusCode >= 300 {
			t.Fatalf("before the cut: %s %s: %d %s", r[0], r[1], resp.StatusCode, body)
		}
	}

	px.cut()
	// A token checked in the last second is trusted without the store
	// (app.tokenCacheTTL): GET /v1/account, which needs nothing else, would
	// still answer. Past that, every request needs PostgreSQL.
	time.Sleep(1100 * time.Millisecond)
	for round := range 3 {
		for _, r := range requests() {
			start := time.Now()
			resp, body := request(r[0], r[1], r[2])
			var p httpapi.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("round %d: %s %s: %d %s", round, r[0], r[1], resp.StatusCode, body)
			}
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != http.StatusServiceUnavailable || p.Code != licensing.EUNAVAILABLE || secs < 1 || p.RetryAt == nil {
				t.Fatalf("round %d: %s %s while PostgreSQL is unreachable: %d, Retry-After %q, %s",
					round, r[0], r[1], resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			if strings.Contains(p.Detail, "127.0.0.1") || strings.Contains(p.Detail, "postgres@") {
				t.Errorf("detail names the server: %q", p.Detail)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s %s took %v to answer 503", r[0], r[1], took)
			}
		}
	}
	if resp, _ := request("GET", "/readyz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while PostgreSQL is unreachable: %d", resp.StatusCode)
	}

	px.restore()
	for round := range 2 {
		for _, r := range requests() {
			if resp, body := request(r[0], r[1], r[2]); resp.StatusCode >= 300 {
				t.Fatalf("round %d after restore: %s %s: %d %s", round, r[0], r[1], resp.StatusCode, body)
			}
		}
	}
	var bought int
	if err := direct.pool.QueryRow(context.Background(), "SELECT count(*) FROM licenses").Scan(&bought); err != nil {
		t.Fatal(err)
	}
	if bought != 2*3 { // the purchases before the cut and the two rounds after
		t.Errorf("%d licenses, want 6: a purchase refused with 503 was made anyway, or one was lost", bought)
	}
}

// Connections the server ends (pg_terminate_backend, as a restart or an
// administrator does: 57P01) fail their request with a temporary failure
// at worst, never an internal error, and the pool recovers by itself.
func TestTerminatedConnectionsAreUnavailable(t *testing.T) {
	direct, dbURL := openSchema(t, nil)
	ctx := newAccount(t, direct, "a@example.com")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	app := "lct_term_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	s := openURL(t, u.String(), nil, false)
	list := func() error {
		return services(s).ListLicenses(ctx, licensing.LicenseFilter{Limit: 5}, func(*licensing.License) error { return nil })
	}
	for round := range 3 {
		if err := list(); err != nil {
			t.Fatalf("round %d, before: %v", round, err)
		}
		if _, err := direct.pool.Exec(context.Background(),
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
			t.Fatal(err)
		}
		if err := list(); err != nil && licensing.ErrorCode(err) != licensing.EUNAVAILABLE {
			t.Fatalf("round %d, on a terminated connection: %v (code %s), want success or %s",
				round, err, licensing.ErrorCode(err), licensing.EUNAVAILABLE)
		}
		_, err := services(s).Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "backup-server", Quantity: 1}}}, nil)
		if err != nil && licensing.ErrorCode(err) != licensing.EUNAVAILABLE {
			t.Fatalf("round %d, purchase: %v", round, err)
		}
		if err := list(); err != nil {
			t.Fatalf("round %d, after: %v", round, err)
		}
	}
}

// A transaction that keeps losing serialization races is a temporary
// failure once write stops retrying (503, exit 75), never a raw 500.
func TestLostRacesAreUnavailable(t *testing.T) {
	s, _ := openSchema(t, nil)
	for _, cause := range []error{&pgconn.PgError{Code: "40001", Message: "could not serialize access"}, errRetry} {
		runs := 0
		err := s.write(context.Background(), func(pgx.Tx) error { runs++; return cause })
		if licensing.ErrorCode(err) != licensing.EUNAVAILABLE || runs != maxAttempts {
			t.Errorf("%v: err %v (code %s) after %d runs, want %s after %d", cause, err, licensing.ErrorCode(err), runs, licensing.EUNAVAILABLE, maxAttempts)
		}
	}
}

// What counts as a lost connection, and what does not.
func TestConnectionFailure(t *testing.T) {
	temporary := []error{
		&pgconn.PgError{Code: "57P01"}, &pgconn.PgError{Code: "57P02"}, &pgconn.PgError{Code: "57P03"},
		&pgconn.PgError{Code: "08006"}, &pgconn.PgError{Code: "53300"},
		io.EOF, io.ErrUnexpectedEOF, pgconn.ErrConnClosed, syscall.ECONNREFUSED, syscall.ECONNRESET,
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "57P01"}),
	}
	for _, err := range temporary {
		if _, ok := connectionFailure(err); !ok {
			t.Errorf("%#v: not a connection failure", err)
		}
		if got := unavailable(context.Background(), err); licensing.ErrorCode(got) != licensing.EUNAVAILABLE {
			t.Errorf("%#v: code %s", err, licensing.ErrorCode(got))
		}
	}
	permanent := []error{
		&pgconn.PgError{Code: "28P01"}, &pgconn.PgError{Code: "3D000"}, &pgconn.PgError{Code: "23505"},
		&pgconn.PgError{Code: "40001"}, pgx.ErrNoRows, errors.New("boom"),
		&net.DNSError{Err: "no such host", Name: "pg.invalid", IsNotFound: true},
	}
	for _, err := range permanent {
		if got := unavailable(context.Background(), err); got != err {
			t.Errorf("%#v became %v", err, got)
		}
	}
	// The caller's own cancellation stays a cancellation.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := unavailable(cctx, io.EOF); got != io.EOF {
		t.Errorf("cancelled: %v", got)
	}
}
