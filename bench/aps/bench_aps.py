"""APScheduler 3 doing the work of bench_core's modes, for bench/run's side-by-side table.

Run with Debian's interpreter (/usr/bin/python3: python3-apscheduler 3.9,
python3-sqlalchemy 1.4). Each mode prints "RESULT key value" lines with the
same keys as the matching bench_core mode, so bench/run can pair them:

  burst    --jobs N --store URL   N interval jobs whose next_run_time is now
                                  (already past when the scheduler starts);
                                  runs started / completed per second
  steady   --jobs N --duration S --interval I --store URL
                                  N interval jobs (interval I s) with start
                                  dates staggered evenly over I s; lateness of
                                  every run start (time.time() at the start of
                                  the job function - its scheduled time)
  memory   --jobs N               N cron jobs (minute="*/5") in the memory
                                  store; RSS bytes per job (/proc/self/statm)
  restart  --jobs N --db PATH [--reuse]
                                  a SQLAlchemyJobStore file of N jobs (one in a
                                  thousand due); time from creating the
                                  scheduler to the first run starting
  restart  --jobs N --store postgresql+psycopg2://...
                                  the same in that PostgreSQL database

PostgreSQL (--store postgresql+psycopg2://user@/db?host=/socket/dir, Debian's
python3-psycopg2): the table apscheduler_jobs is dropped first (each run
starts empty); the engine keeps SQLAlchemy's defaults (a pool of 5).

Both sides get the same settings: 2 worker threads (--workers), misfire
grace time and coalescing off for the burst (every due time runs once), and
the SQLite store in WAL mode with synchronous=NORMAL (chime's store settings;
APScheduler's SQLAlchemy engine would otherwise use SQLite's rollback journal
with synchronous=FULL). Logging of apscheduler is set to WARNING, as
bench_core sets chime's log to WARN.
"""
import argparse
import logging
import os
import pickle
import sqlite3
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, event, text

started = 0
started_lock = threading.Lock()
first_start = threading.Event()
samples = []


def noop():
    """The job of the burst and restart modes (chime:noop)."""
    global started
    first_start.set()
    with started_lock:
        started += 1


def steady_job(base, interval):
    """Records the lateness of this run: now - the latest due time of the job."""
    now = time.time()
    k = int((now - base) // interval)
    samples.append(now - (base + k * interval))


def is_pg(url):
    return url.startswith("postgresql")


def store_of(url):
    """A SQLAlchemyJobStore on url with chime's SQLite settings (WAL, NORMAL);
    on PostgreSQL (postgresql+psycopg2://...) the engine's defaults."""
    if url.startswith("memory"):
        return MemoryJobStore()
    engine = create_engine(url)
    if is_pg(url):
        return SQLAlchemyJobStore(engine=engine)

    @event.listens_for(engine, "connect")
    def pragmas(conn, _record):
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return SQLAlchemyJobStore(engine=engine)


def scheduler_of(args, store, **defaults):
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=args.workers)},
        job_defaults=defaults, timezone=timezone.utc)


def unlink_db(url):
    if is_pg(url):  # a fresh table in the run's database
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
        engine.dispose()
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(path + suffix)
            except FileNotFoundError:
                pass


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def add_rate(sched, n, spec):
    """Adds n jobs (spec(i) -> add_job kwargs) to a started, paused scheduler."""
    t0 = time.monotonic()
    for i in range(n):
        sched.add_job(**spec(i))
    return n / (time.monotonic() - t0)


def run_burst(args):
    unlink_db(args.store)
    sched = scheduler_of(args, store_of(args.store), misfire_grace_time=None, coalesce=False)
    done = threading.Semaphore(0)
    sched.add_listener(lambda e: done.release(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    sched.start(paused=True)
    when = datetime.now(timezone.utc)
    rate = add_rate(sched, args.jobs, lambda i: dict(
        func=noop, trigger="interval", hours=1, id="b%d" % i, name="b%d" % i, next_run_time=when))
    t0 = time.monotonic()
    sched.resume()
    t_started = None
    for _ in range(args.jobs):
        if not done.acquire(timeout=600):
            print("burst: timed out", file=sys.stderr)
            break
        if t_started is None and started >= args.jobs:
            t_started = time.monotonic() - t0
    t_done = time.monotonic() - t0
    t_started = t_started or t_done
    sched.shutdown(wait=True)
    print("RESULT add_rate_jobs_per_s %.0f" % rate)
    print("RESULT runs_started %d" % started)
    print("RESULT started_per_s %.0f" % (args.jobs / t_started))
    print("RESULT completed_per_s %.0f" % (args.jobs / t_done))
    return 0 if started == args.jobs else 1


def run_steady(args):
    unlink_db(args.store)
    sched = scheduler_of(args, store_of(args.store), misfire_grace_time=None, coalesce=False)
    missed = [0]
    sched.add_listener(lambda e: missed.__setitem__(0, missed[0] + 1), EVENT_JOB_MISSED)
    sched.start(paused=True)
    base = time.time() + 2.0
    iv = args.interval
    rate = add_rate(sched, args.jobs, lambda i: dict(
        func=steady_job, trigger="interval", seconds=iv, id="s%d" % i,
        start_date=datetime.fromtimestamp(base + iv * i / args.jobs, timezone.utc),
        args=(base + iv * i / args.jobs, iv)))
    sched.resume()
    time.sleep(max(0.0, base - time.time()) + args.duration)
    sched.shutdown(wait=True)
    s = sorted(samples)
    n = len(s)
    expected = int(args.jobs * args.duration / iv)
    print("RESULT add_rate_jobs_per_s %.0f" % rate)
    print("RESULT runs_started %d" % n)
    print("RESULT runs_expected %d" % expected)
    print("RESULT runs_missed %d" % missed[0])
    if n:
        print("RESULT lateness_p50_us %d" % (s[n // 2] * 1e6))
        print("RESULT lateness_p99_us %d" % (s[int(n * 0.99)] * 1e6))
        print("RESULT lateness_max_us %d" % (s[-1] * 1e6))
    return 0


def run_memory(args):
    sched = scheduler_of(args, MemoryJobStore())
    sched.start(paused=True)
    rss0 = rss_bytes()
    rate = add_rate(sched, args.jobs, lambda i: dict(
        func=noop, trigger="cron", minute="*/5", id="j%d" % i, name="j%d" % i))
    rss1 = rss_bytes()
    print("RESULT jobs_held %d" % len(sched.get_jobs()))
    print("RESULT add_rate_jobs_per_s %.0f" % rate)
    print("RESULT rss_bytes_per_job %.1f" % ((rss1 - rss0) / args.jobs))
    sched.shutdown(wait=False)
    return 0


def restart_rows(state, n):
    """(id, next_run_time, pickled state) of n copies of state, one in a thousand due."""
    state["misfire_grace_time"] = None  # a due job runs however late the restart is
    now = time.time()
    for i in range(n):
        state["id"] = "r%d" % i
        when = now - 1 if (i % 1000) == 0 else now + 86400
        state["next_run_time"] = datetime.fromtimestamp(when, timezone.utc)
        yield "r%d" % i, when, pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def restart_build_pg(args, url):
    """The same on PostgreSQL: the table made by the store, rows inserted in batches."""
    unlink_db(url)
    sched = scheduler_of(args, store_of(url))
    sched.start(paused=True)
    sched.add_job(noop, "cron", minute="*/5", id="template")
    sched.shutdown(wait=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        blob = conn.execute(text("SELECT job_state FROM apscheduler_jobs")).scalar()
        conn.execute(text("DELETE FROM apscheduler_jobs"))
        rows = []
        for jid, when, state in restart_rows(pickle.loads(blob), args.jobs):
            rows.append({"i": jid, "t": when, "s": state})
            if len(rows) >= 10000:
                conn.execute(text("INSERT INTO apscheduler_jobs VALUES (:i, :t, :s)"), rows)
                rows = []
        if rows:
            conn.execute(text("INSERT INTO apscheduler_jobs VALUES (:i, :t, :s)"), rows)
        conn.execute(text("ANALYZE apscheduler_jobs"))
    engine.dispose()


def restart_build(args):
    """Writes the job file directly: one job's pickled state, copied with new ids."""
    if is_pg(args.store):
        return restart_build_pg(args, args.store)
    unlink_db("sqlite:///" + args.db)
    url = "sqlite:///" + args.db
    sched = scheduler_of(args, store_of(url))
    sched.start(paused=True)
    sched.add_job(noop, "cron", minute="*/5", id="template")
    sched.shutdown(wait=False)
    db = sqlite3.connect(args.db)
    state = pickle.loads(db.execute("SELECT job_state FROM apscheduler_jobs").fetchone()[0])
    db.execute("DELETE FROM apscheduler_jobs")
    rows = []
    for row in restart_rows(state, args.jobs):
        rows.append(row)
        if len(rows) >= 10000:
            db.executemany("INSERT INTO apscheduler_jobs VALUES (?, ?, ?)", rows)
            rows = []
    db.executemany("INSERT INTO apscheduler_jobs VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()


def run_restart(args):
    # Always rebuilt (--reuse is accepted and ignored): the due jobs of a
    # reused file ran in the previous restart, and their new times are
    # inside the pickled states.
    t = time.monotonic()
    restart_build(args)
    print("RESULT build_s %.2f" % (time.monotonic() - t))
    t0 = time.monotonic()
    url = args.store if is_pg(args.store) else "sqlite:///" + args.db
    sched = scheduler_of(args, store_of(url), misfire_grace_time=None)
    sched.start()
    t_open = time.monotonic() - t0
    ok = first_start.wait(120)
    t_first = time.monotonic() - t0
    sched.shutdown(wait=False)
    print("RESULT open_s %.3f" % t_open)
    print("RESULT first_claim_s %.3f" % (t_first if ok else -1))
    print("RESULT rss_mb %.1f" % (rss_bytes() / 1048576.0))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["burst", "steady", "memory", "restart"])
    p.add_argument("--jobs", type=int, default=10000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--store", default="memory://")
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--interval", type=float, default=10)
    p.add_argument("--db", default="/tmp/chime-bench-aps-restart.db")
    p.add_argument("--reuse", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
    rc = {"burst": run_burst, "steady": run_steady, "memory": run_memory,
          "restart": run_restart}[args.mode](args)
    print("RESULT jobs %d" % args.jobs)
    sys.stdout.flush()
    os._exit(rc)


if __name__ == "__main__":
    main()
