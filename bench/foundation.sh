#!/usr/bin/env bash
# Measures the Foundation figures on this machine, in one run:
#   - buying 100,000 licenses in one purchase;
#   - a filtered + sorted `licenses list -o json` over 1,000,000 licenses to /dev/null,
#     against the sqlite3 CLI running the equivalent SQL with -json on the same file;
#   - peak RSS of `licenses list -o csv` over 1,000,000 licenses.
# Needs hyperfine and sqlite3 (installed with apt-get when missing).
# Usage: bench/foundation.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
for tool in hyperfine sqlite3; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done

go build -trimpath -o "$work/licensectl" .
bin=$work/licensectl
export LICENSECTL_ACCOUNT=bench@example.com CI=1
db=$work/bench.db

echo "== machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; go version

echo "== buy 100,000 licenses (fresh store each run)"
hyperfine --runs 5 --export-markdown "$work/buy.md" \
  --prepare "rm -f $work/buy.db*; $bin --db $work/buy.db init -q && $bin --db $work/buy.db accounts create bench@example.com -q" \
  "$bin --db $work/buy.db licenses buy --product backup-server --quantity 100000 -o json > /dev/null"

echo "== fill a 1,000,000-license store"
rm -f "$db"*
$bin --db "$db" init -q
$bin --db "$db" accounts create bench@example.com -q
$bin --db "$db" companies create Globex -q
start=$(date +%s.%N)
for i in 1 2 3 4 5 6; do $bin --db "$db" licenses buy --product backup-server --quantity 100000 -q; done
$bin --db "$db" licenses buy --product backup-desktop --quantity 100000 --company Globex -q
$bin --db "$db" licenses buy --product mbs-server --quantity 100000 --billing monthly -q
$bin --db "$db" licenses buy --product mbs-vm --quantity 100000 --billing annual -q
$bin --db "$db" licenses buy --product mbs-desktop --quantity 100000 --trial -q
echo "filled in $(echo "$(date +%s.%N) - $start" | bc) s"
$bin --db "$db" licenses list --group -o table

now=$(date +%s)
# What `licenses list --validity valid --sort -expires_at -o json` asks, as plain SQL.
sql="SELECT l.key, l.product, p.name AS product_name, l.kind, l.term,
  CASE WHEN l.seats_used > 0 THEN 'activated' ELSE 'not_activated' END AS status,
  CASE WHEN l.expires_at IS NOT NULL AND l.expires_at <= $now THEN 'expired' ELSE 'valid' END AS validity,
  CASE WHEN l.seats_used > 0 THEN 'used' ELSE 'unused' END AS usage,
  c.name AS company, l.purchase_id, l.purchase_email, l.allow_rm = 1 AS allow_rm, l.auto_renew = 1 AS auto_renew,
  strftime('%Y-%m-%dT%H:%M:%SZ', l.expires_at, 'unixepoch') AS expires_at,
  CASE WHEN l.maintenance_till IS NULL THEN 'none' WHEN l.maintenance_till > $now THEN 'active' ELSE 'expired' END AS maintenance,
  strftime('%Y-%m-%dT%H:%M:%SZ', l.maintenance_till, 'unixepoch') AS maintenance_till,
  l.seats, l.seats_used, strftime('%Y-%m-%dT%H:%M:%SZ', l.created_at, 'unixepoch') AS created_at
FROM licenses l JOIN products p ON p.sku = l.product LEFT JOIN companies c ON c.id = l.company_id
WHERE l.account_id = (SELECT id FROM accounts WHERE email = 'bench@example.com')
  AND (l.expires_at IS NULL OR l.expires_at > $now)
ORDER BY l.expires_at DESC, l.id DESC;"
echo "$sql" > "$work/list.sql"

echo "== list: valid licenses sorted by -expires_at, JSON to /dev/null, vs sqlite3 -json"
hyperfine --warmup 1 --runs 5 --export-markdown "$work/list.md" \
  -n licensectl "$bin --db $db licenses list --validity valid --sort -expires_at -o json > /dev/null" \
  -n sqlite3 "sqlite3 -json $db < $work/list.sql > /dev/null"
echo "rows: licensectl $($bin --db "$db" licenses list --validity valid --sort -expires_at -o csv --no-headers | wc -l), sqlite3 $(sqlite3 -csv "$db" < "$work/list.sql" | wc -l)"

echo "== first page: --limit 50, filtered and sorted, process start included"
hyperfine --warmup 2 --runs 20 -N --export-markdown "$work/page.md" \
  "$bin --db $db licenses list --validity valid --sort -expires_at --limit 50 -o json"

echo "== peak RSS of licenses list -o csv over every license"
/usr/bin/time -v "$bin" --db "$db" licenses list -o csv 2> "$work/rss.txt" > /dev/null
grep -E 'Maximum resident|Elapsed' "$work/rss.txt"
