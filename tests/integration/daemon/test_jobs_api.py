"""The job management API over real HTTP: the reference service's five
endpoints (shapes verbatim), chime's additions (get one, PATCH, run now,
preview, pagination), probes, OpenAPI, routing (404/405) and bearer auth."""
import json
import re

from chimetest import HEX32_RE, RFC3339_RE
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES

DIGEST = {"func": "app.jobs.registry:send_daily_digest", "trigger": "cron",
          "trigger_args": {"hour": 8, "minute": 0, "timezone": "UTC"},
          "name": "Daily digest", "jobstore": "default"}
PURGE = {"func": "app.jobs.registry:purge_expired_sessions", "trigger": "interval",
         "trigger_args": {"minutes": 15}, "name": "Purge sessions"}
REPORT = {"func": "app.jobs.registry:generate_weekly_report", "trigger": "cron",
          "trigger_args": {"day_of_week": "mon", "hour": 6, "timezone": "UTC"}}
ONCE = {"func": "chime:noop", "trigger": "date",
        "trigger_args": {"run_date": "2099-01-01T00:00:00+00:00"}, "name": "once"}


def create(d, body):
    r = d.req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()


def jobs(d):
    r = d.req("GET", "/schedule/jobs")
    assert r.status == 200, r
    return r.json()


def test_create_documented_examples(chimed):
    job = create(chimed, DIGEST)
    assert HEX32_RE.match(job["id"])
    assert job["name"] == "Daily digest"
    assert RFC3339_RE.match(job["next_run_time"])
    assert job["next_run_time"].endswith("T08:00:00+00:00")
    assert create(chimed, PURGE)["name"] == "Purge sessions"
    # APS-COMPAT: without a name the job is named after the function.
    assert create(chimed, REPORT)["name"] == "generate_weekly_report"
    once = create(chimed, ONCE)
    assert once["next_run_time"] == "2099-01-01T00:00:00+00:00"
    assert len(jobs(chimed)) == 4
    assert chimed.req("GET", "/schedule/jobs/" + job["id"]).json()["id"] == job["id"]


def test_response_content_type_is_json(chimed):
    r = chimed.req("GET", "/schedule/jobs")
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == []
    r = chimed.req("GET", "/schedule/jobs/nope")
    assert r.headers["content-type"].startswith("application/json")


def test_client_id_and_duplicate(chimed):
    body = dict(DIGEST, id="digest-1")
    assert create(chimed, body)["id"] == "digest-1"
    before = jobs(chimed)
    r = chimed.req("POST", "/schedule/jobs", dict(body, name="other"))
    assert r.status == 409, r
    assert r.json() == {"detail": "Job 'digest-1' already exists"}
    assert jobs(chimed) == before
    r = chimed.req("POST", "/schedule/jobs", dict(body, name="replaced", replace_existing=True))
    assert r.status == 200, r
    assert [j["name"] for j in jobs(chimed)] == ["replaced"]


def test_list_order_next_run_time_paused_last(chimed):
    late = create(chimed, dict(ONCE, name="late"))
    early = create(chimed, dict(ONCE, name="early",
                                trigger_args={"run_date": "2098-01-01T00:00:00+00:00"}))
    mid = create(chimed, dict(ONCE, name="mid",
                              trigger_args={"run_date": "2098-06-01T00:00:00+00:00"}))
    assert chimed.req("POST", f"/schedule/jobs/{early['id']}/pause").status == 200
    listed = jobs(chimed)
    assert [j["name"] for j in listed] == ["mid", "late", "early"]
    assert listed[2]["next_run_time"] is None
    assert {j["id"] for j in listed} == {late["id"], early["id"], mid["id"]}


def test_pause_resume_delete(chimed):
    job = create(chimed, DIGEST)
    path = "/schedule/jobs/" + job["id"]
    r = chimed.req("POST", path + "/pause")
    assert (r.status, r.json()) == (200, {"status": "paused"})
    got = chimed.req("GET", path).json()
    assert got["next_run_time"] is None
    assert got["paused"] is True
    r = chimed.req("POST", path + "/resume")
    assert (r.status, r.json()) == (200, {"status": "resumed"})
    assert chimed.req("GET", path).json()["next_run_time"] == job["next_run_time"]
    r = chimed.req("DELETE", path)
    assert (r.status, r.json()) == (200, {"status": "deleted"})
    assert jobs(chimed) == []
    assert chimed.req("GET", path).status == 404


def test_unknown_id_404_everywhere(chimed):
    create(chimed, DIGEST)
    before = jobs(chimed)
    for method, path, body in [("GET", "/schedule/jobs/nope", None),
                               ("PATCH", "/schedule/jobs/nope", {"name": "x"}),
                               ("POST", "/schedule/jobs/nope/pause", None),
                               ("POST", "/schedule/jobs/nope/resume", None),
                               ("DELETE", "/schedule/jobs/nope", None),
                               ("POST", "/schedule/jobs/nope/run", None),
                               ("GET", "/schedule/jobs/nope/preview", None)]:
        r = chimed.req(method, path, body)
        assert (r.status, r.json()) == (404, {"detail": "Job not found"}), (method, path, r)
    assert jobs(chimed) == before


def test_patch(chimed):
    job = create(chimed, DIGEST)
    path = "/schedule/jobs/" + job["id"]
    r = chimed.req("PATCH", path, {"name": "Digest at nine"})
    assert r.status == 200, r
    assert r.json()["name"] == "Digest at nine"
    assert r.json()["next_run_time"] == job["next_run_time"]
    r = chimed.req("PATCH", path, {"trigger": "cron",
                                   "trigger_args": {"hour": 9, "minute": 30, "timezone": "UTC"}})
    assert r.status == 200, r
    assert r.json()["next_run_time"].endswith("T09:30:00+00:00")
    got = chimed.req("GET", path).json()
    assert got["name"] == "Digest at nine"
    assert got["next_run_time"].endswith("T09:30:00+00:00")
    # A bad change is refused and changes nothing.
    r = chimed.req("PATCH", path, {"trigger": "cron", "trigger_args": {"hour": 24}})
    assert r.status == 400, r
    assert "hour" in r.json()["detail"]
    r = chimed.req("PATCH", path, {"name": ""})
    assert r.status in (400, 422), r
    assert chimed.req("GET", path).json() == got
    r = chimed.req("PATCH", path, {"max_instances": 3, "coalesce": False})
    assert r.status == 200, r
    assert r.json()["max_instances"] == 3 and r.json()["coalesce"] is False


def test_preview(chimed):
    job = create(chimed, DIGEST)
    path = f"/schedule/jobs/{job['id']}/preview"
    r = chimed.req("GET", path + "?count=3&after=2030-01-01T00:00:00Z")
    assert r.status == 200, r
    assert r.json() == {"fires": ["2030-01-01T08:00:00+00:00", "2030-01-02T08:00:00+00:00",
                                  "2030-01-03T08:00:00+00:00"]}
    r = chimed.req("GET", path)
    assert r.status == 200 and len(r.json()["fires"]) == 5
    assert all(RFC3339_RE.match(f) for f in r.json()["fires"])
    berlin = create(chimed, dict(DIGEST, trigger_args={"hour": 8, "timezone": "Europe/Berlin"}))
    r = chimed.req("GET", f"/schedule/jobs/{berlin['id']}/preview?count=2&after=2030-07-01T00:00:00Z")
    assert r.json() == {"fires": ["2030-07-01T08:00:00+02:00", "2030-07-02T08:00:00+02:00"]}
    r = chimed.req("GET", path + "?count=1000000")
    assert r.status == 400 or (r.status == 200 and len(r.json()["fires"]) <= 1000), r
    for bad in ("count=abc", "count=-1", "after=yesterday"):
        r = chimed.req("GET", f"{path}?{bad}")
        assert r.status == 400, (bad, r)
        assert bad.split("=")[0] in r.json()["detail"], (bad, r)


def test_pagination(chimed):
    for i in range(7):
        create(chimed, dict(ONCE, name=f"j{i}",
                            trigger_args={"run_date": f"209{i}-01-01T00:00:00+00:00"}))
    paused = create(chimed, dict(ONCE, name="paused"))
    chimed.req("POST", f"/schedule/jobs/{paused['id']}/pause")
    full = jobs(chimed)
    assert [j["name"] for j in full] == [f"j{i}" for i in range(7)] + ["paused"]
    pages, url = [], "/schedule/jobs?limit=3"
    while url:
        r = chimed.req("GET", url)
        assert r.status == 200, r
        page = r.json()
        assert isinstance(page, list) and len(page) <= 3
        pages.append(page)
        cursor = r.headers.get("x-next-cursor")
        if cursor is None:
            assert "link" not in r.headers
            url = None
        else:
            assert re.fullmatch(r"[A-Za-z0-9_-]+=*", cursor), cursor
            link = r.headers["link"]
            assert link == f'</schedule/jobs?limit=3&cursor={cursor}>; rel="next"', link
            url = f"/schedule/jobs?limit=3&cursor={cursor}"
        assert len(pages) < 10
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [j for p in pages for j in p] == full
    for bad, name in (("limit=0", "limit"), ("limit=-2", "limit"), ("limit=x", "limit"),
                      ("limit=2&cursor=%%%", "cursor"), ("limit=2&cursor=AAAA", "cursor")):
        r = chimed.req("GET", "/schedule/jobs?" + bad)
        assert r.status == 400, (bad, r)
        assert name in r.json()["detail"], (bad, r)


def test_probes_and_openapi(chimed):
    r = chimed.req("GET", "/healthz")
    assert (r.status, r.json()) == (200, {"status": "ok"})
    r = chimed.req("GET", "/readyz")
    assert (r.status, r.json()) == (200, {"status": "ready"})
    r = chimed.req("GET", "/openapi.json")
    assert r.status == 200, r
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for p, methods in {"/schedule/jobs": {"get", "post"},
                       "/schedule/jobs/{id}": {"get", "patch", "delete"},
                       "/schedule/jobs/{id}/pause": {"post"},
                       "/schedule/jobs/{id}/resume": {"post"},
                       "/schedule/jobs/{id}/run": {"post"},
                       "/schedule/jobs/{id}/runs": {"get"},
                       "/schedule/jobs/{id}/preview": {"get"},
                       "/schedule/runs": {"get"},
                       "/healthz": {"get"}, "/readyz": {"get"}}.items():
        key = p if p in paths else p.replace("{id}", "{job_id}")
        assert key in paths, p
        assert methods <= set(paths[key]), (p, set(paths[key]))


def test_routing_404_405(chimed):
    r = chimed.req("GET", "/nope")
    assert (r.status, r.json()) == (404, {"detail": "Not Found"})
    r = chimed.req("GET", "/schedule/jobs/a/b/c")
    assert (r.status, r.json()) == (404, {"detail": "Not Found"})
    for method, path, allowed in [("PUT", "/schedule/jobs", {"GET", "POST"}),
                                  ("DELETE", "/schedule/jobs", {"GET", "POST"}),
                                  ("GET", "/schedule/jobs/x/pause", {"POST"}),
                                  ("PUT", "/schedule/jobs/x", {"GET", "PATCH", "DELETE"}),
                                  ("POST", "/healthz", {"GET"})]:
        r = chimed.req(method, path, {} if method in ("PUT", "POST") else None)
        assert (r.status, r.json()) == (405, {"detail": "Method Not Allowed"}), (method, path, r)
        got = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed <= got, (method, path, got)
        assert method not in got


def test_bearer_token(chimed_factory):
    d = chimed_factory(env={"CHIME_API_TOKEN": "s3cret-token"})
    for path in ("/schedule/jobs", "/schedule/runs", "/openapi.json"):
        r = d.req("GET", path)
        assert (r.status, r.json()) == (401, {"detail": "Not authenticated"}), (path, r)
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    for bad in ("Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token2", "Basic czM=",
                "s3cret-token"):
        assert d.req("GET", "/schedule/jobs", headers={"Authorization": bad}).status == 401, bad
    r = d.req("POST", "/schedule/jobs", DIGEST)
    assert r.status == 401, r
    auth = {"Authorization": "Bearer s3cret-token"}
    r = d.req("GET", "/schedule/jobs", headers=auth)
    assert (r.status, r.json()) == (200, [])
    assert d.req("POST", "/schedule/jobs", DIGEST, headers=auth).status == 200
    assert len(d.req("GET", "/schedule/jobs", headers=auth).json()) == 1
    assert d.req("GET", "/healthz").status == 200
    assert d.req("GET", "/readyz").status == 200


def test_no_token_by_default(chimed):
    r = chimed.req("GET", "/schedule/jobs", headers={"Authorization": "Bearer anything"})
    assert r.status == 200, r
    assert json.loads(r.body) == []
