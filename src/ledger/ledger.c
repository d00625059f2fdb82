/*
 * ledger.c — entries, tree heads, group commit, proofs and time ranges (ledger.h).
 *
 * Invariants
 *  - Entry seq is contiguous from 1 and `at` never decreases (a clock that steps back gives
 *    the previous entry's time), so a time range is a seq range.
 *  - Every transaction that writes entries also writes a signed tree head covering them, so
 *    the newest head covers every entry (REQ-ACCESS-11-3) — except a transaction the caller
 *    let defer it (jk_ledger_defer_seal: the query service's group commits, docs/decisions.md
 *    D15). Its entries are durable at once and signed by the next head: the next transaction
 *    that does not defer, or jk_ledger_seal, which the deferring caller runs within its delay.
 *  - The in-memory frontier mirrors the store only after a commit; on any failure it is
 *    restored, and before each write it is checked against the store's newest head (another
 *    process may have appended), and reloaded when it differs.
 */
#include "ledger/ledger_int.h"

#include "jukinet/date.h"
#include "jukinet/merkle.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SUBTREE_MIN_LEVEL 8 /* cache subtrees of 256 leaves and more */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct staged {
  char operator_[JK_LEDGER_FIELD_MAX + 1], role[JK_LEDGER_FIELD_MAX + 1], terminal[JK_LEDGER_FIELD_MAX + 1];
  char action[JK_LEDGER_FIELD_MAX + 1], object[JK_LEDGER_FIELD_MAX + 1], result[JK_LEDGER_FIELD_MAX + 1];
  uint8_t detail[32];
  const char *object_late;
} staged;

/* A caller of jk_ledger_append waiting for its batch to be committed. */
typedef struct waiter {
  const jk_ledger_entry *e;
  size_t n;
  jk_err result;
  bool done;
  char msg[512];
  struct waiter *next;
} waiter;

struct jk_ledger {
  jk_store *store;
  char node_id[JK_LEDGER_FIELD_MAX + 1];
  jk_ledger_signer signer;
  bool can_sign;
  /* the tree as last committed (valid only when `synced`) and its newest head */
  jk_merkle_frontier frontier, backup;
  bool synced, backup_synced;
  jk_ledger_head_row last_head, backup_head;
  staged *staged;
  size_t nstaged, cap_staged;
  size_t written; /* entries written by the pre-commit hook of the open transaction */
  /* deferred signing (D15): the open transaction may leave its entries to the next head when
   * this ledger signed one less than defer_ns ago; sealing: the open transaction writes only a
   * head over entries left unsigned */
  int64_t defer_ns;
  bool sealing, signed_now;
  _Atomic int64_t signed_ns;    /* when this ledger last signed a head (monotonic), 0 = never */
  _Atomic int64_t unsigned_ns;  /* when it first left entries unsigned since, 0 = none */
  jk_err (*extra)(jk_store *s, void *payload);
  void *extra_payload;
  /* group commit */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool leader;
  waiter *queue, **tail;
};

/* ---- canonical encoding ---- */

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static jk_err put_str(uint8_t *buf, size_t cap, size_t *pos, const char *s) {
  size_t n = strlen(s);
  if (n > JK_LEDGER_FIELD_MAX) return jk_error_set(JK_ETOOLARGE, "ledger field is longer than %d bytes", JK_LEDGER_FIELD_MAX);
  if (*pos + 2 + n > cap) return jk_error_set(JK_ETOOLARGE, "ledger encoding buffer too small");
  buf[(*pos)++] = (uint8_t)(n >> 8);
  buf[(*pos)++] = (uint8_t)n;
  memcpy(buf + *pos, s, n);
  *pos += n;
  return JK_OK;
}

jk_err jk_ledger_encode(const char *node_id, const jk_ledger_row *r, uint8_t *buf, size_t cap, size_t *len) {
  size_t pos = 0;
  jk_err e;
  if (cap < 9 + 32) return jk_error_set(JK_ETOOLARGE, "ledger encoding buffer too small");
  buf[pos++] = 1; /* layout version (docs/ledger.md) */
  put_u64(buf + pos, (uint64_t)r->seq);
  pos += 8;
  if ((e = put_str(buf, cap, &pos, node_id)) || (e = put_str(buf, cap, &pos, r->at)) ||
      (e = put_str(buf, cap, &pos, r->operator_)) || (e = put_str(buf, cap, &pos, r->role)) ||
      (e = put_str(buf, cap, &pos, r->terminal)) || (e = put_str(buf, cap, &pos, r->action)) ||
      (e = put_str(buf, cap, &pos, r->object)) || (e = put_str(buf, cap, &pos, r->result)))
    return e;
  if (pos + 32 > cap) return jk_error_set(JK_ETOOLARGE, "ledger encoding buffer too small");
  memcpy(buf + pos, r->detail, 32);
  *len = pos + 32;
  return JK_OK;
}

static const char head_magic[21] = "jukinet tree head v1"; /* 20 bytes + NUL, all signed */

jk_err jk_ledger_head_message(const char *node_id, const jk_ledger_head_row *h, uint8_t *buf, size_t cap,
                              size_t *len) {
  size_t pos = sizeof head_magic;
  jk_err e;
  if (cap < pos) return jk_error_set(JK_ETOOLARGE, "ledger encoding buffer too small");
  memcpy(buf, head_magic, sizeof head_magic);
  if ((e = put_str(buf, cap, &pos, node_id))) return e;
  if (pos + 8 + 32 > cap) return jk_error_set(JK_ETOOLARGE, "ledger encoding buffer too small");
  put_u64(buf + pos, (uint64_t)h->size);
  pos += 8;
  memcpy(buf + pos, h->root, 32);
  pos += 32;
  if ((e = put_str(buf, cap, &pos, h->at))) return e;
  *len = pos;
  return JK_OK;
}

jk_err jk__ledger_leaf(const char *node_id, const jk_ledger_row *r, uint8_t leaf[32]) {
  uint8_t buf[JK_LEDGER_ENCODED_MAX];
  size_t len;
  jk_err e = jk_ledger_encode(node_id, r, buf, sizeof buf, &len);
  if (!e) jk_merkle_leaf_hash(buf, len, leaf);
  return e;
}

bool jk__ledger_head_verify(const char *node_id, const jk_ledger_head_row *h, const uint8_t pubkey[32]) {
  uint8_t msg[JK_LEDGER_HEAD_MSG_MAX];
  size_t len;
  if (jk_ledger_head_message(node_id, h, msg, sizeof msg, &len)) return false;
  return crypto_sign_verify_detached(h->sig, msg, len, pubkey) == 0;
}

/* ---- the Merkle source over the store ---- */

static jk_err src_leaves(uint64_t first, size_t count, uint8_t (*out)[32], void *payload) {
  return jk_store_ledger_leaves((jk_store *)payload, first, count, out);
}

static jk_err src_subtree(unsigned level, uint64_t index, uint8_t out[32], void *payload) {
  if (level < SUBTREE_MIN_LEVEL) return JK_ENOTFOUND;
  return jk_store_ledger_subtree_get((jk_store *)payload, level, index, out);
}

static jk_merkle_source store_source(jk_store *s) {
  jk_merkle_source src = {src_leaves, src_subtree, s};
  return src;
}

/* ---- keeping the frontier in step with the store ---- */

/* Inside a transaction: make l->frontier the tree of what the store holds now. */
static jk_err sync_frontier(jk_ledger *l, int64_t *size) {
  jk_err e;
  jk_ledger_head_row h;
  if ((e = jk_store_ledger_size(l->store, size))) return e;
  e = jk_store_ledger_head_latest(l->store, &h);
  if (e == JK_ENOTFOUND) {
    jk_error_clear();
    memset(&h, 0, sizeof h);
  } else if (e) {
    return e;
  }
  if (h.size > *size)
    return jk_error_set(JK_ECORRUPT, "the ledger has lost entries: a tree head covers %lld but only %lld remain "
                        "(run jukinet audit verify)", (long long)h.size, (long long)*size);
  if (l->synced && l->frontier.size == (uint64_t)*size && h.size == l->last_head.size &&
      sodium_memcmp(h.root, l->last_head.root, 32) == 0)
    return JK_OK;
  jk_merkle_source src = store_source(l->store);
  if ((e = jk_merkle_frontier_load(&l->frontier, (uint64_t)*size, &src))) {
    l->synced = false;
    return jk_error_prefix("ledger: ");
  }
  l->last_head = h;
  l->synced = true;
  return JK_OK;
}


static jk_err copy_field(char *dst, const char *src, const char *what) {
  if (!src || !*src) src = "-";
  size_t n = strlen(src);
  if (n > JK_LEDGER_FIELD_MAX)
    return jk_error_set(JK_ETOOLARGE, "ledger field %s is longer than %d bytes", what, JK_LEDGER_FIELD_MAX);
  memcpy(dst, src, n + 1);
  return JK_OK;
}

/*
 * Writing a batch takes two kinds of work: SQLite inserts, and hashing (leaves, the tree, the
 * head's signature on the token). For a large batch a second thread does the hashing while
 * this one inserts rows as their leaf hashes become ready; the head is signed while the last
 * rows are still being inserted (docs/decisions.md D8 has the figures). Small batches (a CLI
 * command's one or two entries) hash inline.
 */
#define HASH_THREAD_MIN 64

typedef struct sub_done {
  unsigned level;
  uint64_t index;
  uint8_t hash[32];
} sub_done;

typedef struct hash_job {
  jk_ledger *l;
  jk_ledger_row *rows;
  size_t n;
  _Atomic size_t ready; /* rows whose leaf is computed */
  _Atomic int failed;
  sub_done *subs;
  size_t nsubs, capsubs;
  jk_ledger_head_row head;
  bool sign; /* a head is signed over the rows (else they wait for the next one) */
  jk_err err;
  char msg[512];
} hash_job;

static jk_err collect_sub(unsigned level, uint64_t index, const uint8_t hash[32], void *payload) {
  hash_job *j = payload;
  if (j->nsubs == j->capsubs) {
    size_t cap = j->capsubs ? j->capsubs * 2 : 16;
    sub_done *p = jk_realloc(j->subs, cap * sizeof *p);
    if (!p) return jk_error_set(JK_ENOMEM, NULL);
    j->subs = p;
    j->capsubs = cap;
  }
  sub_done *d = &j->subs[j->nsubs++];
  d->level = level;
  d->index = index;
  memcpy(d->hash, hash, 32);
  return JK_OK;
}

/* h's root from the frontier, and its signature (h->size and h->at set by the caller). */
static jk_err sign_head(jk_ledger *l, jk_ledger_head_row *h) {
  uint8_t msg[JK_LEDGER_HEAD_MSG_MAX];
  size_t len;
  jk_merkle_frontier_root(&l->frontier, h->root);
  jk_err e = jk_ledger_head_message(l->node_id, h, msg, sizeof msg, &len);
  if (!e && (e = l->signer.sign(msg, len, h->sig, l->signer.payload))) jk_error_prefix("signing the ledger tree head: ");
  return e;
}

/* Leaves, tree, root and the signed head of the job's rows. */
static void *hash_rows(void *arg) {
  hash_job *j = arg;
  jk_ledger *l = j->l;
  jk_err e = JK_OK;
  for (size_t i = 0; i < j->n && !e; i++) {
    if (!(e = jk__ledger_leaf(l->node_id, &j->rows[i], j->rows[i].leaf)))
      e = jk_merkle_frontier_push(&l->frontier, j->rows[i].leaf, SUBTREE_MIN_LEVEL, collect_sub, j);
    atomic_store_explicit(&j->ready, i + 1, memory_order_release);
  }
  if (!e && j->sign) e = sign_head(l, &j->head);
  if (e) {
    j->err = e;
    snprintf(j->msg, sizeof j->msg, "%s", jk_error_last());
    atomic_store_explicit(&j->failed, 1, memory_order_release);
    atomic_store_explicit(&j->ready, j->n, memory_order_release);
  }
  return NULL;
}

/* Sealing (jk_ledger_seal): a signed head over the entries the newest head leaves out, if any. */
static jk_err write_seal(jk_store *s, jk_ledger *l, int64_t size) {
  if (size <= l->last_head.size) return JK_OK; /* another writer signed them meanwhile */
  jk_ledger_head_row h = {.size = size};
  jk_err e = jk_store_ledger_time(s, size, h.at);
  if (e || (e = sign_head(l, &h)) || (e = jk_store_ledger_head_put(s, &h))) return e;
  l->last_head = h;
  l->signed_now = true;
  return JK_OK;
}

/* The pre-commit hook: write the staged entries and a signed head covering them (or, when the
 * transaction defers it, leave them to the next head). */
static jk_err write_staged(jk_store *s, void *payload) {
  jk_ledger *l = payload;
  jk_err e;
  int64_t size;
  l->signed_now = false;
  if (l->nstaged == 0 && !l->sealing)
    return jk_error_set(JK_EPERM, "a change to the node must be recorded in the ledger (no entry was given)");
  if (!l->can_sign) return jk_error_set(JK_EPERM, "this ledger was opened read-only: it cannot record operations");
  l->backup = l->frontier;
  l->backup_synced = l->synced;
  l->backup_head = l->last_head;
  if ((e = sync_frontier(l, &size))) return e;
  if (l->nstaged == 0) {
    if ((e = write_seal(s, l, size))) goto fail_seal;
    return JK_OK;
  }
  if (l->extra && (e = l->extra(s, l->extra_payload))) return e;
  char at[32] = "";
  if (size > 0 && (e = jk_store_ledger_time(s, size, at))) return e;
  char now[32];
  jk_utc_now(now, 0);
  if (strcmp(now, at) > 0) memcpy(at, now, sizeof at); /* REQ: time never goes back */

  hash_job j = {.l = l, .n = l->nstaged};
  pthread_t th;
  bool threaded = false;
  if (!(j.rows = jk_calloc(j.n, sizeof *j.rows))) return jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < j.n; i++) {
    staged *st = &l->staged[i];
    if (st->object_late && *st->object_late) {
      if ((e = copy_field(st->object, st->object_late, "object"))) goto fail;
      st->object_late = NULL;
    }
    j.rows[i] = (jk_ledger_row){.seq = size + 1 + (int64_t)i, .at = at, .operator_ = st->operator_,
                                .role = st->role, .terminal = st->terminal, .action = st->action,
                                .object = st->object, .result = st->result};
    memcpy(j.rows[i].detail, st->detail, 32);
  }
  j.head.size = size + (int64_t)j.n;
  memcpy(j.head.at, at, sizeof j.head.at);
  int64_t last = atomic_load(&l->signed_ns);
  j.sign = !(l->defer_ns > 0 && last && mono_ns() - last < l->defer_ns);
  if (j.n >= HASH_THREAD_MIN && pthread_create(&th, NULL, hash_rows, &j) == 0) threaded = true;
  else hash_rows(&j);
  for (size_t i = 0; i < j.n && !e; i++) {
    unsigned spins = 0;
    while (atomic_load_explicit(&j.ready, memory_order_acquire) <= i)
      if (++spins > 64) sched_yield();
    if (atomic_load_explicit(&j.failed, memory_order_acquire)) break;
    e = jk_store_ledger_append(s, &j.rows[i]);
  }
  if (threaded) pthread_join(th, NULL);
  if (!e && j.err) e = jk_error_set(j.err, "%s", j.msg);
  for (size_t i = 0; i < j.nsubs && !e; i++) e = jk_store_ledger_subtree_put(s, j.subs[i].level, j.subs[i].index, j.subs[i].hash);
  if (!e && j.sign) e = jk_store_ledger_head_put(s, &j.head);
  if (e) goto fail;
  if (j.sign) l->last_head = j.head;
  l->signed_now = j.sign;
  l->written = l->nstaged;
  jk_free(j.rows);
  jk_free(j.subs);
  return JK_OK;
fail:
  jk_free(j.rows);
  jk_free(j.subs);
fail_seal:
  l->frontier = l->backup;
  l->synced = false; /* reload from the store next time */
  l->last_head = l->backup_head;
  l->signed_now = false;
  return e;
}

static void after_commit(jk_store *s, void *payload, bool committed) {
  (void)s;
  jk_ledger *l = payload;
  bool wrote = l->written || l->signed_now, sealed = l->sealing;
  l->defer_ns = 0; /* a deferral is for one transaction */
  l->sealing = false;
  if (committed) {
    if (l->signed_now) atomic_store(&l->signed_ns, mono_ns());
    if (l->signed_now || sealed) { /* the newest head covers every entry again (perhaps another
                                      process's head did: a seal then has nothing to sign) */
      atomic_store(&l->unsigned_ns, 0);
    } else if (l->written && !atomic_load(&l->unsigned_ns)) {
      atomic_store(&l->unsigned_ns, mono_ns());
    }
    l->signed_now = false;
    if (l->written) { /* the staged entries are now durable */
      l->nstaged = 0;
      l->written = 0;
    }
    return;
  }
  if (wrote) { /* the hook ran, then the commit failed: forget what it did */
    l->frontier = l->backup;
    l->synced = l->backup_synced;
    l->last_head = l->backup_head;
    l->written = 0;
    l->signed_now = false;
  }
}

/* ---- lifecycle ---- */

jk_err jk_ledger_open(jk_ledger **out, jk_store *s, const char *node_id, const jk_ledger_signer *signer) {
  *out = NULL;
  if (!node_id || !*node_id || strlen(node_id) > JK_LEDGER_FIELD_MAX)
    return jk_error_set(JK_EINVAL, "a ledger needs a node id of 1 to %d bytes", JK_LEDGER_FIELD_MAX);
  if (sodium_init() < 0) return jk_error_set(JK_ECRYPTO, "libsodium cannot start");
  jk_ledger *l = jk_calloc(1, sizeof *l);
  if (!l) return jk_error_set(JK_ENOMEM, NULL);
  l->store = s;
  snprintf(l->node_id, sizeof l->node_id, "%s", node_id);
  if (signer) {
    l->signer = *signer;
    l->can_sign = true;
  }
  jk_merkle_frontier_init(&l->frontier);
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  l->tail = &l->queue;
  if (signer) jk_store_set_commit_hooks(s, write_staged, after_commit, l);
  *out = l;
  return JK_OK;
}

void jk_ledger_close(jk_ledger *l) {
  if (!l) return;
  if (l->can_sign) jk_store_set_commit_hooks(l->store, NULL, NULL, NULL);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv);
  jk_free(l->staged);
  jk_free(l);
}

jk_store *jk__ledger_store(jk_ledger *l) { return l->store; }

void jk_ledger_set_extra(jk_ledger *l, jk_err (*fn)(jk_store *s, void *payload), void *payload) {
  l->extra = fn;
  l->extra_payload = payload;
}
const char *jk__ledger_node_id(const jk_ledger *l) { return l->node_id; }

/* ---- staging ---- */

jk_err jk_ledger_stage(jk_ledger *l, const jk_ledger_entry *e) {
  jk_err err;
  if (l->nstaged == l->cap_staged) {
    size_t cap = l->cap_staged ? l->cap_staged * 2 : 4;
    staged *p = jk_realloc(l->staged, cap * sizeof *p);
    if (!p) return jk_error_set(JK_ENOMEM, NULL);
    l->staged = p;
    l->cap_staged = cap;
  }
  staged *st = &l->staged[l->nstaged];
  if ((err = copy_field(st->operator_, e->operator_, "operator")) || (err = copy_field(st->role, e->role, "role")) ||
      (err = copy_field(st->terminal, e->terminal, "terminal")) ||
      (err = copy_field(st->action, e->action, "action")) || (err = copy_field(st->object, e->object, "object")) ||
      (err = copy_field(st->result, e->result ? e->result : "ok", "result")))
    return err;
  /* text must be valid UTF-8 without control characters: an entry is shown to people */
  const char *fields[] = {st->operator_, st->role, st->terminal, st->action, st->object, st->result};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    for (const unsigned char *p = (const unsigned char *)fields[i]; *p; p++)
      if (*p < 0x20 || *p == 0x7f) return jk_error_set(JK_EINVAL, "a ledger field contains a control character");
  st->object_late = e->object_late;
  /* SHA-256 of the details (nettle: SHA-NI, 5x libsodium's portable code); of "" when none */
  static const uint8_t empty[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                                    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                                    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  if (e->detail && e->detail_len) {
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, e->detail_len, e->detail);
    sha256_digest(&c, 32, st->detail);
  } else {
    memcpy(st->detail, empty, 32);
  }
  l->nstaged++;
  return JK_OK;
}

jk_err jk_ledger_stage_result(jk_ledger *l, const char *result) {
  for (size_t i = 0; i < l->nstaged; i++) {
    jk_err e = copy_field(l->staged[i].result, result, "result");
    if (e) return e;
  }
  return JK_OK;
}

void jk_ledger_discard(jk_ledger *l) { l->nstaged = 0; }

jk_err jk_ledger_flush(jk_ledger *l) {
  if (l->nstaged == 0) return JK_OK;
  jk_err e = jk_store_begin(l->store);
  if (!e) e = jk_store_commit(l->store);
  return e;
}

jk_err jk_ledger_size(jk_ledger *l, int64_t *out) { return jk_store_ledger_size(l->store, out); }

/* ---- deferred signing (D15) ---- */

void jk_ledger_defer_seal(jk_ledger *l, unsigned max_ms) { l->defer_ns = (int64_t)max_ms * 1000000LL; }

bool jk_ledger_unsigned_since(jk_ledger *l, int64_t *since_ns) {
  int64_t t = atomic_load(&l->unsigned_ns);
  if (since_ns) *since_ns = t;
  return t != 0;
}

jk_err jk_ledger_seal(jk_ledger *l) {
  if (!l->can_sign) return jk_error_set(JK_EPERM, "this ledger was opened read-only: it cannot record operations");
  if (l->nstaged) return jk_error_set(JK_EINVAL, "jk_ledger_seal: entries are staged (commit them instead)");
  jk_err e = jk_store_begin(l->store);
  if (e) return e;
  l->sealing = true;
  return jk_store_commit(l->store); /* the hook signs what the newest head leaves out, if anything */
}

/* ---- group commit ---- */

/* Write a batch of waiters in one transaction. Called by the leader without the mutex. */
static jk_err write_batch(jk_ledger *l, waiter *batch) {
  jk_err e = JK_OK;
  l->nstaged = 0;
  for (waiter *w = batch; w && !e; w = w->next)
    for (size_t i = 0; i < w->n && !e; i++) e = jk_ledger_stage(l, &w->e[i]);
  if (!e) e = jk_ledger_flush(l);
  l->nstaged = 0;
  return e;
}

jk_err jk_ledger_append(jk_ledger *l, const jk_ledger_entry *e, size_t n) {
  if (n == 0) return JK_OK;
  waiter me = {.e = e, .n = n};
  pthread_mutex_lock(&l->mu);
  *l->tail = &me;
  l->tail = &me.next;
  while (!me.done) {
    if (l->leader) {
      pthread_cond_wait(&l->cv, &l->mu);
      continue;
    }
    /* lead: take everything queued so far, commit it as one transaction */
    l->leader = true;
    waiter *batch = l->queue;
    l->queue = NULL;
    l->tail = &l->queue;
    pthread_mutex_unlock(&l->mu);
    jk_err r = write_batch(l, batch);
    const char *msg = r ? jk_error_last() : "";
    pthread_mutex_lock(&l->mu);
    for (waiter *w = batch; w; w = w->next) {
      w->result = r;
      snprintf(w->msg, sizeof w->msg, "%s", msg);
      w->done = true;
    }
    l->leader = false;
    pthread_cond_broadcast(&l->cv);
  }
  pthread_mutex_unlock(&l->mu);
  if (me.result) return jk_error_set(me.result, "%s", me.msg);
  return JK_OK;
}

/* ---- proofs ---- */

static jk_err head_for(jk_ledger *l, int64_t size, jk_ledger_head_row *h) {
  jk_err e = size ? jk_store_ledger_head_get(l->store, size, h) : jk_store_ledger_head_latest(l->store, h);
  if (e == JK_ENOTFOUND) {
    if (size) return jk_error_set(JK_ENOTFOUND, "no tree head was signed at size %lld", (long long)size);
    return jk_error_set(JK_ENOTFOUND, "the ledger has no signed tree head yet");
  }
  return e;
}

jk_err jk_ledger_prove(jk_ledger *l, int64_t seq, int64_t size, jk_ledger_proof *out) {
  jk_err e;
  memset(out, 0, sizeof *out);
  if ((e = head_for(l, size, &out->head))) return e;
  if (seq < 1 || seq > out->head.size)
    return jk_error_set(JK_ENOTFOUND, "entry %lld is not in the tree of size %lld", (long long)seq,
                        (long long)out->head.size);
  out->seq = seq;
  out->size = out->head.size;
  memcpy(out->root, out->head.root, 32);
  if ((e = jk_store_ledger_leaves(l->store, (uint64_t)(seq - 1), 1, &out->leaf))) return e;
  jk_merkle_source src = store_source(l->store);
  if ((e = jk_merkle_inclusion_proof((uint64_t)(seq - 1), (uint64_t)out->size, &src, out->path, &out->path_len)))
    return e;
  if (!jk_merkle_inclusion_verify((uint64_t)(seq - 1), (uint64_t)out->size, out->leaf,
                                  (const uint8_t(*)[32])out->path, out->path_len, out->root))
    return jk_error_set(JK_ECORRUPT, "the proof for entry %lld does not match the signed root: run jukinet audit verify",
                        (long long)seq);
  return JK_OK;
}

/* The signed head of exactly `size`, or, for a size between heads, the root computed from the
 * tree (sig all zero, at ""): a verifier holding that root from elsewhere can still use it. */
static jk_err head_or_root(jk_ledger *l, int64_t size, int64_t newest, jk_ledger_head_row *h) {
  jk_err e = jk_store_ledger_head_get(l->store, size, h);
  if (e != JK_ENOTFOUND) return e;
  jk_error_clear();
  if (size > newest)
    return jk_error_set(JK_ENOTFOUND, "the ledger has %lld entries under a signed tree head, not %lld",
                        (long long)newest, (long long)size);
  memset(h, 0, sizeof *h);
  h->size = size;
  jk_merkle_source src = store_source(l->store);
  return jk_merkle_range_root(0, (uint64_t)size, &src, h->root);
}

jk_err jk_ledger_consistency_proof(jk_ledger *l, int64_t old_size, int64_t new_size, jk_ledger_consistency *out) {
  jk_err e;
  jk_ledger_head_row latest;
  memset(out, 0, sizeof *out);
  if (old_size < 1 || new_size < old_size)
    return jk_error_set(JK_EINVAL, "a consistency proof needs 1 <= OLD <= NEW (got %lld and %lld)", (long long)old_size,
                        (long long)new_size);
  if ((e = head_for(l, 0, &latest))) return e;
  if ((e = head_or_root(l, old_size, latest.size, &out->old_head)) ||
      (e = head_or_root(l, new_size, latest.size, &out->new_head)))
    return e;
  jk_merkle_source src = store_source(l->store);
  if ((e = jk_merkle_consistency_proof((uint64_t)old_size, (uint64_t)new_size, &src, out->path, &out->path_len)))
    return e;
  if (!jk_merkle_consistency_verify((uint64_t)old_size, (uint64_t)new_size, out->old_head.root, out->new_head.root,
                                    (const uint8_t(*)[32])out->path, out->path_len))
    return jk_error_set(JK_ECORRUPT, "the tree heads at %lld and %lld are not consistent: run jukinet audit verify",
                        (long long)old_size, (long long)new_size);
  return JK_OK;
}

/* ---- time ranges ---- */

/* First seq in [1, size] whose time compares >= key (cmp on the key's length when prefix). */
static jk_err lower_bound(jk_ledger *l, int64_t size, const char *key, bool prefix_upper, int64_t *out) {
  int64_t lo = 1, hi = size + 1;
  size_t klen = strlen(key);
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    char at[32];
    jk_err e = jk_store_ledger_time(l->store, mid, at);
    if (e) return e;
    int c = prefix_upper ? strncmp(at, key, klen) : strcmp(at, key);
    /* prefix_upper: find the first entry after every time that starts with key */
    if (prefix_upper ? c > 0 : c >= 0) hi = mid;
    else lo = mid + 1;
  }
  *out = lo;
  return JK_OK;
}

jk_err jk_ledger_time_range(jk_ledger *l, const char *from, const char *to, int64_t *first, int64_t *last) {
  int64_t size;
  jk_err e = jk_store_ledger_size(l->store, &size);
  if (e) return e;
  *first = 1;
  *last = size;
  if (from && *from && (e = lower_bound(l, size, from, false, first))) return e;
  if (to && *to) {
    int64_t after;
    if ((e = lower_bound(l, size, to, true, &after))) return e;
    *last = after - 1;
  }
  return JK_OK;
}
