"""The daemon's life cycle: jobs survive a restart on the same store, a SQLite
file or a PostgreSQL database (same id, name, next_run_time, paused state),
SIGTERM while jobs run lets them finish and exits 0, and bad settings stop
start-up with exit 2."""
import os
import re
import signal
import subprocess
import time
from datetime import datetime, timezone

from chimetest import clean_env, poll
from pgtest import BOTH_STORES

JOBS = [
    {"func": "app.jobs.registry:send_daily_digest", "trigger": "cron",
     "trigger_args": {"hour": 8, "minute": 0}, "name": "Daily digest"},
    {"func": "app.jobs.registry:purge_expired_sessions", "trigger": "interval",
     "trigger_args": {"hours": 1}, "name": "Purge sessions"},
    {"func": "app.jobs.registry:generate_weekly_report", "trigger": "cron",
     "trigger_args": {"day_of_week": "mon", "hour": 6, "timezone": "Europe/Berlin"},
     "id": "weekly"},
    {"func": "chime:noop", "trigger": "date",
     "trigger_args": {"run_date": "2099-05-01T12:00:00.250000+00:00"}, "name": "someday"},
]
KEPT = ("id", "name", "next_run_time", "func", "trigger", "trigger_args", "paused")


def snapshot(d):
    r = d.req("GET", "/schedule/jobs")
    assert r.status == 200, r
    return [{k: j.get(k) for k in KEPT} for j in r.json()]


@BOTH_STORES
def test_restart_keeps_jobs(chimed_factory, tmp_path, store):
    d = chimed_factory()
    for body in JOBS:
        assert d.req("POST", "/schedule/jobs", body).status == 200
    assert d.req("POST", "/schedule/jobs/weekly/pause").status == 200
    before = snapshot(d)
    assert len(before) == 4 and before[-1]["id"] == "weekly"
    assert d.stop() == 0, d.log_text()
    assert store != "sqlite" or os.path.exists(tmp_path / "chime.db")

    d2 = chimed_factory()
    assert re.search(r"\b4 jobs\b", d2.listen_line), d2.listen_line
    assert snapshot(d2) == before
    assert d2.req("POST", "/schedule/jobs/weekly/resume").status == 200
    assert d2.req("GET", "/schedule/jobs/weekly").json()["next_run_time"] is not None
    resumed = snapshot(d2)
    assert d2.stop() == 0
    d3 = chimed_factory()
    assert snapshot(d3) == resumed


@BOTH_STORES
def test_restart_keeps_run_history(chimed_factory):
    d = chimed_factory()
    job = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "interval",
                                           "trigger_args": {"seconds": 1}}).json()

    def done():
        rs = d.req("GET", f"/schedule/jobs/{job['id']}/runs").json()["runs"]
        return [r for r in rs if r["status"] == "succeeded"]
    seen = poll(done, 10)
    assert seen, d.log_text()
    assert d.stop() == 0
    d2 = chimed_factory()
    after = d2.req("GET", f"/schedule/jobs/{job['id']}/runs").json()["runs"]
    assert {r["id"] for r in seen} <= {r["id"] for r in after}


@BOTH_STORES
def test_sigterm_while_jobs_run_exits_0(chimed_factory):
    d = chimed_factory(args=["--shutdown-grace", "5s"])
    ids = []
    for i in range(20):
        r = d.req("POST", "/schedule/jobs", {"func": "app.jobs.registry:send_daily_digest",
                                             "trigger": "interval",
                                             "trigger_args": {"seconds": 1}, "name": f"t{i}"})
        assert r.status == 200, r
        ids.append(r.json()["id"])
    assert poll(lambda: d.req("GET", "/schedule/runs?status=succeeded").json()["runs"], 10)
    stopped_at = datetime.now(timezone.utc)
    assert d.stop(timeout=15) == 0, d.log_text()
    # No run of the first daemon was left half done or lost: after a restart
    # every run scheduled before the SIGTERM has ended normally.
    d2 = chimed_factory(args=["--shutdown-grace", "5s"])
    for job_id in ids:
        d2.req("POST", f"/schedule/jobs/{job_id}/pause")

    def stuck():
        rs = d2.req("GET", "/schedule/runs?limit=1000").json()["runs"]
        old = [r for r in rs if datetime.fromisoformat(r["scheduled_time"]) < stopped_at]
        assert old
        return [r for r in old if r["status"] not in ("succeeded", "missed", "skipped")]
    assert poll(lambda: not stuck(), 3), stuck()[:3]


def test_sigint_exits_0(chimed_factory):
    d = chimed_factory()
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(15) == 0, d.log_text()


def test_bad_setting_exits_2(tmp_path):
    build = os.environ["CHIME_BUILD_DIR"]
    for env, name in [({"SCHEDULER_MAX_WORKERS": "lots"}, "SCHEDULER_MAX_WORKERS"),
                      ({"SCHEDULER_COALESCE": "perhaps"}, "SCHEDULER_COALESCE"),
                      ({"CHIME_REQUEST_TIMEOUT": "soon"}, "CHIME_REQUEST_TIMEOUT")]:
        p = subprocess.run([os.path.join(build, "chimed"), "--port", "0"], cwd=tmp_path,
                           env=clean_env({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **env}),
                           capture_output=True, timeout=15)
        assert p.returncode == 2, (env, p.returncode, p.stderr[-500:])
        assert name.encode() in p.stderr, (env, p.stderr[-500:])


def test_dotenv_file_is_read(chimed_factory, tmp_path):
    (tmp_path / ".env").write_text("# settings\nCHIME_API_TOKEN='from-dotenv'\n")
    d = chimed_factory()
    assert d.req("GET", "/schedule/jobs").status == 401
    ok = d.req("GET", "/schedule/jobs", headers={"Authorization": "Bearer from-dotenv"})
    assert ok.status == 200, ok


def test_non_loopback_without_token_refused(tmp_path):
    build = os.environ["CHIME_BUILD_DIR"]
    p = subprocess.run([os.path.join(build, "chimed"), "--port", "0", "--host", "0.0.0.0"],
                       cwd=tmp_path, env=clean_env({"DATABASE_URL": "memory://"}),
                       capture_output=True, timeout=15)
    assert p.returncode != 0, p.stderr[-500:]
    assert b"CHIME_API_TOKEN" in p.stderr or b"insecure" in p.stderr, p.stderr[-500:]


def _overdue_after_restart(chimed_factory, env2):
    """A 1 s job runs, chimed is down ~3.5 s, then restarts with env2. Returns
    the second daemon's records of the times that came due while it was down."""
    d = chimed_factory()
    job_id = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "interval",
                                              "trigger_args": {"seconds": 1}}).json()["id"]
    assert poll(lambda: d.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"], 10)
    assert d.stop() == 0
    stopped_at = datetime.now(timezone.utc)
    time.sleep(3.5)  # the outage: about three fire times come due meanwhile
    restarted_at = datetime.now(timezone.utc)
    d2 = chimed_factory(env=env2)

    def window():
        rs = d2.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
        rs = [r for r in rs
              if stopped_at < datetime.fromisoformat(r["scheduled_time"]) <= restarted_at]
        if len(rs) >= 2 and all(r["status"] != "running" for r in rs):
            return sorted(rs, key=lambda r: r["scheduled_time"])
        return None
    got = poll(window, 10)
    assert got, "no records of the times due while chimed was down:\n" + d2.log_text()
    return got


@BOTH_STORES
def test_restart_coalesces_overdue_times(chimed_factory):
    got = _overdue_after_restart(chimed_factory, {})
    seen = [(r["scheduled_time"], r["status"], r["error"]) for r in got]
    early = got[:-1]
    assert all(r["status"] == "missed" and "coalesced" in (r["error"] or "") for r in early), seen
    assert got[-1]["status"] in ("succeeded", "missed"), seen
    assert not [r for r in got if r["status"] == "skipped"], seen


@BOTH_STORES
def test_restart_without_coalesce_setting(chimed_factory):
    got = _overdue_after_restart(chimed_factory, {"SCHEDULER_COALESCE": "off"})
    # Nothing folded away, nothing missed inside the grace: the first overdue
    # time runs (the later ones run too, APScheduler-style in the same instance,
    # or are skipped by max_instances 1, depending on the run semantics).
    seen = [(r["scheduled_time"], r["status"], r["error"]) for r in got]
    assert got[0]["status"] == "succeeded", seen
    assert all(r["status"] in ("succeeded", "skipped") and "coalesced" not in (r["error"] or "")
               for r in got), seen


@BOTH_STORES
def test_restart_misfire_grace_setting(chimed_factory):
    got = _overdue_after_restart(chimed_factory, {"SCHEDULER_MISFIRE_GRACE_TIME": "1"})
    assert any(r["status"] == "missed" and "misfire" in (r["error"] or "") for r in got), got


def test_database_url_from_dotenv(chimed_factory, tmp_path):
    db = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(f'# reference names\nexport DATABASE_URL="sqlite:///{db}"\n')
    d = chimed_factory(db=False)
    assert str(db) in d.listen_line, d.listen_line
    body = {"func": "chime:noop", "trigger": "cron", "trigger_args": {"hour": 1}}
    assert d.req("POST", "/schedule/jobs", body).status == 200
    assert d.stop() == 0, d.log_text()
    assert db.exists()
    d2 = chimed_factory(db=False)
    assert len(d2.req("GET", "/schedule/jobs").json()) == 1


def test_non_loopback_with_token_or_insecure_flag_starts(chimed_factory):
    d = chimed_factory(args=["--host", "0.0.0.0"], env={"CHIME_API_TOKEN": "t0ken"})
    assert d.req("GET", "/schedule/jobs", headers={"Authorization": "Bearer t0ken"}).status == 200
    d2 = chimed_factory(args=["--host", "0.0.0.0", "--insecure-listen"], db=False,
                        env={"DATABASE_URL": "memory://"})
    assert d2.req("GET", "/schedule/jobs").status == 200


def test_help_lists_every_setting(tmp_path):
    build = os.environ["CHIME_BUILD_DIR"]
    p = subprocess.run([os.path.join(build, "chimed"), "--help"], cwd=tmp_path, env=clean_env(),
                       capture_output=True, timeout=15)
    assert p.returncode == 0, p.stderr
    text = (p.stdout + p.stderr).decode()
    for env, flag in [("DATABASE_URL", None), ("SCHEDULER_MAX_WORKERS", None),
                      ("SCHEDULER_MISFIRE_GRACE_TIME", None), ("SCHEDULER_COALESCE", None),
                      ("SCHEDULER_TIMEZONE", None), ("CHIME_HOST", "--host"),
                      ("CHIME_PORT", "--port"), ("CHIME_API_TOKEN", None),
                      ("CHIME_INSECURE_LISTEN", "--insecure-listen"),
                      ("CHIME_LOG_LEVEL", "--log-level"),
                      ("CHIME_HISTORY_MAX_AGE", "--history-max-age"),
                      ("CHIME_HISTORY_MAX_RUNS", "--history-max-runs"),
                      ("CHIME_PLUGIN_DIR", "--plugin-dir"),
                      ("CHIME_SHUTDOWN_GRACE", "--shutdown-grace"),
                      ("CHIME_NODE_NAME", "--node-name"), ("CHIME_MAX_BODY", "--max-body"),
                      ("CHIME_REQUEST_TIMEOUT", "--request-timeout"),
                      ("CHIME_MAX_CONNECTIONS", "--max-connections")]:
        assert env in text, env
        assert flag is None or flag in text, flag
    assert "--api-token" not in text  # secrets stay out of argv


@BOTH_STORES
def test_node_name_recorded_in_runs(chimed_factory):
    d = chimed_factory(args=["--node-name", "itest-node-7"])
    job = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "cron",
                                           "trigger_args": {"hour": 3}}).json()
    run_id = d.req("POST", f"/schedule/jobs/{job['id']}/run").json()["run_id"]

    def done():
        rs = d.req("GET", f"/schedule/jobs/{job['id']}/runs").json()["runs"]
        return [r for r in rs if r["id"] == run_id and r["status"] != "running"]
    got = poll(done, 10)
    assert got and got[0]["node"] == "itest-node-7", got


def _manual_runs(d, n):
    """A job that never fires on its own, run n times by hand; its id and the
    run ids, newest first, once all have finished."""
    # max_instances n: back-to-back run-now calls must not find the previous run
    # still in flight (that would rightly be a 409 with max_instances 1).
    job_id = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "cron",
                                              "trigger_args": {"hour": 3, "day": 1,
                                                               "month": 1},
                                              "max_instances": n}).json()["id"]
    for _ in range(n):
        r = d.req("POST", f"/schedule/jobs/{job_id}/run")
        assert r.status == 202, r

    def done():
        rs = d.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
        return len(rs) == n and all(r["status"] == "succeeded" for r in rs) and rs
    rs = poll(done, 10)
    assert rs, d.log_text()
    return job_id, [r["id"] for r in rs]


@BOTH_STORES
def test_history_max_runs_applied_at_start(chimed_factory):
    d = chimed_factory()
    job_id, ids = _manual_runs(d, 5)
    assert d.stop() == 0
    d2 = chimed_factory(args=["--history-max-runs", "2"])

    def kept():
        return [r["id"] for r in d2.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]]
    assert poll(lambda: len(kept()) == 2, 5), kept()
    assert kept() == ids[:2]


@BOTH_STORES
def test_history_max_age_applied_at_start(chimed_factory):
    d = chimed_factory()
    job_id, _ = _manual_runs(d, 3)
    assert d.stop() == 0
    time.sleep(1.5)  # the runs become older than the 1 s retention below
    d2 = chimed_factory(env={"CHIME_HISTORY_MAX_AGE": "1s"})
    assert poll(lambda: d2.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"] == [], 5)
    assert d2.req("GET", f"/schedule/jobs/{job_id}").status == 200  # the job stays


def test_port_in_use_exits_1_before_any_job_fires(chimed_factory, tmp_path):
    """The API listens before the scheduler starts: a chimed that cannot bind
    its port exits 1 naming it, and has claimed nothing (no run recorded, the
    overdue job's next_run_time unchanged)."""
    import socket
    import sqlite3
    d = chimed_factory()
    job = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "interval",
                                           "trigger_args": {"seconds": 1},
                                           "misfire_grace_time": None}).json()
    assert job["id"], job
    assert d.stop() == 0, d.log_text()
    time.sleep(2.2)  # the job is overdue now

    def state():
        with sqlite3.connect(tmp_path / "chime.db") as db:
            runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            jobs = db.execute("SELECT id, next_run_time FROM jobs").fetchall()
        return runs, jobs
    before = state()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        build = os.environ["CHIME_BUILD_DIR"]
        p = subprocess.run([os.path.join(build, "chimed"), "--port", str(port)], cwd=tmp_path,
                           env=clean_env({"DATABASE_URL": f"sqlite:///{tmp_path}/chime.db"}),
                           capture_output=True, timeout=30)
    finally:
        busy.close()
    assert p.returncode == 1, (p.returncode, p.stderr[-800:])
    assert str(port).encode() in p.stderr, p.stderr[-800:]
    assert state() == before


def test_second_chimed_on_one_sqlite_file_refused(chimed_factory, tmp_path):
    """Two chimed on one SQLite file would each fire every job: the second
    exits 1 naming the file, the first keeps serving."""
    d = chimed_factory()
    assert d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "interval",
                                            "trigger_args": {"hours": 1},
                                            "id": "one"}).status == 200
    build = os.environ["CHIME_BUILD_DIR"]
    p = subprocess.run([os.path.join(build, "chimed"), "--port", "0"], cwd=tmp_path,
                       env=clean_env({"DATABASE_URL": f"sqlite:///{tmp_path}/chime.db"}),
                       capture_output=True, timeout=30)
    assert p.returncode == 1, (p.returncode, p.stderr[-800:])
    assert b"in use by another process" in p.stderr, p.stderr[-800:]
    assert str(tmp_path / "chime.db").encode() in p.stderr, p.stderr[-800:]
    assert [j["id"] for j in d.req("GET", "/schedule/jobs").json()] == ["one"]
