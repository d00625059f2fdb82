/*
 * cmd_sync.c — `jukinet sync status`: what this node holds of the network's notices and how far
 * its upstream has acknowledged them; and `jukinet demo`: the summary of the demo network that
 * `make demo` runs (docs/network.md).
 *
 * Both show counts, sequence numbers and digests only (never a resident's data). `sync status`
 * is an operation on the node (action sync.status); `demo` reads the demo's node directories
 * read-only, with no login, and exits 0 only when every tier holds exactly what each
 * municipality's registry holds.
 */
#include "cli.h"

#include "jukinet/node.h"
#include "jukinet/rescode.h"
#include "jukinet/sync.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void hex(const uint8_t *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

typedef struct src_list {
  json_t *arr;
  jk_node *n;
  jk_err e;
} src_list;

/* One source held here: its notices, what upstream acknowledged, and the records digest. */
static int on_source(const char *source, int64_t size, void *payload) {
  src_list *l = payload;
  jk_store *s = jk_node_store(l->n);
  jk_sync_digest d;
  bool own = strcmp(source, jk_node_id(l->n)) == 0;
  l->e = own ? jk_sync_digest_registry(s, &d) : jk_sync_digest_holdings(s, source, &d);
  if (l->e) return 1;
  char h[65];
  hex(d.sha256, 32, h);
  json_t *o = json_pack("{s:s,s:I,s:I,s:s}", "source", source, "notices", (json_int_t)size, "records",
                        (json_int_t)d.records, "digest", h);
  const char *up = jk_node_upstream(l->n);
  if (up) {
    jk_receipt_row r;
    jk_err e = jk_store_receipt_get(s, up, source, &r);
    if (e && e != JK_ENOTFOUND) {
      l->e = e;
      json_decref(o);
      return 1;
    }
    json_object_set_new(o, "acknowledged", json_integer(e ? 0 : r.highest_seq));
    json_object_set_new(o, "acknowledged_at", json_string(e ? "" : r.at));
  }
  json_array_append_new(l->arr, o);
  return 0;
}

/* The node's sync summary as JSON (also used by demo). */
static jk_err summary(jk_node *n, json_t **out) {
  jk_store *s = jk_node_store(n);
  jk_conn_state c;
  jk_err e = jk_conn_get(s, &c);
  if (e) return e;
  src_list l = {.arr = json_array(), .n = n};
  if ((e = jk_store_notice_sources(s, on_source, &l)) || (e = l.e)) {
    json_decref(l.arr);
    return e;
  }
  /* a municipality with an empty outbox still has a registry to compare */
  if (jk_node_role(n) == JK_ROLE_MUNICIPAL && json_array_size(l.arr) == 0) {
    on_source(jk_node_id(n), 0, &l);
    if (l.e) {
      json_decref(l.arr);
      return l.e;
    }
  }
  int64_t pending = 0;
  if (jk_node_upstream(n)) {
    jk_sync_ctx ctx = {.store = s, .node_id = jk_node_id(n)};
    if ((e = jk_sync_pending(&ctx, jk_node_upstream(n), &pending))) {
      json_decref(l.arr);
      return e;
    }
  }
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:o,s:o,s:I}", "node", jk_node_id(n), "role",
                   jk_role_token(jk_node_role(n)), "lgcode", jk_node_lgcode(n), "name", jk_node_name(n), "store",
                   jk_store_backend(s), "connection", "state", c.stopped ? "stopped" : "connected", "reason", c.reason,
                   "by", c.by, "at", c.at, "upstream", jk_node_upstream(n) ? json_string(jk_node_upstream(n)) : json_null(),
                   "sources", l.arr, "pending", (json_int_t)pending);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

static void print_summary(json_t *j) {
  cli_out("node %s (%s %s, %s)\n", json_string_value(json_object_get(j, "node")),
          json_string_value(json_object_get(j, "role")), json_string_value(json_object_get(j, "name")),
          json_string_value(json_object_get(j, "store")));
  json_t *c = json_object_get(j, "connection");
  if (strcmp(json_string_value(json_object_get(c, "state")), "stopped") == 0)
    cli_out("  connection: STOPPED by %s: %s\n", json_string_value(json_object_get(c, "by")),
            json_string_value(json_object_get(c, "reason")));
  else cli_out("  connection: connected\n");
  json_t *up = json_object_get(j, "upstream");
  if (json_is_string(up))
    cli_out("  upstream %s: %lld notices waiting\n", json_string_value(up),
            (long long)json_integer_value(json_object_get(j, "pending")));
  size_t i;
  json_t *src;
  json_array_foreach(json_object_get(j, "sources"), i, src) {
    char d[17];
    snprintf(d, sizeof d, "%s", json_string_value(json_object_get(src, "digest")));
    cli_out("  source %s: %lld notices, %lld records, digest %s…\n", json_string_value(json_object_get(src, "source")),
            (long long)json_integer_value(json_object_get(src, "notices")),
            (long long)json_integer_value(json_object_get(src, "records")), d);
  }
}

static int sync_status(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, "sync.status", "-", NULL, &op);
  if (rc) return rc;
  json_t *j = NULL;
  jk_err e = summary(op.node, &j);
  if (!e && g->json) cli_json(j);
  else if (!e) {
    print_summary(j);
    json_decref(j);
  }
  return cli_op_end(&op, e);
}

static json_t *holding_json(const jk_holding_rec *r) {
  char birth[11] = "", moved[11] = "";
  if (r->birth.y) jk_date_format_iso(r->birth, birth);
  if (r->moved_on.y) jk_date_format_iso(r->moved_on, moved);
  return json_pack("{s:s,s:s,s:I,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "code", r->code, "source", r->source, "seq",
                   (json_int_t)r->seq, "version", r->version, "name", r->name, "kana", r->kana, "birth", birth, "sex",
                   r->sex ? jk_sex_token(r->sex) : "", "address", r->address, "reason",
                   r->reason ? jk_move_token((jk_move_kind)r->reason) : "", "moved_on", moved, "status",
                   r->status == JK_STATUS_ACTIVE ? "active" : r->status == JK_STATUS_REMOVED ? "removed" : "erased");
}

static int add_holding(const jk_holding_rec *r, void *payload) {
  json_array_append_new(payload, holding_json(r));
  return 0;
}

static int add_notice(const jk_notice_row *row, void *payload) {
  jk_notice n;
  json_t *o = json_pack("{s:s,s:I}", "source", row->source, "seq", (json_int_t)row->seq);
  if (row->enc && jk_notice_decode(&n, row->enc, row->enc_len) == JK_OK) {
    char moved[11];
    jk_date_format_iso(n.moved_on, moved);
    json_object_set_new(o, "kind", json_string(n.kind == JK_NOTICE_ERASE ? "erase" : "change"));
    json_object_set_new(o, "moved_on", json_string(moved));
    if (n.kind == JK_NOTICE_CHANGE) {
      json_object_set_new(o, "reason", json_string(jk_move_token(n.reason)));
      json_object_set_new(o, "version", json_integer(n.version));
    }
  } else {
    json_object_set_new(o, "kind", json_string("scrubbed"));
  }
  json_array_append_new(payload, o);
  return 0;
}

/* jukinet sync record CODE: a resident as this (upper) node holds them — the current record,
 * the row of each municipality that sent one, and every notice about the code. */
static int sync_record(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet sync record CODE");
  char code[64];
  jk_err e = cli_fold_digits(pos[0], code, sizeof code);
  if (!e) e = jk_rescode_validate(code, strlen(code));
  if (e) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "sync.record", code, NULL, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  jk_holding_rec cur;
  json_t *rows = json_array(), *notices = json_array();
  if (!(e = jk_sync_identity(s, code, &cur)) && !(e = jk_store_holding_each(s, code, NULL, add_holding, rows)))
    e = jk_store_notice_by_code(s, code, add_notice, notices);
  if (!e) {
    json_t *j = json_pack("{s:o,s:o,s:o}", "current", holding_json(&cur), "rows", rows, "notices", notices);
    if (g->json) {
      cli_json(j);
    } else {
      cli_out("current: %s %s, %s (%s, from %s)\n", cur.code, cur.name, cur.address,
              cur.status == JK_STATUS_ACTIVE ? "active" : "removed", cur.source);
      size_t i;
      json_t *r;
      json_array_foreach(rows, i, r)
        cli_out("  %s: version %lld, %s %s, %s\n", json_string_value(json_object_get(r, "source")),
                (long long)json_integer_value(json_object_get(r, "version")),
                json_string_value(json_object_get(r, "reason")), json_string_value(json_object_get(r, "moved_on")),
                json_string_value(json_object_get(r, "status")));
      json_array_foreach(notices, i, r)
        cli_out("  notice %s #%lld: %s %s\n", json_string_value(json_object_get(r, "source")),
                (long long)json_integer_value(json_object_get(r, "seq")),
                json_string_value(json_object_get(r, "reason")) ? json_string_value(json_object_get(r, "reason"))
                                                                 : json_string_value(json_object_get(r, "kind")),
                json_string_value(json_object_get(r, "moved_on")) ? json_string_value(json_object_get(r, "moved_on")) : "");
      json_decref(j);
    }
  } else {
    json_decref(rows);
    json_decref(notices);
  }
  return cli_op_end(&op, e);
}

int cmd_sync(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet sync status|record CODE");
  if (strcmp(argv[0], "status") == 0) return sync_status(argc - 1, argv + 1, g);
  if (strcmp(argv[0], "record") == 0) return sync_record(argc - 1, argv + 1, g);
  return cli_usage("unknown verb '%s' for %s", argv[0], "sync");
}

/* ---- jukinet demo ---- */

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cmd_demo(int argc, char **argv, cli_global *g) {
  const char *net = NULL;
  const cli_opt opts[] = {{"net", &net, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!net) net = getenv("JUKINET_DEMO_NET");
  if (!net) net = "demo-net";
  DIR *dh = opendir(net);
  if (!dh) return cli_fail(jk_error_set(JK_ENOTFOUND, "no demo network in %s: run make demo first", net));
  char *names[64];
  size_t nn = 0;
  struct dirent *de;
  while ((de = readdir(dh)) && nn < 64) {
    char conf[4096];
    struct stat st;
    if (de->d_name[0] == '.') continue;
    snprintf(conf, sizeof conf, "%s/%s/node.conf", net, de->d_name);
    if (stat(conf, &st) == 0) names[nn++] = jk_strdup(de->d_name);
  }
  closedir(dh);
  qsort(names, nn, sizeof *names, by_name);
  json_t *nodes = json_array();
  jk_err e = JK_OK;
  for (size_t i = 0; i < nn && !e; i++) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", net, names[i]);
    jk_node *n;
    if ((e = jk_node_open(&n, dir, JK_STORE_READONLY))) break;
    json_t *j;
    if (!(e = summary(n, &j))) {
      json_object_set_new(j, "dir", json_string(names[i]));
      json_array_append_new(nodes, j);
    }
    jk_node_close(n);
  }
  for (size_t i = 0; i < nn; i++) jk_free(names[i]);
  if (e) {
    json_decref(nodes);
    return cli_fail(e);
  }
  /* every municipality's registry must be at every upper node, record for record */
  json_t *checks = json_array();
  bool agree = json_array_size(nodes) > 0;
  size_t i, k, m;
  json_t *mn, *un, *ms, *us;
  json_array_foreach(nodes, i, mn) {
    if (strcmp(json_string_value(json_object_get(mn, "role")), "municipal") != 0) continue;
    const char *mid = json_string_value(json_object_get(mn, "node"));
    json_t *own = NULL;
    json_array_foreach(json_object_get(mn, "sources"), m, ms) if (strcmp(json_string_value(json_object_get(ms, "source")), mid) == 0) own = ms;
    json_array_foreach(nodes, k, un) {
      if (strcmp(json_string_value(json_object_get(un, "role")), "municipal") == 0) continue;
      json_t *held = NULL;
      json_array_foreach(json_object_get(un, "sources"), m, us) if (strcmp(json_string_value(json_object_get(us, "source")), mid) == 0) held = us;
      bool ok = own && held && json_equal(json_object_get(own, "digest"), json_object_get(held, "digest")) &&
                json_equal(json_object_get(own, "notices"), json_object_get(held, "notices"));
      /* a municipality that has sent nothing yet agrees with a node that holds nothing of it */
      if (own && !held && json_integer_value(json_object_get(own, "notices")) == 0 &&
          json_integer_value(json_object_get(own, "records")) == 0)
        ok = true;
      agree = agree && ok;
      json_array_append_new(checks, json_pack("{s:s,s:s,s:I,s:I,s:b}", "municipality", mid, "at",
                                              json_string_value(json_object_get(un, "node")), "records",
                                              (json_int_t)(held ? json_integer_value(json_object_get(held, "records")) : 0),
                                              "notices",
                                              (json_int_t)(held ? json_integer_value(json_object_get(held, "notices")) : 0),
                                              "agrees", ok));
    }
  }
  if (g->json) {
    cli_json(json_pack("{s:s,s:o,s:o,s:b}", "network", net, "nodes", nodes, "checks", checks, "agree", agree));
  } else {
    json_array_foreach(nodes, i, mn) print_summary(mn);
    json_array_foreach(checks, i, mn)
      cli_out("%s %s → %s: %lld records, %lld notices\n", json_is_true(json_object_get(mn, "agrees")) ? "OK  " : "DIFF",
              json_string_value(json_object_get(mn, "municipality")), json_string_value(json_object_get(mn, "at")),
              (long long)json_integer_value(json_object_get(mn, "records")),
              (long long)json_integer_value(json_object_get(mn, "notices")));
    cli_out(agree ? "every node agrees\n" : "the nodes DO NOT agree\n");
    json_decref(nodes);
    json_decref(checks);
  }
  return agree ? 0 : EXIT_CONFLICT;
}
