/*
 * erasure.c — what an erasure notice (a non-participant's record, docs/provision.md) clears at
 * the tiers above the municipality, besides the holding row (sync_receive.c sets it erased).
 *
 * The content of the erasing municipality's notices about the resident goes too: their
 * encodings are dropped from the notice log, their leaves stay (the Merkle trees and every
 * proof are unchanged). Only that municipality's notices up to the erasure: a later notice
 * (the record sent again after the resident's consent) and other municipalities' notices are
 * theirs to keep or erase.
 *  - The nation scrubs at once.
 *  - A prefecture still has to forward the notices to the nation: it keeps the erasure in
 *    scrub_pending and scrubs when the nation's receipt covers it (jk__scrub_acknowledged, on
 *    the sender's receipt transaction).
 * A restriction notice (支援措置, 目的外利用の中止) replaces the resident's restriction row of that
 * municipality (jk__restrict): the provision service reads it.
 */
#include "sync_int.h"

#include <string.h>

typedef struct upto {
  const char *source;
  int64_t last;
  int64_t *seqs;
  size_t n, cap;
  jk_err e;
} upto;

static int pick_seq(const jk_notice_row *row, void *payload) {
  upto *u = payload;
  if (strcmp(row->source, u->source) != 0 || row->seq > u->last || !row->enc) return 0;
  if (u->n == u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 8;
    int64_t *p = jk_realloc(u->seqs, cap * sizeof *p);
    if (!p) {
      u->e = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    u->seqs = p;
    u->cap = cap;
  }
  u->seqs[u->n++] = row->seq;
  return 0;
}

/* Scrub source's notices about code with seq <= last. */
static jk_err scrub_upto(jk_store *s, const char *source, const char *code, int64_t last) {
  upto u = {.source = source, .last = last};
  jk_err e = jk_store_notice_by_code(s, code, pick_seq, &u);
  if (!e) e = u.e;
  for (size_t i = 0; i < u.n && !e; i++) e = jk_store_notice_scrub_one(s, source, u.seqs[i]);
  jk_free(u.seqs);
  return e;
}

jk_err jk__erase_content(const jk_sync_ctx *ctx, const char *source, int64_t seq, const char *code) {
  if (ctx->tier == JK_TIER_PREFECTURAL) return jk_store_scrub_pending_put(ctx->store, source, seq, code);
  return scrub_upto(ctx->store, source, code, seq);
}

typedef struct pending {
  char source[JK_NODE_ID_MAX + 1];
  char code[JK_RESCODE_LEN + 1];
  int64_t seq;
} pending;

typedef struct pending_list {
  const char *source;
  int64_t highest;
  pending *v;
  size_t n, cap;
  jk_err e;
} pending_list;

static int pick_pending(const char *source, int64_t seq, const char *code, void *payload) {
  pending_list *l = payload;
  if (strcmp(source, l->source) != 0 || seq > l->highest) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    pending *p = jk_realloc(l->v, cap * sizeof *p);
    if (!p) {
      l->e = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    l->v = p;
    l->cap = cap;
  }
  pending *x = &l->v[l->n++];
  snprintf(x->source, sizeof x->source, "%s", source);
  snprintf(x->code, sizeof x->code, "%s", code);
  x->seq = seq;
  return 0;
}

jk_err jk__scrub_acknowledged(const jk_sync_ctx *ctx, const char *source, int64_t highest) {
  pending_list l = {.source = source, .highest = highest};
  jk_err e = jk_store_scrub_pending_each(ctx->store, pick_pending, &l);
  if (!e) e = l.e;
  for (size_t i = 0; i < l.n && !e; i++) {
    e = scrub_upto(ctx->store, l.v[i].source, l.v[i].code, l.v[i].seq);
    if (!e) e = jk_store_scrub_pending_delete(ctx->store, l.v[i].source, l.v[i].seq);
  }
  jk_free(l.v);
  return e;
}

jk_err jk__restrict(const jk_sync_ctx *ctx, const jk_notice *n) {
  jk_restriction_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", n->code);
  snprintf(r.source, sizeof r.source, "%s", n->source);
  r.seq = (int64_t)n->seq;
  r.protect = n->protect;
  r.since = n->moved_on;
  r.until = n->until;
  snprintf(r.purposes, sizeof r.purposes, "%s", n->purposes);
  return jk_store_restriction_put(ctx->store, &r);
}
