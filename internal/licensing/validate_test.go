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
