#!/usr/bin/env bash
# A complete election on a 4-validator local cluster, with the evote CLI only:
#   1. the authority defines the election (3 options, exactly one choice);
#      the 4 validators' keys are its trustees, threshold 3
#   2. key ceremony: each trustee publishes an encryption key, deals, checks
#      the shares it received; the authority opens the election
#   3. 20 fresh voter keys are registered; all 20 vote (encrypted ballots);
#      voter 1 tries a second time and the chain refuses it (ALREADY_VOTED)
#   4. the authority closes the polls; 3 of the 4 trustees decrypt
#   5. the result is printed, checked against the votes cast, and one ballot
#      is tracked (block, COUNTED, the commit certificate's signers)
#
# usage: deploy/election-demo.sh [DIR]
#   DIR             where keys, genesis, configs and chains go (default: a new
#                   directory under /tmp); an existing cluster there is reused
#   EVOTE_BIN       where evote and evoted are (default build/src, built if missing)
#   EVOTE_BASE_PORT peers listen on P..P+3, clients on P+100..P+103 (default 7300)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${EVOTE_BIN:-$root/build/src}
base=${EVOTE_BASE_PORT:-7300}
dir=${1:-$(mktemp -d /tmp/evote-election.XXXXXX)}
export EVOTE_BIN=$bin

if [ ! -x "$bin/evote" ] || [ ! -x "$bin/evoted" ]; then
  echo "== building evote and evoted in $root/build"
  cmake -S "$root" -B "$root/build" >/dev/null
  cmake --build "$root/build" -j"$(nproc 2>/dev/null || echo 2)" --target evote evoted >/dev/null
  bin=$root/build/src
  export EVOTE_BIN=$bin
fi
evote=$bin/evote

mkdir -p "$dir"
cd "$dir"
if [ ! -f genesis.txt ]; then
  "$evote" genesis --dir . --validators 4 --base-port "$base" >/dev/null
fi
trap '"$root/deploy/local-cluster.sh" stop "$dir" >/dev/null 2>&1 || true' EXIT
echo "== starting 4 validators in $dir (clients on ports $((base + 100))-$((base + 103)))"
"$root/deploy/local-cluster.sh" start 4 "$dir" >/dev/null

nodes=(tcp://127.0.0.1:$((base + 100)) tcp://127.0.0.1:$((base + 101)) tcp://127.0.0.1:$((base + 102)) tcp://127.0.0.1:$((base + 103)))
G=(--genesis genesis.txt)
id=city-$(date +%Y%m%d-%H%M%S)
for _ in $(seq 1 100); do # every validator answers and sees its 3 peers
  ok=1
  for n in "${nodes[@]}"; do
    p=$("$evote" status --node "$n" --timeout 500 --json 2>/dev/null | sed -n 's/.*"peers_connected":\([0-9]*\).*/\1/p')
    [ "${p:-0}" = 3 ] || ok=0
  done
  [ $ok = 1 ] && break
  sleep 0.1
done
run() { echo "\$ evote $*" | sed "s|$dir/||g"; "$evote" "$@"; }

echo
echo "== 1. the election: defined by an authority; the 4 validators' keys are the trustees"
trustees=$(for i in 0 1 2 3; do "$evote" pubkey --key node$i/validator.key; done | paste -sd, -)
run election create --key authority0.key "${G[@]}" --id "$id" --title "City council 2027" \
  --question "Mayor" --options "Ada,Grace,Edsger" \
  --open-height 1 --close-height 1000000 --trustees "$trustees" --threshold 3 \
  --wait 10000 --node "${nodes[0]}"

echo
echo "== 2. key ceremony (each trustee's secrets stay in its own 0700 directory)"
for i in 0 1 2 3; do
  "$evote" trustee init --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 10000 --node "${nodes[$i]}" >/dev/null
done
echo "4 encryption keys posted"
for i in 0 1 2 3; do
  "$evote" trustee deal --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 10000 --node "${nodes[$i]}" >/dev/null
done
echo "4 dealings posted"
for i in 0 1 2 3; do
  echo "-- trustee $((i + 1)) checks the shares it received"
  "$evote" trustee check --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 10000 --node "${nodes[$i]}"
done
run election open --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "${nodes[1]}"
"$evote" election show "$id" --node "${nodes[2]}" | sed -n '/^trustees/,$p'

echo
echo "== 3. 20 voters registered, 20 encrypted ballots, one double vote refused"
mkdir -p voters
: >voters.txt
for v in $(seq 1 20); do
  [ -f voters/v$v.key ] || "$evote" keygen --out voters/v$v.key >/dev/null
  "$evote" pubkey --key voters/v$v.key >>voters.txt
done
run register --key authority0.key "${G[@]}" --id "$id" --voters voters.txt --wait 10000 --node "${nodes[3]}"
options=(Ada Grace Edsger)
choices=(0 1 1 2 0 1 1 0 2 1 1 0 1 2 1 0 1 1 2 1) # voter v chooses options[choices[v-1]]
expect=(0 0 0)
: >codes.txt
for v in $(seq 1 20); do
  c=${choices[$((v - 1))]}
  expect[$c]=$((expect[$c] + 1))
  code=$("$evote" vote --key voters/v$v.key "${G[@]}" --id "$id" --choice "${options[$c]}" \
    --node "${nodes[$((v % 4))]}" 2>/dev/null | head -1)
  echo "$code" >>codes.txt
  echo "voter $(printf %2d "$v") cast a ballot at validator $((v % 4)), tracking code $code"
done
last=$(tail -1 codes.txt)
"$evote" tx "$last" --wait 10000 --node "${nodes[0]}" >/dev/null
first=$(head -1 codes.txt)
"$evote" tx "$first" --wait 10000 --node "${nodes[0]}" >/dev/null
echo "-- voter 1 votes again (the client would refuse; --no-precheck lets the chain decide)"
if run vote --key voters/v1.key "${G[@]}" --id "$id" --choice Edsger --no-precheck --wait 10000 \
  --node "${nodes[2]}"; then
  echo "election-demo: the chain accepted a second ballot of voter 1" >&2
  exit 1
fi
"$evote" election show "$id" --node "${nodes[0]}" | grep -E '^(voters|ballots)'

echo
echo "== 4. the authority closes the polls; 3 of the 4 trustees decrypt the tally"
run election close --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "${nodes[0]}"
for i in 0 2 3; do
  "$evote" trustee decrypt --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 10000 --node "${nodes[$i]}"
done

echo
echo "== 5. the result (from validator 1), and one ballot tracked (validator 3)"
run result "$id" --node "${nodes[1]}"
json=$("$evote" result "$id" --json --node "${nodes[2]}")
for k in 0 1 2; do
  got=$(echo "$json" | sed -n "s/.*\"${options[$k]}\":\([0-9]*\).*/\1/p")
  if [ "$got" != "${expect[$k]}" ]; then
    echo "election-demo: ${options[$k]} got $got votes on the chain but ${expect[$k]} were cast" >&2
    exit 1
  fi
done
echo "(checked: the counts are the votes cast: Ada ${expect[0]}, Grace ${expect[1]}, Edsger ${expect[2]})"
echo
run track "$(sed -n 7p codes.txt)" "${G[@]}" --node "${nodes[3]}"
echo
echo "Inspect it yourself (the cluster is stopped when this script ends; start it again with"
echo "  deploy/local-cluster.sh start 4 $dir):"
echo "  $evote election show $id --node ${nodes[0]}"
echo "  $evote result $id --node ${nodes[0]}"
echo "  $evote track CODE --genesis $dir/genesis.txt --node ${nodes[0]}   (codes in $dir/codes.txt)"
