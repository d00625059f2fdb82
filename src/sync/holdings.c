/*
 * holdings.c — a batch's view of the identity records (holding rows) it touches.
 *
 * The receiver reads every row of the batch's resident codes in one store call, applies the
 * rules to this in-memory view notice by notice (a batch may change one resident several
 * times), and writes the final rows back in one call (jk_store_holding_put_many): a handful of
 * round trips per batch on PostgreSQL instead of two or three per notice.
 */
#include "sync_int.h"

#include <string.h>

/* An entry's state; its row is rec[i] (kept apart so that the flush can hand the rows to the
 * store as they are, without copying ~1 KiB per row into a new array). */
typedef struct hentry {
  bool present;  /* the row exists (in the store or made by this batch) */
  bool dirty;    /* to be written */
  bool stored;   /* it was in the store when loaded (a delete must reach the store) */
  int next_code; /* the next entry with the same code, -1 = none */
} hentry;

struct jk__hview {
  hentry *e;
  jk_holding_rec *rec;
  size_t n, cap;
  int *slot;     /* (code, source) -> entry index + 1; 0 = empty */
  int *cslot;    /* code -> first entry index + 1 */
  size_t nslot;  /* power of two */
};

static uint64_t fnv(const char *a, const char *b) {
  uint64_t h = 1469598103934665603u;
  for (const char *p = a; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
  if (b) {
    h = (h ^ 0xff) * 1099511628211u;
    for (const char *p = b; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
  }
  return h;
}

static int find(const jk__hview *v, const char *code, const char *source) {
  size_t m = v->nslot - 1;
  for (size_t i = fnv(code, source) & m;; i = (i + 1) & m) {
    int k = v->slot[i];
    if (!k) return -1;
    const jk_holding_rec *x = &v->rec[k - 1];
    if (strcmp(x->code, code) == 0 && strcmp(x->source, source) == 0) return k - 1;
  }
}

static int code_head(const jk__hview *v, const char *code) {
  size_t m = v->nslot - 1;
  for (size_t i = fnv(code, NULL) & m;; i = (i + 1) & m) {
    int k = v->cslot[i];
    if (!k) return -1;
    if (strcmp(v->rec[k - 1].code, code) == 0) return k - 1;
  }
}

static void index_entry(jk__hview *v, int idx) {
  size_t m = v->nslot - 1;
  hentry *x = &v->e[idx];
  const jk_holding_rec *r = &v->rec[idx];
  size_t i = fnv(r->code, r->source) & m;
  while (v->slot[i]) i = (i + 1) & m;
  v->slot[i] = idx + 1;
  int head = code_head(v, r->code);
  if (head < 0) {
    x->next_code = -1;
    for (i = fnv(r->code, NULL) & m; v->cslot[i]; i = (i + 1) & m) {
    }
    v->cslot[i] = idx + 1;
  } else { /* after the head: the chain's order does not matter */
    x->next_code = v->e[head].next_code;
    v->e[head].next_code = idx;
  }
}

static jk_err rehash(jk__hview *v, size_t nslot) {
  int *slot = jk_calloc(nslot, sizeof *slot), *cslot = jk_calloc(nslot, sizeof *cslot);
  if (!slot || !cslot) {
    jk_free(slot);
    jk_free(cslot);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  jk_free(v->slot);
  jk_free(v->cslot);
  v->slot = slot;
  v->cslot = cslot;
  v->nslot = nslot;
  for (size_t i = 0; i < v->n; i++) index_entry(v, (int)i);
  return JK_OK;
}

static jk_err add(jk__hview *v, const jk_holding_rec *r, bool stored, int *idx) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 256;
    hentry *p = jk_realloc(v->e, cap * sizeof *p);
    if (!p) return jk_error_set(JK_ENOMEM, NULL);
    v->e = p;
    jk_holding_rec *q = jk_realloc(v->rec, cap * sizeof *q);
    if (!q) return jk_error_set(JK_ENOMEM, NULL);
    v->rec = q;
    v->cap = cap;
  }
  hentry *x = &v->e[v->n];
  memset(x, 0, sizeof *x);
  v->rec[v->n] = *r;
  x->present = true;
  x->stored = stored;
  *idx = (int)v->n++;
  jk_err e = JK_OK;
  if (v->n * 2 > v->nslot) e = rehash(v, v->nslot ? v->nslot * 2 : 1024); /* indexes every entry */
  else index_entry(v, *idx);
  return e;
}

typedef struct load_ctx {
  jk__hview *v;
  jk_err e;
} load_ctx;

static int on_row(const jk_holding_rec *r, void *payload) {
  load_ctx *c = payload;
  int idx;
  if (find(c->v, r->code, r->source) >= 0) return 0; /* a code asked for twice */
  return (c->e = add(c->v, r, true, &idx)) != JK_OK;
}

jk_err jk__hview_load(jk__hview **out, jk_store *s, const char *const *codes, size_t n) {
  *out = NULL;
  jk__hview *v = jk_calloc(1, sizeof *v);
  if (!v) return jk_error_set(JK_ENOMEM, NULL);
  jk_err e = rehash(v, 1024);
  load_ctx c = {v, JK_OK};
  if (!e) e = jk_store_holding_get_codes(s, codes, n, on_row, &c);
  if (!e) e = c.e;
  if (e) {
    jk__hview_free(v);
    return e;
  }
  *out = v;
  return JK_OK;
}

void jk__hview_free(jk__hview *v) {
  if (!v) return;
  jk_free(v->e);
  jk_free(v->rec);
  jk_free(v->slot);
  jk_free(v->cslot);
  jk_free(v);
}

const jk_holding_rec *jk__hview_get(const jk__hview *v, const char *code, const char *source) {
  int i = find(v, code, source);
  return i >= 0 && v->e[i].present ? &v->rec[i] : NULL;
}

jk_err jk__hview_put(jk__hview *v, const jk_holding_rec *r) {
  int i = find(v, r->code, r->source);
  if (i < 0) {
    jk_err e = add(v, r, false, &i);
    if (e) return e;
  }
  v->rec[i] = *r;
  v->e[i].present = true;
  v->e[i].dirty = true;
  return JK_OK;
}

void jk__hview_delete(jk__hview *v, const char *code, const char *source) {
  int i = find(v, code, source);
  if (i < 0) return;
  v->e[i].present = false;
  v->e[i].dirty = true;
}

bool jk__hview_current(const jk__hview *v, const char *code, jk_holding_rec *out) {
  const jk_holding_rec *best = NULL;
  for (int i = code_head(v, code); i >= 0; i = v->e[i].next_code)
    if (v->e[i].present && (!best || jk_holding_newer(&v->rec[i], best))) best = &v->rec[i];
  if (best) *out = *best;
  return best != NULL;
}

/* The view is spent afterwards: the rows to write are moved to the front of rec in place. */
jk_err jk__hview_flush(jk__hview *v, jk_store *s) {
  size_t n = 0;
  jk_err e = JK_OK;
  for (size_t i = 0; i < v->n && !e; i++) {
    hentry *x = &v->e[i];
    if (!x->dirty) continue;
    if (x->present) {
      if (n != i) v->rec[n] = v->rec[i];
      n++;
    } else if (x->stored) {
      e = jk_store_holding_delete(s, v->rec[i].code, v->rec[i].source);
    }
  }
  v->n = 0; /* rec no longer matches the index */
  if (!e && n) e = jk_store_holding_put_many(s, v->rec, n);
  return e;
}
