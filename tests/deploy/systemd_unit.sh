#!/usr/bin/env bash
# systemd-analyze verify deploy/evoted.service, with ExecStart pointing at the
# evoted just built (verify checks that the binary exists). Exit 77 (skipped)
# when systemd-analyze is not installed.
# Usage: systemd_unit.sh EVOTED_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null || { echo "systemd_unit: systemd-analyze not installed: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/evoted|$1|" "$root/deploy/evoted.service" >"$tmp/evoted.service"
grep -q "^ExecStart=$1 " "$tmp/evoted.service" || { echo "systemd_unit: FAIL: no ExecStart=/usr/local/bin/evoted" >&2; exit 1; }
out=$(systemd-analyze verify "$tmp/evoted.service" 2>&1) || { echo "$out" >&2; echo "systemd_unit: FAIL: systemd-analyze verify" >&2; exit 1; }
[ -z "$out" ] || { echo "$out" >&2; echo "systemd_unit: FAIL: systemd-analyze verify warns" >&2; exit 1; }
for want in DynamicUser=yes ProtectSystem=strict ReadWritePaths=/var/lib/evote NoNewPrivileges=yes PrivateTmp=yes \
            ProtectHome=yes RestrictAddressFamilies= SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
            CapabilityBoundingSet= LimitNOFILE= Restart=on-failure KillSignal=SIGTERM TimeoutStopSec=; do
  grep -q "^$want" "$tmp/evoted.service" || { echo "systemd_unit: FAIL: no $want" >&2; exit 1; }
done
echo "systemd_unit: ok: systemd-analyze verify accepts deploy/evoted.service"
