/*
 * cmd_rights.c — the residents' side at a municipal node (docs/provision.md):
 *   jukinet participation [show | set statutory|resident-choice]
 *   jukinet resident notice CODE --date D --channel C [--note TEXT]   non-participation notice
 *   jukinet resident consent CODE --date D --channel C [--note TEXT]  consent to be sent again
 *   jukinet resident requests [CODE]                                  the requests on record
 *   jukinet resident reply REQUEST-ID [--pdf FILE]                    the reply letter
 * Each is an operation on the node, recorded in its ledger; a request and what it does (the
 * hold, the erasure notice) commit in one transaction with the entry.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/letter.h"
#include "jukinet/node.h"
#include "jukinet/rights.h"

#include <stdlib.h>
#include <string.h>

static json_t *request_json(const jk_request_rec *r) {
  char filed[11];
  jk_date_format_iso(r->filed_on, filed);
  return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "code", r->code,
                   "kind", r->kind, "channel", r->channel, "filed_on", filed, "recorded_at", r->recorded_at,
                   "recorded_by", r->recorded_by, "policy", r->policy, "purposes", r->purposes, "note", r->note,
                   "decision", r->decision, "decided_at", r->decided_at, "reason", r->reason);
}

static void print_request(const jk_request_rec *r) {
  char filed[JK_DATE_TEXT_MAX];
  jk_date_format_wareki(r->filed_on, filed);
  cli_out("request %lld: %s of %s, filed %s by %s, recorded %s by %s (%s): %s\n", (long long)r->id, r->kind, r->code,
          filed, r->channel, r->recorded_at, r->recorded_by, r->policy, r->decision[0] ? r->decision : "pending");
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
  jk_err e = jk_letter_new(&l);
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

int cmd_rights(int argc, char **argv, cli_global *g, const char *verb) {
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
    else cli_out("participation policy: %s\n", jk_participation_token(p));
  }
  return cli_op_end(&op, e);
}
