// Package storetest checks what every app.Store promises beyond what the
// contract suite sees through the use cases; each store's tests run it on
// a store of theirs.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensectl/licensectl/internal/app"
)

// ReadOne checks that a ReadOne body runs its one statement and is refused
// a second one (app.ErrOneStatement), and a write. s is a seeded store.
func ReadOne(t *testing.T, s app.Store) {
	t.Helper()
	ctx := context.Background()
	var products int
	if err := s.ReadOne(ctx, func(tx app.Tx) error {
		ps, err := tx.Products(ctx)
		products = len(ps)
		return err
	}); err != nil || products == 0 {
		t.Fatalf("one statement: %d products, %v", products, err)
	}
	err := s.ReadOne(ctx, func(tx app.Tx) error {
		if _, err := tx.Products(ctx); err != nil {
			return err
		}
		_, err := tx.Products(ctx)
		return err
	})
	if !errors.Is(err, app.ErrOneStatement) {
		t.Errorf("a second statement: %v, want app.ErrOneStatement", err)
	}
	err = s.ReadOne(ctx, func(tx app.Tx) error {
		if _, err := tx.Products(ctx); err != nil {
			return err
		}
		_, err := tx.Product(ctx, "backup-ultimate") // a single-row look-up
		return err
	})
	if !errors.Is(err, app.ErrOneStatement) {
		t.Errorf("a second, single-row statement: %v, want app.ErrOneStatement", err)
	}
	err = s.ReadOne(ctx, func(tx app.Tx) error {
		return tx.InsertCompany(ctx, 1, "Nope", "nope", time.Now())
	})
	if err == nil || !strings.Contains(err.Error(), "ReadOne cannot write") {
		t.Errorf("a write in a ReadOne: %v", err)
	}
}
