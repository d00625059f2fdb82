/*
 * digest.c — one digest of identity records that a municipality, its prefecture and the nation
 * each compute on their own copy: equal digests mean every record arrived as it is at the
 * municipality (the demo and the fault tests compare tiers with it).
 */
#include "sync_int.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

typedef struct digest_ctx {
  struct sha256_ctx h;
  int64_t n;
  char last[JK_RESCODE_LEN + 1];
  jk_err e;
} digest_ctx;

static void put_str(struct sha256_ctx *h, const char *s) {
  size_t n = s ? strlen(s) : 0;
  uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  sha256_update(h, 4, len);
  if (n) sha256_update(h, n, (const uint8_t *)s);
}

static void put_int(struct sha256_ctx *h, int64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
  sha256_update(h, 8, b);
}

static void put_date(struct sha256_ctx *h, jk_date d) {
  char iso[11];
  if (d.y) jk_date_format_iso(d, iso);
  else iso[0] = '\0';
  put_str(h, iso);
}

static void put_record(digest_ctx *c, const char *code, int version, const char *name, const char *kana, jk_date birth,
                       int sex, const char *address, int reason, jk_date moved_on, int status) {
  if (c->n && strcmp(code, c->last) <= 0) {
    c->e = jk_error_set(JK_ECORRUPT, "records are not in code order at %s", code);
    return;
  }
  snprintf(c->last, sizeof c->last, "%s", code);
  put_str(&c->h, code);
  put_int(&c->h, version);
  put_str(&c->h, name);
  put_str(&c->h, kana);
  put_date(&c->h, birth);
  put_int(&c->h, sex);
  put_str(&c->h, address);
  put_int(&c->h, reason);
  put_date(&c->h, moved_on);
  put_int(&c->h, status);
  c->n++;
}

static int on_identity(const jk_identity *r, void *payload) {
  digest_ctx *c = payload;
  put_record(c, r->code, r->version, r->name, r->kana, r->birth, (int)r->sex, r->address, (int)r->reason, r->moved_on,
             (int)r->status);
  return c->e != JK_OK;
}

static int on_holding(const jk_holding_rec *r, void *payload) {
  digest_ctx *c = payload;
  if (r->status == JK_HOLDING_ERASED) return 0; /* erased upstream: nothing left to compare */
  put_record(c, r->code, r->version, r->name, r->kana, r->birth, (int)r->sex, r->address, r->reason, r->moved_on,
             r->status);
  return c->e != JK_OK;
}

/* The registry's current records come in id order: collect (code, record) and sort by code. */
typedef struct reg_row {
  char code[JK_RESCODE_LEN + 1];
  jk_identity rec;
} reg_row;
typedef struct reg_collect {
  reg_row *rows;
  size_t n, cap;
  jk_err e;
} reg_collect;

static int collect(const jk_identity *r, void *payload) {
  reg_collect *c = payload;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 1024;
    reg_row *p = jk_realloc(c->rows, cap * sizeof *p);
    if (!p) {
      c->e = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    c->rows = p;
    c->cap = cap;
  }
  reg_row *row = &c->rows[c->n];
  memset(row, 0, sizeof *row);
  snprintf(row->code, sizeof row->code, "%s", r->code);
  if ((c->e = jk_identity_copy(&row->rec, r))) return 1;
  c->n++;
  return 0;
}

static int by_code(const void *a, const void *b) { return strcmp(((const reg_row *)a)->code, ((const reg_row *)b)->code); }

/* Held-back residents (non-participants) are not sent: the tiers above hold nothing of them. */
typedef struct held_set {
  char (*codes)[JK_RESCODE_LEN + 1];
  size_t n, cap;
  jk_err e;
} held_set;

static int collect_held(const jk_holdback_rec *r, void *payload) {
  held_set *h = payload;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    char(*p)[JK_RESCODE_LEN + 1] = jk_realloc(h->codes, cap * sizeof *p);
    if (!p) {
      h->e = jk_error_set(JK_ENOMEM, NULL);
      return 1;
    }
    h->codes = p;
    h->cap = cap;
  }
  snprintf(h->codes[h->n++], JK_RESCODE_LEN + 1, "%s", r->code);
  return 0;
}

static int cmp_code(const void *a, const void *b) { return strcmp(a, b); }

jk_err jk_sync_digest_registry(jk_store *s, jk_sync_digest *out) {
  reg_collect rc = {0};
  held_set held = {0};
  jk_err e = jk_store_resident_each(s, collect, &rc);
  if (!e) e = rc.e;
  if (!e) e = jk_store_holdback_each(s, collect_held, &held);
  if (!e) e = held.e;
  digest_ctx c = {.e = JK_OK};
  sha256_init(&c.h);
  if (!e) {
    qsort(rc.rows, rc.n, sizeof *rc.rows, by_code);
    for (size_t i = 0; i < rc.n && !c.e; i++)
      if (!held.n || !bsearch(rc.rows[i].code, held.codes, held.n, sizeof *held.codes, cmp_code))
        on_identity(&rc.rows[i].rec, &c);
    e = c.e;
  }
  jk_free(held.codes);
  for (size_t i = 0; i < rc.n; i++) jk_identity_clear(&rc.rows[i].rec);
  jk_free(rc.rows);
  if (e) return e;
  out->records = c.n;
  sha256_digest(&c.h, sizeof out->sha256, out->sha256);
  return JK_OK;
}

jk_err jk_sync_digest_holdings(jk_store *s, const char *source, jk_sync_digest *out) {
  digest_ctx c = {.e = JK_OK};
  sha256_init(&c.h);
  jk_err e = jk_store_holding_each(s, NULL, source, on_holding, &c);
  if (!e) e = c.e;
  if (e) return e;
  out->records = c.n;
  sha256_digest(&c.h, sizeof out->sha256, out->sha256);
  return JK_OK;
}
