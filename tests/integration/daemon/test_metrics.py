"""GET /metrics over real HTTP from a real chimed, on SQLite and PostgreSQL.

Every scrape is parsed whole by a strict parser of the Prometheus text
exposition format 0.0.4 written here (no client library): every line is a
# HELP, a # TYPE or a sample; every family has HELP then TYPE before its
samples, and its samples follow it without another family in between;
sample names match their family's type (histograms: _bucket, _sum, _count);
label names are valid and not repeated, label values use only the three
escapes; no series appears twice; values are floats (+Inf, -Inf, NaN too);
histogram buckets rise with le, are cumulative, end with +Inf and agree with
_count. Then the counters are checked to move with real runs: succeeded,
failed and skipped runs of 1 s jobs, misses after downtime, jobs by state,
store latency, HTTP requests by route template, and the PostgreSQL claim
counters.
"""
import math
import os
import re
import time

import pytest

from chimetest import poll
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES

TOKEN = "metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ENV = {"CHIME_API_TOKEN": TOKEN}

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?[0-9]+)?\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


# --- a strict parser of the text format ----------------------------------------------------------

def parse_labels(text, where):
    """'{a="x",b="y"}' -> {"a": "x", "b": "y"}; raises on anything else."""
    assert text[0] == "{" and text[-1] == "}", where
    body, labels, i = text[1:-1], {}, 0
    while i < len(body):
        eq = body.find("=", i)
        assert eq > i, f"{where}: label without '='"
        name = body[i:eq]
        assert LABEL_NAME.match(name) and not name.startswith("__"), f"{where}: label {name!r}"
        assert name not in labels, f"{where}: label {name} twice"
        assert body[eq + 1:eq + 2] == '"', f"{where}: label value not quoted"
        j, value = eq + 2, []
        while True:
            assert j < len(body), f"{where}: unterminated label value"
            c = body[j]
            if c == "\\":
                esc = body[j + 1:j + 2]
                assert esc in ("\\", '"', "n"), f"{where}: bad escape \\{esc}"
                value.append("\n" if esc == "n" else esc)
                j += 2
            elif c == '"':
                break
            else:
                assert c != "\n", where
                value.append(c)
                j += 1
        labels[name] = "".join(value)
        i = j + 1
        if i < len(body):
            assert body[i] == ",", f"{where}: expected ',' between labels"
            i += 1
            assert i < len(body), f"{where}: trailing ','"
    return labels


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", text), \
        f"{where}: value {text!r}"
    return float(text)


def sample_family(name, families):
    """The family a sample name belongs to, by the rules of its type."""
    if name in families and families[name]["type"] != "histogram":
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and families.get(base, {}).get("type") == "histogram":
            return base
    return None


def check_histograms(fam, name):
    series = {}
    for sname, labels, value in fam["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname.endswith("_bucket"):
            assert "le" in labels, f"{name}: bucket without le"
            s["buckets"].append((parse_value(labels["le"], name), value))
        else:
            assert "le" not in labels, f"{name}: le on {sname}"
            s["sum" if sname.endswith("_sum") else "count"] = value
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        counts = [n for _, n in s["buckets"]]
        assert les and les == sorted(les) and len(set(les)) == len(les), f"{name}{key}: le order"
        assert les[-1] == math.inf, f"{name}{key}: no +Inf bucket"
        assert counts == sorted(counts), f"{name}{key}: buckets not cumulative {counts}"
        assert s["count"] is not None and s["sum"] is not None, f"{name}{key}: _sum/_count"
        assert s["count"] == counts[-1], f"{name}{key}: _count != +Inf bucket"
        assert all(float(n).is_integer() and n >= 0 for n in counts)


def parse_exposition(text):
    """Parses the whole text; returns {family: {"type", "help", "samples":
    [(name, labels, value)]}}. Raises AssertionError on any deviation."""
    assert text.endswith("\n"), "the text does not end with a newline"
    families, current, seen = {}, None, set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line[:120]!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert METRIC_NAME.match(name), where
            assert name not in families, f"{where}: family declared twice"
            assert not re.search(r"\\[^\\n]", help_text.replace("\\\\", "")), f"{where}: escape"
            families[name] = {"help": help_text, "type": None, "samples": []}
            current = name
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and families[name]["type"] is None, \
                f"{where}: TYPE not right after its HELP"
            assert typ in TYPES, where
            families[name]["type"] = typ
        else:
            assert not line.startswith("#"), f"{where}: stray comment"
            m = SAMPLE.match(line)
            assert m, f"{where}: not a sample line"
            name, labels_text, value_text = m.group(1), m.group(2), m.group(3)
            fam = sample_family(name, families)
            assert fam is not None and fam == current, f"{where}: sample outside its family"
            assert families[fam]["type"], f"{where}: sample before TYPE"
            labels = parse_labels(labels_text, where) if labels_text else {}
            key = (name, tuple(sorted(labels.items())))
            assert key not in seen, f"{where}: series twice"
            seen.add(key)
            families[fam]["samples"].append((name, labels, parse_value(value_text, where)))
    for name, fam in families.items():
        assert fam["type"], f"{name}: HELP without TYPE"
        if fam["type"] == "histogram":
            check_histograms(fam, name)
        if fam["type"] == "counter":
            assert all(v >= 0 for _, _, v in fam["samples"]), f"{name}: negative counter"
    return families


def test_parser_refuses_what_the_format_forbids():
    good = "# HELP a x\n# TYPE a counter\na{s=\"v\"} 1\n"
    assert parse_exposition(good)["a"]["samples"] == [("a", {"s": "v"}, 1.0)]
    bad = [
        "# TYPE a counter\na 1\n",                          # no HELP
        "# HELP a x\na 1\n",                                 # no TYPE
        "# HELP a x\n# TYPE a counter\nb 1\n",               # sample of no family
        "# HELP a x\n# TYPE a counter\na{s=\"v\",s=\"w\"} 1\n",  # label twice
        "# HELP a x\n# TYPE a counter\na{s=\"\\t\"} 1\n",     # bad escape
        "# HELP a x\n# TYPE a counter\na 1\na 2\n",           # series twice
        "# HELP a x\n# TYPE a counter\na one\n",              # not a number
        "# HELP a x\n# TYPE a counter\na 1",                  # no final newline
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n",                              # not cumulative
        "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  # no +Inf
    ]
    for text in bad:
        with pytest.raises(AssertionError):
            parse_exposition(text)


# --- helpers -----------------------------------------------------------------------------------

def scrape(d):
    r = d.req("GET", "/metrics", headers=AUTH)
    assert r.status == 200, r
    assert r.headers.get("content-type") == "text/plain; version=0.0.4; charset=utf-8", r.headers
    return parse_exposition(r.body.decode("utf-8"))


def value(fams, family, name=None, **labels):
    """The value of one sample (name defaults to the family's); None when absent."""
    for sname, slabels, v in fams.get(family, {}).get("samples", []):
        if sname == (name or family) and slabels == labels:
            return v
    return None


def add(d, body):
    r = d.req("POST", "/schedule/jobs", body, headers=AUTH)
    assert r.status == 200, r
    return r.json()["id"]


def every_second(func, **extra):
    return {"func": func, "trigger": "interval", "trigger_args": {"seconds": 1}, **extra}


def runs_with(d, status):
    r = d.req("GET", f"/schedule/runs?status={status}&limit=1000", headers=AUTH)
    assert r.status == 200, r
    return len(r.json()["runs"])


# --- the daemon ----------------------------------------------------------------------------------

def test_metrics_need_the_token_and_describe_every_family(chimed_factory, store):
    d = chimed_factory(env=ENV)
    r = d.req("GET", "/metrics")
    assert r.status == 401 and r.headers.get("www-authenticate") == "Bearer", r
    fams = scrape(d)
    for name, typ in [("chime_runs_total", "counter"), ("chime_misses_total", "counter"),
                      ("chime_skips_total", "counter"), ("chime_run_lateness_seconds", "histogram"),
                      ("chime_run_duration_seconds", "histogram"), ("chime_jobs", "gauge"),
                      ("chime_executor_queue_depth", "gauge"),
                      ("chime_executor_busy_workers", "gauge"), ("chime_executor_workers", "gauge"),
                      ("chime_store_operation_duration_seconds", "histogram"),
                      ("chime_http_requests_total", "counter")]:
        assert fams.get(name, {}).get("type") == typ, (name, fams.get(name))
        assert fams[name]["help"], name
    statuses = {l["status"] for _, l, _ in fams["chime_runs_total"]["samples"]}
    assert statuses == {"succeeded", "failed", "timed_out", "missed", "skipped", "lost",
                        "cancelled"}
    assert value(fams, "chime_jobs", state="scheduled") == 0
    assert value(fams, "chime_jobs", state="paused") == 0
    assert value(fams, "chime_executor_workers") == 10  # SCHEDULER_MAX_WORKERS default
    assert poll(lambda: value(scrape(d), "chime_http_requests_total", route="/metrics",
                              method="GET", code="401") == 1, 5)
    pg = [name for name in fams if name.startswith("chime_pg_")]
    if store == "postgres":
        assert sorted(pg) == ["chime_pg_claim_conflicts_total", "chime_pg_claim_failures_total",
                              "chime_pg_claimed_runs_total", "chime_pg_claims_total"], pg
    else:
        assert pg == [], "PostgreSQL claim metrics on a local store"


DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "metrics.md")


def documented_metrics():
    """docs/metrics.md's table: {name: (type, labels cell)}."""
    rows = {}
    with open(DOCS, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\| `([a-z_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|", line)
            if m:
                rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def test_docs_list_every_metric_with_its_labels(chimed_factory, store):
    d = chimed_factory(env=ENV)
    d.req("GET", "/metrics")  # a 401, so the HTTP family has a sample with labels
    # A request is counted once the server has finished with it, which may come just
    # after the client has its answer.
    fams = poll(lambda: (lambda f: f if f["chime_http_requests_total"]["samples"] else None)(
        scrape(d)), 5)
    assert fams, "the 401 was never counted"
    docs = documented_metrics()
    for name, fam in fams.items():
        assert name in docs, f"{name} is not in docs/metrics.md"
        typ, labels_cell = docs[name]
        assert typ == fam["type"], (name, typ, fam["type"])
        names = {k for _, labels, _ in fam["samples"] for k in labels if k != "le"}
        for label in names:
            assert f"`{label}`" in labels_cell, f"{name}: label {label} not documented"
        if not names:
            assert labels_cell.strip() == "none", f"{name}: documented labels it has not"
    missing = set(docs) - set(fams)
    if store == "sqlite":
        missing = {n for n in missing if not n.startswith("chime_pg_")}
    assert missing == set(), f"documented but not served: {missing}"


def test_counters_move_with_real_runs(chimed_factory, store):
    d = chimed_factory(env=ENV)
    before = scrape(d)
    ok = add(d, every_second("chime:noop", name="ok"))
    add(d, every_second("chime:fail", name="bad"))
    # Runs 2.5 s, fires every second, one instance at a time: the fires in between are skipped.
    add(d, every_second("chime:sleep", name="slow", kwargs={"seconds": 2.5}, max_instances=1))

    def moved():
        f = scrape(d)
        got = {s: value(f, "chime_runs_total", status=s) for s in ("succeeded", "failed",
                                                                    "skipped")}
        slow = value(f, "chime_run_duration_seconds", "chime_run_duration_seconds_count") - \
            value(f, "chime_run_duration_seconds", "chime_run_duration_seconds_bucket", le="1")
        return f if got["succeeded"] >= 3 and got["failed"] >= 2 and got["skipped"] >= 1 \
            and slow >= 1 else None
    fams = poll(moved, 15)
    assert fams, "the run counters did not move:\n" + d.log_text()
    assert value(before, "chime_runs_total", status="succeeded") == 0
    succeeded = value(fams, "chime_runs_total", status="succeeded")
    failed = value(fams, "chime_runs_total", status="failed")
    skipped = value(fams, "chime_runs_total", status="skipped")
    # The counters count recorded runs: the history, read after, holds at least as many.
    assert runs_with(d, "succeeded") >= succeeded
    assert runs_with(d, "failed") >= failed
    assert runs_with(d, "skipped") >= skipped
    assert value(fams, "chime_skips_total") == skipped
    started = value(fams, "chime_run_lateness_seconds", "chime_run_lateness_seconds_count")
    ran = value(fams, "chime_run_duration_seconds", "chime_run_duration_seconds_count")
    assert started >= ran >= succeeded + failed - 1, (started, ran, succeeded, failed)
    # A run 2.5 s long is above the 1 s bucket and below the 5 s one.
    assert value(fams, "chime_run_duration_seconds", "chime_run_duration_seconds_bucket",
                 le="5") > value(fams, "chime_run_duration_seconds",
                                 "chime_run_duration_seconds_bucket", le="1")
    assert value(fams, "chime_run_duration_seconds", "chime_run_duration_seconds_sum") >= 2.5
    for op in ("add_job", "claim_due", "finish_runs", "next_due"):
        n = value(fams, "chime_store_operation_duration_seconds",
                  "chime_store_operation_duration_seconds_count", op=op)
        assert n and n >= 1, (op, n)
    assert value(fams, "chime_jobs", state="scheduled") == 3
    r = d.req("POST", f"/schedule/jobs/{ok}/pause", headers=AUTH)
    assert r.status == 200, r
    assert d.req("GET", "/schedule/jobs/not-a-job", headers=AUTH).status == 404
    assert d.req("GET", "/no/such/route", headers=AUTH).status == 404
    assert d.req("GET", "/").status == 200  # the dashboard (no token needed)
    http = "chime_http_requests_total"
    # The last request is counted once the server has finished with it (just after).
    after = poll(lambda: (lambda f: f if value(f, http, route="dashboard", method="GET",
                                               code="200") == 1 else None)(scrape(d)), 5)
    assert after, "the dashboard request was never counted"
    assert value(after, "chime_jobs", state="scheduled") == 2
    assert value(after, "chime_jobs", state="paused") == 1
    assert value(after, "chime_runs_total", status="succeeded") >= succeeded
    assert value(after, http, route="/schedule/jobs", method="POST", code="200") == 3
    assert value(after, http, route="/schedule/jobs/{id}/pause", method="POST", code="200") == 1
    assert value(after, http, route="/schedule/jobs/{id}", method="GET", code="404") == 1
    assert value(after, http, route="unmatched", method="GET", code="404") == 1
    assert value(after, http, route="dashboard", method="GET", code="200") == 1
    assert value(after, http, route="/metrics", method="GET", code="200") >= 3
    text = d.req("GET", "/metrics", headers=AUTH).body.decode()
    assert ok not in text and "not-a-job" not in text, "a raw path made it into a label"
    if store == "postgres":
        claimed = value(after, "chime_pg_claimed_runs_total")
        assert value(after, "chime_pg_claims_total") >= 1
        assert claimed >= succeeded + failed + skipped, (claimed, succeeded, failed, skipped)
        assert value(after, "chime_pg_claim_conflicts_total") == 0
        assert value(after, "chime_pg_claim_failures_total") == 0


def test_misses_after_downtime(chimed_factory):
    grace = {"misfire_grace_time": 1, "coalesce": False}
    first = chimed_factory(env=ENV, db="shared")
    add(first, every_second("chime:noop", name="tick", **grace))
    assert first.stop() == 0, first.log_text()
    time.sleep(4)  # fires come due while no chimed runs
    second = chimed_factory(env=ENV, db="shared")

    def missed():
        f = scrape(second)
        return f if value(f, "chime_misses_total", reason="misfire_grace_time") >= 2 else None
    fams = poll(missed, 10)
    assert fams, "no misses counted after downtime:\n" + second.log_text()
    total = sum(v for _, _, v in fams["chime_misses_total"]["samples"])
    assert value(fams, "chime_runs_total", status="missed") == total
    assert value(fams, "chime_misses_total", reason="coalesced") == 0


def test_jobs_by_state_over_named_job_stores(chimed_factory):
    d = chimed_factory(env={**ENV, "CHIME_JOBSTORES": "volatile=memory://"})
    far = {"trigger": "date", "trigger_args": {"run_date": "2031-01-01T00:00:00+00:00"}}
    add(d, {"func": "chime:noop", **far})
    paused = add(d, {"func": "chime:noop", "jobstore": "volatile", **far})
    add(d, {"func": "chime:noop", "jobstore": "volatile", **far})
    assert d.req("POST", f"/schedule/jobs/{paused}/pause", headers=AUTH).status == 200
    fams = scrape(d)
    assert value(fams, "chime_jobs", state="scheduled") == 2
    assert value(fams, "chime_jobs", state="paused") == 1


def test_runs_left_running_by_a_killed_chimed_count_as_lost(chimed_factory):
    first = chimed_factory(env=ENV, db="shared")
    job = add(first, {"func": "chime:sleep", "kwargs": {"seconds": 60}, "trigger": "date",
                      "trigger_args": {"run_date": "2031-01-01T00:00:00+00:00"}})
    r = first.req("POST", f"/schedule/jobs/{job}/run", headers=AUTH)
    assert r.status == 202, r
    assert poll(lambda: value(scrape(first), "chime_executor_busy_workers") == 1, 10)
    first.kill()  # SIGKILL: the run stays recorded as running
    second = chimed_factory(env=ENV, db="shared")
    fams = scrape(second)
    assert value(fams, "chime_runs_total", status="lost") == 1, second.log_text()
    r = second.req("GET", f"/schedule/jobs/{job}/runs", headers=AUTH)
    assert [run["status"] for run in r.json()["runs"]] == ["lost"], r
