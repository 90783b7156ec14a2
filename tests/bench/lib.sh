# Shell helpers shared by the benchmark scripts (sourced, not run).

# sampled_verifications HTTP_BASE KIND: "COUNT SECONDS" summed over the 4
# validators' /metrics at http://127.0.0.1:HTTP_BASE+i: the verifications of
# KIND (tx or ballot) their mempool workers timed (one in 16) and the CPU
# seconds those took.
sampled_verifications() {
  local i n=0 c=0 body
  for i in 0 1 2 3; do
    body=$(curl -s --max-time 5 "http://127.0.0.1:$(($1 + i))/metrics" 2>/dev/null) || continue
    n=$(awk -v n="$n" -v k="evote_verification_sampled_total{kind=\"$2\"}" '$1 == k { n += $2 } END { print n + 0 }' <<<"$body")
    c=$(awk -v c="$c" -v k="evote_verification_sampled_cpu_seconds_total{kind=\"$2\"}" '$1 == k { c += $2 } END { printf "%.6f", c }' <<<"$body")
  done
  echo "$n $c"
}

# pin CORE COMMAND...: COMMAND on that core alone (taskset, when there is
# one), so that each core's own speed shows.
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# peer_messages_sent HTTP_BASE: "TYPE=COUNT ..." of the messages the 4
# validators sent to each other (their /metrics, summed; a broadcast counts
# once per destination), and DROPPED_queue_full: those dropped because a
# peer's queue was full.
peer_messages_sent() {
  local i
  for i in 0 1 2 3; do
    curl -s --max-time 5 "http://127.0.0.1:$(($1 + i))/metrics" 2>/dev/null || true
  done | awk -F'[{}"= ]+' '$1 == "evote_consensus_messages_sent_total" { n[$3] += $4 }
    $1 == "evote_peer_messages_dropped_total" && $3 == "queue_full" { n["DROPPED_queue_full"] += $4 }
    END { for (k in n) printf "%s=%d ", k, n[k]; print "" }'
}

# metric_sum HTTP_BASE NAME: the sample NAME (no labels) summed over the 4
# validators' /metrics.
metric_sum() {
  local i
  for i in 0 1 2 3; do
    curl -s --max-time 5 "http://127.0.0.1:$(($1 + i))/metrics" 2>/dev/null || true
  done | awk -v k="$2" '$1 == k { n += $2 } END { print n + 0 }'
}
