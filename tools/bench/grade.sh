#!/usr/bin/env bash
# What grading costs beyond the runs it makes: `simrun grade` of the
# prodcons example's submissions against the same runs made by hand, as
# separate simrun commands from a shell loop (the build, then each test's
# scenario, {submission} filled in, as many times as the grading file says).
# Prints both times, their ratio (target <= 1.0), runs per second, and
# grading's own cost per run beyond the loop's (target <= 2 ms).
#   tools/bench/grade.sh [ROUNDS]     default 3; medians of ROUNDS
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
example="$root/scenarios/grading/prodcons"
simrun="$build/simrun"
subs=("$example"/submissions/*)

grade_once() {
  "$simrun" grade "$example/grade.toml" "${subs[@]}" --out "$work/g" > /dev/null
}

# The same work by hand: per submission, a copy, the build, then every
# test's runs as the grading file gives them (free runs, or the seeds the
# grader drew, read from its report), each a simrun command.
loop_once() {
  for sub in "${subs[@]}"; do
    name=$(basename "$sub")
    copy="$work/loop/$name"
    rm -rf "$copy" && mkdir -p "$copy" && cp -r "$sub/." "$copy/"
    (cd "$copy" && gcc -O2 -Wall -o prodcons prodcons.c > /dev/null 2>&1) || continue
    for t in output schedules cleanup; do
      sed "s|{submission}|$copy|g" "$example/$t.toml" > "$copy/$t.toml"
    done
    ok=1
    for i in 1 2 3; do "$simrun" "$copy/output.toml" -q --out "$work/l" > /dev/null || ok=0; done
    for seed in $(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(' '.join(str(x['seed']) for t in r['tests'] if t['name']=='schedules' for x in t['runs']))" "$work/g/$name/report.json"); do
      "$simrun" "$copy/schedules.toml" -q --controlled --seed "$seed" --out "$work/l" > /dev/null || true
    done
    [ "$ok" = 1 ] && { "$simrun" "$copy/cleanup.toml" -q --out "$work/l" > /dev/null || true; }  # needs = "output"
  done
}

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
printf 'grading the prodcons example: %d submissions, %d builds, %d runs; medians of %d rounds\n' "${#subs[@]}" "$builds" "$runs" "$rounds"
printf '  simrun grade          %8.3f s   %6.1f runs/s\n' "$g" "$(calc "$runs / $g")"
printf '  the same by hand      %8.3f s   (a shell loop of simrun commands and gcc)\n' "$l"
printf '  ratio grade/loop      %8.2f      (target <= 1.0)\n' "$(calc "$g / $l")"
printf '  grading per run       %8.2f ms   beyond the loop (target <= 2 ms)\n' "$(calc "($g - $l) * 1000 / $runs")"
