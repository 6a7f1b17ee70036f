package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if status := s.readiness(r.Context()); status != "" {
		return writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": status})
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// readiness is /readyz's view of the store, checked at most once per every.
type readiness struct {
	every  time.Duration
	mu     sync.Mutex
	at     time.Time
	status string // "" when ready
}

// readyCheckTimeout bounds one readiness check. A write probe that only
// waited this long for the write lock (a large purchase holds it for
// seconds) finds the store writing, which is ready.
const readyCheckTimeout = 2 * time.Second

// readiness returns "" when the store answers and can write, or what is
// wrong; probes hitting /readyz in a loop check the store at most once per
// ReadyEvery.
func (s *Server) readiness(ctx context.Context) string {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	now := time.Now() // wall time: this is about the process, not the store's clock
	if !s.ready.at.IsZero() && now.Sub(s.ready.at) < s.ready.every {
		return s.ready.status
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyCheckTimeout)
	defer cancel()
	status := ""
	if err := s.b.Ping(cctx); err != nil {
		s.log.ErrorContext(ctx, "store not ready", "error", err.Error())
		status = "store unavailable"
	} else {
		if err := s.b.ProbeWrite(cctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.ErrorContext(ctx, "store not ready: it cannot write", "error", err.Error())
			status = "store cannot write"
		}
	}
	if status == "" && s.ready.status != "" {
		s.log.InfoContext(ctx, "store ready again")
	}
	s.ready.at, s.ready.status = time.Now(), status
	return status
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, whoami(r.Context()))
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.b.ListProducts(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ps)
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.b.FindProduct(r.Context(), r.PathValue("sku"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) listCompanies(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.b.ListCompanies(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

type createCompanyRequest struct {
	Name string `json:"name"`
}

func (s *Server) createCompany(w http.ResponseWriter, r *http.Request) error {
	var req createCompanyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := s.b.CreateCompany(r.Context(), req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

// filterFrom reads a license filter from query parameters (the names of
// FilterQuery).
func filterFrom(q url.Values) (licensing.LicenseFilter, error) {
	f := licensing.LicenseFilter{Company: q.Get("company"), Kind: q.Get("kind"), Validity: q.Get("validity"),
		Usage: q.Get("usage"), Status: q.Get("status"), Maintenance: q.Get("maintenance"),
		Product: q.Get("product"), Search: q.Get("search")}
	var err error
	if f.Pool, err = boolParam(q, "pool"); err != nil {
		return f, err
	}
	if f.AutoRenew, err = boolParam(q, "auto_renew"); err != nil {
		return f, err
	}
	if f.IncludeRevoked, err = boolParam(q, "include_revoked"); err != nil {
		return f, err
	}
	if f.Sort, err = licensing.ParseSort(q.Get("sort")); err != nil {
		return f, err
	}
	if f.Limit, err = intParam(q, "limit"); err != nil {
		return f, err
	}
	if f.Offset, err = intParam(q, "offset"); err != nil {
		return f, err
	}
	return f, f.Validate()
}

func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, licensing.Errorf(licensing.EINVALID, "query parameter %s: want true or false", name)
	}
	return b, nil
}

func intParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, licensing.Errorf(licensing.EINVALID, "query parameter %s: want a whole number >= 0", name)
	}
	return n, nil
}

// listLicenses streams a JSON array, one license per line, so a page of any
// size is sent in bounded memory: licenses are encoded into a pooled buffer
// that is written out whenever it holds pageFlush bytes. A page that fits is
// sent in one write with a Content-Length, and an error before the first
// write still gets a proper problem response. The write deadline moves with
// the stream: a long list is not cut by WriteTimeout, a stalled client still is.
func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	if f.Limit == 0 || f.Limit > pageLicenses {
		// A list that fits in one page takes no stream slot: one more than
		// a page is read first, and when that is the whole list it is the
		// answer.
		page := f
		page.Limit = pageLicenses + 1
		b, n := []byte("[\n"), 0
		err := s.b.ListLicenses(r.Context(), page, func(l *licensing.License) error {
			if n > 0 {
				b = append(b, ",\n"...)
			}
			n++
			var err error
			b, err = output.AppendLicenseJSON(b, l)
			return err
		})
		switch {
		case err != nil:
			return err
		case n == 0:
			return writeJSON(w, http.StatusOK, []any{})
		case n <= pageLicenses:
			b = append(b, "\n]\n"...)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			_, err := w.Write(b)
			return err
		}
		release, err := s.streamTurn(w, r)
		if err != nil || release == nil {
			return err
		}
		defer release()
	}
	rc := http.NewResponseController(w)
	buf := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(buf)
	b := append((*buf)[:0], "[\n"...)
	defer func() { *buf = b[:0] }()
	started := false
	write := func() error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		_, err := w.Write(b)
		b = b[:0]
		return err
	}
	n := 0
	err = s.b.ListLicenses(r.Context(), f, func(l *licensing.License) error {
		if n > 0 {
			b = append(b, ",\n"...)
		}
		n++
		if n%1000 == 0 {
			rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		}
		var err error
		if b, err = output.AppendLicenseJSON(b, l); err != nil {
			return err
		}
		if len(b) >= pageFlush {
			return write()
		}
		return nil
	})
	switch {
	case err != nil:
		return err // after a write, the server cuts the connection
	case n == 0:
		return writeJSON(w, http.StatusOK, []any{})
	}
	b = append(b, "\n]\n"...)
	if !started {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	}
	return write()
}

// pageFlush is how much of a license list the server buffers before writing.
const pageFlush = 32 << 10

// pageLicenses is the largest page that surely fits in pageFlush: it is
// answered whole, never streamed, and needs no stream slot.
const pageLicenses = 50

// streamTurn waits for a stream slot of the request's account. It returns a
// release function, or nil after answering 503 itself when none came free
// in time.
func (s *Server) streamTurn(w http.ResponseWriter, r *http.Request) (func(), error) {
	release, err := s.streams.acquire(r.Context(), licensing.AccountFrom(r.Context()), s.streamWait)
	if err != nil || release != nil {
		return release, err
	}
	w.Header().Set("Retry-After", "5")
	writeProblem(w, problemFor(licensing.Errorf(licensing.EUNAVAILABLE, "too many large license lists in progress").
		WithHint("retry shortly, or ask for a page with --limit 50 or less")))
	return nil, nil
}

func (s *Server) groupLicenses(w http.ResponseWriter, r *http.Request) error {
	f, err := filterFrom(r.URL.Query())
	if err != nil {
		return err
	}
	gs, err := s.b.GroupLicenses(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, gs)
}

func (s *Server) getLicense(w http.ResponseWriter, r *http.Request) error {
	d, err := s.b.GetLicense(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) updateLicense(w http.ResponseWriter, r *http.Request) error {
	var u licensing.LicenseUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	l, err := s.b.UpdateLicense(r.Context(), r.PathValue("key"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

// buyRequest is what a client may send to buy: exactly the fields of
// licensing.BuyRequest, nothing that sets an owner, a price or a date.
type buyRequest = licensing.BuyRequest

func (s *Server) buy(w http.ResponseWriter, r *http.Request) error {
	var req buyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = r.Header.Get("Idempotency-Key")
	}
	p, err := s.b.Buy(r.Context(), req, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, purchaseStatus(w, p.Replayed), p)
}

func (s *Server) quote(w http.ResponseWriter, r *http.Request) error {
	var req buyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := s.b.Quote(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := licensing.AuditFilter{Action: q.Get("action"), Object: q.Get("object")}
	var err error
	if f.Limit, err = intParam(q, "limit"); err != nil {
		return err
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return licensing.Errorf(licensing.EINVALID, "query parameter since: want RFC 3339")
		}
		f.Since = &t
	}
	evs, err := s.b.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.b.ListTokens(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ts)
}

// purchaseStatus is 201 for a new purchase; one an idempotency key
// returned again is 200 with Idempotent-Replayed, as every replay.
func purchaseStatus(w http.ResponseWriter, replayed bool) int {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		return http.StatusOK
	}
	return http.StatusCreated
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	// Counting and creating are one step per server, so concurrent creates
	// cannot pass the cap together.
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	ts, err := s.b.ListTokens(r.Context())
	if err != nil {
		return err
	}
	live, now := 0, s.clock.Now()
	for _, t := range ts {
		if t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now)) {
			live++ // an expired token no longer counts
		}
	}
	if live >= s.maxTokens {
		return licensing.Errorf(licensing.ECONFLICT, "account %s already has %d live API tokens, the most this server allows",
			licensing.AccountFrom(r.Context()), live).
			WithHint("revoke the tokens no longer used (`licensectl accounts token list`, then `licensectl accounts token revoke PREFIX`)")
	}
	var b tokenBody
	if err := decodeBody(r, &b, true); err != nil {
		return err
	}
	req, err := b.request()
	if err != nil {
		return err
	}
	t, err := s.b.CreateToken(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.b.RevokeToken(r.Context(), r.PathValue("prefix")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
