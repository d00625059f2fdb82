/*
 * pg_ledger.c — the ledger tables of the PostgreSQL backend (schema sql/pg/0003_ledger.sql).
 *
 * The same contract as sqlite_ledger.c: rows are returned as stored, only their shape is
 * checked (text present, hashes 32 bytes), and a malformed row is JK_ECORRUPT naming its seq.
 * Appends are contiguous: the writer lock taken by jk_store_begin (pg_int.h) makes the size
 * read once per transaction stay true until commit.
 */
#include "store/pg_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
  SL_SIZE = PG_SLOT_LEDGER,
  SL_APPEND,
  SL_EACH,
  SL_LEAVES,
  SL_TIME,
  SL_SUB_PUT,
  SL_SUB_GET,
  SL_SUB_EACH,
  SL_HEAD_PUT,
  SL_HEAD_LATEST,
  SL_HEAD_GET,
  SL_HEAD_EACH,
  SL__END
};
_Static_assert(SL__END <= PG_SLOT_AUTH, "ledger statement slots overflow");

#define LEDGER_COLS "seq, at, operator, role, terminal, action, object, result, detail, leaf"

static jk_err pl_size(jk_store *base, int64_t *out) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  *out = 0;
  PGresult *r = jk__pg_run(s, SL_SIZE, "SELECT coalesce(max(seq), 0) FROM ledger", NULL, "ledger", &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_i64(r, 0, 0, out)) e = jk_error_set(JK_ECORRUPT, "database (%s): %s", "ledger", "no row");
  PQclear(r);
  return e;
}

static jk_err pl_append(jk_store *base, const jk_ledger_row *row) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, row->seq);
  jk__pg_text(&p, row->at);
  jk__pg_text(&p, row->operator_);
  jk__pg_text(&p, row->role);
  jk__pg_text(&p, row->terminal);
  jk__pg_text(&p, row->action);
  jk__pg_text(&p, row->object);
  jk__pg_text(&p, row->result);
  jk__pg_bytes(&p, row->detail, 32);
  jk__pg_bytes(&p, row->leaf, 32);
  return jk__pg_do(s, SL_APPEND,
                   "INSERT INTO ledger(" LEDGER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", &p,
                   "ledger append", NULL);
}

/* Row i of a LEDGER_COLS result; strings borrowed from r. */
static jk_err read_row(const PGresult *r, int i, jk_ledger_row *row) {
  memset(row, 0, sizeof *row);
  bool ok = jk__pg_i64(r, i, 0, &row->seq);
  row->at = jk__pg_str(r, i, 1);
  row->operator_ = jk__pg_str(r, i, 2);
  row->role = jk__pg_str(r, i, 3);
  row->terminal = jk__pg_str(r, i, 4);
  row->action = jk__pg_str(r, i, 5);
  row->object = jk__pg_str(r, i, 6);
  row->result = jk__pg_str(r, i, 7);
  if (!ok || !row->at || !row->operator_ || !row->role || !row->terminal || !row->action || !row->object ||
      !row->result)
    return jk_error_set(JK_ECORRUPT, "ledger entry %lld: a field is missing", (long long)row->seq);
  if (!jk__pg_bytea(r, i, 8, row->detail, 32) || !jk__pg_bytea(r, i, 9, row->leaf, 32))
    return jk_error_set(JK_ECORRUPT, "ledger entry %lld: a hash is not 32 bytes", (long long)row->seq);
  return JK_OK;
}

/* Hand the rows of r to cb; *got counts them, SIZE_MAX when cb asked to stop. Clears r. */
static jk_err rows(PGresult *r, jk_ledger_row_cb cb, void *payload, size_t *got) {
  jk_err e = JK_OK;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_ledger_row row;
    if ((e = read_row(r, i, &row))) break;
    if (got) (*got)++;
    if (cb(&row, payload)) {
      if (got) *got = SIZE_MAX;
      break;
    }
  }
  PQclear(r);
  return e;
}

static jk_err pl_each(jk_store *base, int64_t first, int64_t last, jk_ledger_row_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  int64_t end = last > 0 ? last : INT64_MAX;
  /* pages of 4,096 rows in seq order: verification of a million entries never holds them all */
  for (int64_t from = first;;) {
    pg_params p = {0};
    jk__pg_int(&p, from);
    jk__pg_int(&p, end);
    PGresult *r = jk__pg_run(s, SL_EACH,
                             "SELECT " LEDGER_COLS " FROM ledger WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT 4096",
                             &p, "ledger read", &e);
    if (!r) return e;
    int n = PQntuples(r);
    int64_t lastseq = 0;
    if (n > 0 && !jk__pg_i64(r, n - 1, 0, &lastseq)) {
      PQclear(r);
      return jk_error_set(JK_ECORRUPT, "ledger entry %lld: a field is missing", (long long)from);
    }
    size_t got = 0;
    if ((e = rows(r, cb, payload, &got))) return e;
    if (got == SIZE_MAX || n < 4096 || lastseq >= end) return JK_OK;
    from = lastseq + 1;
  }
}

static jk_err pl_leaves(jk_store *base, uint64_t first, size_t count, uint8_t (*out)[32]) {
  pg_store *s = (pg_store *)base;
  if (first > (uint64_t)INT64_MAX - count) return jk_error_set(JK_EINVAL, "ledger leaf range out of bounds");
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, (int64_t)first);
  jk__pg_int(&p, (int64_t)(first + count));
  PGresult *r = jk__pg_run(s, SL_LEAVES, "SELECT seq, leaf FROM ledger WHERE seq > $1 AND seq <= $2 ORDER BY seq",
                           &p, "ledger read", &e);
  if (!r) return e;
  size_t n = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    int64_t seq;
    if (n >= count || !jk__pg_i64(r, i, 0, &seq) || seq != (int64_t)(first + n + 1) || !jk__pg_bytea(r, i, 1, out[n], 32))
      break;
    n++;
  }
  if (n != count || (size_t)PQntuples(r) != count)
    e = jk_error_set(JK_ECORRUPT, "ledger entry %lld is missing or malformed", (long long)(first + n + 1));
  PQclear(r);
  return e;
}

/* One probe: with segment >= 0, only that index segment (the expression of ledger_by_object). */
static jk_err search_one(pg_store *s, const jk_ledger_query *qq, int64_t segment, size_t limit, jk_ledger_row_cb cb,
                         void *payload, size_t *got) {
  char sql[700];
  pg_params p = {0};
  size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT " LEDGER_COLS " FROM ledger WHERE true");
  if (segment >= 0) {
    jk__pg_int(&p, segment);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND (seq >> 14) = $%d", p.n);
  }
  if (qq->object) {
    jk__pg_text(&p, qq->object);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND object = $%d", p.n);
  }
  if (qq->operator_) {
    jk__pg_text(&p, qq->operator_);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND operator = $%d", p.n);
  }
  if (qq->action) {
    jk__pg_text(&p, qq->action);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND action = $%d", p.n);
  }
  if (qq->first_seq > 0) {
    jk__pg_int(&p, qq->first_seq);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND seq >= $%d", p.n);
  }
  if (qq->last_seq > 0) {
    jk__pg_int(&p, qq->last_seq);
    len += (size_t)snprintf(sql + len, sizeof sql - len, " AND seq <= $%d", p.n);
  }
  snprintf(sql + len, sizeof sql - len, " ORDER BY seq DESC LIMIT %zu", limit);
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, -1, sql, &p, "ledger search", &e);
  return r ? rows(r, cb, payload, got) : e;
}

static jk_err pl_search(jk_store *base, const jk_ledger_query *qq, int64_t segment, size_t limit, jk_ledger_row_cb cb,
                      void *payload, size_t *got) {
  return search_one((pg_store *)base, qq, segment, limit, cb, payload, got);
}

static jk_err pl_time(jk_store *base, int64_t seq, char at[32]) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, seq);
  PGresult *r = jk__pg_run(s, SL_TIME, "SELECT at FROM ledger WHERE seq = $1", &p, "ledger read", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "ledger entry %lld does not exist", (long long)seq);
  else if (!jk__pg_copy(r, 0, 0, at, 32, false)) e = jk_error_set(JK_ECORRUPT, "ledger entry %lld: bad time", (long long)seq);
  PQclear(r);
  return e;
}

static jk_err pl_subtree_put(jk_store *base, unsigned level, uint64_t index, const uint8_t hash[32]) {
  pg_store *s = (pg_store *)base;
  if (index > (uint64_t)INT64_MAX) return jk_error_set(JK_EINVAL, "subtree index out of range");
  pg_params p = {0};
  jk__pg_int(&p, level);
  jk__pg_int(&p, (int64_t)index);
  jk__pg_bytes(&p, hash, 32);
  return jk__pg_do(s, SL_SUB_PUT, "INSERT INTO ledger_subtree(level, idx, hash) VALUES ($1, $2, $3)", &p,
                   "ledger subtree", NULL);
}

static jk_err pl_subtree_get(jk_store *base, unsigned level, uint64_t index, uint8_t out[32]) {
  pg_store *s = (pg_store *)base;
  if (index > (uint64_t)INT64_MAX) return jk_error_set(JK_ENOTFOUND, "no such subtree");
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, level);
  jk__pg_int(&p, (int64_t)index);
  PGresult *r = jk__pg_run(s, SL_SUB_GET, "SELECT hash FROM ledger_subtree WHERE level = $1 AND idx = $2", &p,
                           "ledger read", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = JK_ENOTFOUND; /* an expected miss: no message */
  else if (!jk__pg_bytea(r, 0, 0, out, 32))
    e = jk_error_set(JK_ECORRUPT, "ledger subtree %u/%llu is malformed", level, (unsigned long long)index);
  PQclear(r);
  return e;
}

static jk_err pl_subtree_each(jk_store *base, jk_ledger_subtree_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, SL_SUB_EACH, "SELECT level, idx, hash FROM ledger_subtree ORDER BY level, idx", NULL,
                           "ledger read", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    int level = -1;
    int64_t idx = -1;
    uint8_t h[32];
    if (!jk__pg_int32(r, i, 0, &level) || !jk__pg_i64(r, i, 1, &idx) || level < 0 || level > 63 || idx < 0 ||
        !jk__pg_bytea(r, i, 2, h, 32)) {
      e = jk_error_set(JK_ECORRUPT, "ledger subtree %d/%lld is malformed", level, (long long)idx);
      break;
    }
    if (cb((unsigned)level, (uint64_t)idx, h, payload)) break;
  }
  PQclear(r);
  return e;
}

static jk_err pl_head_put(jk_store *base, const jk_ledger_head_row *h) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, h->size);
  jk__pg_bytes(&p, h->root, 32);
  jk__pg_text(&p, h->at);
  jk__pg_bytes(&p, h->sig, 64);
  return jk__pg_do(s, SL_HEAD_PUT, "INSERT INTO ledger_head(size, root, at, sig) VALUES ($1, $2, $3, $4)", &p,
                   "ledger head", NULL);
}

static jk_err read_head(const PGresult *r, int i, jk_ledger_head_row *h) {
  memset(h, 0, sizeof *h);
  bool ok = jk__pg_i64(r, i, 0, &h->size);
  if (!ok || !jk__pg_bytea(r, i, 1, h->root, 32) || !jk__pg_bytea(r, i, 3, h->sig, 64) ||
      !jk__pg_copy(r, i, 2, h->at, sizeof h->at, false))
    return jk_error_set(JK_ECORRUPT, "tree head of size %lld is malformed", (long long)h->size);
  return JK_OK;
}

static jk_err pl_head_get(jk_store *base, int64_t size, jk_ledger_head_row *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *r;
  if (size) {
    jk__pg_int(&p, size);
    r = jk__pg_run(s, SL_HEAD_GET, "SELECT size, root, at, sig FROM ledger_head WHERE size = $1", &p, "ledger read", &e);
  } else {
    r = jk__pg_run(s, SL_HEAD_LATEST, "SELECT size, root, at, sig FROM ledger_head ORDER BY size DESC LIMIT 1", NULL,
                   "ledger read", &e);
  }
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "no signed tree head");
  else e = read_head(r, 0, out);
  PQclear(r);
  return e;
}

static jk_err pl_head_each(jk_store *base, jk_ledger_head_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, SL_HEAD_EACH, "SELECT size, root, at, sig FROM ledger_head ORDER BY size", NULL,
                           "ledger read", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_ledger_head_row h;
    if ((e = read_head(r, i, &h))) break;
    if (cb(&h, payload)) break;
  }
  PQclear(r);
  return e;
}

void jk__pg_ledger_ops(struct jk__store_ops *ops) {
  ops->ledger_size = pl_size;
  ops->ledger_append = pl_append;
  ops->ledger_each = pl_each;
  ops->ledger_leaves = pl_leaves;
  ops->ledger_search = pl_search;
  ops->ledger_time = pl_time;
  ops->ledger_subtree_put = pl_subtree_put;
  ops->ledger_subtree_get = pl_subtree_get;
  ops->ledger_subtree_each = pl_subtree_each;
  ops->ledger_head_put = pl_head_put;
  ops->ledger_head_get = pl_head_get;
  ops->ledger_head_each = pl_head_each;
}
