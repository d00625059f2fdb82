/*
 * bench_merkle — the Merkle tree (include/jukinet/merkle.h), in memory.
 *
 * 1. SHA-256 throughput, nettle (what the library uses) against libsodium, on 1 MiB buffers and
 *    on the 65-byte node hashes a tree is made of.
 * 2. Leaf hashes/s (128-byte entries) and the root of N leaves (default 1,000,000) through the
 *    frontier, caching every subtree of level >= 8 as a ledger does.
 * 3. Proofs in the N-leaf tree from that cache: inclusion and consistency, generation and
 *    verification, mean per proof, and what each read.
 *
 *   bench_merkle [--leaves N] [--proofs P]
 */
#include "jukinet/merkle.h"

#include <nettle/sha2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HL JK_MERKLE_HASH_LEN

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint8_t sink;

static double mb_per_s_nettle(const uint8_t *buf, size_t len, int reps) {
  uint8_t out[HL];
  double t0 = now_s();
  for (int i = 0; i < reps; i++) {
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, buf);
    sha256_digest(&c, HL, out);
    sink ^= out[0];
  }
  return (double)len * reps / (now_s() - t0) / 1e6;
}

static double mb_per_s_sodium(const uint8_t *buf, size_t len, int reps) {
  uint8_t out[HL];
  double t0 = now_s();
  for (int i = 0; i < reps; i++) {
    crypto_hash_sha256(out, buf, len);
    sink ^= out[0];
  }
  return (double)len * reps / (now_s() - t0) / 1e6;
}

/* ---- an in-memory source: leaf hashes in an array, subtrees of level >= 8 in per-level arrays ---- */

typedef struct mem {
  uint8_t (*leaf)[HL];
  uint64_t n;
  uint8_t (*cache[64])[HL];
  uint64_t leaves_read, subtree_reads;
} mem;

static jk_err m_leaves(uint64_t first, size_t count, uint8_t (*out)[HL], void *payload) {
  mem *m = payload;
  memcpy(out, m->leaf[first], count * HL);
  m->leaves_read += count;
  return JK_OK;
}

static jk_err m_subtree(unsigned level, uint64_t index, uint8_t out[HL], void *payload) {
  mem *m = payload;
  if (!m->cache[level] || index >= (m->n >> level)) return JK_ENOTFOUND;
  memcpy(out, m->cache[level][index], HL);
  m->subtree_reads++;
  return JK_OK;
}

static jk_err m_put(unsigned level, uint64_t index, const uint8_t hash[HL], void *payload) {
  mem *m = payload;
  if (!m->cache[level] && !(m->cache[level] = malloc((m->n >> level) * HL))) return JK_ENOMEM;
  memcpy(m->cache[level][index], hash, HL);
  return JK_OK;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

int main(int argc, char **argv) {
  uint64_t n = 1000000;
  int proofs = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--leaves") == 0) n = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--proofs") == 0) proofs = (int)strtol(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "usage: bench_merkle [--leaves N] [--proofs P]\n");
      return 2;
    }
  }
  if (n < 2 || proofs < 1 || sodium_init() < 0) return 2;

  /* 1. SHA-256 */
  size_t big = 1 << 20;
  uint8_t *buf = malloc(big);
  if (!buf) return 1;
  for (size_t i = 0; i < big; i++) buf[i] = (uint8_t)(i * 131);
  mb_per_s_nettle(buf, big, 20); /* warm up */
  double nettle_big = mb_per_s_nettle(buf, big, 400), sodium_big = mb_per_s_sodium(buf, big, 100);
  uint8_t a[HL] = {1}, b[HL] = {2}, nb[1 + 2 * HL] = {1};
  int small = 2000000;
  double t0 = now_s();
  for (int i = 0; i < small; i++) jk_merkle_node_hash(a, b, a);
  double nettle_node = small / (now_s() - t0);
  t0 = now_s();
  for (int i = 0; i < small; i++) {
    memcpy(nb + 1, a, HL);
    crypto_hash_sha256(a, nb, sizeof nb);
  }
  double sodium_node = small / (now_s() - t0);
  sink ^= a[0];
  printf("sha256 1 MiB buffers:     nettle %.0f MB/s, libsodium %.0f MB/s (x%.1f)\n", nettle_big, sodium_big,
         nettle_big / sodium_big);
  printf("node hashes (65 bytes):   nettle %.2f M/s, libsodium %.2f M/s (x%.1f)\n", nettle_node / 1e6,
         sodium_node / 1e6, nettle_node / sodium_node);

  /* 2. leaves and the root */
  mem m;
  memset(&m, 0, sizeof m);
  m.n = n;
  m.leaf = malloc(n * HL);
  if (!m.leaf) return 1;
  uint8_t entry[128];
  memset(entry, 'e', sizeof entry);
  t0 = now_s();
  for (uint64_t i = 0; i < n; i++) {
    memcpy(entry, &i, sizeof i);
    jk_merkle_leaf_hash(entry, sizeof entry, m.leaf[i]);
  }
  double leaf_s = now_s() - t0;
  jk_merkle_frontier f;
  jk_merkle_frontier_init(&f);
  uint8_t root[HL];
  t0 = now_s();
  for (uint64_t i = 0; i < n; i++) jk_merkle_frontier_push(&f, m.leaf[i], 8, m_put, &m);
  jk_merkle_frontier_root(&f, root);
  double push_s = now_s() - t0;
  jk_merkle_source nocache = {m_leaves, NULL, &m}, cached = {m_leaves, m_subtree, &m};
  uint8_t h[HL];
  t0 = now_s();
  if (jk_merkle_range_root(0, n, &nocache, h) != JK_OK || memcmp(h, root, HL) != 0) return 1;
  double range_s = now_s() - t0;
  printf("leaf hashes (128 bytes):  %.2f M/s (%llu in %.3f s)\n", n / leaf_s / 1e6, (unsigned long long)n, leaf_s);
  printf("root of %llu leaves:   frontier push + root %.3f s (caching levels >= 8), from leaves without a cache %.3f s\n",
         (unsigned long long)n, push_s, range_s);

  /* 3. proofs from the level >= 8 cache */
  uint8_t(*path)[HL] = malloc(JK_MERKLE_MAX_PATH * HL);
  uint8_t(*olds)[HL] = malloc((size_t)proofs * HL);
  uint64_t *idx = malloc((size_t)proofs * sizeof *idx), *osz = malloc((size_t)proofs * sizeof *osz);
  if (!path || !olds || !idx || !osz) return 1;
  for (int i = 0; i < proofs; i++) {
    idx[i] = rnd() % n;
    osz[i] = rnd() % n + 1;
  }
  size_t len;
  m.leaves_read = m.subtree_reads = 0;
  t0 = now_s();
  for (int i = 0; i < proofs; i++)
    if (jk_merkle_inclusion_proof(idx[i], n, &cached, path, &len) != JK_OK) return 1;
  double incl_s = (now_s() - t0) / proofs;
  double incl_leaves = (double)m.leaves_read / proofs, incl_sub = (double)m.subtree_reads / proofs;
  t0 = now_s();
  int bad = 0;
  for (int i = 0; i < proofs; i++) {
    jk_merkle_inclusion_proof(idx[i], n, &cached, path, &len);
    bad += !jk_merkle_inclusion_verify(idx[i], n, m.leaf[idx[i]], (const uint8_t(*)[HL])path, len, root);
  }
  double incl_v = (now_s() - t0) / proofs - incl_s;
  for (int i = 0; i < proofs; i++) jk_merkle_range_root(0, osz[i], &cached, olds[i]);
  m.leaves_read = m.subtree_reads = 0;
  t0 = now_s();
  for (int i = 0; i < proofs; i++)
    if (jk_merkle_consistency_proof(osz[i], n, &cached, path, &len) != JK_OK) return 1;
  double cons_s = (now_s() - t0) / proofs;
  double cons_leaves = (double)m.leaves_read / proofs, cons_sub = (double)m.subtree_reads / proofs;
  t0 = now_s();
  for (int i = 0; i < proofs; i++) {
    jk_merkle_consistency_proof(osz[i], n, &cached, path, &len);
    bad += !jk_merkle_consistency_verify(osz[i], n, olds[i], root, (const uint8_t(*)[HL])path, len);
  }
  double cons_v = (now_s() - t0) / proofs - cons_s;
  m.leaves_read = 0;
  t0 = now_s();
  jk_merkle_inclusion_proof(idx[0], n, &nocache, path, &len);
  double incl_nocache = now_s() - t0;
  printf("inclusion proof, %llu leaves, level>=8 cache: %.1f us (reads %.0f leaves, %.0f subtrees), verify %.1f us\n",
         (unsigned long long)n, incl_s * 1e6, incl_leaves, incl_sub, incl_v * 1e6);
  printf("consistency proof, random old size:          %.1f us (reads %.0f leaves, %.0f subtrees), verify %.1f us\n",
         cons_s * 1e6, cons_leaves, cons_sub, cons_v * 1e6);
  printf("inclusion proof without a cache:              %.1f ms (reads %llu leaves)\n", incl_nocache * 1e3,
         (unsigned long long)m.leaves_read);
  if (bad) {
    fprintf(stderr, "bench_merkle: %d proofs did not verify\n", bad);
    return 1;
  }
  for (int l = 0; l < 64; l++) free(m.cache[l]);
  free(m.leaf);
  free(path);
  free(olds);
  free(idx);
  free(osz);
  free(buf);
  return 0;
}
