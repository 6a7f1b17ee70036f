// Package webhook signs and sends webhook messages as the Standard Webhooks
// specification describes (https://www.standardwebhooks.com): headers
// webhook-id, webhook-timestamp and webhook-signature "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" under a "whsec_<base64 key>" secret, so
// receivers can verify them with that specification's libraries. Its
// Sender refuses targets on loopback, private, link-local and metadata
// addresses (server-side request forgery), checked on every connection it
// makes, so a name that resolves elsewhere later (DNS rebinding) is caught
// too.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// SecretPrefix starts every signing secret, as the specification's
// libraries expect.
const SecretPrefix = "whsec_"

// NewSecret is a new signing secret: 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign is the webhook-signature header of a message: "v1," and the base64
// HMAC-SHA256, under the secret's key, of "id.timestamp.body".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("invalid webhook secret")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Message is one webhook to send.
type Message struct {
	URL    string
	Secret string
	// ID is the webhook-id: the same on every attempt of one event, so
	// receivers can drop repeats.
	ID        string
	Timestamp time.Time
	Body      []byte
}

// Result is how an attempt went: the HTTP status (0 when there was no
// answer, then Err says why) and how long it took.
type Result struct {
	Code    int
	Latency time.Duration
	Err     string
}

// OK says whether the receiver accepted the message (2xx).
func (r Result) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Options tune a Sender.
type Options struct {
	// Timeout bounds one attempt, connection to last byte (0: 10 s).
	Timeout time.Duration
	// AllowPrivate lets targets be loopback, private or link-local
	// (webhooks.allow_private: tests, or a receiver on the vendor's own
	// network).
	AllowPrivate bool
}

// DefaultTimeout bounds an attempt unless Options say otherwise.
const DefaultTimeout = 10 * time.Second

// Sender sends messages over HTTP.
type Sender struct {
	client       *http.Client
	allowPrivate bool
	timeout      time.Duration
}

// NewSender is a Sender with its own connection pool.
func NewSender(o Options) *Sender {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	s := &Sender{allowPrivate: o.AllowPrivate, timeout: o.Timeout}
	dialer := &net.Dialer{Timeout: o.Timeout, Control: s.control}
	s.client = &http.Client{
		Timeout: o.Timeout,
		// No proxy: it would connect for us, past the address check.
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: o.Timeout,
			MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true},
		// A redirect is an answer (a failure: not 2xx), not somewhere to go.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// blocked is a connection the SSRF rule refused.
type blocked struct{ addr, why string }

func (b *blocked) Error() string {
	return b.addr + " is " + b.why + " (set webhooks.allow_private to allow it)"
}

// control runs before every connection the Sender makes, on the address
// actually dialed.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	if s.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if why := Forbidden(ap.Addr()); why != "" {
		return &blocked{addr: ap.Addr().String(), why: why}
	}
	return nil
}

// specialUse are ranges that are neither public nor caught by netip's
// predicates: shared address space (100.64/10, where one cloud keeps its
// metadata service), this network (0/8), IETF protocol assignments,
// benchmarking, reserved and broadcast.
var specialUse = [...]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Forbidden says why a webhook may not go to addr ("" when it may).
func Forbidden(addr netip.Addr) string {
	addr = addr.Unmap()
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "a link-local address (cloud metadata services live there)"
	case addr.IsUnspecified():
		return "an unspecified address"
	case addr.IsMulticast() || addr.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range specialUse {
		if p.Contains(addr) {
			return "a special-use address"
		}
	}
	return ""
}

// CheckURL refuses an endpoint whose host resolves to an address a webhook
// may not go to: at create time, so the mistake is seen at once (every
// delivery checks again).
func (s *Sender) CheckURL(ctx context.Context, raw string) error {
	if s.allowPrivate {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return licensing.Errorf(licensing.EINVALID, "invalid webhook URL")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
			return licensing.Errorf(licensing.EINVALID, "the webhook host %s does not resolve", host)
		}
	}
	for _, a := range addrs {
		if why := Forbidden(a); why != "" {
			e := licensing.Errorf(licensing.EINVALID, "the webhook host %s resolves to %s, %s", host, a.Unmap(), why)
			if a.String() == host {
				e = licensing.Errorf(licensing.EINVALID, "the webhook address %s is %s", host, why)
			}
			return e.WithHint("webhooks go to public addresses; set webhooks.allow_private on the server for a receiver on a private network")
		}
	}
	return nil
}

// maxAnswer is how much of a receiver's answer is read (and dropped).
const maxAnswer = 64 << 10

// Send makes one attempt.
func (s *Sender) Send(ctx context.Context, m Message) Result {
	start := time.Now()
	res := s.send(ctx, m)
	res.Latency = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, m Message) Result {
	ts := m.Timestamp.Unix()
	sig, err := Sign(m.Secret, m.ID, ts, m.Body)
	if err != nil {
		return Result{Err: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, strings.NewReader(string(m.Body)))
	if err != nil {
		return Result{Err: "invalid webhook URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "licensectl-webhooks/1")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Err: s.describe(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close()
	return Result{Code: resp.StatusCode}
}

// describe says in a line why an attempt got no answer.
func (s *Sender) describe(err error) string {
	var b *blocked
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &b):
		return "refused: " + b.Error()
	case errors.As(err, &dns):
		return "the host does not resolve"
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", s.timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed before an answer"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
