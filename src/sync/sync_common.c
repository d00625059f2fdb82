/*
 * sync_common.c — what the outbox, the sender and the receiver share: the notice tree of a
 * source as a Merkle source, ledger entries, answers.
 */
#include "sync_int.h"

#include <jansson.h>
#include <string.h>

static jk_err tree_leaves(uint64_t first, size_t count, uint8_t (*out)[JK_MERKLE_HASH_LEN], void *payload) {
  jk__notice_tree *t = payload;
  return jk_store_notice_leaves(t->s, t->source, first, count, out);
}

static jk_err tree_subtree(unsigned level, uint64_t index, uint8_t out[JK_MERKLE_HASH_LEN], void *payload) {
  jk__notice_tree *t = payload;
  return jk_store_notice_subtree_get(t->s, t->source, level, index, out);
}

jk_merkle_source jk__notice_source(jk__notice_tree *t) {
  return (jk_merkle_source){.leaves = tree_leaves, .subtree = tree_subtree, .payload = t};
}

jk_err jk__notice_frontier_save(jk_store *s, const char *source, const jk_merkle_frontier *f) {
  /* the block of bit l starts after those of the higher bits (as jk_merkle_frontier_load reads them) */
  for (uint64_t bits = f->size; bits; bits &= bits - 1) {
    unsigned l = (unsigned)__builtin_ctzll(bits);
    if (l == 0) continue; /* a single leaf is read from the log itself */
    uint64_t first = f->size - (f->size & ((UINT64_C(2) << l) - 1));
    jk_err e = jk_store_notice_subtree_put(s, source, l, first >> l, f->stack[l]);
    if (e) return e;
  }
  return JK_OK;
}

jk_err jk__sync_stage(const jk_sync_ctx *ctx, const char *action, const char *object, const char *result,
                      const void *detail, size_t detail_len) {
  jk_ledger_entry en = {.operator_ = "-",
                        .role = "-",
                        .terminal = ctx->terminal ? ctx->terminal : "sync",
                        .action = action,
                        .object = object,
                        .result = result ? result : "ok",
                        .detail = detail,
                        .detail_len = detail_len};
  return jk_ledger_stage(ctx->ledger, &en);
}

jk_err jk__sync_end(const jk_sync_ctx *ctx, jk_err e) {
  if (e) {
    jk_store_rollback(ctx->store);
    jk_ledger_discard(ctx->ledger);
    return e;
  }
  if ((e = jk_store_commit(ctx->store))) jk_ledger_discard(ctx->ledger);
  return e;
}

unsigned jk__sync_status_of(jk_err e) {
  switch (e) {
  case JK_OK: return 200;
  case JK_EINVAL: return 400;
  case JK_EPERM:
  case JK_EAUTH: return 403;
  case JK_ENOTFOUND:
  case JK_ECONFLICT:
  case JK_EEXISTS: return 409;
  case JK_ETOOLARGE: return 413;
  case JK_ECORRUPT:
  case JK_ECRYPTO: return 422;
  case JK_EBUSY:
  case JK_EDISCONNECTED:
  case JK_EIO: return 503;
  default: return 500;
  }
}

void jk__sync_answer_json(jk_sync_answer *a, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  size_t n = s ? strlen(s) : 0;
  a->body = s ? jk_malloc(n) : NULL;
  if (!a->body) {
    free(s);
    jk__sync_answer_error(a, 500, jk_error_set(JK_ENOMEM, NULL), NULL);
    return;
  }
  memcpy(a->body, s, n);
  free(s);
  a->body_len = n;
  a->status = 200;
  a->content_type = JK__SYNC_JSON;
  a->err = JK_OK;
}

void jk__sync_answer_error(jk_sync_answer *a, unsigned status, jk_err e, const char *code_override) {
  jk_free(a->body);
  a->body = NULL;
  a->body_len = 0;
  a->err = e;
  a->status = status ? status : jk__sync_status_of(e);
  a->content_type = JK__SYNC_JSON;
  const char *msg = jk_error_last();
  json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code_override ? code_override : jk_err_name(e), "message",
                        msg && *msg ? msg : jk_err_str(e));
  char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (txt) {
    size_t n = strlen(txt);
    a->body = jk_malloc(n);
    if (a->body) {
      memcpy(a->body, txt, n);
      a->body_len = n;
    }
    free(txt);
  }
}

void jk__head_from_row(jk_outbox_head *h, const jk_sync_head_row *r) {
  memset(h, 0, sizeof *h);
  snprintf(h->node, sizeof h->node, "%s", r->node);
  h->size = (uint64_t)r->size;
  memcpy(h->root, r->root, 32);
  snprintf(h->at, sizeof h->at, "%.27s", r->at);
  memcpy(h->sig, r->sig, 64);
}

void jk__head_to_row(jk_sync_head_row *r, const jk_outbox_head *h) {
  memset(r, 0, sizeof *r);
  snprintf(r->node, sizeof r->node, "%s", h->node);
  r->size = (int64_t)h->size;
  memcpy(r->root, h->root, 32);
  snprintf(r->at, sizeof r->at, "%s", h->at);
  memcpy(r->sig, h->sig, 64);
}

void jk__receipt_to_row(jk_receipt_row *r, const jk_receipt *w) {
  memset(r, 0, sizeof *r);
  snprintf(r->receiver, sizeof r->receiver, "%s", w->receiver);
  snprintf(r->sender, sizeof r->sender, "%s", w->sender);
  snprintf(r->source, sizeof r->source, "%s", w->source);
  r->highest_seq = (int64_t)w->highest_seq;
  r->ledger_size = (int64_t)w->ledger_size;
  memcpy(r->ledger_root, w->ledger_root, 32);
  snprintf(r->at, sizeof r->at, "%s", w->at);
  memcpy(r->sig, w->sig, 64);
}

void jk__receipt_from_row(jk_receipt *w, const jk_receipt_row *r) {
  memset(w, 0, sizeof *w);
  snprintf(w->receiver, sizeof w->receiver, "%s", r->receiver);
  snprintf(w->sender, sizeof w->sender, "%s", r->sender);
  snprintf(w->source, sizeof w->source, "%s", r->source);
  w->highest_seq = (uint64_t)r->highest_seq;
  w->ledger_size = (uint64_t)r->ledger_size;
  memcpy(w->ledger_root, r->ledger_root, 32);
  snprintf(w->at, sizeof w->at, "%.27s", r->at);
  memcpy(w->sig, r->sig, 64);
}
