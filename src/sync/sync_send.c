/*
 * sync_send.c — the sending side of sync v1: batches of the notices the next node up has not
 * acknowledged, per source, with inclusion proofs against a signed outbox head of that source
 * and this node's signed ledger head (docs/protocol.md "Batches", "Receipts").
 *
 * Proofs: the batch's notices are a run of consecutive leaves, so jk_merkle_range_proofs makes
 * all their proofs in one pass from the frontier of the leaves before the run (kept in memory
 * per source, and saved as cached subtrees so a restart loads it in O(log n)). A municipality
 * signs one outbox head per batch, of exactly the batch's last seq; a prefecture forwards with
 * the municipality's head as it came, which its own copy of the notices must reproduce.
 */
#include "sync_int.h"

#include <jansson.h>
#include <string.h>

typedef struct src_frontier {
  char source[JK_NODE_ID_MAX + 1];
  jk_merkle_frontier f; /* at the acknowledged position; f.size = highest_seq acked */
  bool valid;
} src_frontier;

/* A batch sent and not answered yet. */
typedef struct flight {
  bool probe;
  char source[JK_NODE_ID_MAX + 1];
  uint64_t first, count;  /* seq first .. first+count-1 */
  jk_merkle_frontier end; /* the source's frontier after its last notice (the next batch's start,
                             and the acknowledged frontier once its receipt comes) */
  int64_t ledger_size;    /* the ledger head it carries (the receipt must countersign it) */
  uint8_t ledger_root[32];
} flight;

struct jk_sync_sender {
  jk_sync_ctx ctx;
  char node_id[JK_NODE_ID_MAX + 1];
  char upstream[JK_NODE_ID_MAX + 1];
  uint8_t up_pk[32];
  src_frontier *fr;
  size_t nfr, capfr;
  char last_source[JK_NODE_ID_MAX + 1]; /* round robin between sources */
  char probed[JK_NODE_ID_MAX + 1]; /* jk_sync_sender_probe: the last source asked about */
  flight fl[JK_SYNC_WINDOW];       /* in flight, oldest first: the receiver answers in this order */
  size_t nfl;
};

jk_err jk_sync_sender_new(jk_sync_sender **out, const jk_sync_ctx *ctx, const char *upstream,
                          const uint8_t upstream_pubkey[32]) {
  *out = NULL;
  if (!ctx || !ctx->store || !ctx->ledger || !ctx->node_id || !upstream || !*upstream ||
      strlen(upstream) > JK_NODE_ID_MAX || strlen(ctx->node_id) > JK_NODE_ID_MAX)
    return jk_error_set(JK_EINVAL, "jk_sync_sender_new: bad argument");
  jk_sync_sender *s = jk_calloc(1, sizeof *s);
  if (!s) return jk_error_set(JK_ENOMEM, NULL);
  s->ctx = *ctx;
  snprintf(s->node_id, sizeof s->node_id, "%s", ctx->node_id);
  s->ctx.node_id = s->node_id;
  snprintf(s->upstream, sizeof s->upstream, "%s", upstream);
  memcpy(s->up_pk, upstream_pubkey, 32);
  *out = s;
  return JK_OK;
}

void jk_sync_sender_free(jk_sync_sender *s) {
  if (!s) return;
  jk_free(s->fr);
  jk_free(s);
}

static src_frontier *frontier_of(jk_sync_sender *s, const char *source) {
  for (size_t i = 0; i < s->nfr; i++)
    if (strcmp(s->fr[i].source, source) == 0) return &s->fr[i];
  if (s->nfr == s->capfr) {
    size_t cap = s->capfr ? s->capfr * 2 : 8;
    src_frontier *p = jk_realloc(s->fr, cap * sizeof *p);
    if (!p) return NULL;
    s->fr = p;
    s->capfr = cap;
  }
  src_frontier *f = &s->fr[s->nfr++];
  memset(f, 0, sizeof *f);
  snprintf(f->source, sizeof f->source, "%s", source);
  return f;
}

/* The highest seq of `source` the upstream acknowledged (0 = none). */
static jk_err acked_of(jk_sync_sender *s, const char *source, int64_t *out) {
  jk_receipt_row r;
  jk_err e = jk_store_receipt_get(s->ctx.store, s->upstream, source, &r);
  if (e == JK_ENOTFOUND) {
    *out = 0;
    return JK_OK;
  }
  if (!e) *out = r.highest_seq;
  return e;
}

/* Where the next batch of `source` starts after: the end of its last batch in flight, else the
 * acknowledged position. */
static const flight *last_flight(const jk_sync_sender *s, const char *source) {
  for (size_t i = s->nfl; i-- > 0;)
    if (!s->fl[i].probe && strcmp(s->fl[i].source, source) == 0) return &s->fl[i];
  return NULL;
}

typedef struct pending_scan {
  jk_sync_sender *s;
  char pick[JK_NODE_ID_MAX + 1], first_pick[JK_NODE_ID_MAX + 1];
  int64_t pick_size, pick_acked, first_size, first_acked;
  int64_t total;
  jk_err e;
} pending_scan;

static int scan_source(const char *source, int64_t size, void *payload) {
  pending_scan *p = payload;
  int64_t acked;
  if ((p->e = acked_of(p->s, source, &acked))) return 1;
  if (size <= acked) return 0;
  p->total += size - acked;
  const flight *fl = last_flight(p->s, source);
  if (fl) acked = (int64_t)(fl->first + fl->count - 1); /* in flight: as good as acknowledged here */
  if (size <= acked) return 0;
  if (!p->first_pick[0]) {
    snprintf(p->first_pick, sizeof p->first_pick, "%s", source);
    p->first_size = size;
    p->first_acked = acked;
  }
  /* the first pending source after the one sent last (round robin) */
  if (!p->pick[0] && strcmp(source, p->s->last_source) > 0) {
    snprintf(p->pick, sizeof p->pick, "%s", source);
    p->pick_size = size;
    p->pick_acked = acked;
  }
  return 0;
}

jk_err jk_sync_pending(const jk_sync_ctx *ctx, const char *upstream, int64_t *out) {
  jk_sync_sender tmp = {.ctx = *ctx};
  snprintf(tmp.upstream, sizeof tmp.upstream, "%s", upstream);
  pending_scan p = {.s = &tmp};
  jk_err e = jk_store_notice_sources(ctx->store, scan_source, &p);
  if (!e) e = p.e;
  if (!e) *out = p.total;
  return e;
}

typedef struct enc_collect {
  jk_buf arena;
  size_t *off, *len;
  size_t n, cap;
  int64_t next;
  jk_err e;
} enc_collect;

static int collect_enc(const jk_notice_row *row, void *payload) {
  enc_collect *c = payload;
  if (row->seq != c->next || c->n == c->cap || !row->enc) {
    c->e = jk_error_set(JK_ECORRUPT, "notice %lld of %s is missing or scrubbed in the notice log", (long long)c->next,
                        row->source);
    return 1;
  }
  c->off[c->n] = c->arena.len;
  c->len[c->n] = row->enc_len;
  if ((c->e = jk_buf_append(&c->arena, row->enc, row->enc_len))) return 1;
  c->n++;
  c->next++;
  return 0;
}

/* Write one ledger entry (and, for the node's own notices, the new outbox head) in one
 * transaction. */
static jk_err record(jk_sync_sender *s, const char *action, const char *object, const jk_sync_head_row *own_head,
                     const jk_receipt_row *receipt, const jk_merkle_frontier *f, const char *f_source) {
  jk_err e = jk_store_begin(s->ctx.store);
  if (e) return e;
  if (own_head) e = jk_store_outbox_head_put(s->ctx.store, own_head);
  if (!e && receipt) e = jk_store_receipt_put(s->ctx.store, receipt);
  if (!e && receipt && s->ctx.tier == JK_TIER_PREFECTURAL) /* erasures the nation now holds */
    e = jk__scrub_acknowledged(&s->ctx, receipt->source, receipt->highest_seq);
  if (!e && f) e = jk__notice_frontier_save(s->ctx.store, f_source, f);
  if (!e) e = jk__sync_stage(&s->ctx, action, object, "ok", NULL, 0);
  return jk__sync_end(&s->ctx, e);
}

/* The sender's part of a batch: its latest signed ledger head and the consistency proof from
 * the head the receiver will have countersigned last when it reaches this batch (that of the
 * batch before it in flight, else of the last receipt); then the encoding. */
static jk_err seal(jk_sync_sender *s, jk_batch *bt, uint8_t **body, size_t *len) {
  jk_err e = jk_store_ledger_head_latest(s->ctx.store, &bt->ledger);
  if (e) return e;
  jk_receipt_row last;
  if (s->nfl) {
    last.ledger_size = s->fl[s->nfl - 1].ledger_size;
  } else {
    e = jk_store_receipt_latest(s->ctx.store, s->upstream, &last);
    if (e == JK_ENOTFOUND) last.ledger_size = 0, e = JK_OK;
    if (e) return e;
  }
  bt->ledger_old_size = (uint64_t)last.ledger_size;
  if (last.ledger_size > 0 && last.ledger_size < bt->ledger.size) {
    jk_ledger_consistency *cp = jk_malloc(sizeof *cp);
    if (!cp) return jk_error_set(JK_ENOMEM, NULL);
    e = jk_ledger_consistency_proof(s->ctx.ledger, last.ledger_size, bt->ledger.size, cp);
    if (!e) {
      memcpy(bt->ledger_path, cp->path, cp->path_len * 32);
      bt->ledger_path_len = cp->path_len;
    }
    jk_free(cp);
    if (e) return e;
  }
  return jk_batch_encode(bt, body, len);
}

jk_err jk_sync_sender_next(jk_sync_sender *s, size_t max_notices, uint8_t **body, size_t *len,
                           jk_sync_batch_info *info) {
  *body = NULL;
  *len = 0;
  if (info) memset(info, 0, sizeof *info);
  if (s->nfl == JK_SYNC_WINDOW || (s->nfl && s->fl[0].probe)) return JK_OK; /* the window is full */
  if (max_notices == 0 || max_notices > JK_BATCH_MAX_NOTICES) max_notices = JK_BATCH_MAX_NOTICES;
  pending_scan p = {.s = s};
  jk_err e = jk_store_notice_sources(s->ctx.store, scan_source, &p);
  if (!e) e = p.e;
  if (e) return e;
  if (!p.first_pick[0]) return JK_OK; /* nothing pending */
  const char *source = p.pick[0] ? p.pick : p.first_pick;
  int64_t size = p.pick[0] ? p.pick_size : p.first_size, a = p.pick[0] ? p.pick_acked : p.first_acked;
  int64_t b = size - a > (int64_t)max_notices ? a + (int64_t)max_notices : size;
  bool own = strcmp(source, s->node_id) == 0;
  if (s->nfl) { /* a source's first batch goes alone: the receiver may not know the source yet */
    int64_t acked;
    if ((e = acked_of(s, source, &acked))) return e;
    if (acked == 0) return JK_OK;
  }

  /* the head the proofs lead to: ours of exactly b; or, forwarding, the first head the source
   * signed at or after a + 1 (it signs one per batch): the batch stops there when it can, so
   * that it ends at its head and travels without proofs */
  jk_sync_head_row hr;
  int64_t h = b;
  if (!own) {
    if ((e = jk_store_outbox_head_at_least(s->ctx.store, source, a + 1, &hr))) {
      if (e == JK_ENOTFOUND) e = jk_error_set(JK_ECORRUPT, "no signed outbox head of %s is stored", source);
      return e;
    }
    if (hr.size > size)
      return jk_error_set(JK_ECORRUPT, "the outbox head of %s (size %lld) does not match its %lld notices here", source,
                          (long long)hr.size, (long long)size);
    h = hr.size;
    if (h < b) b = h;
  }
  /* the frontier at a: the end of the batch before in flight, else the acknowledged one */
  const flight *prev = last_flight(s, source);
  const jk_merkle_frontier *start;
  if (prev) {
    start = &prev->end;
  } else {
    src_frontier *sf = frontier_of(s, source);
    if (!sf) return jk_error_set(JK_ENOMEM, NULL);
    if (!sf->valid || sf->f.size != (uint64_t)a) {
      jk__notice_tree t = {s->ctx.store, source};
      jk_merkle_source src = jk__notice_source(&t);
      if ((e = jk_merkle_frontier_load(&sf->f, (uint64_t)a, &src))) return e;
      sf->valid = true;
    }
    start = &sf->f;
  }
  size_t count = (size_t)(b - a), all = (size_t)(h - a);
  /* A batch that ends where its head does is proven whole by the receiver's root check
   * (docs/protocol.md "Batches"): its notices travel without proofs, 60 % fewer bytes. */
  size_t proved = h == b ? 0 : count;
  unsigned depth = jk_merkle_depth((uint64_t)h);
  uint8_t(*leaves)[JK_MERKLE_HASH_LEN] = jk_malloc(all * JK_MERKLE_HASH_LEN);
  uint8_t(*paths)[JK_MERKLE_HASH_LEN] = jk_malloc((count * (depth ? depth : 1)) * JK_MERKLE_HASH_LEN);
  uint8_t *lens = jk_malloc(count);
  jk_batch_item *items = jk_calloc(count, sizeof *items);
  enc_collect ec = {.next = a + 1, .cap = count};
  ec.off = jk_malloc(count * sizeof(size_t));
  ec.len = jk_malloc(count * sizeof(size_t));
  uint8_t root[JK_MERKLE_HASH_LEN];
  jk_batch bt;
  memset(&bt, 0, sizeof bt);
  if (!leaves || !paths || !lens || !items || !ec.off || !ec.len) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  for (size_t i = 0; i < all && !e; i += JK_MERKLE_LEAF_BATCH * 64) {
    size_t n = all - i < JK_MERKLE_LEAF_BATCH * 64 ? all - i : JK_MERKLE_LEAF_BATCH * 64;
    e = jk_store_notice_leaves(s->ctx.store, source, (uint64_t)a + i, n, leaves + i);
  }
  if (e) goto out;
  if ((e = jk_merkle_range_proofs(start, (const uint8_t(*)[JK_MERKLE_HASH_LEN])leaves, all, proved, paths,
                                  depth ? depth : 1, lens, root)))
    goto out;
  flight nf = {.probe = false, .first = (uint64_t)a + 1, .count = count, .end = *start};
  snprintf(nf.source, sizeof nf.source, "%s", source);
  for (size_t i = 0; i < count && !e; i++) e = jk_merkle_frontier_push(&nf.end, leaves[i], 64, NULL, NULL);
  if (e) goto out;
  if (own) {
    memset(&hr, 0, sizeof hr);
    jk_outbox_head oh = {0};
    snprintf(oh.node, sizeof oh.node, "%s", s->node_id);
    oh.size = (uint64_t)b;
    memcpy(oh.root, root, 32);
    char now[32];
    jk_utc_now(now, 0);
    snprintf(oh.at, sizeof oh.at, "%.27s", now);
    if ((e = jk_outbox_head_sign(&oh, &s->ctx.signer))) goto out;
    jk__head_to_row(&hr, &oh);
  } else if (memcmp(root, hr.root, 32) != 0) {
    e = jk_error_set(JK_ECORRUPT, "the notices of %s held here do not match its signed outbox head of size %lld", source,
                     (long long)h);
    goto out;
  }
  if ((e = jk_store_notice_each(s->ctx.store, source, a + 1, b, collect_enc, &ec)) || (e = ec.e)) goto out;
  if (ec.n != count) {
    e = jk_error_set(JK_ECORRUPT, "notices %lld-%lld of %s: %zu found", (long long)a + 1, (long long)b, source, ec.n);
    goto out;
  }
  /* the ledger entry first, so that the ledger head this batch carries includes it */
  char object[256];
  snprintf(object, sizeof object, "%s %lld-%lld > %s", source, (long long)a + 1, (long long)b, s->upstream);
  if ((e = record(s, "sync.send", object, own ? &hr : NULL, NULL, NULL, NULL))) goto out;

  snprintf(bt.sender, sizeof bt.sender, "%s", s->node_id);
  snprintf(bt.receiver, sizeof bt.receiver, "%s", s->upstream);
  snprintf(bt.source, sizeof bt.source, "%s", source);
  bt.first_seq = (uint64_t)a + 1;
  bt.count = count;
  jk__head_from_row(&bt.outbox, &hr);
  for (size_t i = 0; i < count; i++) {
    items[i].enc = (const uint8_t *)ec.arena.data + ec.off[i];
    items[i].enc_len = ec.len[i];
    items[i].path = (const uint8_t(*)[JK_MERKLE_HASH_LEN])paths[i * (depth ? depth : 1)];
    items[i].path_len = i < proved ? lens[i] : 0;
  }
  bt.items = items;
  if ((e = seal(s, &bt, body, len))) goto out;
  snprintf(s->last_source, sizeof s->last_source, "%s", source);
  nf.ledger_size = bt.ledger.size;
  memcpy(nf.ledger_root, bt.ledger.root, 32);
  s->fl[s->nfl++] = nf;
  if (info) {
    snprintf(info->source, sizeof info->source, "%s", source);
    info->first_seq = nf.first;
    info->count = count;
  }
out:
  jk_free(leaves);
  jk_free(paths);
  jk_free(lens);
  jk_free(items);
  jk_free(ec.off);
  jk_free(ec.len);
  jk_buf_free(&ec.arena);
  return e;
}

typedef struct probe_scan {
  jk_sync_sender *s;
  char pick[JK_NODE_ID_MAX + 1];
  int64_t acked;
  jk_err e;
} probe_scan;

static int probe_source(const char *source, int64_t size, void *payload) {
  probe_scan *p = payload;
  (void)size;
  if (strcmp(source, p->s->probed) <= 0) return 0;
  int64_t acked;
  if ((p->e = acked_of(p->s, source, &acked))) return 1;
  if (acked == 0) return 0; /* nothing acknowledged: nothing the receiver could have lost */
  snprintf(p->pick, sizeof p->pick, "%s", source);
  p->acked = acked;
  return 1;
}

jk_err jk_sync_sender_probe(jk_sync_sender *s, bool restart, uint8_t **body, size_t *len, jk_sync_batch_info *info) {
  *body = NULL;
  *len = 0;
  if (info) memset(info, 0, sizeof *info);
  s->nfl = 0; /* whatever was in flight is forgotten: the probe's receipt says where to go on */
  if (restart) s->probed[0] = '\0';
  probe_scan p = {.s = s};
  jk_err e = jk_store_notice_sources(s->ctx.store, probe_source, &p);
  if (!e) e = p.e;
  if (e || !p.pick[0]) return e; /* every source asked */
  snprintf(s->probed, sizeof s->probed, "%s", p.pick);
  jk_sync_head_row hr;
  if ((e = jk_store_outbox_head_latest(s->ctx.store, p.pick, &hr))) {
    if (e == JK_ENOTFOUND) e = jk_error_set(JK_ECORRUPT, "no signed outbox head of %s is stored", p.pick);
    return e;
  }
  char object[256];
  snprintf(object, sizeof object, "%s %lld? > %s", p.pick, (long long)p.acked, s->upstream);
  if ((e = record(s, "sync.probe", object, NULL, NULL, NULL, NULL))) return e;
  jk_batch bt;
  memset(&bt, 0, sizeof bt);
  snprintf(bt.sender, sizeof bt.sender, "%s", s->node_id);
  snprintf(bt.receiver, sizeof bt.receiver, "%s", s->upstream);
  snprintf(bt.source, sizeof bt.source, "%s", p.pick);
  jk__head_from_row(&bt.outbox, &hr);
  if ((e = seal(s, &bt, body, len))) return e;
  flight *f = &s->fl[s->nfl++];
  memset(f, 0, sizeof *f);
  f->probe = true;
  snprintf(f->source, sizeof f->source, "%s", p.pick);
  f->first = (uint64_t)p.acked + 1;
  f->ledger_size = bt.ledger.size;
  memcpy(f->ledger_root, bt.ledger.root, 32);
  if (info) {
    snprintf(info->source, sizeof info->source, "%s", p.pick);
    info->first_seq = f->first;
  }
  return JK_OK;
}

static jk_err err_of_name(const char *name) {
#define JK__BY_NAME(c, v, n, en, ja) \
  if (strcmp(name, n) == 0) return c;
  JK_ERR_MAP(JK__BY_NAME)
#undef JK__BY_NAME
  return JK_EIO;
}

/* A JSON error answer → its code and message as this thread's error. */
static jk_err json_error(unsigned status, const uint8_t *body, size_t len, bool *unknown_source) {
  json_error_t je;
  json_t *j = body && len ? json_loadb((const char *)body, len, 0, &je) : NULL;
  const char *code = NULL, *msg = NULL;
  if (j) json_unpack(j, "{s:{s?s,s?s}}", "error", "code", &code, "message", &msg);
  jk_err e;
  if (code && strcmp(code, "UNKNOWN_SOURCE") == 0) {
    *unknown_source = true;
    e = JK_ENOTFOUND;
  } else {
    e = code ? err_of_name(code) : status >= 500 ? JK_EIO : JK_EINVAL;
    if (e == JK_OK) e = JK_EIO;
  }
  jk_error_set(e, "upstream answered %u %s: %s", status, code ? code : "-", msg ? msg : "(no message)");
  json_decref(j);
  return e;
}

size_t jk_sync_sender_inflight(const jk_sync_sender *s) { return s->nfl; }

void jk_sync_sender_forget(jk_sync_sender *s) { s->nfl = 0; }

/* The answer to the oldest batch in flight (fl, already taken off the list). */
static jk_err take_reply(jk_sync_sender *s, const flight *fl, unsigned status, const char *content_type,
                         const uint8_t *body, size_t len) {
  bool octet = content_type && strncmp(content_type, JK__SYNC_OCTET, strlen(JK__SYNC_OCTET)) == 0;
  if (!((status == 200 || status == 409) && octet)) {
    bool unknown = false;
    return json_error(status, body, len, &unknown);
  }
  jk_receipt r;
  jk_err e = jk_receipt_decode(&r, body, len);
  if (e) return jk_error_prefix("upstream's receipt: ");
  if (!jk_receipt_verify(&r, s->up_pk))
    return jk_error_set(JK_ECRYPTO, "the receipt's signature does not verify with %s's key", s->upstream);
  if (strcmp(r.receiver, s->upstream) != 0 || strcmp(r.sender, s->node_id) != 0 || strcmp(r.source, fl->source) != 0)
    return jk_error_set(JK_ECORRUPT, "the receipt is for %s → %s (source %s), not this batch", r.sender, r.receiver,
                        r.source);
  int64_t size;
  if ((e = jk_store_notice_size(s->ctx.store, fl->source, &size))) return e;
  if ((int64_t)r.highest_seq > size)
    return jk_error_set(JK_ECORRUPT, "the receipt acknowledges notice %llu of %s; only %lld exist",
                        (unsigned long long)r.highest_seq, fl->source, (long long)size);
  jk_receipt_row row;
  jk__receipt_to_row(&row, &r);
  char object[256];
  snprintf(object, sizeof object, "%s %llu < %s", fl->source, (unsigned long long)r.highest_seq, s->upstream);
  src_frontier *sf = frontier_of(s, fl->source);
  if (status == 409) {
    if (sf) sf->valid = false; /* resume from wherever the receiver is */
    if ((e = record(s, "sync.resync", object, NULL, &row, NULL, NULL))) return e;
    return jk_error_set(JK_ECONFLICT, "%s asked to resume %s after notice %llu", s->upstream, fl->source,
                        (unsigned long long)r.highest_seq);
  }
  if (r.ledger_size != (uint64_t)fl->ledger_size || memcmp(r.ledger_root, fl->ledger_root, 32) != 0)
    return jk_error_set(JK_ECORRUPT, "the receipt countersigns a ledger head (size %llu) this batch did not carry",
                        (unsigned long long)r.ledger_size);
  if (fl->probe && r.highest_seq + 1 < fl->first) {
    /* the receiver holds less than it acknowledged (restored from a backup, or failed over to
     * a replica that lagged): take its word and send again from there */
    if (sf) sf->valid = false;
    if ((e = record(s, "sync.resync", object, NULL, &row, NULL, NULL))) return e;
    return jk_error_set(JK_ECONFLICT, "%s holds the notices of %s only up to %llu, not %llu as it acknowledged: "
                        "sending them again", s->upstream, fl->source, (unsigned long long)r.highest_seq,
                        (unsigned long long)(fl->first - 1));
  }
  if (r.highest_seq < fl->first + fl->count - 1)
    return jk_error_set(JK_ECORRUPT, "the receipt acknowledges %s up to %llu only; the batch ended at %llu", fl->source,
                        (unsigned long long)r.highest_seq, (unsigned long long)(fl->first + fl->count - 1));
  /* the acknowledged frontier moves to the batch's end, saved with the receipt */
  bool advance =
      sf && sf->valid && fl->count && sf->f.size + 1 == fl->first && r.highest_seq == fl->first + fl->count - 1;
  if (!advance && sf && fl->count) sf->valid = false;
  if ((e = record(s, "sync.receipt", object, NULL, &row, advance ? &fl->end : NULL, fl->source))) return e;
  if (advance) sf->f = fl->end;
  return JK_OK;
}

jk_err jk_sync_sender_reply(jk_sync_sender *s, unsigned status, const char *content_type, const uint8_t *body,
                            size_t len) {
  if (!s->nfl) return jk_error_set(JK_EINVAL, "no batch in flight");
  flight fl = s->fl[0];
  s->nfl--;
  memmove(&s->fl[0], &s->fl[1], s->nfl * sizeof fl);
  jk_err e = take_reply(s, &fl, status, content_type, body, len);
  /* the batches after it were built on it: whatever their answers, they are not taken */
  if (e) s->nfl = 0;
  return e;
}

jk_err jk_sync_sender_state_behind(jk_sync_sender *s, const uint8_t *body, size_t len, bool *behind) {
  *behind = false;
  json_error_t je;
  json_t *j = body && len ? json_loadb((const char *)body, len, 0, &je) : NULL;
  json_t *src = j ? json_object_get(j, "sources") : NULL;
  if (!json_is_object(src)) {
    json_decref(j);
    return jk_error_set(JK_EINVAL, "upstream's state is not {\"sources\":{…}}");
  }
  const char *id;
  json_t *v;
  jk_err e = JK_OK;
  json_object_foreach(src, id, v) {
    int64_t acked;
    if (!json_is_integer(v) || strlen(id) > JK_NODE_ID_MAX) continue;
    if ((e = acked_of(s, id, &acked))) break;
    if (json_integer_value(v) < acked) *behind = true;
  }
  json_decref(j);
  return e;
}

jk_err jk_sync_sender_source_cert(jk_sync_sender *s, const char *source, char **pem) {
  jk_peer_rec p = {0};
  jk_err e = jk_store_peer_get(s->ctx.store, source, &p);
  if (e == JK_ENOTFOUND) return jk_error_set(JK_ENOTFOUND, "no certificate of %s is stored here", source);
  if (e) return e;
  *pem = p.cert_pem;
  return JK_OK;
}
