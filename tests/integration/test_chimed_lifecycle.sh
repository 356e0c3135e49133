#!/usr/bin/env bash
# chimed's life cycle, driven through the real binary: start on a free port
# (--port 0, the port read from the "chimed listening on http://HOST:PORT"
# log line) with a temp SQLite file, probe /healthz and /readyz, stop with
# SIGTERM / SIGINT (exit 0 within seconds), restart on the same file (the
# job count survives), and the start-up refusals: bad settings exit 2 naming
# the setting (flag, environment, .env file:line), a non-loopback host without
# a token exits 2 naming CHIME_API_TOKEN and --insecure-listen, a bad store
# exits 1. --help lists every setting. History retention: after a restart
# with --history-max-runs 1 / --history-max-age 1s the pruner's start-up pass
# leaves one / no run of a paused 1 s interval job.
# Not covered: a second signal during a long shutdown (no built-in job runs
# long enough yet: chime:exec does not exist).
# Usage: bash test_chimed_lifecycle.sh <build dir>
set -uo pipefail
build=${1:?usage: test_chimed_lifecycle.sh <build dir>}
chimed=$(cd "$build" && pwd)/chimed
[ -x "$chimed" ] || { echo "no chimed in $build" >&2; exit 1; }

tmp=$(mktemp -d /tmp/chimed-lifecycle-XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/       /' <<<"$2"; }
check() { if eval "$2"; then ok "$1"; else fail "$1" "${3:-}"; fi; }

# A clean environment: no inherited CHIME_* settings, no .env file.
export CHIME_ENV_FILE= DATABASE_URL="sqlite:///$tmp/chime.db"
unset CHIME_API_TOKEN CHIME_HOST CHIME_PORT CHIME_INSECURE_LISTEN SCHEDULER_MAX_WORKERS

# start <log> [args...]: starts chimed in the background, sets $pid and $port.
start() {
    local log=$1
    shift
    "$chimed" "$@" >"$log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*chimed listening on http:\/\/[^ ]*:\([0-9]*\) .*/\1/p' "$log" | head -1)
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# stop <signal>: signals chimed and waits up to 10 s; sets $rc and $took (s).
stop() {
    local t0=$SECONDS
    kill "-$1" "$pid"
    rc=timeout
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            rc=$?
            break
        fi
        sleep 0.1
    done
    took=$((SECONDS - t0))
    [ "$rc" = timeout ] && kill -KILL "$pid" 2>/dev/null
    pid=""
}

# --- start, probe, stop ---------------------------------------------------------
if start log1 --port 0; then
    ok "starts on --port 0 and logs the listening line"
    check "the listening line names the host, port and job count" \
        "grep -q 'chimed listening on http://127.0.0.1:$port (sqlite:///$tmp/chime.db, 0 jobs)' log1" \
        "$(cat log1)"
    body=$(curl -s "http://127.0.0.1:$port/healthz")
    check "GET /healthz answers ok" '[ "$body" = "{\"status\":\"ok\"}" ] || [ "$body" = "{\"status\": \"ok\"}" ]' "$body"
    body=$(curl -s "http://127.0.0.1:$port/readyz")
    check "GET /readyz answers ready" 'grep -q "\"ready\"" <<<"$body"' "$body"
    job=$(curl -s -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$port/schedule/jobs" \
        -d '{"func":"chime:noop","trigger":"interval","trigger_args":{"hours":1},"name":"keep me"}')
    check "a job can be added" 'grep -q "keep me" <<<"$job"' "$job"
    stop TERM
    check "SIGTERM exits 0" '[ "$rc" = 0 ]' "rc=$rc; $(cat log1)"
    check "SIGTERM exits within 5 s" '[ "$took" -le 5 ]' "took ${took}s"
    check "shutdown is logged" 'grep -q "SIGTERM: shutting down" log1 && grep -q "chimed stopped" log1' "$(cat log1)"
else
    fail "starts on --port 0 and logs the listening line" "$(cat log1)"
fi

if start log2 --port 0; then
    check "a restart on the same file finds the job" "grep -q '(sqlite:///$tmp/chime.db, 1 jobs)' log2" "$(cat log2)"
    stop INT
    check "SIGINT exits 0" '[ "$rc" = 0 ]' "rc=$rc; $(cat log2)"
else
    fail "restarts on the same SQLite file" "$(cat log2)"
fi

# --- history retention: the pruner's pass at start-up ------------------------------
# runs <job id>: how many runs the API lists for the job.
runs() {
    curl -s "http://127.0.0.1:$port/schedule/jobs/$1/runs?limit=1000" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))' 2>/dev/null
}
# runs_become <job id> <n>: waits up to 5 s for the count (the pruner's pass runs on its own
# thread, beside the HTTP start-up); sets $n to the last count seen.
runs_become() {
    for _ in $(seq 50); do
        n=$(runs "$1")
        [ "$n" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
export DATABASE_URL="sqlite:///$tmp/retention.db"
if start log5 --port 0; then
    curl -s -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$port/schedule/jobs" \
        -d '{"id":"tick","func":"chime:noop","trigger":"interval","trigger_args":{"seconds":1}}' >/dev/null
    for _ in $(seq 60); do
        [ "$(runs tick)" -ge 3 ] 2>/dev/null && break
        sleep 0.1
    done
    curl -s -X POST "http://127.0.0.1:$port/schedule/jobs/tick/pause" >/dev/null
    n=$(runs tick)
    check "a 1 s interval job leaves runs (>= 3)" '[ "${n:-0}" -ge 3 ]' "runs: $n"
    stop TERM
fi
if start log6 --port 0 --history-max-runs 1; then
    runs_become tick 1
    check "--history-max-runs 1 keeps one run per job after the start-up pass" '[ "$n" = 1 ]' "runs: $n"
    stop TERM
fi
sleep 1.1
if start log7 --port 0 --history-max-age 1s; then
    runs_become tick 0
    check "--history-max-age 1s deletes the older runs" '[ "$n" = 0 ]' "runs: $n"
    stop TERM
fi
export DATABASE_URL="sqlite:///$tmp/chime.db"

# --- refusals ---------------------------------------------------------------------
# expect_exit <name> <code> <pattern> <env/args...>: runs chimed to completion.
expect_exit() {
    local name=$1 code=$2 pattern=$3
    shift 3
    local out
    out=$(timeout 10 env "$@" 2>&1)
    local got=$?
    if [ "$got" = "$code" ] && grep -q -- "$pattern" <<<"$out"; then
        ok "$name"
    else
        fail "$name" "exit $got (want $code), output: $out"
    fi
}

expect_exit "SCHEDULER_MAX_WORKERS=abc exits 2 naming the setting" 2 \
    'invalid SCHEDULER_MAX_WORKERS "abc" (from the environment): not an integer' \
    SCHEDULER_MAX_WORKERS=abc "$chimed" --port 0
expect_exit "--port 70000 exits 2 naming the flag and variable" 2 \
    'invalid --port (CHIME_PORT) "70000": must be between 0 and 65535' "$chimed" --port 70000
expect_exit "an unknown flag exits 2" 2 'unknown option "--bogus"' "$chimed" --bogus
printf 'CHIME_PORT=0\nSCHEDULER_COALESCE=perhaps\n' >bad.env
expect_exit "a bad .env value exits 2 naming file:line" 2 \
    "invalid SCHEDULER_COALESCE \"perhaps\" (bad.env:2)" CHIME_ENV_FILE=bad.env "$chimed"
printf 'CHIME_PORT=0\nDATABASE_URL="unterminated\n' >bad2.env
expect_exit "a malformed .env line exits 2 with file:line" 2 \
    'bad2.env:2: unterminated double quote' "$chimed" --env-file bad2.env
expect_exit "a non-loopback host without a token exits 2" 2 \
    'CHIME_API_TOKEN.*--insecure-listen' "$chimed" --host 0.0.0.0 --port 0
expect_exit "an unsupported store exits 1 naming DATABASE_URL" 1 'DATABASE_URL' \
    DATABASE_URL=foo://bar "$chimed" --port 0
expect_exit "--help lists DATABASE_URL and CHIME_PORT" 0 'DATABASE_URL=' "$chimed" --help
expect_exit "--help lists CHIME_PORT with its flag" 0 '--port N, CHIME_PORT=' "$chimed" --help
expect_exit "--version prints the version" 0 '^chimed [0-9]' "$chimed" --version

# A token (or --insecure-listen) allows a non-loopback host.
if CHIME_API_TOKEN=t0ken start log3 --host 0.0.0.0 --port 0; then
    ok "a non-loopback host with CHIME_API_TOKEN starts"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/schedule/jobs")
    check "requests without the token are refused (401)" '[ "$code" = 401 ]' "got $code"
    stop TERM
else
    fail "a non-loopback host with CHIME_API_TOKEN starts" "$(cat log3)"
fi
if start log4 --host 0.0.0.0 --port 0 --insecure-listen; then
    ok "--insecure-listen allows a non-loopback host without a token"
    stop TERM
    check "... and it stops with exit 0" '[ "$rc" = 0 ]' "rc=$rc"
else
    fail "--insecure-listen allows a non-loopback host without a token" "$(cat log4)"
fi

echo "skip - a second SIGTERM during a long shutdown (no long-running built-in job yet)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
