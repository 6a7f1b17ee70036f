// Command webhook-receiver is an example receiver of licensectl webhooks,
// with only the standard library: it verifies each message as the Standard
// Webhooks specification says (https://www.standardwebhooks.com) and
// prints its event. Run it with the secret `licensectl webhooks create`
// printed:
//
//	WEBHOOK_SECRET=whsec_... go run ./docs/examples/webhook-receiver -addr :8000
//
// The specification's libraries (pip install standardwebhooks, npm install
// standardwebhooks, ...) verify the same way: new Webhook(secret).verify(body, headers).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how far a message's timestamp may be from now: older
// messages are replays.
const tolerance = 5 * time.Minute

// verify checks the webhook-signature header: one of its space-separated
// "v1,<base64>" values must be the HMAC-SHA256, keyed with the secret's
// base64 after "whsec_", of "{webhook-id}.{webhook-timestamp}.{body}".
func verify(secret string, h http.Header, body []byte, now time.Time) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, b64, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// event is what a message's body holds (the event as `licensectl events
// list -o json` shows it).
type event struct {
	ID        json.RawMessage `json:"id"`
	Type      string          `json:"type"`
	Account   string          `json:"account"`
	Object    string          `json:"object"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// handler verifies, drops repeats (delivery is at least once: the same
// webhook-id may come again) and hands each new event to handle.
func handler(secret string, handle func(event)) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{} // a real receiver keeps these in its database
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || !verify(secret, r.Header, body, time.Now()) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "invalid body", http.StatusBadRequest)
			return
		}
		mu.Lock()
		repeat := seen[r.Header.Get("webhook-id")]
		seen[r.Header.Get("webhook-id")] = true
		mu.Unlock()
		if !repeat {
			handle(ev)
		}
		w.WriteHeader(http.StatusNoContent) // 2xx: delivered; anything else is retried
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8000", "listen address")
	flag.Parse()
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set WEBHOOK_SECRET to the secret `licensectl webhooks create` printed")
	}
	log.Fatal(http.ListenAndServe(*addr, handler(secret, func(ev event) {
		log.Printf("%s %s %s", ev.Type, ev.Object, ev.Data)
	})))
}
