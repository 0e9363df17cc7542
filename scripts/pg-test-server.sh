#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests.
#
#   scripts/pg-test-server.sh start   # initdb + start; prints the URL
#   scripts/pg-test-server.sh url     # prints the URL of the running server
#   scripts/pg-test-server.sh stop    # stops it and deletes its directory
#
# The server lives in ${SEVWATCH_PG_DIR:-/tmp/sevwatch-pg-test}, runs as an
# unprivileged user (as root: the system user `sevwatch-pg`, created if
# missing), listens on 127.0.0.1 at a free port and on a unix socket in that
# directory only, keeps fsync=on and synchronous_commit=on, and trusts local
# connections (it holds test data only). The URL names database sevwatch_test:
#   postgresql://sevwatch@127.0.0.1:PORT/sevwatch_test
set -euo pipefail

dir=${SEVWATCH_PG_DIR:-/tmp/sevwatch-pg-test}
bindir=${SEVWATCH_PG_BIN:-/usr/lib/postgresql/15/bin}
run_user=sevwatch-pg
db=sevwatch_test
role=sevwatch

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}

# Runs a command as the server's user (root) or as ourselves (anyone else).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$run_user" -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
  [ -f "$dir/port" ] || die "not running (no $dir/port); run: $0 start"
  echo "postgresql://$role@127.0.0.1:$(cat "$dir/port")/$db"
}

start() {
  [ -x "$bindir/initdb" ] || die "$bindir/initdb not found (install postgresql-15: scripts/install-deps.sh)"
  if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    url
    return
  fi
  if [ "$(id -u)" -eq 0 ] && ! id "$run_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$run_user"
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$run_user:" "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U "$role" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }
  local port tries=0
  while :; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c synchronous_commit=on -c max_connections=200" \
      >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || {
      tail -n 20 "$dir/server.log" >&2 || true
      die "the server did not start"
    }
  done
  echo "$port" >"$dir/port"
  as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$role" "$db"
  url
}

stop() {
  if [ -d "$dir/data" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) die "usage: $0 start|stop|url" ;;
esac
