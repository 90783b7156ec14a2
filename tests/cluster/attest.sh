#!/usr/bin/env bash
# The validators' attestations of an election key, with real processes:
#   1. an election is opened while node3 is down: node0..2 attest its key
#      and definition on chain by themselves ("vouched for by 3 of 4"), and a
#      voter's `evote vote` (which wants f+1 = 2) casts a ballot, which
#      `evote track --genesis` finds in the batch its certificate signs;
#   2. node3 comes back, catches up through the block that made the key,
#      and attests it too (4 of 4); a ballot sent to node3 the moment it
#      starts, by a voter registered while it was down, is accepted and
#      counted (a validator catching up does not refuse what the blocks it
#      lacks may allow);
#   3. node0 is killed and restarted: its attestation is on chain already,
#      so it offers none again;
#   3b. 1,200 voters cast with `evote vote --voters` while all four
#      validators are killed (-9) and restarted: the client sends again
#      what the restart lost, and every ballot is counted;
#   4. a second authority cannot close the polls (only the creator may);
#      closed and decrypted: every validator attests the result, and
#      `evote result --genesis` shows it vouched for by 4 of 4;
#   5. `evote track --genesis` of the ballot: its result is certified by
#      a stable checkpoint (the headers above its block link up to a block
#      hash 2f+1 validators signed), and, the election allowing no revoting,
#      it is proven counted; `evote tx --genesis` of a notice too;
#   6. the four chains are identical.
source "$(dirname "$0")/lib.sh" "$@"
GENESIS_EXTRA="checkpoint_interval 4" # checkpoints every 4 blocks: step 5 sees the ballot's result certified
cluster_init attest 4
start_all
wait_ready

E=(--genesis "$GENESIS" --id city --wait $((20000 * SCALE)) --timeout $((5000 * SCALE)))
step() { # DESCRIPTION NODE evote-args...
  local what=$1 i=$2 out
  shift 2
  out=$("$EVOTE" "$@" --node "$(ep "$i")" 2>&1) || fail "$what: $out" "$i"
}
vouched() { # NODE WANT: `election show` at NODE names WANT vouching validators
  "$EVOTE" election show city --genesis "$GENESIS" --node "$(ep "$1")" --timeout $((2000 * SCALE)) \
    > "$DIR/show.$1" 2>&1 && grep -q "^vouched for    by $2 of 4 validators" "$DIR/show.$1"
}
attested() { # NODE [WHAT]: how many times it logged offering an attestation of its key (or WHAT)
  grep -c "election 'city': attested ${2:-its key}" "$DIR/c/node$1/evoted.log"
}
result_vouched() { # NODE WANT
  "$EVOTE" result city --genesis "$GENESIS" --node "$(ep "$1")" --timeout $((2000 * SCALE)) \
    > "$DIR/result.$1" 2>&1 && grep -q "^vouched for by    $2 of 4 validators" "$DIR/result.$1"
}

trustee=$("$EVOTE" pubkey --key "$DIR/c/node0/validator.key")
step "election create" 0 election create --key "$AUTH_KEY" "${E[@]}" --title "City" --question Mayor \
  --options "Ada,Grace" --close-height 1000000 --trustees "$trustee" --threshold 1 --registration-until-close
step "trustee init" 0 trustee init --key "$DIR/c/node0/validator.key" "${E[@]}" --dir "$DIR/trustee"
step "trustee deal" 0 trustee deal --key "$DIR/c/node0/validator.key" "${E[@]}" --dir "$DIR/trustee"

# ---- 1. opened with node3 down
kill_node 3
step "election open" 1 election open --key "$AUTH_KEY" "${E[@]}"
WAIT_NODE=1 wait_until 20 "node0..2 to attest the key (3 of 4 vouch)" vouched 1 3
grep -q "node0, node1, node2$" "$DIR/show.1" || { cat "$DIR/show.1"; fail "the vouchers are not node0..2" 1; }
for i in 0 1 2; do
  [ "$(attested $i)" = 1 ] || fail "node$i did not log its attestation exactly once" "$i"
done
log "opened with node3 down: node0, node1 and node2 vouch for the key"

"$EVOTE" voter keygen --count 1 --out-dir "$DIR/voters" > "$DIR/roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register" 2 voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll.txt"
out=$("$EVOTE" vote --key "$DIR"/voters/*.key --choice Grace "${E[@]}" --node "$(ep 2)" 2>&1) ||
  fail "evote vote with 3 of 4 validators vouching: $out" 2
case "$out" in *"tracking code"*) ;; *) fail "evote vote printed no tracking code: $out" 2 ;; esac
code=$(echo "$out" | sed -n 's/.*your tracking code is \([0-9a-f]\{64\}\).*/\1/p')
out=$("$EVOTE" track "$code" --genesis "$GENESIS" --node "$(ep 1)" 2>&1) || fail "evote track --genesis: $out" 1
case "$out" in *"COUNTED"*"included       transaction"*"(checked)"*) ;;
  *) fail "evote track --genesis does not show the ballot counted and checked in its certified block: $out" 1 ;; esac
log "a voter's ballot was cast against the vouched key; evote track proves it is in its certified block"
# A second voter, registered while node3 is down; its ballot sealed now,
# sent to node3 the moment it restarts (part 2).
"$EVOTE" voter keygen --count 1 --out-dir "$DIR/late" > "$DIR/roll-late.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register (late)" 2 voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll-late.txt"
echo "$(ls "$DIR"/late/*.key) Ada" > "$DIR/late.txt"
"$EVOTE" vote --voters "$DIR/late.txt" --genesis "$GENESIS" --id city --node "$(ep 2)" \
  --encrypt-only "$DIR/late.hex" > /dev/null 2> "$DIR/late.err" || fail "cannot seal the late voter's ballot: $(cat "$DIR/late.err")"
perl -ne 'chomp; print pack("H*", $_)' "$DIR/late.hex" > "$DIR/late.tx"

# ---- 2. node3 catches up and attests
start_node 3
out=$("$EVOTE" submit --file "$DIR/late.tx" --node "$(ep 3)" --wait $((20000 * SCALE)) --timeout $((10000 * SCALE)) 2>&1) ||
  fail "node3, just restarted, did not take the ballot of a voter registered while it was down: $out" 3
case "$out" in *"result TX_RESULT_OK"*) ;; *) fail "the late voter's ballot is not counted: $out" 3 ;; esac
log "node3, just restarted, took the ballot of a voter registered while it was down"
WAIT_NODE=3 wait_until 30 "node3 to catch up and attest the key (4 of 4 vouch)" vouched 3 4
[ "$(attested 3)" = 1 ] || fail "node3 did not log its attestation exactly once" 3
log "node3 caught up through the key's block and attested it: 4 of 4"

# ---- 3. a restart offers nothing again
kill_node 0
start_node 0
wait_ready
notice 1 after-restart "one more block" --wait $((10000 * SCALE)) > "$DIR/notice.out" 2>&1 ||
  { cat "$DIR/notice.out"; fail "no block after node0's restart" 1; }
nid=$(head -1 "$DIR/notice.out")
# (a second offer would be made before node0 answers at all: at start)
[ "$(attested 0)" = 1 ] || fail "node0 offered its attestation again after a restart" 0
vouched 0 4 || { cat "$DIR/show.0"; fail "node0 does not show 4 of 4 vouching after its restart" 0; }
log "node0 restarted: its attestation is on chain, none offered again"

# ---- 4. the result
# ---- 3b. a batch of voters outlives a restart of every validator
NV=1200
"$EVOTE" voter keygen --count $NV --out-dir "$DIR/many" > "$DIR/roll2.txt" 2> "$DIR/keygen2.err" ||
  fail "voter keygen: $(cat "$DIR/keygen2.err")"
step "voter register ($NV)" 1 voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll2.txt"
for f in "$DIR"/many/*.key; do echo "$f Ada"; done > "$DIR/many.txt"
"$EVOTE" vote --voters "$DIR/many.txt" --genesis "$GENESIS" --id city --wait $((60000 * SCALE)) \
  --timeout $((5000 * SCALE)) --node "$(ep 0)" --node "$(ep 1)" --node "$(ep 2)" --node "$(ep 3)" \
  > "$DIR/many.codes" 2> "$DIR/many.err" &
VOTE=$!
BG_PIDS+=($VOTE)
counted_at_least() { # N: node1's election show counts at least N ballots
  local c
  c=$("$EVOTE" election show city --node "$(ep 1)" --timeout $((1000 * SCALE)) 2>/dev/null |
    sed -n 's/^ballots *\([0-9]*\) counted.*/\1/p')
  [ -n "$c" ] && [ "$c" -ge "$1" ]
}
WAIT_NODE=1 wait_until 60 "the batch's first ballots to be counted" counted_at_least 50
for i in 0 1 2 3; do kill_node "$i"; done
log "all four validators killed while $NV ballots were being cast; restarting them"
start_all
wait_ready
wait "$VOTE" || { tail -5 "$DIR/many.err"; fail "evote vote --voters did not get every ballot counted through the restart"; }
grep -q "$NV ballots committed in .* $NV committed and counted" "$DIR/many.err" ||
  { tail -5 "$DIR/many.err"; fail "evote vote --voters does not report all $NV ballots counted"; }
[ "$(grep -c '^[0-9a-f]\{64\}$' "$DIR/many.codes")" = "$NV" ] || fail "evote vote --voters printed fewer than $NV tracking codes"
WAIT_NODE=1 wait_until 30 "node1 to count all $((NV + 2)) ballots" counted_at_least $((NV + 2))
log "evote vote --voters: $(grep -o '[0-9]* requests sent again' "$DIR/many.err"), every ballot counted after the restart"

# another authority of the genesis may not cut the voters off: only the creator closes early
if out=$("$EVOTE" election close --key "$AUTH2_KEY" "${E[@]}" --node "$(ep 1)" 2>&1); then
  fail "a second authority closed the polls of an election it did not create: $out" 1
fi
case "$out" in *"only its creator may close the polls early"*TX_RESULT_NOT_CREATOR*"only the authority that created the election"*) ;;
  *) fail "a second authority's close is not refused as NOT_CREATOR, with the warning first: $out" 1 ;; esac
"$EVOTE" election show city --node "$(ep 1)" > "$DIR/show.open" 2>&1 && ! grep -q '^closed' "$DIR/show.open" ||
  { cat "$DIR/show.open"; fail "the polls were closed by the refused close" 1; }
log "a second authority's close refused (TX_RESULT_NOT_CREATOR): the polls stay open"
step "election close" 1 election close --key "$AUTH_KEY" "${E[@]}"
step "trustee decrypt" 0 trustee decrypt --key "$DIR/c/node0/validator.key" "${E[@]}" --dir "$DIR/trustee"
WAIT_NODE=2 wait_until 30 "every validator to attest the result (4 of 4 vouch)" result_vouched 2 4
grep -qE '^  Grace +1$' "$DIR/result.2" || { cat "$DIR/result.2"; fail "the result does not count the ballot for Grace" 2; }
grep -qE "^  Ada +$((NV + 1))\$" "$DIR/result.2" ||
  { cat "$DIR/result.2"; fail "the result does not count the $((NV + 1)) ballots for Ada (the batch and the late voter)" 2; }
for i in 0 1 2 3; do
  [ "$(attested $i "its result")" = 1 ] || fail "node$i did not log its attestation of the result exactly once" "$i"
done
log "closed and decrypted: evote result --genesis shows the count vouched for by 4 of 4"

# ---- 5. the ballot's result, certified by a checkpoint
certified() {
  "$EVOTE" track "$code" --genesis "$GENESIS" --node "$(ep 1)" > "$DIR/track.out" 2>&1 &&
    grep -q "^certified      the result: the checkpoint at seq" "$DIR/track.out"
}
WAIT_NODE=1 wait_until 20 "a checkpoint to certify the ballot's result" certified
log "the ballot's result is certified: $(sed -n 's/^certified *//p' "$DIR/track.out")"
# The election allows no revoting (its definition is vouched for): a
# certified accepted ballot is then proven counted.
grep -q "^counted        the election allows no revoting (its definition vouched for by f+1 validators)" \
  "$DIR/track.out" || { cat "$DIR/track.out"; fail "evote track --genesis does not prove the ballot counted"; }
tx_certified() {
  "$EVOTE" tx "$nid" --genesis "$GENESIS" --node "$(ep 3)" > "$DIR/tx.out" 2>&1 &&
    grep -q "^result certified: the checkpoint at seq" "$DIR/tx.out"
}
WAIT_NODE=3 wait_until 20 "a checkpoint to certify the notice's result (evote tx --genesis)" tx_certified
grep -q "holds this transaction (checked)" "$DIR/tx.out" || { cat "$DIR/tx.out"; fail "evote tx --genesis did not check the batch" 3; }
log "evote tx --genesis at node3: $(sed -n 's/^result certified: //p' "$DIR/tx.out")"

# ---- 6. identical chains
h=$(height_of 1)
wait_until 20 "every node at height $h" heights_at_least "$h" 0 1 2 3
compare_chains "$h" 0 1 2 3
no_errors_logged
pass
