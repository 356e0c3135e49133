#!/usr/bin/env bash
# Every relative link in README.md and docs/*.md points at a file of the tree,
# and every #anchor at a heading of its target (GitHub's slug rules: lower
# case, punctuation dropped, blanks to dashes).
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
python3 - "$src" <<'PY'
import os, re, sys
src = sys.argv[1]
files = [os.path.join(src, "README.md")] + sorted(
    os.path.join(src, "docs", f) for f in os.listdir(os.path.join(src, "docs")) if f.endswith(".md"))

def slugs(path):
    out, text = set(), open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for h in re.findall(r"^#+\s+(.*)$", text, flags=re.M):
        s = re.sub(r"[^\w\- ]", "", h.strip().lower().replace("`", "")).replace(" ", "-")
        out.add(s)
    return out

passed = failed = 0
for f in files:
    text = re.sub(r"```.*?```", "", open(f, encoding="utf-8").read(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        ok = os.path.exists(full) and (not anchor or not full.endswith(".md") or anchor in slugs(full))
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL: {os.path.relpath(f, src)}: link {target} does not resolve")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
