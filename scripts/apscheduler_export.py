#!/usr/bin/env python3
"""Exports the jobs of an APScheduler 3 SQLAlchemy job store as chime jobs.

Reads the `apscheduler_jobs` table of DATABASE_URL (the SQLAlchemy URL the
APScheduler application used: sqlite:///..., postgresql://...) and prints one
chime `POST /schedule/jobs` body per job, as JSON lines: the same id, name,
func, args, kwargs, policies (misfire_grace_time, coalesce, max_instances),
trigger and trigger arguments, and the stored next_run_time (null for a paused
job), so every job keeps its schedule. With --post URL the bodies are sent to
a running chimed instead (CHIME_API_TOKEN from the environment), with
replace_existing so a second run updates rather than fails.

The job state is unpickled as APScheduler stores it, which needs APScheduler
3 (and its pytz/tzlocal) importable but not the application's own modules.
Unpickling runs code from the table: only read a job store you trust.

    DATABASE_URL=sqlite:///./chime.db /usr/bin/python3 scripts/apscheduler_export.py
    /usr/bin/python3 scripts/apscheduler_export.py --url postgresql://u:p@db/app \\
        --table apscheduler_jobs --post http://127.0.0.1:8000
"""
import argparse
import json
import os
import pickle
import sys
import urllib.error
import urllib.request

import sqlalchemy
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger


def iso(dt):
    return dt.isoformat() if dt is not None else None


def common_args(trigger):
    out = {"timezone": str(trigger.timezone)}
    for key in ("start_date", "end_date"):
        if getattr(trigger, key, None) is not None:
            out[key] = iso(getattr(trigger, key))
    if getattr(trigger, "jitter", None):
        out["jitter"] = trigger.jitter
    return out


def convert_trigger(trigger):
    """(kind, trigger_args) of an APScheduler 3 trigger, or raises ValueError."""
    if isinstance(trigger, CronTrigger):
        args = {f.name: str(f) for f in trigger.fields if not f.is_default}
        return "cron", {**args, **common_args(trigger)}
    if isinstance(trigger, IntervalTrigger):
        seconds = trigger.interval.total_seconds()
        return "interval", {"seconds": int(seconds) if seconds.is_integer() else seconds,
                            **common_args(trigger)}
    if isinstance(trigger, DateTrigger):
        return "date", {"run_date": iso(trigger.run_date)}  # the offset is in run_date
    raise ValueError(f"trigger {type(trigger).__name__} has no chime equivalent")


def convert_job(state):
    kind, trigger_args = convert_trigger(state["trigger"])
    return {
        "id": state["id"],
        "name": state["name"],
        "func": state["func"],
        "args": list(state.get("args") or ()),
        "kwargs": dict(state.get("kwargs") or {}),
        "trigger": kind,
        "trigger_args": trigger_args,
        "misfire_grace_time": state.get("misfire_grace_time"),
        "coalesce": state.get("coalesce"),
        "max_instances": state.get("max_instances"),
        "next_run_time": iso(state.get("next_run_time")),
        "replace_existing": True,
    }


def read_states(url, table):
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text(f"SELECT job_state FROM {table} ORDER BY id"))
        return [pickle.loads(row[0]) for row in rows]


def post(base, body):
    req = urllib.request.Request(base.rstrip("/") + "/schedule/jobs", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    token = os.environ.get("CHIME_API_TOKEN")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("DATABASE_URL"), help="SQLAlchemy URL (default $DATABASE_URL)")
    ap.add_argument("--table", default="apscheduler_jobs")
    ap.add_argument("--post", metavar="CHIMED_URL", help="send the jobs to this chimed")
    opts = ap.parse_args()
    if not opts.url:
        ap.error("give --url or DATABASE_URL")
    failed = 0
    for state in read_states(opts.url, opts.table):
        try:
            body = convert_job(state)
        except ValueError as e:
            print(f"{state['id']}: not exported: {e}", file=sys.stderr)
            failed += 1
            continue
        if not opts.post:
            print(json.dumps(body))
            continue
        status, answer = post(opts.post, body)
        if status != 200:
            print(f"{body['id']}: {status} {answer.get('detail')}", file=sys.stderr)
            failed += 1
        else:
            print(f"{body['id']}: {answer['next_run_time'] or 'paused'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
