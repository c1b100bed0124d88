#!/usr/bin/env bash
# Acceptance run of issue 15: every CSV under a data folder (recursively) through the
# release `estimate` example three times, with default options, with `--all` and with
# `--format json`, each under `timeout`. One line per run: exit status, wall seconds, and
# the first line of any error. Flags a panic (exit 101/134 or "panicked" on stderr), a
# run killed by the timeout, a run over the time limit, JSON that does not parse, and any
# N̂ below the units seen printed as a number in the JSON (scripts/check_json_below_seen.py).
# Ends with a summary: files, runs, exit codes, panics, the slowest run, violations.
#
# usage: scripts/run_shared_data.sh [DATA_DIR] [LIMIT_SECONDS] [TIMEOUT_SECONDS]
#   DATA_DIR defaults to ../shared/data (relative to the repository root), LIMIT_SECONDS
#   to 10 (the target), TIMEOUT_SECONDS to 20. Exit status 1 when anything is flagged.
# Builds the example first (cargo build --release --example estimate). Needs python3.
set -u
cd "$(dirname "$0")/.."
dir="${1:-../shared/data}"
limit="${2:-10}"
tmo="${3:-20}"
bin=target/release/examples/estimate
[ -d "$dir" ] || { echo "no data folder $dir (pass it as the first argument)" >&2; exit 2; }
cargo build --quiet --release --example estimate || exit 2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bad=0 files=0 runs=0 panics=0 flagged=0 max=0 maxrun=""
declare -A codes=()
printf '%-60s %-7s %6s %7s  %s\n' file mode status seconds note
while IFS= read -r f; do
  files=$((files + 1))
  for mode in default all json; do
    args=("$f")
    [ "$mode" = all ] && args+=(--all)
    [ "$mode" = json ] && args+=(--format json)
    start=$(date +%s.%N)
    timeout "$tmo" "$bin" "${args[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    runs=$((runs + 1))
    codes[$rc]=$(( ${codes[$rc]:-0} + 1 ))
    note="$(head -1 "$tmp/err" | head -c 150)"
    flag=""
    if [ $rc -eq 101 ] || [ $rc -eq 134 ] || grep -q panicked "$tmp/err"; then
      flag="PANIC"; panics=$((panics + 1))
    fi
    [ $rc -eq 124 ] && flag="$flag TIMEOUT"
    (( $(echo "$secs > $limit" | bc) )) && flag="$flag SLOW(>${limit}s)"
    if [ "$mode" = json ] && [ $rc -eq 0 ]; then
      if ! below="$(python3 scripts/check_json_below_seen.py "$tmp/out")"; then
        flag="$flag BELOW-SEEN/INVALID"; note="$(echo "$below" | head -1) $note"
      fi
    fi
    if (( $(echo "$secs > $max" | bc) )); then max=$secs; maxrun="${f#"$dir"/} $mode"; fi
    if [ -n "$flag" ]; then bad=1; flagged=$((flagged + 1)); note="$flag: $note"; fi
    printf '%-60s %-7s %6s %7.2f  %s\n' "${f#"$dir"/}" "$mode" "$rc" "$secs" "$note"
  done
done < <(find "$dir" -name '*.csv' | sort)
echo
echo "files: $files   runs: $runs   panics: $panics   flagged runs: $flagged"
printf 'exit codes:'; for c in "${!codes[@]}"; do printf ' %s×%s' "$c" "${codes[$c]}"; done; echo
printf 'slowest: %.2f s (%s)\n' "$max" "$maxrun"
exit $bad
