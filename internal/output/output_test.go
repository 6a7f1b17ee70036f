package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type row struct {
	Key   string `json:"key"`
	Price int64  `json:"price_cents"`
}

func cols() []Column[row] {
	return []Column[row]{
		{Header: "KEY", Value: func(r row) string { return r.Key }},
		{Header: "PRICE", Wide: true, Value: func(r row) string { return "$1" }},
	}
}

func render(t *testing.T, f Format, rows []row) string {
	t.Helper()
	var buf bytes.Buffer
	l := &List[row]{Format: f, Columns: cols()}
	if err := l.Begin(&buf); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.End(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestListFormats(t *testing.T) {
	rows := []row{{"A", 1}, {"B, \"quoted\"", 2}}
	var got []row
	if err := json.Unmarshal([]byte(render(t, JSON, rows)), &got); err != nil || len(got) != 2 || got[1] != rows[1] {
		t.Fatalf("json round trip: %v %v", got, err)
	}
	if s := render(t, JSON, nil); strings.TrimSpace(s) != "[]" {
		t.Fatalf("empty json = %q", s)
	}
	if s := render(t, CSV, rows); s != "key,price\nA,$1\n\"B, \"\"quoted\"\"\",$1\n" {
		t.Fatalf("csv = %q", s)
	}
	if s := render(t, YAML, rows); !strings.Contains(s, "- key: A\n  price_cents: 1\n") {
		t.Fatalf("yaml = %q", s)
	}
	table := render(t, Table, rows)
	if strings.Contains(table, "PRICE") || !strings.HasPrefix(table, "KEY") {
		t.Fatalf("table shows a wide column or no header: %q", table)
	}
	if wide := render(t, Wide, rows); !strings.Contains(wide, "PRICE") {
		t.Fatalf("wide lacks PRICE: %q", wide)
	}
}

func TestParseFormat(t *testing.T) {
	if f, _ := ParseFormat("", true); f != Table {
		t.Fatal("tty default should be table")
	}
	if f, _ := ParseFormat("", false); f != JSON {
		t.Fatal("pipe default should be json")
	}
	if _, err := ParseFormat("xml", true); err == nil {
		t.Fatal("xml accepted")
	}
}
