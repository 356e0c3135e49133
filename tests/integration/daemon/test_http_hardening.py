"""HTTP hardening of chimed over raw sockets, for what libmicrohttpd 0.9.75
lets through on its own: a request dripped in one byte at a time (its timeout
counts only idle time), conflicting Content-Length / Transfer-Encoding framing
(request smuggling), a request line with thousands of query parameters (MHD
neither answered nor closed), HTTP/1.1 without Host; and FastAPI's trailing
slash redirect, checked against the reference service."""
import time

from chimetest import connect, read_until_close
from test_compat import reference  # noqa: F401  (the reference service fixture)

GOOD = b'{"func": "chime:noop", "trigger": "cron", "trigger_args": {"hour": 1}}'


def status_of(data):
    return int(data.split(b" ", 2)[1])


def test_slowloris_drip_closed(chimed_factory):
    """Headers one byte at a time, each gap shorter than the timeout: the
    server must still not let one client hold a connection for ever."""
    d = chimed_factory(args=["--request-timeout", "2s"])
    s = connect(d.port)
    drip = b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"z" * 400
    t0 = time.monotonic()
    closed = False
    for byte in drip:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        data, closed = read_until_close(s, 0.5)
        if closed:
            break
        if time.monotonic() - t0 > 12:
            break
    took = time.monotonic() - t0
    s.close()
    assert closed, "a client dripping header bytes kept its connection for 12 s (timeout 2 s)"
    assert 1.5 <= took <= 6, took
    assert d.req("GET", "/healthz").status == 200


def test_slow_body_drip_closed(chimed_factory):
    """The deadline covers the body too: a body dripped in is cut as well, and
    nothing is stored."""
    d = chimed_factory(args=["--request-timeout", "2s"])
    s = connect(d.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(GOOD))
    t0 = time.monotonic()
    closed = False
    for byte in GOOD:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        data, closed = read_until_close(s, 0.3)
        if closed or time.monotonic() - t0 > 12:
            break
    s.close()
    assert closed and time.monotonic() - t0 <= 6
    assert d.req("GET", "/schedule/jobs").json() == []


def test_keep_alive_connection_outlives_request_timeout(chimed_factory):
    """The deadline is per request: a keep-alive client sending complete
    requests keeps its connection longer than the timeout."""
    d = chimed_factory(args=["--request-timeout", "4s"])
    s = connect(d.port)
    for _ in range(4):  # 4 x 1.5 s on one connection: longer than the 4 s deadline
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b'{"status":"ok"}' not in data:
            chunk = s.recv(4096)
            assert chunk, "connection closed between complete requests"
            data += chunk
        time.sleep(1.5)
    s.close()


def test_trailing_slash_redirects(reference, chimed_factory):
    """FastAPI (redirect_slashes) answers GET /schedule/jobs/ with 307 to
    /schedule/jobs, so clients that follow redirects (python requests, curl -L)
    work with a trailing slash."""
    chimed = chimed_factory()
    ref = reference.req("GET", "/schedule/jobs/")
    assert ref.status == 307 and ref.headers["location"].endswith("/schedule/jobs")
    got = chimed.req("GET", "/schedule/jobs/")
    assert got.status == 307, got
    assert got.headers["location"].endswith("/schedule/jobs"), got.headers
    job = chimed.req("POST", "/schedule/jobs", GOOD.decode(),
                     {"Content-Type": "application/json"}).json()
    for method, path in [("GET", f"/schedule/jobs/{job['id']}/"),
                         ("POST", f"/schedule/jobs/{job['id']}/pause/")]:
        ref_r = reference.req(method, path.replace(job["id"], "x"))
        got = chimed.req(method, path + "?a=1")
        assert ref_r.status == 307
        assert got.status == 307, (method, path, got)
        assert got.headers["location"].endswith(path[:-1] + "?a=1"), got.headers
    for path in ["/nope/", "/schedule/jobs//"]:
        assert chimed.req("GET", path).status == 404
    # the redirect is followed to the real answer, nothing else changed
    assert chimed.req("GET", "/schedule/jobs").json()[0]["next_run_time"] is not None


def test_conflicting_content_length_rejected(chimed):
    """RFC 9112 6.3: differing Content-Length values are an unrecoverable
    framing error (400, close): otherwise a proxy that reads the other value
    is open to request smuggling."""
    s = connect(chimed.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" % len(GOOD)
              + GOOD)
    data, _ = read_until_close(s, 5)
    s.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert chimed.req("GET", "/schedule/jobs").json() == []


def test_framing_errors_close_the_connection(chimed):
    """Content-Length with Transfer-Encoding, a coding other than chunked,
    conflicting lengths: 400 {"detail"}, and the connection is closed even
    without Connection: close (the bytes after cannot start a request)."""
    heads = [b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
             b"Transfer-Encoding: gzip, chunked\r\n",
             b"Content-Length: 5\r\nContent-Length: 6\r\n"]
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(GOOD), GOOD)
    for head in heads:
        s = connect(chimed.port)
        s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + head + b"\r\n" + chunked)
        t0 = time.monotonic()
        data, closed = read_until_close(s, 5)
        s.close()
        assert status_of(data) == 400, (head, data[:200])
        assert b'{"detail":' in data
        assert closed and time.monotonic() - t0 < 2, head
    assert chimed.req("GET", "/schedule/jobs").json() == []


def test_many_query_parameters_answered_promptly(chimed):
    """A request line of ~26 KB (3000 query parameters) made MHD wait for the
    whole request timeout: now a prompt 414 and close."""
    s = connect(chimed.port)
    s.sendall(b"GET /schedule/jobs?" + b"&".join(b"limit=%d" % i for i in range(1, 3000))
              + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t0 = time.monotonic()
    data, closed = read_until_close(s, 5)
    s.close()
    assert closed and time.monotonic() - t0 < 2, "no answer and no close within 2 s"
    assert not data or 400 <= status_of(data) < 500, data[:200]
    assert data.startswith(b"HTTP/1.1 414"), data[:200]
    # a few parameters, a long value: still fine
    r = chimed.req("GET", "/schedule/jobs?limit=5&cursor=" + "A" * 4000)
    assert r.status == 400 and "cursor" in r.json()["detail"], r


def test_http11_without_host_rejected(chimed):
    """RFC 9112 3.2: an HTTP/1.1 request without Host, or with two, is 400.
    HTTP/1.0 needs none."""
    for req, want in [(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
                      (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
                       400),
                      (b"GET /healthz HTTP/1.0\r\n\r\n", 200)]:
        s = connect(chimed.port)
        s.sendall(req)
        data, closed = read_until_close(s, 5)
        s.close()
        assert closed and status_of(data) == want, (req, data[:200])
        if want == 400:
            assert b"Host" in data
