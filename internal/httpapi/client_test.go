package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/licensectl/licensectl/internal/licensing"
)

// A GET is retried through 503s; a POST without an idempotency key is not
// (it might have been applied); a purchase always carries a key and is.
func TestClientRetriesOnlyWhatIsSafe(t *testing.T) {
	var calls atomic.Int32
	failFirst := int32(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n <= failFirst {
			w.Header().Set("Retry-After", "0")
			writeProblem(w, Problem{Status: 503, Code: licensing.EINTERNAL, Detail: "busy"})
			return
		}
		switch r.URL.Path {
		case "/v1/companies":
			writeJSON(w, 200, []licensing.Company{{Name: "Globex"}})
		case "/v1/purchases":
			if r.Header.Get("Idempotency-Key") == "" {
				t.Error("purchase sent without Idempotency-Key")
			}
			writeJSON(w, 201, licensing.Purchase{ID: "P-1"})
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "lct_test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if cs, err := c.ListCompanies(ctx); err != nil || len(cs) != 1 || calls.Load() != 3 {
		t.Fatalf("GET: %v %v after %d calls", cs, err, calls.Load())
	}
	calls.Store(0)
	if _, err := c.CreateCompany(ctx, "Initech"); licensing.ErrorCode(err) != licensing.EINTERNAL || calls.Load() != 1 {
		t.Fatalf("POST without key: err %v after %d calls, want one call", err, calls.Load())
	}
	calls.Store(0)
	p, err := c.Buy(ctx, licensing.BuyRequest{Lines: []licensing.BuyLine{{Product: "x", Quantity: 1}}}, nil)
	if err != nil || p.ID != "P-1" || calls.Load() != 3 {
		t.Fatalf("purchase: %v %v after %d calls", p, err, calls.Load())
	}
}

func TestClientMapsProblemsToDomainErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(licensing.Errorf(licensing.ECONFLICT, "the payment mode is fixed").WithHint("use --billing annual")))
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "lct_test")
	_, err := c.ListCompanies(context.Background())
	if licensing.ErrorCode(err) != licensing.ECONFLICT || licensing.ErrorMessage(err) != "the payment mode is fixed" || licensing.ErrorHint(err) != "use --billing annual" {
		t.Fatalf("err = %#v", err)
	}
}
