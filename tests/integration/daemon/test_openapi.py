"""/openapi.json checked against the real responses of a real chimed.

The document is fetched from the daemon, checked to be a well-formed OpenAPI
3.1 document (Debian 12 has no OpenAPI validator, so the structure is checked
here: paths, operations, parameters, responses, components, every $ref
resolving, every schema a valid Draft 2020-12 schema). Then, for every
operation and every status it documents, a real request that yields that
status is made and the real body (and documented headers such as
X-Next-Cursor) is validated with jsonschema against the response schema, the
$refs resolved into components (shared responses and parameters included:
the trailing-slash 307 and the 414 every operation answers are exercised per
operation). The reverse holds too: every route of the router's table is
documented, every documented path answers 405 exactly for the methods it
does not document (validated against components/responses/MethodNotAllowed),
unknown paths are 404, and every shared component is used.

A few documented statuses cannot be produced by a client's request; they are
listed in UNREACHABLE with the reason, and the test fails if the document
gains a status that is neither exercised nor listed there.
"""
import copy
import json
import os
import re
import sqlite3
import threading

import pytest

jsonschema = pytest.importorskip("jsonschema")  # Debian: python3-jsonschema

from chimetest import RFC3339_RE, Chimed, poll  # noqa: E402

TOKEN = "oapi-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BODY = 16384
FAR = {"run_date": "2031-01-01T00:00:00+00:00"}
ROUTER_C = os.path.join(os.path.dirname(__file__), "..", "..", "..", "src", "http", "router.c")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Documented statuses no client request can produce, with the reason.
UNREACHABLE = {
    ("get", "/schedule/nodes", "200"):
        "this suite's daemon uses SQLite (404); test_nodes.py checks the PostgreSQL answer",
    ("get", "/schedule/nodes", "503"):
        "only a PostgreSQL store that cannot be reached; test_multinode.py restarts the server",
    ("get", "/schedule/jobs", "503"):
        "the listing is served from the store's in-memory index; only out of memory fails it",
    ("get", "/schedule/jobs/{job_id}/runs", "503"):
        "run history is read in WAL mode, which a writer holding the lock does not block",
    ("get", "/schedule/runs", "503"):
        "run history is read in WAL mode, which a writer holding the lock does not block",
    ("get", "/metrics", "503"):
        "only when the server runs out of memory writing the text",
    ("get", "/readyz", "503"):
        "readiness turns false only at shutdown, after which HTTP stops accepting "
        "(test_shutdown.py checks connections are refused then)",
}


# --- the daemon and a client -------------------------------------------------------------------

def _binary():
    build = os.environ.get("CHIME_BUILD_DIR")
    if not build:
        pytest.fail("CHIME_BUILD_DIR is not set (run tests/integration/test_daemon.sh <build dir>)")
    return os.path.join(build, "chimed")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oapi")
    d = Chimed(_binary(), str(tmp), str(tmp / "chime.db"), ["--max-body", str(MAX_BODY),
                                                             "--request-timeout", "60s"],
               {"CHIME_API_TOKEN": TOKEN})
    d.start()
    yield d
    assert d.stop() == 0, d.log_text()


def call(d, method, path, body=None, auth=True, headers=None, timeout=10):
    hdrs = dict(AUTH if auth else {})
    hdrs.update(headers or {})
    return d.req(method, path, body, hdrs, timeout=timeout)


_seq = iter(range(1, 1 << 30))


def new_job(d, **over):
    body = {"func": "chime:noop", "trigger": "date", "trigger_args": FAR,
            "name": f"oapi-{next(_seq)}"}
    body.update(over)
    r = call(d, "POST", "/schedule/jobs", body)
    assert r.status == 200, r
    return r.json()["id"]


def wait_run(d, job_id, run_id, want):
    def look():
        for run in call(d, "GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]:
            if run["id"] == run_id and run["status"] in want:
                return run
        return None
    run = poll(look, 20)
    assert run, f"run {run_id} of {job_id} never reached {want}"
    return run


@pytest.fixture(scope="module")
def doc(daemon):
    r = call(daemon, "GET", "/openapi.json")
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return r.json()


# --- validation against the document ----------------------------------------------------------

def _date_time(value):
    return not isinstance(value, str) or bool(RFC3339_RE.match(value))


FORMATS = jsonschema.FormatChecker(())
FORMATS.checks("date-time")(_date_time)


def validator(doc, schema):
    resolver = jsonschema.RefResolver("", doc)
    return jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=FORMATS)


def validate(doc, schema, instance, what):
    errors = sorted(validator(doc, schema).iter_errors(instance), key=str)
    if errors:
        pytest.fail(f"{what} does not match the document: "
                    + "; ".join(f"at {list(e.absolute_path)}: {e.message}" for e in errors[:5])
                    + f"\ninstance: {json.dumps(instance)[:600]}")


def strict(doc):
    """The document with additionalProperties: false on every object schema that
    lists properties and says nothing else: a field the server sends but the
    document does not name is then an error."""
    out = copy.deepcopy(doc)

    def walk(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and "patternProperties" not in node):
                node["additionalProperties"] = False
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(out)
    return out


def deref(doc, node):
    """node, or what its $ref ("#/components/...") points to (followed until
    a node without $ref)."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in seen, ref
        seen.add(ref)
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operation(doc, method, path):
    op = doc["paths"].get(path, {}).get(method)
    assert op is not None, f"{method.upper()} {path} is not in the document"
    return op


def op_parameters(doc, path, method):
    """The operation's parameters, $refs resolved, with the path item's
    (which the operation's override by name and location)."""
    item = doc["paths"][path]
    params = {}
    for p in item.get("parameters", []) + item[method].get("parameters", []):
        p = deref(doc, p)
        params[(p.get("name"), p.get("in"))] = p
    return list(params.values())


def op_response(doc, method, path, status):
    return deref(doc, operation(doc, method, path)["responses"][status])


def check_response(doc, method, path, r):
    """r's status is documented for the operation, its body matches the schema
    (leniently, and strictly: no undocumented fields), its documented headers too."""
    op = operation(doc, method, path)
    status = str(r.status)
    assert status in op["responses"], \
        f"{method.upper()} {path} answered {r.status}, not documented: {r}"
    return check_against(doc, op_response(doc, method, path, status), r,
                         f"{method.upper()} {path} {status} body")


def check_against(doc, resp, r, what):
    """r matches the response object resp: its body (none when resp has no
    content) and its headers."""
    content = resp.get("content", {})
    body = None
    if not content:
        assert r.body == b"", f"{what}: a body where the document has none: {r}"
    else:
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        assert ctype in content, f"{what}: Content-Type {ctype!r} not among {sorted(content)}"
        body = r.body.decode("utf-8") if ctype.startswith("text/") else r.json()
        schema = content[ctype]["schema"]
        validate(doc, schema, body, what)
        validate(strict(doc), strict(schema), body, what + " (strict: undocumented field?)")
    for name, header in resp.get("headers", {}).items():
        header = deref(doc, header)
        value = r.headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{what}: required header {name} missing"
        if value is not None:
            validate(doc, header["schema"], value, f"{what} header {name}")
    return body


# --- the document's structure ------------------------------------------------------------------

def iter_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from iter_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from iter_refs(v)


def iter_response_schemas(where, resp):
    for mt, media in resp.get("content", {}).items():
        yield f"{where} {mt}", media.get("schema", {})
    for h, header in resp.get("headers", {}).items():
        yield f"{where} header {h}", header.get("schema", {})


def iter_schemas(doc):
    """(where, schema) of every schema the document holds (components and
    operations; a $ref to a shared response or parameter is checked there)."""
    components = doc.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        yield f"components.schemas.{name}", schema
    for name, resp in components.get("responses", {}).items():
        yield from iter_response_schemas(f"components.responses.{name}", resp)
    for name, p in components.get("parameters", {}).items():
        yield f"components.parameters.{name}", p.get("schema", {})
    for path, item in doc["paths"].items():
        for p in item.get("parameters", []):
            yield f"{path} parameter {p.get('name', p.get('$ref'))}", p.get("schema", {})
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            for p in op.get("parameters", []):
                yield f"{where} parameter {p.get('name', p.get('$ref'))}", p.get("schema", {})
            for mt, media in op.get("requestBody", {}).get("content", {}).items():
                yield f"{where} requestBody {mt}", media.get("schema", {})
            for status, resp in op["responses"].items():
                yield from iter_response_schemas(f"{where} {status}", resp)


def test_document_is_openapi_3_1(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc.get("openapi", "")), doc.get("openapi")
    assert isinstance(doc["info"]["title"], str) and isinstance(doc["info"]["version"], str)
    assert set(doc) <= {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks",
                        "components", "security", "tags", "externalDocs"}, sorted(doc)
    assert doc["paths"], "no paths"
    schemes = doc.get("components", {}).get("securitySchemes", {})
    op_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        template_vars = set(re.findall(r"\{([^}]+)\}", path))
        ops = {m: op for m, op in item.items() if m in METHODS}
        assert ops and set(item) <= set(METHODS) | {"summary", "description", "parameters",
                                                    "servers", "$ref"}, (path, sorted(item))
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            op_ids.append(op.get("operationId"))
            params = op_parameters(doc, path, method)
            for p in params:
                assert p.get("in") in ("query", "header", "path", "cookie"), (where, p)
                assert isinstance(p.get("name"), str) and "schema" in p, (where, p)
                if p["in"] == "path":
                    assert p.get("required") is True, (where, p)
            keys = [(p["name"], p["in"]) for p in params]
            assert len(keys) == len(set(keys)), f"{where}: duplicate parameters {keys}"
            assert {p["name"] for p in params if p["in"] == "path"} == template_vars, \
                f"{where}: path parameters do not match the template"
            if "requestBody" in op:
                assert op["requestBody"].get("content"), where
            assert op.get("responses"), f"{where}: no responses"
            for status, resp in op["responses"].items():
                resp = deref(doc, resp)
                assert re.fullmatch(r"[1-5](\d\d|XX)|default", status), (where, status)
                assert isinstance(resp.get("description"), str), (where, status)
                for media in resp.get("content", {}).values():
                    assert "schema" in media, (where, status)
            for req in op.get("security", doc.get("security", [])):
                assert set(req) <= set(schemes), (where, req)
    assert None not in op_ids and len(op_ids) == len(set(op_ids)), op_ids
    for where, schema in iter_schemas(doc):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            pytest.fail(f"{where}: not a valid Draft 2020-12 schema: {e.message}")
    resolver = jsonschema.RefResolver("", doc)
    for ref in set(iter_refs(doc)):
        assert ref.startswith("#/components/"), ref
        resolver.resolve(ref)  # raises if it does not resolve


# Shared components no $ref names, and the test that checks each against real answers.
UNREFERENCED = {
    "#/components/responses/MethodNotAllowed":
        "test_documented_paths_answer_405_for_undocumented_methods",
}


def test_every_shared_component_is_used(doc):
    refs = set(iter_refs(doc))
    for kind in ("schemas", "responses", "parameters"):
        for name in doc.get("components", {}).get(kind, {}):
            ref = f"#/components/{kind}/{name}"
            assert ref in refs or ref in UNREFERENCED, f"{ref} is never used"


def router_routes():
    with open(ROUTER_C, encoding="utf-8") as f:
        text = f.read()
    routes = re.findall(r'X\((GET|POST|PUT|PATCH|DELETE), "([^"]+)"', text)
    assert routes, "no ROUTE_TABLE entries found in router.c"
    return {(m.lower(), re.sub(r"\{[^}]*\}", "{}", p)) for m, p in routes}


def doc_routes(doc):
    return {(m, re.sub(r"\{[^}]*\}", "{}", p))
            for p, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_route_of_the_router_is_documented_and_nothing_else(doc):
    router, documented = router_routes(), doc_routes(doc)
    assert router - documented == set(), "routes missing from the document"
    assert documented - router == set(), "documented operations the router does not have"


def test_documented_paths_answer_405_for_undocumented_methods(daemon, doc):
    job_id = new_job(daemon)
    for path, item in doc["paths"].items():
        real = path.replace("{job_id}", job_id)
        allowed = {m.upper() for m in item if m in METHODS}
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if method in allowed:
                continue
            r = call(daemon, method, real)
            assert r.status == 405, (method, real, r)
            assert r.json() == {"detail": "Method Not Allowed"}, r
            check_against(doc, deref(doc, {"$ref": "#/components/responses/MethodNotAllowed"}), r,
                          f"{method} {real} 405")
            allow = {m.strip() for m in r.headers.get("allow", "").split(",") if m.strip()}
            assert allow - {"HEAD", "OPTIONS"} == allowed, (real, allow, allowed)


# "/" is the dashboard (static files, not API operations: test_dashboard.py).
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/schedule", "/schedule/job",
                                  "/schedule/jobs/a/b", "/schedule/jobs/a/runs/1",
                                  "/schedule/runs/1", "/metrics/x", "/openapi.yaml", "/health",
                                  "/ready", "/schedule/jobs/a/pause/x", "/ui", "/ui/",
                                  "/ui/nope.js", "/index.html"])
def test_undocumented_paths_are_404(daemon, doc, path):
    r = call(daemon, "GET", path)
    assert r.status == 404, (path, r)
    assert r.json() == {"detail": "Not Found"}, r
    validate(doc, {"$ref": "#/components/schemas/Detail"}, r.json(), f"404 {path}")


# --- one real request per documented (operation, status) ---------------------------------------

def locked_store(daemon):
    """Holds the store's write lock from another connection (chimed's busy
    timeout then gives up with a store error)."""
    conn = sqlite3.connect(daemon.db_path, isolation_level=None, timeout=10)
    conn.execute("BEGIN IMMEDIATE")
    return conn


@pytest.fixture(scope="module")
def busy_answers(daemon):
    """The write operations' answers while the store is locked, all sent at
    once (each waits for chimed's 5 s busy timeout; the store takes them one
    at a time, hence the long timeouts: with the default 10 s request timeout
    the connections still queued after 10 s are closed unanswered)."""
    ids = {k: new_job(daemon) for k in ("patch", "delete", "pause", "resume", "run")}
    call(daemon, "POST", f"/schedule/jobs/{ids['resume']}/pause")
    reqs = {
        ("post", "/schedule/jobs"): ("POST", "/schedule/jobs",
                                     {"func": "chime:noop", "trigger": "date",
                                      "trigger_args": FAR}),
        ("patch", "/schedule/jobs/{job_id}"): ("PATCH", f"/schedule/jobs/{ids['patch']}",
                                               {"name": "locked"}),
        ("delete", "/schedule/jobs/{job_id}"): ("DELETE", f"/schedule/jobs/{ids['delete']}", None),
        ("post", "/schedule/jobs/{job_id}/pause"): ("POST", f"/schedule/jobs/{ids['pause']}/pause",
                                                    None),
        ("post", "/schedule/jobs/{job_id}/resume"): ("POST",
                                                     f"/schedule/jobs/{ids['resume']}/resume",
                                                     None),
        ("post", "/schedule/jobs/{job_id}/run"): ("POST", f"/schedule/jobs/{ids['run']}/run",
                                                  None),
    }
    answers = {}

    def send(key, method, path, body):
        try:
            answers[key] = call(daemon, method, path, body, timeout=90)
        except OSError as e:
            answers[key] = e
    conn = locked_store(daemon)
    try:
        threads = [threading.Thread(target=send, args=(k, *v)) for k, v in reqs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(100)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    # Nothing the failed requests asked for happened.
    assert call(daemon, "GET", f"/schedule/jobs/{ids['delete']}").status == 200
    assert call(daemon, "GET", f"/schedule/jobs/{ids['patch']}").json()["name"] != "locked"
    assert call(daemon, "GET", f"/schedule/jobs/{ids['pause']}").json()["next_run_time"]
    # A refused write made the daemon not ready; its loop's write probe makes it
    # ready again within about a second of the lock's release.
    assert poll(lambda: call(daemon, "GET", "/readyz", auth=False).status == 200, 10)
    return answers


def create_valid(d, doc):
    body = {"func": "app.jobs.registry:send_daily_digest", "trigger": "interval",
            "trigger_args": {"minutes": 10}, "name": "digest", "kwargs": {"user_segment": "vip"},
            "coalesce": False, "misfire_grace_time": 30, "max_instances": 2}
    schema = operation(doc, "post", "/schedule/jobs")["requestBody"]["content"]
    validate(doc, schema["application/json"]["schema"], body, "a valid JobCreate")
    return call(d, "POST", "/schedule/jobs", body)


def create_duplicate(d, doc):
    job_id = new_job(d, id=f"dup-{next(_seq)}")
    r = call(d, "POST", "/schedule/jobs", {"func": "chime:noop", "trigger": "date",
                                           "trigger_args": FAR, "id": job_id})
    assert r.json() == {"detail": f"Job '{job_id}' already exists"}, r
    return r


def list_paged(d, doc):
    for _ in range(3):
        new_job(d)
    r = call(d, "GET", "/schedule/jobs?limit=1")
    assert "x-next-cursor" in r.headers and "link" in r.headers, r.headers
    assert r.headers["link"] == \
        f'</schedule/jobs?limit=1&cursor={r.headers["x-next-cursor"]}>; rel="next"'
    last = call(d, "GET", "/schedule/jobs?limit=1000")
    assert "x-next-cursor" not in last.headers and "link" not in last.headers, last.headers
    check_response(doc, "get", "/schedule/jobs", last)
    check_response(doc, "get", "/schedule/jobs", call(d, "GET", "/schedule/jobs"))
    return r


def run_conflict(d, doc):
    job_id = new_job(d, func="chime:sleep", kwargs={"seconds": 3}, max_instances=1)
    first = call(d, "POST", f"/schedule/jobs/{job_id}/run")
    assert first.status == 202, first
    wait_run(d, job_id, first.json()["run_id"], {"running"})
    r = call(d, "POST", f"/schedule/jobs/{job_id}/run")
    assert "max_instances" in r.json().get("detail", ""), r
    return r


def run_now(d, doc):
    job_id = new_job(d)
    r = call(d, "POST", f"/schedule/jobs/{job_id}/run")
    # The runs listed below include a finished one.
    wait_run(d, job_id, r.json()["run_id"], {"succeeded"})
    return r


def job_runs(d, doc):
    job_id = new_job(d, func="chime:fail", kwargs={"message": "boom"})
    run_id = call(d, "POST", f"/schedule/jobs/{job_id}/run").json()["run_id"]
    wait_run(d, job_id, run_id, {"failed"})
    r = call(d, "GET", f"/schedule/jobs/{job_id}/runs")
    assert r.json()["runs"], r
    return r


def all_runs_paged(d, doc):
    for _ in range(2):
        job_runs(d, doc)
    r = call(d, "GET", "/schedule/runs?limit=1")
    assert r.json()["next_cursor"], r
    return r


EXEC_KWARGS = {"argv": ["/bin/echo", "x"]}


def create_exec_refused(d, doc):
    """chime:exec while CHIME_ALLOW_EXEC is off (the default): 403, nothing stored."""
    r = call(d, "POST", "/schedule/jobs", {"func": "chime:exec", "trigger": "date",
                                           "trigger_args": FAR, "kwargs": EXEC_KWARGS,
                                           "id": "oapi-exec"})
    assert "CHIME_ALLOW_EXEC" in r.json().get("detail", ""), r
    assert call(d, "GET", "/schedule/jobs/oapi-exec").status == 404
    return r


def patch_exec_refused(d, doc):
    r = call(d, "PATCH", f"/schedule/jobs/{new_job(d)}",
             {"func": "chime:exec", "kwargs": EXEC_KWARGS})
    assert "CHIME_ALLOW_EXEC" in r.json().get("detail", ""), r
    return r


def patch_too_big(d, doc):
    return call(d, "PATCH", f"/schedule/jobs/{new_job(d)}", {"name": "x" * (MAX_BODY + 10)})


J = "/schedule/jobs/{job_id}"
BUSY = "busy"  # answered by the busy_answers fixture
CASES = {
    ("post", "/schedule/jobs", 200): create_valid,
    ("post", "/schedule/jobs", 400):
        lambda d, doc: call(d, "POST", "/schedule/jobs",
                            {"func": "chime:nope", "trigger": "date", "trigger_args": FAR}),
    ("post", "/schedule/jobs", 401):
        lambda d, doc: call(d, "POST", "/schedule/jobs", {"func": "chime:noop"}, auth=False),
    ("post", "/schedule/jobs", 403): create_exec_refused,
    ("post", "/schedule/jobs", 409): create_duplicate,
    ("post", "/schedule/jobs", 413):
        lambda d, doc: call(d, "POST", "/schedule/jobs", {"func": "x" * (MAX_BODY + 10)}),
    ("post", "/schedule/jobs", 422): lambda d, doc: call(d, "POST", "/schedule/jobs", '{"func": '),
    ("post", "/schedule/jobs", 503): BUSY,
    ("get", "/schedule/jobs", 200): list_paged,
    ("get", "/schedule/jobs", 400): lambda d, doc: call(d, "GET", "/schedule/jobs?cursor=%21%21"),
    ("get", "/schedule/jobs", 401): lambda d, doc: call(d, "GET", "/schedule/jobs", auth=False),
    ("get", J, 200): lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}"),
    ("get", J, 401): lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}", auth=False),
    ("get", J, 404): lambda d, doc: call(d, "GET", "/schedule/jobs/nope"),
    ("patch", J, 200):
        lambda d, doc: call(d, "PATCH", f"/schedule/jobs/{new_job(d)}",
                            {"name": "renamed", "trigger": "cron", "trigger_args": {"hour": 4}}),
    ("patch", J, 400):
        lambda d, doc: call(d, "PATCH", f"/schedule/jobs/{new_job(d)}",
                            {"trigger": "cron", "trigger_args": {"hour": 99}}),
    ("patch", J, 401):
        lambda d, doc: call(d, "PATCH", f"/schedule/jobs/{new_job(d)}", {"name": "x"}, auth=False),
    ("patch", J, 403): patch_exec_refused,
    ("patch", J, 404): lambda d, doc: call(d, "PATCH", "/schedule/jobs/nope", {"name": "x"}),
    ("patch", J, 413): patch_too_big,
    ("patch", J, 422): lambda d, doc: call(d, "PATCH", f"/schedule/jobs/{new_job(d)}", "{"),
    ("patch", J, 503): BUSY,
    ("delete", J, 200): lambda d, doc: call(d, "DELETE", f"/schedule/jobs/{new_job(d)}"),
    ("delete", J, 401):
        lambda d, doc: call(d, "DELETE", f"/schedule/jobs/{new_job(d)}", auth=False),
    ("delete", J, 404): lambda d, doc: call(d, "DELETE", "/schedule/jobs/nope"),
    ("delete", J, 503): BUSY,
    ("post", J + "/pause", 200): lambda d, doc: call(d, "POST", f"/schedule/jobs/{new_job(d)}/pause"),
    ("post", J + "/pause", 401):
        lambda d, doc: call(d, "POST", f"/schedule/jobs/{new_job(d)}/pause", auth=False),
    ("post", J + "/pause", 404): lambda d, doc: call(d, "POST", "/schedule/jobs/nope/pause"),
    ("post", J + "/pause", 503): BUSY,
    ("post", J + "/resume", 200):
        lambda d, doc: call(d, "POST", f"/schedule/jobs/{new_job(d)}/resume"),
    ("post", J + "/resume", 401):
        lambda d, doc: call(d, "POST", f"/schedule/jobs/{new_job(d)}/resume", auth=False),
    ("post", J + "/resume", 404): lambda d, doc: call(d, "POST", "/schedule/jobs/nope/resume"),
    ("post", J + "/resume", 503): BUSY,
    ("post", J + "/run", 202): run_now,
    ("post", J + "/run", 401):
        lambda d, doc: call(d, "POST", f"/schedule/jobs/{new_job(d)}/run", auth=False),
    ("post", J + "/run", 404): lambda d, doc: call(d, "POST", "/schedule/jobs/nope/run"),
    ("post", J + "/run", 409): run_conflict,
    ("post", J + "/run", 503): BUSY,
    ("get", J + "/runs", 200): job_runs,
    ("get", J + "/runs", 400):
        lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}/runs?status=bogus"),
    ("get", J + "/runs", 401):
        lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}/runs", auth=False),
    ("get", "/schedule/runs", 200): all_runs_paged,
    ("get", "/schedule/runs", 400): lambda d, doc: call(d, "GET", "/schedule/runs?limit=0"),
    ("get", "/schedule/runs", 401): lambda d, doc: call(d, "GET", "/schedule/runs", auth=False),
    ("get", J + "/preview", 200):
        lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d, trigger='cron', trigger_args={'minute': 5})}"
                                      "/preview?count=3"),
    ("get", J + "/preview", 400):
        lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}/preview?count=abc"),
    ("get", J + "/preview", 401):
        lambda d, doc: call(d, "GET", f"/schedule/jobs/{new_job(d)}/preview", auth=False),
    ("get", J + "/preview", 404): lambda d, doc: call(d, "GET", "/schedule/jobs/nope/preview"),
    ("get", "/schedule/nodes", 404): lambda d, doc: call(d, "GET", "/schedule/nodes"),
    ("get", "/schedule/nodes", 401): lambda d, doc: call(d, "GET", "/schedule/nodes", auth=False),
    ("get", "/healthz", 200): lambda d, doc: call(d, "GET", "/healthz", auth=False),
    ("get", "/readyz", 200): lambda d, doc: call(d, "GET", "/readyz", auth=False),
    ("get", "/metrics", 200): lambda d, doc: call(d, "GET", "/metrics"),
    ("get", "/metrics", 401): lambda d, doc: call(d, "GET", "/metrics", auth=False),
    ("get", "/openapi.json", 200): lambda d, doc: call(d, "GET", "/openapi.json"),
    ("get", "/openapi.json", 401): lambda d, doc: call(d, "GET", "/openapi.json", auth=False),
}


def real_path(d, path):
    return path.replace("{job_id}", new_job(d)) if "{job_id}" in path else path


def trailing_slash(method, path):
    """The operation's path with one slash too many: 307 to the path, query kept."""
    def case(d, doc):
        real = real_path(d, path)
        r = call(d, method.upper(), real + "/?limit=2&x=%2F")
        assert r.headers.get("location") == real + "?limit=2&x=%2F", r.headers
        return r
    return case


def target_too_long(method, path):
    """65 query parameters: 414 before authentication (no token sent)."""
    def case(d, doc):
        query = "&".join(f"p{i}=1" for i in range(65))
        return call(d, method.upper(), f"{real_path(d, path)}?{query}", auth=False)
    return case


# Every operation answers these (the router and the request-target limit
# come before the handler).
for _m, _p in sorted({(m, p) for m, p, _ in CASES}):
    CASES[(_m, _p, 307)] = trailing_slash(_m, _p)
    CASES[(_m, _p, 414)] = target_too_long(_m, _p)


def test_every_documented_status_is_exercised(doc):
    documented = {(m, p, s) for p, item in doc["paths"].items() for m, op in item.items()
                  if m in METHODS for s in op["responses"]}
    exercised = {(m, p, str(s)) for m, p, s in CASES} | set(UNREACHABLE)
    assert documented - exercised == set(), "documented statuses no test produces"


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0].upper()} {k[1]} {k[2]}")
def test_real_response_matches_document(daemon, doc, key, request):
    method, path, status = key
    case = CASES[key]
    if isinstance(case, type(pytest.param(None))):
        for mark in case.marks:
            request.applymarker(mark)
        case = case.values[0]
    if case == BUSY:
        r = request.getfixturevalue("busy_answers")[(method, path)]
        assert not isinstance(r, Exception), f"no answer while the store was locked: {r!r}"
    else:
        r = case(daemon, doc)
    assert r.status == status, (key, r)
    body = check_response(doc, method, path, r)
    if status >= 400 and status != 422:
        assert isinstance(body.get("detail"), str) and body["detail"], body
    if status == 307:
        assert body is None and r.headers.get("content-length") == "0", r
    if status == 401:
        assert r.headers.get("www-authenticate") == "Bearer", r.headers
