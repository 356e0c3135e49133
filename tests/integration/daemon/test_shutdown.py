"""Shutdown of a real chimed with runs in progress (chime:sleep runs over real
time): SIGTERM waits for a running job within the shutdown grace and the run
is recorded succeeded; a run still going when the grace ends is recorded
lost and chimed still exits 0 promptly; a second SIGTERM/SIGINT during a long
shutdown exits at once with 143/130; run-now while max_instances are running
is refused with 409 and recorded skipped.

Readiness during shutdown is not tested through /readyz: chimed stops HTTP
right after turning readiness off, so instead the test checks that new
connections are refused while it waits for the running job.
"""
import signal
import socket
import time

import pytest

from chimetest import poll

FAR = {"run_date": "2031-01-01T00:00:00+00:00"}


def add_sleeper(d, seconds, **over):
    body = {"func": "chime:sleep", "trigger": "date", "trigger_args": FAR,
            "kwargs": {"seconds": seconds}, "name": f"sleep-{seconds}"}
    body.update(over)
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()["id"]


def run_of(d, job_id, run_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return next((x for x in r.json()["runs"] if x["id"] == run_id), None)


def start_run(d, job_id):
    """Run-now; returns (run_id, monotonic time of the request) once it runs."""
    t0 = time.monotonic()
    r = d.req("POST", f"/schedule/jobs/{job_id}/run")
    assert r.status == 202, r
    run_id = r.json()["run_id"]
    running = poll(lambda: (run_of(d, job_id, run_id) or {}).get("status") == "running", 10,
                   0.02)
    assert running, (run_of(d, job_id, run_id), d.log_text())
    return run_id, t0


def signal_and_wait(d, sig, timeout):
    """Sends sig; returns (exit status, seconds until exit)."""
    t = time.monotonic()
    d.proc.send_signal(sig)
    rc = d.proc.wait(timeout)
    return rc, time.monotonic() - t


def wait_log(d, text, deadline=10):
    assert poll(lambda: any(text in line for line in d.log), deadline, 0.02), \
        f"no log line with {text!r}:\n{d.log_text()}"


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_sigterm_waits_for_running_job_then_records_it_succeeded(chimed_factory):
    d = chimed_factory()
    job_id = add_sleeper(d, 2)
    run_id, t_post = start_run(d, job_id)
    d.proc.send_signal(signal.SIGTERM)
    t_sig = time.monotonic()
    wait_log(d, "SIGTERM: shutting down")
    # Not ready any more: HTTP is closed while the run finishes.
    assert poll(lambda: refused(d.port), 2, 0.02), "still accepting connections in shutdown"
    assert d.proc.poll() is None, "exited without waiting for the running job"
    rc = d.proc.wait(30)
    t_exit = time.monotonic()
    assert rc == 0, d.log_text()
    assert t_exit - t_post >= 1.95, f"exited {t_exit - t_post:.2f}s after starting a 2 s run"
    assert t_exit - t_sig < 10, f"took {t_exit - t_sig:.2f}s to exit"
    assert not any("recorded lost" in line for line in d.log), d.log_text()
    d.start()
    run = run_of(d, job_id, run_id)
    assert run and run["status"] == "succeeded", run
    assert run["output"] == "slept 2 s", run
    assert run["duration_ms"] >= 1950, run


def grace_over(chimed_factory):
    """A 30 s run, SIGTERM with a 1 s grace: (daemon, job, run, rc, seconds to exit).
    The bounds below leave room for a loaded CI machine and still prove that
    chimed neither waited for the run nor gave up before the grace."""
    d = chimed_factory(args=["--shutdown-grace", "1s"])
    job_id = add_sleeper(d, 30)
    run_id, _ = start_run(d, job_id)
    t = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    wait_log(d, "were recorded lost", 15)
    logged = time.monotonic() - t
    rc = d.proc.wait(30)
    return d, job_id, run_id, rc, logged, time.monotonic() - t


def test_grace_over_records_run_lost_and_exits_0(chimed_factory):
    d, job_id, run_id, rc, logged, _ = grace_over(chimed_factory)
    assert rc == 0, d.log_text()
    assert 0.9 <= logged <= 8, f"gave up on the run {logged:.2f}s after SIGTERM (grace 1 s)"
    d.start()
    run = run_of(d, job_id, run_id)
    assert run and run["status"] == "lost", run
    assert run["finished_at"] is not None, run


def test_grace_over_exits_promptly(chimed_factory):
    d, _, _, rc, _, took = grace_over(chimed_factory)
    assert rc == 0, d.log_text()
    assert took <= 10, f"exited {took:.2f}s after SIGTERM with a 1 s grace"


@pytest.mark.parametrize("sig,status,name", [(signal.SIGTERM, 143, "SIGTERM"),
                                             (signal.SIGINT, 130, "SIGINT")])
def test_second_signal_during_shutdown_exits_at_once(chimed_factory, sig, status, name):
    d = chimed_factory()  # default grace: 30 s
    job_id = add_sleeper(d, 20)
    run_id, _ = start_run(d, job_id)
    d.proc.send_signal(sig)
    wait_log(d, f"{name}: shutting down")
    time.sleep(0.3)
    assert d.proc.poll() is None, "did not wait for the running job"
    rc, took = signal_and_wait(d, sig, 10)
    assert rc == status, (rc, d.log_text())
    assert took < 2, f"took {took:.2f}s to exit after the second {name}"
    wait_log(d, f"second {name} during shutdown: exiting at once", 1)
    assert not any("chimed stopped" in line for line in d.log), d.log_text()
    # The run the process abandoned is not left running forever.
    d.start()
    run = run_of(d, job_id, run_id)
    assert run and run["status"] == "lost", run


def test_run_now_while_max_instances_running_is_409_and_skipped(chimed):
    job_id = add_sleeper(chimed, 2, max_instances=1)
    run_id, _ = start_run(chimed, job_id)
    r = chimed.req("POST", f"/schedule/jobs/{job_id}/run")
    assert r.status == 409, r
    detail = r.json()["detail"]
    assert "max_instances" in detail and "running" in detail, detail
    runs = chimed.req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]
    skipped = [x for x in runs if x["status"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["id"] != run_id, runs
    assert skipped[0]["cause"] == "manual", skipped
    if "run_id" in r.json():
        assert r.json()["run_id"] == skipped[0]["id"], (r, skipped)
    # The running one is unaffected and ends normally; then run-now works again.
    assert poll(lambda: run_of(chimed, job_id, run_id)["status"] == "succeeded", 10)
    again = chimed.req("POST", f"/schedule/jobs/{job_id}/run")
    assert again.status == 202, again
