#!/usr/bin/env bash
# make bench: starts a throwaway PostgreSQL and a release intake on this
# machine, then measures (medians of RUNS runs, each DURATION seconds):
#   1. ack latency at a fixed 5,000 reports/s
#   2. durable reports/s at full load (HTTP + ZeroMQ clients) and ack latency
#   3. a pgbench baseline: the same inserts (report key, report, queue row),
#      one transaction per report, as many clients as the load generator
#   4. the classifier alone on one core (reports/s, time per report)
#   5. intake + one classification worker at 5,000 reports/s: the time a
#      report spends in classification (arrival at the worker to its incident
#      published after commit), from the worker's histogram
#   6. intake + classification + notification at 1,000 and 5,000 reports/s:
#      from intake receiving a report to its desk feed message at a
#      subscriber (bench_feed)
#   7. trend queries over TREND_N (1,000,000) generated incidents loaded with
#      COPY into a database of their own: the district-year summary (last
#      year, and this year to date), a monthly series, a ward's summary, and
#      the summary over HTTP from aggregation (bench_trends query)
#   8. the whole stack with aggregation at 1,000 and 5,000 reports/s: from an
#      incident's change (its updated_at, in the classifying transaction) to
#      the city's day-total trend update at a subscriber of the trend PUB
#      (bench_trends lag; the load's reports fall all over the city)
#   9. the phase-8 stack at 1,000 and 5,000 reports/s: CPU ms per 1,000
#      reports per service and per service's PostgreSQL sessions (/proc),
#      WAL bytes and rows written per report (tests/bench/cost.sh), beside a
#      plain batched INSERT of as many rows of the same mean width
# and prints the figures and the ratio intake / pgbench from the same run.
# The services run as deployed: CURVE on every socket (CURVE=0: off, to
# measure its cost) and each service as its own database role.
set -euo pipefail
build=$(realpath "${1:-build}")
root=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
HTTP=${HTTP:-24}       # HTTP connections per thread
ZMQ=${ZMQ:-8}          # ZeroMQ sockets per thread
THREADS=${THREADS:-2}
PIPE_RATE=${PIPE_RATE:-5000}  # reports/s in the classification phase
PHASES=${PHASES:-123456789}   # which phases to run (e.g. PHASES=5)
TREND_N=${TREND_N:-1000000}   # incidents in the trend-query phase
COST_RATES=${COST_RATES:-1000 5000}  # the rates of phase 9
FEED_RATES=${FEED_RATES:-1000 5000}  # the rates of phase 6
bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

work=$(mktemp -d /tmp/antt-bench.XXXXXX)
intake_pid=
worker_pid=
notify_pid=
agg_pid=
cleanup() {
  [ -n "$agg_pid" ] && kill "$agg_pid" 2>/dev/null && wait "$agg_pid" 2>/dev/null || true
  [ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null && wait "$notify_pid" 2>/dev/null || true
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  [ -n "$intake_pid" ] && kill "$intake_pid" 2>/dev/null && wait "$intake_pid" 2>/dev/null || true
  bash "$root/tests/pg/pg-fixture.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

# STATEMENTS=1: pg_stat_statements on (nested statements too), and phase 9
# prints the statements that cost most per report
[ "${STATEMENTS:-0}" = 1 ] && export PG_EXTRA_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
pg_stat_statements.max = 2000"
bash "$root/tests/pg/pg-fixture.sh" start "$work/pg" >/dev/null
base=$(cat "$work/pg/conninfo")
psql "$base dbname=postgres" -qc "CREATE DATABASE antt"
export ANTT_DB_CONNINFO="$base dbname=antt"
# the keys as deployed: one file per service, each loaded into its own
# service only (with_keys); the load generators use the client's
mkdir -m 700 "$work/keys"
"$build/services/cli/antt" keygen --dir "$work/keys"
# a staff system's keypair, listed in curve.staff_clients: the trend PUB
# admits no other client key (issue 16); the lag reader speaks with it
"$build/services/cli/antt" keygen --curve > "$work/keys/staff.kp"
staff_pub=$(sed -n 's/^public: //p' "$work/keys/staff.kp")
{ grep -v '^ANTT_KEYS_CLIENT_CURVE' "$work/keys/client.env"
  echo "ANTT_KEYS_CLIENT_CURVE_PUBLIC='$staff_pub'"
  echo "ANTT_KEYS_CLIENT_CURVE_SECRET='$(sed -n 's/^secret: //p' "$work/keys/staff.kp")'"; } > "$work/keys/staff.env"
export ANTT_CURVE_STAFF_CLIENTS="$staff_pub"
# always in a subshell (&, $(...)): the exec makes $! the process itself
with_keys() { local holder=$1; shift; set -a; . "$work/keys/$holder.env"; set +a; exec "$@"; }
# as deployed: CURVE on every socket (CURVE=0 measures without it), each
# service logged in as its own role
[ "${CURVE:-1}" = 0 ] && export ANTT_CURVE_ENABLED=false
for s in intake classification notification aggregation; do
  export "ANTT_${s^^}_DB_CONNINFO=$ANTT_DB_CONNINFO user=antt_$s"
done
"$build/services/cli/antt" migrate >/dev/null
psql "$ANTT_DB_CONNINFO" -q -f "$root/deploy/demo/areas.sql" >/dev/null
key=$("$build/services/cli/antt" gateway add bench "Benchmark" --rate 1000000 --burst 1000000)

# 17 consecutive ports below the kernel's ephemeral range (32768 and up,
# where every outgoing connection takes its local port), none listening
for _ in $(seq 1 50); do
  port=$(( 20000 + RANDOM % 12000 ))
  taken=0
  for p in $(seq "$port" $((port + 16))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { taken=1; break; }
  done
  [ "$taken" = 0 ] && break
done
export ANTT_INTAKE_HTTP=127.0.0.1:$port
export ANTT_INTAKE_GATEWAY_ENDPOINT=tcp://127.0.0.1:$((port + 1))
export ANTT_INTAKE_PUSH_ENDPOINT=tcp://127.0.0.1:$((port + 2))
export ANTT_LOG_LEVEL=warn
# no classification runs here: keep the re-drive of the (growing) queue out of
# the measurement of the acknowledgement path
export ANTT_INTAKE_REDRIVE_AFTER_MS=600000
with_keys intake "$build/services/intake/antt-intake" > "$work/intake.log" 2>&1 &
intake_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

gen() { with_keys client "$build/tests/bench/bench_intake" --key "$key" --port "$port" \
  --zmq "$ANTT_INTAKE_GATEWAY_ENDPOINT" --threads "$THREADS" --http "$HTTP" --zmq-clients "$ZMQ" \
  --duration "$DURATION" "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

clients=$(( THREADS * (HTTP + ZMQ) ))
echo "machine: $(nproc) cores; PostgreSQL, intake and the load generator share it"
echo "load: $THREADS threads x ($HTTP HTTP + $ZMQ ZeroMQ) = $clients clients, ${DURATION}s per run, median of $RUNS runs"
echo

# let earlier writes settle (checkpoint, autovacuum) so that one phase does
# not measure the background work of the one before
settle() {
  psql "$ANTT_DB_CONNINFO" -qc "CHECKPOINT"
  for _ in $(seq 1 120); do
    n=$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
    [ "$n" = 0 ] && break
    sleep 0.5
  done
}

settle
: > "$work/fixed"; : > "$work/max"; : > "$work/pgb"; : > "$work/cls"; : > "$work/metrics"
has() { case $PHASES in *$1*) return 0;; esac; return 1; }
has 1 && for i in $(seq 1 "$RUNS"); do
  line=$(gen --rate 5000); echo "  5000/s run $i:   $line"; echo "$line" >> "$work/fixed"
done

has 2 && settle
has 2 && for i in $(seq 1 "${MAXRUNS:-$RUNS}"); do
  line=$(gen --rate 0); echo "  full load run $i: $line"; echo "$line" >> "$work/max"
done
cat > "$work/insert.sql" <<'SQL'
WITH k AS (INSERT INTO report_keys (gateway_id, idempotency_key, report_id, received_at)
           VALUES (1, gen_random_uuid()::text, gen_random_uuid(), now()) RETURNING report_id, received_at),
     r AS (INSERT INTO reports (id, received_at, gateway_id, idempotency_key, description, service_code, lat, lon)
           SELECT report_id, received_at, 1, 'pgbench', 'nha toi bi trom xe may dem qua o hem 12 duong so 7', 'theft', 10.75, 106.62
           FROM k RETURNING id, received_at)
INSERT INTO report_queue (report_id, received_at, next_attempt_at)
SELECT id, received_at, received_at + interval '15 seconds' FROM r;
SQL
curl -s "http://127.0.0.1:$port/metrics" > "$work/metrics"
batch=$(awk '/^antt_intake_batch_reports_sum/ {s=$2} /^antt_intake_batch_reports_count/ {c=$2} END {if (c) printf "%.1f", s / c}' "$work/metrics")
slow=$(awk '/^antt_intake_commit_seconds_bucket\{le="0.025"\}/ {a=$2} /^antt_intake_commit_seconds_count/ {c=$2} END {if (c) printf "%.3f", 100 * (c - a) / c}' "$work/metrics")
commit=$(awk '/^antt_intake_commit_seconds_sum/ {s=$2} /^antt_intake_commit_seconds_count/ {c=$2} END {if (c) printf "%.2f", 1000 * s / c}' "$work/metrics")
kill "$intake_pid"; wait "$intake_pid" 2>/dev/null || true; intake_pid=
has 3 && settle
has 3 && for i in $(seq 1 "$RUNS"); do
  tps=$("$bindir/pgbench" -n -f "$work/insert.sql" -c "$clients" -j "$THREADS" -T "$DURATION" "$ANTT_DB_CONNINFO" 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  echo "  pgbench run $i: tps=$tps"; echo "$tps" >> "$work/pgb"
done

# 4. the classifier alone, one core
has 4 && for i in $(seq 1 "$RUNS"); do
  line=$("$build/tests/bench/bench_classify" "$root/config/classification.rules" "$build/classify.model" "$DURATION" \
         "$root"/tests/data/train.tsv "$root"/tests/data/final/*.tsv)
  echo "  classifier run $i: $line"; echo "$line" >> "$work/cls"
done

# 5. intake + one classification worker at PIPE_RATE (5,000) reports/s. The earlier
# phases ran without a consumer: empty their queue so that the worker
# measures the live load, not a re-drive of old rows.
psql "$ANTT_DB_CONNINFO" -qc "TRUNCATE report_queue"
settle
export ANTT_INTAKE_REDRIVE_AFTER_MS=15000
export ANTT_CLASSIFICATION_HTTP=127.0.0.1:$((port + 3))
export ANTT_CLASSIFICATION_UNLOCATED_DESK=DESK-HCM-BTA
with_keys intake "$build/services/intake/antt-intake" > "$work/intake2.log" 2>&1 &
intake_pid=$!
with_keys classification "$build/services/classification/antt-classification" > "$work/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && \
    curl -sf "http://127.0.0.1:$((port + 3))/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# p50 and p99 of a histogram's growth between two scrapes (default: the
# classification stage's), by linear interpolation inside the bucket where
# the quantile falls; $3 names the histogram, $4 the prefix of the figures
quantiles() {
  awk -v q1=0.5 -v q2=0.99 -v h="${3:-antt_classify_latency_seconds}_bucket" -v pre="${4:-stage}" -v cnt="${4:-classified}" '
    FNR == 1 { f++ }
    index($0, h) == 1 {
      match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
      if (f == 1) a[le] = $2; else { b[le] = $2; les[++n] = le }
    }
    END {
      total = b["+Inf"] - a["+Inf"]
      for (k = 1; k <= 2; k++) {
        q = k == 1 ? q1 : q2; want = q * total; prev_le = 0; prev_c = 0
        for (i = 1; i <= n; i++) {
          if (les[i] == "+Inf") break
          c = b[les[i]] - a[les[i]]
          if (c >= want) { v = prev_le + (les[i] - prev_le) * (want - prev_c) / (c - prev_c + 1e-9); break }
          prev_le = les[i]; prev_c = c
        }
        printf "%s=%.2f ", (k == 1 ? pre "_p50_ms" : pre "_p99_ms"), v * 1000
      }
      printf "%s=%d\n", (cnt == pre ? pre "_n" : cnt), total
    }' "$1" "$2"
}
: > "$work/pipe"
has 5 && for i in $(seq 1 "$RUNS"); do
  curl -s "http://127.0.0.1:$((port + 3))/metrics" > "$work/m0"
  line=$(gen --rate "$PIPE_RATE")
  for _ in $(seq 1 100); do  # until the worker has caught up
    [ "$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT count(*) FROM report_queue")" = 0 ] && break
    sleep 0.1
  done
  curl -s "http://127.0.0.1:$((port + 3))/metrics" > "$work/m1"
  q=$(quantiles "$work/m0" "$work/m1")
  echo "  pipeline ${PIPE_RATE}/s run $i: $line $q"; echo "$line $q" >> "$work/pipe"
done
curl -s "http://127.0.0.1:$((port + 3))/metrics" > "$work/wm"
cbatch=$(awk '/^antt_classify_batch_size_sum/ {s=$2} /^antt_classify_batch_size_count/ {c=$2} END {if (c) printf "%.1f", s / c}' "$work/wm")
joined=$(awk '/^antt_classify_reports_total\{result="joined"\}/ {j=$2} /^antt_classify_reports_total\{result="new_incident"\}/ {n=$2} END {if (j + n) printf "%.0f", 100 * j / (j + n)}' "$work/wm")

# each stage's histogram (issue 18) from its service: intake (receipt to
# commit), classification (commit to classified), notification (classified
# to the desk feed)
stage_scrape() {
  curl -s "http://127.0.0.1:$port/metrics" > "$1.intake"
  curl -s "http://127.0.0.1:$((port + 3))/metrics" > "$1.classification"
  curl -s "http://127.0.0.1:$((port + 4))/metrics" > "$1.notification"
}
stage_figures() {
  echo "$(quantiles "$1.intake" "$2.intake" antt_intake_receipt_to_commit_seconds commit)" \
       "$(quantiles "$1.classification" "$2.classification" antt_classify_commit_to_classified_seconds classify)" \
       "$(quantiles "$1.classification" "$2.classification" antt_classify_latency_seconds worker)" \
       "$(quantiles "$1.notification" "$2.notification" antt_notify_classified_to_feed_seconds feed)"
}

# 6. the whole path to a dispatcher's feed: intake, one classification worker
# and notification; bench_feed subscribes to every desk's feed
: > "$work/feed1000"; : > "$work/feed5000"
if has 6; then
  kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true; worker_pid=
  psql "$ANTT_DB_CONNINFO" -qc "TRUNCATE report_queue"
  settle
  export ANTT_NOTIFICATION_HTTP=127.0.0.1:$((port + 4))
  export ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT=tcp://127.0.0.1:$((port + 5))
  export ANTT_NOTIFICATION_FEED_ENDPOINT=tcp://127.0.0.1:$((port + 6))
  export ANTT_NOTIFICATION_TRIAGE_ENDPOINT=tcp://127.0.0.1:$((port + 7))
  export ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS=notification=$ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT
  with_keys notification "$build/services/notification/antt-notification" > "$work/notify.log" 2>&1 &
  notify_pid=$!
  with_keys classification "$build/services/classification/antt-classification" > "$work/worker2.log" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$((port + 4))/readyz" >/dev/null 2>&1 && \
      curl -sf "http://127.0.0.1:$((port + 3))/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  for rate in $FEED_RATES; do
    for i in $(seq 1 "$RUNS"); do
      with_keys aggregation "$build/tests/bench/bench_feed" "$ANTT_NOTIFICATION_FEED_ENDPOINT" $((DURATION + 4)) > "$work/feed.out" &
      feed_pid=$!
      for _ in $(seq 1 50); do grep -q ready "$work/feed.out" 2>/dev/null && break; sleep 0.1; done
      sleep 1  # the subscription reaches the publisher (updates before it are not counted)
      stage_scrape "$work/s0"
      line=$(gen --rate "$rate")
      wait "$feed_pid"
      stage_scrape "$work/s1"
      f=$(tail -1 "$work/feed.out")
      st=$(stage_figures "$work/s0" "$work/s1")
      echo "  feed ${rate}/s run $i: $line $f"; echo "    stages: $st"; echo "$f $st" >> "$work/feed$rate"
    done
  done
fi

# 7. trend queries over a large history, in a database of their own
: > "$work/tq"
if has 7; then
  tdb="$base dbname=trends"
  psql "$base dbname=postgres" -qc "CREATE DATABASE trends"
  ANTT_DB_CONNINFO="$tdb" "$build/services/cli/antt" migrate >/dev/null
  psql "$tdb" -q -f "$root/deploy/demo/areas.sql" >/dev/null
  load=$("$build/tests/bench/bench_trends" load "$tdb" "$TREND_N")
  t0=$(date +%s.%N)
  rebuilt=$(ANTT_DB_CONNINFO="$tdb" "$build/services/cli/antt" rebuild-trends)
  rebuild_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  psql "$tdb" -qc "VACUUM ANALYZE"
  echo "  $load; rebuild ${rebuild_s}s ($rebuilt)"
  ANTT_DB_CONNINFO="$tdb" ANTT_AGGREGATION_DB_CONNINFO="$tdb user=antt_aggregation" \
    ANTT_AGGREGATION_HTTP=127.0.0.1:$((port + 8)) \
    ANTT_AGGREGATION_PUBLISH_ENDPOINT=tcp://127.0.0.1:$((port + 9)) \
    ANTT_AGGREGATION_SNAPSHOT_ENDPOINT=tcp://127.0.0.1:$((port + 10)) \
    ANTT_AGGREGATION_CLASSIFIED_ENDPOINT=tcp://127.0.0.1:$((port + 11)) \
    ANTT_AGGREGATION_UPDATE_ENDPOINT=tcp://127.0.0.1:$((port + 12)) \
    with_keys aggregation "$build/services/aggregation/antt-aggregation" > "$work/agg-trends.log" 2>&1 &
  agg_pid=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$((port + 8))/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  for i in $(seq 1 "$RUNS"); do
    line=$(with_keys client "$build/tests/bench/bench_trends" query "$tdb" "$DURATION" "http://127.0.0.1:$((port + 8))")
    echo "  trend queries run $i: $line"; echo "$line" >> "$work/tq"
  done
  kill "$agg_pid"; wait "$agg_pid" 2>/dev/null || true; agg_pid=
fi

# the whole stack: intake, a classification worker publishing to both,
# notification and aggregation (phases 8 and 9); started once
full_stack() {
  [ -n "$agg_pid" ] && return
  [ -n "$worker_pid" ] && { kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true; worker_pid=; }
  # a fresh day of incidents: earlier phases' open incidents would absorb the
  # load as duplicates
  psql "$ANTT_DB_CONNINFO" -qc "TRUNCATE report_queue, trend_queue" \
    -qc "UPDATE incidents SET status = 'resolved', outcome = 'bench', closed_at = now() WHERE status IN ('new', 'acknowledged', 'assigned')" \
    -qc "TRUNCATE trend_queue"
  settle
  export ANTT_NOTIFICATION_HTTP=127.0.0.1:$((port + 4))
  export ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT=tcp://127.0.0.1:$((port + 5))
  export ANTT_NOTIFICATION_FEED_ENDPOINT=tcp://127.0.0.1:$((port + 6))
  export ANTT_NOTIFICATION_TRIAGE_ENDPOINT=tcp://127.0.0.1:$((port + 7))
  export ANTT_AGGREGATION_HTTP=127.0.0.1:$((port + 13))
  export ANTT_AGGREGATION_PUBLISH_ENDPOINT=tcp://127.0.0.1:$((port + 14))
  export ANTT_AGGREGATION_SNAPSHOT_ENDPOINT=tcp://127.0.0.1:$((port + 15))
  export ANTT_AGGREGATION_CLASSIFIED_ENDPOINT=tcp://127.0.0.1:$((port + 16))
  export ANTT_AGGREGATION_UPDATE_ENDPOINT=$ANTT_NOTIFICATION_FEED_ENDPOINT
  export ANTT_CLASSIFICATION_PUBLISH_ENDPOINTS="notification=$ANTT_NOTIFICATION_CLASSIFIED_ENDPOINT aggregation=$ANTT_AGGREGATION_CLASSIFIED_ENDPOINT"
  if [ -z "$notify_pid" ]; then
    with_keys notification "$build/services/notification/antt-notification" > "$work/notify2.log" 2>&1 &
    notify_pid=$!
  fi
  with_keys aggregation "$build/services/aggregation/antt-aggregation" > "$work/agg.log" 2>&1 &
  agg_pid=$!
  with_keys classification "$build/services/classification/antt-classification" > "$work/worker3.log" 2>&1 &
  worker_pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$((port + 13))/readyz" >/dev/null 2>&1 && \
      curl -sf "http://127.0.0.1:$((port + 4))/readyz" >/dev/null 2>&1 && \
      curl -sf "http://127.0.0.1:$((port + 3))/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
}

# the load repeats its positions run after run: close the open incidents
# (triggers off: no trend work) so that each run creates incidents
# until every report is classified and counted (at most 60 s)
caught_up() {
  for _ in $(seq 1 600); do
    [ "$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT (SELECT count(*) FROM report_queue) + (SELECT count(*) FROM trend_queue)")" = 0 ] && break
    sleep 0.1
  done
}

close_incidents() {
  # once the pipeline has caught up with the run before (a bulk UPDATE beside
  # classification's updates of the same incidents can deadlock)
  caught_up
  psql "$ANTT_DB_CONNINFO" -qc "SET session_replication_role = replica" \
    -qc "UPDATE incidents SET status = 'resolved', outcome = 'bench' WHERE status IN ('new', 'acknowledged', 'assigned')"
}

# 8. live trends: the phase-6 stack plus aggregation, which binds the
# endpoint classification also publishes to
: > "$work/lag1000"; : > "$work/lag5000"
if has 8; then
  full_stack
  for rate in 1000 5000; do
    for i in $(seq 1 "$RUNS"); do
      close_incidents
      with_keys staff "$build/tests/bench/bench_trends" lag "$ANTT_AGGREGATION_PUBLISH_ENDPOINT" $((DURATION + 4)) > "$work/lag.out" &
      lag_pid=$!
      for _ in $(seq 1 50); do grep -q ready "$work/lag.out" 2>/dev/null && break; sleep 0.1; done
      sleep 1  # the subscription reaches the publisher
      line=$(gen --rate "$rate")
      wait "$lag_pid"
      f=$(tail -1 "$work/lag.out")
      echo "  trend lag ${rate}/s run $i: $line $f"; echo "$f" >> "$work/lag$rate"
    done
  done
  curl -s "http://127.0.0.1:$((port + 13))/metrics" > "$work/am"
  drains=$(awk '/^antt_aggregation_drains_total/ {print $2}' "$work/am")
  changes=$(awk '/^antt_aggregation_changes_total/ {print $2}' "$work/am")
fi

# 9. what a report costs, per stage: the phase-8 stack at 1,000 and 5,000
# reports/s; CPU per service and per service's PostgreSQL sessions, WAL and
# rows per report, once every report is classified, announced and counted;
# then a plain batched INSERT of as many rows of the same mean width
. "$root/tests/bench/cost.sh"
: > "$work/plain"; : > "$work/plain50"; for rate in $COST_RATES; do : > "$work/cost$rate"; done
crate=${COST_RATES##* }  # the rate the plain INSERT is compared at (the last)
if has 9; then
  full_stack
  for rate in $COST_RATES; do
    for i in $(seq 1 "$RUNS"); do
      close_incidents
      settle
      cost_settle
      [ "${STATEMENTS:-0}" = 1 ] && cost_statements_reset
      cost_sample "$work/c0"
      line=$(gen --rate "$rate")
      caught_up
      # CPU, WAL and reports as soon as the pipeline is done (an idle
      # stack's timers are not the reports' cost); the table counters once
      # the sessions have reported them
      cost_sample "$work/c1"
      cost_settle
      cost_sample "$work/c1r"
      { grep -v '^rows ' "$work/c1"; grep '^rows ' "$work/c1r"; } > "$work/c1m"
      r=$(cost_report "$work/c0" "$work/c1m")
      echo "  cost ${rate}/s run $i: $line"
      echo "    $r"; echo "$r" >> "$work/cost$rate"
      [ "${STATEMENTS:-0}" = 1 ] && cost_statements "$(echo "$r" | sed -n 's/^reports=\([0-9]*\).*/\1/p')" | sed 's/^/    /'
    done
  done
  prow=$(field " rows" < "$work/cost$crate" | median)
  cost_medians "$work/cost$crate" > "$work/cost$crate.m"
  pwidth=$(cost_width "$work/cost$crate.m")
  pbatch=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^antt_intake_batch_reports_sum/ {s=$2} /^antt_intake_batch_reports_count/ {c=$2} END {printf "%d", (c ? s / c : 1) + 0.5}')
  [ "${pbatch:-0}" -ge 1 ] || pbatch=1
  for i in $(seq 1 "$RUNS"); do
    r=$(cost_plain 50000 "$prow" "$pwidth" "$pbatch")
    echo "  plain batched INSERT run $i: $r"; echo "$r" >> "$work/plain"
  done
  # the machine's ceiling for these rows: the plain INSERT at 50 reports a
  # transaction (past which bigger batches measured no cheaper)
  for i in $(seq 1 "$RUNS"); do
    r=$(cost_plain 50000 "$prow" "$pwidth" 50)
    echo "  plain batched INSERT at 50 a transaction, run $i: $r"; echo "$r" >> "$work/plain50"
  done
fi

rps=$(field rps < "$work/max" | median)
p50=$(field p50_ms < "$work/max" | median); p99=$(field p99_ms < "$work/max" | median); p999=$(field p999_ms < "$work/max" | median)
f50=$(field p50_ms < "$work/fixed" | median); f99=$(field p99_ms < "$work/fixed" | median); f999=$(field p999_ms < "$work/fixed" | median)
frps=$(field rps < "$work/fixed" | median)
pgb=$(median < "$work/pgb")
stored=$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT count(*) FROM reports WHERE idempotency_key <> 'pgbench'")
echo
echo "intake, full load:   ${rps} durable reports/s; ack p50 ${p50} ms, p99 ${p99} ms, p99.9 ${p999} ms"
echo "intake, 5000/s:      ${frps} reports/s achieved; ack p50 ${f50} ms, p99 ${f99} ms, p99.9 ${f999} ms"
echo "pgbench baseline:    ${pgb} reports/s (one transaction per report, $clients clients)"
echo "ratio intake/pgbench: $(awk -v a="$rps" -v b="$pgb" 'BEGIN {printf "%.2f", a / b}')"
crps=$(field rps < "$work/cls" | median); cu50=$(field us_p50 < "$work/cls" | median); cu99=$(field us_p99 < "$work/cls" | median)
cload=$(field model_load_ms < "$work/cls" | median)
s50=$(field stage_p50_ms < "$work/pipe" | median); s99=$(field stage_p99_ms < "$work/pipe" | median)
a99=$(field " p99_ms" < "$work/pipe" | median)
echo "classifier, one core: ${crps} reports/s; ${cu50} us p50, ${cu99} us p99 per report (reasons included); model load ${cload} ms"
echo "classification stage at ${PIPE_RATE}/s: p50 ${s50} ms, p99 ${s99} ms from arrival at the worker to the incident"
echo "  published after commit (mean $cbatch reports per transaction, $joined% joined an open incident);"
echo "  intake ack p99 in the same runs ${a99} ms"
for rate in 1000 5000; do
  [ -s "$work/feed$rate" ] || continue
  echo "report to desk feed at ${rate}/s: p50 $(field " p50_ms" < "$work/feed$rate" | median) ms, p99 $(field " p99_ms" < "$work/feed$rate" | median) ms, p99.9 $(field p999_ms < "$work/feed$rate" | median) ms (intake receipt to the subscriber, $(field updates < "$work/feed$rate" | median) updates)"
  echo "  per stage, p50 / p99: receipt to commit $(field commit_p50_ms < "$work/feed$rate" | median) / $(field commit_p99_ms < "$work/feed$rate" | median) ms," \
       "commit to classified $(field classify_p50_ms < "$work/feed$rate" | median) / $(field classify_p99_ms < "$work/feed$rate" | median) ms," \
       "(in the worker, arrival to published $(field worker_p50_ms < "$work/feed$rate" | median) / $(field worker_p99_ms < "$work/feed$rate" | median) ms)," \
       "classified to feed $(field feed_p50_ms < "$work/feed$rate" | median) / $(field feed_p99_ms < "$work/feed$rate" | median) ms"
done
if [ -s "$work/tq" ]; then
  for q in district_last_year district_this_year district_months ward_last_year http_summary; do
    echo "trend query $q over $TREND_N incidents: p50 $(field "${q}_p50_ms" < "$work/tq" | median) ms, p99 $(field "${q}_p99_ms" < "$work/tq" | median) ms"
  done
fi
for rate in 1000 5000; do
  [ -s "$work/lag$rate" ] || continue
  echo "incident change to trend update at ${rate}/s: p50 $(field p50_ms < "$work/lag$rate" | median) ms, p99 $(field p99_ms < "$work/lag$rate" | median) ms (the city's day total at a PUB subscriber, oldest change per update, $(field updates < "$work/lag$rate" | median) updates; $drains drains applied $changes counter changes)"
done
for rate in 1000 5000; do
  [ -s "$work/cost$rate" ] || continue
  echo "cost per stage at ${rate}/s (medians; CPU ms per 1,000 reports, WAL bytes and rows per report):"
  cost_medians "$work/cost$rate" | awk -F= '{printf "  %-40s %s\n", $1, $2}'
done
if [ -s "$work/plain" ]; then
  echo "plain batched INSERT of the same rows (medians):"
  cost_medians "$work/plain" | awk -F= '{printf "  %-40s %s\n", $1, $2}'
  # sum of the medians (cost$crate.m, made above) whose keys match $1, the
  # background jobs (walwriter, checkpointer, ...) left out
  cpu_sum() { awk -F= -v k="$1" '$1 ~ k && $1 !~ /^cpu_pg_(walwriter|checkpointer|background_writer|autovacuum)/ {s += $2} END {print s + 0}' "$work/cost$crate.m"; }
  c=$(cpu_sum '^cpu_pg_')
  t=$(cpu_sum '^cpu_')  # the whole pipeline: the four services and their sessions
  w=$(awk -F= '$1 == "wal_bytes" {print $2}' "$work/cost$crate.m")
  pc=$(cost_medians "$work/plain" | awk -F= '$1 == "cpu_pg_plain" {print $2}')
  pw=$(cost_medians "$work/plain" | awk -F= '$1 == "wal_bytes" {print $2}')
  echo "ratio pipeline/plain at ${crate}/s: whole pipeline's CPU $(awk -v a="$t" -v b="$pc" 'BEGIN {printf "%.2f", a / b}'), database sessions' CPU $(awk -v a="$c" -v b="$pc" 'BEGIN {printf "%.2f", a / b}'), WAL $(awk -v a="$w" -v b="$pw" 'BEGIN {printf "%.2f", a / b}')"
  # what fits on this machine: CPU per report against the cores there are
  # (the load generator's own CPU not counted, so these are upper bounds)
  p50=$(field cpu_pg_plain < "$work/plain50" | median)
  sv=$(awk "BEGIN {print $t - $c}")  # the services' own
  cores=$(nproc)
  fits() { awk -v c="$cores" -v u="$1" 'BEGIN {printf "%d", c * 1e6 / u}'; }  # reports/s at $1 us each
  echo "ceiling on $cores cores: the plain INSERT of these rows at 50 a transaction ${p50} us a report (at most $(fits "$p50") reports/s with nothing else running);" \
       "the four services' own CPU at ${crate}/s ${sv} us a report (at most $(fits "$sv") reports/s without any database);" \
       "the whole pipeline ${t} us a report (at most $(fits "$t") reports/s)"
fi
echo "reports stored by intake during the runs: $stored (mean $batch reports per transaction, mean transaction $commit ms, $slow% of transactions over 25 ms)"
