"""Jobs really run: a 1 s interval job fires on the real clock, its runs show
up in the job's history and in /schedule/runs (newest first, filters, cursor
paging); pause stops the runs, resume restarts them; run-now starts one
outside the schedule. Real time is only ever waited for with deadlines."""
import time

from chimetest import RFC3339_RE, poll
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES

EVERY_SECOND = {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1},
                "name": "tick"}
DIGEST_EVERY_SECOND = {"func": "app.jobs.registry:send_daily_digest", "trigger": "interval",
                       "trigger_args": {"seconds": 1}, "kwargs": {"user_segment": "beta"}}
NIGHTLY = {"func": "chime:noop", "trigger": "cron", "trigger_args": {"hour": 3},
           "name": "nightly"}
RUN_KEYS = {"id", "job_id", "scheduled_time", "started_at", "finished_at", "status"}


def add(d, body):
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()["id"]


def runs(d, path):
    r = d.req("GET", path)
    assert r.status == 200, r
    page = r.json()
    assert set(page) >= {"runs", "next_cursor"}, page
    return page


def finished(d, job_id):
    return [r for r in runs(d, f"/schedule/jobs/{job_id}/runs")["runs"]
            if r["status"] != "running"]


def test_interval_job_runs_and_is_recorded(chimed):
    job_id = add(chimed, EVERY_SECOND)
    got = poll(lambda: len(finished(chimed, job_id)) >= 2 and finished(chimed, job_id), 10)
    assert got, "no two finished runs of a 1 s job within 10 s:\n" + chimed.log_text()
    for run in got:
        assert set(run) >= RUN_KEYS, run
        assert run["job_id"] == job_id
        assert run["status"] == "succeeded", run
        for k in ("scheduled_time", "started_at", "finished_at"):
            assert RFC3339_RE.match(run[k]), run
    ids = [r["id"] for r in got]
    assert ids == sorted(ids, reverse=True), "runs are not newest first"
    sched = [r["scheduled_time"] for r in got]
    assert len(set(sched)) == len(sched), "one scheduled time recorded twice"
    everywhere = runs(chimed, "/schedule/runs")["runs"]
    assert set(ids) <= {r["id"] for r in everywhere}
    by_job = runs(chimed, f"/schedule/runs?job_id={job_id}&status=succeeded")["runs"]
    assert set(ids) <= {r["id"] for r in by_job}
    assert all(r["job_id"] == job_id and r["status"] == "succeeded" for r in by_job)
    assert runs(chimed, f"/schedule/runs?job_id={job_id}&status=failed")["runs"] == []


def test_reference_module_function_runs_with_kwargs(chimed):
    job_id = add(chimed, DIGEST_EVERY_SECOND)
    got = poll(lambda: finished(chimed, job_id), 10)
    assert got, chimed.log_text()
    assert got[0]["status"] == "succeeded", got[0]
    assert "beta" in (got[0].get("output") or ""), got[0]


def test_failing_job_recorded_failed(chimed):
    job_id = add(chimed, {"func": "chime:fail", "trigger": "interval",
                          "trigger_args": {"seconds": 1}, "kwargs": {"message": "boom"}})
    got = poll(lambda: finished(chimed, job_id), 10)
    assert got, chimed.log_text()
    assert got[0]["status"] == "failed" and "boom" in got[0]["error"], got[0]
    only_failed = runs(chimed, "/schedule/runs?status=failed")["runs"]
    assert job_id in {r["job_id"] for r in only_failed}
    assert chimed.req("GET", "/healthz").status == 200


def test_runs_cursor_paging(chimed):
    job_id = add(chimed, EVERY_SECOND)
    assert poll(lambda: len(finished(chimed, job_id)) >= 3, 10), chimed.log_text()
    chimed.req("POST", f"/schedule/jobs/{job_id}/pause")
    # Once the run in flight (if any) has finished the history is fixed.
    assert poll(lambda: all(r["status"] != "running" for r in
                            runs(chimed, f"/schedule/jobs/{job_id}/runs")["runs"]), 10)
    full = runs(chimed, f"/schedule/jobs/{job_id}/runs")["runs"]
    seen, url = [], f"/schedule/jobs/{job_id}/runs?limit=1"
    while url:
        page = runs(chimed, url)
        assert len(page["runs"]) <= 1
        seen += page["runs"]
        cur = page["next_cursor"]
        url = f"/schedule/jobs/{job_id}/runs?limit=1&cursor={cur}" if cur else None
        assert len(seen) <= len(full) + 1
    assert [r["id"] for r in seen] == [r["id"] for r in full]


def test_pause_stops_runs_resume_restarts(chimed):
    job_id = add(chimed, EVERY_SECOND)
    assert poll(lambda: finished(chimed, job_id), 10), chimed.log_text()
    r = chimed.req("POST", f"/schedule/jobs/{job_id}/pause")
    assert r.status == 200, r
    # A run started just before the pause may still finish: wait until none runs.
    assert poll(lambda: all(r["status"] != "running" for r in
                            runs(chimed, f"/schedule/jobs/{job_id}/runs")["runs"]), 10)
    count = len(runs(chimed, f"/schedule/jobs/{job_id}/runs")["runs"])
    time.sleep(2.5)  # observation window: more than two periods of the job
    assert len(runs(chimed, f"/schedule/jobs/{job_id}/runs")["runs"]) == count, \
        "a paused job kept running"
    r = chimed.req("POST", f"/schedule/jobs/{job_id}/resume")
    assert r.status == 200, r
    assert poll(lambda: len(finished(chimed, job_id)) > count, 10), \
        "a resumed 1 s job did not run again within 10 s"


def test_run_now(chimed):
    job_id = add(chimed, NIGHTLY)
    before = chimed.req("GET", f"/schedule/jobs/{job_id}").json()
    r = chimed.req("POST", f"/schedule/jobs/{job_id}/run")
    assert r.status == 202, r
    body = r.json()
    assert body["status"] == "started" and isinstance(body["run_id"], int), body
    run_id = body["run_id"]

    def done():
        return [x for x in finished(chimed, job_id) if x["id"] == run_id]
    got = poll(done, 10)
    assert got and got[0]["status"] == "succeeded", got
    after = chimed.req("GET", f"/schedule/jobs/{job_id}").json()
    assert after["next_run_time"] == before["next_run_time"], "run-now moved the schedule"


def test_deleted_job_stops_running(chimed):
    job_id = add(chimed, EVERY_SECOND)
    assert poll(lambda: finished(chimed, job_id), 10)
    assert chimed.req("DELETE", f"/schedule/jobs/{job_id}").status == 200
    assert poll(lambda: all(r["status"] != "running" for r in
                            runs(chimed, f"/schedule/runs?job_id={job_id}")["runs"]), 10)
    count = len(runs(chimed, f"/schedule/runs?job_id={job_id}")["runs"])
    time.sleep(2.5)  # observation window
    assert len(runs(chimed, f"/schedule/runs?job_id={job_id}")["runs"]) == count
