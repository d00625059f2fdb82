/*
 * sync_receive.c — the receiving side of sync v1 at a prefecture or the nation: verify a batch,
 * apply its new notices in one transaction, answer with a signed cumulative receipt
 * (docs/protocol.md "Verification", "Exactly once", "Receipts").
 */
#include "sync_int.h"

#include "jukinet/pki.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- identity records (holdings) ---- */

/* The rules a notice must pass at the upper tiers (docs/protocol.md "Who may say what"):
 *  - a municipality speaks only of residents it holds: a change for a code it never sent is
 *    refused, unless it is the resident's first version there (a 転入, 出生 or 職権記載 — the
 *    resident is new at that municipality) or a 住民票コード変更 of a code it holds;
 *  - a 出生 cannot take a code another municipality holds on its register;
 *  - versions only move forward.
 * Applied to the batch's view of the rows (holdings.c); written back once per batch. */
/* dst and src are char arrays of the same size (checked at compile time): strlen + 1 bytes. */
#define COPY_FIELD(dst, src)                                                          \
  do {                                                                                \
    _Static_assert(sizeof(dst) == sizeof(src), "the notice and the row agree on " #dst); \
    memcpy((dst), (src), strnlen((src), sizeof(src) - 1) + 1);                        \
    (dst)[sizeof(dst) - 1] = '\0';                                                   \
  } while (0)

static jk_err apply_notice(jk__hview *v, const jk_notice *n) {
  const jk_holding_rec *mine = jk__hview_get(v, n->code, n->source);
  bool have = mine && mine->status != JK_HOLDING_ERASED;

  if (n->kind == JK_NOTICE_RESTRICT) { /* kept apart (restriction table) once the batch is applied */
    if (!have)
      return jk_error_set(JK_EPERM, "notice %llu: restriction of resident code %s, which %s does not hold",
                          (unsigned long long)n->seq, n->code, n->source);
    return JK_OK;
  }
  if (n->kind == JK_NOTICE_ERASE) { /* erasing an erased record again changes nothing but its seq */
    if (!mine)
      return jk_error_set(JK_EPERM, "notice %llu: erasure of resident code %s, which %s does not hold",
                          (unsigned long long)n->seq, n->code, n->source);
    jk_holding_rec er = {0};
    snprintf(er.code, sizeof er.code, "%s", n->code);
    snprintf(er.source, sizeof er.source, "%s", n->source);
    er.seq = (int64_t)n->seq;
    er.version = mine->version;
    er.moved_on = n->moved_on;
    er.status = JK_HOLDING_ERASED;
    return jk__hview_put(v, &er);
  }

  jk_holding_rec r; /* the strings copied with their NULs only: a notice's fields fit the row's */
  memset(&r, 0, offsetof(jk_holding_rec, name));
  COPY_FIELD(r.code, n->code);
  COPY_FIELD(r.source, n->source);
  r.seq = (int64_t)n->seq;
  r.version = n->version;
  COPY_FIELD(r.name, n->name);
  COPY_FIELD(r.kana, n->kana);
  COPY_FIELD(r.address, n->address);
  COPY_FIELD(r.prev_code, n->prev_code);
  r.birth = n->birth;
  r.moved_on = n->moved_on;
  r.sex = n->sex;
  r.reason = (int)n->reason;
  r.status = (int)n->status;

  if (have) {
    if (n->version <= mine->version)
      return jk_error_set(JK_ECONFLICT, "notice %llu: version %d of resident code %s does not follow version %d",
                          (unsigned long long)n->seq, n->version, n->code, mine->version);
    return jk__hview_put(v, &r);
  }
  if (mine) { /* erased here, sent again after the resident's consent: the current version */
    if (n->version < mine->version)
      return jk_error_set(JK_ECONFLICT, "notice %llu: version %d of resident code %s is older than the erased %d",
                          (unsigned long long)n->seq, n->version, n->code, mine->version);
    return jk__hview_put(v, &r);
  }
  if (n->reason == JK_MOVE_CODE_CHANGE && n->prev_code[0]) {
    const jk_holding_rec *prev = jk__hview_get(v, n->prev_code, n->source);
    if (!prev || prev->status == JK_HOLDING_ERASED)
      return jk_error_set(JK_EPERM, "notice %llu: code change from %s, which %s does not hold",
                          (unsigned long long)n->seq, n->prev_code, n->source);
    jk__hview_delete(v, n->prev_code, n->source);
    return jk__hview_put(v, &r);
  }
  jk_holding_rec cur;
  bool known = jk__hview_current(v, n->code, &cur);
  if (n->version != 1) {
    /* whose resident is it, then? name them in the refusal */
    if (known && strcmp(cur.source, n->source) != 0)
      return jk_error_set(JK_EPERM, "notice %llu: resident code %s is a resident of %s, not of %s",
                          (unsigned long long)n->seq, n->code, cur.source, n->source);
    return jk_error_set(JK_EPERM, "notice %llu: %s never registered resident code %s", (unsigned long long)n->seq,
                        n->source, n->code);
  }
  if (n->reason == JK_MOVE_BIRTH && known && cur.status == JK_STATUS_ACTIVE && strcmp(cur.source, n->source) != 0)
    return jk_error_set(JK_EPERM, "notice %llu: a birth with resident code %s, which %s holds",
                        (unsigned long long)n->seq, n->code, cur.source);
  return jk__hview_put(v, &r);
}

static int rank_status(int st) { return st == JK_STATUS_ACTIVE ? 2 : st == JK_STATUS_REMOVED ? 1 : 0; }

bool jk_holding_newer(const jk_holding_rec *a, const jk_holding_rec *b) {
  int c = jk_date_cmp(a->moved_on, b->moved_on);
  if (a->status == JK_HOLDING_ERASED || b->status == JK_HOLDING_ERASED) c = 0; /* an erased row has no date to speak of */
  if (c == 0) c = rank_status(a->status) - rank_status(b->status);
  if (c == 0) c = strcmp(a->source, b->source);
  return c > 0;
}

typedef struct pick_ctx {
  jk_holding_rec best;
  bool have;
} pick_ctx;

static int pick(const jk_holding_rec *r, void *payload) {
  pick_ctx *p = payload;
  if (!p->have || jk_holding_newer(r, &p->best)) {
    p->best = *r;
    p->have = true;
  }
  return 0;
}

jk_err jk_sync_identity(jk_store *s, const char *code, jk_holding_rec *out) {
  pick_ctx p = {.have = false};
  jk_err e = jk_store_holding_each(s, code, NULL, pick, &p);
  if (e) return e;
  if (!p.have) return jk_error_set(JK_ENOTFOUND, "no municipality sent resident code %s", code);
  *out = p.best;
  return JK_OK;
}

/* ---- answers ---- */

/* A refusal of a batch that may be an incident is recorded in the ledger, in its own
 * transaction (the batch's changes were rolled back). */
static void refuse(const jk_sync_ctx *ctx, const jk_sync_peer *peer, jk_sync_answer *ans, jk_err e,
                   const uint8_t *body, size_t len) {
  jk__sync_answer_error(ans, 0, e, NULL);
  char saved[512];
  snprintf(saved, sizeof saved, "%s", jk_error_last());
  if (jk_store_begin(ctx->store) == JK_OK)
    jk__sync_end(ctx, jk__sync_stage(ctx, "sync.refuse", peer->node, jk_err_name(e), body, len));
  jk_error_set(e, "%s", saved);
}

/* A signed receipt: highest_seq of source, the sender's ledger head (size, root). */
static jk_err receipt_answer(const jk_sync_ctx *ctx, const char *sender, const char *source, int64_t highest,
                             int64_t ledger_size, const uint8_t root[32], unsigned status, jk_sync_answer *ans) {
  jk_receipt r = {0};
  snprintf(r.receiver, sizeof r.receiver, "%s", ctx->node_id);
  snprintf(r.sender, sizeof r.sender, "%s", sender);
  snprintf(r.source, sizeof r.source, "%s", source);
  r.highest_seq = (uint64_t)highest;
  r.ledger_size = (uint64_t)ledger_size;
  if (root) memcpy(r.ledger_root, root, 32);
  char now[32];
  jk_utc_now(now, 0);
  snprintf(r.at, sizeof r.at, "%.27s", now);
  jk_err e = jk_receipt_sign(&r, &ctx->signer);
  if (e) return e;
  uint8_t *buf = jk_malloc(JK_RECEIPT_ENCODED_MAX);
  if (!buf) return jk_error_set(JK_ENOMEM, NULL);
  size_t n;
  if ((e = jk_receipt_encode(&r, buf, JK_RECEIPT_ENCODED_MAX, &n))) {
    jk_free(buf);
    return e;
  }
  jk_free(ans->body);
  ans->body = buf;
  ans->body_len = n;
  ans->status = status;
  ans->content_type = JK__SYNC_OCTET;
  return JK_OK;
}

/* ---- who may send for whom ---- */

static jk_err source_key(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *source, uint8_t pk[32]) {
  if (ctx->tier == JK_TIER_MUNICIPAL) return jk_error_set(JK_EPERM, "a municipal node does not accept batches");
  if (ctx->tier == JK_TIER_PREFECTURAL) {
    if (strncmp(peer->lgcode, ctx->lgcode, 2) != 0)
      return jk_error_set(JK_EPERM, "%s (local-government code %s) is not of this prefecture (%.2s)", peer->node,
                          peer->lgcode, ctx->lgcode);
    if (strcmp(peer->role, "municipal") != 0)
      return jk_error_set(JK_EPERM, "%s is a %s node; a prefecture accepts batches from municipalities only", peer->node,
                          peer->role);
    if (strcmp(source, peer->node) != 0)
      return jk_error_set(JK_EPERM, "%s may send its own notices only, not those of %s", peer->node, source);
    memcpy(pk, peer->pubkey, 32);
    return JK_OK;
  }
  /* the nation: from prefectures, for the municipalities of each */
  if (strcmp(peer->role, "prefectural") != 0)
    return jk_error_set(JK_EPERM, "%s is a %s node; the nation accepts batches from prefectures only", peer->node,
                        peer->role);
  jk_peer_rec pr = {0};
  jk_err e = jk_store_peer_get(ctx->store, source, &pr);
  if (e == JK_ENOTFOUND) return jk_error_set(JK_ENOTFOUND, "unknown source %s: send its certificate first", source);
  if (e) return e;
  jk_free(pr.cert_pem);
  if (strcmp(pr.role, "municipal") != 0 || strncmp(pr.lgcode, peer->lgcode, 2) != 0)
    return jk_error_set(JK_EPERM, "%s may not forward the notices of %s (%s, %s)", peer->node, source, pr.role,
                        pr.lgcode);
  memcpy(pk, pr.pubkey, 32);
  return JK_OK;
}

jk_err jk_sync_peer_note(const jk_sync_ctx *ctx, const jk_sync_peer *peer) {
  jk_peer_rec have = {0};
  jk_err e = jk_store_peer_get(ctx->store, peer->node, &have);
  bool same = e == JK_OK && have.cert_pem && peer->cert_pem && strcmp(have.cert_pem, peer->cert_pem) == 0;
  jk_free(have.cert_pem);
  if (e && e != JK_ENOTFOUND) return e;
  if (same) return JK_OK;
  jk_peer_rec p = {0};
  snprintf(p.node, sizeof p.node, "%s", peer->node);
  snprintf(p.lgcode, sizeof p.lgcode, "%s", peer->lgcode);
  snprintf(p.role, sizeof p.role, "%s", peer->role);
  memcpy(p.pubkey, peer->pubkey, 32);
  p.cert_pem = (char *)(uintptr_t)(peer->cert_pem ? peer->cert_pem : "");
  jk_utc_now(p.seen_at, 0);
  return jk_store_peer_put(ctx->store, &p);
}

/* ---- the batch ---- */

/* A sender leaves the inclusion proofs out of a batch it believes whole (docs/protocol.md): an
 * empty path proves nothing in a tree of more than one leaf. */
static bool proofless(const jk_batch *b) {
  for (size_t i = 0; i < b->count && b->outbox.size > 1; i++)
    if (b->items[i].path_len == 0) return true;
  return false;
}

static jk_err apply_batch(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const jk_batch *b, int64_t have,
                          int64_t *highest, const uint8_t *body, size_t len, const uint8_t src_pk[32],
                          const uint8_t sender_pk[32]) {
  /* the source's notice tree as held here, to check that its signed head continues it */
  jk_merkle_frontier f;
  jk__notice_tree t = {ctx->store, b->source};
  jk_merkle_source src = jk__notice_source(&t);
  jk_err e = jk_merkle_frontier_load(&f, (uint64_t)have, &src);
  if (e) return e;
  /* the new notices, decoded; their codes' rows in one read */
  size_t first = 0;
  while (first < b->count && (int64_t)b->items[first].seq <= have) first++; /* re-sent: applied before */
  size_t m = b->count - first;
  const jk_notice *ns = b->notices ? b->notices + first : NULL; /* decoded by jk_batch_decode */
  jk_notice_row *rows = m ? jk_malloc(m * sizeof *rows) : NULL;
  const char **codes = m ? jk_malloc(2 * m * sizeof *codes) : NULL;
  jk__hview *view = NULL;
  size_t nc = 0;
  if (m && !ns) e = jk_error_set(JK_EINVAL, "apply: the batch was not decoded");
  else if (m && (!rows || !codes)) e = jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < m && !e; i++) {
    const jk_batch_item *it = &b->items[first + i];
    rows[i] = (jk_notice_row){.source = b->source, .seq = (int64_t)it->seq, .code = ns[i].code, .enc = it->enc,
                              .enc_len = it->enc_len};
    jk_notice_leaf(it->enc, it->enc_len, rows[i].leaf);
    codes[nc++] = ns[i].code;
    if (ns[i].prev_code[0]) codes[nc++] = ns[i].prev_code;
  }
  if (!e) e = jk_store_begin(ctx->store);
  if (e) {
    jk_free(rows);
    jk_free(codes);
    return e;
  }
  int64_t h = have;
  if (m) e = jk__hview_load(&view, ctx->store, codes, nc);
  for (size_t i = 0; i < m && !e; i++) {
    if ((e = apply_notice(view, &ns[i]))) break;
    if ((e = jk_merkle_frontier_push(&f, rows[i].leaf, 64, NULL, NULL))) break;
    h = rows[i].seq;
  }
  if (!e && m) e = jk_store_notice_append_many(ctx->store, rows, m);
  if (!e && m) e = jk__hview_flush(view, ctx->store);
  for (size_t i = 0; i < m && !e; i++) {
    if (ns[i].kind == JK_NOTICE_ERASE) e = jk__erase_content(ctx, b->source, rows[i].seq, ns[i].code);
    if (ns[i].kind == JK_NOTICE_RESTRICT) e = jk__restrict(ctx, &ns[i]);
  }
  jk__hview_free(view);
  jk_free(rows);
  jk_free(codes);
  if (!e && h > have && (int64_t)b->outbox.size == h) {
    /* the head covers exactly what is held now: its root must be ours, or the source rewrote
     * notices it had sent before (each proof only ties a notice to the head, not the past) */
    uint8_t root[JK_MERKLE_HASH_LEN];
    jk_merkle_frontier_root(&f, root);
    if (memcmp(root, b->outbox.root, 32) != 0) {
      /* a notice altered on the way, or the source's past rewritten: the proofs (when the batch
       * carries them) tell which */
      jk_ledger_ack none = {0};
      e = proofless(b) ? JK_OK : jk_batch_verify_ex(b, src_pk, sender_pk, &none, 0);
      if (e == JK_OK || e == JK_ECONFLICT)
        e = jk_error_set(JK_ECORRUPT, "the outbox head of %s (size %lld) does not extend the %lld notices held here: "
                         "the source rewrote notices it had sent", b->source, (long long)h, (long long)have);
      else if (e != JK_ECORRUPT)
        e = jk_error_set(JK_ECORRUPT, "%s", jk_error_last());
    }
    jk_sync_head_row hr;
    jk__head_to_row(&hr, &b->outbox);
    if (!e) e = jk_store_outbox_head_put(ctx->store, &hr);
  }
  if (!e && h > have) e = jk__notice_frontier_save(ctx->store, b->source, &f);
  char at[32];
  jk_utc_now(at, 0);
  if (!e) e = jk_store_sync_ack_put(ctx->store, b->sender, b->ledger.size, b->ledger.root, at);
  if (!e) e = jk_sync_peer_note(ctx, peer);
  char object[256];
  if (h > have) snprintf(object, sizeof object, "%s %lld-%lld", b->source, (long long)have + 1, (long long)h);
  else snprintf(object, sizeof object, "%s -", b->source);
  if (!e) e = jk__sync_stage(ctx, "sync.apply", object, "ok", body, len);
  if ((e = jk__sync_end(ctx, e))) return e;
  *highest = h;
  return JK_OK;
}

void jk_sync_receive(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const uint8_t *body, size_t len,
                     jk_sync_answer *ans) {
  memset(ans, 0, sizeof *ans);
  jk_batch *b = NULL;
  jk_err e = jk_batch_decode(&b, body, len);
  if (e) {
    refuse(ctx, peer, ans, e, body, len);
    return;
  }
  uint8_t source_pk[32];
  if (strcmp(b->receiver, ctx->node_id) != 0)
    e = jk_error_set(JK_EPERM, "the batch is addressed to %s, not to this node (%s)", b->receiver, ctx->node_id);
  else if (strcmp(b->sender, peer->node) != 0)
    e = jk_error_set(JK_EPERM, "the batch says it is from %s, but the connection is from %s", b->sender, peer->node);
  else
    e = source_key(ctx, peer, b->source, source_pk);
  if (e == JK_ENOTFOUND) {
    jk__sync_answer_error(ans, 409, e, "UNKNOWN_SOURCE");
    goto out;
  }
  if (e) {
    refuse(ctx, peer, ans, e, body, len);
    goto out;
  }
  jk_ledger_ack ack = {0};
  e = jk_store_sync_ack_get(ctx->store, b->sender, (int64_t *)&ack.size, ack.root);
  if (e && e != JK_ENOTFOUND) goto fail;
  if (e == JK_ENOTFOUND) memset(&ack, 0, sizeof ack);
  int64_t have;
  if ((e = jk_store_notice_size(ctx->store, b->source, &have))) goto fail;
  /* A batch that continues exactly where this node is and whose head ends with it is proven
   * whole by the root check in apply_batch: its notices' own proofs need not be hashed too. */
  bool whole = b->count && (int64_t)b->first_seq == have + 1 && b->outbox.size == b->first_seq + b->count - 1;
  /* A proofless batch that is not whole here (the sender missed a receipt, or this node lost
   * notices) cannot be checked: ask for the right one. */
  bool no_proofs = proofless(b);
  e = jk_batch_verify_ex(b, source_pk, peer->pubkey, &ack, whole || no_proofs ? JK_BATCH_VERIFY_NO_PROOFS : 0);
  if (e == JK_ECONFLICT || (e == JK_OK && b->count && ((int64_t)b->first_seq > have + 1 || (no_proofs && !whole)))) {
    /* the sender missed a receipt, or skipped notices: tell it where we are */
    if (e == JK_OK)
      jk_error_set(JK_ECONFLICT, "notices of %s start at %llu (head %llu) but %lld is the last applied here", b->source,
                   (unsigned long long)b->first_seq, (unsigned long long)b->outbox.size, (long long)have);
    char why[512];
    snprintf(why, sizeof why, "%s", jk_error_last());
    if ((e = receipt_answer(ctx, b->sender, b->source, have, (int64_t)ack.size, ack.root, 409, ans))) goto fail;
    ans->err = jk_error_set(JK_ECONFLICT, "%s", why);
    goto out;
  }
  if (e) {
    refuse(ctx, peer, ans, e, body, len);
    goto out;
  }
  int64_t highest = have;
  if ((e = apply_batch(ctx, peer, b, have, &highest, body, len, source_pk, peer->pubkey))) {
    if (e == JK_EPERM || e == JK_ECONFLICT || e == JK_EINVAL || e == JK_ECORRUPT || e == JK_ECRYPTO)
      refuse(ctx, peer, ans, e, body, len);
    else jk__sync_answer_error(ans, 0, e, NULL);
    goto out;
  }
  if ((e = receipt_answer(ctx, b->sender, b->source, highest, b->ledger.size, b->ledger.root, 200, ans))) goto fail;
  ans->err = JK_OK;
  goto out;
fail:
  jk__sync_answer_error(ans, 0, e, NULL);
out:
  jk_batch_free(b);
}

void jk_sync_receive_peer(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *ca_pem, const char *crl_pem,
                          const uint8_t *body, size_t len, jk_sync_answer *ans) {
  memset(ans, 0, sizeof *ans);
  jk_err e;
  char *pem = NULL;
  if (ctx->tier != JK_TIER_NATIONAL || strcmp(peer->role, "prefectural") != 0) {
    e = jk_error_set(JK_EPERM, "only the nation learns municipalities' certificates, from their prefecture");
    goto refused;
  }
  if (len == 0 || len > 65536 || memchr(body, 0, len)) {
    e = jk_error_set(JK_EINVAL, "a certificate in PEM is expected (at most 64 KiB)");
    goto refused;
  }
  if (!(pem = jk_malloc(len + 1))) {
    jk__sync_answer_error(ans, 0, jk_error_set(JK_ENOMEM, NULL), NULL);
    return;
  }
  memcpy(pem, body, len);
  pem[len] = '\0';
  char id[JK_PKI_ID_MAX];
  if ((e = jk_pki_verify(ca_pem, crl_pem, pem, 0, id))) goto refused;
  jk_pki_info info;
  if ((e = jk_pki_info_read(pem, &info))) goto refused;
  jk_sync_peer src = {0};
  snprintf(src.node, sizeof src.node, "%s", id);
  snprintf(src.role, sizeof src.role, "%.15s", info.role);
  memcpy(src.pubkey, info.ed25519, 32);
  src.cert_pem = pem;
  /* the lgcode is in the node id's first six characters ("272108-…") and the SAN */
  snprintf(src.lgcode, sizeof src.lgcode, "%.6s", id);
  if (strcmp(info.role, "municipal") != 0 || !info.is_ed25519 || strncmp(src.lgcode, peer->lgcode, 2) != 0) {
    e = jk_error_set(JK_EPERM, "%s may not vouch for %s (%s)", peer->node, id, info.role);
    goto refused;
  }
  if ((e = jk_store_begin(ctx->store))) goto failed;
  if (!(e = jk_sync_peer_note(ctx, &src))) e = jk__sync_stage(ctx, "sync.peer", id, "ok", NULL, 0);
  if ((e = jk__sync_end(ctx, e))) goto failed;
  jk_free(pem);
  ans->status = 204;
  ans->err = JK_OK;
  ans->content_type = JK__SYNC_JSON;
  return;
refused:
  jk_free(pem);
  refuse(ctx, peer, ans, e, body, len);
  return;
failed:
  jk_free(pem);
  jk__sync_answer_error(ans, 0, e, NULL);
}

/* ---- POST /sync/v1/state ---- */

typedef struct state_ctx {
  const jk_sync_peer *peer;
  json_t *sources;
} state_ctx;

static int on_state_source(const char *source, int64_t size, void *payload) {
  state_ctx *c = payload;
  /* a municipality asks about itself; a prefecture about the municipalities of its prefecture */
  bool mine = strcmp(c->peer->role, "municipal") == 0 ? strcmp(source, c->peer->node) == 0
                                                       : strncmp(source, c->peer->lgcode, 2) == 0;
  if (mine) json_object_set_new(c->sources, source, json_integer(size));
  return 0;
}

void jk_sync_state(const jk_sync_ctx *ctx, const jk_sync_peer *peer, jk_sync_answer *ans) {
  memset(ans, 0, sizeof *ans);
  state_ctx c = {peer, json_object()};
  jk_err e = c.sources ? jk_store_notice_sources(ctx->store, on_state_source, &c) : jk_error_set(JK_ENOMEM, NULL);
  json_t *j = e ? NULL : json_pack("{s:O}", "sources", c.sources);
  char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  json_decref(c.sources);
  if (!txt) {
    jk__sync_answer_error(ans, 0, e ? e : jk_error_set(JK_ENOMEM, NULL), NULL);
    return;
  }
  size_t n = strlen(txt);
  if ((ans->body = jk_malloc(n))) memcpy(ans->body, txt, n);
  free(txt);
  if (!ans->body) {
    jk__sync_answer_error(ans, 0, jk_error_set(JK_ENOMEM, NULL), NULL);
    return;
  }
  ans->body_len = n;
  ans->status = 200;
  ans->content_type = JK__SYNC_JSON;
  ans->err = JK_OK;
}
