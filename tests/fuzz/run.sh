#!/usr/bin/env bash
# Coverage-guided fuzzing of evote's untrusted inputs with libFuzzer. By
# hand, not part of ./tests/run.sh (ctest replays the kept inputs instead:
# tests/fuzz/CMakeLists.txt).
#
#   tests/fuzz/run.sh [--seconds S] [TARGET...]
#
# Targets (tests/fuzz/fuzz_<target>.c): peer (consensus messages from other
# validators), election (the election rules executing transactions), ballot
# (an encrypted ballot's proofs), tx (submitted transactions, proposed
# batches and the wire scan of a fetched block's ballots), genesis (the
# genesis file), snapshot (an auditor's data.mdb),
# api (the client API's election calls).
# Default: all, S = 300 seconds each.
#
# Installs clang and its libFuzzer runtime if missing
# (deploy/install-deps.sh --fuzz), builds ./build-fuzz (clang, ASan+UBSan,
# every library instrumented), then runs each target on a scratch copy of
# tests/fuzz/corpus/<target>/ with one job per core. A crash (or leak, or
# undefined behaviour, or a broken invariant: abort()) stops the target; its
# input is copied to tests/fuzz/corpus/<target>/crash-<sha1>, which ctest
# replays from then on: fix the bug, keep the file. Exit 1 when any target
# crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=300
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "tests/fuzz/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(peer election ballot tx genesis snapshot api)
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "tests/fuzz/run.sh: no target '$t' (tests/fuzz/fuzz_$t.c)" >&2; exit 2; }
done

./deploy/install-deps.sh --fuzz
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVOTE_SANITIZE=ON -DEVOTE_LIBFUZZER=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

work=$(mktemp -d /tmp/evote-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$work/$t-crash"
  cp tests/fuzz/corpus/"$t"/* "$work/$t/" 2>/dev/null || true
  echo "== $t: $seconds s on $(nproc) jobs, $(ls "$work/$t" | wc -l) inputs to start from"
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$root/build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -jobs="$(nproc)" -workers="$(nproc)" -artifact_prefix="$work/$t-crash/" "$work/$t" \
    >"$work/$t.log" 2>&1) || true
  grep -h -E "^#[0-9]+[[:space:]]+(DONE|pulse)" "$work"/fuzz-*.log 2>/dev/null | tail -n 1 | sed "s/^/   /" || true
  found=0
  for c in "$work/$t-crash"/*; do
    [ -f "$c" ] || continue
    keep="tests/fuzz/corpus/$t/crash-$(sha1sum "$c" | cut -c1-16)"
    cp "$c" "$keep"
    echo "   CRASH: $keep (replay: build-fuzz/tests/fuzz/fuzz_$t $keep)"
    found=1
  done
  if [ "$found" = 1 ]; then
    grep -h -A30 -E "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error" "$work"/fuzz-*.log 2>/dev/null | head -n 40 || true
    status=1
  else
    echo "   no crash"
  fi
  rm -f "$work"/fuzz-*.log
done
exit $status
