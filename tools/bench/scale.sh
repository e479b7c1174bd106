#!/usr/bin/env bash
# Many processes: a scenario of N scripted processes (one declaration with
# count = N, max_processes raised to match), each taking a semaphore,
# adding 1 to a shared counter and giving it back. Prints per N the whole
# command's time (median of ROUNDS), the events it traced per second, and
# the supervisor's max RSS per process (GNU time's %M: the supervisor is
# the command's largest process; its children are small).
#   tools/bench/scale.sh [ROUNDS] [N...]   ROUNDS (3), N (1000 10000)
set -euo pipefail
rounds=${1:-3}
shift || true
sizes=("${@:-1000 10000}")
read -r -a sizes <<< "${sizes[*]}"
source "$(dirname "$0")/common.sh"
printf '%-10s %10s %12s %14s %12s\n' processes command "events" "events/s" "RSS/process"
for n in "${sizes[@]}"; do
  cat > "$work/many.toml" <<TOML
[scenario]
name = "many"
timeout = "5m"
max_processes = $n
[ipc.sem.s]
members = { m = 1 }
[ipc.shm.c]
cells = { n = 0 }
[[process]]
name = "w"
count = $n
run = ["P s.m", "c.n += 1", "V s.m"]
[[expect]]
final = "c.n == $n"
TOML
  times=() rss=()
  for ((i = 0; i < rounds; i++)); do
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$build/simrun" "$work/many.toml" --out "$work/out" -q > /dev/null
    t1=$(date +%s%N)
    times+=($((t1 - t0)))
    rss+=("$(tail -n 1 "$work/rss")")
  done
  events=$(tail -n 1 "$work/out/many/trace.jsonl" | grep -o '"events":[0-9]*' | grep -o '[0-9]*$')
  awk -v n="$n" -v t="$(median "${times[@]}")" -v e="$events" -v r="$(median "${rss[@]}")" 'BEGIN {
    printf "%-10d %8.0f ms %12d %14.0f %9.1f KB\n", n, t / 1e6, e, e / (t / 1e9), r / n
  }'
done
