/*
 * sqlite_sync.c — the sync tables of the SQLite backend (schema 0005_sync.sql): the notice log
 * and its subtree cache, signed outbox heads, holdings, peers, acknowledgements and receipts.
 *
 * The sync module (src/sync) gives the rows their meaning; this file keeps them. store.c has
 * checked the arguments (and that notice seqs are contiguous). Every row read back is checked
 * for shape and range (types, blob sizes, ids, dates, enums) and a bad one is JK_ECORRUPT
 * naming the field: node.db may have been edited by hand.
 *
 * notice_append is the hot path (up to ~100k rows per second in one transaction): one cached
 * statement, static bindings, no allocation. The many-calls of a sync batch loop over the same
 * statements (no round trips to save in-process).
 */
#include "store/sqlite_int.h"

#include "jukinet/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum {
  SY_APPEND = SQ_SLOT_SYNC,
  SY_SIZE,
  SY_EACH,
  SY_LEAVES,
  SY_BY_CODE,
  SY_SCRUB,
  SY_SOURCES,
  SY_SUB_PUT,
  SY_SUB_GET,
  SY_HEAD_PUT,
  SY_HEAD_ROOT,
  SY_HEAD_LATEST,
  SY_HEAD_FIRST,
  SY_HOLD_PUT,
  SY_HOLD_GET,
  SY_HOLD_DEL,
  SY_HOLD_EACH,        /* + 0 all, + 1 by code, + 2 by source, + 3 both */
  SY_HOLD_COUNT = SY_HOLD_EACH + 4, /* + 0 all, + 1 by source, + 2 by status, + 3 both */
  SY_PEER_PUT = SY_HOLD_COUNT + 4,
  SY_PEER_GET,
  SY_ACK_PUT,
  SY_ACK_GET,
  SY_RCPT_PUT,
  SY_RCPT_GET,
  SY_RCPT_LATEST,
  SY_MANY_BEGIN,
  SY_MANY_END,
  SY_MANY_UNDO,
  SY_HOLD_CODES,
  SY_SCRUB_ONE,
  SY__END
};
_Static_assert(SY__END <= SQ_XSTMT_MAX, "sync statement slots overflow");

/* ---- reading columns ---- */

/* A blob of exactly n bytes. */
static bool col_blob(sqlite3_stmt *q, int i, uint8_t *out, int n) {
  if (sqlite3_column_type(q, i) != SQLITE_BLOB || sqlite3_column_bytes(q, i) != n) return false;
  memcpy(out, sqlite3_column_blob(q, i), (size_t)n);
  return true;
}

/* A node id column (borrowed pointer into the statement's row); NULL when it is not one. */
static const char *col_node(sqlite3_stmt *q, int i) {
  const char *v = (const char *)sqlite3_column_text(q, i);
  return v && jk__store_node_id_ok(v, (size_t)sqlite3_column_bytes(q, i)) ? v : NULL;
}

static bool col_time(sqlite3_stmt *q, int i, char out[32]) { return col_copy(q, i, out, 32, false) && out[0]; }

static jk_err step_error(sq_store *s, int rc, const char *what) {
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? JK_OK : db_error(s, rc, what);
}

/* ---- the notice log ---- */

#define NOTICE_COLS "source, seq, code, enc, leaf"

static jk_err ss_notice_append(jk_store *base, const jk_notice_row *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_APPEND, "INSERT INTO notice_log(" NOTICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5)");
  sqlite3_bind_text(q, 1, r->source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, r->seq);
  sqlite3_bind_text(q, 3, r->code, 11, SQLITE_STATIC);
  sqlite3_bind_blob(q, 4, r->enc, (int)r->enc_len, SQLITE_STATIC);
  sqlite3_bind_blob(q, 5, r->leaf, 32, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_reset(q); /* every parameter is bound again by the next call */
  return rc == SQLITE_DONE ? JK_OK : db_error(s, rc, "notice append");
}

static jk_err ss_notice_size(jk_store *base, const char *source, int64_t *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_SIZE, "SELECT coalesce(max(seq), 0) FROM notice_log WHERE source = ?1");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  *out = 0;
  if (rc == SQLITE_ROW) {
    if (!col_i64(q, 0, out) || *out < 0) e = jk_error_set(JK_ECORRUPT, "the notice log of %s is malformed", source);
  } else {
    e = db_error(s, rc, "notice read");
  }
  finish(q);
  return e;
}

/* Row (NOTICE_COLS) → r, pointers borrowed from the statement until its next step. */
static jk_err read_notice(sqlite3_stmt *q, jk_notice_row *r) {
  memset(r, 0, sizeof *r);
  const char *field = NULL;
  const unsigned char *code = sqlite3_column_text(q, 2);
  int enc_type = sqlite3_column_type(q, 3), enc_n = sqlite3_column_bytes(q, 3);
  if (!col_i64(q, 1, &r->seq) || r->seq < 1) field = "seq";
  else if (!(r->source = col_node(q, 0))) field = "source";
  else if (!code || !jk__store_rescode_ok((const char *)code, (size_t)sqlite3_column_bytes(q, 2))) field = "code";
  else if (enc_type != SQLITE_NULL && (enc_type != SQLITE_BLOB || enc_n < 1 || enc_n > JK_NOTICE_ROW_MAX)) field = "enc";
  else if (!col_blob(q, 4, r->leaf, 32)) field = "leaf";
  if (field) return jk_error_set(JK_ECORRUPT, "notice row seq %lld is malformed (%s)", (long long)r->seq, field);
  r->code = (const char *)code;
  if (enc_type == SQLITE_BLOB) {
    r->enc = sqlite3_column_blob(q, 3);
    r->enc_len = (size_t)enc_n;
  }
  return JK_OK;
}

/* Step q to the end, handing each row to cb; readies q for reuse. */
static jk_err notice_rows(sq_store *s, sqlite3_stmt *q, jk_notice_row_cb cb, void *payload) {
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_notice_row r;
    if ((e = read_notice(q, &r)) || cb(&r, payload)) break;
  }
  if (!e) e = step_error(s, rc, "notice read");
  finish(q);
  return e;
}

static jk_err ss_notice_each(jk_store *base, const char *source, int64_t first, int64_t last, jk_notice_row_cb cb,
                             void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_EACH,
        "SELECT " NOTICE_COLS " FROM notice_log WHERE source = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, first);
  sqlite3_bind_int64(q, 3, last);
  return notice_rows(s, q, cb, payload);
}

static jk_err ss_notice_leaves(jk_store *base, const char *source, uint64_t first, size_t count, uint8_t (*out)[32]) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_LEAVES, "SELECT seq, leaf FROM notice_log WHERE source = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, (int64_t)first);
  sqlite3_bind_int64(q, 3, (int64_t)(first + count));
  size_t n = 0;
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t seq;
    if (n >= count || !col_i64(q, 0, &seq) || seq != (int64_t)(first + n + 1) || !col_blob(q, 1, out[n], 32)) break;
    n++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "notice read");
  else if (n != count)
    e = jk_error_set(JK_ECORRUPT, "notice %lld of %s is missing or malformed", (long long)(first + n + 1), source);
  finish(q);
  return e;
}

static jk_err ss_notice_by_code(jk_store *base, const char *code, jk_notice_row_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_BY_CODE, "SELECT " NOTICE_COLS " FROM notice_log WHERE code = ?1 ORDER BY source, seq");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  return notice_rows(s, q, cb, payload);
}

static jk_err ss_notice_scrub(jk_store *base, const char *code, int64_t *n) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_SCRUB, "UPDATE notice_log SET enc = NULL WHERE code = ?1 AND enc IS NOT NULL");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "notice scrub");
  *n = e ? 0 : sqlite3_changes(s->db);
  return e;
}

/* A scrubbed row is set to NULL again (the trigger lets that pass), so that "changed" means "is
 * there": one statement. */
static jk_err ss_notice_scrub_one(jk_store *base, const char *source, int64_t seq) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_SCRUB_ONE, "UPDATE notice_log SET enc = NULL WHERE source = ?1 AND seq = ?2");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, seq);
  jk_err e = jk__sq_step_done(s, q, "notice scrub");
  if (e || sqlite3_changes(s->db) == 1) return e;
  return jk_error_set(JK_ENOTFOUND, "there is no notice %lld of %s", (long long)seq, source);
}

/* One probe of the primary key per source (a loose index scan), not a scan of every notice. */
static jk_err ss_notice_sources(jk_store *base, jk_sync_source_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_SOURCES,
        "WITH RECURSIVE src(s) AS (SELECT (SELECT min(source) FROM notice_log) UNION ALL "
        "SELECT (SELECT min(source) FROM notice_log WHERE source > src.s) FROM src WHERE src.s IS NOT NULL) "
        "SELECT s, (SELECT max(seq) FROM notice_log WHERE source = src.s) FROM src WHERE s IS NOT NULL ORDER BY s");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *src = col_node(q, 0);
    int64_t size;
    if (!src || !col_i64(q, 1, &size) || size < 1) {
      e = jk_error_set(JK_ECORRUPT, "the notice log of %s is malformed", src ? src : "?");
      break;
    }
    if (cb(src, size, payload)) break;
  }
  if (!e) e = step_error(s, rc, "notice read");
  finish(q);
  return e;
}

static jk_err subtree_get(sq_store *s, const char *source, unsigned level, uint64_t index, uint8_t out[32]) {
  XPREP(q, s, SY_SUB_GET, "SELECT hash FROM notice_subtree WHERE source = ?1 AND level = ?2 AND idx = ?3");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, (int)level);
  sqlite3_bind_int64(q, 3, (int64_t)index);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW) {
    if (!col_blob(q, 0, out, 32))
      e = jk_error_set(JK_ECORRUPT, "notice subtree %u/%llu of %s is malformed", level, (unsigned long long)index, source);
  } else if (rc == SQLITE_DONE) {
    e = JK_ENOTFOUND; /* an expected miss: no message */
  } else {
    e = db_error(s, rc, "notice read");
  }
  finish(q);
  return e;
}

/* The same hash again is a no-op; a different one is refused. */
static jk_err ss_subtree_put(jk_store *base, const char *source, unsigned level, uint64_t index, const uint8_t hash[32]) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_SUB_PUT,
        "INSERT INTO notice_subtree(source, level, idx, hash) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, (int)level);
  sqlite3_bind_int64(q, 3, (int64_t)index);
  sqlite3_bind_blob(q, 4, hash, 32, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "notice subtree");
  if (e || sqlite3_changes(s->db) == 1) return e;
  uint8_t have[32];
  if ((e = subtree_get(s, source, level, index, have))) return e;
  if (memcmp(have, hash, 32) != 0)
    return jk_error_set(JK_ECONFLICT, "notice subtree %u/%llu of %s has a different hash", level,
                        (unsigned long long)index, source);
  return JK_OK;
}

static jk_err ss_subtree_get(jk_store *base, const char *source, unsigned level, uint64_t index, uint8_t out[32]) {
  return subtree_get((sq_store *)base, source, level, index, out);
}

/* ---- outbox heads ---- */

static jk_err ss_head_put(jk_store *base, const jk_sync_head_row *h) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_HEAD_PUT,
        "INSERT INTO outbox_head(node, size, root, at, sig) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(node, size) "
        "DO UPDATE SET at = excluded.at, sig = excluded.sig WHERE outbox_head.root = excluded.root AND "
        "excluded.at > outbox_head.at");
  sqlite3_bind_text(q, 1, h->node, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, h->size);
  sqlite3_bind_blob(q, 3, h->root, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, h->at, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 5, h->sig, 64, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "outbox head");
  if (e || sqlite3_changes(s->db) == 1) return e;
  /* nothing written: the same head with an older or equal time, or a different root */
  XPREP(r, s, SY_HEAD_ROOT, "SELECT root FROM outbox_head WHERE node = ?1 AND size = ?2");
  sqlite3_bind_text(r, 1, h->node, -1, SQLITE_STATIC);
  sqlite3_bind_int64(r, 2, h->size);
  int rc = sqlite3_step(r);
  uint8_t root[32];
  if (rc == SQLITE_ROW && !col_blob(r, 0, root, 32))
    e = jk_error_set(JK_ECORRUPT, "outbox head %lld of %s is malformed", (long long)h->size, h->node);
  else if (rc == SQLITE_ROW && memcmp(root, h->root, 32) != 0)
    e = jk_error_set(JK_ECONFLICT, "outbox head %lld of %s has a different root", (long long)h->size, h->node);
  else if (rc != SQLITE_ROW)
    e = rc == SQLITE_DONE ? jk_error_set(JK_EIO, "database (%s): %s", "outbox head", "row not written")
                          : db_error(s, rc, "outbox head");
  finish(r);
  return e;
}

static jk_err ss_head_find(jk_store *base, const char *node, int64_t at_least, jk_sync_head_row *out) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q;
  if (at_least > 0) {
    XPREP(f, s, SY_HEAD_FIRST,
          "SELECT node, size, root, at, sig FROM outbox_head WHERE node = ?1 AND size >= ?2 ORDER BY size LIMIT 1");
    sqlite3_bind_int64(f, 2, at_least);
    q = f;
  } else {
    XPREP(l, s, SY_HEAD_LATEST,
          "SELECT node, size, root, at, sig FROM outbox_head WHERE node = ?1 ORDER BY size DESC LIMIT 1");
    q = l;
  }
  sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  if (rc == SQLITE_ROW) {
    if (!col_copy(q, 0, out->node, sizeof out->node, false) || !col_i64(q, 1, &out->size) || out->size < 0 ||
        !col_blob(q, 2, out->root, 32) || !col_time(q, 3, out->at) || !col_blob(q, 4, out->sig, 64))
      e = jk_error_set(JK_ECORRUPT, "outbox head %lld of %s is malformed", (long long)out->size, node);
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "no outbox head of %s", node);
  } else {
    e = db_error(s, rc, "outbox head");
  }
  finish(q);
  return e;
}

/* ---- holdings ---- */


static void bind_date(sqlite3_stmt *q, int i, jk_date d, char buf[11]) {
  if (!d.y) {
    sqlite3_bind_null(q, i);
    return;
  }
  jk_date_format_iso(d, buf);
  sqlite3_bind_text(q, i, buf, 10, SQLITE_STATIC);
}

static jk_err ss_holding_put(jk_store *base, const jk_holding_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_HOLD_PUT,
        "INSERT INTO holding(" SQ_HOLD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
        "ON CONFLICT(code, source) DO UPDATE SET seq = excluded.seq, version = excluded.version, "
        "name = excluded.name, kana = excluded.kana, address = excluded.address, prev_code = excluded.prev_code, "
        "birth = excluded.birth, moved_on = excluded.moved_on, sex = excluded.sex, reason = excluded.reason, "
        "status = excluded.status");
  char birth[11], moved[11];
  sqlite3_bind_text(q, 1, r->code, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, r->seq);
  sqlite3_bind_int(q, 4, r->version);
  sqlite3_bind_text(q, 5, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->kana, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->address, -1, SQLITE_STATIC);
  if (r->prev_code[0]) sqlite3_bind_text(q, 8, r->prev_code, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 8);
  bind_date(q, 9, r->birth, birth);
  bind_date(q, 10, r->moved_on, moved);
  sqlite3_bind_int(q, 11, (int)r->sex);
  sqlite3_bind_int(q, 12, r->reason);
  sqlite3_bind_int(q, 13, r->status);
  return jk__sq_step_done(s, q, "holding");
}

/* A date column: NULL gives a zero date (the record check decides whether that is allowed). */
static bool col_date(sqlite3_stmt *q, int i, jk_date *out) {
  memset(out, 0, sizeof *out);
  if (sqlite3_column_type(q, i) == SQLITE_NULL) return true;
  return sqlite3_column_type(q, i) == SQLITE_TEXT &&
         jk__sq_parse_iso(sqlite3_column_text(q, i), sqlite3_column_bytes(q, i), out);
}

jk_err jk__sq_read_holding(sqlite3_stmt *q, jk_holding_rec *r) {
  int sex = 0;
  const char *field = NULL;
  memset(r, 0, sizeof *r);
  if (!col_copy(q, 0, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 1, r->source, sizeof r->source, false)) field = "source";
  else if (!col_i64(q, 2, &r->seq)) field = "seq";
  else if (!col_int(q, 3, &r->version)) field = "version";
  else if (!col_copy(q, 4, r->name, sizeof r->name, false)) field = "name";
  else if (!col_copy(q, 5, r->kana, sizeof r->kana, false)) field = "kana";
  else if (!col_copy(q, 6, r->address, sizeof r->address, false)) field = "address";
  else if (!col_copy(q, 7, r->prev_code, sizeof r->prev_code, true)) field = "prev_code";
  else if (!col_date(q, 8, &r->birth)) field = "birth";
  else if (!col_date(q, 9, &r->moved_on)) field = "moved_on";
  else if (!col_int(q, 10, &sex)) field = "sex";
  else if (!col_int(q, 11, &r->reason)) field = "reason";
  else if (!col_int(q, 12, &r->status)) field = "status";
  if (!field) {
    r->sex = (jk_sex)sex;
    if (jk__store_holding_ok(r, &field)) return JK_OK;
  }
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "a holding record is malformed (field %s)", field);
}

static jk_err ss_holding_get(jk_store *base, const char *code, const char *source, jk_holding_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_HOLD_GET, "SELECT " SQ_HOLD_COLS " FROM holding WHERE code = ?1 AND source = ?2");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = jk__sq_read_holding(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "no holding record of %s from %s", code, source);
  else e = db_error(s, rc, "holding");
  finish(q);
  return e;
}

static jk_err ss_holding_delete(jk_store *base, const char *code, const char *source) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_HOLD_DEL, "DELETE FROM holding WHERE code = ?1 AND source = ?2");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "holding");
  if (!e && sqlite3_changes(s->db) == 0)
    e = jk_error_set(JK_ENOTFOUND, "no holding record of %s from %s", code, source);
  return e;
}

static jk_err ss_holding_each(jk_store *base, const char *code, const char *source, jk_holding_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[4] = {
      "SELECT " SQ_HOLD_COLS " FROM holding ORDER BY code, source",
      "SELECT " SQ_HOLD_COLS " FROM holding WHERE code = ?1 ORDER BY code, source",
      "SELECT " SQ_HOLD_COLS " FROM holding WHERE source = ?2 ORDER BY code, source",
      "SELECT " SQ_HOLD_COLS " FROM holding WHERE code = ?1 AND source = ?2 ORDER BY code, source",
  };
  int v = (code ? 1 : 0) | (source ? 2 : 0);
  sqlite3_stmt *q = jk__sq_stmt(s, SY_HOLD_EACH + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (code) sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  if (source) sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_holding_rec r;
    if ((e = jk__sq_read_holding(q, &r)) || cb(&r, payload)) break;
  }
  if (!e) e = step_error(s, rc, "holding");
  finish(q);
  return e;
}

static jk_err ss_holding_count(jk_store *base, const char *source, int status, int64_t *out) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[4] = {
      "SELECT count(*) FROM holding",
      "SELECT count(*) FROM holding WHERE source = ?1",
      "SELECT count(*) FROM holding WHERE status = ?2",
      "SELECT count(*) FROM holding WHERE source = ?1 AND status = ?2",
  };
  int v = (source ? 1 : 0) | (status ? 2 : 0);
  sqlite3_stmt *q = jk__sq_stmt(s, SY_HOLD_COUNT + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (source) sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  if (status) sqlite3_bind_int(q, 2, status);
  int rc = sqlite3_step(q);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
  finish(q);
  return rc == SQLITE_ROW ? JK_OK : db_error(s, rc, "holding");
}

/* ---- several rows at once ----
 * Loops over the single-row statements (SQLite runs in the process: a call costs no round
 * trip), inside a savepoint, so that a failure keeps nothing of the call. */

static int step_rc(sqlite3_stmt *q) {
  int rc = sqlite3_step(q);
  finish(q);
  return rc;
}

static jk_err many_step(sq_store *s, int slot, const char *sql) {
  XPREP(q, s, slot, sql);
  return jk__sq_step_done(s, q, "savepoint");
}

/* Release the savepoint; after an error, roll back to it first (keeping the error's message:
 * when SQLite has already rolled the whole transaction back these fail, harmlessly). */
static jk_err many_end(sq_store *s, jk_err e) {
  if (!e) return many_step(s, SY_MANY_END, "RELEASE jk_many");
  sqlite3_stmt *q = jk__sq_stmt(s, SY_MANY_UNDO, "ROLLBACK TO jk_many");
  if (q) (void)step_rc(q);
  if ((q = jk__sq_stmt(s, SY_MANY_END, "RELEASE jk_many"))) (void)step_rc(q);
  return e;
}

static jk_err ss_notice_append_many(jk_store *base, const jk_notice_row *rows, size_t n) {
  sq_store *s = (sq_store *)base;
  jk_err e = many_step(s, SY_MANY_BEGIN, "SAVEPOINT jk_many");
  for (size_t i = 0; i < n && !e; i++) e = ss_notice_append(base, &rows[i]);
  return many_end(s, e);
}

static jk_err ss_holding_put_many(jk_store *base, const jk_holding_rec *recs, size_t n) {
  sq_store *s = (sq_store *)base;
  jk_err e = many_step(s, SY_MANY_BEGIN, "SAVEPOINT jk_many");
  for (size_t i = 0; i < n && !e; i++) e = ss_holding_put(base, &recs[i]);
  return many_end(s, e);
}

/* One statement for all the codes, handed over as a JSON array (they are digits only): SQLite
 * probes the primary key once per code, in code order. Three times as fast as a statement per
 * code (10,000 codes: 20 ms instead of 60). */
static jk_err ss_holding_get_codes(jk_store *base, const char *const *codes, size_t n, jk_holding_cb cb,
                                   void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_HOLD_CODES,
        "SELECT " SQ_HOLD_COLS " FROM holding WHERE code IN (SELECT value FROM json_each(?1)) ORDER BY code, source");
  if (n > (size_t)INT32_MAX / 16) return jk_error_set(JK_ETOOLARGE, NULL);
  char *list = jk_malloc(n * 14 + 2), *w = list;
  if (!list) return jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < n; i++) {
    *w++ = i ? ',' : '[';
    *w++ = '"';
    memcpy(w, codes[i], 11);
    w += 11;
    *w++ = '"';
  }
  *w++ = ']';
  sqlite3_bind_text(q, 1, list, (int)(w - list), SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_holding_rec r;
    if ((e = jk__sq_read_holding(q, &r)) || cb(&r, payload)) break;
  }
  if (!e) e = step_error(s, rc, "holding");
  finish(q);
  jk_free(list);
  return e;
}

/* ---- peers ---- */

static jk_err ss_peer_put(jk_store *base, const jk_peer_rec *p) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_PEER_PUT,
        "INSERT INTO peer(node, lgcode, role, pubkey, cert_pem, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT(node) DO UPDATE SET lgcode = excluded.lgcode, role = excluded.role, pubkey = excluded.pubkey, "
        "cert_pem = excluded.cert_pem, seen_at = excluded.seen_at");
  sqlite3_bind_text(q, 1, p->node, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, p->lgcode, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, p->role, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 4, p->pubkey, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, p->cert_pem, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, p->seen_at, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "peer");
}

static jk_err ss_peer_get(jk_store *base, const char *node, jk_peer_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_PEER_GET, "SELECT node, lgcode, role, pubkey, cert_pem, seen_at FROM peer WHERE node = ?1");
  sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  if (rc == SQLITE_ROW) {
    const char *field = NULL;
    const unsigned char *pem = sqlite3_column_text(q, 4);
    size_t pem_n = (size_t)sqlite3_column_bytes(q, 4);
    if (!col_copy(q, 0, out->node, sizeof out->node, false)) field = "node";
    else if (!col_copy(q, 1, out->lgcode, sizeof out->lgcode, false)) field = "lgcode";
    else if (!col_copy(q, 2, out->role, sizeof out->role, false)) field = "role";
    else if (!col_blob(q, 3, out->pubkey, 32)) field = "pubkey";
    else if (!col_copy(q, 5, out->seen_at, sizeof out->seen_at, false)) field = "seen_at";
    else if (!pem || pem_n < 1 || pem_n > JK__PEER_CERT_MAX || memchr(pem, '\0', pem_n) ||
             !jk_utf8_valid((const char *)pem, pem_n))
      field = "cert_pem";
    else if (jk__store_peer_ok(out, &field) && !(out->cert_pem = jk_strndup((const char *)pem, pem_n)))
      e = jk_error_set(JK_ENOMEM, NULL);
    if (field) {
      memset(out, 0, sizeof *out);
      e = jk_error_set(JK_ECORRUPT, "peer %s is malformed (field %s)", node, field);
    }
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "peer %s is not known", node);
  } else {
    e = db_error(s, rc, "peer");
  }
  finish(q);
  return e;
}

/* ---- acknowledgements and receipts ---- */

static jk_err ss_ack_put(jk_store *base, const char *sender, int64_t size, const uint8_t root[32], const char *at) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_ACK_PUT,
        "INSERT INTO sync_ack(sender, size, root, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(sender) DO UPDATE SET "
        "size = excluded.size, root = excluded.root, at = excluded.at");
  sqlite3_bind_text(q, 1, sender, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, size);
  sqlite3_bind_blob(q, 3, root, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, at, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "acknowledgement");
}

static jk_err ss_ack_get(jk_store *base, const char *sender, int64_t *size, uint8_t root[32]) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_ACK_GET, "SELECT size, root FROM sync_ack WHERE sender = ?1");
  sqlite3_bind_text(q, 1, sender, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW) {
    if (!col_i64(q, 0, size) || *size < 0 || !col_blob(q, 1, root, 32))
      e = jk_error_set(JK_ECORRUPT, "the acknowledgement for %s is malformed", sender);
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "no ledger head of %s has been acknowledged", sender);
  } else {
    e = db_error(s, rc, "acknowledgement");
  }
  finish(q);
  return e;
}

#define RCPT_COLS "receiver, source, sender, highest_seq, ledger_size, ledger_root, at, sig"

static jk_err ss_receipt_put(jk_store *base, const jk_receipt_row *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_RCPT_PUT,
        "INSERT INTO receipt(" RCPT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(receiver, source) "
        "DO UPDATE SET sender = excluded.sender, highest_seq = excluded.highest_seq, "
        "ledger_size = excluded.ledger_size, ledger_root = excluded.ledger_root, at = excluded.at, sig = excluded.sig");
  sqlite3_bind_text(q, 1, r->receiver, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->sender, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 4, r->highest_seq);
  sqlite3_bind_int64(q, 5, r->ledger_size);
  sqlite3_bind_blob(q, 6, r->ledger_root, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->at, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 8, r->sig, 64, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "receipt");
}

/* Step q once into out; JK_ENOTFOUND (with the caller's message) when there is no row. */
static jk_err read_receipt(sq_store *s, sqlite3_stmt *q, jk_receipt_row *out, const char *receiver, const char *source) {
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  if (rc == SQLITE_ROW) {
    if (!col_copy(q, 0, out->receiver, sizeof out->receiver, false) ||
        !jk__store_node_id_ok(out->receiver, strlen(out->receiver)) ||
        !col_copy(q, 1, out->source, sizeof out->source, false) ||
        !jk__store_node_id_ok(out->source, strlen(out->source)) ||
        !col_copy(q, 2, out->sender, sizeof out->sender, false) ||
        !jk__store_node_id_ok(out->sender, strlen(out->sender)) || !col_i64(q, 3, &out->highest_seq) ||
        out->highest_seq < 0 || !col_i64(q, 4, &out->ledger_size) || out->ledger_size < 0 ||
        !col_blob(q, 5, out->ledger_root, 32) || !col_time(q, 6, out->at) || !col_blob(q, 7, out->sig, 64)) {
      memset(out, 0, sizeof *out);
      e = jk_error_set(JK_ECORRUPT, "a receipt from %s is malformed", receiver);
    }
  } else if (rc == SQLITE_DONE) {
    e = source ? jk_error_set(JK_ENOTFOUND, "no receipt from %s for %s", receiver, source)
               : jk_error_set(JK_ENOTFOUND, "no receipt from %s", receiver);
  } else {
    e = db_error(s, rc, "receipt");
  }
  finish(q);
  return e;
}

static jk_err ss_receipt_get(jk_store *base, const char *receiver, const char *source, jk_receipt_row *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_RCPT_GET, "SELECT " RCPT_COLS " FROM receipt WHERE receiver = ?1 AND source = ?2");
  sqlite3_bind_text(q, 1, receiver, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, source, -1, SQLITE_STATIC);
  return read_receipt(s, q, out, receiver, source);
}

static jk_err ss_receipt_latest(jk_store *base, const char *receiver, jk_receipt_row *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SY_RCPT_LATEST,
        "SELECT " RCPT_COLS " FROM receipt WHERE receiver = ?1 ORDER BY at DESC, ledger_size DESC LIMIT 1");
  sqlite3_bind_text(q, 1, receiver, -1, SQLITE_STATIC);
  return read_receipt(s, q, out, receiver, NULL);
}

void jk__sq_sync_ops(struct jk__store_ops *ops) {
  ops->notice_append = ss_notice_append;
  ops->notice_size = ss_notice_size;
  ops->notice_each = ss_notice_each;
  ops->notice_leaves = ss_notice_leaves;
  ops->notice_by_code = ss_notice_by_code;
  ops->notice_scrub = ss_notice_scrub;
  ops->notice_scrub_one = ss_notice_scrub_one;
  ops->notice_sources = ss_notice_sources;
  ops->notice_subtree_put = ss_subtree_put;
  ops->notice_subtree_get = ss_subtree_get;
  ops->outbox_head_put = ss_head_put;
  ops->outbox_head_find = ss_head_find;
  ops->holding_put = ss_holding_put;
  ops->holding_get = ss_holding_get;
  ops->holding_delete = ss_holding_delete;
  ops->holding_each = ss_holding_each;
  ops->holding_count = ss_holding_count;
  ops->notice_append_many = ss_notice_append_many;
  ops->holding_put_many = ss_holding_put_many;
  ops->holding_get_codes = ss_holding_get_codes;
  ops->peer_put = ss_peer_put;
  ops->peer_get = ss_peer_get;
  ops->sync_ack_put = ss_ack_put;
  ops->sync_ack_get = ss_ack_get;
  ops->receipt_put = ss_receipt_put;
  ops->receipt_get = ss_receipt_get;
  ops->receipt_latest = ss_receipt_latest;
}
