#!/usr/bin/env bash
# cluster_large_txs: bursts of legal but large transactions, submitted all
# at once (pipelined on one connection):
#   1. 300 notices with 60,000-byte texts (the limit is 65,536) to a backup,
#      node1: ~18 MB that node1 must forward to the primary;
#   2. 2,000 notices with 4,000-byte texts to the primary, node0: ~8 MB,
#      batches near MAX_BATCH_BYTES (8 MiB).
# Each time every accepted notice must be committed on all four within
# 60 s, and the chains must be identical.
#   bash large_txs.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

cluster_init large_txs 4
start_all
wait_ready
log "4 validators up, all connected"

burst() { # NAME NODE COUNT TEXT_BYTES
  local name=$1 node=$2 count=$3 bytes=$4 i not
  "$TOOL" flood --node "$(ep "$node")" --genesis "$GENESIS" --authority "$AUTH_KEY" --count "$count" \
    --text-bytes "$bytes" --timeout $((60000 * SCALE)) > "$DIR/$name.ids" 2> "$DIR/$name.err" ||
    { cat "$DIR/$name.err"; fail "$name: node$node did not answer every submission" "$node"; }
  log "$name: $(cat "$DIR/$name.err")"
  # Polled with --wait 0: a per-id wait would add up over hundreds of ids.
  all_committed_everywhere() {
    local i
    for ((i = 0; i < N; i++)); do
      "$TOOL" txs --node "$(ep "$i")" --wait 0 --timeout $((10000 * SCALE)) < "$DIR/$name.ids" > "$DIR/$name.txs.$i" 2>&1 || return 1
      NOT=$(awk '$2 != "committed"' "$DIR/$name.txs.$i" | wc -l)
      NOT_NODE=$i
      [ "$NOT" = 0 ] || return 1
    done
  }
  NOT=$count
  NOT_NODE=0
  deadline=$(( $(now_ms) + 60000 * SCALE ))
  until all_committed_everywhere; do
    [ "$(now_ms)" -lt $deadline ] ||
      fail "$name: $NOT of $count accepted notices not committed on node$NOT_NODE after 60 s (views: $(for k in 0 1 2 3; do printf '%s ' "$(view_of "$k")"; done))" "$NOT_NODE"
    sleep 1
  done
  wait_until 30 "$name: all 4 nodes at the same tip" all_same_tip 0 1 2 3
  compare_chains "${SAME_TIP%% *}" 0 1 2 3
  log "$name: all $count committed on all 4, chains identical up to height ${SAME_TIP%% *}"
}

burst large-to-backup 1 300 60000
burst many-to-primary 0 2000 4000
pass
