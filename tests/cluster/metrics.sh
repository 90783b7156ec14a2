#!/usr/bin/env bash
# cluster_metrics: evoted's /healthz and /metrics (README, "Health and
# metrics") on 4 real validators, scraped with curl and parsed with awk:
#   1. /healthz is 200 "ok ..." on every node; /metrics is valid exposition
#      text (every sample under a # HELP and # TYPE) naming every metric;
#   2. 30 notices committed: height, blocks, committed transactions,
#      consensus messages by type (sent and received), mempool counters move;
#      a small election: 3 ballots move the committed ballot counter; a
#      stranger's ballot is refused by the validator asked, counted as
#      not_registered, and, passed on by a faulty validator, recorded in a
#      block and counted by its result code; a ballot sent to node1 a
#      moment before its voter's registration is looked at again and taken;
#      a validator stopped during 4 ballots catches up with none of their
#      proofs checked on its event loop alone (evote_ballot_verdicts_total);
#   3. bad transactions (another chain's, junk, empty) move the rejection
#      counter with their reason;
#   4. 404 for another path, 405 (with Allow) for POST, HEAD works;
#   5. a bad or busy http_listen stops evoted with a clear error;
#   6. two validators killed: /healthz on the other two turns 503 with the
#      reason, and evote_healthy 0;
#   7. SIGTERM stops the rest cleanly (exit 0; the sanitizer build checks
#      that no leak is left by the HTTP server).
#   bash metrics.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

command -v curl > /dev/null || { echo "FAIL: curl is missing (./deploy/install-deps.sh installs it)"; exit 1; }

cluster_init metrics 4
for ((i = 0; i < N; i++)); do
  grep -q "^http_listen = 127.0.0.1:$(http_port "$i")\$" "$DIR/c/node$i/evoted.conf" ||
    fail "evote genesis did not write http_listen = 127.0.0.1:$(http_port "$i") into node$i's evoted.conf"
done
start_all
wait_ready
log "4 validators up, all connected"

# http I PATH [curl args...]: prints "CODE BODY" (body on one line).
http() {
  local i=$1 path=$2 out code
  shift 2
  out=$(curl -sS --max-time $((5 * SCALE)) -o "$DIR/http.body" -w '%{http_code}' "$@" "$(http_url "$i")$path" 2>&1) ||
    { echo "000 curl: $out"; return 0; }
  code=$out
  echo "$code $(tr '\n' ' ' < "$DIR/http.body" | sed 's/ *$//')"
}

# scrape I FILE: node I's /metrics into FILE, checked: every sample belongs
# to a family declared with # HELP then # TYPE, values are numbers.
scrape() {
  local code
  code=$(curl -sS --max-time $((5 * SCALE)) -o "$2" -w '%{http_code}' "$(http_url "$1")/metrics" 2> "$2.err") ||
    fail "cannot GET /metrics from node$1: $(cat "$2.err")" "$1"
  [ "$code" = 200 ] || fail "GET /metrics on node$1 answered $code" "$1"
  awk '
    /^# HELP / { help[$3] = 1; next }
    /^# TYPE / { if (!($3 in help)) { bad = "# TYPE without # HELP: " $3 }
                 if ($4 != "counter" && $4 != "gauge") { bad = "unknown type: " $0 }
                 type[$3] = $4; next }
    /^#/ { bad = "stray comment: " $0; next }
    /^$/ { bad = "empty line"; next }
    { name = $1; sub(/\{.*/, "", name)
      if (!(name in type)) { bad = "sample without # TYPE: " $0 }
      if (name !~ /^evote_/) { bad = "not prefixed evote_: " $0 }
      if (type[name] == "counter" && name !~ /_total$/) { bad = "counter not named *_total: " $0 }
      if (NF != 2 || $2 !~ /^[0-9]+(\.[0-9]+)?$/) { bad = "not NAME VALUE: " $0 } }
    END { if (bad != "") { print bad; exit 1 } }' "$2" > "$2.check" ||
    fail "node$1's /metrics is not valid exposition text: $(cat "$2.check")" "$1"
}

# mval FILE SAMPLE: the value of SAMPLE ("name" or "name{label=\"v\"}"), "" when absent.
mval() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }

# m I SAMPLE: SAMPLE's value on node I now (integer part).
m() {
  scrape "$1" "$DIR/m.$1"
  mval "$DIR/m.$1" "$2" | cut -d. -f1
}

metric_at_least() { # I SAMPLE MIN
  local v
  v=$(m "$1" "$2")
  [ -n "$v" ] && [ "$v" -ge "$3" ]
}

# ------------------------------------------------- 1. health, every metric
for ((i = 0; i < N; i++)); do
  WAIT_NODE=$i wait_until 10 "node$i's /healthz to answer 200" eval '[ "$(http "$i" /healthz | cut -d" " -f1)" = 200 ]'
  got=$(http "$i" /healthz)
  case "$got" in
    "200 ok height="*" view=0 peers=3/3") ;;
    *) fail "node$i: GET /healthz answered '$got' (expected 200 ok height=H view=0 peers=3/3)" "$i" ;;
  esac
done
log "/healthz: 200 on all 4 ($got)"

NAMES=(
  evote_height evote_view evote_primary evote_is_primary evote_view_changes_total
  evote_blocks_committed_total evote_committed_transactions_total evote_committed_ballots_total
  'evote_committed_transaction_results_total{result="ok"}' evote_last_commit_timestamp_seconds
  evote_mempool_transactions evote_mempool_capacity evote_verification_queue_depth
  'evote_verification_sampled_total{kind="tx"}' 'evote_verification_sampled_total{kind="ballot"}'
  'evote_verification_sampled_cpu_seconds_total{kind="tx"}' 'evote_verification_sampled_cpu_seconds_total{kind="ballot"}'
  evote_mempool_submitted_total evote_mempool_accepted_total
  'evote_mempool_rejected_total{reason="bad_signature"}' 'evote_mempool_rejected_total{reason="wrong_chain"}'
  'evote_mempool_rejected_total{reason="malformed"}' 'evote_mempool_rejected_total{reason="duplicate"}'
  'evote_mempool_rejected_total{reason="busy"}' 'evote_mempool_rejected_total{reason="too_large"}'
  evote_peers_connected evote_fetched_blocks_total evote_mempool_swept_total 'evote_ballot_verdicts_total{source="workers"}'
  'evote_ballot_verdicts_total{source="catch_up"}' 'evote_ballot_verdicts_total{source="none"}'
  'evote_store_used_bytes' 'evote_store_map_size_bytes' 'evote_store_file_size_bytes'
  'evote_store_writes_total{kind="block"}' 'evote_store_writes_total{kind="consensus"}'
  'evote_store_write_seconds_total{kind="block"}' 'evote_store_write_seconds_total{kind="consensus"}'
  evote_process_resident_memory_bytes evote_process_resident_anon_memory_bytes evote_uptime_seconds
  evote_process_start_time_seconds evote_healthy evote_validator_index evote_validators
)
for t in pre_prepare prepare commit checkpoint view_change new_view state_request state_response request_batch; do
  NAMES+=("evote_consensus_messages_received_total{type=\"$t\"}" "evote_consensus_messages_sent_total{type=\"$t\"}")
done
for ((i = 0; i < N; i++)); do
  scrape "$i" "$DIR/before.$i"
  missing=$(printf '%s\n' "${NAMES[@]}" | awk 'NR == FNR { have[$1] = 1; next } !($1 in have)' "$DIR/before.$i" -)
  [ -z "$missing" ] || fail "node$i's /metrics lacks: $(echo $missing)" "$i"
  [ "$(mval "$DIR/before.$i" evote_validator_index)" = "$i" ] || fail "node$i: evote_validator_index is not $i" "$i"
  [ "$(mval "$DIR/before.$i" evote_peers_connected)" = 3 ] || fail "node$i: evote_peers_connected is not 3" "$i"
  [ "$(mval "$DIR/before.$i" evote_healthy)" = 1 ] || fail "node$i: evote_healthy is not 1" "$i"
  for name in evote_store_used_bytes evote_store_file_size_bytes evote_store_map_size_bytes \
              evote_process_resident_memory_bytes evote_process_resident_anon_memory_bytes; do
    [ "$(mval "$DIR/before.$i" "$name")" -gt 0 ] || fail "node$i: $name is 0" "$i"
  done
done
[ "$(mval "$DIR/before.0" evote_is_primary)" = 1 ] && [ "$(mval "$DIR/before.1" evote_is_primary)" = 0 ] ||
  fail "evote_is_primary: expected 1 on node0 (primary of view 0), 0 on node1"
log "/metrics: valid exposition text with all ${#NAMES[@]} expected samples on all 4"

# ------------------------------------------------- 2. counters move
"$TOOL" flood --node "$(ep 0)" --genesis "$GENESIS" --authority "$AUTH_KEY" --count 30 \
  --timeout $((30000 * SCALE)) > "$DIR/ids" 2> "$DIR/flood.err" ||
  { cat "$DIR/flood.err"; fail "node0 did not accept 30 notices" 0; }
[ "$(wc -l < "$DIR/ids")" = 30 ] || fail "node0 accepted $(wc -l < "$DIR/ids") of 30 notices" 0
for ((i = 0; i < N; i++)); do
  WAIT_NODE=$i wait_until 30 "node$i's evote_committed_transactions_total to reach 30" \
    metric_at_least "$i" evote_committed_transactions_total 30
done
for ((i = 0; i < N; i++)); do scrape "$i" "$DIR/after.$i"; done

grew() { # I SAMPLE [MIN_DELTA]: SAMPLE grew by MIN_DELTA (default 1) on node I
  local a b
  a=$(mval "$DIR/before.$1" "$2" | cut -d. -f1)
  b=$(mval "$DIR/after.$1" "$2" | cut -d. -f1)
  [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -ge "${3:-1}" ] ||
    fail "node$1: $2 went from '$a' to '$b' (expected +${3:-1} at least)" "$1"
}
for ((i = 0; i < N; i++)); do
  grew "$i" evote_height
  grew "$i" evote_blocks_committed_total
  grew "$i" 'evote_store_writes_total{kind="block"}'     # a durable write per block,
  grew "$i" 'evote_store_writes_total{kind="consensus"}' # and the votes' state before them
  grew "$i" evote_committed_transactions_total 30
  grew "$i" 'evote_committed_transaction_results_total{result="ok"}' 30
  grew "$i" evote_last_commit_timestamp_seconds
  grew "$i" evote_mempool_submitted_total 30
  grew "$i" evote_mempool_accepted_total 30
  grew "$i" 'evote_consensus_messages_received_total{type="commit"}' 2
done
# The primary (node0) pre-prepares to 3 backups and receives their votes;
# a backup receives the pre-prepare and the forwarded transactions, and votes.
grew 0 'evote_consensus_messages_sent_total{type="pre_prepare"}' 3
grew 0 'evote_consensus_messages_sent_total{type="request_batch"}' 3
grew 0 'evote_consensus_messages_received_total{type="prepare"}' 2
for i in 1 2 3; do
  grew "$i" 'evote_consensus_messages_received_total{type="pre_prepare"}'
  grew "$i" 'evote_consensus_messages_received_total{type="request_batch"}'
  grew "$i" 'evote_consensus_messages_sent_total{type="prepare"}' 3
  grew "$i" 'evote_consensus_messages_sent_total{type="commit"}' 3
done
now=$(date +%s)
last=$(mval "$DIR/after.1" evote_last_commit_timestamp_seconds | cut -d. -f1)
[ $((now - last)) -lt $((60 * SCALE)) ] && [ "$last" -le "$now" ] ||
  fail "node1: evote_last_commit_timestamp_seconds $last is not a recent Unix time (now $now)" 1
[ "$(mval "$DIR/after.1" evote_height)" -ge 1 ] || fail "node1: evote_height is 0 after 30 commits" 1
log "after 30 notices: height $(mval "$DIR/after.0" evote_height), committed tx, messages by type and mempool counters moved on all 4"

# ------------------------------------------------- 2b. ballots
# A small election (one trustee, node0's key; three voters): the committed
# ballot counter moves by 3; a ballot by a key not on the roll is committed
# with result not_registered.
E=(--genesis "$GENESIS" --id metrics-e --wait $((20000 * SCALE)) --node "$(ep 0)")
step() { # DESCRIPTION evote-args...
  local what=$1 out
  shift
  out=$("$EVOTE" "$@" 2>&1) || fail "$what: $out" 0
}
step "election create" election create --key "$AUTH_KEY" "${E[@]}" --title T --question Q --options "A,B" \
  --open-height 1 --close-height 1000000 --trustees "$("$EVOTE" pubkey --key "$DIR/c/node0/validator.key")" --threshold 1 \
  --registration-until-close # voters registered while votes are cast: the race below
step "trustee init" trustee init --key "$DIR/c/node0/validator.key" "${E[@]}" --dir "$DIR/trustee"
step "trustee deal" trustee deal --key "$DIR/c/node0/validator.key" "${E[@]}" --dir "$DIR/trustee"
step "election open" election open --key "$AUTH_KEY" "${E[@]}"
"$EVOTE" voter keygen --count 3 --out-dir "$DIR/voters" > "$DIR/roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register" voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/roll.txt"
ls "$DIR"/voters/*.key | awk '{ print $1, (NR % 2 ? "A" : "B") }' > "$DIR/votes.txt"
ballots=$(m 1 evote_committed_ballots_total)
step "3 ballots" vote --voters "$DIR/votes.txt" "${E[@]}"
"$EVOTE" keygen --out "$DIR/stranger.key" > /dev/null 2>&1 || fail "keygen"
before=$(m 0 'evote_mempool_rejected_total{reason="not_registered"}')
out=$("$EVOTE" vote --key "$DIR/stranger.key" --choice A --no-precheck "${E[@]}" 2>&1) &&
  fail "node0 accepted the ballot of a key not on the roll: $out" 0
case "$out" in *"not on this election's voter roll"*) ;; *) fail "the refusal of a stranger's ballot does not say why: $out" 0 ;; esac
# Asked twice (a block on its way might have registered it; only the
# second, final refusal is counted): counted once.
wait_until 10 "node0's not_registered refusals to be counted" \
  metric_at_least 0 'evote_mempool_rejected_total{reason="not_registered"}' $((${before:-0} + 1))
sleep 0.5 # /metrics is published every 100 ms
[ "$(m 0 'evote_mempool_rejected_total{reason="not_registered"}')" = $((${before:-0} + 1)) ] ||
  fail "one refused ballot counted more than once as not_registered" 0
# A refusal by a validator's state that a later block could change (a
# registration it has not executed yet) sends the client on to the next
# --node, which refuses it too here.
out=$("$EVOTE" vote --key "$DIR/stranger.key" --choice A --no-precheck "${E[@]}" --node "$(ep 1)" 2>&1) &&
  fail "node0 or node1 accepted the ballot of a key not on the roll: $out" 0
case "$out" in *"trying the next --node"*"$(ep 1) rejected the transaction"*) ;;
  *) fail "a refusal by node0's state did not send the client on to node1: $out" 0 ;; esac
# A faulty validator may pass such a ballot on (node i+1 to node i): with
# the roll open while votes are cast, a registration may still come, so the
# others let it through and the block records the refusal.
refused=$(m 1 'evote_committed_transaction_results_total{result="not_registered"}')
echo "$DIR/stranger.key A" > "$DIR/stranger.txt"
"$EVOTE" vote --voters "$DIR/stranger.txt" "${E[@]}" --encrypt-only "$DIR/stranger.hex" > /dev/null 2>&1 ||
  fail "cannot seal the stranger's ballot" 0
for i in 0 1 2 3; do
  j=$(((i + 1) % 4))
  "$TOOL" inject --genesis "$GENESIS" --to "$i" --as "$DIR/c/node$j/curve.key" --what forward \
    --key "$DIR/c/node$j/validator.key" --txs "$DIR/stranger.hex" > /dev/null 2> "$DIR/inject.err" ||
    { cat "$DIR/inject.err"; fail "cannot pass the stranger's ballot on to node$i as node$j" "$i"; }
done
for i in 1 2; do
  WAIT_NODE=$i wait_until 30 "node$i's evote_committed_ballots_total to reach $((ballots + 3))" \
    metric_at_least "$i" evote_committed_ballots_total $((ballots + 3))
  WAIT_NODE=$i wait_until 30 "node$i's not_registered results to grow from ${refused:-0}" \
    metric_at_least "$i" 'evote_committed_transaction_results_total{result="not_registered"}' $((${refused:-0} + 1))
done
log "an election: 3 ballots counted in evote_committed_ballots_total; a stranger's ballot refused as not_registered, and recorded so when a validator passes it on"

# A voter's ballot sent to node1 a moment before its registration goes to
# node0: node1 refuses it for now (not on the roll yet), looks again once
# the block on its way is in (evote_mempool_second_looks_total), and takes it.
"$EVOTE" voter keygen --count 1 --out-dir "$DIR/race" > "$DIR/race-roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
echo "$(ls "$DIR"/race/*.key) A" > "$DIR/race.txt"
"$EVOTE" vote --voters "$DIR/race.txt" "${E[@]}" --encrypt-only "$DIR/race.hex" > /dev/null 2>&1 ||
  fail "cannot seal the racing voter's ballot" 0
perl -ne 'chomp; print pack("H*", $_)' "$DIR/race.hex" > "$DIR/race.tx"
looks=$(m 1 evote_mempool_second_looks_total)
"$EVOTE" submit --file "$DIR/race.tx" --node "$(ep 1)" --wait $((20000 * SCALE)) > "$DIR/race.out" 2>&1 &
RACE=$!
BG_PIDS+=($RACE)
sleep 0.1
"$EVOTE" voter register --key "$AUTH_KEY" --genesis "$GENESIS" --id metrics-e --voters "$DIR/race-roll.txt" \
  --node "$(ep 0)" > "$DIR/race-reg.out" 2>&1 || fail "voter register: $(cat "$DIR/race-reg.out")" 0
wait "$RACE" || fail "node1 refused the ballot of a voter registered a moment later: $(cat "$DIR/race.out")" 1
grep -q "result TX_RESULT_OK" "$DIR/race.out" || fail "the racing voter's ballot is not counted: $(cat "$DIR/race.out")" 1
WAIT_NODE=1 wait_until 10 "node1's evote_mempool_second_looks_total to grow from ${looks:-0}" \
  metric_at_least 1 evote_mempool_second_looks_total $((${looks:-0} + 1))
log "a ballot sent a moment before its voter's registration: node1 looked again and took it"

# A voter's ballot passed on to node3 alone (by a faulty node2), then the
# voter's other ballot committed: node3's state now refuses the first for
# good and no primary would propose it (each drops it at the door), so
# node3 drops it within a sweep or two (evote_mempool_swept_total) rather
# than wait for it and suspect every primary.
"$EVOTE" voter keygen --count 1 --out-dir "$DIR/twice" > "$DIR/twice-roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register (twice)" voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/twice-roll.txt"
echo "$(ls "$DIR"/twice/*.key) A" > "$DIR/twice.txt"
for k in 1 2; do
  "$EVOTE" vote --voters "$DIR/twice.txt" "${E[@]}" --encrypt-only "$DIR/twice$k.hex" > /dev/null 2> "$DIR/twice.err" ||
    fail "cannot seal ballot $k of the voter: $(cat "$DIR/twice.err")"
done
swept=$(m 3 evote_mempool_swept_total)
"$TOOL" inject --genesis "$GENESIS" --to 3 --as "$DIR/c/node2/curve.key" --what forward \
  --key "$DIR/c/node2/validator.key" --txs "$DIR/twice2.hex" > "$DIR/twice2.id" 2> "$DIR/inject.err" ||
  { cat "$DIR/inject.err"; fail "cannot pass the voter's second ballot on to node3 as node2" 3; }
WAIT_NODE=3 wait_until 10 "node3 to hold the ballot passed on to it" metric_at_least 3 evote_mempool_transactions 1
perl -ne 'chomp; print pack("H*", $_)' "$DIR/twice1.hex" > "$DIR/twice1.tx"
out=$("$EVOTE" submit --file "$DIR/twice1.tx" --node "$(ep 0)" --wait $((20000 * SCALE)) --timeout $((5000 * SCALE)) 2>&1) ||
  fail "the voter's first ballot: $out" 0
case "$out" in *"result TX_RESULT_OK"*) ;; *) fail "the voter's first ballot does not count: $out" 0 ;; esac
WAIT_NODE=3 wait_until 10 "node3 to drop the voter's other ballot (evote_mempool_swept_total)" \
  metric_at_least 3 evote_mempool_swept_total $((${swept:-0} + 1))
WAIT_NODE=3 wait_until 10 "node3's mempool to be empty" eval '[ "$(m 3 evote_mempool_transactions)" = 0 ]'
"$TOOL" txs --node "$(ep 3)" --wait 1 < "$DIR/twice2.id" | grep -q " unknown " ||
  fail "the voter's second ballot is pending or in the chain" 3
grep -q "dropped 1 pending transaction that the chain now refuses for good" "$DIR/c/node3/evoted.log" ||
  fail "node3 did not log what it dropped" 3
log "a ballot passed on to node3 alone, then its voter's other ballot committed: node3 dropped it"

# Catch-up: node3 stopped while 4 voters are registered and vote; started
# again, it executes the blocks it missed, and not one of their ballots has
# its proofs checked on the event loop alone: blocks that come by state
# transfer have theirs checked on every core just before
# (evote_ballot_verdicts_total{source="catch_up"}), those its peers had
# queued for it are validated by its workers as any proposal.
kill -TERM "${PIDS[3]}" && wait "${PIDS[3]}" 2>/dev/null
PIDS[3]=
"$EVOTE" voter keygen --count 4 --out-dir "$DIR/late" > "$DIR/late-roll.txt" 2> "$DIR/keygen.err" ||
  fail "voter keygen: $(cat "$DIR/keygen.err")"
step "voter register (node3 down)" voter register --key "$AUTH_KEY" "${E[@]}" --voters "$DIR/late-roll.txt"
ls "$DIR"/late/*.key | awk '{ print $1, "A" }' > "$DIR/late-votes.txt"
step "4 ballots (node3 down)" vote --voters "$DIR/late-votes.txt" "${E[@]}"
start_node 3
h=$(height_of 0)
WAIT_NODE=3 wait_until 30 "node3 to catch up to height $h" height_at_least 3 "$h"
# /metrics is published every 100 ms: until it shows that height too.
WAIT_NODE=3 wait_until 10 "node3's /metrics to show height $h" metric_at_least 3 evote_height "$h"
scrape 3 "$DIR/catchup.3"
wrk=$(mval "$DIR/catchup.3" 'evote_ballot_verdicts_total{source="workers"}')
cup=$(mval "$DIR/catchup.3" 'evote_ballot_verdicts_total{source="catch_up"}')
none=$(mval "$DIR/catchup.3" 'evote_ballot_verdicts_total{source="none"}')
fetched=$(mval "$DIR/catchup.3" evote_fetched_blocks_total)
[ $((wrk + cup)) -ge 4 ] && [ "$none" = 0 ] ||
  fail "node3's catch-up: ballots checked by its workers $wrk, on every core before a fetched block $cup, neither $none (want >= 4 and 0)" 3
[ "$cup" = 0 ] || [ "$fetched" -ge 1 ] || fail "node3: ballots checked for fetched blocks, but no fetched block counted" 3
log "node3 caught up on 4 ballots ($fetched blocks by state transfer): $cup checked on every core before execution, $wrk by its workers, none on one core"

# ------------------------------------------------- 3. rejections by reason
"$EVOTE" genesis --dir "$DIR/other" --validators 4 --base-port "$BASE" > /dev/null 2>&1 ||
  fail "cannot make a second genesis"
out=$("$EVOTE" notice --key "$DIR/other/authority0.key" --genesis "$DIR/other/genesis.txt" --topic x \
  --text "signed for another chain" --node "$(ep 0)" --timeout $((5000 * SCALE)) 2>&1) &&
  fail "node0 accepted a notice signed for another chain: $out" 0
case "$out" in *"chain"*) ;; *) fail "the refusal of another chain's notice does not say why: $out" 0 ;; esac
wrong=$(mval "$DIR/after.0" 'evote_mempool_rejected_total{reason="wrong_chain"}')
wait_until 10 "node0's wrong_chain rejections to grow from $wrong" \
  metric_at_least 0 'evote_mempool_rejected_total{reason="wrong_chain"}' $((wrong + 1))
"$TOOL" client-garbage --node "$(ep 0)" > "$DIR/garbage.out" 2>&1 ||
  { cat "$DIR/garbage.out"; fail "node0 did not refuse the junk requests" 0; }
malformed=$(mval "$DIR/after.0" 'evote_mempool_rejected_total{reason="malformed"}')
large=$(mval "$DIR/after.0" 'evote_mempool_rejected_total{reason="too_large"}')
wait_until 10 "node0's malformed rejections to grow (junk transaction)" \
  metric_at_least 0 'evote_mempool_rejected_total{reason="malformed"}' $((malformed + 1))
wait_until 10 "node0's too_large rejections to grow (empty transaction)" \
  metric_at_least 0 'evote_mempool_rejected_total{reason="too_large"}' $((large + 1))
log "rejections counted by reason: wrong_chain, malformed, too_large"

# A stranger's notice: refused where it arrives (only an authority of the
# genesis may sign one), with the reason; and neither it nor the other
# chain's notice above was passed on: a validator forwards only what it
# accepted, so the other three never saw them.
out=$("$EVOTE" notice --key "$DIR/stranger.key" --genesis "$GENESIS" --topic x --text "from a stranger" \
  --node "$(ep 0)" --timeout $((5000 * SCALE)) 2>&1) &&
  fail "node0 accepted a notice signed by a stranger: $out" 0
case "$out" in *"election authority of the genesis"*) ;; *) fail "the refusal of a stranger's notice does not say why: $out" 0 ;; esac
wait_until 10 "node0's not_authorized rejections to reach 1" \
  metric_at_least 0 'evote_mempool_rejected_total{reason="not_authorized"}' 1
sleep $SCALE # what node0 passes on leaves within milliseconds
for i in 1 2 3; do
  got=$(m "$i" 'evote_mempool_rejected_total{reason="not_authorized"}')
  [ "${got:-0}" = 0 ] || fail "node$i refused the stranger's notice too: node0 passed on a transaction it refused" "$i"
  got=$(m "$i" 'evote_mempool_rejected_total{reason="wrong_chain"}')
  [ "$got" = "$(mval "$DIR/after.$i" 'evote_mempool_rejected_total{reason="wrong_chain"}')" ] ||
    fail "node$i refused the other chain's notice too: node0 passed on a transaction it refused" "$i"
done
log "a stranger's notice refused as not_authorized on node0, saying why; refused transactions not passed on"

# ------------------------------------------------- 4. what is not served
got=$(http 0 /nope)
case "$got" in "404 "*) ;; *) fail "GET /nope answered '$got' (expected 404)" 0 ;; esac
got=$(http 0 /metrics -X POST -d x=1)
case "$got" in "405 "*) ;; *) fail "POST /metrics answered '$got' (expected 405)" 0 ;; esac
curl -sS -i --max-time $((5 * SCALE)) -X POST "$(http_url 0)/healthz" | grep -qi '^Allow: GET, HEAD' ||
  fail "a 405 answer lacks 'Allow: GET, HEAD'" 0
got=$(http 0 /healthz -X DELETE)
case "$got" in "405 "*) ;; *) fail "DELETE /healthz answered '$got' (expected 405)" 0 ;; esac
got=$(http 0 /healthz -I)
case "$got" in "200"*) ;; *) fail "HEAD /healthz answered '$got' (expected 200)" 0 ;; esac
got=$(http 0 /healthz -X GET --data-binary 'a body')
case "$got" in "413 "*) ;; *) fail "GET /healthz with a body answered '$got' (expected 413)" 0 ;; esac
log "404 for another path, 405 with Allow for POST and DELETE, 413 for a body, HEAD served"

# ------------------------------------------------- 5. kill two, then configuration errors
kill_node 2
kill_node 3
for i in 0 1; do
  unhealthy() {
    local got
    got=$(http "$1" /healthz)
    HEALTH_GOT=$got
    [ "$got" = "503 unhealthy: connected to 1 of 3 peers (need 2)" ]
  }
  WAIT_NODE=$i wait_until 30 "node$i's /healthz to answer 503 unhealthy: connected to 1 of 3 peers (need 2)" \
    unhealthy "$i"
  [ "$(m "$i" evote_healthy)" = 0 ] || fail "node$i: evote_healthy is not 0 while /healthz is 503" "$i"
  [ "$(m "$i" evote_peers_connected)" = 1 ] || fail "node$i: evote_peers_connected is not 1" "$i"
done
log "node2 and node3 killed: /healthz on node0 and node1 is '$HEALTH_GOT'"

# A busy http_listen: evoted (node2's, now dead) refuses to start, saying why.
sed "s/^http_listen = .*/http_listen = 127.0.0.1:$(http_port 0)/" "$DIR/c/node2/evoted.conf" > "$DIR/c/node2/busy.conf"
out=$(timeout $((30 * SCALE)) "$EVOTED" --config "$DIR/c/node2/busy.conf" 2>&1)
rc=$?
[ $rc = 1 ] || fail "evoted with a busy http_listen exited $rc (expected 1): $out" 2
case "$out" in *"http_listen 127.0.0.1:$(http_port 0)"*"in use"*) ;;
  *) fail "evoted with a busy http_listen does not say why: $out" 2 ;; esac
sed "s/^http_listen = .*/http_listen = localhost:9100/" "$DIR/c/node2/evoted.conf" > "$DIR/c/node2/bad.conf"
out=$("$EVOTED" --config "$DIR/c/node2/bad.conf" 2>&1)
rc=$?
[ $rc = 2 ] || fail "evoted with http_listen = localhost:9100 exited $rc (expected 2): $out" 2
case "$out" in *"line 9"*"http_listen must be IP:port"*) ;; *) fail "a bad http_listen is not explained: $out" 2 ;; esac
log "a busy or bad http_listen stops evoted with a clear error"

# ------------------------------------------------- 6. clean stop
for i in 0 1; do kill -TERM "${PIDS[$i]}"; done
for i in 0 1; do
  stopped() { ! kill -0 "${PIDS[$1]}" 2>/dev/null; }
  WAIT_NODE=$i wait_until 10 "node$i to exit after SIGTERM" stopped "$i"
  wait "${PIDS[$i]}"
  rc=$?
  PIDS[$i]=
  [ $rc = 0 ] || fail "node$i exited with status $rc after SIGTERM (expected 0)" "$i"
done
got=$(http 0 /healthz)
case "$got" in "000 "*) ;; *) fail "node0's HTTP port still answers after it stopped: $got" 0 ;; esac
log "SIGTERM: node0 and node1 stopped cleanly, their HTTP ports closed"
pass
