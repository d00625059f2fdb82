/*
 * sqlite_ledger.c — the ledger tables of the SQLite backend (schema 0003_ledger.sql).
 *
 * The store keeps rows; the ledger module (src/ledger) gives them meaning and verifies them.
 * Rows are returned as stored, so verification sees exactly what an editor left behind: only
 * the shape (text columns present, hashes 32 bytes) is checked here, and a row of the wrong
 * shape is JK_ECORRUPT naming its seq.
 */
#include "store/sqlite_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
  SL_SIZE = SQ_SLOT_LEDGER,
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
_Static_assert(SL__END <= SQ_SLOT_AUTH, "ledger statement slots overflow");

#define LEDGER_COLS "seq, at, operator, role, terminal, action, object, result, detail, leaf"

static jk_err sl_size(jk_store *base, int64_t *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_SIZE, "SELECT coalesce(max(seq), 0) FROM ledger");
  int rc = sqlite3_step(q);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  finish(q);
  return rc == SQLITE_ROW ? JK_OK : db_error(s, rc, "ledger");
}

static jk_err sl_append(jk_store *base, const jk_ledger_row *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_APPEND,
        "INSERT INTO ledger(" LEDGER_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  sqlite3_bind_int64(q, 1, r->seq);
  sqlite3_bind_text(q, 2, r->at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->operator_, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, r->role, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->terminal, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->action, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->object, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 8, r->result, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 9, r->detail, 32, SQLITE_STATIC);
  sqlite3_bind_blob(q, 10, r->leaf, 32, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "ledger append");
}

static const char *col_str(sqlite3_stmt *q, int i) {
  const unsigned char *v = sqlite3_column_text(q, i);
  return v ? (const char *)v : NULL;
}

/* Fill r from a row of LEDGER_COLS. */
static jk_err read_row(sqlite3_stmt *q, jk_ledger_row *r) {
  memset(r, 0, sizeof *r);
  r->seq = sqlite3_column_int64(q, 0);
  r->at = col_str(q, 1);
  r->operator_ = col_str(q, 2);
  r->role = col_str(q, 3);
  r->terminal = col_str(q, 4);
  r->action = col_str(q, 5);
  r->object = col_str(q, 6);
  r->result = col_str(q, 7);
  if (!r->at || !r->operator_ || !r->role || !r->terminal || !r->action || !r->object || !r->result ||
      sqlite3_column_type(q, 0) != SQLITE_INTEGER)
    return jk_error_set(JK_ECORRUPT, "ledger entry %lld: a field is missing", (long long)r->seq);
  if (sqlite3_column_bytes(q, 8) != 32 || sqlite3_column_bytes(q, 9) != 32)
    return jk_error_set(JK_ECORRUPT, "ledger entry %lld: a hash is not 32 bytes", (long long)r->seq);
  memcpy(r->detail, sqlite3_column_blob(q, 8), 32);
  memcpy(r->leaf, sqlite3_column_blob(q, 9), 32);
  return JK_OK;
}

static jk_err rows(sq_store *s, sqlite3_stmt *q, jk_ledger_row_cb cb, void *payload, bool cached) {
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_ledger_row r;
    if ((e = read_row(q, &r))) break;
    if (cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "ledger read");
  if (cached) finish(q);
  else sqlite3_finalize(q);
  return e;
}

static jk_err sl_each(jk_store *base, int64_t first, int64_t last, jk_ledger_row_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_EACH, "SELECT " LEDGER_COLS " FROM ledger WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq");
  sqlite3_bind_int64(q, 1, first);
  sqlite3_bind_int64(q, 2, last > 0 ? last : INT64_MAX);
  return rows(s, q, cb, payload, true);
}

static jk_err sl_leaves(jk_store *base, uint64_t first, size_t count, uint8_t (*out)[32]) {
  sq_store *s = (sq_store *)base;
  if (first > (uint64_t)INT64_MAX - count) return jk_error_set(JK_EINVAL, "ledger leaf range out of bounds");
  XPREP(q, s, SL_LEAVES, "SELECT seq, leaf FROM ledger WHERE seq > ?1 AND seq <= ?2 ORDER BY seq");
  sqlite3_bind_int64(q, 1, (int64_t)first);
  sqlite3_bind_int64(q, 2, (int64_t)(first + count));
  size_t n = 0;
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t seq = sqlite3_column_int64(q, 0);
    if (n >= count || seq != (int64_t)(first + n + 1) || sqlite3_column_bytes(q, 1) != 32) {
      e = jk_error_set(JK_ECORRUPT, "ledger entry %lld is missing or malformed", (long long)(first + n + 1));
      break;
    }
    memcpy(out[n++], sqlite3_column_blob(q, 1), 32);
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "ledger read");
  if (!e && n != count)
    e = jk_error_set(JK_ECORRUPT, "ledger entry %lld is missing or malformed", (long long)(first + n + 1));
  finish(q);
  return e;
}

/* Ad-hoc combinations, built per call (bound parameters only, never spliced text). With an
 * object, the segmented index (0003_ledger.sql) is probed segment by segment, newest first. */

static jk_err search_one(sq_store *s, const jk_ledger_query *qq, int64_t segment, size_t limit,
                         jk_ledger_row_cb cb, void *payload, size_t *got) {
  char sql[600];
  size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT " LEDGER_COLS " FROM ledger WHERE 1");
  int i = 0;
  if (segment >= 0) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND (seq >> 14) = ?%d", ++i);
  if (qq->object) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND object = ?%d", ++i);
  if (qq->operator_) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND operator = ?%d", ++i);
  if (qq->action) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND action = ?%d", ++i);
  if (qq->first_seq > 0) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND seq >= ?%d", ++i);
  if (qq->last_seq > 0) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND seq <= ?%d", ++i);
  snprintf(sql + len, sizeof sql - len, " ORDER BY seq DESC LIMIT %zu", limit);
  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
  if (rc != SQLITE_OK) return db_error(s, rc, "ledger search");
  i = 0;
  if (segment >= 0) sqlite3_bind_int64(q, ++i, segment);
  if (qq->object) sqlite3_bind_text(q, ++i, qq->object, -1, SQLITE_STATIC);
  if (qq->operator_) sqlite3_bind_text(q, ++i, qq->operator_, -1, SQLITE_STATIC);
  if (qq->action) sqlite3_bind_text(q, ++i, qq->action, -1, SQLITE_STATIC);
  if (qq->first_seq > 0) sqlite3_bind_int64(q, ++i, qq->first_seq);
  if (qq->last_seq > 0) sqlite3_bind_int64(q, ++i, qq->last_seq);
  jk_err e = JK_OK;
  bool stopped = false;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_ledger_row r;
    if ((e = read_row(q, &r))) break;
    (*got)++;
    if (cb(&r, payload)) {
      stopped = true;
      break;
    }
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "ledger read");
  sqlite3_finalize(q);
  if (!e && stopped) *got = SIZE_MAX; /* the caller asked to stop */
  return e;
}

static jk_err sl_search(jk_store *base, const jk_ledger_query *qq, int64_t segment, size_t limit, jk_ledger_row_cb cb,
                      void *payload, size_t *got) {
  return search_one((sq_store *)base, qq, segment, limit, cb, payload, got);
}

static jk_err sl_time(jk_store *base, int64_t seq, char at[32]) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_TIME, "SELECT at FROM ledger WHERE seq = ?1");
  sqlite3_bind_int64(q, 1, seq);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW) {
    const char *v = col_str(q, 0);
    if (!v || strlen(v) >= 32) e = jk_error_set(JK_ECORRUPT, "ledger entry %lld: bad time", (long long)seq);
    else snprintf(at, 32, "%s", v);
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "ledger entry %lld does not exist", (long long)seq);
  } else {
    e = db_error(s, rc, "ledger read");
  }
  finish(q);
  return e;
}

static jk_err sl_subtree_put(jk_store *base, unsigned level, uint64_t index, const uint8_t hash[32]) {
  sq_store *s = (sq_store *)base;
  if (index > (uint64_t)INT64_MAX) return jk_error_set(JK_EINVAL, "subtree index out of range");
  XPREP(q, s, SL_SUB_PUT, "INSERT INTO ledger_subtree(level, idx, hash) VALUES (?1, ?2, ?3)");
  sqlite3_bind_int(q, 1, (int)level);
  sqlite3_bind_int64(q, 2, (int64_t)index);
  sqlite3_bind_blob(q, 3, hash, 32, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "ledger subtree");
}

static jk_err sl_subtree_get(jk_store *base, unsigned level, uint64_t index, uint8_t out[32]) {
  sq_store *s = (sq_store *)base;
  if (index > (uint64_t)INT64_MAX) return jk_error_set(JK_ENOTFOUND, "no such subtree");
  XPREP(q, s, SL_SUB_GET, "SELECT hash FROM ledger_subtree WHERE level = ?1 AND idx = ?2");
  sqlite3_bind_int(q, 1, (int)level);
  sqlite3_bind_int64(q, 2, (int64_t)index);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32) memcpy(out, sqlite3_column_blob(q, 0), 32);
  else if (rc == SQLITE_ROW) e = jk_error_set(JK_ECORRUPT, "ledger subtree %u/%llu is malformed", level,
                                              (unsigned long long)index);
  else if (rc == SQLITE_DONE) e = JK_ENOTFOUND; /* an expected miss: no message */
  else e = db_error(s, rc, "ledger read");
  finish(q);
  return e;
}

static jk_err sl_subtree_each(jk_store *base, jk_ledger_subtree_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_SUB_EACH, "SELECT level, idx, hash FROM ledger_subtree ORDER BY level, idx");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    int level = sqlite3_column_int(q, 0);
    int64_t idx = sqlite3_column_int64(q, 1);
    if (level < 0 || level > 63 || idx < 0 || sqlite3_column_bytes(q, 2) != 32) {
      e = jk_error_set(JK_ECORRUPT, "ledger subtree %d/%lld is malformed", level, (long long)idx);
      break;
    }
    uint8_t h[32];
    memcpy(h, sqlite3_column_blob(q, 2), 32);
    if (cb((unsigned)level, (uint64_t)idx, h, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "ledger read");
  finish(q);
  return e;
}

static jk_err sl_head_put(jk_store *base, const jk_ledger_head_row *h) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_HEAD_PUT, "INSERT INTO ledger_head(size, root, at, sig) VALUES (?1, ?2, ?3, ?4)");
  sqlite3_bind_int64(q, 1, h->size);
  sqlite3_bind_blob(q, 2, h->root, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, h->at, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 4, h->sig, 64, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "ledger head");
}

static jk_err read_head(sqlite3_stmt *q, jk_ledger_head_row *h) {
  memset(h, 0, sizeof *h);
  h->size = sqlite3_column_int64(q, 0);
  const char *at = col_str(q, 2);
  if (sqlite3_column_bytes(q, 1) != 32 || sqlite3_column_bytes(q, 3) != 64 || !at || strlen(at) >= 32)
    return jk_error_set(JK_ECORRUPT, "tree head of size %lld is malformed", (long long)h->size);
  memcpy(h->root, sqlite3_column_blob(q, 1), 32);
  memcpy(h->sig, sqlite3_column_blob(q, 3), 64);
  snprintf(h->at, sizeof h->at, "%s", at);
  return JK_OK;
}

static jk_err sl_head_get(jk_store *base, int64_t size, jk_ledger_head_row *out) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = size ? jk__sq_stmt(s, SL_HEAD_GET, "SELECT size, root, at, sig FROM ledger_head WHERE size = ?1")
                         : jk__sq_stmt(s, SL_HEAD_LATEST,
                                       "SELECT size, root, at, sig FROM ledger_head ORDER BY size DESC LIMIT 1");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (size) sqlite3_bind_int64(q, 1, size);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_head(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "no signed tree head");
  else e = db_error(s, rc, "ledger read");
  finish(q);
  return e;
}

static jk_err sl_head_each(jk_store *base, jk_ledger_head_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SL_HEAD_EACH, "SELECT size, root, at, sig FROM ledger_head ORDER BY size");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_ledger_head_row h;
    if ((e = read_head(q, &h))) break;
    if (cb(&h, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "ledger read");
  finish(q);
  return e;
}

void jk__sq_ledger_ops(struct jk__store_ops *ops) {
  ops->ledger_size = sl_size;
  ops->ledger_append = sl_append;
  ops->ledger_each = sl_each;
  ops->ledger_leaves = sl_leaves;
  ops->ledger_search = sl_search;
  ops->ledger_time = sl_time;
  ops->ledger_subtree_put = sl_subtree_put;
  ops->ledger_subtree_get = sl_subtree_get;
  ops->ledger_subtree_each = sl_subtree_each;
  ops->ledger_head_put = sl_head_put;
  ops->ledger_head_get = sl_head_get;
  ops->ledger_head_each = sl_head_each;
}
