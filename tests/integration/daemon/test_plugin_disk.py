"""The second example plugin, report.disk:check (examples/plugins/report/
disk.c, walked through in docs/plugins.md), in the real chimed: a run on an
existing path succeeds with the free space as output; a threshold above the
disk's size and a missing path fail with the plugin's reason; the required
parameter, a wrong type and an unknown keyword are refused at creation, and
positional args bind in declaration order."""
import os
import re

import pytest

from chimetest import poll


def plugin_dir():
    return os.path.join(os.environ["CHIME_BUILD_DIR"], "plugins")


def run_once(d, kwargs):
    r = d.req("POST", "/schedule/jobs", {"func": "report.disk:check", "trigger": "interval",
                                         "trigger_args": {"hours": 1}, "kwargs": kwargs})
    assert r.status == 200, r
    job_id = r.json()["id"]
    assert d.req("POST", f"/schedule/jobs/{job_id}/run").status == 202

    def done():
        runs = d.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
        return [run for run in runs if run["status"] != "running"]
    runs = poll(done, 15)
    assert runs, d.log_text()
    return job_id, runs[0]


def test_disk_check_outcomes(chimed_factory, tmp_path):
    d = chimed_factory(args=["--plugin-dir", plugin_dir()])
    job_id, run = run_once(d, {"path": str(tmp_path), "min_free_mb": 0})
    assert run["status"] == "succeeded", run
    assert re.fullmatch(rf"{re.escape(str(tmp_path))}: \d+ MiB free \(run \d+ of job {job_id}\)",
                        run["output"]), run
    _, run = run_once(d, {"path": str(tmp_path), "min_free_mb": 2**62})
    assert run["status"] == "failed" and "MiB free, below" in run["error"], run
    _, run = run_once(d, {"path": str(tmp_path / "missing")})
    assert run["status"] == "failed", run
    assert run["error"].endswith("missing: No such file or directory"), run


@pytest.mark.parametrize("body,detail", [
    ({}, "missing the required argument 'path'"),
    ({"kwargs": {"path": "/", "min_free_mb": "lots"}}, "'min_free_mb' of report.disk:check() must be an integer"),
    ({"kwargs": {"path": "/", "verbose": True}}, "unexpected keyword argument 'verbose'"),
    ({"func": "report.disk:size"}, "no symbol chime_plugin_size"),
])
def test_disk_check_refused_at_creation(chimed_factory, body, detail):
    d = chimed_factory(args=["--plugin-dir", plugin_dir()])
    r = d.req("POST", "/schedule/jobs", {"func": "report.disk:check", "trigger": "interval",
                                         "trigger_args": {"hours": 1}, **body})
    assert r.status == 400, r
    assert detail in r.json()["detail"], r
    assert d.req("GET", "/schedule/jobs").json() == []


def test_disk_check_positional_args(chimed_factory):
    d = chimed_factory(args=["--plugin-dir", plugin_dir()])
    r = d.req("POST", "/schedule/jobs", {"func": "report.disk:check", "trigger": "interval",
                                         "trigger_args": {"hours": 1}, "args": ["/", 0]})
    assert r.status == 200, r
