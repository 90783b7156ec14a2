#!/usr/bin/env bash
# cluster_netns: the docker-compose topology without Docker. 4 validators,
# each in its own network namespace, on a bridge in a hub namespace, with
# the configs deploy/gen-cluster.sh makes for docker-compose (one host per
# validator, peers on :7100, clients on :7200), here with the hosts
# 10.77.0.11-14. Everything lives in namespaces this run creates (named
# evn<pid>-*): the host's own interfaces, routes and firewall are never
# touched, and no packet leaves the namespaces. Needs root, ip (iproute2),
# nft (nftables) and tc; fails, never skips, when they are missing.
#
# Validator D=1's link is delayed throughout by tests/cluster/netrelay (this
# kernel has no netem): its genesis endpoint is the relay's address
# (10.77.0.20:7100, relayed to node1), and its own connections to the others
# are redirected to the relay by a DNAT rule in its namespace, so every
# byte to and from node1 is held 40 +- 20 ms (seeded: EVOTE_NETNS_SEED=S
# replays the relay's delays). In turn, each time submitting notices and
# checking they commit with all four chains at the same tip:
#   1. no fault (the delayed link only);
#   2. a backup's link cut (veth down on the bridge) until its ZeroMQ
#      heartbeats give its peers up: the other three commit, the cut node
#      does not; healed, with notices still coming, it catches up;
#   3. partition {0,1} | {2,3} (nft on the bridge): nothing commits on
#      either side for 5 s, notices submitted to both sides wait; healed,
#      they all commit and all four agree;
#   4. 10% of the frames on the bridge dropped (nft numgen): commits go on;
#   5. every link limited to 8 Mbit/s (tc tbf) under 100 kB of notices;
#   6. at the end, blocks 1..H identical on all four (hash, links, txs),
#      no ERROR logged, no sanitizer report (validators and relay).
#   bash netns.sh EVOTED EVOTE CLUSTER_TOOL NETRELAY
source "$(dirname "$0")/lib.sh" "$@"
NETRELAY=${4:?usage: $0 EVOTED EVOTE CLUSTER_TOOL NETRELAY}
[ -x "$NETRELAY" ] || { echo "FAIL: $NETRELAY is not an executable (build it first)"; exit 1; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T_NAME=netns

# ------------------------------------------------------------ preconditions
# Namespaces need root and iproute2; the faults need nft and tc. A machine
# without them fails the test with what to do: CI runs it as root.
[ "$(id -u)" = 0 ] ||
  { echo "FAIL: netns.sh needs root (it creates network namespaces, veths, a bridge, nft rules); run the tests as root"; exit 1; }
for cmd in ip:iproute2 tc:iproute2 nft:nftables; do
  command -v "${cmd%%:*}" > /dev/null ||
    { echo "FAIL: '${cmd%%:*}' not found: install the Debian package '${cmd##*:}' (./deploy/install-deps.sh)"; exit 1; }
done

N=4
D=1                       # the validator whose link goes through the relay
PFX=evn$$                 # namespace names: unique per live run
HUB=$PFX-hub
RELAY_NS=$PFX-relay
RELAY_IP=10.77.0.20
node_ip() { echo "10.77.0.$((11 + $1))"; }
ep() { echo "tcp://127.0.0.1:7200"; } # node I's client API, inside its namespace
declare -a CREATED_NS=()
SEED=${EVOTE_NETNS_SEED:-$(( ($$ * 2654435761 + $(date +%s)) % 1000000007 ))}

# Namespaces of earlier runs that were SIGKILLed (their trap never ran):
# evn<pid>-* whose pid is gone. Those of a live run are left alone.
remove_stale_namespaces() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^evn[0-9]+-' || true); do
    pid=${ns#evn}
    pid=${pid%%-*}
    if [ "$pid" = $$ ] || ! kill -0 "$pid" 2>/dev/null; then
      ip netns del "$ns" 2>/dev/null && echo "removed stale namespace $ns (its test is gone)"
    fi
  done
}

# Run by lib.sh's on_exit once every process is dead: deleting a namespace
# deletes what is in it (veths, bridge, nft tables, qdiscs).
cleanup_hook() {
  local ns left
  for ns in "${CREATED_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  left=$(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$PFX-" || true)
  [ -z "$left" ] || echo "netns: could not remove namespaces: $left (remove with: ip netns del NAME)"
}

add_ns() { # NAME
  ip netns add "$1" || fail "cannot create network namespace $1 (ip netns add): does this kernel allow network namespaces?"
  CREATED_NS+=("$1")
  ip -n "$1" link set lo up || fail "cannot bring lo up in $1"
}

# attach NS IFNAME_ON_HUB IP: a veth from the bridge to NS (eth0 there).
attach() {
  local ns=$1 hubif=$2 ip=$3
  ip -n "$HUB" link add "$hubif" type veth peer name eth0 netns "$ns" &&
    ip -n "$HUB" link set "$hubif" master br0 up &&
    ip -n "$ns" addr add "$ip/24" dev eth0 &&
    ip -n "$ns" link set eth0 up ||
    fail "cannot attach $ns to the bridge ($hubif, $ip)"
}

network_up() {
  local i
  add_ns "$HUB"
  ip -n "$HUB" link add br0 type bridge && ip -n "$HUB" link set br0 up || fail "cannot create the bridge in $HUB"
  for ((i = 0; i < N; i++)); do
    add_ns "$PFX-n$i"
    NODE_NS[$i]=$PFX-n$i
    attach "$PFX-n$i" "v$i" "$(node_ip "$i")"
  done
  add_ns "$RELAY_NS"
  attach "$RELAY_NS" vr "$RELAY_IP"
}

# ------------------------------------------------------------ configs
trap on_exit EXIT
trap 'exit 1' INT TERM
DIR=$(mktemp -d "${TMPDIR:-/tmp}/evote-netns.XXXXXX")
remove_stale_namespaces
log "dir $DIR, namespaces $PFX-*, time scale $SCALE, relay seed $SEED"
network_up
log "network up: hub bridge, node0..3 at $(node_ip 0)..$(node_ip 3), relay at $RELAY_IP"

# The generated configs of the compose deployment; validator D's genesis
# endpoint is the relay.
hosts=
for ((i = 0; i < N; i++)); do
  if [ $i = $D ]; then h=$RELAY_IP; else h=$(node_ip "$i"); fi
  hosts=${hosts:+$hosts,}$h
done
EVOTE_BIN=$(dirname "$EVOTE") "$ROOT/deploy/gen-cluster.sh" "$DIR/c" --hosts "$hosts" > "$DIR/gen.out" 2>&1 ||
  { cat "$DIR/gen.out"; fail "deploy/gen-cluster.sh failed"; }
GENESIS=$DIR/c/genesis.txt
AUTH_KEY=$DIR/c/authority0.key
grep -q "tcp://$RELAY_IP:7100\$" "$GENESIS" || fail "the genesis does not give node$D the relay's endpoint"
if [ "$SCALE" -gt 1 ]; then # as lib.sh's cluster_init: patient validators under a sanitizer
  for conf in "$DIR"/c/node*/evoted.conf; do echo "view_change_timeout_ms = $((1000 * SCALE))" >> "$conf"; done
fi

# ------------------------------------------------------------ the relay
# Others -> node D: the genesis endpoint (relay :7100). Node D -> node X:
# DNAT in D's namespace from X:7100 to relay :7110+X.
routes=(--route "$RELAY_IP:7100=$(node_ip $D):7100")
dnat=
for ((i = 0; i < N; i++)); do
  [ $i = $D ] && continue
  routes+=(--route "$RELAY_IP:$((7110 + i))=$(node_ip "$i"):7100")
  dnat+="    ip daddr $(node_ip "$i") tcp dport 7100 dnat to $RELAY_IP:$((7110 + i))"$'\n'
done
ip netns exec "$RELAY_NS" "$NETRELAY" "${routes[@]}" --delay-ms 40 --jitter-ms 20 --seed "$SEED" \
  > "$DIR/relay.out" 2> "$DIR/relay.log" < /dev/null &
RELAY_PID=$!
BG_PIDS+=("$RELAY_PID")
relay_ready() { grep -q '^netrelay: ready' "$DIR/relay.out"; }
wait_until 10 "the relay to listen" relay_ready
printf 'table ip relay {\n  chain out {\n    type nat hook output priority -100;\n%s  }\n}\n' "$dnat" |
  ip netns exec "${NODE_NS[$D]}" nft -f - || fail "cannot add the DNAT rules in node$D's namespace"

# relay_stat KEY: from the totals the relay prints on SIGUSR1.
relay_stat() {
  local before
  before=$(grep -c 'netrelay: stats' "$DIR/relay.log")
  kill -USR1 "$RELAY_PID" 2>/dev/null || fail "the relay died: $(tail -3 "$DIR/relay.log")"
  stats_printed() { [ "$(grep -c 'netrelay: stats' "$DIR/relay.log")" -gt "$before" ]; }
  wait_until 5 "the relay's stats" stats_printed
  grep 'netrelay: stats' "$DIR/relay.log" | tail -1 | sed -n "s/.* $1 \([0-9]*\).*/\1/p"
}

# ------------------------------------------------------------ checks
start_all
wait_ready
log "4 validators up in their namespaces, all connected (node$D through the relay)"

max_height() { # NODES...
  local i h m=0
  for i in "$@"; do
    h=$(height_of "$i")
    [ -n "$h" ] && [ "$h" -gt "$m" ] && m=$h
  done
  echo "$m"
}

# batch NAME NODE COUNT [TEXT_BYTES]: COUNT notices submitted to NODE at once;
# their ids in $DIR/NAME.ids.
batch() {
  local name=$1 node=$2 count=$3 bytes=${4:-100}
  in_node "$node" "$TOOL" flood --node "$(ep "$node")" --genesis "$GENESIS" --authority "$AUTH_KEY" \
    --count "$count" --text-bytes "$bytes" --timeout $((30000 * SCALE)) > "$DIR/$name.ids" 2> "$DIR/$name.err" ||
    { cat "$DIR/$name.err"; fail "$name: node$node did not answer every submission" "$node"; }
  [ "$(wc -l < "$DIR/$name.ids")" = "$count" ] ||
    fail "$name: node$node accepted only $(wc -l < "$DIR/$name.ids") of $count notices: $(cat "$DIR/$name.err")" "$node"
}

# txs_state NAME NODE: "ID STATE HEIGHT INDEX RESULT" per id, in $DIR/NAME.txs.NODE.
txs_state() {
  in_node "$2" "$TOOL" txs --node "$(ep "$2")" --wait 0 --timeout $((5000 * SCALE)) \
    < "$DIR/$1.ids" > "$DIR/$1.txs.$2" 2> "$DIR/$1.txs.$2.err"
}

# All of batch NAME committed on every listed node, at the same heights.
committed_on() { # NAME NODES...
  local name=$1 i first=
  shift
  for i in "$@"; do
    txs_state "$name" "$i" || return 1
    NOT_NODE=$i
    [ "$(awk '$2 != "committed"' "$DIR/$name.txs.$i" | wc -l)" = 0 ] || return 1
    if [ -z "$first" ]; then
      first=$i
    elif ! cmp -s <(awk '{ print $1, $3, $4 }' "$DIR/$name.txs.$first") <(awk '{ print $1, $3, $4 }' "$DIR/$name.txs.$i"); then
      fail "$name: node$first and node$i committed the same notices at different places" "$i"
    fi
  done
}

# None of batch NAME committed on the listed nodes.
committed_nowhere() { # NAME NODES...
  local name=$1 i
  shift
  for i in "$@"; do
    txs_state "$name" "$i" || fail "$name: node$i does not answer" "$i"
    ! grep -q ' committed ' "$DIR/$name.txs.$i" ||
      fail "$name: node$i committed $(grep -c ' committed ' "$DIR/$name.txs.$i") notices it should not have" "$i"
  done
}

wait_committed() { # SECONDS NAME NODES...
  local secs=$1 name=$2
  shift 2
  NOT_NODE=
  wait_until "$secs" "batch $name committed on nodes $*" committed_on "$name" "$@"
}

# All four at one tip at least as high as any of them now.
agree() { # WHAT
  MIN_HEIGHT=$(max_height 0 1 2 3)
  wait_until 30 "$1: all 4 nodes at the same tip (height >= $MIN_HEIGHT)" all_same_tip 0 1 2 3
  log "$1: all 4 at height ${SAME_TIP%% *}, tip ${SAME_TIP#* }"
}

# nft_counter NS TABLE: packets counted by the table's rules.
nft_counter() {
  ip netns exec "$1" nft list table bridge "$2" | awk '{ for (k = 1; k < NF; k++) if ($k == "packets") s += $(k + 1) } END { print s + 0 }'
}

others() { # I: every node but I
  local k
  for ((k = 0; k < N; k++)); do [ "$k" = "$1" ] || printf '%s ' "$k"; done
}

# ------------------------------------------------- 1. the delayed link only
batch b1 0 40
wait_committed 30 b1 0 1 2 3
agree "no fault"
[ "$(relay_stat bytes)" -gt 0 ] || fail "nothing went through the relay: node$D's link is not the delayed one"
log "relay: $(grep 'netrelay: stats' "$DIR/relay.log" | tail -1 | sed 's/netrelay: stats //')"

# ------------------------------------------------- 2. cut a link
# A backup's (neither the primary nor the relayed node1), by default;
# EVOTE_NETNS_CUT=primary cuts the primary's instead (the other three
# change view while it is away).
wait_until 20 "all 4 nodes in one view" same_view 0 1 2 3
P=$(st_field 0 primary)
[ -n "$P" ] || fail "node0 does not answer status" 0
case "${EVOTE_NETNS_CUT:-backup}" in
  primary) C=$P ;;
  backup) for C in 3 2 0; do [ "$C" != "$P" ] && [ "$C" != $D ] && break; done ;;
  *) fail "EVOTE_NETNS_CUT must be backup or primary" ;;
esac
SURV=($(others "$C"))
ip -n "$HUB" link set "v$C" down || fail "cannot cut node$C's link"
T_CUT=$(now_ms)
log "cut node$C's link (the primary of view $SAME_VIEW is node$P)"
batch b2 "${SURV[0]}" 40
wait_committed 60 b2 "${SURV[@]}"
committed_nowhere b2 "$C"
# Long enough for the connections to die (ZeroMQ heartbeats, 3 s), not
# just for TCP to retransmit: what was sent meanwhile is lost.
# EVOTE_NETNS_CUT_MS=T instead heals T ms after the cut, whatever happened.
peers_gone() { [ "$(st_field "$1" peers_connected)" = 0 ]; }
if [ -n "${EVOTE_NETNS_CUT_MS:-}" ]; then
  [[ "$EVOTE_NETNS_CUT_MS" =~ ^[0-9]+$ ]] || fail "EVOTE_NETNS_CUT_MS must be a number of milliseconds"
  while [ "$(now_ms)" -lt $((T_CUT + EVOTE_NETNS_CUT_MS)) ]; do sleep 0.05; done
  log "cut: the other three committed batch b2, node$C did not"
else
  WAIT_NODE=$C wait_until 30 "node$C to see its peers gone" peers_gone "$C"
  log "cut: the other three committed batch b2, node$C did not and lost its peers"
fi
ip -n "$HUB" link set "v$C" up || fail "cannot heal node$C's link"
log "healed node$C's link"
# An idle cluster sends nothing the healed node could learn its lag from
# (it stays behind, and after a view change in the old view, until the
# others send something): keep the notices coming, as an election would.
batch b2h "${SURV[1]}" 20
wait_committed 60 b2h 0 1 2 3
wait_committed 30 b2 "$C"
WAIT_NODE=$C wait_until 30 "node$C to reconnect to all peers" node_ready "$C"
agree "after the cut"

# ------------------------------------------------- 3. partition 2|2
# The relay carries node1's traffic: it is on node1's side.
nft_part() { # the rules of a 2|2 partition of the bridge
  cat << EOF
table bridge part {
  chain drops {
    type filter hook forward priority 0;
    iifname { "v0", "v1", "vr" } oifname { "v2", "v3" } counter drop
    iifname { "v2", "v3" } oifname { "v0", "v1", "vr" } counter drop
  }
}
EOF
}
nft_part | ip netns exec "$HUB" nft -f - || fail "cannot partition the bridge (nft)"
log "partitioned {0,1} | {2,3}"
# Blocks that had their quorum before the cut may still reach a node of the
# same side (state transfer): let them, then take the highest height.
sleep $((2 * SCALE))
HP=$(max_height 0 1 2 3)
batch b3a 0 20
batch b3b 3 20
# No quorum on either side: nothing may commit. (Absence of progress can
# only be watched for a while.)
sleep 5
h=$(max_height 0 1 2 3)
[ "$h" = "$HP" ] || fail "a block committed during the 2|2 partition (height $HP -> $h): no side has a quorum"
committed_nowhere b3a 0 1 2 3
committed_nowhere b3b 0 1 2 3
[ "$(nft_counter "$HUB" part)" -gt 0 ] || fail "the partition dropped nothing: the rules are not on the path"
log "partition: 5 s without a commit at height $HP, $(nft_counter "$HUB" part) frames dropped, 40 notices waiting"
ip netns exec "$HUB" nft delete table bridge part || fail "cannot heal the partition"
log "healed the partition"
wait_committed 90 b3a 0 1 2 3
wait_committed 30 b3b 0 1 2 3
agree "after the partition"

# ------------------------------------------------- 4. 10% loss
printf 'table bridge loss {\n  chain drops {\n    type filter hook forward priority 0;\n    numgen random mod 100 < 10 counter drop\n  }\n}\n' |
  ip netns exec "$HUB" nft -f - || fail "cannot add the packet-loss rule (nft numgen)"
log "dropping 10% of the frames on the bridge"
batch b4 2 60
wait_committed 90 b4 0 1 2 3
agree "under 10% loss"
LOST=$(nft_counter "$HUB" loss)
[ "$LOST" -gt 0 ] || fail "the loss rule dropped nothing"
ip netns exec "$HUB" nft delete table bridge loss || fail "cannot remove the packet-loss rule"
log "loss: $LOST frames dropped; rule removed"

# ------------------------------------------------- 5. bandwidth
# EVOTE_NETNS_RATE (tc units, default 8mbit) and EVOTE_NETNS_KB (kB of
# notices, default 100) change the pressure. (At 2mbit with 200 kB a block
# takes longer to cross the links than the base view-change timeout; the
# view timer grows to fit instead of changing view over and over: the step
# passes in about 15 s.)
RATE=${EVOTE_NETNS_RATE:-8mbit}
KB=${EVOTE_NETNS_KB:-100}
for ((i = 0; i < N; i++)); do
  ip netns exec "${NODE_NS[$i]}" tc qdisc add dev eth0 root tbf rate "$RATE" burst 16kb latency 500ms ||
    fail "cannot limit node$i's link (tc tbf rate $RATE)"
done
log "every validator's outgoing link limited to $RATE"
batch b5 3 100 $((KB * 10))
wait_committed 90 b5 0 1 2 3
agree "at $RATE"
over=0
for ((i = 0; i < N; i++)); do
  s=$(ip netns exec "${NODE_NS[$i]}" tc -s qdisc show dev eth0)
  sent=$(echo "$s" | sed -n 's/.*Sent \([0-9]*\) bytes.*/\1/p' | head -1)
  [ "${sent:-0}" -gt 0 ] || fail "node$i's tbf qdisc sent nothing: it is not on the path" "$i"
  o=$(echo "$s" | sed -n 's/.*overlimits \([0-9]*\).*/\1/p' | head -1)
  over=$((over + ${o:-0}))
  ip netns exec "${NODE_NS[$i]}" tc qdisc del dev eth0 root || fail "cannot remove node$i's tbf qdisc"
done
[ "$over" -gt 0 ] || fail "the $RATE limit never held a packet back: the load did not exercise it"
log "bandwidth: the limit held packets back $over times; qdiscs removed"

# ------------------------------------------------- 6. the end
batch b6 "$D" 20
wait_committed 30 b6 0 1 2 3
agree "all faults healed"
H=${SAME_TIP%% *}
compare_chains "$H" 0 1 2 3
log "blocks 1..$H identical on all 4"
log "relay: $(relay_stat bytes) bytes in $(relay_stat connections) connections, mean delay $(relay_stat mean_delay_ms) ms"
no_errors_logged
# The relay stops cleanly on SIGTERM (a sanitizer build reports leaks then).
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"
rc=$?
BG_PIDS=()
if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$DIR/relay.log"; then
  grep -E -A5 'Sanitizer|runtime error:' "$DIR/relay.log" | head -20
  fail "the relay reported a sanitizer error"
fi
[ $rc = 0 ] || fail "the relay exited with status $rc on SIGTERM: $(tail -3 "$DIR/relay.log")"
pass
