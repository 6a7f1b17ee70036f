package mail

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// smtpServer is a minimal SMTP server on a loopback port: enough of RFC 5321
// (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) to receive what the
// SMTP mailer sends over a real socket.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config // nil: no STARTTLS offered
	user     string      // "": no AUTH offered
	password string
	silent   bool // accept connections and never answer

	mu   sync.Mutex
	got  []received
	done chan struct{}
}

type received struct {
	from, to string
	data     []byte
	tls      bool
	authUser string
}

func startSMTP(t *testing.T, s *smtpServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.done = ln, make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.silent {
					<-s.done
					conn.Close()
					return
				}
				s.serve(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		close(s.done)
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(lines ...string) {
		for i, l := range lines {
			sep := " "
			if i < len(lines)-1 {
				sep = "-"
			}
			io.WriteString(conn, l[:3]+sep+l[4:]+"\r\n")
		}
	}
	var cur received
	reply("220 localhost test SMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			ext := []string{"250 localhost"}
			if s.tls != nil && !cur.tls {
				ext = append(ext, "250 STARTTLS")
			}
			if s.user != "" {
				ext = append(ext, "250 AUTH PLAIN")
			}
			reply(append(ext, "250 8BITMIME")...)
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if tc.Handshake() != nil {
				return
			}
			conn, r, cur.tls = tc, bufio.NewReader(tc), true
		case "AUTH":
			f := strings.Fields(line)
			raw, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
			parts := strings.Split(string(raw), "\x00")
			if len(f) == 3 && f[1] == "PLAIN" && len(parts) == 3 && parts[1] == s.user && parts[2] == s.password {
				cur.authUser = parts[1]
				reply("235 authenticated")
			} else {
				reply("535 bad credentials")
			}
		case "MAIL":
			if s.user != "" && cur.authUser == "" {
				reply("530 authentication required")
				continue
			}
			cur.from = angle(line)
			reply("250 ok")
		case "RCPT":
			cur.to = angle(line)
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			cur.data = []byte(data.String())
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

// angle returns the <path> of a MAIL or RCPT command, without parameters.
func angle(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	path, _, _ := strings.Cut(rest, ">")
	return path
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// testCert is a self-signed certificate for 127.0.0.1 and the pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	for _, c := range p {
		port = port*10 + int(c-'0')
	}
	return h, port
}

var sentAt = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

var testMail = licensing.Mail{To: "jane@example.com", Subject: "licensectl confirmation code for purchase P-0123456789AB",
	Body: "Hello,\n\nConfirmation code: K7M2Q-9XDPA\nA long line to be wrapped by quoted-printable: " + strings.Repeat("é", 60) + "\n"}

// checkMessage parses a delivered message and checks its headers and body.
func checkMessage(t *testing.T, raw []byte, from string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, raw)
	}
	h := msg.Header
	for k, want := range map[string]string{"From": from, "To": testMail.To, "Subject": testMail.Subject,
		"Mime-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable"} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if d, err := h.Date(); err != nil || !d.Equal(sentAt) {
		t.Errorf("Date = %q (%v), want %v", h.Get("Date"), err, sentAt)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.org>") {
		t.Errorf("Message-ID = %q, want <...@example.org>", id)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(testMail.Body, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	for _, l := range strings.Split(string(raw), "\r\n") {
		if len(l) > 78 {
			t.Errorf("line longer than 78 characters: %q", l)
		}
	}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	cert, pool := testCert(t)
	srv := &smtpServer{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, user: "mailer", password: "s3cret"}
	host, port := hostPort(t, startSMTP(t, srv))
	m := &SMTP{Host: host, Port: port, Username: "mailer", Password: "s3cret", From: "Licenses <codes@example.org>",
		Clock: licensing.FixedClock(sentAt), TLSConfig: &tls.Config{RootCAs: pool, ServerName: host}}
	if err := m.Send(context.Background(), testMail); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	r := got[0]
	if !r.tls || r.authUser != "mailer" || r.from != "codes@example.org" || r.to != "jane@example.com" {
		t.Errorf("session: tls %v, auth %q, from %q, to %q", r.tls, r.authUser, r.from, r.to)
	}
	checkMessage(t, r.data, "Licenses <codes@example.org>")
}

func TestSMTPWithoutTLSOrAuth(t *testing.T) {
	srv := &smtpServer{}
	host, port := hostPort(t, startSMTP(t, srv))
	m := &SMTP{Host: host, Port: port, From: "codes@example.org", Clock: licensing.FixedClock(sentAt)}
	if err := m.Send(context.Background(), testMail); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 1 || got[0].tls {
		t.Fatalf("received %+v", got)
	}
	checkMessage(t, got[0].data, "codes@example.org")
}

func TestSMTPVerifiesCertificate(t *testing.T) {
	cert, _ := testCert(t)
	srv := &smtpServer{tls: &tls.Config{Certificates: []tls.Certificate{cert}}}
	host, port := hostPort(t, startSMTP(t, srv))
	m := &SMTP{Host: host, Port: port, From: "codes@example.org", Clock: licensing.FixedClock(sentAt)}
	err := m.Send(context.Background(), testMail)
	if err == nil || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("Send to a server with an untrusted certificate: %v, want a starttls error", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestSMTPRefusesWrongPassword(t *testing.T) {
	srv := &smtpServer{user: "mailer", password: "s3cret"}
	host, port := hostPort(t, startSMTP(t, srv))
	m := &SMTP{Host: host, Port: port, Username: "mailer", Password: "wrong", From: "codes@example.org", Clock: licensing.FixedClock(sentAt)}
	if err := m.Send(context.Background(), testMail); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("Send with a wrong password: %v", err)
	}
	noAuth := &smtpServer{}
	host, port = hostPort(t, startSMTP(t, noAuth))
	m = &SMTP{Host: host, Port: port, Username: "mailer", Password: "x", From: "codes@example.org", Clock: licensing.FixedClock(sentAt)}
	if err := m.Send(context.Background(), testMail); err == nil || !strings.Contains(err.Error(), "offers no authentication") {
		t.Fatalf("Send with a username to a server without AUTH: %v", err)
	}
}

func TestSMTPTimeout(t *testing.T) {
	srv := &smtpServer{silent: true}
	host, port := hostPort(t, startSMTP(t, srv))
	m := &SMTP{Host: host, Port: port, From: "codes@example.org", Clock: licensing.FixedClock(sentAt), Timeout: 300 * time.Millisecond}
	start := time.Now()
	err := m.Send(context.Background(), testMail)
	if err == nil {
		t.Fatal("Send to a silent server succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send gave up after %v, want about 300ms", d)
	}
}

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := &Outbox{Dir: dir, From: "Licenses <codes@example.org>", Clock: licensing.FixedClock(sentAt)}
	for range 2 {
		if err := o.Send(context.Background(), testMail); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("outbox holds %d files, want 2 (and no temporary files)", len(entries))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "20260115T100000Z-") || !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("file name %q", e.Name())
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600: it holds a code", e.Name(), perm)
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, raw, "Licenses <codes@example.org>")
	}

	// A line break in a header would let a value inject headers.
	bad := testMail
	bad.Subject = "hi\r\nBcc: everyone@example.com"
	if err := o.Send(context.Background(), bad); err == nil {
		t.Error("a subject with a line break was sent")
	}
	bad = testMail
	bad.To = "not an address"
	if err := o.Send(context.Background(), bad); err == nil {
		t.Error("an invalid recipient was accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("refused messages left files: %d entries", len(entries))
	}
}

func TestNew(t *testing.T) {
	m, err := New(Config{Host: "127.0.0.1", Outbox: "ignored"})
	if s, ok := m.(*SMTP); err != nil || !ok || s.Port != DefaultSMTPPort || s.From != DefaultFrom {
		t.Errorf("New with a host = %#v, %v; want SMTP on port %d", m, err, DefaultSMTPPort)
	}
	m, err = New(Config{Outbox: "out", From: "ops@example.com"})
	if o, ok := m.(*Outbox); err != nil || !ok || o.Dir != "out" || o.From != "ops@example.com" {
		t.Errorf("New without a host = %#v, %v; want the outbox", m, err)
	}
	for _, c := range []Config{{Outbox: "out", From: "not an address"}, {Outbox: "out", From: "a@b\r\nBcc: x@y"}, {}, {Host: "h", Port: 70000}} {
		if _, err := New(c); licensing.ErrorCode(err) != licensing.EINVALID {
			t.Errorf("New(%+v) = %v, want an invalid-config error", c, err)
		}
	}
}
