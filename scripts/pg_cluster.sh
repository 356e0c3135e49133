#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and benchmarks: initdb in <dir>/data,
# listening only on a Unix socket in <dir> (no TCP port, so parallel clusters never
# collide), trust authentication, fsync off. Run as root, the server runs as the
# `postgres` OS user (Debian's postgresql package creates it); run as anyone else,
# it runs as that user. The superuser role is `postgres` either way.
#
#   scripts/pg_cluster.sh start <dir>    initdb (first time) + start; prints the URL
#   scripts/pg_cluster.sh restart <dir>  pg_ctl restart -m fast (drops connections)
#   scripts/pg_cluster.sh stop <dir>     pg_ctl stop -m fast (no error if not running)
#   scripts/pg_cluster.sh url <dir>      the maintenance database's libpq URL
#
# The URL is postgresql://postgres@/postgres?host=<dir>. Keep <dir> short (a Unix
# socket path is limited to 107 bytes): mktemp -d /tmp/chime-pg.XXXXXX is right.
set -euo pipefail

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  echo "pg_cluster: no PostgreSQL server binaries (install postgresql: scripts/deps.sh)" >&2
  exit 1
}

# Runs a command as the cluster's OS user, from <dir> (root's cwd may be unreadable).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

cmd_start() {
  mkdir -p "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
log_min_messages = warning
EOF
  fi
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$dir/server.log" >&2; exit 1; }
  cmd_url
}

cmd_url() { echo "postgresql://postgres@/postgres?host=$dir"; }

cmd_restart() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -m fast restart >/dev/null
}

cmd_stop() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 60 -m fast stop >/dev/null
}

action=${1:-}
dir=${2:-}
case "$action" in
  start|restart|stop|url) ;;
  *) echo "usage: $0 start|restart|stop|url <dir>" >&2; exit 2 ;;
esac
[ -n "$dir" ] || { echo "usage: $0 $action <dir>" >&2; exit 2; }
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
bin=$(pg_bin)
"cmd_$action"
