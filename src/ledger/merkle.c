/*
 * merkle.c — the RFC 9162 §2.1 Merkle tree: hashes, the frontier, proofs and their verification.
 *
 * Hashing is nettle's SHA-256, which uses the x86 SHA extensions where the CPU has them (about
 * 5x libsodium's portable code for the 65-byte node hashes here; bench/bench_merkle.c).
 *
 * Proof generation follows the RFC's recursive definitions (PATH, SUBPROOF) iteratively: walking
 * down from the whole tree, each step emits the hash of the half the target is not in, then the
 * list is reversed (the RFC lists the deepest node first). Every emitted hash is MTH of a range
 * [s, s+n) whose start is a multiple of a power of two >= n (true of [0, size) and kept by every
 * split), so the range is a run of complete aligned subtrees, one per bit of n, largest first —
 * exactly what a subtree cache holds. Only one such range per proof is not itself complete (the
 * first right half met while still on the tree's right edge); all others are single subtrees.
 *
 * Invariants: nothing allocates (the only buffer is one leaf batch, 8 KiB, on the stack); no
 * recursion deeper than 64; every index computation stays below 2^64 because sizes are capped at
 * JK_MERKLE_MAX_SIZE = 2^63 before anything else happens.
 */
#include "jukinet/merkle.h"

#include <nettle/sha2.h>
#include <string.h>

#define HL JK_MERKLE_HASH_LEN
#define BATCH_LEVEL 8 /* 2^8 == JK_MERKLE_LEAF_BATCH */

_Static_assert(((size_t)1 << BATCH_LEVEL) == JK_MERKLE_LEAF_BATCH, "leaf batch is one level-8 subtree");
_Static_assert(HL == SHA256_DIGEST_SIZE, "RFC 9162 v2 uses SHA-256");

/* ---- hashes ---- */

void jk_merkle_leaf_hash(const void *data, size_t len, uint8_t out[HL]) {
  static const uint8_t prefix = 0x00;
  struct sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, 1, &prefix);
  if (len) sha256_update(&c, len, data);
  sha256_digest(&c, HL, out);
}

/* Reads both inputs before writing out, so out may alias either. */
void jk_merkle_node_hash(const uint8_t left[HL], const uint8_t right[HL], uint8_t out[HL]) {
  uint8_t block[1 + 2 * HL];
  struct sha256_ctx c;
  block[0] = 0x01;
  memcpy(block + 1, left, HL);
  memcpy(block + 1 + HL, right, HL);
  sha256_init(&c);
  sha256_update(&c, sizeof block, block);
  sha256_digest(&c, HL, out);
}

void jk_merkle_empty_root(uint8_t out[HL]) {
  struct sha256_ctx c;
  sha256_init(&c);
  sha256_digest(&c, HL, out);
}

/* ---- bit helpers (n >= 1 where noted) ---- */

static bool is_pow2(uint64_t n) { return n && !(n & (n - 1)); }

/* floor(log2(n)), n >= 1 */
static unsigned log2_floor(uint64_t n) { return 63u - (unsigned)__builtin_clzll(n); }

/* The largest power of two strictly below n, n >= 2 (the RFC's k). */
static uint64_t split_point(uint64_t n) { return UINT64_C(1) << log2_floor(n - 1); }

/* ---- the frontier ---- */

void jk_merkle_frontier_init(jk_merkle_frontier *f) { memset(f, 0, sizeof *f); }

jk_err jk_merkle_frontier_push(jk_merkle_frontier *f, const uint8_t leaf[HL], unsigned min_level,
                               jk_merkle_subtree_done_cb done, void *payload) {
  if (f->size >= JK_MERKLE_MAX_SIZE)
    return jk_error_set(JK_ETOOLARGE, "the Merkle tree already holds the maximum of 2^63 leaves");
  uint8_t h[HL];
  uint64_t n = f->size; /* index of the new leaf; n >> level is the index of what we complete */
  unsigned level = 0;
  jk_err e;
  memcpy(h, leaf, HL);
  if (done && min_level == 0 && (e = done(0, n, h, payload)) != JK_OK) return e;
  /* Each set low bit of the old size is a finished left sibling: merge it, one level up.
   * Nothing in f changes until every callback has succeeded. */
  while (n & 1) {
    jk_merkle_node_hash(f->stack[level], h, h);
    level++;
    n >>= 1;
    if (done && level >= min_level && (e = done(level, n, h, payload)) != JK_OK) return e;
  }
  memcpy(f->stack[level], h, HL);
  f->size++;
  return JK_OK;
}

void jk_merkle_frontier_root(const jk_merkle_frontier *f, uint8_t out[HL]) {
  uint64_t n = f->size;
  if (n == 0) {
    jk_merkle_empty_root(out);
    return;
  }
  unsigned l = (unsigned)__builtin_ctzll(n);
  uint8_t h[HL];
  memcpy(h, f->stack[l], HL);
  for (n &= n - 1; n; n &= n - 1) {
    l = (unsigned)__builtin_ctzll(n);
    jk_merkle_node_hash(f->stack[l], h, h);
  }
  memcpy(out, h, HL);
}

/* ---- hashes from a source ---- */

static jk_err check_source(const jk_merkle_source *src) {
  if (!src || !src->leaves) return jk_error_set(JK_EINVAL, "the Merkle tree source has no leaves callback");
  return JK_OK;
}

/* MTH of count (1 .. JK_MERKLE_LEAF_BATCH) consecutive leaves from first, in one read. Pairing
 * left to right at each level and carrying an odd last node up unchanged builds exactly the
 * RFC's tree (its split k is always the largest power of two below n). */
static jk_err leaves_root(const jk_merkle_source *src, uint64_t first, size_t count, uint8_t out[HL]) {
  uint8_t buf[JK_MERKLE_LEAF_BATCH][HL];
  jk_err e = src->leaves(first, count, buf, src->payload);
  if (e != JK_OK) return e;
  size_t n = count;
  while (n > 1) {
    size_t m = 0;
    for (size_t i = 0; i + 1 < n; i += 2) jk_merkle_node_hash(buf[i], buf[i + 1], buf[m++]);
    if (n & 1) memcpy(buf[m++], buf[n - 1], HL);
    n = m;
  }
  memcpy(out, buf[0], HL);
  return JK_OK;
}

/* MTH of the 2^level leaves from first (a complete subtree of the tree being worked on). The
 * cache is asked only when the subtree is aligned, i.e. is subtree (level, first >> level). */
static jk_err subtree_root(const jk_merkle_source *src, unsigned level, uint64_t first, uint8_t out[HL]) {
  jk_err e;
  uint64_t width = UINT64_C(1) << level;
  if (level >= 1 && src->subtree && (first & (width - 1)) == 0) {
    e = src->subtree(level, first >> level, out, src->payload);
    if (e != JK_ENOTFOUND) return e; /* JK_OK, or a failure of the source */
  }
  if (level <= BATCH_LEVEL) return leaves_root(src, first, (size_t)width, out);
  uint8_t left[HL], right[HL];
  if ((e = subtree_root(src, level - 1, first, left)) != JK_OK) return e;
  if ((e = subtree_root(src, level - 1, first + width / 2, right)) != JK_OK) return e;
  jk_merkle_node_hash(left, right, out);
  return JK_OK;
}

/* MTH(D[start : start+n]), n >= 1, straight from the recursive definition: a complete left part
 * of k leaves, then the rest. A short tail is read in one batch. */
static jk_err range_root(const jk_merkle_source *src, uint64_t start, uint64_t n, uint8_t out[HL]) {
  if (is_pow2(n)) return subtree_root(src, log2_floor(n), start, out);
  if (n <= JK_MERKLE_LEAF_BATCH) return leaves_root(src, start, (size_t)n, out);
  uint64_t k = split_point(n);
  uint8_t left[HL], right[HL];
  jk_err e;
  if ((e = subtree_root(src, log2_floor(k), start, left)) != JK_OK) return e;
  if ((e = range_root(src, start + k, n - k, right)) != JK_OK) return e;
  jk_merkle_node_hash(left, right, out);
  return JK_OK;
}

jk_err jk_merkle_range_root(uint64_t start, uint64_t size, const jk_merkle_source *src, uint8_t out[HL]) {
  jk_err e;
  if (start > JK_MERKLE_MAX_SIZE || size > JK_MERKLE_MAX_SIZE - start)
    return jk_error_set(JK_EINVAL, "a range of %llu leaves from leaf %llu is beyond the Merkle tree limit of 2^63 leaves",
                        (unsigned long long)size, (unsigned long long)start);
  if (size == 0) {
    jk_merkle_empty_root(out);
    return JK_OK;
  }
  if ((e = check_source(src)) != JK_OK) return e;
  return range_root(src, start, size, out);
}

jk_err jk_merkle_frontier_load(jk_merkle_frontier *f, uint64_t size, const jk_merkle_source *src) {
  jk_merkle_frontier_init(f);
  if (size > JK_MERKLE_MAX_SIZE)
    return jk_error_set(JK_EINVAL, "Merkle tree size %llu exceeds the limit of 2^63 leaves", (unsigned long long)size);
  if (size == 0) return JK_OK;
  jk_err e = check_source(src);
  /* the subtree of bit l starts after those of the higher bits: at size with bits 0..l cleared */
  for (uint64_t bits = size; bits && e == JK_OK; bits &= bits - 1) {
    unsigned l = (unsigned)__builtin_ctzll(bits);
    uint64_t first = size - (size & ((UINT64_C(2) << l) - 1)); /* l <= 63: 2 << 63 wraps to 0, mask all ones */
    e = subtree_root(src, l, first, f->stack[l]);
  }
  if (e != JK_OK) {
    jk_merkle_frontier_init(f);
    return e;
  }
  f->size = size;
  return JK_OK;
}

/* ---- proofs ---- */

static void reverse(uint8_t (*path)[HL], size_t n) {
  uint8_t t[HL];
  for (size_t i = 0; i < n / 2; i++) {
    memcpy(t, path[i], HL);
    memcpy(path[i], path[n - 1 - i], HL);
    memcpy(path[n - 1 - i], t, HL);
  }
}

jk_err jk_merkle_inclusion_proof(uint64_t index, uint64_t size, const jk_merkle_source *src, uint8_t (*path)[HL],
                                 size_t *path_len) {
  jk_err e;
  size_t len = 0;
  *path_len = 0;
  if (size > JK_MERKLE_MAX_SIZE)
    return jk_error_set(JK_EINVAL, "Merkle tree size %llu exceeds the limit of 2^63 leaves", (unsigned long long)size);
  if (index >= size)
    return jk_error_set(JK_EINVAL, "leaf %llu is not in a Merkle tree of %llu leaves", (unsigned long long)index,
                        (unsigned long long)size);
  if ((e = check_source(src)) != JK_OK) return e;
  /* PATH(m, D[s : s+n]): the sibling half's MTH, then the path inside the half holding m. */
  uint64_t s = 0, n = size, m = index;
  while (n > 1 && e == JK_OK) {
    uint64_t k = split_point(n);
    if (m < k) {
      e = range_root(src, s + k, n - k, path[len]);
      n = k;
    } else {
      e = subtree_root(src, log2_floor(k), s, path[len]);
      s += k;
      m -= k;
      n -= k;
    }
    len++;
  }
  if (e != JK_OK) return e;
  reverse(path, len);
  *path_len = len;
  return JK_OK;
}

jk_err jk_merkle_consistency_proof(uint64_t old_size, uint64_t new_size, const jk_merkle_source *src,
                                   uint8_t (*path)[HL], size_t *path_len) {
  jk_err e;
  size_t len = 0;
  *path_len = 0;
  if (new_size > JK_MERKLE_MAX_SIZE)
    return jk_error_set(JK_EINVAL, "Merkle tree size %llu exceeds the limit of 2^63 leaves",
                        (unsigned long long)new_size);
  if (old_size == 0 || old_size > new_size)
    return jk_error_set(JK_EINVAL, "a consistency proof needs 0 < old size <= new size, not %llu and %llu",
                        (unsigned long long)old_size, (unsigned long long)new_size);
  if ((e = check_source(src)) != JK_OK) return e;
  /* SUBPROOF(m, D[s : s+n], b); `whole` is the RFC's b: still on the new tree's right edge,
   * where the old tree's root is known to the verifier and need not be sent. */
  uint64_t s = 0, n = new_size, m = old_size;
  bool whole = true;
  while (m != n && e == JK_OK) {
    uint64_t k = split_point(n);
    if (m <= k) {
      e = range_root(src, s + k, n - k, path[len]);
      n = k;
    } else {
      e = subtree_root(src, log2_floor(k), s, path[len]);
      s += k;
      m -= k;
      n -= k;
      whole = false;
    }
    len++;
  }
  if (e == JK_OK && !whole) e = range_root(src, s, n, path[len++]);
  if (e != JK_OK) return e;
  reverse(path, len);
  *path_len = len;
  return JK_OK;
}

/* ---- verification (RFC 9162 §2.1.3.2 and §2.1.4.2, step by step) ---- */

bool jk_merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[HL], const uint8_t (*path)[HL],
                                size_t path_len, const uint8_t root[HL]) {
  if (!leaf || !root || (path_len && !path) || path_len > JK_MERKLE_MAX_PATH) return false;
  if (size > JK_MERKLE_MAX_SIZE || index >= size) return false; /* step 1 */
  uint64_t fn = index, sn = size - 1;                             /* step 2 */
  uint8_t r[HL];
  memcpy(r, leaf, HL); /* step 3 */
  for (size_t i = 0; i < path_len; i++) { /* step 4 */
    if (sn == 0) return false;            /* 4a */
    if ((fn & 1) || fn == sn) {           /* 4b */
      jk_merkle_node_hash(path[i], r, r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      jk_merkle_node_hash(r, path[i], r);
    }
    fn >>= 1; /* 4c */
    sn >>= 1;
  }
  return sn == 0 && memcmp(r, root, HL) == 0; /* step 5 */
}

bool jk_merkle_consistency_verify(uint64_t old_size, uint64_t new_size, const uint8_t old_root[HL],
                                  const uint8_t new_root[HL], const uint8_t (*path)[HL], size_t path_len) {
  if (!old_root || !new_root || (path_len && !path) || path_len > JK_MERKLE_MAX_PATH) return false;
  if (new_size > JK_MERKLE_MAX_SIZE || old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return path_len == 0 && memcmp(old_root, new_root, HL) == 0;
  if (path_len == 0) return false; /* step 1 */
  /* step 2: when old_size is a power of two, old_root is the implicit first element */
  const uint8_t *first;
  size_t i;
  if (is_pow2(old_size)) {
    first = old_root;
    i = 0;
  } else {
    first = path[0];
    i = 1;
  }
  uint64_t fn = old_size - 1, sn = new_size - 1; /* step 3 */
  while (fn & 1) {                               /* step 4 */
    fn >>= 1;
    sn >>= 1;
  }
  uint8_t fr[HL], sr[HL];
  memcpy(fr, first, HL); /* step 5 */
  memcpy(sr, first, HL);
  for (; i < path_len; i++) { /* step 6 */
    if (sn == 0) return false; /* 6a */
    if ((fn & 1) || fn == sn) { /* 6b */
      jk_merkle_node_hash(path[i], fr, fr);
      jk_merkle_node_hash(path[i], sr, sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      jk_merkle_node_hash(sr, path[i], sr);
    }
    fn >>= 1; /* 6c */
    sn >>= 1;
  }
  /* step 7 */
  return sn == 0 && memcmp(fr, old_root, HL) == 0 && memcmp(sr, new_root, HL) == 0;
}

/* ---- proofs for a run of leaves ---- */

unsigned jk_merkle_depth(uint64_t size) {
  return size <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(size - 1);
}

typedef struct range_ctx {
  const jk_merkle_frontier *f;
  uint64_t a;                         /* first leaf of the run */
  const uint8_t (*leaves)[HL];        /* leaves a .. a + count - 1 */
  uint64_t proved_end;                /* a + proved */
  uint8_t (*paths)[HL];
  size_t stride;
  uint8_t *lens;
} range_ctx;

static void range_append(range_ctx *c, uint64_t from, uint64_t to, const uint8_t h[HL]) {
  if (from < c->a) from = c->a;
  if (to > c->proved_end) to = c->proved_end;
  for (uint64_t i = from; i < to; i++) {
    size_t k = (size_t)(i - c->a);
    memcpy(c->paths[k * c->stride + c->lens[k]], h, HL);
    c->lens[k]++;
  }
}

/* MTH(D[s : s+n]) for a node that reaches into the run (s + n > a), appending the sibling
 * hashes of the proved leaves below it on the way back up: deepest first, as RFC 9162 orders a
 * path. A left child that ends at or before a is a whole block of a's binary decomposition, so
 * the frontier holds its hash. */
static void range_node(range_ctx *c, uint64_t s, uint64_t n, uint8_t out[HL]) {
  if (n == 1) {
    memcpy(out, c->leaves[s - c->a], HL);
    return;
  }
  uint64_t k = UINT64_C(1) << (63 - __builtin_clzll(n - 1)); /* largest power of two < n */
  uint8_t left[HL], right[HL];
  if (s + k <= c->a) memcpy(left, c->f->stack[__builtin_ctzll(k)], HL);
  else range_node(c, s, k, left);
  range_node(c, s + k, n - k, right);
  range_append(c, s, s + k, right);
  range_append(c, s + k, s + n, left);
  jk_merkle_node_hash(left, right, out);
}

jk_err jk_merkle_range_proofs(const jk_merkle_frontier *f, const uint8_t (*leaves)[HL], size_t count, size_t proved,
                              uint8_t (*paths)[HL], size_t stride, uint8_t *lens, uint8_t root[HL]) {
  if (!f || (count && !leaves) || proved > count || (proved && (!paths || !lens)) || !root)
    return jk_error_set(JK_EINVAL, "jk_merkle_range_proofs: bad argument");
  if (f->size > JK_MERKLE_MAX_SIZE - count)
    return jk_error_set(JK_EINVAL, "Merkle tree size exceeds the limit of 2^63 leaves");
  uint64_t size = f->size + count;
  if (proved && stride < jk_merkle_depth(size))
    return jk_error_set(JK_EINVAL, "jk_merkle_range_proofs: stride %zu below the tree depth %u", stride,
                        jk_merkle_depth(size));
  if (count == 0) {
    jk_merkle_frontier_root(f, root);
    return JK_OK;
  }
  if (proved) memset(lens, 0, proved);
  range_ctx c = {.f = f, .a = f->size, .leaves = leaves, .proved_end = f->size + proved, .paths = paths,
                 .stride = stride, .lens = lens};
  range_node(&c, 0, size, root);
  return JK_OK;
}
