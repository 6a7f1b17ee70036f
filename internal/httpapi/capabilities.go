package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// capability returns the backend as an optional service interface, or a
// problem saying this server's store does not offer it.
func capability[T any](s *Server) (T, error) {
	t, ok := s.b.(T)
	if !ok {
		var zero T
		return zero, licensing.Errorf(licensing.EINVALID, "this server's store does not offer %T", (*T)(nil))
	}
	return t, nil
}

type attachRequestBody = licensing.AttachRequest

type attachConfirmBody struct {
	Code string `json:"code"`
}

// requestAttach sends the code with the server's own mailer: the client never
// chooses where a code goes.
func (s *Server) requestAttach(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.AttachService](s)
	if err != nil {
		return err
	}
	var req attachRequestBody
	if err := decode(r, &req); err != nil {
		return err
	}
	if s.mailer == nil {
		return licensing.Errorf(licensing.EINTERNAL, "the server has no mail delivery configured")
	}
	p, err := svc.RequestAttach(r.Context(), req, s.mailer)
	if err != nil {
		return retryAfter429(w, err)
	}
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) confirmAttach(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.AttachService](s)
	if err != nil {
		return err
	}
	var req attachConfirmBody
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := svc.ConfirmAttach(r.Context(), req.Code)
	if err != nil {
		return retryAfter429(w, err)
	}
	return writeJSON(w, http.StatusOK, res)
}

// retryAfter429 answers a refusal that time lifts (a rate limit) with 429 and
// Retry-After; other errors pass through.
func retryAfter429(w http.ResponseWriter, err error) error {
	var re *licensing.RetryError
	if !errors.As(err, &re) {
		return err
	}
	secs := int(time.Until(re.RetryAt).Seconds() + 0.999)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	p := problemFor(re.Err)
	p.Status, p.Title = http.StatusTooManyRequests, http.StatusText(http.StatusTooManyRequests)
	at := re.RetryAt.UTC()
	p.RetryAt = &at
	writeProblem(w, p)
	return nil
}

func (s *Server) quoteMaintenance(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.MaintenanceService](s)
	if err != nil {
		return err
	}
	var req licensing.MaintenanceBuyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := svc.QuoteMaintenance(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) buyMaintenance(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.MaintenanceService](s)
	if err != nil {
		return err
	}
	var req licensing.MaintenanceBuyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = r.Header.Get("Idempotency-Key")
	}
	p, err := svc.BuyMaintenance(r.Context(), req, nil)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if p.Replayed {
		status = http.StatusOK
	}
	return writeJSON(w, status, p)
}

func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.MaintenanceService](s)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := licensing.MaintenanceFilter{License: q.Get("license")}
	if f.Available, err = boolParam(q, "available"); err != nil {
		return err
	}
	plans, err := svc.ListMaintenance(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, plans)
}

type assignBody struct {
	Key string `json:"key"`
}

func (s *Server) assignMaintenance(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.MaintenanceService](s)
	if err != nil {
		return err
	}
	var req assignBody
	if err := decode(r, &req); err != nil {
		return err
	}
	plan, err := svc.AssignMaintenance(r.Context(), r.PathValue("id"), req.Key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, plan)
}

func (s *Server) updateMaintenance(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.MaintenanceService](s)
	if err != nil {
		return err
	}
	var u licensing.MaintenanceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	plan, err := svc.UpdateMaintenance(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, plan)
}

// asOfParam reads an RFC 3339 time, def when absent.
func asOfParam(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, licensing.Errorf(licensing.EINVALID, "invalid time %q: want RFC 3339", v)
	}
	return t.UTC(), nil
}

func (s *Server) dueRenewals(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.RenewalService](s)
	if err != nil {
		return err
	}
	until, err := asOfParam(r.URL.Query().Get("until"), s.clock.Now())
	if err != nil {
		return err
	}
	rs, err := svc.DueRenewals(r.Context(), until)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rs)
}

type renewalRunBody struct {
	AsOf string `json:"as_of,omitempty"`
}

// runRenewals runs the engine for the token's account only (as of now, or of
// the given time, as `renewals run --as-of` does locally).
func (s *Server) runRenewals(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.RenewalService](s)
	if err != nil {
		return err
	}
	var req renewalRunBody
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	asOf, err := asOfParam(req.AsOf, s.clock.Now())
	if err != nil {
		return err
	}
	run, err := svc.RunRenewals(r.Context(), asOf)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}
