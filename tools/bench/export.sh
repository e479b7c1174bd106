#!/usr/bin/env bash
# What re-making a saved run's files costs: `simrun export` of a 2 M-event
# run (2 processes x 250 000 x P, counter += 1, V: about 2 000 000 events)
# to each format, against `cat` of the run's trace.jsonl (the disk floor:
# reading and writing as many bytes as the trace has), in the same
# invocation. Prints per format the median time, events per second and the
# ratio against cat; and `simrun view --summary` (one pass over every
# record, nothing printed per event).
#   tools/bench/export.sh [N] [ROUNDS]   N iterations per process (250000), ROUNDS (3)
set -euo pipefail
n=${1:-250000}
rounds=${2:-3}
source "$(dirname "$0")/common.sh"
cat > "$work/counter.toml" <<TOML
[scenario]
name = "bench_export"
timeout = "20m"
trace_limit = 100000000
[ipc.sem.lock]
members = { mutex = 1 }
undo = true
[ipc.shm.counter]
cells = { value = 0 }
[[process]]
name = "incrementer"
count = 2
repeat = $n
run = ["P lock.mutex", "counter.value += 1", "V lock.mutex"]
TOML
"$build/simrun" "$work/counter.toml" --out "$work/out" -q > /dev/null
run="$work/out/bench_export"
events=$(tail -1 "$run/trace.jsonl" | grep -o '"events":[0-9]*' | grep -o '[0-9]*$')
echo "run: $events events; trace.jsonl $(du -m "$run/trace.jsonl" | cut -f1) MB, trace.simrun $(du -m "$run/trace.simrun" | cut -f1) MB"
time_ns() { local t0 t1; t0=$(date +%s%N); "$@" > "$work/sink" ; t1=$(date +%s%N); echo $((t1 - t0)); }
declare -A times
for ((i = 0; i < rounds; i++)); do
  times[cat]+=" $(time_ns cat "$run/trace.jsonl")"
  times[jsonl]+=" $(time_ns "$build/simrun" export "$run" --format jsonl)"
  times[perfetto]+=" $(time_ns "$build/simrun" export "$run" --format perfetto)"
  times[summary]+=" $(time_ns "$build/simrun" view "$run" --summary)"
done
base=$(median ${times[cat]})
printf '%-22s %10s %14s %10s\n' "" "median s" "events/s" "vs cat"
for k in cat jsonl perfetto summary; do
  m=$(median ${times[$k]})
  label=$k
  [ "$k" = cat ] || label="export $k"
  [ "$k" = summary ] && label="view --summary"
  awk -v l="$label" -v m="$m" -v e="$events" -v b="$base" \
    'BEGIN { printf "%-22s %10.3f %14.0f %9.2fx\n", l, m / 1e9, e / (m / 1e9), m / b }'
done
