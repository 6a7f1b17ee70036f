package output

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func runQuery(t *testing.T, expr, in string) (string, error) {
	t.Helper()
	q, err := ParseQuery(expr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = q.Run(context.Background(), &out, strings.NewReader(in))
	return out.String(), err
}

func TestQueryOutput(t *testing.T) {
	for _, tc := range []struct{ expr, in, want string }{
		{".[].key", `[{"key":"A"},{"key":"B"}]`, "A\nB\n"},
		// Integers beyond float64's exact range survive the filter.
		{".[0].cents", `[{"cents":9007199254740993}]`, "9007199254740993\n"},
		{".[0]", `[{"b":1,"a":[true,null]}]`, `{"a":[true,null],"b":1}` + "\n"},
		// Several JSON documents in one output are each filtered.
		{".n", `{"n":1}` + "\n" + `{"n":2}`, "1\n2\n"},
		{"empty", `[1]`, ""},
		{"halt", `[1]`, ""},
		{".", "", ""},
	} {
		got, err := runQuery(t, tc.expr, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s on %s = %q, %v; want %q", tc.expr, tc.in, got, err, tc.want)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	if _, err := ParseQuery(".["); err == nil || !strings.HasPrefix(err.Error(), "invalid --jq expression: ") {
		t.Fatalf("parse error = %v", err)
	}
	if _, err := ParseQuery("nosuchfn(1)"); err == nil {
		t.Fatal("an unknown function compiles")
	}
	if _, err := runQuery(t, ".foo", `[1]`); err == nil || !strings.HasPrefix(err.Error(), "--jq: ") {
		t.Fatalf("runtime error = %v", err)
	}
	if _, err := runQuery(t, ".", "-----BEGIN PUBLIC KEY-----"); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("PEM input: %v", err)
	}
}
