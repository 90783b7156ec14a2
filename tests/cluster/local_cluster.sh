#!/usr/bin/env bash
# cluster_local_cluster: deploy/local-cluster.sh as an operator uses it.
# start 4 on a fresh directory; a notice commits, and once the chain is
# quiet its result is certified by an idle checkpoint; kill -9 one validator;
# status says it is stopped; start again starts that one only (the other
# three "already run"), it catches up, a new notice commits on all four with
# one tip; stop stops all four with SIGTERM and status says so.
#   bash local_cluster.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

cluster_init local_cluster 4
C=$DIR/c
LC=$(cd "$(dirname "$0")/../.." && pwd)/deploy/local-cluster.sh
export EVOTE_BIN
EVOTE_BIN=$(dirname "$EVOTED")

adopt_pids() { # lib.sh's on_exit kills what PIDS holds, whoever started it
  local i
  for ((i = 0; i < N; i++)); do PIDS[$i]=$(cat "$C/node$i/evoted.pid" 2>/dev/null || true); done
}

bash "$LC" start 4 "$C" > "$DIR/start1.out" 2>&1 || { cat "$DIR/start1.out"; fail "local-cluster.sh start failed"; }
adopt_pids
[ "$(grep -c '^local-cluster: started node' "$DIR/start1.out")" = 4 ] || { cat "$DIR/start1.out"; fail "start did not start 4 validators"; }
wait_ready
first=$(notice 0 local "first") || fail "a notice was not accepted"
MIN_HEIGHT=1 wait_until 30 "one tip on all four" all_same_tip 0 1 2 3
log "4 validators started by local-cluster.sh, one tip: $SAME_TIP"

# The chain is quiet now. A checkpoint comes every 64 blocks (the default),
# but within idle_checkpoint_ms (1 s) the primary proposes one empty block,
# a checkpoint, and the notice's result is certified; then nothing more.
certified() {
  "$EVOTE" tx "$first" --genesis "$GENESIS" --node "$(ep 1)" > "$DIR/tx.out" 2>&1 &&
    grep -q '^result certified: the checkpoint at seq 2,' "$DIR/tx.out"
}
wait_until 15 "the notice's result certified by an idle checkpoint" certified
grep -q "seq=2 proposed an empty block: a checkpoint" "$C/node0/evoted.log" ||
  fail "node0 did not log the empty block it proposed" 0
sleep $((3 * SCALE))
for ((i = 0; i < N; i++)); do
  s=$(status_json "$i") || fail "node$i does not answer status" "$i"
  h=$(echo "$s" | json_num height)
  c=$(echo "$s" | json_num stable_checkpoint)
  [ "$h" = 2 ] && [ "$c" = 2 ] || fail "node$i: height $h, stable checkpoint $c after the idle checkpoint (expected 2 and 2)" "$i"
done
log "idle chain: one empty block (height 2) is a stable checkpoint; the notice's result is certified"

victim=2
kill -KILL "${PIDS[$victim]}"
wait_until 10 "node$victim to be gone" bash -c "! kill -0 ${PIDS[$victim]} 2>/dev/null || grep -q '^[^ ]* [^ ]* Z' /proc/${PIDS[$victim]}/stat"
bash "$LC" status "$C" > "$DIR/status1.out" 2>&1 || true
grep -q "^node$victim  *stopped" "$DIR/status1.out" || { cat "$DIR/status1.out"; fail "status does not say node$victim stopped after kill -9"; }
log "node$victim killed with SIGKILL; status: stopped"

bash "$LC" start 4 "$C" > "$DIR/start2.out" 2>&1 || { cat "$DIR/start2.out"; fail "start after a crash failed"; }
adopt_pids
grep -q "^local-cluster: started node$victim " "$DIR/start2.out" || { cat "$DIR/start2.out"; fail "start did not restart node$victim"; }
[ "$(grep -c '^local-cluster: started' "$DIR/start2.out")" = 1 ] || { cat "$DIR/start2.out"; fail "start restarted running validators too"; }
[ "$(grep -c 'already runs' "$DIR/start2.out")" = 3 ] || { cat "$DIR/start2.out"; fail "start did not report the 3 running validators"; }
wait_ready
notice "$victim" local "after the restart" > /dev/null || fail "the restarted validator refused a notice" "$victim"
MIN_HEIGHT=2 wait_until 30 "one tip on all four after the restart" all_same_tip 0 1 2 3
log "start restarted node$victim only; it caught up: $SAME_TIP"

bash "$LC" stop "$C" > "$DIR/stop.out" 2>&1 || { cat "$DIR/stop.out"; fail "stop failed"; }
[ "$(grep -c '^local-cluster: stopped node' "$DIR/stop.out")" = 4 ] || { cat "$DIR/stop.out"; fail "stop did not stop 4 validators"; }
bash "$LC" status "$C" > "$DIR/status2.out" 2>&1 || true
[ "$(grep -c ' stopped$' "$DIR/status2.out")" = 4 ] || { cat "$DIR/status2.out"; fail "status after stop"; }
for ((i = 0; i < N; i++)); do
  grep -q "stopping: height" "$C/node$i/evoted.log" || fail "node$i logged no clean stop" "$i"
done
PIDS=()
pass
