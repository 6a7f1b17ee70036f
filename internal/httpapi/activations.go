package httpapi

import (
	"net/http"

	"github.com/licensectl/licensectl/internal/licensing"
)

// deactivateBody is DeactivateRequest on the wire.
type deactivateBody struct {
	ID          int64  `json:"id,omitempty"`
	LicenseKey  string `json:"license_key,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Force       bool   `json:"force,omitempty"`
}

// fileBody carries a request or proof file, verbatim, as a string.
type fileBody struct {
	Request string `json:"request,omitempty"`
	Proof   string `json:"proof,omitempty"`
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	var req licensing.ActivationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := svc.Activate(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listActivations(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := licensing.ActivationFilter{LicenseKey: q.Get("license"), Machine: q.Get("machine")}
	if f.Offline, err = boolParam(q, "offline"); err != nil {
		return err
	}
	as, err := svc.ListActivations(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, as)
}

func (s *Server) deactivate(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	var b deactivateBody
	if err := decode(r, &b); err != nil {
		return err
	}
	a, err := svc.Deactivate(r.Context(), licensing.DeactivateRequest{ID: b.ID, LicenseKey: b.LicenseKey, Fingerprint: b.Fingerprint, Force: b.Force})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) validateLicense(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v, err := svc.ValidateLicense(r.Context(), r.PathValue("key"), q.Get("fingerprint"), q.Get("version"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) latestDownload(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	d, err := svc.LatestDownload(r.Context(), r.PathValue("key"), r.URL.Query().Get("os"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) activateOffline(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	var b fileBody
	if err := decode(r, &b); err != nil {
		return err
	}
	a, err := svc.ActivateOffline(r.Context(), []byte(b.Request))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) releaseOffline(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	var b fileBody
	if err := decode(r, &b); err != nil {
		return err
	}
	a, err := svc.ReleaseOffline(r.Context(), []byte(b.Proof))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) signingKeys(w http.ResponseWriter, r *http.Request) error {
	svc, err := capability[licensing.ActivationService](s)
	if err != nil {
		return err
	}
	ks, err := svc.SigningKeys(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ks)
}
