/*
 * sqlite.c — the SQLite backend of jk_store (the default for a municipal node).
 *
 * Invariants:
 *  - WAL journal, synchronous=FULL: a committed transaction survives power loss.
 *  - Write transactions are BEGIN IMMEDIATE, so a writer never fails half-way on a lock.
 *  - Statements are prepared once per handle and cached (stmt[]).
 *  - Rows read back are validated (dates, enums, UTF-8) and a bad row is JK_ECORRUPT:
 *    node.db may have been edited by hand.
 *  - SQLite result codes are translated here and never leave this file.
 */
#include "store/migrations.h"
#include "store/sqlite_int.h"

#include "jukinet/buf.h"
#include "jukinet/text.h"

#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

enum stmt_id {
  ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_META_GET, ST_META_SET, ST_HOUSEHOLD_NEW, ST_HOUSEHOLD_EXISTS,
  ST_CODE_CURRENT, ST_CODE_RETIRED, ST_CODE_RETIRE, ST_RES_INSERT, ST_VER_SUPERSEDE, ST_CODE_RETIRED_ONLY,
  ST_RES_UPDATE,
  ST_RES_GET, ST_RES_HISTORY, ST_RES_EACH, ST_RES_COUNT, ST_RES_COUNT_STATUS,
  ST__COUNT
};
_Static_assert(ST__COUNT <= SQ_STMT_MAX, "raise SQ_STMT_MAX");

#define RES_COLS                                                                                   \
  "id, version, code, status, name, kana, birth, sex, address, household_id, relation, reason, " \
  "moved_on, note, recorded_at"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT value FROM node_meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO node_meta(key, value) VALUES (?1, ?2) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_HOUSEHOLD_NEW] = "INSERT INTO household(created_at) VALUES (?1)",
    [ST_HOUSEHOLD_EXISTS] = "SELECT 1 FROM household WHERE id = ?1",
    [ST_CODE_CURRENT] = "SELECT id FROM resident WHERE code = ?1",
    [ST_CODE_RETIRED] = "SELECT resident_id FROM retired_code WHERE code = ?1",
    [ST_CODE_RETIRE] = "INSERT INTO retired_code(code, resident_id, retired_on) VALUES (?1, ?2, ?3)",
    [ST_RES_INSERT] = "INSERT INTO resident(version, code, status, name, kana, birth, sex, address, "
                      "household_id, relation, reason, moved_on, note, recorded_at, name_key, kana_key, "
                      "address_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                      "?15, ?16, ?17)",
    [ST_VER_SUPERSEDE] = "INSERT INTO resident_version(resident_id, version, code, status, name, kana, birth, "
                         "sex, address, household_id, relation, reason, moved_on, note, recorded_at) SELECT "
                         RES_COLS " FROM resident WHERE id = ?1 AND version = ?2",
    [ST_CODE_RETIRED_ONLY] = "SELECT 1 FROM retired_code WHERE code = ?1",
    [ST_RES_UPDATE] = "UPDATE resident SET version = ?1, code = ?2, status = ?3, name = ?4, kana = ?5, "
                      "birth = ?6, sex = ?7, address = ?8, household_id = ?9, relation = ?10, reason = ?11, "
                      "moved_on = ?12, note = ?13, recorded_at = ?14, name_key = ?15, kana_key = ?16, "
                      "address_key = ?17 WHERE id = ?18 AND version = ?1 - 1",
    [ST_RES_GET] = "SELECT " RES_COLS " FROM resident WHERE id = ?1",
    [ST_RES_HISTORY] = "SELECT resident_id, version, code, status, name, kana, birth, sex, address, "
                       "household_id, relation, reason, moved_on, note, recorded_at FROM resident_version "
                       "WHERE resident_id = ?1 UNION ALL SELECT " RES_COLS " FROM resident WHERE id = ?1 "
                       "ORDER BY 2",
    [ST_RES_EACH] = "SELECT " RES_COLS " FROM resident ORDER BY id",
    [ST_RES_COUNT] = "SELECT count(*) FROM resident",
    [ST_RES_COUNT_STATUS] = "SELECT count(*) FROM resident WHERE status = ?1",
};

jk_err jk__sq_error(sq_store *s, int rc, const char *what) {
  jk_err code;
  switch (rc & 0xff) {
  case SQLITE_NOMEM: return jk_error_set(JK_ENOMEM, NULL);
  case SQLITE_BUSY:
  case SQLITE_LOCKED: code = JK_EBUSY; break;
  case SQLITE_CONSTRAINT: code = JK_ECONFLICT; break;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: code = JK_ECORRUPT; break;
  case SQLITE_FULL:
  case SQLITE_IOERR:
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_PERM: code = JK_EIO; break;
  case SQLITE_TOOBIG: code = JK_ETOOLARGE; break;
  default: code = JK_EIO; break;
  }
  return jk_error_set(code, "database (%s): %s", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *st(sq_store *s, enum stmt_id id) {
  if (!s->stmt[id]) {
    if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) != SQLITE_OK)
      return NULL;
  }
  return s->stmt[id];
}

sqlite3_stmt *jk__sq_stmt(sq_store *s, int slot, const char *sql) {
  if (slot < 0 || slot >= SQ_XSTMT_MAX) return NULL;
  if (!s->xstmt[slot]) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->xstmt[slot], NULL) != SQLITE_OK)
      return NULL;
  }
  return s->xstmt[slot];
}

/* Prepare a cached statement or fail with the translated error. */
#define PREP(var, s, id)                                                                             \
  sqlite3_stmt *var = st((s), (id));                                                                 \
  if (!var) return db_error((s), sqlite3_errcode((s)->db), "prepare")

jk_err jk__sq_step_done(sq_store *s, sqlite3_stmt *q, const char *what) {
  int rc = sqlite3_step(q);
  finish(q);
  if (rc != SQLITE_DONE) return db_error(s, rc, what);
  return JK_OK;
}

static jk_err exec(sq_store *s, const char *sql, const char *what) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? JK_OK : db_error(s, rc, what);
}

/* ---- lifecycle and migrations ---- */

static void forget_deferred(sq_store *s) {
  for (int i = 0; i < s->ndeferred; i++) jk_free(s->deferred[i]);
  s->ndeferred = 0;
}

static void sq_close(jk_store *base) {
  sq_store *s = (sq_store *)base;
  forget_deferred(s);
  for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(s->stmt[i]);
  for (int i = 0; i < SQ_XSTMT_MAX; i++) sqlite3_finalize(s->xstmt[i]);
  sqlite3_close_v2(s->db);
  jk_free(s);
}

static int sq_schema_version(jk_store *base) { return ((sq_store *)base)->version; }

static jk_err read_version(sq_store *s, int *out) {
  sqlite3_stmt *q;
  *out = 0;
  int rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(number), 0) FROM schema_migrations", -1, &q, NULL);
  if (rc != SQLITE_OK) return db_error(s, rc, "schema");
  rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return rc == SQLITE_ROW ? JK_OK : db_error(s, rc, "schema");
}

static jk_err migrate(sq_store *s, int max_version) {
  jk_err e;
  if ((e = exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
                   "name TEXT NOT NULL, applied_at TEXT NOT NULL)", "schema")))
    return e;
  if ((e = read_version(s, &s->version))) return e;
  if (s->version > jk_store_schema_latest())
    return jk_error_set(JK_EUNSUPPORTED, "node.db has schema version %d but this jukinet knows only up to %d: "
                        "install a newer jukinet", s->version, jk_store_schema_latest());
  for (int i = 0; i < jk__sqlite_migration_count; i++) {
    const struct jk__migration *m = &jk__sqlite_migrations[i];
    if (m->number <= s->version || m->number > max_version) continue;
    if ((e = exec(s, "BEGIN IMMEDIATE", "migration"))) return e;
    char now[32], sql[256];
    jk__store_now(now);
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, '%s', '%s')", m->number, m->name, now);
    if ((e = exec(s, m->sql, m->name)) || (e = exec(s, sql, m->name)) || (e = exec(s, "COMMIT", m->name))) {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
      return jk_error_prefix("migration %04d_%s: ", m->number, m->name);
    }
    s->version = m->number;
  }
  return JK_OK;
}

static struct jk__store_ops sqlite_ops;
static pthread_once_t sqlite_ops_once = PTHREAD_ONCE_INIT;

static void sqlite_ops_init(void) {
  jk__sq_ledger_ops(&sqlite_ops);
  jk__sq_auth_ops(&sqlite_ops);
  jk__sq_sync_ops(&sqlite_ops);
  jk__sq_provision_ops(&sqlite_ops);
}

jk_err jk__sqlite_open(jk_store **out, const char *path, unsigned flags, int max_version) {
  jk_err e;
  struct stat sb;
  *out = NULL;
  if (!(flags & JK_STORE_CREATE) && stat(path, &sb) != 0)
    return jk_error_set(JK_ENOTFOUND, "database %s does not exist", path);
  sq_store *s = jk_calloc(1, sizeof *s);
  if (!s) return jk_error_set(JK_ENOMEM, NULL);
  pthread_once(&sqlite_ops_once, sqlite_ops_init);
  s->base.ops = &sqlite_ops;
  /* node.db holds personal data: create it 0600 (SQLite gives -wal and -shm the same mode) */
  if ((flags & JK_STORE_CREATE) && !(flags & JK_STORE_READONLY) && strcmp(path, ":memory:") != 0 &&
      stat(path, &sb) != 0) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
  }
  int oflags = (flags & JK_STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if ((flags & JK_STORE_CREATE) && !(flags & JK_STORE_READONLY)) oflags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    e = db_error(s, rc, path);
    sq_close(&s->base);
    return e;
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, 5000);
  /* A file that is not a database shows up at the first read: do it here. */
  if ((e = exec(s, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY", path)))
    goto fail;
  if (!(flags & JK_STORE_READONLY)) {
    /* 16 KiB pages for a new database (an existing one keeps its size: the pragma is a no-op
     * once the file has content). A receiver's batch dirties one page per random index insert;
     * larger pages mean fewer levels and fewer, better-filled page writes: bench_sync measured
     * the prefecture's apply +24 % and the nation's +15 % over 4 KiB (docs/decisions.md D11). */
    if ((e = exec(s, "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL", path)))
      goto fail;
    if ((e = migrate(s, max_version))) goto fail;
  } else if ((e = read_version(s, &s->version))) {
    goto fail;
  }
  *out = &s->base;
  return JK_OK;
fail:
  sq_close(&s->base);
  return e;
}

/* ---- transactions ---- */

static jk_err sq_begin(jk_store *base) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_BEGIN);
  return jk__sq_step_done(s, q, "begin");
}

static jk_err sq_bulk_end(jk_store *base);

static jk_err sq_commit(jk_store *base) {
  sq_store *s = (sq_store *)base;
  jk_err e;
  /* never commit without the indexes a bulk load dropped */
  if (s->ndeferred && (e = sq_bulk_end(base))) return e;
  s->no_retired = false;
  PREP(q, s, ST_COMMIT);
  return jk__sq_step_done(s, q, "commit");
}

static void sq_rollback(jk_store *base) {
  sq_store *s = (sq_store *)base;
  forget_deferred(s); /* the rollback brings the dropped indexes back */
  s->no_retired = false;
  if (sqlite3_get_autocommit(s->db)) return; /* SQLite already rolled back (e.g. on I/O error) */
  sqlite3_stmt *q = st(s, ST_ROLLBACK);
  if (q) {
    sqlite3_step(q);
    sqlite3_reset(q);
  } else {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  }
}

/* ---- meta ---- */

static jk_err sq_meta_get(jk_store *base, const char *key, char **out) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_META_GET);
  jk_err e = JK_OK;
  *out = NULL;
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(q, 0);
    if (!v) e = jk_error_set(JK_ECORRUPT, "node_meta %s is NULL", key);
    else if (!(*out = jk_strdup(v))) e = jk_error_set(JK_ENOMEM, NULL);
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "node setting %s is not set", key);
  } else {
    e = db_error(s, rc, "meta");
  }
  finish(q);
  return e;
}

static jk_err sq_meta_set(jk_store *base, const char *key, const char *value) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_META_SET);
  sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "meta");
}

/* ---- codes and households ---- */

static jk_err sq_household_new(jk_store *base, int64_t *out) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_HOUSEHOLD_NEW);
  char now[32];
  jk__store_now(now);
  sqlite3_bind_text(q, 1, now, -1, SQLITE_TRANSIENT);
  jk_err e = jk__sq_step_done(s, q, "household");
  if (!e) *out = sqlite3_last_insert_rowid(s->db);
  return e;
}

static jk_err sq_household_exists(jk_store *base, int64_t id, bool *out) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_HOUSEHOLD_EXISTS);
  sqlite3_bind_int64(q, 1, id);
  int rc = sqlite3_step(q);
  *out = rc == SQLITE_ROW;
  finish(q);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? JK_OK : db_error(s, rc, "household");
}

static jk_err lookup_one(sq_store *s, enum stmt_id id, const char *code, int64_t *out, bool *found) {
  PREP(q, s, id);
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  *found = rc == SQLITE_ROW;
  if (*found) *out = sqlite3_column_int64(q, 0);
  finish(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(s, rc, "code");
  return JK_OK;
}

static jk_err sq_code_lookup(jk_store *base, const char *code, int64_t *resident_id, bool *retired) {
  sq_store *s = (sq_store *)base;
  bool found;
  jk_err e;
  *retired = false;
  if ((e = lookup_one(s, ST_CODE_CURRENT, code, resident_id, &found))) return e;
  if (found) return JK_OK;
  if ((e = lookup_one(s, ST_CODE_RETIRED, code, resident_id, &found))) return e;
  if (found) {
    *retired = true;
    return JK_OK;
  }
  return jk_error_set(JK_ENOTFOUND, "resident code %s is not registered here", code);
}

static jk_err sq_code_retired(jk_store *base, const char *code, bool *out) {
  sq_store *s = (sq_store *)base;
  int64_t one;
  if (s->no_retired) {
    *out = false;
    return JK_OK;
  }
  return lookup_one(s, ST_CODE_RETIRED_ONLY, code, &one, out);
}

/* Bulk load: drop the secondary indexes of `resident` (never the UNIQUE code index, which
 * enforces REQ-CODE-2 row by row) and recreate them, from their own stored definitions, in
 * bulk_end. Worth it only when the load is at least as large as what is there. */
static jk_err sq_bulk_begin(jk_store *base, size_t expected_rows) {
  sq_store *s = (sq_store *)base;
  int64_t have = 0;
  jk_err e;
  sqlite3_stmt *q;
  int rc0;
  if (s->ndeferred) return jk_error_set(JK_ECONFLICT, "a bulk load is already under way");
  /* nothing is retired during an import, so an empty retired set stays empty until bulk_end */
  rc0 = sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM retired_code)", -1, &q, NULL);
  if (rc0 != SQLITE_OK) return db_error(s, rc0, "bulk");
  rc0 = sqlite3_step(q);
  s->no_retired = rc0 == SQLITE_ROW && sqlite3_column_int(q, 0) == 0;
  sqlite3_finalize(q);
  if ((e = base->ops->resident_count(base, 0, &have))) return e;
  if ((int64_t)expected_rows < have || expected_rows < 10000) return JK_OK;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'resident' "
                              "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
                              -1, &q, NULL);
  if (rc != SQLITE_OK) return db_error(s, rc, "bulk");
  char names[MAX_DEFERRED_INDEXES][104];
  while ((rc = sqlite3_step(q)) == SQLITE_ROW && s->ndeferred < MAX_DEFERRED_INDEXES) {
    const char *name = (const char *)sqlite3_column_text(q, 0), *sql = (const char *)sqlite3_column_text(q, 1);
    if (!name || !sql || strlen(name) > 100 || strchr(name, '"')) continue;
    if (!(s->deferred[s->ndeferred] = jk_strdup(sql))) {
      sqlite3_finalize(q);
      forget_deferred(s);
      return jk_error_set(JK_ENOMEM, NULL);
    }
    snprintf(names[s->ndeferred], sizeof names[0], "%s", name);
    s->ndeferred++;
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    forget_deferred(s);
    return db_error(s, rc, "bulk");
  }
  /* drop only after the catalogue cursor is closed */
  for (int i = 0; i < s->ndeferred; i++) {
    char drop[sizeof names[0] + 16];
    snprintf(drop, sizeof drop, "DROP INDEX \"%.100s\"", names[i]);
    if ((e = exec(s, drop, "bulk"))) return e; /* the caller rolls back, which restores them */
  }
  return JK_OK;
}

static jk_err sq_bulk_end(jk_store *base) {
  sq_store *s = (sq_store *)base;
  jk_err e = JK_OK;
  for (int i = 0; i < s->ndeferred && !e; i++) e = exec(s, s->deferred[i], "index rebuild");
  forget_deferred(s);
  s->no_retired = false;
  return e;
}

static jk_err sq_code_retire(jk_store *base, const char *code, int64_t resident_id, jk_date on) {
  sq_store *s = (sq_store *)base;
  s->no_retired = false;
  PREP(q, s, ST_CODE_RETIRE);
  char d[11];
  jk_date_format_iso(on, d);
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, resident_id);
  sqlite3_bind_text(q, 3, d, -1, SQLITE_TRANSIENT);
  return jk__sq_step_done(s, q, "retire code");
}

/* ---- residents ---- */

static void bind_opt_text(sqlite3_stmt *q, int i, const char *v) {
  if (v) sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, i);
}

/* Binds ?1..?14 (the version's content) and, when keys is given, ?15..?17. */
static void bind_record(sqlite3_stmt *q, const jk_identity *r, const jk_resident_keys *keys, char birth[11],
                        char moved[11]) {
  jk_date_format_iso(r->birth, birth);
  sqlite3_bind_int(q, 1, r->version);
  sqlite3_bind_text(q, 2, r->code, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 3, (int)r->status);
  sqlite3_bind_text(q, 4, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->kana, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, birth, 10, SQLITE_STATIC);
  sqlite3_bind_int(q, 7, (int)r->sex);
  sqlite3_bind_text(q, 8, r->address, -1, SQLITE_STATIC);
  if (r->household_id) sqlite3_bind_int64(q, 9, r->household_id);
  else sqlite3_bind_null(q, 9);
  bind_opt_text(q, 10, r->relation);
  sqlite3_bind_int(q, 11, (int)r->reason);
  if (r->moved_on.y) {
    jk_date_format_iso(r->moved_on, moved);
    sqlite3_bind_text(q, 12, moved, 10, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(q, 12);
  }
  bind_opt_text(q, 13, r->note);
  sqlite3_bind_text(q, 14, r->recorded_at, -1, SQLITE_STATIC);
  if (keys) {
    sqlite3_bind_text(q, 15, keys->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 16, keys->kana, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 17, keys->address, -1, SQLITE_STATIC);
  }
}

/* Move the current version of resident `id` (which must be `version`) into the history. */
static jk_err supersede(sq_store *s, int64_t id, int version) {
  PREP(q, s, ST_VER_SUPERSEDE);
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_int(q, 2, version);
  jk_err e = jk__sq_step_done(s, q, "history");
  if (!e && sqlite3_changes(s->db) != 1)
    return jk_error_set(JK_ECONFLICT, "resident %lld is not at version %d (changed meanwhile?)", (long long)id,
                        version);
  return e;
}

static jk_err sq_resident_insert(jk_store *base, jk_identity *rec, const jk_resident_keys *keys) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_RES_INSERT);
  char birth[11], moved[11];
  jk__store_now(rec->recorded_at);
  bind_record(q, rec, keys, birth, moved);
  int rc = sqlite3_step(q);
  finish(q);
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) /* a duplicate, not any constraint */
      return jk_error_set(JK_EEXISTS, "resident code %s is already registered", rec->code);
    return db_error(s, rc, "resident");
  }
  rec->resident_id = sqlite3_last_insert_rowid(s->db);
  return JK_OK;
}

static jk_err sq_resident_append(jk_store *base, jk_identity *rec, const jk_resident_keys *keys) {
  sq_store *s = (sq_store *)base;
  jk_err e;
  if ((e = supersede(s, rec->resident_id, rec->version - 1))) return e;
  PREP(q, s, ST_RES_UPDATE);
  char birth[11], moved[11];
  jk__store_now(rec->recorded_at);
  bind_record(q, rec, keys, birth, moved);
  sqlite3_bind_int64(q, 18, rec->resident_id);
  int rc = sqlite3_step(q);
  finish(q);
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) /* a duplicate, not any constraint */
      return jk_error_set(JK_EEXISTS, "resident code %s is already registered", rec->code);
    return db_error(s, rc, "resident");
  }
  if (sqlite3_changes(s->db) != 1)
    return jk_error_set(JK_ECONFLICT, "resident %lld is not at version %d (changed meanwhile?)",
                        (long long)rec->resident_id, rec->version - 1);
  return JK_OK;
}

bool jk__sq_parse_iso(const unsigned char *t, int n, jk_date *out) {
  if (n != 10 || t[4] != '-' || t[7] != '-') return false;
  int v[8], k = 0;
  for (int i = 0; i < 10; i++) {
    if (i == 4 || i == 7) continue;
    if (t[i] < '0' || t[i] > '9') return false;
    v[k++] = t[i] - '0';
  }
  out->y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  out->m = v[4] * 10 + v[5];
  out->d = v[6] * 10 + v[7];
  return jk_date_valid(*out);
}

static jk_err col_text(sqlite3_stmt *q, int i, bool required, char **out) {
  const unsigned char *t = sqlite3_column_text(q, i);
  int n = sqlite3_column_bytes(q, i);
  *out = NULL;
  if (!t) return required ? jk_error_set(JK_ECORRUPT, "column %d is NULL", i) : JK_OK;
  if (!jk_utf8_valid((const char *)t, (size_t)n))
    return jk_error_set(JK_ECORRUPT, "column %d is not valid UTF-8", i);
  *out = jk_strndup((const char *)t, (size_t)n);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* Row (RES_COLS order) → record. Every value is checked: the file may have been edited. */
static jk_err row_to_identity(sqlite3_stmt *q, jk_identity *r) {
  jk_err e;
  memset(r, 0, sizeof *r);
  r->resident_id = sqlite3_column_int64(q, 0);
  r->version = sqlite3_column_int(q, 1);
  const unsigned char *code = sqlite3_column_text(q, 2);
  int code_n = sqlite3_column_bytes(q, 2);
  if (!code || code_n != JK_RESCODE_LEN) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad resident code", (long long)r->resident_id);
    goto bad;
  }
  memcpy(r->code, code, JK_RESCODE_LEN);
  r->code[JK_RESCODE_LEN] = '\0';
  r->status = (jk_status)sqlite3_column_int(q, 3);
  if ((e = col_text(q, 4, true, &r->name)) || (e = col_text(q, 5, true, &r->kana))) goto bad;
  if (!jk__sq_parse_iso(sqlite3_column_text(q, 6), sqlite3_column_bytes(q, 6), &r->birth)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad birth date", (long long)r->resident_id);
    goto bad;
  }
  r->sex = (jk_sex)sqlite3_column_int(q, 7);
  if ((e = col_text(q, 8, true, &r->address))) goto bad;
  r->household_id = sqlite3_column_int64(q, 9);
  if ((e = col_text(q, 10, false, &r->relation))) goto bad;
  r->reason = (jk_move_kind)sqlite3_column_int(q, 11);
  if (sqlite3_column_type(q, 12) != SQLITE_NULL &&
      !jk__sq_parse_iso(sqlite3_column_text(q, 12), sqlite3_column_bytes(q, 12), &r->moved_on)) {
    e = jk_error_set(JK_ECORRUPT, "resident %lld: bad move date", (long long)r->resident_id);
    goto bad;
  }
  if ((e = col_text(q, 13, false, &r->note))) goto bad;
  const unsigned char *at = sqlite3_column_text(q, 14);
  snprintf(r->recorded_at, sizeof r->recorded_at, "%s", at ? (const char *)at : "");
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

/* Step q to the end, handing each row to cb. Resets q. */
static jk_err each_row(sq_store *s, sqlite3_stmt *q, jk_identity_cb cb, void *payload) {
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_identity r;
    if ((e = row_to_identity(q, &r))) break;
    int stop = cb(&r, payload);
    jk_identity_clear(&r);
    if (stop) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "read");
  finish(q);
  return e;
}

static jk_err sq_resident_get(jk_store *base, int64_t id, jk_identity *out) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_RES_GET);
  sqlite3_bind_int64(q, 1, id);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = row_to_identity(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "resident %lld not found", (long long)id);
  else e = db_error(s, rc, "resident");
  finish(q);
  return e;
}

static jk_err sq_resident_history(jk_store *base, int64_t id, jk_identity_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_RES_HISTORY);
  sqlite3_bind_int64(q, 1, id);
  return each_row(s, q, cb, payload);
}

static jk_err sq_resident_each(jk_store *base, jk_identity_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  PREP(q, s, ST_RES_EACH);
  return each_row(s, q, cb, payload);
}

static jk_err sq_resident_count(jk_store *base, int status, int64_t *out) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = st(s, status ? ST_RES_COUNT_STATUS : ST_RES_COUNT);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (status) sqlite3_bind_int(q, 1, status);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
  finish(q);
  return rc == SQLITE_ROW ? JK_OK : db_error(s, rc, "count");
}

/* Prefix condition as a range on the key index: key >= p AND key < p || U+110000's first
 * bytes. Every valid UTF-8 continuation of p sorts below "\xF4\x90" under memcmp. */
static jk_err add_prefix(jk_buf *sql, const char *col, int *n) {
  jk_err e = jk_buf_appendf(sql, " AND %s >= ?%d AND %s < ?%d", col, *n + 1, col, *n + 2);
  *n += 2;
  return e;
}

static jk_err sq_resident_search(jk_store *base, const jk_store_query *qq, jk_identity_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  jk_buf sql = {0};
  jk_err e;
  int n = 0;
  const char *order = "id";
  if ((e = jk_buf_appends(&sql, "SELECT " RES_COLS " FROM resident WHERE 1"))) goto out;
  if (qq->kana_prefix && (e = add_prefix(&sql, "kana_key", &n))) goto out;
  if (qq->name_prefix && (e = add_prefix(&sql, "name_key", &n))) goto out;
  if (qq->address_prefix && (e = add_prefix(&sql, "address_key", &n))) goto out;
  if (qq->birth.y && (e = jk_buf_appendf(&sql, " AND birth = ?%d", ++n))) goto out;
  if (qq->sex && (e = jk_buf_appendf(&sql, " AND sex = ?%d", ++n))) goto out;
  if (qq->status && (e = jk_buf_appendf(&sql, " AND status = ?%d", ++n))) goto out;
  if (qq->household_id && (e = jk_buf_appendf(&sql, " AND household_id = ?%d", ++n))) goto out;
  if (qq->kana_prefix) order = "kana_key, id";
  else if (qq->name_prefix) order = "name_key, id";
  else if (qq->address_prefix) order = "address_key, id";
  size_t limit = qq->limit ? qq->limit : 100;
  if ((e = jk_buf_appendf(&sql, " ORDER BY %s LIMIT %zu OFFSET %zu", order, limit, qq->offset))) goto out;

  sqlite3_stmt *q;
  int rc = sqlite3_prepare_v3(s->db, sql.data, -1, 0, &q, NULL);
  if (rc != SQLITE_OK) {
    e = db_error(s, rc, "search");
    goto out;
  }
  /* Bind in the same order as the conditions were added. */
  int i = 0;
  char hi[3][JK_NAME_MAX * 4 + 8];
  const char *prefixes[3] = {qq->kana_prefix, qq->name_prefix, qq->address_prefix};
  for (int k = 0; k < 3; k++) {
    if (!prefixes[k]) continue;
    size_t len = strlen(prefixes[k]);
    if (len + 3 > sizeof hi[k]) {
      sqlite3_finalize(q);
      e = jk_error_set(JK_ETOOLARGE, "search text is too long");
      goto out;
    }
    memcpy(hi[k], prefixes[k], len);
    memcpy(hi[k] + len, "\xF4\x90", 3);
    sqlite3_bind_text(q, ++i, prefixes[k], (int)len, SQLITE_STATIC);
    sqlite3_bind_text(q, ++i, hi[k], (int)len + 2, SQLITE_STATIC);
  }
  char birth[11];
  if (qq->birth.y) {
    jk_date_format_iso(qq->birth, birth);
    sqlite3_bind_text(q, ++i, birth, 10, SQLITE_STATIC);
  }
  if (qq->sex) sqlite3_bind_int(q, ++i, (int)qq->sex);
  if (qq->status) sqlite3_bind_int(q, ++i, qq->status);
  if (qq->household_id) sqlite3_bind_int64(q, ++i, qq->household_id);
  e = each_row(s, q, cb, payload);
  sqlite3_finalize(q);
out:
  jk_buf_free(&sql);
  return e;
}

/* The ops of this file; sqlite_ledger.c, sqlite_auth.c and sqlite_sync.c add theirs on first use. */
static struct jk__store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .household_new = sq_household_new,
    .household_exists = sq_household_exists,
    .code_lookup = sq_code_lookup,
    .code_retire = sq_code_retire,
    .code_retired = sq_code_retired,
    .bulk_begin = sq_bulk_begin,
    .bulk_end = sq_bulk_end,
    .resident_insert = sq_resident_insert,
    .resident_append = sq_resident_append,
    .resident_get = sq_resident_get,
    .resident_history = sq_resident_history,
    .resident_search = sq_resident_search,
    .resident_each = sq_resident_each,
    .resident_count = sq_resident_count,
};
