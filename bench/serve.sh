#!/usr/bin/env bash
# Measures `licensectl serve`: GET /v1/licenses?limit=50 on a 100,000-license
# store against a trivial net/http handler (bench/hello), with wrk, in one run
# on this machine. Usage: bench/serve.sh [WORKDIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
dur=${2:-10s}
mkdir -p "$work"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -trimpath -o "$work/licensectl" .
go build -trimpath -o "$work/hello" ./bench/hello
bin=$work/licensectl
db=$work/serve.db
export CI=1
rm -f "$db"*
$bin --db "$db" init -q
$bin --db "$db" accounts create bench@example.com -q
$bin --db "$db" --account bench@example.com licenses buy --product backup-server --quantity 100000 -q
token=$($bin --db "$db" --account bench@example.com accounts token create -o json | sed -n 's/.*"token": "\(lct_[a-z2-7]*\)".*/\1/p')

$bin --db "$db" serve --addr 127.0.0.1:0 --addr-file "$work/addr" --rate 1000000000 2> "$work/serve.log" &
srv=$!
"$work/hello" -addr 127.0.0.1:18081 &
hello=$!
trap 'kill $srv $hello 2>/dev/null || true' EXIT
while [ ! -s "$work/addr" ]; do sleep 0.05; done
addr=$(cat "$work/addr")
sleep 0.3

echo "== machine: $(nproc) cores, $(go version)"
echo "== hello (trivial net/http)"
wrk -t2 -c32 -d"$dur" --latency "http://127.0.0.1:18081/" | tee "$work/hello.txt" | grep -E 'Requests/sec|99%|50%'
echo "== licensectl serve: GET /v1/licenses?limit=50 (100,000 licenses, bearer token)"
wrk -t2 -c32 -d"$dur" --latency -H "Authorization: Bearer $token" "http://$addr/v1/licenses?limit=50" | tee "$work/serve.txt" | grep -E 'Requests/sec|99%|50%|Non-2xx'
h=$(awk '/Requests\/sec/ {print $2}' "$work/hello.txt")
s=$(awk '/Requests\/sec/ {print $2}' "$work/serve.txt")
echo "== ratio serve/hello: $(echo "scale=3; $s / $h" | bc)"
