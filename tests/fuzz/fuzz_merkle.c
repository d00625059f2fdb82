/* libFuzzer target: the RFC 9162 proof verifiers (include/jukinet/merkle.h) never crash and never
 * read outside the proof they are given, whatever the sizes, index and hashes; and proofs that
 * the library generates always verify, for random trees and for trees of up to 2^63 leaves.
 *
 * Input: byte 0 picks the mode (low 2 bits), then fields little-endian, missing bytes read as 0.
 *   0  inclusion verify:    size u64, index u64, leaf[32], root[32], path = the rest (32-byte hashes)
 *   1  consistency verify:  old u64, new u64, old_root[32], new_root[32], path = the rest
 *   2  random tree:         size u16 (1..1100), index u16, old u16, cache level u8 (0 = none),
 *                           tamper u16 (which byte to flip), seed = the rest
 *   3  uniform huge tree:   size u64 (1..2^63), index u64, old u64, then as mode 0's mutations
 * The path is copied to a heap block of exactly its length so ASan sees any overrun. */
#include "jukinet/merkle.h"

#include <stdlib.h>
#include <string.h>

#define HL JK_MERKLE_HASH_LEN

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;

static uint64_t get(rd *r, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) {
    uint8_t b = 0;
    if (r->n) {
      b = *r->p++;
      r->n--;
    }
    v |= (uint64_t)b << (8 * i);
  }
  return v;
}

static void get_hash(rd *r, uint8_t out[HL]) {
  for (int i = 0; i < HL; i++) out[i] = (uint8_t)get(r, 1);
}

/* The rest of the input as a path of at most 70 hashes (some over JK_MERKLE_MAX_PATH). */
static uint8_t (*get_path(rd *r, size_t *len))[HL] {
  size_t n = r->n / HL;
  if (n > 70) n = 70;
  uint8_t(*path)[HL] = malloc(n ? n * HL : 1);
  if (!path) abort();
  if (n) memcpy(path, r->p, n * HL);
  r->p += n * HL;
  r->n -= n * HL;
  *len = n;
  return path;
}

static void fuzz_inclusion(rd *r) {
  uint64_t size = get(r, 8), index = get(r, 8);
  uint8_t leaf[HL], root[HL];
  get_hash(r, leaf);
  get_hash(r, root);
  size_t len;
  uint8_t(*path)[HL] = get_path(r, &len);
  bool ok = jk_merkle_inclusion_verify(index, size, leaf, (const uint8_t(*)[HL])path, len, root);
  if (ok && (index >= size || size > JK_MERKLE_MAX_SIZE || len > JK_MERKLE_MAX_PATH)) abort();
  free(path);
}

static void fuzz_consistency(rd *r) {
  uint64_t old_size = get(r, 8), new_size = get(r, 8);
  uint8_t r1[HL], r2[HL];
  get_hash(r, r1);
  get_hash(r, r2);
  size_t len;
  uint8_t(*path)[HL] = get_path(r, &len);
  bool ok = jk_merkle_consistency_verify(old_size, new_size, r1, r2, (const uint8_t(*)[HL])path, len);
  if (ok && (old_size == 0 || old_size > new_size || new_size > JK_MERKLE_MAX_SIZE || len > JK_MERKLE_MAX_PATH))
    abort();
  free(path);
}

/* ---- a source over an array of leaf hashes with a cache of the levels >= min_level, or over a
 * uniform tree (every leaf the same, so subtree (l, i) is z[l] for any size) ---- */

typedef struct src {
  uint8_t (*leaf)[HL];
  uint64_t n, limit;
  uint8_t (*cache[64])[HL];
  bool uniform;
  uint8_t z[64][HL];
} src;

static jk_err s_leaves(uint64_t first, size_t count, uint8_t (*out)[HL], void *payload) {
  src *s = payload;
  if (count == 0 || count > JK_MERKLE_LEAF_BATCH || first >= s->limit || count > s->limit - first) abort();
  for (size_t i = 0; i < count; i++) memcpy(out[i], s->uniform ? s->z[0] : s->leaf[first + i], HL);
  return JK_OK;
}

static jk_err s_subtree(unsigned level, uint64_t index, uint8_t out[HL], void *payload) {
  src *s = payload;
  if (level == 0 || level > 63 || (s->limit >> level) <= index) abort(); /* only complete subtrees */
  if (s->uniform) memcpy(out, s->z[level], HL);
  else if (s->cache[level]) memcpy(out, s->cache[level][index], HL);
  else return JK_ENOTFOUND;
  return JK_OK;
}

static jk_err s_put(unsigned level, uint64_t index, const uint8_t hash[HL], void *payload) {
  src *s = payload;
  if (level == 0) return JK_OK;
  if (!s->cache[level] && !(s->cache[level] = malloc((s->n >> level) * HL))) abort();
  if (index >= (s->n >> level)) abort();
  memcpy(s->cache[level][index], hash, HL);
  return JK_OK;
}

/* Check a generated inclusion and consistency proof; flip byte `tamper` of the concatenated
 * (path, leaf/old root) and check the result no longer verifies when `distinct` (leaves differ). */
static void check_proofs(const jk_merkle_source *ms, src *s, uint64_t n, uint64_t m, uint64_t old,
                         const uint8_t leaf[HL], const uint8_t root[HL], unsigned tamper, bool distinct) {
  uint8_t(*path)[HL] = malloc(JK_MERKLE_MAX_PATH * HL);
  uint8_t r1[HL];
  size_t len;
  if (!path) abort();
  s->limit = n;
  if (jk_merkle_inclusion_proof(m, n, ms, path, &len) != JK_OK || len > JK_MERKLE_MAX_PATH) abort();
  if (!jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len, root)) abort();
  if (distinct && len) {
    size_t at = tamper % (len * HL);
    path[at / HL][at % HL] ^= (uint8_t)(1u << (tamper % 8));
    if (jk_merkle_inclusion_verify(m, n, leaf, (const uint8_t(*)[HL])path, len, root)) abort();
  }
  s->limit = old;
  if (jk_merkle_range_root(0, old, ms, r1) != JK_OK) abort();
  s->limit = n;
  if (jk_merkle_consistency_proof(old, n, ms, path, &len) != JK_OK || len > JK_MERKLE_MAX_PATH) abort();
  if (!jk_merkle_consistency_verify(old, n, r1, root, (const uint8_t(*)[HL])path, len)) abort();
  if (distinct && len) {
    size_t at = tamper % (len * HL);
    path[at / HL][at % HL] ^= (uint8_t)(1u << (tamper % 8));
    if (jk_merkle_consistency_verify(old, n, r1, root, (const uint8_t(*)[HL])path, len)) abort();
  }
  free(path);
}

static void fuzz_random_tree(rd *r) {
  uint64_t n = get(r, 2) % 1100 + 1, m = get(r, 2) % n, old = get(r, 2) % n + 1;
  unsigned min_level = (unsigned)get(r, 1) % 12, tamper = (unsigned)get(r, 2);
  src s;
  memset(&s, 0, sizeof s);
  s.n = n;
  s.leaf = malloc(n * HL);
  if (!s.leaf) abort();
  jk_merkle_frontier f;
  jk_merkle_frontier_init(&f);
  for (uint64_t i = 0; i < n; i++) {
    uint8_t d[8 + 32];
    for (int b = 0; b < 8; b++) d[b] = (uint8_t)(i >> (8 * b));
    size_t k = r->n < 32 ? r->n : 32;
    memcpy(d + 8, r->p, k);
    jk_merkle_leaf_hash(d, 8 + k, s.leaf[i]);
    if (jk_merkle_frontier_push(&f, s.leaf[i], min_level ? min_level : 64, s_put, &s) != JK_OK) abort();
  }
  jk_merkle_source ms = {s_leaves, min_level ? s_subtree : NULL, &s};
  uint8_t root[HL], h[HL];
  jk_merkle_frontier_root(&f, root);
  s.limit = n;
  if (jk_merkle_range_root(0, n, &ms, h) != JK_OK || memcmp(h, root, HL) != 0) abort();
  jk_merkle_frontier g;
  if (jk_merkle_frontier_load(&g, n, &ms) != JK_OK) abort();
  jk_merkle_frontier_root(&g, h);
  if (memcmp(h, root, HL) != 0) abort();
  check_proofs(&ms, &s, n, m, old, s.leaf[m], root, tamper, true);
  for (int l = 0; l < 64; l++) free(s.cache[l]);
  free(s.leaf);
}

static void fuzz_uniform_tree(rd *r) {
  uint64_t n = get(r, 8) % JK_MERKLE_MAX_SIZE + 1, m = get(r, 8), old = get(r, 8);
  m %= n;
  old = old % n + 1;
  static src s;
  static bool ready;
  if (!ready) {
    memset(&s, 0, sizeof s);
    s.uniform = true;
    jk_merkle_leaf_hash("fuzz", 4, s.z[0]);
    for (int l = 1; l < 64; l++) jk_merkle_node_hash(s.z[l - 1], s.z[l - 1], s.z[l]);
    ready = true;
  }
  jk_merkle_source ms = {s_leaves, s_subtree, &s};
  uint8_t root[HL];
  s.limit = n;
  if (jk_merkle_range_root(0, n, &ms, root) != JK_OK) abort();
  check_proofs(&ms, &s, n, m, old, s.z[0], root, 0, false);
  /* and whatever else the input says, verified against this real root: no crash */
  uint64_t idx2 = get(r, 8), size2 = get(r, 8);
  size_t len;
  uint8_t(*path)[HL] = get_path(r, &len);
  (void)jk_merkle_inclusion_verify(idx2, size2, s.z[0], (const uint8_t(*)[HL])path, len, root);
  (void)jk_merkle_consistency_verify(idx2, size2, root, root, (const uint8_t(*)[HL])path, len);
  free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  switch (get(&r, 1) & 3) {
  case 0: fuzz_inclusion(&r); break;
  case 1: fuzz_consistency(&r); break;
  case 2: fuzz_random_tree(&r); break;
  default: fuzz_uniform_tree(&r); break;
  }
  return 0;
}
