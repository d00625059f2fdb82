/*
 * cmd_connection.c — `jukinet connection stop --reason TEXT | resume | status`: 接続の停止, the
 * switch that cuts this node off the network at once (Hirakata art. 7, Kadoma answer 3).
 *
 * stop and resume are node operations of the セキュリティ総括責任者 or 副総括責任者 (actions
 * connection.stop / connection.resume), recorded with who and why; the running daemon picks
 * the change up within a second, in both directions. Notices keep queueing in the outbox while
 * stopped and are sent when the connection resumes.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/node.h"
#include "jukinet/sync.h"

#include <string.h>

static jk_err flip(cli_op *op, bool stop, const char *reason) {
  jk_store *s = jk_node_store(op->node);
  jk_err e = jk_store_begin(s);
  if (e) return e;
  if ((e = jk_conn_set(s, stop, reason, jk_session_staff_id(op->sess)))) {
    jk_store_rollback(s);
    return e;
  }
  return jk_store_commit(s);
}

static int show(cli_global *g, const jk_conn_state *c, const char *pending_to, int64_t pending) {
  if (g->json)
    return cli_json(json_pack("{s:s,s:s,s:s,s:s,s:I}", "state", c->stopped ? "stopped" : "connected", "reason",
                              c->reason, "by", c->by, "at", c->at, "pending", (json_int_t)pending));
  if (c->stopped) cli_out("connection: STOPPED since %s by %s: %s\n", c->at, c->by, c->reason);
  else if (c->at[0]) cli_out("connection: connected (resumed %s by %s)\n", c->at, c->by);
  else cli_out("connection: connected\n");
  if (pending_to) cli_out("notices waiting for %s: %lld\n", pending_to, (long long)pending);
  return 0;
}

int cmd_connection(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet connection stop --reason TEXT | resume | status");
  const char *v = argv[0], *reason = NULL;
  const cli_opt stop_opts[] = {{"reason", &reason, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  bool stop = strcmp(v, "stop") == 0, resume = strcmp(v, "resume") == 0, status = strcmp(v, "status") == 0;
  if (!stop && !resume && !status) return cli_usage("unknown verb '%s' for %s", v, "connection");
  if (cli_parse(argc - 1, argv + 1, stop ? stop_opts : NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  if (stop && !reason) return cli_usage("usage: jukinet connection stop --reason TEXT");
  cli_op op;
  /* the ledger entry of a stop carries its reason as the object: who and why, in the history */
  int rc = cli_op_begin(g, stop ? "connection.stop" : resume ? "connection.resume" : "connection.status",
                        stop ? reason : "-", NULL, &op);
  if (rc) return rc;
  jk_err e = JK_OK;
  if (!status) e = flip(&op, stop, reason);
  jk_conn_state c;
  if (!e) e = jk_conn_get(jk_node_store(op.node), &c);
  int64_t pending = 0;
  const char *up = jk_node_upstream(op.node);
  if (!e && up) {
    jk_sync_ctx ctx = {.store = jk_node_store(op.node), .node_id = jk_node_id(op.node)};
    e = jk_sync_pending(&ctx, up, &pending);
  }
  if (!e) show(g, &c, up, pending);
  return cli_op_end(&op, e);
}
