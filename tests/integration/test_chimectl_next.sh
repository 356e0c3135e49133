#!/usr/bin/env bash
# Feeds every trigger vector (tests/vectors/*.jsonl, computed by the real
# APScheduler 3.9) through `chimectl next` and compares the answers:
# exact string equality of the fire times, except that cases marked
# dst_sensitive may differ at a DST transition exactly as chime's documented
# policy says (a repeated wall time fires once, a non-existent one is
# skipped); rejected specs must get an error naming one of their fields.
# Usage: bash test_chimectl_next.sh <build dir>
set -euo pipefail
build=${1:?usage: test_chimectl_next.sh <build dir>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vectors=$here/../vectors
chimectl=$build/chimectl
[ -x "$chimectl" ] || { echo "no chimectl in $build" >&2; exit 1; }

exec python3 - "$chimectl" "$vectors" "$here/../../docs" <<'PY'
import json, subprocess, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

chimectl, vectors = sys.argv[1], sys.argv[2]
COUNT = 6

def load(name):
    with open(f"{vectors}/{name}") as f:
        return [json.loads(l) for l in f if l.strip()]

valid = load("triggers-utc.jsonl") + load("triggers-zones.jsonl")
rejected = load("triggers-rejected.jsonl")

def run(cases):
    lines = []
    for c in cases:
        spec = {"trigger": c["trigger"], "trigger_args": c["trigger_args"], "count": COUNT}
        if "now" in c:
            spec["now"] = c["now"]
        lines.append(json.dumps(spec))
    out = subprocess.run([chimectl, "next"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    if len(out) != len(cases):
        sys.exit(f"chimectl answered {len(out)} lines for {len(cases)} specs")
    return [json.loads(l) for l in out]

def wall(s):
    return datetime.fromisoformat(s).replace(tzinfo=None)

def instant(s):
    return datetime.fromisoformat(s).astimezone(timezone.utc)

def is_gap(s, zone):
    """The time's wall clock does not exist in zone, or its offset is not the zone's."""
    d = datetime.fromisoformat(s)
    real = d.astimezone(zone)
    return real.replace(tzinfo=None) != d.replace(tzinfo=None)

def is_fold_repeat(s, zone):
    """The time is the second occurrence of a wall time that occurs twice."""
    w = wall(s)
    first = w.replace(tzinfo=zone, fold=0)
    second = w.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and instant(s) == second.astimezone(timezone.utc)

def is_fold_first(s, zone):
    w = wall(s)
    first = w.replace(tzinfo=zone, fold=0)
    second = w.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and instant(s) == first.astimezone(timezone.utc)

def dst_equivalent(aps, got, zone):
    """APScheduler's and chime's fires agree except at DST transitions, as the policy says."""
    limits = [instant(l[-1]) for l in (aps, got) if len(l) == COUNT]
    horizon = min(limits) if limits else None
    inside = lambda s: horizon is None or instant(s) <= horizon
    a = [s for s in aps if inside(s)]
    g = [s for s in got if inside(s)]
    gap_instants = {instant(s) for s in a if is_gap(s, zone)}
    a_walls = {wall(s) for s in a}
    for s in a:
        if s not in g and not (is_gap(s, zone) or is_fold_repeat(s, zone)):
            return f"APScheduler fires {s}, chime does not (not a DST exception)"
    for s in g:
        if s in a or instant(s) in gap_instants:
            continue
        if is_fold_first(s, zone) and wall(s) in a_walls:
            continue
        return f"chime fires {s}, APScheduler does not (not a DST exception)"
    return None

def relabel(got, start_date):
    """chime's fire times written in start_date's fixed UTC offset, as APScheduler 3.9 writes
    interval fire times (same instants; chime writes them in the trigger's zone instead)."""
    off = datetime.fromisoformat(start_date).utcoffset()
    out = []
    for s in got:
        d = datetime.fromisoformat(s).astimezone(timezone(off))
        out.append(d.isoformat())
    return out

def check_valid(case, ans):
    want = case["fires"]
    if "error" in ans:
        # A spec that never fires is refused at creation (ENEVER, or end_date before start_date).
        if not want and ("never fire" in ans["error"] or ans.get("field") == "trigger_args.end_date"):
            return None
        return f"error {ans['error']!r}, want {want}"
    got = ans["fires"]
    if got == want:
        return None
    args = case["trigger_args"]
    if case["trigger"] == "interval" and "start_date" in args:
        if relabel(got, args["start_date"]) == want:
            relabelled.append(case)
            return None
    if case.get("dst_sensitive"):
        return dst_equivalent(want, got, ZoneInfo(case["trigger_args"]["timezone"]))
    return f"got {got}, want {want}"

def check_rejected(case, ans):
    if "error" not in ans:
        return f"accepted: {ans}"
    field = ans.get("field", "")
    names = {f"trigger_args.{k}" for k in case["trigger_args"]}
    if field not in names or field not in ans["error"]:
        return f"error does not name the field {sorted(names)}: {ans}"
    return None

relabelled = []
passed = failed = dst_differ = 0
for cases, check in ((valid, check_valid), (rejected, check_rejected)):
    for case, ans in zip(cases, run(cases)):
        why = check(case, ans)
        if why is None:
            passed += 1
            if case.get("dst_sensitive") and ans.get("fires") != case.get("fires"):
                dst_differ += 1
        else:
            failed += 1
            print(f"FAIL {json.dumps({k: case[k] for k in ('trigger', 'trigger_args', 'now') if k in case})}: {why}")
print(f"({dst_differ} dst_sensitive cases differ only as the DST policy allows)")
print(f"({len(relabelled)} interval cases agree in instants; APScheduler writes them in start_date's offset)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
