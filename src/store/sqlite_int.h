/*
 * sqlite_int.h — the SQLite backend's handle and helpers, shared by its files (private to
 * src/store): sqlite.c (lifecycle, meta, residents), sqlite_ledger.c, sqlite_auth.c,
 * sqlite_sync.c.
 *
 * Statements are prepared once per handle and cached: sqlite.c's own in stmt[], the other
 * files' in xstmt[] by a slot number each file reserves (see SQ_SLOT_* below).
 */
#ifndef JK_STORE_SQLITE_INT_H
#define JK_STORE_SQLITE_INT_H

#include "store/store_int.h"

#include <sqlite3.h>

#define MAX_DEFERRED_INDEXES 16
#define SQ_STMT_MAX 32
#define SQ_XSTMT_MAX 144
#define SQ_SLOT_LEDGER 0 /* sqlite_ledger.c: slots 0..31 */
#define SQ_SLOT_AUTH 32  /* sqlite_auth.c: slots 32..95 */
#define SQ_SLOT_SYNC 96  /* sqlite_sync.c: slots 96..143 */

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

/* Ops tables filled by sqlite_ledger.c, sqlite_auth.c and sqlite_sync.c. */
void jk__sq_ledger_ops(struct jk__store_ops *ops);
void jk__sq_auth_ops(struct jk__store_ops *ops);
void jk__sq_sync_ops(struct jk__store_ops *ops);

#endif
