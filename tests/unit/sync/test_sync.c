/*
 * test_sync.c — the sync engine end to end in one process: two municipalities, their
 * prefecture and the nation, each a real store with its ledger; the sender's bytes are handed
 * to the receiver directly (the daemon's mutual TLS is tested in tests/cli/test_sync.sh).
 * Keys are software Ed25519 keys (the token signer is exercised by the CLI tests).
 */
#include "testutil.h"

#define JK_STOREFX_NO_FIXTURE
#include "storefx.h"

#include "jukinet/ledger.h"
#include "jukinet/registry.h"
#include "jukinet/sync.h"

#include <sodium.h>

typedef struct tnode {
  tu_store t;
  jk_store *s;
  jk_ledger *l;
  uint8_t pk[32], sk[64];
  char id[64], lgcode[8], role[16];
  jk_sync_ctx ctx;
  jk_sync_sender *snd; /* to the next node up */
} tnode;

typedef struct world {
  tnode a, b, p, n; /* 枚方市, 門真市, 大阪府, the nation */
} world;

static jk_err soft_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  tnode *t = payload;
  crypto_sign_detached(sig, NULL, msg, len, t->sk);
  return JK_OK;
}

static void node_up(tnode *t, const char *id, const char *lgcode, jk_tier tier) {
  tu_store_new(&t->t);
  assert_int_equal(jk_store_open(&t->s, t->t.location, JK_STORE_CREATE), JK_OK);
  crypto_sign_keypair(t->pk, t->sk);
  snprintf(t->id, sizeof t->id, "%s", id);
  snprintf(t->lgcode, sizeof t->lgcode, "%s", lgcode);
  snprintf(t->role, sizeof t->role, "%s",
           tier == JK_TIER_MUNICIPAL ? "municipal" : tier == JK_TIER_PREFECTURAL ? "prefectural" : "national");
  jk_ledger_signer sg = {soft_sign, t};
  assert_int_equal(jk_ledger_open(&t->l, t->s, t->id, &sg), JK_OK);
  if (tier == JK_TIER_MUNICIPAL) assert_int_equal(jk_outbox_attach(t->s, t->id), JK_OK);
  t->ctx = (jk_sync_ctx){.store = t->s, .ledger = t->l, .node_id = t->id, .lgcode = t->lgcode, .tier = tier,
                         .signer = sg, .terminal = "test"};
}

static void node_down(tnode *t) {
  jk_sync_sender_free(t->snd);
  jk_outbox_detach(t->s);
  jk_ledger_close(t->l);
  jk_store_close(t->s);
  tu_store_free(&t->t);
}

static jk_sync_peer peer_of(const tnode *t) {
  jk_sync_peer p = {0};
  snprintf(p.node, sizeof p.node, "%s", t->id);
  snprintf(p.lgcode, sizeof p.lgcode, "%s", t->lgcode);
  snprintf(p.role, sizeof p.role, "%s", t->role);
  memcpy(p.pubkey, t->pk, 32);
  p.cert_pem = "-----BEGIN CERTIFICATE-----\n(test)\n-----END CERTIFICATE-----\n";
  return p;
}

static int wsetup(void **state) {
  assert_true(sodium_init() >= 0);
  jk_lang_set(JK_LANG_EN);
  world *w = calloc(1, sizeof *w);
  node_up(&w->a, "272108-aaaaaaaaaaaaaaaa", "272108", JK_TIER_MUNICIPAL);
  node_up(&w->b, "272230-bbbbbbbbbbbbbbbb", "272230", JK_TIER_MUNICIPAL);
  node_up(&w->p, "270008-cccccccccccccccc", "270008", JK_TIER_PREFECTURAL);
  node_up(&w->n, "000001-dddddddddddddddd", "000001", JK_TIER_NATIONAL);
  assert_int_equal(jk_sync_sender_new(&w->a.snd, &w->a.ctx, w->p.id, w->p.pk), JK_OK);
  assert_int_equal(jk_sync_sender_new(&w->b.snd, &w->b.ctx, w->p.id, w->p.pk), JK_OK);
  assert_int_equal(jk_sync_sender_new(&w->p.snd, &w->p.ctx, w->n.id, w->n.pk), JK_OK);
  *state = w;
  return 0;
}

static int wteardown(void **state) {
  world *w = *state;
  node_down(&w->a);
  node_down(&w->b);
  node_down(&w->p);
  node_down(&w->n);
  free(w);
  return 0;
}

/* ---- registry writes, as an operator would make them (each with its ledger entry) ---- */

static void stage(tnode *t, const char *action) {
  jk_ledger_entry e = {.operator_ = "clerk01", .role = "operator", .terminal = "test", .action = action,
                       .object = "-", .result = "ok"};
  assert_int_equal(jk_ledger_stage(t->l, &e), JK_OK);
}

static jk_date entry_date = {2026, 11, 1}; /* 異動年月日 of the next add_resident */

static void add_resident(tnode *t, const char *name, const char *kana, const char *addr, const char *code,
                         char out_code[12]) {
  jk_identity r = {0};
  r.name = jk_strdup(name);
  r.kana = jk_strdup(kana);
  r.address = jk_strdup(addr);
  r.birth = (jk_date){1980, 4, 1};
  r.sex = JK_SEX_FEMALE;
  r.reason = JK_MOVE_IN;
  r.moved_on = entry_date;
  if (code) snprintf(r.code, sizeof r.code, "%s", code);
  stage(t, "resident.add");
  jk_err e = jk_registry_add(t->s, &r);
  if (e) fail_msg("registry add: %s", jk_error_last());
  if (out_code) snprintf(out_code, 12, "%s", r.code);
  jk_identity_clear(&r);
}

static void move(tnode *t, const char *code, jk_move_kind kind, const char *addr) {
  jk_move_change c = {.address = addr, .moved_on = {2026, 11, 10}};
  stage(t, "resident.move");
  jk_err e = jk_registry_move(t->s, code, kind, &c, NULL);
  if (e) fail_msg("registry move: %s", jk_error_last());
}

/* ---- the wire ---- */

/* One batch from `from` to `to`: returns the receiver's error (JK_OK when applied). *sent
 * says whether there was anything to send. */
static jk_err hop(tnode *from, tnode *to, bool *sent, jk_err *reply_err) {
  uint8_t *body = NULL;
  size_t len = 0;
  jk_sync_batch_info info;
  jk_err e = jk_sync_sender_next(from->snd, 100, &body, &len, &info);
  if (e) fail_msg("sender_next: %s", jk_error_last());
  *sent = body != NULL;
  if (!body) return JK_OK;
  jk_sync_peer peer = peer_of(from);
  jk_sync_answer ans;
  jk_sync_receive(&to->ctx, &peer, body, len, &ans);
  jk_err got = ans.err;
  jk_err re = jk_sync_sender_reply(from->snd, ans.status, ans.content_type, ans.body, ans.body_len);
  if (reply_err) *reply_err = re;
  jk_free(ans.body);
  jk_free(body);
  return got;
}

/* Send until nothing is pending; every batch must be accepted. */
static void drain(tnode *from, tnode *to) {
  for (int i = 0; i < 1000; i++) {
    bool sent;
    jk_err re;
    jk_err e = hop(from, to, &sent, &re);
    if (!sent) return;
    if (e && e != JK_ECONFLICT) fail_msg("%s -> %s refused: %s", from->id, to->id, jk_error_last());
    if (re && re != JK_ECONFLICT) fail_msg("reply: %s", jk_error_last());
  }
  fail_msg("drain did not finish");
}

static void nation_knows(world *w, tnode *m) {
  jk_sync_peer pm = peer_of(m);
  assert_int_equal(jk_store_begin(w->n.s), JK_OK);
  assert_int_equal(jk_sync_peer_note(&w->n.ctx, &pm), JK_OK);
  stage(&w->n, "sync.peer");
  assert_int_equal(jk_store_commit(w->n.s), JK_OK);
}

static void prefecture_knows(world *w, tnode *m) {
  jk_sync_peer pm = peer_of(m);
  assert_int_equal(jk_store_begin(w->p.s), JK_OK);
  assert_int_equal(jk_sync_peer_note(&w->p.ctx, &pm), JK_OK);
  stage(&w->p, "sync.peer");
  assert_int_equal(jk_store_commit(w->p.s), JK_OK);
}

/* Every current record of municipality m equals its row at node t. */
typedef struct cmp_ctx {
  tnode *t;
  const char *source;
  int n;
} cmp_ctx;
static int cmp_one(const jk_identity *rec, void *payload) {
  cmp_ctx *c = payload;
  jk_holding_rec h;
  jk_err e = jk_store_holding_get(c->t->s, rec->code, c->source, &h);
  if (e) fail_msg("%s: no row for %s from %s", c->t->id, rec->code, c->source);
  assert_int_equal(h.version, rec->version);
  assert_string_equal(h.name, rec->name);
  assert_string_equal(h.address, rec->address);
  assert_int_equal(h.status, rec->status);
  c->n++;
  return 0;
}
static int same_records(tnode *m, tnode *t) {
  cmp_ctx c = {t, m->id, 0};
  assert_int_equal(jk_store_resident_each(m->s, cmp_one, &c), JK_OK);
  int64_t held;
  assert_int_equal(jk_store_holding_count(t->s, m->id, 0, &held), JK_OK);
  assert_int_equal(held, c.n);
  return c.n;
}

static int64_t notices(tnode *t, const char *source) {
  int64_t n;
  assert_int_equal(jk_store_notice_size(t->s, source, &n), JK_OK);
  return n;
}

/* ---- tests ---- */

static void test_three_tiers(void **state) {
  world *w = *state;
  char code[12];
  for (int i = 0; i < 250; i++) {
    char name[64];
    snprintf(name, sizeof name, "枚方 太郎%d", i);
    add_resident(&w->a, name, "ヒラカタ タロウ", "大阪府枚方市大垣内町2丁目1番20号", NULL, i == 0 ? code : NULL);
  }
  move(&w->a, code, JK_MOVE_WITHIN, "大阪府枚方市新町1丁目1番1号");
  assert_int_equal(notices(&w->a, w->a.id), 251);
  int64_t pending;
  assert_int_equal(jk_sync_pending(&w->a.ctx, w->p.id, &pending), JK_OK);
  assert_int_equal(pending, 251);
  drain(&w->a, &w->p);
  assert_int_equal(jk_sync_pending(&w->a.ctx, w->p.id, &pending), JK_OK);
  assert_int_equal(pending, 0);
  assert_int_equal(notices(&w->p, w->a.id), 251);
  assert_int_equal(same_records(&w->a, &w->p), 250);
  /* forwarded unchanged: the nation first learns who 枚方市 is (from the prefecture) */
  nation_knows(w, &w->a);
  drain(&w->p, &w->n);
  assert_int_equal(notices(&w->n, w->a.id), 251);
  assert_int_equal(same_records(&w->a, &w->n), 250);
  jk_holding_rec h;
  assert_int_equal(jk_sync_identity(w->n.s, code, &h), JK_OK);
  assert_string_equal(h.address, "大阪府枚方市新町1丁目1番1号");
  assert_int_equal(h.version, 2);
  /* more changes flow on top, with ledger consistency proofs from the last countersigned head */
  move(&w->a, code, JK_MOVE_WITHIN, "大阪府枚方市岡東町12番2号");
  drain(&w->a, &w->p);
  drain(&w->p, &w->n);
  assert_int_equal(jk_sync_identity(w->n.s, code, &h), JK_OK);
  assert_string_equal(h.address, "大阪府枚方市岡東町12番2号");
  assert_int_equal(h.version, 3);
  /* every ledger verifies */
  jk_ledger_report rep;
  assert_int_equal(jk_ledger_verify(w->a.l, w->a.pk, &rep), JK_OK);
  assert_int_equal(jk_ledger_verify(w->p.l, w->p.pk, &rep), JK_OK);
  assert_int_equal(jk_ledger_verify(w->n.l, w->n.pk, &rep), JK_OK);
}

static void test_resend_is_ignored(void **state) {
  world *w = *state;
  for (int i = 0; i < 5; i++) add_resident(&w->a, "門真 花子", "カドマ ハナコ", "大阪府枚方市1番", NULL, NULL);
  uint8_t *body;
  size_t len;
  assert_int_equal(jk_sync_sender_next(w->a.snd, 0, &body, &len, NULL), JK_OK);
  assert_non_null(body);
  jk_sync_peer pa = peer_of(&w->a);
  jk_sync_answer ans;
  jk_sync_receive(&w->p.ctx, &pa, body, len, &ans);
  assert_int_equal(ans.err, JK_OK);
  assert_int_equal(ans.status, 200);
  /* the receipt is lost: the same bytes again. The ledger head the sender thinks acknowledged
   * is older than the one the receiver countersigned: a resync receipt, nothing applied twice */
  jk_free(ans.body);
  jk_sync_receive(&w->p.ctx, &pa, body, len, &ans);
  assert_int_equal(ans.status, 409);
  assert_int_equal(ans.err, JK_ECONFLICT);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, ans.status, ans.content_type, ans.body, ans.body_len), JK_ECONFLICT);
  jk_free(ans.body);
  jk_free(body);
  assert_int_equal(notices(&w->p, w->a.id), 5);
  int64_t pending;
  assert_int_equal(jk_sync_pending(&w->a.ctx, w->p.id, &pending), JK_OK);
  assert_int_equal(pending, 0);
  /* and it goes on from there */
  add_resident(&w->a, "門真 次郎", "カドマ ジロウ", "大阪府枚方市2番", NULL, NULL);
  drain(&w->a, &w->p);
  assert_int_equal(notices(&w->p, w->a.id), 6);
  assert_int_equal(same_records(&w->a, &w->p), 6);
}

static void test_out_of_order_batch(void **state) {
  world *w = *state;
  for (int i = 0; i < 3; i++) add_resident(&w->a, "順番 一", "ジュンバン イチ", "大阪府枚方市3番", NULL, NULL);
  uint8_t *b1, *b2;
  size_t l1, l2;
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b1, &l1, NULL), JK_OK);
  /* pretend batch 1 was acknowledged, to build batch 2 (seq 3) */
  jk_sync_peer pa = peer_of(&w->a);
  jk_sync_answer ans;
  jk_sync_receive(&w->p.ctx, &pa, b1, l1, &ans);
  assert_int_equal(ans.err, JK_OK);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, ans.status, ans.content_type, ans.body, ans.body_len), JK_OK);
  jk_free(ans.body);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b2, &l2, NULL), JK_OK);
  assert_non_null(b2);
  /* a fresh prefecture gets batch 2 first: refused as a gap, with a receipt saying where it is */
  tnode q = {0};
  node_up(&q, w->p.id, w->p.lgcode, JK_TIER_PREFECTURAL);
  jk_sync_receive(&q.ctx, &pa, b2, l2, &ans);
  assert_int_equal(ans.status, 409);
  assert_int_equal(notices(&q, w->a.id), 0);
  jk_free(ans.body);
  /* batch 1 replayed at the first prefecture: ignored (resync), nothing doubled */
  jk_sync_receive(&w->p.ctx, &pa, b1, l1, &ans);
  assert_int_equal(ans.status, 409);
  assert_int_equal(notices(&w->p, w->a.id), 2);
  jk_free(ans.body);
  jk_free(b1);
  jk_free(b2);
  node_down(&q);
}

/* How many of a batch's notices carry an inclusion proof. */
static size_t proofs_in(const uint8_t *body, size_t len) {
  jk_batch *b;
  assert_int_equal(jk_batch_decode(&b, body, len), JK_OK);
  size_t n = 0;
  for (size_t i = 0; i < b->count; i++) n += b->items[i].path_len > 0;
  jk_batch_free(b);
  return n;
}

/* The next batch (at most max notices) from `from` to `to`, with its number of proofs in
 * *proofs: the receiver's HTTP status; the sender takes the answer when `from_takes`. */
static unsigned deliver(tnode *from, tnode *to, size_t max, bool from_takes, size_t *proofs) {
  uint8_t *body;
  size_t len;
  assert_int_equal(jk_sync_sender_next(from->snd, max, &body, &len, NULL), JK_OK);
  assert_non_null(body);
  *proofs = proofs_in(body, len);
  jk_sync_peer pf = peer_of(from);
  jk_sync_answer ans;
  jk_sync_receive(&to->ctx, &pf, body, len, &ans);
  if (from_takes) jk_sync_sender_reply(from->snd, ans.status, ans.content_type, ans.body, ans.body_len);
  else jk_sync_sender_forget(from->snd);
  jk_free(ans.body);
  jk_free(body);
  return ans.status;
}

/* Proofs travel only when the receiver needs them: a batch that ends at its signed head is
 * proven whole by the root check; a forwarded batch cut short of the head carries them. A
 * proofless batch that is not whole at the receiver is answered 409, never applied unproven. */
static void test_proofs_only_when_needed(void **state) {
  world *w = *state;
  for (int i = 0; i < 5; i++) add_resident(&w->a, "証明 一", "ショウメイ イチ", "大阪府枚方市5番", NULL, NULL);
  size_t proofs;
  /* the municipality signs a head at each batch's end (here 2, then 5): no proofs */
  assert_int_equal(deliver(&w->a, &w->p, 2, true, &proofs), 200);
  assert_int_equal(proofs, 0);
  assert_int_equal(deliver(&w->a, &w->p, 0, true, &proofs), 200);
  assert_int_equal(proofs, 0);
  assert_int_equal(notices(&w->p, w->a.id), 5);
  /* the prefecture forwards 1 notice, short of the municipality's head of 2: with its proof */
  nation_knows(w, &w->a);
  assert_int_equal(deliver(&w->p, &w->n, 1, true, &proofs), 200);
  assert_int_equal(proofs, 1);
  /* then up to that head (notice 2), proofless; at a nation that does not hold notice 1
   * (another one, say restored from an old backup) it is not whole, so it cannot be checked:
   * 409 with where that nation is, nothing applied */
  tnode m = {0};
  node_up(&m, w->n.id, w->n.lgcode, JK_TIER_NATIONAL);
  jk_sync_peer pm = peer_of(&w->a);
  assert_int_equal(jk_store_begin(m.s), JK_OK);
  assert_int_equal(jk_sync_peer_note(&m.ctx, &pm), JK_OK);
  stage(&m, "sync.peer");
  assert_int_equal(jk_store_commit(m.s), JK_OK);
  assert_int_equal(deliver(&w->p, &m, 0, false, &proofs), 409);
  assert_int_equal(proofs, 0);
  assert_int_equal(notices(&m, w->a.id), 0);
  node_down(&m);
  /* the same batch at the nation that holds notice 1: applied; then 3 .. 5 up to the next head */
  assert_int_equal(deliver(&w->p, &w->n, 0, true, &proofs), 200);
  assert_int_equal(notices(&w->n, w->a.id), 2);
  assert_int_equal(deliver(&w->p, &w->n, 0, true, &proofs), 200);
  assert_int_equal(proofs, 0);
  assert_int_equal(notices(&w->n, w->a.id), 5);
  assert_int_equal(same_records(&w->a, &w->n), 5);
}

/* Two batches in flight: the second is built before the first is answered, proves its ledger
 * consistency from the first's head, and is applied after it; answers are taken oldest first.
 * Arriving out of order, the second is refused as a gap and sent again; an error on the first
 * makes the sender forget the second. */
static void test_two_batches_in_flight(void **state) {
  world *w = *state;
  for (int i = 0; i < 11; i++) add_resident(&w->a, "窓 一", "マド イチ", "大阪府枚方市6番", NULL, NULL);
  jk_sync_peer pa = peer_of(&w->a);
  uint8_t *b1, *b2, *b3;
  size_t l1, l2, l3;
  jk_sync_answer a1, a2;
  /* a source's first batch goes alone (the receiver may have to be introduced to it first) */
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b1, &l1, NULL), JK_OK);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b2, &l2, NULL), JK_OK);
  assert_null(b2);
  jk_sync_receive(&w->p.ctx, &pa, b1, l1, &a1);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, a1.status, a1.content_type, a1.body, a1.body_len), JK_OK);
  jk_free(a1.body);
  jk_free(b1);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b1, &l1, NULL), JK_OK);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b2, &l2, NULL), JK_OK);
  assert_non_null(b1);
  assert_non_null(b2);
  assert_int_equal(jk_sync_sender_inflight(w->a.snd), 2);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b3, &l3, NULL), JK_OK);
  assert_null(b3); /* the window is full */
  jk_sync_receive(&w->p.ctx, &pa, b1, l1, &a1);
  jk_sync_receive(&w->p.ctx, &pa, b2, l2, &a2);
  assert_int_equal(a1.status, 200);
  assert_int_equal(a2.status, 200);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, a1.status, a1.content_type, a1.body, a1.body_len), JK_OK);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, a2.status, a2.content_type, a2.body, a2.body_len), JK_OK);
  assert_int_equal(notices(&w->p, w->a.id), 6);
  jk_free(a1.body);
  jk_free(a2.body);
  jk_free(b1);
  jk_free(b2);
  /* out of order: 9-10 arrives before 7-8 */
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b1, &l1, NULL), JK_OK);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b2, &l2, NULL), JK_OK);
  jk_sync_receive(&w->p.ctx, &pa, b2, l2, &a2);
  assert_int_equal(a2.status, 409);
  jk_sync_receive(&w->p.ctx, &pa, b1, l1, &a1);
  assert_int_equal(a1.status, 200);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, a1.status, a1.content_type, a1.body, a1.body_len), JK_OK);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, a2.status, a2.content_type, a2.body, a2.body_len), JK_ECONFLICT);
  assert_int_equal(jk_sync_sender_inflight(w->a.snd), 0);
  jk_free(a1.body);
  jk_free(a2.body);
  jk_free(b1);
  jk_free(b2);
  assert_int_equal(notices(&w->p, w->a.id), 8);
  /* an error on the first: the second is forgotten, and everything goes again from there */
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b1, &l1, NULL), JK_OK);
  assert_int_equal(jk_sync_sender_next(w->a.snd, 2, &b2, &l2, NULL), JK_OK);
  assert_int_equal(jk_sync_sender_inflight(w->a.snd), 2);
  static const char busy[] = "{\"error\":{\"code\":\"BUSY\",\"message\":\"try later\"}}";
  assert_int_equal(jk_sync_sender_reply(w->a.snd, 503, "application/json", (const uint8_t *)busy, strlen(busy)),
                   JK_EBUSY);
  assert_int_equal(jk_sync_sender_inflight(w->a.snd), 0);
  jk_free(b1);
  jk_free(b2);
  drain(&w->a, &w->p);
  assert_int_equal(notices(&w->p, w->a.id), 11);
  assert_int_equal(same_records(&w->a, &w->p), 11);
  jk_ledger_report rep;
  assert_int_equal(jk_ledger_verify(w->a.l, w->a.pk, &rep), JK_OK);
  assert_int_equal(jk_ledger_verify(w->p.l, w->p.pk, &rep), JK_OK);
}

static void test_tampered_batches(void **state) {
  world *w = *state;
  add_resident(&w->a, "改竄 太郎", "カイザン タロウ", "大阪府枚方市4番", NULL, NULL);
  uint8_t *body;
  size_t len;
  assert_int_equal(jk_sync_sender_next(w->a.snd, 0, &body, &len, NULL), JK_OK);
  jk_sync_peer pa = peer_of(&w->a);
  jk_sync_answer ans;
  /* one byte of the name changed: the proof no longer leads to the signed head */
  uint8_t *bad = malloc(len);
  memcpy(bad, body, len);
  uint8_t *hit = memmem(bad, len, "改竄", strlen("改竄"));
  assert_non_null(hit);
  hit[2] ^= 1;
  jk_sync_receive(&w->p.ctx, &pa, bad, len, &ans);
  assert_true(ans.err == JK_ECORRUPT || ans.err == JK_EINVAL);
  assert_int_equal(ans.status, ans.err == JK_ECORRUPT ? 422 : 400);
  jk_free(ans.body);
  /* truncated */
  jk_sync_receive(&w->p.ctx, &pa, body, len - 1, &ans);
  assert_int_equal(ans.status, 400);
  jk_free(ans.body);
  /* a peer that is not the sender */
  jk_sync_peer pb = peer_of(&w->b);
  jk_sync_receive(&w->p.ctx, &pb, body, len, &ans);
  assert_int_equal(ans.status, 403);
  jk_free(ans.body);
  /* signed by another key than the peer's certificate holds */
  jk_sync_peer forged = pa;
  memcpy(forged.pubkey, w->b.pk, 32);
  jk_sync_receive(&w->p.ctx, &forged, body, len, &ans);
  assert_int_equal(ans.err, JK_ECRYPTO);
  jk_free(ans.body);
  /* the nation does not take batches from a municipality */
  jk_sync_receive(&w->n.ctx, &pa, body, len, &ans);
  assert_int_equal(ans.status, 403);
  jk_free(ans.body);
  assert_int_equal(notices(&w->p, w->a.id), 0);
  assert_int_equal(notices(&w->n, w->a.id), 0);
  /* refusals are in the prefecture's ledger */
  int64_t size;
  assert_int_equal(jk_ledger_size(w->p.l, &size), JK_OK);
  assert_true(size >= 4);
  free(bad);
  jk_free(body);
  /* the real one still goes through (the sender forgets the batch whose answers it never took) */
  assert_int_equal(jk_sync_sender_inflight(w->a.snd), 1);
  jk_sync_sender_forget(w->a.snd);
  drain(&w->a, &w->p);
  assert_int_equal(notices(&w->p, w->a.id), 1);
}

static void test_rewritten_ledger_is_caught(void **state) {
  world *w = *state;
  add_resident(&w->a, "履歴 一郎", "リレキ イチロウ", "大阪府枚方市5番", NULL, NULL);
  drain(&w->a, &w->p);
  /* 枚方市 rewrites its past: a new store with a different history, same node id and key */
  tnode a2 = {0};
  node_up(&a2, w->a.id, w->a.lgcode, JK_TIER_MUNICIPAL);
  memcpy(a2.pk, w->a.pk, 32);
  memcpy(a2.sk, w->a.sk, 64);
  for (int i = 0; i < 3; i++) add_resident(&a2, "別人 二郎", "ベツジン ジロウ", "大阪府枚方市6番", NULL, NULL);
  /* it even knows the receipt the prefecture gave (copied over), so it can claim to continue */
  jk_receipt_row rr;
  assert_int_equal(jk_store_receipt_get(w->a.s, w->p.id, w->a.id, &rr), JK_OK);
  assert_int_equal(jk_store_begin(a2.s), JK_OK);
  assert_int_equal(jk_store_receipt_put(a2.s, &rr), JK_OK);
  stage(&a2, "test.copy");
  assert_int_equal(jk_store_commit(a2.s), JK_OK);
  assert_int_equal(jk_sync_sender_new(&a2.snd, &a2.ctx, w->p.id, w->p.pk), JK_OK);
  uint8_t *body;
  size_t len;
  jk_err e = jk_sync_sender_next(a2.snd, 0, &body, &len, NULL);
  if (e == JK_OK && body) {
    jk_sync_peer pa = peer_of(&a2);
    jk_sync_answer ans;
    jk_sync_receive(&w->p.ctx, &pa, body, len, &ans);
    assert_true(ans.err == JK_ECORRUPT || ans.err == JK_ECRYPTO);
    assert_int_equal(ans.status, 422);
    jk_free(ans.body);
    jk_free(body);
  } else {
    /* it cannot even build a consistent batch: its ledger is shorter than what was acknowledged */
    assert_int_not_equal(e, JK_OK);
  }
  assert_int_equal(notices(&w->p, w->a.id), 1);
  node_down(&a2);
}

static void test_move_between_municipalities(void **state) {
  world *w = *state;
  char code[12];
  add_resident(&w->a, "転居 花子", "テンキョ ハナコ", "大阪府枚方市大垣内町1番", NULL, code);
  drain(&w->a, &w->p);
  /* 転出 at 枚方市, 転入 at 門真市 with the same code; 門真市's notice arrives first */
  move(&w->a, code, JK_MOVE_OUT, NULL); /* on 11-10 */
  entry_date = (jk_date){2026, 11, 10};  /* the 転入 the same day: it wins over the 転出 */
  add_resident(&w->b, "転居 花子", "テンキョ ハナコ", "大阪府門真市中町1番1号", code, NULL);
  entry_date = (jk_date){2026, 11, 1};
  drain(&w->b, &w->p);
  jk_holding_rec h;
  assert_int_equal(jk_sync_identity(w->p.s, code, &h), JK_OK);
  assert_string_equal(h.source, w->b.id);
  drain(&w->a, &w->p);
  assert_int_equal(jk_sync_identity(w->p.s, code, &h), JK_OK);
  assert_string_equal(h.source, w->b.id);
  assert_string_equal(h.address, "大阪府門真市中町1番1号");
  assert_int_equal(h.status, JK_STATUS_ACTIVE);
  nation_knows(w, &w->a);
  nation_knows(w, &w->b);
  drain(&w->p, &w->n);
  assert_int_equal(jk_sync_identity(w->n.s, code, &h), JK_OK);
  assert_string_equal(h.source, w->b.id);
  assert_string_equal(h.address, "大阪府門真市中町1番1号");
  jk_holding_rec old;
  assert_int_equal(jk_store_holding_get(w->n.s, code, w->a.id, &old), JK_OK);
  assert_int_equal(old.status, JK_STATUS_REMOVED);
  assert_int_equal(old.reason, JK_MOVE_OUT);
  same_records(&w->a, &w->n);
  same_records(&w->b, &w->n);
}

static void test_another_municipalitys_resident(void **state) {
  world *w = *state;
  char code[12];
  add_resident(&w->a, "他市 住民", "タシ ジュウミン", "大阪府枚方市7番", NULL, code);
  drain(&w->a, &w->p);
  /* 門真市 sends a 転居 (version 2) for 枚方市's resident */
  jk_identity r = {0};
  r.name = "他市 住民";
  r.kana = "タシ ジュウミン";
  r.address = "大阪府門真市8番";
  r.birth = (jk_date){1980, 4, 1};
  r.sex = JK_SEX_FEMALE;
  r.reason = JK_MOVE_WITHIN;
  r.moved_on = (jk_date){2026, 11, 2};
  r.status = JK_STATUS_ACTIVE;
  r.version = 2;
  snprintf(r.code, sizeof r.code, "%s", code);
  assert_int_equal(jk_store_begin(w->b.s), JK_OK);
  assert_int_equal(jk_outbox_record(w->b.s, w->b.id, &r, NULL), JK_OK);
  stage(&w->b, "test.forge");
  assert_int_equal(jk_store_commit(w->b.s), JK_OK);
  bool sent;
  jk_err re;
  prefecture_knows(w, &w->b);
  assert_int_equal(hop(&w->b, &w->p, &sent, &re), JK_EPERM);
  assert_true(sent);
  assert_error_contains(w->a.id);
  assert_int_equal(notices(&w->p, w->b.id), 0);
  jk_holding_rec h;
  assert_int_equal(jk_sync_identity(w->p.s, code, &h), JK_OK);
  assert_string_equal(h.source, w->a.id);
  /* a birth with a code 枚方市 holds on its register is refused too */
  r.version = 1;
  r.reason = JK_MOVE_BIRTH;
  tnode c = {0};
  node_up(&c, "272116-eeeeeeeeeeeeeeee", "272116", JK_TIER_MUNICIPAL);
  assert_int_equal(jk_sync_sender_new(&c.snd, &c.ctx, w->p.id, w->p.pk), JK_OK);
  assert_int_equal(jk_store_begin(c.s), JK_OK);
  assert_int_equal(jk_outbox_record(c.s, c.id, &r, NULL), JK_OK);
  stage(&c, "test.forge");
  assert_int_equal(jk_store_commit(c.s), JK_OK);
  assert_int_equal(hop(&c, &w->p, &sent, &re), JK_EPERM);
  node_down(&c);
}

/* The prefecture loses what it had acknowledged (restored from an old backup: here, a new store
 * with the same identity). The city's state check sees it, the probe resyncs, and everything
 * is sent again — exactly once at the new store. */
static void test_receiver_lost_state(void **state) {
  world *w = *state;
  for (int i = 0; i < 30; i++) add_resident(&w->a, "喪失 太郎", "ソウシツ タロウ", "大阪府枚方市9番", NULL, NULL);
  drain(&w->a, &w->p);
  tnode q = {0};
  node_up(&q, w->p.id, w->p.lgcode, JK_TIER_PREFECTURAL);
  memcpy(q.pk, w->p.pk, 32);
  memcpy(q.sk, w->p.sk, 64);
  jk_sync_peer pa = peer_of(&w->a);
  /* what the state says */
  jk_sync_answer ans;
  jk_sync_state(&q.ctx, &pa, &ans);
  assert_int_equal(ans.status, 200);
  bool behind = false;
  assert_int_equal(jk_sync_sender_state_behind(w->a.snd, ans.body, ans.body_len, &behind), JK_OK);
  assert_false(behind); /* a store that never heard of the city says nothing about it */
  jk_free(ans.body);
  jk_sync_state(&w->p.ctx, &pa, &ans);
  assert_non_null(strstr((const char *)ans.body, "\"272108-aaaaaaaaaaaaaaaa\":30"));
  assert_int_equal(jk_sync_sender_state_behind(w->a.snd, ans.body, ans.body_len, &behind), JK_OK);
  assert_false(behind);
  jk_free(ans.body);
  const char *lower = "{\"sources\":{\"272108-aaaaaaaaaaaaaaaa\":12}}";
  assert_int_equal(jk_sync_sender_state_behind(w->a.snd, (const uint8_t *)lower, strlen(lower), &behind), JK_OK);
  assert_true(behind);
  assert_int_equal(jk_sync_sender_state_behind(w->a.snd, (const uint8_t *)"[]", 2, &behind), JK_EINVAL);
  /* the probe: an empty batch; the new store answers where it is (nowhere) */
  uint8_t *body;
  size_t len;
  assert_int_equal(jk_sync_sender_probe(w->a.snd, true, &body, &len, NULL), JK_OK);
  assert_non_null(body);
  jk_sync_receive(&q.ctx, &pa, body, len, &ans);
  assert_int_equal(jk_sync_sender_reply(w->a.snd, ans.status, ans.content_type, ans.body, ans.body_len), JK_ECONFLICT);
  jk_free(ans.body);
  jk_free(body);
  assert_int_equal(jk_sync_sender_probe(w->a.snd, false, &body, &len, NULL), JK_OK);
  assert_null(body); /* every source asked */
  /* everything again, once */
  jk_sync_sender_free(w->a.snd);
  assert_int_equal(jk_sync_sender_new(&w->a.snd, &w->a.ctx, q.id, q.pk), JK_OK);
  drain(&w->a, &q);
  assert_int_equal(notices(&q, w->a.id), 30);
  assert_int_equal(same_records(&w->a, &q), 30);
  node_down(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_three_tiers, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_resend_is_ignored, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_out_of_order_batch, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_proofs_only_when_needed, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_two_batches_in_flight, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_tampered_batches, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_rewritten_ledger_is_caught, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_move_between_municipalities, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_another_municipalitys_resident, wsetup, wteardown),
      cmocka_unit_test_setup_teardown(test_receiver_lost_state, wsetup, wteardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
