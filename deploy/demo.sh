#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# builds, and shows what evote does today. Data goes to demo-data/ (or
# $EVOTE_DEMO_DIR), which is wiped at the start of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./deploy/install-deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
evote=$root/build/src/evote

demo=${EVOTE_DEMO_DIR:-$root/demo-data}
rm -rf "$demo"
mkdir -p "$demo"

echo
echo "== 1. four electoral authorities each generate a Schnorr key pair"
for name in commission north-board south-board observers; do
  printf '  %-12s ' "$name"
  "$evote" keygen --out "$demo/$name.key"
done
ls -l "$demo" | sed 's/^/  /'

echo
echo "== 2. a secret key that others can read is refused"
cp -p "$demo/observers.key" "$demo/leaked.key"
chmod 644 "$demo/leaked.key"
if "$evote" pubkey --key "$demo/leaked.key"; then
  echo "  ERROR: a world-readable key was accepted" >&2
  exit 1
fi
rm -f "$demo/leaked.key"

echo
echo "== done. Keys are in $demo; 'evote --help' lists the commands."
