#!/usr/bin/env bash
# Cost of the preload tracer on an unmodified program (DESIGN §5: target
# ≤ 1.10×), with strace -f for comparison, all in the same invocation.
#   tools/bench/preload.sh [N] [ROUNDS]
# Workload: bench/sem_native, N rounds (default 200000) of P and V with
# SEM_UNDO on its own semaphore set: 2N semop calls, each one traced.
# Two measures:
#  - whole program: the program times its own loop, alone, under simrun
#    (preload tracer, every semop recorded into its ring), under simrun with
#    the tracer off, and under strace -f (output to /dev/null; N/20 rounds,
#    against an alone run of the same size). ROUNDS alternating rounds
#    (default 25); the ratios printed are the medians of the per-round
#    ratios, the simrun one with a 95% confidence interval for that median
#    (common.sh). On a shared machine whose speed drifts between runs a
#    second apart, that interval is several hundredths wide: read the
#    target against it, not against the median alone.
#  - in one process: sem_native's "ab" mode under simrun alternates chunks
#    of 1000 rounds between libc's own semop and the traced one. Both halves
#    of a pair run a moment apart, so this is the steadier figure on a
#    shared machine whose speed drifts (here by up to 1.4x between runs
#    seconds apart). Alone, the same mode must give 1.00: the check that
#    the method itself favours neither half.
set -euo pipefail
n=${1:-200000}
rounds=${2:-25}
source "$(dirname "$0")/common.sh"


cat > "$work/sem.toml" <<TOML
[scenario]
name = "bench_preload"
timeout = "10m"
[[process]]
name = "native"
exec = ["$build/bench/sem_native", "$n"]
TOML
# The same under simrun with the tracer off: what simrun costs without it.
sed 's/^name = "native"$/name = "native"\ntrace = false/' "$work/sem.toml" > "$work/off.toml"

# The number a traced run's program printed (its stdout, in the trace).
printed() { grep '"kind":"output"' "$1" | sed 's/.*"data":"\([0-9. ]*\).*/\1/'; }
ratio() { awk -v a="$1" -v t="$2" 'BEGIN { printf "%.4f", t / a }'; }
ns=$((n / 20 > 0 ? n / 20 : 1))
alone=() traced=() r_traced=() r_off=() r_straced=() straced=()
have_strace=$(command -v strace || true)
for ((i = 0; i < rounds; i++)); do
  alone+=("$("$build/bench/sem_native" "$n")")
  "$build/simrun" "$work/sem.toml" --out "$work/out" -q > /dev/null
  traced+=("$(printed "$work/out/bench_preload/trace.jsonl")")
  r_traced+=("$(ratio "${alone[-1]}" "${traced[-1]}")")
  "$build/simrun" "$work/off.toml" --out "$work/off" -q > /dev/null
  r_off+=("$(ratio "${alone[-1]}" "$(printed "$work/off/bench_preload/trace.jsonl")")")
  if [ -n "$have_strace" ]; then
    small=$("$build/bench/sem_native" "$ns")
    straced+=("$(strace -f -o /dev/null "$build/bench/sem_native" "$ns")")
    r_straced+=("$(ratio "$small" "${straced[-1]}")")
  fi
done
calls=$(grep -c '"call":"semop"' "$work/out/bench_preload/trace.jsonl")
a=$(median "${alone[@]}")
t=$(median "${traced[@]}")
echo "sem_native: $n rounds of P+V ($((2 * n)) semop calls); $calls semop calls in the trace; medians of $rounds rounds"
read -r ci_lo ci_hi <<< "$(median_ci "${r_traced[@]}")"
awk -v a="$a" -v t="$t" -v n="$n" -v r="$(median "${r_traced[@]}")" -v clo="$ci_lo" -v chi="$ci_hi" -v lo="$(printf '%s\n' "${r_traced[@]}" | sort -n | head -1)" -v hi="$(printf '%s\n' "${r_traced[@]}" | sort -n | tail -1)" 'BEGIN {
  printf "  alone           %8.1f ms   %6.1f ns/semop\n", a / 1e6, a / (2 * n)
  printf "  simrun preload  %8.1f ms   %6.1f ns/semop   ratio %.2f (95%% CI %.2f-%.2f; rounds %.2f-%.2f; target <= 1.10)\n", t / 1e6, t / (2 * n), r, clo, chi, lo, hi
}'
printf "  simrun, tracer off (trace = false)              ratio %.2f\n" "$(median "${r_off[@]}")"
if [ -n "$have_strace" ]; then
  s=$(median "${straced[@]}")
  awk -v s="$s" -v n="$ns" -v r="$(median "${r_straced[@]}")" 'BEGIN { printf "  strace -f       %8.1f ms   %6.1f ns/semop   ratio %.2f (%d rounds of P+V)\n", s / 1e6, s / (2 * n), r, n }'
else
  echo "  strace -f       (strace is not installed)"
fi

# In one process: libc's semop against the traced one, chunk by chunk.
sed "s|\"$n\"\]|\"$n\", \"ab\"]|" "$work/sem.toml" > "$work/ab.toml"
ab_traced=() ab_alone=()
for ((i = 0; i < 3; i++)); do
  ab_alone+=("$("$build/bench/sem_native" "$n" ab | awk '{ print $3 }')")
  "$build/simrun" "$work/ab.toml" --out "$work/ab" -q > /dev/null
  ab_traced+=("$(printed "$work/ab/bench_preload/trace.jsonl" | awk '{ print $3 }')")
done
printf "  in one process, libc's semop vs the traced one (chunks of 1000 rounds, median of 3 runs)\n"
printf "    under simrun    ratio %.2f (runs %s; target <= 1.10)\n" "$(median "${ab_traced[@]}")" "$(printf '%.2f ' "${ab_traced[@]}")"
printf "    alone           ratio %.2f (the method's own bias: should be 1.00)\n" "$(median "${ab_alone[@]}")"
