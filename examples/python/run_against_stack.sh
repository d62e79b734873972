#!/usr/bin/env bash
# Runs the Python client example against a fresh local stack, as CI does:
# installs the requirements in a venv (the repository's .venv-ci if present),
# generates the stubs, starts `autointel up` on free ports with a throw-away
# data directory, runs nissan_yoy.py against it, checks the article's numbers
# exports the figures as Parquet and reads them with pyarrow (read_export.py),
# and stops the stack (also on failure).
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
registry_port="$(free_port)"
stats_port="$(free_port)"
while [ "$stats_port" = "$registry_port" ]; do stats_port="$(free_port)"; done

work="$(mktemp -d)"
log="$work/up.log"
# No AUTOINTEL_* settings from the caller's environment: only the flags count.
# shellcheck disable=SC2046 # word splitting of the -u options is intended
env $(env | sed -n 's/^\(AUTOINTEL_[A-Za-z0-9_]*\)=.*/-u \1/p') \
  "$autointel" up --data-dir "$work/data" --registry-port "$registry_port" --stats-port "$stats_port" \
  >"$log" 2>&1 &
up_pid=$!

stop_stack() {
  if kill -0 "$up_pid" 2>/dev/null; then
    kill -INT "$up_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$up_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$up_pid" 2>/dev/null || true
  fi
  wait "$up_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_stack EXIT

ready=""
for _ in $(seq 1 600); do
  if grep -q 'Press Ctrl-C to stop.' "$log"; then
    ready=yes
    break
  fi
  if ! kill -0 "$up_pid" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  cat "$log" >&2
  echo "error: autointel up did not become ready" >&2
  exit 1
fi

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
