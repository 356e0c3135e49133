"""GET /schedule/nodes: with PostgreSQL the node lists itself, alive, with a
fresh heartbeat that keeps moving; with SQLite (one node, no cluster) it is a
404 whose detail says so."""
from chimetest import poll
from pgtest import BOTH_STORES

pytestmark = BOTH_STORES


def test_nodes_lists_this_node_or_says_single_node(chimed_factory, store):
    d = chimed_factory(env={"CHIME_NODE_NAME": "node-x", "CHIME_HEARTBEAT_INTERVAL": "1s"})
    r = d.req("GET", "/schedule/nodes")
    if store == "sqlite":
        assert r.status == 404, r
        assert "single node" in r.json()["detail"]
        return
    assert r.status == 200, r
    nodes = r.json()["nodes"]
    assert [n["name"] for n in nodes] == ["node-x"], nodes
    assert nodes[0]["alive"] is True and nodes[0]["pid"] == d.proc.pid
    first = nodes[0]["heartbeat_at"]
    assert poll(lambda: d.req("GET", "/schedule/nodes").json()["nodes"][0]["heartbeat_at"]
                != first, 5)
