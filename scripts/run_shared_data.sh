#!/usr/bin/env bash
# Runs every CSV under a data folder through the `estimate` example, with default
# options and with `--format json`, and prints one line per run: exit status, seconds,
# and the first line of any error. Flags a panic (exit 101 or "panicked" on stderr), a
# run over the time limit, and JSON that does not parse.
#
# usage: scripts/run_shared_data.sh [DATA_DIR] [LIMIT_SECONDS]
#   DATA_DIR defaults to ../shared/data (relative to the repository root).
# Build first: cargo build --release --example estimate
set -u
cd "$(dirname "$0")/.."
dir="${1:-../shared/data}"
limit="${2:-10}"
bin=target/release/examples/estimate
[ -d "$dir" ] || { echo "no data folder $dir (pass it as the first argument)" >&2; exit 2; }
[ -x "$bin" ] || { echo "build first: cargo build --release --example estimate" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bad=0
printf '%-55s %-7s %6s %7s  %s\n' file mode status seconds note
while IFS= read -r f; do
  for mode in text json; do
    args=("$f")
    [ "$mode" = json ] && args+=(--format json)
    start=$(date +%s.%N)
    timeout $((limit * 3)) "$bin" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    note="$(head -c 150 "$tmp/err" | head -1)"
    if [ $rc -eq 101 ] || grep -q panicked "$tmp/err"; then note="PANIC: $note"; bad=1; fi
    if [ $rc -eq 124 ]; then note="TIMEOUT"; bad=1; fi
    if (( $(echo "$secs > $limit" | bc) )); then note="SLOW (> ${limit}s) $note"; bad=1; fi
    if [ "$mode" = json ] && [ $rc -eq 0 ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null; then
      note="INVALID JSON $note"; bad=1
    fi
    printf '%-55s %-7s %6s %7.2f  %s\n' "${f#"$dir"/}" "$mode" "$rc" "$secs" "$note"
  done
done < <(find "$dir" -name '*.csv' | sort)
exit $bad
