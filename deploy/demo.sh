#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# builds, starts a 4-validator evote cluster on 127.0.0.1 and runs a whole
# election on it (deploy/election-demo.sh): 3 options, 1,000 generated
# voters, encrypted ballots, the primary killed during the vote (the others
# change view and the vote goes on), 50 revotes, an unregistered key refused,
# close, 3 of 4 trustees decrypt, the result checked against the choices
# cast. Then the crashed validator restarts and catches up, an auditor
# re-verifies the whole chain offline from a snapshot (evote-audit), and the
# cluster stops. Prints how to inspect the election afterwards.
# Data goes to demo-data/ (or $EVOTE_DEMO_DIR), wiped at the start of a run;
# ports 7100-7103 (peers), 7150-7153 (clients over CURVE: the voters),
# 7200-7203 (clients) and 7300-7303 (HTTP: /healthz, /metrics) must be free.
#   EVOTE_DEMO_VOTERS   how many voters (default 1000)
#   EVOTE_DEMO_CRASH    0: no crash during the vote (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

./deploy/install-deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target evote evoted evote-audit >/dev/null
bin=$root/build/src
evote=$bin/evote
export EVOTE_BIN=$bin
voters=${EVOTE_DEMO_VOTERS:-1000}
crash=()
[ "${EVOTE_DEMO_CRASH:-1}" = 0 ] || crash=(--crash)

demo=${EVOTE_DEMO_DIR:-$root/demo-data}
[ -d "$demo" ] && "$root/deploy/local-cluster.sh" stop "$demo" >/dev/null 2>&1 || true
rm -rf "$demo"
trap '"$root/deploy/local-cluster.sh" stop "$demo" >/dev/null 2>&1 || true' EXIT

node() { echo "tcp://127.0.0.1:720$1"; }
show() {
  for i in "$@"; do
    printf '  node%s: ' "$i"
    "$evote" status --node "$(node "$i")" --json |
      sed 's/.*"view":\([0-9]*\),"primary":\([0-9]*\),"height":\([0-9]*\),"tip_hash":"\([0-9a-f]\{16\}\).*"peers_connected":\([0-9]*\).*/view \1, primary node\2, height \3, tip \4..., \5 of 3 peers connected/'
  done
}
wait_height() { # HEIGHT NODES... : poll until every node is at least there
  local want=$1; shift
  for _ in $(seq 1 300); do
    local ok=1
    for i in "$@"; do
      h=$("$evote" tip --node "$(node "$i")" --timeout 1000 2>/dev/null | cut -d' ' -f1 || echo 0)
      [ "${h:-0}" -ge "$want" ] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  echo "demo: the cluster did not reach height $want" >&2; return 1
}

echo
echo "== 1. four authorities: keys, CURVE keys, configs and one genesis; four validators start ($(elapsed))"
"$evote" genesis --dir "$demo" --validators 4 | sed 's/^/  /'
"$root/deploy/local-cluster.sh" start 4 "$demo" | sed 's/^/  /'
for _ in $(seq 1 100); do # every validator answers and sees its 3 peers
  n=0
  for i in 0 1 2 3; do
    "$evote" status --node "$(node "$i")" --timeout 500 --json 2>/dev/null | grep -q '"peers_connected":3' && n=$((n + 1))
  done
  [ $n = 4 ] && break
  sleep 0.1
done
show 0 1 2 3

EVOTE_DEMO_T0=$t0 EVOTE_DEMO_STEP=1 "$root/deploy/election-demo.sh" --voters "$voters" --revotes $((voters / 20)) "${crash[@]}" "$demo"
id=$(cat "$demo/election.id")

echo
echo "== 8. every validator runs (a crashed one restarts and fetches what it missed) ($(elapsed))"
for i in 0 1 2 3; do
  pid=$(cat "$demo/node$i/evoted.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "  node$i restarts"
    nohup "$bin/evoted" --config "$demo/node$i/evoted.conf" >>"$demo/node$i/evoted.log" 2>&1 </dev/null &
    echo $! >"$demo/node$i/evoted.pid"
  fi
done
h=$(for i in 0 1 2 3; do "$evote" tip --node "$(node "$i")" --timeout 2000 2>/dev/null | cut -d' ' -f1; done | sort -n | tail -1)
wait_height "$h" 0 1 2 3
show 0 1 2 3
tips=$(for i in 0 1 2 3; do "$evote" block "$h" --node "$(node "$i")" --hash-only; done | sort -u)
[ "$(echo "$tips" | wc -l)" = 1 ] || { echo "demo: the validators differ at height $h" >&2; exit 1; }
echo "  the four validators hold the same block $h ($(echo "$tips" | cut -c1-16)...), hence the same chain"

echo
echo "== 9. an auditor re-verifies everything offline from a hot snapshot of node2 ($(elapsed))"
rm -rf "$demo/snapshot"
"$evote" snapshot --data "$demo/node2/data" --out "$demo/snapshot" | sed 's/^/  /'
"$bin/evote-audit" --genesis "$demo/genesis.txt" --snapshot "$demo/snapshot" --election "$id" >"$demo/audit.txt" ||
  { cat "$demo/audit.txt"; echo "demo: the audit did not verify" >&2; exit 1; }
sed 's/^/  /' "$demo/audit.txt"
echo
echo "== 10. stop (SIGTERM: clean shutdown) ($(elapsed))"
"$root/deploy/local-cluster.sh" stop "$demo" | sed 's/^/  /'
trap - EXIT
echo
echo "== done in $(elapsed). The chain stays in $demo (logs: node*/evoted.log). To inspect the election, from $root:"
echo "  deploy/local-cluster.sh start 4 $demo"
echo "  build/src/evote election show $id --genesis $demo/genesis.txt"
echo "  build/src/evote result $id --genesis $demo/genesis.txt"
echo "  build/src/evote track $(sed -n 7p "$demo/codes.txt") --genesis $demo/genesis.txt --node tcp://127.0.0.1:7200 --node tcp://127.0.0.1:7201"
echo "      (revoting: two validators sign that it is the voter's last ballot, which proves it counted)"
echo "      (every voter's tracking code: $demo/codes.txt, revotes: $demo/recodes.txt)"
[ -s "$demo/replaced.txt" ] &&
  echo "  build/src/evote track $(cat "$demo/replaced.txt") --genesis $demo/genesis.txt   # REPLACED by a revote"
echo "  deploy/local-cluster.sh stop $demo"
echo "  build/src/evote-audit --genesis $demo/genesis.txt --snapshot $demo/snapshot --json   # offline, no validator needed"
