"""Named job stores (CHIME_JOBSTORES, APScheduler's add_jobstore): a job's
"jobstore" picks the store it lives in; every store's jobs are listed, run
and shown together; a memory:// store beside the default forgets its jobs at
restart while the default keeps its own; an unknown name is refused (400)
with nothing stored; ids are unique over all stores."""
from chimetest import poll
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES

TICK = {"func": "chime:noop", "trigger": "interval", "trigger_args": {"seconds": 1}}


def jobs(d):
    r = d.req("GET", "/schedule/jobs")
    assert r.status == 200, r
    return {j["id"]: j for j in r.json()}


def test_jobs_live_in_the_store_they_name(chimed_factory):
    d = chimed_factory(env={"CHIME_JOBSTORES": "volatile=memory://"})
    kept = d.req("POST", "/schedule/jobs", {**TICK, "name": "kept", "id": "kept"})
    gone = d.req("POST", "/schedule/jobs",
                 {**TICK, "name": "gone", "id": "gone", "jobstore": "volatile"})
    assert kept.status == 200 and gone.status == 200, (kept, gone)
    assert set(jobs(d)) == {"kept", "gone"}
    assert d.req("GET", "/schedule/jobs/gone").json()["jobstore"] == "volatile"
    # Both stores' jobs run, and their runs are listed together with distinct ids.
    ran = poll(lambda: {r["job_id"] for r in d.req("GET", "/schedule/runs").json()["runs"]
                        if r["status"] == "succeeded"} >= {"kept", "gone"}, 10)
    assert ran
    ids = [r["id"] for r in d.req("GET", "/schedule/runs").json()["runs"]]
    assert len(ids) == len(set(ids)) and ids == sorted(ids, reverse=True)
    # The same id in another store is a conflict unless replace_existing.
    dup = d.req("POST", "/schedule/jobs", {**TICK, "id": "gone", "name": "x"})
    assert dup.status == 409, dup
    assert d.req("GET", "/schedule/jobs/gone").json()["jobstore"] == "volatile"
    # Pause, delete and run-now find the job in its store.
    assert d.req("POST", "/schedule/jobs/gone/pause").status == 200
    assert d.req("GET", "/schedule/jobs/gone").json()["next_run_time"] is None
    # (409 when its 1 s schedule happens to be running it: max_instances)
    assert d.req("POST", "/schedule/jobs/gone/run").status in (200, 202, 409)
    # A restart keeps the default store's job and forgets the memory store's.
    assert d.stop() == 0
    d.start()
    assert set(jobs(d)) == {"kept"}


def test_unknown_jobstore_is_refused_and_nothing_stored(chimed_factory):
    d = chimed_factory(env={"CHIME_JOBSTORES": "volatile=memory://"})
    r = d.req("POST", "/schedule/jobs", {**TICK, "name": "x", "jobstore": "nope"})
    assert r.status == 400, r  # as the reference service answers an unknown jobstore
    assert "nope" in str(r.json()["detail"])
    assert jobs(d) == {}


def test_bad_jobstores_setting_is_a_clear_start_error(chimed_factory):
    d = chimed_factory(env={"CHIME_JOBSTORES": "volatile"}, start=False)
    try:
        d.start(timeout=5)
    except AssertionError as e:
        assert "name=url" in str(e)
    else:
        raise AssertionError("chimed started with CHIME_JOBSTORES=volatile")
