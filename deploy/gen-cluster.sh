#!/usr/bin/env bash
# Generates keys, genesis and configs of a test cluster with one validator per
# host (or per container), ready for deploy/docker-compose.yml:
#   deploy/gen-cluster.sh OUTDIR [--hosts H0,H1,H2,H3] [--data-dir PATH]
#                                [--owner UID:GID] [--authorities M] [--chain-name NAME]
# writes
#   OUTDIR/genesis.txt                 the chain (its hash, the chain id, is printed)
#   OUTDIR/node<i>/validator.key       Schnorr secret key (0600)
#   OUTDIR/node<i>/curve.key           CURVE secret key (0600)
#   OUTDIR/node<i>/evoted.conf         genesis = genesis.txt, data_dir = PATH,
#                                      peers tcp://0.0.0.0:7100, clients tcp://0.0.0.0:7200
#   OUTDIR/node<i>/genesis.txt         a copy, so node<i>/ alone is what host i mounts
#   OUTDIR/authority<j>.key{,.pub}     election authorities' keys (stay with the operator)
# --hosts defaults to evoted-0,evoted-1,evoted-2,evoted-3 (the compose service
# names); validator i's genesis endpoint is tcp://H_i:7100. --data-dir defaults
# to "data" (relative to the config file); the compose file uses /var/lib/evote.
# --owner chowns each node<i>/ (keys included) to UID:GID, e.g. the image's
# non-root user 10001:10001, so the container can read its read-only mount
# (needs root). For a real election every authority makes its own keys: see
# 'evote genesis --from-public-keys' in README.md; this is for tests and demos.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "gen-cluster: $*" >&2; exit 1; }

out=""
hosts="evoted-0,evoted-1,evoted-2,evoted-3"
data_dir="data"
owner=""
authorities=1
chain_name="evote-compose"
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=${2:?--hosts takes H0,H1,...}; shift 2 ;;
    --data-dir) data_dir=${2:?--data-dir takes a path}; shift 2 ;;
    --owner) owner=${2:?--owner takes UID:GID}; shift 2 ;;
    --authorities) authorities=${2:?--authorities takes a number}; shift 2 ;;
    --chain-name) chain_name=${2:?--chain-name takes a name}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$out" ] || { usage >&2; exit 2; }; out=$1; shift ;;
  esac
done
[ -n "$out" ] || { usage >&2; exit 2; }
case "$data_dir" in
  *[[:space:]#]*|"") die "--data-dir '$data_dir': give a path without spaces or '#'" ;;
esac
if [ -n "$owner" ]; then
  [[ "$owner" =~ ^[0-9]+:[0-9]+$ ]] || die "--owner '$owner': give numeric UID:GID, e.g. 10001:10001 (the image's evote user)"
  [ "$(id -u)" -eq 0 ] || die "--owner needs root (chown); run as root or leave --owner out"
fi

# The evote binary: $EVOTE_BIN, then this tree's build, then PATH.
if [ -n "${EVOTE_BIN:-}" ]; then evote=$EVOTE_BIN/evote
elif [ -x "$root/build/src/evote" ]; then evote=$root/build/src/evote
else evote=$(command -v evote) || die "no evote binary: build it (cmake -S . -B build && cmake --build build) or set EVOTE_BIN"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$evote" genesis --dir "$out" --hosts "$hosts" --authorities "$authorities" --chain-name "$chain_name" >"$log" 2>&1 \
  || { cat "$log" >&2; die "evote genesis failed (above)"; }
chain_id=$(sed -n 's/^chain id //p' "$log")

for conf in "$out"/node*/evoted.conf; do
  node=$(dirname "$conf")
  install -m 0644 "$out/genesis.txt" "$node/genesis.txt"
  # The node directory alone is what a host or container mounts: point the
  # config at its own copy of the genesis and at the data directory.
  sed -i -e 's|^genesis = .*|genesis = genesis.txt|' \
         -e "s|^data_dir = .*|data_dir = $data_dir|" "$conf"
  grep -qx 'genesis = genesis.txt' "$conf" && grep -qx "data_dir = $data_dir" "$conf" \
    || die "$conf: could not set genesis and data_dir (unexpected evote genesis output)"
  chmod 0600 "$node/validator.key" "$node/curve.key"
  chmod 0700 "$node"
  if [ -n "$owner" ]; then chown -R "$owner" "$node"; fi
done

echo "gen-cluster: chain id $chain_id"
echo "gen-cluster: $out/genesis.txt; validators at $(echo "$hosts" | sed 's/,/, /g') (peers :7100, clients :7200, clients over CURVE :7300)"
echo "gen-cluster: $out/node<i>/ holds each validator's keys, evoted.conf and genesis copy${owner:+ (owned by $owner)}"
echo "gen-cluster: authority keys: $(ls "$out"/authority*.key | tr '\n' ' ')"
