package licensing

import (
	"testing"
	"time"
)

func TestMaxEntitledVersion(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	builds := []Build{{Version: "7.9.4", ReleasedAt: day(20)}, {Version: "7.10.0", ReleasedAt: day(10)}, {Version: "7.2.1", ReleasedAt: day(1)}}
	for _, c := range []struct {
		cutoff time.Time
		builds []Build
		want   string
	}{
		{day(31), builds, "7.10.0"}, // compared as versions, not strings
		{day(15), builds, "7.10.0"},
		{day(5), builds, "7.2.1"},
		{day(1), builds, "7.2.1"}, // released on the cutoff counts
		{time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), builds, "0.0"},
		{day(15), nil, ""},
	} {
		if got := MaxEntitledVersion(c.cutoff, c.builds); got != c.want {
			t.Errorf("MaxEntitledVersion(%s) = %q, want %q", c.cutoff.Format("2006-01-02"), got, c.want)
		}
	}
}

// TOO_MANY_MACHINES speaks proper English for one seat and for several.
func TestTooManyMachinesGrammar(t *testing.T) {
	now := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	other := ValidationLookup{ActivationOf: func(string) (*Activation, error) { return nil, nil }}
	for _, c := range []struct {
		seats, used int
		fingerprint string
		want        string
	}{
		{1, 1, "fp", "license K is not activated on this machine and its 1 seat is taken by another machine"},
		{3, 3, "fp", "license K is not activated on this machine and all 3 seats are taken by others"},
		{1, 2, "", "license K has 2 machines for 1 seat"},
		{2, 3, "", "license K has 3 machines for 2 seats"},
	} {
		v := &Validation{Fingerprint: c.fingerprint}
		if err := v.Decide(&License{Key: "K", Seats: c.seats, SeatsUsed: c.used}, false, now, other); err != nil {
			t.Fatal(err)
		}
		if v.Code != ValidTooManyMachines || v.Message != c.want {
			t.Errorf("%d of %d seats: %s %q, want %q", c.used, c.seats, v.Code, v.Message, c.want)
		}
	}
}
