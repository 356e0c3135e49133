"""overlap replace on several nodes sharing one PostgreSQL database: the fire
claimed by any node stops the run wherever it runs (the run row is marked and
NOTIFY reaches the node holding it), the replaced command's process group is
killed and its record ends cancelled; the fire then starts once."""
import os

import pytest

from chimetest import poll

pytestmark = pytest.mark.stores("postgres")


def test_replace_reaches_the_node_running_the_command(chimed_factory, tmp_path):
    env = {"CHIME_ALLOW_EXEC": "1"}
    nodes = [chimed_factory(args=["--node-name", f"n{i}", "--shutdown-grace", "2s"], env=env)
             for i in range(2)]
    pids = tmp_path / "pids"
    body = {"func": "chime:exec", "trigger": "interval", "trigger_args": {"seconds": 2},
            "overlap": "replace",
            "kwargs": {"argv": ["sh", "-c", f"echo $$ >> {pids}; trap '' TERM; sleep 30"],
                       "kill_grace": 0.3, "timeout": 6}}
    r = nodes[0].req("POST", "/schedule/jobs", body)
    assert r.status == 200, r
    job_id = r.json()["id"]

    def runs():
        return nodes[1].req("GET", f"/schedule/jobs/{job_id}/runs").json()["runs"]

    got = poll(lambda: len([x for x in runs() if x["status"] == "cancelled"]) >= 4 and runs(), 40)
    assert got, (nodes[0].log_text(), nodes[1].log_text())
    assert nodes[0].req("POST", f"/schedule/jobs/{job_id}/pause").status == 200
    cancelled = [x for x in got if x["status"] == "cancelled"]
    for run in cancelled:  # stopped by the replace, not by its 6 s timeout
        assert run["error"].startswith("replaced by the run of "), run
        assert run["error"].endswith("(SIGTERM, then SIGKILL after 0.3 s)"), run
    assert not [x for x in got if x["status"] in ("skipped", "timed_out")], got
    assert len({x["scheduled_time"] for x in got}) == len(got), got  # one record per fire
    by_time = {x["scheduled_time"]: x for x in got}
    cross = [run for run in cancelled
             if run["error"].split(" ")[5] in by_time
             and by_time[run["error"].split(" ")[5]]["node"] != run["node"]]
    print(f"{len(cross)} of {len(cancelled)} replacements crossed nodes")
    started = [int(p) for p in pids.read_text().split()]
    assert poll(lambda: all(not os.path.exists(f"/proc/{p}") for p in started[:len(cancelled)]),
                10), "a replaced command is still alive"
