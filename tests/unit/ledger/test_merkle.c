/*
 * The RFC 9162 Merkle tree (include/jukinet/merkle.h).
 *
 * The reference is an independent, naive implementation written here straight from the RFC's
 * recursive definitions (MTH, PATH, SUBPROOF), hashing with libsodium rather than the library's
 * nettle, memoised over ranges. Against it: every tree size 1..130, every leaf index and every old
 * size, with four sources (no cache, a cache of every level, a cache of levels >= 3 only, and a
 * cache that never hits). Plus the RFC 6962 vectors of certificate-transparency /
 * transparency-dev/merkle (testonly/constants.go, proof/verify_test.go), tamper tests, a
 * 1,060,921-leaf tree with a level >= 8 cache (counting what proofs read), trees of up to 2^63
 * leaves, argument checking and source failures.
 */
#include "testutil.h"

#include <sodium.h>

#include "jukinet/merkle.h"

#define HL JK_MERKLE_HASH_LEN
#define MAXP JK_MERKLE_MAX_PATH

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return sodium_init() < 0 ? -1 : 0;
}

static void unhex(const char *h, uint8_t *out, size_t n) {
  assert_int_equal(strlen(h), 2 * n);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

static void assert_hash_hex(const uint8_t h[HL], const char *hex) {
  uint8_t want[HL];
  unhex(hex, want, HL);
  assert_memory_equal(h, want, HL);
}

/* ---- the reference: libsodium SHA-256, the RFC's recursion, memoised ---- */

static void ref_leaf(const void *data, size_t len, uint8_t out[HL]) {
  crypto_hash_sha256_state st;
  const uint8_t z = 0;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &z, 1);
  crypto_hash_sha256_update(&st, data, len);
  crypto_hash_sha256_final(&st, out);
}

static void ref_node(const uint8_t l[HL], const uint8_t r[HL], uint8_t out[HL]) {
  crypto_hash_sha256_state st;
  const uint8_t one = 1;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &one, 1);
  crypto_hash_sha256_update(&st, l, HL);
  crypto_hash_sha256_update(&st, r, HL);
  crypto_hash_sha256_final(&st, out);
}

#define NREF 300 /* leaves of the reference tree */
static uint8_t ref_leaves[NREF][HL];
static uint8_t memo[NREF + 1][NREF + 1][HL];
static bool memo_ok[NREF + 1][NREF + 1];

static uint64_t ref_k(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/* MTH(D[start : start+n]) */
static const uint8_t *ref_mth(uint64_t start, uint64_t n) {
  assert_true(start + n <= NREF);
  if (memo_ok[start][n]) return memo[start][n];
  if (n == 0) crypto_hash_sha256(memo[start][n], NULL, 0);
  else if (n == 1) memcpy(memo[start][n], ref_leaves[start], HL);
  else {
    uint64_t k = ref_k(n);
    ref_node(ref_mth(start, k), ref_mth(start + k, n - k), memo[start][n]);
  }
  memo_ok[start][n] = true;
  return memo[start][n];
}

/* PATH(m, D[start : start+n]) */
static void ref_path(uint64_t m, uint64_t start, uint64_t n, uint8_t (*out)[HL], size_t *len) {
  if (n <= 1) return;
  uint64_t k = ref_k(n);
  if (m < k) {
    ref_path(m, start, k, out, len);
    memcpy(out[(*len)++], ref_mth(start + k, n - k), HL);
  } else {
    ref_path(m - k, start + k, n - k, out, len);
    memcpy(out[(*len)++], ref_mth(start, k), HL);
  }
}

/* SUBPROOF(m, D[start : start+n], b) */
static void ref_subproof(uint64_t m, uint64_t start, uint64_t n, bool b, uint8_t (*out)[HL], size_t *len) {
  if (m == n) {
    if (!b) memcpy(out[(*len)++], ref_mth(start, n), HL);
    return;
  }
  uint64_t k = ref_k(n);
  if (m <= k) {
    ref_subproof(m, start, k, b, out, len);
    memcpy(out[(*len)++], ref_mth(start + k, n - k), HL);
  } else {
    ref_subproof(m - k, start + k, n - k, false, out, len);
    memcpy(out[(*len)++], ref_mth(start, k), HL);
  }
}

static void ref_init(void) {
  static bool done;
  if (done) return;
  for (unsigned i = 0; i < NREF; i++) {
    char d[32];
    int n = snprintf(d, sizeof d, "entry %u", i * 7919u);
    ref_leaf(d, (size_t)n, ref_leaves[i]);
  }
  done = true;
}

/* ---- a test source: leaves from an array, or a uniform tree of any size; optional cache ---- */

enum { CACHE_NONE, CACHE_TABLE, CACHE_MISS };

typedef struct tsrc {
  const uint8_t (*leaf)[HL];
  uint64_t nleaves;
  uint64_t limit; /* the tree size being worked on: asking beyond it is a bug */
  int cache_mode;
  uint8_t (*cache[64])[HL];
  bool *have[64];
  uint64_t cache_len[64];
  bool uniform; /* every leaf hash is z[0]; subtree (l, i) is z[l] */
  uint8_t z[64][HL];
  uint64_t leaves_read, leaf_calls, subtree_calls, subtree_hits;
  uint64_t calls, fail_at; /* fail the fail_at-th call (1-based) with fail_code */
  jk_err fail_code;
} tsrc;

static jk_err t_leaves(uint64_t first, size_t count, uint8_t (*out)[HL], void *payload) {
  tsrc *t = payload;
  if (t->fail_at && ++t->calls == t->fail_at) return jk_error_set(t->fail_code, NULL);
  assert_true(count >= 1 && count <= JK_MERKLE_LEAF_BATCH);
  assert_true(first < t->limit && count <= t->limit - first);
  t->leaf_calls++;
  t->leaves_read += count;
  for (size_t i = 0; i < count; i++) {
    if (t->uniform) memcpy(out[i], t->z[0], HL);
    else {
      assert_true(first + i < t->nleaves);
      memcpy(out[i], t->leaf[first + i], HL);
    }
  }
  return JK_OK;
}

static jk_err t_subtree(unsigned level, uint64_t index, uint8_t out[HL], void *payload) {
  tsrc *t = payload;
  if (t->fail_at && ++t->calls == t->fail_at) return jk_error_set(t->fail_code, NULL);
  assert_true(level >= 1 && level < 64);
  assert_true((t->limit >> level) > index); /* complete in the tree being worked on */
  t->subtree_calls++;
  if (t->uniform) {
    memcpy(out, t->z[level], HL);
    t->subtree_hits++;
    return JK_OK;
  }
  if (t->cache_mode == CACHE_MISS || !t->have[level] || index >= t->cache_len[level] || !t->have[level][index])
    return JK_ENOTFOUND;
  memcpy(out, t->cache[level][index], HL);
  t->subtree_hits++;
  return JK_OK;
}

static jk_merkle_source src_of(tsrc *t) {
  jk_merkle_source s = {t_leaves, t->cache_mode == CACHE_NONE ? NULL : t_subtree, t};
  return s;
}

static void counters_reset(tsrc *t, uint64_t limit) {
  t->limit = limit;
  t->leaves_read = t->leaf_calls = t->subtree_calls = t->subtree_hits = 0;
}

static jk_err cache_put(unsigned level, uint64_t index, const uint8_t hash[HL], void *payload) {
  tsrc *t = payload;
  if (level == 0) return JK_OK;
  if (!t->cache[level]) {
    t->cache_len[level] = t->nleaves >> level;
    t->cache[level] = calloc(t->cache_len[level] ? t->cache_len[level] : 1, HL);
    t->have[level] = calloc(t->cache_len[level] ? t->cache_len[level] : 1, 1);
    assert_non_null(t->cache[level]);
    assert_non_null(t->have[level]);
  }
  assert_true(index < t->cache_len[level]);
  memcpy(t->cache[level][index], hash, HL);
  t->have[level][index] = true;
  return JK_OK;
}

/* A source over leaves[0..n) with a cache of every complete subtree of level >= min_level
 * (built by pushing through a frontier, as a store would). f receives the frontier. */
static void tsrc_build(tsrc *t, const uint8_t (*leaves)[HL], uint64_t n, int mode, unsigned min_level,
                       jk_merkle_frontier *f) {
  memset(t, 0, sizeof *t);
  t->leaf = leaves;
  t->nleaves = n;
  t->cache_mode = mode;
  jk_merkle_frontier_init(f);
  for (uint64_t i = 0; i < n; i++)
    assert_int_equal(jk_merkle_frontier_push(f, leaves[i], min_level, mode == CACHE_TABLE ? cache_put : NULL, t),
                     JK_OK);
}

static void tsrc_free(tsrc *t) {
  for (int l = 0; l < 64; l++) {
    free(t->cache[l]);
    free(t->have[l]);
  }
}

static void tsrc_uniform(tsrc *t) {
  memset(t, 0, sizeof *t);
  t->uniform = true;
  t->cache_mode = CACHE_TABLE;
  jk_merkle_leaf_hash("same", 4, t->z[0]);
  for (int l = 1; l < 64; l++) ref_node(t->z[l - 1], t->z[l - 1], t->z[l]);
}

/* ---- primitives ---- */

static void test_hashes(void **state) {
  (void)state;
  uint8_t a[HL], b[HL], c[HL];
  jk_merkle_empty_root(a);
  assert_hash_hex(a, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  jk_merkle_leaf_hash("", 0, a);
  assert_hash_hex(a, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  for (size_t len = 0; len < 300; len += 13) {
    uint8_t data[300];
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 31 + len);
    jk_merkle_leaf_hash(data, len, a);
    ref_leaf(data, len, b);
    assert_memory_equal(a, b, HL);
  }
  jk_merkle_leaf_hash("x", 1, a);
  jk_merkle_leaf_hash("y", 1, b);
  ref_node(a, b, c);
  uint8_t d[HL];
  jk_merkle_node_hash(a, b, d);
  assert_memory_equal(c, d, HL);
  /* outputs may alias inputs */
  uint8_t a2[HL], b2[HL];
  memcpy(a2, a, HL);
  jk_merkle_node_hash(a2, b, a2);
  assert_memory_equal(a2, c, HL);
  memcpy(b2, b, HL);
  jk_merkle_node_hash(a, b2, b2);
  assert_memory_equal(b2, c, HL);
}

/* ---- RFC 6962 vectors (transparency-dev/merkle testonly/constants.go, proof/verify_test.go) ---- */

static const char *const ct_inputs[8] = {"",         "00",       "10",       "2021",
                                         "3031",     "40414243", "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f"};
static const char *const ct_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
static const char *const ct_level0[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};

struct ct_proof {
  uint64_t a, b; /* inclusion: 0-based leaf, size; consistency: old, new */
  const char *h[3];
};
/* verify_test.go lists leaves 1-based; converted to 0-based here */
static const struct ct_proof ct_incl[] = {
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};
static const struct ct_proof ct_cons[] = {
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static size_t ct_len(const struct ct_proof *p) {
  size_t n = 0;
  while (n < 3 && p->h[n]) n++;
  return n;
}

static void test_rfc6962_vectors(void **state) {
  (void)state;
  uint8_t leaves[8][HL], roots[9][HL], h[HL];
  jk_merkle_frontier f;
  jk_merkle_frontier_init(&f);
  jk_merkle_frontier_root(&f, roots[0]);
  for (int i = 0; i < 8; i++) {
    uint8_t data[16];
    size_t n = strlen(ct_inputs[i]) / 2;
    unhex(ct_inputs[i], data, n);
    jk_merkle_leaf_hash(data, n, leaves[i]);
    assert_hash_hex(leaves[i], ct_level0[i]);
    assert_int_equal(jk_merkle_frontier_push(&f, leaves[i], 0, NULL, NULL), JK_OK);
    jk_merkle_frontier_root(&f, roots[i + 1]);
  }
  for (int n = 0; n <= 8; n++) assert_hash_hex(roots[n], ct_roots[n]);

  for (int mode = CACHE_NONE; mode <= CACHE_TABLE; mode++) {
    tsrc t;
    jk_merkle_frontier g;
    tsrc_build(&t, (const uint8_t(*)[HL])leaves, 8, mode, 1, &g);
    jk_merkle_source s = src_of(&t);
    for (int n = 0; n <= 8; n++) {
      counters_reset(&t, (uint64_t)n);
      assert_int_equal(jk_merkle_range_root(0, (uint64_t)n, &s, h), JK_OK);
      assert_hash_hex(h, ct_roots[n]);
    }
    uint8_t path[MAXP][HL];
    size_t len;
    for (size_t i = 0; i < sizeof ct_incl / sizeof ct_incl[0]; i++) {
      const struct ct_proof *p = &ct_incl[i];
      counters_reset(&t, p->b);
      assert_int_equal(jk_merkle_inclusion_proof(p->a, p->b, &s, path, &len), JK_OK);
      assert_int_equal(len, ct_len(p));
      for (size_t k = 0; k < len; k++) assert_hash_hex(path[k], p->h[k]);
      assert_true(jk_merkle_inclusion_verify(p->a, p->b, leaves[p->a], (const uint8_t(*)[HL])path, len, roots[p->b]));
    }
    for (size_t i = 0; i < sizeof ct_cons / sizeof ct_cons[0]; i++) {
      const struct ct_proof *p = &ct_cons[i];
      counters_reset(&t, p->b);
      assert_int_equal(jk_merkle_consistency_proof(p->a, p->b, &s, path, &len), JK_OK);
      assert_int_equal(len, ct_len(p));
      for (size_t k = 0; k < len; k++) assert_hash_hex(path[k], p->h[k]);
      assert_true(
          jk_merkle_consistency_verify(p->a, p->b, roots[p->a], roots[p->b], (const uint8_t(*)[HL])path, len));
    }
    /* the single-leaf tree: empty proofs */
    counters_reset(&t, 1);
    assert_int_equal(jk_merkle_inclusion_proof(0, 1, &s, path, &len), JK_OK);
    assert_int_equal(len, 0);
    assert_true(jk_merkle_inclusion_verify(0, 1, leaves[0], NULL, 0, roots[1]));
    assert_int_equal(jk_merkle_consistency_proof(1, 1, &s, path, &len), JK_OK);
    assert_int_equal(len, 0);
    assert_true(jk_merkle_consistency_verify(1, 1, roots[1], roots[1], NULL, 0));
    tsrc_free(&t);
  }
}

/* ---- every size 1..130, every index and old size, against the reference ---- */

#define NSMALL 130

static unsigned long proofs_checked, tampers_checked;

/* Flip one byte of each path hash, of the leaf and of the root: each must fail. With `all`,
 * every byte of every hash. */
static void tamper_inclusion(uint64_t m, uint64_t n, const uint8_t leaf[HL], uint8_t (*path)[HL], size_t len,
                             const uint8_t root[HL], bool all) {
  uint8_t l2[HL], r2[HL];
  for (size_t k = 0; k < len; k++)
    for (size_t b = all ? 0 : (k * 7 + n) % HL; b < HL; b += all ? 1 : HL) {
      path[k][b] ^= 0x40;
      assert_false(jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len, root));
      path[k][b] ^= 0x40;
      tampers_checked++;
    }
  for (size_t b = all ? 0 : (m + n) % HL; b < HL; b += all ? 1 : HL) {
    memcpy(l2, leaf, HL);
    memcpy(r2, root, HL);
    l2[b] ^= 1;
    r2[b] ^= 0x80;
    assert_false(jk_merkle_inclusion_verify(m, n, l2, (const uint8_t(*)[HL])path, len, root));
    assert_false(jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len, r2));
    tampers_checked += 2;
  }
  /* one hash too few, one too many */
  if (len > 0) assert_false(jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len - 1, root));
  if (len < MAXP) {
    memcpy(path[len], root, HL);
    assert_false(jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len + 1, root));
  }
}

static void tamper_consistency(uint64_t m, uint64_t n, const uint8_t r1[HL], const uint8_t r2[HL],
                               uint8_t (*path)[HL], size_t len, bool all) {
  uint8_t x[HL];
  for (size_t k = 0; k < len; k++)
    for (size_t b = all ? 0 : (k * 5 + m) % HL; b < HL; b += all ? 1 : HL) {
      path[k][b] ^= 0x10;
      assert_false(jk_merkle_consistency_verify(m, n, r1, r2, (const uint8_t(*)[HL])path, len));
      path[k][b] ^= 0x10;
      tampers_checked++;
    }
  for (size_t b = all ? 0 : (m * 3 + n) % HL; b < HL; b += all ? 1 : HL) {
    memcpy(x, r1, HL);
    x[b] ^= 2;
    assert_false(jk_merkle_consistency_verify(m, n, x, r2, (const uint8_t(*)[HL])path, len));
    memcpy(x, r2, HL);
    x[b] ^= 2;
    assert_false(jk_merkle_consistency_verify(m, n, r1, x, (const uint8_t(*)[HL])path, len));
    tampers_checked += 2;
  }
  if (len > 0) assert_false(jk_merkle_consistency_verify(m, n, r1, r2, (const uint8_t(*)[HL])path, len - 1));
  if (len < MAXP) {
    memcpy(path[len], r2, HL);
    assert_false(jk_merkle_consistency_verify(m, n, r1, r2, (const uint8_t(*)[HL])path, len + 1));
  }
  if (m != n) assert_false(jk_merkle_consistency_verify(m, n, r2, r1, (const uint8_t(*)[HL])path, len));
}

static void exhaustive(int mode, unsigned min_level) {
  ref_init();
  tsrc t;
  jk_merkle_frontier f;
  tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, NSMALL, mode, min_level, &f);
  jk_merkle_source s = src_of(&t);
  uint8_t(*path)[HL] = malloc(MAXP * HL); /* exactly MAXP hashes: ASan sees any overrun */
  uint8_t(*want)[HL] = malloc(MAXP * HL);
  assert_non_null(path);
  assert_non_null(want);
  for (uint64_t n = 1; n <= NSMALL; n++) {
    const uint8_t *root = ref_mth(0, n);
    uint8_t h[HL];
    counters_reset(&t, n);
    assert_int_equal(jk_merkle_range_root(0, n, &s, h), JK_OK);
    assert_memory_equal(h, root, HL);
    for (uint64_t m = 0; m < n; m++) {
      size_t len = 99, wlen = 0;
      counters_reset(&t, n);
      assert_int_equal(jk_merkle_inclusion_proof(m, n, &s, path, &len), JK_OK);
      ref_path(m, 0, n, want, &wlen);
      assert_int_equal(len, wlen);
      if (len) assert_memory_equal(path, want, len * HL);
      assert_true(jk_merkle_inclusion_verify(m, n, ref_leaves[m], (const uint8_t(*)[HL])path, len, root));
      proofs_checked++;
      tamper_inclusion(m, n, ref_leaves[m], path, len, root, n <= 9);
      /* the proof is for leaf m at size n only: other indices fail; sizes of another height fail */
      for (uint64_t m2 = 0; m2 < n; m2++)
        if (m2 != m) assert_false(jk_merkle_inclusion_verify(m2, n, ref_leaves[m], (const uint8_t(*)[HL])path, len, root));
      assert_false(jk_merkle_inclusion_verify(m, n * 2, ref_leaves[m], (const uint8_t(*)[HL])path, len, root));
      if (n / 2 > m) assert_false(jk_merkle_inclusion_verify(m, n / 2, ref_leaves[m], (const uint8_t(*)[HL])path, len, root));
      assert_false(jk_merkle_inclusion_verify(m, n, ref_leaves[(m + 1) % NREF], (const uint8_t(*)[HL])path, len, root));
    }
    for (uint64_t m = 1; m <= n; m++) {
      size_t len = 99, wlen = 0;
      counters_reset(&t, n);
      assert_int_equal(jk_merkle_consistency_proof(m, n, &s, path, &len), JK_OK);
      ref_subproof(m, 0, n, true, want, &wlen);
      assert_int_equal(len, wlen);
      if (len) assert_memory_equal(path, want, len * HL);
      assert_true(jk_merkle_consistency_verify(m, n, ref_mth(0, m), root, (const uint8_t(*)[HL])path, len));
      proofs_checked++;
      tamper_consistency(m, n, ref_mth(0, m), root, path, len, n <= 9);
      if (m < n) {
        assert_false(jk_merkle_consistency_verify(m - 1 ? m - 1 : 2, n, ref_mth(0, m), root, (const uint8_t(*)[HL])path,
                                                  len));
        assert_false(jk_merkle_consistency_verify(m, n * 2, ref_mth(0, m), root, (const uint8_t(*)[HL])path, len));
      }
    }
  }
  free(path);
  free(want);
  tsrc_free(&t);
}

static void test_exhaustive_no_cache(void **state) {
  (void)state;
  exhaustive(CACHE_NONE, 0);
  print_message("no cache: %lu proofs, %lu tampered variants rejected\n", proofs_checked, tampers_checked);
}

static void test_exhaustive_full_cache(void **state) {
  (void)state;
  exhaustive(CACHE_TABLE, 1);
}

static void test_exhaustive_partial_cache(void **state) {
  (void)state;
  exhaustive(CACHE_TABLE, 3);
}

static void test_exhaustive_cache_misses(void **state) {
  (void)state;
  exhaustive(CACHE_MISS, 0);
  print_message("all four sources: %lu proofs compared with the reference, %lu tampered variants rejected\n",
                proofs_checked, tampers_checked);
}

/* MTH of arbitrary ranges, aligned or not, with and without a cache. */
static void test_range_root(void **state) {
  (void)state;
  ref_init();
  for (int mode = CACHE_NONE; mode <= CACHE_TABLE; mode++) {
    tsrc t;
    jk_merkle_frontier f;
    tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, NREF, mode, 1, &f);
    jk_merkle_source s = src_of(&t);
    for (uint64_t start = 0; start <= NREF; start += (start < 40 ? 1 : 37))
      for (uint64_t n = 0; start + n <= NREF; n += (n < 70 ? 1 : 23)) {
        uint8_t h[HL];
        counters_reset(&t, start + n);
        assert_int_equal(jk_merkle_range_root(start, n, &s, h), JK_OK);
        assert_memory_equal(h, ref_mth(start, n), HL);
      }
    tsrc_free(&t);
  }
}

/* ---- the frontier ---- */

typedef struct done_log {
  unsigned level[70];
  uint64_t index[70];
  uint8_t hash[70][HL];
  int n;
  int fail_level; /* return JK_EIO when asked for this level (-1: never) */
} done_log;

static jk_err log_done(unsigned level, uint64_t index, const uint8_t hash[HL], void *payload) {
  done_log *d = payload;
  if ((int)level == d->fail_level) return jk_error_set(JK_EIO, NULL);
  assert_true(d->n < 70);
  d->level[d->n] = level;
  d->index[d->n] = index;
  memcpy(d->hash[d->n], hash, HL);
  d->n++;
  return JK_OK;
}

static void test_frontier(void **state) {
  (void)state;
  ref_init();
  for (unsigned min_level = 0; min_level <= 9; min_level += 3) {
    jk_merkle_frontier f;
    uint8_t h[HL];
    jk_merkle_frontier_init(&f);
    jk_merkle_frontier_root(&f, h);
    assert_memory_equal(h, ref_mth(0, 0), HL);
    for (uint64_t i = 0; i < NREF; i++) {
      done_log d = {.n = 0, .fail_level = -1};
      assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[i], min_level, log_done, &d), JK_OK);
      assert_int_equal(f.size, i + 1);
      jk_merkle_frontier_root(&f, h);
      assert_memory_equal(h, ref_mth(0, i + 1), HL);
      /* exactly the subtrees ending at leaf i, lowest first */
      int want = 0;
      for (unsigned l = 0; ((i + 1) & ((UINT64_C(1) << l) - 1)) == 0 && (UINT64_C(1) << l) <= i + 1; l++) {
        if (l < min_level) continue;
        assert_true(want < d.n);
        assert_int_equal(d.level[want], l);
        assert_int_equal(d.index[want], i >> l);
        assert_memory_equal(d.hash[want], ref_mth((i >> l) << l, UINT64_C(1) << l), HL);
        want++;
      }
      assert_int_equal(d.n, want);
    }
  }
}

static void test_frontier_push_failure(void **state) {
  (void)state;
  ref_init();
  jk_merkle_frontier f, before;
  jk_merkle_frontier_init(&f);
  for (uint64_t i = 0; i < 7; i++) assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[i], 0, NULL, NULL), JK_OK);
  /* pushing leaf 7 completes subtrees of levels 0..3; make level 2 fail */
  memcpy(&before, &f, sizeof f);
  done_log d = {.n = 0, .fail_level = 2};
  assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[7], 0, log_done, &d), JK_EIO);
  assert_memory_equal(&f, &before, sizeof f);
  assert_int_equal(d.n, 2); /* levels 0 and 1 were reported before the failure */
  d.fail_level = 0;
  d.n = 0;
  assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[7], 0, log_done, &d), JK_EIO);
  assert_memory_equal(&f, &before, sizeof f);
  /* retry succeeds and gives the right root */
  d.fail_level = -1;
  d.n = 0;
  assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[7], 0, log_done, &d), JK_OK);
  assert_int_equal(d.n, 4);
  uint8_t h[HL];
  jk_merkle_frontier_root(&f, h);
  assert_memory_equal(h, ref_mth(0, 8), HL);
  /* full tree */
  f.size = JK_MERKLE_MAX_SIZE;
  memcpy(&before, &f, sizeof f);
  assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[0], 0, NULL, NULL), JK_ETOOLARGE);
  assert_error_contains("2^63");
  assert_memory_equal(&f, &before, sizeof f);
}

static void test_frontier_load(void **state) {
  (void)state;
  ref_init();
  for (int mode = CACHE_NONE; mode <= CACHE_MISS; mode++) {
    tsrc t;
    jk_merkle_frontier full;
    tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, NREF, mode, 2, &full);
    jk_merkle_source s = src_of(&t);
    for (uint64_t n = 0; n <= NREF; n++) {
      jk_merkle_frontier f;
      uint8_t h[HL];
      counters_reset(&t, n);
      assert_int_equal(jk_merkle_frontier_load(&f, n, n ? &s : NULL), JK_OK);
      assert_int_equal(f.size, n);
      jk_merkle_frontier_root(&f, h);
      assert_memory_equal(h, ref_mth(0, n), HL);
      for (unsigned l = 0; l < 64; l++) /* same stack as pushing would build */
        if ((n >> l) & 1) assert_memory_equal(f.stack[l], ref_mth(((n >> l) - 1) << l, UINT64_C(1) << l), HL);
      /* and it goes on growing correctly */
      for (uint64_t i = n; i < n + 5 && i < NREF; i++) {
        assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[i], 0, NULL, NULL), JK_OK);
        jk_merkle_frontier_root(&f, h);
        assert_memory_equal(h, ref_mth(0, i + 1), HL);
      }
    }
    tsrc_free(&t);
  }
}

/* ---- a 1,060,921-leaf tree with a cache of levels >= 8: proofs read little ---- */

#define NBIG ((UINT64_C(1) << 20) + 12345)

static void test_large_cached(void **state) {
  (void)state;
  uint8_t(*leaves)[HL] = malloc(NBIG * HL);
  assert_non_null(leaves);
  for (uint64_t i = 0; i < NBIG; i++) {
    uint8_t d[8];
    for (int b = 0; b < 8; b++) d[b] = (uint8_t)(i >> (8 * b));
    jk_merkle_leaf_hash(d, sizeof d, leaves[i]);
  }
  /* build the cache as a ledger would, keeping the roots at a few sizes */
  static const uint64_t sizes[] = {1,       2,       255,     256,     257,     1000,    65535,   65536,    65537,
                                   300001,  524287,  524288,  524289,  777777,  1048575, 1048576, 1048577, 1060000,
                                   1060920, NBIG};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  uint8_t roots[NS][HL];
  tsrc t;
  memset(&t, 0, sizeof t);
  t.leaf = (const uint8_t(*)[HL])leaves;
  t.nleaves = NBIG;
  t.cache_mode = CACHE_TABLE;
  jk_merkle_frontier f;
  jk_merkle_frontier_init(&f);
  size_t next = 0;
  for (uint64_t i = 0; i < NBIG; i++) {
    assert_int_equal(jk_merkle_frontier_push(&f, leaves[i], 8, cache_put, &t), JK_OK);
    if (f.size == sizes[next]) jk_merkle_frontier_root(&f, roots[next++]);
  }
  assert_int_equal(next, NS);
  jk_merkle_source s = src_of(&t);
  uint8_t(*path)[HL] = malloc(MAXP * HL);
  assert_non_null(path);
  size_t len;
  uint64_t max_leaves = 0, max_sub = 0;
  uint64_t rng = 88172645463325252ull;
  for (size_t a = 0; a < NS; a++) {
    uint8_t h[HL];
    counters_reset(&t, sizes[a]);
    assert_int_equal(jk_merkle_range_root(0, sizes[a], &s, h), JK_OK);
    assert_memory_equal(h, roots[a], HL);
    for (int k = 0; k < 40; k++) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      uint64_t m = k == 0 ? 0 : k == 1 ? sizes[a] - 1 : rng % sizes[a];
      counters_reset(&t, sizes[a]);
      assert_int_equal(jk_merkle_inclusion_proof(m, sizes[a], &s, path, &len), JK_OK);
      assert_true(jk_merkle_inclusion_verify(m, sizes[a], leaves[m], (const uint8_t(*)[HL])path, len, roots[a]));
      if (t.leaves_read > max_leaves) max_leaves = t.leaves_read;
      if (t.subtree_calls > max_sub) max_sub = t.subtree_calls;
    }
    for (size_t b = 0; b <= a; b++) {
      counters_reset(&t, sizes[a]);
      assert_int_equal(jk_merkle_consistency_proof(sizes[b], sizes[a], &s, path, &len), JK_OK);
      assert_true(
          jk_merkle_consistency_verify(sizes[b], sizes[a], roots[b], roots[a], (const uint8_t(*)[HL])path, len));
      if (b < a) assert_false(jk_merkle_consistency_verify(sizes[b], sizes[a], roots[a], roots[b],
                                                           (const uint8_t(*)[HL])path, len));
      if (t.leaves_read > max_leaves) max_leaves = t.leaves_read;
      if (t.subtree_calls > max_sub) max_sub = t.subtree_calls;
    }
  }
  print_message("1,060,921 leaves, level>=8 cache: at most %llu leaves and %llu subtree reads per proof\n",
                (unsigned long long)max_leaves, (unsigned long long)max_sub);
  assert_true(max_leaves < 3 * JK_MERKLE_LEAF_BATCH);
  assert_true(max_sub <= 2 * 64);

  /* without the cache: the same proof, from every leaf */
  uint8_t(*want)[HL] = malloc(MAXP * HL);
  size_t wlen;
  assert_non_null(want);
  counters_reset(&t, NBIG);
  assert_int_equal(jk_merkle_inclusion_proof(777, NBIG, &s, want, &wlen), JK_OK);
  t.cache_mode = CACHE_NONE;
  s = src_of(&t);
  counters_reset(&t, NBIG);
  assert_int_equal(jk_merkle_inclusion_proof(777, NBIG, &s, path, &len), JK_OK);
  assert_int_equal(len, wlen);
  assert_memory_equal(path, want, len * HL);
  assert_int_equal(t.leaves_read, NBIG - 1);
  /* reopening: the frontier from the cache */
  t.cache_mode = CACHE_TABLE;
  s = src_of(&t);
  jk_merkle_frontier g;
  counters_reset(&t, NBIG);
  assert_int_equal(jk_merkle_frontier_load(&g, NBIG, &s), JK_OK);
  assert_true(t.leaves_read < JK_MERKLE_LEAF_BATCH);
  for (unsigned l = 0; l < 64; l++)
    if ((NBIG >> l) & 1) assert_memory_equal(g.stack[l], f.stack[l], HL);
  free(want);
  free(path);
  free(leaves);
  tsrc_free(&t);
}

/* ---- trees of up to 2^63 leaves (all leaves equal, so every subtree hash is known) ---- */

static void test_huge_trees(void **state) {
  (void)state;
  tsrc t;
  tsrc_uniform(&t);
  jk_merkle_source s = src_of(&t);
  static const uint64_t sizes[] = {JK_MERKLE_MAX_SIZE,     JK_MERKLE_MAX_SIZE - 1, (UINT64_C(1) << 62) + 1,
                                   0x5555555555555555ull,  0x2aaaaaaaaaaaaaabull,  (UINT64_C(1) << 40) + 3,
                                   1000001};
  enum { NS = sizeof sizes / sizeof sizes[0] };
  uint8_t roots[NS][HL];
  uint8_t(*path)[HL] = malloc(MAXP * HL);
  assert_non_null(path);
  size_t len, max_len = 0;
  for (size_t a = 0; a < NS; a++) {
    counters_reset(&t, sizes[a]);
    assert_int_equal(jk_merkle_range_root(0, sizes[a], &s, roots[a]), JK_OK);
    jk_merkle_frontier f;
    uint8_t h[HL];
    assert_int_equal(jk_merkle_frontier_load(&f, sizes[a], &s), JK_OK);
    jk_merkle_frontier_root(&f, h);
    assert_memory_equal(h, roots[a], HL);
  }
  assert_memory_equal(roots[0], t.z[63], HL);
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  for (size_t a = 0; a < NS; a++) {
    uint64_t idx[] = {0, 1, sizes[a] - 1, sizes[a] / 2, 0, 0, 0};
    for (size_t k = 4; k < 7; k++) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      idx[k] = rng % sizes[a];
    }
    for (size_t k = 0; k < 7; k++) {
      counters_reset(&t, sizes[a]);
      assert_int_equal(jk_merkle_inclusion_proof(idx[k], sizes[a], &s, path, &len), JK_OK);
      assert_true(len <= 63);
      assert_true(jk_merkle_inclusion_verify(idx[k], sizes[a], t.z[0], (const uint8_t(*)[HL])path, len, roots[a]));
      assert_true(t.leaves_read < 3 * JK_MERKLE_LEAF_BATCH);
    }
    for (size_t b = 0; b < NS; b++) {
      if (sizes[b] > sizes[a]) continue;
      uint64_t olds[] = {sizes[b], 1, 3, sizes[b] - 1 ? sizes[b] - 1 : 1};
      for (size_t k = 0; k < 4; k++) {
        counters_reset(&t, sizes[a]);
        uint8_t r1[HL];
        assert_int_equal(jk_merkle_range_root(0, olds[k], &s, r1), JK_OK);
        assert_int_equal(jk_merkle_consistency_proof(olds[k], sizes[a], &s, path, &len), JK_OK);
        if (len > max_len) max_len = len;
        assert_true(len <= MAXP);
        assert_true(jk_merkle_consistency_verify(olds[k], sizes[a], r1, roots[a], (const uint8_t(*)[HL])path, len));
      }
    }
  }
  /* one leaf short of the largest tree: a proof through every level */
  counters_reset(&t, JK_MERKLE_MAX_SIZE);
  assert_int_equal(jk_merkle_consistency_proof(JK_MERKLE_MAX_SIZE - 1, JK_MERKLE_MAX_SIZE, &s, path, &len), JK_OK);
  assert_true(len <= MAXP);
  if (len > max_len) max_len = len;
  print_message("longest consistency proof seen at up to 2^63 leaves: %zu hashes\n", max_len);
  free(path);
}

/* ---- arguments and malformed input ---- */

static void test_invalid_arguments(void **state) {
  (void)state;
  ref_init();
  tsrc t;
  jk_merkle_frontier f;
  tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, 16, CACHE_NONE, 0, &f);
  counters_reset(&t, 16);
  jk_merkle_source s = src_of(&t), no_leaves = {NULL, NULL, NULL};
  uint8_t path[MAXP][HL], h[HL];
  size_t len = 7;

  assert_int_equal(jk_merkle_inclusion_proof(16, 16, &s, path, &len), JK_EINVAL);
  assert_int_equal(len, 0);
  assert_error_contains("leaf 16 is not in a Merkle tree of 16 leaves");
  assert_int_equal(jk_merkle_inclusion_proof(0, 0, &s, path, &len), JK_EINVAL);
  assert_int_equal(jk_merkle_inclusion_proof(0, JK_MERKLE_MAX_SIZE + 1, &s, path, &len), JK_EINVAL);
  assert_error_contains("exceeds the limit");
  assert_int_equal(jk_merkle_inclusion_proof(0, 16, NULL, path, &len), JK_EINVAL);
  assert_int_equal(jk_merkle_inclusion_proof(0, 16, &no_leaves, path, &len), JK_EINVAL);
  assert_error_contains("no leaves callback");
  assert_int_equal(jk_merkle_consistency_proof(0, 16, &s, path, &len), JK_EINVAL);
  assert_error_contains("0 < old size <= new size, not 0 and 16");
  assert_int_equal(jk_merkle_consistency_proof(9, 8, &s, path, &len), JK_EINVAL);
  assert_int_equal(jk_merkle_consistency_proof(1, JK_MERKLE_MAX_SIZE + 1, &s, path, &len), JK_EINVAL);
  assert_int_equal(jk_merkle_consistency_proof(1, 16, &no_leaves, path, &len), JK_EINVAL);
  assert_int_equal(jk_merkle_range_root(JK_MERKLE_MAX_SIZE, 1, &s, h), JK_EINVAL);
  assert_error_contains("a range of 1 leaves from leaf 9223372036854775808");
  assert_int_equal(jk_merkle_range_root(UINT64_MAX, 2, &s, h), JK_EINVAL);
  assert_int_equal(jk_merkle_range_root(2, UINT64_MAX, &s, h), JK_EINVAL);
  assert_int_equal(jk_merkle_range_root(0, 3, &no_leaves, h), JK_EINVAL);
  assert_int_equal(jk_merkle_range_root(5, 0, NULL, h), JK_OK); /* empty: needs no source */
  assert_memory_equal(h, ref_mth(0, 0), HL);
  assert_int_equal(jk_merkle_frontier_load(&f, JK_MERKLE_MAX_SIZE + 1, &s), JK_EINVAL);
  assert_int_equal(f.size, 0);
  assert_int_equal(jk_merkle_frontier_load(&f, 3, NULL), JK_EINVAL);
  assert_int_equal(f.size, 0);
  assert_int_equal(jk_merkle_frontier_load(&f, 0, NULL), JK_OK);

  /* the Japanese catalogue has every message */
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_merkle_inclusion_proof(3, 2, &s, path, &len), JK_EINVAL);
  assert_error_contains("マークル木");
  jk_lang_set(JK_LANG_EN);

  /* verification: malformed input is false, never a crash */
  const uint8_t *root = ref_mth(0, 16), *leaf = ref_leaves[5];
  assert_int_equal(jk_merkle_inclusion_proof(5, 16, &s, path, &len), JK_OK);
  assert_int_equal(len, 4);
  const uint8_t(*cp)[HL] = (const uint8_t(*)[HL])path;
  assert_true(jk_merkle_inclusion_verify(5, 16, leaf, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(16, 16, leaf, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(5, 0, leaf, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(UINT64_MAX, UINT64_MAX, leaf, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(5, JK_MERKLE_MAX_SIZE + 1, leaf, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, cp, MAXP + 1, root));
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, cp, SIZE_MAX, root));
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, NULL, len, root));
  assert_false(jk_merkle_inclusion_verify(5, 16, NULL, cp, len, root));
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, cp, len, NULL));
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, cp, 0, root));
  assert_false(jk_merkle_inclusion_verify(0, 1, leaf, cp, 1, leaf)); /* one-leaf tree, non-empty path */
  assert_true(jk_merkle_inclusion_verify(0, 1, leaf, NULL, 0, leaf));
  /* a full 64-hash path: read to its end, rejected */
  for (size_t k = len; k < MAXP; k++) memcpy(path[k], root, HL);
  assert_false(jk_merkle_inclusion_verify(5, 16, leaf, cp, MAXP, root));
  assert_false(jk_merkle_inclusion_verify(5, JK_MERKLE_MAX_SIZE, leaf, cp, MAXP, root));

  const uint8_t *r8 = ref_mth(0, 8);
  assert_int_equal(jk_merkle_consistency_proof(8, 16, &s, path, &len), JK_OK);
  assert_int_equal(len, 1);
  assert_true(jk_merkle_consistency_verify(8, 16, r8, root, cp, len));
  assert_false(jk_merkle_consistency_verify(0, 16, r8, root, cp, len));
  assert_false(jk_merkle_consistency_verify(17, 16, r8, root, cp, len));
  assert_false(jk_merkle_consistency_verify(8, JK_MERKLE_MAX_SIZE + 1, r8, root, cp, len));
  assert_false(jk_merkle_consistency_verify(8, 16, r8, root, cp, MAXP + 1));
  assert_false(jk_merkle_consistency_verify(8, 16, r8, root, NULL, len));
  assert_false(jk_merkle_consistency_verify(8, 16, NULL, root, cp, len));
  assert_false(jk_merkle_consistency_verify(8, 16, r8, NULL, cp, len));
  assert_false(jk_merkle_consistency_verify(8, 16, r8, root, cp, 0));
  /* equal sizes: empty proof and equal roots only */
  assert_true(jk_merkle_consistency_verify(16, 16, root, root, NULL, 0));
  assert_false(jk_merkle_consistency_verify(16, 16, root, r8, NULL, 0));
  assert_false(jk_merkle_consistency_verify(16, 16, root, root, cp, 1));
  assert_false(jk_merkle_consistency_verify(0, 0, root, root, NULL, 0));
  for (size_t k = len; k < MAXP; k++) memcpy(path[k], root, HL);
  assert_false(jk_merkle_consistency_verify(8, 16, r8, root, cp, MAXP));
  assert_false(jk_merkle_consistency_verify(3, JK_MERKLE_MAX_SIZE, r8, root, cp, MAXP));
  tsrc_free(&t);
}

/* ---- a failing source: every error comes back unchanged, nothing is left half-done ---- */

static void test_source_failures(void **state) {
  (void)state;
  ref_init();
  for (int mode = CACHE_NONE; mode <= CACHE_TABLE; mode++) {
    tsrc t;
    jk_merkle_frontier full;
    tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, NREF, mode, 1, &full);
    jk_merkle_source s = src_of(&t);
    uint8_t path[MAXP][HL], h[HL];
    size_t len;
    for (int op = 0; op < 4; op++) {
      for (uint64_t nth = 1;; nth++) {
        t.fail_at = nth;
        t.calls = 0;
        t.fail_code = nth % 2 ? JK_EIO : JK_ECORRUPT;
        counters_reset(&t, 277);
        len = 99;
        jk_err e;
        jk_merkle_frontier f;
        switch (op) {
        case 0: e = jk_merkle_inclusion_proof(100, 277, &s, path, &len); break;
        case 1: e = jk_merkle_consistency_proof(99, 277, &s, path, &len); break;
        case 2: e = jk_merkle_range_root(3, 270, &s, h); len = 0; break;
        default:
          e = jk_merkle_frontier_load(&f, 277, &s);
          len = f.size ? 1 : 0;
          break;
        }
        if (t.calls < nth) { /* the failure was not reached: the call succeeded */
          assert_int_equal(e, JK_OK);
          break;
        }
        assert_int_equal(e, t.fail_code);
        assert_int_equal(len, 0);
      }
    }
    t.fail_at = 0;
    tsrc_free(&t);
  }
}

/* A wrong cached subtree gives proofs that do not verify against the true root. */
static void test_corrupt_cache(void **state) {
  (void)state;
  ref_init();
  tsrc t;
  jk_merkle_frontier f;
  tsrc_build(&t, (const uint8_t(*)[HL])ref_leaves, NREF, CACHE_TABLE, 1, &f);
  t.cache[4][1][0] ^= 1;  /* leaves 16..31: a sibling on leaf 5's path */
  t.cache[2][5][31] ^= 1; /* leaves 20..23: the old tree's last node in the 20 -> 100 proof */
  jk_merkle_source s = src_of(&t);
  uint8_t path[MAXP][HL];
  size_t len;
  counters_reset(&t, 100);
  assert_int_equal(jk_merkle_inclusion_proof(5, 100, &s, path, &len), JK_OK);
  assert_false(jk_merkle_inclusion_verify(5, 100, ref_leaves[5], (const uint8_t(*)[HL])path, len, ref_mth(0, 100)));
  assert_int_equal(jk_merkle_consistency_proof(20, 100, &s, path, &len), JK_OK);
  assert_false(jk_merkle_consistency_verify(20, 100, ref_mth(0, 20), ref_mth(0, 100), (const uint8_t(*)[HL])path, len));
  tsrc_free(&t);
}

/* jk_merkle_range_proofs against the reference PATH for every run a .. a+count of trees up to
 * 130 leaves (and some beyond), with proofs for a prefix of the run. */
static void test_range_proofs(void **state) {
  (void)state;
  ref_init();
  static uint8_t paths[NREF * 16][HL];
  static uint8_t lens[NREF];
  unsigned long checked = 0;
  for (uint64_t size = 1; size <= NREF; size += (size < 130 ? 1 : 17)) {
    unsigned depth = jk_merkle_depth(size);
    for (uint64_t a = 0; a < size; a += (size < 40 ? 1 : 1 + size / 13)) {
      jk_merkle_frontier f;
      jk_merkle_frontier_init(&f);
      for (uint64_t i = 0; i < a; i++) assert_int_equal(jk_merkle_frontier_push(&f, ref_leaves[i], 64, NULL, NULL), JK_OK);
      size_t count = (size_t)(size - a);
      size_t proved = count - (size_t)(a % 3 == 0 ? 0 : count / 3);
      uint8_t root[HL];
      assert_int_equal(jk_merkle_range_proofs(&f, (const uint8_t(*)[HL])ref_leaves[a], count, proved, paths, 16, lens, root),
                       JK_OK);
      assert_memory_equal(root, ref_mth(0, size), HL);
      for (size_t i = 0; i < proved; i++) {
        uint8_t want[MAXP][HL];
        size_t wlen = 0;
        ref_path(a + i, 0, size, want, &wlen);
        assert_int_equal(lens[i], wlen);
        assert_true(lens[i] <= depth);
        assert_memory_equal(paths[i * 16], want, wlen * HL);
        assert_true(jk_merkle_inclusion_verify(a + i, size, ref_leaves[a + i], (const uint8_t(*)[HL])paths[i * 16], lens[i],
                                               root));
        checked++;
      }
    }
  }
  assert_true(checked > 5000);
  /* refusals: a stride below the depth, more proved than given */
  jk_merkle_frontier f;
  jk_merkle_frontier_init(&f);
  uint8_t root[HL];
  assert_int_equal(jk_merkle_range_proofs(&f, (const uint8_t(*)[HL])ref_leaves[0], 100, 100, paths, 6, lens, root),
                   JK_EINVAL);
  assert_int_equal(jk_merkle_range_proofs(&f, (const uint8_t(*)[HL])ref_leaves[0], 10, 11, paths, 16, lens, root),
                   JK_EINVAL);
  assert_int_equal(jk_merkle_range_proofs(&f, NULL, 0, 0, NULL, 0, NULL, root), JK_OK);
  assert_memory_equal(root, ref_mth(0, 0), HL);
  assert_int_equal(jk_merkle_depth(0), 0);
  assert_int_equal(jk_merkle_depth(1), 0);
  assert_int_equal(jk_merkle_depth(2), 1);
  assert_int_equal(jk_merkle_depth(3), 2);
  assert_int_equal(jk_merkle_depth(UINT64_C(1) << 40), 40);
  assert_int_equal(jk_merkle_depth((UINT64_C(1) << 40) + 1), 41);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hashes),
      cmocka_unit_test(test_rfc6962_vectors),
      cmocka_unit_test(test_exhaustive_no_cache),
      cmocka_unit_test(test_exhaustive_full_cache),
      cmocka_unit_test(test_exhaustive_partial_cache),
      cmocka_unit_test(test_exhaustive_cache_misses),
      cmocka_unit_test(test_range_root),
      cmocka_unit_test(test_frontier),
      cmocka_unit_test(test_frontier_push_failure),
      cmocka_unit_test(test_frontier_load),
      cmocka_unit_test(test_large_cached),
      cmocka_unit_test(test_huge_trees),
      cmocka_unit_test(test_invalid_arguments),
      cmocka_unit_test(test_source_failures),
      cmocka_unit_test(test_corrupt_cache),
      cmocka_unit_test(test_range_proofs),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
