"""Faults of the PostgreSQL store under a real chimed (one node; the
multi-node cases are in test_multinode.py):

- kill -9 under load: 1 s jobs firing, runs of `sleep` jobs in flight, client
  threads creating jobs. After the restart no job is lost, every stored job
  is byte for byte what it was before the kill except that its next run
  time may have advanced, every due time in the window has exactly one run
  record, and the runs in flight at the kill end `lost`.
- PostgreSQL down at start-up: chimed starts and serves (/healthz 200),
  /readyz is 503 naming the connection error, the API answers 503 and stores
  nothing; when the server comes, chimed sets the store up, marks the runs a
  killed predecessor left running `lost`, and fires. A server that answers
  but refuses (no such database) is not waited for: exit 1 naming
  DATABASE_URL.
- PostgreSQL restarted (pg_ctl restart -m fast) and stopped for a while
  mid-run, several times: /readyz 503 with a detail while it is away, 200
  after; no (job, scheduled time) with two records; no due time without
  one; every command that ran has exactly one record saying it started.
"""
import os
import signal
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

import pgtest
from chimetest import TIME_SCALE, poll
from test_multinode import all_runs, children_of, exactly_once, ready, ts

pytestmark = pytest.mark.stores("postgres")

SECOND = timedelta(seconds=1)
EXEC_ENV = {"CHIME_ALLOW_EXEC": "1"}
TICK = {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1},
        "coalesce": False, "misfire_grace_time": None, "max_instances": 5}
NODE = ["--node-name", "solo", "--shutdown-grace", "2s"]


def sleeper(i, seconds=3):
    """A 1 s interval job whose run takes `seconds`: runs are in flight at any instant."""
    return {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 1},
            "kwargs": {"argv": ["sleep", str(seconds)]}, "name": f"sleeper-{i}",
            "coalesce": False, "misfire_grace_time": None, "max_instances": 1}


def create(d, body):
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()


def listing(d):
    r = d.req("GET", "/schedule/jobs", timeout=30)
    assert r.status == 200, r
    return {j["id"]: j for j in r.json()}


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def same_but_next_run(before, after):
    """Differences between two listings other than next_run_time advancing."""
    diffs = []
    for jid, job in before.items():
        now = after.get(jid)
        if now is None:
            diffs.append((jid, "gone"))
            continue
        a, b = dict(job), dict(now)
        t0, t1 = a.pop("next_run_time"), b.pop("next_run_time")
        if a != b:
            diffs.append((jid, a, b))
        elif t0 is not None and (t1 is None or ts(t1) < ts(t0)):
            diffs.append((jid, "next_run_time went back or vanished", t0, t1))
    return diffs


def due_times_accounted(runs, jobs, until):
    dups, missing, due = exactly_once(runs, jobs, until)
    assert not dups, f"{len(dups)} (job, time) pairs recorded twice, e.g. {dups[:5]}"
    assert not missing, f"{len(missing)} due times without a record, e.g. {missing[:5]}"
    return due


def test_kill9_under_load_loses_nothing(chimed_factory):
    d = chimed_factory(args=NODE, env=EXEC_ENV)
    ticks = [create(d, dict(TICK, name=f"tick{i}")) for i in range(100)]
    sleepers = [create(d, sleeper(i)) for i in range(4)]
    sleeper_ids = {j["id"] for j in sleepers}
    created, stop = {}, threading.Event()

    def writer(k):  # load: one new job after another until the kill
        i = 0
        while not stop.is_set():
            try:
                r = d.req("POST", "/schedule/jobs", {
                    "func": "chime:noop", "trigger": "cron", "name": f"load{k}-{i}",
                    "trigger_args": {"hour": i % 24, "minute": 7}}, timeout=5)
            except OSError:
                return
            if r.status == 200:
                created[r.json()["id"]] = r.json()
            i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()

    def in_flight():
        rs = [r for r in all_runs(d, "&status=running") if r["job_id"] in sleeper_ids]
        return rs if len({r["job_id"] for r in rs}) == len(sleeper_ids) else None
    running = poll(in_flight, 10)
    assert running, "the sleep jobs did not all start:\n" + d.log_text()
    time.sleep(1.0)
    before = listing(d)
    running = {r["id"]: r for r in all_runs(d, "&status=running")}
    orphans = children_of(d.proc.pid)
    d.proc.kill()
    d.proc.wait()
    killed_at = datetime.now(timezone.utc)
    stop.set()
    for t in threads:
        t.join()
    kill_all(orphans)
    assert len(created) > 30, len(created)
    assert any(r["job_id"] in sleeper_ids for r in running.values()), running
    time.sleep(1.5)  # down: these due times must be run after the restart

    d2 = chimed_factory(args=NODE, env=EXEC_ENV, db=d.db_path)
    try:
        after = listing(d2)
        for jid, job in created.items():
            assert jid in after, f"job {jid} answered 200 before the kill is gone"
        diffs = same_but_next_run({**before, **created}, after)
        assert not diffs, f"{len(diffs)} jobs changed by the kill, e.g. {diffs[:3]}"
        for jid, job in created.items():  # cron jobs of another hour: untouched
            assert after[jid] == job or ts(after[jid]["next_run_time"]) > ts(job["next_run_time"])

        # Runs in flight at the kill end lost (one that ended in the few ms
        # between the query and the kill may have succeeded before it).
        final = {r["id"]: r for r in all_runs(d2)}
        n_lost = 0
        for rid, r in running.items():
            if r["job_id"] not in sleeper_ids:
                continue
            end = final[rid]
            if end["status"] == "succeeded" and ts(end["finished_at"]) <= killed_at:
                continue
            assert end["status"] == "lost", f"run {rid} in flight at the kill: {end}"
            assert "restarted" in end["error"], end
            n_lost += 1
        assert n_lost >= 1, running
        time.sleep(2.5)
        until = datetime.now(timezone.utc) - 1.5 * SECOND
        runs = all_runs(d2)
        due = due_times_accounted(runs, ticks + sleepers, until)
        assert due >= 100 * 4, due  # several seconds of every job
        tick_ids = {j["id"] for j in ticks}
        statuses = Counter(r["status"] for r in runs if r["job_id"] in tick_ids)
        assert set(statuses) <= {"succeeded", "lost", "running"}, statuses
        statuses = Counter(r["status"] for r in runs if r["job_id"] in sleeper_ids)
        assert set(statuses) <= {"succeeded", "lost", "running", "skipped"}, statuses
        print(f"kill9: {len(created)} jobs created under load, {len({**before, **created})} "
              f"compared, {n_lost} in-flight runs lost, {due} due times accounted")
    finally:
        for job in sleepers:
            d2.req("POST", f"/schedule/jobs/{job['id']}/pause")
        kill_all(children_of(d2.proc.pid))


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of the test's own (it is stopped and restarted)."""
    cluster = pgtest.Cluster()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_postgres_down_at_startup_waits_then_recovers(private_cluster, chimed_factory):
    db = pgtest.create_database(private_cluster.url)
    first = chimed_factory(args=NODE, env=EXEC_ENV, db=db)
    slow = create(first, sleeper(0, seconds=30))
    tick = create(first, dict(TICK, name="tick"))
    assert poll(lambda: all_runs(first, "&status=running"), 10), first.log_text()
    orphans = children_of(first.proc.pid)
    first.proc.kill()  # a run in flight: the next start marks it lost
    first.proc.wait()
    kill_all(orphans)
    private_cluster.halt()

    d = chimed_factory(args=NODE, env=EXEC_ENV, db=db)
    try:
        assert "waiting for the server" in "\n".join(d.log), d.log_text()
        assert "DATABASE_URL" in "\n".join(d.log), d.log_text()
        assert d.req("GET", "/healthz").status == 200
        r = d.req("GET", "/readyz")
        assert r.status == 503 and "PostgreSQL unreachable" in r.json()["detail"], r
        r = d.req("POST", "/schedule/jobs", dict(TICK, name="refused"))
        assert r.status == 503 and "could not be stored" in r.json()["detail"], r
        r = d.req("GET", "/schedule/jobs")
        assert r.status == 503 and "could not be listed" in r.json()["detail"], r
        assert d.req("GET", f"/schedule/jobs/{tick['id']}").status == 503
        time.sleep(1.5)
        assert d.proc.poll() is None

        private_cluster.start()
        assert poll(lambda: ready(d) == 200, 15), "no recovery:\n" + d.log_text()
        jobs = listing(d)
        assert set(jobs) == {slow["id"], tick["id"]}, jobs  # the refused create is not there
        assert poll(lambda: all_runs(d, "&status=lost"), 5), d.log_text()
        lost = all_runs(d, "&status=lost")
        assert [r["job_id"] for r in lost] == [slow["id"]], lost
        d.req("POST", f"/schedule/jobs/{slow['id']}/pause")
        time.sleep(2.5)
        until = datetime.now(timezone.utc) - 1.5 * SECOND
        due_times_accounted(all_runs(d), [tick], until)
    finally:
        kill_all(children_of(d.proc.pid))


def test_postgres_refusing_at_startup_exits_naming_database_url(private_cluster, chimed_factory):
    """A server that answers but refuses (here: no such database) is a
    configuration error: waiting would not heal it, chimed exits 1."""
    url = pgtest.with_database(private_cluster.url, "no_such_database")
    d = chimed_factory(db=url, start=False)
    with pytest.raises(AssertionError):
        d.start(timeout=10 * TIME_SCALE)
    assert d.proc.returncode == 1, d.log_text()
    text = d.log_text()
    assert "cannot open the store" in text and "DATABASE_URL" in text, text
    assert 'database "no_such_database" does not exist' in text, text


def exec_appender(path, i):
    return {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 1},
            "kwargs": {"argv": ["sh", "-c", f"echo fired >> {path}"]}, "name": f"append-{i}"}


OUTAGES = int(os.environ.get("CHIME_PG_OUTAGES", "2"))


def test_postgres_restarted_and_stopped_mid_run(private_cluster, chimed_factory, tmp_path):
    db = pgtest.create_database(private_cluster.url)
    d = chimed_factory(args=NODE, env=EXEC_ENV, db=db)
    fire_logs = [tmp_path / f"fires-{i}.log" for i in range(4)]
    appenders = [create(d, exec_appender(p, i)) for i, p in enumerate(fire_logs)]
    jobs = [create(d, dict(TICK, name=f"tick{i}")) for i in range(100)] + appenders
    time.sleep(2.5)
    refused = 0
    for _ in range(OUTAGES):
        private_cluster.restart()  # drops every connection at once
        assert poll(lambda: ready(d) == 200, 15), d.log_text()
        time.sleep(1.5)

        private_cluster.halt()  # a longer outage
        assert poll(lambda: ready(d) == 503, 10), "ready without its database:\n" + d.log_text()
        r = d.req("GET", "/readyz")
        assert r.status == 503 and "PostgreSQL unreachable" in r.json()["detail"], r
        r = d.req("POST", "/schedule/jobs", dict(TICK, name="during-outage"))
        assert r.status == 503, r
        refused += 1
        time.sleep(2)
        private_cluster.start()
        assert poll(lambda: ready(d) == 200, 15), "no recovery:\n" + d.log_text()
        time.sleep(2)

    assert "during-outage" not in {j["name"] for j in listing(d).values()}
    for job in appenders:
        assert d.req("POST", f"/schedule/jobs/{job['id']}/pause").status == 200
    until = datetime.now(timezone.utc) - 2 * SECOND
    appender_ids = {j["id"] for j in appenders}

    def settled():
        rs = [r for r in all_runs(d) if r["job_id"] in appender_ids]
        return not [r for r in rs if r["status"] == "running"] and rs
    assert poll(settled, 10), "runs of the paused jobs did not end"
    runs = all_runs(d)
    due = due_times_accounted(runs, jobs, until)
    assert due >= 104 * 5 * OUTAGES, due
    for job, path in zip(appenders, fire_logs):
        fires = path.read_text().count("fired\n") if path.exists() else 0
        started = [r for r in runs if r["job_id"] == job["id"] and r["started_at"]]
        assert fires == len(started), (job["name"], fires, len(started))
        assert fires > 0
    assert refused == OUTAGES
    print(f"outages: {OUTAGES} restarts + {OUTAGES} stops, {due} due times accounted, "
          f"{sum(1 for r in runs if r['job_id'] in appender_ids)} command runs matched")
