// Command rawinsert is the baseline of `licenses buy --quantity N` in
// bench/run: the same rows (a purchase and N licenses with fresh keys) written
// to a store made by `licensectl init` with the same driver, DSN pragmas and
// schema, by one prepared INSERT in one transaction and nothing else: no
// rules, pricing, idempotency, audit or output.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"time"

	_ "modernc.org/sqlite"

	"github.com/licensectl/licensectl/internal/licensekey"
)

func main() {
	db := flag.String("db", "", "store made by `licensectl init` (with the account below)")
	account := flag.String("account", "bench@example.com", "account that receives the licenses")
	n := flag.Int("n", 100000, "licenses to insert")
	flag.Parse()
	if err := run(context.Background(), *db, *account, *n); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, path, account string, n int) error {
	// The store's writer DSN (internal/sqlite/store.go).
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var acct int64
	if err := tx.QueryRowContext(ctx, "SELECT id FROM accounts WHERE email = ?", account).Scan(&acct); err != nil {
		return fmt.Errorf("account %s: %w", account, err)
	}
	now := time.Now().Unix()
	purchase := fmt.Sprintf("P-RAW%09d", now%1e9)
	if _, err := tx.ExecContext(ctx, `INSERT INTO purchases (id, account_id, purchase_email, idempotency_key, request_hash,
		total_cents, currency, billing, trial, created_at) VALUES (?, ?, ?, ?, '', 0, 'USD', '', 0, ?)`,
		purchase, acct, account, purchase, now); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO licenses (key, account_id, product, kind, term, company_id,
		purchase_id, purchase_email, auto_renew, expires_at, seats, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for range n {
		k, err := licensekey.New(nil)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, k, acct, "backup-server", "commercial", "perpetual", nil,
			purchase, account, 0, nil, 1, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}
