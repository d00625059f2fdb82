/*
 * storefx.h — a fresh store for each test (header-only; include after testutil.h).
 *
 * By default a SQLite node.db in a temporary directory. With JK_TEST_STORE set, the store is
 * PostgreSQL: JK_TEST_STORE=postgresql:<conninfo>, or @<file> naming a file that holds the
 * conninfo (tests/pg/pgserver writes one; tests/CMakeLists.txt points the "pg" tests at it).
 * Each test then gets its own PostgreSQL schema (jkt_<pid>_<n>, dropped afterwards), selected
 * with search_path in the location, so tests run in parallel on one server.
 *
 * tu_store_new / tu_store_free / tu_raw_exec are the backend-neutral helpers; a test file that
 * has its own fixture defines JK_STOREFX_NO_FIXTURE before including this header.
 */
#ifndef JK_STOREFX_H
#define JK_STOREFX_H

#include "jukinet/store.h"

#include <libpq-fe.h>
#include <sqlite3.h>

typedef struct tu_store {
  char *dir;            /* a temporary directory (SQLite: holds node.db) */
  char schema[64];      /* PostgreSQL: the test's schema */
  char location[1400];  /* what jk_store_open takes */
} tu_store;

/* The PostgreSQL conninfo under test, or NULL when the tests run on SQLite. */
static inline const char *tu_pg_conninfo(void) {
  static char buf[1024];
  static int done;
  if (!done) {
    done = 1;
    const char *v = getenv("JK_TEST_STORE");
    if (v && v[0] == '@') {
      FILE *fp = fopen(v + 1, "r");
      if (!fp) fail_msg("JK_TEST_STORE: cannot read %s (is the pg fixture running?)", v + 1);
      if (!fgets(buf, sizeof buf, fp)) buf[0] = '\0';
      fclose(fp);
      buf[strcspn(buf, "\r\n")] = '\0';
    } else if (v && strncmp(v, "postgresql:", 11) == 0) {
      snprintf(buf, sizeof buf, "%s", v + 11);
    } else if (v && strncmp(v, "postgres:", 9) == 0) {
      snprintf(buf, sizeof buf, "%s", v + 9);
    }
  }
  return buf[0] ? buf : NULL;
}

static inline bool tu_is_pg(void) { return tu_pg_conninfo() != NULL; }

static inline void tu_pg_quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

/* Run sql on the server (in `schema` when given). Returns "" on success, else the SQLSTATE
 * (a static buffer). */
static inline const char *tu_pg_exec(const char *schema, const char *sql) {
  static char state[8];
  PGconn *c = PQconnectdb(tu_pg_conninfo());
  if (PQstatus(c) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(c));
  PQsetNoticeProcessor(c, tu_pg_quiet, NULL);
  PGresult *r;
  if (schema) {
    char set[128];
    snprintf(set, sizeof set, "SET search_path = %s", schema);
    r = PQexec(c, set);
    PQclear(r);
  }
  r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    state[0] = '\0';
  } else {
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    snprintf(state, sizeof state, "%s", s ? s : "?????");
  }
  PQclear(r);
  PQfinish(c);
  return state;
}

/* A fresh, empty store location. */
static inline void tu_store_new(tu_store *t) {
  static int counter;
  memset(t, 0, sizeof *t);
  t->dir = tu_tmpdir();
  if (tu_is_pg()) {
    snprintf(t->schema, sizeof t->schema, "jkt_%d_%d", (int)getpid(), ++counter);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", t->schema, t->schema);
    const char *st = tu_pg_exec(NULL, sql);
    if (*st) fail_msg("CREATE SCHEMA %s: SQLSTATE %s", t->schema, st);
    snprintf(t->location, sizeof t->location, "postgresql:%s options='-c search_path=%s'", tu_pg_conninfo(), t->schema);
  } else {
    snprintf(t->location, sizeof t->location, "%s/node.db", t->dir);
  }
}

static inline void tu_store_free(tu_store *t) {
  if (t->schema[0]) {
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", t->schema);
    tu_pg_exec(NULL, sql);
    t->schema[0] = '\0';
  }
  if (t->dir) {
    tu_rmdir(t->dir);
    t->dir = NULL;
  }
}

/* What an editor with the sqlite3 CLI or psql gets back. */
enum tu_raw { TU_RAW_OK, TU_RAW_CONSTRAINT, TU_RAW_ERROR };

/* Run sql on the store behind the library's back (a second connection, as an editor would). */
static inline enum tu_raw tu_raw_exec(const tu_store *t, const char *sql) {
  if (t->schema[0]) {
    const char *st = tu_pg_exec(t->schema, sql);
    if (!*st) return TU_RAW_OK;
    return strncmp(st, "23", 2) == 0 ? TU_RAW_CONSTRAINT : TU_RAW_ERROR;
  }
  sqlite3 *db;
  assert_int_equal(sqlite3_open(t->location, &db), SQLITE_OK);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  if (rc == SQLITE_OK) return TU_RAW_OK;
  return (rc & 0xff) == SQLITE_CONSTRAINT ? TU_RAW_CONSTRAINT : TU_RAW_ERROR;
}

/* Skip a test that only means something on SQLite (it opens the file itself). */
#define TU_SQLITE_ONLY(why)                                                                          \
  do {                                                                                             \
    if (tu_is_pg()) {                                                                              \
      print_message("skipped on PostgreSQL: %s\n", (why));                                          \
      skip();                                                                                      \
    }                                                                                              \
  } while (0)

#ifndef JK_STOREFX_NO_FIXTURE
typedef struct fx {
  char *dir;
  jk_store *s;
  tu_store t;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  tu_store_new(&f->t);
  f->dir = f->t.dir;
  assert_int_equal(jk_store_open(&f->s, f->t.location, JK_STORE_CREATE), JK_OK);
  jk_lang_set(JK_LANG_EN);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  jk_store_close(f->s);
  tu_store_free(&f->t);
  free(f);
  return 0;
}

static inline int64_t count(jk_store *s) {
  int64_t n = -1;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  return n;
}
#endif

#endif
