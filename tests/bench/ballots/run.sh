#!/usr/bin/env bash
# Ballot benchmark (a benchmark, not a test: it fails only when something
# errors, never because the machine is slow).
#
#   tests/bench/ballots/run.sh [--voters N] [--latency-sample K] [--catch-up C]
#                              [--validator-ballots M]
#
#   1. ballot encryption and verification time, 1 question with 3 and with
#      10 options: the lines of build/tests/bench/ballot/bench_ballot
#   2. the limit for this run: cores / (4 x one ballot verification, 3 options),
#      and the same measured with every core verifying at once
#   3. a 4-validator cluster on this machine (fresh temporary directory, free
#      ports from 33000 on, every process killed on exit): an election with 3
#      options, the key ceremony, N voters (default 2000) + K (default 100)
#      registered; then
#        throughput: 'evote vote --voters FILE --node EP0..EP3 --wait MS' casts
#          the N ballots: all encrypted and signed first on every core (the
#          voters' work, timed apart), then submitted pipelined; the rate is
#          the one the command reports: ballots committed / the time from
#          its first submission to the last commit seen (the wall time of
#          the whole command is printed too); and the load-independent
#          figure: CPU time (utime+stime) of the 4 evoted per committed
#          ballot, and the ballots/s it means on idle cores
#        latency: K ballots cast one by one with
#          'evote vote --key K --choice C --wait 60000', each timed from the
#          command's start to its exit (fetch election, encrypt, submit,
#          commit seen): p50/p99
#      and the ratio of the throughput to the limit (target >= 80%), also
#      against one verification measured again right after the cluster run
#      (the machine's speed drifts: both are printed), and against what one
#      ballot's verification cost inside the cluster (the validators' own
#      workers time one in 16: /metrics evote_verification_sampled_*)
#        catch-up: validator 2 stopped (SIGTERM), C (default 2000) more ballots
#          cast on the other three, validator 2 started again: the time from
#          its start until its tip is theirs, the ballots/s it executed
#          meanwhile (each fetched ballot's proofs checked again), and its CPU
#   4. tally: the authority closes the polls, 3 of 4 trustees decrypt (in
#      parallel), time until 'evote result' shows the counts (checked against
#      the choices cast); bench_ballot's projected 1,000,000-ballot tally
#      (target <= 10 s)
#   5. one validator alone (target >= 1,500 ballots/s): a stopped copy of
#      validator 3's data directory, M (default 3000) more registered voters'
#      ballots sealed by 'evote vote --encrypt-only', and bench_validator
#      driving the real pipeline in one process once the cluster is stopped
#      (mempool verification on every core, batch check, execution with the
#      election rules, LMDB append with a signed commit certificate)
#
# Binaries: $EVOTE_BIN (evote, evoted; default build/src) and
# $BENCH_BUILD/tests/bench/ballot/bench_ballot (BENCH_BUILD defaults to
# build/); built when missing. BENCH_KEEP=1 keeps the temporary directory;
# BENCH_PERF=DIR records validators 0 and 1 with perf during the throughput run
# (BENCH_PERF_CALLGRAPH="--call-graph dwarf" for call chains through evoted).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
trap 'echo "run.sh: line $LINENO: a command failed (exit $?)" >&2' ERR
root=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BENCH_BUILD:-$root/build}
bin=${EVOTE_BIN:-$build/src}
bench_ballot=$build/tests/bench/ballot/bench_ballot
bench_validator=$build/tests/bench/ballots/bench_validator
nvoters=2000
nlat=100
nval=3000
ncatch=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --voters) nvoters=$2; shift 2 ;;
    --latency-sample) nlat=$2; shift 2 ;;
    --validator-ballots) nval=$2; shift 2 ;;
    --catch-up) ncatch=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$nvoters" =~ ^[0-9]+$ ]] && [ "$nvoters" -ge 1 ] || { echo "run.sh: --voters takes a number >= 1" >&2; exit 2; }
[[ "$nlat" =~ ^[0-9]+$ ]] || { echo "run.sh: --latency-sample takes a number >= 0" >&2; exit 2; }
[[ "$nval" =~ ^[0-9]+$ ]] || { echo "run.sh: --validator-ballots takes a number >= 0" >&2; exit 2; }
[[ "$ncatch" =~ ^[0-9]+$ ]] || { echo "run.sh: --catch-up takes a number >= 0" >&2; exit 2; }

if [ ! -x "$bin/evote" ] || [ ! -x "$bin/evoted" ] || [ ! -x "$bench_ballot" ] || [ ! -x "$bench_validator" ]; then
  echo "== building evote, evoted, bench_ballot and bench_validator in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target evote evoted bench_ballot bench_validator >/dev/null
fi
for f in "$bin/evote" "$bin/evoted" "$bench_ballot" "$bench_validator"; do
  [ -x "$f" ] || { echo "run.sh: $f is not built" >&2; exit 1; }
done
evote=$bin/evote

cores=$(nproc)
tmp=$(mktemp -d /tmp/evote-bench-ballots.XXXXXX)
pids=()
bg=()
cleanup() {
  local p
  for p in "${bg[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine            $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. ballot crypto (bench_ballot, run once; its tally projection is used in 4.)
echo; echo "== 1. ballot encryption and verification (bench_ballot, one core)"
"$bench_ballot" >"$tmp/bench_ballot.out" 2>&1 || { cat "$tmp/bench_ballot.out" >&2; echo "run.sh: bench_ballot failed" >&2; exit 1; }
grep -E '^1 question, (3|10) options' "$tmp/bench_ballot.out" | sed 's/^/   /'
grep -E '^  verify with ' "$tmp/bench_ballot.out" | sed 's/^  /   3 options: /'
ver3_ms=$(sed -n 's/^1 question, 3 options.* verify \([0-9.]*\) ms.*/\1/p' "$tmp/bench_ballot.out")
[ -n "$ver3_ms" ] || { echo "run.sh: no 3-option verification time in bench_ballot's output" >&2; exit 1; }

# ---- 2. the limit
limit=$(awk -v c="$cores" -v v="$ver3_ms" 'BEGIN { printf "%.0f", c / (4 * v / 1000) }')
echo; echo "== 2. limit for this run"
echo "   cores / (4 x one verification, 3 options) = $cores / (4 x $ver3_ms ms) = $limit ballots/s"
# The same on every core at once: what the cores give together (on a shared
# host two busy cores give less than twice one; the validators keep both busy).
# Each loop is pinned to its core (taskset, when there is one) so that each
# core's own speed shows: one core of such a virtual machine has been seen
# ~25% slower than the other for minutes.
vpids=()
for ((c = 0; c < cores; c++)); do pin "$c" "$bench_ballot" --verify-only >"$tmp/verify_all$c.out" 2>&1 & vpids+=($!); done
for p in "${vpids[@]}"; do wait "$p" || true; done
limit_all=$(cat "$tmp"/verify_all*.out | sed -n 's/^1 question, 3 options.* verify \([0-9.]*\) ms.*/\1/p' |
  awk '$1 > 0 { s += 1000 / $1; n++ } END { if (n) printf "%.0f", s / 4; else print 0 }')
percore=$(for ((c = 0; c < cores; c++)); do printf "core %d %s ms; " "$c" "$(sed -n 's/^1 question, 3 options.* verify \([0-9.]*\) ms.*/\1/p' "$tmp/verify_all$c.out")"; done)
echo "   all cores at once: $cores verification loops together give $limit_all ballots/s of limit" \
  "($(awk -v a="$limit_all" -v l="$limit" 'BEGIN { printf "%.0f", (l > 0 ? 100 * a / l : 0) }')% of the above; ${percore%; })"

# ---- 3. cluster
port_free() { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; } # any state: 33000+ is in the ephemeral range
base=
for _ in $(seq 1 100); do
  b=$((33000 + (RANDOM % 300) * 10))
  ok=1
  for i in 0 1 2 3; do port_free $((b + i)) && port_free $((b + 100 + i)) && port_free $((b + 200 + i)) || ok=0; done
  if [ $ok = 1 ]; then base=$b; break; fi
done
[ -n "$base" ] || { echo "run.sh: no free port range in 33000-36103" >&2; exit 1; }

cd "$tmp"
"$evote" genesis --dir . --validators 4 --base-port "$base" >/dev/null
nodes=()
for i in 0 1 2 3; do
  nodes+=("$(sed -n 's/^client_listen *= *//p' node$i/evoted.conf)")
  "$bin/evoted" --config node$i/evoted.conf >>node$i/evoted.log 2>&1 </dev/null &
  pids[$i]=$!
done
echo; echo "== 3. a 4-validator cluster on this machine: peer ports $base-$((base + 3)), clients $((base + 100))-$((base + 103)), in $tmp"
connected=0
deadline=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$deadline" ]; do
  for i in 0 1 2 3; do
    kill -0 "${pids[$i]}" 2>/dev/null || { tail -n 3 "node$i/evoted.log" >&2; echo "run.sh: validator $i stopped (another program took its port? run again)" >&2; exit 1; }
  done
  connected=0
  for n in "${nodes[@]}"; do
    p=$("$evote" status --node "$n" --timeout 500 --json 2>/dev/null | sed -n 's/.*"peers_connected":\([0-9]*\).*/\1/p' || true)
    [ "${p:-0}" = 3 ] && connected=$((connected + 1))
  done
  [ $connected = 4 ] && break
  sleep 0.1
done
[ $connected = 4 ] || { echo "run.sh: the validators did not connect within 60 s (BENCH_KEEP=1 keeps the logs)" >&2; exit 1; }

G=(--genesis genesis.txt)
id=bench-ballots
quiet() { # runs "$@", shows its output only when it fails
  "$@" >"$tmp/cmd.out" 2>&1 || { cat "$tmp/cmd.out" >&2; echo "run.sh: failed: ${*##*/}" >&2; exit 1; }
}
par() { # "$@" once per trustee (TRUSTEE -> 0..3), in parallel
  local i ps=() rc=0
  for i in 0 1 2 3; do "${@//TRUSTEE/$i}" >"par.$i.out" 2>&1 & ps+=($!); done
  for i in 0 1 2 3; do wait "${ps[$i]}" || rc=1; done
  [ $rc = 0 ] || { cat par.?.out >&2; echo "run.sh: a trustee step failed" >&2; exit 1; }
}
t=$(now)
trustees=$(for i in 0 1 2 3; do "$evote" pubkey --key node$i/validator.key; done | paste -sd, -)
quiet "$evote" election create --key authority0.key "${G[@]}" --id "$id" --title "Ballot benchmark" \
  --question "Mayor" --options "Ada,Grace,Edsger" \
  --open-height 1 --close-height 100000000 --trustees "$trustees" --threshold 3 \
  --wait 10000 --node "${nodes[0]}"
par "$evote" trustee init --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE --wait 10000 --node "${nodes[0]}"
par "$evote" trustee deal --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE --wait 10000 --node "${nodes[0]}"
par "$evote" trustee check --key nodeTRUSTEE/validator.key "${G[@]}" --id "$id" --dir trusteeTRUSTEE --wait 10000 --node "${nodes[1]}"
echo "   election with 1 question, 3 options; key ceremony (4 trustees, threshold 3): $(secs "$t" "$(now)") s"

# The roll is frozen when the polls open: every voter first.
t=$(now)
total=$((nvoters + nlat + nval + ncatch))
"$evote" voter keygen --count "$total" --out-dir voters >roll.txt 2>keygen.err ||
  { cat keygen.err >&2; echo "run.sh: evote voter keygen failed" >&2; exit 1; }
quiet "$evote" voter register --key authority0.key "${G[@]}" --id "$id" --voters roll.txt --wait 60000 --node "${nodes[3]}"
quiet "$evote" election open --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "${nodes[1]}"
echo "   $total voters generated and registered ($nvoters for throughput + $nlat for latency + $ncatch for catch-up + $nval for 5.), then the polls opened: $(secs "$t" "$(now)") s"

# voter v chooses options[(v*v + v/7) % 3]: reproducible, checked in 4.
awk -v a=1 -v b="$nvoters" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = a; v <= b; v++) printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7)) % 3 + 1] }' >votes.txt
awk -v a=$((nvoters + 1)) -v b=$((nvoters + nlat)) 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = a; v <= b; v++) printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7)) % 3 + 1] }' >latvotes.txt
awk -v a=$((nvoters + nlat + 1)) -v b=$((nvoters + nlat + nval)) 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = a; v <= b; v++) printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7)) % 3 + 1] }' >valvotes.txt
awk -v a=$((nvoters + nlat + nval + 1)) -v b="$total" 'BEGIN { split("Ada Grace Edsger", o, " ");
  for (v = a; v <= b; v++) printf "voters/voter-%06d.key %s\n", v, o[(v * v + int(v / 7)) % 3 + 1] }' >catchvotes.txt

nodeargs=()
for n in "${nodes[@]}"; do nodeargs+=(--node "$n"); done
# CPU time (user + system, clock ticks) of the 4 validators so far: the
# load-independent cost of the run, whatever else this machine is doing.
cpu_ticks() {
  local p sum=0 f
  for p in "${pids[@]}"; do
    f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || { echo "run.sh: validator $p is gone" >&2; exit 1; }
    read -r -a st <<<"$f"
    sum=$((sum + st[11] + st[12])) # utime, stime (fields 14 and 15 of /proc/PID/stat)
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)
sampled() { sampled_verifications $((base + 200)) ballot; } # tests/bench/lib.sh
samp0=$(sampled)
verified0=$(metric_sum $((base + 200)) evote_mempool_verified_total)
h0=$("$evote" tip --node "${nodes[1]}" | cut -d' ' -f1 || true)
cpu0=$(cpu_ticks)
perfs=()
if [ -n "${BENCH_PERF:-}" ]; then # BENCH_PERF=DIR: perf record of validators 0 (primary) and 1 during the run
  mkdir -p "$BENCH_PERF"
  for i in 0 1; do
    if [ -n "${BENCH_PERF_EVENTS:-}" ]; then # e.g. probes made with 'perf probe -x evoted FUNCTION'
      perf stat --per-thread -e "$BENCH_PERF_EVENTS" -p "${pids[$i]}" -o "$BENCH_PERF/evoted$i.stat" >/dev/null 2>&1 &
    else
      perf record -F 499 ${BENCH_PERF_CALLGRAPH:--g} -p "${pids[$i]}" -o "$BENCH_PERF/evoted$i.perf" >"$BENCH_PERF/perf$i.log" 2>&1 &
    fi
    perfs+=($!)
  done
fi
t=$(now)
t_ms=$(date +%s%3N)
"$evote" vote --voters votes.txt "${G[@]}" --id "$id" "${nodeargs[@]}" --wait 120000 >codes.txt 2>vote.err &
bg=($!)
wait "${bg[0]}" || { cat vote.err >&2; echo "run.sh: evote vote --voters failed" >&2; exit 1; }
bg=()
t1=$(now)
cpu1=$(cpu_ticks)
samp1=$(sampled)
verified1=$(metric_sum $((base + 200)) evote_mempool_verified_total)
for p in "${perfs[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
h1=$("$evote" tip --node "${nodes[1]}" | cut -d' ' -f1 || true)
wall=$(secs "$t" "$t1")
enc_line=$(grep -E 'ballots from .*: encrypted and signed' vote.err | tail -1 | sed 's/^evote vote: //')
summary=$(grep -E 'ballots committed in .* from the first submission' vote.err | tail -1 | sed 's/^evote vote: //')
rate=$(sed -n 's/.* committed in \([0-9.]*\) s from the first submission (\([0-9]*\)\/s).*/\2/p' <<<"$summary")
committed=$(sed -n 's/^\([0-9]*\) ballots committed in .*/\1/p' <<<"$summary")
[ -n "$rate" ] && [ -n "$committed" ] || { cat vote.err >&2; echo "run.sh: no rate in evote vote's report" >&2; exit 1; }
echo "   throughput: evote vote --voters votes.txt --node EP0 --node EP1 --node EP2 --node EP3 --wait 120000"
echo "     evote reports: $enc_line"
echo "                    $summary"
echo "     (the rate: ballots committed / time from the first submission to the last commit seen;"
echo "      the voters' encryption comes before it, on every core, and is not in it)"
echo "     whole command, wall time (encryption included): $wall s = $(awk -v n="$nvoters" -v w="$wall" 'BEGIN { printf "%.0f", n / w }') ballots/s"
awk -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" -v n="$committed" -v cores="$cores" -v v="$ver3_ms" 'BEGIN {
  if (n < 1) { print "     validators CPU: no ballot committed"; exit }
  cpu = (c1 - c0) / hz; per = 1000 * cpu / n
  printf "     validators CPU (utime+stime of the 4 evoted, whole command): %.2f s = %.2f ms per committed ballot\n", cpu, per
  printf "       (4 x one verification = %.2f ms): %.0f ballots/s on %d idle cores, the load-independent figure\n", 4 * v, 1000 * cores / per, cores }'
awk -v a="$verified0" -v b="$verified1" -v n="$committed" 'BEGIN {
  if (n > 0 && b >= a) printf "     verifications: %.2f per committed ballot by the validators (4.00: once on each; fewer when one executes certified blocks without checking them)\n", (b - a) / n }'
cpu_rate=$(awk -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" -v n="$committed" -v cores="$cores" 'BEGIN { if (n < 1 || c1 <= c0) print 0; else printf "%.0f", cores * n * hz / (c1 - c0) }')
# The chain's view: the blocks committed meanwhile, their proposers' timestamps (same clock).
if [[ "$h0" =~ ^[0-9]+$ && "$h1" =~ ^[0-9]+$ ]]; then
  for h in $(seq $((h0 + 1)) "$h1"); do
    "$evote" block "$h" --json --node "${nodes[1]}" 2>/dev/null |
      sed -n 's/.*"timestamp_ms":\([0-9]*\),"tx_count":\([0-9]*\).*/\1 \2/p' || true
  done >blocks.txt
  awk -v t0="$t_ms" -v n="$nvoters" -v b0="$h0" -v b1="$h1" '
    $2 > 0 { if (!f) f = $1; l = $1; txs += $2; nb++ }
    END { if (nb < 2 || l <= f) { print "     chain: too few blocks to measure"; exit }
      printf "     chain: %d transactions in %d blocks (heights %d..%d, %.0f per block); first block with ballots proposed %.2f s\n", txs, nb, b0 + 1, b1, txs / nb, (f - t0) / 1000
      printf "       after the command started, the last %.2f s after: %.0f ballots/s between the two\n", (l - t0) / 1000, txs / ((l - f) / 1000) }' blocks.txt
fi

# latency: K ballots, one at a time
if [ "$nlat" -gt 0 ]; then
  : >lat.ms
  while read -r key choice; do
    a=$(date +%s%N)
    quiet "$evote" vote --key "$key" "${G[@]}" --id "$id" --choice "$choice" --wait 60000 --node "${nodes[$((RANDOM % 4))]}"
    grep -qE 'result (TX_RESULT_)?OK' "$tmp/cmd.out" || { cat "$tmp/cmd.out" >&2; echo "run.sh: a ballot was not counted" >&2; exit 1; }
    echo $((($(date +%s%N) - a) / 1000)) >>lat.ms
  done <latvotes.txt
  sort -n lat.ms >lat.sorted
  pct() { awk -v p="$1" '{ a[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.1f", a[i] / 1000 }' lat.sorted; }
  echo "   latency: $nlat ballots cast one by one (evote vote --key K --choice C --wait 60000, idle cluster),"
  echo "     each from the command's start to its exit (fetch, encrypt, submit, commit seen):"
  echo "     p50 $(pct 50) ms, p99 $(pct 99) ms, min $(pct 0) ms, max $(pct 100) ms"
fi
# catch-up: validator 2 misses C ballots, then executes them from its peers
if [ "$ncatch" -gt 0 ]; then
  kill -TERM "${pids[2]}"
  wait "${pids[2]}" 2>/dev/null || true
  hs=$("$evote" tip --node "${nodes[1]}" | cut -d' ' -f1)
  quiet "$evote" vote --voters catchvotes.txt "${G[@]}" --id "$id" --node "${nodes[0]}" --node "${nodes[1]}" \
    --node "${nodes[3]}" --wait 120000
  ht=$("$evote" tip --node "${nodes[1]}" | cut -d' ' -f1)
  t=$(now)
  "$bin/evoted" --config node2/evoted.conf >>node2/evoted.log 2>&1 </dev/null &
  pids[2]=$!
  hc=
  for _ in $(seq 1 12000); do # 10 ms steps: 120 s at most
    hc=$("$evote" tip --node "${nodes[2]}" --timeout 1000 2>/dev/null | cut -d' ' -f1 || true)
    [[ "$hc" =~ ^[0-9]+$ ]] && [ "$hc" -ge "$ht" ] && break
    sleep 0.01
  done
  tc=$(now)
  [[ "$hc" =~ ^[0-9]+$ ]] && [ "$hc" -ge "$ht" ] ||
    { echo "run.sh: validator 2 did not catch up within 120 s (at ${hc:-?}, the others at $ht)" >&2; exit 1; }
  f=$(sed 's/^.*) //' "/proc/${pids[2]}/stat")
  read -r -a st <<<"$f"
  echo "   catch-up: validator 2 stopped, $ncatch ballots cast on the other three (heights $((hs + 1))..$ht),"
  awk -v n="$ncatch" -v a="$t" -v b="$tc" -v cpu=$((st[11] + st[12])) -v hz="$hz" -v cores="$cores" 'BEGIN {
    printf "     validator 2 started again: at their tip %.2f s later (start-up included): %.0f ballots/s overall,\n", b - a, n / (b - a)
    printf "     its CPU %.2f s (%.2f ms per ballot; %.0f%% of %d cores)\n", cpu / hz, 1000 * cpu / hz / n, 100 * cpu / hz / (b - a) / cores, cores }'
  # Its log (one line per block): the blocks it executed since it started,
  # from the first to height $ht, and when they came.
  awk -v ht="$ht" '/ started as validator / { nb = 0; txs = 0; start = $1 }
    / committed block / && match($0, /seq=[0-9]+/) { seq = substr($0, RSTART + 4, RLENGTH - 4) + 0
      if (seq > ht) next; split($1, d, "T"); split(d[2], hms, ":"); s = hms[1] * 3600 + hms[2] * 60 + hms[3]
      if (nb == 0) first = s; last = s; nb++; txs += $(NF - 1) }
    END { split(start, d, "T"); split(d[2], hms, ":"); s0 = hms[1] * 3600 + hms[2] * 60 + hms[3]
      if (nb < 2 || last <= first) { print "     (its log: too few blocks to time the execution)"; exit }
      printf "     its log: first fetched block executed %.2f s after start-up (peers reconnecting); then\n", first - s0
      printf "     %d blocks, %d transactions in %.2f s: %.0f executed per second\n", nb, txs, last - first, txs / (last - first) }' node2/evoted.log
fi
# For 5.: the extra voters' ballots sealed (not cast), and a stopped copy of
# validator 3's data directory (the election open, every voter registered).
if [ "$nval" -gt 0 ]; then
  quiet "$evote" vote --voters valvotes.txt "${G[@]}" --id "$id" --node "${nodes[3]}" --encrypt-only sealed.txt
  kill -TERM "${pids[3]}"
  wait "${pids[3]}" 2>/dev/null || true
  cp -a node3/data vdata
  "$bin/evoted" --config node3/evoted.conf >>node3/evoted.log 2>&1 </dev/null &
  pids[3]=$!
fi
echo "   ratio: $rate ballots/s (evote's rate) / limit $limit = $(awk -v r="$rate" -v l="$limit" 'BEGIN { printf "%.0f", 100 * r / l }')% (target >= 80%)"
[ "${limit_all:-0}" -gt 0 ] && echo "          $rate ballots/s / all-cores limit $limit_all = $(awk -v r="$rate" -v l="$limit_all" 'BEGIN { printf "%.0f", 100 * r / l }')%"
echo "          $cpu_rate ballots/s (validators' CPU on $cores idle cores) / limit $limit = $(awk -v r="$cpu_rate" -v l="$limit" 'BEGIN { printf "%.0f", 100 * r / l }')%"
# What one verification cost inside the cluster, on the validators' own
# workers (1 in 16 timed): four validators sharing the cores slow the same
# code down; the limit at that cost separates that from evote's own work.
read -r n0 c0 <<<"$samp0"
read -r n1 c1 <<<"$samp1"
if awk -v a="$n0" -v b="$n1" 'BEGIN { exit !(b - a >= 20) }'; then
  awk -v n0="$n0" -v n1="$n1" -v c0="$c0" -v c1="$c1" -v v="$ver3_ms" -v r="$rate" -v cores="$cores" 'BEGIN {
    per = 1000 * (c1 - c0) / (n1 - n0); lim = cores / (4 * per / 1000)
    printf "          inside the cluster one ballot'"'"'s verification (decode, signature, proofs; %d timed on the\n", n1 - n0
    printf "          validators'"'"' workers) took %.3f ms of CPU (alone: %.3f ms, proofs only); at that cost the\n", per, v
    printf "          limit is %.0f ballots/s: %d / %.0f = %.0f%% (the rest is evote'"'"'s own work per ballot)\n", lim, r, lim, 100 * r / lim }'
fi
# The machine's speed drifts (a shared host): the verification measured
# again right after the cluster run shows how far, and the ratio against it.
"$bench_ballot" --verify-only >"$tmp/bench_ballot.after" 2>&1 || { cat "$tmp/bench_ballot.after" >&2; echo "run.sh: bench_ballot --verify-only failed" >&2; exit 1; }
ver3_after=$(sed -n 's/^1 question, 3 options.* verify \([0-9.]*\) ms.*/\1/p' "$tmp/bench_ballot.after")
if [ -n "$ver3_after" ]; then
  limit_after=$(awk -v c="$cores" -v v="$ver3_after" 'BEGIN { printf "%.0f", c / (4 * v / 1000) }')
  echo "          one verification measured again after the cluster run: $ver3_after ms (before: $ver3_ms ms), limit $limit_after:"
  echo "          $rate / $limit_after = $(awk -v r="$rate" -v l="$limit_after" 'BEGIN { printf "%.0f", 100 * r / l }')% (the two ratios differ by the machine's drift, not by evote)"
fi

# ---- 4. tally
echo; echo "== 4. tally of $total ballots"
t=$(now)
quiet "$evote" election close --key authority0.key "${G[@]}" --id "$id" --wait 10000 --node "${nodes[2]}"
tc=$(now)
# Each trustee asks its own validator, which may be a block behind the one
# that took the close: wait until each has executed it.
for i in 0 2 3; do
  for _ in $(seq 1 200); do
    "$evote" election show "$id" --node "${nodes[$i]}" 2>/dev/null | grep -q '^closed' && break
    sleep 0.05
  done
done
dp=()
for i in 0 2 3; do
  "$evote" trustee decrypt --key node$i/validator.key "${G[@]}" --id "$id" --dir trustee$i \
    --wait 20000 --node "${nodes[$i]}" >decrypt.$i.out 2>&1 &
  dp+=($!)
done
rc=0
for p in "${dp[@]}"; do wait "$p" || rc=1; done
[ $rc = 0 ] || { cat decrypt.?.out >&2; echo "run.sh: a trustee's decryption failed" >&2; exit 1; }
td=$(now)
json=
for _ in $(seq 1 1000); do
  json=$("$evote" result "$id" --json --node "${nodes[1]}" 2>/dev/null || true)
  grep -q '"Ada"' <<<"$json" && break
  json=
  sleep 0.01
done
tr=$(now)
[ -n "$json" ] || { echo "run.sh: no result 10 s after the decryptions" >&2; exit 1; }
read -r -a expect < <(cat votes.txt latvotes.txt catchvotes.txt | awk '{ c[$2]++ } END { printf "%d %d %d\n", c["Ada"], c["Grace"], c["Edsger"] }')
got=()
k=0
for o in Ada Grace Edsger; do
  got[$k]=$(sed -n "s/.*\"$o\":\([0-9]*\).*/\1/p" <<<"$json")
  [ "${got[$k]}" = "${expect[$k]}" ] || { echo "run.sh: $o has ${got[$k]} votes on the chain, ${expect[$k]} were cast" >&2; exit 1; }
  k=$((k + 1))
done
echo "   close (committed): $(secs "$t" "$tc") s; 3 of 4 trustees decrypt, in parallel (committed): $(secs "$tc" "$td") s;"
echo "   result shown $(secs "$td" "$tr") s later; from close to result: $(secs "$t" "$tr") s"
echo "   result: Ada ${got[0]}, Grace ${got[1]}, Edsger ${got[2]} (= the ballots cast)"
proj=$(grep -E '^  projected: tally of 1,000,000' "$tmp/bench_ballot.out" | sed 's/^  projected: //')
echo "   bench_ballot's projection: $proj (target <= 10 s)"

# ---- 5. one validator alone
if [ "$nval" -gt 0 ]; then
  echo; echo "== 5. one validator's pipeline alone (bench_validator; the cluster stopped first)"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  "$bench_validator" --genesis genesis.txt --data vdata --keys node0/validator.key,node1/validator.key,node2/validator.key \
    --ballots sealed.txt >bench_validator.out 2>&1 || { cat bench_validator.out >&2; echo "run.sh: bench_validator failed" >&2; exit 1; }
  sed 's/^/   /' bench_validator.out
  vrate=$(sed -n 's/.* s: \([0-9]*\) ballots\/s on .*/\1/p' bench_validator.out)
  vcpu=$(sed -n 's/.* ballots\/s per core, \([0-9]*\) ballots\/s on .*/\1/p' bench_validator.out)
  echo "   $nval ballots (3 options) through validator 3's pipeline: ${vrate:-?} ballots/s measured,"
  echo "     ${vcpu:-?} ballots/s from its CPU time on $cores idle cores (target >= 1,500)"
fi
