/*
 * cmd_disclose.c — `jukinet resident disclose CODE [--pdf FILE]`: a resident's disclosure (開示,
 * docs/provision.md) at their municipality: their identity record with its whole history (under
 * every code they held), and every provision of it — when, to which agency, for which purpose,
 * which fields — gathered from the prefecture and the nation over the node's mutual TLS
 * (POST /sync/v1/disclose, each tier recording it). A tier that cannot answer is named as such:
 * the letter never passes a missing tier off as "no provision". And the requests for a copy of
 * their 住民票 made at the municipality (who asked, by relation, and what became of it; never the
 * requester's name, a third party's personal data).
 */
#include "cli.h"

#include "jukinet/date.h"
#include "jukinet/https.h"
#include "jukinet/letter.h"
#include "jukinet/node.h"
#include "jukinet/purpose.h"
#include "jukinet/registry.h"
#include "jukinet/rights.h"
#include "jukinet/sync.h"
#include "jukinet/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct history {
  jk_identity v[256];
  size_t n;
  char codes[JK_DISCLOSE_CODES_MAX][16];
  size_t ncodes;
  jk_request_rec copies[64]; /* 住民票の写しの請求, under every code (the newest 64) */
  size_t ncopies;
} history;

static int on_copy(const jk_request_rec *r, void *payload) {
  history *h = payload;
  if (strcmp(r->kind, "copy") != 0) return 0;
  if (h->ncopies == sizeof h->copies / sizeof *h->copies) { /* keep the newest */
    memmove(&h->copies[0], &h->copies[1], sizeof h->copies - sizeof h->copies[0]);
    h->ncopies--;
  }
  h->copies[h->ncopies++] = *r;
  return 0;
}

static jk_err copies_of(jk_store *s, history *h) {
  jk_err e = JK_OK;
  for (size_t i = 0; i < h->ncodes && !e; i++) e = jk_store_request_each(s, h->codes[i], on_copy, h);
  return e;
}

static json_t *copy_json(const jk_request_rec *r) {
  const char *relation, *outcome;
  char filed[11];
  jk_rights_copy_summary(r, &relation, &outcome);
  jk_date_format_iso(r->filed_on, filed);
  return json_pack("{s:I,s:s,s:s,s:s,s:s}", "request", (json_int_t)r->id, "code", r->code, "filed_on", filed,
                   "relation", relation, "outcome", outcome);
}

static int on_version(const jk_identity *r, void *payload) {
  history *h = payload;
  if (h->n < sizeof h->v / sizeof *h->v && jk_identity_copy(&h->v[h->n], r) == JK_OK) h->n++;
  bool seen = false;
  for (size_t i = 0; i < h->ncodes; i++) seen |= strcmp(h->codes[i], r->code) == 0;
  if (!seen && h->ncodes < JK_DISCLOSE_CODES_MAX) snprintf(h->codes[h->ncodes++], sizeof h->codes[0], "%s", r->code);
  return 0;
}

jk_err cli_upstream_post(jk_node *n, const char *path, const char *body, unsigned *status, uint8_t **resp,
                         size_t *len) {
  *status = 0;
  *resp = NULL;
  *len = 0;
  const char *up = jk_node_upstream(n), *url = jk_node_upstream_url(n);
  if (!up || !url) return jk_error_set(JK_ENOTFOUND, "this node sends to no one ([sync] upstream)");
  char cert[4096], ca[4096], crl[4096], uri[1024], full[1024];
  char *pin = NULL;
  size_t pin_len = 0;
  const char *module;
  jk_err e = jk_node_tls_files(n, cert, ca, crl, sizeof cert);
  if (!e) e = jk_node_key_uri(n, uri, sizeof uri, &pin, &pin_len, &module);
  if (e) return e;
  jk_tls_config cfg = {.module = module, .key_uri = uri, .pin = pin, .pin_len = pin_len, .cert_file = cert,
                       .ca_file = ca, .crl_file = access(crl, R_OK) == 0 ? crl : NULL};
  jk_tls *t = NULL;
  jk_https_client *c = NULL;
  e = jk_tls_open(&t, &cfg);
  jk_node_pin_free(pin);
  snprintf(full, sizeof full, "%s%s", url, path);
  if (!e) e = jk_https_client_new(&c, t);
  if (!e) e = jk_https_post(c, full, up, body, strlen(body), "application/json", 20000, status, resp, len);
  jk_https_client_free(c);
  jk_tls_close(t);
  return e;
}

/* The tiers' answers: {"disclosures":[{node, provisions | error}, …]} from the prefecture. */
static jk_err gather(jk_node *n, const history *h, json_t **out) {
  *out = NULL;
  if (!jk_node_upstream(n) || !jk_node_upstream_url(n)) return JK_OK; /* a node on its own: nothing was ever sent */
  json_t *codes = json_array();
  for (size_t i = 0; i < h->ncodes; i++) json_array_append_new(codes, json_string(h->codes[i]));
  json_t *o = json_pack("{s:o}", "codes", codes); /* takes codes */
  char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  unsigned status = 0;
  uint8_t *resp = NULL;
  size_t len = 0;
  jk_err e = body ? cli_upstream_post(n, "/sync/v1/disclose", body, &status, &resp, &len) : jk_error_set(JK_ENOMEM, NULL);
  free(body);
  if (!e && status != 200) e = jk_error_set(JK_EIO, "the prefecture answered %u: %.200s", status, (const char *)resp);
  json_t *a = e ? NULL : json_loadb((const char *)resp, len, 0, NULL);
  jk_free(resp);
  if (!e && !json_is_array(json_object_get(a, "disclosures")))
    e = jk_error_set(JK_EIO, "the prefecture's answer is not a disclosure");
  if (e) {
    json_decref(a);
    return e;
  }
  *out = json_incref(json_object_get(a, "disclosures"));
  json_decref(a);
  return JK_OK;
}

static json_t *version_json(const jk_identity *r) {
  char birth[11], moved[11] = "";
  jk_date_format_iso(r->birth, birth);
  if (jk_date_valid(r->moved_on)) jk_date_format_iso(r->moved_on, moved);
  return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "version", r->version, "code", r->code, "name", r->name,
                   "kana", r->kana, "birth", birth, "sex", jk_sex_name_ja(r->sex), "address", r->address, "reason",
                   jk_move_name_ja(r->reason), "moved_on", moved);
}

static const char *fields_ja(const char *tokens, char *buf, size_t cap) {
  unsigned f = 0;
  buf[0] = '\0';
  if (jk_fields_parse(tokens, strlen(tokens), &f)) return tokens;
  size_t w = 0;
  for (unsigned bit = 1; bit <= JK_FIELD_CHANGE; bit <<= 1)
    if (f & bit) {
      int k = snprintf(buf + w, cap - w, "%s%s", w ? "・" : "", jk_field_name_ja(bit));
      if (k < 0 || (size_t)k >= cap - w) break;
      w += (size_t)k;
    }
  return buf;
}

/* The first at most max bytes of s, cut at a character boundary (a letter refuses broken
 * UTF-8), with "…" when cut. */
static void clip(char *out, size_t cap, const char *s, size_t max) {
  size_t n = strlen(s);
  if (n <= max) {
    snprintf(out, cap, "%s", s);
    return;
  }
  snprintf(out, cap, "%.*s…", (int)jk_utf8_valid_prefix(s, max), s);
}

/* "2026-11-24T03:06:47.9Z" (UTC) → "令和8年11月24日 12:06" (Japan time). */
static void when_jst(const char *iso, char *out, size_t cap) {
  int y, mo, d, h, mi;
  snprintf(out, cap, "%s", iso ? iso : "");
  if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5) return;
  jk_date day = {y, mo, d};
  if (!jk_date_valid(day)) return;
  h += 9;
  if (h >= 24) {
    h -= 24;
    day = jk_date_from_days(jk_date_to_days(day) + 1);
  }
  char w[JK_DATE_TEXT_MAX];
  jk_date_format_wareki(day, w);
  snprintf(out, cap, "%s %02d:%02d", w, h, mi);
}

/* The letter: the record and its history, then the provisions, then which tiers answered. */
static jk_err letter(jk_node *n, const history *h, json_t *tiers, const char *pdf) {
  jk_letter *l = NULL;
  jk_err e = jk_letter_new(&l);
  if (e) return e;
  const jk_identity *cur = &h->v[h->n - 1];
  char today[JK_DATE_TEXT_MAX], to[JK_NAME_MAX + 8], from[300];
  jk_date_format_wareki(jk_date_today(), today);
  snprintf(to, sizeof to, "%s 様", cur->name);
  snprintf(from, sizeof from, "%s長", jk_node_name(n));
  e = jk_letter_header(l, today, to, from);
  if (!e) e = jk_letter_title(l, "本人確認情報の開示について");
  if (!e)
    e = jk_letter_para(l, "あなたの本人確認情報と、その異動の履歴、及び国の機関等への本人確認情報の提供の記録を、"
                          "次のとおり開示します。");
  if (!e) e = jk_letter_heading(l, "本人確認情報と異動の履歴");
  const char *vh[] = {"版", "異動日", "異動事由", "住民票コード", "氏名", "住所"};
  char (*cells)[6][400] = calloc(h->n, sizeof *cells);
  const char *(*cp)[6] = calloc(h->n, sizeof *cp);
  if (!e && (!cells || !cp)) e = jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; !e && i < h->n; i++) {
    const jk_identity *r = &h->v[i];
    snprintf(cells[i][0], 400, "%d", r->version);
    if (jk_date_valid(r->moved_on)) jk_date_format_wareki(r->moved_on, cells[i][1]);
    snprintf(cells[i][2], 400, "%s", jk_move_name_ja(r->reason));
    snprintf(cells[i][3], 400, "%s", r->code);
    snprintf(cells[i][4], 400, "%s", r->name);
    snprintf(cells[i][5], 400, "%s", r->address);
    for (int k = 0; k < 6; k++) cp[i][k] = cells[i][k];
  }
  if (!e) e = jk_letter_table(l, 6, vh, &cp[0][0], h->n);
  free(cells);
  free(cp);
  /* provisions, from every tier that answered */
  size_t np = 0;
  json_t *t;
  size_t ti;
  json_array_foreach(tiers, ti, t) np += json_array_size(json_object_get(t, "provisions"));
  if (!e) e = jk_letter_heading(l, "本人確認情報の提供の記録");
  const char *ph[] = {"提供日時", "提供先", "利用事務", "提供した情報", "記録した機関"};
  char (*pc)[5][400] = np ? calloc(np, sizeof *pc) : NULL;
  const char *(*pp)[5] = np ? calloc(np, sizeof *pp) : NULL;
  if (!e && np && (!pc || !pp)) e = jk_error_set(JK_ENOMEM, NULL);
  const jk_purposes *table = NULL;
  if (!e) e = jk_purposes_builtin(&table);
  size_t k = 0;
  json_array_foreach(tiers, ti, t) {
    json_t *p;
    size_t pi;
    json_array_foreach(json_object_get(t, "provisions"), pi, p) {
      if (e || k >= np) break;
      const char *agency = json_string_value(json_object_get(p, "agency_name"));
      const char *purpose = json_string_value(json_object_get(p, "purpose"));
      const jk_purpose *row = purpose ? jk_purposes_find(table, purpose) : NULL;
      char f[200];
      const char *tier = json_string_value(json_object_get(t, "name"));
      char affair[320];
      clip(affair, sizeof affair, row ? row->affair : "", 240);
      when_jst(json_string_value(json_object_get(p, "at")), pc[k][0], 400);
      snprintf(pc[k][1], 400, "%s", agency && *agency ? agency : json_string_value(json_object_get(p, "agency")));
      snprintf(pc[k][2], 400, "%s %s", purpose ? purpose : "", affair);
      const char *result = json_string_value(json_object_get(p, "result"));
      if (result && strcmp(result, "REVIEW") == 0)
        snprintf(pc[k][3], 400, "提供せず（支援措置により保留し、市町村の確認に回付）");
      else if (result && strcmp(result, "STOPPED") == 0)
        snprintf(pc[k][3], 400, "提供せず（目的外利用の中止請求により）");
      else if (result && strcmp(result, "ok") != 0)
        snprintf(pc[k][3], 400, "提供せず（%s）", result);
      else
        snprintf(pc[k][3], 400, "%s", fields_ja(json_string_value(json_object_get(p, "fields")), f, sizeof f));
      snprintf(pc[k][4], 400, "%s", tier && *tier ? tier : json_string_value(json_object_get(t, "node")));
      for (int c = 0; c < 5; c++) pp[k][c] = pc[k][c];
      k++;
    }
  }
  if (!e && k) e = jk_letter_table(l, 5, ph, &pp[0][0], k);
  else if (!e) e = jk_letter_para(l, "提供の記録はありません。");
  free(pc);
  free(pp);
  /* copies of the 住民票 asked for at the municipality */
  if (!e) e = jk_letter_heading(l, "住民票の写しの交付の請求");
  if (!e && h->ncopies) {
    const char *chd[] = {"請求日", "請求者", "結果"};
    char cd[64][JK_DATE_TEXT_MAX];
    const char *cc[64][3];
    for (size_t i = 0; i < h->ncopies; i++) {
      jk_date_format_wareki(h->copies[i].filed_on, cd[i]);
      cc[i][0] = cd[i];
      jk_rights_copy_summary(&h->copies[i], &cc[i][1], &cc[i][2]);
    }
    e = jk_letter_table(l, 3, chd, &cc[0][0], h->ncopies);
  } else if (!e) {
    e = jk_letter_para(l, "請求の記録はありません。");
  }
  /* which tiers were asked */
  json_array_foreach(tiers, ti, t) {
    const char *err = json_string_value(json_object_get(t, "error"));
    if (e || !err) continue;
    char para[600];
    char why[420];
    clip(why, sizeof why, err, 400);
    snprintf(para, sizeof para, "注: %s からは記録を得られませんでした（%s）。後日改めて開示します。",
             json_string_value(json_object_get(t, "node")), why);
    e = jk_letter_para(l, para);
  }
  char *text = NULL;
  if (!e && pdf) e = jk_letter_pdf(l, pdf);
  if (!e && !pdf && !(e = jk_letter_text(l, &text, NULL))) cli_out("%s", text);
  jk_free(text);
  jk_letter_free(l);
  return e;
}

int cmd_disclose(int argc, char **argv, cli_global *g) {
  const char *pdf = NULL;
  const cli_opt opts[] = {{"pdf", &pdf, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet resident disclose CODE [--pdf FILE]");
  char code[64];
  jk_err e;
  if ((e = cli_fold_digits(pos[0], code, sizeof code))) return cli_fail(e);
  cli_op op;
  int rc = cli_op_begin(g, "resident.disclose", code, NULL, &op);
  if (rc) return rc;
  history *h = calloc(1, sizeof *h);
  json_t *tiers = NULL;
  if (!h) e = jk_error_set(JK_ENOMEM, NULL);
  else if (jk_node_role(op.node) != JK_ROLE_MUNICIPAL)
    e = jk_error_set(JK_EPERM, "a disclosure is made by the resident's municipality, not at this node");
  if (!e) e = jk_registry_history(jk_node_store(op.node), code, on_version, h);
  if (!e && h->n == 0) e = jk_error_set(JK_ENOTFOUND, "no resident with code %s", code);
  if (!e) e = copies_of(jk_node_store(op.node), h);
  if (!e) e = gather(op.node, h, &tiers);
  if (!tiers) tiers = json_array();
  if (!e && g->json) {
    json_t *hist = json_array(), *copies = json_array();
    for (size_t i = 0; i < h->n; i++) json_array_append_new(hist, version_json(&h->v[i]));
    for (size_t i = 0; i < h->ncopies; i++) json_array_append_new(copies, copy_json(&h->copies[i]));
    cli_json(json_pack("{s:o,s:o,s:O,s:o}", "resident", version_json(&h->v[h->n - 1]), "history", hist, "tiers", tiers,
                       "copies", copies));
  } else if (!e) {
    e = letter(op.node, h, tiers, pdf);
    if (!e && pdf) cli_out("disclosure of %s written to %s\n", code, pdf);
  }
  json_decref(tiers);
  for (size_t i = 0; h && i < h->n; i++) jk_identity_clear(&h->v[i]);
  free(h);
  return cli_op_end(&op, e);
}
