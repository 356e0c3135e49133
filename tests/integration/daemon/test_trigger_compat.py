"""Trigger arguments chimed must read as the reference service (APScheduler
3.9.1) does, checked side by side against the real thing: a cron trigger
without any time field fires every second, and a date trigger without
run_date (or with run_date null) runs once, now; JSON null is "not given" and
timezone "" is the default zone where APScheduler reads it so."""
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


def test_null_and_empty_arguments(reference, chimed_factory):
    """null arguments are "not given" and timezone "" is the default zone for
    cron and interval, as in the reference. The two deliberate differences are
    asserted: a date trigger's timezone "" (pytz's UnknownTimeZoneError, a 500
    from the reference) is a 400, and an interval unit given as null (a
    TypeError from timedelta, a 400 from the reference) is not given."""
    chimed = chimed_factory(env={"TZ": "UTC"})

    def both(trigger, args):
        body = {"func": PURGE, "trigger": trigger, "trigger_args": args}
        return (reference.req("POST", "/schedule/jobs", body),
                chimed.req("POST", "/schedule/jobs", body))

    ref, got = both("cron", {"timezone": "", "minute": 7, "start_date": None, "jitter": None})
    assert ref.status == 200 and got.status == 200, (ref, got)
    assert ref.json()["next_run_time"] == got.json()["next_run_time"], (ref, got)
    ref, got = both("interval", {"minutes": 5, "timezone": "", "end_date": None, "jitter": None})
    assert ref.status == 200 and got.status == 200, (ref, got)
    for r in (ref, got):
        assert 298 <= _seconds_from_now(r.json()["next_run_time"]) <= 301, r.json()
    ref, got = both("date", {"run_date": "2031-05-06T07:08:09", "timezone": None})
    assert ref.status == 200 and got.status == 200, (ref, got)
    assert ref.json()["next_run_time"] == got.json()["next_run_time"], (ref, got)
    ref, got = both("date", {"timezone": ""})
    assert ref.status == 500 and got.status == 400, (ref, got)
    assert "trigger_args.timezone" in got.json()["detail"], got.json()
    ref, got = both("interval", {"minutes": 5, "seconds": None})
    assert ref.status == 400 and "timedelta" in ref.json()["detail"], ref
    assert got.status == 200, got
    assert 298 <= _seconds_from_now(got.json()["next_run_time"]) <= 301, got.json()
