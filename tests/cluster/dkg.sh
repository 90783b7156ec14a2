#!/usr/bin/env bash
# cluster_dkg: a dishonest trustee in the key ceremony, on 4 real
# validators, through the trustees' own commands:
#   1. an election with 4 trustees, threshold 3; every trustee publishes its
#      encryption key; trustees 1-3 deal with `evote trustee deal`, trustee 4
#      deals trustee 1 a wrong share (cluster_tool bad-dealing) and the
#      chain takes the dealing (a share's value cannot be judged on chain);
#   2. trustee 1's `evote trustee check` finds the bad share and posts a
#      complaint with its evidence; the chain upholds it: `election show`
#      names trustee 4 disqualified, and trustee 1's next check leaves it
#      out; trustees 2 and 3 find nothing wrong;
#   3. a voter is registered; the election does not open before the
#      complaints' end, as trustee 4 never confirms the others' shares
#      (evote says who is missing and submits nothing); then it opens on
#      the 3 qualified dealers, which freezes the roll: a later registration is refused (by
#      evote, and by the chain when sent anyway), and so is, for good, the
#      ballot of a key not on the roll; the voter votes; after the close
#      trustees 1-3 decrypt and the result counts the ballot;
#   4. the four chains are identical.
#   bash dkg.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"
cluster_init dkg 4
start_all
wait_ready

E=(--genesis "$GENESIS" --id dkg --wait $((20000 * SCALE)) --timeout $((5000 * SCALE)))
step() { # DESCRIPTION NODE evote-args...: prints the output
  local what=$1 i=$2 out
  shift 2
  out=$("$EVOTE" "$@" --node "$(ep "$i")" 2>&1) || fail "$what: $out" "$i"
  echo "$out"
}
for j in 1 2 3 4; do "$EVOTE" keygen --out "$DIR/t$j.key" > /dev/null 2>&1 || fail "keygen"; done
trustees=$(for j in 1 2 3 4; do cat "$DIR/t$j.key.pub"; done | paste -sd,)

# ---- 1. the ceremony, with a bad dealing
H0=$(height_of 0)
[ -n "$H0" ] || fail "node0 has no height" 0
CER_END=$((H0 + 40)) COMPLAINT_END=$((H0 + 60)) # room for the 12 ceremony steps and the checks
step "election create" 0 election create --key "$AUTH_KEY" "${E[@]}" --title "Ceremony" --question Q \
  --options "Yes,No" --close-height 1000000 --trustees "$trustees" --threshold 3 \
  --ceremony-end-height "$CER_END" --complaint-end-height "$COMPLAINT_END" > /dev/null
for j in 1 2 3 4; do
  step "trustee $j init" $((j % 4)) trustee init --key "$DIR/t$j.key" "${E[@]}" --dir "$DIR/d$j" > /dev/null
done
for j in 1 2 3; do
  step "trustee $j deal" $((j % 4)) trustee deal --key "$DIR/t$j.key" "${E[@]}" --dir "$DIR/d$j" > /dev/null
done
"$TOOL" bad-dealing --genesis "$GENESIS" --key "$DIR/t4.key" --dealer 4 --id dkg --to 1 \
  --eks "$DIR/d1,$DIR/d2,$DIR/d3,$DIR/d4" --threshold 3 --out "$DIR/bad.tx" > "$DIR/bad.out" 2>&1 ||
  fail "cluster_tool bad-dealing: $(cat "$DIR/bad.out")"
out=$(step "trustee 4's dealing" 2 submit --file "$DIR/bad.tx" --wait $((20000 * SCALE)) --timeout $((5000 * SCALE)))
case "$out" in *"result TX_RESULT_OK"*) ;; *) fail "the chain did not take trustee 4's dealing: $out" 2 ;; esac
log "trustees 1-3 dealt; trustee 4 dealt trustee 1 a wrong share"

# ---- 2. the complaint
out=$("$EVOTE" trustee check --key "$DIR/t1.key" "${E[@]}" --dir "$DIR/d1" --node "$(ep 1)" 2>&1) ||
  fail "trustee 1's check: $out" 1
case "$out" in *"dealer 4   BAD SHARE"*"posting a complaint"*"complaints posted"*) ;;
  *) fail "trustee 1's check did not find trustee 4's bad share and complain: $out" 1 ;; esac
for j in 2 3; do
  out=$(step "trustee $j check" $j trustee check --key "$DIR/t$j.key" "${E[@]}" --dir "$DIR/d$j")
  case "$out" in *"BAD SHARE"*) fail "trustee $j found a bad share: $out" "$j" ;; esac
done
disqualified() {
  "$EVOTE" election show dkg --node "$(ep 3)" --timeout $((2000 * SCALE)) > "$DIR/show.out" 2>&1 &&
    grep -qE '^  trustee 4 .*disqualified' "$DIR/show.out"
}
WAIT_NODE=3 wait_until 20 "election show to name trustee 4 disqualified" disqualified
out=$(step "trustee 1's second check" 1 trustee check --key "$DIR/t1.key" "${E[@]}" --dir "$DIR/d1")
case "$out" in *"dealer 4   disqualified by a complaint"*) ;;
  *) fail "trustee 1's second check does not leave the disqualified dealer out: $out" 1 ;; esac
log "trustee 1 complained; the chain disqualified trustee 4: $(grep -E '^  trustee 4 ' "$DIR/show.out" | sed 's/  */ /g')"

# ---- 3. register, open (the roll freezes), vote, close, decrypt without trustee 4
"$EVOTE" voter keygen --count 1 --out-dir "$DIR/voters" > "$DIR/roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register" 1 voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll.txt" > /dev/null
# Trustee 4 (the cheat) never confirms the others' shares: evote refuses to
# open before the complaints' end, naming it; past that height, it opens.
out=$("$EVOTE" election open --key "$AUTH_KEY" "${E[@]}" --node "$(ep 0)" 2>&1) &&
  fail "election open went ahead before trustee 4 confirmed its shares: $out" 0
case "$out" in *"trustee 4 has not confirmed the share dealer 1 sent it"*"after height $COMPLAINT_END"*"Nothing submitted"*) ;;
  *) fail "election open before every check: $out" 0 ;; esac
while [ "$(height_of 0)" -lt "$COMPLAINT_END" ]; do
  notice 0 dkg "to pass the complaints' end" --wait $((10000 * SCALE)) > /dev/null || fail "a notice did not commit" 0
done
step "election open" 0 election open --key "$AUTH_KEY" "${E[@]}" > /dev/null
keyed() {
  "$EVOTE" election show dkg --node "$(ep 2)" --timeout $((2000 * SCALE)) > "$DIR/show.out" 2>&1 &&
    grep -q "from 3 qualified dealers" "$DIR/show.out"
}
WAIT_NODE=2 wait_until 20 "the election key from the 3 qualified dealers" keyed
grep -q "^roll           frozen when the polls open$" "$DIR/show.out" ||
  { cat "$DIR/show.out"; fail "election show does not say the roll froze when the polls opened" 2; }
# The roll is frozen now: evote refuses to submit a registration, the
# chain refuses one sent anyway, and a voter not on the roll is refused
# for good by the first validator asked.
"$EVOTE" voter keygen --count 1 --out-dir "$DIR/late" > "$DIR/late.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
out=$("$EVOTE" voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/late.txt" --node "$(ep 1)" 2>&1) &&
  fail "a registration after the polls opened was submitted: $out" 1
case "$out" in *"are open, and its roll was frozen when they opened"*"nothing submitted"*) ;;
  *) fail "evote voter register after the opening does not say the roll is frozen: $out" 1 ;; esac
out=$("$EVOTE" voter register --no-precheck --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/late.txt" --node "$(ep 1)" 2>&1) &&
  fail "the chain took a registration after the polls opened: $out" 1
case "$out" in *TX_RESULT_ROLL_CLOSED*) ;; *) fail "the chain did not refuse a late registration as ROLL_CLOSED: $out" 1 ;; esac
out=$("$EVOTE" vote --key "$DIR"/late/*.key --choice Yes --no-precheck "${E[@]}" --node "$(ep 2)" --node "$(ep 3)" 2>&1) &&
  fail "a voter the frozen roll does not hold voted: $out" 2
case "$out" in *"not on this election's voter roll"*) ;; *) fail "the ballot of a key not on the roll was not refused as such: $out" 2 ;; esac
case "$out" in *"trying the next"*) fail "a refusal by the frozen roll was not final: $out" 2 ;; esac
log "the roll froze when the polls opened: a late registration and a ballot by a key not on it are refused"
step "vote" 2 vote --key "$DIR"/voters/*.key --choice Yes "${E[@]}" > /dev/null
step "election close" 0 election close --key "$AUTH_KEY" "${E[@]}" > /dev/null
for j in 1 2 3; do
  step "trustee $j decrypt" $((j % 4)) trustee decrypt --key "$DIR/t$j.key" "${E[@]}" --dir "$DIR/d$j" > /dev/null
done
counted() {
  "$EVOTE" result dkg --genesis "$GENESIS" --node "$(ep 1)" --timeout $((2000 * SCALE)) > "$DIR/result.out" 2>&1 &&
    grep -qE '^  Yes +1$' "$DIR/result.out"
}
WAIT_NODE=1 wait_until 30 "the result to count the ballot (trustees 1-3 combined)" counted
grep -q "trustees combined  1, 2, 3" "$DIR/result.out" || { cat "$DIR/result.out"; fail "the result was not combined from trustees 1, 2, 3" 1; }
log "opened on 3 qualified dealers; the ballot is counted from trustees 1-3's decryptions"

# ---- 4. identical chains
h=$(height_of 1)
wait_until 20 "every node at height $h" heights_at_least "$h" 0 1 2 3
compare_chains "$h" 0 1 2 3
no_errors_logged
pass
