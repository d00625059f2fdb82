/*
 * pg_sync.c — the sync tables of the PostgreSQL backend (schema sql/pg/0005_sync.sql). The
 * same contract as sqlite_sync.c: store.c has checked the arguments, every row read back is
 * checked for shape and range and a bad one is JK_ECORRUPT naming the field.
 *
 * The writes that may be refused in an expected way (an outbox head or a subtree hash that
 * differs from the stored one) use ON CONFLICT and compare afterwards, so the refusal does not
 * abort the caller's transaction (pg_int.h). notice_append is one round trip per row; the
 * many-calls of a sync batch (notice_append_many, holding_put_many, holding_get_codes) send
 * their rows as binary arrays, a few thousand per statement. Long reads (a source's notices,
 * every holding of a source) come in keyset pages, never all in memory at once.
 */
#include "store/pg_int.h"

#include "jukinet/buf.h"
#include "jukinet/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

enum {
  SY_APPEND = PG_SLOT_SYNC,
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
  SY_APPEND_MANY,
  SY_HOLD_PUT_MANY,
  SY_HOLD_CODES,
  SY_SCRUB_ONE,
  SY__END
};
_Static_assert(SY__END <= PG_STMT_MAX, "sync statement slots overflow");

#define PAGE 4096

/* ---- reading cells ---- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A bytea cell (hex output) of 1 .. cap bytes into out, its length in *n. */
static bool bytea_var(const PGresult *r, int row, int col, uint8_t *out, size_t cap, size_t *n) {
  const char *v = jk__pg_str(r, row, col);
  size_t len = v ? (size_t)PQgetlength(r, row, col) : 0;
  if (!v || len < 4 || len % 2 != 0 || v[0] != '\\' || v[1] != 'x' || (len - 2) / 2 > cap) return false;
  *n = (len - 2) / 2;
  for (size_t i = 0; i < *n; i++) {
    int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

/* A node id cell (borrowed from r). */
static const char *cell_node(const PGresult *r, int row, int col) {
  const char *v = jk__pg_str(r, row, col);
  return v && jk__store_node_id_ok(v, (size_t)PQgetlength(r, row, col)) ? v : NULL;
}

static bool cell_time(const PGresult *r, int row, int col, char out[32]) {
  return jk__pg_copy(r, row, col, out, 32, false) && out[0];
}

/* One row, one bigint column: *out (*found = whether there was a row). */
static jk_err one_i64(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, int64_t *out,
                      bool *found) {
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, slot, sql, p, what, &e);
  if (!r) return e;
  *found = PQntuples(r) > 0;
  if (*found && !jk__pg_i64(r, 0, 0, out)) e = jk_error_set(JK_ECORRUPT, "database (%s): %s", what, "bad number");
  PQclear(r);
  return e;
}

/* ---- the notice log ---- */

#define NOTICE_COLS "source, seq, code, enc, leaf"

static jk_err ps_notice_append(jk_store *base, const jk_notice_row *row) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, row->source);
  jk__pg_int(&p, row->seq);
  jk__pg_text(&p, row->code);
  jk__pg_bytes(&p, row->enc, (int)row->enc_len);
  jk__pg_bytes(&p, row->leaf, 32);
  return jk__pg_do(s, SY_APPEND, "INSERT INTO notice_log(" NOTICE_COLS ") VALUES ($1, $2, $3, $4, $5)", &p,
                   "notice append", NULL);
}

static jk_err ps_notice_size(jk_store *base, const char *source, int64_t *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  bool found = false;
  jk__pg_text(&p, source);
  jk_err e = one_i64(s, SY_SIZE, "SELECT coalesce(max(seq), 0) FROM notice_log WHERE source = $1", &p, "notice read",
                     out, &found);
  if (!e && (!found || *out < 0)) e = jk_error_set(JK_ECORRUPT, "the notice log of %s is malformed", source);
  return e;
}

/* Row i (NOTICE_COLS) → row; strings borrowed from r, the encoding decoded into enc. */
static jk_err read_notice(const PGresult *r, int i, jk_notice_row *row, uint8_t enc[JK_NOTICE_ROW_MAX]) {
  const char *field = NULL;
  memset(row, 0, sizeof *row);
  const char *code = jk__pg_str(r, i, 2);
  if (!jk__pg_i64(r, i, 1, &row->seq) || row->seq < 1) field = "seq";
  else if (!(row->source = cell_node(r, i, 0))) field = "source";
  else if (!code || !jk__store_rescode_ok(code, (size_t)PQgetlength(r, i, 2))) field = "code";
  else if (jk__pg_str(r, i, 3) && !bytea_var(r, i, 3, enc, JK_NOTICE_ROW_MAX, &row->enc_len)) field = "enc";
  else if (!jk__pg_bytea(r, i, 4, row->leaf, 32)) field = "leaf";
  if (field) return jk_error_set(JK_ECORRUPT, "notice row seq %lld is malformed (%s)", (long long)row->seq, field);
  row->code = code;
  row->enc = row->enc_len ? enc : NULL;
  return JK_OK;
}

/* Hand the rows of r to cb (*stopped when it asked to stop); clears r. */
static jk_err notice_rows(PGresult *r, jk_notice_row_cb cb, void *payload, bool *stopped) {
  uint8_t enc[JK_NOTICE_ROW_MAX];
  jk_err e = JK_OK;
  *stopped = false;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_notice_row row;
    if ((e = read_notice(r, i, &row, enc))) break;
    if (cb(&row, payload)) {
      *stopped = true;
      break;
    }
  }
  PQclear(r);
  return e;
}

static jk_err ps_notice_each(jk_store *base, const char *source, int64_t first, int64_t last, jk_notice_row_cb cb,
                             void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  for (int64_t from = first;;) {
    pg_params p = {0};
    jk__pg_text(&p, source);
    jk__pg_int(&p, from);
    jk__pg_int(&p, last);
    PGresult *r = jk__pg_run(s, SY_EACH,
                             "SELECT " NOTICE_COLS " FROM notice_log WHERE source = $1 AND seq >= $2 AND seq <= $3 "
                             "ORDER BY seq LIMIT 4096",
                             &p, "notice read", &e);
    if (!r) return e;
    int n = PQntuples(r);
    int64_t lastseq = 0;
    if (n > 0 && !jk__pg_i64(r, n - 1, 1, &lastseq)) lastseq = -1; /* read_notice names the bad row */
    bool stopped;
    if ((e = notice_rows(r, cb, payload, &stopped))) return e;
    if (stopped || n < PAGE || lastseq >= last || lastseq < from) return JK_OK;
    from = lastseq + 1;
  }
}

static jk_err ps_notice_leaves(jk_store *base, const char *source, uint64_t first, size_t count, uint8_t (*out)[32]) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  size_t n = 0;
  /* in pages too: a proof over a large tree reads many leaves */
  while (n < count) {
    pg_params p = {0};
    size_t want = count - n < PAGE ? count - n : PAGE;
    jk__pg_text(&p, source);
    jk__pg_int(&p, (int64_t)(first + n));
    jk__pg_int(&p, (int64_t)(first + n + want));
    PGresult *r = jk__pg_run(s, SY_LEAVES,
                             "SELECT seq, leaf FROM notice_log WHERE source = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                             &p, "notice read", &e);
    if (!r) return e;
    size_t got = 0;
    for (int i = 0; i < PQntuples(r) && got < want; i++) {
      int64_t seq;
      if (!jk__pg_i64(r, i, 0, &seq) || seq != (int64_t)(first + n + 1) || !jk__pg_bytea(r, i, 1, out[n], 32)) break;
      n++;
      got++;
    }
    PQclear(r);
    if (got != want) break;
  }
  if (n != count)
    return jk_error_set(JK_ECORRUPT, "notice %lld of %s is missing or malformed", (long long)(first + n + 1), source);
  return JK_OK;
}

static jk_err ps_notice_by_code(jk_store *base, const char *code, jk_notice_row_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, code);
  PGresult *r = jk__pg_run(s, SY_BY_CODE, "SELECT " NOTICE_COLS " FROM notice_log WHERE code = $1 ORDER BY source, seq",
                           &p, "notice read", &e);
  bool stopped;
  return r ? notice_rows(r, cb, payload, &stopped) : e;
}

static jk_err ps_notice_scrub(jk_store *base, const char *code, int64_t *n) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, code);
  *n = 0;
  return jk__pg_do(s, SY_SCRUB, "UPDATE notice_log SET enc = NULL WHERE code = $1 AND enc IS NOT NULL", &p,
                   "notice scrub", n);
}

/* A scrubbed row is set to NULL again (the trigger lets that pass), so that the row count means
 * "is there": one statement. */
static jk_err ps_notice_scrub_one(jk_store *base, const char *source, int64_t seq) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_text(&p, source);
  jk__pg_int(&p, seq);
  jk_err e = jk__pg_do(s, SY_SCRUB_ONE, "UPDATE notice_log SET enc = NULL WHERE source = $1 AND seq = $2", &p,
                       "notice scrub", &n);
  if (e || n == 1) return e;
  return jk_error_set(JK_ENOTFOUND, "there is no notice %lld of %s", (long long)seq, source);
}

/* One probe of the primary key per source (a loose index scan), not a scan of every notice. */
static jk_err ps_notice_sources(jk_store *base, jk_sync_source_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(
      s, SY_SOURCES,
      "WITH RECURSIVE src(s) AS (SELECT min(source) FROM notice_log UNION ALL "
      "SELECT (SELECT min(source) FROM notice_log WHERE source > src.s) FROM src WHERE src.s IS NOT NULL) "
      "SELECT s, (SELECT max(seq) FROM notice_log WHERE source = src.s) FROM src WHERE s IS NOT NULL "
      "ORDER BY s COLLATE \"C\"",
      NULL, "notice read", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    const char *src = cell_node(r, i, 0);
    int64_t size;
    if (!src || !jk__pg_i64(r, i, 1, &size) || size < 1) {
      e = jk_error_set(JK_ECORRUPT, "the notice log of %s is malformed", src ? src : "?");
      break;
    }
    if (cb(src, size, payload)) break;
  }
  PQclear(r);
  return e;
}

static jk_err subtree_get(pg_store *s, const char *source, unsigned level, uint64_t index, uint8_t out[32]) {
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, source);
  jk__pg_int(&p, level);
  jk__pg_int(&p, (int64_t)index);
  PGresult *r = jk__pg_run(s, SY_SUB_GET,
                           "SELECT hash FROM notice_subtree WHERE source = $1 AND level = $2 AND idx = $3", &p,
                           "notice read", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = JK_ENOTFOUND; /* an expected miss: no message */
  else if (!jk__pg_bytea(r, 0, 0, out, 32))
    e = jk_error_set(JK_ECORRUPT, "notice subtree %u/%llu of %s is malformed", level, (unsigned long long)index, source);
  PQclear(r);
  return e;
}

/* The same hash again is a no-op; a different one is refused (without aborting). */
static jk_err ps_subtree_put(jk_store *base, const char *source, unsigned level, uint64_t index, const uint8_t hash[32]) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_text(&p, source);
  jk__pg_int(&p, level);
  jk__pg_int(&p, (int64_t)index);
  jk__pg_bytes(&p, hash, 32);
  jk_err e = jk__pg_do(s, SY_SUB_PUT,
                       "INSERT INTO notice_subtree(source, level, idx, hash) VALUES ($1, $2, $3, $4) "
                       "ON CONFLICT DO NOTHING",
                       &p, "notice subtree", &n);
  if (e || n == 1) return e;
  uint8_t have[32];
  if ((e = subtree_get(s, source, level, index, have))) return e;
  if (memcmp(have, hash, 32) != 0)
    return jk_error_set(JK_ECONFLICT, "notice subtree %u/%llu of %s has a different hash", level,
                        (unsigned long long)index, source);
  return JK_OK;
}

static jk_err ps_subtree_get(jk_store *base, const char *source, unsigned level, uint64_t index, uint8_t out[32]) {
  return subtree_get((pg_store *)base, source, level, index, out);
}

/* ---- outbox heads ---- */

static jk_err ps_head_put(jk_store *base, const jk_sync_head_row *h) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_text(&p, h->node);
  jk__pg_int(&p, h->size);
  jk__pg_bytes(&p, h->root, 32);
  jk__pg_text(&p, h->at);
  jk__pg_bytes(&p, h->sig, 64);
  jk_err e = jk__pg_do(s, SY_HEAD_PUT,
                       "INSERT INTO outbox_head(node, size, root, at, sig) VALUES ($1, $2, $3, $4, $5) "
                       "ON CONFLICT (node, size) DO UPDATE SET at = excluded.at, sig = excluded.sig "
                       "WHERE outbox_head.root = excluded.root AND excluded.at > outbox_head.at",
                       &p, "outbox head", &n);
  if (e || n == 1) return e;
  /* nothing written: the same head with an older or equal time, or a different root */
  pg_params q = {0};
  jk__pg_text(&q, h->node);
  jk__pg_int(&q, h->size);
  PGresult *r = jk__pg_run(s, SY_HEAD_ROOT, "SELECT root FROM outbox_head WHERE node = $1 AND size = $2", &q,
                           "outbox head", &e);
  if (!r) return e;
  uint8_t root[32];
  if (PQntuples(r) != 1) e = jk_error_set(JK_EIO, "database (%s): %s", "outbox head", "row not written");
  else if (!jk__pg_bytea(r, 0, 0, root, 32))
    e = jk_error_set(JK_ECORRUPT, "outbox head %lld of %s is malformed", (long long)h->size, h->node);
  else if (memcmp(root, h->root, 32) != 0)
    e = jk_error_set(JK_ECONFLICT, "outbox head %lld of %s has a different root", (long long)h->size, h->node);
  PQclear(r);
  return e;
}

static jk_err ps_head_find(jk_store *base, const char *node, int64_t at_least, jk_sync_head_row *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  jk__pg_text(&p, node);
  PGresult *r;
  if (at_least > 0) {
    jk__pg_int(&p, at_least);
    r = jk__pg_run(s, SY_HEAD_FIRST,
                   "SELECT node, size, root, at, sig FROM outbox_head WHERE node = $1 AND size >= $2 ORDER BY size LIMIT 1",
                   &p, "outbox head", &e);
  } else {
    r = jk__pg_run(s, SY_HEAD_LATEST,
                   "SELECT node, size, root, at, sig FROM outbox_head WHERE node = $1 ORDER BY size DESC LIMIT 1", &p,
                   "outbox head", &e);
  }
  if (!r) return e;
  if (PQntuples(r) == 0) {
    e = jk_error_set(JK_ENOTFOUND, "no outbox head of %s", node);
  } else if (!jk__pg_copy(r, 0, 0, out->node, sizeof out->node, false) || !jk__pg_i64(r, 0, 1, &out->size) ||
             out->size < 0 || !jk__pg_bytea(r, 0, 2, out->root, 32) || !cell_time(r, 0, 3, out->at) ||
             !jk__pg_bytea(r, 0, 4, out->sig, 64)) {
    e = jk_error_set(JK_ECORRUPT, "outbox head %lld of %s is malformed", (long long)out->size, node);
  }
  PQclear(r);
  return e;
}

/* ---- holdings ---- */


static jk_err ps_holding_put(jk_store *base, const jk_holding_rec *h) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, h->code);
  jk__pg_text(&p, h->source);
  jk__pg_int(&p, h->seq);
  jk__pg_int(&p, h->version);
  jk__pg_text(&p, h->name);
  jk__pg_text(&p, h->kana);
  jk__pg_text(&p, h->address);
  jk__pg_opt(&p, h->prev_code);
  jk__pg_date(&p, h->birth);
  jk__pg_date(&p, h->moved_on);
  jk__pg_int(&p, (int)h->sex);
  jk__pg_int(&p, h->reason);
  jk__pg_int(&p, h->status);
  return jk__pg_do(s, SY_HOLD_PUT,
                   "INSERT INTO holding(" PG_HOLD_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
                   "ON CONFLICT (code, source) DO UPDATE SET seq = excluded.seq, version = excluded.version, "
                   "name = excluded.name, kana = excluded.kana, address = excluded.address, "
                   "prev_code = excluded.prev_code, birth = excluded.birth, moved_on = excluded.moved_on, "
                   "sex = excluded.sex, reason = excluded.reason, status = excluded.status",
                   &p, "holding", NULL);
}

jk_err jk__pg_read_holding(const PGresult *r, int i, jk_holding_rec *h) {
  int sex = 0;
  const char *field = NULL;
  memset(h, 0, sizeof *h);
  if (!jk__pg_copy(r, i, 0, h->code, sizeof h->code, false)) field = "code";
  else if (!jk__pg_copy(r, i, 1, h->source, sizeof h->source, false)) field = "source";
  else if (!jk__pg_i64(r, i, 2, &h->seq)) field = "seq";
  else if (!jk__pg_int32(r, i, 3, &h->version)) field = "version";
  else if (!jk__pg_copy(r, i, 4, h->name, sizeof h->name, false)) field = "name";
  else if (!jk__pg_copy(r, i, 5, h->kana, sizeof h->kana, false)) field = "kana";
  else if (!jk__pg_copy(r, i, 6, h->address, sizeof h->address, false)) field = "address";
  else if (!jk__pg_copy(r, i, 7, h->prev_code, sizeof h->prev_code, true)) field = "prev_code";
  else if (!jk__pg_date_col(r, i, 8, &h->birth, true)) field = "birth";
  else if (!jk__pg_date_col(r, i, 9, &h->moved_on, true)) field = "moved_on";
  else if (!jk__pg_int32(r, i, 10, &sex)) field = "sex";
  else if (!jk__pg_int32(r, i, 11, &h->reason)) field = "reason";
  else if (!jk__pg_int32(r, i, 12, &h->status)) field = "status";
  if (!field) {
    h->sex = (jk_sex)sex;
    if (jk__store_holding_ok(h, &field)) return JK_OK;
  }
  memset(h, 0, sizeof *h);
  return jk_error_set(JK_ECORRUPT, "a holding record is malformed (field %s)", field);
}

static jk_err ps_holding_get(jk_store *base, const char *code, const char *source, jk_holding_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, code);
  jk__pg_text(&p, source);
  PGresult *r = jk__pg_run(s, SY_HOLD_GET, "SELECT " PG_HOLD_COLS " FROM holding WHERE code = $1 AND source = $2", &p,
                           "holding", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "no holding record of %s from %s", code, source);
  else e = jk__pg_read_holding(r, 0, out);
  PQclear(r);
  return e;
}

static jk_err ps_holding_delete(jk_store *base, const char *code, const char *source) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_text(&p, code);
  jk__pg_text(&p, source);
  jk_err e = jk__pg_do(s, SY_HOLD_DEL, "DELETE FROM holding WHERE code = $1 AND source = $2", &p, "holding", &n);
  if (!e && n == 0) e = jk_error_set(JK_ENOTFOUND, "no holding record of %s from %s", code, source);
  return e;
}

/* Every holding, or those of one source, in keyset pages of (code, source); one code's rows
 * are few and come in one query. */
static jk_err ps_holding_each(jk_store *base, const char *code, const char *source, jk_holding_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[4] = {
      "SELECT " PG_HOLD_COLS " FROM holding WHERE (code, source) > ($1, $2) ORDER BY code, source LIMIT 4096",
      "SELECT " PG_HOLD_COLS " FROM holding WHERE code = $1 ORDER BY source",
      "SELECT " PG_HOLD_COLS " FROM holding WHERE source = $2 AND code > $1 ORDER BY code LIMIT 4096",
      "SELECT " PG_HOLD_COLS " FROM holding WHERE code = $1 AND source = $2",
  };
  int v = (code ? 1 : 0) | (source ? 2 : 0);
  char after_code[12] = "", after_source[64] = "";
  jk_err e = JK_OK;
  for (;;) {
    pg_params p = {0};
    jk__pg_text(&p, code ? code : after_code);
    if (v != 1) jk__pg_text(&p, source ? source : after_source);
    PGresult *r = jk__pg_run(s, SY_HOLD_EACH + v, sql[v], &p, "holding", &e);
    if (!r) return e;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
      jk_holding_rec h;
      if ((e = jk__pg_read_holding(r, i, &h))) break;
      memcpy(after_code, h.code, sizeof after_code);
      memcpy(after_source, h.source, sizeof after_source);
      if (cb(&h, payload)) {
        PQclear(r);
        return JK_OK;
      }
    }
    PQclear(r);
    if (e || code || n < PAGE) return e;
  }
}

static jk_err ps_holding_count(jk_store *base, const char *source, int status, int64_t *out) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[4] = {
      "SELECT count(*) FROM holding",
      "SELECT count(*) FROM holding WHERE source = $1",
      "SELECT count(*) FROM holding WHERE status = $1",
      "SELECT count(*) FROM holding WHERE source = $1 AND status = $2",
  };
  int v = (source ? 1 : 0) | (status ? 2 : 0);
  pg_params p = {0};
  bool found = false;
  if (source) jk__pg_text(&p, source);
  if (status) jk__pg_int(&p, status);
  jk_err e = one_i64(s, SY_HOLD_COUNT + v, sql[v], &p, "holding", out, &found);
  if (!e && !found) e = jk_error_set(JK_ECORRUPT, "database (%s): %s", "holding", "no row");
  return e;
}

/* ---- several rows at once ----
 * One multi-row statement per chunk of rows, the columns sent as arrays and unnested by the
 * server: INSERT … SELECT * FROM unnest($1::text[], $2::bigint[], …). The arrays go in
 * PostgreSQL's binary array format (array_recv), so no value is ever quoted or escaped: a name
 * with quotes, backslashes, commas or braces arrives byte for byte, as does any encoding. */

#define MANY_CHUNK 2000     /* rows per write statement */
#define CODES_CHUNK 4096    /* codes per read statement */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

/* One array parameter being built: the 20-byte header (one dimension) is filled in by
 * arr_param, elements are appended as a 4-byte length (-1 = NULL) and the bytes. */
typedef struct pg_array {
  jk_buf b;
  uint32_t oid;
  uint32_t n;
  bool nulls;
} pg_array;

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static jk_err arr_reset(pg_array *a, uint32_t oid) {
  static const uint8_t header[20];
  jk_buf_reset(&a->b);
  a->oid = oid;
  a->n = 0;
  a->nulls = false;
  return jk_buf_append(&a->b, header, sizeof header);
}

/* An element of len bytes; v NULL = SQL NULL. */
static jk_err arr_add(pg_array *a, const void *v, size_t len) {
  uint8_t l[4];
  put32(l, v ? (uint32_t)len : UINT32_MAX);
  jk_err e = jk_buf_append(&a->b, l, 4);
  if (!e && v) e = jk_buf_append(&a->b, v, len);
  if (!e) a->n++;
  if (!v) a->nulls = true;
  return e;
}

static jk_err arr_text(pg_array *a, const char *v) { return arr_add(a, v, v ? strlen(v) : 0); }

static jk_err arr_i64(pg_array *a, int64_t v) {
  uint8_t b[8];
  put32(b, (uint32_t)((uint64_t)v >> 32));
  put32(b + 4, (uint32_t)v);
  return arr_add(a, b, 8);
}

static jk_err arr_i32(pg_array *a, int32_t v) {
  uint8_t b[4];
  put32(b, (uint32_t)v);
  return arr_add(a, b, 4);
}

/* ISO date; a zero date is NULL. */
static jk_err arr_date(pg_array *a, jk_date d) {
  char iso[11];
  if (!d.y) return arr_add(a, NULL, 0);
  jk_date_format_iso(d, iso);
  return arr_add(a, iso, 10);
}

/* Fill in the header and add the array as a binary parameter. */
static jk_err arr_param(pg_array *a, pg_params *p) {
  uint8_t *h = (uint8_t *)a->b.data;
  if (a->b.len > INT32_MAX) return jk_error_set(JK_ETOOLARGE, NULL);
  put32(h, 1);            /* dimensions */
  put32(h + 4, a->nulls); /* has nulls */
  put32(h + 8, a->oid);
  put32(h + 12, a->n);    /* elements */
  put32(h + 16, 1);       /* lower bound */
  jk__pg_bytes(p, a->b.data, (int)a->b.len);
  return JK_OK;
}

static void arr_free(pg_array *a, size_t n) {
  for (size_t i = 0; i < n; i++) jk_buf_free(&a[i].b);
}

/* Run a many-row write whose parameters are arrays a[0 .. na), checking it wrote `want` rows. */
static jk_err run_many(pg_store *s, int slot, const char *sql, pg_array *a, int na, const char *what, int64_t want) {
  pg_params p = {0};
  jk_err e = JK_OK;
  for (int i = 0; i < na && !e; i++) e = arr_param(&a[i], &p);
  int64_t n = 0;
  if (!e) e = jk__pg_do(s, slot, sql, &p, what, &n);
  if (!e && n != want) e = jk_error_set(JK_EIO, "database (%s): %s", what, "row not written");
  return e;
}

static jk_err ps_notice_append_many(jk_store *base, const jk_notice_row *rows, size_t n) {
  pg_store *s = (pg_store *)base;
  static const uint32_t oids[5] = {OID_TEXT, OID_INT8, OID_TEXT, OID_BYTEA, OID_BYTEA};
  pg_array a[5] = {0};
  jk_err e = JK_OK;
  for (size_t at = 0; at < n && !e; at += MANY_CHUNK) {
    size_t m = n - at < MANY_CHUNK ? n - at : MANY_CHUNK;
    for (int k = 0; k < 5 && !e; k++) e = arr_reset(&a[k], oids[k]);
    for (size_t i = at; i < at + m && !e; i++) {
      const jk_notice_row *r = &rows[i];
      if ((e = arr_text(&a[0], r->source)) || (e = arr_i64(&a[1], r->seq)) || (e = arr_add(&a[2], r->code, 11)) ||
          (e = arr_add(&a[3], r->enc, r->enc_len)) || (e = arr_add(&a[4], r->leaf, 32)))
        break;
    }
    if (!e)
      e = run_many(s, SY_APPEND_MANY,
                   "INSERT INTO notice_log(" NOTICE_COLS ") SELECT * FROM unnest($1::text[], $2::bigint[], "
                   "$3::text[], $4::bytea[], $5::bytea[])",
                   a, 5, "notice append", (int64_t)m);
  }
  arr_free(a, 5);
  return e;
}

/* Records by (code, source), then by position: the last of each key is the one to write. */
typedef struct hold_ref {
  const jk_holding_rec *r;
  size_t i;
} hold_ref;

static int hold_ref_cmp(const void *a, const void *b) {
  const hold_ref *x = a, *y = b;
  int c = strcmp(x->r->code, y->r->code);
  if (!c) c = strcmp(x->r->source, y->r->source);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* One upsert cannot touch a row twice (SQLSTATE 21000): the records are reduced to the last
 * of each (code, source) first, which leaves the same rows as upserting them all in order. */
static jk_err ps_holding_put_many(jk_store *base, const jk_holding_rec *recs, size_t n) {
  pg_store *s = (pg_store *)base;
  static const uint32_t oids[13] = {OID_TEXT, OID_TEXT, OID_INT8, OID_INT4, OID_TEXT, OID_TEXT, OID_TEXT,
                                    OID_TEXT, OID_TEXT, OID_TEXT, OID_INT4, OID_INT4, OID_INT4};
  hold_ref *refs = jk_malloc(n * sizeof *refs);
  if (!refs) return jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < n; i++) refs[i] = (hold_ref){&recs[i], i};
  qsort(refs, n, sizeof *refs, hold_ref_cmp);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    bool last = i + 1 == n || strcmp(refs[i].r->code, refs[i + 1].r->code) != 0 ||
                strcmp(refs[i].r->source, refs[i + 1].r->source) != 0;
    if (last) refs[m++] = refs[i];
  }
  pg_array a[13] = {0};
  jk_err e = JK_OK;
  for (size_t at = 0; at < m && !e; at += MANY_CHUNK) {
    size_t c = m - at < MANY_CHUNK ? m - at : MANY_CHUNK;
    for (int k = 0; k < 13 && !e; k++) e = arr_reset(&a[k], oids[k]);
    for (size_t i = at; i < at + c && !e; i++) {
      const jk_holding_rec *h = refs[i].r;
      if ((e = arr_text(&a[0], h->code)) || (e = arr_text(&a[1], h->source)) || (e = arr_i64(&a[2], h->seq)) ||
          (e = arr_i32(&a[3], h->version)) || (e = arr_text(&a[4], h->name)) || (e = arr_text(&a[5], h->kana)) ||
          (e = arr_text(&a[6], h->address)) || (e = arr_text(&a[7], h->prev_code[0] ? h->prev_code : NULL)) ||
          (e = arr_date(&a[8], h->birth)) || (e = arr_date(&a[9], h->moved_on)) ||
          (e = arr_i32(&a[10], (int32_t)h->sex)) || (e = arr_i32(&a[11], h->reason)) ||
          (e = arr_i32(&a[12], h->status)))
        break;
    }
    if (!e)
      e = run_many(s, SY_HOLD_PUT_MANY,
                   "INSERT INTO holding(" PG_HOLD_COLS ") SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
                   "$4::integer[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], "
                   "$11::integer[], $12::integer[], $13::integer[]) "
                   "ON CONFLICT (code, source) DO UPDATE SET seq = excluded.seq, version = excluded.version, "
                   "name = excluded.name, kana = excluded.kana, address = excluded.address, "
                   "prev_code = excluded.prev_code, birth = excluded.birth, moved_on = excluded.moved_on, "
                   "sex = excluded.sex, reason = excluded.reason, status = excluded.status",
                   a, 13, "holding", (int64_t)c);
  }
  arr_free(a, 13);
  jk_free(refs);
  return e;
}

/* The codes come sorted and distinct: chunks of them give the rows in (code, source) order. */
static jk_err ps_holding_get_codes(jk_store *base, const char *const *codes, size_t n, jk_holding_cb cb,
                                   void *payload) {
  pg_store *s = (pg_store *)base;
  pg_array a = {0};
  jk_err e = JK_OK;
  bool stop = false;
  for (size_t at = 0; at < n && !e && !stop; at += CODES_CHUNK) {
    size_t c = n - at < CODES_CHUNK ? n - at : CODES_CHUNK;
    e = arr_reset(&a, OID_TEXT);
    for (size_t i = at; i < at + c && !e; i++) e = arr_add(&a, codes[i], 11);
    pg_params p = {0};
    if (!e) e = arr_param(&a, &p);
    PGresult *r = e ? NULL
                    : jk__pg_run(s, SY_HOLD_CODES,
                                 "SELECT " PG_HOLD_COLS " FROM holding WHERE code = ANY($1::text[]) ORDER BY code, source",
                                 &p, "holding", &e);
    for (int i = 0; r && i < PQntuples(r) && !stop; i++) {
      jk_holding_rec h;
      if ((e = jk__pg_read_holding(r, i, &h))) break;
      stop = cb(&h, payload) != 0;
    }
    PQclear(r);
  }
  jk_buf_free(&a.b);
  return e;
}

/* ---- peers ---- */

static jk_err ps_peer_put(jk_store *base, const jk_peer_rec *pr) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, pr->node);
  jk__pg_text(&p, pr->lgcode);
  jk__pg_text(&p, pr->role);
  jk__pg_bytes(&p, pr->pubkey, 32);
  jk__pg_text(&p, pr->cert_pem);
  jk__pg_text(&p, pr->seen_at);
  return jk__pg_do(s, SY_PEER_PUT,
                   "INSERT INTO peer(node, lgcode, role, pubkey, cert_pem, seen_at) VALUES ($1, $2, $3, $4, $5, $6) "
                   "ON CONFLICT (node) DO UPDATE SET lgcode = excluded.lgcode, role = excluded.role, "
                   "pubkey = excluded.pubkey, cert_pem = excluded.cert_pem, seen_at = excluded.seen_at",
                   &p, "peer", NULL);
}

static jk_err ps_peer_get(jk_store *base, const char *node, jk_peer_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  jk__pg_text(&p, node);
  PGresult *r = jk__pg_run(s, SY_PEER_GET, "SELECT node, lgcode, role, pubkey, cert_pem, seen_at FROM peer WHERE node = $1",
                           &p, "peer", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return jk_error_set(JK_ENOTFOUND, "peer %s is not known", node);
  }
  const char *field = NULL;
  const char *pem = jk__pg_str(r, 0, 4);
  size_t pem_n = pem ? (size_t)PQgetlength(r, 0, 4) : 0;
  if (!jk__pg_copy(r, 0, 0, out->node, sizeof out->node, false)) field = "node";
  else if (!jk__pg_copy(r, 0, 1, out->lgcode, sizeof out->lgcode, false)) field = "lgcode";
  else if (!jk__pg_copy(r, 0, 2, out->role, sizeof out->role, false)) field = "role";
  else if (!jk__pg_bytea(r, 0, 3, out->pubkey, 32)) field = "pubkey";
  else if (!jk__pg_copy(r, 0, 5, out->seen_at, sizeof out->seen_at, false)) field = "seen_at";
  else if (!pem || pem_n < 1 || pem_n > JK__PEER_CERT_MAX || memchr(pem, '\0', pem_n) || !jk_utf8_valid(pem, pem_n))
    field = "cert_pem";
  else if (jk__store_peer_ok(out, &field) && !(out->cert_pem = jk_strndup(pem, pem_n)))
    e = jk_error_set(JK_ENOMEM, NULL);
  if (field) {
    memset(out, 0, sizeof *out);
    e = jk_error_set(JK_ECORRUPT, "peer %s is malformed (field %s)", node, field);
  }
  PQclear(r);
  return e;
}

/* ---- acknowledgements and receipts ---- */

static jk_err ps_ack_put(jk_store *base, const char *sender, int64_t size, const uint8_t root[32], const char *at) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, sender);
  jk__pg_int(&p, size);
  jk__pg_bytes(&p, root, 32);
  jk__pg_text(&p, at);
  return jk__pg_do(s, SY_ACK_PUT,
                   "INSERT INTO sync_ack(sender, size, root, at) VALUES ($1, $2, $3, $4) ON CONFLICT (sender) DO "
                   "UPDATE SET size = excluded.size, root = excluded.root, at = excluded.at",
                   &p, "acknowledgement", NULL);
}

static jk_err ps_ack_get(jk_store *base, const char *sender, int64_t *size, uint8_t root[32]) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, sender);
  PGresult *r = jk__pg_run(s, SY_ACK_GET, "SELECT size, root FROM sync_ack WHERE sender = $1", &p, "acknowledgement", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "no ledger head of %s has been acknowledged", sender);
  else if (!jk__pg_i64(r, 0, 0, size) || *size < 0 || !jk__pg_bytea(r, 0, 1, root, 32))
    e = jk_error_set(JK_ECORRUPT, "the acknowledgement for %s is malformed", sender);
  PQclear(r);
  return e;
}

#define RCPT_COLS "receiver, source, sender, highest_seq, ledger_size, ledger_root, at, sig"

static jk_err ps_receipt_put(jk_store *base, const jk_receipt_row *rc) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, rc->receiver);
  jk__pg_text(&p, rc->source);
  jk__pg_text(&p, rc->sender);
  jk__pg_int(&p, rc->highest_seq);
  jk__pg_int(&p, rc->ledger_size);
  jk__pg_bytes(&p, rc->ledger_root, 32);
  jk__pg_text(&p, rc->at);
  jk__pg_bytes(&p, rc->sig, 64);
  return jk__pg_do(s, SY_RCPT_PUT,
                   "INSERT INTO receipt(" RCPT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (receiver, "
                   "source) DO UPDATE SET sender = excluded.sender, highest_seq = excluded.highest_seq, "
                   "ledger_size = excluded.ledger_size, ledger_root = excluded.ledger_root, at = excluded.at, "
                   "sig = excluded.sig",
                   &p, "receipt", NULL);
}

/* The first row of r into out; JK_ENOTFOUND when none. Clears r. */
static jk_err read_receipt(PGresult *r, jk_receipt_row *out, const char *receiver, const char *source) {
  jk_err e = JK_OK;
  memset(out, 0, sizeof *out);
  if (PQntuples(r) == 0) {
    e = source ? jk_error_set(JK_ENOTFOUND, "no receipt from %s for %s", receiver, source)
               : jk_error_set(JK_ENOTFOUND, "no receipt from %s", receiver);
  } else if (!cell_node(r, 0, 0) || !jk__pg_copy(r, 0, 0, out->receiver, sizeof out->receiver, false) ||
             !cell_node(r, 0, 1) || !jk__pg_copy(r, 0, 1, out->source, sizeof out->source, false) ||
             !cell_node(r, 0, 2) || !jk__pg_copy(r, 0, 2, out->sender, sizeof out->sender, false) ||
             !jk__pg_i64(r, 0, 3, &out->highest_seq) || out->highest_seq < 0 ||
             !jk__pg_i64(r, 0, 4, &out->ledger_size) || out->ledger_size < 0 ||
             !jk__pg_bytea(r, 0, 5, out->ledger_root, 32) || !cell_time(r, 0, 6, out->at) ||
             !jk__pg_bytea(r, 0, 7, out->sig, 64)) {
    memset(out, 0, sizeof *out);
    e = jk_error_set(JK_ECORRUPT, "a receipt from %s is malformed", receiver);
  }
  PQclear(r);
  return e;
}

static jk_err ps_receipt_get(jk_store *base, const char *receiver, const char *source, jk_receipt_row *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, receiver);
  jk__pg_text(&p, source);
  PGresult *r = jk__pg_run(s, SY_RCPT_GET, "SELECT " RCPT_COLS " FROM receipt WHERE receiver = $1 AND source = $2", &p,
                           "receipt", &e);
  return r ? read_receipt(r, out, receiver, source) : e;
}

static jk_err ps_receipt_latest(jk_store *base, const char *receiver, jk_receipt_row *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, receiver);
  PGresult *r = jk__pg_run(s, SY_RCPT_LATEST,
                           "SELECT " RCPT_COLS " FROM receipt WHERE receiver = $1 ORDER BY at DESC, ledger_size DESC "
                           "LIMIT 1",
                           &p, "receipt", &e);
  return r ? read_receipt(r, out, receiver, NULL) : e;
}

void jk__pg_sync_ops(struct jk__store_ops *ops) {
  ops->notice_append = ps_notice_append;
  ops->notice_size = ps_notice_size;
  ops->notice_each = ps_notice_each;
  ops->notice_leaves = ps_notice_leaves;
  ops->notice_by_code = ps_notice_by_code;
  ops->notice_scrub = ps_notice_scrub;
  ops->notice_scrub_one = ps_notice_scrub_one;
  ops->notice_sources = ps_notice_sources;
  ops->notice_subtree_put = ps_subtree_put;
  ops->notice_subtree_get = ps_subtree_get;
  ops->outbox_head_put = ps_head_put;
  ops->outbox_head_find = ps_head_find;
  ops->holding_put = ps_holding_put;
  ops->holding_get = ps_holding_get;
  ops->holding_delete = ps_holding_delete;
  ops->holding_each = ps_holding_each;
  ops->holding_count = ps_holding_count;
  ops->notice_append_many = ps_notice_append_many;
  ops->holding_put_many = ps_holding_put_many;
  ops->holding_get_codes = ps_holding_get_codes;
  ops->peer_put = ps_peer_put;
  ops->peer_get = ps_peer_get;
  ops->sync_ack_put = ps_ack_put;
  ops->sync_ack_get = ps_ack_get;
  ops->receipt_put = ps_receipt_put;
  ops->receipt_get = ps_receipt_get;
  ops->receipt_latest = ps_receipt_latest;
}
