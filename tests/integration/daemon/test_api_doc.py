"""docs/api.md and docs/semantics.md checked against the OpenAPI document the
daemon serves (src/http/openapi.json, the same bytes: test_openapi checks the
document against the real responses). The API reference must list exactly
the operations of the document, with a success status the document has; the
job request fields table of semantics.md exactly the properties of JobCreate;
the run history section every property of Run. A new endpoint or field that
is not documented fails here."""
import json
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
METHODS = ("get", "post", "put", "patch", "delete")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def openapi():
    return json.loads(read("src", "http", "openapi.json"))


def section(text, heading):
    """The text of a markdown section from its heading to the next of its level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1:]
    m = re.search(r"^%s " % re.escape(level), rest, re.M)
    return rest[:m.start()] if m else rest


def table_rows(text):
    """Rows of the first markdown table in text, as lists of cell strings."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header


def test_endpoint_table_lists_exactly_the_documented_operations():
    doc = openapi()
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in METHODS}
    rows = table_rows(section(read("docs", "api.md"), "## Endpoints"))
    listed = {}
    for method, path, answer in rows:
        path = path.strip("`").replace("{id}", "{job_id}")
        listed[(method, path)] = answer
    assert set(listed) == ops, {"undocumented": ops - set(listed),
                                "not in openapi.json": set(listed) - ops}
    for (method, path), answer in listed.items():
        status = re.match(r"\d{3}", answer)
        assert status, (method, path, answer)
        responses = doc["paths"][path][method.lower()]["responses"]
        assert status.group(0) in responses, (method, path, status.group(0), list(responses))


def test_job_request_fields_table_matches_job_create():
    props = set(openapi()["components"]["schemas"]["JobCreate"]["properties"])
    rows = table_rows(section(read("docs", "semantics.md"), "## Job request fields"))
    fields = {row[0].strip("`") for row in rows}
    assert fields == props, {"undocumented": props - fields, "not in JobCreate": fields - props}


def test_run_history_section_names_every_run_field():
    props = openapi()["components"]["schemas"]["Run"]["properties"]
    text = section(read("docs", "api.md"), "### Run history")
    missing = [p for p in props if f'"{p}"' not in text and f"`{p}`" not in text]
    assert not missing, missing
    statuses = openapi()["components"]["schemas"]["RunStatus"]["enum"]
    missing = [s for s in statuses if s not in text]
    assert not missing, missing
