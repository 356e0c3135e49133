"""The dashboard's static files as chimed serves them (GET / and /ui/<file>):
the bytes of ui/ with their content types, a strong ETag answered 304 on
revalidation, Cache-Control and a strict Content-Security-Policy (no inline
script or style), served without the token while every API call still needs
it, GET and HEAD only, and no API path shadowed. The page itself is driven in
Chromium by tests/integration/test_dashboard_e2e.sh."""
import os
import re

import pytest

from chimetest import Chimed

TOKEN = "dash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UI_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "ui")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
UI_FILES = sorted(f for f in os.listdir(UI_DIR) if os.path.splitext(f)[1] in TYPES)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dash")
    d = Chimed(os.path.join(os.environ["CHIME_BUILD_DIR"], "chimed"), str(tmp),
               str(tmp / "chime.db"), [], {"CHIME_API_TOKEN": TOKEN})
    d.start()
    yield d
    assert d.stop() == 0, d.log_text()


def ui_bytes(name):
    with open(os.path.join(UI_DIR, name), "rb") as f:
        return f.read()


def test_ui_has_the_files_the_page_loads():
    html = ui_bytes("index.html").decode()
    for ref in re.findall(r'(?:src|href)="(/ui/[^"]+)"', html):
        assert ref[len("/ui/"):] in UI_FILES, ref
    assert "index.html" in UI_FILES and "app.js" in UI_FILES


@pytest.mark.parametrize("name", UI_FILES)
def test_each_file_is_served_as_is_without_the_token(daemon, name):
    r = daemon.req("GET", f"/ui/{name}")
    assert r.status == 200, r
    assert r.body == ui_bytes(name)
    assert r.headers["content-type"] == TYPES[os.path.splitext(name)[1]]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{16}"', r.headers["etag"]), r.headers


def test_root_is_index_html(daemon):
    r = daemon.req("GET", "/")
    assert r.status == 200, r
    assert r.body == ui_bytes("index.html")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["etag"] == daemon.req("GET", "/ui/index.html").headers["etag"]


def test_csp_is_strict_and_the_page_has_no_inline_code(daemon):
    csp = daemon.req("GET", "/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    html = ui_bytes("index.html").decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), "inline style or handler"


def test_etag_revalidation_is_304_without_a_body(daemon):
    etag = daemon.req("GET", "/ui/app.js").headers["etag"]
    for value in (etag, f'"0000000000000000", {etag}', f"W/{etag}", "*"):
        r = daemon.req("GET", "/ui/app.js", headers={"If-None-Match": value})
        assert r.status == 304, (value, r)
        assert r.body == b"" and r.headers["etag"] == etag
    r = daemon.req("GET", "/ui/app.js", headers={"If-None-Match": '"0000000000000000"'})
    assert r.status == 200 and r.body == ui_bytes("app.js")


def test_etags_differ_between_files(daemon):
    tags = {daemon.req("GET", f"/ui/{n}").headers["etag"] for n in UI_FILES}
    assert len(tags) == len(UI_FILES)


def test_head_has_the_headers_and_no_body(daemon):
    r = daemon.req("HEAD", "/ui/app.css")
    assert r.status == 200 and r.body == b""
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.headers["content-length"] == str(len(ui_bytes("app.css")))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405(daemon, method):
    r = daemon.req(method, "/", headers=AUTH)
    assert r.status == 405, r
    assert r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "GET, HEAD"


def test_the_api_still_needs_the_token(daemon):
    r = daemon.req("GET", "/schedule/jobs")
    assert r.status == 401 and r.headers["www-authenticate"] == "Bearer", r
    assert daemon.req("GET", "/schedule/jobs", headers=AUTH).status == 200
    assert daemon.req("GET", "/openapi.json").status == 401


@pytest.mark.parametrize("path", ["/ui/nope.js", "/ui/", "/ui", "/ui/app.js/", "/index.html"])
def test_unknown_files_are_404_and_need_the_token(daemon, path):
    assert daemon.req("GET", path).status == 401
    r = daemon.req("GET", path, headers=AUTH)
    assert r.status == 404, (path, r)
    assert r.json() == {"detail": "Not Found"}
