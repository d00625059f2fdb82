/*
 * pg_int.h — the PostgreSQL backend's handle and helpers, shared by its files (private to
 * src/store): pg.c (connection, migrations, transactions, meta, residents), pg_ledger.c,
 * pg_auth.c, pg_sync.c, pg_provision.c. The schema is sql/pg/NNNN_name.sql, the same logical
 * schema as sql/sqlite/.
 *
 * Invariants (the same contract as the SQLite backend, see sqlite.c):
 *  - A write transaction is BEGIN + pg_advisory_xact_lock(schema): one writer per schema at a
 *    time, as SQLite's BEGIN IMMEDIATE, so the ledger's contiguity check holds. The lock waits
 *    lock_timeout = 5 s, then JK_EBUSY. synchronous_commit = on: COMMIT returns once durable.
 *  - Statements are prepared once per connection (PQprepare, named "jk<slot>"); parameters are
 *    text, hashes are binary bytea; results are text and every value is validated on the way
 *    back (JK_ECORRUPT): a database may be edited by hand.
 *  - libpq results and SQLSTATEs never leave these files: jk__pg_error translates them, and
 *    messages never contain the conninfo (it may hold a password).
 *  - PostgreSQL aborts a whole transaction on any error, SQLite only the statement: the calls
 *    that may fail in an expected way (a taken code, staff id or card key) are written with
 *    ON CONFLICT DO NOTHING or a NOT EXISTS condition, so a caller that goes on after
 *    JK_EEXISTS still commits its earlier writes, as on SQLite.
 */
#ifndef JK_STORE_PG_INT_H
#define JK_STORE_PG_INT_H

#include "store/store_int.h"

#include <libpq-fe.h>

#define PG_STMT_MAX 224
#define PG_SLOT_MAIN 0    /* pg.c: slots 0..31 */
#define PG_SLOT_LEDGER 32 /* pg_ledger.c: slots 32..63 */
#define PG_SLOT_AUTH 64   /* pg_auth.c: slots 64..127 */
#define PG_SLOT_SYNC 128  /* pg_sync.c: slots 128..175 */
#define PG_SLOT_PROVISION 176 /* pg_provision.c: slots 176..223 */
#define PG_PARAM_MAX 20

typedef struct pg_store {
  struct jk_store base;
  PGconn *conn;
  int version;
  bool readonly;
  bool prepared[PG_STMT_MAX];
  char sqlstate[6];    /* of the last failed statement ("" when none) */
} pg_store;

/* Parameters of one statement: text (NULL = SQL NULL), integers as text, bytes as binary. */
typedef struct pg_params {
  int n;
  const char *v[PG_PARAM_MAX];
  int len[PG_PARAM_MAX];
  int fmt[PG_PARAM_MAX];
  char num[PG_PARAM_MAX][24];
} pg_params;

jk_err jk__pg_open(jk_store **out, const char *conninfo, unsigned flags, int max_version);

void jk__pg_text(pg_params *p, const char *v);
/* "" becomes NULL (optional text columns). */
void jk__pg_opt(pg_params *p, const char *v);
void jk__pg_int(pg_params *p, int64_t v);
void jk__pg_bytes(pg_params *p, const void *v, int len);
/* ISO date; d.y == 0 gives NULL. */
void jk__pg_date(pg_params *p, jk_date d);

/* Run the statement of `slot` (prepared on first use; slot < 0: unprepared, for SQL built per
 * call). Returns the result (caller PQclear()s) or NULL with *err set, s->sqlstate filled. */
PGresult *jk__pg_run(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, jk_err *err);
/* Run a statement that returns no rows; *changed (may be NULL) = rows affected. */
jk_err jk__pg_do(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, int64_t *changed);
/* Translate a failed result (or a connection failure when r is NULL) into a jk_err. */
jk_err jk__pg_error(pg_store *s, const PGresult *r, const char *what);

/* Typed, validated reads of a text-format result cell. */
bool jk__pg_i64(const PGresult *r, int row, int col, int64_t *out);
bool jk__pg_int32(const PGresult *r, int row, int col, int *out);
/* The value, or NULL when SQL NULL. */
const char *jk__pg_str(const PGresult *r, int row, int col);
/* A bytea cell of exactly n bytes. */
bool jk__pg_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t n);
/* Copy into dst (cap bytes incl. NUL); NULL gives "" when optional; too long fails. */
bool jk__pg_copy(const PGresult *r, int row, int col, char *dst, size_t cap, bool optional);
/* An ISO date cell; NULL gives a zero date when optional. */
bool jk__pg_date_col(const PGresult *r, int row, int col, jk_date *out, bool optional);

/* The holding columns in the order jk__pg_read_holding reads them (pg_sync.c). */
#define PG_HOLD_COLS "code, source, seq, version, name, kana, address, prev_code, birth, moved_on, sex, reason, status"
/* Row i of a result that selected PG_HOLD_COLS, checked (JK_ECORRUPT naming the field; *h
 * zeroed then). */
jk_err jk__pg_read_holding(const PGresult *r, int i, jk_holding_rec *h);

/* Ops tables filled by pg_ledger.c, pg_auth.c, pg_sync.c and pg_provision.c. */
void jk__pg_ledger_ops(struct jk__store_ops *ops);
void jk__pg_auth_ops(struct jk__store_ops *ops);
void jk__pg_sync_ops(struct jk__store_ops *ops);
void jk__pg_provision_ops(struct jk__store_ops *ops);

#endif
