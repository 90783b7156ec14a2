#!/usr/bin/env bash
# A complete election on a 4-validator local cluster, with the evote CLI only:
#   1. the authority defines the election (3 options, exactly one choice,
#      revoting allowed); the 4 validators' keys are its trustees, threshold 3
#   2. key ceremony: each trustee publishes an encryption key, deals, checks
#      the shares it received; the authority opens the election
#   3. N fresh voter keys are generated and registered; every voter casts an
#      encrypted ballot (encrypted on every core, submitted to all 4
#      validators, many in flight); M of them vote again and their later
#      ballot replaces the earlier one (REPLACED / COUNTED); a key that is
#      not on the roll is refused
#   4. the authority closes the polls; 3 of the 4 trustees decrypt
#   5. the result is printed and checked against the last choice of every
#      voter; the commands to inspect it are printed
#
# usage: deploy/election-demo.sh [--voters N] [--revotes M] [--crash] [DIR]
#   --voters N      how many voters (default 20)
#   --revotes M     how many of them vote again (default N/20)
#   --crash         kill -9 the primary while the ballots are cast: the other
#                   validators change view and the vote goes on
#   DIR             where keys, genesis, configs and chains go (default: a new
#                   directory under /tmp); a cluster already running there is
#                   used and left running, else one is started and stopped
#   EVOTE_BIN       where evote and evoted are (default build/src, built if missing)
#   EVOTE_DEMO_STEP number the sections from this + 1 (default 0)
#   EVOTE_BASE_PORT peers listen on P..P+3, clients on P+100..P+103 (default
#                   7300; for an existing DIR, the ports of its genesis)
#   EVOTE_NODES     "EP0 EP1 EP2 EP3": the validators' client endpoints, for a
#                   cluster running elsewhere (docker-compose: DIR is
#                   gen-cluster.sh's OUTDIR); nothing is started or stopped
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${EVOTE_BIN:-$root/build/src}
[ -d "$bin" ] && bin=$(cd "$bin" && pwd) # relative to where it was run from
base=${EVOTE_BASE_PORT:-7300}
nvoters=20
nrevotes=
crash=0
dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --voters) nvoters=$2; shift 2 ;;
    --revotes) nrevotes=$2; shift 2 ;;
    --crash) crash=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "election-demo: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
[[ "$nvoters" =~ ^[0-9]+$ ]] && [ "$nvoters" -ge 1 ] || { echo "election-demo: --voters takes a number >= 1" >&2; exit 2; }
nrevotes=${nrevotes:-$((nvoters / 20))}
[[ "$nrevotes" =~ ^[0-9]+$ ]] && [ "$nrevotes" -le "$nvoters" ] || { echo "election-demo: --revotes takes 0..N" >&2; exit 2; }
dir=${dir:-$(mktemp -d /tmp/evote-election.XXXXXX)}
export EVOTE_BIN=$bin

if [ ! -x "$bin/evote" ] || [ ! -x "$bin/evoted" ]; then
  echo "== building evote and evoted in $root/build"
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)" --target evote evoted >/dev/null
  bin=$root/build/src
  export EVOTE_BIN=$bin
fi
evote=$bin/evote
t_start=${EVOTE_DEMO_T0:-$(date +%s.%N)}
elapsed() { awk -v a="$t_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$dir"
nodes=()
if [ -n "${EVOTE_NODES:-}" ]; then
  read -r -a nodes <<<"$EVOTE_NODES"
  [ ${#nodes[@]} = 4 ] && [ -f genesis.txt ] || { echo "election-demo: EVOTE_NODES takes 4 client endpoints, and DIR must hold their genesis.txt and node<i>/validator.key" >&2; exit 2; }
  [ $crash = 0 ] || { echo "election-demo: --crash kills a local validator: not with EVOTE_NODES" >&2; exit 2; }
  running=1
else
  if [ ! -f genesis.txt ]; then
    "$evote" genesis --dir . --validators 4 --base-port "$base" >/dev/null
  fi
  for i in 0 1 2 3; do
    nodes+=("$(sed -n 's/^client_listen *= *//p' node$i/evoted.conf)")
  done
  running=1
  for i in 0 1 2 3; do
    pid=$(cat node$i/evoted.pid 2>/dev/null || true)
    { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || running=0
  done
fi
if [ $running = 0 ]; then
  trap '"$root/deploy/local-cluster.sh" stop "$dir" >/dev/null 2>&1 || true' EXIT
  echo "== starting 4 validators in $dir (clients on ${nodes[0]} .. ${nodes[3]})"
  "$root/deploy/local-cluster.sh" start 4 "$dir" >/dev/null
fi

G=(--genesis genesis.txt)
id=city-$(date +%Y%m%d-%H%M%S)
echo "$id" >election.id
for _ in $(seq 1 200); do # every validator answers and sees its 3 peers
  ok=1
  for n in "${nodes[@]}"; do
    p=$("$evote" status --node "$n" --timeout 500 --json 2>/dev/null | sed -n 's/.*"peers_connected":\([0-9]*\).*/\1/p')
    [ "${p:-0}" = 3 ] || ok=0
  done
  [ $ok = 1 ] && break
  sleep 0.1
done
step0=${EVOTE_DEMO_STEP:-0}
section() { local n=$1; shift; echo; echo "== $((n + step0)). $*"; }
run() { echo "\$ evote $*" | sed "s|$dir/||g"; "$evote" "$@"; }
par() { # run "$@" once per trustee i in 0..3 (the word TRUSTEE becomes i), in parallel, output in order
  local i pids=() rc=0
  for i in 0 1 2 3; do
    "${@//TRUSTEE/$i}" >"par.$i.out" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2 3; do wait "${pids[$i]}" || rc=1; done
  [ $rc = 0 ] || { cat par.?.out >&2; return 1; }
}

section 1 "the election: defined by an authority; the 4 validators' keys are the trustees ($(elapsed))"
trustees=$(for i in 0 1 2 3; do "$evote" pubkey --key node$i/validator.key; done | paste -sd, -)
run election create --key authority0.key "${G[@]}" --id "$id" --title "City council 2027" \
  --question "Mayor" --options "Ada,Grace,Edsger" --revoting \
  --open-height 1 --close-height 1000000 --trustees "$trustees" --threshold 3 \
  --wait 10000 --node "${nodes[0]}"

section 2 "key ceremony (each trustee's secrets stay in its own 0700 directory) ($(elapsed))"
par "$evote" trustee init --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE \
  --wait 10000 --node "${nodes[0]}"
echo "4 encryption keys posted"
par "$evote" trustee deal --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE \
  --wait 10000 --node "${nodes[0]}"
echo "4 dealings posted"
par "$evote" trustee check --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE \
  --wait 10000 --node "${nodes[1]}"
for i in 0 1 2 3; do echo "-- trustee $((i + 1)) checked the shares it received:"; sed 's/^/   /' par.$i.out; done
rm -f par.?.out

section 3 "$nvoters voters registered, then the polls open: the roll is frozen from then on ($(elapsed))"
rm -rf voters
echo "\$ evote voter keygen --count $nvoters --out-dir voters >roll.txt"
"$evote" voter keygen --count "$nvoters" --out-dir voters >roll.txt
echo "($nvoters key files voters/voter-NNNNNN.key, mode 0600; public keys in roll.txt)"
run voter register --key authority0.key "${G[@]}" --id "$id" --voters roll.txt --wait 20000 --node "${nodes[3]}"
run election open --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "${nodes[1]}"
"$evote" election show "$id" "${G[@]}" --node "${nodes[2]}" | sed -n '/^trustees/,$p'

section 4 "$nvoters encrypted ballots; $nrevotes revotes; a stranger refused ($(elapsed))"
options=(Ada Grace Edsger)
# voter v's first choice: options[(v*v + v/7) % 3]; the revoters (every
# (N/M)-th voter) then change to the next option: reproducible, not uniform
awk -v n="$nvoters" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = 1; v <= n; v++) printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7)) % 3 + 1] }' >votes.txt
step=$((nrevotes > 0 ? nvoters / nrevotes : 1))
awk -v n="$nvoters" -v m="$nrevotes" -v s="$step" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (k = 1; k <= m; k++) { v = k * s; printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7) + 1) % 3 + 1] } }' >revotes.txt
# On a local cluster, voters reach each validator over its encrypted client
# endpoint (client_curve_listen, as 'evote genesis' writes it): --node
# KEY@ENDPOINT, KEY the validator's CURVE key in the genesis. With
# EVOTE_NODES the endpoints given are used as they are.
vnodes=("${nodes[@]}")
for i in 0 1 2 3; do
  [ -z "${EVOTE_NODES:-}" ] || break
  curve=$(sed -n 's/^client_curve_listen *= *//p' "node$i/evoted.conf" 2>/dev/null || true)
  key=$(awk -v n="node$i" '$1 == "validator" && $2 == n { print $4 }' genesis.txt)
  case "$curve" in tcp://127.0.0.1:*) [ ${#key} = 40 ] && vnodes[$i]="$key@$curve" ;; esac
done
[ "${vnodes[0]}" != "${nodes[0]}" ] &&
  echo "   (voters connect over CURVE, e.g. --node '${vnodes[0]}': node0's key from the genesis)"
nodeargs=(--node "${vnodes[0]}" --node "${vnodes[1]}" --node "${vnodes[2]}" --node "${vnodes[3]}")
if [ $crash = 1 ]; then
  # The primary of the current view: kill it once the first ballots are in blocks.
  primary=$("$evote" status --node "${nodes[1]}" --json | sed -n 's/.*"primary":\([0-9]*\).*/\1/p')
  primary=${primary:-0}
  watch=${nodes[$(((primary + 1) % 4))]}
  h0=$("$evote" tip --node "$watch" | cut -d' ' -f1)
  (
    for _ in $(seq 1 1200); do
      h=$("$evote" tip --node "$watch" --timeout 500 2>/dev/null | cut -d' ' -f1)
      [ "${h:-0}" -ge $((h0 + 3)) ] && break
      sleep 0.02
    done
    kill -9 "$(cat node$primary/evoted.pid)"
    echo "   !! node$primary (the primary) killed with SIGKILL at height $h, while the ballots are cast"
  ) &
  killer=$!
  # Ballots sent to the dead node would be lost: send to the 3 others.
  nodeargs=()
  for i in 0 1 2 3; do [ $i = "$primary" ] || nodeargs+=(--node "${vnodes[$i]}"); done
fi
echo "\$ evote vote --voters votes.txt ${G[*]} --id $id --node ... --wait 60000 >codes.txt"
"$evote" vote --voters votes.txt "${G[@]}" --id "$id" "${nodeargs[@]}" --wait 60000 >codes.txt
if [ $crash = 1 ]; then
  wait "$killer" || true
  echo "-- the 3 remaining validators after the crash:"
  for i in 0 1 2 3; do
    [ $i = "$primary" ] && continue
    printf '   node%s: ' "$i"
    "$evote" status --node "${nodes[$i]}" --json |
      sed 's/.*"view":\([0-9]*\),"primary":\([0-9]*\),"height":\([0-9]*\).*"peers_connected":\([0-9]*\).*/view \1, primary node\2, height \3, \4 of 3 peers connected/'
  done
fi
paste -d' ' votes.txt codes.txt | sed -n '1,3s/^/   /p'
echo "   ... (voter key, choice, tracking code: $(wc -l <codes.txt) lines)"
if [ "$nrevotes" -gt 0 ]; then
  echo "-- $nrevotes voters vote again (the election allows revoting: the later ballot counts)"
  echo "\$ evote vote --voters revotes.txt ${G[*]} --id $id --node ... --wait 60000 >recodes.txt"
  "$evote" vote --voters revotes.txt "${G[@]}" --id "$id" "${nodeargs[@]}" --wait 60000 >recodes.txt
  v=$step
  old=$(sed -n "${v}p" codes.txt)
  echo "$old" >replaced.txt
  new=$(head -1 recodes.txt)
  echo "-- voter $v's first ballot is replaced, its second one counts:"
  ask=${nodes[2]}
  [ $crash = 1 ] && [ "$primary" = 2 ] && ask=${nodes[3]}
  run track "$old" "${G[@]}" --node "$ask" | tee track-old.txt | sed 's/^/   /'
  grep -q REPLACED track-old.txt || { echo "election-demo: the first ballot of voter $v is not REPLACED" >&2; exit 1; }
  grep -q '^replacement .*(checked)' track-old.txt ||
    { echo "election-demo: evote track did not prove voter $v's replacing ballot" >&2; exit 1; }
  run track "$new" "${G[@]}" --node "$ask" | tee track-new.txt | sed 's/^/   /'
  grep -q COUNTED track-new.txt || { echo "election-demo: the revote of voter $v does not count" >&2; exit 1; }
fi
echo "-- a key that is not on the roll"
"$evote" keygen --out stranger.key >/dev/null 2>&1 || true
ask=${nodes[1]}
[ $crash = 1 ] && [ "$primary" = 1 ] && ask=${nodes[2]}
if run vote --key stranger.key "${G[@]}" --id "$id" --choice Ada --wait 10000 --node "$ask"; then
  echo "election-demo: a ballot of an unregistered key was accepted" >&2; exit 1
fi
echo "   (--no-precheck sends it anyway: the validator refuses it, saying why:)"
if run vote --key stranger.key "${G[@]}" --id "$id" --choice Ada --no-precheck --wait 10000 --node "$ask" \
  >stranger.out 2>stranger.err; then
  cat stranger.out stranger.err
  echo "election-demo: the chain counted a ballot of an unregistered key" >&2; exit 1
fi
sed 's/^/   /' stranger.out stranger.err
"$evote" election show "$id" "${G[@]}" --node "$ask" | grep -E '^(vouched|voters|ballots)'

section 5 "the authority closes the polls; 3 of the 4 trustees decrypt the tally ($(elapsed))"
run election close --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "$ask"
decrypters=(0 2 3)
dpids=()
[ $crash = 1 ] && decrypters=($(for i in 0 1 2 3; do [ $i = "$primary" ] || echo $i; done))
for i in "${decrypters[@]}"; do
  n=${nodes[$i]}
  [ $crash = 1 ] && [ $i = "$primary" ] && n=$ask
  "$evote" trustee decrypt --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 20000 --node "$n" >decrypt.$i.out 2>&1 &
  dpids+=($!)
done
wait_rc=0
for p in "${dpids[@]}"; do wait "$p" || wait_rc=1; done
for i in "${decrypters[@]}"; do echo "-- trustee $((i + 1)):"; sed 's/^/   /' decrypt.$i.out; done
rm -f decrypt.?.out
[ $wait_rc = 0 ] || { echo "election-demo: a trustee's decryption failed" >&2; exit 1; }

section 6 "the result ($(elapsed))"
for _ in $(seq 1 100); do # the result is derived once the third share is committed
  "$evote" result "$id" --json --node "$ask" 2>/dev/null | grep -q '"Ada"' && break
  sleep 0.1
done
run result "$id" "${G[@]}" --node "$ask"   # shown once f+1 validators vouch for it
json=$("$evote" result "$id" "${G[@]}" --json --node "$ask")
# What the chain must say: each voter's last choice.
read -r -a expect < <(cat votes.txt revotes.txt | awk '{ last[$1] = $2 } END {
  for (k in last) c[last[k]]++; printf "%d %d %d\n", c["Ada"], c["Grace"], c["Edsger"] }')
for k in 0 1 2; do
  got=$(echo "$json" | sed -n "s/.*\"${options[$k]}\":\([0-9]*\).*/\1/p")
  if [ "$got" != "${expect[$k]}" ]; then
    echo "election-demo: ${options[$k]} got $got votes on the chain but ${expect[$k]} voters chose it last" >&2
    exit 1
  fi
done
echo "(checked: the counts are the last choices of the $nvoters voters: Ada ${expect[0]}, Grace ${expect[1]}, Edsger ${expect[2]})"
# Once the chain is quiet, the primary's empty block is a checkpoint that
# certifies every result up to the tip: the ballot's too.
code=$(sed -n 7p codes.txt)
for _ in $(seq 1 50); do
  "$evote" track "$code" "${G[@]}" --node "$ask" >track-7.txt 2>&1 && grep -q '^certified .*(checked)' track-7.txt && break
  sleep 0.2
done
# With revoting, "no later ballot replaced it" is each validator's signed
# word: asking two (f+1) validators makes it a proof.
ask2=
for i in 0 1 2 3; do
  [ "${nodes[$i]}" = "$ask" ] && continue
  [ $crash = 1 ] && [ "$i" = "$primary" ] && continue
  ask2=${nodes[$i]}
  break
done
echo "-- voter 7 checks that their ballot is in the chain and counts, with a proof of each claim:"
run track "$code" "${G[@]}" --node "$ask" --node "$ask2" | tee track-7.txt | sed 's/^/   /'
grep -q '^certified .*(checked)' track-7.txt ||
  { echo "election-demo: no checkpoint certifies voter 7's ballot 10 s after the result" >&2; exit 1; }
if [ "$nrevotes" -gt 0 ] && grep -q '^status *COUNTED' track-7.txt; then
  grep -q 'final and in the tally (checked)' track-7.txt ||
    { echo "election-demo: two validators' signed statements do not prove voter 7's ballot counted" >&2; exit 1; }
fi
echo
if [ "$step0" != 0 ]; then
  echo "== the election took $(elapsed)"
  exit 0
fi
echo "== the election took $(elapsed). Inspect it yourself: the chain stays in $dir;"
echo "   start its validators again (once stopped) with"
echo "   EVOTE_BIN=$bin $root/deploy/local-cluster.sh start 4 $dir"
echo "   $evote election show $id --genesis $dir/genesis.txt --node ${nodes[0]}"
echo "   $evote result $id --genesis $dir/genesis.txt --node ${nodes[0]}"
echo "   $evote track $(sed -n 7p codes.txt) --genesis $dir/genesis.txt --node ${nodes[0]} --node ${nodes[1]}"
echo "   (every tracking code: $dir/codes.txt and recodes.txt, line i = voter i of votes.txt / revotes.txt)"
echo "   EVOTE_BIN=$bin $root/deploy/local-cluster.sh stop $dir"
[ $running = 0 ] || echo "   (the validators are still running)"
