#!/usr/bin/env bash
# Builds (optimised) and runs every benchmark under tests/bench/, printing
# their figures. Benchmarks are not tests: nothing here fails because the
# machine is slow. Pass a name to run one: ./tests/bench/run.sh storage
set -euo pipefail
cd "$(dirname "$0")/../.."

./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOTE_SANITIZE=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
ran=0
for dir in tests/bench/*/; do
  name=$(basename "$dir")
  [ $# -gt 0 ] && [ "$name" != "$1" ] && continue
  prog=build/tests/bench/$name/bench_$name
  if [ -x "$prog" ]; then
    echo
    echo "== bench $name ($prog)"
    "$prog"
    ran=$((ran + 1))
  elif [ -x "$dir/run.sh" ]; then
    echo
    echo "== bench $name ($dir/run.sh)"
    "$dir/run.sh"
    ran=$((ran + 1))
  fi
done
[ "$ran" -gt 0 ] || { echo "no benchmark matched '${1:-}'" >&2; exit 2; }
