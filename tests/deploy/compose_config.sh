#!/usr/bin/env bash
# deploy/gen-cluster.sh + 'docker-compose config' (no engine needed):
# the generated node directories are what deploy/docker-compose.yml mounts,
# and the compose file is valid for Debian 12's docker-compose 1.29.
# Usage: compose_config.sh EVOTE_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
evote=$1
fail() { echo "compose_config: FAIL: $*" >&2; exit 1; }
command -v docker-compose >/dev/null \
  || fail "docker-compose is not installed: run ./deploy/install-deps.sh as root (Debian package docker-compose)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. the cluster: keys 0600, configs pointing at their own genesis copy
EVOTE_BIN=$(dirname "$evote") "$root/deploy/gen-cluster.sh" "$tmp/c" --data-dir /var/lib/evote >"$tmp/gen.log" \
  || { cat "$tmp/gen.log" >&2; fail "gen-cluster.sh failed"; }
chain=$("$evote" genesis --check "$tmp/c/genesis.txt" | sed -n 's/^chain id //p')
[ -n "$chain" ] || fail "the generated genesis does not parse"
grep -q "chain id $chain" "$tmp/gen.log" || fail "gen-cluster.sh did not print the chain id $chain"
for i in 0 1 2 3; do
  d=$tmp/c/node$i
  for k in validator.key curve.key; do
    [ "$(stat -c %a "$d/$k")" = 600 ] || fail "$d/$k is not mode 0600"
  done
  cmp -s "$tmp/c/genesis.txt" "$d/genesis.txt" || fail "$d/genesis.txt is not a copy of the genesis"
  grep -qx 'genesis = genesis.txt' "$d/evoted.conf" || fail "$d/evoted.conf: genesis is not genesis.txt"
  grep -qx 'data_dir = /var/lib/evote' "$d/evoted.conf" || fail "$d/evoted.conf: data_dir is not /var/lib/evote"
  grep -qx 'peer_listen = tcp://0.0.0.0:7100' "$d/evoted.conf" || fail "$d/evoted.conf: peer_listen"
  grep -qx 'client_listen = tcp://0.0.0.0:7200' "$d/evoted.conf" || fail "$d/evoted.conf: client_listen"
  grep -qx 'http_listen = 0.0.0.0:9100' "$d/evoted.conf" || fail "$d/evoted.conf: http_listen"
  grep -qx 'client_curve_listen = tcp://0.0.0.0:7300' "$d/evoted.conf" || fail "$d/evoted.conf: client_curve_listen"
  grep -q "^validator node$i [0-9a-f]\{64\} .* tcp://evoted-$i:7100\$" "$tmp/c/genesis.txt" \
    || fail "genesis: validator node$i is not at tcp://evoted-$i:7100"
  [ "$(stat -c %a "$d")" = 700 ] || fail "$d is not mode 0700"
done
"$root/deploy/gen-cluster.sh" "$tmp/c" >/dev/null 2>&1 && fail "gen-cluster.sh overwrote an existing cluster"
"$root/deploy/gen-cluster.sh" "$tmp/d" --owner root >/dev/null 2>&1 && fail "gen-cluster.sh took --owner root (not UID:GID)"

# 2. the compose file, against that cluster
compose=(docker-compose -f "$root/deploy/docker-compose.yml" -p evote-ci)
EVOTE_CLUSTER_DIR=$tmp/c "${compose[@]}" config -q || fail "docker-compose config refuses deploy/docker-compose.yml"
EVOTE_CLUSTER_DIR=$tmp/c "${compose[@]}" config >"$tmp/config.yml"
services=$(sed -n 's/^  \(evoted-[0-9]*\):$/\1/p' "$tmp/config.yml" | sort -u | tr '\n' ' ')
[ "$services" = "evoted-0 evoted-1 evoted-2 evoted-3 " ] || fail "services are '$services', not evoted-0..3"
for i in 0 1 2 3; do
  grep -q -- "- $tmp/c/node$i:/etc/evote:ro\$" "$tmp/config.yml" || fail "evoted-$i does not mount $tmp/c/node$i read-only"
  grep -q -- "- evoted-$i-data:/var/lib/evote" "$tmp/config.yml" || fail "evoted-$i has no volume evoted-$i-data"
  grep -q -- "- 127.0.0.1:720$i:7200/tcp" "$tmp/config.yml" || fail "evoted-$i: client port not published on 720$i"
  grep -q -- "- 127.0.0.1:730$i:7300/tcp" "$tmp/config.yml" || fail "evoted-$i: CURVE client port not published on 730$i"
  grep -q -- "- 127.0.0.1:910$i:9100/tcp" "$tmp/config.yml" || fail "evoted-$i: metrics port not published on 910$i"
done
for want in "read_only: true" "- /usr/local/bin/evote-healthcheck" "restart: unless-stopped" "network: host"; do
  [ "$(grep -c -- "$want" "$tmp/config.yml")" -eq 4 ] || fail "not every service has '$want'"
done
# Without EVOTE_CLUSTER_DIR it refuses, naming the variable.
if env -u EVOTE_CLUSTER_DIR "${compose[@]}" config -q 2>"$tmp/err"; then
  fail "docker-compose config accepted the file without EVOTE_CLUSTER_DIR"
fi
grep -q EVOTE_CLUSTER_DIR "$tmp/err" || fail "the error without EVOTE_CLUSTER_DIR does not name it: $(cat "$tmp/err")"
echo "compose_config: ok: 4 node dirs from gen-cluster.sh (chain $chain), docker-compose $(docker-compose version --short) accepts the file"
