#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), configures and builds simrun
# into build/. Fast when nothing changed: dpkg-query and an incremental build.
# Used by tools/simrun and tools/test; run it directly to only build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make pkg-config libtomlplusplus-dev libfmt-dev doctest-dev libcli11-dev libre2-dev python3 python3-pytest)
# What only the tests need (tools/test): strace (test_strace.py compares traces with it), xmllint
# and prove (test_grade.py reads the JUnit and TAP reports with them), python3-jsonschema
# (test_schema.py), man and dpkg-shlibdeps (test_install.py renders the man pages and builds the .deb).
read -r -a extra <<< "${SIMRUN_TEST_PACKAGES:-}"
packages+=("${extra[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "simrun setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

build=${SIMRUN_BUILD_DIR:-build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIMRUN_WERROR=ON ${SIMRUN_CMAKE_ARGS:-} >&2
fi
cmake --build "$build" -j"$(nproc)" >&2
