"""Plugin modules in the real chimed: started with --plugin-dir pointing at
the example plugin built in the tree (<build>/plugins/greet/hello.so), a
greet.hello:say job runs every second and its runs show the plugin's output;
the job survives a restart; arguments are checked at creation; names that
try to leave the directory are refused; without a plugin directory the
module is unknown; a plugin directory that does not exist stops start-up."""
import os

import pytest

from chimetest import poll


def plugin_dir():
    return os.path.join(os.environ["CHIME_BUILD_DIR"], "plugins")


def add(d, body):
    return d.req("POST", "/schedule/jobs", {"trigger": "interval",
                                            "trigger_args": {"seconds": 1}, **body})


def finished(d, job_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return [run for run in r.json()["runs"] if run["status"] != "running"]


def test_example_plugin_runs_and_survives_restart(chimed_factory):
    assert os.path.exists(os.path.join(plugin_dir(), "greet", "hello.so"))
    d = chimed_factory(args=["--plugin-dir", plugin_dir()])
    r = add(d, {"func": "greet.hello:say", "kwargs": {"name": "chime"}})
    assert r.status == 200, r
    job_id = r.json()["id"]
    got = poll(lambda: finished(d, job_id), 15)
    assert got, d.log_text()
    assert got[-1]["status"] == "succeeded", got[-1]
    assert got[-1]["output"] == f"hello, chime (job {job_id}, attempt 1)", got[-1]
    r = add(d, {"func": "greet.hello:say", "kwargs": {"name": ""}})
    fail_id = r.json()["id"]
    got = poll(lambda: finished(d, fail_id), 15)
    assert got and got[-1]["status"] == "failed", got
    assert "name must not be empty" in got[-1]["error"]
    assert d.stop() == 0
    d.start()
    job = d.req("GET", f"/schedule/jobs/{job_id}").json()
    assert not job.get("broken"), job
    before = len(finished(d, job_id))
    assert poll(lambda: len(finished(d, job_id)) > before, 15), d.log_text()


@pytest.mark.parametrize("body,field", [
    ({"func": "greet.hello:say", "kwargs": {"name": 3}}, "kwargs"),
    ({"func": "greet.hello:say", "kwargs": {"nom": "x"}}, "nom"),
    ({"func": "greet.hello:nothere"}, "func"),
    ({"func": "..greet.hello:say"}, "func"),
    ({"func": "greet/hello:say"}, "func"),
    ({"func": "/etc/passwd:say"}, "func"),
    ({"func": "greet.missing:say"}, "func"),
])
def test_plugin_bad_jobs_refused(chimed_factory, body, field):
    d = chimed_factory(args=["--plugin-dir", plugin_dir()])
    r = add(d, body)
    assert r.status == 400, r
    assert field in r.json()["detail"], r


def test_no_plugin_dir_means_unknown_module(chimed):
    r = add(chimed, {"func": "greet.hello:say"})
    assert r.status == 400, r
    assert "unknown module" in r.json()["detail"], r


def test_missing_plugin_dir_stops_start(chimed_factory, tmp_path):
    d = chimed_factory(args=["--plugin-dir", str(tmp_path / "nope")], start=False)
    with pytest.raises(AssertionError):
        d.start(timeout=10)
    assert d.proc.returncode == 2, d.log_text()
    assert "CHIME_PLUGIN_DIR" in d.log_text()
