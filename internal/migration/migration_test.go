package migration

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
	}, "m/*.sql")
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[1].SQL != "B" || ms[0].Name != "0001_a.sql" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no number": {"m/init.sql": {}},
		"duplicate": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m/*.sql"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
