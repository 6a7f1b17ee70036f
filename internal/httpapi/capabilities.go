package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// withBody makes the handler of an endpoint that takes a JSON body Req: decode (strictly), call, answer status with the result.
func withBody[Req, Resp any](s *Server, status int, call func(ctx context.Context, svc Backend, req Req, r *http.Request) (Resp, error)) func(http.ResponseWriter, *http.Request) error {
	return bodyHandler(s, status, false, call)
}

// withOptionalBody is withBody for an endpoint whose body may be empty (a
// zero Req).
func withOptionalBody[Req, Resp any](s *Server, status int, call func(ctx context.Context, svc Backend, req Req, r *http.Request) (Resp, error)) func(http.ResponseWriter, *http.Request) error {
	return bodyHandler(s, status, true, call)
}

func bodyHandler[Req, Resp any](s *Server, status int, optional bool, call func(ctx context.Context, svc Backend, req Req, r *http.Request) (Resp, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req Req
		if err := decodeBody(r, &req, optional); err != nil {
			return err
		}
		out, err := call(r.Context(), s.b, req, r)
		if err != nil {
			return retryAfter429(w, err, s.clock.Now()) // the use cases' clock set RetryAt
		}
		code := status
		if mp, ok := any(out).(*licensing.MaintenancePurchase); ok && mp != nil && mp.Replayed {
			code = purchaseStatus(w, true) // the purchase this idempotency key made before
		}
		return writeJSON(w, code, out)
	}
}

// seconds reads a count of seconds from a request as a duration; one
// longer than a time.Duration holds (maxExpiresIn) is refused rather than
// wrapped around to a short or negative one.
func seconds(name string, n int64) (time.Duration, error) {
	if n > maxExpiresIn {
		return 0, licensing.Errorf(licensing.EINVALID, "%s: %d seconds is too long: at most %d", name, n, maxExpiresIn)
	}
	return time.Duration(n) * time.Second, nil
}

// withQuery makes the handler of a GET endpoint.
func withQuery[Resp any](s *Server, call func(ctx context.Context, svc Backend, r *http.Request) (Resp, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		out, err := call(r.Context(), s.b, r)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// retryAfter429 answers a refusal that time lifts (a rate limit) with 429,
// Retry-After and retry_at; other errors pass through. now is the time on
// the clock that set the error's RetryAt.
func retryAfter429(w http.ResponseWriter, err error, now time.Time) error {
	var re *licensing.RetryError
	if !errors.As(err, &re) {
		return err
	}
	secs := int(math.Ceil(re.RetryAt.Sub(now).Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1))) // never 0: that invites an instant retry
	p := problemFor(re.Err)
	p.Status, p.Title = http.StatusTooManyRequests, http.StatusText(http.StatusTooManyRequests)
	at := re.RetryAt.UTC()
	p.RetryAt = &at
	writeProblem(w, p)
	return nil
}

type (
	attachConfirmBody struct {
		Code string `json:"code"`
	}
	assignBody struct {
		Key string `json:"key"`
	}
	renewalRunBody struct {
		AsOf   *string `json:"as_of,omitempty"`   // absent: now; present, an RFC 3339 time
		DryRun bool    `json:"dry_run,omitempty"` // a preview: any as_of, nothing changes
	}
	// deactivateBody is DeactivateRequest on the wire.
	deactivateBody struct {
		ID          int64  `json:"id,omitempty"`
		LicenseKey  string `json:"license_key,omitempty"`
		Fingerprint string `json:"fingerprint,omitempty"`
		Force       bool   `json:"force,omitempty"`
	}
	// staleReleaseBody asks to release the activations not seen for
	// StaleSeconds (DryRun: only list them).
	staleReleaseBody struct {
		StaleSeconds int64 `json:"stale_seconds"`
		DryRun       bool  `json:"dry_run,omitempty"`
	}
	// requestFileBody carries an offline request file, verbatim, as a
	// string; proofFileBody a deactivation proof. Each takes only its own
	// field, as the spec says.
	requestFileBody struct {
		Request string `json:"request,omitempty"`
	}
	proofFileBody struct {
		Proof string `json:"proof,omitempty"`
	}
)

// capabilityRoutes are the endpoints of attach, maintenance, renewals and
// activations.
func (s *Server) capabilityRoutes() []route {
	// Every POST that changes something (but the maintenance purchase, whose
	// key the store checks in its own transaction) stores its answer under
	// the request's Idempotency-Key, which the client always sends: a retry
	// after a lost answer gets that answer, never a second activation, mail
	// or renewal run.
	return []route{
		// The server sends the code with its own mailer: the client never
		// chooses where a code goes.
		{"POST /v1/attach-requests", acct(licensing.ScopeAttach), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, req licensing.AttachRequest, _ *http.Request) (*licensing.AttachPending, error) {
				if s.mailer == nil {
					return nil, licensing.Errorf(licensing.EINTERNAL, "the server has no mail delivery configured")
				}
				return svc.RequestAttach(ctx, req, s.mailer)
			}), true},
		{"POST /v1/attach-confirmations", acct(licensing.ScopeAttach), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, req attachConfirmBody, _ *http.Request) (*licensing.AttachResult, error) {
				return svc.ConfirmAttach(ctx, req.Code)
			}), true},

		{"GET /v1/maintenance", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.MaintenancePlan, error) {
			f := licensing.MaintenanceFilter{License: r.URL.Query().Get("license")}
			var err error
			if f.Available, err = boolParam(r.URL.Query(), "available"); err != nil {
				return nil, err
			}
			return svc.ListMaintenance(ctx, f)
		}), false},
		{"POST /v1/maintenance-quotes", acct(licensing.ScopeLicensesRead), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, req licensing.MaintenanceBuyRequest, _ *http.Request) (*licensing.MaintenancePurchase, error) {
				return svc.QuoteMaintenance(ctx, req)
			}), true},
		// Like licenses, maintenance purchases check their idempotency key in
		// the purchase's own transaction; the header may carry it.
		{"POST /v1/maintenance-purchases", acct(licensing.ScopePurchasesWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, req licensing.MaintenanceBuyRequest, r *http.Request) (*licensing.MaintenancePurchase, error) {
				if req.IdempotencyKey == "" {
					req.IdempotencyKey = r.Header.Get("Idempotency-Key")
				}
				return svc.BuyMaintenance(ctx, req, nil)
			}), false},
		{"POST /v1/maintenance/{id}/assignment", acct(licensing.ScopeLicensesWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, req assignBody, r *http.Request) (*licensing.MaintenancePlan, error) {
				return svc.AssignMaintenance(ctx, r.PathValue("id"), req.Key)
			}), true},
		{"PATCH /v1/maintenance/{id}", acct(licensing.ScopeLicensesWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, u licensing.MaintenanceUpdate, r *http.Request) (*licensing.MaintenancePlan, error) {
				return svc.UpdateMaintenance(ctx, r.PathValue("id"), u)
			}), false},

		{"GET /v1/renewals", either(licensing.ScopeLicensesRead, licensing.ScopeRenewalsRun), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.Renewal, error) {
			until, err := timeParam(r.URL.Query().Get("until"), s.clock.Now())
			if err != nil {
				return nil, err
			}
			return svc.DueRenewals(ctx, until)
		}), false},
		// An account runs its own renewals (as of now, or of a given time, as
		// `renewals run --as-of` does locally); every account's is the
		// operator's schedule.
		{"POST /v1/renewal-runs", either(licensing.ScopePurchasesWrite, licensing.ScopeRenewalsRun), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, req renewalRunBody, _ *http.Request) (*licensing.RenewalRun, error) {
				asOf := s.clock.Now()
				if req.AsOf != nil {
					t, err := time.Parse(time.RFC3339, *req.AsOf)
					if err != nil {
						return nil, licensing.Errorf(licensing.EINVALID, "invalid as_of %q: want RFC 3339", licensing.ClipArg(*req.AsOf))
					}
					asOf = t.UTC()
				}
				if req.DryRun {
					asOf = asOf.Truncate(time.Second)
					due, err := svc.DueRenewals(ctx, asOf)
					if err != nil {
						return nil, err
					}
					run := licensing.SummarizeRenewals(asOf, due)
					run.DryRun = true
					return run, nil
				}
				return svc.RunRenewals(ctx, asOf) // never past the store's now
			}), true},

		{"POST /v1/activations", acct(licensing.ScopeActivationsWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, req licensing.ActivationRequest, _ *http.Request) (*licensing.Activation, error) {
				return svc.Activate(ctx, req)
			}), true},
		{"GET /v1/activations", acct(licensing.ScopeLicensesRead), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) ([]licensing.Activation, error) {
			q := r.URL.Query()
			f := licensing.ActivationFilter{LicenseKey: q.Get("license"), Machine: q.Get("machine")}
			var err error
			if f.Offline, err = boolParam(q, "offline"); err != nil {
				return nil, err
			}
			stale, err := intParam(q, "stale")
			if err != nil {
				return nil, err
			}
			if f.Stale, err = seconds("query parameter stale", int64(stale)); err != nil {
				return nil, err
			}
			return svc.ListActivations(ctx, f)
		}), false},
		{"POST /v1/activations/{id}/heartbeat", acct(licensing.ScopeActivationsWrite), withOptionalBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, _ struct{}, r *http.Request) (*licensing.Activation, error) {
				id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
				if err != nil || id <= 0 {
					return nil, licensing.Errorf(licensing.EINVALID, "invalid activation id %q", licensing.ClipArg(r.PathValue("id")))
				}
				return svc.Heartbeat(ctx, id)
			}), false},
		{"POST /v1/activation-releases", acct(licensing.ScopeActivationsWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b staleReleaseBody, _ *http.Request) ([]licensing.Activation, error) {
				stale, err := seconds("stale_seconds", b.StaleSeconds)
				if err != nil {
					return nil, err
				}
				return svc.ReleaseStale(ctx, stale, b.DryRun)
			}), true},
		{"POST /v1/deactivations", acct(licensing.ScopeActivationsWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b deactivateBody, _ *http.Request) (*licensing.Activation, error) {
				return svc.Deactivate(ctx, licensing.DeactivateRequest{ID: b.ID, LicenseKey: b.LicenseKey, Fingerprint: b.Fingerprint, Force: b.Force})
			}), true},
		{"GET /v1/licenses/{key}/validation", acct(licensing.ScopeValidate), withQuery(s, func(ctx context.Context, svc Backend, r *http.Request) (*licensing.Validation, error) {
			q := r.URL.Query()
			return svc.ValidateLicense(ctx, r.PathValue("key"), q.Get("fingerprint"), q.Get("version"))
		}), false},
		{"POST /v1/offline-activations", acct(licensing.ScopeActivationsWrite), withBody(s, http.StatusCreated,
			func(ctx context.Context, svc Backend, b requestFileBody, _ *http.Request) (*licensing.OfflineActivation, error) {
				return svc.ActivateOffline(ctx, []byte(b.Request))
			}), true},
		{"POST /v1/offline-releases", acct(licensing.ScopeActivationsWrite), withBody(s, http.StatusOK,
			func(ctx context.Context, svc Backend, b proofFileBody, _ *http.Request) (*licensing.Activation, error) {
				return svc.ReleaseOffline(ctx, []byte(b.Proof))
			}), true},
		// Public keys are public: verifiers fetch them without a token.
		{"GET /v1/signing-keys", public(), withQuery(s, func(ctx context.Context, svc Backend, _ *http.Request) ([]licensing.SigningKey, error) {
			return svc.SigningKeys(ctx)
		}), false},
	}
}

// timeParam reads an RFC 3339 time, def when absent.
func timeParam(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, licensing.Errorf(licensing.EINVALID, "invalid time %q: want RFC 3339", v)
	}
	return t.UTC(), nil
}
