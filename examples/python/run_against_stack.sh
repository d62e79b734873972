#!/usr/bin/env bash
# Runs the Python client example against a fresh local stack, as CI does:
# installs the requirements in a venv (the repository's .venv-ci if present),
# generates the stubs, starts `autointel up` on free ports with a throw-away
# data directory, runs nissan_yoy.py against it, checks the article's numbers
# exports the figures as Parquet and reads them with pyarrow (read_export.py),
# then starts `autointel up --demo` and reads a series and every figure over Arrow
# Flight into pandas, checked against the gRPC answers (flight_series.py), and stops
# both stacks (also on failure).
#
# Usage: examples/python/run_against_stack.sh
# Environment: AUTOINTEL_BIN (default target/debug/autointel), VENV (default .venv-ci).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
autointel="${AUTOINTEL_BIN:-$root/target/debug/autointel}"
venv="${VENV:-$root/.venv-ci}"

if [ ! -x "$autointel" ]; then
  echo "error: $autointel not found: run \`cargo build --workspace --bins\` first (or set AUTOINTEL_BIN)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
python="$venv/bin/python"
"$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
PYTHON="$python" "$here/generate.sh"

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

work="$(mktemp -d)"
pids=()
stop_stacks() {
  for pid in "${pids[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop_stacks EXIT

# start_stack NAME [up flags…]: `autointel up` on free ports with its own data directory
# under $work; sets stats_port once it says it is ready.
start_stack() {
  local name="$1"
  shift
  local registry_port stats
  registry_port="$(free_port)"
  stats="$(free_port)"
  while [ "$stats" = "$registry_port" ]; do stats="$(free_port)"; done
  local log="$work/$name.log"
  : >"$log"
  # No AUTOINTEL_* settings from the caller's environment: only the flags count.
  # shellcheck disable=SC2046 # word splitting of the -u options is intended
  env $(env | sed -n 's/^\(AUTOINTEL_[A-Za-z0-9_]*\)=.*/-u \1/p') \
    "$autointel" up "$@" --data-dir "$work/$name" --registry-port "$registry_port" --stats-port "$stats" \
    >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    if grep -q 'Press Ctrl-C to stop.' "$log"; then
      stats_port="$stats"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  cat "$log" >&2
  echo "error: autointel up $* did not become ready" >&2
  exit 1
}

start_stack seed
out="$(env -u AUTOINTEL_TOKEN "$python" "$here/nissan_yoy.py" --stats "127.0.0.1:$stats_port")"
printf '%s\n' "$out"
for expected in '694,900' '974,700' '-279,800' '-28.7%'; do
  if ! grep -qF -- "$expected" <<<"$out"; then
    echo "error: expected \"$expected\" in the output of nissan_yoy.py" >&2
    exit 1
  fi
done
echo "ok: the Python client read Nissan China's January-November 2023 change from a live stack"

# The Parquet export of the same stack, read with pyarrow.
env -u AUTOINTEL_TOKEN "$autointel" --stats "http://127.0.0.1:$stats_port" \
  export --format parquet --include-superseded -f "$work/figures.parquet"
"$python" "$here/read_export.py" "$work/figures.parquet"

# Arrow Flight on the demo stack: a series into pandas and every figure, checked against
# the gRPC answers (flight_series.py).
start_stack demo --demo
env -u AUTOINTEL_TOKEN "$python" "$here/flight_series.py" --stats "127.0.0.1:$stats_port"
