package httpapi

import (
	"strconv"
	"testing"
)

func TestLRUForgetsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[int](3)
	made := 0
	add := func(k string) int {
		return c.getOrAdd(k, func() int { made++; return made })
	}
	add("a") // 1
	add("b") // 2
	add("c") // 3
	if v := add("a"); v != 1 || made != 3 {
		t.Fatalf("a = %d after %d makes, want the stored 1", v, made)
	}
	add("d") // b is the least recently used now
	if c.len() != 3 {
		t.Fatalf("len = %d, want 3", c.len())
	}
	if _, ok := c.get("b"); ok {
		t.Error("b survived, though least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s forgotten", k)
		}
	}
	if v := add("b"); v != 5 {
		t.Errorf("b again = %d, want a fresh 5", v)
	}
}

// A flood of new keys keeps the size at max and the most recent keys.
func TestLRUStaysBounded(t *testing.T) {
	c := newLRU[string](100)
	for i := range 10000 {
		k := strconv.Itoa(i)
		c.getOrAdd(k, func() string { return k })
		if c.len() > 100 || len(c.items) != c.len() {
			t.Fatalf("after %d keys: len %d, map %d", i+1, c.len(), len(c.items))
		}
	}
	for i := 9900; i < 10000; i++ {
		if v, ok := c.get(strconv.Itoa(i)); !ok || v != strconv.Itoa(i) {
			t.Fatalf("recent key %d: %q %v", i, v, ok)
		}
	}
}
