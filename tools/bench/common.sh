# Sourced by the benchmark scripts: the project root, a build (tools/setup.sh
# makes it; SIMRUN_BUILD_DIR picks another), a scratch folder that goes with
# the script, the median of numbers and a confidence interval for it.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/tools/setup.sh"
build="$root/${SIMRUN_BUILD_DIR:-build}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# "LO HI": a 95% confidence interval for the median of the numbers, from
# their order statistics (distribution-free): the k-th smallest and k-th
# largest, k the largest with P(Binomial(n, 1/2) < k) <= 2.5%. With fewer
# than 6 numbers there is none: the smallest and largest.
median_ci() {
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
    n = NR; k = 1; p = 0.5 ^ n; cum = p
    for (i = 1; i < n; i++) { p = p * (n - i + 1) / i; if (cum + p > 0.025) break; cum += p; k = i + 1 }
    if (cum > 0.025) k = 1
    print a[k], a[n - k + 1] }'
}
