"""Compatibility with the reference service (bench/reference: APScheduler 3.9
+ FastAPI 0.92 + pydantic 1.10 + uvicorn, the real thing): the same sequence
of requests -- its documented curl commands and its error cases -- is sent to
it and to chimed, and the answers are compared: status codes, response shapes
(keys present, JSON types), ids, the next_run_time format and values, the 404
and 405 texts, pydantic v1 error entries. Where chime deliberately answers
better (the reference's 500s and silent acceptances) exactly that difference
is asserted. Needs the Debian packages scripts/deps.sh installs; a missing one
is an import error, i.e. a failure, never a skip."""
import json
import os
import signal
import subprocess
import sys

import apscheduler  # noqa: F401  (the reference service's dependencies: fail if missing)
import fastapi  # noqa: F401
import pytest
import sqlalchemy  # noqa: F401
import uvicorn  # noqa: F401

from chimetest import HEX32_RE, RFC3339_RE, clean_env, free_port, poll, request
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES  # chimed on SQLite and on PostgreSQL, the reference on SQLite

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "reference")
CT = {"Content-Type": "application/json"}

DIGEST = {"func": "app.jobs.registry:send_daily_digest", "trigger": "cron",
          "trigger_args": {"hour": 8, "minute": 0}, "name": "Daily digest", "jobstore": "default"}
PURGE = {"func": "app.jobs.registry:purge_expired_sessions", "trigger": "interval",
         "trigger_args": {"minutes": 15}, "name": "Purge sessions"}
REPORT = {"func": "app.jobs.registry:generate_weekly_report", "trigger": "cron",
          "trigger_args": {"day_of_week": "mon", "hour": 6}, "name": "Weekly report"}
NOCT = {"func": "app.jobs.registry:purge_expired_sessions", "trigger": "cron",
        "trigger_args": {"minute": 30}, "name": "No content type"}


def w(**changes):
    body = dict(PURGE)
    body.update(changes)
    return body


# (label, method, path ({name} = id created at that step), body, headers, expectation)
# expectation: "same" = same status and shape; ("better", ref_status, chime_status).
STEPS = [
    ("digest", "POST", "/schedule/jobs", DIGEST, CT, "same"),
    ("purge", "POST", "/schedule/jobs", PURGE, CT, "same"),
    ("report", "POST", "/schedule/jobs", REPORT, CT, "same"),
    ("list1", "GET", "/schedule/jobs", None, {}, "same"),
    ("pause", "POST", "/schedule/jobs/{digest}/pause", None, {}, "same"),
    ("list2", "GET", "/schedule/jobs", None, {}, "same"),
    ("resume", "POST", "/schedule/jobs/{digest}/resume", None, {}, "same"),
    ("resume-active", "POST", "/schedule/jobs/{digest}/resume", None, {}, "same"),
    ("pause-report", "POST", "/schedule/jobs/{report}/pause", None, {}, "same"),
    ("pause-report-again", "POST", "/schedule/jobs/{report}/pause", None, {}, "same"),
    ("resume-report", "POST", "/schedule/jobs/{report}/resume", None, {}, "same"),
    ("delete", "DELETE", "/schedule/jobs/{purge}", None, {}, "same"),
    ("list3", "GET", "/schedule/jobs", None, {}, "same"),
    ("pause404", "POST", "/schedule/jobs/nope/pause", None, {}, "same"),
    ("resume404", "POST", "/schedule/jobs/nope/resume", None, {}, "same"),
    ("delete404", "DELETE", "/schedule/jobs/nope", None, {}, "same"),
    ("delete-again", "DELETE", "/schedule/jobs/{purge}", None, {}, "same"),
    ("bad-kind", "POST", "/schedule/jobs", w(trigger="weekly"), CT, "same"),
    ("hour25", "POST", "/schedule/jobs", w(trigger="cron", trigger_args={"hour": 25}), CT, "same"),
    ("bad-dow", "POST", "/schedule/jobs",
     w(trigger="cron", trigger_args={"day_of_week": "funday"}), CT, "same"),
    ("unknown-arg", "POST", "/schedule/jobs", w(trigger_args={"minutes": 5, "bogus": 1}), CT,
     "same"),
    ("bad-date", "POST", "/schedule/jobs",
     w(trigger="date", trigger_args={"run_date": "not a date"}), CT, "same"),
    ("malformed", "POST", "/schedule/jobs", '{"func": x}', CT, "same"),
    ("truncated", "POST", "/schedule/jobs", '{"func": "app.jobs.registry:send_daily_digest", "tr',
     CT, "same"),
    ("missing-func", "POST", "/schedule/jobs", {"trigger": "cron", "trigger_args": {}}, CT,
     "same"),
    ("missing-both", "POST", "/schedule/jobs", {"name": "x"}, CT, "same"),
    ("args-list", "POST", "/schedule/jobs", w(trigger_args=[1]), CT, "same"),
    ("func-list", "POST", "/schedule/jobs", w(func=["x"]), CT, "same"),
    ("body-array", "POST", "/schedule/jobs", [PURGE], CT, "same"),
    ("text-plain", "POST", "/schedule/jobs", PURGE, {"Content-Type": "text/plain"}, "same"),
    ("no-content-type", "POST", "/schedule/jobs", NOCT, {"Content-Type": None}, "same"),
    ("put", "PUT", "/schedule/jobs", PURGE, CT, "same"),
    ("get-on-pause", "GET", "/schedule/jobs/{digest}/pause", None, {}, "same"),
    ("unknown-path", "GET", "/nope", None, {}, "same"),
    ("head-list", "HEAD", "/schedule/jobs", None, {}, "same"),
    ("options-list", "OPTIONS", "/schedule/jobs", None, {}, "same"),
    # APS-COMPAT: where the reference answers 500 or misbehaves, chime says 400.
    ("unknown-func", "POST", "/schedule/jobs", w(func="app.jobs.registry:nope"), CT,
     ("better", 500, 400)),
    ("unknown-module", "POST", "/schedule/jobs", w(func="no.such.module:f"), CT,
     ("better", 500, 400)),
    ("func-no-colon", "POST", "/schedule/jobs", w(func="purge_expired_sessions"), CT,
     ("better", 500, 400)),
    ("unknown-jobstore", "POST", "/schedule/jobs", w(jobstore="archive"), CT,
     ("better", 500, 400)),
    ("empty-name", "POST", "/schedule/jobs", w(name=""), CT, ("better", 500, 400)),
    ("zero-interval", "POST", "/schedule/jobs", w(trigger_args={"seconds": 0}), CT,
     ("better", 200, 400)),
    ("never-fires", "POST", "/schedule/jobs",
     w(trigger_args={"seconds": 10, "end_date": "2001-01-01"}), CT, ("better", 200, 400)),
    ("list-final", "GET", "/schedule/jobs", None, {}, "same"),
]


class Reference:
    def __init__(self, tmp_path):
        self.port = free_port()
        env = clean_env({"DATABASE_URL": f"sqlite:///{tmp_path}/reference.db", "TZ": "UTC",
                         "PYTHONDONTWRITEBYTECODE": "1"})
        self.log = open(tmp_path / "reference.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=REFERENCE_DIR, env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.log_path = tmp_path / "reference.log"

        def up():
            try:
                return request(self.port, "GET", "/schedule/jobs", timeout=2).status == 200
            except OSError:
                return self.proc.poll() is not None
        if not poll(up, 20) or self.proc.poll() is not None:
            self.stop()
            raise AssertionError("reference service did not start:\n" + self.log_path.read_text())

    def req(self, method, path, body=None, headers=None):
        return request(self.port, method, path, body, headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def reference(tmp_path):
    ref = Reference(tmp_path)
    yield ref
    ref.stop()


def run_sequence(server):
    ids, answers = {}, {}
    for label, method, path, body, headers, _ in STEPS:
        hdrs = {k: v for k, v in headers.items() if v is not None}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)  # sent as is: http.client adds no Content-Type
        r = server.req(method, path.format(**ids), body, hdrs)
        try:
            data = r.json()
        except ValueError:
            data = r.body.decode("utf-8", "replace")
        answers[label] = (r.status, data)
        if method == "POST" and r.status == 200 and isinstance(data, dict) and "id" in data:
            ids[label] = data["id"]
    return answers, ids


def shape_diffs(ref, got, where):
    """Differences where got lacks what ref has (extra keys in got are fine)."""
    if isinstance(ref, dict):
        if not isinstance(got, dict):
            return [f"{where}: {type(got).__name__} instead of an object"]
        out = [f"{where}: key {k!r} missing" for k in ref if k not in got]
        for k in ref:
            if k in got:
                out += shape_diffs(ref[k], got[k], f"{where}.{k}")
        return out
    if isinstance(ref, list):
        if not isinstance(got, list):
            return [f"{where}: {type(got).__name__} instead of an array"]
        if len(ref) != len(got):
            return [f"{where}: {len(got)} items instead of {len(ref)}"]
        return [d for i, (a, b) in enumerate(zip(ref, got)) for d in shape_diffs(a, b, f"{where}[{i}]")]
    if type(ref) is not type(got):
        return [f"{where}: {type(got).__name__} ({got!r}) instead of {type(ref).__name__} ({ref!r})"]
    return []


def value_diffs(label, status, ref, got):
    """Values that must be equal beyond the shape."""
    out = []
    if status in (404, 405) and ref != got:
        out.append(f"body {got!r} instead of {ref!r}")
    if status == 422:
        for e in ref["detail"]:
            json_error = e["type"] == "value_error.jsondecode"
            match = [g for g in got["detail"] if g.get("type") == e["type"] and
                     (g.get("loc", [None])[:1] == e["loc"][:1] if json_error else g.get("loc") == e["loc"])]
            if not match:
                out.append(f"no 422 entry like {e['loc']} {e['type']} in {got['detail']}")
            elif not json_error and match[0]["msg"] != e["msg"]:
                out.append(f"422 msg {match[0]['msg']!r} instead of {e['msg']!r}")
    if status == 200:
        for a, b in zip(ref if isinstance(ref, list) else [ref], got if isinstance(got, list) else [got]):
            if not isinstance(a, dict) or "next_run_time" not in a:
                continue
            for nrt in (a["next_run_time"], b.get("next_run_time")):
                if nrt is not None and not RFC3339_RE.match(nrt):
                    out.append(f"next_run_time {nrt!r} is not RFC 3339 with offset")
            if a.get("name") != b.get("name"):
                out.append(f"name {b.get('name')!r} instead of {a.get('name')!r} (order?)")
            if (a["next_run_time"] is None) != (b.get("next_run_time") is None):
                out.append(f"next_run_time {b.get('next_run_time')!r} vs {a['next_run_time']!r}")
            cron = "cron" in str(a.get("trigger", "")) or a.get("name") in ("Daily digest", "Weekly report")
            if cron and a["next_run_time"] != b.get("next_run_time"):
                out.append(f"cron next_run_time {b.get('next_run_time')!r} instead of {a['next_run_time']!r}")
            for i in (a.get("id"), b.get("id")):
                if i is not None and not HEX32_RE.match(i):
                    out.append(f"id {i!r} is not 32 lowercase hex chars")
    return [f"{label}: {d}" for d in out]


def test_same_requests_same_answers(reference, chimed_factory):
    chimed = chimed_factory(env={"TZ": "UTC"})
    ref_answers, ref_ids = run_sequence(reference)
    chime_answers, _ = run_sequence(chimed)
    problems = []
    # The reference stored jobs for the requests chime refuses: leave them out.
    refused_by_chime = {ref_ids[l] for l, *_, e in STEPS if e != "same" and l in ref_ids}
    for label, method, path, body, headers, expect in STEPS:
        (rs, rd), (cs, cd) = ref_answers[label], chime_answers[label]
        if label.startswith("list") and isinstance(rd, list):
            rd = [j for j in rd if j.get("id") not in refused_by_chime]
        if expect == "same":
            if rs != cs:
                problems.append(f"{label}: {method} {path}: status {cs} instead of {rs} "
                                f"(reference {rd!r:.200}; chime {cd!r:.200})")
                continue
            if rs == 500:
                problems.append(f"{label}: both answered 500")
            if rs == 422:
                # pydantic entries: loc/msg/type compared in value_diffs; FastAPI's
                # optional "ctx" of JSON errors is not part of the contract.
                problems += [f"{label}: 422 entry {e!r} lacks loc/msg/type"
                             for e in cd.get("detail", [None]) if not isinstance(e, dict)
                             or not isinstance(e.get("loc"), list) or not isinstance(e.get("msg"), str)
                             or not isinstance(e.get("type"), str)]
            else:
                problems += [f"{label}: {d}" for d in shape_diffs(rd, cd, "body")]
            problems += value_diffs(label, rs, rd, cd)
        else:
            _, want_ref, want_chime = expect
            if rs != want_ref:
                problems.append(f"{label}: the reference answered {rs}, expected {want_ref} ({rd!r:.200})")
            if cs != want_chime or not isinstance(cd, dict) or not isinstance(cd.get("detail"), str):
                problems.append(f"{label}: chime answered {cs} {cd!r:.200}, expected {want_chime} "
                                "with a detail string")
    never = ref_answers["never-fires"]
    if never[0] == 200 and never[1].get("next_run_time") is not None:
        problems.append("never-fires: the reference stored it with a next run time")
    assert not problems, "\n".join(problems)


def test_negative_interval(reference, chimed_factory):
    """The reference accepts a negative interval (200), after which its scheduler
    spins (it may stop answering: not asserted, as how soon depends on the
    machine's load). chime refuses it with a 400 and stores nothing."""
    chimed = chimed_factory()
    body = {"func": "app.jobs.registry:purge_expired_sessions", "trigger": "interval",
            "trigger_args": {"seconds": -1}}
    got = chimed.req("POST", "/schedule/jobs", body)
    assert got.status == 400 and "seconds" in got.json()["detail"], got
    assert chimed.req("GET", "/schedule/jobs").json() == []
    assert reference.req("POST", "/schedule/jobs", body).status == 200
