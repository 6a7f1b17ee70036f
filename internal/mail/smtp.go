package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strconv"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// DefaultTimeout bounds a whole SMTP conversation, so a dead server cannot
// hang a command (or a server request) that sends a code.
const DefaultTimeout = 30 * time.Second

// SMTP sends through a mail server: STARTTLS whenever the server offers it,
// and PLAIN authentication when Username is set (net/smtp refuses to send
// the password unencrypted except to localhost).
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	Clock    licensing.Clock
	// Timeout bounds the conversation; 0 means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig for STARTTLS; nil verifies the server's certificate for Host
	// against the system roots.
	TLSConfig *tls.Config
}

var _ licensing.Mailer = (*SMTP)(nil)

// Send delivers m in one SMTP session.
func (s *SMTP) Send(ctx context.Context, m licensing.Mail) error {
	msg, err := compose(s.From, m, s.Clock.Now().UTC())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Cancellation (Ctrl-C) closes the connection, which ends any read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.session(conn, m.To, msg); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	return nil
}

func (s *SMTP) session(conn net.Conn, to string, msg []byte) error {
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("a username is configured but the server offers no authentication")
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(address(s.From)); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
