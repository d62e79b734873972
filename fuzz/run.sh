#!/usr/bin/env bash
# Builds and runs every fuzz target for a bounded time, then reports executions per target.
#
#   fuzz/run.sh [seconds_per_target] [target...]      (default: 60 s, every target)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The toolchain is stable, so the
# nightly flags cargo-fuzz passes (-Zsanitizer, sanitizer coverage) are enabled with
# RUSTC_BOOTSTRAP=1. SANITIZER=none skips AddressSanitizer (the default is address).
# RUNS=N also stops each target after N executions (whichever comes first), e.g.
#   RUNS=1000000 fuzz/run.sh 3600     # the RELIABILITY.md run: one million per target
# Corpora live in fuzz/corpus/<target>/ (not committed) and are seeded from data/seed and
# fuzz/seeds/<target>/ on every run; crashes land in fuzz/artifacts/<target>/.
# Exits non-zero if any target crashes, leaks, times out or fails to build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-60}"
shift || true
all_targets=(import_csv import_json wire_to_domain page_token domain_parsers)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
sanitizer="${SANITIZER:-address}"
runs=()
if [ -n "${RUNS:-}" ]; then runs=("-runs=$RUNS"); fi

export RUSTC_BOOTSTRAP=1
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

echo "== building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer" --codegen-units 16

seed_corpus() {
    local target="$1" corpus="$here/corpus/$1"
    mkdir -p "$corpus"
    case "$target" in
        import_csv)
            cp "$root"/data/seed/*.csv "$corpus/" 2>/dev/null || true ;;
        wire_to_domain)
            # Every seed entity and figure, prost-encoded (built without instrumentation).
            cargo run --quiet --example make_seeds -- "$corpus" ;;
        domain_parsers | page_token)
            # Every cell of the seed data is a realistic parser input.
            tr ',\n' '\n\n' < "$root/data/seed/sales_figures.csv" | sort -u | head -200 |
                while IFS= read -r cell; do
                    [ -n "$cell" ] && printf '%s' "$cell" > "$corpus/seed-$(printf '%s' "$cell" | cksum | cut -d' ' -f1)"
                done
            grep -oE '"[^"]{1,60}"' "$root"/data/seed/*.toml | cut -d'"' -f2 | sort -u | head -300 |
                while IFS= read -r cell; do
                    printf '%s' "$cell" > "$corpus/seed-$(printf '%s' "$cell" | cksum | cut -d' ' -f1)"
                done ;;
    esac
    if [ -d "$here/seeds/$target" ]; then
        cp "$here/seeds/$target"/* "$corpus/" 2>/dev/null || true
    fi
    if [ -d "$here/regressions/$target" ]; then
        cp "$here/regressions/$target"/* "$corpus/" 2>/dev/null || true
    fi
}

failed=()
summary=()
for target in "${targets[@]}"; do
    seed_corpus "$target"
    log="$here/artifacts/$target.log"
    mkdir -p "$here/artifacts/$target"
    echo "== running $target for ${seconds}s"
    status=0
    cargo fuzz run --sanitizer "$sanitizer" --codegen-units 16 "$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 "${runs[@]}" >"$log" 2>&1 || status=$?
    # libFuzzer ends with "Done N runs in S second(s)" and, with -print_final_stats,
    # "stat::number_of_executed_units: N"; a crash ends with the "#N ..." line before it.
    execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || true)"
    if [ -z "$execs" ]; then
        execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)"
    fi
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$(printf '%-16s %12s executions  CRASHED (see %s, artifacts/%s/)' "$target" "${execs:-?}" "${log#"$root"/}" "$target")")
        grep -E 'panicked|ERROR: |SUMMARY|Test unit written' "$log" | head -5 >&2 || true
    else
        summary+=("$(printf '%-16s %12s executions  ok' "$target" "${execs:-?}")")
    fi
done

echo
echo "== fuzzing summary (${seconds}s per target, sanitizer: $sanitizer)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
