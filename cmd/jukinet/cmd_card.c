/*
 * cmd_card.c — `jukinet card enrol|list|ledger|lend|return|lost|revoke|replace`: operator IC
 * cards and the card ledger (管理簿, regulation art. 13).
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/node.h"

#include <stdlib.h>
#include <string.h>

static jk_err parse_card_id(const char *v, int64_t *out) {
  char *end;
  if (strncmp(v, "card:", 5) == 0) v += 5;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || x <= 0) return jk_error_set(JK_EINVAL, "a card id is a positive number (see jukinet card list)");
  *out = x;
  return JK_OK;
}

typedef struct enrol_args {
  const char *staff, *card, *note;
  int64_t old_id;
  char *pin;
  size_t pin_len;
  bool json;
} enrol_args;

static int card_enrol(int argc, char **argv, cli_global *g, bool replace) {
  const char *card = NULL, *pin_file = NULL, *note = NULL;
  const cli_opt opts[] = {{"card", &card, NULL}, {"card-pin-file", &pin_file, NULL}, {"note", &note, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1 || !card)
    return cli_usage(replace ? "usage: jukinet card replace CARD-ID --card LABEL [--card-pin-file F] [--note TEXT]"
                             : "usage: jukinet card enrol STAFF-ID --card LABEL [--card-pin-file F] [--note TEXT]");
  enrol_args a = {.staff = pos[0], .card = card, .note = note, .json = g->json};
  jk_err e;
  if (replace && (e = parse_card_id(pos[0], &a.old_id))) return cli_fail(e);
  if ((e = cli_secret("JUKINET_CARD_PIN", pin_file, "PIN of the card being enrolled", &a.pin, &a.pin_len)))
    return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, NULL, NULL, NULL, &op);
  if (rc) {
    cli_secret_free(a.pin);
    return rc;
  }
  int64_t id = 0;
  e = replace ? jk_auth_card_replace(op.sess, a.old_id, a.card, a.pin, a.pin_len, a.note, &id)
              : jk_auth_card_enrol(op.sess, a.staff, a.card, a.pin, a.pin_len, a.note, &id);
  cli_secret_free(a.pin);
  if (!e) {
    if (g->json) cli_json(json_pack("{s:I,s:s}", "card", (json_int_t)id, "token", a.card));
    else cli_out("enrolled card %lld (token %s)\n", (long long)id, a.card);
  }
  return cli_op_end(&op, e);
}

static int card_event(int argc, char **argv, cli_global *g, const char *event) {
  const char *note = NULL;
  const cli_opt opts[] = {{"note", &note, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  int64_t id;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet card lend|return|lost|revoke CARD-ID [--note TEXT]");
  jk_err e = parse_card_id(pos[0], &id);
  if (e) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, NULL, NULL, NULL, &op);
  if (rc) return rc;
  e = jk_auth_card_event(op.sess, id, event, note);
  if (!e && !g->json) cli_out("card %lld: %s recorded\n", (long long)id, event);
  if (!e && g->json) cli_json(json_pack("{s:I,s:s}", "card", (json_int_t)id, "event", event));
  return cli_op_end(&op, e);
}

typedef struct list_ctx {
  jk_store *st;
  json_t *arr;
  jk_err err;
} list_ctx;

static int on_card(const jk_card_rec *c, void *payload) {
  list_ctx *x = payload;
  jk_operator_rec op;
  if ((x->err = jk_store_operator_get(x->st, c->operator_id, NULL, &op))) return 1;
  if (x->arr)
    json_array_append_new(x->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "card", (json_int_t)c->id, "holder",
                                            op.staff_id, "status", c->status, "token", c->label, "serial", c->serial,
                                            "enrolled_at", c->enrolled_at, "status_at", c->status_at));
  else
    printf("%-6lld %-12s %-9s %-20s %s\n", (long long)c->id, op.staff_id, jk_tr(c->status), c->label, c->status_at);
  return 0;
}

static int on_event(const jk_card_event_rec *ev, void *payload) {
  list_ctx *x = payload;
  if (x->arr)
    json_array_append_new(x->arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)ev->id, "card",
                                            (json_int_t)ev->card_id, "event", ev->event, "holder", ev->holder, "by",
                                            ev->by, "at", ev->at, "note", ev->note));
  else
    printf("%s  card %-5lld %-8s holder %-12s by %-12s %s\n", ev->at, (long long)ev->card_id, jk_tr(ev->event),
           ev->holder, ev->by, ev->note);
  return 0;
}

static int card_list(int argc, char **argv, cli_global *g, bool ledger) {
  const char *pos[1];
  int npos;
  int64_t id = 0;
  if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  jk_err e;
  if (npos && (e = parse_card_id(pos[0], &id))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "card.list", npos ? pos[0] : "-", NULL, &op);
  if (rc) return rc;
  list_ctx c = {jk_node_store(op.node), g->json ? json_array() : NULL, JK_OK};
  if (ledger) e = jk_store_card_event_each(c.st, id, on_event, &c);
  else e = jk_store_card_each(c.st, 0, on_card, &c);
  if (!e) e = c.err;
  if (!e && c.arr) cli_json(c.arr);
  else json_decref(c.arr);
  return cli_op_end(&op, e);
}

int cmd_card(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet card enrol|list|ledger|lend|return|lost|revoke|replace");
  const char *v = argv[0];
  argc--;
  argv++;
  if (strcmp(v, "enrol") == 0 || strcmp(v, "enroll") == 0) return card_enrol(argc, argv, g, false);
  if (strcmp(v, "replace") == 0) return card_enrol(argc, argv, g, true);
  if (strcmp(v, "list") == 0) return card_list(argc, argv, g, false);
  if (strcmp(v, "ledger") == 0) return card_list(argc, argv, g, true);
  if (strcmp(v, "lend") == 0 || strcmp(v, "return") == 0 || strcmp(v, "lost") == 0 || strcmp(v, "revoke") == 0)
    return card_event(argc, argv, g, v);
  return cli_usage("unknown verb '%s' for %s", v, "card");
}
