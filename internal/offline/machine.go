package offline

import (
	"errors"
	"io"
	"time"
)

// ErrNoMachineKey says the state file holds no key for a certificate's
// activation: the request was written on another machine, or the activation
// was deactivated here already.
var ErrNoMachineKey = errors.New("this machine holds no key for the activation")

// Machine is the offline machine's side of the workflow: it writes
// activation requests and deactivation proofs, and keeps the private half of
// each request's machine key in its state file, which never leaves it.
type Machine struct {
	// StatePath is the machine's state file (mode 0600).
	StatePath string
	// Rand is where keys and nonces come from: crypto/rand.Reader outside
	// tests.
	Rand io.Reader
}

// Request makes an activation request and its machine key pair, and saves
// the private key in the state file before it returns the request file: no
// request is ever carried across whose key was lost.
func (m *Machine) Request(key, machine, fingerprint, os, version string, now time.Time) (*Request, []byte, error) {
	req, priv, err := NewRequest(m.Rand, key, machine, fingerprint, os, version, now)
	if err != nil {
		return nil, nil, err
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, nil, err
	}
	st, err := LoadState(m.StatePath)
	if err != nil {
		return nil, nil, err
	}
	st.Add(req, priv)
	if err := SaveState(m.StatePath, st); err != nil {
		return nil, nil, err
	}
	return req, b, nil
}

// Deactivation is a signed deactivation proof that has not been handed over
// yet: the machine still holds the activation's key until Forget.
type Deactivation struct {
	// Proof is the proof file, signed with the machine key.
	Proof []byte
	cert  *Certificate
	state *State
	path  string
}

// Deactivate signs a proof that this machine gives up cert's activation,
// with the key its request was made with (ErrNoMachineKey when this machine
// has none). The state file is unchanged until Forget, so a proof that could
// not be written can be made again.
func (m *Machine) Deactivate(cert *Certificate, now time.Time) (*Deactivation, error) {
	st, err := LoadState(m.StatePath)
	if err != nil {
		return nil, err
	}
	entry := st.Find(cert.LicenseKey, cert.Fingerprint, cert.Nonce)
	if entry == nil {
		return nil, ErrNoMachineKey
	}
	priv, err := entry.PrivateKey()
	if err != nil {
		return nil, err
	}
	nonce, err := NewNonce(m.Rand)
	if err != nil {
		return nil, err
	}
	proof, err := SignProof(priv, &Proof{ActivationNonce: cert.Nonce, Fingerprint: cert.Fingerprint,
		LicenseKey: cert.LicenseKey, Nonce: nonce, DeactivatedAt: now.UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, err
	}
	return &Deactivation{Proof: proof, cert: cert, state: st, path: m.StatePath}, nil
}

// Forget removes the activation's key from the state file, once the proof
// is safely written: the machine can sign no second proof for it.
func (d *Deactivation) Forget() error {
	d.state.Remove(d.cert.LicenseKey, d.cert.Fingerprint, d.cert.Nonce)
	return SaveState(d.path, d.state)
}

// Versions is the range of product versions the certificate covers, for
// people: "7.9.4", or "7.9.4 up to 8.1.0".
func (c *Certificate) Versions() string {
	if c.MaxVersion == "" {
		return c.Version
	}
	return c.Version + " up to " + c.MaxVersion
}
