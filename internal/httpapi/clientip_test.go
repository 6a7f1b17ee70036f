package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8, 192.168.1.1", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		peer    string
		header  []string // name, value, ...
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted: the peer, headers ignored", "203.0.113.7:5000", []string{"X-Forwarded-For", "198.51.100.1"}, nil, "203.0.113.7"},
		{"untrusted peer: a spoofed header is ignored", "203.0.113.7:5000", []string{"X-Forwarded-For", "198.51.100.1", "Forwarded", "for=198.51.100.2"}, trusted, "203.0.113.7"},
		{"trusted peer, no header: the peer", "10.1.2.3:5000", nil, trusted, "10.1.2.3"},
		{"trusted peer: the hop it added", "10.1.2.3:5000", []string{"X-Forwarded-For", "198.51.100.1"}, trusted, "198.51.100.1"},
		{"the right-most untrusted hop, not what the client wrote", "10.1.2.3:5000", []string{"X-Forwarded-For", "1.1.1.1, 198.51.100.1, 10.9.9.9"}, trusted, "198.51.100.1"},
		{"several header lines read in order", "10.1.2.3:5000", []string{"X-Forwarded-For", "1.1.1.1", "X-Forwarded-For", "198.51.100.1"}, trusted, "198.51.100.1"},
		{"every hop trusted: the left-most", "10.1.2.3:5000", []string{"X-Forwarded-For", "192.168.1.1, 10.9.9.9"}, trusted, "192.168.1.1"},
		{"garbage ends the walk at the proxy that wrote it", "10.1.2.3:5000", []string{"X-Forwarded-For", "198.51.100.1, nonsense, 10.9.9.9"}, trusted, "10.9.9.9"},
		{"hops with ports, IPv6", "10.1.2.3:5000", []string{"X-Forwarded-For", "[2001:db8::1]:443, 10.0.0.1:80"}, trusted, "2001:db8::1"},
		{"Forwarded without X-Forwarded-For", "[fd00::1]:5000", []string{"Forwarded", `for=1.1.1.1, for="[2001:db8::2]:4711";proto=https, for=10.0.0.5;by=10.0.0.6`}, trusted, "2001:db8::2"},
		{"Forwarded: unknown stops", "10.1.2.3:5000", []string{"Forwarded", "for=198.51.100.1, for=unknown"}, trusted, "10.1.2.3"},
		{"X-Forwarded-For wins over Forwarded", "10.1.2.3:5000", []string{"Forwarded", "for=198.51.100.2", "X-Forwarded-For", "198.51.100.1"}, trusted, "198.51.100.1"},
		{"an IPv4-mapped peer is its IPv4 address", "[::ffff:10.1.2.3]:5000", []string{"X-Forwarded-For", "198.51.100.1"}, trusted, "198.51.100.1"},
		{"a peer that is no address is kept as it is", "pipe", []string{"X-Forwarded-For", "198.51.100.1"}, trusted, "pipe"},
	} {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Add(c.header[i], c.header[i+1])
		}
		if got := clientAddr(r, c.trusted); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if got := limiterKey("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 limiter key %s", got)
	}
	if got := limiterKey("198.51.100.1"); got != "198.51.100.1" {
		t.Errorf("IPv4 limiter key %s", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{" 10.0.0.0/8 ,192.168.1.7", "", "fd00::1/8,::1"})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmtPrefixes(got); s != "10.0.0.0/8,192.168.1.7/32,fd00::/8,::1/128" {
		t.Fatalf("parsed %s", s)
	}
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "10.0.0.1/8/8", "fe80::1%eth0", "10.0.0.0/", "*"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// Per-address limits count the client a trusted proxy names; by default
// (no proxy trusted) a header cannot buy a client a fresh bucket.
func TestTrustedProxiesDecidePerAddressLimits(t *testing.T) {
	get := func(fx *fixture, xff string) int {
		resp, _ := fx.request(t, "GET", "/healthz", "", "", "X-Forwarded-For", xff)
		return resp.StatusCode
	}
	var log logBuffer
	behind := setup(t, Options{Rate: 0.01, Burst: 1, Logger: logTo(&log),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if a1, a2, b := get(behind, "203.0.113.1"), get(behind, "203.0.113.1"), get(behind, "203.0.113.2"); a1 != 200 || a2 != 429 || b != 200 {
		t.Fatalf("behind a trusted proxy: %d %d %d, want 200 429 200 (a bucket per client)", a1, a2, b)
	}
	resp, _ := behind.request(t, "GET", "/healthz", "", "", "X-Forwarded-For", "203.0.113.3", "X-Request-ID", "via-proxy")
	if line := log.line(t, "request", "via-proxy"); resp.StatusCode != 200 || line["client"] != "203.0.113.3" || !strings.HasPrefix(line["remote"].(string), "127.0.0.1:") {
		t.Fatalf("log line %v", line)
	}

	direct := setup(t, Options{Rate: 0.01, Burst: 1})
	if a, b := get(direct, "203.0.113.1"), get(direct, "203.0.113.2"); a != 200 || b != 429 {
		t.Fatalf("no proxy trusted: %d %d, want 200 429 (a spoofed header changes nothing)", a, b)
	}
}
