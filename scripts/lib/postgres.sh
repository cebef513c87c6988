# A throwaway PostgreSQL 15 cluster for tests: its own data folder under a temp
# folder, on a free loopback port, never the system cluster. Source it, then:
#   pg_start DIR   starts it; exports SEATFLOW_TEST_POSTGRES_URL and PG_PORT
#   pg_stop        stops it (its folder goes with the caller's temp folder)
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# 'postgres' system user that the Debian package creates.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

_pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local base="$1"
  PG_DATA="$base/pgdata"
  PG_SOCKET_DIR="$base/pgsocket"
  PG_PORT="$(free_port)"
  mkdir -p "$base" "$PG_DATA" "$PG_SOCKET_DIR"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$base" "$PG_DATA" "$PG_SOCKET_DIR"
  fi
  _pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U seatflow --auth=trust --encoding=UTF8 \
    --no-sync >"$base/initdb.log" 2>&1 || { cat "$base/initdb.log" >&2; return 1; }
  # Tuned for throwaway test data: durability off (no fsync), enough
  # connections for parallel suites. Commits stay synchronous: with
  # synchronous_commit off, commits wake the WAL writer (a signal) every
  # page of WAL, and the distributed flash sale's PostgreSQL used about 7 %
  # more CPU per purchase; without fsync a synchronous commit is one write.
  cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
fsync = off
full_page_writes = off
CONF
  _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$base/postgres.log" -w -t 30 start >/dev/null ||
    { cat "$base/postgres.log" >&2; return 1; }
  _pg_as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U seatflow seatflow_test
  export PG_PORT PG_DATA
  export SEATFLOW_TEST_POSTGRES_URL="postgresql://seatflow@127.0.0.1:$PG_PORT/seatflow_test"
  log "PostgreSQL 15 on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
}

pg_stop() {
  if [[ -n "${PG_DATA:-}" && -f "$PG_DATA/postmaster.pid" ]]; then
    _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
