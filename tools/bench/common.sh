# Sourced by the benchmark scripts: the project root, a build (tools/setup.sh
# makes it; SIMRUN_BUILD_DIR picks another), a scratch folder that goes with
# the script, and median of numbers.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"$root/tools/setup.sh"
build="$root/${SIMRUN_BUILD_DIR:-build}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
