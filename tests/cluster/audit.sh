#!/usr/bin/env bash
# evote-audit on a real election: 4 validators run deploy/election-demo.sh
# (40 voters, 3 options, revoting with 4 revotes, an unregistered key's
# ballot refused, 3 of 4 trustees decrypt), then three ballots after the
# close that a faulty validator passes on, so that the chain records their
# refusal; node1 is snapshotted with `evote snapshot` while notices
# keep it writing, node2 with plain `mdb_copy` (no compaction: free pages with old data). Both audit VERIFIED (exit 0),
# the JSON report says what the chain says, --track finds a counted and a
# replaced ballot (and `evote track` proves the counted one final from two
# validators' signed statements), and the audit leaves the snapshot's bytes and mtime as
# they were. Then tampered copies — a vote ciphertext changed, a ballot
# removed, two blocks swapped, a certificate with 2f signatures, a forged
# count, a checkpoint proof with 2f signatures, bytes flipped inside live
# records — must each fail (exit 1) naming
# the height; a truncated file cannot be read (exit 2). Last, node1 is
# restored from its snapshot: a damaged copy is refused (by evoted --check
# too), the sound one checked, and it catches up; --check on the running
# node0 passes.
source "$(dirname "$0")/lib.sh" "$@"
AUDIT=${4:?usage: $0 EVOTED EVOTE CLUSTER_TOOL EVOTE_AUDIT AUDIT_TAMPER}
TAMPER=${5:?usage: $0 EVOTED EVOTE CLUSTER_TOOL EVOTE_AUDIT AUDIT_TAMPER}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

cluster_init audit 4
start_all
wait_ready
for i in 0 1 2 3; do echo "${PIDS[$i]}" > "$DIR/c/node$i/evoted.pid"; done # election-demo uses them

log "election: 40 voters, 4 revotes, 3 trustees decrypt"
EVOTE_BIN=$(dirname "$EVOTE") bash "$ROOT/deploy/election-demo.sh" --voters 40 --revotes 4 "$DIR/c" \
  > "$DIR/demo.out" 2>&1 || { tail -40 "$DIR/demo.out"; fail "the election demo failed"; }
ID=$(cat "$DIR/c/election.id")
G=(--genesis "$GENESIS")
# Ballots after the close: a validator refuses a client's at the door...
"$EVOTE" vote --key "$DIR/c/voters/voter-000001.key" "${G[@]}" --id "$ID" --choice Ada --no-precheck \
  --wait $((10000 * SCALE)) --node "$(ep 1)" > "$DIR/late.out" 2>&1 && fail "a ballot after the close was accepted"
grep -q "polls are not open" "$DIR/late.out" || { cat "$DIR/late.out"; fail "the refusal of a late ballot does not say why"; }
# ...and so does every validator when a faulty one (node i+1 to node i)
# passes such ballots on (two voters' and a stranger's): refused for good,
# counted, never in a block.
not_open() { # I: node I's evote_mempool_rejected_total{reason="not_open"} (listed once not 0)
  curl -sS --max-time $((5 * SCALE)) "$(http_url "$1")/metrics" 2> /dev/null |
    awk '/^evote_mempool_rejected_total/ { any = 1 }
         $1 == "evote_mempool_rejected_total{reason=\"not_open\"}" { v = int($2) }
         END { if (any) print v + 0 }'
}
refused_at_least() { local v; v=$(not_open "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
"$EVOTE" keygen --out "$DIR/late-stranger.key" > /dev/null 2>&1 || fail "keygen"
printf '%s Ada\n' "$DIR/c/voters/voter-000001.key" "$DIR/c/voters/voter-000002.key" "$DIR/late-stranger.key" \
  > "$DIR/late.txt"
"$EVOTE" vote --voters "$DIR/late.txt" "${G[@]}" --id "$ID" --node "$(ep 1)" --encrypt-only "$DIR/late.hex" \
  > /dev/null 2> "$DIR/late.err" || { cat "$DIR/late.err"; fail "cannot seal the late ballots"; }
for i in 0 1 2 3; do
  before[$i]=$(not_open "$i")
  [ -n "${before[$i]}" ] || fail "no evote_mempool_rejected_total{reason=\"not_open\"} on node$i's /metrics" "$i"
  j=$(((i + 1) % 4))
  "$TOOL" inject --genesis "$GENESIS" --to "$i" --as "$DIR/c/node$j/curve.key" --what forward \
    --key "$DIR/c/node$j/validator.key" --txs "$DIR/late.hex" > "$DIR/late.ids" 2> "$DIR/inject.err" ||
    { cat "$DIR/inject.err"; fail "cannot pass the late ballots on to node$i as node$j"; }
done
for i in 0 1 2 3; do
  WAIT_NODE=$i wait_until 10 "node$i to refuse the 3 late ballots passed on to it" refused_at_least "$i" $((before[i] + 3))
done
notice 1 after-late "a block after the late ballots" --wait $((10000 * SCALE)) > /dev/null 2>&1 ||
  fail "no block after the late ballots" 1
got=$("$TOOL" txs --node "$(ep 1)" --wait 1 < "$DIR/late.ids" | awk '$2 != "unknown"' | wc -l)
[ "$got" = 0 ] || fail "$got late ballots passed on by a validator are pending or in the chain"
# A roll that stays open while votes are cast (--registration-until-close):
# a ballot by a key not on it yet is the block's to judge (a registration
# may come first), so one a faulty validator passes on gets into a block,
# refused there (NOT_REGISTERED), for the audit to count.
E2=(--genesis "$GENESIS" --id open-roll --wait $((10000 * SCALE)) --timeout $((5000 * SCALE)) --node "$(ep 0)")
for s in "election create --key $AUTH_KEY --title Open --question Q --options A,B --close-height 1000000
          --trustees $("$EVOTE" pubkey --key "$DIR/c/node0/validator.key") --threshold 1 --registration-until-close" \
         "trustee init --key $DIR/c/node0/validator.key --dir $DIR/t2" \
         "trustee deal --key $DIR/c/node0/validator.key --dir $DIR/t2" \
         "election open --key $AUTH_KEY"; do
  # shellcheck disable=SC2086 # the words of $s are the arguments
  "$EVOTE" $s "${E2[@]}" > "$DIR/e2.out" 2>&1 || { cat "$DIR/e2.out"; fail "open-roll: evote $s"; }
done
echo "$DIR/late-stranger.key A" > "$DIR/open-roll.txt"
"$EVOTE" vote --voters "$DIR/open-roll.txt" --genesis "$GENESIS" --id open-roll --node "$(ep 1)" \
  --encrypt-only "$DIR/open-roll.hex" > /dev/null 2> "$DIR/late.err" || { cat "$DIR/late.err"; fail "cannot seal the stranger's ballot"; }
for i in 0 1 2 3; do
  j=$(((i + 1) % 4))
  "$TOOL" inject --genesis "$GENESIS" --to "$i" --as "$DIR/c/node$j/curve.key" --what forward \
    --key "$DIR/c/node$j/validator.key" --txs "$DIR/open-roll.hex" > "$DIR/open-roll.ids" 2> "$DIR/inject.err" ||
    { cat "$DIR/inject.err"; fail "cannot pass the stranger's ballot on to node$i as node$j"; }
done
got=$("$TOOL" txs --node "$(ep 1)" --wait $((20000 * SCALE)) < "$DIR/open-roll.ids") # ID STATE HEIGHT INDEX RESULT
case "$got" in *" committed "*" 10") ;; # 10: TX_RESULT_NOT_REGISTERED
  *) fail "the stranger's ballot passed on is not in a block with its refusal: $got" ;; esac

log "snapshots while node1 keeps writing"
( k=0; while [ ! -e "$DIR/stop-load" ]; do k=$((k + 1)); notice $((k % 4)) load "notice $k" > /dev/null 2>&1; done ) &
LOAD=$!
BG_PIDS+=($LOAD)
sleep 1
"$EVOTE" snapshot --data "$DIR/c/node1/data" --out "$DIR/snap1" > "$DIR/snap1.out" 2>&1 ||
  { cat "$DIR/snap1.out"; fail "evote snapshot failed"; }
mkdir -m 700 "$DIR/snap2"
mkdir -m 700 "$DIR/snap2"
mdb_copy "$DIR/c/node2/data" "$DIR/snap2" 2> "$DIR/snap2.out" || { cat "$DIR/snap2.out"; fail "mdb_copy failed"; }
"$EVOTE" snapshot --data "$DIR/c/node1/data" --out "$DIR/snap1" > /dev/null 2>&1 &&
  fail "evote snapshot wrote into a directory that is not empty"
touch "$DIR/stop-load"
wait "$LOAD"

audit() { # OUT SNAPSHOT [args...]: runs evote-audit, prints its exit code
  local out=$1 snap=$2 rc
  shift 2
  "$AUDIT" --genesis "$GENESIS" --snapshot "$snap" "$@" > "$out" 2> "$out.err"
  rc=$?
  echo $rc
}

before=$(sha256sum "$DIR/snap1/data.mdb"; stat -c '%Y %s' "$DIR/snap1/data.mdb" "$DIR/snap1")
rc=$(audit "$DIR/a1.txt" "$DIR/snap1")
[ "$rc" = 0 ] || { cat "$DIR/a1.txt" "$DIR/a1.txt.err" | head -60; fail "the audit of the evote snapshot exits $rc"; }
grep -q '^VERIFIED' "$DIR/a1.txt" || fail "the audit does not say VERIFIED"
grep -q "election $ID" "$DIR/a1.txt" || fail "the report has no section for election $ID"
grep -qE 'ballots counted +40$' "$DIR/a1.txt" || { cat "$DIR/a1.txt"; fail "the report does not count 40 ballots"; }
grep -qE 'superseded +4 ' "$DIR/a1.txt" || { cat "$DIR/a1.txt"; fail "the report does not show 4 superseded ballots"; }
grep -qE 'TX_RESULT_NOT_REGISTERED +1$' "$DIR/a1.txt" ||
  { cat "$DIR/a1.txt"; fail "the stranger's ballot passed on is not reported as rejected"; }
grep -q 'TX_RESULT_NOT_OPEN' "$DIR/a1.txt" && { cat "$DIR/a1.txt"; fail "a late ballot is in the chain"; }
grep -qE 'voters registered +40 \(roll frozen when the polls open\)$' "$DIR/a1.txt" ||
  { cat "$DIR/a1.txt"; fail "the report does not say the roll froze when the polls opened"; }
after=$(sha256sum "$DIR/snap1/data.mdb"; stat -c '%Y %s' "$DIR/snap1/data.mdb" "$DIR/snap1")
[ "$before" = "$after" ] || fail "the audit changed the snapshot (bytes or mtime)"
[ ! -e "$DIR/snap1/lock.mdb" ] || fail "the audit created a lock file in the snapshot"
log "$(grep -E '^checked' "$DIR/a1.txt")"
# The chain went quiet between the election's steps: idle checkpoints, each
# kept with its proof, all checked.
grep -qE '^checkpoint proofs: [1-9][0-9]*, each 2f\+1' "$DIR/a1.txt" ||
  { cat "$DIR/a1.txt"; fail "the audit checked no kept checkpoint proof"; }
log "$(grep -E '^checkpoint proofs' "$DIR/a1.txt")"

rc=$(audit "$DIR/a2.txt" "$DIR/snap2")
[ "$rc" = 0 ] || { head -40 "$DIR/a2.txt" "$DIR/a2.txt.err"; fail "the audit of the mdb_copy snapshot exits $rc"; }

rc=$(audit "$DIR/j.json" "$DIR/snap1" --json --election "$ID")
[ "$rc" = 0 ] || fail "the JSON audit exits $rc"
j=$(cat "$DIR/j.json")
for want in '"verified":true' '"ballots_counted":40' '"ballots_superseded":4' '"voters_registered":40' \
            '"registered_by":[{"authority":"authority0","keys":40,"after_first_ballot":0}]' \
            '"failure_count":0' '"key_vouched_by":4' '"vouched_by":4' "\"id\":\"$ID\"" '"option":"Mayor: Ada"' \
            '"checkpoint_proofs":' '"roll_frozen_after":null,"roll_frozen_at_opening":true'; do
  case "$j" in *"$want"*) ;; *) echo "$j"; fail "the JSON report lacks $want" ;; esac
done
# The published counts equal the last choice of every voter (what the demo checked on the nodes).
read -r -a expect < <(cat "$DIR/c/votes.txt" "$DIR/c/revotes.txt" | awk '{ last[$1] = $2 } END {
  for (k in last) c[last[k]]++; printf "%d %d %d\n", c["Ada"], c["Grace"], c["Edsger"] }')
k=0
for o in Ada Grace Edsger; do
  case "$j" in *"\"option\":\"Mayor: $o\",\"count\":${expect[$k]}}"*) ;;
    *) fail "the JSON report's count for $o is not ${expect[$k]}" ;; esac
  k=$((k + 1))
done
# Balanced braces: a cheap well-formedness check without python.
[ "$(tr -cd '{' < "$DIR/j.json" | wc -c)" = "$(tr -cd '}' < "$DIR/j.json" | wc -c)" ] || fail "unbalanced JSON"

log "--track"
counted=$(head -1 "$DIR/c/recodes.txt")
replaced=$(cat "$DIR/c/replaced.txt")
rc=$(audit "$DIR/t1.txt" "$DIR/snap1" --track "$counted")
[ "$rc" = 0 ] && grep -q '^  COUNTED' "$DIR/t1.txt" && grep -q 'certificate signed by node' "$DIR/t1.txt" ||
  { cat "$DIR/t1.txt"; fail "--track of a counted ballot"; }
rc=$(audit "$DIR/t2.txt" "$DIR/snap1" --track "$replaced")
[ "$rc" = 0 ] && grep -q "^  SUPERSEDED: replaced by $counted" "$DIR/t2.txt" ||
  { cat "$DIR/t2.txt"; fail "--track of a replaced ballot"; }
rc=$(audit "$DIR/t3.txt" "$DIR/snap1" --track "$(printf '%064d' 7)")
[ "$rc" = 3 ] || fail "--track of an unknown code exits $rc, not 3"
# The voter's own check, on the live nodes: the election allows revoting, so
# one node's COUNTED is its word; signed by f+1 = 2 validators with the polls
# closed it is final. One node alone proves nothing; a replaced ballot is not
# counted whoever is asked.
"$EVOTE" track "$counted" "${G[@]}" --node "$(ep 1)" --node "$(ep 2)" > "$DIR/vt1.txt" 2>&1 ||
  { cat "$DIR/vt1.txt"; fail "evote track with two nodes of a counted ballot"; }
grep -q "^counted        the election allows revoting; 2 validators sign that this is the voter's last ballot: node1 (height [0-9]*, polls closed), node2" "$DIR/vt1.txt" &&
  grep -q "so this ballot is final and in the tally (checked)" "$DIR/vt1.txt" ||
  { cat "$DIR/vt1.txt"; fail "evote track does not prove the ballot final from two validators' signed statements"; }
"$EVOTE" track "$counted" "${G[@]}" --node "$(ep 3)" > "$DIR/vt2.txt" 2>&1 ||
  { cat "$DIR/vt2.txt"; fail "evote track with one node of a counted ballot"; }
grep -q "not proven: f+1 = 2 validators must sign it" "$DIR/vt2.txt" ||
  { cat "$DIR/vt2.txt"; fail "evote track calls one validator's word a proof"; }
"$EVOTE" track "$replaced" "${G[@]}" --node "$(ep 1)" --node "$(ep 2)" > "$DIR/vt3.txt" 2>&1 ||
  { cat "$DIR/vt3.txt"; fail "evote track of a replaced ballot"; }
grep -q "^status         REPLACED" "$DIR/vt3.txt" && ! grep -q "^counted " "$DIR/vt3.txt" ||
  { cat "$DIR/vt3.txt"; fail "evote track of a replaced ballot"; }
log "evote track: $(grep -c 'sign that this is the voter' "$DIR/vt1.txt") counted ballot proven final by 2 validators' signed statements"
# A signed statement is evidence: evote-audit checks it against a snapshot
# taken after it. node1's (true) holds; a faulty node3 that signs the
# replaced ballot COUNTED is caught (exit 4).
"$EVOTE" track "$counted" "${G[@]}" --node "$(ep 1)" --node "$(ep 2)" --json > "$DIR/vt1.json" 2>/dev/null ||
  fail "evote track --json with two nodes"
st=$(sed -n 's/.*"validator":"node1","height":\([0-9]*\),"polls_closed":true,"statement":"\([0-9a-f]*\)","signature":"\([0-9a-f]*\)".*/\1 \2 \3/p' "$DIR/vt1.json")
read -r st_h st_hex st_sig <<< "$st"
[ -n "$st_sig" ] || { cat "$DIR/vt1.json"; fail "evote track --json carries no signed statement of node1"; }
"$EVOTE" snapshot --data "$DIR/c/node2/data" --out "$DIR/snap3" > /dev/null 2>&1 || fail "evote snapshot (3) failed"
rc=$(audit "$DIR/s1.txt" "$DIR/snap3" --statement "$st_hex" --signature "$st_sig")
[ "$rc" = 0 ] && grep -q "TRUE per this chain" "$DIR/s1.txt" ||
  { cat "$DIR/s1.txt" "$DIR/s1.txt.err"; fail "evote-audit does not hold node1's true statement true (exit $rc)"; }
read -r lie_hex lie_sig < <("$TOOL" lie --genesis "$GENESIS" --key "$DIR/c/node3/validator.key" --to 3 \
  --code "$replaced" --height "$st_h") || fail "cluster_tool lie"
rc=$(audit "$DIR/s2.txt" "$DIR/snap3" --statement "$lie_hex" --signature "$lie_sig")
[ "$rc" = 4 ] && grep -q "FALSE per this chain" "$DIR/s2.txt" && grep -q "by node3" "$DIR/s2.txt" ||
  { cat "$DIR/s2.txt" "$DIR/s2.txt.err"; fail "evote-audit does not catch node3's false statement (exit $rc)"; }
rc=$(audit "$DIR/s3.txt" "$DIR/snap3" --statement "$lie_hex" --signature "$st_sig")
[ "$rc" = 64 ] || fail "evote-audit takes a statement with another's signature as evidence (exit $rc)"
log "evote-audit --statement: node1's signed statement holds; node3's false one is caught (exit 4)"

log "tampered copies"
tamper() { ASAN_OPTIONS=detect_leaks=0 "$TAMPER" "$@"; } # a test tool: it does not free what it changes
# The record-level tampering below must be caught by the records' own
# hashes and signatures: those copies lose evote snapshot's seal (which would
# catch them anyway); the byte flips "anywhere" at the end keep it.
copy() { rm -rf "$DIR/bad"; cp -r "$DIR/snap1" "$DIR/bad"; rm -f "$DIR/bad/data.mdb.seal"; }
must_fail() { # WHAT HEIGHT [TXID]
  local rc
  rc=$(audit "$DIR/bad.txt" "$DIR/bad")
  [ "$rc" = 1 ] || { head -30 "$DIR/bad.txt" "$DIR/bad.txt.err"; fail "$1: evote-audit exits $rc, not 1"; }
  grep -q '^VERIFIED' "$DIR/bad.txt" && fail "$1: reported VERIFIED"
  grep -q "FAILED height $2[ :]" "$DIR/bad.txt" || { head -30 "$DIR/bad.txt"; fail "$1: no failure at height $2"; }
  log "$1: $(grep -m1 'FAILED height' "$DIR/bad.txt")"
}
copy; read -r h tx < <(tamper "$DIR/bad" ballot); must_fail "changed vote ciphertext" "$h"
copy; read -r h tx < <(tamper "$DIR/bad" remove); must_fail "removed ballot" "$h"
copy; read -r h < <(tamper "$DIR/bad" swap 5 6); must_fail "swapped blocks" 5
copy; read -r h < <(tamper "$DIR/bad" cert 7); must_fail "certificate with 2f signatures" 7
grep -q 'only 2 distinct validators signed' "$DIR/bad.txt" || fail "the 2f certificate is not explained"
copy; read -r h < <(tamper "$DIR/bad" result); must_fail "forged result count" "$h"
grep -q 'published count of "Mayor: Ada"' "$DIR/bad.txt" || fail "the forged count is not named"
copy; read -r h < <(tamper "$DIR/bad" checkpoint); must_fail "checkpoint proof with 2f signatures" "$h"
grep -q 'checkpoint proof kept for this block holds 2 valid signatures' "$DIR/bad.txt" ||
  fail "the 2f checkpoint proof is not explained"
for seed in $(seq 1 20); do
  copy
  read -r h off < <(tamper "$DIR/bad" flip "$seed")
  rc=$(audit "$DIR/bad.txt" "$DIR/bad")
  [ "$rc" = 1 ] || [ "$rc" = 2 ] || { head -20 "$DIR/bad.txt" "$DIR/bad.txt.err"; fail "flip seed $seed (height $h, offset $off): exit $rc"; }
  grep -q '^VERIFIED' "$DIR/bad.txt" && fail "flip seed $seed: VERIFIED"
  [ "$rc" = 2 ] || grep -q "FAILED height $h[ :]" "$DIR/bad.txt" || { head -20 "$DIR/bad.txt"; fail "flip seed $seed: no failure at height $h"; }
done
log "20 flipped bytes inside live block records: all refused"
# A byte anywhere in the file, also in a page's unused area or a free page
# (which changes no record: LMDB pages carry no checksum) — the seal written
# by evote snapshot catches what the records cannot.
[ -f "$DIR/snap1/data.mdb.seal" ] || fail "evote snapshot wrote no data.mdb.seal"
grep -q '^seal: data.mdb is byte for byte' "$DIR/a1.txt" || fail "the audit of the sealed snapshot does not report its seal"
grep -q '^seal: none' "$DIR/a2.txt" || fail "the audit of the mdb_copy copy does not say it has no seal"
size=$(stat -c %s "$DIR/snap1/data.mdb")
for seed in $(seq 1 30); do
  rm -rf "$DIR/bad"; cp -r "$DIR/snap1" "$DIR/bad"
  off=$(( (seed * 2654435761 + 97) % size ))
  byte=$(od -An -tu1 -j "$off" -N1 "$DIR/bad/data.mdb" | tr -d ' ')
  printf "$(printf '\\%03o' $(( byte ^ (1 << (seed % 8)) )))" |
    dd of="$DIR/bad/data.mdb" bs=1 seek="$off" count=1 conv=notrunc status=none
  rc=$(audit "$DIR/bad.txt" "$DIR/bad")
  [ "$rc" = 1 ] || [ "$rc" = 2 ] || { head -20 "$DIR/bad.txt" "$DIR/bad.txt.err"; fail "flip anywhere, offset $off: exit $rc"; }
  grep -q '^VERIFIED' "$DIR/bad.txt" && fail "flip anywhere, offset $off: VERIFIED"
  [ "$rc" = 2 ] || grep -q 'data.mdb is not the file evote snapshot wrote' "$DIR/bad.txt" ||
    { head -20 "$DIR/bad.txt"; fail "flip anywhere, offset $off: the seal's failure is not reported"; }
done
log "30 flipped bytes anywhere in a sealed snapshot: all refused"
copy; truncate -s $(( $(stat -c %s "$DIR/bad/data.mdb") / 2 )) "$DIR/bad/data.mdb"
rc=$(audit "$DIR/bad.txt" "$DIR/bad")
[ "$rc" = 2 ] && grep -q 'cannot read' "$DIR/bad.txt.err" || { cat "$DIR/bad.txt.err"; fail "a truncated snapshot: exit $rc, not 2"; }
rc=$(audit "$DIR/bad.txt" "$DIR/nothing-here")
[ "$rc" = 2 ] || fail "a missing snapshot: exit $rc, not 2"

# An operator restores node1 from its snapshot (README, "Back up, restore"):
# a damaged copy is refused before LMDB maps it, and left as it was; the
# sound one is checked, opened, and catches up with what was committed since.
log "restore node1 from its snapshot"
kill -TERM "${PIDS[1]}"; wait "${PIDS[1]}"; PIDS[1]=
for k in 1 2 3; do notice 0 restore "committed after the backup $k" > /dev/null || fail "notice $k not accepted"; done
restore_from_snap1() {
  rm -rf "$DIR/c/node1/data"
  mkdir -m 700 "$DIR/c/node1/data"
  cp "$DIR/snap1/data.mdb" "$DIR/snap1/data.mdb.seal" "$DIR/c/node1/data/"
}
restore_from_snap1
printf 'x' | dd of="$DIR/c/node1/data/data.mdb" bs=1 seek=$((size - 100)) count=1 conv=notrunc status=none
damaged=$(sha256sum < "$DIR/c/node1/data/data.mdb")
rc=0; "$EVOTED" --check --config "$DIR/c/node1/evoted.conf" > "$DIR/check-bad.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'damaged after it was taken' "$DIR/check-bad.out" ||
  { cat "$DIR/check-bad.out"; fail "evoted --check on a damaged restored copy exits $rc without saying it is damaged"; }
rc=0; "$EVOTED" --config "$DIR/c/node1/evoted.conf" > "$DIR/restore-bad.out" 2>&1 < /dev/null || rc=$?
[ "$rc" = 1 ] || { cat "$DIR/restore-bad.out"; fail "evoted on a damaged restored copy exits $rc, not 1"; }
grep -q 'damaged after it was taken: restore another backup' "$DIR/restore-bad.out" ||
  { cat "$DIR/restore-bad.out"; fail "evoted does not say the restored copy is damaged and what to do"; }
[ "$(sha256sum < "$DIR/c/node1/data/data.mdb")" = "$damaged" ] || fail "evoted changed the damaged copy"
[ ! -e "$DIR/c/node1/data/lock.mdb" ] || fail "evoted opened the damaged copy (lock.mdb)"
restore_from_snap1
"$EVOTED" --check --config "$DIR/c/node1/evoted.conf" > "$DIR/check.out" 2>&1 ||
  { cat "$DIR/check.out"; fail "evoted --check refuses the sound restored copy"; }
grep -q 'chain store .*: this chain, height [0-9]*; .*its seal matched' "$DIR/check.out" ||
  { cat "$DIR/check.out"; fail "evoted --check does not report the restored copy's height and seal"; }
[ -e "$DIR/c/node1/data/data.mdb.seal" ] && [ ! -e "$DIR/c/node1/data/lock.mdb" ] ||
  fail "evoted --check changed the restored copy (seal removed or lock.mdb created)"
"$EVOTED" --check --config "$DIR/c/node0/evoted.conf" > "$DIR/check0.out" 2>&1 &&
  grep -q "OK, the validator would start with it" "$DIR/check0.out" ||
  { cat "$DIR/check0.out"; fail "evoted --check of the running node0 fails"; }
start_node 1
wait_until 60 "the restored node1 to catch up" all_same_tip 0 1 2 3
grep -q 'never opened here .* was checked before use: its seal matched' "$DIR/c/node1/evoted.log" ||
  fail "node1 does not log that it checked the restored copy" 1
[ ! -e "$DIR/c/node1/data/data.mdb.seal" ] || fail "the restored copy's seal was not removed"
log "restored node1: the damaged copy refused, the sound one checked and caught up ($SAME_TIP)"
pass
