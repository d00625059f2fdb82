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
 * entry (the tail was deleted). In a node.db, entries after the newest head written less than
 * JK_LEDGER_TAIL_GRACE_S ago are a running node's deferred head (D15): reported, not failed;
 * an older uncovered tail fails as before. An editor who rewrites leaves and roots consistently is caught
 * by the signatures; one who also deletes the newest heads truncates the log, which only a
 * copy of an earlier head held elsewhere can show (the next node up keeps one, issue 4).
 */
#include "ledger/ledger_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    return fail(v, r->seq >= 1 ? r->seq : v->expected, 0); /* a number below 1 is no entry: name the place */
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
  if (r->seq == v->covered + 1) snprintf(v->tail_at, sizeof v->tail_at, "%s", r->at);
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

/* Whether an entry's time (UTC, "YYYY-MM-DDTHH:MM:SS…") is less than the grace old. */
static bool recent(const char *at) {
  time_t t = time(NULL) - JK_LEDGER_TAIL_GRACE_S;
  struct tm tm;
  char cut[32];
  if (!gmtime_r(&t, &tm) || !strftime(cut, sizeof cut, "%Y-%m-%dT%H:%M:%S", &tm)) return false;
  return strlen(at) >= 19 && strncmp(at, cut, 19) >= 0;
}

jk_err jk__verifier_done(jk__verifier *v) {
  if (!v->failed) {
    int64_t n = v->expected - 1;
    if (v->next_head < v->nheads) {
      const jk_ledger_head_row *h = &v->heads[v->nheads - 1]; /* the newest says how many there were */
      jk_error_set(JK_ECORRUPT,
                   "ledger entries %lld to %lld are missing (deleted): the tree head signed at size %lld covers them",
                   (long long)n + 1, (long long)h->size, (long long)h->size);
      fail(v, n + 1, v->heads[v->next_head].size);
    } else if (v->covered < n && v->tail_grace && recent(v->tail_at)) {
      v->report->unsigned_tail = n - v->covered;
      snprintf(v->report->tail_at, sizeof v->report->tail_at, "%s", v->tail_at);
    } else if (v->covered < n) {
      jk_error_set(JK_ECORRUPT,
                   "ledger entries %lld to %lld are not covered by any signed tree head: added afterwards, or left by "
                   "a query service that stopped before signing them (its node signs them when it starts again)",
                   (long long)v->covered + 1, (long long)n);
      fail(v, v->covered + 1, 0);
    }
  }
  jk__verifier_free(v);
  if (v->failed) return jk_error_set(JK_ECORRUPT, "%s", v->report->message);
  jk_error_clear();
  return JK_OK;
}

int jk__heads_push(const jk_ledger_head_row *h, void *payload) {
  jk__heads *c = payload;
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

/* ---- a node.db ----
 * Two threads: the caller reads rows from the store (SQLite's share of the work) into batches,
 * a worker recomputes hashes (the other share), so verification runs at the speed of the
 * slower of the two rather than their sum. The worker never touches the store: the cached
 * subtree hashes it compares against are loaded into memory first (about n/128 of them). */


#define VBATCH 2048
#define VARENA (VBATCH * 160)

typedef struct vbatch {
  jk_ledger_row rows[VBATCH];
  char *arena;
  size_t used, cap, n;
  struct vbatch *next;
} vbatch;

typedef struct subtrees {
  uint8_t (*h[64])[32]; /* per level, by index */
  uint64_t n[64];
} subtrees;

typedef struct pipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  vbatch *full, **full_tail, *free_;
  bool done, stop;
  jk__verifier *v;
  subtrees st;
  vbatch *cur;
  jk_err err;
} pipe_t;

static jk_err mem_subtree(unsigned level, uint64_t index, uint8_t out[32], void *payload) {
  subtrees *st = payload;
  if (level >= 64 || index >= st->n[level]) return JK_ENOTFOUND;
  memcpy(out, st->h[level][index], 32);
  return JK_OK;
}

static int collect_subtree(unsigned level, uint64_t index, const uint8_t hash[32], void *payload) {
  pipe_t *p = payload;
  subtrees *st = &p->st;
  if (index != st->n[level]) { /* not dense from 0: a gap or a stray row; the worker reports it */
    return 0;
  }
  if ((st->n[level] & (st->n[level] - 1)) == 0) { /* grow at powers of two */
    uint64_t cap = st->n[level] ? st->n[level] * 2 : 64;
    uint8_t(*nh)[32] = jk_realloc(st->h[level], cap * 32);
    if (!nh) {
      p->err = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    st->h[level] = nh;
  }
  memcpy(st->h[level][st->n[level]++], hash, 32);
  return 0;
}

static vbatch *batch_new(void) {
  vbatch *b = jk_calloc(1, sizeof *b);
  if (!b) return NULL;
  if (!(b->arena = jk_malloc(VARENA))) {
    jk_free(b);
    return NULL;
  }
  b->cap = VARENA;
  return b;
}

static void batch_free(vbatch *b) {
  if (!b) return;
  jk_free(b->arena);
  jk_free(b);
}

static void *worker(void *arg) {
  pipe_t *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->full && !p->done) pthread_cond_wait(&p->cv, &p->mu);
    if (!p->full) break;
    vbatch *b = p->full;
    p->full = b->next;
    if (!p->full) p->full_tail = &p->full;
    pthread_mutex_unlock(&p->mu);
    bool ok = true;
    for (size_t i = 0; i < b->n && ok; i++) ok = jk__verifier_entry(p->v, &b->rows[i]);
    pthread_mutex_lock(&p->mu);
    b->n = 0;
    b->used = 0;
    b->next = p->free_;
    p->free_ = b;
    if (!ok) p->stop = true;
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Hand the current batch to the worker and take a free one (waits while two are in flight). */
static bool push_batch(pipe_t *p) {
  pthread_mutex_lock(&p->mu);
  p->cur->next = NULL;
  *p->full_tail = p->cur;
  p->full_tail = &p->cur->next;
  p->cur = NULL;
  pthread_cond_broadcast(&p->cv);
  while (!p->free_ && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
  bool go = !p->stop;
  if (p->free_) {
    p->cur = p->free_;
    p->free_ = p->cur->next;
  }
  pthread_mutex_unlock(&p->mu);
  return go && p->cur;
}

static const char *stash(vbatch *b, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = b->arena + b->used;
  memcpy(d, s, n);
  b->used += n;
  return d;
}

static int feed(const jk_ledger_row *row, void *payload) {
  pipe_t *p = payload;
  vbatch *b = p->cur;
  size_t need = strlen(row->at) + strlen(row->operator_) + strlen(row->role) + strlen(row->terminal) +
                strlen(row->action) + strlen(row->object) + strlen(row->result) + 7;
  if (b->n == VBATCH || b->used + need > b->cap) {
    if (!push_batch(p)) return 1;
    b = p->cur;
  }
  jk_ledger_row *r = &b->rows[b->n++];
  *r = *row;
  r->at = stash(b, row->at);
  r->operator_ = stash(b, row->operator_);
  r->role = stash(b, row->role);
  r->terminal = stash(b, row->terminal);
  r->action = stash(b, row->action);
  r->object = stash(b, row->object);
  r->result = stash(b, row->result);
  return 0;
}

static jk_err collect_heads(jk_store *s, jk__heads *hc) {
  jk_err e = jk_store_ledger_head_each(s, jk__heads_push, hc);
  return e ? e : hc->err;
}

jk_err jk_ledger_verify(jk_ledger *l, const uint8_t pubkey[32], jk_ledger_report *report) {
  jk_store *s = jk__ledger_store(l);
  jk__heads hc = {0};
  pipe_t p;
  jk_err e;
  memset(report, 0, sizeof *report);
  memset(&p, 0, sizeof p);
  if ((e = collect_heads(s, &hc))) {
    jk_free(hc.v);
    return e;
  }
  if (!(e = jk_store_ledger_subtree_each(s, collect_subtree, &p))) e = p.err;
  vbatch *b1 = NULL, *b2 = NULL, *b3 = NULL;
  if (!e && (!(b1 = batch_new()) || !(b2 = batch_new()) || !(b3 = batch_new()))) e = jk_error_set(JK_ENOMEM, NULL);
  jk__verifier v;
  jk__verifier_init(&v, jk__ledger_node_id(l), pubkey, hc.v, hc.n, report);
  v.tail_grace = true;
  v.subtree = mem_subtree;
  v.subtree_payload = &p.st;
  pthread_t th;
  bool started = false;
  if (!e) {
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.full_tail = &p.full;
    p.v = &v;
    p.cur = b1;
    b2->next = b3;
    p.free_ = b2;
    b1 = b2 = b3 = NULL;
    if (pthread_create(&th, NULL, worker, &p) == 0) started = true;
    else e = jk_error_set(JK_ENOMEM, "cannot start the verification thread");
  }
  if (started) {
    e = jk_store_ledger_each(s, 1, 0, feed, &p);
    pthread_mutex_lock(&p.mu);
    if (p.cur && p.cur->n && !p.stop) { /* the last, partial batch */
      p.cur->next = NULL;
      *p.full_tail = p.cur;
      p.full_tail = &p.cur->next;
      p.cur = NULL;
    }
    p.done = true;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    pthread_join(th, NULL);
    batch_free(p.cur);
    while (p.free_) {
      vbatch *n = p.free_->next;
      batch_free(p.free_);
      p.free_ = n;
    }
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
  }
  batch_free(b1);
  batch_free(b2);
  batch_free(b3);
  for (int i = 0; i < 64; i++) jk_free(p.st.h[i]);
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
