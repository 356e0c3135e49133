/*
 * GET /schedule/nodes: the chimed processes sharing a PostgreSQL store, with
 * their heartbeats and whether each is alive (heartbeat within the node
 * timeout). A local store (memory, SQLite) has no cluster: 404 with a detail
 * saying so, which the dashboard reads as "single node".
 */
#include "http/http_internal.h"
#include "time/tz.h"

static json_t *time_json(chime_utime t)
{
    char buf[CHIME_TIME_FORMAT_MAX];
    return json_string(chime_time_format(t, chime_zone_utc(), buf));
}

static int add_node(const struct chime_node_info *node, void *ctx)
{
    json_t *o = json_pack("{s:s,s:s?,s:I,s:o,s:o,s:b}", "name", node->name, "host", node->host,
                          "pid", (json_int_t)node->pid, "started_at", time_json(node->started_at),
                          "heartbeat_at", time_json(node->heartbeat_at), "alive", node->alive);
    return o ? json_array_append_new(ctx, o) : CHIME_ENOMEM;
}

void chime__http_nodes_list(const struct chime__http_req *req, struct chime__http_reply *rep)
{
    struct chime_store *store = req->env->store;
    if (!store->ops->list_nodes) {
        chime__http_reply_detail(rep, 404, "the %s store runs a single node: no cluster to list",
                                 store->ops->name);
        return;
    }
    json_t *nodes = json_array();
    int rc = nodes ? store->ops->list_nodes(store, add_node, nodes) : CHIME_ENOMEM;
    if (rc) {
        json_decref(nodes);
        chime__http_reply_error(rep, rc, NULL);
        return;
    }
    chime__http_reply_json(rep, 200, json_pack("{s:o}", "nodes", nodes));
}
