/*
 * cmd_resident.c — `jukinet resident add|move|show|list|search|history|import|export`.
 */
#include "cli.h"

#include "jukinet/csv.h"
#include "jukinet/date.h"
#include "jukinet/node.h"
#include "jukinet/registry.h"
#include "jukinet/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT_MAX_BYTES ((size_t)2 << 30) /* 2 GiB: ~15M rows */

/* ---- output of a record ---- */

static json_t *date_json(jk_date d) {
  if (!d.y) return json_null();
  char iso[11], w[JK_DATE_TEXT_MAX];
  jk_date_format_iso(d, iso);
  jk_date_format_wareki(d, w);
  return json_pack("{s:s,s:s}", "iso", iso, "wareki", w);
}

static json_t *record_json(const jk_identity *r) {
  return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:I,s:s?,s:s,s:s,s:o,s:s,s:s?,s:i,s:s}", "code", r->code, "name",
                   r->name, "kana", r->kana, "birth", date_json(r->birth), "sex", jk_sex_token(r->sex), "address",
                   r->address, "household", (json_int_t)r->household_id, "relation", r->relation, "reason",
                   jk_move_token(r->reason), "reason_ja", jk_move_name_ja(r->reason), "moved_on",
                   date_json(r->moved_on), "status", r->status == JK_STATUS_ACTIVE ? "active" : "removed", "note",
                   r->note, "version", r->version, "recorded_at", r->recorded_at);
}

static const char *status_text(jk_status s) { return jk_tr(s == JK_STATUS_ACTIVE ? "on register" : "removed"); }

static void print_record(const jk_identity *r) {
  char iso[11], w[JK_DATE_TEXT_MAX], miso[11] = "", mw[JK_DATE_TEXT_MAX] = "";
  jk_date_format_iso(r->birth, iso);
  jk_date_format_wareki(r->birth, w);
  if (r->moved_on.y) {
    jk_date_format_iso(r->moved_on, miso);
    jk_date_format_wareki(r->moved_on, mw);
  }
  bool ja = jk_lang_get() == JK_LANG_JA;
  cli_out("resident code  %s\n", r->code);
  cli_out("name           %s (%s)\n", r->name, r->kana);
  cli_out("birth date     %s (%s)\n", w, iso);
  cli_out("sex            %s\n", ja ? jk_sex_name_ja(r->sex) : jk_sex_token(r->sex));
  cli_out("address        %s\n", r->address);
  cli_out("household      %lld %s\n", (long long)r->household_id, r->relation ? r->relation : "");
  cli_out("status         %s\n", status_text(r->status));
  cli_out("last move      %s %s (%s) version %d\n", ja ? jk_move_name_ja(r->reason) : jk_move_token(r->reason), mw,
          miso, r->version);
  if (r->note) cli_out("note           %s\n", r->note);
}

static void print_row(const jk_identity *r) {
  char w[JK_DATE_TEXT_MAX];
  jk_date_format_wareki(r->birth, w);
  bool ja = jk_lang_get() == JK_LANG_JA;
  printf("%s  %s (%s)  %s  %s  %s%s\n", r->code, r->name, r->kana, w, ja ? jk_sex_name_ja(r->sex) : jk_sex_token(r->sex),
         r->address, r->status == JK_STATUS_REMOVED ? jk_tr("  [removed]") : "");
}

typedef struct collect {
  json_t *arr;
  size_t n;
  bool json, full;
} collect;

static int on_record(const jk_identity *r, void *payload) {
  collect *c = payload;
  c->n++;
  if (c->json) json_array_append_new(c->arr, record_json(r));
  else if (c->full) {
    if (c->n > 1) printf("\n");
    print_record(r);
  } else {
    print_row(r);
  }
  return 0;
}

/* ---- argument helpers ---- */

static jk_err parse_date_opt(const char *opt, const char *v, jk_date *out) {
  if (!v) return JK_OK;
  jk_err e = jk_date_parse(v, out);
  return e ? jk_error_prefix("--%s: ", opt) : JK_OK;
}

static jk_err parse_sex_opt(const char *v, jk_sex *out) {
  if (!v) return JK_OK;
  jk_err e = jk_sex_parse(v, out);
  return e ? jk_error_prefix("--sex: ") : JK_OK;
}

static jk_err parse_id_opt(const char *opt, const char *v, int64_t *out) {
  if (!v) return JK_OK;
  char *end;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || x <= 0) return jk_error_set(JK_EINVAL, "--%s: '%s' is not a positive number", opt, v);
  *out = x;
  return JK_OK;
}

static jk_err dup_opt(const char *v, char **out) {
  *out = NULL;
  if (!v) return JK_OK;
  *out = jk_strdup(v);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* ---- verbs ---- */

static int resident_add(int argc, char **argv, cli_global *g) {
  const char *name = NULL, *kana = NULL, *birth = NULL, *sex = NULL, *address = NULL, *code = NULL, *reason = NULL,
             *date = NULL, *household = NULL, *relation = NULL, *note = NULL;
  const cli_opt opts[] = {{"name", &name, NULL},         {"kana", &kana, NULL},         {"birth", &birth, NULL},
                          {"sex", &sex, NULL},           {"address", &address, NULL},   {"code", &code, NULL},
                          {"reason", &reason, NULL},     {"date", &date, NULL},         {"household", &household, NULL},
                          {"relation", &relation, NULL}, {"note", &note, NULL},         {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!name || !kana || !birth || !sex || !address)
    return cli_usage("resident add needs --name, --kana, --birth, --sex and --address");
  jk_identity rec = {0};
  cli_op op;
  /* the new resident's code becomes the entry's object when the entry is written (at commit) */
  int rc = cli_op_begin(g, "resident.add", "-", rec.code, &op);
  if (rc) return rc;
  jk_err e;
  if ((e = parse_date_opt("birth", birth, &rec.birth)) || (e = parse_date_opt("date", date, &rec.moved_on)) ||
      (e = parse_sex_opt(sex, &rec.sex)) || (e = parse_id_opt("household", household, &rec.household_id)))
    goto out;
  if (reason && (e = jk_move_parse(reason, &rec.reason))) goto out;
  if (code) {
    char folded[64];
    if ((e = cli_fold_digits(code, folded, sizeof folded))) goto out;
    if ((e = jk_rescode_validate(folded, strlen(folded)))) goto out;
    memcpy(rec.code, folded, JK_RESCODE_LEN + 1);
  }
  if ((e = dup_opt(name, &rec.name)) || (e = dup_opt(kana, &rec.kana)) || (e = dup_opt(address, &rec.address)) ||
      (e = dup_opt(relation, &rec.relation)) || (e = dup_opt(note, &rec.note)))
    goto out;
  if ((e = jk_registry_add(jk_node_store(op.node), &rec))) goto out;
  if (g->json) cli_json(record_json(&rec));
  else cli_out("registered %s %s (%s) as %s\n", rec.code, rec.name, jk_move_name_ja(rec.reason), status_text(rec.status));
out:
  rc = cli_op_end(&op, e);
  jk_identity_clear(&rec);
  return rc;
}

static int resident_move(int argc, char **argv, cli_global *g) {
  const char *kind = NULL, *date = NULL, *address = NULL, *name = NULL, *kana = NULL, *birth = NULL, *sex = NULL,
             *household = NULL, *relation = NULL, *note = NULL;
  const cli_opt opts[] = {{"kind", &kind, NULL},       {"date", &date, NULL},   {"address", &address, NULL},
                          {"name", &name, NULL},       {"kana", &kana, NULL},   {"birth", &birth, NULL},
                          {"sex", &sex, NULL},         {"household", &household, NULL},
                          {"relation", &relation, NULL}, {"note", &note, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1 || !kind) return cli_usage("usage: jukinet resident move CODE --kind KIND [...]");
  jk_move_kind k;
  jk_move_change c = {.name = name, .kana = kana, .address = address, .relation = relation, .note = note};
  jk_identity out = {0};
  char code[64];
  jk_err e;
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.move", code, NULL, &op);
  if (rc) return rc;
  if ((e = jk_move_parse(kind, &k)) || (e = parse_date_opt("date", date, &c.moved_on)) ||
      (e = parse_date_opt("birth", birth, &c.birth)) || (e = parse_sex_opt(sex, &c.sex)))
    goto out;
  if (household && strcmp(household, "new") == 0) c.household_id = -1;
  else if ((e = parse_id_opt("household", household, &c.household_id))) goto out;
  if ((e = jk_registry_move(jk_node_store(op.node), code, k, &c, &out))) goto out;
  if (g->json) cli_json(record_json(&out));
  else if (k == JK_MOVE_CODE_CHANGE) cli_out("%s: %s → %s\n", jk_move_name_ja(k), code, out.code);
  else cli_out("%s: %s %s, version %d\n", jk_move_name_ja(k), out.code, out.name, out.version);
out:
  rc = cli_op_end(&op, e);
  jk_identity_clear(&out);
  return rc;
}

static int resident_show(int argc, char **argv, cli_global *g, bool history) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage(history ? "usage: jukinet resident history CODE" : "usage: jukinet resident show CODE");
  jk_err e;
  char code[64];
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, history ? "resident.history" : "resident.show", code, NULL, &op);
  if (rc) return rc;
  jk_store *st = jk_node_store(op.node);
  if (history) {
    collect c = {.json = g->json, .full = true, .arr = g->json ? json_array() : NULL};
    e = jk_registry_history(st, code, on_record, &c);
    if (!e && g->json) cli_json(c.arr);
    else json_decref(c.arr);
  } else {
    jk_identity r = {0};
    if (!(e = jk_registry_get(st, code, &r))) {
      if (g->json) cli_json(record_json(&r));
      else print_record(&r);
    }
    jk_identity_clear(&r);
  }
  return cli_op_end(&op, e);
}

static int resident_search(int argc, char **argv, cli_global *g, bool list) {
  const char *kana = NULL, *name = NULL, *birth = NULL, *sex = NULL, *address = NULL, *limit = NULL, *offset = NULL,
             *status = NULL, *household = NULL;
  /* list takes the options from "limit" on */
  const cli_opt search_opts[] = {{"kana", &kana, NULL},         {"name", &name, NULL},     {"birth", &birth, NULL},
                                 {"sex", &sex, NULL},           {"address", &address, NULL}, {"limit", &limit, NULL},
                                 {"offset", &offset, NULL},     {"status", &status, NULL},
                                 {"household", &household, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, list ? search_opts + 5 : search_opts, pos, 0, &npos, g)) return EXIT_USAGE;
  jk_registry_query q = {0};
  jk_err e;
  int64_t lim = 0, off = 0;
  if ((e = parse_date_opt("birth", birth, &q.birth)) || (e = parse_sex_opt(sex, &q.sex)) ||
      (e = parse_id_opt("limit", limit, &lim)) || (e = parse_id_opt("household", household, &q.household_id)))
    return cli_fail(e);
  if (offset && strcmp(offset, "0") != 0 && (e = parse_id_opt("offset", offset, &off))) return cli_fail(e);
  if (status) {
    if (strcmp(status, "active") == 0) q.status = JK_STATUS_ACTIVE;
    else if (strcmp(status, "removed") == 0) q.status = JK_STATUS_REMOVED;
    else if (strcmp(status, "all") != 0) return cli_usage("--status is active, removed or all");
  } else if (list) {
    q.status = JK_STATUS_ACTIVE;
  }
  if (lim > 10000) return cli_usage("--limit is at most 10000");
  q.kana = kana;
  q.name = name;
  q.address = address;
  q.limit = (size_t)lim;
  q.offset = (size_t)off;
  char obj[32] = "-";
  if (q.household_id) snprintf(obj, sizeof obj, "household:%lld", (long long)q.household_id);
  cli_op op;
  int rc = cli_op_begin(g, list ? "resident.list" : "resident.search", obj, NULL, &op);
  if (rc) return rc;
  collect c = {.json = g->json, .arr = g->json ? json_array() : NULL};
  if (list) {
    jk_store_query sq = {.status = q.status, .household_id = q.household_id, .limit = q.limit, .offset = q.offset};
    e = jk_store_resident_search(jk_node_store(op.node), &sq, on_record, &c);
  } else {
    e = jk_registry_search(jk_node_store(op.node), &q, on_record, &c);
  }
  if (e) json_decref(c.arr);
  else if (g->json) cli_json(c.arr);
  else if (c.n == 0) cli_out("no residents found\n");
  return cli_op_end(&op, e);
}

static int resident_import(int argc, char **argv, cli_global *g) {
  const char *format = "csv", *encoding = "utf-8";
  const cli_opt opts[] = {{"format", &format, NULL}, {"encoding", &encoding, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet resident import --format csv [--encoding cp932] FILE");
  if (strcmp(format, "csv") != 0) return cli_usage("unknown format '%s' (csv)", format);
  bool cp932 = strcasecmp(encoding, "cp932") == 0 || strcasecmp(encoding, "sjis") == 0 ||
               strcasecmp(encoding, "shift_jis") == 0;
  if (!cp932 && strcasecmp(encoding, "utf-8") != 0 && strcasecmp(encoding, "utf8") != 0)
    return cli_usage("unknown encoding '%s' (utf-8, cp932)", encoding);
  char *data = NULL, *utf8 = NULL;
  size_t len = 0, ulen = 0;
  jk_import_result res;
  jk_err e;
  cli_op op;
  int rc = cli_op_begin(g, "resident.import", "-", NULL, &op);
  if (rc) return rc;
  if ((e = cli_read_file(pos[0], IMPORT_MAX_BYTES, &data, &len))) goto out;
  if (cp932) {
    if ((e = jk_cp932_to_utf8(data, len, &utf8, &ulen))) {
      jk_error_prefix("%s: ", pos[0]);
      goto out;
    }
  }
  e = jk_registry_import_csv(jk_node_store(op.node), cp932 ? utf8 : data, cp932 ? ulen : len, &res);
  if (e) goto out;
  if (g->json) cli_json(json_pack("{s:s,s:I,s:I}", "file", pos[0], "rows", (json_int_t)res.rows, "households",
                                  (json_int_t)res.households));
  else cli_out("imported %zu residents in %zu households from %s\n", res.rows, res.households, pos[0]);
out:
  jk_free(data);
  jk_free(utf8);
  return cli_op_end(&op, e);
}

static int resident_export(int argc, char **argv, cli_global *g) {
  const char *format = "csv", *encoding = "utf-8", *outpath = NULL;
  const cli_opt opts[] = {{"format", &format, NULL}, {"encoding", &encoding, NULL}, {"out", &outpath, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (strcmp(format, "csv") != 0) return cli_usage("unknown format '%s' (csv)", format);
  bool cp932 = strcasecmp(encoding, "cp932") == 0 || strcasecmp(encoding, "sjis") == 0 ||
               strcasecmp(encoding, "shift_jis") == 0;
  if (!cp932 && strcasecmp(encoding, "utf-8") != 0 && strcasecmp(encoding, "utf8") != 0)
    return cli_usage("unknown encoding '%s' (utf-8, cp932)", encoding);
  jk_buf b = {0};
  char *sj = NULL;
  size_t sjlen = 0, rows = 0;
  jk_err e;
  cli_op op;
  int rc = cli_op_begin(g, "resident.export", "-", NULL, &op);
  if (rc) return rc;
  bool to_file = outpath && strcmp(outpath, "-") != 0;
  if ((e = jk_registry_export_csv(jk_node_store(op.node), &b, &rows))) goto out;
  if (cp932) {
    jk_text_pos bad;
    /* Line L of the file is row L-1 (after the header): the error names line and column. */
    if ((e = jk_utf8_to_cp932(b.data, b.len, &sj, &sjlen, &bad))) {
      jk_error_prefix("%s", jk_tr("nothing was exported: "));
      goto out;
    }
    e = cli_write_file(outpath, sj, sjlen);
  } else {
    e = cli_write_file(outpath, b.data, b.len);
  }
  if (!e && outpath && strcmp(outpath, "-") != 0 && !g->json) cli_out("exported %zu residents to %s\n", rows, outpath);
out:
  jk_buf_free(&b);
  jk_free(sj);
  rc = cli_op_end(&op, e);
  if (rc && !e && to_file) unlink(outpath); /* not recorded: not handed out either */
  return rc;
}

int cmd_resident(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet resident add|move|show|list|search|history|import|export|notice|consent|requests|reply|disclose|stop-use|decide|protect|protections|change-code");
  const char *v = argv[0];
  argc--, argv++;
  if (strcmp(v, "add") == 0) return resident_add(argc, argv, g);
  if (strcmp(v, "move") == 0) return resident_move(argc, argv, g);
  if (strcmp(v, "show") == 0) return resident_show(argc, argv, g, false);
  if (strcmp(v, "history") == 0) return resident_show(argc, argv, g, true);
  if (strcmp(v, "list") == 0) return resident_search(argc, argv, g, true);
  if (strcmp(v, "search") == 0) return resident_search(argc, argv, g, false);
  if (strcmp(v, "import") == 0) return resident_import(argc, argv, g);
  if (strcmp(v, "export") == 0) return resident_export(argc, argv, g);
  int rc = cmd_rights(argc, argv, g, v);
  if (rc >= 0) return rc;
  return cli_usage("unknown verb '%s' for %s", v, "resident");
}
