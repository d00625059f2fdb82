/*
 * Sync protocol v1 wire format (src/net/notice.c, docs/protocol.md): notices, outbox heads,
 * batches and receipts — round trips, every refusal of the strict decoders, and batch
 * verification (signatures, inclusion proofs, seq contiguity, one source, and the sender's
 * ledger head consistent with the head acknowledged last). Keys are libsodium keys made here
 * from fixed seeds (the token is tested in tests/unit/token).
 */
#include "testutil.h"

#include "jukinet/merkle.h"
#include "jukinet/notice.h"

#include <sodium.h>

#define SRC "272108-41a869be43045374"  /* 枚方市 */
#define PREF "270008-0123456789abcdef" /* 大阪府 */
#define NATION "000000-fedcba9876543210"

typedef struct key {
  uint8_t pk[32], sk[64];
} key;

static key k_src, k_pref, k_nation;

static void make_key(key *k, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof seed);
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static jk_err sign_cb(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  const key *k = payload;
  crypto_sign_detached(sig, NULL, msg, len, k->sk);
  return JK_OK;
}

static jk_ledger_signer signer_of(key *k) {
  jk_ledger_signer s = {sign_cb, k};
  return s;
}

static int setup(void **state) {
  (void)state;
  assert_true(sodium_init() >= 0);
  make_key(&k_src, 1);
  make_key(&k_pref, 2);
  make_key(&k_nation, 3);
  jk_lang_set(JK_LANG_EN);
  return 0;
}

/* A valid resident code from a number. */
static void code_of(uint64_t v, char out[12]) {
  snprintf(out, 12, "%010llu", (unsigned long long)(v % 10000000000ULL));
  out[10] = (char)('0' + jk_rescode_check_digit(out));
  out[11] = '\0';
}

static void change_notice(jk_notice *n, const char *source, uint64_t seq) {
  memset(n, 0, sizeof *n);
  snprintf(n->source, sizeof n->source, "%s", source);
  n->seq = seq;
  n->kind = JK_NOTICE_CHANGE;
  code_of(1234567890ULL + seq, n->code);
  n->version = 2;
  snprintf(n->name, sizeof n->name, "山田　太郎");
  snprintf(n->kana, sizeof n->kana, "ヤマダ　タロウ");
  n->birth = (jk_date){1980, 1, 2};
  n->sex = JK_SEX_MALE;
  snprintf(n->address, sizeof n->address, "大阪府枚方市大垣内町2丁目1番20号");
  n->reason = JK_MOVE_WITHIN;
  n->moved_on = (jk_date){2026, 11, 1};
  n->status = JK_STATUS_ACTIVE;
}

static void assert_notice_equal(const jk_notice *a, const jk_notice *b) {
  assert_string_equal(a->source, b->source);
  assert_true(a->seq == b->seq);
  assert_int_equal(a->kind, b->kind);
  assert_string_equal(a->code, b->code);
  assert_string_equal(a->prev_code, b->prev_code);
  assert_int_equal(a->version, b->version);
  assert_string_equal(a->name, b->name);
  assert_string_equal(a->kana, b->kana);
  assert_int_equal(jk_date_cmp(a->birth, b->birth), 0);
  assert_int_equal(a->sex, b->sex);
  assert_string_equal(a->address, b->address);
  assert_int_equal(a->reason, b->reason);
  assert_int_equal(jk_date_cmp(a->moved_on, b->moved_on), 0);
  assert_int_equal(a->status, b->status);
}

static void roundtrip(const jk_notice *n) {
  uint8_t buf[JK_NOTICE_ENCODED_MAX], buf2[JK_NOTICE_ENCODED_MAX];
  size_t len, len2;
  jk_notice back;
  assert_int_equal(jk_notice_encode(n, buf, sizeof buf, &len), JK_OK);
  assert_int_equal(jk_notice_decode(&back, buf, len), JK_OK);
  assert_notice_equal(n, &back);
  assert_int_equal(jk_notice_encode(&back, buf2, sizeof buf2, &len2), JK_OK);
  assert_int_equal(len, len2);
  assert_memory_equal(buf, buf2, len); /* canonical */
}

/* ---- an independent writer of the documented layout (docs/protocol.md) ---- */

typedef struct raw {
  uint8_t b[4096];
  size_t n;
} raw;

static void r_u8(raw *r, unsigned v) { r->b[r->n++] = (uint8_t)v; }
static void r_u16(raw *r, size_t v) {
  r_u8(r, (unsigned)(v >> 8) & 0xff);
  r_u8(r, (unsigned)v & 0xff);
}
static void r_u32(raw *r, uint32_t v) {
  for (int i = 3; i >= 0; i--) r_u8(r, (v >> (8 * i)) & 0xff);
}
static void r_u64(raw *r, uint64_t v) {
  for (int i = 7; i >= 0; i--) r_u8(r, (unsigned)(v >> (8 * i)) & 0xff);
}
static void r_bytes(raw *r, const void *p, size_t n) {
  memcpy(r->b + r->n, p, n);
  r->n += n;
}
static void r_str(raw *r, const char *s, size_t n) {
  r_u16(r, n);
  r_bytes(r, s, n);
}
static void r_date(raw *r, int y, int m, int d) {
  r_u16(r, (size_t)y);
  r_u8(r, (unsigned)m);
  r_u8(r, (unsigned)d);
}

/* Overrides for one raw change notice. */
typedef struct raw_opts {
  unsigned version_byte, kind, sex, reason, status;
  const char *code, *name;
  size_t name_len;
  int by, bm, bd;
} raw_opts;

static raw_opts defaults(void) {
  raw_opts o = {1, 1, 1, 3, 1, NULL, "山田　太郎", 0, 1980, 1, 2};
  o.name_len = strlen(o.name);
  return o;
}

static void raw_notice(raw *r, raw_opts o) {
  char code[12];
  code_of(1234567890ULL + 1, code);
  r->n = 0;
  r_u8(r, o.version_byte);
  r_str(r, SRC, strlen(SRC));
  r_u64(r, 1);
  r_u8(r, o.kind);
  r_bytes(r, o.code ? o.code : code, 11);
  r_date(r, 2026, 11, 1);
  r_u8(r, 0); /* no prev_code */
  r_u32(r, 2);
  r_str(r, o.name, o.name_len);
  r_str(r, "ヤマダ　タロウ", strlen("ヤマダ　タロウ"));
  r_date(r, o.by, o.bm, o.bd);
  r_u8(r, o.sex);
  r_str(r, "大阪府枚方市大垣内町2丁目1番20号", strlen("大阪府枚方市大垣内町2丁目1番20号"));
  r_u8(r, o.reason);
  r_u8(r, o.status);
}

static void expect_refused(raw_opts o, jk_err code, const char *needle) {
  raw r;
  jk_notice n;
  raw_notice(&r, o);
  jk_err e = jk_notice_decode(&n, r.b, r.n);
  if (e != code) fail_msg("expected %d, got %d (%s)", code, e, jk_error_last());
  assert_error_contains(needle);
  assert_int_equal(n.seq, 0); /* zeroed on failure */
}

/* ---- notices ---- */

/* A RESTRICT notice (kind 3): the resident's restrictions as they now stand. */
static void test_notice_restrict(void **state) {
  (void)state;
  jk_notice n, back;
  memset(&n, 0, sizeof n);
  snprintf(n.source, sizeof n.source, "272108-41a869be43045374");
  n.seq = 7;
  n.kind = JK_NOTICE_RESTRICT;
  snprintf(n.code, sizeof n.code, "12345678903");
  assert_int_equal(jk_date_parse("2026-11-20", &n.moved_on), JK_OK);
  n.protect = true;
  assert_int_equal(jk_date_parse("2027-11-19", &n.until), JK_OK);
  snprintf(n.purposes, sizeof n.purposes, "B1-77,B1-74");
  uint8_t enc[JK_NOTICE_ENCODED_MAX];
  size_t len;
  assert_int_equal(jk_notice_encode(&n, enc, sizeof enc, &len), JK_OK);
  /* 1 + 2+23 + 8 + 1 + 11 + 4, then flags, until, purposes */
  assert_int_equal(len, 50 + 1 + 4 + 2 + 11);
  assert_int_equal(enc[50], 1);
  assert_int_equal(jk_notice_decode(&back, enc, len), JK_OK);
  assert_memory_equal(&back, &n, sizeof n);
  /* every shorter prefix is refused */
  for (size_t k = 0; k < len; k++) assert_int_equal(jk_notice_decode(&back, enc, k), JK_EINVAL);
  /* unknown flags */
  enc[50] = 2;
  assert_int_equal(jk_notice_decode(&back, enc, len), JK_EINVAL);
  assert_error_contains("flags 2");
  /* the rules, on the encoder (the decoder applies the same checks) */
  jk_notice bad = n;
  bad.until = (jk_date){0, 0, 0};
  assert_int_equal(jk_notice_encode(&bad, enc, sizeof enc, &len), JK_EINVAL);
  bad = n, bad.protect = false;
  assert_int_equal(jk_notice_encode(&bad, enc, sizeof enc, &len), JK_EINVAL);
  assert_error_contains("until is only for a protection");
  bad = n, assert_int_equal(jk_date_parse("2026-11-19", &bad.until), JK_OK);
  assert_int_equal(jk_notice_encode(&bad, enc, sizeof enc, &len), JK_EINVAL);
  const char *purposes[] = {"B1-77,", ",B1-77", "B1-77,,B1-74", "B1-77,B1-77", "X", "B1-77 "};
  for (size_t i = 0; i < sizeof purposes / sizeof *purposes; i++) {
    bad = n;
    snprintf(bad.purposes, sizeof bad.purposes, "%s", purposes[i]);
    if (jk_notice_encode(&bad, enc, sizeof enc, &len) != JK_EINVAL) fail_msg("purposes '%s' accepted", purposes[i]);
  }
  /* no restriction at all is a restriction too: the measures ended */
  bad = n, bad.protect = false, bad.until = (jk_date){0, 0, 0}, bad.purposes[0] = '\0';
  assert_int_equal(jk_notice_encode(&bad, enc, sizeof enc, &len), JK_OK);
  /* a change or an erasure carries none of it */
  bad = n, bad.kind = JK_NOTICE_ERASE;
  assert_int_equal(jk_notice_encode(&bad, enc, sizeof enc, &len), JK_EINVAL);
  assert_error_contains("for a restriction only");
}

static void test_notice_layout_matches_docs(void **state) {
  (void)state;
  jk_notice n;
  change_notice(&n, SRC, 1);
  uint8_t buf[JK_NOTICE_ENCODED_MAX];
  size_t len;
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_OK);
  raw r;
  raw_notice(&r, defaults());
  assert_int_equal(len, r.n);
  assert_memory_equal(buf, r.b, len);
  /* the leaf is RFC 9162's: SHA-256(0x00 || encoding) */
  uint8_t leaf[32], want[32], pre[1 + JK_NOTICE_ENCODED_MAX];
  pre[0] = 0;
  memcpy(pre + 1, buf, len);
  crypto_hash_sha256(want, pre, len + 1);
  jk_notice_leaf(buf, len, leaf);
  assert_memory_equal(leaf, want, 32);
}

static void test_notice_roundtrip_every_field(void **state) {
  (void)state;
  jk_notice n;
  for (int reason = JK_MOVE_IN; reason < JK_MOVE__COUNT; reason++) {
    change_notice(&n, SRC, (uint64_t)reason * 1000003);
    n.reason = (jk_move_kind)reason;
    if (reason == JK_MOVE_CODE_CHANGE) code_of(9876543210ULL, n.prev_code);
    n.status = jk_move_class_of(n.reason) == JK_MOVE_CLASS_REMOVAL ? JK_STATUS_REMOVED : JK_STATUS_ACTIVE;
    n.sex = (reason & 1) ? JK_SEX_MALE : JK_SEX_FEMALE;
    n.version = reason * 7;
    roundtrip(&n);
  }
  /* limits: longest fields, the largest seq and version, extreme dates */
  change_notice(&n, SRC, UINT64_MAX);
  memset(n.name, 'A', JK_NAME_MAX);
  n.name[JK_NAME_MAX] = '\0';
  memset(n.address, 'B', JK_ADDRESS_MAX);
  n.address[JK_ADDRESS_MAX] = '\0';
  memset(n.source, 'x', JK_NODE_ID_MAX);
  n.source[JK_NODE_ID_MAX] = '\0';
  n.version = 0x7fffffff;
  n.birth = (jk_date){1, 1, 1};
  n.moved_on = (jk_date){9999, 12, 31};
  roundtrip(&n);
  uint8_t buf[JK_NOTICE_ENCODED_MAX + 16];
  size_t len;
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_OK);
  assert_true(len <= JK_NOTICE_ENCODED_MAX);
  /* a buffer one byte short */
  assert_int_equal(jk_notice_encode(&n, buf, len - 1, &len), JK_ETOOLARGE);
}

static void test_notice_roundtrip_erase(void **state) {
  (void)state;
  jk_notice n;
  memset(&n, 0, sizeof n);
  snprintf(n.source, sizeof n.source, "%s", SRC);
  n.seq = 42;
  n.kind = JK_NOTICE_ERASE;
  code_of(5555555555ULL, n.code);
  n.moved_on = (jk_date){2026, 11, 23};
  roundtrip(&n);
  uint8_t buf[JK_NOTICE_ENCODED_MAX];
  size_t len;
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_OK);
  assert_int_equal(len, 1 + 2 + strlen(SRC) + 8 + 1 + 11 + 4);
}

static void test_notice_from_identity(void **state) {
  (void)state;
  jk_identity id;
  memset(&id, 0, sizeof id);
  id.version = 3;
  code_of(111, id.code);
  id.name = "佐藤　花子";
  id.kana = "サトウ　ハナコ";
  id.birth = (jk_date){1990, 2, 28};
  id.sex = JK_SEX_FEMALE;
  id.address = "大阪府門真市中町1番1号";
  id.reason = JK_MOVE_IN;
  id.moved_on = (jk_date){2026, 4, 1};
  id.status = JK_STATUS_ACTIVE;
  jk_notice n;
  assert_int_equal(jk_notice_from_identity(&n, SRC, 7, &id), JK_OK);
  assert_string_equal(n.name, "佐藤　花子");
  assert_int_equal(n.version, 3);
  roundtrip(&n);
  char big[JK_ADDRESS_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  id.address = big;
  assert_int_equal(jk_notice_from_identity(&n, SRC, 7, &id), JK_ETOOLARGE);
  assert_error_contains("address");
}

static void test_notice_truncated_everywhere(void **state) {
  (void)state;
  jk_notice n, back;
  uint8_t buf[JK_NOTICE_ENCODED_MAX + 1];
  size_t len;
  for (int kind = 1; kind <= 2; kind++) {
    change_notice(&n, SRC, 9);
    if (kind == 2) {
      jk_notice e;
      memset(&e, 0, sizeof e);
      memcpy(e.source, n.source, sizeof e.source);
      e.seq = 9;
      e.kind = JK_NOTICE_ERASE;
      memcpy(e.code, n.code, sizeof e.code);
      e.moved_on = n.moved_on;
      n = e;
    }
    assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_OK);
    for (size_t cut = 0; cut < len; cut++) {
      jk_err e = jk_notice_decode(&back, buf, cut);
      if (e != JK_EINVAL) fail_msg("cut at %zu: %d (%s)", cut, e, jk_error_last());
      assert_error_contains("truncated");
    }
    buf[len] = 0;
    assert_int_equal(jk_notice_decode(&back, buf, len + 1), JK_EINVAL);
    assert_error_contains("1 trailing bytes");
  }
  assert_int_equal(jk_notice_decode(&back, NULL, 0), JK_EINVAL);
}

static void test_notice_refusals(void **state) {
  (void)state;
  raw_opts o;
  char code[12];
  code_of(1234567891ULL, code);
  code[10] = (char)('0' + (code[10] - '0' + 1) % 10);
  o = defaults(), o.code = code;
  expect_refused(o, JK_EINVAL, "check digit");
  o = defaults(), o.code = "12345x78901";
  expect_refused(o, JK_EINVAL, "code");
  o = defaults(), o.by = 2001, o.bm = 2, o.bd = 29;
  expect_refused(o, JK_EINVAL, "birth is not a valid date");
  o = defaults(), o.bm = 13;
  expect_refused(o, JK_EINVAL, "birth");
  o = defaults(), o.by = 2027; /* born after the move */
  expect_refused(o, JK_EINVAL, "moved_on is before birth");
  o = defaults(), o.version_byte = 2;
  expect_refused(o, JK_EINVAL, "layout version 2");
  o = defaults(), o.kind = 4;
  expect_refused(o, JK_EINVAL, "unknown kind 4");
  o = defaults(), o.kind = 0;
  expect_refused(o, JK_EINVAL, "unknown kind 0");
  o = defaults(), o.sex = 0;
  expect_refused(o, JK_EINVAL, "sex 0");
  o = defaults(), o.sex = 3;
  expect_refused(o, JK_EINVAL, "sex 3");
  o = defaults(), o.reason = 0;
  expect_refused(o, JK_EINVAL, "reason 0");
  o = defaults(), o.reason = JK_MOVE__COUNT;
  expect_refused(o, JK_EINVAL, "reason 10");
  o = defaults(), o.reason = JK_MOVE_CODE_CHANGE; /* without prev_code */
  expect_refused(o, JK_EINVAL, "prev_code is required");
  o = defaults(), o.status = 0;
  expect_refused(o, JK_EINVAL, "status 0");
  o = defaults(), o.status = 3;
  expect_refused(o, JK_EINVAL, "status 3");
  o = defaults(), o.name = "\xe5\xb1\xb1\xff", o.name_len = 4;
  expect_refused(o, JK_EINVAL, "name is not valid UTF-8");
  o = defaults(), o.name = "\xc0\xaf", o.name_len = 2; /* overlong */
  expect_refused(o, JK_EINVAL, "name is not valid UTF-8");
  o = defaults(), o.name = "ab\0cd", o.name_len = 5;
  expect_refused(o, JK_EINVAL, "name");
  o = defaults(), o.name = "a\tb", o.name_len = 3;
  expect_refused(o, JK_EINVAL, "control character");
  o = defaults(), o.name = "", o.name_len = 0;
  expect_refused(o, JK_EINVAL, "name is empty");
  char longname[JK_NAME_MAX + 1];
  memset(longname, 'A', sizeof longname);
  o = defaults(), o.name = longname, o.name_len = JK_NAME_MAX + 1;
  expect_refused(o, JK_ETOOLARGE, "name is longer than 200 bytes");
  o = defaults(), o.name = longname, o.name_len = JK_NAME_MAX;
  raw r;
  jk_notice n;
  raw_notice(&r, o);
  assert_int_equal(jk_notice_decode(&n, r.b, r.n), JK_OK); /* exactly at the limit */

  /* encoder refuses the same things */
  uint8_t buf[JK_NOTICE_ENCODED_MAX];
  size_t len;
  change_notice(&n, SRC, 0);
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("seq");
  change_notice(&n, "bad id", 1);
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("source is not a node id");
  change_notice(&n, SRC, 1);
  snprintf(n.kana, sizeof n.kana, "山田");
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("not kana");
  change_notice(&n, SRC, 1);
  code_of(1, n.prev_code);
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("prev_code is only for a code change");
  change_notice(&n, SRC, 1);
  n.reason = JK_MOVE_CODE_CHANGE;
  memcpy(n.prev_code, n.code, sizeof n.code);
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("prev_code equals");
  change_notice(&n, SRC, 1);
  n.version = 0;
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("version");
  change_notice(&n, SRC, 1);
  memset(n.address, 'a', sizeof n.address); /* not terminated */
  assert_int_equal(jk_notice_encode(&n, buf, sizeof buf, &len), JK_ETOOLARGE);
  assert_error_contains("address");

  /* a whole decoded notice larger than the largest encoding */
  static uint8_t huge[JK_NOTICE_ENCODED_MAX + 1];
  assert_int_equal(jk_notice_decode(&n, huge, sizeof huge), JK_ETOOLARGE);
}

/* ---- an outbox and a ledger to build batches from ---- */

typedef struct tree {
  uint8_t (*leaves)[32];
  size_t n;
} tree;

static jk_err tree_leaves(uint64_t first, size_t count, uint8_t (*out)[32], void *payload) {
  tree *t = payload;
  memcpy(out, t->leaves + first, count * 32);
  return JK_OK;
}

static jk_merkle_source tree_src(tree *t) {
  jk_merkle_source s = {tree_leaves, NULL, t};
  return s;
}

typedef struct outbox {
  char node[64];
  uint8_t enc[64][JK_NOTICE_ENCODED_MAX];
  size_t len[64];
  uint8_t leaves[64][32];
  size_t n;
  uint8_t paths[64][JK_MERKLE_MAX_PATH][32];
  size_t path_len[64];
} outbox;

static void outbox_add(outbox *o, const jk_notice *n) {
  assert_int_equal(jk_notice_encode(n, o->enc[o->n], sizeof o->enc[0], &o->len[o->n]), JK_OK);
  jk_notice_leaf(o->enc[o->n], o->len[o->n], o->leaves[o->n]);
  o->n++;
}

static void outbox_fill(outbox *o, const char *node, size_t n) {
  memset(o, 0, sizeof *o);
  snprintf(o->node, sizeof o->node, "%s", node);
  for (size_t i = 0; i < n; i++) {
    jk_notice x;
    change_notice(&x, node, i + 1);
    if (i % 5 == 4) { /* an erasure now and then */
      x.kind = JK_NOTICE_ERASE;
      x.prev_code[0] = '\0';
    }
    jk_notice y;
    memset(&y, 0, sizeof y);
    if (x.kind == JK_NOTICE_ERASE) {
      memcpy(y.source, x.source, sizeof y.source);
      y.seq = x.seq;
      y.kind = x.kind;
      memcpy(y.code, x.code, sizeof y.code);
      y.moved_on = x.moved_on;
      x = y;
    }
    outbox_add(o, &x);
  }
}

/* The signed head of the first `size` notices and their proofs. */
static void outbox_head(outbox *o, uint64_t size, key *k, jk_outbox_head *h) {
  tree t = {o->leaves, o->n};
  jk_merkle_source s = tree_src(&t);
  memset(h, 0, sizeof *h);
  snprintf(h->node, sizeof h->node, "%s", o->node);
  h->size = size;
  assert_int_equal(jk_merkle_range_root(0, size, &s, h->root), JK_OK);
  snprintf(h->at, sizeof h->at, "2026-11-23T09:00:00.000000Z");
  jk_ledger_signer sg = signer_of(k);
  assert_int_equal(jk_outbox_head_sign(h, &sg), JK_OK);
  for (uint64_t i = 0; i < size; i++)
    assert_int_equal(jk_merkle_inclusion_proof(i, size, &s, o->paths[i], &o->path_len[i]), JK_OK);
}

typedef struct ledger {
  uint8_t leaves[256][32];
  size_t n;
} ledger;

static void ledger_fill(ledger *l, size_t n, unsigned variant_at) {
  l->n = n;
  for (size_t i = 0; i < n; i++) {
    char entry[64];
    snprintf(entry, sizeof entry, "entry %zu%s", i + 1, i + 1 == variant_at ? " (rewritten)" : "");
    jk_merkle_leaf_hash(entry, strlen(entry), l->leaves[i]);
  }
}

static void ledger_head(ledger *l, const char *node, int64_t size, key *k, jk_ledger_head_row *h) {
  tree t = {l->leaves, l->n};
  jk_merkle_source s = tree_src(&t);
  memset(h, 0, sizeof *h);
  h->size = size;
  assert_int_equal(jk_merkle_range_root(0, (uint64_t)size, &s, h->root), JK_OK);
  snprintf(h->at, sizeof h->at, "2026-11-23T09:00:01.000000Z");
  uint8_t msg[JK_LEDGER_HEAD_MSG_MAX];
  size_t len;
  assert_int_equal(jk_ledger_head_message(node, h, msg, sizeof msg, &len), JK_OK);
  crypto_sign_detached(h->sig, NULL, msg, len, k->sk);
}

static void ledger_proof(ledger *l, uint64_t old_size, uint64_t new_size, jk_batch *b) {
  tree t = {l->leaves, l->n};
  jk_merkle_source s = tree_src(&t);
  b->ledger_old_size = old_size;
  b->ledger_path_len = 0;
  if (old_size) assert_int_equal(jk_merkle_consistency_proof(old_size, new_size, &s, b->ledger_path,
                                                             &b->ledger_path_len), JK_OK);
}

static outbox ob;
static ledger lg;
static jk_batch_item items[64];

/* A batch of notices first..first+count-1 of `ob` from `sender` (signed with ks) to `receiver`. */
static void make_batch(jk_batch *b, const char *sender, const char *receiver, key *ks, uint64_t first, size_t count,
                       uint64_t head_size, uint64_t old_size, int64_t lsize) {
  memset(b, 0, sizeof *b);
  snprintf(b->sender, sizeof b->sender, "%s", sender);
  snprintf(b->receiver, sizeof b->receiver, "%s", receiver);
  snprintf(b->source, sizeof b->source, "%s", ob.node);
  outbox_head(&ob, head_size, &k_src, &b->outbox);
  b->first_seq = count ? first : 0;
  b->count = count;
  for (size_t i = 0; i < count; i++) {
    size_t k = (size_t)first - 1 + i;
    items[i] = (jk_batch_item){ob.enc[k], ob.len[k], (const uint8_t(*)[32])ob.paths[k], ob.path_len[k], 0};
  }
  b->items = items;
  ledger_head(&lg, sender, lsize, ks, &b->ledger);
  ledger_proof(&lg, old_size, (uint64_t)lsize, b);
}

/* encode, decode, and hand back the decoded batch */
static jk_batch *wire(const jk_batch *b) {
  uint8_t *bytes;
  size_t len;
  jk_batch *d;
  jk_err e = jk_batch_encode(b, &bytes, &len);
  if (e) fail_msg("encode: %s", jk_error_last());
  e = jk_batch_decode(&d, bytes, len);
  if (e) fail_msg("decode: %s", jk_error_last());
  jk_free(bytes);
  return d;
}

static void test_batch_roundtrip_and_verify(void **state) {
  (void)state;
  outbox_fill(&ob, SRC, 20);
  ledger_fill(&lg, 100, 0);
  jk_batch b;
  make_batch(&b, SRC, PREF, &k_src, 6, 10, 17, 40, 60);
  jk_batch *d = wire(&b);
  assert_string_equal(d->sender, SRC);
  assert_string_equal(d->receiver, PREF);
  assert_string_equal(d->source, SRC);
  assert_string_equal(d->outbox.node, SRC);
  assert_true(d->first_seq == 6);
  assert_int_equal(d->count, 10);
  for (size_t i = 0; i < 10; i++) {
    assert_true(d->items[i].seq == 6 + i);
    assert_int_equal(d->items[i].enc_len, b.items[i].enc_len);
    assert_memory_equal(d->items[i].enc, b.items[i].enc, b.items[i].enc_len);
    assert_int_equal(d->items[i].path_len, b.items[i].path_len);
  }
  assert_true(d->ledger.size == 60);
  assert_memory_equal(d->ledger.sig, b.ledger.sig, 64);
  assert_true(d->ledger_old_size == 40);
  assert_int_equal(d->ledger_path_len, b.ledger_path_len);
  /* the receiver acknowledged the sender's ledger at 40 entries before */
  jk_ledger_ack ack = {40, {0}};
  tree t = {lg.leaves, lg.n};
  jk_merkle_source s = tree_src(&t);
  assert_int_equal(jk_merkle_range_root(0, 40, &s, ack.root), JK_OK);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_OK);
  /* re-encoding the decoded batch gives the same bytes */
  uint8_t *b1, *b2;
  size_t l1, l2;
  assert_int_equal(jk_batch_encode(&b, &b1, &l1), JK_OK);
  assert_int_equal(jk_batch_encode(d, &b2, &l2), JK_OK);
  assert_int_equal(l1, l2);
  assert_memory_equal(b1, b2, l1);
  jk_free(b1);
  jk_free(b2);
  jk_batch_free(d);

  /* the first batch ever: no acknowledged head, no proof */
  make_batch(&b, SRC, PREF, &k_src, 1, 20, 20, 0, 100);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_OK);
  jk_batch_free(d);
  /* an empty batch: only the ledger head, to be countersigned */
  make_batch(&b, SRC, PREF, &k_src, 0, 0, 20, 100, 100);
  d = wire(&b);
  assert_int_equal(d->count, 0);
  jk_ledger_ack ack100 = {100, {0}};
  assert_int_equal(jk_merkle_range_root(0, 100, &s, ack100.root), JK_OK);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack100), JK_OK);
  jk_batch_free(d);
  jk_batch_free(NULL);
}

/* A prefecture forwards the municipality's notices unchanged: the municipal head and proofs
 * verify with the municipality's key; the ledger head is the prefecture's own. */
static void test_batch_forwarded(void **state) {
  (void)state;
  outbox_fill(&ob, SRC, 12);
  ledger_fill(&lg, 30, 0);
  jk_batch b;
  make_batch(&b, PREF, NATION, &k_pref, 1, 12, 12, 0, 30);
  jk_batch *d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_pref.pk, NULL), JK_OK);
  /* the prefecture's key does not make a municipal head */
  assert_int_equal(jk_batch_verify(d, k_pref.pk, k_pref.pk, NULL), JK_ECRYPTO);
  assert_error_contains("outbox head of " SRC);
  /* nor the municipality's key a prefectural ledger head */
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECRYPTO);
  assert_error_contains("ledger head of sender " PREF);
  jk_batch_free(d);
}

static void test_batch_verify_refusals(void **state) {
  (void)state;
  outbox_fill(&ob, SRC, 16);
  ledger_fill(&lg, 50, 0);
  jk_batch b, *d;
  uint8_t *bytes;
  size_t len;

  /* a flipped byte inside a notice (still a well-formed notice: an address digit) */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_OK);
  uint8_t *digit = memmem(bytes, len, "2\xe4\xb8\x81", 4); /* "2丁" of the first notice */
  assert_non_null(digit);
  *digit = '3';
  assert_int_equal(jk_batch_decode(&d, bytes, len), JK_OK);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice seq 1: its inclusion proof does not verify");
  jk_batch_free(d);
  jk_free(bytes);

  /* a wrong proof: notice 3 carries notice 4's path */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  items[2].path = (const uint8_t(*)[32])ob.paths[3];
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice seq 3");
  jk_batch_free(d);
  /* a proof one hash short */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  items[5].path_len--;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice seq 6");
  jk_batch_free(d);

  /* a bad outbox head signature, and a root changed under it */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  b.outbox.sig[10] ^= 1;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECRYPTO);
  assert_error_contains("signature on the outbox head");
  jk_batch_free(d);
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  b.outbox.root[0] ^= 1;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECRYPTO);
  jk_batch_free(d);
  /* a head that does not cover the notices sent */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 6, 0, 50);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice seq 7 is beyond the outbox head (6 notices)");
  jk_batch_free(d);

  /* a gap: 1, 2, 4 */
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 16, 0, 50);
  items[2] = items[3];
  items[2] = (jk_batch_item){ob.enc[3], ob.len[3], (const uint8_t(*)[32])ob.paths[3], ob.path_len[3], 0};
  b.count = 3;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice 3 has seq 4 where seq 3 belongs");
  jk_batch_free(d);
  /* a header first_seq that lies */
  make_batch(&b, SRC, PREF, &k_src, 2, 4, 16, 0, 50);
  b.first_seq = 1;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  jk_batch_free(d);

  /* a notice of another source, even one inside the source's own signed outbox */
  outbox_fill(&ob, SRC, 4);
  jk_notice other;
  change_notice(&other, "272230-0000000000000000", 5);
  outbox_add(&ob, &other);
  make_batch(&b, SRC, PREF, &k_src, 1, 5, 5, 0, 50);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  assert_error_contains("notice seq 5 is from 272230-0000000000000000");
  jk_batch_free(d);

  /* a bad ledger head signature */
  outbox_fill(&ob, SRC, 16);
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  b.ledger.sig[63] ^= 0x20;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECRYPTO);
  assert_error_contains("ledger head of sender");
  jk_batch_free(d);
  /* the source's head and the sender's ledger head are bound to their node ids */
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  snprintf(b.source, sizeof b.source, "272230-0000000000000000");
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECRYPTO);
  jk_batch_free(d);
  make_batch(&b, SRC, PREF, &k_src, 1, 8, 16, 0, 50);
  b.outbox.node[0] = '9'; /* caller-built batch whose head names another node */
  assert_int_equal(jk_batch_verify(&b, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
}

/* REQ: a node that rewrites its past is caught by the next node up (DESIGN §5, §6). */
static void test_batch_rewritten_past_detected(void **state) {
  (void)state;
  outbox_fill(&ob, SRC, 4);
  ledger honest, forged;
  ledger_fill(&honest, 40, 0);
  ledger_fill(&forged, 40, 7); /* entry 7 rewritten */
  tree t = {honest.leaves, honest.n};
  jk_merkle_source s = tree_src(&t);
  jk_ledger_ack ack = {20, {0}};
  assert_int_equal(jk_merkle_range_root(0, 20, &s, ack.root), JK_OK); /* countersigned before */

  jk_batch b, *d;
  lg = honest;
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 20, 40);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_OK);
  jk_batch_free(d);

  /* the forged ledger: its head is validly signed, its own proof is internally consistent */
  lg = forged;
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 20, 40);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_ECORRUPT);
  assert_error_contains("rewrote its past");
  /* the honest proof does not rescue the forged root either */
  lg = honest;
  jk_batch b2;
  make_batch(&b2, SRC, PREF, &k_src, 1, 4, 4, 20, 40);
  memcpy(d->ledger_path, b2.ledger_path, sizeof d->ledger_path);
  d->ledger_path_len = b2.ledger_path_len;
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_ECORRUPT);
  jk_batch_free(d);

  /* a shorter ledger than the one acknowledged (the tail deleted) */
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 0, 15);
  b.ledger_old_size = 20;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_ECORRUPT);
  assert_error_contains("shrank from 20 to 15");
  jk_batch_free(d);

  /* the same size, another root */
  lg = forged;
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 20, 20);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_ECORRUPT);
  jk_batch_free(d);

  /* the sender starts from another size than the one acknowledged: ask for a resync */
  lg = honest;
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 10, 40);
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, &ack), JK_ECONFLICT);
  assert_error_contains("acknowledged last has 20");
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECONFLICT);
  jk_batch_free(d);
  /* no acknowledged head, but a proof anyway */
  make_batch(&b, SRC, PREF, &k_src, 1, 4, 4, 10, 40);
  b.ledger_old_size = 0;
  d = wire(&b);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_ECORRUPT);
  jk_batch_free(d);
}

static void test_batch_decode_refusals(void **state) {
  (void)state;
  outbox_fill(&ob, SRC, 3);
  ledger_fill(&lg, 10, 0);
  jk_batch b, *d;
  uint8_t *bytes;
  size_t len;
  make_batch(&b, SRC, PREF, &k_src, 1, 3, 3, 5, 10);
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_OK);
  /* truncated at every byte position */
  for (size_t cut = 0; cut < len; cut++) {
    jk_err e = jk_batch_decode(&d, bytes, cut);
    if (e != JK_EINVAL) fail_msg("cut at %zu: %d (%s)", cut, e, jk_error_last());
    assert_null(d);
    assert_error_contains("truncated");
  }
  /* trailing garbage */
  uint8_t *more = malloc(len + 1);
  memcpy(more, bytes, len);
  more[len] = 0;
  assert_int_equal(jk_batch_decode(&d, more, len + 1), JK_EINVAL);
  assert_error_contains("1 trailing bytes");
  /* bad magic, bad version */
  more[0] = 'J';
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  assert_error_contains("bad magic");
  memcpy(more, bytes, len);
  more[8] = 2;
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  assert_error_contains("layout version 2");
  /* too many notices: count is after magic, version, three ids and first_seq */
  size_t count_at = 8 + 1 + 3 * 2 + strlen(SRC) + strlen(PREF) + strlen(SRC) + 8;
  memcpy(more, bytes, len);
  assert_int_equal(more[count_at + 3], 3);
  more[count_at + 2] = 0x27, more[count_at + 3] = 0x11; /* 10001 */
  assert_int_equal(jk_batch_decode(&d, more, len), JK_ETOOLARGE);
  assert_error_contains("10001 notices");
  more[count_at] = 0xff; /* 4 billion */
  assert_int_equal(jk_batch_decode(&d, more, len), JK_ETOOLARGE);
  /* a count the body cannot hold */
  more[count_at] = 0, more[count_at + 2] = 0x03, more[count_at + 3] = 0xe8; /* 1000 */
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  /* a notice length over the limit */
  size_t first_item = count_at + 4 + 8 + 32 + 2 + JK_SYNC_TIME_LEN + 64;
  memcpy(more, bytes, len);
  more[first_item + 2] = 0x40;
  assert_int_equal(jk_batch_decode(&d, more, len), JK_ETOOLARGE);
  assert_error_contains("notice 1 has");
  /* a bad notice inside: the kind byte of notice 1 */
  memcpy(more, bytes, len);
  more[first_item + 4 + 1 + 2 + strlen(SRC) + 8] = 9;
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  assert_error_contains("notice 1: notice: unknown kind 9");
  /* a proof longer than 64 hashes */
  memcpy(more, bytes, len);
  more[first_item + 4 + ob.len[0]] = 65;
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  assert_error_contains("more than 64");
  /* an empty batch must say first_seq 0 */
  memcpy(more, bytes, len);
  memset(more + count_at, 0, 4);
  assert_int_equal(jk_batch_decode(&d, more, len), JK_EINVAL);
  assert_error_contains("first_seq must be 0");
  free(more);
  jk_free(bytes);

  /* a body over 16 MiB is refused before it is read */
  uint8_t *big = calloc(1, (size_t)JK_BATCH_MAX_BYTES + 1);
  assert_int_equal(jk_batch_decode(&d, big, (size_t)JK_BATCH_MAX_BYTES + 1), JK_ETOOLARGE);
  free(big);
  assert_int_equal(jk_batch_decode(&d, NULL, 0), JK_EINVAL);

  /* the encoder refuses more than 10,000 notices and malformed parts */
  make_batch(&b, SRC, PREF, &k_src, 1, 3, 3, 0, 10);
  b.count = JK_BATCH_MAX_NOTICES + 1;
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_ETOOLARGE);
  make_batch(&b, SRC, PREF, &k_src, 1, 3, 3, 0, 10);
  items[1].enc_len--;
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_EINVAL);
  assert_error_contains("notice 2");
  make_batch(&b, SRC, PREF, &k_src, 1, 3, 3, 0, 10);
  snprintf(b.receiver, sizeof b.receiver, "a b");
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_EINVAL);
  assert_error_contains("receiver is not a node id");
  make_batch(&b, SRC, PREF, &k_src, 1, 3, 3, 0, 10);
  snprintf(b.ledger.at, sizeof b.ledger.at, "2026-02-30T00:00:00.000000Z");
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_EINVAL);
  assert_error_contains("ledger head at");
}

/* Every complete subtree of a tree, so that proofs over 10,000 leaves read O(log n) hashes. */
typedef struct cached {
  tree t;
  uint8_t (*level[16])[32];
} cached;

static jk_err cached_subtree(unsigned level, uint64_t index, uint8_t out[32], void *payload) {
  cached *c = payload;
  if (level >= 16 || !c->level[level]) return JK_ENOTFOUND;
  memcpy(out, c->level[level][index], 32);
  return JK_OK;
}

static jk_err cached_leaves(uint64_t first, size_t count, uint8_t (*out)[32], void *payload) {
  return tree_leaves(first, count, out, &((cached *)payload)->t);
}

/* A batch of the full 10,000 notices stays under 16 MiB and verifies. */
static void test_batch_full_size(void **state) {
  (void)state;
  enum { N = JK_BATCH_MAX_NOTICES };
  uint8_t (*enc)[JK_NOTICE_ENCODED_MAX] = malloc((size_t)N * JK_NOTICE_ENCODED_MAX);
  size_t *lens = malloc(N * sizeof *lens);
  uint8_t (*leaves)[32] = malloc((size_t)N * 32);
  uint8_t (*paths)[JK_MERKLE_MAX_PATH][32] = malloc((size_t)N * sizeof *paths);
  jk_batch_item *its = calloc(N, sizeof *its);
  jk_batch b;
  memset(&b, 0, sizeof b);
  for (size_t i = 0; i < N; i++) {
    jk_notice n;
    change_notice(&n, SRC, i + 1);
    memset(n.address, 'a', JK_ADDRESS_MAX); /* the largest notices */
    n.address[JK_ADDRESS_MAX] = '\0';
    assert_int_equal(jk_notice_encode(&n, enc[i], JK_NOTICE_ENCODED_MAX, &lens[i]), JK_OK);
    jk_notice_leaf(enc[i], lens[i], leaves[i]);
  }
  cached c;
  memset(&c, 0, sizeof c);
  c.t = (tree){leaves, N};
  for (unsigned l = 1; l < 16 && (N >> l) > 0; l++) {
    size_t cnt = N >> l;
    c.level[l] = malloc(cnt * 32);
    for (size_t i = 0; i < cnt; i++) {
      const uint8_t *left = l == 1 ? leaves[2 * i] : c.level[l - 1][2 * i];
      const uint8_t *right = l == 1 ? leaves[2 * i + 1] : c.level[l - 1][2 * i + 1];
      jk_merkle_node_hash(left, right, c.level[l][i]);
    }
  }
  jk_merkle_source s = {cached_leaves, cached_subtree, &c};
  snprintf(b.sender, sizeof b.sender, SRC);
  snprintf(b.receiver, sizeof b.receiver, PREF);
  snprintf(b.source, sizeof b.source, SRC);
  snprintf(b.outbox.node, sizeof b.outbox.node, SRC);
  b.outbox.size = N;
  assert_int_equal(jk_merkle_range_root(0, N, &s, b.outbox.root), JK_OK);
  snprintf(b.outbox.at, sizeof b.outbox.at, "2026-11-23T09:00:00.000000Z");
  jk_ledger_signer sg = signer_of(&k_src);
  assert_int_equal(jk_outbox_head_sign(&b.outbox, &sg), JK_OK);
  for (size_t i = 0; i < N; i++) {
    size_t pl;
    assert_int_equal(jk_merkle_inclusion_proof(i, N, &s, paths[i], &pl), JK_OK);
    its[i] = (jk_batch_item){enc[i], lens[i], (const uint8_t(*)[32])paths[i], pl, 0};
  }
  b.first_seq = 1;
  b.count = N;
  b.items = its;
  ledger_fill(&lg, 10, 0);
  ledger_head(&lg, SRC, 10, &k_src, &b.ledger);
  uint8_t *bytes;
  size_t len;
  jk_batch *d;
  assert_int_equal(jk_batch_encode(&b, &bytes, &len), JK_OK);
  assert_true(len <= JK_BATCH_MAX_BYTES);
  assert_int_equal(jk_batch_decode(&d, bytes, len), JK_OK);
  assert_int_equal(jk_batch_verify(d, k_src.pk, k_src.pk, NULL), JK_OK);
  jk_batch_free(d);
  jk_free(bytes);
  free(enc);
  free(lens);
  free(leaves);
  free(paths);
  free(its);
  for (unsigned l = 0; l < 16; l++) free(c.level[l]);
}

/* ---- receipts ---- */

static void make_receipt(jk_receipt *r) {
  memset(r, 0, sizeof *r);
  snprintf(r->receiver, sizeof r->receiver, PREF);
  snprintf(r->sender, sizeof r->sender, SRC);
  snprintf(r->source, sizeof r->source, SRC);
  r->highest_seq = 1234;
  r->ledger_size = 5678;
  memset(r->ledger_root, 0xab, 32);
  snprintf(r->at, sizeof r->at, "2026-11-23T09:00:02.123456Z");
  jk_ledger_signer sg = signer_of(&k_pref);
  assert_int_equal(jk_receipt_sign(r, &sg), JK_OK);
}

static void test_receipt_roundtrip_and_tampering(void **state) {
  (void)state;
  jk_receipt r, back;
  make_receipt(&r);
  assert_true(jk_receipt_verify(&r, k_pref.pk));
  assert_false(jk_receipt_verify(&r, k_src.pk));
  uint8_t buf[JK_RECEIPT_ENCODED_MAX + 1];
  size_t len;
  assert_int_equal(jk_receipt_encode(&r, buf, sizeof buf, &len), JK_OK);
  assert_int_equal(len, 1 + 3 * 2 + strlen(PREF) + 2 * strlen(SRC) + 8 + 8 + 32 + 2 + 27 + 64);
  assert_int_equal(jk_receipt_decode(&back, buf, len), JK_OK);
  assert_memory_equal(&r, &back, sizeof r);
  assert_true(jk_receipt_verify(&back, k_pref.pk));
  /* every flipped bit is refused or fails the signature */
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (uint8_t)(1u << bit);
      if (jk_receipt_decode(&back, buf, len) == JK_OK && jk_receipt_verify(&back, k_pref.pk))
        fail_msg("byte %zu bit %d flipped and still verifies", i, bit);
      buf[i] ^= (uint8_t)(1u << bit);
    }
  }
  for (size_t cut = 0; cut < len; cut++) {
    assert_int_equal(jk_receipt_decode(&back, buf, cut), JK_EINVAL);
    assert_error_contains("truncated");
  }
  buf[len] = 0;
  assert_int_equal(jk_receipt_decode(&back, buf, len + 1), JK_EINVAL);
  assert_error_contains("trailing");
  /* the fields are what is signed */
  r.highest_seq++;
  assert_false(jk_receipt_verify(&r, k_pref.pk));
  make_receipt(&r);
  r.ledger_root[31] ^= 1;
  assert_false(jk_receipt_verify(&r, k_pref.pk));
  make_receipt(&r);
  snprintf(r.at, sizeof r.at, "yesterday");
  assert_int_equal(jk_receipt_encode(&r, buf, sizeof buf, &len), JK_EINVAL);
  assert_error_contains("at is not a UTC time");
  assert_false(jk_receipt_verify(&r, k_pref.pk));
}

static void test_outbox_head_message(void **state) {
  (void)state;
  jk_outbox_head h;
  memset(&h, 0, sizeof h);
  snprintf(h.node, sizeof h.node, SRC);
  h.size = 3;
  snprintf(h.at, sizeof h.at, "2026-11-23T09:00:00.000000Z");
  uint8_t msg[JK_OUTBOX_HEAD_MSG_MAX];
  size_t len;
  assert_int_equal(jk_outbox_head_message(&h, msg, sizeof msg, &len), JK_OK);
  assert_int_equal(len, 23 + 2 + strlen(SRC) + 8 + 32 + 2 + 27);
  assert_memory_equal(msg, "jukinet outbox head v1\0", 23);
  /* distinct from the ledger's tree head message, so one can never pass for the other */
  assert_true(memcmp(msg, "jukinet tree head v1", 20) != 0);
  jk_ledger_signer sg = signer_of(&k_src);
  assert_int_equal(jk_outbox_head_sign(&h, &sg), JK_OK);
  assert_true(jk_outbox_head_verify(&h, k_src.pk));
  h.size = 4;
  assert_false(jk_outbox_head_verify(&h, k_src.pk));
  h.size = 3;
  snprintf(h.at, sizeof h.at, "2026-11-23T24:00:00.000000Z");
  assert_false(jk_outbox_head_verify(&h, k_src.pk));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_notice_layout_matches_docs),
      cmocka_unit_test(test_notice_roundtrip_every_field),
      cmocka_unit_test(test_notice_roundtrip_erase),
      cmocka_unit_test(test_notice_from_identity),
      cmocka_unit_test(test_notice_truncated_everywhere),
      cmocka_unit_test(test_notice_refusals),
      cmocka_unit_test(test_notice_restrict),
      cmocka_unit_test(test_outbox_head_message),
      cmocka_unit_test(test_batch_roundtrip_and_verify),
      cmocka_unit_test(test_batch_forwarded),
      cmocka_unit_test(test_batch_verify_refusals),
      cmocka_unit_test(test_batch_rewritten_past_detected),
      cmocka_unit_test(test_batch_decode_refusals),
      cmocka_unit_test(test_batch_full_size),
      cmocka_unit_test(test_receipt_roundtrip_and_tampering),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
