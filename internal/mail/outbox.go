package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/licensectl/licensectl/internal/licensing"
)

// Outbox "delivers" each message as one .eml file in Dir, for an operator (or
// a mail pick-up service, or a test) to take from there.
type Outbox struct {
	Dir   string
	From  string
	Clock licensing.Clock
}

var _ licensing.Mailer = (*Outbox)(nil)

// Send writes m to a temporary file and renames it into place, so a reader
// polling the directory never sees half a message. The file is readable by
// its owner only: it holds a confirmation code.
func (o *Outbox) Send(ctx context.Context, m licensing.Mail) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := o.Clock.Now().UTC()
	msg, err := compose(o.From, m, now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	f, err := os.CreateTemp(o.Dir, ".msg-*.tmp")
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(msg); err != nil {
		f.Close()
		return fmt.Errorf("mail outbox: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mail outbox: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	var raw [6]byte
	rand.Read(raw[:])
	// The time first, so a listing sorts by when messages were sent.
	name := fmt.Sprintf("%s-%s.eml", now.Format("20060102T150405Z"), hex.EncodeToString(raw[:]))
	if err := os.Rename(tmp, filepath.Join(o.Dir, name)); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	return nil
}
