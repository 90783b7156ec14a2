#!/usr/bin/env bash
# The docker-compose deployment, for real, on this machine (as root):
#   1. installs what is missing (docker.io, docker-compose, debootstrap)
#   2. uses the Docker engine at $DOCKER_HOST or /var/run/docker.sock, or
#      starts its own dockerd (and stops exactly that one at the end)
#   3. makes the base image evote-base:bookworm with debootstrap from the apt
#      mirror this machine uses, when it is missing (no registry needed)
#   4. builds the evote image (docker build --network host)
#   5. generates a 4-validator cluster (deploy/gen-cluster.sh), brings the
#      compose stack up, waits until every validator is healthy
#   6. commits notices through the published client ports and runs a small
#      election (deploy/election-demo.sh), checks the 4 chains agree block by block
#   7. kills one container, checks the other 3 keep committing, restarts it
#      and checks it catches up to the same chain
#   8. tears the stack down, volumes included
# Usage: deploy/smoke-compose.sh [--keep]   (--keep: leave the stack running)
# Work directory (base rootfs, the private dockerd's images and build cache,
# kept between runs so the next run is quick): $EVOTE_SMOKE_DIR, default
# /var/tmp/evote-smoke. Takes a few minutes (the first run ~10: debootstrap
# and the image build). Not part of ./tests/run.sh; ./tests/run.sh --all runs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "smoke-compose: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

t0=$(date +%s)
say() { printf '[smoke-compose %4ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { say "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages, may start a Docker engine and chowns the keys for the containers"

work=${EVOTE_SMOKE_DIR:-/var/tmp/evote-smoke}
project=evote-smoke
image=evote:smoke
base=evote-base:bookworm
publish=127.0.77.1   # not 127.0.0.1: local test clusters use 7200+ there
mkdir -p "$work"

# ----------------------------------------------------------- 1. packages
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (Debian packages this test needs; they are not in deploy/install-deps.sh's default list)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "could not install ${need[*]}: run 'apt-get install ${need[*]}' and look at its errors"
fi
# The client of the docker.io package (it speaks to its dockerd; another
# docker earlier in PATH may need plugins this machine lacks).
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker)
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

# -------------------------------------------------------- 2. the engine
own_dockerd_pid=""
run_dir=/run/evote-smoke
cluster=""
compose() { docker-compose -p "$project" -f "$root/deploy/docker-compose.yml" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$cluster" ] && [ "$keep" -eq 0 ]; then
    say "tearing down: containers, network, volumes"
    EVOTE_CLUSTER_DIR=$cluster EVOTE_IMAGE=$image compose down -v --remove-orphans >/dev/null 2>&1
    rm -rf "$cluster"
  fi
  if [ -n "$own_dockerd_pid" ] && [ "$keep" -eq 0 ]; then
    say "stopping the dockerd this script started (pid $own_dockerd_pid)"
    kill -TERM "$own_dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$own_dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$own_dockerd_pid" 2>/dev/null; then
      say "dockerd $own_dockerd_pid did not stop in 30 s: SIGKILL"
      kill -KILL "$own_dockerd_pid" 2>/dev/null
    fi
  fi
  if [ "$keep" -eq 1 ] && [ -n "$cluster" ]; then
    say "--keep: the stack runs; DOCKER_HOST=$DOCKER_HOST EVOTE_CLUSTER_DIR=$cluster EVOTE_IMAGE=$image docker-compose -p $project -f deploy/docker-compose.yml down -v"
  fi
  [ $rc -eq 0 ] || say "FAILED after $(( $(date +%s) - t0 )) s (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

engine_ok() { timeout 20 "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if [ -n "${DOCKER_HOST:-}" ] && engine_ok; then
  say "using the Docker engine at DOCKER_HOST=$DOCKER_HOST"
elif [ -z "${DOCKER_HOST:-}" ] && [ -S /var/run/docker.sock ] && engine_ok; then
  export DOCKER_HOST=unix:///var/run/docker.sock
  say "using the running Docker engine at /var/run/docker.sock"
else
  mkdir -p "$run_dir" "$work/docker"
  if [ -f "$run_dir/dockerd.pid" ] && kill -0 "$(cat "$run_dir/dockerd.pid")" 2>/dev/null; then
    die "a dockerd from an earlier run still runs (pid $(cat "$run_dir/dockerd.pid"), data in $work/docker): stop it (kill $(cat "$run_dir/dockerd.pid")) or use it with DOCKER_HOST=unix://$run_dir/docker.sock"
  fi
  export DOCKER_HOST=unix://$run_dir/docker.sock
  say "starting a private dockerd (data $work/docker, socket $run_dir/docker.sock, log $work/dockerd.log)"
  dockerd --storage-driver=overlay2 --iptables=false --data-root "$work/docker" --exec-root "$run_dir/exec" \
    -H "$DOCKER_HOST" --pidfile "$run_dir/dockerd.pid" >"$work/dockerd.log" 2>&1 &
  own_dockerd_pid=$!
  for _ in $(seq 1 120); do
    engine_ok && break
    kill -0 "$own_dockerd_pid" 2>/dev/null || die "dockerd exited: see $work/dockerd.log"
    sleep 0.5
  done
  engine_ok || die "dockerd did not answer in 60 s: see $work/dockerd.log"
fi
say "engine: Docker $("$docker" version --format '{{.Server.Version}}'), storage $("$docker" info --format '{{.Driver}}')"

# ----------------------------------------------------- 3. the base image
# The apt mirror this machine already uses (deb822 .sources first, then
# sources.list), for debootstrap and for apt-get inside the build.
mirror() {
  local f m
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    m=$(awk 'BEGIN{RS=""; IGNORECASE=1}
             /(^|\n)Suites:[^\n]*bookworm([ \t\n]|$)/ && !/debian-security/ {
               if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit } }' "$f")
    [ -n "$m" ] && { echo "$m"; return; }
  done
  if [ -f /etc/apt/sources.list ]; then
    m=$(sed -n 's/^deb[ \t]\+\(\[[^]]*\][ \t]\+\)\{0,1\}\([^ \t]\+\)[ \t]\+bookworm[ \t].*/\2/p' /etc/apt/sources.list | head -n 1)
    [ -n "$m" ] && { echo "$m"; return; }
  fi
  echo http://deb.debian.org/debian
}
if "$docker" image inspect "$base" >/dev/null 2>&1; then
  say "base image $base present"
else
  m=$(mirror)
  rootfs=$work/rootfs
  if [ ! -f "$rootfs/.evote-complete" ]; then
    rm -rf "$rootfs"
    say "debootstrap --variant=minbase bookworm from $m (a few minutes; log $work/debootstrap.log)"
    debootstrap --variant=minbase bookworm "$rootfs" "$m" >"$work/debootstrap.log" 2>&1 \
      || die "debootstrap failed: see $work/debootstrap.log"
    # apt inside the image uses the same mirror; no caches in the image.
    echo "deb $m bookworm main" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    touch "$rootfs/.evote-complete"
  fi
  say "importing $rootfs as $base"
  tar -C "$rootfs" --exclude=./.evote-complete -c . | "$docker" import - "$base" >/dev/null \
    || die "docker import of the base image failed"
fi

# ---------------------------------------------------- 4. the evote image
say "building $image from deploy/Dockerfile (BASE=$base, --network host; log $work/build.log)"
"$docker" build --network host --build-arg "BASE=$base" -f "$root/deploy/Dockerfile" -t "$image" "$root" \
  >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; die "docker build failed (tail above; whole log $work/build.log)"; }
say "image $image: $(( $("$docker" image inspect -f '{{.Size}}' "$image") / 1000000 )) MB (base $base: $(( $("$docker" image inspect -f '{{.Size}}' "$base") / 1000000 )) MB); $(grep -m1 '^runtime packages:' "$work/build.log" || echo 'build cached')"

# --------------------------------------------------- 5. cluster and stack
bin=${EVOTE_BIN:-$root/build/src}
if [ ! -x "$bin/evote" ]; then
  say "building evote on the host (gen-cluster.sh and the checks use it)"
  "$root/deploy/install-deps.sh" >/dev/null
  cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" -j"$(nproc)" --target evote >/dev/null
fi
evote=$bin/evote
cluster=$(mktemp -d "$work/cluster.XXXXXX")
rmdir "$cluster"
EVOTE_BIN=$bin "$root/deploy/gen-cluster.sh" "$cluster" --data-dir /var/lib/evote --owner 10001:10001 \
  --chain-name evote-smoke | sed 's/^/    /'
export EVOTE_CLUSTER_DIR=$cluster EVOTE_IMAGE=$image EVOTE_PUBLISH_ADDR=$publish
compose config -q || die "docker-compose config refuses deploy/docker-compose.yml"
# Leftovers of an interrupted run (same project name) go first.
compose down -v --remove-orphans >/dev/null 2>&1 || true
say "docker-compose up (4 validators)"
compose up -d --no-build 2>&1 | sed 's/^/    /'

cid() { compose ps -q "evoted-$1"; }
ip_of() { "$docker" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid "$1")"; }
health() { "$docker" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(cid "$1")"; }
wait_healthy() { # node... : every one healthy within 180 s
  local deadline=$(( $(date +%s) + 180 )) i all
  while :; do
    all=1
    for i in "$@"; do [ "$(health "$i")" = healthy ] || all=0; done
    [ $all -eq 1 ] && return 0
    if [ "$(date +%s)" -ge $deadline ]; then
      for i in "$@"; do
        echo "--- evoted-$i: $(health "$i"); last log lines:" >&2
        "$docker" logs --tail 15 "$(cid "$i")" >&2 2>&1
      done
      die "not every validator became healthy in 180 s"
    fi
    sleep 2
  done
}
wait_healthy 0 1 2 3
say "all 4 validators healthy (Docker healthcheck: $("$docker" inspect -f '{{join .Config.Healthcheck.Test " "}}' "$(cid 0)"))"

# How the host reaches validator i's client API: the published port when it
# answers (docker-proxy), otherwise the container's address on the compose
# network (dockerd with --iptables=false has no NAT).
declare -a node
for i in 0 1 2 3; do
  if "$evote" status --node "tcp://$publish:$((7200 + i))" --timeout 3000 >/dev/null 2>&1; then
    node[$i]=tcp://$publish:$((7200 + i))
  else
    node[$i]=tcp://$(ip_of "$i"):7200
  fi
done
say "client endpoints: ${node[*]}"
# The same API over CURVE (7300, published on 7300+i), with each validator's
# key from the genesis: what voters across a network use.
for i in 0 1 2 3; do
  key=$(awk -v n="node$i" '$1 == "validator" && $2 == n { print $4 }' "$cluster/genesis.txt")
  ep=tcp://$publish:$((7300 + i))
  "$evote" status --node "$key@$ep" --timeout 3000 >/dev/null 2>&1 || ep=tcp://$(ip_of "$i"):7300
  out=$("$evote" status --node "$key@$ep" --timeout 5000 --json 2>&1) ||
    die "evote status over CURVE on evoted-$i ($ep) failed: $out"
  case "$out" in *"\"name\":\"node$i\""*) ;; *) die "evote status over CURVE on evoted-$i: $out" ;; esac
done
say "the client API over CURVE answers on all 4 (--node KEY@...:7300)"
# /healthz and /metrics straight from the host too (published port, or the
# container's address).
declare -a http
if grep -q '^http_listen = .' "$cluster/node0/evoted.conf"; then
  command -v curl >/dev/null || die "curl is missing: run ./deploy/install-deps.sh"
  for i in 0 1 2 3; do
    http[$i]=http://$publish:$((9100 + i))
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${http[$i]}/healthz" || true)
    if [ "$code" != 200 ]; then
      http[$i]=http://$(ip_of "$i"):9100
      code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "${http[$i]}/healthz" || true)
    fi
    [ "$code" = 200 ] || die "GET /healthz on evoted-$i answered '$code', not 200"
  done
  say "GET /healthz: 200 on all 4 (${http[*]})"
fi
metric() { # NODE NAME : the value of an unlabelled metric
  local body
  body=$(curl -s -m 5 "${http[$1]}/metrics") || { echo "unreachable"; return 0; }
  awk -v m="$2" '$1 == m {print $2; exit}' <<<"$body"
}

notices() { # FROM COUNT NODE... : commits COUNT notices, round robin over the nodes
  local from=$1 count=$2 k; shift 2
  local nodes=("$@")
  for k in $(seq "$from" $(( from + count - 1 ))); do
    "$evote" notice --key "$cluster/authority0.key" --genesis "$cluster/genesis.txt" --topic smoke \
      --text "smoke-compose notice $k" --node "${nodes[$(( k % ${#nodes[@]} ))]}" --wait 20000 >/dev/null \
      || die "notice $k was not committed through ${nodes[$(( k % ${#nodes[@]} ))]}"
  done
}
tip() { "$evote" tip --node "${node[$1]}" --timeout 5000; }
agree() { # MIN_HEIGHT node... : same tip everywhere (within 60 s), then the same block hashes
  local min=$1; shift
  local deadline=$(( $(date +%s) + 60 )) i first h same t b x
  while :; do
    same=1; first=""
    for i in "$@"; do
      t=$(tip "$i") || t="unreachable"
      [ -z "$first" ] && first=$t
      [ "$t" = "$first" ] || same=0
    done
    h=${first%% *}
    if [ $same -eq 1 ] && [[ "$h" =~ ^[0-9]+$ ]] && [ "$h" -ge "$min" ]; then break; fi
    if [ "$(date +%s)" -ge $deadline ]; then
      for i in "$@"; do echo "  evoted-$i: $(tip "$i" 2>&1)" >&2; done
      die "the validators do not reach one tip at height >= $min in 60 s"
    fi
    sleep 1
  done
  for b in $(seq 1 "$h"); do
    first=""
    for i in "$@"; do
      x=$("$evote" block "$b" --hash-only --node "${node[$i]}") || die "evoted-$i cannot show block $b"
      [ -z "$first" ] && first=$x
      [ "$x" = "$first" ] || die "block $b differs: evoted-$i has $x, evoted-$1 has $first"
    done
  done
}

say "committing 24 notices through all 4 client ports"
notices 0 24 "${node[0]}" "${node[1]}" "${node[2]}" "${node[3]}"
agree 1 0 1 2 3
t=$(tip 0)
say "the 4 chains agree: height ${t%% *}, tip ${t#* }, every block hash equal"
if [ -n "${http[0]:-}" ]; then
  for i in 0 1 2 3; do
    m=$(metric "$i" evote_height)
    [ "$m" = "${t%% *}" ] || die "evoted-$i: /metrics says evote_height $m, the chain is at ${t%% *}"
  done
  say "GET /metrics: evote_height ${t%% *} on all 4, evote_committed_transactions_total $(metric 0 evote_committed_transactions_total) on evoted-0"
fi
h_before=${t%% *}

# A small election: trustees (the validators' keys), roll, encrypted ballots
# with revotes, tally decryption, result checked against every voter's choice.
say "a small election on the stack (deploy/election-demo.sh --voters 12 --revotes 2; log $cluster/election.log)"
EVOTE_NODES="${node[*]}" EVOTE_BIN=$bin "$root/deploy/election-demo.sh" --voters 12 --revotes 2 "$cluster" \
  >"$cluster/election.log" 2>&1 || { tail -n 25 "$cluster/election.log" >&2; die "the election failed (log above)"; }
say "election: $(grep -m1 '^(checked:' "$cluster/election.log")"
t=$(tip 0)
agree "${t%% *}" 0 1 2 3
t=$(tip 0)
say "after the election the 4 chains agree: height ${t%% *}, tip ${t#* }"
h_before=${t%% *}

# A hot backup of a running validator, as README.md ("Back up") says.
backup=$cluster/backup
mkdir -p "$backup/snap" && chown -R 10001:10001 "$backup"
# --pid container:: LMDB marks its readers by process id in the lock file;
# in a PID namespace of its own, mdb_copy would be pid 1 like evoted (EAGAIN).
"$docker" run --rm --pid "container:$(cid 0)" --volumes-from "$(cid 0)" -v "$backup:/backup" --entrypoint mdb_copy "$image" \
  -c /var/lib/evote /backup/snap || die "mdb_copy of evoted-0's running chain store failed"
[ -s "$backup/snap/data.mdb" ] || die "the hot backup has no data.mdb"
say "hot backup of running evoted-0 with mdb_copy -c: $(( $(stat -c %s "$backup/snap/data.mdb") / 1024 )) KiB"

victim=3
say "killing evoted-$victim (docker kill: SIGKILL)"
"$docker" kill "$(cid $victim)" >/dev/null
say "committing 12 notices through the other 3"
notices 100 12 "${node[0]}" "${node[1]}" "${node[2]}"
agree $(( h_before + 1 )) 0 1 2
t=$(tip 0)
say "the 3 survivors kept committing: height $h_before -> ${t%% *}, same chain"

say "restarting evoted-$victim"
compose start "evoted-$victim" >/dev/null 2>&1
wait_healthy "$victim"
node[$victim]=tcp://$(ip_of "$victim"):7200
if "$evote" status --node "tcp://$publish:$((7200 + victim))" --timeout 3000 >/dev/null 2>&1; then
  node[$victim]=tcp://$publish:$((7200 + victim))
fi
notices 200 4 "${node[0]}" "${node[1]}" "${node[2]}" "${node[3]}"
agree $(( ${t%% *} + 1 )) 0 1 2 3
t=$(tip 0)
say "evoted-$victim caught up: the 4 chains agree at height ${t%% *}, tip ${t#* }"

restarts=0
for i in 0 1 2; do restarts=$(( restarts + $("$docker" inspect -f '{{.RestartCount}}' "$(cid "$i")") )); done
[ "$restarts" -eq 0 ] || die "containers restarted unexpectedly ($restarts restarts): see docker logs"
say "PASS: built, deployed, committed 40 notices and an election, 4 chains agree, survived a killed validator (total $(( $(date +%s) - t0 )) s)"
