#!/usr/bin/env bash
# The PostgreSQL test infrastructure: the cluster of the test run
# (CHIME_TEST_PG_URL, set by scripts/with_pg.sh, which `make test` uses) answers
# and lets tests create databases; scripts/pg_cluster.sh starts, restarts and
# stops a private cluster on a Unix socket only; scripts/with_pg.sh passes the
# command's exit status on and removes its cluster afterwards.
# Usage: bash test_pg_cluster.sh <build dir>   (the build dir is not used)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
passed=0; failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }

if [ -z "${CHIME_TEST_PG_URL:-}" ]; then
  fail "CHIME_TEST_PG_URL is not set (run the tests through scripts/with_pg.sh / make test)"
else
  [ "$(q "$CHIME_TEST_PG_URL" 'SELECT 1')" = 1 ] && ok "the test cluster answers" ||
    fail "the test cluster at $CHIME_TEST_PG_URL does not answer"
  name="chime_infra_$$"
  url="${CHIME_TEST_PG_URL/\/postgres\?//$name?}"
  if q "$CHIME_TEST_PG_URL" "CREATE DATABASE $name" >/dev/null &&
     [ "$(q "$url" 'SELECT current_database()')" = "$name" ]; then
    ok "a test creates and uses its own database"
  else
    fail "CREATE DATABASE / connect to $url"
  fi
  q "$CHIME_TEST_PG_URL" "DROP DATABASE IF EXISTS $name" >/dev/null
fi

dir=$(mktemp -d /tmp/chime-pg.XXXXXX)
trap '"$root/scripts/pg_cluster.sh" stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
url=$("$root/scripts/pg_cluster.sh" start "$dir")
[ "$url" = "postgresql://postgres@/postgres?host=$dir" ] && ok "start prints the URL" ||
  fail "start printed '$url'"
[ "$(q "$url" 'SELECT 1')" = 1 ] && ok "the private cluster answers" || fail "no answer at $url"
[ "$(q "$url" "SHOW listen_addresses")" = "" ] && ok "no TCP listener" ||
  fail "listen_addresses is not empty"
[ "$(q "$url" "SHOW fsync")" = off ] && ok "fsync off" || fail "fsync is on"
pid1=$(head -1 "$dir/data/postmaster.pid")
"$root/scripts/pg_cluster.sh" restart "$dir" && pid2=$(head -1 "$dir/data/postmaster.pid") &&
  [ "$pid1" != "$pid2" ] && [ "$(q "$url" 'SELECT 1')" = 1 ] && ok "restart" || fail "restart"
"$root/scripts/pg_cluster.sh" stop "$dir" && ! q "$url" 'SELECT 1' >/dev/null &&
  ok "stop" || fail "stop"
[ "$("$root/scripts/pg_cluster.sh" start "$dir")" = "$url" ] && [ "$(q "$url" 'SELECT 1')" = 1 ] &&
  ok "start again on the same directory" || fail "second start"

seen=$(env -u CHIME_TEST_PG_URL "$root/scripts/with_pg.sh" bash -c \
  'psql -X -At -d "$CHIME_TEST_PG_URL" -c "SELECT 1" >/dev/null && echo "${CHIME_TEST_PG_URL#*host=}"; exit 7' 2>/dev/null)
rc=$?
[ "$rc" = 7 ] && ok "with_pg.sh passes the exit status on" || fail "with_pg.sh exit status $rc, not 7"
[ -n "$seen" ] && [ ! -e "$seen" ] && ok "with_pg.sh removed its cluster ($seen)" ||
  fail "with_pg.sh left '$seen' behind (or gave no URL)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
