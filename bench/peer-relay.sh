#!/usr/bin/env bash
# bench/peer-relay.sh compares keygen-relay, a Go + SQLite license server
# (https://github.com/keygen-sh/keygen-relay), with `licensectl serve` on the
# operation both exist for: a machine takes a seat and gives it back.
#   relay:      PUT /v1/nodes/{fingerprint}  (claim)   then DELETE /v1/nodes/{fingerprint}  (release)
#   licensectl: POST /v1/activations         (activate) then POST /v1/deactivations          (deactivate)
# Each wrk connection is a machine: it claims with a new fingerprint, releases
# it, claims with the next one, and so on (a fingerprint is never reused, a
# seat is never held for long). The load generator is the same for both: wrk
# with one Lua script (below), one wrk thread per connection (-tC -cC, --timeout
# 30s: relay's tail at c=32 passes wrk's default 2 s) so that
# each thread's Lua state sees its own connection's requests in order; the
# script times each request itself (CLOCK_MONOTONIC through LuaJIT's ffi)
# so that claims and releases get latencies of their own.
# Rounds are interleaved, relay then licensectl, ROUNDS times for each
# concurrency in CS; each run starts its server afresh. It prints each
# round's claim (activation) req/s and p99 and, per concurrency, the median
# of the per-round ratios licensectl/relay.
#
# Usage: RELAY=PATH bench/peer-relay.sh [--smoke] [WORKDIR]
#   --smoke   1 round of 1 s at each concurrency (checks the script)
# Env: RELAY       the relay binary (required; see below)
#      LICENSECTL  a licensectl binary (default: built from this checkout)
#      ROUNDS (3), DUR (5s), CS ("8 32"), POOL (100: licenses in relay's pool)
#      RELAY_FLAGS extra flags for `relay serve` (e.g. --no-audit)
#      RELAY_COMMIT the relay commit, printed with the figures
#      RELAY_LICENSE_FILE the license file put in relay's pool (default:
#        cli/testdata/license.lic next to RELAY, i.e. RELAY built in its
#        source tree, else a 6 KB stand-in of the same shape)
# Exit status: 0 after the figures; 1 when a server answered errors or did
# not start; 2 on a usage error, RELAY unset included.
#
# Building relay: the Go module proxy does not serve it, so from its source
# (it needs cgo for github.com/mattn/go-sqlite3; its own dependencies come
# through the proxy):
#   git clone https://github.com/keygen-sh/keygen-relay && cd keygen-relay
#   CGO_ENABLED=1 go build -trimpath -o relay ./cmd/relay
#
# Relay's pool: `relay add` verifies each license file's signature and expiry
# and refuses relay's own (expired) test files, so the pool is loaded into
# its SQLite database directly, with relay's own schema: `relay ls` on an
# empty file applies relay's migrations, then sqlite3 inserts POOL rows into
# `licenses` (guid, file, key; pool_id NULL: the default pool), each `file`
# being relay's test license file cli/testdata/license.lic as it is (a 6 KB
# file, the size a real one has; relay returns it base64-encoded in each
# claim) plus a line of its own, since `file` is UNIQUE. Nothing checks the
# file after `relay add`, so claims serve it as they would a valid one.
# Before each relay run, licenses still held (claims in flight when wrk
# stopped) are released and nodes and audit logs deleted, with sqlite3 while
# relay is stopped, so every relay run starts from the same pool. Relay runs
# as shipped: FIFO strategy, audit log on, its own pragmas.
#
# licensectl: one store (`init`, an account, 2,000 backup-server licenses, a
# token), as bench/hotpaths sets up activations, except that each wrk thread
# (machine) activates and deactivates on a license of its own, a new one in
# each round, so seats are never short and no activation left by one run is
# in the way of the next. `serve --rate 1000000000 --account-rate 1000000000
# --renewals-every 0`, its request log to a file, as bench/hotpaths.
set -euo pipefail
smoke=0
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) smoke=1; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    -*) echo "bench/peer-relay.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ -z "${RELAY:-}" ]; then
  cat >&2 <<'EOF'
bench/peer-relay.sh: no relay binary given, nothing measured.
  Set RELAY=PATH to a keygen-relay binary built from its source (cgo needed):
    git clone https://github.com/keygen-sh/keygen-relay && cd keygen-relay
    CGO_ENABLED=1 go build -trimpath -o relay ./cmd/relay
  then: RELAY=$PWD/relay bench/peer-relay.sh   (--help for more)
EOF
  exit 2
fi
[ -x "$RELAY" ] || { echo "bench/peer-relay.sh: RELAY=$RELAY is not an executable file" >&2; exit 2; }
relay=$(realpath "$RELAY")
work=${1:-$(mktemp -d)}
mkdir -p "$work"
work=$(realpath "$work")
lc=
if [ -n "${LICENSECTL:-}" ]; then lc=$(realpath "$LICENSECTL"); fi
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3} dur=${DUR:-5s} cs=${CS:-8 32} pool=${POOL:-100}
if [ "$smoke" = 1 ]; then rounds=1 dur=1s; fi
read -r -a relay_flags <<< "${RELAY_FLAGS:-}"

missing=()
for tool in wrk jq sqlite3 curl bc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log() { printf '== %s\n' "$*" >&2; }

if [ -z "$lc" ]; then
  log "building licensectl into $work"
  go build -trimpath -o "$work/licensectl" .
  lc=$work/licensectl
fi
export LICENSECTL_ACCOUNT=bench@example.com CI=1 NO_COLOR=1

# licensectl: the store, its keys and a token (kept on a WORKDIR given).
ldb=$work/peer.db
nkeys=2000
if [ ! -s "$work/keys.txt" ]; then
  log "licensectl store $ldb: $nkeys licenses"
  rm -f "$ldb"*
  "$lc" --db "$ldb" init -q
  "$lc" --db "$ldb" accounts create bench@example.com -q
  "$lc" --db "$ldb" licenses buy --product backup-server --quantity "$nkeys" -q
  "$lc" --db "$ldb" licenses list -o csv --no-headers | cut -d, -f1 > "$work/keys.txt"
  "$lc" --db "$ldb" accounts token create -o json | jq -r .token > "$work/token"
  echo 0 > "$work/next-key"
fi
token=$(cat "$work/token")

# relay: its schema by its own migrations, then the pool (see the header).
rdb=$work/relay.sqlite
lic=$work/relay-license.lic
log "relay database $rdb: $pool licenses in the default pool"
rm -f "$rdb"*
if [ -n "${RELAY_LICENSE_FILE:-}" ]; then cp "$RELAY_LICENSE_FILE" "$lic"; fi
if [ ! -s "$lic" ]; then
  # relay's cli/testdata/license.lic when its source is next to the binary,
  # else a 6 KB stand-in of the same shape (the content is never checked).
  src=$(dirname "$relay")/cli/testdata/license.lic
  if [ -s "$src" ]; then cp "$src" "$lic"; else
    { echo '-----BEGIN LICENSE FILE-----'; head -c 4400 /dev/urandom | base64 -w 60; echo '-----END LICENSE FILE-----'; } > "$lic"
  fi
fi
"$relay" --database "$rdb" --no-color ls > /dev/null
{
  echo "BEGIN;"
  for i in $(seq "$pool"); do
    echo "INSERT INTO licenses (guid, file, key) VALUES ('bench-$i', readfile('$lic') || X'$(printf '%s' "# bench $i" | od -An -tx1 | tr -d ' \n')', 'BENCH-KEY-$i');"
  done
  echo "COMMIT;"
} | sqlite3 "$rdb"
[ "$(sqlite3 "$rdb" 'SELECT count(*) FROM licenses WHERE node_id IS NULL')" = "$pool" ] || { echo "bench/peer-relay.sh: relay's pool was not loaded" >&2; exit 1; }

# The load: one script for both servers; a header per run defines tag (the
# fingerprint prefix), claim(), release() and the statuses they answer.
cat > "$work/peer.lua" <<'EOF'
local ffi = require("ffi")
ffi.cdef[[
struct peer_ts { long sec; long nsec; };
int clock_gettime(int clk, struct peer_ts *ts);
]]
local ts = ffi.new("struct peer_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.sec) * 1000 + tonumber(ts.nsec) / 1e6
end

-- main state: number the threads (one connection each)
local threads, nthreads = {}, 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("id", nthreads)
  threads[nthreads] = thread
end

-- thread state: claim a new fingerprint, release it, claim the next, ...
id, n, nc, nr, nerr, firsterr = 0, 0, 0, 0, 0, ""
lc, lr = {}, {}
local claiming, fp, t0 = true, "", 0
function init(args)
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  t0 = now_ms()
  if claiming then
    n = n + 1
    fp = tag .. "-" .. id .. "-" .. n
    return claim(fp, id)
  end
  return release(fp, id)
end
function response(status, headers, body)
  local dt, what = now_ms() - t0, "claim "
  if claiming then
    if status == claim_status then nc = nc + 1; lc[nc] = dt; claiming = false; return end
  else
    claiming, what = true, "release "
    if status == release_status then nr = nr + 1; lr[nr] = dt; return end
  end
  nerr = nerr + 1
  if firsterr == "" then firsterr = what .. fp .. ": " .. status .. " " .. (body or "") end
end

local function pct(a, p)
  if #a == 0 then return 0 end
  local i = math.ceil(#a * p)
  if i < 1 then i = 1 end
  return a[i]
end
function done(summary, latency, requests)
  local c, r, errs, first = {}, {}, 0, ""
  for _, t in ipairs(threads) do
    for _, v in ipairs(t:get("lc")) do c[#c + 1] = v end
    for _, v in ipairs(t:get("lr")) do r[#r + 1] = v end
    errs = errs + t:get("nerr")
    if first == "" then first = t:get("firsterr") end
  end
  table.sort(c)
  table.sort(r)
  local secs = summary.duration / 1e6
  io.write(string.format("PEER claims %d releases %d errors %d secs %.3f claim_rps %.1f claim_p50 %.2f claim_p99 %.2f release_p99 %.2f\n",
    #c, #r, errs, secs, #c / secs, pct(c, 0.5), pct(c, 0.99), pct(r, 0.99)))
  if first ~= "" then io.write("PEER_FIRST_ERROR " .. first .. "\n") end
end
EOF

srv='' addr=''
stop() { [ -z "$srv" ] || { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; }; srv=; }
trap stop EXIT
wait_up() { # wait_up URL: until it answers 2xx, the server still running
  for _ in $(seq 200); do
    curl -fsS -o /dev/null "$@" 2>/dev/null && return 0
    kill -0 "$srv" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
free_port() { # a port nothing listens on
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
start_relay() {
  sqlite3 "$rdb" "UPDATE licenses SET node_id = NULL; DELETE FROM nodes; DELETE FROM audit_logs;"
  local port; port=$(free_port)
  "$relay" --database "$rdb" --no-color serve --bind 127.0.0.1 --port "$port" "${relay_flags[@]}" > "$work/relay.log" 2>&1 &
  srv=$!
  addr=127.0.0.1:$port
  wait_up "http://$addr/v1/health" || { echo "bench/peer-relay.sh: relay did not start:" >&2; cat "$work/relay.log" >&2; exit 1; }
}
start_licensectl() {
  rm -f "$work/addr"
  "$lc" --db "$ldb" serve --addr 127.0.0.1:0 --addr-file "$work/addr" --rate 1000000000 --account-rate 1000000000 --renewals-every 0 2> "$work/serve.log" &
  srv=$!
  for _ in $(seq 200); do [ -s "$work/addr" ] && break; sleep 0.05; done
  addr=$(cat "$work/addr" 2>/dev/null) || true
  wait_up -H "Authorization: Bearer $token" "http://$addr/v1/licenses?limit=1" || { echo "bench/peer-relay.sh: licensectl serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
}
header() { # header SERVER TAG C -> the per-run Lua header
  echo "tag = \"$2\""
  case $1 in
    relay) cat <<'EOF'
claim_status, release_status = 201, 204
function claim(fp, id) return wrk.format("PUT", "/v1/nodes/" .. fp) end
function release(fp, id) return wrk.format("DELETE", "/v1/nodes/" .. fp) end
EOF
      ;;
    licensectl)
      # this run's licenses: the next C of keys.txt, one per thread
      local first; first=$(cat "$work/next-key")
      [ $((first + $3)) -le "$nkeys" ] || { echo "bench/peer-relay.sh: the licenses of $ldb are used up; use a new WORKDIR" >&2; exit 2; }
      echo $((first + $3)) > "$work/next-key"
      sed -n "$((first + 1)),$((first + $3))p" "$work/keys.txt" | awk 'BEGIN {printf "keys = {"} {printf "\"%s\",", $1} END {print "}"}'
      cat <<'EOF'
claim_status, release_status = 201, 200
local function key(id) return keys[id] or keys[1] end
function claim(fp, id)
  return wrk.format("POST", "/v1/activations", nil,
    '{"license_key":"' .. key(id) .. '","machine":"' .. fp .. '","fingerprint":"' .. fp .. '","os":"linux","version":"7.9.4"}')
end
function release(fp, id)
  return wrk.format("POST", "/v1/deactivations", nil, '{"license_key":"' .. key(id) .. '","fingerprint":"' .. fp .. '"}')
end
EOF
      ;;
  esac
}
run() { # run SERVER C ROUND -> prints "claim_rps claim_p99 release_p99"
  local name=$1 c=$2 r=$3 tag=$1-c$2-r$3 out
  trap stop EXIT # run is called in a subshell, which has no traps of its own
  out=$work/$tag.txt
  header "$name" "$tag" "$c" > "$work/$tag.lua"
  cat "$work/peer.lua" >> "$work/$tag.lua"
  "start_$name"
  local auth=()
  [ "$name" = relay ] || auth=(-H "Authorization: Bearer $token")
  wrk -t"$c" -c"$c" -d"$dur" --timeout 30s --latency "${auth[@]}" -s "$work/$tag.lua" "http://$addr" > "$out" 2>&1 || true
  stop
  if ! grep -q '^PEER claims' "$out" || grep -q -e '^PEER_FIRST_ERROR' -e 'Socket errors' "$out"; then
    echo "bench/peer-relay.sh: $name at c=$c answered errors (or wrk failed):" >&2; cat "$out" >&2; exit 1
  fi
  awk '/^PEER claims/ {print $11, $15, $17}' "$out"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
summary=()
for c in $cs; do
  ratios=()
  for r in $(seq "$rounds"); do
    read -r rr rp rrp < <(run relay "$c" "$r")
    read -r lr lp lrp < <(run licensectl "$c" "$r")
    ratio=$(echo "scale=3; $lr / $rr" | bc)
    ratios+=("$ratio")
    printf 'c=%s round %d: relay %.0f claims/s p99 %s ms (release p99 %s) | licensectl %.0f activations/s p99 %s ms (deactivation p99 %s) | licensectl/relay %s\n' \
      "$c" "$r" "$rr" "$rp" "$rrp" "$lr" "$lp" "$lrp" "$ratio"
  done
  summary+=("c=$c: median licensectl/relay $(median "${ratios[@]}") (rounds: ${ratios[*]})")
done
printf '%s\n' "${summary[@]}"
echo "relay: $relay ($("$relay" version 2>/dev/null | head -1)${RELAY_COMMIT:+, commit $RELAY_COMMIT}); flags: ${RELAY_FLAGS:-none}; pool $pool"
checkout="checkout $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', dirty')"
if [ -n "${LICENSECTL:-}" ]; then echo "licensectl: $lc (given by LICENSECTL; this $checkout)"; else echo "licensectl: built from this $checkout"; fi
echo "wrk -tC -cC -d$dur, $rounds interleaved rounds; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
