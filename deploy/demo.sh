#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# builds, and runs a 4-validator evote cluster on 127.0.0.1 through what a
# real deployment meets: transactions submitted to any validator, a crashed
# primary, a view change, restarts and catch-up, identical chains at the end.
# Data goes to demo-data/ (or $EVOTE_DEMO_DIR), wiped at the start of a run;
# ports 7100-7103 (peers) and 7200-7203 (clients) must be free.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./deploy/install-deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
bin=$root/build/src
evote=$bin/evote
export EVOTE_BIN=$bin

demo=${EVOTE_DEMO_DIR:-$root/demo-data}
[ -d "$demo" ] && "$root/deploy/local-cluster.sh" stop "$demo" >/dev/null 2>&1 || true
rm -rf "$demo"
trap '"$root/deploy/local-cluster.sh" stop "$demo" >/dev/null 2>&1 || true' EXIT

node() { echo "tcp://127.0.0.1:720$1"; }
notice() { # NODE TEXT -> tx id
  "$evote" notice --key "$demo/authority0.key" --genesis "$demo/genesis.txt" \
    --topic demo --text "$2" --node "$(node "$1")"
}
wait_height() { # HEIGHT NODES... : poll until every node is at least there
  local want=$1; shift
  for _ in $(seq 1 200); do
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
show() { for i in "$@"; do printf '  node%s: ' "$i"; "$evote" status --node "$(node "$i")" --json; done; }

echo
echo "== 1. four authorities: keys, CURVE keys, configs and one genesis"
"$evote" genesis --dir "$demo" --validators 4 | sed 's/^/  /'

echo
echo "== 2. start the four validators"
"$root/deploy/local-cluster.sh" start 4 "$demo" | sed 's/^/  /'
sleep 1

echo
echo "== 3. an official posts notices, each to a different validator"
for i in 0 1 2 3; do
  printf '  to node%s: tx ' "$i"; notice "$i" "polling station $i opens at 08:00"
done
wait_height 1 0 1 2 3
show 0 1 2 3

echo
echo "== 4. the primary (node0) crashes; the others change view and go on"
kill -9 "$(cat "$demo/node0/evoted.pid")"
for i in 1 2 3; do
  printf '  to node%s: tx ' "$i"
  "$evote" notice --key "$demo/authority0.key" --genesis "$demo/genesis.txt" --topic demo \
    --text "notice while node0 is down ($i)" --node "$(node "$i")" --wait 20000 | tr '\n' ' '
  echo
done
show 1 2 3

echo
echo "== 5. node0 restarts, fetches what it missed (with commit certificates) and rejoins"
nohup "$bin/evoted" --config "$demo/node0/evoted.conf" >>"$demo/node0/evoted.log" 2>&1 </dev/null &
echo $! > "$demo/node0/evoted.pid"
h=$("$evote" tip --node "$(node 1)" | cut -d' ' -f1)
wait_height "$h" 0
show 0

echo
echo "== 6. every validator holds the same chain: block hashes at every height"
h=$("$evote" tip --node "$(node 0)" | cut -d' ' -f1)
for height in $(seq 1 "$h"); do
  hashes=$(for i in 0 1 2 3; do "$evote" block "$height" --node "$(node "$i")" --hash-only; done | sort -u)
  [ "$(echo "$hashes" | wc -l)" = 1 ] || { echo "demo: chains differ at height $height" >&2; exit 1; }
done
echo "  heights 1..$h identical on all four validators"
echo "  block 1 as node3 stores it:"
"$evote" block 1 --node "$(node 3)" | sed 's/^/    /'

echo
echo "== 7. stop (SIGTERM: clean shutdown)"
"$root/deploy/local-cluster.sh" stop "$demo" | sed 's/^/  /'
trap - EXIT
echo
echo "== done. Logs: $demo/node*/evoted.log. Run it yourself: deploy/local-cluster.sh start 4 DIR"
