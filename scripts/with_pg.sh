#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster (scripts/pg_cluster.sh) whose
# maintenance database's URL is exported as CHIME_TEST_PG_URL; the cluster is
# stopped and removed afterwards, whatever the command's exit status (which is
# passed on). The PostgreSQL tests create their own databases from that URL.
# An already set CHIME_TEST_PG_URL (an existing server) is used as is.
#   scripts/with_pg.sh ctest --test-dir build ...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 command [args...]" >&2; exit 2; }
[ -z "${CHIME_TEST_PG_URL:-}" ] || exec "$@"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(mktemp -d /tmp/chime-pg.XXXXXX)
cleanup() {
  "$here/pg_cluster.sh" stop "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
CHIME_TEST_PG_URL=$("$here/pg_cluster.sh" start "$dir")
export CHIME_TEST_PG_URL
echo "with_pg: PostgreSQL test cluster at $CHIME_TEST_PG_URL" >&2
rc=0
"$@" || rc=$?
exit "$rc"
