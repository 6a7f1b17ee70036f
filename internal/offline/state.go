package offline

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// State is the offline machine's own record of its activations: the private
// half of each request's machine key, which later signs the deactivation
// proof. It lives in a 0600 file on that machine and never leaves it.
type State struct {
	Activations []StateEntry `json:"activations"`
}

// StateEntry is one pending or active offline activation of this machine.
type StateEntry struct {
	LicenseKey  string `json:"license_key"`
	Fingerprint string `json:"fingerprint"`
	Nonce       string `json:"nonce"`
	// MachineKey is the Ed25519 private key seed, standard base64.
	MachineKey string `json:"machine_key"`
	CreatedAt  string `json:"created_at"`
}

// PrivateKey decodes the entry's machine key.
func (e *StateEntry) PrivateKey() (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(e.MachineKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("machine state holds a damaged machine key")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Add records a new request's key, replacing an earlier entry for the same
// license and fingerprint (the newer request is the one that will be activated).
func (s *State) Add(r *Request, priv ed25519.PrivateKey) {
	s.Remove(r.LicenseKey, r.Fingerprint, "")
	s.Activations = append(s.Activations, StateEntry{LicenseKey: r.LicenseKey, Fingerprint: r.Fingerprint,
		Nonce: r.Nonce, MachineKey: base64.StdEncoding.EncodeToString(priv.Seed()), CreatedAt: r.CreatedAt})
}

// Find returns the entry of a certificate's activation.
func (s *State) Find(key, fingerprint, nonce string) *StateEntry {
	for i := range s.Activations {
		e := &s.Activations[i]
		if e.LicenseKey == key && e.Fingerprint == fingerprint && e.Nonce == nonce {
			return e
		}
	}
	return nil
}

// Remove drops the entry for key and fingerprint (and nonce, unless empty).
func (s *State) Remove(key, fingerprint, nonce string) {
	kept := s.Activations[:0]
	for _, e := range s.Activations {
		if e.LicenseKey == key && e.Fingerprint == fingerprint && (nonce == "" || e.Nonce == nonce) {
			continue
		}
		kept = append(kept, e)
	}
	s.Activations = kept
}

// LoadState reads the state file; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, nil
	} else if err != nil {
		return nil, err
	}
	var s State
	if err := decodeStrict(b, &s); err != nil {
		return nil, fmt.Errorf("machine state %s is damaged: %w", path, err)
	}
	return &s, nil
}

// SaveState writes the state file with mode 0600, atomically: a crash leaves
// the old file or the new one, never half of either.
func SaveState(path string, s *State) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	// CreateTemp already makes the file 0600; Chmod states the intent on any OS.
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Chmod(0o600), f.Sync(), f.Close())
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
