#!/usr/bin/env bash
# Drives the real chimed through `chimectl jobs`: starts `chimed --port 0` on a
# temporary SQLite file, then adds, lists, gets, pauses, resumes, runs, reads
# run history, previews and deletes jobs, checking the human tables and the
# --json output, the error exits (unknown id, bad trigger, server down,
# 401 without the token) and the usage errors (exit 2). Paging: `jobs list`
# must return every job when there are more than one page (500) of them.
# Usage: bash test_chimectl_jobs.sh <build dir>
set -u
build=$(cd "${1:?usage: test_chimectl_jobs.sh <build dir>}" && pwd)
ctl=$build/chimectl
chimed=$build/chimed
for exe in "$ctl" "$chimed"; do
    [ -x "$exe" ] || { echo "no $(basename "$exe") in $build" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1 # no stray ./.env from the caller's directory
unset CHIME_URL CHIME_API_TOKEN CHIME_ENV_FILE

passed=0
failed=0
ok() { # name, condition status
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1"
        echo "  exit: $rc"
        echo "  stdout: $(head -c 2000 <<<"$out")"
        echo "  stderr: $(head -c 2000 <<<"$err")"
    fi
}
# ctl args...: runs chimectl; sets out, err, rc.
ctl() {
    out=$("$ctl" "$@" 2>"$tmp/err")
    rc=$?
    err=$(cat "$tmp/err")
}
# expect NAME RC [STDOUT-REGEX [STDERR-REGEX]] (after a ctl call)
expect() {
    local name=$1 want=$2 o=${3:-} e=${4:-} bad=0
    [ "$rc" -eq "$want" ] || bad=1
    [ -z "$o" ] || grep -Eq -- "$o" <<<"$out" || bad=1
    [ -z "$e" ] || grep -Eq -- "$e" <<<"$err" || bad=1
    ok "$name" $bad
}
# json_check NAME PYTHON-EXPR: evaluates EXPR with d = json.loads(stdout).
json_check() {
    python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); sys.exit(0 if eval(sys.argv[1]) else 1)' \
        "$2" <<<"$out" 2>/dev/null
    ok "$1" $?
}

# start_chimed NAME [env...]: starts chimed on a free port; sets url.
start_chimed() {
    local name=$1
    shift
    env "$@" DATABASE_URL="sqlite:///$tmp/$name.db" "$chimed" --port 0 --log-level debug \
        2>"$tmp/$name.log" &
    pids+=($!)
    url=
    for _ in $(seq 100); do
        url=$(sed -n 's|.*chimed listening on \(http://[^ ]*\).*|\1|p' "$tmp/$name.log" | head -1)
        [ -n "$url" ] && break
        sleep 0.1
    done
    if [ -z "$url" ]; then
        echo "chimed did not start:" >&2
        cat "$tmp/$name.log" >&2
        exit 1
    fi
}

start_chimed main
export CHIME_URL=$url

# --- empty list, add ---------------------------------------------------------
ctl jobs list
expect "list of no jobs: header only" 0 '^ID +NAME +NEXT RUN +TRIGGER +STATE$'
[ "$(wc -l <<<"$out")" -eq 1 ]
ok "list of no jobs has no rows" $?

ctl jobs add --func chime:noop --trigger interval --args '{"seconds": 3600}' --name hourly --id job-a
expect "add prints the job as key: value" 0 '^id: +job-a$'
grep -Eq '^name: +hourly$' <<<"$out" && grep -Eq '^next_run_time: +[0-9]{4}-' <<<"$out"
ok "add shows name and next_run_time" $?

ctl --json jobs add --func chime:noop --trigger cron --args '{"minute": "*/5", "timezone": "UTC", "start_date": "2029-01-01T00:00:00+00:00"}' \
    --name five --id job-b
expect "add --json" 0
json_check "add --json prints the job JSON" 'd["id"] == "job-b" and d["name"] == "five" and d["trigger"] == "cron"'

ctl jobs add --func chime:noop --trigger interval --args '{"seconds": 60}' --name dup --id job-a
expect "duplicate id is refused" 1 '' '^chimectl: 409: .*job-a.*already exists'

ctl jobs add --func chime:noop --trigger interval --args '{"seconds": 7200}' --name hourly2 --id job-a \
    --replace
expect "--replace replaces the job" 0 '^name: +hourly2$'

ctl jobs add --body '{"func": "chime:fail", "trigger": "date", "name": "from-body", "id": "job-c",
    "trigger_args": {"run_date": "2099-01-01T00:00:00+00:00"}}' --kwargs '{"message": "planned failure"}'
expect "add --body with --kwargs over it" 0 '^id: +job-c$'
grep -Eq '^kwargs: +\{"message": ?"planned failure"\}$' <<<"$out"
ok "add --body: --kwargs became the job's kwargs" $?

# --- list ----------------------------------------------------------------------
ctl jobs list
expect "list shows the jobs" 0 '^job-a +hourly2 +[0-9]{4}-.* +interval\[seconds=7200\] +scheduled$'
[ "$(wc -l <<<"$out")" -eq 4 ]
ok "list: header and three rows" $?
# Columns are aligned: every row's TRIGGER starts under the header's.
col=$(head -1 <<<"$out" | grep -bo 'TRIGGER' | cut -d: -f1)
aligned=0
while read -r line; do
    [ "$(cut -d: -f1 <<<"$(grep -bo -E '(interval|cron|date)\[' <<<"$line" | head -1)")" = "$col" ] ||
        aligned=1
done < <(tail -n +2 <<<"$out")
ok "list columns are aligned" $aligned

ctl --json jobs list
expect "list --json" 0
json_check "list --json is the array of jobs" \
    'sorted(j["id"] for j in d) == ["job-a", "job-b", "job-c"]'

ctl jobs --url "$url" list --json
json_check "--url and --json after the command" 'len(d) == 3'

# --- get -----------------------------------------------------------------------
ctl jobs get job-b
expect "get prints key: value lines" 0 '^trigger: +cron$'
grep -Eq '^trigger_args: +\{.*"minute": ?"\*/5"' <<<"$out" && grep -Eq '^paused: +false$' <<<"$out"
ok "get shows trigger_args and paused" $?

ctl --json jobs get job-b
json_check "get --json" 'd["id"] == "job-b" and d["trigger_args"]["minute"] == "*/5"'

# --- pause, resume ----------------------------------------------------------------
ctl jobs pause job-a
expect "pause" 0 'job-a: paused'
ctl jobs list
expect "list shows the paused job" 0 '^job-a .* paused$'
ctl jobs get job-a
expect "get shows paused: true" 0 '^paused: +true$'
ctl --json jobs pause job-a
json_check "pause --json" 'd == {"status": "paused"}'
ctl jobs resume job-a
expect "resume" 0 'job-a: resumed'
ctl jobs list
expect "list shows the resumed job scheduled" 0 '^job-a .* scheduled$'

# --- run now, history ---------------------------------------------------------------
ctl jobs run job-a
expect "run starts the job now" 0 '^job job-a: started \(run [0-9]+\)$'
ctl --json jobs run job-c
json_check "run --json" 'd["status"] == "started" and isinstance(d["run_id"], int)'
for _ in $(seq 50); do
    ctl --json jobs runs
    python3 -c 'import json, sys; d = json.load(sys.stdin)
sys.exit(0 if sum(r["status"] not in ("running", "scheduled") for r in d["runs"]) >= 2 else 1)' \
        <<<"$out" 2>/dev/null && break
    sleep 0.1
done
json_check "runs --json lists both runs" \
    'sorted(r["job_id"] for r in d["runs"]) == ["job-a", "job-c"] and "next_cursor" in d'
ctl jobs runs
expect "runs table" 0 '^RUN +JOB +SCHEDULED +ATTEMPT +STATUS +RESULT +LATENESS +DURATION +ERROR$'
grep -Eq '^[0-9]+ +job-c +[0-9]{4}-[^ ]+ +1 +failed +- +.* +planned failure$' <<<"$out"
ok "runs table shows the failed run's error" $?
ctl jobs runs job-a
expect "runs of one job" 0 '^[0-9]+ +job-a '
! grep -q 'job-c' <<<"$out"
ok "runs ID shows only that job" $?
ctl --json jobs runs --limit 1
json_check "runs --limit 1: one run and a next cursor" 'len(d["runs"]) == 1 and d["next_cursor"]'
cursor=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])' <<<"$out")
first=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["id"])' <<<"$out")
ctl --json jobs runs --limit 1 --cursor "$cursor"
json_check "runs --cursor: the next page" "len(d['runs']) == 1 and d['runs'][0]['id'] != $first"
ctl jobs runs --status failed
expect "runs --status failed" 0 'job-c'
! grep -q 'job-a' <<<"$out"
ok "runs --status filters" $?
ctl jobs runs --status bogus
expect "runs --status bogus: 400 naming status" 1 '' '^chimectl: 400: .*status'

# --- preview ------------------------------------------------------------------------
ctl jobs preview job-b --count 3
expect "preview" 0 '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][05]:00'
[ "$(wc -l <<<"$out")" -eq 3 ]
ok "preview --count 3 prints three fires" $?
ctl --json jobs preview job-b --count 2 --after 2030-01-01T00:02:00+00:00
json_check "preview --json --after" \
    'd["fires"] == ["2030-01-01T00:05:00+00:00", "2030-01-01T00:10:00+00:00"]'

# --- errors --------------------------------------------------------------------------
ctl jobs get nope
expect "unknown id: 404 Job not found" 1 '' '^chimectl: 404: Job not found$'
for action in pause resume delete run preview; do
    ctl jobs $action nope
    expect "$action unknown id: exit 1" 1 '' 'Job not found'
done
ctl jobs add --func chime:noop --trigger interval --args '{"seconds": "often"}' --name bad
expect "bad trigger args: exit 1 naming the field" 1 '' '^chimectl: 400: .*trigger_args\.seconds'
ctl jobs add --func chime:noop --trigger weekly --args '{}' --name bad
expect "unknown trigger: exit 1 naming trigger" 1 '' '^chimectl: 400: .*trigger'
ctl jobs add --func chime:noop --trigger interval --args '[1]' --name bad
expect "trigger_args not an object: 422 with loc" 1 '' '^chimectl: 422: body\.trigger_args: value is not a valid dict$'
ctl jobs add --body '{"trigger": "interval", "trigger_args": {"seconds": 1}}'
expect "missing func: 422 field required" 1 '' '^chimectl: 422: body\.func: field required$'
ctl jobs add --func no.such:thing --trigger interval --args '{"seconds": 5}' --name bad
expect "unknown func: exit 1 naming func" 1 '' '^chimectl: 400: .*func'

# --- usage errors ------------------------------------------------------------------------
ctl jobs
expect "jobs without action: exit 2" 2 '' '^usage: chimectl'
ctl jobs frob
expect "unknown action: exit 2" 2 '' 'unknown action'
ctl jobs get
expect "get without id: exit 2" 2 '' 'needs a job ID'
ctl jobs get a b
expect "extra argument: exit 2" 2 '' 'unexpected argument'
ctl jobs list --count 3
expect "option of another action: exit 2" 2 '' 'does not take --count'
ctl jobs add --func chime:noop --trigger interval --args '{oops'
expect "--args not JSON: exit 2" 2 '' 'not valid JSON'
ctl jobs add --name x
expect "add without func/trigger: exit 2" 2 '' 'needs --func and --trigger'
ctl jobs runs --limit ten
expect "--limit not a number: exit 2" 2 '' 'limit'
ctl jobs --bogus list
expect "unknown option: exit 2" 2 '' 'unknown option'
ctl jobs --help
expect "--help: exit 0" 0 '^usage: chimectl'

# --- delete ---------------------------------------------------------------------------------
ctl jobs delete job-c
expect "delete" 0 'job-c: deleted'
ctl jobs get job-c
expect "deleted job is gone" 1 '' 'Job not found'

# --- paging: more than one page (500) of jobs ------------------------------------------------
python3 - "$url" <<'PY'
import json, sys, urllib.request
for i in range(510):
    body = {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 600 + i},
            "name": f"bulk {i}", "id": f"bulk-{i:04d}"}
    req = urllib.request.Request(sys.argv[1] + "/schedule/jobs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=10).read()
PY
ok "bulk add of 510 jobs over HTTP" $?
# chimed logs one line per request at debug level: count the list's requests.
requests() { grep -cE 'GET /schedule/jobs(\?[^ ]*)? 200 ' "$tmp/main.log"; }
before=$(requests)
ctl jobs list
expect "list of 512 jobs" 0
[ $(($(requests) - before)) -ge 2 ]
ok "list asked for more than one page ($(($(requests) - before)) requests)" $?
[ "$(wc -l <<<"$out")" -eq 513 ] && [ "$(tail -n +2 <<<"$out" | awk '{print $1}' | sort -u | wc -l)" -eq 512 ]
ok "list follows the pages: 512 distinct rows" $?
ctl --json jobs list
json_check "list --json over pages: one array of 512 distinct jobs" \
    'len(d) == 512 and len({j["id"] for j in d}) == 512'

# --- token ----------------------------------------------------------------------------------------
main_url=$url
start_chimed secure CHIME_API_TOKEN=s3cret-token
ctl --url "$url" jobs list
expect "no token: 401" 1 '' '^chimectl: 401: Not authenticated$'
grep -q 'CHIME_API_TOKEN' <<<"$err"
ok "401 without a token hints at CHIME_API_TOKEN" $?
CHIME_API_TOKEN=wrong ctl --url "$url" jobs list
expect "wrong token: 401" 1 '' '401'
CHIME_API_TOKEN=s3cret-token ctl --url "$url" jobs add --func chime:noop --trigger interval \
    --args '{"seconds": 30}' --name secure --id sec-1
expect "token from the environment: add" 0 '^id: +sec-1$'
CHIME_API_TOKEN=s3cret-token ctl --url "$url" jobs list
expect "token from the environment: list" 0 '^sec-1 +secure '

# --- RESULT and ATTEMPT columns: a command that exits 3, retried once ---------------------------
start_chimed exec CHIME_ALLOW_EXEC=1
ctl --url "$url" jobs add --body '{"func": "chime:exec", "trigger": "interval", "id": "exit3",
    "trigger_args": {"hours": 1}, "retries": 1, "retry_backoff": 0,
    "kwargs": {"argv": ["/bin/sh", "-c", "exit 3"]}}'
expect "add a chime:exec job with one retry" 0 '^id: +exit3$'
ctl --url "$url" jobs run exit3
expect "run it now" 0 'started'
for _ in $(seq 50); do
    ctl --url "$url" jobs runs
    [ "$(grep -Ec ' exit 3 ' <<<"$out")" -ge 2 ] && break
    sleep 0.1
done
grep -Eq '^[0-9]+ +exit3 +[^ ]+ +1 +failed +exit 3 ' <<<"$out" &&
    grep -Eq '^[0-9]+ +exit3 +[^ ]+ +2 +failed +exit 3 ' <<<"$out"
ok "runs table: attempts 1 and 2 with RESULT exit 3" $?

# --- server down, no answer -----------------------------------------------------------------------
for pid in "${pids[@]}"; do
    kill -TERM "$pid" && wait "$pid"
done
pids=()
ctl --url "$main_url" jobs list
expect "server down: exit 1 naming the URL" 1 '' "cannot connect to chimed at $main_url"
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c = s.accept(); time.sleep(30)' >"$tmp/silent.port" &
silent=$!
pids+=($silent)
for _ in $(seq 50); do
    [ -s "$tmp/silent.port" ] && break
    sleep 0.1
done
start=$(date +%s)
ctl --url "http://127.0.0.1:$(cat "$tmp/silent.port")" jobs list
elapsed=$(($(date +%s) - start))
expect "a server that never answers: exit 1 after the timeout" 1 '' 'no answer from .* within 10 s'
[ "$elapsed" -ge 9 ] && [ "$elapsed" -le 20 ]
ok "the request timeout is about 10 s (took ${elapsed}s)" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
