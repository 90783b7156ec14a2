#!/usr/bin/env bash
# cluster_hostile: what reaches node0's peer port from outside the rules.
#   1. A fresh CURVE key (not in the genesis) is refused by the handshake
#      (ZAP); a validator's key is accepted (the control).
#   2. With node3's valid CURVE key: garbage frames (random bytes, an empty
#      frame, a multi-part message, junk envelopes), then a message over the
#      16 MiB limit (node0 must cut that connection), then well-formed
#      VIEW-CHANGEs for the next view from node2 and node3 (f+1 of them,
#      enough to make node0 join that view) with broken signatures.
#      After each: node0 is alive, answers status with its peers connected,
#      is in the same view as the others, and a new notice sent to it
#      commits on all four.
#      Then a RequestBatch (forwarded transactions) with a broken signature
#      carrying a valid notice: the notice must stay unknown everywhere.
#      Malformed requests on the client endpoint are answered with a refusal
#      (also a status request drowned in fields no version knows).
#   3. The controls for 2: the same RequestBatch correctly signed gets its
#      notice committed, and the same VIEW-CHANGEs correctly signed make
#      node0 join the next view, so the forged ones were refused for their
#      signatures, not for their form.
#   4. node0's CURVE client endpoint (client_curve_listen): a client that
#      names node0's CURVE key from the genesis gets status and a notice
#      committed; one that names another validator's key, or none, gets no
#      answer; a key that does not decode is a usage error.
#   5. (Run within 2, before 3 moves node0 to a view of its own.) A client
#      that reads as fast as node0 answers (2,000 blocks in a row from one
#      address): past its budget (client_read_rate, default 200 a second, a
#      burst of 400) it is answered BUSY, node0 counts it in
#      evote_client_reads_limited_total, and node0 keeps serving.
#      Then junk transactions as fast as node0 answers (400 in a row): past
#      client_refusal_rate (default 50 refusals a second, a burst of 100)
#      they are answered BUSY before any check, saying why, counted in
#      evote_client_refusals_limited_total; a valid notice from the same
#      address right after is served (its client retries after the wait
#      the BUSY answer gives).
#   6. Ballots for elections that do not exist, validly signed by fresh keys,
#      160 of them from 8 connections at once to node1 for about 10 s (longer
#      than the 8 s between an idle validator's probes of its peers, while
#      which it once took itself for behind and let them through): none
#      accepted, none in any block (evote_committed_transaction_results_total
#      {result="unknown_election"} stays 0 on all four).
#   bash hostile.sh EVOTED EVOTE CLUSTER_TOOL
source "$(dirname "$0")/lib.sh" "$@"

cluster_init hostile 4
CURVE_EP=$(sed -n 's/^client_curve_listen *= *//p' "$DIR/c/node0/evoted.conf") # evote genesis: P+50+i
[ "$CURVE_EP" = "tcp://127.0.0.1:$((BASE + 50))" ] || fail "evote genesis wrote client_curve_listen '$CURVE_EP' for node0"
start_all
wait_ready
log "4 validators up, all connected"
C=$DIR/c

# node0 serves: alive, status with all peers, in the view of the others, and a new
# notice submitted to it commits on all four (so node0 keeps agreeing).
K=0
serving() { # WHAT
  local out id i
  K=$((K + 1))
  alive 0 || fail "node0 died after $1" 0
  WAIT_NODE=0 wait_until 10 "node0 to answer status with all peers after $1" node_ready 0
  out=$(notice 0 hostile "after $1 ($K)" --wait $((20000 * SCALE)) 2>&1) || fail "node0 refused a notice after $1: $out" 0
  case "$out" in *committed*) ;; *) fail "a notice to node0 did not commit after $1: $out" 0 ;; esac
  id=$(echo "$out" | head -1)
  for ((i = 1; i < N; i++)); do
    echo "$id" | "$TOOL" txs --node "$(ep "$i")" --wait $((20000 * SCALE)) | grep -q " committed " ||
      fail "the notice sent to node0 after $1 is not committed on node$i" "$i"
  done
  # node0 is in the others' view (forged VIEW-CHANGEs accepted would leave
  # it alone in a higher one; a genuine view change, possible on a loaded
  # machine, moves all four).
  WAIT_NODE=0 wait_until 10 "node0 in the same view as the others after $1" same_view 0 1 2 3
  for i in 0 1 2 3; do alive "$i" || fail "node$i died after $1" "$i"; done
  log "node0 still serving after $1 (height $(height_of 0), view $SAME_VIEW)"
}

out=$(notice 0 hostile "before") || fail "a first notice: $out" 0
LOG0_LINES=$(wc -l < "$C/node0/evoted.log")

# ---------------------------------------------------------- 1. unknown key
got=$("$TOOL" probe --genesis "$GENESIS" --to 0 --fresh --wait $((3000 * SCALE)) 2> "$DIR/probe.err")
[ "$got" = refused ] || { cat "$DIR/probe.err"; fail "a fresh CURVE key connecting to node0's peer port: expected 'refused', got '$got'" 0; }
log "a CURVE key not in the genesis is refused by node0 ($(head -1 "$DIR/probe.err"))"
got=$("$TOOL" probe --genesis "$GENESIS" --to 0 --as "$C/node3/curve.key" --wait $((5000 * SCALE)) 2> "$DIR/probe3.err")
[ "$got" = accepted ] || { cat "$DIR/probe3.err"; fail "node3's CURVE key connecting to node0: expected 'accepted', got '$got'" 0; }
log "control: node3's CURVE key is accepted"
serving "an unknown CURVE key"

# ----------------------------------------------- 2. valid key, bad content
got=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node3/curve.key" --what garbage 2> "$DIR/inject.err") ||
  { cat "$DIR/inject.err"; fail "cannot send garbage to node0 as node3: $got"; }
log "sent garbage frames to node0 as node3"
serving "garbage frames"

got=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node3/curve.key" --what oversized --wait $((10000 * SCALE)) 2> "$DIR/inject.err") ||
  { cat "$DIR/inject.err"; fail "cannot send an oversized message to node0 as node3: $got"; }
[ "$got" = disconnected ] || fail "node0 did not cut the connection that sent a message over 16 MiB ($got)" 0
log "node0 cut the connection that sent 16 MiB + 1 KiB"
serving "an oversized message"

wait_until 10 "all four in one view" same_view 0 1 2 3
NEXT=$((SAME_VIEW + 1))
for v in 2 3; do
  got=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node$v/curve.key" --what badsig \
          --key "$C/node$v/validator.key" --view "$NEXT" 2> "$DIR/inject.err") ||
    { cat "$DIR/inject.err"; fail "cannot send a forged VIEW-CHANGE to node0 as node$v: $got"; }
done
log "sent VIEW-CHANGEs to view $NEXT with broken signatures, as node2 and node3"
serving "VIEW-CHANGEs with bad signatures"

# Forwarded transactions (node.c's own path, not the replica's): a valid
# notice inside a RequestBatch whose signature is broken must not enter
# node0's mempool.
FORGED=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node3/curve.key" --what badbatch \
           --key "$C/node3/validator.key" --authority "$AUTH_KEY" 2> "$DIR/inject.err") ||
  { cat "$DIR/inject.err"; fail "cannot send a forged RequestBatch to node0 as node3"; }
log "sent a RequestBatch with a broken signature as node3, carrying notice $FORGED"
serving "a RequestBatch with a bad signature"
for ((i = 0; i < N; i++)); do
  state=$(echo "$FORGED" | "$TOOL" txs --node "$(ep "$i")" --wait 0 | awk '{ print $2 }')
  [ "$state" = unknown ] || fail "the notice inside the forged RequestBatch is '$state' on node$i (expected unknown)" "$i"
done
log "the notice inside the forged RequestBatch is unknown on all 4"

# The client endpoint: malformed requests are answered with a refusal.
got=$("$TOOL" client-garbage --node "$(ep 0)" 2> "$DIR/client.err") ||
  { echo "$got"; cat "$DIR/client.err"; fail "node0's client endpoint mishandled malformed requests" 0; }
log "malformed client requests refused: $(echo "$got" | tr '\n' ' ')"
serving "malformed client requests"

# A client that reads as fast as node0 answers (part 5 of the header).
got=$("$TOOL" read-flood --node "$(ep 0)" --count 2000 2> "$DIR/flood.err") ||
  { cat "$DIR/flood.err"; fail "node0 mishandled a flood of reads: $got" 0; }
read -r _ answered _ busy <<<"$got"
[ "$busy" -gt 0 ] || fail "2,000 reads in a row from one address: none answered BUSY ($got)" 0
[ "$answered" -ge 400 ] || fail "2,000 reads in a row: fewer answered than the burst of 400 ($got)" 0
node0_metric() { # NAME: its value on node0 now (/metrics is a snapshot of at most 100 ms ago)
  curl -sS --max-time $((5 * SCALE)) "http://127.0.0.1:$(http_port 0)/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
node0_counted() { # NAME MIN
  local v
  v=$(node0_metric "$1")
  [ "${v:-0}" -ge "$2" ]
}
WAIT_NODE=0 wait_until 10 "evote_client_reads_limited_total to count the $busy BUSY answers" \
  node0_counted evote_client_reads_limited_total "$busy"
serving "a flood of reads from one address"
log "a flood of reads: $answered answered, $busy refused BUSY (metric $(node0_metric evote_client_reads_limited_total)); node0 kept serving"

# A client that sends junk transactions as fast as node0 answers.
got=$("$TOOL" junk-flood --node "$(ep 0)" --count 400 2> "$DIR/junk.err") ||
  { cat "$DIR/junk.err"; fail "node0 mishandled a flood of junk transactions: $got" 0; }
read -r _ refused _ jbusy <<<"$(echo "$got" | head -1)"
[ "$jbusy" -gt 0 ] || fail "400 junk transactions in a row from one address: none answered BUSY ($got)" 0
[ "$refused" -ge 100 ] || fail "400 junk transactions: fewer refused after a check than the burst of 100 ($got)" 0
case "$(echo "$got" | sed -n 2p)" in *"too many refused transactions"*client_refusal_rate*) ;;
  *) fail "the BUSY answer to a junk flood does not say why: $got" 0 ;; esac
WAIT_NODE=0 wait_until 10 "evote_client_refusals_limited_total to count the $jbusy BUSY answers" \
  node0_counted evote_client_refusals_limited_total "$jbusy"
serving "a flood of junk transactions from one address"
log "a flood of junk transactions: $refused refused after a check, $jbusy answered BUSY unchecked (metric $(node0_metric evote_client_refusals_limited_total)); node0 kept serving"

# Nothing from the hostile connections made node0 warn or fail.
if tail -n +"$((LOG0_LINES + 1))" "$C/node0/evoted.log" | grep -E ' (WARN|ERROR) ' > "$DIR/node0.warnings"; then
  head -10 "$DIR/node0.warnings"
  fail "node0 logged warnings or errors during the hostile traffic" 0
fi

# ------------------------------------------------------------ 3. control
wait_until 10 "all four in one view" same_view 0 1 2 3
NEXT=$((SAME_VIEW + 1))
GOOD=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node3/curve.key" --what goodbatch \
         --key "$C/node3/validator.key" --authority "$AUTH_KEY" 2> "$DIR/inject.err") ||
  { cat "$DIR/inject.err"; fail "cannot send a RequestBatch to node0 as node3"; }
for ((i = 0; i < N; i++)); do
  state=$(echo "$GOOD" | "$TOOL" txs --node "$(ep "$i")" --wait $((20000 * SCALE)) | awk '{ print $2 }')
  [ "$state" = committed ] || fail "control: the notice inside a correctly signed RequestBatch is '$state' on node$i" "$i"
done
log "control: the same RequestBatch correctly signed commits its notice on all 4"
for v in 2 3; do
  got=$("$TOOL" inject --genesis "$GENESIS" --to 0 --as "$C/node$v/curve.key" --what goodsig \
          --key "$C/node$v/validator.key" --view "$NEXT" 2> "$DIR/inject.err") ||
    { cat "$DIR/inject.err"; fail "cannot send a VIEW-CHANGE to node0 as node$v: $got"; }
done
view_reaches() { local x; x=$(view_of 0); [ -n "$x" ] && [ "$x" -ge "$NEXT" ]; }
WAIT_NODE=0 wait_until 10 "control: node0 to join view $NEXT after 2 correctly signed VIEW-CHANGEs" view_reaches
log "control: the same VIEW-CHANGEs correctly signed move node0 to view $(view_of 0)"
alive 0 || fail "node0 died" 0

# ------------------------------------------------------- 4. CURVE clients
key_of() { awk -v n="node$1" '$1 == "validator" && $2 == n { print $4 }' "$GENESIS"; }
K0=$(key_of 0)
K1=$(key_of 1)
[ ${#K0} = 40 ] && [ ${#K1} = 40 ] || fail "cannot read the CURVE keys of node0 and node1 from the genesis"
grep -qF "clients with CURVE at $CURVE_EP" "$C/node0/evoted.log" || fail "node0 did not log its CURVE client endpoint" 0
out=$("$EVOTE" status --node "$K0@$CURVE_EP" --json 2>&1) || fail "status over CURVE with node0's key: $out" 0
case "$out" in *'"name":"node0"'*) ;; *) fail "status over CURVE: $out" 0 ;; esac
out=$("$EVOTE" notice --key "$AUTH_KEY" --genesis "$GENESIS" --topic hostile --text "over CURVE" \
  --node "$K0@$CURVE_EP" --wait $((20000 * SCALE)) 2>&1) ||
  fail "a notice over CURVE: $out" 0
case "$out" in *committed*) ;; *) fail "a notice over CURVE did not commit: $out" 0 ;; esac
out=$("$EVOTE" status --node "$K1@$CURVE_EP" --timeout 1500 2>&1); rc=$?
[ $rc = 1 ] || fail "status over CURVE with node1's key for node0's endpoint exits $rc: $out"
case "$out" in *"no answer from"*"a wrong key gets no answer"*) ;; *) fail "wrong CURVE key: $out" ;; esac
out=$("$EVOTE" status --node "$CURVE_EP" --timeout 1500 2>&1); rc=$?
[ $rc = 1 ] || fail "a plain client on the CURVE endpoint exits $rc: $out"
out=$("$EVOTE" status --node "zz@$CURVE_EP" 2>&1); rc=$?
[ $rc = 2 ] || fail "a CURVE key that does not decode exits $rc: $out"
case "$out" in *"40 Z85 characters"*) ;; *) fail "a bad CURVE key: $out" ;; esac
alive 0 || fail "node0 died" 0
log "CURVE clients: node0's key answers and commits a notice; node1's key and no key get no answer"

# ------------------------------------------------ 6. ballots for no election
got=$("$TOOL" ghost-ballots --node "$(ep 1)" --genesis "$GENESIS" --count 160 --threads 8 \
  --timeout $((10000 * SCALE)) 2>&1) || fail "ghost ballots: $got" 1
read -r _ gacc _ grej _ gbusy _ <<<"$got"
[ "$gacc" = 0 ] || fail "$gacc of 160 ballots for elections that do not exist were accepted by node1 ($got)" 1
notice 1 hostile "after the ghost ballots" --wait $((20000 * SCALE)) >/dev/null ||
  fail "a notice after the ghost ballots did not commit" 1 # anything taken would be in a block by now
for i in 0 1 2 3; do
  v=$(curl -sS --max-time $((5 * SCALE)) "$(http_url $i)/metrics" |
    awk '$1 == "evote_committed_transaction_results_total{result=\"unknown_election\"}" { print $2 }')
  [ "${v:-0}" = 0 ] || fail "node$i committed $v ballots for elections that do not exist" "$i"
done
log "160 ballots for elections that do not exist: none accepted ($grej refused, $gbusy busy), none in a block"

pass
