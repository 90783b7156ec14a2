#!/usr/bin/env bash
# Runs an N-validator evote cluster on 127.0.0.1 (N = 3f+1: 4, 7, ...).
#   deploy/local-cluster.sh start N [DIR]   generate keys/genesis/configs (once) and start every
#                                           validator not running (after a crash: just that one)
#   deploy/local-cluster.sh stop [DIR]      SIGTERM every validator, wait for a clean exit
#   deploy/local-cluster.sh status [DIR]    which validators run, and each one's view
# DIR defaults to $EVOTE_CLUSTER_DIR or ./cluster-data. Each validator keeps its
# chain in DIR/<name>/data and logs to DIR/<name>/evoted.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${EVOTE_BIN:-$root/build/src}
cmd=${1:-}
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

pids_of() { # DIR -> lines "name pid"
  local d
  for d in "$1"/*/; do
    [ -f "$d/evoted.pid" ] && echo "$(basename "$d") $(cat "$d/evoted.pid")"
  done
}

alive() { # a live process (a killed one not yet reaped is a zombie: not alive)
  kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

case "$cmd" in
  start)
    n=${2:-}
    dir=${3:-${EVOTE_CLUSTER_DIR:-$PWD/cluster-data}}
    [[ "$n" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
    [ -x "$bin/evoted" ] || { echo "local-cluster: $bin/evoted not built: run 'cmake -S . -B build && cmake --build build'" >&2; exit 1; }
    if [ ! -f "$dir/genesis.txt" ]; then
      "$bin/evote" genesis --dir "$dir" --validators "$n" >/dev/null
      echo "local-cluster: generated keys, genesis and configs for $n validators in $dir"
    fi
    for conf in "$dir"/*/evoted.conf; do
      node=$(dirname "$conf")
      pid=$(cat "$node/evoted.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && alive "$pid"; then
        echo "local-cluster: $(basename "$node") already runs (pid $pid)"
        continue
      fi
      nohup "$bin/evoted" --config "$conf" >>"$node/evoted.log" 2>&1 </dev/null &
      echo $! > "$node/evoted.pid"
      echo "local-cluster: started $(basename "$node") (pid $!, log $node/evoted.log)"
    done
    ;;
  stop)
    dir=${2:-${EVOTE_CLUSTER_DIR:-$PWD/cluster-data}}
    while read -r name pid; do
      if alive "$pid"; then kill -TERM "$pid"; fi
    done < <(pids_of "$dir")
    while read -r name pid; do
      for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then
        echo "local-cluster: $name (pid $pid) did not stop in 10 s after SIGTERM; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
      else
        echo "local-cluster: stopped $name"
      fi
      rm -f "$dir/$name/evoted.pid"
    done < <(pids_of "$dir")
    ;;
  status)
    dir=${2:-${EVOTE_CLUSTER_DIR:-$PWD/cluster-data}}
    for conf in "$dir"/*/evoted.conf; do
      [ -e "$conf" ] || { echo "local-cluster: no cluster in $dir" >&2; exit 1; }
      node=$(dirname "$conf"); name=$(basename "$node")
      pid=$(cat "$node/evoted.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && alive "$pid"; then
        client=$(sed -n 's/^client_listen *= *//p' "$conf")
        printf '%-12s running (pid %s)  %s\n' "$name" "$pid" \
          "$("$bin/evote" status --node "$client" --timeout 2000 2>&1 | tr '\n' ' ')"
        curve=$(sed -n 's/^client_curve_listen *= *//p' "$conf")
        key=$(awk -v n="$name" '$1 == "validator" && $2 == n { print $4 }' "$dir/genesis.txt" 2>/dev/null)
        [ -z "$curve" ] || [ -z "$key" ] || printf '%-12s encrypted clients: --node '"'"'%s@%s'"'"'\n' "" "$key" "$curve"
      else
        printf '%-12s stopped\n' "$name"
      fi
    done
    ;;
  *) usage >&2; exit 2 ;;
esac
