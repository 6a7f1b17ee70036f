#!/usr/bin/env bash
# bench/downloads/run.sh measures `licensectl licenses download` through
# `licensectl serve` on loopback against curl fetching the same file from
# the same server route (GET /v1/licenses/{key}/download/file, same token),
# in interleaved rounds, and prints each round and the ratio of the median
# rates. licensectl also hashes (SHA-256) what it receives, writes FILE.part
# and fsyncs it before the rename; curl only writes.
#
# Usage: bench/downloads/run.sh [ROUNDS] [MIB]   (default 7 rounds of 200 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-7} mib=${2:-200}
work=$(mktemp -d /tmp/bench-downloads.XXXXXX)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$work"' EXIT
go build -trimpath -o "$work/licensectl" .
lc() { "$work/licensectl" --db "$work/store.db" "$@"; }
mkdir -p "$work/artifacts" "$work/out"
head -c $((mib << 20)) /dev/urandom > "$work/big-9.0.0.deb"
lc init -q
lc accounts create bench@example.com -q
lc --artifacts "$work/artifacts" products builds add backup-server --os linux-deb --version 9.0.0 --released 2020-01-01 --file "$work/big-9.0.0.deb" -q >/dev/null
key=$(lc --account bench@example.com licenses buy --product backup-server --quantity 1 -o json --jq '.licenses[0]')
token=$(lc --account bench@example.com accounts token create -o json --jq .token)
"$work/licensectl" --db "$work/store.db" serve --addr 127.0.0.1:0 --addr-file "$work/addr" --artifacts "$work/artifacts" --rate 1e9 >"$work/serve.log" 2>&1 &
srv=$!
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.05; done
addr=$(cat "$work/addr")
url="http://$addr/v1/licenses/$key/download/file?os=linux-deb"
bytes=$((mib << 20))
now() { date +%s.%N; }
printf '%-6s %12s %12s %12s %12s %8s\n' round "licensectl s" "MiB/s" "curl s" "MiB/s" ratio
lrates=() crates=() ratios=()
for r in $(seq "$rounds"); do
  rm -f "$work/out/"*; sync
  t0=$(now)
  LICENSECTL_BACKEND=http LICENSECTL_API_URL="http://$addr" LICENSECTL_TOKEN="$token" \
    "$work/licensectl" licenses download "$key" --os linux-deb -O "$work/out/l.deb" -q -o json >/dev/null
  t1=$(now)
  curl -sS --fail -o "$work/out/c.deb" -H "Authorization: Bearer $token" "$url"
  t2=$(now)
  cmp -s "$work/out/l.deb" "$work/big-9.0.0.deb" && cmp -s "$work/out/c.deb" "$work/big-9.0.0.deb" || { echo "bytes differ" >&2; exit 1; }
  ls=$(echo "$t1 - $t0" | bc -l) cs=$(echo "$t2 - $t1" | bc -l)
  lr=$(echo "$mib / $ls" | bc -l) cr=$(echo "$mib / $cs" | bc -l)
  lrates+=("$lr") crates+=("$cr") ratios+=("$(echo "$lr / $cr" | bc -l)")
  printf '%-6s %12.3f %12.1f %12.3f %12.1f %8.2f\n' "$r" "$ls" "$lr" "$cs" "$cr" "${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
lm=$(median "${lrates[@]}") cm=$(median "${crates[@]}")
printf 'median: licensectl %.1f MiB/s, curl %.1f MiB/s, ratio of medians %.2f, median of round ratios %.2f (%d rounds of %d MiB, %s, %d cores, load %s)\n' \
  "$lm" "$cm" "$(echo "$lm / $cm" | bc -l)" "$(median "${ratios[@]}")" "$rounds" "$mib" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
