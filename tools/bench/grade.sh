#!/usr/bin/env bash
# What grading costs beyond the runs it makes: `simrun grade -j 2` of the
# prodcons example's submissions under a grading file of 5 tests of 10 runs
# each (free runs and seeded controlled runs of the example's scenarios),
# against the same runs made by hand in the same invocation: per submission
# a copy, gcc, then every run as a separate simrun command, two submissions
# at a time from a shell loop (xargs -P 2), as -j 2 grades two at a time.
# Prints both times, their ratio (target <= 1.0), runs per second at -j 2,
# and grading's own cost per run beyond the loop's (target <= 2 ms).
#   tools/bench/grade.sh [ROUNDS]     default 3; medians of ROUNDS
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
example="$root/scenarios/grading/prodcons"
simrun="$build/simrun"
subs=("$example"/submissions/*)
export simrun example work

# The grading file: the example's build and scenarios, 5 tests x 10 runs.
cat > "$work/grade.toml" <<TOML
[assignment]
name = "prodcons-bench"
points = 50
seed = 2026
[build]
command = "gcc -O2 -Wall -o prodcons prodcons.c"
required = ["prodcons.c"]
timeout = "60s"
TOML
tests=("output runs" "output seeds" "schedules seeds" "cleanup runs" "cleanup seeds")
for t in "${tests[@]}"; do
  set -- $t
  printf '[[test]]\nname = "%s_%s"\npoints = 10\nscenario = "%s/%s.toml"\n%s = 10\nscoring = "partial"\n' \
    "$1" "$2" "$example" "$1" "$2" >> "$work/grade.toml"
done

grade_once() {
  "$simrun" grade "$work/grade.toml" "${subs[@]}" -j 2 --out "$work/g" > /dev/null
}

# One submission by hand: a copy, the build, then each test's runs: free
# runs, or the seeds the grader drew (read from its report), each a simrun
# command.
loop_one() {
  sub=$1 name=$(basename "$1")
  copy="$work/loop/$name"
  rm -rf "$copy" && mkdir -p "$copy" && cp -r "$sub/." "$copy/"
  (cd "$copy" && gcc -O2 -Wall -o prodcons prodcons.c > /dev/null 2>&1) || return 0
  for s in output schedules cleanup; do
    sed "s|{submission}|$copy|g" "$example/$s.toml" > "$copy/$s.toml"
  done
  for s in output cleanup; do
    for i in 1 2 3 4 5 6 7 8 9 10; do "$simrun" "$copy/$s.toml" -q --out "$copy/l" > /dev/null || true; done
  done
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))
for t in r['tests']:
    if t['name'].endswith('_seeds'):
        for x in t['runs']: print(t['name'][:-6], x['seed'])" "$work/g/$name/report.json" |
  while read -r s seed; do
    "$simrun" "$copy/$s.toml" -q --controlled --seed "$seed" --out "$copy/l" > /dev/null || true
  done
}
export -f loop_one
loop_once() { printf '%s\n' "${subs[@]}" | xargs -P 2 -I{} bash -c 'loop_one "$1"' _ {}; }

runs_made() {
  python3 -c "import json,glob,sys; print(sum(len(t['runs']) for f in glob.glob(sys.argv[1] + '/*/report.json') for t in json.load(open(f))['tests']))" "$work/g"
}

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
grade_once  # warm: the reports the loop reads its seeds from
runs=$(runs_made)
g_times=() l_times=()
for ((r = 0; r < rounds; r++)); do
  t0=$(now); grade_once; t1=$(now); loop_once; t2=$(now)
  g_times+=("$(calc "$t1 - $t0")") l_times+=("$(calc "$t2 - $t1")")
done
g=$(median "${g_times[@]}") l=$(median "${l_times[@]}")
builds=$(ls -d "$work"/loop/*/prodcons 2>/dev/null | wc -l)
printf 'grading the prodcons example: %d submissions, %d built, 5 tests of 10 runs, %d runs; -j 2; medians of %d rounds\n' \
  "${#subs[@]}" "$builds" "$runs" "$rounds"
printf '  simrun grade -j 2     %8.3f s   %6.1f runs/s\n' "$g" "$(calc "$runs / $g")"
printf '  the same by hand      %8.3f s   (simrun commands and gcc, two submissions at a time)\n' "$l"
printf '  ratio grade/loop      %8.2f      (target <= 1.0)\n' "$(calc "$g / $l")"
printf '  grading per run       %8.2f ms   beyond the loop (target <= 2 ms; below 0: cheaper than the loop)\n' \
  "$(calc "($g - $l) * 1000 / $runs")"
