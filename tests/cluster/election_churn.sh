#!/usr/bin/env bash
# cluster_election_churn: a whole election while validators keep crashing.
# From the definition to the result, one validator at a time, chosen at
# random (the primary too), is killed with SIGKILL every few seconds and
# restarted moments later, or frozen (SIGSTOP) past the view-change timeout
# and thawed; the next fault waits until the last one's validator has
# caught up (at most f = 1 faulty at any time). Every evote command is given
# all four validators (--node x4) and must get through on its own:
#   1. an authority defines the election (3 options, revoting allowed, the
#      4 validators' keys as trustees, threshold 3); key ceremony (init,
#      deal, check by the 4 trustees in parallel); the authority opens it;
#   2. VOTERS voters (default 1500) are registered and cast their ballots
#      with `evote vote --voters`; REVOTES of them (default VOTERS/10) vote
#      again for another option;
#   3. the authority closes the polls; 3 of the 4 trustees decrypt;
# then, with every validator back:
#   4. the result, on all four, is each voter's last choice counted once;
#      of the tracking codes evote vote printed, a sample: the replaced
#      ballots REPLACED and the last ones COUNTED (evote track), one
#      replaced ballot SUPERSEDED (evote-audit --track);
#   5. the four chains are identical, and evote-audit VERIFIES a snapshot
#      of one validator (every certificate, signature, proof, the tally);
#   6. no validator logged an ERROR.
#   bash election_churn.sh EVOTED EVOTE CLUSTER_TOOL EVOTE_AUDIT
# By hand, longer: ELECTION_CHURN_VOTERS=5000 ELECTION_CHURN_REVOTES=500;
# harsher: ELECTION_CHURN_WILD=1 strikes without waiting for the last one
# struck to catch up (two validators may be behind at once: more than
# f = 1, so progress may stall for a while, but nothing may be lost; the
# voters whose ballot did not get through within --wait cast again).
source "$(dirname "$0")/lib.sh" "$@"
AUDIT=${4:?usage: $0 EVOTED EVOTE CLUSTER_TOOL EVOTE_AUDIT}
VOTERS=${ELECTION_CHURN_VOTERS:-1500}
REVOTES=${ELECTION_CHURN_REVOTES:-$((VOTERS / 10))}
[[ "$VOTERS" =~ ^[1-9][0-9]*$ && "$REVOTES" =~ ^[0-9]+$ && "$REVOTES" -le "$VOTERS" ]] ||
  { echo "FAIL: ELECTION_CHURN_VOTERS must be >= 1 and ELECTION_CHURN_REVOTES 0..VOTERS"; exit 1; }
cluster_init election_churn 4
start_all
wait_ready

ALL=(--node "$(ep 0)" --node "$(ep 1)" --node "$(ep 2)" --node "$(ep 3)")
E=(--genesis "$GENESIS" --id churn --wait $((60000 * SCALE)) --timeout $((3000 * SCALE)) "${ALL[@]}")
KILLS=0
STOPS=0
declare -a KILLED=(0 0 0 0)
VICTIM=   # the validator killed last
NEXT_KILL=$(( $(now_ms) + 500 + RANDOM % 1000 ))

# churn_while PID...: until every PID has exited, kills one validator at
# random every 1-2.5 s (the schedule runs on across calls, and each call
# starts with a kill; not scaled for a sanitizer build: the wait below
# paces it) and restarts it 0.3-1.5 s later; or, one time in three, stops
# it (SIGSTOP) for 1.2-3 s, past the 1 s view-change timeout, and lets it
# go on where it was (SIGCONT). Before each kill, all four
# must be serving and the last one restarted must have caught up with the
# others' height (else it would be a second faulty validator). Returns:
# non-zero when a PID exited non-zero.
churn_while() {
  local pids=("$@") p rc=0 soon=$(( $(now_ms) + RANDOM % 300 ))
  [ "$NEXT_KILL" -le "$soon" ] || NEXT_KILL=$soon
  while :; do
    local running=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
    [ $running = 1 ] || break
    if [ "$(now_ms)" -ge "$NEXT_KILL" ] && churn_ready "$VICTIM"; then
      VICTIM=$((RANDOM % N))
      if [ $((RANDOM % 3)) = 0 ]; then # frozen past the view-change timeout, then thawed
        echo "### test: SIGSTOP node$VICTIM" >> "$DIR/c/node$VICTIM/evoted.log"
        kill -STOP "${PIDS[$VICTIM]}"
        STOPS=$((STOPS + 1))
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.2 + r % 1800 / 1000 }')"
        kill -CONT "${PIDS[$VICTIM]}"
        echo "### test: SIGCONT node$VICTIM" >> "$DIR/c/node$VICTIM/evoted.log"
      else
        kill_node "$VICTIM"
        KILLS=$((KILLS + 1))
        KILLED[$VICTIM]=$((KILLED[$VICTIM] + 1))
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + r % 1200 / 1000 }')"
        start_node "$VICTIM"
      fi
      NEXT_KILL=$(( $(now_ms) + 1000 + RANDOM % 1500 ))
    fi
    sleep 0.1
  done
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  return $rc
}

# churn_ready [LAST]: every validator answers with its peers connected, and
# LAST (the one restarted last) is no more than 2 blocks below the highest.
churn_ready() {
  local last=$1 i h max=0 hl=
  [ "${ELECTION_CHURN_WILD:-0}" = 1 ] && return 0
  for ((i = 0; i < N; i++)); do
    alive "$i" && node_ready "$i" || return 1
    h=$(height_of "$i")
    [ -n "$h" ] || return 1
    [ "$h" -gt "$max" ] && max=$h
    [ "$i" = "$last" ] && hl=$h
  done
  [ -z "$last" ] || [ "$((hl + 2))" -ge "$max" ]
}

# phase NAME CMD...: runs CMD in the background under churn; its output in
# $DIR/NAME.out; fails the test when it fails.
phase() {
  local name=$1
  shift
  "$@" > "$DIR/$name.out" 2>&1 &
  churn_while $! || { tail -20 "$DIR/$name.out"; fail "$name failed under churn ($((KILLS + STOPS)) faults so far)"; }
  log "$name: done ($((KILLS + STOPS)) faults so far)"
}
par4() { # NAME evote-args... (TRUSTEE replaced by 0..3): the 4 trustees in parallel, under churn
  local name=$1 i pids=()
  shift
  for i in 0 1 2 3; do
    "$EVOTE" "${@//TRUSTEE/$i}" > "$DIR/$name.$i.out" 2>&1 &
    pids+=($!)
  done
  churn_while "${pids[@]}" || { tail -n 20 "$DIR/$name".?.out; fail "$name failed under churn ($((KILLS + STOPS)) faults so far)"; }
  log "$name: done by the 4 trustees ($((KILLS + STOPS)) faults so far)"
}

# ---- 1. definition and key ceremony
trustees=$(for i in 0 1 2 3; do "$EVOTE" pubkey --key "$DIR/c/node$i/validator.key"; done | paste -sd,)
phase create "$EVOTE" election create --key "$AUTH_KEY" "${E[@]}" --title "Churn" --question Mayor \
  --options "Ada,Grace,Edsger" --revoting --close-height 1000000 --trustees "$trustees" --threshold 3
par4 init trustee init --key "$DIR/c/nodeTRUSTEE/validator.key" "${E[@]}" --dir "$DIR/trusteeTRUSTEE"
par4 deal trustee deal --key "$DIR/c/nodeTRUSTEE/validator.key" "${E[@]}" --dir "$DIR/trusteeTRUSTEE"
par4 check trustee check --key "$DIR/c/nodeTRUSTEE/validator.key" "${E[@]}" --dir "$DIR/trusteeTRUSTEE"

# ---- 2. the roll (frozen when the polls open), the ballots, the revotes
"$EVOTE" voter keygen --count "$VOTERS" --out-dir "$DIR/voters" > "$DIR/roll.txt" 2> "$DIR/keygen.err" ||
  { cat "$DIR/keygen.err"; fail "voter keygen"; }
phase register "$EVOTE" voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll.txt"
phase open "$EVOTE" election open --key "$AUTH_KEY" "${E[@]}"
# voter v chooses option (v*v + v/7) % 3; every (VOTERS/REVOTES)-th voter
# then changes to the next option
awk -v n="$VOTERS" -v d="$DIR" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = 1; v <= n; v++) printf "%s/voters/voter-%06d.key %s\n", d, v, o[(v * v + int(v / 7)) % 3 + 1] }' \
  > "$DIR/votes.txt"
step=$((REVOTES > 0 ? VOTERS / REVOTES : 1))
awk -v m="$REVOTES" -v s="$step" -v d="$DIR" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (k = 1; k <= m; k++) { v = k * s; printf "%s/voters/voter-%06d.key %s\n", d, v, o[(v * v + int(v / 7) + 1) % 3 + 1] } }' \
  > "$DIR/revotes.txt"
# cast VOTES CODES WHAT: evote vote --voters VOTES under churn, the tracking
# codes into CODES (line i: voter i's), its report into CODES.err. Every
# ballot must get through at once; with ELECTION_CHURN_WILD=1, where the
# cluster may stall for longer than --wait, the voters evote vote names as
# not cast or not committed cast again (as it tells them to; revoting is
# allowed, so a first ballot that got in after all is replaced by the same
# choice), up to 3 rounds, their new codes replacing the old.
cast() {
  local votes=$1 codes=$2 what=$3 round rc err=$2.err
  "$EVOTE" vote --voters "$votes" "${E[@]}" > "$codes" 2> "$err" &
  churn_while $! && { log "$what: $(grep -o '[0-9]* ballots committed in [0-9.]* s' "$err" | head -1) ($((KILLS + STOPS)) faults so far)"; return 0; }
  [ "${ELECTION_CHURN_WILD:-0}" = 1 ] || { tail -20 "$err"; fail "$what: evote vote failed under churn ($((KILLS + STOPS)) faults so far)"; }
  seq 1 "$(wc -l < "$votes")" > "$codes.map0"
  for round in 1 2 3; do
    grep -o ' line [0-9]*' "$err" | awk '{ print $2 }' | sort -un > "$codes.failed$round"
    [ -s "$codes.failed$round" ] || { tail -20 "$err"; fail "$what: evote vote failed, naming no voter"; }
    awk 'NR == FNR { want[$1] = 1; next } FNR in want' "$codes.failed$round" "$votes" > "$codes.votes$round"
    awk 'NR == FNR { want[$1] = 1; next } FNR in want' "$codes.failed$round" "$codes.map$((round - 1))" > "$codes.map$round"
    log "$what: $(wc -l < "$codes.failed$round") ballots did not get through: cast again (round $round)"
    votes=$codes.votes$round
    err=$codes.err$round
    "$EVOTE" vote --voters "$votes" "${E[@]}" > "$codes.new$round" 2> "$err" &
    churn_while $!
    rc=$?
    awk -v f1="$codes.map$round" -v f2="$codes.new$round" 'FILENAME == f1 { m[FNR] = $1; next }
      FILENAME == f2 { if ($1 ~ /^[0-9a-f]+$/) c[m[FNR]] = $1; next } { print (FNR in c) ? c[FNR] : $0 }' \
      "$codes.map$round" "$codes.new$round" "$codes" > "$codes.tmp" && mv "$codes.tmp" "$codes"
    [ $rc = 0 ] && return 0
  done
  tail -20 "$err"
  fail "$what: ballots still did not get through after 3 rounds"
}
cast "$DIR/votes.txt" "$DIR/codes.txt" "$VOTERS ballots"
if [ "$REVOTES" -gt 0 ]; then
  cast "$DIR/revotes.txt" "$DIR/recodes.txt" "$REVOTES revotes"
else
  : > "$DIR/recodes.txt"
fi
[ "$(grep -cE '^[0-9a-f]{64}$' "$DIR/codes.txt")" = "$VOTERS" ] ||
  { tail -5 "$DIR/codes.txt.err"; fail "evote vote printed $(grep -cE '^[0-9a-f]{64}$' "$DIR/codes.txt") tracking codes for $VOTERS voters"; }
[ "$(grep -cE '^[0-9a-f]{64}$' "$DIR/recodes.txt")" = "$REVOTES" ] ||
  { tail -5 "$DIR/recodes.txt.err"; fail "evote vote printed $(grep -cE '^[0-9a-f]{64}$' "$DIR/recodes.txt") tracking codes for $REVOTES revoters"; }

# ---- 3. close and decrypt (trustees 1, 3 and 4)
phase close "$EVOTE" election close --key "$AUTH_KEY" "${E[@]}"
pids=()
for i in 0 2 3; do
  "$EVOTE" trustee decrypt --key "$DIR/c/node$i/validator.key" "${E[@]}" --dir "$DIR/trustee$i" \
    > "$DIR/decrypt.$i.out" 2>&1 &
  pids+=($!)
done
churn_while "${pids[@]}" || { tail -n 20 "$DIR"/decrypt.?.out; fail "a trustee's decryption failed under churn ($((KILLS + STOPS)) faults so far)"; }
log "decrypted by trustees 1, 3 and 4; $KILLS kills in all (per validator: ${KILLED[*]}), $STOPS stops"
[ $((KILLS + STOPS)) -ge 3 ] ||
  fail "only $((KILLS + STOPS)) faults happened: the election ran faster than the churn (raise ELECTION_CHURN_VOTERS)"

# ---- 4. every validator back; the result is each voter's last choice
for ((i = 0; i < N; i++)); do alive "$i" || start_node "$i"; done
wait_ready
result_ready() {
  "$EVOTE" result churn --json --node "$(ep "$1")" --timeout $((2000 * SCALE)) > "$DIR/result.$1.json" 2>/dev/null &&
    grep -q '"Ada"' "$DIR/result.$1.json"
}
for ((i = 0; i < N; i++)); do WAIT_NODE=$i wait_until 30 "node$i to show the result" result_ready "$i"; done
read -r -a expect < <(cat "$DIR/votes.txt" "$DIR/revotes.txt" | awk '{ last[$1] = $2 } END {
  for (k in last) c[last[k]]++; printf "%d %d %d\n", c["Ada"], c["Grace"], c["Edsger"] }')
options=(Ada Grace Edsger)
for ((i = 0; i < N; i++)); do
  for k in 0 1 2; do
    got=$(sed -n "s/.*\"${options[$k]}\":\([0-9]*\).*/\1/p" "$DIR/result.$i.json")
    [ "$got" = "${expect[$k]}" ] ||
      { cat "$DIR/result.$i.json"; fail "node$i counts $got for ${options[$k]}, but ${expect[$k]} voters chose it last" "$i"; }
  done
done
log "result on all 4: Ada ${expect[0]}, Grace ${expect[1]}, Edsger ${expect[2]} = every voter's last choice"

# ---- 5. identical chains; a snapshot audits VERIFIED, every ballot where it should be
MIN_HEIGHT=1 wait_until 30 "the four validators to agree on a tip" all_same_tip 0 1 2 3
compare_chains "${SAME_TIP%% *}" 0 1 2 3
"$EVOTE" snapshot --data "$DIR/c/node2/data" --out "$DIR/snap" > "$DIR/snapshot.out" 2>&1 ||
  { cat "$DIR/snapshot.out"; fail "evote snapshot of node2"; }
"$AUDIT" --genesis "$GENESIS" --snapshot "$DIR/snap" --json > "$DIR/audit.json" 2> "$DIR/audit.err" ||
  { tail -20 "$DIR/audit.err"; head -c 2000 "$DIR/audit.json"; fail "evote-audit does not verify node2's snapshot"; }
grep -q '"verified":true' "$DIR/audit.json" || { head -c 2000 "$DIR/audit.json"; fail "the audit report does not say verified"; }
# A replaced ballot, offline: SUPERSEDED by the voter's later one.
replaced=$(awk -v s="$step" -v m="$REVOTES" 'BEGIN { for (k = 1; k <= m; k++) print k * s }' |
  while read -r v; do sed -n "${v}p" "$DIR/codes.txt"; done)
if [ "$REVOTES" -gt 0 ]; then
  code=$(echo "$replaced" | head -1)
  "$AUDIT" --genesis "$GENESIS" --snapshot "$DIR/snap" --track "$code" > "$DIR/track.out" 2>&1 &&
    grep -q '^  SUPERSEDED' "$DIR/track.out" || { cat "$DIR/track.out"; fail "evote-audit --track: ballot $code is not SUPERSEDED"; }
fi
# Voters check theirs on a live validator: the replaced ones REPLACED, the
# others (and every revote) COUNTED; a sample of each.
track() { # CODE WANT
  "$EVOTE" track "$1" --genesis "$GENESIS" --node "$(ep $((RANDOM % N)))" --timeout $((3000 * SCALE)) \
    > "$DIR/track.out" 2>&1 && grep -q "^status  *$2" "$DIR/track.out" ||
    { cat "$DIR/track.out"; fail "evote track: ballot $1 is not $2"; }
}
for code in $(echo "$replaced" | head -20); do track "$code" REPLACED; done
for code in $(grep -vxF -f <(printf '%s\n' $replaced) "$DIR/codes.txt" | head -20) $(head -20 "$DIR/recodes.txt"); do
  track "$code" COUNTED
done
log "audit VERIFIED; sampled tracking codes: the replaced ballots REPLACED, the others COUNTED"

# ---- 6. nothing went wrong inside
no_errors_logged
pass
