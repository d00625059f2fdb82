/*
 * verify.c — recompute a ledger and name the first thing that is wrong (ledger.h).
 *
 * Checks, in entry order:
 *   - seq is 1, 2, 3 … (a gap = entries deleted; a repeat or step back = reordered/inserted)
 *   - time never decreases
 *   - the stored leaf hash equals the hash of the entry's fields (names an edited row exactly)
 *   - each cached subtree equals the recomputed one (proofs are built from them)
 *   - at every signed head's size, the recomputed root equals the signed root, and the
 *     signature verifies with the node's public key
 * and at the end, that the newest head covers every entry and no head is beyond the last
 * entry (the tail was deleted). An editor who rewrites leaves and roots consistently is caught
 * by the signatures; one who also deletes the newest heads truncates the log, which only a
 * copy of an earlier head held elsewhere can show (the next node up keeps one, issue 4).
 */
#include "ledger/ledger_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(jk__verifier *v, int64_t first_bad, int64_t bad_head) {
  v->failed = true;
  v->report->first_bad = first_bad;
  v->report->bad_head = bad_head;
  snprintf(v->report->message, sizeof v->report->message, "%s", jk_error_last());
  return false;
}

void jk__verifier_init(jk__verifier *v, const char *node_id, const uint8_t pubkey[32], jk_ledger_head_row *heads,
                       size_t nheads, jk_ledger_report *report) {
  memset(v, 0, sizeof *v);
  memset(report, 0, sizeof *report);
  v->node_id = node_id;
  v->pubkey = pubkey;
  v->heads = heads;
  v->nheads = nheads;
  v->report = report;
  v->expected = 1;
  report->heads = (int64_t)nheads;
  jk_merkle_frontier_init(&v->frontier);
}

void jk__verifier_free(jk__verifier *v) {
  jk_free(v->heads);
  v->heads = NULL;
}

typedef struct sub_ctx {
  jk__verifier *v;
  bool bad;
  unsigned level;
  uint64_t index;
} sub_ctx;

static jk_err check_subtree(unsigned level, uint64_t index, const uint8_t hash[32], void *payload) {
  sub_ctx *c = payload;
  uint8_t stored[32];
  if (c->bad || !c->v->subtree) return JK_OK;
  jk_err e = c->v->subtree(level, index, stored, c->v->subtree_payload);
  if (e == JK_ENOTFOUND || (!e && memcmp(stored, hash, 32) != 0)) {
    c->bad = true;
    c->level = level;
    c->index = index;
  }
  return JK_OK;
}

/* Check the heads whose size is now reached. */
static bool check_heads(jk__verifier *v) {
  while (v->next_head < v->nheads && (uint64_t)v->heads[v->next_head].size <= v->frontier.size) {
    const jk_ledger_head_row *h = &v->heads[v->next_head];
    if ((uint64_t)h->size == v->frontier.size) {
      uint8_t root[32];
      jk_merkle_frontier_root(&v->frontier, root);
      if (memcmp(root, h->root, 32) != 0) {
        jk_error_set(JK_ECORRUPT,
                     "entries %lld to %lld do not match the tree head signed at size %lld: one of them was "
                     "modified, or the head was",
                     (long long)v->covered + 1, (long long)h->size, (long long)h->size);
        return fail(v, v->covered + 1, h->size);
      }
    }
    if (!jk__ledger_head_verify(v->node_id, h, v->pubkey)) {
      jk_error_set(JK_ECORRUPT, "the signature of the tree head at size %lld does not verify with the node's key",
                   (long long)h->size);
      return fail(v, v->covered + 1, h->size);
    }
    v->covered = h->size;
    v->next_head++;
  }
  return true;
}

bool jk__verifier_entry(jk__verifier *v, const jk_ledger_row *r) {
  if (v->failed) return false;
  if (r->seq > v->expected) {
    jk_error_set(JK_ECORRUPT, "ledger entry %lld is missing (deleted): the next one found is %lld",
                 (long long)v->expected, (long long)r->seq);
    return fail(v, v->expected, 0);
  }
  if (r->seq < v->expected) {
    jk_error_set(JK_ECORRUPT, "ledger entry %lld appears out of order after entry %lld", (long long)r->seq,
                 (long long)v->expected - 1);
    return fail(v, r->seq, 0);
  }
  if (strlen(r->at) >= sizeof v->last_at || strcmp(r->at, v->last_at) < 0) {
    jk_error_set(JK_ECORRUPT, "ledger entry %lld: its time goes back before the previous entry", (long long)r->seq);
    return fail(v, r->seq, 0);
  }
  uint8_t leaf[32];
  if (jk__ledger_leaf(v->node_id, r, leaf) || memcmp(leaf, r->leaf, 32) != 0) {
    jk_error_set(JK_ECORRUPT, "ledger entry %lld was modified: its contents do not match its hash", (long long)r->seq);
    return fail(v, r->seq, 0);
  }
  snprintf(v->last_at, sizeof v->last_at, "%s", r->at);
  sub_ctx sc = {v, false, 0, 0};
  if (jk_merkle_frontier_push(&v->frontier, leaf, 8, check_subtree, &sc)) {
    jk_error_set(JK_ECORRUPT, "ledger entry %lld: the tree is too large", (long long)r->seq);
    return fail(v, r->seq, 0);
  }
  if (sc.bad) {
    jk_error_set(JK_ECORRUPT, "the cached hash of entries %llu to %llu was modified",
                 (unsigned long long)(sc.index << sc.level) + 1, (unsigned long long)((sc.index + 1) << sc.level));
    return fail(v, (int64_t)(sc.index << sc.level) + 1, 0);
  }
  v->expected++;
  v->report->entries++;
  return check_heads(v);
}

jk_err jk__verifier_done(jk__verifier *v) {
  if (!v->failed) {
    int64_t n = v->expected - 1;
    if (v->next_head < v->nheads) {
      const jk_ledger_head_row *h = &v->heads[v->next_head];
      jk_error_set(JK_ECORRUPT,
                   "ledger entries %lld to %lld are missing (deleted): the tree head signed at size %lld covers them",
                   (long long)n + 1, (long long)h->size, (long long)h->size);
      fail(v, n + 1, h->size);
    } else if (v->covered < n) {
      jk_error_set(JK_ECORRUPT, "ledger entries %lld to %lld are not covered by any signed tree head (added afterwards?)",
                   (long long)v->covered + 1, (long long)n);
      fail(v, v->covered + 1, 0);
    }
  }
  jk__verifier_free(v);
  if (v->failed) return jk_error_set(JK_ECORRUPT, "%s", v->report->message);
  jk_error_clear();
  return JK_OK;
}

/* ---- a node.db ---- */

typedef struct heads_ctx {
  jk_ledger_head_row *v;
  size_t n, cap;
  jk_err err;
} heads_ctx;

static int collect_head(const jk_ledger_head_row *h, void *payload) {
  heads_ctx *c = payload;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    jk_ledger_head_row *p = jk_realloc(c->v, cap * sizeof *p);
    if (!p) {
      c->err = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    c->v = p;
    c->cap = cap;
  }
  c->v[c->n++] = *h;
  return 0;
}

static int feed(const jk_ledger_row *row, void *payload) { return jk__verifier_entry(payload, row) ? 0 : 1; }

static jk_err store_subtree(unsigned level, uint64_t index, uint8_t out[32], void *payload) {
  return jk_store_ledger_subtree_get(payload, level, index, out);
}

jk_err jk_ledger_verify(jk_ledger *l, const uint8_t pubkey[32], jk_ledger_report *report) {
  jk_store *s = jk__ledger_store(l);
  heads_ctx hc = {0};
  jk_err e = jk_store_ledger_head_each(s, collect_head, &hc);
  if (!e) e = hc.err;
  if (e) {
    jk_free(hc.v);
    memset(report, 0, sizeof *report);
    return e;
  }
  jk__verifier v;
  jk__verifier_init(&v, jk__ledger_node_id(l), pubkey, hc.v, hc.n, report);
  v.subtree = store_subtree;
  v.subtree_payload = s;
  e = jk_store_ledger_each(s, 1, 0, feed, &v);
  if (e && !v.failed) {
    /* a row of the wrong shape is itself a finding */
    if (e == JK_ECORRUPT) {
      report->first_bad = v.expected;
      snprintf(report->message, sizeof report->message, "%s", jk_error_last());
    }
    jk__verifier_free(&v);
    return e;
  }
  return jk__verifier_done(&v);
}
