"""Multi-node mode: several real chimed processes on one PostgreSQL database.

Each (job, scheduled time) has exactly one run record and none is missing,
with three nodes firing a few hundred 1 s jobs; kill -9 of a node: its
in-flight runs end `lost` and its jobs keep firing on the others; the
PostgreSQL server restarted and stopped under load: nodes go unready, recover,
nothing fires twice and no due time is left without a record; a change through
node A is seen by node B's API at once and drives B's scheduling.

Only deadlines here, no performance bounds: the measured figures (failover
time, change propagation) are in bench/pg and bench/README.md."""
import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

import pgtest
from chimetest import poll

pytestmark = pytest.mark.stores("postgres")

SECOND = timedelta(seconds=1)
EXEC_ENV = {"CHIME_ALLOW_EXEC": "1"}


def noop_every_second(i):
    return {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1},
            "name": f"tick-{i}"}


def start_nodes(factory, n, env=None, db=None, args=()):
    """n nodes named n0..n{n-1} on the same database."""
    return [factory(args=["--node-name", f"n{i}", "--shutdown-grace", "2s", *args],
                    env=env, db=db) for i in range(n)]


def add_jobs(nodes, bodies):
    """Creates the jobs round robin through the nodes; returns the created jobs."""
    made = []
    for i, body in enumerate(bodies):
        r = nodes[i % len(nodes)].req("POST", "/schedule/jobs", body)
        assert r.status == 200, r
        made.append(r.json())
    return made


def all_runs(d, query=""):
    """Every run record, through the cursor pages of GET /schedule/runs."""
    out, cursor = [], None
    while True:
        path = f"/schedule/runs?limit=1000{query}" + (f"&cursor={cursor}" if cursor else "")
        r = d.req("GET", path, timeout=30)
        assert r.status == 200, r
        page = r.json()
        out.extend(page["runs"])
        cursor = page["next_cursor"]
        if not cursor:
            return out


def ts(text):
    return datetime.fromisoformat(text)


def exactly_once(runs, jobs, until):
    """(duplicates, missing, due) of the 1 s interval jobs: (job, scheduled
    time) pairs recorded more than once, the due times from each job's first
    next_run_time up to `until` that have no record, and how many were due."""
    pairs = Counter((r["job_id"], ts(r["scheduled_time"])) for r in runs)
    dups = sorted((j, t.isoformat(), n) for (j, t), n in pairs.items() if n > 1)
    missing, due = [], 0
    for job in jobs:
        t = ts(job["next_run_time"])
        while t <= until:
            due += 1
            if (job["id"], t) not in pairs:
                missing.append((job["id"], t.isoformat()))
            t += SECOND
    return dups, missing, due


def ready(d):
    try:
        return d.req("GET", "/readyz", timeout=3).status
    except OSError:
        return None


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def test_three_nodes_fire_each_due_time_exactly_once(chimed_factory):
    nodes = start_nodes(chimed_factory, 3)
    jobs = add_jobs(nodes, [noop_every_second(i) for i in range(300)])
    time.sleep(12)
    until = datetime.now(timezone.utc) - 3 * SECOND
    runs = all_runs(nodes[1])
    dups, missing, due = exactly_once(runs, jobs, until)
    assert not dups, f"{len(dups)} (job, time) pairs recorded twice, e.g. {dups[:5]}"
    assert not missing, f"{len(missing)} due times without a record, e.g. {missing[:5]}"
    assert due >= 300 * 5, due  # the window really covered several seconds of each job
    checked = [r for r in runs if ts(r["scheduled_time"]) <= until]
    bad = Counter(r["status"] for r in checked if r["status"] not in ("succeeded", "missed"))
    assert not bad, bad
    assert {r["node"] for r in runs} <= {"n0", "n1", "n2"}
    # The same records, whichever node is asked.
    assert {r["id"] for r in all_runs(nodes[2])} >= {r["id"] for r in checked}


def test_kill_9_runs_lost_and_jobs_fire_elsewhere(chimed_factory):
    nodes = start_nodes(chimed_factory, 3, env=EXEC_ENV)
    sleepers = add_jobs(nodes, [
        {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 1},
         "kwargs": {"argv": ["sleep", "15"]}, "name": f"sleeper-{i}"} for i in range(6)])
    ticks = add_jobs(nodes, [noop_every_second(i) for i in range(30)])
    sleeper_ids = {j["id"] for j in sleepers}

    def running_sleepers():
        rs = all_runs(nodes[0], "&status=running")
        rs = [r for r in rs if r["job_id"] in sleeper_ids]
        return rs if {r["job_id"] for r in rs} == sleeper_ids else None
    running = poll(running_sleepers, 10)
    assert running, "the sleep jobs did not all start:\n" + nodes[0].log_text()
    per_node = Counter(r["node"] for r in running)
    victim_name = per_node.most_common(1)[0][0]
    victim = nodes[int(victim_name[1:])]
    survivors = [d for d in nodes if d is not victim]
    in_flight = {r["id"]: r["job_id"] for r in running if r["node"] == victim_name}
    fired_by_victim = {r["job_id"] for r in all_runs(survivors[0])
                       if r["node"] == victim_name and r["job_id"] not in sleeper_ids}
    orphans = children_of(victim.proc.pid)
    victim.proc.kill()
    victim.proc.wait()
    killed_at = datetime.now(timezone.utc)
    try:
        def lost():
            rs = {r["id"]: r for r in all_runs(survivors[0], "&status=lost")}
            return all(i in rs for i in in_flight) and rs
        got = poll(lost, 10)
        assert got, (f"runs {sorted(in_flight)} of the killed node {victim_name} did not end "
                     f"lost:\n" + survivors[0].log_text())

        def refired():
            rs = all_runs(survivors[1])
            after = {r["job_id"] for r in rs if ts(r["scheduled_time"]) > killed_at and
                     r["node"] != victim_name and r["status"] in ("running", "succeeded")}
            return set(in_flight.values()) | fired_by_victim <= after
        assert poll(refired, 5), "the killed node's jobs did not fire on the others"
        nodes_seen = {n["name"]: n for n in survivors[0].req("GET", "/schedule/nodes").json()
                      ["nodes"]}
        assert nodes_seen[victim_name]["alive"] is False, nodes_seen
        assert all(nodes_seen[d.args[1]]["alive"] is True for d in survivors), nodes_seen
    finally:
        # The sleeps would outlive the daemons: the killed node's orphans, and
        # the survivors' (stopped here, their exit status checked below).
        orphans += [pid for d in survivors for pid in children_of(d.proc.pid)]
        codes = [d.stop() for d in survivors]
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert codes == [0, 0], codes
    assert ticks


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of the test's own (it gets restarted), removed at
    teardown, after the test's daemons (this fixture is set up first)."""
    cluster = pgtest.Cluster()
    cluster.start()
    yield cluster
    cluster.destroy()


def exec_appender(path, i):
    return {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 1},
            "kwargs": {"argv": ["sh", "-c", f"echo fired >> {path}"]}, "name": f"append-{i}"}


def test_postgres_restart_under_load(private_cluster, chimed_factory, tmp_path):
    db = pgtest.create_database(private_cluster.url)
    nodes = start_nodes(chimed_factory, 3, env=EXEC_ENV, db=db)
    fire_logs = [tmp_path / f"fires-{i}.log" for i in range(5)]
    appenders = add_jobs(nodes, [exec_appender(p, i) for i, p in enumerate(fire_logs)])
    jobs = add_jobs(nodes, [noop_every_second(i) for i in range(60)]) + appenders
    time.sleep(3)

    # A quick restart (pg_ctl restart -m fast): every node reconnects.
    private_cluster.restart()
    assert poll(lambda: all(ready(d) == 200 for d in nodes), 15), nodes[0].log_text()
    time.sleep(2)

    # A longer outage: every node reports unready, then recovers.
    private_cluster.halt()
    assert poll(lambda: all(ready(d) == 503 for d in nodes), 10), \
        "a node stayed ready without its database:\n" + nodes[0].log_text()
    time.sleep(2)
    private_cluster.start()
    assert poll(lambda: all(ready(d) == 200 for d in nodes), 15), \
        "a node did not recover after the database came back:\n" + nodes[0].log_text()
    time.sleep(3)

    for job in appenders:
        assert nodes[0].req("POST", f"/schedule/jobs/{job['id']}/pause").status == 200
    until = datetime.now(timezone.utc) - 3 * SECOND
    appender_ids = {j["id"] for j in appenders}

    def settled():
        rs = [r for r in all_runs(nodes[2]) if r["job_id"] in appender_ids]
        return not [r for r in rs if r["status"] == "running"] and rs
    assert poll(settled, 10), "runs of the paused jobs did not end"
    runs = all_runs(nodes[1])
    dups, missing, _ = exactly_once(runs, jobs, until)
    assert not dups, f"{len(dups)} (job, time) pairs recorded twice, e.g. {dups[:5]}"
    assert not missing, f"{len(missing)} due times without a record, e.g. {missing[:5]}"
    # Every command that ran has exactly one record that says it started.
    for job, path in zip(appenders, fire_logs):
        fires = path.read_text().count("fired\n") if path.exists() else 0
        started = [r for r in runs if r["job_id"] == job["id"] and r["started_at"]]
        assert fires == len(started), (job["name"], fires, len(started))
        assert fires > 0


def within_1s(fn):
    """fn() became true within 1 s (not stretched: 'at once' is the target)."""
    end = time.monotonic() + 1
    while not fn():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_change_through_a_seen_by_b_and_scheduled_by_b(chimed_factory):
    a, b = start_nodes(chimed_factory, 2)
    job = add_jobs([a], [{"func": "chime:noop", "trigger": "date", "name": "later",
                          "trigger_args": {"run_date": "2099-01-01T00:00:00+00:00"}}])[0]
    path = f"/schedule/jobs/{job['id']}"
    assert b.req("GET", path).json()["next_run_time"] == job["next_run_time"]

    # PATCH through A: B's API shows it at once.
    due = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    r = a.req("PATCH", path, {"trigger": "date", "trigger_args": {"run_date": due.isoformat()}})
    assert r.status == 200, r
    patched = r.json()
    assert within_1s(lambda: b.req("GET", path).json()["next_run_time"] ==
                     patched["next_run_time"]), "node B's API did not show A's change"

    # B alone is running when the job comes due (A is stopped): B's scheduling
    # learnt of the change, it fires on time, not at some later poll.
    a.proc.send_signal(signal.SIGSTOP)
    try:
        def fired():
            rs = b.req("GET", f"{path}/runs").json()["runs"]
            return [x for x in rs if x["status"] != "running"]
        got = poll(fired, 5)
    finally:
        a.proc.send_signal(signal.SIGCONT)
    assert got and got[0]["node"] == "n1" and got[0]["status"] == "succeeded", got
    late = ts(got[0]["started_at"]) - ts(got[0]["scheduled_time"])
    assert late < SECOND, f"B started the run {late} after its due time"

    # Pause through A: visible on B at once, and no due time after it runs.
    tick = add_jobs([b], [noop_every_second(0)])[0]
    tick_path = f"/schedule/jobs/{tick['id']}"
    assert poll(lambda: b.req("GET", f"{tick_path}/runs").json()["runs"], 10)
    assert a.req("POST", f"{tick_path}/pause").status == 200
    paused_at = datetime.now(timezone.utc)
    assert within_1s(lambda: b.req("GET", tick_path).json()["next_run_time"] is None), \
        "node B's API did not show the pause through A"
    time.sleep(2.5)
    after = [x for x in b.req("GET", f"{tick_path}/runs").json()["runs"]
             if ts(x["scheduled_time"]) > paused_at]
    assert not after, f"runs after the pause through A: {after}"
