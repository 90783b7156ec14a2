#!/usr/bin/env bash
# cluster_agreement: 4 validators; 52 notices submitted concurrently, 13 to
# each node; all four reach the same height with every transaction
# committed on every node at the same height, and identical block hashes at
# every height. Primaries take turns every 4 blocks (checkpoint_interval 4,
# primary_term 1): the chains agree across many rotations, every validator
# logs the terms' ends, none suspects a primary; the view survives a
# restart of all four.
#   bash agreement.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

PER_NODE=13
GENESIS_EXTRA=$'checkpoint_interval 4\nprimary_term 1'
cluster_init agreement 4
start_all
wait_ready
log "4 validators up, all connected"

# One submitter per node, all at once.
for ((i = 0; i < N; i++)); do
  (
    for ((k = 0; k < PER_NODE; k++)); do
      id=$(notice "$i" agreement "notice $k to node$i") || { echo "FAILED $k" >> "$DIR/submit.$i.err"; continue; }
      echo "$id" >> "$DIR/ids.$i"
    done
  ) &
  BG_PIDS+=($!)
done
for p in "${BG_PIDS[@]}"; do wait "$p"; done
BG_PIDS=()
for ((i = 0; i < N; i++)); do
  [ -f "$DIR/submit.$i.err" ] && fail "node$i refused $(wc -l < "$DIR/submit.$i.err") notices" "$i"
done
cat "$DIR"/ids.* > "$DIR/ids"
total=$(wc -l < "$DIR/ids")
[ "$total" = $((N * PER_NODE)) ] || fail "expected $((N * PER_NODE)) accepted notices, got $total"
[ "$(sort -u "$DIR/ids" | wc -l)" = "$total" ] || fail "two notices got the same id"
grep -qvE '^[0-9a-f]{64}$' "$DIR/ids" && fail "a tx id is not 64 hex digits: $(grep -vE '^[0-9a-f]{64}$' "$DIR/ids" | head -1)"
log "$total notices accepted"

# Every one committed on every node, the node waiting for each (GetTx with
# wait_ms, what `evote tx --wait` sends): all of them through the tool, a
# sample through the CLI itself.
for ((i = 0; i < N; i++)); do
  "$TOOL" txs --node "$(ep "$i")" --wait $((30000 * SCALE)) < "$DIR/ids" > "$DIR/txs.$i" 2> "$DIR/txs.$i.err" ||
    { cat "$DIR/txs.$i.err"; fail "cannot ask node$i about the notices" "$i"; }
  not=$(awk '$2 != "committed"' "$DIR/txs.$i")
  [ -z "$not" ] || fail "not committed on node$i within 30 s: $(echo "$not" | head -3)" "$i"
  awk '{ print $1, $3, $4 }' "$DIR/txs.$i" > "$DIR/committed.$i"
  for id in $(sed -n '1p;13p;26p;39p;52p' "$DIR/ids"); do
    out=$("$EVOTE" tx "$id" --node "$(ep "$i")" --json 2>&1) || fail "evote tx $id on node$i: $out" "$i"
    want=$(awk -v id="$id" '$1 == id { print $3 }' "$DIR/txs.$i")
    case "$out" in
      *'"state":"committed"'*'"height":'"$want"','*) ;;
      *) fail "evote tx $id on node$i: $out (expected committed at height $want)" "$i" ;;
    esac
  done
done
for ((i = 1; i < N; i++)); do
  cmp -s "$DIR/committed.0" "$DIR/committed.$i" ||
    fail "node0 and node$i committed the notices at different heights: $(diff "$DIR/committed.0" "$DIR/committed.$i" | head -4)" "$i"
done
log "every notice committed on all 4 nodes, at the same heights"

# Same tip everywhere (nothing else is submitted, so the chains settle).
MIN_HEIGHT=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$DIR/committed.0")
wait_until 20 "all 4 nodes at the same tip (height >= $MIN_HEIGHT)" all_same_tip 0 1 2 3
H=${SAME_TIP%% *}
log "all 4 at height $H, tip ${SAME_TIP#* }"

# Identical blocks at every height, via the tool (hash, prev hash, tx ids,
# results)...
compare_chains "$H" 0 1 2 3
[ "$(grep -c '^tx ' "$DIR/chain.0")" = "$total" ] ||
  fail "the chain holds $(grep -c '^tx ' "$DIR/chain.0") transactions, $total were submitted"
# ... and via the CLI (evote block --hash-only) at a few heights.
for h in 1 $((H / 2)) "$H"; do
  [ "$h" -ge 1 ] || continue
  want=$(awk -v h="$h" '$1 == "block" && $2 == h { print $3 }' "$DIR/chain.0")
  for ((i = 0; i < N; i++)); do
    got=$("$EVOTE" block "$h" --hash-only --node "$(ep "$i")" 2>&1) || fail "evote block $h on node$i: $got" "$i"
    [ "$got" = "$want" ] || fail "block $h: evote block says $got on node$i, the tool read $want on node0" "$i"
  done
done
[ "${SAME_TIP#* }" = "$(awk -v h="$H" '$1 == "block" && $2 == h { print $3 }' "$DIR/chain.0")" ] ||
  fail "the tip hash is not the hash of the last block"
log "blocks 1..$H identical on all 4 nodes"

# Rotation: more notices, one block each, until every validator has been
# primary (views 0..4: a term is one 4-block checkpoint interval).
for ((k = 0; k < 40 && $(view_of 0) < 4; k++)); do
  out=$(notice $((k % N)) agreement "rotation $k" --wait $((20000 * SCALE)) 2>&1) || fail "notice 'rotation $k': $out"
done
V=$(view_of 0)
[ -n "$V" ] && [ "$V" -ge 4 ] || fail "node0 is in view ${V:-?} after $k more notices; the primaries should take turns every 4 blocks"
wait_until 20 "all 4 nodes at the same tip" all_same_tip 0 1 2 3
H=${SAME_TIP%% *}
compare_chains "$H" 0 1 2 3
for ((i = 0; i < N; i++)); do
  grep -q "the primary's term ended at seq" "$DIR/c/node$i/evoted.log" ||
    fail "node$i never logged the end of a primary's term" "$i"
  if grep -q "suspects the primary" "$DIR/c/node$i/evoted.log"; then
    grep "suspects the primary" "$DIR/c/node$i/evoted.log" | head -3
    fail "node$i suspected a primary: rotation must not look like trouble" "$i"
  fi
done
TE=$(st_field 0 term_end)
[ -n "$TE" ] && [ "$TE" -ge "$H" ] && [ $((TE % 4)) = 0 ] ||
  fail "evote status says the primary's turn ends at seq '${TE:-?}'; expected a checkpoint (multiple of 4) at or above height $H"
"$EVOTE" status --node "$(ep 1)" | grep -q "its turn ends at seq $TE" || fail "evote status does not show the end of the turn" 1
log "primaries took turns: view $V at height $H (this turn ends at $TE), blocks identical, nobody suspected anyone"

no_errors_logged

# Clean stop on SIGTERM: each exits 0 within 10 s, saying so; restarted, all
# four come back at the same tip and keep committing.
for ((i = 0; i < N; i++)); do kill -TERM "${PIDS[$i]}"; done
for ((i = 0; i < N; i++)); do
  stopped() { ! kill -0 "${PIDS[$1]}" 2>/dev/null; }
  WAIT_NODE=$i wait_until 10 "node$i to exit after SIGTERM" stopped "$i"
  wait "${PIDS[$i]}"
  rc=$?
  PIDS[$i]=
  [ $rc = 0 ] || fail "node$i exited with status $rc after SIGTERM (expected 0)" "$i"
  grep -q "stopping: height $H," "$DIR/c/node$i/evoted.log" ||
    fail "node$i did not log 'stopping: height $H' on SIGTERM" "$i"
done
log "SIGTERM: all 4 stopped cleanly at height $H"
start_all
wait_ready
MIN_HEIGHT=$H
all_same_tip 0 1 2 3 && [ "$SAME_TIP" = "$H $(awk -v h="$H" '$1 == "block" && $2 == h { print $3 }' "$DIR/chain.0")" ] ||
  fail "after a clean restart the nodes are not all at the tip they stopped at ($H)"
out=$(notice 2 agreement "after a clean restart" --wait $((20000 * SCALE)) 2>&1) || fail "a notice after the restart: $out" 2
case "$out" in *committed*) ;; *) fail "a notice after the clean restart did not commit: $out" 2 ;; esac
log "restarted at the same tip; a new notice committed"
no_errors_logged
pass
