/* libFuzzer target: the batch decoder and verifier (jk_batch_decode, jk_batch_verify) treat a
 * batch as hostile input — no crash, no read out of bounds, only the documented codes; what
 * decodes re-encodes to the same bytes. Keys are fixed (Ed25519 from a seed of zeros for the
 * source, of ones for a forwarding sender) so that corpus batches verify all the way through.
 * The fuzzer also plays the receiver that acknowledged the sender's ledger at the batch's old
 * size: the corpus senders' ledgers are the fixed list of leaves SHA-256(0x00 ‖ "entry N"),
 * N = 1, 2 …, so the acknowledged root is recomputed here (old sizes up to 4096). */
#include "jukinet/notice.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The root of the corpus ledger's first n entries. */
static void corpus_root(uint64_t n, uint8_t root[32]) {
  static jk_merkle_frontier f;
  char entry[40];
  jk_merkle_frontier_init(&f);
  for (uint64_t i = 1; i <= n; i++) {
    uint8_t leaf[32];
    int k = snprintf(entry, sizeof entry, "entry %llu", (unsigned long long)i);
    jk_merkle_leaf_hash(entry, (size_t)k, leaf);
    if (jk_merkle_frontier_push(&f, leaf, 64, NULL, NULL) != JK_OK) abort();
  }
  jk_merkle_frontier_root(&f, root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t pk0[32], pk1[32];
  static int ready;
  if (!ready) {
    uint8_t sk[64], seed[32] = {0};
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(pk0, sk, seed);
    memset(seed, 1, sizeof seed);
    crypto_sign_seed_keypair(pk1, sk, seed);
    ready = 1;
  }
  jk_batch *b = NULL;
  jk_err e = jk_batch_decode(&b, data, size);
  if (e != JK_OK) {
    if ((e != JK_EINVAL && e != JK_ETOOLARGE && e != JK_ENOMEM) || b) abort();
    return 0;
  }
  if (b->count > JK_BATCH_MAX_NOTICES) abort();
  uint8_t *again;
  size_t len;
  if (jk_batch_encode(b, &again, &len) != JK_OK) abort();
  if (len != size || memcmp(again, data, size) != 0) abort();
  jk_free(again);
  /* the sender is the source itself (key 0) or a prefecture forwarding (key 1) */
  const uint8_t *sender_pk = strcmp(b->sender, b->source) == 0 ? pk0 : pk1;
  e = jk_batch_verify(b, pk0, sender_pk, NULL);
  if (e != JK_OK && e != JK_ECRYPTO && e != JK_ECORRUPT && e != JK_ECONFLICT && e != JK_EINVAL) abort();
  if (b->ledger_old_size && b->ledger_old_size <= 4096) {
    jk_ledger_ack ack = {b->ledger_old_size, {0}};
    corpus_root(ack.size, ack.root);
    e = jk_batch_verify(b, pk0, sender_pk, &ack);
    if (e != JK_OK && e != JK_ECRYPTO && e != JK_ECORRUPT && e != JK_ECONFLICT && e != JK_EINVAL) abort();
  }
  jk_batch_free(b);
  return 0;
}
