"""Per-job run options over real HTTP, on SQLite and PostgreSQL: timeout,
retries / retry_backoff / retry_jitter and overlap are accepted on POST and
PATCH, shown on GET, kept across a restart; bad values are a 400 naming the
field and store nothing; a command job's own timeout ends its run timed_out."""
import json
import os

import pytest

from chimetest import poll
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES

NIGHTLY = {"func": "chime:noop", "trigger": "cron", "trigger_args": {"hour": 3},
           "name": "nightly"}
OPTIONS = {"timeout": 30, "retries": 3, "retry_backoff": 2, "retry_jitter": 1}


def add(d, body):
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()["id"]


def finished(d, job_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return [run for run in r.json()["runs"] if run["status"] != "running"]


def test_options_stored_shown_patched_and_kept(chimed_factory):
    d = chimed_factory()
    job_id = add(d, {**NIGHTLY, **OPTIONS})
    got = d.req("GET", f"/schedule/jobs/{job_id}").json()
    assert {k: got[k] for k in OPTIONS} == OPTIONS, got
    plain = d.req("GET", f"/schedule/jobs/{add(d, NIGHTLY)}").json()
    assert not set(OPTIONS) & set(plain), plain  # defaults are left out, as other policies
    listed = {j["id"]: j for j in d.req("GET", "/schedule/jobs").json()}
    assert listed[job_id]["retries"] == 3 and listed[job_id]["timeout"] == 30
    r = d.req("PATCH", f"/schedule/jobs/{job_id}", {"overlap": "skip", "retries": 0,
                                                     "timeout": None})
    assert r.status == 200, r
    patched = r.json()
    assert "overlap" not in patched and "retries" not in patched, patched
    assert "timeout" not in patched and patched["retry_backoff"] == 2, patched
    assert d.stop() == 0, d.log_text()
    d2 = chimed_factory()
    assert d2.req("GET", f"/schedule/jobs/{job_id}").json() == patched


@pytest.mark.parametrize("field,value,words", [
    ("timeout", 0, "timeout"), ("timeout", 1.5, "timeout"), ("timeout", "10", "timeout"),
    ("retries", -1, "retries"), ("retries", 101, "retries"),
    ("retry_backoff", -3, "retry_backoff"), ("retry_jitter", True, "retry_jitter"),
    ("overlap", "kill", "overlap"), ("overlap", 2, "overlap"),
])
def test_bad_options_400_and_nothing_stored(chimed, field, value, words):
    r = chimed.req("POST", "/schedule/jobs", {**NIGHTLY, field: value})
    assert r.status == 400, r
    assert words in r.json()["detail"], r
    assert chimed.req("GET", "/schedule/jobs").json() == []
    job_id = add(chimed, NIGHTLY)
    before = chimed.req("GET", f"/schedule/jobs/{job_id}").json()
    r = chimed.req("PATCH", f"/schedule/jobs/{job_id}", {field: value})
    assert r.status == 400 and words in r.json()["detail"], r
    assert chimed.req("GET", f"/schedule/jobs/{job_id}").json() == before


def test_job_timeout_stops_a_command(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 5},
                     "timeout": 1,
                     "kwargs": {"argv": ["sh", "-c", "trap '' TERM; sleep 30"],
                                "kill_grace": 0.2}})
    got = poll(lambda: finished(d, job_id), 20)
    assert got, d.log_text()
    run = got[0]
    assert run["status"] == "timed_out", run
    assert run["error"] == "timed out after 1 s (SIGTERM, then SIGKILL after 0.2 s)", run
    assert json.loads(run["output"])["timed_out"] is True


FLAKY = {"func": "chime:fail", "trigger": "cron", "trigger_args": {"hour": 3},
         "kwargs": {"message": "flaky"}, "name": "flaky"}


def attempts(d, job_id):
    return sorted(finished(d, job_id), key=lambda run: run["attempt"])


def test_retries_each_attempt_its_own_record(chimed):
    job_id = add(chimed, {**FLAKY, "retries": 2, "retry_backoff": 1})
    r = chimed.req("POST", f"/schedule/jobs/{job_id}/run")
    assert r.status == 202, r
    got = poll(lambda: len(attempts(chimed, job_id)) >= 3 and attempts(chimed, job_id), 20)
    assert got, chimed.log_text()
    assert [run["attempt"] for run in got] == [1, 2, 3], got
    assert all(run["status"] == "failed" and run["error"] == "flaky" for run in got), got
    assert len({run["scheduled_time"] for run in got}) == 1, got  # attempts of one fire
    # backoff 1 s then 2 s (exponential)
    from datetime import datetime
    t = [datetime.fromisoformat(run["started_at"]) for run in got]
    assert (t[1] - t[0]).total_seconds() >= 1.0 and (t[2] - t[1]).total_seconds() >= 2.0, got
    assert len(finished(chimed, job_id)) == 3  # no fourth attempt


def test_retry_survives_a_restart(chimed_factory):
    d = chimed_factory()
    job_id = add(d, {**FLAKY, "retries": 1, "retry_backoff": 4})
    assert d.req("POST", f"/schedule/jobs/{job_id}/run").status == 202
    assert poll(lambda: finished(d, job_id), 10), d.log_text()
    assert d.stop() == 0, d.log_text()  # the retry is due in ~4 s: chimed is down then
    d2 = chimed_factory()
    got = poll(lambda: len(attempts(d2, job_id)) >= 2 and attempts(d2, job_id), 20)
    assert got, d2.log_text()
    assert [run["attempt"] for run in got] == [1, 2] and got[1]["status"] == "failed", got


def test_timed_out_command_is_retried(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {"func": "chime:exec", "trigger": "cron", "trigger_args": {"hour": 3},
                     "timeout": 1, "retries": 1, "retry_backoff": 0,
                     "kwargs": {"argv": ["sleep", "30"]}})
    assert d.req("POST", f"/schedule/jobs/{job_id}/run").status == 202
    got = poll(lambda: len(attempts(d, job_id)) >= 2 and attempts(d, job_id), 20)
    assert got, d.log_text()
    assert [(r["attempt"], r["status"]) for r in got] == [(1, "timed_out"), (2, "timed_out")], got
    assert all(r["cause"] == "manual" and r["exit_code"] is None for r in got), got


def runs_of(d, job_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return r.json()["runs"]


def test_overlap_queue_runs_back_to_back(chimed_factory):
    """A command slower than its interval: with overlap queue each fire waits for the
    running one and starts when it ends; nothing is skipped, one record per due time."""
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {"func": "chime:exec", "trigger": "interval",
                     "trigger_args": {"seconds": 1}, "overlap": "queue", "coalesce": False,
                     "misfire_grace_time": 60, "kwargs": {"argv": ["sleep", "1.5"]}})
    assert d.req("GET", f"/schedule/jobs/{job_id}").json()["overlap"] == "queue"
    got = poll(lambda: len(finished(d, job_id)) >= 3 and finished(d, job_id), 30)
    assert got, d.log_text()
    assert d.req("POST", f"/schedule/jobs/{job_id}/pause").status == 200
    runs = runs_of(d, job_id)
    assert all(run["status"] in ("succeeded", "running") for run in runs), runs
    done = sorted(finished(d, job_id), key=lambda run: run["started_at"])
    from datetime import datetime

    def t(run, key):
        return datetime.fromisoformat(run[key])
    for prev, nxt in zip(done, done[1:]):
        # each queued fire started once the previous run ended, not before
        assert t(nxt, "started_at") >= t(prev, "finished_at"), done
        assert t(nxt, "started_at") > t(nxt, "scheduled_time"), done  # it waited
    assert len({run["scheduled_time"] for run in runs}) == len(runs), runs


def test_overlap_queue_with_coalesce_runs_the_newest_waiting_fire(chimed_factory):
    """With overlap queue and coalesce one fire waits, the newest: each fire that comes
    due while the command runs takes the place of the one that waited, which is recorded
    missed (coalesced); the run after the first is of the last fire due before it ended."""
    from datetime import datetime, timedelta
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {"func": "chime:exec", "trigger": "interval",
                     "trigger_args": {"seconds": 1}, "overlap": "queue", "coalesce": True,
                     "misfire_grace_time": 60, "kwargs": {"argv": ["sleep", "3.5"]}})

    def succeeded():
        return [run for run in finished(d, job_id) if run["status"] == "succeeded"]
    assert poll(lambda: len(succeeded()) >= 2, 40), d.log_text()
    assert d.req("POST", f"/schedule/jobs/{job_id}/pause").status == 200
    runs = runs_of(d, job_id)

    def t(run, key):
        return datetime.fromisoformat(run[key])
    first, second = sorted(succeeded(), key=lambda run: run["scheduled_time"])[:2]
    folded = [run for run in runs
              if t(first, "scheduled_time") < t(run, "scheduled_time")
              < t(second, "scheduled_time")]
    assert len(folded) >= 2, runs  # about three fires came due during the 3.5 s run
    assert all(run["status"] == "missed" and run["error"] == "coalesced"
               for run in folded), folded
    assert t(second, "scheduled_time") > t(first, "finished_at") - timedelta(seconds=1.5), runs
    assert t(second, "started_at") >= t(first, "finished_at"), runs
    assert not [run for run in runs if run["status"] == "skipped"], runs
    assert len({run["scheduled_time"] for run in runs}) == len(runs), runs


def test_overlap_replace_cancels_the_running_command(chimed_factory, tmp_path):
    """With overlap replace the next fire stops the running command (SIGTERM, then
    SIGKILL after kill_grace: this one ignores SIGTERM), whose record ends cancelled,
    then starts."""
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    pids = tmp_path / "pids"
    body = {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 2},
            "overlap": "replace",
            "kwargs": {"argv": ["sh", "-c", f"echo $$ >> {pids}; trap '' TERM; sleep 30"],
                       "kill_grace": 0.3, "timeout": 5}}
    job_id = add(d, body)
    got = poll(lambda: [run for run in runs_of(d, job_id) if run["status"] == "cancelled"], 20)
    assert got, d.log_text()
    cancelled = got[-1]
    assert cancelled["error"].startswith("replaced by the run of "), cancelled
    assert "SIGKILL" in cancelled["error"], cancelled
    first_pid = int(pids.read_text().split()[0])
    assert poll(lambda: not os.path.exists(f"/proc/{first_pid}"), 10), "replaced command lives"
    # the replacing run starts once the replaced one ended, and is its own record
    newer = poll(lambda: [run for run in runs_of(d, job_id)
                          if run["scheduled_time"] > cancelled["scheduled_time"]
                          and run["started_at"]], 10)
    # paused only now: a paused job's queued (replacing) fire would wait for the resume
    assert d.req("POST", f"/schedule/jobs/{job_id}/pause").status == 200
    runs = runs_of(d, job_id)
    assert newer, runs
    assert not [run for run in runs if run["status"] == "skipped"], runs
    assert all(run["started_at"] is None or run["started_at"] >= cancelled["finished_at"]
               for run in newer), runs


def test_lost_run_is_retried_when_the_job_asks(chimed_factory):
    """A run that chimed could not finish (kill -9 in the middle) ends lost; a job
    with retries gets its next attempt (at the next start on SQLite, on the node
    that finds it lost with PostgreSQL), a job without none."""
    env = {"CHIME_ALLOW_EXEC": "1", "CHIME_SHUTDOWN_GRACE": "1"}  # the retry still sleeps
    d = chimed_factory(env=env)
    sleeper = {"func": "chime:exec", "trigger": "cron", "trigger_args": {"hour": 3},
               "kwargs": {"argv": ["sleep", "30"]}}
    retried = add(d, {**sleeper, "name": "retried", "retries": 1, "retry_backoff": 0})
    plain = add(d, {**sleeper, "name": "plain"})
    for job_id in (retried, plain):
        assert d.req("POST", f"/schedule/jobs/{job_id}/run").status == 202

    def running(job_id):
        runs = d.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
        return [r for r in runs if r["status"] == "running" and r["started_at"]]
    assert poll(lambda: running(retried) and running(plain), 10), d.log_text()
    d.kill()
    d2 = chimed_factory(env=env)

    def runs_of(job_id):
        got = d2.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
        return sorted(got, key=lambda r: r["attempt"])
    got = poll(lambda: len(runs_of(retried)) >= 2 and runs_of(retried)[1]["started_at"]
               and runs_of(retried), 15)
    assert got, d2.log_text()
    assert [(r["attempt"], r["status"]) for r in got] == [(1, "lost"), (2, "running")], got
    assert got[0]["scheduled_time"] == got[1]["scheduled_time"], got
    assert [(r["attempt"], r["status"]) for r in runs_of(plain)] == [(1, "lost")]
