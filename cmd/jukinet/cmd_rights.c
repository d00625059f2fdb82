/*
 * cmd_rights.c — the residents' side at a municipal node (docs/provision.md):
 *   jukinet participation [show | set statutory|resident-choice]
 *   jukinet resident notice CODE --date D --channel C [--note TEXT]   non-participation notice
 *   jukinet resident consent CODE --date D --channel C [--note TEXT]  consent to be sent again
 *   jukinet resident requests [CODE]                                  the requests on record
 *   jukinet resident reply REQUEST-ID [--pdf FILE]                    the reply letter
 *   jukinet resident stop-use CODE --purposes … --date D --channel C  目的外利用の中止請求
 *   jukinet resident decide REQUEST-ID --accept|--reject --reason T   its decision
 *   jukinet resident protect CODE --offenders T --date D | --id N --accept|--reject|--extend|--end
 *   jukinet resident protections [CODE] [--due DAYS]                  支援措置, and the reminder
 *   jukinet resident change-code CODE --date D --channel C [--pdf F]  住民票コード変更 on request
 *   jukinet resident copy CODE --requester NAME --relation R …        住民票の写し (支援措置 checked)
 * Each is an operation on the node, recorded in its ledger; a request and what it does (the
 * hold, the erasure notice) commit in one transaction with the entry.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/letter.h"
#include "jukinet/node.h"
#include "jukinet/registry.h"
#include "jukinet/rights.h"
#include "jukinet/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *request_json(const jk_request_rec *r) {
  char filed[11];
  jk_date_format_iso(r->filed_on, filed);
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "code", r->code,
                   "kind", r->kind, "channel", r->channel, "filed_on", filed, "recorded_at", r->recorded_at,
                   "recorded_by", r->recorded_by, "policy", r->policy, "purposes", r->purposes, "note", r->note,
                   "decision", r->decision, "decided_at", r->decided_at, "reason", r->reason);
}

/* A stored token as operators read it: Japanese words under --lang ja, the token otherwise. */
static const char *word(const char *token) {
  static const char *const ja[][2] = {
      {"opt-out", "不参加の申出"},   {"consent", "同意"},         {"stop-use", "目的外利用の中止請求"},
      {"letter", "書面"},            {"postcard", "はがき"},      {"fax", "ファクシミリ"},
      {"mail", "電子メール"},        {"counter", "窓口"},         {"statutory", "全員送信"},
      {"resident-choice", "本人選択"}, {"accepted", "受理"},     {"rejected", "却下"},
      {"recorded", "記録のみ"},      {"pending", "決定待ち"},     {"provisional", "仮の措置"},
      {"active", "実施中"},          {"ended", "終了"},             {"copy", "住民票の写しの請求"}};
  if (jk_lang_get() != JK_LANG_JA) return token;
  for (size_t i = 0; i < sizeof ja / sizeof *ja; i++)
    if (strcmp(token, ja[i][0]) == 0) return ja[i][1];
  return token;
}

static void print_request(const jk_request_rec *r) {
  char filed[JK_DATE_TEXT_MAX];
  jk_date_format_wareki(r->filed_on, filed);
  cli_out("request %lld: %s of %s, filed %s by %s, recorded %s by %s (%s): %s\n", (long long)r->id, word(r->kind),
          r->code, filed, word(r->channel), r->recorded_at, r->recorded_by, word(r->policy),
          word(r->decision[0] ? r->decision : "pending"));
  if (r->purposes[0]) cli_out("  purposes: %s\n", r->purposes);
}

/* notice / consent */
static int file_request(int argc, char **argv, cli_global *g, bool consent) {
  const char *date = NULL, *channel = NULL, *note = NULL;
  const cli_opt opts[] = {{"date", &date, NULL}, {"channel", &channel, NULL}, {"note", &note, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1 || !date || !channel)
    return cli_usage(consent ? "usage: jukinet resident consent CODE --date DATE --channel letter|postcard|fax|mail|counter "
                               "[--note TEXT]"
                             : "usage: jukinet resident notice CODE --date DATE --channel letter|postcard|fax|mail|counter "
                               "[--note TEXT]");
  char code[64];
  jk_err e;
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, consent ? "resident.consent" : "resident.notice", code, NULL, &op);
  if (rc) return rc;
  jk_date filed;
  jk_request_rec r;
  jk_store *s = jk_node_store(op.node);
  if (jk_node_role(op.node) != JK_ROLE_MUNICIPAL) {
    e = jk_error_set(JK_EPERM, "residents file their requests at their municipality, not at this node");
    goto out;
  }
  if ((e = jk_date_parse(date, &filed))) {
    jk_error_prefix("--date: ");
    goto out;
  }
  if ((e = jk_store_begin(s))) goto out;
  const char *by = jk_session_staff_id(op.sess);
  e = consent ? jk_rights_consent(s, jk_node_id(op.node), code, filed, channel, by, note, &r)
              : jk_rights_opt_out(s, jk_node_id(op.node), code, filed, channel, by, note, &r);
  if (e) jk_store_rollback(s);
  else e = jk_store_commit(s);
  if (e) goto out;
  if (g->json) cli_json(request_json(&r));
  else if (consent) cli_out("request %lld: consent of %s recorded: the record is sent again\n", (long long)r.id, code);
  else if (strcmp(r.decision, "accepted") == 0)
    cli_out("request %lld: %s no longer takes part: held back, and the erasure notice is on its way up\n",
            (long long)r.id, code);
  else cli_out("request %lld: notice of %s recorded; under the statutory policy the record is still sent\n",
               (long long)r.id, code);
out:
  return cli_op_end(&op, e);
}

typedef struct listing {
  json_t *arr;
  bool json;
} listing;

static int on_request(const jk_request_rec *r, void *payload) {
  listing *l = payload;
  if (l->json) json_array_append_new(l->arr, request_json(r));
  else print_request(r);
  return 0;
}

static int list_requests(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  char code[64] = "";
  jk_err e;
  if (npos == 1 && (e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.requests", npos ? code : "-", NULL, &op);
  if (rc) return rc;
  listing l = {.json = g->json, .arr = g->json ? json_array() : NULL};
  e = jk_store_request_each(jk_node_store(op.node), npos ? code : NULL, on_request, &l);
  if (!e && g->json) cli_json(l.arr);
  else json_decref(l.arr);
  return cli_op_end(&op, e);
}

/* The nation's signed receipt of this municipality's notices, carried down by the prefecture
 * (POST /sync/v1/attest), checked against the network CA and kept when it covers the erasure:
 * the letter then names both tiers' receipts. A tier that does not answer leaves "未着". */
static jk_err fetch_nation_receipt(jk_node *n, int64_t erase_seq) {
  char body[128], cert[4096], ca[4096], crl[4096];
  snprintf(body, sizeof body, "{\"source\":\"%s\"}", jk_node_id(n));
  unsigned status = 0;
  uint8_t *resp = NULL;
  size_t len = 0, l2;
  char *ca_pem = NULL, *crl_pem = NULL;
  jk_receipt r;
  jk_err e = cli_upstream_post(n, "/sync/v1/attest", body, &status, &resp, &len);
  if (!e && status != 200) e = jk_error_set(JK_EIO, "the prefecture answered %u", status);
  if (!e) e = jk_node_tls_files(n, cert, ca, crl, sizeof cert);
  if (!e) e = cli_read_file(ca, 1u << 20, &ca_pem, &l2);
  if (!e && access(crl, R_OK) == 0) e = cli_read_file(crl, 1u << 20, &crl_pem, &l2);
  if (!e) e = jk_sync_attest_check(resp, len, ca_pem, crl_pem, jk_node_id(n), &r);
  jk_free(resp);
  jk_free(ca_pem);
  jk_free(crl_pem);
  if (e || (int64_t)r.highest_seq < erase_seq) return e;
  jk_receipt_row row;
  memset(&row, 0, sizeof row);
  snprintf(row.receiver, sizeof row.receiver, "%s", r.receiver);
  snprintf(row.sender, sizeof row.sender, "%s", r.sender);
  snprintf(row.source, sizeof row.source, "%s", r.source);
  row.highest_seq = (int64_t)r.highest_seq;
  row.ledger_size = (int64_t)r.ledger_size;
  memcpy(row.ledger_root, r.ledger_root, 32);
  snprintf(row.at, sizeof row.at, "%s", r.at);
  memcpy(row.sig, r.sig, 64);
  jk_store *s = jk_node_store(n);
  if ((e = jk_store_begin(s))) return e;
  if ((e = jk_rights_nation_receipt_put(s, &row))) {
    jk_store_rollback(s);
    return e;
  }
  return jk_store_commit(s);
}

/* The reply letter to a request: text on stdout, or a PDF (IPAmj明朝) with --pdf FILE. */
static int reply(int argc, char **argv, cli_global *g) {
  const char *pdf = NULL;
  const cli_opt opts[] = {{"pdf", &pdf, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  char *end;
  long long id = npos == 1 ? strtoll(pos[0], &end, 10) : 0;
  if (npos != 1 || id < 1 || *end) return cli_usage("usage: jukinet resident reply REQUEST-ID [--pdf FILE]");
  cli_op op;
  int rc = cli_op_begin(g, "resident.reply", pos[0], NULL, &op);
  if (rc) return rc;
  jk_letter *l = NULL;
  char *text = NULL;
  jk_rights_status st;
  jk_err e = jk_rights_status_get(jk_node_store(op.node), jk_node_id(op.node), jk_node_upstream(op.node), id, &st);
  if (!e && st.erase_seq > 0 && !st.nation_acknowledged_at[0] && fetch_nation_receipt(op.node, st.erase_seq))
    fprintf(stderr, "jukinet: %s\n", jk_tr("the nation's receipt could not be fetched now; the letter says it has not come"));
  if (!e) e = jk_letter_new(&l);
  if (!e)
    e = jk_rights_reply(jk_node_store(op.node), jk_node_id(op.node), jk_node_upstream(op.node), jk_node_name(op.node),
                        id, l);
  if (!e && pdf) e = jk_letter_pdf(l, pdf);
  if (!e && !pdf) e = jk_letter_text(l, &text, NULL);
  if (!e) {
    if (g->json) cli_json(json_pack("{s:I,s:s}", "request", (json_int_t)id, pdf ? "pdf" : "text", pdf ? pdf : text));
    else if (pdf) cli_out("reply to request %lld written to %s\n", id, pdf);
    else cli_out("%s", text);
  }
  jk_free(text);
  jk_letter_free(l);
  return cli_op_end(&op, e);
}

/* resident stop-use CODE --purposes P,… --date D --channel C [--note TEXT] */
static int stop_use(int argc, char **argv, cli_global *g) {
  const char *date = NULL, *channel = NULL, *note = NULL, *purposes = NULL;
  const cli_opt opts[] = {{"date", &date, NULL}, {"channel", &channel, NULL}, {"note", &note, NULL},
                          {"purposes", &purposes, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1 || !date || !channel || !purposes)
    return cli_usage("usage: jukinet resident stop-use CODE --purposes B1-77,… --date DATE --channel "
                     "letter|postcard|fax|mail|counter [--note TEXT]");
  char code[64];
  jk_err e;
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.stop-use", code, NULL, &op);
  if (rc) return rc;
  jk_date filed;
  jk_request_rec r;
  jk_store *s = jk_node_store(op.node);
  if ((e = jk_date_parse(date, &filed))) jk_error_prefix("--date: ");
  else if (!(e = jk_store_begin(s))) {
    e = jk_rights_stop_use(s, code, purposes, filed, channel, jk_session_staff_id(op.sess), note, &r);
    if (e) jk_store_rollback(s);
    else e = jk_store_commit(s);
  }
  if (!e && g->json) cli_json(request_json(&r));
  else if (!e) cli_out("request %lld: to stop the use of %s for %s, awaiting a decision\n", (long long)r.id, code, purposes);
  return cli_op_end(&op, e);
}

/* resident decide REQUEST-ID --accept|--reject --reason TEXT */
static int decide(int argc, char **argv, cli_global *g) {
  const char *reason = NULL;
  bool accept = false, reject = false;
  const cli_opt opts[] = {{"reason", &reason, NULL}, {"accept", NULL, &accept}, {"reject", NULL, &reject},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  char *end;
  long long id = npos == 1 ? strtoll(pos[0], &end, 10) : 0;
  if (npos != 1 || id < 1 || *end || accept == reject || !reason)
    return cli_usage("usage: jukinet resident decide REQUEST-ID --accept|--reject --reason TEXT");
  cli_op op;
  int rc = cli_op_begin(g, "resident.decide", pos[0], NULL, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  jk_request_rec r;
  jk_err e = jk_store_begin(s);
  if (!e) {
    e = jk_rights_decide(s, jk_node_id(op.node), id, accept, jk_session_staff_id(op.sess), reason, &r);
    if (e) jk_store_rollback(s);
    else e = jk_store_commit(s);
  }
  if (!e && g->json) cli_json(request_json(&r));
  else if (!e) cli_out("request %lld: %s\n", id, word(r.decision));
  return cli_op_end(&op, e);
}

static json_t *protection_json(const jk_protection_rec *p) {
  char applied[11], until[11] = "";
  jk_date_format_iso(p->applied_on, applied);
  if (jk_date_valid(p->until)) jk_date_format_iso(p->until, until);
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)p->id, "code", p->code, "status",
                   p->status, "applied_on", applied, "until", until, "offenders", p->offenders, "recorded_by",
                   p->recorded_by, "decided_at", p->decided_at, "note", p->note);
}

/* resident protect CODE --offenders TEXT --date D [--note TEXT]: apply (a provisional block at once);
 * resident protect --id N --accept|--reject|--extend|--end [--note TEXT]: the measure's steps. */
static int protect(int argc, char **argv, cli_global *g) {
  const char *offenders = NULL, *date = NULL, *note = NULL, *id_s = NULL;
  bool accept = false, reject = false, extend = false, end_ = false;
  const cli_opt opts[] = {{"offenders", &offenders, NULL}, {"date", &date, NULL}, {"note", &note, NULL},
                          {"id", &id_s, NULL},           {"accept", NULL, &accept}, {"reject", NULL, &reject},
                          {"extend", NULL, &extend},     {"end", NULL, &end_},    {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  int steps = accept + reject + extend + end_;
  char *endp = NULL;
  long long id = id_s ? strtoll(id_s, &endp, 10) : 0;
  bool apply = npos == 1 && offenders && date && !id_s && steps == 0;
  bool step = npos == 0 && id_s && id >= 1 && !*endp && steps == 1 && !offenders && !date;
  if (!apply && !step)
    return cli_usage("usage: jukinet resident protect CODE --offenders TEXT --date DATE [--note TEXT] | jukinet resident "
                     "protect --id N --accept|--reject|--extend|--end [--note TEXT]");
  char code[64] = "-";
  jk_err e;
  if (apply && (e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.protect", apply ? code : id_s, NULL, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  jk_protection_rec p;
  jk_date applied;
  const char *by = jk_session_staff_id(op.sess);
  if (jk_node_role(op.node) != JK_ROLE_MUNICIPAL)
    e = jk_error_set(JK_EPERM, "residents file their requests at their municipality, not at this node");
  else if (apply && (e = jk_date_parse(date, &applied))) jk_error_prefix("--date: ");
  else if (!(e = jk_store_begin(s))) {
    jk_protect_step st = accept ? JK_PROTECT_ACCEPT : reject ? JK_PROTECT_REJECT : extend ? JK_PROTECT_EXTEND : JK_PROTECT_END;
    e = apply ? jk_rights_protect(s, jk_node_id(op.node), code, offenders, applied, by, note, &p)
              : jk_rights_protect_step(s, jk_node_id(op.node), id, st, by, note, &p);
    if (e) jk_store_rollback(s);
    else e = jk_store_commit(s);
  }
  if (!e && g->json) cli_json(protection_json(&p));
  else if (!e) {
    char until[JK_DATE_TEXT_MAX] = "-";
    if (jk_date_valid(p.until)) jk_date_format_wareki(p.until, until);
    cli_out("measure %lld for %s: %s (until %s)\n", (long long)p.id, p.code, word(p.status), until);
  }
  return cli_op_end(&op, e);
}

typedef struct plist {
  json_t *arr;
  bool json;
  int due;
  jk_date today;
} plist;

static int on_protection(const jk_protection_rec *p, void *payload) {
  plist *l = payload;
  bool live = strcmp(p->status, "active") == 0 || strcmp(p->status, "provisional") == 0;
  int64_t left = jk_date_valid(p->until) ? jk_date_to_days(p->until) - jk_date_to_days(l->today) : -1;
  if (l->due >= 0 && !(live && left >= 0 && left <= l->due)) return 0;
  if (l->json) json_array_append_new(l->arr, protection_json(p));
  else {
    char until[JK_DATE_TEXT_MAX] = "-";
    if (jk_date_valid(p->until)) jk_date_format_wareki(p->until, until);
    cli_out("measure %lld: %s, %s until %s\n", (long long)p->id, p->code, word(p->status), until);
    if (live && left >= 0 && left <= 30) cli_out("  ends within 30 days: ask the resident whether to extend it\n");
  }
  return 0;
}

/* resident protections [CODE] [--due DAYS]: the measures, or those ending within DAYS (the reminder). */
static int protections(int argc, char **argv, cli_global *g) {
  const char *due = NULL;
  const cli_opt opts[] = {{"due", &due, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  char *end = NULL;
  long d = due ? strtol(due, &end, 10) : -1;
  if (due && (*end || d < 0 || d > 3660)) return cli_usage("usage: jukinet resident protections [CODE] [--due DAYS]");
  char code[64] = "";
  jk_err e;
  if (npos == 1 && (e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.protections", npos ? code : "-", NULL, &op);
  if (rc) return rc;
  plist l = {.json = g->json, .arr = g->json ? json_array() : NULL, .due = (int)d, .today = jk_date_today()};
  e = jk_store_protection_each(jk_node_store(op.node), npos ? code : NULL, on_protection, &l);
  if (!e && g->json) cli_json(l.arr);
  else json_decref(l.arr);
  return cli_op_end(&op, e);
}

/* resident change-code CODE --date D --channel C [--note TEXT]: a 住民票コード変更 at the resident's
 * request (住民基本台帳法第30条の4): a new code, the old one retired for good, the change sent up
 * as a notice; the disclosure shows the history under both codes. */
static int change_code(int argc, char **argv, cli_global *g) {
  const char *date = NULL, *channel = NULL, *note = NULL, *pdf = NULL;
  const cli_opt opts[] = {{"date", &date, NULL}, {"channel", &channel, NULL}, {"note", &note, NULL}, {"pdf", &pdf, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1 || !date || !channel)
    return cli_usage("usage: jukinet resident change-code CODE --date DATE --channel letter|postcard|fax|mail|counter "
                     "[--note TEXT] [--pdf FILE]");
  char code[64];
  jk_err e;
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.change-code", code, NULL, &op);
  if (rc) return rc;
  jk_date filed;
  jk_identity out = {0};
  char why[700], day[11];
  if (jk_node_role(op.node) != JK_ROLE_MUNICIPAL)
    e = jk_error_set(JK_EPERM, "residents file their requests at their municipality, not at this node");
  else if ((e = jk_date_parse(date, &filed))) jk_error_prefix("--date: ");
  else if (!jk_request_channel_valid(channel))
    e = jk_error_set(JK_EINVAL, "'%s' is not a channel (letter, postcard, fax, mail, counter)", channel);
  if (!e) {
    jk_date_format_iso(filed, day);
    snprintf(why, sizeof why, "本人の請求による変更(%s、%s)%s%.500s", day, channel, note ? " " : "", note ? note : "");
    jk_move_change chg = {.note = why};
    e = jk_registry_move(jk_node_store(op.node), code, JK_MOVE_CODE_CHANGE, &chg, &out);
  }
  /* the notice to the resident, after the change is recorded (it names the new code) */
  jk_letter *l = NULL;
  if (!e && pdf && !(e = jk_letter_new(&l)) &&
      !(e = jk_rights_code_change_letter(jk_node_store(op.node), code, out.code, jk_node_name(op.node), l)))
    e = jk_letter_pdf(l, pdf);
  jk_letter_free(l);
  if (!e && g->json) cli_json(json_pack("{s:s,s:s,s:s?}", "old", code, "new", out.code, "pdf", pdf));
  else if (!e) cli_out("住民票コード変更: %s → %s (the old code is retired for good)\n", code, out.code);
  if (!e && pdf && !g->json) cli_out("notice to the resident written to %s\n", pdf);
  jk_identity_clear(&out);
  return cli_op_end(&op, e);
}

/* resident copy CODE --requester NAME --relation self|household|third-party|official [--reason TEXT]
 * [--channel C] [--reviewed REQUEST-ID] [--pdf FILE]: the municipality's issuance path. The
 * request is recorded in the same transaction as the ledger entry (object request:<id>, result
 * ok when issued, REVIEW when held, EPERM when refused); the copy is written after the commit. */
static int copy(int argc, char **argv, cli_global *g) {
  const char *requester = NULL, *relation = NULL, *reason = NULL, *channel = "counter", *reviewed_s = NULL,
             *pdf = NULL;
  const cli_opt opts[] = {{"requester", &requester, NULL}, {"relation", &relation, NULL}, {"reason", &reason, NULL},
                          {"channel", &channel, NULL},     {"reviewed", &reviewed_s, NULL}, {"pdf", &pdf, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  char *endp = NULL;
  long long reviewed = reviewed_s ? strtoll(reviewed_s, &endp, 10) : 0;
  if (npos != 1 || !requester || !relation || (reviewed_s && (reviewed < 1 || *endp)))
    return cli_usage("usage: jukinet resident copy CODE --requester NAME --relation self|household|third-party|official "
                     "[--reason TEXT] [--channel letter|postcard|fax|mail|counter] [--reviewed REQUEST-ID] [--pdf FILE]");
  char code[64];
  jk_err e;
  jk_copy_relation rel;
  if ((e = cli_fold_digits(pos[0], code, sizeof code)) || (e = jk_copy_relation_parse(relation, &rel))) return cli_fail(e);
  char object[40] = "";
  cli_op op;
  int rc = cli_op_begin(g, "resident.copy", code, object, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  jk_copy_verdict v = 0;
  jk_request_rec r;
  if (jk_node_role(op.node) != JK_ROLE_MUNICIPAL)
    e = jk_error_set(JK_EPERM, "a copy of the resident register is issued by the municipality, not at this node");
  else if (!(e = jk_store_begin(s))) {
    e = jk_rights_copy_request(s, code, requester, rel, reason, channel, jk_session_staff_id(op.sess), reviewed, &v, &r);
    if (!e) {
      snprintf(object, sizeof object, "request:%lld", (long long)r.id);
      if (v != JK_COPY_ISSUED)
        jk_ledger_stage_result(jk_node_ledger(op.node), v == JK_COPY_REVIEW ? "REVIEW" : jk_err_name(JK_EPERM));
      e = jk_store_commit(s);
    } else {
      jk_store_rollback(s);
    }
  }
  jk_letter *l = NULL;
  char *text = NULL;
  if (!e && v == JK_COPY_ISSUED) {
    if (!(e = jk_letter_new(&l)) && !(e = jk_rights_copy_letter(s, code, jk_node_name(op.node), requester, l)))
      e = pdf ? jk_letter_pdf(l, pdf) : jk_letter_text(l, &text, NULL);
  }
  if (!e && g->json) {
    json_t *o = request_json(&r);
    json_object_set_new(o, "result", json_string(v == JK_COPY_ISSUED ? "issued" : v == JK_COPY_REVIEW ? "review" : "refused"));
    if (v == JK_COPY_ISSUED) json_object_set_new(o, pdf ? "pdf" : "text", json_string(pdf ? pdf : text));
    cli_json(o);
  } else if (!e && v == JK_COPY_ISSUED) {
    if (pdf) cli_out("住民票の写し (request %lld) written to %s\n", (long long)r.id, pdf);
    else cli_out("%s", text);
  } else if (!e && v == JK_COPY_REVIEW) {
    cli_out("request %lld: held for review (支援措置): nothing issued. Decide with jukinet resident decide %lld "
            "--accept|--reject --reason TEXT; once accepted, issue with --reviewed %lld\n",
            (long long)r.id, (long long)r.id, (long long)r.id);
  }
  jk_free(text);
  jk_letter_free(l);
  if (!e && v == JK_COPY_REFUSED) /* recorded (request and entry, EPERM) before this is shown */
    e = jk_error_set(JK_EPERM, "request %lld: not issued: the requester is named as an offender in a 支援措置 for this "
                     "resident", (long long)r.id);
  return cli_op_end(&op, e);
}

int cmd_rights(int argc, char **argv, cli_global *g, const char *verb) {
  if (strcmp(verb, "copy") == 0) return copy(argc, argv, g);
  if (strcmp(verb, "change-code") == 0) return change_code(argc, argv, g);
  if (strcmp(verb, "stop-use") == 0) return stop_use(argc, argv, g);
  if (strcmp(verb, "decide") == 0) return decide(argc, argv, g);
  if (strcmp(verb, "protect") == 0) return protect(argc, argv, g);
  if (strcmp(verb, "protections") == 0) return protections(argc, argv, g);
  if (strcmp(verb, "reply") == 0) return reply(argc, argv, g);
  if (strcmp(verb, "disclose") == 0) return cmd_disclose(argc, argv, g);
  if (strcmp(verb, "notice") == 0) return file_request(argc, argv, g, false);
  if (strcmp(verb, "consent") == 0) return file_request(argc, argv, g, true);
  if (strcmp(verb, "requests") == 0) return list_requests(argc, argv, g);
  return -1;
}

int cmd_participation(int argc, char **argv, cli_global *g) {
  bool set = argc >= 1 && strcmp(argv[0], "set") == 0;
  if (argc >= 1 && !set && strcmp(argv[0], "show") != 0)
    return cli_usage("usage: jukinet participation [show | set statutory|resident-choice]");
  const char *pos[1];
  int npos;
  if (cli_parse(argc ? argc - 1 : 0, argc ? argv + 1 : argv, NULL, pos, set ? 1 : 0, &npos, g)) return EXIT_USAGE;
  if (set && npos != 1) return cli_usage("usage: jukinet participation [show | set statutory|resident-choice]");
  jk_participation p;
  jk_err e = set ? jk_participation_parse(pos[0], &p) : JK_OK;
  if (e) return cli_usage("%s", jk_error_last());
  cli_op op;
  int rc = cli_op_begin(g, set ? "participation.set" : "participation.show", set ? pos[0] : "-", NULL, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  if (set && jk_node_role(op.node) != JK_ROLE_MUNICIPAL)
    e = jk_error_set(JK_EPERM, "the participation policy is a municipality's: this is not a municipal node");
  else if (set && !(e = jk_store_begin(s))) {
    if ((e = jk_participation_set(s, p))) jk_store_rollback(s);
    else e = jk_store_commit(s);
  }
  if (!e && !set) e = jk_participation_get(s, &p);
  if (!e) {
    if (g->json) cli_json(json_pack("{s:s}", "policy", jk_participation_token(p)));
    else cli_out("participation policy: %s (%s)\n", word(jk_participation_token(p)), jk_participation_token(p));
  }
  return cli_op_end(&op, e);
}
