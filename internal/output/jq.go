package output

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/itchyny/gojq"
)

// Query is a compiled --jq expression. Every command's JSON output passes
// through one, so no command needs to know about jq.
type Query struct {
	code *gojq.Code
}

// ParseQuery compiles a jq expression. Its errors are one line, for the user.
func ParseQuery(expr string) (*Query, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid --jq expression: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("invalid --jq expression: %v", err)
	}
	return &Query{code: code}, nil
}

// ErrNotJSON means the command printed something that is not JSON (a PEM
// key, a shell completion script), so --jq cannot apply to it.
var ErrNotJSON = errors.New("this command's output is not JSON")

// Run applies the query to each JSON value read from in and writes each
// result to w: strings raw (as `jq -r` and `gh --jq` do, so results drop
// into shell variables), everything else as one line of JSON.
func (q *Query) Run(ctx context.Context, w io.Writer, in io.Reader) error {
	dec := json.NewDecoder(in)
	// Keep integers exact: cents and counts must not turn into floats.
	dec.UseNumber()
	bw := bufio.NewWriter(w)
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			return ErrNotJSON
		}
		if err := q.emit(ctx, bw, v); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func (q *Query) emit(ctx context.Context, w *bufio.Writer, v any) error {
	iter := q.code.RunWithContext(ctx, v)
	for {
		r, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, ok := r.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return nil // `halt` stops without an error
			}
			return fmt.Errorf("--jq: %v", err)
		}
		if s, ok := r.(string); ok {
			w.WriteString(s)
		} else {
			b, err := gojq.Marshal(r)
			if err != nil {
				return fmt.Errorf("--jq: %v", err)
			}
			w.Write(b)
		}
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
	}
}
