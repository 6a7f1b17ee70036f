package licensing

import "testing"

func TestSupportsRM(t *testing.T) {
	for v, want := range map[string]bool{
		"5.2": true, "5.2.0": true, "v5.2.1": true, "5.10": true, "6": true, "7.9.4": true, "5.3-beta": true,
		"5.1": false, "5.1.9": false, "4.99": false, "5": false, "": false, "latest": false, "5.x": false,
	} {
		if got := SupportsRM(v); got != want {
			t.Errorf("SupportsRM(%q) = %v, want %v", v, got, want)
		}
	}
}
