"""HTTP abuse of a real chimed: thousands of malformed, oversized, truncated
and slow requests and random bytes from a seeded RNG (the seed is printed and
can be replayed with CHIME_ABUSE_SEED; CHIME_ABUSE_N sets the count). Every
answer must be a 4xx (or, for read-only requests that happen to be valid, any
status below 500; a 505 only for a request line naming an HTTP version other
than 1.0/1.1, the answer RFC 9110 gives it), or the connection closed; the daemon must stay up, and
the stored jobs must be unchanged afterwards: the API listing and the rows of
the SQLite file compared before and after. Under the ASan build
(tests/integration/test_daemon.sh build-asan, `make test-asan`) the daemon's
clean exit at teardown also means no leak report.

Nothing sent can change a job by construction: requests with a head mutated
only name job ids that do not exist (or have no body), and requests with a
JSON body keep a correct head and carry a body that Python's json module
rejects (so it is not a valid job either)."""
import json
import os
import random
import re
import socket
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chimetest import TIME_SCALE, connect

NOID = "f" * 32
GOOD_JOB = {"func": "chime:noop", "trigger": "cron", "name": "good",
            "trigger_args": {"month": 1, "day": 1, "hour": 3}}
BODIES = [
    GOOD_JOB,
    {"func": "chime:noop", "trigger": "interval", "trigger_args": {"hours": 2},
     "args": [1, "x"], "kwargs": {"a": {"b": [True, None]}}, "max_instances": 2},
    {"func": "chime:noop", "trigger": "date", "trigger_args": {"run_date": "2031-05-06T07:08:09+02:00"}},
    {"func": "chime:noop", "trigger": "cron", "trigger_args": {"day_of_week": "mon-fri", "hour": "*/3",
                                                               "timezone": "Europe/Berlin"}},
    {"name": "\u00e9\u4e2d", "paused": True, "misfire_grace_time": 30, "coalesce": False},
]
HEADS = [  # read-only requests, or requests on a job that does not exist
    b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /schedule/jobs?limit=3&cursor=abc HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /schedule/jobs/" + NOID.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /schedule/runs?limit=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /schedule/jobs/" + NOID.encode() + b"/preview?count=5 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"DELETE /schedule/jobs/" + NOID.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /schedule/jobs/" + NOID.encode() + b"/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
    b"GET /readyz HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
]


def mutate(rng, data, n_max=3):
    b = bytearray(data)
    for _ in range(rng.randint(1, n_max)):
        op = rng.randrange(5)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 2 and b:
            del b[i:i + rng.randint(1, 8)]
        elif op == 3:
            b[i:i] = rng.choice([b"\r\n", b"\x00", b"%", b"\xff\xfe", b"{", b"\"", b"\\u", b"1e999"])
        elif b:
            b[i:i] = b[i:i + rng.randint(1, 64)] * rng.randint(2, 50)
    return bytes(b)


def json_invalid(body):
    try:
        json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return True
    return False


def write_request(method, path, body, extra=b""):
    return (b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s"
            b"Content-Length: %d\r\n\r\n" % (method, path, extra, len(body))) + body


def bad_body(rng):
    """A JSON body Python rejects: a mutated or truncated valid one."""
    while True:
        text = json.dumps(rng.choice(BODIES)).encode()
        if rng.random() < 0.3:
            body = text[:rng.randrange(len(text))]
        else:
            body = mutate(rng, text)
        if json_invalid(body):
            return body


def case(rng):
    """(kind, bytes to send, read_only). read_only: a 2xx/3xx answer is allowed."""
    k = rng.randrange(100)
    if k < 15:
        return "random", bytes(rng.randrange(256) for _ in range(rng.randint(1, 2048))), True
    if k < 35:
        return "mutated-head", mutate(rng, rng.choice(HEADS)), True
    if k < 60:
        path = rng.choice([b"/schedule/jobs", b"/schedule/jobs/" + NOID.encode()])
        method = b"POST" if path == b"/schedule/jobs" else b"PATCH"
        return "bad-json", write_request(method, path, bad_body(rng)), False
    if k < 64:
        req = write_request(b"POST", b"/schedule/jobs", json.dumps(GOOD_JOB).encode())
        return "truncated", req[:rng.randrange(len(req) - 1)], False
    if k < 80:
        big = rng.choice([
            b"GET /schedule/jobs?" + b"a=1&" * rng.randint(2000, 40000) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * rng.randint(9000, 200000) + b"\r\n\r\n",
            b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\n" + b"X-H: 1\r\n" * rng.randint(500, 5000) + b"\r\n",
            write_request(b"POST", b"/schedule/jobs", b"[" * rng.randint(70000, 300000)),
            write_request(b"POST", b"/schedule/jobs", b'{"func": "' + b"a" * 70000 + b'"}'),
        ])
        return "oversized", big, big.startswith(b"GET")
    if k < 88:
        lie = rng.choice([b"Content-Length: 99999999999999999999\r\n", b"Content-Length: -1\r\n",
                          b"Content-Length: 5\r\nContent-Length: 7\r\n",
                          b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip, chunked\r\n"])
        body = rng.choice([b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{\"a\"\r\n0\r\n\r\n", bad_body(rng)])
        return "framing", (b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           + lie + b"\r\n" + body), False
    if k < 94:
        body = bad_body(rng)
        ctype = rng.choice([b"text/plain", b"application/x-www-form-urlencoded", b"", b"application/json; charset=latin1"])
        return "content-type", write_request(b"POST", b"/schedule/jobs", body).replace(
            b"application/json", ctype, 1), False
    # a valid read followed by pipelined garbage on the same connection
    return "pipelined", HEADS[0] + mutate(rng, rng.choice(HEADS)) + bytes(
        rng.randrange(256) for _ in range(rng.randint(1, 300))), True


def complete(got):
    """True when got holds one whole response (head, then its Content-Length
    or chunked body): the answer is in, the connection may stay open."""
    head, sep, body = got.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value)
    return body.endswith(b"0\r\n\r\n")


def send(port, data, limit_s):
    """Sends data, half-closes, reads until close or one whole response.
    Returns (bytes read, closed or answered)."""
    s = connect(port)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before all was sent
            pass
        got = b""
        end = time.monotonic() + limit_s
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got, False
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return got, False
            except OSError:
                return got, True
            if not chunk:
                return got, True
            got += chunk
            if complete(got):
                return got, True
    finally:
        s.close()


def statuses(data):
    out = []
    for line in data.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            parts = line.split(b" ", 2)
            if len(parts) >= 2 and parts[1].isdigit():
                out.append(int(parts[1]))
    return out


def snapshot(d):
    listing = d.req("GET", "/schedule/jobs")
    assert listing.status == 200
    db = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True)
    try:
        rows = db.execute("SELECT * FROM jobs ORDER BY id").fetchall()
    finally:
        db.close()
    return listing.json(), rows


def drip(port, data, gap_s, limit_s):
    """Sends data a few bytes at a time; returns True when the server closed."""
    s = connect(port)
    end = time.monotonic() + limit_s
    try:
        for i in range(0, len(data), 3):
            try:
                s.sendall(data[i:i + 3])
            except (BrokenPipeError, ConnectionResetError):
                return True
            time.sleep(gap_s)
            if time.monotonic() > end:
                return False
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            return False
        except ConnectionResetError:
            pass
        return True
    finally:
        s.close()


VERSION_LINE = re.compile(rb"^[^ \r\n]+ [^ \r\n]+ HTTP/(\d+)\.(\d+)\r?\n")


def version_unsupported(data):
    """How many request lines in data (the first, and each after an empty line, as
    pipelined requests are) name an HTTP version other than 1.0 and 1.1: the
    requests a 505 (HTTP Version Not Supported) is the right answer to."""
    n = 0
    for part in data.split(b"\r\n\r\n"):
        m = VERSION_LINE.match(part)
        n += bool(m) and (m.group(1), m.group(2)) not in ((b"1", b"0"), (b"1", b"1"))
    return n


def test_abuse_leaves_daemon_up_and_jobs_unchanged(chimed_factory):
    seed = int(os.environ.get("CHIME_ABUSE_SEED", time.time_ns() % 2**32))
    n = int(os.environ.get("CHIME_ABUSE_N", "3000"))
    print(f"abuse seed {seed} (replay: CHIME_ABUSE_SEED={seed}), {n} requests")
    rng = random.Random(seed)
    d = chimed_factory(args=["--request-timeout", "2s", "--max-body", "64KiB"])
    for i, body in enumerate(BODIES[:4]):
        keep = {k: v for k, v in body.items() if k not in ("args", "kwargs")}
        assert d.req("POST", "/schedule/jobs", dict(keep, name=f"keep{i}")).status == 200
    before = snapshot(d)
    cases = [case(rng) for _ in range(n)]
    limit = 2 * TIME_SCALE + 3
    counts, problems = {}, []
    lock = threading.Lock()

    def one(c):
        kind, data, read_only = c
        got, closed = send(d.port, data, limit)
        codes = statuses(got)
        with lock:
            counts[kind] = counts.get(kind, 0) + 1
            bad = [s for s in codes if s >= 500 or (not read_only and not 400 <= s < 500)]
            if bad and set(bad) == {505} and len(bad) <= version_unsupported(data):
                bad = []  # RFC 9110 15.6.6: libmicrohttpd's answer to HTTP/9.1 and the like
            if bad or (not codes and not closed):
                problems.append((kind, codes, closed, data[:200]))

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, cases))
    slow = [b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 300 + b"\r\n\r\n",
            write_request(b"POST", b"/schedule/jobs", bad_body(rng))]
    with ThreadPoolExecutor(20) as pool:
        closed = list(pool.map(lambda i: drip(d.port, slow[i % 2], 0.05, limit + 10), range(20)))
    assert d.proc.poll() is None, "chimed died (seed %d):\n%s" % (seed, d.log_text())
    assert not problems, "seed %d: %d bad answers, first: %r" % (seed, len(problems), problems[:5])
    assert all(closed), "seed %d: slow clients kept connections: %r" % (seed, closed)
    assert d.req("GET", "/healthz").status == 200
    assert snapshot(d) == before, "seed %d: stored jobs changed" % seed
    print("abuse cases:", counts)
