#!/usr/bin/env bash
# Cost of the preload tracer on an unmodified program (DESIGN §5: target
# ≤ 1.10×), with strace -f for comparison, all in the same invocation.
#   tools/bench/preload.sh [N] [ROUNDS]
# Workload: bench/sem_native, N rounds (default 200000) of P and V with
# SEM_UNDO on its own semaphore set: 2N semop calls, each one traced. The
# program times its own loop, so the rows compare the same span: alone,
# under simrun (preload tracer, every semop recorded into its ring), and
# under strace -f (output to /dev/null). ROUNDS alternating rounds (default
# 9); each round runs the three back to back, and the ratios printed are the
# medians of the per-round ratios (a slow spell of a shared machine hits
# both sides of a round alike).
set -euo pipefail
n=${1:-200000}
rounds=${2:-9}
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

alone=() traced=() straced=() r_traced=() r_straced=() r_off=()
have_strace=$(command -v strace || true)
for ((i = 0; i < rounds; i++)); do
  alone+=("$("$build/bench/sem_native" "$n")")
  "$build/simrun" "$work/sem.toml" --out "$work/out" -q > /dev/null
  traced+=("$(grep '"kind":"output"' "$work/out/bench_preload/trace.jsonl" | sed 's/.*"data":"\([0-9]*\).*/\1/')")
  r_traced+=("$(awk -v a="${alone[-1]}" -v t="${traced[-1]}" 'BEGIN { printf "%.4f", t / a }')")
  "$build/simrun" "$work/off.toml" --out "$work/off" -q > /dev/null
  off=$(grep '"kind":"output"' "$work/off/bench_preload/trace.jsonl" | sed 's/.*"data":"\([0-9]*\).*/\1/')
  r_off+=("$(awk -v a="${alone[-1]}" -v t="$off" 'BEGIN { printf "%.4f", t / a }')")
  if [ -n "$have_strace" ]; then
    straced+=("$(strace -f -o /dev/null "$build/bench/sem_native" "$n")")
    r_straced+=("$(awk -v a="${alone[-1]}" -v t="${straced[-1]}" 'BEGIN { printf "%.4f", t / a }')")
  fi
done
calls=$(grep -c '"call":"semop"' "$work/out/bench_preload/trace.jsonl")
a=$(median "${alone[@]}")
t=$(median "${traced[@]}")
echo "sem_native: $n rounds of P+V ($((2 * n)) semop calls); $calls semop calls in the trace; medians of $rounds rounds"
awk -v a="$a" -v t="$t" -v n="$n" -v r="$(median "${r_traced[@]}")" -v lo="$(printf '%s\n' "${r_traced[@]}" | sort -n | head -1)" -v hi="$(printf '%s\n' "${r_traced[@]}" | sort -n | tail -1)" 'BEGIN {
  printf "  alone           %8.1f ms   %6.1f ns/semop\n", a / 1e6, a / (2 * n)
  printf "  simrun preload  %8.1f ms   %6.1f ns/semop   ratio %.2f (rounds %.2f-%.2f; target <= 1.10)\n", t / 1e6, t / (2 * n), r, lo, hi
}'
printf "  simrun, tracer off (trace = false)              ratio %.2f\n" "$(median "${r_off[@]}")"
if [ -n "$have_strace" ]; then
  s=$(median "${straced[@]}")
  awk -v a="$a" -v s="$s" -v n="$n" -v r="$(median "${r_straced[@]}")" 'BEGIN { printf "  strace -f       %8.1f ms   %6.1f ns/semop   ratio %.2f\n", s / 1e6, s / (2 * n), r }'
else
  echo "  strace -f       (strace is not installed)"
fi
