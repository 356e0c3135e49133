"""scripts/apscheduler_export.py moves a real APScheduler 3 job store into a
real chimed: jobs written by APScheduler's own SQLAlchemyJobStore (on a SQLite
file and on a PostgreSQL database) come back in chime with their ids, names,
funcs, arguments, policies, triggers and next run times (paused jobs paused),
and a second run updates instead of failing. A job chime refuses is reported
with chime's detail and the exit status is 1."""
import datetime
import os
import subprocess
import sys

import pytest

apscheduler = pytest.importorskip("apscheduler")  # python3-apscheduler (scripts/deps.sh)
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCRIPT = os.path.join(REPO, "scripts", "apscheduler_export.py")
# APScheduler resolves a job's func when it is added: the reference service's
# app.jobs.registry must be importable here (not in the exporter, which runs
# without it).
sys.path.insert(0, os.path.join(REPO, "bench", "reference"))


def fill_store(url, extra=()):
    """Writes jobs through APScheduler itself; returns {id: next_run_time or None}."""
    sched = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC",
                                job_defaults={"misfire_grace_time": 60, "coalesce": True})
    sched.start(paused=True)
    sched.add_job("app.jobs.registry:send_daily_digest", "cron", hour=8, minute=0, id="digest",
                  name="Daily digest", kwargs={"user_segment": "beta"})
    sched.add_job("app.jobs.registry:purge_expired_sessions", "interval", minutes=15, id="purge",
                  misfire_grace_time=None, max_instances=3)
    sched.add_job("app.jobs.registry:generate_weekly_report", "cron", day_of_week="mon", hour=6,
                  timezone="Europe/Berlin", id="weekly", args=["churn"], coalesce=False)
    sched.add_job("app.jobs.registry:send_daily_digest", "date",
                  run_date=datetime.datetime(2031, 1, 1, 9, tzinfo=datetime.timezone.utc), id="once")
    for job_id, func in extra:
        sched.add_job(func, "interval", hours=1, id=job_id)
    sched.pause_job("weekly")
    want = {j.id: j.next_run_time for j in sched.get_jobs()}
    sched.shutdown(wait=False)
    return want


def export(url, chimed_url):
    return subprocess.run([sys.executable, SCRIPT, "--url", url, "--post", chimed_url],
                          capture_output=True, text=True, timeout=60)


def parse(ts):
    return datetime.datetime.fromisoformat(ts) if ts else None


def check_jobs(d, want):
    got = {j["id"]: j for j in d.req("GET", "/schedule/jobs").json()}
    assert set(got) >= set(want), got
    for job_id, nrt in want.items():
        assert parse(got[job_id]["next_run_time"]) == nrt, (job_id, got[job_id], nrt)
        assert got[job_id]["paused"] == (nrt is None), got[job_id]
    assert got["digest"]["name"] == "Daily digest" and got["digest"]["kwargs"] == {"user_segment": "beta"}
    assert got["digest"]["trigger"] == "cron"
    assert got["digest"]["trigger_args"]["hour"] in (8, "8"), got["digest"]
    assert got["purge"]["trigger"] == "interval" and got["purge"]["max_instances"] == 3, got["purge"]
    assert got["purge"]["misfire_grace_time"] is None, got["purge"]
    assert got["weekly"]["args"] == ["churn"] and got["weekly"]["coalesce"] is False, got["weekly"]
    assert got["weekly"]["trigger_args"]["timezone"] == "Europe/Berlin", got["weekly"]
    assert got["once"]["trigger"] == "date", got["once"]
    r = d.req("GET", "/schedule/jobs/digest/preview?count=2").json()
    assert [parse(t).hour for t in r["fires"]] == [8, 8], r


@pytest.mark.parametrize("source", ["sqlite", "postgres"])
def test_export_moves_jobs_with_their_schedule(chimed_factory, pg_databases, tmp_path, source):
    url = f"sqlite:///{tmp_path}/aps.db" if source == "sqlite" else pg_databases("aps")
    want = fill_store(url)
    d = chimed_factory()
    r = export(url, f"http://127.0.0.1:{d.port}")
    assert r.returncode == 0, r
    assert len(r.stdout.splitlines()) == len(want), r
    assert "weekly: paused" in r.stdout, r.stdout
    check_jobs(d, want)
    again = export(url, f"http://127.0.0.1:{d.port}")
    assert again.returncode == 0, again
    check_jobs(d, want)


def test_export_reports_refused_jobs(chimed_factory, tmp_path):
    url = f"sqlite:///{tmp_path}/aps.db"
    fill_store(url, extra=[("gone", "os:getcwd")])
    d = chimed_factory()
    r = export(url, f"http://127.0.0.1:{d.port}")
    assert r.returncode == 1, r
    assert "gone: 400 func names an unknown module 'os'" in r.stderr, r.stderr
    assert d.req("GET", "/schedule/jobs/gone").status == 404
    assert d.req("GET", "/schedule/jobs/digest").status == 200
