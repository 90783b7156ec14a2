#!/usr/bin/env bash
# Installs exactly the Debian 12 packages evote needs to build, test and run.
# Idempotent: packages already installed are skipped, and when nothing is
# missing nothing runs (no root needed). Shared by deploy/demo.sh,
# tests/run.sh and deploy/Dockerfile.
#   deploy/install-deps.sh [--build-only | --fuzz]
#     --build-only  not the test-only packages (the image's build stage)
#     --fuzz        also clang and its libFuzzer runtime (tests/fuzz/run.sh)
set -euo pipefail
build_only=0 fuzz=0
case "${1:-}" in
  --build-only) build_only=1 ;;
  --fuzz) fuzz=1 ;;
  "") ;;
  *) echo "usage: $0 [--build-only | --fuzz]" >&2; exit 2 ;;
esac

PACKAGES=(
  gcc make cmake pkg-config      # toolchain
  libzmq3-dev                    # ZeroMQ: peer and client sockets
  libprotobuf-c-dev protobuf-c-compiler  # protobuf-c runtime and protoc-c
  libsecp256k1-dev               # BIP340 Schnorr signatures, group operations
  liblmdb-dev lmdb-utils         # LMDB chain store; mdb_copy/mdb_stat for operators
  libcmocka-dev                  # unit tests
  libmicrohttpd-dev              # evoted's /healthz and /metrics HTTP endpoint
  libssl-dev                     # OpenSSL's libcrypto: SHA-256 with the CPU's SHA instructions
  curl                           # cluster tests scrape /healthz and /metrics
)
TEST_PACKAGES=(
  docker-compose                 # ctest compose_config: 'docker-compose config' checks
                                 # deploy/docker-compose.yml (needs no Docker engine)
  iproute2 nftables              # ctest cluster_netns: ip netns, veth, bridge, tc tbf;
                                 # nft for packet loss, partitions and the relay's DNAT
)
FUZZ_PACKAGES=(
  clang libclang-rt-14-dev       # tests/fuzz/run.sh: coverage-guided fuzzing with libFuzzer
)
if [ "$build_only" -eq 0 ]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi
if [ "$fuzz" -eq 1 ]; then PACKAGES+=("${FUZZ_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: installing them needs root. Run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: installed ${missing[*]}"
