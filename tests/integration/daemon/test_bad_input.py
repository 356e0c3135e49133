"""Everything a client can get wrong, over real HTTP and raw sockets. Every
rejected request must leave GET /schedule/jobs exactly as it was, and nothing
a client sends may ever produce a 500."""
import json
import random
import re
import socket
import time

import pytest

from chimetest import connect, read_until_close

GOOD = {"func": "app.jobs.registry:send_daily_digest", "trigger": "cron",
        "trigger_args": {"hour": 8, "minute": 0}, "name": "Daily digest", "jobstore": "default"}


def with_(**changes):
    body = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            body.pop(k)
        else:
            body[k] = v
    return body


@pytest.fixture
def seeded(chimed):
    """A daemon holding one job, and the listing every test compares against."""
    r = chimed.req("POST", "/schedule/jobs", GOOD)
    assert r.status == 200, r
    listing = chimed.req("GET", "/schedule/jobs").json()
    return chimed, listing


def unchanged(d, listing):
    r = d.req("GET", "/schedule/jobs")
    assert r.status == 200, r
    assert r.json() == listing
    assert d.req("GET", "/healthz").status == 200


def assert_422(r, loc, typ):
    assert r.status == 422, r
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    assert all(set(e) >= {"loc", "msg", "type"} for e in detail), detail
    assert any(e["loc"][:len(loc)] == loc and e["type"] == typ for e in detail), detail


JSON_CT = {"Content-Type": "application/json"}


@pytest.mark.parametrize("raw", [
    '{"func": "app.jobs.registry:send_daily_digest", "trigger": "cron"',  # truncated
    '{"func": "x", }',
    "{func: 1}",
    "{'func': 'x'}",
    '{"func": "x" "trigger": "y"}',
    "[",
    "nul",
    '{"func": "\\u12"}',
    '{"func": "x"} trailing',
])
def test_malformed_json_422(seeded, raw):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", raw.encode("latin-1"), JSON_CT)
    assert r.status == 422, r
    detail = r.json()["detail"]
    assert detail[0]["type"] == "value_error.jsondecode", detail
    assert detail[0]["loc"][0] == "body" and isinstance(detail[0]["msg"], str), detail
    unchanged(d, listing)


def test_invalid_utf8_rejected(seeded):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", b'{"func": "\xff\xfe"}', JSON_CT)
    assert 400 <= r.status < 500, r
    unchanged(d, listing)


def test_empty_body_422(seeded):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", b"", JSON_CT)
    assert r.status == 422, r
    assert isinstance(r.json()["detail"], list)
    unchanged(d, listing)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "application/xml"])
def test_wrong_content_type_422(seeded, ctype):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", json.dumps(GOOD), {"Content-Type": ctype})
    assert r.status == 422, r
    assert isinstance(r.json()["detail"], list), r
    unchanged(d, listing)


def test_json_content_type_with_charset_accepted(chimed):
    r = chimed.req("POST", "/schedule/jobs", json.dumps(GOOD),
                   {"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 200, r


@pytest.mark.parametrize("field", ["func", "trigger"])
def test_missing_field_422(seeded, field):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", with_(**{field: ...}))
    assert_422(r, ["body", field], "value_error.missing")
    e = [e for e in r.json()["detail"] if e["loc"] == ["body", field]][0]
    assert e["msg"] == "field required"
    unchanged(d, listing)


@pytest.mark.parametrize("body,loc,typ", [
    (with_(trigger_args=[1, 2]), ["body", "trigger_args"], "type_error.dict"),
    (with_(trigger_args="hour=8"), ["body", "trigger_args"], "type_error.dict"),
    (with_(func=["a"]), ["body", "func"], "type_error.str"),
    (with_(func={"m": "f"}), ["body", "func"], "type_error.str"),
    (with_(trigger={"cron": 1}), ["body", "trigger"], "type_error.str"),
    (with_(name=["x"]), ["body", "name"], "type_error.str"),
    (with_(jobstore=[]), ["body", "jobstore"], "type_error.str"),
    ([GOOD], ["body"], "type_error.dict"),
    ("a string", ["body"], "type_error.dict"),
])
def test_mistyped_field_422(seeded, body, loc, typ):
    d, listing = seeded
    raw = json.dumps(body)
    r = d.req("POST", "/schedule/jobs", raw, JSON_CT)
    assert_422(r, loc, typ)
    unchanged(d, listing)


@pytest.mark.parametrize("body,field", [
    (with_(func="app.jobs.registry:no_such_function"), "func"),
    (with_(func="no.such.module:send_daily_digest"), "func"),
    (with_(func="send_daily_digest"), "func"),
    (with_(func=""), "func"),
    (with_(jobstore="archive"), "jobstore"),
    (with_(name=""), "name"),
    (with_(trigger="weekly"), "trigger"),
    (with_(trigger=""), "trigger"),
    (with_(trigger_args={"hour": 25}), "hour"),
    (with_(trigger_args={"minute": "*/0"}), "minute"),
    (with_(trigger_args={"day_of_week": "funday"}), "day_of_week"),
    (with_(trigger_args={"hour": 8, "bogus": 1}), "bogus"),
    (with_(trigger_args={"hour": 8, "timezone": "Mars/Olympus_Mons"}), "timezone"),
    (with_(trigger_args={"month": 2, "day": 30}), ("day", "month", "trigger_args")),
    (with_(trigger_args={"hour": 8, "end_date": "2001-01-01"}), ("end_date", "trigger_args")),
    (with_(trigger="interval", trigger_args={"seconds": 0}), ("interval", "seconds", "trigger_args")),
    (with_(trigger="interval", trigger_args={"minutes": -5}), "minutes"),
    (with_(trigger="interval", trigger_args={}), ("interval", "trigger_args")),
    (with_(trigger="interval", trigger_args={"seconds": "ten"}), "seconds"),
    (with_(trigger="interval", trigger_args={"seconds": 10, "end_date": "2001-01-01"}),
     ("end_date", "trigger_args")),
    (with_(trigger="date", trigger_args={"run_date": "not a date"}), "run_date"),
    # A date trigger without run_date runs once at creation (APScheduler's run_date=None);
    # an empty zone name is refused for date triggers (APScheduler's pytz raises).
    (with_(trigger="date", trigger_args={"timezone": ""}), "timezone"),
    (with_(args=[1, 2, 3]), "args"),
    (with_(kwargs={"no_such_param": 1}), ("no_such_param", "kwargs")),
    (with_(misfire_grace_time=-1), "misfire_grace_time"),
    (with_(max_instances=0), "max_instances"),
])
def test_semantic_error_400(seeded, body, field):
    d, listing = seeded
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 400, r
    detail = r.json()["detail"]
    fields = field if isinstance(field, tuple) else (field,)
    assert isinstance(detail, str) and any(f in detail for f in fields), detail
    unchanged(d, listing)


def test_method_not_allowed_changes_nothing(seeded):
    d, listing = seeded
    r = d.req("PUT", "/schedule/jobs", GOOD)
    assert r.status == 405, r
    unchanged(d, listing)


def test_body_over_limit_413(chimed_factory):
    d = chimed_factory(args=["--max-body", "4096"])
    d.req("POST", "/schedule/jobs", GOOD)
    listing = d.req("GET", "/schedule/jobs").json()
    big = dict(GOOD, name="n" * 5000)
    r = d.req("POST", "/schedule/jobs", big)
    assert (r.status, r.json()) == (413, {"detail": "request body exceeds 4096 bytes"})
    unchanged(d, listing)
    # Just under the limit is served normally (a semantic answer, not 413).
    ok = json.dumps(dict(GOOD, name="m" * 100))
    assert d.req("POST", "/schedule/jobs", ok, JSON_CT).status == 200


def test_declared_huge_length_413_without_sending(chimed_factory):
    d = chimed_factory(args=["--max-body", "4096"])
    listing = d.req("GET", "/schedule/jobs").json()
    s = connect(d.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000000000000\r\n\r\n{")
    data, _ = read_until_close(s, 5)
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    unchanged(d, listing)


def test_chunked_body_over_limit_413(chimed_factory):
    d = chimed_factory(args=["--max-body", "4096"])
    listing = d.req("GET", "/schedule/jobs").json()
    s = connect(d.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b'{"name": "' + b"x" * 1000
    try:
        for _ in range(10):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            chunk = b"y" * 1000
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, _ = read_until_close(s, 5)
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:200]
    unchanged(d, listing)


def test_too_many_headers(seeded):
    d, listing = seeded
    s = connect(d.port)
    head = b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\n"
    head += b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 40) for i in range(3000))
    try:
        s.sendall(head + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, closed = read_until_close(s, 5)
    s.close()
    if data:
        status = int(data.split(b" ", 2)[1])
        assert status in (400, 413, 431), data[:200]
    else:
        assert closed
    unchanged(d, listing)


def test_header_line_too_long(seeded):
    d, listing = seeded
    s = connect(d.port)
    try:
        s.sendall(b"GET /schedule/jobs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, closed = read_until_close(s, 5)
    s.close()
    assert closed or data
    if data:
        assert int(data.split(b" ", 2)[1]) in (400, 413, 414, 431), data[:200]
    unchanged(d, listing)


def test_slow_client_stalled_headers_closed(chimed_factory):
    d = chimed_factory(args=["--request-timeout", "2s"])
    listing = d.req("GET", "/schedule/jobs").json()
    s = connect(d.port)
    s.sendall(b"GET /schedule/jobs HTTP/1.1\r\nHo")
    t0 = time.monotonic()
    data, closed = read_until_close(s, 8)
    s.close()
    assert closed, "a client that stopped sending was not disconnected within 8 s"
    assert 1.0 <= time.monotonic() - t0 <= 6.0
    assert not data.startswith(b"HTTP/1.1 200")
    unchanged(d, listing)


def test_random_bytes(seeded):
    d, listing = seeded
    rng = random.Random(20261128)
    for i in range(20):
        s = connect(d.port)
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000)))
        if i % 4 == 0:
            junk = b"POST /schedule/jobs HTTP/1.1\r\nContent-Length: 50\r\n\r\n" + junk
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, _ = read_until_close(s, 5)
        s.close()
        if data.startswith(b"HTTP/"):
            status = int(data.split(b" ", 2)[1])
            assert 400 <= status < 500, data[:200]
    unchanged(d, listing)


def test_bad_query_parameters(seeded):
    d, listing = seeded
    job_id = listing[0]["id"]
    for path, name in [("/schedule/runs?status=exploded", "status"),
                       ("/schedule/runs?limit=0", "limit"),
                       ("/schedule/runs?limit=1001", "limit"),
                       ("/schedule/runs?limit=ten", "limit"),
                       ("/schedule/runs?cursor=***", "cursor"),
                       (f"/schedule/jobs/{job_id}/runs?status=nope", "status"),
                       (f"/schedule/jobs/{job_id}/runs?limit=-1", "limit")]:
        r = d.req("GET", path)
        assert r.status == 400, (path, r)
        assert name in r.json()["detail"], (path, r)
    unchanged(d, listing)


def test_never_500_on_odd_paths(seeded):
    d, listing = seeded
    for method, path in [("GET", "/schedule/jobs/%00"), ("GET", "/schedule/jobs/" + "a" * 5000),
                         ("POST", "/schedule/jobs/%zz/pause"), ("GET", "/schedule/jobs?limit="),
                         ("GET", "/schedule/jobs/..%2f..%2fetc/preview"),
                         ("DELETE", "/schedule/jobs/%2e%2e"), ("GET", "//schedule//jobs")]:
        r = d.req(method, path)
        assert r.status < 500, (method, path, r)
    unchanged(d, listing)


def test_stalled_body_closed(chimed_factory):
    d = chimed_factory(args=["--request-timeout", "2s"])
    listing = d.req("GET", "/schedule/jobs").json()
    s = connect(d.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"fu")
    t0 = time.monotonic()
    data, closed = read_until_close(s, 8)
    s.close()
    assert closed and time.monotonic() - t0 <= 6, "a stalled body kept its connection"
    assert b" 200 " not in data[:20]
    unchanged(d, listing)


def test_pipelined_requests_all_answered(chimed):
    s = connect(chimed.port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data, closed = read_until_close(s, 5)
    s.close()
    assert closed
    assert [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)] == [200, 404, 200], data


def test_expect_100_continue(chimed):
    body = json.dumps(GOOD).encode()
    s = connect(chimed.port)
    s.sendall(b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    first = s.recv(100)
    assert first.startswith(b"HTTP/1.1 100"), first
    s.sendall(body)
    data, _ = read_until_close(s, 5)
    s.close()
    assert b"HTTP/1.1 200" in first + data, data[:200]
    assert len(chimed.req("GET", "/schedule/jobs").json()) == 1


def test_huge_url_and_bad_chunks_rejected(seeded):
    d, listing = seeded
    for raw, allowed in [
            (b"GET /schedule/jobs/" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", (400, 414, 431)),
            (b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", (400, 422)),
            (b"POST /schedule/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: -5\r\n\r\n", (400,)),
            (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", (400, 505))]:
        s = connect(d.port)
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = read_until_close(s, 5)
        s.close()
        assert data or closed
        if data:
            assert int(data.split(b" ", 2)[1]) in allowed, data[:200]
    unchanged(d, listing)
