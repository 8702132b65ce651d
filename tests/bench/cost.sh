# Sourced by run.sh (phase 9): what a report costs, per stage, as numbers
# that survive a noisy machine. A sample is taken before and after a run at a
# fixed rate; the difference, divided by the reports of the run, gives per
# stage (each service and its own PostgreSQL backends) CPU milliseconds per
# 1,000 reports (utime + stime from /proc), and for the database WAL bytes
# per report (pg_current_wal_lsn) and rows written per report per table
# (pg_stat_user_tables: inserted + updated + deleted).
#
# Needs: $ANTT_DB_CONNINFO, $work, and the services' pids in intake_pid,
# worker_pid, notify_pid, agg_pid.

clk_tck=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of a process (0 when gone). The command name
# (field 2) may hold spaces: count the fields after its closing parenthesis.
cpu_ticks() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  set -- $s
  echo $(( ${12} + ${13} ))
}

# cost_sample FILE: one line per process and counter:
#   svc NAME TICKS | pg ROLE TICKS | wal LSN | rows TABLE N | reports N
cost_sample() {
  local out=$1 name pid role
  : > "$out"
  for name in intake classification notification aggregation; do
    case $name in
      intake) pid=$intake_pid ;; classification) pid=$worker_pid ;;
      notification) pid=$notify_pid ;; aggregation) pid=$agg_pid ;;
    esac
    [ -n "$pid" ] && echo "svc $name $(cpu_ticks "$pid")" >> "$out"
  done
  # every PostgreSQL process by what it works for: a service's role for its
  # sessions, else its background job (walwriter, checkpointer, autovacuum)
  psql "$ANTT_DB_CONNINFO" -tAF' ' -c "SELECT pid, CASE WHEN backend_type = 'client backend'
      THEN coalesce(nullif(regexp_replace(usename, '^antt_', ''), usename), 'other session')
      ELSE replace(backend_type, ' ', '_') END FROM pg_stat_activity WHERE pid <> pg_backend_pid()" |
    while read -r pid role; do
      [ -n "$pid" ] && echo "pg $role $(cpu_ticks "$pid")" >> "$out"
    done
  psql "$ANTT_DB_CONNINFO" -tAF' ' \
    -c "SELECT 'wal', pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint" \
    -c "SELECT 'rows', relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables" \
    -c "SELECT 'reports', count(*) FROM reports" >> "$out"
}

# cost_settle: waits until the sessions have reported their table counters:
# a busy backend sends them at most once a second, an idle one 10 s after its
# last transaction (PostgreSQL 15's PGSTAT_IDLE_INTERVAL). So: 11 s, then
# until two readings 1.5 s apart agree (at most 15 s more).
cost_settle() {
  local a b
  sleep 11
  a=$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables")
  for _ in $(seq 1 10); do
    sleep 1.5
    b=$(psql "$ANTT_DB_CONNINFO" -tAc "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables")
    [ "$a" = "$b" ] && return
    a=$b
  done
}

# cost_width MEDIANS: the mean width in bytes of the rows a report writes,
# weighted by how many of each table's rows it writes (the columns' average
# widths from pg_stats, after ANALYZE).
cost_width() {
  local values
  values=$(awk -F= '$1 ~ /^rows_/ && $2 > 0 {printf "%s(%s, %s)", (n++ ? "," : ""), "\x27" substr($1, 6) "\x27", $2}' "$1")
  [ -n "$values" ] || { echo 100; return; }
  psql "$ANTT_DB_CONNINFO" -qc "ANALYZE"
  psql "$ANTT_DB_CONNINFO" -tAc "WITH r(t, n) AS (VALUES $values),
      w AS (SELECT tablename AS t, sum(avg_width) AS width FROM pg_stats WHERE schemaname = 'public' GROUP BY tablename)
    SELECT coalesce(round(sum(r.n * coalesce(w.width, 32)) / sum(r.n)), 100) FROM r LEFT JOIN w USING (t)"
}

# cost_report S0 S1: one line of key=value per figure; the number of reports
# is the growth of the reports table. Keys: reports, cpu_<service>,
# cpu_pg_<role or background job> (ms per 1,000 reports), wal_bytes,
# rows_<table> and rows (per report).
cost_report() {
  awk -v tck="$clk_tck" '
    FNR == 1 { f++ }
    $1 == "svc" || $1 == "pg" { k = ($1 == "svc" ? "cpu_" : "cpu_pg_") $2; v[f, k] += $3; keys[k] = 1 }
    $1 == "wal" { v[f, "wal"] = $2 }
    $1 == "rows" { v[f, "rows_" $2] = $3; keys["rows_" $2] = 1 }
    $1 == "reports" { v[f, "reports"] = $2 }
    END {
      n = v[2, "reports"] - v[1, "reports"]
      if (n <= 0) { print "reports=0"; exit }
      printf "reports=%d", n
      for (k in keys) if (k ~ /^cpu_/) {
        d = v[2, k] - v[1, k]
        if (d > 0) printf " %s=%.1f", k, 1000.0 * d / tck * 1000.0 / n
      }
      printf " wal_bytes=%.0f", (v[2, "wal"] - v[1, "wal"]) / n
      total = 0
      for (k in keys) if (k ~ /^rows_/) {
        d = v[2, k] - v[1, k]
        if (d > 0) { printf " %s=%.2f", k, d / n; total += d }
      }
      printf " rows=%.2f\n", total / n
    }' "$1" "$2"
}

# cost_plain N ROWS WIDTH BATCH: the same number of rows (ROWS per report,
# N reports) of the pipeline's mean width, written by a plain batched
# INSERT (BATCH reports per transaction, synchronous commit as always) into
# a table with a primary key and one more index. Prints the same keys:
# cpu_pg_plain (ms per 1,000 reports), wal_bytes and rows per report.
cost_plain() {
  local n=$1 rows=$2 width=$3 batch=$4
  psql "$ANTT_DB_CONNINFO" -q <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_plain;
CREATE TABLE bench_plain (id bigserial PRIMARY KEY, k uuid NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload text);
CREATE INDEX ON bench_plain (k);
CREATE OR REPLACE PROCEDURE bench_plain_load(reports int, per_report numeric, width int, batch int)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. greatest(reports / batch, 1) LOOP
    INSERT INTO bench_plain (k, payload)
    SELECT gen_random_uuid(), repeat('x', width) FROM generate_series(1, round(batch * per_report)::int);
    COMMIT;
  END LOOP;
END $$;
SQL
  # the session's own CPU, read from /proc by psql's shell escapes around
  # the load; the WAL position's growth is the one output line
  local wal t0 t1
  wal=$(PLAIN_OUT="$work/plain" psql "$ANTT_DB_CONNINFO" -qtA -v n="$n" -v rows="$rows" -v width="$width" -v batch="$batch" <<'SQL'
SELECT pg_backend_pid() AS pid, pg_current_wal_lsn() AS l0 \gset
\setenv PLAIN_PID :pid
\! awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' /proc/$PLAIN_PID/stat > "$PLAIN_OUT.t0"
CALL bench_plain_load(:n, :rows, :width, :batch);
\! awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' /proc/$PLAIN_PID/stat > "$PLAIN_OUT.t1"
SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :'l0')::bigint;
SQL
)
  t0=$(cat "$work/plain.t0"); t1=$(cat "$work/plain.t1")
  awk -v n="$n" -v wal="$wal" -v t0="$t0" -v t1="$t1" -v tck="$clk_tck" -v rows="$rows" -v width="$width" -v batch="$batch" \
    'BEGIN { printf "reports=%d cpu_pg_plain=%.1f wal_bytes=%.0f rows=%.2f width=%d batch=%d\n", n, 1000.0 * (t1 - t0) / tck * 1000.0 / n, wal / n, rows, width, batch }'
  psql "$ANTT_DB_CONNINFO" -qc "DROP TABLE bench_plain" -c "DROP PROCEDURE bench_plain_load"
}

# cost_medians FILE: the median of each key over the lines of FILE.
cost_medians() {
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1], ++n[kv[1]]] = kv[2]; keys[kv[1]] = 1 } }
    END {
      for (k in keys) {
        m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
        for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        printf "%s=%s\n", k, a[int((m + 1) / 2)]
      }
    }' "$1" | sort
}

# With STATEMENTS=1 (pg_stat_statements, nested statements tracked):
# cost_statements_reset, then cost_statements N prints the 15 statements
# that took most time per report over N reports, with their role, calls
# and rows per report, planning µs per report and plans per call (time inside a function is counted for the function
# and again for each statement it runs).
cost_statements_reset() {
  psql "$ANTT_DB_CONNINFO" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -qc "SELECT pg_stat_statements_reset()" >/dev/null
}

cost_statements() {
  local n=${1:-0}
  [ "$n" -gt 0 ] || return 0
  psql "$ANTT_DB_CONNINFO" -tA -F' | ' -c "SELECT round((s.total_exec_time * 1000 / $n)::numeric, 1) AS us_per_report,
      regexp_replace(r.rolname, '^antt_', ''), round(s.calls::numeric / $n, 2) AS calls, round(s.rows::numeric / $n, 2) AS rows,
      round((s.total_plan_time * 1000 / $n)::numeric, 1) AS plan_us, round(s.plans::numeric / greatest(s.calls, 1), 2) AS plans_per_call,
      left(regexp_replace(s.query, '\s+', ' ', 'g'), 110)
    FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    ORDER BY s.total_exec_time + s.total_plan_time DESC LIMIT 15" | sed 's/^/us\/report | /'
}
