# Shell helpers shared by the benchmark scripts (sourced, not run).

# all_metrics HTTP_BASE: the 4 validators' /metrics at
# http://127.0.0.1:HTTP_BASE+i, one after the other (a validator that does
# not answer gives nothing).
all_metrics() {
  local i
  for i in 0 1 2 3; do
    curl -s --max-time 5 "http://127.0.0.1:$(($1 + i))/metrics" 2>/dev/null || true
  done
}

# sampled_verifications HTTP_BASE KIND: "COUNT SECONDS" summed over the 4
# validators: the verifications of KIND (tx or ballot) their mempool workers
# timed (one in 16) and the CPU seconds those took.
sampled_verifications() {
  all_metrics "$1" | awk -v n="evote_verification_sampled_total{kind=\"$2\"}" \
      -v c="evote_verification_sampled_cpu_seconds_total{kind=\"$2\"}" '
    $1 == n { count += $2 } $1 == c { secs += $2 } END { printf "%d %.6f\n", count, secs }'
}

# pin CORE COMMAND...: COMMAND on that core alone (taskset, when there is
# one), so that each core's own speed shows.
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }

# peer_messages_sent HTTP_BASE: "TYPE=COUNT ..." of the messages the 4
# validators sent to each other (their /metrics, summed; a broadcast counts
# once per destination), and DROPPED_queue_full: those dropped because a
# peer's queue was full.
peer_messages_sent() {
  all_metrics "$1" | awk -F'[{}"= ]+' '$1 == "evote_consensus_messages_sent_total" { n[$3] += $4 }
    $1 == "evote_peer_messages_dropped_total" && $3 == "queue_full" { n["DROPPED_queue_full"] += $4 }
    END { for (k in n) printf "%s=%d ", k, n[k]; print "" }'
}

# metric_sum HTTP_BASE NAME: the sample NAME (no labels) summed over the 4
# validators' /metrics.
metric_sum() {
  all_metrics "$1" | awk -v k="$2" '$1 == k { n += $2 } END { print n + 0 }'
}

# store_writes HTTP_BASE: "BLOCK_WRITES BLOCK_SECONDS CONSENSUS_WRITES
# CONSENSUS_SECONDS RESPONDING" summed over the validators that answer: their
# durable writes to the chain store and the wall-clock time those took (on
# the event loop), and how many validators answered.
store_writes() {
  all_metrics "$1" | awk -F'[{}"= ]+' '$1 == "evote_store_writes_total" { w[$3] += $4 }
    $1 == "evote_store_write_seconds_total" { s[$3] += $4 } $1 == "evote_validator_index" { up++ }
    END { printf "%d %.6f %d %.6f %d\n", w["block"], s["block"], w["consensus"], s["consensus"], up }'
}
