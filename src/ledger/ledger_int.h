/*
 * ledger_int.h — shared between the files of src/ledger (private).
 */
#ifndef JK_LEDGER_INT_H
#define JK_LEDGER_INT_H

#include "jukinet/ledger.h"
#include "jukinet/merkle.h"

/* RFC 9162 leaf hash of an entry's canonical encoding. */
jk_err jk__ledger_leaf(const char *node_id, const jk_ledger_row *r, uint8_t leaf[32]);
/* Whether h carries a valid Ed25519 signature by pubkey. */
bool jk__ledger_head_verify(const char *node_id, const jk_ledger_head_row *h, const uint8_t pubkey[32]);
jk_store *jk__ledger_store(jk_ledger *l);
const char *jk__ledger_node_id(const jk_ledger *l);

/* A growable array of tree heads; jk__heads_push is a jk_ledger_head_cb (payload: the vector),
 * which stops with err = JK_ENOMEM when memory runs out. Free v with jk_free. */
typedef struct jk__heads {
  jk_ledger_head_row *v;
  size_t n, cap;
  jk_err err;
} jk__heads;
int jk__heads_push(const jk_ledger_head_row *h, void *payload);

/*
 * The verifier: fed entries in the order they were found and every tree head, it recomputes
 * the tree and reports the first thing that is wrong. The same code checks a node.db
 * (verify.c) and an exported bundle (bundle.c).
 */
typedef struct jk__verifier {
  const char *node_id;
  const uint8_t *pubkey;
  jk_merkle_frontier frontier;
  int64_t expected;            /* next seq */
  char last_at[32];
  jk_ledger_head_row *heads;   /* sorted by size */
  size_t nheads, next_head;
  int64_t covered;             /* size of the last head that matched */
  char tail_at[32];            /* the time of entry covered + 1, once fed */
  bool tail_grace;             /* a recent uncovered tail is reported, not failed (a node.db) */
  jk_ledger_report *report;
  bool failed;
  /* optional: compare computed subtrees (level >= 8) with a cache */
  jk_err (*subtree)(unsigned level, uint64_t index, uint8_t out[32], void *payload);
  void *subtree_payload;
} jk__verifier;

/* heads: taken over (freed by done); must be sorted by size, unique. */
void jk__verifier_init(jk__verifier *v, const char *node_id, const uint8_t pubkey[32], jk_ledger_head_row *heads,
                       size_t nheads, jk_ledger_report *report);
/* Feed one entry as found; false once something is wrong (the report says what). */
bool jk__verifier_entry(jk__verifier *v, const jk_ledger_row *row);
/* After the last entry: JK_OK or JK_ECORRUPT (report filled). Frees the heads. */
jk_err jk__verifier_done(jk__verifier *v);
void jk__verifier_free(jk__verifier *v);

#endif
