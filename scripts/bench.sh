#!/usr/bin/env bash
# Runs every benchmark in one go and prints the tables (see BENCHMARKS.md).
#
#   scripts/bench.sh [--sizes 100k,1m,10m] [any other autointel-bench run flag]
#
# Installs what it needs: the duckdb and pyarrow Python packages in .venv-bench, h2load (Debian
# nghttp2-client) when missing; needs a PostgreSQL server (default
# postgres://postgres@127.0.0.1:5432, override with --pg). Data goes under /tmp/autointel-bench.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes="100k,1m"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --sizes=*) sizes="${1#--sizes=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import duckdb, pyarrow.flight' 2>/dev/null; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check duckdb pyarrow
fi
if ! command -v h2load >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nghttp2-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi

cargo build --release --locked -p autointel-bench -p autointel-stats -p autointel-cli --bins

{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
  echo "duckdb $(.venv-bench/bin/python -c 'import duckdb; print(duckdb.__version__)'), $(psql --version 2>/dev/null || echo 'psql ?'), $(h2load --version 2>/dev/null | head -1)"
} >&2

exec target/release/autointel-bench run --sizes "$sizes" \
  --python .venv-bench/bin/python --stats-server target/release/stats-server "${args[@]}"
