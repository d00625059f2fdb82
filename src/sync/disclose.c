/*
 * disclose.c — POST /sync/v1/disclose: a municipality gathers, for its resident's disclosure
 * (開示, docs/provision.md), the provisions of the resident recorded at the tiers above.
 *
 * Only the municipality that holds the resident asks a prefecture (the current record, or the
 * erased one, came from it), and only a prefecture that forwards for that municipality asks
 * the nation (the current record's source is one of its municipalities: same first two digits
 * of the 地方公共団体コード): nobody learns who received another municipality's residents. Every
 * answer and refusal is a ledger entry (provision.disclose).
 *
 * Body: {"codes": ["…", …]} — the resident's codes, 1 .. JK_DISCLOSE_CODES_MAX (a code change
 * leaves several). A retired code is let through as the prev_code of the current record (the
 * holding row keeps the last change only: provisions under a code retired two changes ago are
 * not found here). Answer 200: {"node": this node, "provisions": [{"id","at","agency",
 * "agency_name","purpose","code","fields","result"}, …]} in id order.
 */
#include "sync_int.h"

#include "jukinet/rescode.h"

#include <jansson.h>
#include <string.h>

/* May peer ask about code here? */
static jk_err allowed(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *code) {
  jk_holding_rec cur;
  jk_err e = jk_sync_identity(ctx->store, code, &cur);
  if (e == JK_ENOTFOUND) return jk_error_set(JK_EPERM, "resident code %s is not held here", code);
  if (e) return e;
  if (ctx->tier == JK_TIER_PREFECTURAL) {
    if (strcmp(cur.source, peer->node) != 0)
      return jk_error_set(JK_EPERM, "resident code %s is not a resident of %s", code, peer->node);
    return JK_OK;
  }
  if (strcmp(peer->role, "prefectural") != 0)
    return jk_error_set(JK_EPERM, "the nation answers disclosures to prefectures only");
  jk_peer_rec src;
  if ((e = jk_store_peer_get(ctx->store, cur.source, &src))) return jk_error_set(JK_EPERM, "resident code %s: its municipality is unknown here", code);
  bool same = strncmp(src.lgcode, peer->lgcode, 2) == 0;
  jk_free(src.cert_pem);
  return same ? JK_OK : jk_error_set(JK_EPERM, "resident code %s is not a resident of %s's prefecture", code, peer->node);
}

typedef struct rows {
  json_t *arr;
  jk_store *s;
} rows;

static int on_row(const jk_provision_rec *r, void *payload) {
  rows *x = payload;
  jk_agency_rec a;
  const char *name = jk_store_agency_get(x->s, r->agency, &a) == JK_OK ? a.name : "";
  json_array_append_new(x->arr, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "at", r->at,
                                          "agency", r->agency, "agency_name", name, "purpose", r->purpose, "code",
                                          r->code, "fields", r->fields, "result", r->result));
  return 0;
}

jk_err jk_sync_disclose_parse(const uint8_t *body, size_t len, char codes[][JK_RESCODE_LEN + 1], size_t *n) {
  json_error_t je;
  json_t *o = len <= 4096 ? json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
  json_t *a = json_object_get(o, "codes");
  jk_err e = JK_OK;
  *n = 0;
  if (!o || !json_is_object(o) || json_object_size(o) != 1 || !json_is_array(a) || json_array_size(a) < 1 ||
      json_array_size(a) > JK_DISCLOSE_CODES_MAX)
    e = jk_error_set(JK_EINVAL, "disclose: the body must be {\"codes\": [1 to %d resident codes]}", JK_DISCLOSE_CODES_MAX);
  for (size_t i = 0; !e && i < json_array_size(a); i++) {
    const char *c = json_string_value(json_array_get(a, i));
    if (!c || jk_rescode_validate(c, strlen(c))) e = jk_error_set(JK_EINVAL, "disclose: codes[%zu] is not a resident code", i);
    else snprintf(codes[(*n)++], JK_RESCODE_LEN + 1, "%s", c);
  }
  json_decref(o);
  if (e) *n = 0;
  return e;
}

void jk_sync_disclose(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const uint8_t *body, size_t len,
                      jk_sync_answer *ans) {
  memset(ans, 0, sizeof *ans);
  char codes[JK_DISCLOSE_CODES_MAX][JK_RESCODE_LEN + 1];
  size_t n = 0;
  jk_err e = ctx->tier == JK_TIER_MUNICIPAL ? jk_error_set(JK_EPERM, "a municipal node keeps no provision records")
                                             : jk_sync_disclose_parse(body, len, codes, &n);
  /* a resident is asked about as a whole: every code must be the peer's to ask — a code the
   * resident held before a 住民票コード変更 through the current record's prev_code */
  char prev[JK_RESCODE_LEN + 1] = "";
  for (size_t i = 0; i < n && !e; i++) {
    jk_holding_rec cur;
    if (jk_sync_identity(ctx->store, codes[i], &cur) == JK_OK && cur.prev_code[0])
      snprintf(prev, sizeof prev, "%s", cur.prev_code);
  }
  for (size_t i = 0; i < n && !e; i++)
    if (strcmp(codes[i], prev) != 0) e = allowed(ctx, peer, codes[i]);
  rows x = {.arr = json_array(), .s = ctx->store};
  for (size_t i = 0; i < n && !e; i++) e = jk_store_provision_each(ctx->store, codes[i], on_row, &x);
  jk_err le = jk_store_begin(ctx->store);
  if (!le) le = jk__sync_stage(ctx, "provision.disclose", n ? codes[0] : "-", e ? jk_err_name(e) : "ok", body, len);
  if (!le) le = jk__sync_end(ctx, JK_OK);
  if (!e && le) e = le; /* nothing leaves unrecorded */
  if (e) {
    json_decref(x.arr);
    jk__sync_answer_error(ans, jk__sync_status_of(e), e, NULL);
    ans->err = e;
    return;
  }
  json_t *o = json_pack("{s:s,s:o}", "node", ctx->node_id, "provisions", x.arr); /* takes x.arr */
  jk__sync_answer_json(ans, o);
}
