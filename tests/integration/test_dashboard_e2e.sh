#!/usr/bin/env bash
# The dashboard end to end in headless Chromium (tests/e2e/dashboard.test.js):
# installs playwright-core with `npm ci` from tests/e2e/package-lock.json into
# <build>/e2e (the source tree stays clean), then drives Debian's chromium
# against the build's chimed. Screenshots and chimed's log go to
# <build>/e2e-artifacts. Not skipped: a missing chromium, node or npm fails.
# Usage: bash test_dashboard_e2e.sh <build dir>
set -euo pipefail
build=${1:?usage: test_dashboard_e2e.sh <build dir>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/../e2e
build=$(cd "$build" && pwd)
[ -x "$build/chimed" ] || { echo "no chimed in $build" >&2; exit 1; }
chromium=${CHIME_E2E_CHROMIUM:-/usr/bin/chromium}
for tool in node npm "$chromium"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/deps.sh installs it)" >&2; exit 1; }
done
work=$build/e2e
artifacts=$build/e2e-artifacts
mkdir -p "$work"
rm -rf "$artifacts"
cp "$src/package.json" "$src/package-lock.json" "$src/dashboard.test.js" "$work/"
# npm ci again only when the lock file changed since the last install.
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.chime-installed-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$work/package-lock.json" "$work/node_modules/.chime-installed-lock"
fi
# The nodes page needs the PostgreSQL store: a fresh database on the cluster of
# scripts/with_pg.sh (CHIME_TEST_PG_URL, its maintenance database), dropped after.
pg_db=""
if [ -n "${CHIME_TEST_PG_URL:-}" ]; then
  pg_db=chime_e2e_$$
  psql -X -q -d "$CHIME_TEST_PG_URL" -c "CREATE DATABASE $pg_db"
  base=${CHIME_TEST_PG_URL%%\?*}            # the URL's database is its path, before the query
  export CHIME_E2E_PG_URL=${base%/*}/$pg_db${CHIME_TEST_PG_URL#"$base"}
  trap 'psql -X -q -d "$CHIME_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)"' EXIT
fi
node "$work/dashboard.test.js" "$build/chimed" "$artifacts"
