package main

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/webhook"
)

// The example accepts what licensectl's sender sends, once per id, and
// refuses a message signed with another secret or changed on the way.
func TestExampleVerifiesLicensectlMessages(t *testing.T) {
	secret := webhook.NewSecret()
	var got []event
	srv := httptest.NewServer(handler(secret, func(ev event) { got = append(got, ev) }))
	defer srv.Close()
	s := webhook.NewSender(webhook.Options{AllowPrivate: true})
	body := []byte(`{"id":7,"type":"license.revoked","account":"a@example.com","object":"K","created_at":"2026-12-01T10:00:00Z","data":{}}`)
	m := webhook.Message{URL: srv.URL, Secret: secret, ID: "7", Timestamp: time.Now(), Body: body}
	for range 2 {
		if res := s.Send(context.Background(), m); !res.OK() {
			t.Fatalf("licensectl's message refused: %+v", res)
		}
	}
	if len(got) != 1 || got[0].Type != "license.revoked" || got[0].Object != "K" {
		t.Fatalf("handled %+v, want the event once", got)
	}
	other := m
	other.Secret, other.ID = webhook.NewSecret(), "8"
	if res := s.Send(context.Background(), other); res.Code != 401 {
		t.Fatalf("another secret: %+v", res)
	}
	old := m
	old.ID, old.Timestamp = "9", time.Now().Add(-time.Hour)
	if res := s.Send(context.Background(), old); res.Code != 401 {
		t.Fatalf("an hour-old message: %+v", res)
	}
}
