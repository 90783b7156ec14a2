# Shared by the cluster tests (sourced, not run). A test script does:
#
#   source "$(dirname "$0")/lib.sh" "$@"     # args: EVOTED EVOTE CLUSTER_TOOL
#   cluster_init NAME 4                      # temp dir, free port range, genesis
#   start_all; wait_ready
#   ... checks; each failure calls fail "what went wrong" [NODE]
#   pass
#
# Everything that waits polls with a deadline; nothing sleeps to let time
# pass for synchronisation. On exit, passing or failing, every evoted and
# background job the test started is killed (by its own pid) and the
# temporary directory removed (kept when the test fails or
# EVOTE_CLUSTER_KEEP=1). On failure the failing node's last 30 log lines
# (or every node's, when no node is to blame) are printed. A test whose
# nodes live in network namespaces (netns.sh) sets NODE_NS[i], and every
# command addressed to node i runs there (in_node); it defines
# cleanup_hook, which on_exit calls once every process is dead.
set -uo pipefail

EVOTED=${1:?usage: $0 EVOTED EVOTE CLUSTER_TOOL}
EVOTE=${2:?usage: $0 EVOTED EVOTE CLUSTER_TOOL}
TOOL=${3:?usage: $0 EVOTED EVOTE CLUSTER_TOOL}
for b in "$EVOTED" "$EVOTE" "$TOOL"; do
  [ -x "$b" ] || { echo "FAIL: $b is not an executable (build it first)"; exit 1; }
done

# Every deadline and client timeout is multiplied by SCALE: 1, or 4 when the
# daemon is built with a sanitizer (several times slower); set
# EVOTE_CLUSTER_TIME_SCALE to override (e.g. on a heavily loaded machine).
if [ -n "${EVOTE_CLUSTER_TIME_SCALE:-}" ]; then
  SCALE=$EVOTE_CLUSTER_TIME_SCALE
elif ldd "$EVOTED" 2>/dev/null | grep -qE 'lib(a|t|ub)san'; then
  SCALE=4
else
  SCALE=1
fi
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || { echo "FAIL: EVOTE_CLUSTER_TIME_SCALE must be a positive integer"; exit 1; }

T_NAME=cluster
T_START=$(date +%s.%N)
DIR=
N=0
BASE=
PORT_LOCK=
declare -a PIDS=()      # PIDS[i]: pid of node i's evoted ("" when not running)
declare -a BG_PIDS=()   # background jobs of the test itself
declare -a NODE_NS=()   # NODE_NS[i]: network namespace node i runs in (netns.sh); unset: this one
FAILED=1                # until pass() says otherwise

log() { printf '[%s %6.1fs] %s\n' "$T_NAME" "$(awk -v a="$(date +%s.%N)" -v b="$T_START" 'BEGIN { print a - b }')" "$*"; }

# ------------------------------------------------------------ ports & dirs

# Ports the machine listens on now (decimal), from /proc/net/tcp{,6}.
listening_ports() {
  local sl local_addr rest
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r sl local_addr _ st rest; do
    [ "$st" = 0A ] && echo $((16#${local_addr##*:}))
  done | sort -u
}

# Picks BASE so that BASE..BASE+N-1 (peers), BASE+100..BASE+100+N-1
# (clients) and BASE+200..BASE+200+N-1 (HTTP: /healthz, /metrics) are free,
# starting from a slot derived from the pid and the test name, and reserves
# it with an atomic mkdir under /tmp (a stale reservation of a dead test is
# taken over). Slots are 300 ports apart; ports stay below 32768, the start
# of the kernel's ephemeral range.
pick_ports() {
  local n=$1 slot start k lockroot=/tmp/evote-cluster-ports used p ok
  mkdir -p "$lockroot"
  start=$(( ($$ + $(printf '%s' "$T_NAME" | cksum | cut -d' ' -f1)) % 40 ))
  used=" $(listening_ports | tr '\n' ' ') "
  for k in $(seq 0 39); do
    slot=$(( (start + k) % 40 ))
    BASE=$(( 20000 + slot * 300 ))
    ok=1
    for p in $(seq "$BASE" $((BASE + n - 1))) $(seq $((BASE + 50)) $((BASE + 50 + n - 1))) \
             $(seq $((BASE + 100)) $((BASE + 100 + n - 1))) $(seq $((BASE + 200)) $((BASE + 200 + n - 1))); do
      case "$used" in *" $p "*) ok=0; break ;; esac
    done
    [ $ok = 1 ] || continue
    if mkdir "$lockroot/$BASE" 2>/dev/null; then
      echo $$ > "$lockroot/$BASE/pid"
      PORT_LOCK=$lockroot/$BASE
      return 0
    fi
    # Held: take it over if its owner is gone.
    local owner
    owner=$(cat "$lockroot/$BASE/pid" 2>/dev/null || true)
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
      echo $$ > "$lockroot/$BASE/pid"
      PORT_LOCK=$lockroot/$BASE
      return 0
    fi
  done
  echo "FAIL: no free port range found for the cluster"
  exit 1
}

# cluster_init NAME N: temp dir, ports, genesis, keys, configs.
cluster_init() {
  T_NAME=$1
  N=$2
  trap on_exit EXIT
  trap 'exit 1' INT TERM
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/evote-$T_NAME.XXXXXX")
  pick_ports "$N"
  log "dir $DIR, peer ports $BASE.., CURVE client ports $((BASE + 50)).., client ports $((BASE + 100)).., HTTP ports $((BASE + 200)).., time scale $SCALE"
  "$EVOTE" genesis --dir "$DIR/c" --validators "$N" --base-port "$BASE" --authorities 2 > "$DIR/genesis.out" 2>&1 ||
    { cat "$DIR/genesis.out"; fail "evote genesis failed"; }
  GENESIS=$DIR/c/genesis.txt
  # GENESIS_EXTRA: lines appended to the genesis before any node starts
  # (e.g. "checkpoint_interval 8"); every node reads the same file.
  if [ -n "${GENESIS_EXTRA:-}" ]; then
    printf '%s\n' "$GENESIS_EXTRA" >> "$GENESIS"
  fi
  AUTH_KEY=$DIR/c/authority0.key
  AUTH2_KEY=$DIR/c/authority1.key # a second authority: not the creator of AUTH_KEY's elections
  # A slow build (sanitizers) or machine gets proportionally patient
  # validators too, or a replica catching up times out its primary alone.
  if [ "$SCALE" -gt 1 ]; then
    local conf
    for conf in "$DIR"/c/node*/evoted.conf; do
      echo "view_change_timeout_ms = $((1000 * SCALE))" >> "$conf"
    done
  fi
}

# ------------------------------------------------------------ exit & fail

dump_log() { # NODE [LINES]
  local f=$DIR/c/node$1/evoted.log
  echo "----- node$1: last ${2:-30} lines of $f -----"
  [ -f "$f" ] && tail -n "${2:-30}" "$f"
}

FAIL_NODE=
fail() { # MESSAGE [NODE]
  FAIL_NODE=${2:-}
  log "FAIL: $1"
  exit 1
}

on_exit() {
  local rc=$? i
  trap - EXIT
  for p in "${BG_PIDS[@]}"; do
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
  done
  # Validators: SIGCONT first (a stopped one cannot die of SIGTERM), then
  # SIGKILL: the test is over, nothing to flush.
  for i in "${!PIDS[@]}"; do
    [ -n "${PIDS[$i]}" ] && kill -CONT "${PIDS[$i]}" 2>/dev/null && kill -KILL "${PIDS[$i]}" 2>/dev/null
  done
  for i in "${!PIDS[@]}"; do
    [ -n "${PIDS[$i]}" ] && wait "${PIDS[$i]}" 2>/dev/null
  done
  for p in "${BG_PIDS[@]}"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null
  done
  # A test that set up more than processes (netns.sh: namespaces, links,
  # firewall rules) removes it here, once nothing runs in it any more.
  if declare -F cleanup_hook > /dev/null; then cleanup_hook; fi
  if [ "$FAILED" = 1 ] || [ $rc != 0 ]; then
    if [ -n "$DIR" ] && [ -d "$DIR/c" ]; then
      if [ -n "$FAIL_NODE" ]; then
        dump_log "$FAIL_NODE" 30
      else
        for ((i = 0; i < N; i++)); do dump_log "$i" 30; done
      fi
      log "kept $DIR for a post-mortem"
    fi
    [ -n "$PORT_LOCK" ] && rm -rf "$PORT_LOCK"
    [ $rc = 0 ] && rc=1
    exit $rc
  fi
  [ -n "$PORT_LOCK" ] && rm -rf "$PORT_LOCK"
  if [ -n "$DIR" ] && [ "${EVOTE_CLUSTER_KEEP:-0}" != 1 ]; then rm -rf "$DIR"; fi
  exit 0
}

pass() {
  local i
  # A sanitizer build reports into the logs (stderr): any report fails.
  for ((i = 0; i < N; i++)); do
    if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$DIR/c/node$i/evoted.log"; then
      grep -E -A5 'Sanitizer|runtime error:' "$DIR/c/node$i/evoted.log" | head -20
      fail "node$i reported a sanitizer error" "$i"
    fi
  done
  FAILED=0
  log "PASS"
  exit 0
}

# -------------------------------------------------------------- processes

ep() { echo "tcp://127.0.0.1:$((BASE + 100 + $1))"; }
http_port() { echo $((BASE + 200 + $1)); }        # node I's /healthz and /metrics
http_url() { echo "http://127.0.0.1:$((BASE + 200 + $1))"; }

# in_node I CMD...: runs CMD where node I is reachable on ep I: in node I's
# network namespace when NODE_NS[I] is set, else here.
in_node() {
  local i=$1
  shift
  if [ -n "${NODE_NS[$i]:-}" ]; then
    ip netns exec "${NODE_NS[$i]}" "$@"
  else
    "$@"
  fi
}

start_node() { # I [extra evoted args...]
  local i=$1
  shift
  echo "### test: starting node$i" >> "$DIR/c/node$i/evoted.log"
  # Not through in_node: $! must be evoted's own pid (ip netns exec execs it).
  if [ -n "${NODE_NS[$i]:-}" ]; then
    ip netns exec "${NODE_NS[$i]}" "$EVOTED" --config "$DIR/c/node$i/evoted.conf" "$@" \
      >> "$DIR/c/node$i/evoted.log" 2>&1 < /dev/null &
  else
    "$EVOTED" --config "$DIR/c/node$i/evoted.conf" "$@" >> "$DIR/c/node$i/evoted.log" 2>&1 < /dev/null &
  fi
  PIDS[$i]=$!
}

start_all() {
  local i
  for ((i = 0; i < N; i++)); do start_node "$i" "$@"; done
}

alive() { [ -n "${PIDS[$1]:-}" ] && kill -0 "${PIDS[$1]}" 2>/dev/null; }

# SIGKILL node I and reap it.
kill_node() {
  local i=$1
  [ -n "${PIDS[$i]:-}" ] || return 0
  echo "### test: SIGKILL node$i" >> "$DIR/c/node$i/evoted.log"
  kill -KILL "${PIDS[$i]}" 2>/dev/null
  wait "${PIDS[$i]}" 2>/dev/null
  PIDS[$i]=
}

# ---------------------------------------------------------------- queries

# status_json I: one line of JSON, or nothing when the node does not answer.
status_json() { in_node "$1" "$EVOTE" status --node "$(ep "$1")" --json --timeout "${2:-$((1000 * SCALE))}" 2>/dev/null; }

json_num() { # KEY < JSON
  sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"
}
json_str() { # KEY < JSON
  sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

st_field() { # I KEY: a number from node I's status ("" when no answer)
  status_json "$1" | json_num "$2"
}
height_of() { st_field "$1" height; }
view_of() { st_field "$1" view; }

# All listed nodes report the same view. Sets SAME_VIEW.
same_view() {
  local i x first=
  for i in "$@"; do
    x=$(view_of "$i")
    [ -n "$x" ] || return 1
    if [ -z "$first" ]; then first=$x; elif [ "$x" != "$first" ]; then return 1; fi
  done
  SAME_VIEW=$first
}
tip_of() { # I: "HEIGHT HASH"
  in_node "$1" "$EVOTE" tip --node "$(ep "$1")" --timeout $((1000 * SCALE)) 2>/dev/null
}

now_ms() { date +%s%3N; }

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every 100 ms until
# it succeeds; fails the test naming DESCRIPTION at the deadline (SECONDS
# times SCALE).
wait_until() {
  local secs=$(($1 * SCALE)) what=$2 deadline
  shift 2
  deadline=$(( $(now_ms) + secs * 1000 ))
  while ! "$@"; do
    if [ "$(now_ms)" -ge $deadline ]; then
      fail "timed out after ${secs}s waiting for: $what" "${WAIT_NODE:-}"
    fi
    sleep 0.1
  done
}

# Node I answers status with every other validator connected.
node_ready() {
  local s
  s=$(status_json "$1") || return 1
  [ "$(echo "$s" | json_num peers_connected)" = $((N - 1)) ]
}

wait_ready() { # [NODES...] (default all)
  local i nodes=("$@")
  [ ${#nodes[@]} -gt 0 ] || nodes=($(seq 0 $((N - 1))))
  for i in "${nodes[@]}"; do
    WAIT_NODE=$i wait_until 30 "node$i to answer with all $((N - 1)) peers connected" node_ready "$i"
  done
}

# all_same_tip NODES...: every listed node reports the same "HEIGHT HASH",
# with height >= MIN_HEIGHT (default 0). Sets SAME_TIP.
all_same_tip() {
  local i t first=
  for i in "$@"; do
    t=$(tip_of "$i") || return 1
    [ -n "$t" ] || return 1
    if [ -z "$first" ]; then first=$t; elif [ "$t" != "$first" ]; then return 1; fi
  done
  [ "${first%% *}" -ge "${MIN_HEIGHT:-0}" ] || return 1
  SAME_TIP=$first
}

# A node's height is at least H.
height_at_least() { # I H
  local h
  h=$(height_of "$1")
  [ -n "$h" ] && [ "$h" -ge "$2" ]
}

# All listed nodes' heights are at least H.
heights_at_least() { # H NODES...
  local h=$1 i
  shift
  for i in "$@"; do height_at_least "$i" "$h" || return 1; done
}

# chain_dump I H FILE: blocks 1..H of node I (cluster_tool chain).
chain_dump() {
  in_node "$1" "$TOOL" chain --node "$(ep "$1")" --to "$2" > "$3" 2> "$3.err" ||
    { cat "$3.err"; fail "cannot read blocks 1..$2 from node$1" "$1"; }
}

# compare_chains H NODES...: blocks 1..H identical (hash, prev hash, txs) on
# all listed nodes. Leaves node's dump in $DIR/chain.<i>.
compare_chains() {
  local h=$1 i first=
  shift
  for i in "$@"; do
    chain_dump "$i" "$h" "$DIR/chain.$i"
    if [ -z "$first" ]; then
      first=$i
    elif ! cmp -s "$DIR/chain.$first" "$DIR/chain.$i"; then
      diff "$DIR/chain.$first" "$DIR/chain.$i" | head -20
      fail "node$first and node$i have different chains below height $h" "$i"
    fi
  done
  [ "$(grep -c '^block ' "$DIR/chain.$first")" = "$h" ] || fail "chain dump of node$first is short"
}

# No ERROR line in any log (a validator that logs ERROR stopped or lost data).
no_errors_logged() {
  local i
  for ((i = 0; i < N; i++)); do
    if grep -q ' ERROR ' "$DIR/c/node$i/evoted.log"; then
      grep ' ERROR ' "$DIR/c/node$i/evoted.log" | head -5
      fail "node$i logged an ERROR" "$i"
    fi
  done
}

notice() { # I TOPIC TEXT [more evote args]: prints the tx id
  local i=$1 topic=$2 text=$3
  shift 3
  in_node "$i" "$EVOTE" notice --key "$AUTH_KEY" --genesis "$GENESIS" --topic "$topic" --text "$text" \
    --node "$(ep "$i")" "$@"
}
