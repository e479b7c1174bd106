#!/usr/bin/env bash
# Tracing overhead of a scripted run, measured against a native C program
# doing the same work in the same invocation (DESIGN §5: target ≤ 1.15×).
#   tools/bench/run.sh [N] [ROUNDS]
# Workload: P processes x N iterations (default 50000) of P mutex (SEM_UNDO),
# counter += 1, V mutex; ROUNDS alternating runs of each (default 5),
# medians compared. Rows:
#   run      simrun's run (first fork to last exit, every op traced into the
#            rings) against the native program's same span;
#   command  the whole simrun command (sandbox set-up, run, merging and
#            writing trace.jsonl, checking) against the native program.
# Three settings: 2 processes free on 2 cores (the target's setting; the
# native time swings with how the two processes hand the mutex over, so the
# ratio is noisy), 2 processes pinned to one core (stable: the cost of
# tracing per op), and 1 process (no contention at all). A fourth row runs
# the same work written as a loop in the script ("repeat N" ... "end", the
# counter in a script value as well) on one core: control flow costs no
# step and no record, so its ratio should match the straight-line row.
set -euo pipefail
n=${1:-50000}
rounds=${2:-5}
source "$(dirname "$0")/common.sh"


measure() {  # PROCESSES [PIN] [loop]
  local procs=$1 pin=${2:-} shape=${3:-}
  local run_on=()
  [ -n "$pin" ] && run_on=(taskset -c "$pin")
  cat > "$work/counter.toml" <<TOML
[scenario]
name = "bench_counter"
timeout = "10m"
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[ipc.shm.counter]
cells = { value = 0 }
[[process]]
name = "incrementer"
count = $procs
$(if [ "$shape" = loop ]; then
    printf 'run = ["k = 0", "repeat %d", "P lock.mutex", "counter.value += 1", "V lock.mutex", "k = {k + 1}", "end"]' "$n"
  else
    printf 'repeat = %d\nrun = ["P lock.mutex", "counter.value += 1", "V lock.mutex"]' "$n"
  fi)
[[expect]]
final = "counter.value == $((procs * n))"
TOML
  local native=() run=() command=()
  for ((i = 0; i < rounds; i++)); do
    native+=("$("${run_on[@]}" "$build/bench/counter_native" "$n" "$procs")")
    local t0 t1
    t0=$(date +%s%N)
    "${run_on[@]}" "$build/simrun" "$work/counter.toml" --out "$work/out" -q > "$work/summary.txt"
    t1=$(date +%s%N)
    command+=($((t1 - t0)))
    run+=("$(tail -n 1 "$work/out/bench_counter/trace.jsonl" | sed 's/.*"t":\([0-9]*\).*/\1/')")
  done
  local events
  events=$(grep -c '"kind":"op"' "$work/out/bench_counter/trace.jsonl")
  awk -v p="$procs" -v pin="$pin" -v loop="$shape" -v e="$events" -v n="$(median "${native[@]}")" -v r="$(median "${run[@]}")" -v c="$(median "${command[@]}")" 'BEGIN {
    printf "%d process(es)%s%s, %d traced ops\n", p, pin == "" ? " on all cores" : " pinned to one core", loop == "" ? "" : ", written as a loop", e
    printf "  native C program    %8.1f ms\n", n / 1e6
    printf "  simrun run          %8.1f ms   ratio %.2f%s\n", r / 1e6, r / n, p == 2 && pin == "" ? "  (target <= 1.15)" : ""
    printf "  simrun command      %8.1f ms   ratio %.2f  (includes writing trace.jsonl)\n", c / 1e6, c / n
  }'
}

printf 'counter workload: N = %d iterations of P mutex (SEM_UNDO), counter += 1, V mutex; median of %d\n' "$n" "$rounds"
measure 2
measure 2 0
measure 1
measure 2 0 loop
