"""Many jobs and many clients: the streamed full listing of a few hundred jobs
equals the paged one, concurrent clients all get served with unique ids,
keep-alive connections survive error answers, and the connection limit turns
extra clients away without harming the others."""
import http.client
import json
import threading

from chimetest import connect, poll, read_until_close


def body(i):
    return {"func": "chime:noop", "trigger": "cron",
            "trigger_args": {"minute": i % 60, "hour": (i // 60) % 24, "timezone": "UTC"},
            "name": f"job-{i:04d}"}


def test_streamed_listing_equals_pages(chimed):
    conn = http.client.HTTPConnection("127.0.0.1", chimed.port, timeout=10)
    for i in range(600):
        conn.request("POST", "/schedule/jobs", json.dumps(body(i)),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    conn.close()
    r = chimed.req("GET", "/schedule/jobs")
    assert r.status == 200
    full = r.json()
    assert len(full) == 600 and len({j["id"] for j in full}) == 600
    times = [j["next_run_time"] for j in full]
    assert times == sorted(times)  # all in UTC: string order is time order
    paged, url = [], "/schedule/jobs?limit=250"
    while url:
        r = chimed.req("GET", url)
        paged += r.json()
        cur = r.headers.get("x-next-cursor")
        url = f"/schedule/jobs?limit=250&cursor={cur}" if cur else None
    assert paged == full


def test_concurrent_clients(chimed):
    ids, errors = [], []
    lock = threading.Lock()

    def client(k):
        try:
            for i in range(25):
                r = chimed.req("POST", "/schedule/jobs", body(k * 100 + i))
                with lock:
                    (ids if r.status == 200 else errors).append(r.json().get("id", r.status))
                chimed.req("GET", "/schedule/jobs?limit=5")
        except Exception as exc:  # reported below
            with lock:
                errors.append(repr(exc))
    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert len(chimed.req("GET", "/schedule/jobs").json()) == 200


def test_keep_alive_survives_errors(chimed):
    conn = http.client.HTTPConnection("127.0.0.1", chimed.port, timeout=10)
    seq = [("POST", "/schedule/jobs", "{bad json", 422),
           ("GET", "/schedule/jobs/nope", None, 404),
           ("PUT", "/schedule/jobs", "{}", 405),
           ("POST", "/schedule/jobs", json.dumps(body(1)), 200),
           ("GET", "/schedule/jobs", None, 200)]
    for method, path, data, want in seq:
        conn.request(method, path, data, {"Content-Type": "application/json"} if data else {})
        r = conn.getresponse()
        r.read()
        assert r.status == want, (method, path, r.status)
    conn.close()


def test_connection_limit(chimed_factory):
    """With the limit held by idle clients an extra client is not served (it
    is refused or waits); once they leave, clients are served again."""
    d = chimed_factory(args=["--max-connections", "4", "--request-timeout", "30s"])
    idle = [connect(d.port) for _ in range(4)]
    extra = connect(d.port)
    try:
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, closed = read_until_close(extra, 2)
        assert b" 200 " not in data, data[:100]
    finally:
        for s in idle:
            s.close()
    if not closed:  # queued: served as soon as a slot is free
        later, _ = read_until_close(extra, 5)
        assert later.startswith(b"HTTP/1.1 200"), later[:100]
    extra.close()

    def healthy():
        try:
            return d.req("GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False
    assert poll(healthy, 5), "chimed did not serve again after the idle clients left"
