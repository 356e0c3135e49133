"""chime:http against a real endpoint: a Python http.server started by the
test (in a thread) answers 200, 503, a slow answer, a redirect chain, and
records what it received; a closed port gives a refused connection. Jobs run
every second on the real chimed and their runs show the outcome (status,
error, output with the HTTP status and body tail). Bad kwargs are refused at
creation with a 400 naming kwargs.<field>."""
import http.server
import json
import threading

import pytest

from chimetest import free_port, poll


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body=b"", extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.seen.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers.items()), "body": body})
        path = self.path
        if path == "/hook":
            self._answer(200, b'{"received": true}')
        elif path == "/fail":
            self._answer(503, b"down for maintenance")
        elif path == "/slow":
            self.server.release.wait(10)
            try:
                self._answer(200, b"too late")
            except OSError:
                pass
        elif path.startswith("/redir/"):
            n = int(path.rsplit("/", 1)[1])
            if n > 0:
                self._answer(302, extra=[("Location", f"/redir/{n - 1}")])
            else:
                self._answer(200, b"landed")
        else:
            self._answer(404, b"no such path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


@pytest.fixture
def endpoint():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.seen = []
    srv.release = threading.Event()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()


def url(srv, path):
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def add(d, kwargs, seconds=1):
    r = d.req("POST", "/schedule/jobs", {"func": "chime:http", "trigger": "interval",
                                         "trigger_args": {"seconds": seconds}, "kwargs": kwargs})
    assert r.status == 200, r
    return r.json()["id"]


def finished(d, job_id):
    r = d.req("GET", f"/schedule/jobs/{job_id}/runs")
    assert r.status == 200, r
    return [run for run in r.json()["runs"] if run["status"] != "running"]


def first_finished(d, job_id, deadline=15):
    got = poll(lambda: finished(d, job_id), deadline)
    assert got, "no finished run:\n" + d.log_text()
    return got[-1]


def test_webhook_job_posts_every_second_and_runs_show_status(chimed, endpoint):
    job_id = add(chimed, {"url": url(endpoint, "/hook"), "headers": {"X-Token": "s3cret"},
                          "body": {"event": "tick", "n": [1, 2]}})
    got = poll(lambda: len(finished(chimed, job_id)) >= 2 and finished(chimed, job_id), 15)
    assert got, chimed.log_text()
    for run in got:
        assert run["status"] == "succeeded", run
        out = json.loads(run["output"])
        assert out["status"] == 200 and out["body_tail"] == '{"received": true}', out
        assert isinstance(out["duration_ms"], int) and out["duration_ms"] >= 0, out
    with endpoint.lock:
        hits = [s for s in endpoint.seen if s["path"] == "/hook"]
    assert len(hits) >= 2
    for h in hits:
        assert h["method"] == "POST"
        assert h["headers"].get("X-Token") == "s3cret"
        assert h["headers"].get("Content-Type") == "application/json"
        assert json.loads(h["body"]) == {"event": "tick", "n": [1, 2]}


def test_webhook_503_recorded_failed_with_status(chimed, endpoint):
    job_id = add(chimed, {"url": url(endpoint, "/fail"), "method": "GET"})
    run = first_finished(chimed, job_id)
    assert run["status"] == "failed", run
    assert run["error"] == "HTTP 503 (expected 2xx)", run
    assert run["http_status"] == 503 and run["exit_code"] is None, run
    out = json.loads(run["output"])
    assert out["status"] == 503 and out["body_tail"] == "down for maintenance", out
    ok_id = add(chimed, {"url": url(endpoint, "/fail"), "method": "DELETE",
                         "expect_status": [503]})
    run = first_finished(chimed, ok_id)
    assert run["status"] == "succeeded" and run["http_status"] == 503, run
    with endpoint.lock:
        assert any(s["method"] == "DELETE" for s in endpoint.seen)


def test_webhook_timeout_and_refused_connection(chimed, endpoint):
    slow = add(chimed, {"url": url(endpoint, "/slow"), "timeout": 0.5}, seconds=2)
    closed = add(chimed, {"url": f"http://127.0.0.1:{free_port()}/x"}, seconds=2)
    run = first_finished(chimed, slow)
    assert run["status"] == "timed_out" and run["error"] == "timed out after 0.5 s", run
    assert json.loads(run["output"])["status"] is None
    assert run["http_status"] is None, run
    run = first_finished(chimed, closed)
    assert run["status"] == "failed" and run["http_status"] is None, run
    assert run["error"].startswith("connection refused: "), run


def test_webhook_redirects_followed_but_limited(chimed, endpoint):
    short = add(chimed, {"url": url(endpoint, "/redir/3"), "method": "GET"}, seconds=2)
    long_ = add(chimed, {"url": url(endpoint, "/redir/9"), "method": "GET"}, seconds=2)
    run = first_finished(chimed, short)
    assert run["status"] == "succeeded", run
    assert json.loads(run["output"])["body_tail"] == "landed"
    run = first_finished(chimed, long_)
    assert run["status"] == "failed" and run["error"] == "too many redirects (more than 5)", run


@pytest.mark.parametrize("kwargs,field", [
    ({"url": "ftp://example.com/x"}, "kwargs.url"),
    ({"url": "file:///etc/passwd"}, "kwargs.url"),
    ({"url": "http://h/", "method": "TRACE"}, "kwargs.method"),
    ({"url": "http://h/", "timeout": 0}, "kwargs.timeout"),
    ({"url": "http://h/", "expect_status": [200, 99]}, "kwargs.expect_status"),
    ({"url": "http://h/", "headers": {"X": "a\r\nY: b"}}, "kwargs.headers"),
    ({}, "url"),
])
def test_webhook_bad_kwargs_refused_at_creation(chimed, kwargs, field):
    r = chimed.req("POST", "/schedule/jobs", {"func": "chime:http", "trigger": "interval",
                                              "trigger_args": {"seconds": 5}, "kwargs": kwargs})
    assert r.status == 400, r
    assert field in r.json()["detail"], r
    assert chimed.req("GET", "/schedule/jobs").json() == [], "a refused job was created"
