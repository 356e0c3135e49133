#!/usr/bin/env bash
# The embedding example runs a real scheduler for three seconds: the digest job
# runs (about three times), the bad job is refused naming its field, and the
# paused job lists with a null next_run_time. Also on a real SQLite file.
set -u
build=$1
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else echo "FAIL: $1"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for url in memory:// "sqlite:///$tmp/embed.db"; do
  "$build/example_embed" "$url" >"$tmp/out" 2>"$tmp/err"; rc=$?
  check "$url: exit 0" '[ $rc -eq 0 ]'
  check "$url: the digest ran at least twice" \
    '[ "$(grep -c "sending daily digest to segment .beta." "$tmp/err")" -ge 2 ]'
  check "$url: zero interval refused naming the field" 'grep -q "^refused: trigger_args.seconds" "$tmp/out"'
  check "$url: paused job listed with null next_run_time" \
    'grep -q "\"next_run_time\":null,\"paused\":true" "$tmp/out"'
done
check "the SQLite file holds the job" \
  '[ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from jobs\").fetchone()[0])" "$tmp/embed.db")" = 1 ]'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
