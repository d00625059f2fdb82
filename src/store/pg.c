/*
 * pg.c — the PostgreSQL backend of jk_store (a prefecture or national node; DESIGN.md §3).
 *
 * Location: "postgresql:<libpq conninfo>" or "postgres:<conninfo>", or a URI
 * "postgresql://…". The database must exist; JK_STORE_CREATE creates the tables (the schema
 * migrations, sql/pg/) in the connection's current schema (the first of search_path), and
 * without it a database with no jukinet tables is JK_ENOTFOUND. JK_STORE_READONLY makes every
 * transaction READ ONLY and skips migrations.
 *
 * This file: connection, migrations, transactions, the shared helpers of pg_int.h, meta,
 * households, codes and residents. Invariants: pg_int.h.
 */
#include "store/migrations.h"
#include "store/pg_int.h"

#include "jukinet/buf.h"
#include "jukinet/text.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

static char *slot_num(pg_params *p) { return p->num[p->n]; }

void jk__pg_text(pg_params *p, const char *v) {
  if (p->n >= PG_PARAM_MAX) return;
  p->v[p->n] = v;
  p->len[p->n] = 0;
  p->fmt[p->n] = 0;
  p->n++;
}

void jk__pg_opt(pg_params *p, const char *v) { jk__pg_text(p, v && *v ? v : NULL); }

void jk__pg_int(pg_params *p, int64_t v) {
  if (p->n >= PG_PARAM_MAX) return;
  char *b = slot_num(p);
  snprintf(b, sizeof p->num[0], "%lld", (long long)v);
  jk__pg_text(p, b);
}

void jk__pg_bytes(pg_params *p, const void *v, int len) {
  if (p->n >= PG_PARAM_MAX) return;
  p->v[p->n] = v;
  p->len[p->n] = len;
  p->fmt[p->n] = 1;
  p->n++;
}

void jk__pg_date(pg_params *p, jk_date d) {
  if (p->n >= PG_PARAM_MAX) return;
  if (!d.y) {
    jk__pg_text(p, NULL);
    return;
  }
  char *b = slot_num(p);
  jk_date_format_iso(d, b);
  jk__pg_text(p, b);
}

/* ---- errors ---- */

static bool state_is(const char *st, const char *want) { return st && strncmp(st, want, strlen(want)) == 0; }

jk_err jk__pg_error(pg_store *s, const PGresult *r, const char *what) {
  const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char buf[256];
  if (s) snprintf(s->sqlstate, sizeof s->sqlstate, "%s", st ? st : "");
  if (!msg) {
    /* a connection-level failure: libpq's message names the server, never the password */
    snprintf(buf, sizeof buf, "%s", s && s->conn ? PQerrorMessage(s->conn) : "no connection");
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = '\0';
    msg = buf;
  }
  jk_err code = JK_EIO;
  if (!st) code = JK_EIO;
  else if (state_is(st, "53200")) return jk_error_set(JK_ENOMEM, NULL);
  else if (state_is(st, "23")) code = JK_ECONFLICT; /* constraints and the append-only triggers */
  else if (state_is(st, "55P03") || state_is(st, "40") || state_is(st, "57014")) code = JK_EBUSY;
  else if (state_is(st, "XX001") || state_is(st, "XX002")) code = JK_ECORRUPT;
  else if (state_is(st, "22021") || state_is(st, "22P02")) code = JK_EINVAL;
  else if (state_is(st, "54") || state_is(st, "22001")) code = JK_ETOOLARGE;
  return jk_error_set(code, "database (%s): %s", what, msg);
}

/* ---- statements ---- */

PGresult *jk__pg_run(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, jk_err *err) {
  static const pg_params none;
  PGresult *r;
  if (!p) p = &none;
  s->sqlstate[0] = '\0';
  if (slot >= PG_STMT_MAX) {
    *err = jk_error_set(JK_EINVAL, "database (%s): %s", what, "statement slot out of range");
    return NULL;
  }
  if (slot >= 0) {
    char name[16];
    snprintf(name, sizeof name, "jk%d", slot);
    if (!s->prepared[slot]) {
      r = PQprepare(s->conn, name, sql, p->n, NULL);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *err = jk__pg_error(s, r, what);
        PQclear(r);
        return NULL;
      }
      PQclear(r);
      s->prepared[slot] = true;
    }
    r = PQexecPrepared(s->conn, name, p->n, p->v, p->len, p->fmt, 0);
  } else {
    r = PQexecParams(s->conn, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
  }
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  *err = jk__pg_error(s, r, what);
  PQclear(r);
  return NULL;
}

jk_err jk__pg_do(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, int64_t *changed) {
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, slot, sql, p, what, &e);
  if (!r) return e;
  if (changed) {
    const char *t = PQcmdTuples(r);
    *changed = t && *t ? strtoll(t, NULL, 10) : 0;
  }
  PQclear(r);
  return JK_OK;
}

/* A simple-protocol command whose result is ignored (savepoints, rollback). */
static bool simple(pg_store *s, const char *sql) {
  PGresult *r = PQexec(s->conn, sql);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

/* ---- reading results ---- */

const char *jk__pg_str(const PGresult *r, int row, int col) {
  if (row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col)) return NULL;
  return PQgetvalue(r, row, col);
}

bool jk__pg_i64(const PGresult *r, int row, int col, int64_t *out) {
  const char *v = jk__pg_str(r, row, col);
  if (!v || !*v) return false;
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || *end) return false;
  *out = (int64_t)n;
  return true;
}

bool jk__pg_int32(const PGresult *r, int row, int col, int *out) {
  int64_t v;
  if (!jk__pg_i64(r, row, col, &v) || v < -2147483647 - 1 || v > 2147483647) return false;
  *out = (int)v;
  return true;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool jk__pg_bytea(const PGresult *r, int row, int col, uint8_t *out, size_t n) {
  const char *v = jk__pg_str(r, row, col);
  /* bytea_output = hex (set at connect): "\x" then two digits per byte */
  if (!v || v[0] != '\\' || v[1] != 'x' || strlen(v) != 2 + 2 * n) return false;
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

bool jk__pg_copy(const PGresult *r, int row, int col, char *dst, size_t cap, bool optional) {
  const char *v = jk__pg_str(r, row, col);
  if (!v) {
    dst[0] = '\0';
    return optional;
  }
  size_t n = (size_t)PQgetlength(r, row, col);
  if (n >= cap || memchr(v, '\0', n) || !jk_utf8_valid(v, n)) return false;
  memcpy(dst, v, n);
  dst[n] = '\0';
  return true;
}

bool jk__pg_date_col(const PGresult *r, int row, int col, jk_date *out, bool optional) {
  const char *v = jk__pg_str(r, row, col);
  memset(out, 0, sizeof *out);
  if (!v) return optional;
  if (PQgetlength(r, row, col) != 10 || v[4] != '-' || v[7] != '-') return false;
  int d[8], k = 0;
  for (int i = 0; i < 10; i++) {
    if (i == 4 || i == 7) continue;
    if (v[i] < '0' || v[i] > '9') return false;
    d[k++] = v[i] - '0';
  }
  out->y = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
  out->m = d[4] * 10 + d[5];
  out->d = d[6] * 10 + d[7];
  return jk_date_valid(*out);
}

/* ---- lifecycle and migrations ---- */

/* Every transaction of a handle takes this lock first: one writer per schema (pg_int.h). */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(7410, hashtext(current_schema()))"

static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static void pg_close(jk_store *base) {
  pg_store *s = (pg_store *)base;
  if (!s) return;
  if (s->conn) PQfinish(s->conn);
  jk_free(s);
}

static int pg_schema_version(jk_store *base) { return ((pg_store *)base)->version; }

/* *exists: whether schema_migrations is there; *out the highest applied number. */
static jk_err read_version(pg_store *s, bool *exists, int *out) {
  jk_err e = JK_OK;
  *out = 0;
  *exists = false;
  PGresult *r = jk__pg_run(s, -1, "SELECT to_regclass('schema_migrations') IS NOT NULL", NULL, "schema", &e);
  if (!r) return e;
  *exists = PQntuples(r) == 1 && jk__pg_str(r, 0, 0) && strcmp(jk__pg_str(r, 0, 0), "t") == 0;
  PQclear(r);
  if (!*exists) return JK_OK;
  r = jk__pg_run(s, -1, "SELECT coalesce(max(number), 0) FROM schema_migrations", NULL, "schema", &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_int32(r, 0, 0, out)) e = jk_error_set(JK_ECORRUPT, "schema_migrations is malformed");
  PQclear(r);
  return e;
}

static jk_err newer_refused(pg_store *s) {
  return jk_error_set(JK_EUNSUPPORTED,
                      "the database has schema version %d but this jukinet knows only up to %d: install a newer "
                      "jukinet", s->version, jk_store_schema_latest());
}

/* Each migration in its own transaction, under the writer lock, re-reading the version inside
 * it: two programs opening the same new database at once apply each migration once. */
static jk_err migrate(pg_store *s, int max_version) {
  jk_err e;
  bool exists;
  if (jk__pg_migration_count == 0 || jk__pg_migrations[jk__pg_migration_count - 1].number != jk_store_schema_latest())
    return jk_error_set(JK_EUNSUPPORTED, "the PostgreSQL migrations do not match the SQLite ones");
  const struct jk__migration *m = NULL;
  for (int i = 0; i < jk__pg_migration_count; i++) {
    m = &jk__pg_migrations[i];
    if (m->number > max_version) break;
    if (!simple(s, "BEGIN")) return jk__pg_error(s, NULL, "migration");
    if ((e = jk__pg_do(s, -1, LOCK_SQL, NULL, "migration", NULL)) ||
        (e = jk__pg_do(s, -1,
                       "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
                       "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                       NULL, "schema", NULL)) ||
        (e = read_version(s, &exists, &s->version)))
      goto fail;
    if (s->version > jk_store_schema_latest()) {
      e = newer_refused(s);
      goto fail;
    }
    if (m->number <= s->version) {
      simple(s, "COMMIT");
      continue;
    }
    PGresult *r = PQexec(s->conn, m->sql); /* several statements: the simple protocol */
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      e = jk__pg_error(s, r, m->name);
      PQclear(r);
      goto fail;
    }
    PQclear(r);
    pg_params p = {0};
    char now[32];
    jk__store_now(now);
    jk__pg_int(&p, m->number);
    jk__pg_text(&p, m->name);
    jk__pg_text(&p, now);
    if ((e = jk__pg_do(s, -1, "INSERT INTO schema_migrations VALUES ($1::int, $2, $3)", &p, m->name, NULL))) goto fail;
    r = PQexec(s->conn, "COMMIT");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0;
    if (!ok) e = jk__pg_error(s, r, m->name);
    PQclear(r);
    if (!ok) return jk_error_prefix("migration %04d_%s: ", m->number, m->name);
    s->version = m->number;
  }
  /* an already newer database (nothing was pending) */
  if ((e = read_version(s, &exists, &s->version))) return e;
  if (s->version > jk_store_schema_latest()) return newer_refused(s);
  return JK_OK;
fail:
  simple(s, "ROLLBACK");
  if (e == JK_EUNSUPPORTED || !m) return e;
  return jk_error_prefix("migration %04d_%s: ", m->number, m->name);
}

static struct jk__store_ops pg_ops;
static pthread_once_t pg_ops_once = PTHREAD_ONCE_INIT;

static void pg_ops_init(void) {
  jk__pg_ledger_ops(&pg_ops);
  jk__pg_auth_ops(&pg_ops);
  jk__pg_sync_ops(&pg_ops);
  jk__pg_provision_ops(&pg_ops);
}

jk_err jk__pg_open(jk_store **out, const char *conninfo, unsigned flags, int max_version) {
  jk_err e;
  *out = NULL;
  pg_store *s = jk_calloc(1, sizeof *s);
  if (!s) return jk_error_set(JK_ENOMEM, NULL);
  pthread_once(&pg_ops_once, pg_ops_init);
  s->base.ops = &pg_ops;
  s->readonly = (flags & JK_STORE_READONLY) != 0;
  s->conn = PQconnectdb(conninfo);
  if (!s->conn) {
    pg_close(&s->base);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  if (PQstatus(s->conn) != CONNECTION_OK) {
    e = jk__pg_error(s, NULL, "connect");
    goto fail;
  }
  PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
  /* durability, the lock wait of jk_store_begin, and the encodings this file reads */
  if (!simple(s, "SET synchronous_commit = on; SET lock_timeout = '5s'; SET client_encoding = 'UTF8'; "
                 "SET bytea_output = 'hex'; SET default_transaction_isolation = 'read committed'")) {
    e = jk__pg_error(s, NULL, "connect");
    goto fail;
  }
  if (s->readonly && !simple(s, "SET default_transaction_read_only = on")) {
    e = jk__pg_error(s, NULL, "connect");
    goto fail;
  }
  if (!s->readonly) { /* a hot standby accepts the connection but no write: say so plainly */
    PGresult *r = PQexec(s->conn, "SELECT pg_is_in_recovery()");
    bool standby = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (standby) {
      e = jk_error_set(JK_EIO, "the PostgreSQL server is a read-only standby (in recovery): a node writes to the "
                       "primary (promote the standby first when the primary is gone)");
      goto fail;
    }
  }
  bool exists;
  if ((e = read_version(s, &exists, &s->version))) goto fail;
  if (!exists && (!(flags & JK_STORE_CREATE) || s->readonly)) {
    e = jk_error_set(JK_ENOTFOUND, "the PostgreSQL database has no jukinet tables (create them with JK_STORE_CREATE)");
    goto fail;
  }
  if (!exists) {
    PGresult *r = PQexec(s->conn, "SELECT current_schema()");
    bool have = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
    PQclear(r);
    if (!have) {
      e = jk_error_set(JK_ENOTFOUND, "the PostgreSQL search_path names no existing schema to create the tables in");
      goto fail;
    }
  }
  if (!s->readonly) {
    if ((e = migrate(s, max_version))) goto fail;
  } else if (s->version > jk_store_schema_latest()) {
    e = newer_refused(s);
    goto fail;
  }
  *out = &s->base;
  return JK_OK;
fail:
  pg_close(&s->base);
  return e;
}

/* ---- transactions ---- */

static jk_err pg_begin(jk_store *base) {
  pg_store *s = (pg_store *)base;
  jk_err e;
  if (!simple(s, "BEGIN")) return jk__pg_error(s, NULL, "begin");
  if ((e = jk__pg_do(s, PG_SLOT_MAIN + 0, LOCK_SQL, NULL, "begin", NULL))) {
    simple(s, "ROLLBACK");
    if (e == JK_EBUSY) return jk_error_set(JK_EBUSY, "the database is busy (another writer holds it for over 5 s)");
    return e;
  }
  return JK_OK;
}

static jk_err pg_commit(jk_store *base) {
  pg_store *s = (pg_store *)base;
  PGresult *r = PQexec(s->conn, "COMMIT");
  jk_err e = JK_OK;
  if (PQresultStatus(r) != PGRES_COMMAND_OK) e = jk__pg_error(s, r, "commit");
  else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) /* PostgreSQL answers ROLLBACK for an aborted transaction */
    e = jk_error_set(JK_ECONFLICT, "the transaction was aborted by an earlier error and has been rolled back");
  PQclear(r);
  return e;
}

static void pg_rollback(jk_store *base) {
  pg_store *s = (pg_store *)base;
  if (PQtransactionStatus(s->conn) == PQTRANS_IDLE) return;
  simple(s, "ROLLBACK");
}

/* Bulk loads: a no-op here. PostgreSQL's COMMIT costs one WAL flush whatever the row count, and
 * dropping indexes inside a transaction would take an ACCESS EXCLUSIVE lock that blocks every
 * reader of the registry until the load commits. */
static jk_err pg_bulk_begin(jk_store *base, size_t expected_rows) {
  (void)base;
  (void)expected_rows;
  return JK_OK;
}

static jk_err pg_bulk_end(jk_store *base) {
  (void)base;
  return JK_OK;
}

/* ---- meta, households, codes ---- */

enum {
  SM_LOCK = PG_SLOT_MAIN, /* LOCK_SQL, used by pg_begin as slot PG_SLOT_MAIN + 0 */
  SM_META_GET,
  SM_META_SET,
  SM_HOUSEHOLD_NEW,
  SM_HOUSEHOLD_EXISTS,
  SM_CODE_CURRENT,
  SM_CODE_RETIRED,
  SM_CODE_RETIRE,
  SM_RES_INSERT,
  SM_VER_SUPERSEDE,
  SM_RES_UPDATE,
  SM_CODE_TAKEN,
  SM_RES_GET,
  SM_RES_HISTORY,
  SM_RES_EACH,
  SM_RES_COUNT,
  SM_RES_COUNT_STATUS,
  SM__END
};
_Static_assert(SM__END <= PG_SLOT_LEDGER, "pg.c statement slots overflow");

static jk_err pg_meta_get(jk_store *base, const char *key, char **out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  *out = NULL;
  jk__pg_text(&p, key);
  PGresult *r = jk__pg_run(s, SM_META_GET, "SELECT value FROM node_meta WHERE key = $1", &p, "meta", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) {
    e = jk_error_set(JK_ENOTFOUND, "node setting %s is not set", key);
  } else {
    const char *v = jk__pg_str(r, 0, 0);
    if (!v) e = jk_error_set(JK_ECORRUPT, "node_meta %s is NULL", key);
    else if (!(*out = jk_strdup(v))) e = jk_error_set(JK_ENOMEM, NULL);
  }
  PQclear(r);
  return e;
}

static jk_err pg_meta_set(jk_store *base, const char *key, const char *value) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, key);
  jk__pg_text(&p, value);
  return jk__pg_do(s, SM_META_SET,
                   "INSERT INTO node_meta(key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE SET value = "
                   "excluded.value",
                   &p, "meta", NULL);
}

/* A statement returning one id column: *out, *found. */
static jk_err one_id(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, int64_t *out,
                     bool *found) {
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, slot, sql, p, what, &e);
  if (!r) return e;
  *found = PQntuples(r) > 0;
  if (*found && !jk__pg_i64(r, 0, 0, out)) e = jk_error_set(JK_ECORRUPT, "database (%s): %s", what, "bad id");
  PQclear(r);
  return e;
}

static jk_err pg_household_new(jk_store *base, int64_t *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  char now[32];
  bool found;
  jk__store_now(now);
  jk__pg_text(&p, now);
  jk_err e = one_id(s, SM_HOUSEHOLD_NEW, "INSERT INTO household(created_at) VALUES ($1) RETURNING id", &p,
                    "household", out, &found);
  if (!e && !found) e = jk_error_set(JK_EIO, "database (%s): %s", "household", "no id returned");
  return e;
}

static jk_err pg_household_exists(jk_store *base, int64_t id, bool *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t one;
  jk__pg_int(&p, id);
  return one_id(s, SM_HOUSEHOLD_EXISTS, "SELECT id FROM household WHERE id = $1", &p, "household", &one, out);
}

static jk_err pg_code_lookup(jk_store *base, const char *code, int64_t *resident_id, bool *retired) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  bool found;
  jk_err e;
  *retired = false;
  jk__pg_text(&p, code);
  if ((e = one_id(s, SM_CODE_CURRENT, "SELECT id FROM resident WHERE code = $1", &p, "code", resident_id, &found)))
    return e;
  if (found) return JK_OK;
  if ((e = one_id(s, SM_CODE_RETIRED, "SELECT resident_id FROM retired_code WHERE code = $1", &p, "code",
                  resident_id, &found)))
    return e;
  if (found) {
    *retired = true;
    return JK_OK;
  }
  return jk_error_set(JK_ENOTFOUND, "resident code %s is not registered here", code);
}

static jk_err pg_code_retired(jk_store *base, const char *code, bool *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t one;
  jk__pg_text(&p, code);
  return one_id(s, SM_CODE_RETIRED, "SELECT resident_id FROM retired_code WHERE code = $1", &p, "code", &one, out);
}

static jk_err pg_code_retire(jk_store *base, const char *code, int64_t resident_id, jk_date on) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, code);
  jk__pg_int(&p, resident_id);
  jk__pg_date(&p, on);
  return jk__pg_do(s, SM_CODE_RETIRE, "INSERT INTO retired_code(code, resident_id, retired_on) VALUES ($1, $2, $3)",
                   &p, "retire code", NULL);
}

/* ---- residents ---- */

#define RES_COLS                                                                                   \
  "id, version, code, status, name, kana, birth, sex, address, household_id, relation, reason, " \
  "moved_on, note, recorded_at"

/* $1..$14 the version's content, $15..$17 the keys. */
static void bind_record(pg_params *p, const jk_identity *r, const jk_resident_keys *keys) {
  jk__pg_int(p, r->version);
  jk__pg_text(p, r->code);
  jk__pg_int(p, (int)r->status);
  jk__pg_text(p, r->name);
  jk__pg_text(p, r->kana);
  jk__pg_date(p, r->birth);
  jk__pg_int(p, (int)r->sex);
  jk__pg_text(p, r->address);
  if (r->household_id) jk__pg_int(p, r->household_id);
  else jk__pg_text(p, NULL);
  jk__pg_text(p, r->relation);
  jk__pg_int(p, (int)r->reason);
  jk__pg_date(p, r->moved_on);
  jk__pg_text(p, r->note);
  jk__pg_text(p, r->recorded_at);
  jk__pg_text(p, keys->name);
  jk__pg_text(p, keys->kana);
  jk__pg_text(p, keys->address);
}

static jk_err pg_resident_insert(jk_store *base, jk_identity *rec, const jk_resident_keys *keys) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  bool found;
  jk__store_now(rec->recorded_at);
  bind_record(&p, rec, keys);
  /* ON CONFLICT: a taken code must not abort the caller's transaction (SQLite semantics) */
  jk_err e = one_id(s, SM_RES_INSERT,
                    "INSERT INTO resident(version, code, status, name, kana, birth, sex, address, household_id, "
                    "relation, reason, moved_on, note, recorded_at, name_key, kana_key, address_key) VALUES ($1, $2, "
                    "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (code) DO "
                    "NOTHING RETURNING id",
                    &p, "resident", &rec->resident_id, &found);
  if (e) return e;
  if (!found) return jk_error_set(JK_EEXISTS, "resident code %s is already registered", rec->code);
  return JK_OK;
}

static jk_err pg_resident_append(jk_store *base, jk_identity *rec, const jk_resident_keys *keys) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk_err e;
  jk__pg_int(&p, rec->resident_id);
  jk__pg_int(&p, rec->version - 1);
  if ((e = jk__pg_do(s, SM_VER_SUPERSEDE,
                     "INSERT INTO resident_version(resident_id, version, code, status, name, kana, birth, sex, "
                     "address, household_id, relation, reason, moved_on, note, recorded_at) SELECT " RES_COLS
                     " FROM resident WHERE id = $1 AND version = $2",
                     &p, "history", &n)))
    return e;
  if (n != 1)
    return jk_error_set(JK_ECONFLICT, "resident %lld is not at version %d (changed meanwhile?)",
                        (long long)rec->resident_id, rec->version - 1);
  /* a code taken by someone else: checked in the statement, so the transaction is not aborted */
  pg_params u = {0};
  jk__store_now(rec->recorded_at);
  bind_record(&u, rec, keys);
  jk__pg_int(&u, rec->resident_id);
  if ((e = jk__pg_do(s, SM_RES_UPDATE,
                     "UPDATE resident SET version = $1, code = $2, status = $3, name = $4, kana = $5, birth = $6, "
                     "sex = $7, address = $8, household_id = $9, relation = $10, reason = $11, moved_on = $12, "
                     "note = $13, recorded_at = $14, name_key = $15, kana_key = $16, address_key = $17 WHERE id = "
                     "$18 AND version = $1 - 1 AND NOT EXISTS (SELECT 1 FROM resident o WHERE o.code = $2 AND "
                     "o.id <> $18)",
                     &u, "resident", &n)))
    return e;
  if (n == 1) return JK_OK;
  pg_params c = {0};
  int64_t other;
  bool taken;
  jk__pg_text(&c, rec->code);
  jk__pg_int(&c, rec->resident_id);
  if ((e = one_id(s, SM_CODE_TAKEN, "SELECT id FROM resident WHERE code = $1 AND id <> $2", &c, "resident", &other,
                  &taken)))
    return e;
  if (taken) return jk_error_set(JK_EEXISTS, "resident code %s is already registered", rec->code);
  return jk_error_set(JK_ECONFLICT, "resident %lld is not at version %d (changed meanwhile?)",
                      (long long)rec->resident_id, rec->version - 1);
}

static jk_err col_text(const PGresult *q, int row, int i, bool required, char **out) {
  const char *t = jk__pg_str(q, row, i);
  *out = NULL;
  if (!t) return required ? jk_error_set(JK_ECORRUPT, "column %d is NULL", i) : JK_OK;
  size_t n = (size_t)PQgetlength(q, row, i);
  if (!jk_utf8_valid(t, n) || memchr(t, '\0', n)) return jk_error_set(JK_ECORRUPT, "column %d is not valid UTF-8", i);
  *out = jk_strndup(t, n);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* Row (RES_COLS order) → record; every value checked. */
static jk_err row_to_identity(const PGresult *q, int row, jk_identity *r) {
  jk_err e;
  int status = 0, sex = 0, reason = 0;
  memset(r, 0, sizeof *r);
  if (!jk__pg_i64(q, row, 0, &r->resident_id) || !jk__pg_int32(q, row, 1, &r->version)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: a value is out of range", (long long)r->resident_id);
    goto bad;
  }
  const char *code = jk__pg_str(q, row, 2);
  if (!code || PQgetlength(q, row, 2) != JK_RESCODE_LEN) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad resident code", (long long)r->resident_id);
    goto bad;
  }
  memcpy(r->code, code, JK_RESCODE_LEN);
  r->code[JK_RESCODE_LEN] = '\0';
  if ((e = col_text(q, row, 4, true, &r->name)) || (e = col_text(q, row, 5, true, &r->kana))) goto bad;
  if (!jk__pg_date_col(q, row, 6, &r->birth, false)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad birth date", (long long)r->resident_id);
    goto bad;
  }
  if ((e = col_text(q, row, 8, true, &r->address))) goto bad;
  if (jk__pg_str(q, row, 9) && !jk__pg_i64(q, row, 9, &r->household_id)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: a value is out of range", (long long)r->resident_id);
    goto bad;
  }
  if ((e = col_text(q, row, 10, false, &r->relation))) goto bad;
  if (!jk__pg_date_col(q, row, 12, &r->moved_on, true)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad move date", (long long)r->resident_id);
    goto bad;
  }
  if ((e = col_text(q, row, 13, false, &r->note))) goto bad;
  if (!jk__pg_copy(q, row, 14, r->recorded_at, sizeof r->recorded_at, true) || !jk__pg_int32(q, row, 3, &status) ||
      !jk__pg_int32(q, row, 7, &sex) || !jk__pg_int32(q, row, 11, &reason)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: a value is out of range", (long long)r->resident_id);
    goto bad;
  }
  r->status = (jk_status)status;
  r->sex = (jk_sex)sex;
  r->reason = (jk_move_kind)reason;
  if (r->version < 1 || (r->status != JK_STATUS_ACTIVE && r->status != JK_STATUS_REMOVED) ||
      (r->sex != JK_SEX_MALE && r->sex != JK_SEX_FEMALE) || r->reason <= JK_MOVE_NONE ||
      r->reason >= JK_MOVE__COUNT) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: a value is out of range", (long long)r->resident_id);
    goto bad;
  }
  return JK_OK;
bad:
  jk_identity_clear(r);
  return e;
}

/* Hand every row of r to cb; clears r. */
static jk_err each_row(PGresult *r, jk_identity_cb cb, void *payload) {
  jk_err e = JK_OK;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_identity rec;
    if ((e = row_to_identity(r, i, &rec))) break;
    int stop = cb(&rec, payload);
    jk_identity_clear(&rec);
    if (stop) break;
  }
  PQclear(r);
  return e;
}

static jk_err pg_resident_get(jk_store *base, int64_t id, jk_identity *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, id);
  PGresult *r = jk__pg_run(s, SM_RES_GET, "SELECT " RES_COLS " FROM resident WHERE id = $1", &p, "resident", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "resident %lld not found", (long long)id);
  else e = row_to_identity(r, 0, out);
  PQclear(r);
  return e;
}

static jk_err pg_resident_history(jk_store *base, int64_t id, jk_identity_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, id);
  PGresult *r = jk__pg_run(s, SM_RES_HISTORY,
                           "SELECT resident_id, version, code, status, name, kana, birth, sex, address, household_id, "
                           "relation, reason, moved_on, note, recorded_at FROM resident_version WHERE resident_id = $1 "
                           "UNION ALL SELECT " RES_COLS " FROM resident WHERE id = $1 ORDER BY 2",
                           &p, "read", &e);
  return r ? each_row(r, cb, payload) : e;
}

static jk_err pg_resident_each(jk_store *base, jk_identity_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  /* keyset pages of 10,000 rows, so an export of a million residents is never all in memory
   * (works inside or outside a transaction, unlike a cursor) */
  int64_t after = 0;
  for (;;) {
    pg_params p = {0};
    jk__pg_int(&p, after);
    PGresult *r = jk__pg_run(s, SM_RES_EACH,
                             "SELECT " RES_COLS " FROM resident WHERE id > $1 ORDER BY id LIMIT 10000", &p, "read", &e);
    if (!r) return e;
    int n = PQntuples(r);
    jk_err e2 = JK_OK;
    for (int i = 0; i < n; i++) {
      jk_identity rec;
      if ((e2 = row_to_identity(r, i, &rec))) break;
      after = rec.resident_id;
      int stop = cb(&rec, payload);
      jk_identity_clear(&rec);
      if (stop) {
        PQclear(r);
        return JK_OK;
      }
    }
    PQclear(r);
    if (e2) return e2;
    if (n < 10000) return JK_OK;
  }
}

static jk_err pg_resident_count(jk_store *base, int status, int64_t *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e;
  bool found = false;
  if (status) {
    jk__pg_int(&p, status);
    e = one_id(s, SM_RES_COUNT_STATUS, "SELECT count(*) FROM resident WHERE status = $1", &p, "count", out, &found);
  } else {
    e = one_id(s, SM_RES_COUNT, "SELECT count(*) FROM resident", NULL, "count", out, &found);
  }
  if (!e && !found) e = jk_error_set(JK_ECORRUPT, "database (%s): %s", "count", "no row");
  return e;
}

/* The smallest string above every string that starts with `p`, under byte order (UTF-8 byte
 * order is code point order): p with its last code point incremented (skipping surrogates),
 * dropping trailing U+10FFFF. Returns false when there is none (p is all U+10FFFF). */
static bool prefix_upper(const char *p, char *out, size_t cap) {
  size_t len = strlen(p);
  if (len + 1 > cap) return false;
  memcpy(out, p, len + 1);
  while (len > 0) {
    size_t start = len - 1;
    while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80) start--;
    uint32_t cp;
    size_t n = len - start;
    const unsigned char *u = (const unsigned char *)out + start;
    if (n == 1) cp = u[0];
    else if (n == 2) cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
    else if (n == 3) cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
    else cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 | (uint32_t)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
    if (cp >= 0x10FFFF) {
      len = start;
      out[len] = '\0';
      continue;
    }
    cp++;
    if (cp == 0xD800) cp = 0xE000;
    unsigned char b[4];
    size_t m;
    if (cp < 0x80) b[0] = (unsigned char)cp, m = 1;
    else if (cp < 0x800) b[0] = (unsigned char)(0xC0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3F)), m = 2;
    else if (cp < 0x10000)
      b[0] = (unsigned char)(0xE0 | cp >> 12), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
      b[2] = (unsigned char)(0x80 | (cp & 0x3F)), m = 3;
    else
      b[0] = (unsigned char)(0xF0 | cp >> 18), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F)),
      b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (unsigned char)(0x80 | (cp & 0x3F)), m = 4;
    if (start + m + 1 > cap) return false;
    memcpy(out + start, b, m);
    out[start + m] = '\0';
    return true;
  }
  return false;
}

static jk_err pg_resident_search(jk_store *base, const jk_store_query *qq, jk_identity_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_buf sql = {0};
  pg_params p = {0};
  jk_err e;
  const char *order = "id";
  char hi[3][JK_NAME_MAX * 4 + 8];
  const char *prefixes[3] = {qq->kana_prefix, qq->name_prefix, qq->address_prefix};
  static const char *const cols[3] = {"kana_key", "name_key", "address_key"};
  if ((e = jk_buf_appends(&sql, "SELECT " RES_COLS " FROM resident WHERE true"))) goto out;
  for (int k = 0; k < 3; k++) {
    if (!prefixes[k]) continue;
    if (strlen(prefixes[k]) + 5 > sizeof hi[k]) {
      e = jk_error_set(JK_ETOOLARGE, "search text is too long");
      goto out;
    }
    jk__pg_text(&p, prefixes[k]);
    if ((e = jk_buf_appendf(&sql, " AND %s >= $%d", cols[k], p.n))) goto out;
    if (prefix_upper(prefixes[k], hi[k], sizeof hi[k])) {
      jk__pg_text(&p, hi[k]);
      if ((e = jk_buf_appendf(&sql, " AND %s < $%d", cols[k], p.n))) goto out;
    }
  }
  if (qq->birth.y) {
    jk__pg_date(&p, qq->birth);
    if ((e = jk_buf_appendf(&sql, " AND birth = $%d", p.n))) goto out;
  }
  if (qq->sex) {
    jk__pg_int(&p, (int)qq->sex);
    if ((e = jk_buf_appendf(&sql, " AND sex = $%d", p.n))) goto out;
  }
  if (qq->status) {
    jk__pg_int(&p, qq->status);
    if ((e = jk_buf_appendf(&sql, " AND status = $%d", p.n))) goto out;
  }
  if (qq->household_id) {
    jk__pg_int(&p, qq->household_id);
    if ((e = jk_buf_appendf(&sql, " AND household_id = $%d", p.n))) goto out;
  }
  if (qq->kana_prefix) order = "kana_key, id";
  else if (qq->name_prefix) order = "name_key, id";
  else if (qq->address_prefix) order = "address_key, id";
  size_t limit = qq->limit ? qq->limit : 100;
  if ((e = jk_buf_appendf(&sql, " ORDER BY %s LIMIT %zu OFFSET %zu", order, limit, qq->offset))) goto out;
  PGresult *r = jk__pg_run(s, -1, sql.data, &p, "search", &e);
  if (r) e = each_row(r, cb, payload);
out:
  jk_buf_free(&sql);
  return e;
}

static struct jk__store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .household_new = pg_household_new,
    .household_exists = pg_household_exists,
    .code_lookup = pg_code_lookup,
    .code_retire = pg_code_retire,
    .code_retired = pg_code_retired,
    .bulk_begin = pg_bulk_begin,
    .bulk_end = pg_bulk_end,
    .resident_insert = pg_resident_insert,
    .resident_append = pg_resident_append,
    .resident_get = pg_resident_get,
    .resident_history = pg_resident_history,
    .resident_search = pg_resident_search,
    .resident_each = pg_resident_each,
    .resident_count = pg_resident_count,
};
