package cmd

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
	"github.com/licensectl/licensectl/internal/output"
)

// env is what a command's run function takes from the Factory: the streams,
// the backend, the clock and the invocation's configuration. Every options
// struct embeds one (f.env()), so a run function depends on nothing else; a
// test builds one from TestIO, a licensingtest.Services, a pinned clock and a
// Config.
type env struct {
	IO       *IOStreams
	Services func(context.Context) (licensing.Services, error)
	Clock    licensing.Clock
	// Config is the resolved configuration, valid once flags are parsed
	// (the root's PersistentPreRunE resolves it).
	Config func() *Config
}

func (f *Factory) env() env {
	return env{IO: f.IO, Services: f.Services, Clock: f.Clock, Config: f.Config}
}

// format is the output format for this invocation.
func (e env) format() (output.Format, error) {
	fm, err := output.ParseFormat(e.Config().Output, e.IO.StdoutTTY)
	if err != nil {
		return "", licensing.Errorf(licensing.EINVALID, "%v", err)
	}
	return fm, nil
}

// begin returns the backend, the output format and ctx with the acting
// account in it: what a command needs before it asks the backend anything.
func (e env) begin(ctx context.Context) (licensing.Services, output.Format, context.Context, error) {
	format, err := e.format()
	if err != nil {
		return nil, "", ctx, err
	}
	svc, err := e.Services(ctx)
	if err != nil {
		return nil, "", ctx, err
	}
	return svc, format, e.withAccount(ctx), nil
}

// withAccount puts the configured acting account into ctx.
func (e env) withAccount(ctx context.Context) context.Context {
	account := e.Config().Account
	if account == "" {
		return ctx
	}
	email, err := licensing.NormalizeEmail(account)
	if err != nil {
		email = account // the store refuses it with its own message
	}
	return licensing.WithAccount(ctx, email)
}

// quiet reports --quiet: print only errors.
func (e env) quiet() bool { return e.Config().Quiet }

// info prints a message for people on stderr unless --quiet.
func (e env) info(format string, args ...any) {
	if !e.quiet() {
		fmt.Fprintf(e.IO.ErrOut, format, args...)
	}
}

// now is the clock's time.
func (e env) now() time.Time {
	if e.Clock == nil {
		return time.Now()
	}
	return e.Clock.Now()
}

// asOf reads --as-of, or the clock's time when it is not given.
func (e env) asOf(s string) (time.Time, error) {
	if s == "" {
		return e.now().UTC().Truncate(time.Second), nil
	}
	return parseTime(s)
}

// confirm asks question (without "[y/N]") on stderr and reads the answer
// from stdin; it returns nil only for a yes, or at once with --yes. Every
// command that asks first asks through it, so the answers mean the same
// everywhere:
//   - no terminal on stdin: nobody can be asked; what is printed as
//     "WHAT: confirm with --yes" (exit 2), with hint;
//   - no answer at all (end of input): exit 2;
//   - anything but y/yes: exit 1, "nothing was done".
func (e env) confirm(what, question, hint string) error {
	if e.Config().Yes {
		return nil
	}
	if !e.IO.StdinTTY {
		return licensing.Errorf(licensing.EINVALID, "%s: confirm with --yes (stdin is not a terminal, so nobody can be asked)", what).
			WithHint("%s", hint)
	}
	fmt.Fprintf(e.IO.ErrOut, "%s [y/N] ", question)
	answer, err := bufio.NewReader(e.IO.In).ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(e.IO.ErrOut)
		return licensing.Errorf(licensing.EINVALID, "no answer: nothing was done")
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return &exitError{err: licensing.Errorf(licensing.EINVALID, "not confirmed: nothing was done"), code: ExitFailure}
}
