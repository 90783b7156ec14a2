#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest: first
# in build/ (optimised), then again in sanitize/ under AddressSanitizer and
# UndefinedBehaviorSanitizer. Exits non-zero if anything fails.
#   ./tests/run.sh            everything (what CI runs)
#   ./tests/run.sh --quick    skip the sanitizer pass
#   ./tests/run.sh --all      also deploy/smoke-compose.sh: the docker-compose
#                             stack for real (root, several minutes; with --quick too)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
all=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --all) all=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "tests/run.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

./deploy/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() { # <build dir> <cmake args...>
  local dir=$1; shift
  echo "== configure $dir"
  cmake -S . -B "$dir" "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

start=$(date +%s)
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOTE_SANITIZE=OFF
if [ "$quick" -eq 0 ]; then
  run_suite sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOTE_SANITIZE=ON
fi
if [ "$all" -eq 1 ]; then
  echo "== deploy/smoke-compose.sh"
  ./deploy/smoke-compose.sh
fi
echo "== all tests passed in $(( $(date +%s) - start )) s"
