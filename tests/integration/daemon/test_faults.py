"""Faults of the SQLite store under a real chimed: kill -9 under load (no job
lost or corrupted, every due time of every job accounted for by exactly one
run record after the restart), a full disk (RLIMIT_FSIZE lowered on the
running daemon with prlimit: writes fail with EFBIG as on a full file system)
and a read-only database file: clear errors, /readyz 503 while the store
fails, recovery when it can write again, no double fire."""
import os
import resource
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta

from chimetest import TIME_SCALE, poll

TICK = {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1},
        "coalesce": False, "misfire_grace_time": None, "max_instances": 5}


def runs_of(d, job_id):
    out, cursor = [], None
    while True:
        q = f"/schedule/jobs/{job_id}/runs?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = d.req("GET", q).json()
        out += page["runs"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def ts(text):
    return datetime.fromisoformat(text)


def db_rows(path, sql):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_kill9_under_load_loses_nothing(chimed_factory, tmp_path):
    d = chimed_factory()
    ticks = {}
    for i in range(10):
        j = d.req("POST", "/schedule/jobs", dict(TICK, name=f"tick{i}")).json()
        ticks[j["id"]] = ts(j["next_run_time"])
    created, stop = {}, threading.Event()

    def writer():  # load: one new job after another until the kill
        i = 0
        while not stop.is_set():
            try:
                r = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "cron",
                                                     "name": f"load{i}", "trigger_args": {"hour": i % 24}},
                          timeout=5)
            except OSError:
                return
            if r.status == 200:
                created[r.json()["id"]] = r.json()
            i += 1

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(3.5)
    d.proc.kill()
    d.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(created) > 50, len(created)
    time.sleep(1.5)  # down: these due times must be run after the restart
    assert db_rows(d.db_path, "PRAGMA integrity_check") == [("ok",)]
    d2 = chimed_factory()
    listed = {j["id"]: j for j in d2.req("GET", "/schedule/jobs").json()}
    for jid, job in created.items():
        assert jid in listed, f"job {jid} answered 200 before the kill is gone"
        assert listed[jid] == job, (listed[jid], job)
    assert set(ticks) <= set(listed)
    time.sleep(2.5)
    horizon = datetime.now(ticks[next(iter(ticks))].tzinfo) - timedelta(seconds=1.5)
    for jid, first in ticks.items():
        runs = runs_of(d2, jid)
        times = [ts(r["scheduled_time"]) for r in runs]
        assert len(times) == len(set(times)), f"{jid}: a due time has two run records"
        expected, t = [], first
        while t <= horizon:
            expected.append(t)
            t += timedelta(seconds=1)
        missing = [t for t in expected if t not in set(times)]
        assert not missing, f"{jid}: due times without a run record: {missing[:5]}"
        statuses = {r["status"] for r in runs}
        assert statuses <= {"succeeded", "lost", "running"}, statuses


def _grow_until_refused(d):
    for i in range(2000):
        r = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "cron", "name": "f" * 1000,
                                             "trigger_args": {"hour": 1}})
        if r.status != 200:
            return i, r
    raise AssertionError("the store never refused a write")


def test_disk_full_not_ready_then_recovers(chimed_factory):
    d = chimed_factory()
    tick = d.req("POST", "/schedule/jobs", dict(TICK, name="tick")).json()
    time.sleep(1.2)
    big = max(os.path.getsize(d.db_path + s) for s in ("", "-wal") if os.path.exists(d.db_path + s))
    soft = big + 32 * 1024
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (soft, resource.RLIM_INFINITY))
    n_ok, refused = _grow_until_refused(d)
    assert refused.status == 503 and "could not be stored" in refused.json()["detail"], refused
    ready = poll(lambda: d.req("GET", "/readyz").status == 503, 5)
    assert ready, "readyz stayed 200 while the store cannot write"
    assert "job store is failing" in d.req("GET", "/readyz").json()["detail"]
    assert d.req("GET", "/healthz").status == 200
    time.sleep(1.5)  # the loop backs off, it does not spin: at most a few log lines a second
    n_claim_errors = sum("claiming due jobs failed" in line for line in d.log)
    assert n_claim_errors < 20 * TIME_SCALE, n_claim_errors
    resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert poll(lambda: d.req("GET", "/readyz").status == 200, 10), d.log_text()
    r = d.req("POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "cron", "name": "after",
                                         "trigger_args": {"hour": 2}})
    assert r.status == 200, r
    time.sleep(2)
    times = [r["scheduled_time"] for r in runs_of(d, tick["id"])]
    assert len(times) == len(set(times)), "a due time ran twice after the recovery"
    assert d.proc.poll() is None


def _demote():
    os.setgid(65534)
    os.setuid(65534)


def test_locked_store_stays_not_ready_with_nothing_due(chimed_factory):
    """A write refused while another process holds the database's write lock
    makes /readyz 503, and it stays 503 while the lock is held even with no job
    due (a claim with nothing due writes nothing, so it cannot prove the store
    healed: the loop probes with a real write); 200 again within about a
    second of the lock's release."""
    d = chimed_factory()
    far = {"func": "chime:noop", "trigger": "date",
           "trigger_args": {"run_date": "2099-01-01T00:00:00+00:00"}}
    assert d.req("POST", "/schedule/jobs", far).status == 200
    conn = sqlite3.connect(d.db_path, isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")
    try:
        refused = d.req("POST", "/schedule/jobs", far, timeout=60)  # after the 5 s busy timeout
        assert refused.status == 503, refused
        assert d.req("GET", "/readyz").status == 503
        time.sleep(2.5)  # more than two of the loop's 1 s passes with nothing due
        r = d.req("GET", "/readyz")
        assert r.status == 503 and "job store is failing" in r.json()["detail"], r
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert poll(lambda: d.req("GET", "/readyz").status == 200, 10), d.log_text()
    assert d.req("POST", "/schedule/jobs", far).status == 200


def test_read_only_database_file(chimed_factory, tmp_path):
    """The database file (and its directory) read-only for chimed: as root,
    chimed runs as nobody on root-owned files. chimed refuses to start, exit
    status 1, naming the read-only database; the file is unchanged."""
    d = chimed_factory()
    assert d.req("POST", "/schedule/jobs", dict(TICK, name="tick", trigger="cron",
                                                trigger_args={"hour": 1})).status == 200
    assert d.stop() == 0
    ro = tempfile.mkdtemp(prefix="chime-ro-")  # under /tmp: nobody can reach it
    try:
        path = os.path.join(ro, "chime.db")
        for suffix in ("", "-wal"):
            if os.path.exists(d.db_path + suffix):
                shutil.copy(d.db_path + suffix, path + suffix)
                os.chmod(path + suffix, 0o444)
        before = db_rows(path, "SELECT * FROM jobs")
        os.chmod(ro, 0o555)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHIME_", "SCHEDULER_"))}
        env["DATABASE_URL"] = f"sqlite:///{path}"
        pre = _demote if os.geteuid() == 0 else None
        p = subprocess.run([d.binary, "--port", "0"], env=env, cwd="/", preexec_fn=pre,
                           capture_output=True, timeout=30 * TIME_SCALE)
        err = p.stderr.decode()
        assert p.returncode == 1, err
        assert "cannot open the store" in err and "readonly database" in err, err
        assert db_rows(path, "SELECT * FROM jobs") == before
    finally:
        os.chmod(ro, 0o755)
        shutil.rmtree(ro)
