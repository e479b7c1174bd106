#!/usr/bin/env bash
# Controlled scheduling benchmarks (issue 4), all measured in this invocation:
#  1. cost of a controlled step against a bare futex hand-off between two
#     processes (target <= 2x): N one-step ops vs N futex round trips;
#  2. explore throughput on the 3-increment counter race (runs per second);
#  3. runs needed to find the race's lost update: PCT vs seeded random vs
#     free scheduling, over several starting seeds;
#  4. a program that forks (tests/programs/handoff: parent and child hand a
#     semaphore back and forth): controlled steps per second, the run's time
#     against the same program in free mode, and explore runs per second;
#  5. scenarios/race.toml (2 x 50 000 unprotected increments, 200 000 steps):
#     the run and the whole command in controlled mode with pct, random and
#     rr against the free run, and steps per hand-off (a scripted process
#     takes the run of steps the strategy gives it without handing back;
#     targets: pct <= 3x free, random no slower than before).
#   tools/bench/controlled.sh [N] [SEEDS]
set -euo pipefail
n=${1:-100000}
seeds=${2:-20}
source "$(dirname "$0")/common.sh"
simrun="$build/simrun"

# 1. step cost
cat > "$work/steps.toml" <<TOML
[scenario]
name = "steps"
mode = "controlled"
timeout = "10m"
[ipc.shm.m]
cells = { x = 0 }
[[process]]
name = "stepper"
repeat = $n
run = ["load m.x"]
TOML
futex=() step=()
for i in 1 2 3; do
  futex+=("$("$build/bench/futex_pingpong" "$n")")
  "$simrun" "$work/steps.toml" --out "$work/out" -q --seed 1 > /dev/null
  t=$(tail -n 1 "$work/out/steps/trace.jsonl" | sed 's/.*"t":\([0-9]*\).*/\1/')
  step+=($((t / n)))
done
awk -v f="$(median "${futex[@]}")" -v s="$(median "${step[@]}")" -v n="$n" 'BEGIN {
  printf "controlled step vs futex hand-off (%d each, median of 3)\n", n
  printf "  futex round trip between two processes  %6.2f us\n", f / 1000
  printf "  controlled step (grant, op, trace, back) %6.2f us   ratio %.2f  (target <= 2)\n", s / 1000, s / f
}'

# 2. explore throughput: a race-free variant, so every run of the budget is made
sed 's/counter.value += 1"/counter.value += 1 atomic"/' "$root/scenarios/race_explore.toml" > "$work/safe.toml"
line=$("$simrun" explore "$work/safe.toml" --out "$work/out" --runs 2000 --seed 1 | tail -n 1)
echo "explore throughput on race_explore (atomic +=, 2000 runs): ${line#*(}" | sed 's/)$//'

# 3. runs to find the lost update
runs_to_find() {  # strategy seed
  local out
  out=$("$simrun" explore "$root/scenarios/race_explore.toml" --out "$work/out" --runs 1000 --strategy "$1" --seed "$2" --events 0 || true)
  echo "$out" | sed -n 's/^  run \([0-9]*\) (seed.*/\1/p'
}
printf 'runs until the lost update of race_explore is found (%d starting seeds, budget 1000)\n' "$seeds"
printf '  %-22s %8s %8s %8s %8s\n' strategy found median mean max
for strategy in pct random; do
  found=()
  for ((s = 1; s <= seeds; s++)); do
    r=$(runs_to_find "$strategy" $((s * 7919)))
    [ -n "$r" ] && found+=("$r")
  done
  if [ ${#found[@]} -gt 0 ]; then
    printf '%s\n' "${found[@]}" | awk -v name="$strategy (controlled)" -v total="$seeds" -v med="$(median "${found[@]}")" \
      '{s += $1; if ($1 > m) m = $1} END {printf "  %-22s %5d/%-2d %8d %8.1f %8d\n", name, NR, total, med, s / NR, m}'
  fi
done
free_runs=0 free_found=0
for ((i = 1; i <= 300; i++)); do
  free_runs=$i
  if ! "$simrun" "$root/scenarios/race_explore.toml" --free --out "$work/out" -q > /dev/null; then free_found=1; break; fi
done
if [ $free_found -eq 1 ]; then
  printf '  %-22s found after %d runs\n' "free (kernel)" "$free_runs"
else
  printf '  %-22s not found in %d runs\n' "free (kernel)" "$free_runs"
fi

# 4. a forking program, every process of its tree scheduled
handoff="$build/tests/programs/handoff"
rounds=$((n / 10))
for mode in controlled free; do
  cat > "$work/handoff_$mode.toml" <<TOML
[scenario]
name = "handoff_$mode"
mode = "$mode"
timeout = "10m"
[[process]]
name = "student"
exec = ["$handoff", "$rounds"]
TOML
done
ctl=() free=() steps=0
for i in 1 2 3; do
  "$simrun" "$work/handoff_controlled.toml" --out "$work/out" -q --seed 1 > /dev/null
  ctl+=("$(tail -n 1 "$work/out/handoff_controlled/trace.jsonl" | sed 's/.*"t":\([0-9]*\).*/\1/')")
  steps=$(head -n 1 "$work/out/handoff_controlled/trace.jsonl" | sed 's/.*"steps":\([0-9]*\).*/\1/')
  "$simrun" "$work/handoff_free.toml" --out "$work/out" -q > /dev/null
  free+=("$(tail -n 1 "$work/out/handoff_free/trace.jsonl" | sed 's/.*"t":\([0-9]*\).*/\1/')")
done
awk -v c="$(median "${ctl[@]}")" -v f="$(median "${free[@]}")" -v steps="$steps" -v r="$rounds" 'BEGIN {
  printf "a forking program: parent/child semaphore hand-off, %d rounds (%d steps), median of 3\n", r, steps
  printf "  free run              %8.1f ms\n", f / 1e6
  printf "  controlled run        %8.1f ms   ratio %.2f   %.0f steps/s\n", c / 1e6, c / f, steps / (c / 1e9)
}'
sed -i 's/"'"$rounds"'"\]/"5"]/' "$work/handoff_controlled.toml"
line=$("$simrun" explore "$work/handoff_controlled.toml" --out "$work/out" --runs 200 --seed 1 | tail -n 1)
echo "  explore on it (5 rounds, 200 runs, each in a fresh sandbox): ${line#*(}" | sed 's/)$//'

# 5. the long race: controlled strategies against the free run
ms() { tail -n 1 "$1" | sed 's/.*"t":\([0-9]*\).*/\1/'; }
time_ns() { local t0 t1; t0=$(date +%s%N); "$@" > /dev/null || true; t1=$(date +%s%N); echo $((t1 - t0)); }
declare -A run cmd
for i in 1 2 3; do
  for mode in free pct random rr; do
    if [ "$mode" = free ]; then args=(--free); else args=(--controlled --strategy "$mode" --seed "$i"); fi
    cmd[$mode]+=" $(time_ns "$simrun" "$root/scenarios/race.toml" "${args[@]}" --out "$work/out" -q)"
    run[$mode]+=" $(ms "$work/out/race/trace.jsonl")"
    [ "$mode" = free ] || handoffs[$i]=$(head -n 1 "$work/out/race/trace.jsonl" | sed 's/.*"steps":\([0-9]*\),"handoffs":\([0-9]*\).*/\1 \2/')
    [ "$mode" = free ] || eval "per_$mode=\"\${handoffs[$i]}\""
  done
done
printf 'scenarios/race.toml, 200 000 steps (median of 3; ratios against the free run)\n'
fr=$(median ${run[free]}) fc=$(median ${cmd[free]})
printf '  %-16s run %9.1f ms               command %8.1f ms\n' free "$(echo "$fr" | awk '{print $1 / 1e6}')" "$(echo "$fc" | awk '{print $1 / 1e6}')"
for mode in pct random rr; do
  r=$(median ${run[$mode]}) c=$(median ${cmd[$mode]})
  per=$(eval echo "\$per_$mode")
  awk -v m="controlled $mode" -v r="$r" -v c="$c" -v fr="$fr" -v fc="$fc" -v per="$per" 'BEGIN {
    split(per, a, " ")
    printf "  %-16s run %9.1f ms  ratio %6.2f  command %8.1f ms  ratio %5.2f  %.1f steps per hand-off\n", m, r / 1e6, r / fr, c / 1e6, c / fc, a[1] / a[2]
  }'
done
