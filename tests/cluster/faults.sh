#!/usr/bin/env bash
# cluster_faults: 4 validators under continuous load (a background loop
# submits notices round-robin to the nodes that are up and records the ids
# they accepted). In turn:
#   1. SIGKILL a backup: the other three keep committing; restart it: it
#      catches up.
#   2. SIGKILL the primary (from evote status): the survivors change view
#      and keep committing; restart it: it catches up and joins their view.
#      (The backup is back before the primary goes: with two of four down
#      no PBFT quorum exists.)
#   3. SIGSTOP the new primary for longer than the view-change timeout (until
#      the others have changed view and committed more), then SIGCONT: it
#      catches up and rejoins.
#   After each restart or SIGCONT all four must be in one view again: a
#   restarted validator must never ask alone for a view nobody else wants
#   (PBFT never takes a replica back to a lower view, so it would stay out
#   of the quorum until the next real view change).
#   4. Load paused: every accepted notice is committed on all four, at the
#      same height, and the four chains are identical.
#   5. Load again; SIGKILL all four at once; restart all: no node is below
#      the height it had before the kill, every notice seen committed before
#      the kill is still committed at the same height, the chains are
#      identical, and new notices commit.
#   bash faults.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

# A short checkpoint interval, so that every node that falls behind misses
# several stable checkpoints and must catch up by state transfer (the others
# have discarded the PBFT messages by then); and primaries take turns every
# 16 blocks, so crashes, restarts and the SIGSTOP meet rotations, and the
# turns of a validator that is down get skipped (~10 turns per run).
GENESIS_EXTRA=$'checkpoint_interval 8\nprimary_term 2'
cluster_init faults 4
start_all
wait_ready
log "4 validators up, all connected"

EVENTS=$DIR/events       # "MS what NODE": kills and stops, for the post-mortem
event() { echo "$(now_ms) $1 $2" >> "$EVENTS"; }

# ------------------------------------------------------------------ load

# load_loop TAG: round-robin over the nodes without a $DIR/down.<i> file,
# until $DIR/load.stop exists. Accepted: "MS NODE ID" in $DIR/accepted.
load_loop() {
  local tag=$1 k=0 i id
  while [ ! -e "$DIR/load.stop" ]; do
    i=$((k % N))
    k=$((k + 1))
    [ -e "$DIR/down.$i" ] && continue
    if id=$(notice "$i" load "$tag $k" --timeout $((1500 * SCALE)) 2>> "$DIR/load.err"); then
      echo "$(now_ms) $i $id" >> "$DIR/accepted"
    else
      echo "$(now_ms) $i refused-or-timeout" >> "$DIR/load.failed"
    fi
  done
}
LOAD_PID=
start_load() {
  rm -f "$DIR/load.stop"
  load_loop "$1" &
  LOAD_PID=$!
  BG_PIDS+=("$LOAD_PID")
}
stop_load() {
  touch "$DIR/load.stop"
  wait "$LOAD_PID" 2>/dev/null
  LOAD_PID=
}
accepted_count() { [ -f "$DIR/accepted" ] && wc -l < "$DIR/accepted" || echo 0; }
accepted_at_least() { [ "$(accepted_count)" -ge "$1" ]; }

down() { touch "$DIR/down.$1"; }
up() { rm -f "$DIR/down.$1"; }

# Highest height among NODES (the ones that answer).
max_height() {
  local i h m=0
  for i in "$@"; do
    h=$(height_of "$i")
    [ -n "$h" ] && [ "$h" -gt "$m" ] && m=$h
  done
  echo "$m"
}
# Every listed node reports a view above V.
views_above() { # V NODES...
  local v=$1 i x
  shift
  for i in "$@"; do
    x=$(view_of "$i")
    [ -n "$x" ] && [ "$x" -gt "$v" ] || return 1
  done
}
others() { # I: every node but I
  local k
  for ((k = 0; k < N; k++)); do [ "$k" = "$1" ] || printf '%s ' "$k"; done
}

# Commits continue on NODES: 3 more blocks within 20 s.
progress() { # WHAT NODES...
  local what=$1 h
  shift
  h=$(max_height "$@")
  wait_until 20 "$what: 3 more blocks on nodes $* (from height $h)" heights_at_least $((h + 3)) "$@"
}

# Node I (re)started reaches the height the others had when it started.
catch_up() { # I WHAT
  local i=$1 target
  target=$(max_height $(others "$i"))
  WAIT_NODE=$i wait_until 30 "node$i ($2) to catch up to height $target" height_at_least "$i" "$target"
}

start_load phase1
wait_until 20 "the first 10 notices to be accepted" accepted_at_least 10
progress "under load" 0 1 2 3
log "load running: $(accepted_count) accepted, height $(max_height 0 1 2 3)"

# ------------------------------------------------- 1. kill a backup
wait_until 20 "all 4 nodes in one view" same_view 0 1 2 3
P=$(st_field 0 primary)
[ -n "$P" ] || fail "node0 does not answer status" 0
B=$(( (P + 2) % N ))   # a backup, and not the next primary
down "$B"
event kill "$B"
kill_node "$B"
log "SIGKILLed backup node$B (primary is node$P)"
progress "after killing backup node$B" $(others "$B")
start_node "$B"
up "$B"
catch_up "$B" "restarted backup"
log "node$B restarted and caught up (height $(height_of "$B"))"
WAIT_NODE=$B wait_until 20 "node$B to reconnect to all peers" node_ready "$B"
wait_until 30 "all 4 nodes in one view after node$B restarted" same_view 0 1 2 3

# ------------------------------------------------- 2. kill the primary
P=$(st_field 0 primary)
V0=$SAME_VIEW
[ -n "$P" ] || fail "node0 does not answer status" 0
down "$P"
event kill "$P"
T_KILL=$(now_ms)
kill_node "$P"
log "SIGKILLed the primary node$P (view $V0)"
wait_until 20 "a view change on the survivors (view > $V0)" views_above "$V0" $(others "$P")
log "survivors changed view in $(( $(now_ms) - T_KILL )) ms: now $(view_of "$B")"
progress "after killing the primary node$P" $(others "$P")
log "commits continue without node$P (height $(max_height $(others "$P")))"
start_node "$P"
up "$P"
catch_up "$P" "restarted old primary"
wait_until 30 "all 4 nodes in one view after node$P restarted" same_view 0 1 2 3
log "node$P restarted and caught up; all 4 in view $SAME_VIEW"
progress "all 4 back" 0 1 2 3

# ------------------------------------------------- 3. SIGSTOP / SIGCONT
wait_until 30 "all 4 nodes in one view" same_view 0 1 2 3
S=$(st_field 0 primary)
V1=$SAME_VIEW
[ -n "$S" ] || fail "node0 does not answer status" 0
down "$S"
event stop "$S"
echo "### test: SIGSTOP node$S" >> "$DIR/c/node$S/evoted.log"
kill -STOP "${PIDS[$S]}"
T_STOP=$(now_ms)
log "SIGSTOPped node$S, the primary of view $V1"
wait_until 20 "a view change while node$S is stopped (view > $V1)" views_above "$V1" $(others "$S")
progress "while node$S is stopped" $(others "$S")
kill -CONT "${PIDS[$S]}"
event cont "$S"
echo "### test: SIGCONT node$S" >> "$DIR/c/node$S/evoted.log"
log "SIGCONT node$S after $(( $(now_ms) - T_STOP )) ms stopped (view-change timeout 1000 ms)"
up "$S"
catch_up "$S" "continued"
wait_until 30 "all 4 nodes in one view after node$S continued" same_view 0 1 2 3
log "node$S caught up; all 4 in view $SAME_VIEW"
progress "after SIGCONT" 0 1 2 3

# ------------------------------------------------- 4. pause: check it all
stop_load
log "load paused: $(accepted_count) accepted, $( [ -f "$DIR/load.failed" ] && wc -l < "$DIR/load.failed" || echo 0) refused or timed out"
awk '{ print $3 }' "$DIR/accepted" > "$DIR/ids1"
for ((i = 0; i < N; i++)); do
  "$TOOL" txs --node "$(ep "$i")" --wait $((20000 * SCALE)) < "$DIR/ids1" > "$DIR/txs1.$i" 2> "$DIR/txs1.$i.err" ||
    { cat "$DIR/txs1.$i.err"; fail "cannot ask node$i about the accepted notices" "$i"; }
done
# A notice a node accepted just before it was SIGKILLed may be lost with it
# (it was only in that node's memory): those (accepted by the killed node in
# the last second before the kill) are excused; every other one must be
# committed.
lost=$(awk -v ev="$EVENTS" '
  BEGIN { while ((getline l < ev) > 0) { split(l, f, " "); if (f[2] == "kill") { kt[++n] = f[1]; kn[n] = f[3] } } }
  FNR == NR { t[$3] = $1; node[$3] = $2; next }
  $2 != "committed" {
    excused = 0
    for (k = 1; k <= n; k++) if (node[$1] == kn[k] && t[$1] <= kt[k] && t[$1] > kt[k] - 1000) excused = 1
    print $1, "accepted by node" node[$1], "at", t[$1], excused ? "(excused: killed right after)" : "LOST"
  }' "$DIR/accepted" "$DIR/txs1.0")
if [ -n "$lost" ]; then
  echo "$lost" | head -20
  echo "$lost" | grep -q 'LOST$' && fail "$(echo "$lost" | grep -c 'LOST$') accepted notices never committed (see $EVENTS)"
fi
for ((i = 1; i < N; i++)); do
  cmp -s <(awk '$2 == "committed" { print $1, $3, $4 }' "$DIR/txs1.0") \
         <(awk '$2 == "committed" { print $1, $3, $4 }' "$DIR/txs1.$i") ||
    fail "node0 and node$i disagree on where the accepted notices are committed" "$i"
done
log "all $(grep -c ' committed ' "$DIR/txs1.0") accepted notices committed on all 4 at the same heights"
wait_until 20 "all 4 nodes at the same tip" all_same_tip 0 1 2 3
H1=${SAME_TIP%% *}
compare_chains "$H1" 0 1 2 3
cp "$DIR/chain.0" "$DIR/chain.phase4"
log "chains identical on all 4 up to height $H1"

# ------------------------------------------------- 5. kill all four at once
start_load phase5
wait_until 20 "load to resume" accepted_at_least $(( $(wc -l < "$DIR/ids1") + 20 ))
progress "load resumed" 0 1 2 3
# What was committed before the kill: the heights, and the notices seen
# committed (asked while the load runs; commits only add to it).
awk '{ print $3 }' "$DIR/accepted" > "$DIR/ids2"
"$TOOL" txs --node "$(ep 1)" --wait 0 < "$DIR/ids2" > "$DIR/before" 2> "$DIR/before.err" ||
  { cat "$DIR/before.err"; fail "cannot ask node1 about the notices" 1; }
declare -a HBEFORE
for ((i = 0; i < N; i++)); do
  HBEFORE[$i]=$(height_of "$i")
  [ -n "${HBEFORE[$i]}" ] || fail "node$i does not answer status" "$i"
done
for ((i = 0; i < N; i++)); do echo "### test: SIGKILL all" >> "$DIR/c/node$i/evoted.log"; done
event kill-all -
kill -KILL "${PIDS[@]}"
for ((i = 0; i < N; i++)); do wait "${PIDS[$i]}" 2>/dev/null; PIDS[$i]=; done
stop_load
log "SIGKILLed all 4 at heights ${HBEFORE[*]}; $(grep -c ' committed ' "$DIR/before") notices seen committed before"
start_all
wait_ready
for ((i = 0; i < N; i++)); do
  h=$(height_of "$i")
  [ "$h" -ge "${HBEFORE[$i]}" ] || fail "node$i restarted at height $h, below its ${HBEFORE[$i]} before the kill" "$i"
done
log "restarted: heights $(for ((i = 0; i < N; i++)); do printf '%s ' "$(height_of "$i")"; done)"
grep ' committed ' "$DIR/before" | awk '{ print $1 }' > "$DIR/ids.before"
for ((i = 0; i < N; i++)); do
  "$TOOL" txs --node "$(ep "$i")" --wait $((20000 * SCALE)) < "$DIR/ids.before" > "$DIR/after.$i" 2> "$DIR/after.$i.err" ||
    { cat "$DIR/after.$i.err"; fail "cannot ask node$i about the notices after the restart" "$i"; }
  diff <(grep ' committed ' "$DIR/before" | awk '{ print $1, $3, $4 }') <(awk '{ print $1, ($2 == "committed" ? $3 " " $4 : $2) }' "$DIR/after.$i") > "$DIR/after.$i.diff" ||
    { head -10 "$DIR/after.$i.diff"; fail "node$i lost or moved notices committed before the kill" "$i"; }
done
log "every notice committed before the kill is committed at the same height on all 4"
# New notices commit after the restart, through every node.
for ((i = 0; i < N; i++)); do
  out=$(notice "$i" after-restart "after restart via node$i" --wait $((20000 * SCALE)) 2>&1) || fail "a notice after the restart via node$i: $out" "$i"
  case "$out" in *committed*) ;; *) fail "a notice via node$i did not commit after the restart: $out" "$i" ;; esac
done
MIN_HEIGHT=$(max_height 0 1 2 3)
wait_until 20 "all 4 nodes at the same tip after the restart" all_same_tip 0 1 2 3
H2=${SAME_TIP%% *}
compare_chains "$H2" 0 1 2 3
# The chain checked in step 4 is still there, unchanged, below the new blocks.
awk -v h="$H1" '$1 == "block" && $2 > h { exit } { print }' "$DIR/chain.0" | cmp -s - "$DIR/chain.phase4" ||
  fail "blocks 1..$H1 changed across the kill of all four"
log "after the restart: chains identical on all 4 up to height $H2"
grep -l ' ERROR ' "$DIR"/c/node*/evoted.log > /dev/null 2>&1 && {
  grep ' ERROR ' "$DIR"/c/node*/evoted.log | head -5
  fail "a validator logged an ERROR"
}
pass
