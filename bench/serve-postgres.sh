#!/usr/bin/env bash
# Measures `licensectl serve` on PostgreSQL (one and two replicas on one
# database) against the SQLite server: GET /v1/licenses?limit=50 on a
# 100,000-license store, and POST /v1/purchases (one license each), with wrk.
# Usage: bench/serve-postgres.sh [WORKDIR] [DURATION] [POSTGRES_URL]
# The URL defaults to the CI server; a fresh schema is created and dropped.
# Pool settings go in the URL: ...?pool_max_conns=16
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
dur=${2:-10s}
base=${3:-postgres://postgres@127.0.0.1:5432/test}
mkdir -p "$work"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -trimpath -o "$work/licensectl" .
bin=$work/licensectl
export CI=1
schema=lct_bench_$$
sep='?'; [[ $base == *\?* ]] && sep='&'
pg="$base${sep}search_path=$schema"
lite=$work/serve.db
rm -f "$lite"*
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	psql "${base%%\?*}" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

cat > "$work/buy.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"lines":[{"product":"backup-desktop","quantity":1}]}'
wrk.headers["Content-Type"] = "application/json"
LUA

prepare() { # DB
	$bin --db "$1" init -q
	$bin --db "$1" accounts create bench@example.com -q
	$bin --db "$1" --account bench@example.com licenses buy --product backup-server --quantity 100000 -q
	$bin --db "$1" --account bench@example.com accounts token create -o json | sed -n 's/.*"token": "\(lct_[a-z2-7]*\)".*/\1/p'
}

start() { # DB NAME: serves DB; its address ends up in $work/NAME.addr
	rm -f "$work/$2.addr"
	$bin --db "$1" serve --addr 127.0.0.1:0 --addr-file "$work/$2.addr" --rate 1000000000 --renewals-every 0 > /dev/null 2> "$work/$2.log" &
	pids+=($!)
	while [ ! -s "$work/$2.addr" ]; do sleep 0.05; done
}

# wrk on each address at once (connections split between them); prints the summed requests/s.
load() { # TOKEN SCRIPT PATH ADDR...
	local token=$1 script=$2 path=$3; shift 3
	local n=$# c=$((32 / $#)) i=0 w=()
	for a in "$@"; do
		wrk -t1 -c"$c" -d"$dur" ${script:+-s "$script"} -H "Authorization: Bearer $token" "http://$a$path" > "$work/wrk.$i.txt" &
		w+=($!)
		i=$((i + 1))
	done
	wait "${w[@]}"
	local sum=0
	for ((i = 0; i < n; i++)); do
		if grep -q 'Non-2xx' "$work/wrk.$i.txt"; then grep 'Non-2xx' "$work/wrk.$i.txt" >&2; fi
		sum=$(echo "$sum + $(awk '/Requests\/sec/ {print $2}' "$work/wrk.$i.txt")" | bc)
	done
	echo "$sum"
}

echo "== machine: $(nproc) cores, $(go version | cut -d' ' -f3), $(psql "${base%%\?*}" -Atc 'SHOW server_version' | cut -d' ' -f1) PostgreSQL; $dur per run, 32 connections"
tl=$(prepare "$lite")
tp=$(prepare "$pg")
start "$lite" lite
start "$pg" pg1
start "$pg" pg2
a_lite=$(cat "$work/lite.addr") a_pg1=$(cat "$work/pg1.addr") a_pg2=$(cat "$work/pg2.addr")
sleep 0.3
printf '%-34s %12s %12s\n' "" "GET req/s" "POST req/s"
printf '%-34s %12s %12s\n' "sqlite, 1 replica" "$(load "$tl" "" "/v1/licenses?limit=50" "$a_lite")" "$(load "$tl" "$work/buy.lua" "/v1/purchases" "$a_lite")"
printf '%-34s %12s %12s\n' "postgres, 1 replica" "$(load "$tp" "" "/v1/licenses?limit=50" "$a_pg1")" "$(load "$tp" "$work/buy.lua" "/v1/purchases" "$a_pg1")"
printf '%-34s %12s %12s\n' "postgres, 2 replicas" "$(load "$tp" "" "/v1/licenses?limit=50" "$a_pg1" "$a_pg2")" "$(load "$tp" "$work/buy.lua" "/v1/purchases" "$a_pg1" "$a_pg2")"
