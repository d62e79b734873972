#!/usr/bin/env bash
# Bounded load: drives registry-server and stats-server (release builds, SQLite, seed
# loaded, a small max_concurrent_requests so that load shedding happens) at saturation
# with h2load, then proves from each server's /metrics that every request ended OK or
# RESOURCE_EXHAUSTED (h2load counts any HTTP 200 as a success, gRPC errors included), that
# the servers still answer afterwards, and that memory stayed under an absolute bound
# (VmRSS at start, middle and end, each at most MAX_RSS_KB).
#
#   scripts/load.sh                 # 30 s per service, 64 connections x 100 streams
#   DURATION=10 CONNECTIONS=16 STREAMS=50 MAX_CONCURRENT=16 scripts/load.sh
#   LOAD_SKIP_BUILD=1 scripts/load.sh   # with the release binaries already built
#
# Needs: cargo, python3 (only to hand-encode two small protobuf messages), curl, and h2load
# (installed from the nghttp2-client package when missing). Writes everything under
# $WORK (default: a temporary directory) and prints a summary; exits non-zero when any
# check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-30}"
CONNECTIONS="${CONNECTIONS:-64}"
STREAMS="${STREAMS:-100}"
MAX_CONCURRENT="${MAX_CONCURRENT:-32}"
# Resident memory each server must stay under while saturated (256 MiB: a quarter of the
# pods' 1 GiB limit).
MAX_RSS_KB="${MAX_RSS_KB:-262144}"
WORK="${WORK:-$(mktemp -d -t autointel-load.XXXXXX)}"
mkdir -p "$WORK"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

if ! command -v h2load >/dev/null; then
  step "installing h2load (nghttp2-client)"
  apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null
fi

BIN="${CARGO_TARGET_DIR:-target}/release"
if [ -z "${LOAD_SKIP_BUILD:-}" ]; then
  step "release build"
  cargo build --release --locked -p autointel-registry -p autointel-stats -p autointel-cli --bins
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REG_PORT=$(free_port); REG_METRICS=$(free_port)
STATS_PORT=$(free_port); STATS_METRICS=$(free_port)

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

export AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS="$MAX_CONCURRENT"
# A local measurement: no tokens (the servers refuse to start without them otherwise).
export AUTOINTEL_AUTH__DISABLED=true
export RUST_LOG=warn

step "starting registry :$REG_PORT and stats :$STATS_PORT (max_concurrent_requests=$MAX_CONCURRENT)"
"$BIN/registry-server" --listen "127.0.0.1:$REG_PORT" --metrics-listen "127.0.0.1:$REG_METRICS" \
  --database-url "sqlite://$WORK/registry.db?mode=rwc" --seed >"$WORK/registry.log" 2>&1 &
REG_PID=$!; PIDS+=("$REG_PID")
"$BIN/stats-server" --listen "127.0.0.1:$STATS_PORT" --metrics-listen "127.0.0.1:$STATS_METRICS" \
  --database-url "sqlite://$WORK/stats.db?mode=rwc" --registry "http://127.0.0.1:$REG_PORT" \
  >"$WORK/stats.log" 2>&1 &
STATS_PID=$!; PIDS+=("$STATS_PID")
for port in "$REG_METRICS" "$STATS_METRICS"; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break; sleep 0.2; done
done
unset AUTOINTEL_SERVER__MAX_CONCURRENT_REQUESTS
# The seed figures, through the API (retried while the servers finish starting).
for _ in $(seq 1 50); do
  "$BIN/autointel" --registry "http://127.0.0.1:$REG_PORT" --stats "http://127.0.0.1:$STATS_PORT" \
    import data/seed/sales_figures.csv >"$WORK/import.log" 2>&1 && break
  sleep 0.2
done
grep -q "Imported 2 figures" "$WORK/import.log" || fail "seed import: $(cat "$WORK/import.log")"

step "pre-encoding the requests (5-byte gRPC prefix + protobuf)"
python3 - "$WORK" <<'EOF'
import struct, sys
work = sys.argv[1]
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        if n: out.append(b | 0x80)
        else: out.append(b); return bytes(out)
def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0: return key + varint(payload)
    return key + varint(len(payload)) + payload
def string(n, s): return field(n, 2, s.encode())
def frame(msg): return b"\x00" + struct.pack(">I", len(msg)) + msg
# autointel.registry.v1.GetOrganizationRequest { name }
get_org = string(1, "organizations/nissan-china")
# autointel.stats.v1.ComputeTotalRequest { series: SeriesKey, period: MonthRange }
series = (string(1, "organizations/nissan-china") + field(2, 0, 6) + field(3, 0, 3)
          + string(4, "CN") + field(5, 0, 4) + field(6, 0, 8))   # company_reported, total, CN, all, all
ym = lambda y, m: field(1, 0, y) + field(2, 0, m)
period = field(1, 2, ym(2023, 1)) + field(2, 2, ym(2023, 11))
total = field(1, 2, series) + field(2, 2, period)
open(f"{work}/registry.bin", "wb").write(frame(get_org))
open(f"{work}/stats.bin", "wb").write(frame(total))
EOF

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Sum of grpc_requests_total for one method and code.
count() {
  curl -sf "http://127.0.0.1:$1/metrics" \
    | awk -v m="method=\"$2\"" -v c="code=\"$3\"" 'index($0,"grpc_requests_total{") == 1 && index($0,m) && index($0,c) {s+=$NF} END {printf "%d", s}'
}
codes() {
  curl -sf "http://127.0.0.1:$1/metrics" \
    | awk -v m="method=\"$2\"" 'index($0,"grpc_requests_total{") == 1 && index($0,m) {match($0,/code="[A-Z_]+"/); c=substr($0,RSTART+6,RLENGTH-7); s[c]+=$NF} END {for (c in s) printf "%s=%d ", c, s[c]}'
}

SUMMARY=()
drive() { # name port metrics_port pid method path body
  local name=$1 port=$2 metrics=$3 pid=$4 method=$5 path=$6 body=$7
  step "$name: h2load ${DURATION}s, -c $CONNECTIONS -m $STREAMS, $path"
  local ok0 shed0
  ok0=$(count "$metrics" "$method" OK); shed0=$(count "$metrics" "$method" RESOURCE_EXHAUSTED)
  local cut0 started
  cut0=$(( $(count "$metrics" "$method" CANCELLED) + $(count "$metrics" "$method" UNKNOWN) ))
  local rss_start rss_mid rss_end
  rss_start=$(rss "$pid")
  ( sleep $((DURATION / 2)); rss "$pid" >"$WORK/$name.rss_mid" ) &
  local sampler=$!
  h2load -D "$DURATION" -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$body" \
    "http://127.0.0.1:$port$path" >"$WORK/$name.h2load" 2>&1 || true
  wait "$sampler"
  rss_end=$(rss "$pid"); rss_mid=$(cat "$WORK/$name.rss_mid")
  sleep 1
  local ok shed all done_
  ok=$(( $(count "$metrics" "$method" OK) - ok0 ))
  shed=$(( $(count "$metrics" "$method" RESOURCE_EXHAUSTED) - shed0 ))
  all=$(codes "$metrics" "$method")
  done_=$(awk '/^requests:/ {for (i=1;i<=NF;i++) if ($(i+1) ~ /^done,?$/) print $i}' "$WORK/$name.h2load")
  started=$(awk '/^requests:/ {for (i=1;i<=NF;i++) if ($(i+1) ~ /^started,?$/) print $i}' "$WORK/$name.h2load")
  # h2load -D resets the streams still open when the time is up (at most -c x -m): the
  # server counts those as CANCELLED, or UNKNOWN when the reset ends the response body
  # before its trailers. Nothing else may appear, and those only up to that many.
  local abandoned=$((started - done_)) cut_off
  cut_off=$(( $(count "$metrics" "$method" CANCELLED) + $(count "$metrics" "$method" UNKNOWN) - cut0 ))
  grep -E '^(finished in|requests:|status codes:|traffic:)' "$WORK/$name.h2load"
  echo "metrics: $all"
  echo "RSS kB: start $rss_start, middle $rss_mid, end $rss_end"
  # Only OK and RESOURCE_EXHAUSTED, ever.
  for code in $all; do
    case "${code%%=*}" in OK|RESOURCE_EXHAUSTED|CANCELLED|UNKNOWN) ;; *) fail "$name: unexpected gRPC status ${code}" ;; esac
  done
  [ "$cut_off" -le "$abandoned" ] \
    || fail "$name: $cut_off CANCELLED/UNKNOWN but h2load abandoned only $abandoned streams"
  [ "$ok" -gt 0 ] || fail "$name: no request succeeded"
  [ "$shed" -gt 0 ] || echo "note: $name never shed load (raise CONNECTIONS/STREAMS or lower MAX_CONCURRENT)"
  [ -n "$done_" ] && [ $((ok + shed)) -ge "$done_" ] || fail "$name: metrics count $((ok + shed)) < h2load's $done_ done"
  for sample in "$rss_start" "$rss_mid" "$rss_end"; do
    [ "$sample" -le "$MAX_RSS_KB" ] || fail "$name: RSS $sample kB over the bound of $MAX_RSS_KB kB"
  done
  # Still serving normally afterwards.
  curl -sf "http://127.0.0.1:$metrics/metrics" | grep -q '^grpc_requests_in_flight 0' \
    || fail "$name: requests still in flight after the load"
  SUMMARY+=("$name $path: ${DURATION}s at -c $CONNECTIONS -m $STREAMS: $((ok + shed)) requests = $ok OK (goodput $((ok / DURATION))/s) + $shed RESOURCE_EXHAUSTED, no other status ($cut_off of the $abandoned streams h2load reset at the end counted CANCELLED/UNKNOWN); RSS $rss_start -> $rss_mid -> $rss_end kB (bound $MAX_RSS_KB kB)")
}

drive registry "$REG_PORT" "$REG_METRICS" "$REG_PID" GetOrganization \
  /autointel.registry.v1.RegistryService/GetOrganization "$WORK/registry.bin"
drive stats "$STATS_PORT" "$STATS_METRICS" "$STATS_PID" ComputeTotal \
  /autointel.stats.v1.StatsService/ComputeTotal "$WORK/stats.bin"

step "after the load: a normal request still succeeds"
"$BIN/autointel" --registry "http://127.0.0.1:$REG_PORT" --stats "http://127.0.0.1:$STATS_PORT" \
  total --organization nissan-china --basis company_reported --period 2023-01..2023-11 | tee "$WORK/after.txt"
grep -q '694,900' "$WORK/after.txt" || fail "the total after the load is wrong"

step "summary (files in $WORK)"
printf '%s\n' "${SUMMARY[@]}"
