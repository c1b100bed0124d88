#!/usr/bin/env bash
# Mutation check: applies deliberate one-line bugs, one at a time, to a scratch copy of
# the repository and runs the tests that should catch each. Every mutation must make at
# least one test fail ("caught"); a mutation the tests survive is "MISSED", one whose
# line is not found (the code moved) is "NOT APPLIED", one that does not compile is
# "BUILD FAILED": all three make the script exit non-zero.
#
#   scripts/mutate.sh            # every mutation
#   scripts/mutate.sh bias ci    # only the mutations whose name contains a word given
#
# The repository itself is never modified. Builds go to $MUTATE_TARGET_DIR (default: the
# repository's own target/, so compiled dependencies are reused) with incremental release
# builds; each mutation rebuilds the crate and the named test targets.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export CARGO_TARGET_DIR="${MUTATE_TARGET_DIR:-$repo/target}"
export CARGO_PROFILE_RELEASE_INCREMENTAL=true
tar -C "$repo" --exclude=./target --exclude=./.git -cf - . | tar -C "$scratch" -xf -
cd "$scratch"

# name | file | sed expression (one line changed) | cargo test arguments
mutations=(
  "chapman-denominator|src/two_source/mod.rs|s@let n_hat = (n1 + 1.0) \* (n2 + 1.0) / (m + 1.0) - 1.0;@let n_hat = (n1 + 1.0) * (n2 + 1.0) / (m + 2.0) - 1.0;@|--test reference_foundation -- chapman"
  "gamma-column-sign|src/closed/design.rs|s@out.push(-(th + k).ln() + th.ln())@out.push(-(th + k).ln() - th.ln())@|--test reference_closed -- closedp_t_all_models"
  "one-sided-z|src/ci.rs|s@n.inverse_cdf(0.5 + level / 2.0)@n.inverse_cdf(level)@|--test sim -- chapman_coverage"
  "closedp0-offset-dropped|src/closed/design.rs|s@Some(tt) => binom(tt, k).ln(),@Some(tt) => 0.0 * binom(tt, k).ln(),@|--test reference_closed -- closedp_0"
  "empty-bias|src/closed/fit.rs|s@let bias = asymptotic_bias(&df.design, f);@let bias: Option<f64> = None;@|--test reference_closed -- closedp_t_all_models"
  "cluster-adjustment-dropped|src/counts/resample.rs|s@meat \*= g / (g - 1.0);@meat *= 1.0;@|--test reference_counts -- sandwich"
  "schumacher-eschmeyer-df|src/two_source/multi.rs|s@StudentsT::new(0.0, 1.0, t - 2.0)@StudentsT::new(0.0, 1.0, t - 1.0)@|--test reference_foundation -- schumacher"
  "schnabel-se|src/two_source/multi.rs|s@let se = n_hat / sr.sqrt();@let se = n_hat / sr;@|--test reference_foundation -- schnabel"
  "bailey-variance|src/two_source/mod.rs|s@let var = n1 \* n1 \* (n2 + 1.0) \* (n2 - m)@let var = n1 * n1 * n2 * (n2 - m)@|--test reference_foundation -- bailey"
  "chao-bc-f2|src/counts/closed.rs|s@let f0 = f1 \* (f1 - 1.0) / (2.0 \* (f2 + 1.0));@let f0 = f1 * (f1 - 1.0) / (2.0 * f2);@|--test reference_counts -- chao"
  "model-average-weight|src/closed/select.rs|s@r.weight = (-(crit(r) - best) / 2.0).exp();@r.weight = (-(crit(r) - best)).exp();@|--test reference_closed -- model_average"
  "log-normal-upper|src/ci.rs|s@(observed + f0 / c, observed + f0 \* c)@(observed + f0 / c, observed + f0 * c * c)@|--test reference_counts -- regular_fits"
)

selected() {
  local name=$1; shift
  [ $# -eq 0 ] && return 0
  for w in "$@"; do [[ $name == *"$w"* ]] && return 0; done
  return 1
}

# Baseline: unmutated, every named test must pass (else a failure proves nothing).
for m in "${mutations[@]}"; do
  IFS='|' read -r name _ _ args <<<"$m"
  selected "$name" "$@" || continue
  # shellcheck disable=SC2086
  if ! cargo test --release $args >"$scratch/base.log" 2>&1; then
    echo "baseline fails for $name ($args):"
    tail -30 "$scratch/base.log"
    exit 2
  fi
done
echo "baseline: the named tests pass unmutated"

bad=0
report=()
for m in "${mutations[@]}"; do
  IFS='|' read -r name file expr args <<<"$m"
  selected "$name" "$@" || continue
  cp "$repo/$file" "$file"
  sed -i "$expr" "$file"
  changed=$(diff "$repo/$file" "$file" | grep -c '^>' || true)
  if [ "$changed" -ne 1 ]; then
    report+=("$(printf '%-28s NOT APPLIED (%s lines changed in %s)' "$name" "$changed" "$file")")
    bad=1
    continue
  fi
  # shellcheck disable=SC2086
  if ! cargo test --release --no-run ${args%% -- *} >"$scratch/build.log" 2>&1; then
    report+=("$(printf '%-28s BUILD FAILED (%s)' "$name" "$file")")
    bad=1
  elif cargo test --release $args >"$scratch/test.log" 2>&1; then
    report+=("$(printf '%-28s MISSED    (%s)' "$name" "$args")")
    bad=1
  else
    failed=$(grep -E '^    [a-z0-9_:]+$' "$scratch/test.log" | tr -d ' ' | paste -sd, - || true)
    report+=("$(printf '%-28s caught    by %s' "$name" "${failed:-a failing test}")")
  fi
  echo "${report[-1]}"
  cp "$repo/$file" "$file"
done

echo
echo "Mutation check: ${#report[@]} mutations"
printf '  %s\n' "${report[@]}"
exit $bad
