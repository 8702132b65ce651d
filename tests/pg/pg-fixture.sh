#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for tests and local runs.
#   pg-fixture.sh start DIR [PORT]   initdb DIR/data if needed, start on 127.0.0.1,
#                                    write DIR/conninfo and DIR/port
#   pg-fixture.sh stop DIR           fast shutdown
#   pg-fixture.sh crash DIR          immediate shutdown (recovery at the next start)
#   pg-fixture.sh standby DIR PRIMARY_PORT [PORT]
#                                    a streaming standby of a running cluster
#   pg-fixture.sh promote DIR        the standby becomes a primary
#   pg-fixture.sh status DIR
# As root, the server runs as the unprivileged "postgres" user (PostgreSQL
# refuses to run as root). Durability settings are PostgreSQL's defaults
# (fsync, synchronous_commit and full_page_writes on).
set -euo pipefail

cmd=${1:?usage: pg-fixture.sh start|stop|status DIR [PORT]}
dir=$(realpath -m "${2:?missing DIR}")
bindir=${ANTT_PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}
[ -x "$bindir/initdb" ] || bindir=/usr/lib/postgresql/15/bin

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    chown postgres: "$dir"
    # every parent must be traversable by postgres
    p="$dir"; while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/initdb" -D "$dir/data" -U antt --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres already running: $(cat "$dir/conninfo")"
    exit 0
  fi
  want=${3:-}
  for attempt in $(seq 1 20); do
    if [ -n "$want" ]; then port=$want; else port=$(( 20000 + RANDOM % 30000 )); fi
    port_free "$port" || { [ -n "$want" ] && { echo "port $port is taken" >&2; exit 1; }; continue; }
    cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 256MB
wal_buffers = 16MB
max_wal_size = 2GB
log_min_messages = warning
log_line_prefix = '%m [%p] '
track_commit_timestamp = on
CONF
    # a caller's own settings (the bench's pg_stat_statements), one per line
    [ -n "${PG_EXTRA_CONF:-}" ] && printf '%s\n' "$PG_EXTRA_CONF" >>"$dir/data/postgresql.auto.conf"
    # a standby's own settings (primary_conninfo), kept across restarts
    [ -f "$dir/standby.conf" ] && cat "$dir/standby.conf" >>"$dir/data/postgresql.auto.conf"
    if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
      echo "$port" >"$dir/port"
      echo "host=127.0.0.1 port=$port user=antt" >"$dir/conninfo"
      chmod a+r "$dir/port" "$dir/conninfo"
      echo "postgres started: $(cat "$dir/conninfo")"
      exit 0
    fi
    [ -n "$want" ] && break
  done
  echo "could not start postgres; log:" >&2
  tail -20 "$dir/postgres.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  ;;
standby)
  # a streaming standby of the cluster on 127.0.0.1:PRIMARY_PORT, started on
  # PORT (or a free one): pg-fixture.sh standby DIR PRIMARY_PORT [PORT]
  primary=${3:?missing PRIMARY_PORT}
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  rm -rf "$dir/data"
  as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary" -U antt -D "$dir/data" -X stream -R -c fast >/dev/null
  grep '^primary_conninfo' "$dir/data/postgresql.auto.conf" >"$dir/standby.conf"
  exec bash "$0" start "$dir" ${4:-}
  ;;
promote)
  as_pg "$bindir/pg_ctl" -D "$dir/data" -w promote >/dev/null
  rm -f "$dir/standby.conf"
  ;;
crash)
  # what a power cut or a kill -9 of the postmaster leaves: no shutdown
  # checkpoint, recovery from the WAL at the next start
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
  ;;
status)
  as_pg "$bindir/pg_ctl" -D "$dir/data" status
  ;;
*)
  echo "usage: pg-fixture.sh start|stop|crash|status DIR [PORT]" >&2
  exit 2
  ;;
esac
