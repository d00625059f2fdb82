/*
 * sqlite_int.h — the SQLite backend's handle and helpers, shared by its files (private to
 * src/store): sqlite.c (lifecycle, meta, residents), sqlite_ledger.c, sqlite_auth.c,
 * sqlite_sync.c, sqlite_provision.c.
 *
 * Statements are prepared once per handle and cached: sqlite.c's own in stmt[], the other
 * files' in xstmt[] by a slot number each file reserves (see SQ_SLOT_* below).
 */
#ifndef JK_STORE_SQLITE_INT_H
#define JK_STORE_SQLITE_INT_H

#include "store/store_int.h"

#include "jukinet/text.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEFERRED_INDEXES 16
#define SQ_STMT_MAX 32
#define SQ_XSTMT_MAX 192
#define SQ_SLOT_LEDGER 0 /* sqlite_ledger.c: slots 0..31 */
#define SQ_SLOT_AUTH 32  /* sqlite_auth.c: slots 32..95 */
#define SQ_SLOT_SYNC 96  /* sqlite_sync.c: slots 96..143 */
#define SQ_SLOT_PROVISION 144 /* sqlite_provision.c: slots 144..191 */

typedef struct sq_store {
  struct jk_store base;
  sqlite3 *db;
  sqlite3_stmt *stmt[SQ_STMT_MAX];
  sqlite3_stmt *xstmt[SQ_XSTMT_MAX];
  int version;
  char *deferred[MAX_DEFERRED_INDEXES]; /* CREATE INDEX statements dropped by bulk_begin */
  int ndeferred;
  bool no_retired; /* during a bulk load: retired_code is empty, skip the probes */
} sq_store;

/* Translate a SQLite result code into a jk_err with a message naming `what`. */
jk_err jk__sq_error(sq_store *s, int rc, const char *what);
/* The cached statement in `slot` (prepared from sql on first use); NULL on failure. */
sqlite3_stmt *jk__sq_stmt(sq_store *s, int slot, const char *sql);
/* Step a statement that returns no rows, then ready it for reuse. */
jk_err jk__sq_step_done(sq_store *s, sqlite3_stmt *q, const char *what);

/* "YYYY-MM-DD" read back from the database, checked (n is its length in bytes). */
bool jk__sq_parse_iso(const unsigned char *t, int n, jk_date *out);

/* The holding columns in the order jk__sq_read_holding reads them (sqlite_sync.c). */
#define SQ_HOLD_COLS "code, source, seq, version, name, kana, address, prev_code, birth, moved_on, sex, reason, status"
/* The current row of a statement that selected SQ_HOLD_COLS, checked (JK_ECORRUPT naming the
 * field; *r zeroed then). */
jk_err jk__sq_read_holding(sqlite3_stmt *q, jk_holding_rec *r);

/* Ready a cached statement for its next use. */
static inline void finish(sqlite3_stmt *q) {
  sqlite3_reset(q);
  sqlite3_clear_bindings(q);
}

#define db_error jk__sq_error

/* Declare `var` as the cached statement of slot/sql, or return the translated error. */
#define XPREP(var, s, slot, sql)                                                                     \
  sqlite3_stmt *var = jk__sq_stmt((s), (slot), (sql));                                               \
  if (!var) return db_error((s), sqlite3_errcode((s)->db), "prepare")

/* Ops tables filled by sqlite_ledger.c, sqlite_auth.c, sqlite_sync.c and sqlite_provision.c. */
void jk__sq_ledger_ops(struct jk__store_ops *ops);
void jk__sq_auth_ops(struct jk__store_ops *ops);
void jk__sq_sync_ops(struct jk__store_ops *ops);
void jk__sq_provision_ops(struct jk__store_ops *ops);

/* Typed, validated reads of a result column (sqlite_sync.c, sqlite_provision.c). */
static inline bool col_i64(sqlite3_stmt *q, int i, int64_t *out) {
  if (sqlite3_column_type(q, i) != SQLITE_INTEGER) return false;
  *out = sqlite3_column_int64(q, i);
  return true;
}

static inline bool col_int(sqlite3_stmt *q, int i, int *out) {
  int64_t v;
  if (!col_i64(q, i, &v) || v < INT32_MIN || v > INT32_MAX) return false;
  *out = (int)v;
  return true;
}

/* Text into dst (cap bytes incl. NUL): present (or NULL → "" when optional), fits, valid
 * UTF-8, no NUL inside. */
static inline bool col_copy(sqlite3_stmt *q, int i, char *dst, size_t cap, bool optional) {
  const unsigned char *v = sqlite3_column_text(q, i);
  dst[0] = '\0';
  if (!v) return optional && sqlite3_column_type(q, i) == SQLITE_NULL;
  size_t n = (size_t)sqlite3_column_bytes(q, i);
  if (n >= cap || memchr(v, '\0', n) || !jk_utf8_valid((const char *)v, n)) return false;
  memcpy(dst, v, n);
  dst[n] = '\0';
  return true;
}

#endif
