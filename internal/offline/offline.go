// Package offline holds the files of offline activation and the Ed25519
// crypto over them: the request a machine without network writes, the
// certificate the licensing side signs for it, and the deactivation proof the
// machine signs when it gives its seat back. It imports nothing else of
// licensectl, so a vendor's program can verify certificates with it alone
// (docs/activations.md describes the formats for other languages).
package offline

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// File format names and the version of each this package writes and reads.
const (
	RequestFormat     = "licensectl-activation-request"
	CertificateFormat = "licensectl-certificate"
	ProofFormat       = "licensectl-deactivation-proof"
	FormatVersion     = 1

	// CertificateBlock is the PEM type of the certificate envelope.
	CertificateBlock = "LICENSECTL CERTIFICATE"
	publicKeyBlock   = "PUBLIC KEY"

	// MaxFileSize bounds every file this package parses: real ones are < 2 KiB.
	MaxFileSize = 64 << 10
	maxField    = 256
	nonceBytes  = 16
)

// Request is what an offline machine asks for: only what activation needs.
type Request struct {
	Format      string `json:"format"`
	V           int    `json:"v"`
	LicenseKey  string `json:"license_key"`
	Machine     string `json:"machine"`
	Fingerprint string `json:"fingerprint"`
	OS          string `json:"os"`
	Version     string `json:"version"`
	// Nonce makes each request unique; the certificate and the deactivation
	// proof repeat it, tying the three together.
	Nonce string `json:"nonce"`
	// MachineKey is the public half of the machine's Ed25519 key pair
	// (standard base64): the connected side checks deactivation proofs with it.
	MachineKey string `json:"machine_key"`
	CreatedAt  string `json:"created_at"`
}

// Certificate is the signed payload of an activation certificate. Its fields
// are declared in the byte order of their JSON names, so encoding/json writes
// the canonical form (RFC 8785 for the strings and integers used here).
type Certificate struct {
	ActivationID    int64  `json:"activation_id"`
	ExpiresAt       string `json:"expires_at"`
	Fingerprint     string `json:"fingerprint"`
	Format          string `json:"format"`
	IssuedAt        string `json:"issued_at"`
	KeyID           string `json:"kid"`
	LicenseKey      string `json:"license_key"`
	Machine         string `json:"machine"`
	MaintenanceTill string `json:"maintenance_till"` // "" when the license has none
	MaxVersion      string `json:"max_version"`      // newest build the license may use; "" if unknown
	Nonce           string `json:"nonce"`
	OS              string `json:"os"`
	Product         string `json:"product"`
	RM              string `json:"rm"`
	V               int    `json:"v"`
	Version         string `json:"version"` // the activated version: the range is [version, max_version]
}

// Proof says a machine gave up its activation; the machine key signs it.
// Fields are in canonical order; the signature covers the canonical JSON of
// every other field.
type Proof struct {
	ActivationNonce string `json:"activation_nonce"`
	DeactivatedAt   string `json:"deactivated_at"`
	Fingerprint     string `json:"fingerprint"`
	Format          string `json:"format"`
	LicenseKey      string `json:"license_key"`
	Nonce           string `json:"nonce"`
	Signature       string `json:"signature,omitempty"`
	V               int    `json:"v"`
}

// KeyID names a signing key: the first 8 bytes of the SHA-256 of the raw
// public key, in hex. Anyone holding the public key can compute it.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// canonical encodes v without HTML escaping or a trailing newline.
func canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// NewRequest builds a request and the machine key pair behind it, reading
// randomness from rnd (crypto/rand.Reader outside tests).
func NewRequest(rnd io.Reader, key, machine, fingerprint, os, version string, now time.Time) (*Request, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, nonceBytes)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, nil, err
	}
	r := &Request{Format: RequestFormat, V: FormatVersion, LicenseKey: key, Machine: machine,
		Fingerprint: fingerprint, OS: os, Version: version,
		Nonce:      base64.RawURLEncoding.EncodeToString(nonce),
		MachineKey: base64.StdEncoding.EncodeToString(pub),
		CreatedAt:  now.UTC().Format(time.RFC3339)}
	return r, priv, r.check()
}

// Marshal writes the request file (indented JSON: people read it before
// carrying it across).
func (r *Request) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	return append(b, '\n'), err
}

// PublicKey decodes the machine key.
func (r *Request) PublicKey() (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(r.MachineKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("machine_key is not a base64 Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}

// ParseRequest reads a request file strictly: unknown fields, a wrong format
// or version, missing fields and control characters are errors.
func ParseRequest(b []byte) (*Request, error) {
	var r Request
	if err := decodeStrict(b, &r); err != nil {
		return nil, fmt.Errorf("not an activation request: %w", err)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Request) check() error {
	if r.Format != RequestFormat || r.V != FormatVersion {
		return fmt.Errorf("not an activation request (format %q version %d; want %q version %d)", clip(r.Format), r.V, RequestFormat, FormatVersion)
	}
	if err := checkFields(fields{{"license_key", r.LicenseKey}, {"machine", r.Machine},
		{"fingerprint", r.Fingerprint}, {"os", r.OS}, {"version", r.Version}}); err != nil {
		return fmt.Errorf("activation request: %w", err)
	}
	if err := checkNonce(r.Nonce); err != nil {
		return fmt.Errorf("activation request: %w", err)
	}
	if _, err := r.PublicKey(); err != nil {
		return fmt.Errorf("activation request: %w", err)
	}
	if _, err := time.Parse(time.RFC3339, r.CreatedAt); err != nil {
		return errors.New("activation request: created_at is not an RFC 3339 time")
	}
	return nil
}

// Sign sets the certificate's format and key id, signs its canonical JSON
// and returns the text envelope.
func Sign(priv ed25519.PrivateKey, c *Certificate) ([]byte, error) {
	c.Format, c.V = CertificateFormat, FormatVersion
	c.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	if err := c.check(); err != nil {
		return nil, err
	}
	payload, err := canonical(c)
	if err != nil {
		return nil, err
	}
	body := append(payload, ed25519.Sign(priv, payload)...)
	return pem.EncodeToMemory(&pem.Block{Type: CertificateBlock, Bytes: body}), nil
}

// Signed is a parsed certificate envelope: the payload bytes exactly as
// signed, the signature, and the decoded certificate.
type Signed struct {
	Payload     []byte
	Signature   []byte
	Certificate Certificate
}

// Reason says why a certificate failed verification.
type Reason string

// Verification failures, each with its own message and exit code in the CLI.
const (
	ReasonMalformed    Reason = "malformed"
	ReasonUnknownKey   Reason = "unknown_key"
	ReasonBadSignature Reason = "bad_signature"
	ReasonExpired      Reason = "expired"
	ReasonWrongMachine Reason = "wrong_machine"
)

// VerifyError is a failed verification.
type VerifyError struct {
	Reason Reason
	Detail string
}

func (e *VerifyError) Error() string { return e.Detail }

func verifyErr(r Reason, format string, args ...any) error {
	return &VerifyError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// ParseCertificate decodes an envelope and its payload without checking the
// signature. The payload must be in canonical form, so that exactly one byte
// string stands for each certificate.
func ParseCertificate(text []byte) (*Signed, error) {
	s, err := splitEnvelope(text)
	if err != nil {
		return nil, err
	}
	if err := s.decodePayload(); err != nil {
		return nil, err
	}
	return s, nil
}

func splitEnvelope(text []byte) (*Signed, error) {
	if len(text) > MaxFileSize {
		return nil, verifyErr(ReasonMalformed, "certificate is larger than %d bytes", MaxFileSize)
	}
	block, _ := pem.Decode(text)
	if block == nil || block.Type != CertificateBlock || len(block.Headers) > 0 {
		return nil, verifyErr(ReasonMalformed, "no -----BEGIN %s----- block found", CertificateBlock)
	}
	if len(block.Bytes) <= ed25519.SignatureSize+2 {
		return nil, verifyErr(ReasonMalformed, "certificate is too short")
	}
	n := len(block.Bytes) - ed25519.SignatureSize
	return &Signed{Payload: block.Bytes[:n], Signature: block.Bytes[n:]}, nil
}

func (s *Signed) decodePayload() error {
	var c Certificate
	if err := decodeStrict(s.Payload, &c); err != nil {
		return verifyErr(ReasonMalformed, "certificate payload is not valid: %v", err)
	}
	if again, err := canonical(&c); err != nil || !bytes.Equal(again, s.Payload) {
		return verifyErr(ReasonMalformed, "certificate payload is not in canonical form")
	}
	if err := c.check(); err != nil {
		return verifyErr(ReasonMalformed, "%v", err)
	}
	s.Certificate = c
	return nil
}

func (c *Certificate) check() error {
	if c.Format != CertificateFormat || c.V != FormatVersion {
		return fmt.Errorf("not a licensectl certificate (format %q version %d)", clip(c.Format), c.V)
	}
	if err := checkFields(fields{{"license_key", c.LicenseKey}, {"machine", c.Machine},
		{"fingerprint", c.Fingerprint}, {"os", c.OS}, {"version", c.Version}, {"product", c.Product},
		{"rm", c.RM}, {"kid", c.KeyID}}); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := checkOptional(fields{{"max_version", c.MaxVersion}}); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if err := checkNonce(c.Nonce); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	for _, f := range (fields{{"issued_at", c.IssuedAt}, {"expires_at", c.ExpiresAt}, {"maintenance_till", c.MaintenanceTill}}) {
		if f[1] == "" && f[0] == "maintenance_till" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, f[1]); err != nil {
			return fmt.Errorf("certificate: %s is not an RFC 3339 time", f[0])
		}
	}
	return nil
}

// Verify checks a certificate with nothing but public keys: a key whose id
// the certificate names, the signature, the expiry at now, and - when
// fingerprint is not empty - the machine.
func Verify(text []byte, keys []ed25519.PublicKey, fingerprint string, now time.Time) (*Certificate, error) {
	s, err := splitEnvelope(text)
	if err != nil {
		return nil, err
	}
	// The signature is checked before the payload is trusted for anything,
	// and against every key: a flipped byte in the kid must still read as
	// tampering, not as an unknown key.
	verified := false
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, s.Payload, s.Signature) {
			verified = true
			break
		}
	}
	if !verified {
		var probe struct {
			KeyID string `json:"kid"`
		}
		if json.Unmarshal(s.Payload, &probe) == nil && probe.KeyID != "" && !hasKey(keys, probe.KeyID) {
			return nil, verifyErr(ReasonUnknownKey, "certificate was signed with key %s, which is not among the given public keys", clip(probe.KeyID))
		}
		return nil, verifyErr(ReasonBadSignature, "certificate signature does not match: the certificate was altered or not issued with these keys")
	}
	if err := s.decodePayload(); err != nil {
		return nil, err
	}
	c := &s.Certificate
	if !hasKey(keys, c.KeyID) {
		return nil, verifyErr(ReasonBadSignature, "certificate names key %s but was signed with another", c.KeyID)
	}
	exp, _ := time.Parse(time.RFC3339, c.ExpiresAt)
	if !now.Before(exp) {
		return c, verifyErr(ReasonExpired, "certificate expired at %s", c.ExpiresAt)
	}
	if fingerprint != "" && fingerprint != c.Fingerprint {
		return c, verifyErr(ReasonWrongMachine, "certificate is for machine %q (fingerprint %s), not this one (%s)", c.Machine, c.Fingerprint, clip(fingerprint))
	}
	return c, nil
}

func hasKey(keys []ed25519.PublicKey, id string) bool {
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && KeyID(k) == id {
			return true
		}
	}
	return false
}

// PublicKeyPEM encodes a public key as a PKIX "PUBLIC KEY" PEM block, the
// form OpenSSL and most crypto libraries read.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410) followed by
	// the raw key: x509.MarshalPKIXPublicKey gives the same bytes.
	der := append([]byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}, pub...)
	return pem.EncodeToMemory(&pem.Block{Type: publicKeyBlock, Bytes: der})
}

// ParsePublicKeys reads every Ed25519 "PUBLIC KEY" block of a PEM file (after
// a rotation `keys public --all` prints several).
func ParsePublicKeys(b []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != publicKeyBlock {
			continue
		}
		prefix := PublicKeyPEM(make([]byte, ed25519.PublicKeySize))
		want, _ := pem.Decode(prefix)
		if len(block.Bytes) != len(want.Bytes) || !bytes.Equal(block.Bytes[:12], want.Bytes[:12]) {
			return nil, errors.New("public key file holds a key that is not Ed25519")
		}
		keys = append(keys, ed25519.PublicKey(bytes.Clone(block.Bytes[12:])))
	}
	if len(keys) == 0 {
		return nil, errors.New("no PUBLIC KEY block found")
	}
	return keys, nil
}

// SignProof signs a deactivation proof with the machine key and returns the
// proof file.
func SignProof(priv ed25519.PrivateKey, p *Proof) ([]byte, error) {
	p.Format, p.V, p.Signature = ProofFormat, FormatVersion, ""
	if err := p.check(); err != nil {
		return nil, err
	}
	msg, err := canonical(p)
	if err != nil {
		return nil, err
	}
	p.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg))
	b, err := json.MarshalIndent(p, "", "  ")
	return append(b, '\n'), err
}

// ParseProof reads a proof file strictly; VerifyProof checks its signature.
func ParseProof(b []byte) (*Proof, error) {
	var p Proof
	if err := decodeStrict(b, &p); err != nil {
		return nil, fmt.Errorf("not a deactivation proof: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.Signature == "" {
		return nil, errors.New("deactivation proof is not signed")
	}
	return &p, nil
}

func (p *Proof) check() error {
	if p.Format != ProofFormat || p.V != FormatVersion {
		return fmt.Errorf("not a deactivation proof (format %q version %d)", clip(p.Format), p.V)
	}
	if err := checkFields(fields{{"license_key", p.LicenseKey}, {"fingerprint", p.Fingerprint}}); err != nil {
		return fmt.Errorf("deactivation proof: %w", err)
	}
	for _, n := range []string{p.ActivationNonce, p.Nonce} {
		if err := checkNonce(n); err != nil {
			return fmt.Errorf("deactivation proof: %w", err)
		}
	}
	if _, err := time.Parse(time.RFC3339, p.DeactivatedAt); err != nil {
		return errors.New("deactivation proof: deactivated_at is not an RFC 3339 time")
	}
	return nil
}

// VerifyProof checks the proof's signature with the machine key recorded at
// activation.
func VerifyProof(machineKey ed25519.PublicKey, p *Proof) error {
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return errors.New("deactivation proof signature is not valid base64 Ed25519")
	}
	unsigned := *p
	unsigned.Signature = ""
	msg, err := canonical(&unsigned)
	if err != nil {
		return err
	}
	if len(machineKey) != ed25519.PublicKeySize || !ed25519.Verify(machineKey, msg, sig) {
		return errors.New("deactivation proof signature does not match the machine key recorded at activation")
	}
	return nil
}

// NewNonce returns a fresh random nonce in the form the files use.
func NewNonce(rnd io.Reader) (string, error) {
	b := make([]byte, nonceBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeStrict(b []byte, v any) error {
	if len(b) > MaxFileSize {
		return fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func checkNonce(n string) error {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != nonceBytes {
		return errors.New("nonce is not 16 bytes of unpadded base64url")
	}
	return nil
}

// fields are named values checked in order, so the first problem reported
// is always the same one.
type fields [][2]string

func checkFields(fs fields) error {
	for _, f := range fs {
		if f[1] == "" {
			return fmt.Errorf("%s is missing", f[0])
		}
	}
	return checkOptional(fs)
}

func checkOptional(fs fields) error {
	for _, f := range fs {
		if v := f[1]; len(v) > maxField || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return fmt.Errorf("%s is longer than %d bytes or has control characters", f[0], maxField)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
