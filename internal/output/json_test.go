package output

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/licensing"
)

// TestListJSONFastPath: a list of licenses (encoded by AppendLicenseJSON)
// prints exactly what encoding/json makes of the same licenses.
func TestListJSONFastPath(t *testing.T) {
	company := "A <b> & \"c\""
	exp := time.Unix(1800000000, 0).UTC()
	var ls []*licensing.License
	for i := range 3000 { // more than the writer's 64 KiB buffer
		l := &licensing.License{Key: "K\u2028" + string(rune('A'+i%26)), Product: "p", Seats: i, CreatedAt: exp}
		if i%2 == 0 {
			l.Company, l.ExpiresAt = &company, &exp
		}
		ls = append(ls, l)
	}
	var got bytes.Buffer
	l := &List[*licensing.License]{Format: JSON}
	if err := l.Begin(&got); err != nil {
		t.Fatal(err)
	}
	for _, v := range ls {
		if err := l.Add(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.End(); err != nil {
		t.Fatal(err)
	}
	want := []byte("[")
	for i, v := range ls {
		if i > 0 {
			want = append(want, ',')
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want = append(append(want, '\n'), js...)
	}
	want = append(want, "\n]\n"...)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("list differs from encoding/json:\n got %.300s\nwant %.300s", got.Bytes(), want)
	}
}
