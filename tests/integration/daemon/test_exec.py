"""chime:exec against the real chimed: refused with 403 naming CHIME_ALLOW_EXEC
unless that setting is on (a PATCH to chime:exec too); when on, a command job
runs on the real clock and its runs record the outcome (succeeded with the
stdout tail, failed with "exit status N"); CHIME_EXEC_ALLOW limits the
executables; a stored command job fails at run time after a restart with the
gate off; a relative allow-list entry stops start-up with exit 2."""
import json
import os
import subprocess

from chimetest import clean_env, poll

ECHO_EVERY_SECOND = {"func": "chime:exec", "trigger": "interval",
                     "trigger_args": {"seconds": 1},
                     "kwargs": {"argv": ["/bin/echo", "hello"]}, "name": "echo"}


def finished(d, job_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return [run for run in r.json()["runs"] if run["status"] != "running"]


def add(d, body):
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()["id"]


def test_exec_refused_403_when_not_allowed(chimed):
    r = chimed.req("POST", "/schedule/jobs", ECHO_EVERY_SECOND)
    assert r.status == 403, r
    assert "CHIME_ALLOW_EXEC" in r.json()["detail"], r
    assert chimed.req("GET", "/schedule/jobs").json() == []
    # A patch that turns a job into a command job is refused the same way.
    job_id = add(chimed, {**ECHO_EVERY_SECOND, "func": "chime:noop", "kwargs": {}})
    r = chimed.req("PATCH", f"/schedule/jobs/{job_id}",
                   {"func": "chime:exec", "kwargs": {"argv": ["/bin/echo", "x"]}})
    assert r.status == 403, r
    assert "CHIME_ALLOW_EXEC" in r.json()["detail"], r
    assert chimed.req("GET", f"/schedule/jobs/{job_id}").json()["func"] == "chime:noop"


def test_exec_job_runs_and_records_output(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "true"})
    job_id = add(d, ECHO_EVERY_SECOND)
    got = poll(lambda: finished(d, job_id), 15)
    assert got, "no finished run of a 1 s command job within 15 s:\n" + d.log_text()
    run = got[0]
    assert run["status"] == "succeeded" and run["exit_code"] == 0, run
    assert run["http_status"] is None, run
    out = json.loads(run["output"])
    assert out["stdout_tail"] == "hello\n", out
    assert out["exit_status"] == 0 and out["signal"] is None, out
    assert out["timed_out"] is False and isinstance(out["duration_ms"], int), out
    assert "hello" in run["output"]


def test_exec_failure_recorded_with_exit_status(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {**ECHO_EVERY_SECOND,
                     "kwargs": {"argv": ["sh", "-c", "echo broken >&2; exit 3"]}})
    got = poll(lambda: finished(d, job_id), 15)
    assert got, d.log_text()
    assert got[0]["status"] == "failed", got[0]
    assert got[0]["error"] == "exit status 3", got[0]
    assert got[0]["status"] == "failed" and got[0]["exit_code"] == 3, got[0]
    assert json.loads(got[0]["output"])["stderr_tail"] == "broken\n"


def test_exec_timeout_recorded_timed_out(chimed_factory):
    """A command that ignores SIGTERM is killed after the grace: timed_out, no exit code."""
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "1"})
    job_id = add(d, {**ECHO_EVERY_SECOND, "trigger_args": {"seconds": 5},
                     "kwargs": {"argv": ["sh", "-c", "trap '' TERM; sleep 30"],
                                "timeout": 0.3, "kill_grace": 0.2}})
    got = poll(lambda: finished(d, job_id), 20)
    assert got, d.log_text()
    run = got[0]
    assert run["status"] == "timed_out", run
    assert run["error"] == "timed out after 0.3 s (SIGTERM, then SIGKILL after 0.2 s)", run
    assert run["exit_code"] is None and json.loads(run["output"])["signal"] == 9, run


def test_exec_bad_kwargs_400(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "true"})
    for kwargs, field in [({"argv": []}, "kwargs.argv"), ({"argv": ["ls"], "timeout": 0},
                                                          "kwargs.timeout"),
                          ({"argv": ["ls"], "env": {"A": 1}}, "kwargs.env")]:
        r = d.req("POST", "/schedule/jobs", {**ECHO_EVERY_SECOND, "kwargs": kwargs})
        assert r.status == 400, (kwargs, r)
        assert field in r.json()["detail"], (kwargs, r)


def test_exec_allow_list(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "true", "CHIME_EXEC_ALLOW": "/usr/bin/true"})
    r = d.req("POST", "/schedule/jobs", ECHO_EVERY_SECOND)
    assert r.status == 403, r
    assert "not an allowed executable" in r.json()["detail"], r
    job_id = add(d, {**ECHO_EVERY_SECOND, "kwargs": {"argv": ["true"]}})
    got = poll(lambda: finished(d, job_id), 15)
    assert got and got[0]["status"] == "succeeded", (got, d.log_text())


def test_stored_exec_job_fails_after_restart_without_permission(chimed_factory):
    d = chimed_factory(env={"CHIME_ALLOW_EXEC": "true"})
    job_id = add(d, ECHO_EVERY_SECOND)
    assert d.stop() == 0
    d.env = {}
    d.start()
    assert d.req("GET", f"/schedule/jobs/{job_id}").status == 200

    def failed_after_restart():
        return [run for run in finished(d, job_id) if run["status"] == "failed"]
    got = poll(failed_after_restart, 15)
    assert got, d.log_text()
    assert "CHIME_ALLOW_EXEC" in got[0]["error"], got[0]


def test_relative_exec_allow_entry_exits_2(tmp_path):
    build = os.environ["CHIME_BUILD_DIR"]
    p = subprocess.run([os.path.join(build, "chimed"), "--port", "0"], cwd=tmp_path,
                       env=clean_env({"DATABASE_URL": "memory://", "CHIME_ALLOW_EXEC": "true",
                                      "CHIME_EXEC_ALLOW": "/usr/bin/true,bin/echo"}),
                       capture_output=True, timeout=15)
    assert p.returncode == 2, (p.returncode, p.stderr[-500:])
    assert b"CHIME_EXEC_ALLOW" in p.stderr and b"bin/echo" in p.stderr, p.stderr[-500:]
