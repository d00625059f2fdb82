/*
 * cmd_audit.c — `jukinet audit verify|log|prove|consistency|export|check-bundle|pubkey`: the
 * operation history (操作履歴, regulation art. 11) and its proofs (docs/ledger.md).
 *
 * Every subcommand but check-bundle is itself an operation on the node, recorded in the ledger
 * it reads. check-bundle needs no node: a bundle and the node's public key are enough.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/date.h"
#include "jukinet/ledger.h"
#include "jukinet/node.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUBKEY_PREFIX "jukinet-ed25519 "

static jk_err read_pubkey(const char *path, uint8_t pk[32]) {
  char *data = NULL;
  size_t len, got;
  jk_err e = cli_read_file(path, 4096, &data, &len);
  if (e) return e;
  size_t plen = strlen(PUBKEY_PREFIX);
  while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) len--;
  if (len != plen + 64 || memcmp(data, PUBKEY_PREFIX, plen) != 0 ||
      sodium_hex2bin(pk, 32, data + plen, 64, NULL, &got, NULL) != 0 || got != 32)
    e = jk_error_set(JK_EINVAL, "%s is not a jukinet public key file (\"jukinet-ed25519 <64 hex digits>\")", path);
  jk_free(data);
  return e;
}

static void hex(const uint8_t *b, size_t n, char *out) { sodium_bin2hex(out, 2 * n + 1, b, n); }

static void print_report(const jk_ledger_report *r, bool json, jk_err e) {
  if (json) {
    cli_json(json_pack("{s:b,s:I,s:I,s:I,s:s,s:I,s:I,s:s}", "intact", e == JK_OK, "entries", (json_int_t)r->entries,
                       "heads", (json_int_t)r->heads, "unsigned_tail", (json_int_t)r->unsigned_tail, "tail_at",
                       r->tail_at, "first_bad", (json_int_t)r->first_bad, "bad_head", (json_int_t)r->bad_head,
                       "message", e ? r->message : ""));
    return;
  }
  if (e == JK_OK) {
    cli_out("ledger intact: %lld entries, %lld signed tree heads verified\n", (long long)r->entries,
            (long long)r->heads);
    if (r->unsigned_tail)
      cli_out("the newest %lld entries (since %s) wait for their signed tree head: the running node signs them "
              "within a second (docs/decisions.md D15)\n",
              (long long)r->unsigned_tail, r->tail_at);
    return;
  }
  cli_out("LEDGER NOT INTACT: first bad entry %lld\n", (long long)r->first_bad);
  cli_out("%s\n", r->message);
}

/* Offline: read-only, no session, nothing recorded. For a node whose ledger is too damaged to
 * record anything (then nobody can log in), and for whoever holds the node directory — who can
 * read node.db anyway. The public key still comes from the node's token (or --pubkey). */
static int verify_offline(cli_global *g, const char *pubkey_file) {
  jk_node *n = NULL;
  uint8_t pk[32];
  jk_ledger_report rep;
  if (!g->dir) return cli_usage("--dir is required (or set JUKINET_DIR)");
  jk_err e = jk_node_open(&n, g->dir, JK_STORE_READONLY);
  if (!e) e = pubkey_file ? read_pubkey(pubkey_file, pk) : jk_node_public_key(n, pk);
  if (!e) e = jk_ledger_verify(jk_node_ledger(n), pk, &rep);
  jk_node_close(n);
  if (e && e != JK_ECORRUPT) return cli_fail(e);
  fprintf(stderr, "jukinet: %s\n", jk_tr("verified offline, without a session: this check is not recorded"));
  print_report(&rep, g->json, e);
  return e ? EXIT_CORRUPT : 0;
}

static int audit_verify(int argc, char **argv, cli_global *g) {
  const char *pubkey_file = NULL;
  bool offline = false;
  const cli_opt opts[] = {{"pubkey", &pubkey_file, NULL}, {"offline", NULL, &offline}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (offline) return verify_offline(g, pubkey_file);
  cli_op op;
  int rc = cli_op_begin(g, "audit.verify", "-", NULL, &op);
  /* no session, or a ledger too damaged to record even that: still answer */
  if (rc == EXIT_AUTH || rc == EXIT_CORRUPT) return verify_offline(g, pubkey_file);
  if (rc) return rc;
  uint8_t pk[32];
  jk_ledger_report rep;
  memset(&rep, 0, sizeof rep);
  jk_err e = pubkey_file ? read_pubkey(pubkey_file, pk) : jk_node_public_key(op.node, pk);
  if (e) return cli_op_end(&op, e);
  e = jk_ledger_verify(jk_node_ledger(op.node), pk, &rep);
  if (e && e != JK_ECORRUPT) return cli_op_end(&op, e);
  /* a finding is a successful audit: record it as done, then show it. A damaged ledger may be
   * unable to record anything: the finding is shown all the same, with exit 8. */
  rc = cli_op_end(&op, JK_OK);
  print_report(&rep, g->json, e);
  return e ? EXIT_CORRUPT : rc;
}

/* --from/--to: a date (西暦 or 和暦) means that whole day in Japan (JST, UTC+9); a time
 * "YYYY-MM-DDTHH:MM[:SS[.ffffff]]Z" is UTC as stored. out: a UTC bound for jk_ledger_time_range. */
static jk_err time_bound(const char *v, bool upper, char out[32]) {
  size_t n = strlen(v);
  if (n >= 17 && n <= 27 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[13] == ':' && v[n - 1] == 'Z') {
    for (size_t i = 0; i + 1 < n; i++) {
      char c = v[i];
      bool sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19;
      if (sep ? !(c == '-' || c == 'T' || c == ':' || c == '.') : !(c >= '0' && c <= '9'))
        return jk_error_set(JK_EINVAL, "'%s' is neither a date nor a UTC time (2026-11-23T01:02:03Z)", v);
    }
    snprintf(out, 32, "%.*s", (int)(n - 1), v); /* prefix compare: without the Z */
    return JK_OK;
  }
  jk_date d;
  if (jk_date_parse(v, &d) != JK_OK)
    return jk_error_set(JK_EINVAL, "'%s' is neither a date nor a UTC time (2026-11-23T01:02:03Z)", v);
  /* 00:00 JST is 15:00 UTC the day before; 23:59:59.999999 JST is 14:59:59.999999 UTC */
  char iso[11];
  jk_date_format_iso(jk_date_from_days(jk_date_to_days(d) - (upper ? 0 : 1)), iso);
  snprintf(out, 32, "%s%s", iso, upper ? "T14:59:59.999999Z" : "T15:00:00.000000Z");
  return JK_OK;
}

typedef struct log_ctx {
  json_t *arr;
  size_t n;
} log_ctx;

static int on_entry(const jk_ledger_row *r, void *payload) {
  log_ctx *c = payload;
  c->n++;
  if (c->arr) {
    json_array_append_new(c->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)r->seq, "at",
                                            r->at, "operator", r->operator_, "role", r->role, "terminal", r->terminal,
                                            "action", r->action, "object", r->object, "result", r->result));
  } else {
    printf("%8lld  %.26s  %-12s %-16s %-18s %-16s %s  %s\n", (long long)r->seq, r->at, r->operator_, r->role,
           r->action, r->object, r->result, r->terminal);
  }
  return 0;
}

static int audit_log(int argc, char **argv, cli_global *g) {
  const char *oper = NULL, *resident = NULL, *object = NULL, *action = NULL, *from = NULL, *to = NULL, *limit = NULL;
  const cli_opt opts[] = {{"operator", &oper, NULL}, {"resident", &resident, NULL}, {"object", &object, NULL},
                          {"action", &action, NULL}, {"from", &from, NULL},         {"to", &to, NULL},
                          {"limit", &limit, NULL},   {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (resident && object) return cli_usage("give either --resident or --object");
  char folded[64];
  if (resident) {
    jk_err e = cli_fold_digits(resident, folded, sizeof folded);
    if (e) return cli_fail(e);
    object = folded;
  }
  jk_ledger_query q = {.operator_ = oper, .object = object, .action = action, .limit = 100};
  if (limit) {
    char *end;
    long x = strtol(limit, &end, 10);
    if (!*limit || *end || x < 1 || x > 100000) return cli_usage("--limit must be 1 to 100000");
    q.limit = (size_t)x;
  }
  /* the search is itself recorded (its conditions, as typed, are the object) */
  char desc[200];
  snprintf(desc, sizeof desc, "%.40s|%.40s|%.40s|%.32s|%.32s", oper ? oper : "", object ? object : "",
           action ? action : "", from ? from : "", to ? to : "");
  char from_utc[32], to_utc[32];
  jk_err te;
  if ((from && (te = time_bound(from, false, from_utc))) || (to && (te = time_bound(to, true, to_utc))))
    return cli_fail(te);
  if (from) from = from_utc;
  if (to) to = to_utc;
  cli_op op;
  int rc = cli_op_begin(g, "audit.log", desc, NULL, &op);
  if (rc) return rc;
  jk_err e = JK_OK;
  int64_t first = 1, last = 0;
  if ((from || to) && (e = jk_ledger_time_range(jk_node_ledger(op.node), from, to, &first, &last)))
    return cli_op_end(&op, e);
  log_ctx c = {g->json ? json_array() : NULL, 0};
  if ((from || to) && first > last) {
    /* nothing in range */
  } else {
    q.first_seq = first;
    q.last_seq = (from || to) ? last : 0;
    e = jk_store_ledger_search(jk_node_store(op.node), &q, on_entry, &c);
  }
  if (!e && c.arr) cli_json(c.arr);
  else json_decref(c.arr);
  if (!e && !g->json && c.n == 0) cli_out("no entries found\n");
  return cli_op_end(&op, e);
}

static jk_err parse_seq(const char *v, int64_t *out) {
  char *end;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || x < 1) return jk_error_set(JK_EINVAL, "'%s' is not an entry number", v);
  *out = x;
  return JK_OK;
}

static json_t *path_json(const uint8_t (*path)[32], size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    char h[65];
    hex(path[i], 32, h);
    json_array_append_new(a, json_string(h));
  }
  return a;
}

static int audit_prove(int argc, char **argv, cli_global *g) {
  const char *size = NULL;
  const cli_opt opts[] = {{"size", &size, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  int64_t seq, sz = 0;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet audit prove ENTRY [--size N]");
  jk_err e;
  if ((e = parse_seq(pos[0], &seq)) || (size && (e = parse_seq(size, &sz)))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "audit.prove", pos[0], NULL, &op);
  if (rc) return rc;
  jk_ledger_proof *p = jk_malloc(sizeof *p);
  if (!p) return cli_op_end(&op, jk_error_set(JK_ENOMEM, NULL));
  if (!(e = jk_ledger_prove(jk_node_ledger(op.node), seq, sz, p))) {
    char leaf[65], root[65], sig[129];
    hex(p->leaf, 32, leaf);
    hex(p->root, 32, root);
    hex(p->head.sig, 64, sig);
    if (g->json) {
      cli_json(json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:o}", "entry", (json_int_t)p->seq, "tree_size", (json_int_t)p->size,
                         "leaf", leaf, "root", root, "head_at", p->head.at, "head_sig", sig, "path",
                         path_json((const uint8_t(*)[32])p->path, p->path_len)));
    } else {
      cli_out("entry %lld is in the tree of %lld entries signed at %s\n", (long long)p->seq, (long long)p->size,
              p->head.at);
      cli_out("leaf  %s\nroot  %s\n", leaf, root);
      for (size_t i = 0; i < p->path_len; i++) {
        char h[65];
        hex(p->path[i], 32, h);
        printf("path[%zu] %s\n", i, h);
      }
      cli_out("proof verified\n");
    }
  }
  jk_free(p);
  return cli_op_end(&op, e);
}

static int audit_consistency(int argc, char **argv, cli_global *g) {
  const char *pos[2];
  int npos;
  int64_t a, b;
  if (cli_parse(argc, argv, NULL, pos, 2, &npos, g)) return EXIT_USAGE;
  if (npos != 2) return cli_usage("usage: jukinet audit consistency OLD-SIZE NEW-SIZE");
  jk_err e;
  if ((e = parse_seq(pos[0], &a)) || (e = parse_seq(pos[1], &b))) return cli_fail(e);
  char obj[64];
  snprintf(obj, sizeof obj, "%lld..%lld", (long long)a, (long long)b);
  cli_op op;
  int rc = cli_op_begin(g, "audit.consistency", obj, NULL, &op);
  if (rc) return rc;
  jk_ledger_consistency *c = jk_malloc(sizeof *c);
  if (!c) return cli_op_end(&op, jk_error_set(JK_ENOMEM, NULL));
  if (!(e = jk_ledger_consistency_proof(jk_node_ledger(op.node), a, b, c))) {
    char r1[65], r2[65];
    hex(c->old_head.root, 32, r1);
    hex(c->new_head.root, 32, r2);
    if (g->json) {
      cli_json(json_pack("{s:I,s:s,s:I,s:s,s:o}", "old_size", (json_int_t)a, "old_root", r1, "new_size", (json_int_t)b,
                         "new_root", r2, "path", path_json((const uint8_t(*)[32])c->path, c->path_len)));
    } else {
      cli_out("tree of %lld entries  root %s  %s\n", (long long)a, r1,
              c->old_head.at[0] ? jk_tr("(signed)") : jk_tr("(not a signed size)"));
      cli_out("tree of %lld entries  root %s  %s\n", (long long)b, r2,
              c->new_head.at[0] ? jk_tr("(signed)") : jk_tr("(not a signed size)"));
      for (size_t i = 0; i < c->path_len; i++) {
        char h[65];
        hex(c->path[i], 32, h);
        printf("path[%zu] %s\n", i, h);
      }
      cli_out("consistent: the larger tree extends the smaller one\n");
    }
  }
  jk_free(c);
  return cli_op_end(&op, e);
}

static int audit_export(int argc, char **argv, cli_global *g) {
  const char *output = NULL;
  const cli_opt opts[] = {{"output", &output, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!output) return cli_usage("usage: jukinet audit export --output FILE");
  cli_op op;
  int rc = cli_op_begin(g, "audit.export", "-", NULL, &op);
  if (rc) return rc;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%u.tmp", output, (unsigned)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  jk_err e = fd < 0 ? jk_error_set(JK_EIO, "cannot write %s", tmp) : JK_OK;
  if (!e) e = jk_ledger_export(jk_node_ledger(op.node), fd);
  if (fd >= 0) {
    if (!e && fsync(fd) != 0) e = jk_error_set(JK_EIO, "cannot write %s", tmp);
    close(fd);
    if (!e && rename(tmp, output) != 0) e = jk_error_set(JK_EIO, "cannot write %s", output);
    if (e) unlink(tmp);
  }
  if (!e) cli_out("exported the ledger to %s\n", output);
  return cli_op_end(&op, e);
}

static int audit_pubkey(int argc, char **argv, cli_global *g) {
  const char *output = NULL;
  const cli_opt opts[] = {{"output", &output, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, "audit.pubkey", "-", NULL, &op);
  if (rc) return rc;
  uint8_t pk[32];
  jk_err e = jk_node_public_key(op.node, pk);
  if (!e) {
    char line[128], h[65];
    hex(pk, 32, h);
    int n = snprintf(line, sizeof line, PUBKEY_PREFIX "%s\n", h);
    e = cli_write_file(output ? output : "-", line, (size_t)n);
  }
  return cli_op_end(&op, e);
}

static int audit_check_bundle(int argc, char **argv, cli_global *g) {
  const char *pos[2];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 2, &npos, g)) return EXIT_USAGE;
  if (npos != 2) return cli_usage("usage: jukinet audit check-bundle BUNDLE PUBKEY-FILE");
  uint8_t pk[32];
  char *data = NULL;
  size_t len;
  jk_ledger_report rep;
  jk_err e = read_pubkey(pos[1], pk);
  if (!e) e = cli_read_file(pos[0], (size_t)16 << 30, &data, &len);
  if (e) return cli_fail(e);
  e = jk_ledger_check_bundle(data, len, pk, &rep);
  jk_free(data);
  if (e && e != JK_ECORRUPT) return cli_fail(e);
  if (e && !rep.message[0]) return cli_fail(e); /* the bundle itself is cut or malformed */
  print_report(&rep, g->json, e);
  return e ? EXIT_CORRUPT : 0;
}

int cmd_audit(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet audit verify|log|prove|consistency|export|check-bundle|pubkey");
  const char *v = argv[0];
  argc--;
  argv++;
  if (strcmp(v, "verify") == 0) return audit_verify(argc, argv, g);
  if (strcmp(v, "log") == 0) return audit_log(argc, argv, g);
  if (strcmp(v, "prove") == 0) return audit_prove(argc, argv, g);
  if (strcmp(v, "consistency") == 0) return audit_consistency(argc, argv, g);
  if (strcmp(v, "export") == 0) return audit_export(argc, argv, g);
  if (strcmp(v, "check-bundle") == 0) return audit_check_bundle(argc, argv, g);
  if (strcmp(v, "pubkey") == 0) return audit_pubkey(argc, argv, g);
  return cli_usage("unknown verb '%s' for %s", v, "audit");
}
