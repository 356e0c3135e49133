"""Trigger arguments chimed must read as the reference service (APScheduler
3.9.1) does, checked side by side against the real thing: a cron trigger
without any time field fires every second, and a date trigger without
run_date (or with run_date null) runs once, now. JSON null is "not given"."""
from datetime import datetime, timezone

from test_compat import reference  # noqa: F401  (the reference service fixture)

PURGE = "app.jobs.registry:purge_expired_sessions"


def _seconds_from_now(nrt):
    return (datetime.fromisoformat(nrt) - datetime.now(timezone.utc)).total_seconds()


def test_cron_without_fields_fires_every_second(reference, chimed_factory):
    """APScheduler's CronTrigger() with no field (or only None fields) is every
    second (every field '*')."""
    chimed = chimed_factory(env={"TZ": "UTC"})
    for args in ({}, {"timezone": "UTC"}, {"hour": None}):
        body = {"func": PURGE, "trigger": "cron", "trigger_args": args}
        ref = reference.req("POST", "/schedule/jobs", body)
        got = chimed.req("POST", "/schedule/jobs", body)
        assert ref.status == 200 and -1 < _seconds_from_now(ref.json()["next_run_time"]) <= 2
        assert got.status == 200, got
        assert -1 < _seconds_from_now(got.json()["next_run_time"]) <= 2, (args, got.json())


def test_date_trigger_without_run_date_runs_now(reference, chimed_factory):
    """APScheduler's DateTrigger() without run_date (or run_date null) means
    "now": the documented way to run a job once right away."""
    chimed = chimed_factory(env={"TZ": "UTC"})
    for args in ({}, {"run_date": None}):
        body = {"func": PURGE, "trigger": "date", "trigger_args": args}
        ref = reference.req("POST", "/schedule/jobs", body)
        got = chimed.req("POST", "/schedule/jobs", body)
        assert ref.status == 200 and abs(_seconds_from_now(ref.json()["next_run_time"])) <= 2
        assert got.status == 200, (args, got)
        assert abs(_seconds_from_now(got.json()["next_run_time"])) <= 2, got.json()
