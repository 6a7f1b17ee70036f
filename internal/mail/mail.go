// Package mail delivers licensectl's email (confirmation codes) through one of
// two licensing.Mailer implementations chosen by configuration: an SMTP
// server, or an outbox directory of RFC 5322 .eml files for machines without
// one (and for tests, which read the code back from the file).
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// DefaultFrom is the sender when mail.from is not configured.
const DefaultFrom = "licensectl@localhost"

// DefaultSMTPPort is the submission port (RFC 6409), where STARTTLS is usual.
const DefaultSMTPPort = 587

// Config chooses and configures a mailer: SMTP when Host is set, else the
// outbox directory.
type Config struct {
	Host     string
	Port     int // 0: DefaultSMTPPort
	Username string
	Password string
	From     string // "" : DefaultFrom
	Outbox   string
	Clock    licensing.Clock // for the Date header; nil: the system clock
}

// New returns the mailer cfg describes.
func New(cfg Config) (licensing.Mailer, error) {
	from := cfg.From
	if from == "" {
		from = DefaultFrom
	}
	if _, err := netmail.ParseAddress(from); err != nil || strings.ContainsAny(from, "\r\n") {
		return nil, licensing.Errorf(licensing.EINVALID, "mail.from: invalid address %q", from)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = licensing.SystemClock{}
	}
	if cfg.Host != "" {
		port := cfg.Port
		if port == 0 {
			port = DefaultSMTPPort
		}
		if port < 1 || port > 65535 {
			return nil, licensing.Errorf(licensing.EINVALID, "mail.smtp.port: %d is not a port number", port)
		}
		return &SMTP{Host: cfg.Host, Port: port, Username: cfg.Username, Password: cfg.Password, From: from, Clock: clock}, nil
	}
	if cfg.Outbox == "" {
		return nil, licensing.Errorf(licensing.EINVALID, "no mail delivery configured").
			WithHint("set mail.smtp.host (LICENSECTL_MAIL_SMTP_HOST) or mail.outbox (LICENSECTL_MAIL_OUTBOX)")
	}
	return &Outbox{Dir: cfg.Outbox, From: from, Clock: clock}, nil
}

// compose renders m as an RFC 5322 message with CRLF line ends: a
// quoted-printable UTF-8 text body, so any transport takes it unchanged.
func compose(from string, m licensing.Mail, date time.Time) ([]byte, error) {
	for name, v := range map[string]string{"from": from, "to": m.To, "subject": m.Subject} {
		if strings.ContainsAny(v, "\r\n") { // header injection
			return nil, fmt.Errorf("mail: %s contains a line break", name)
		}
	}
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return nil, fmt.Errorf("mail: invalid recipient %q: %w", m.To, err)
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from)
	header("To", m.To)
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(from))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// messageID is a random Message-ID in the sender's domain.
func messageID(from string) string {
	domain := "localhost"
	if a, err := netmail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	var raw [16]byte
	rand.Read(raw[:])
	return "<" + hex.EncodeToString(raw[:]) + "@" + domain + ">"
}

// address returns the bare address of a From value ("Ops <ops@x>" -> ops@x).
func address(s string) string {
	if a, err := netmail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}
