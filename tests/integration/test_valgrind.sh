#!/usr/bin/env bash
# valgrind (memcheck) on chimed's start/stop cycle: start on a fresh SQLite
# file, create a job, list, run it now, read its runs, delete it, SIGTERM;
# then a second start on the same file (load + lost-run sweep) and stop.
# Any memcheck error, or a definite/indirect leak, fails (--error-exitcode).
# Usage: bash test_valgrind.sh <build dir>
set -euo pipefail
build=${1:?usage: test_valgrind.sh <build dir>}
chimed="$build/chimed"
[ -x "$chimed" ] || { echo "no chimed in $build" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/deps.sh)" >&2; exit 1; }
if grep -q __asan_init "$chimed" 2>/dev/null || grep -q __tsan_init "$chimed" 2>/dev/null; then
    echo "test_valgrind: $chimed is a sanitizer build; valgrind needs a plain one" >&2
    exit 1
fi
tmp=$(mktemp -d /tmp/chime-valgrind.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

cycle() { # name, then the requests to make (a function name)
    local log="$tmp/$1.log"
    env -i PATH="$PATH" DATABASE_URL="sqlite:///$tmp/chime.db" \
        valgrind --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --track-fds=no "$chimed" --port 0 --shutdown-grace 5s 2>"$log" &
    pid=$!
    local port=
    for _ in $(seq 1 600); do
        port=$(sed -n 's/.*chimed listening on http:\/\/[^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$log" >&2; echo "test_valgrind: chimed did not start" >&2; exit 1; }
    "$2" "http://127.0.0.1:$port"
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    pid=
    if [ "$rc" -ne 0 ]; then
        cat "$log" >&2
        echo "test_valgrind: $1: chimed exited $rc under valgrind (99 = memcheck errors)" >&2
        exit 1
    fi
    echo "test_valgrind: $1: clean (exit 0, no memcheck errors, no definite/indirect leaks)"
}

first() {
    local url=$1 id
    id=$(curl -sf -X POST "$url/schedule/jobs" -H 'Content-Type: application/json' \
        -d '{"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1}, "name": "vg"}' |
        sed 's/^{"id":"\([0-9a-f]*\)".*/\1/')
    curl -sf -o /dev/null "$url/schedule/jobs"
    curl -sf -o /dev/null -X POST "$url/schedule/jobs/$id/run"
    curl -s -o /dev/null -X POST "$url/schedule/jobs" -d '{"func": 1'   # 422
    curl -s -o /dev/null "$url/schedule/jobs/nope"                      # 404
    sleep 2.5
    curl -sf -o /dev/null "$url/schedule/jobs/$id/runs"
    curl -sf -o /dev/null "$url/schedule/runs"
    curl -sf -o /dev/null "$url/openapi.json"
    curl -sf -o /dev/null -X POST "$url/schedule/jobs" -H 'Content-Type: application/json' \
        -d '{"func": "chime:noop", "trigger": "cron", "trigger_args": {"hour": "*/2", "timezone": "Europe/Paris"}}'
}

second() {
    local url=$1
    curl -sf -o /dev/null "$url/readyz"
    curl -sf -o /dev/null "$url/schedule/jobs"
}

cycle start-requests-stop first
cycle restart-stop second
