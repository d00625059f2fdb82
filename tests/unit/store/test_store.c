/* The store: migrations, durability settings, history, append-only guards, corruption.
 * Runs on SQLite, and on PostgreSQL when JK_TEST_STORE says so (storefx.h). */
#include "testutil.h"

#include "jukinet/buf.h"
#include "jukinet/store.h"
#include "store/store_int.h"

#define JK_STOREFX_NO_FIXTURE
#include "storefx.h"

typedef struct fx {
  tu_store t;
  const char *path; /* the location: a node.db path, or postgresql:… with the test's schema */
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  tu_store_new(&f->t);
  f->path = f->t.location;
  jk_lang_set(JK_LANG_EN);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  tu_store_free(&f->t);
  free(f);
  return 0;
}

static jk_identity sample(const char *code, const char *kana) {
  jk_identity r = {0};
  r.version = 1;
  snprintf(r.code, sizeof r.code, "%s", code);
  r.name = (char *)"山田　太郎";
  r.kana = (char *)kana;
  r.birth = (jk_date){1980, 1, 2};
  r.sex = JK_SEX_MALE;
  r.address = (char *)"大阪府枚方市大垣内町2丁目1番20号";
  r.reason = JK_MOVE_IN;
  r.moved_on = (jk_date){2002, 8, 5};
  r.status = JK_STATUS_ACTIVE;
  return r;
}

static int count_cb(const jk_identity *r, void *p) {
  (void)r;
  (*(int *)p)++;
  return 0;
}

#define raw_exec(f, sql, want) assert_int_equal(tu_raw_exec(&(f)->t, (sql)), (want))

static void test_create_and_pragmas(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_ENOTFOUND);
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_string_equal(jk_store_backend(s), tu_is_pg() ? "postgresql" : "sqlite");
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  assert_true(jk_store_schema_latest() >= 10); /* 0010_provision_index */
  jk_store_close(s);
  /* opened again without CREATE: the same database */
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  jk_store_close(s);
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_READONLY), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  jk_store_close(s);
  if (tu_is_pg()) { /* durability is the server's fsync plus the session's synchronous_commit */
    assert_string_equal(tu_pg_exec(NULL, "DO $$ BEGIN IF current_setting('fsync') <> 'on' THEN "
                                         "RAISE EXCEPTION 'fsync off'; END IF; END $$"), "");
    return;
  }
  /* WAL is persistent in the file */
  sqlite3 *db;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);
}

static void test_upgrade_in_place(void **state) {
  fx *f = *state;
  jk_store *s;
  /* an old node.db at schema 1 with a resident in it */
  assert_int_equal(jk__store_open_at_version(&s, f->path, 1), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 1);
  jk_identity r = sample("00000000019", "ヤマダ　タロウ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM retired_code", TU_RAW_ERROR); /* not there yet */
  /* a newer program opens it: upgraded, data kept */
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  int64_t n = 0;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  assert_int_equal(n, 1);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM retired_code", TU_RAW_OK);
}

/* A node.db of schema 4 (before sync) gains the sync tables when a newer program opens it. */
static void test_upgrade_adds_sync(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk__store_open_at_version(&s, f->path, 4), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 4);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM notice_log", TU_RAW_ERROR);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  int64_t n = -1;
  assert_int_equal(jk_store_notice_size(s, "272108-a", &n), JK_OK);
  assert_int_equal(n, 0);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM notice_log", TU_RAW_OK);
}

static void test_newer_schema_refused(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_store_close(s);
  raw_exec(f, "INSERT INTO schema_migrations VALUES (9999, 'future', 'x')", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_EUNSUPPORTED);
  assert_error_contains("9999");
}

static void test_not_a_database(void **state) {
  fx *f = *state;
  TU_SQLITE_ONLY("writes a text file where node.db should be");
  FILE *fp = fopen(f->path, "w");
  fputs("this is not a database, it is a text file with enough bytes to look like a header......\n", fp);
  fclose(fp);
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_ECORRUPT);
}

static void test_versions_and_history(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_identity r = sample("00000000019", "ヤマダ　タロウ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  /* writes need a transaction */
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_ECONFLICT);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_ECONFLICT);
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  assert_true(r.resident_id > 0);
  /* same code again */
  jk_identity dup = sample("00000000019", "ヤマダ　ジロウ");
  assert_int_equal(jk_store_resident_insert(s, &dup, &k), JK_EEXISTS);
  assert_int_equal(jk_store_commit(s), JK_OK);

  jk_identity v2 = r;
  v2.version = 2;
  v2.address = (char *)"大阪府枚方市岡東町12番5号";
  v2.reason = JK_MOVE_WITHIN;
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_append(s, &v2, &k), JK_OK);
  /* a stale writer (thinks the current version is 1) is refused */
  assert_int_equal(jk_store_resident_append(s, &v2, &k), JK_ECONFLICT);
  assert_int_equal(jk_store_commit(s), JK_OK);

  int n = 0;
  assert_int_equal(jk_store_resident_history(s, r.resident_id, count_cb, &n), JK_OK);
  assert_int_equal(n, 2);
  jk_identity cur = {0};
  assert_int_equal(jk_store_resident_get(s, r.resident_id, &cur), JK_OK);
  assert_int_equal(cur.version, 2);
  assert_string_equal(cur.address, "大阪府枚方市岡東町12番5号");
  assert_int_equal(cur.reason, JK_MOVE_WITHIN);
  jk_identity_clear(&cur);
  jk_store_close(s);

  /* REQ-HIST-1: the history cannot be edited or deleted, even with SQL */
  raw_exec(f, "UPDATE resident_version SET name = 'x'", TU_RAW_CONSTRAINT);
  raw_exec(f, "DELETE FROM resident_version", TU_RAW_CONSTRAINT);
  raw_exec(f, "DELETE FROM resident", TU_RAW_CONSTRAINT);
  if (tu_is_pg()) { /* TRUNCATE skips row triggers: PostgreSQL has statement triggers for it */
    raw_exec(f, "TRUNCATE resident_version", TU_RAW_CONSTRAINT);
    raw_exec(f, "TRUNCATE resident CASCADE", TU_RAW_CONSTRAINT);
  }
}

static void test_rollback_leaves_nothing(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_identity r = sample("00000000019", "ヤマダ　タロウ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  jk_store_rollback(s);
  int64_t n = -1;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  assert_int_equal(n, 0);
  bool known = true;
  assert_int_equal(jk_store_code_known(s, "00000000019", &known), JK_OK);
  assert_false(known);
  jk_store_close(s);
}

static void test_corrupt_row_detected(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_identity r = sample("00000000019", "ヤマダ　タロウ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  raw_exec(f, "UPDATE resident SET birth = '1980-02-30'", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  jk_identity cur = {0};
  assert_int_equal(jk_store_resident_get(s, r.resident_id, &cur), JK_ECORRUPT);
  assert_error_contains("birth");
  jk_store_close(s);
  /* PostgreSQL refuses invalid UTF-8 in text: there, an enum value out of range instead */
  raw_exec(f, tu_is_pg() ? "UPDATE resident SET birth = '1980-01-02', status = 7"
                         : "UPDATE resident SET birth = '1980-01-02', name = x'ff00'",
           TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_resident_get(s, r.resident_id, &cur), JK_ECORRUPT);
  jk_store_close(s);
}

static void test_prefix_search(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  const char *kanas[] = {"ヤマダタロウ", "ヤマダハナコ", "ヤマモトイチロウ", "ヤマ", "ヤ", "ユウキ"};
  const char *codes[] = {"00000000019", "00000000027", "00000000035", "00000000043", "00000000051", "00000000060"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  for (int i = 0; i < 6; i++) {
    jk_identity r = sample("", kanas[i]);
    memcpy(r.code, codes[i], 12);
    jk_resident_keys k = {"山田", kanas[i], "大阪府"};
    assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  }
  assert_int_equal(jk_store_commit(s), JK_OK);
  struct {
    const char *prefix;
    int want;
  } cases[] = {{"ヤマダ", 2}, {"ヤマ", 4}, {"ヤ", 5}, {"ユ", 1}, {"ヨ", 0}, {"ヤマダタロウX", 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    jk_store_query q = {.kana_prefix = cases[i].prefix};
    int n = 0;
    assert_int_equal(jk_store_resident_search(s, &q, count_cb, &n), JK_OK);
    if (n != cases[i].want) fail_msg("prefix %s: %d results, want %d", cases[i].prefix, n, cases[i].want);
  }
  jk_store_query q = {.kana_prefix = "ヤ", .limit = 2};
  int n = 0;
  assert_int_equal(jk_store_resident_search(s, &q, count_cb, &n), JK_OK);
  assert_int_equal(n, 2);
  jk_store_close(s);
}

/* A second writer waits for the first up to 5 s, then JK_EBUSY; the first is unharmed. */
static void test_second_writer_busy(void **state) {
  fx *f = *state;
  jk_store *a, *b;
  assert_int_equal(jk_store_open(&a, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_open(&b, f->path, 0), JK_OK);
  assert_int_equal(jk_store_begin(a), JK_OK);
  assert_int_equal(jk_store_meta_set(a, "k", "a"), JK_OK);
  assert_int_equal(jk_store_begin(b), JK_EBUSY);
  assert_int_equal(jk_store_commit(a), JK_OK);
  assert_int_equal(jk_store_begin(b), JK_OK);
  assert_int_equal(jk_store_meta_set(b, "k", "b"), JK_OK);
  assert_int_equal(jk_store_commit(b), JK_OK);
  char *v = NULL;
  assert_int_equal(jk_store_meta_get(a, "k", &v), JK_OK);
  assert_string_equal(v, "b");
  jk_free(v);
  jk_store_close(b);
  jk_store_close(a);
}

/* A taken code refused in the middle of a transaction leaves the transaction usable. */
static void test_taken_code_keeps_transaction(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_identity a = sample("00000000019", "ヤマダ　タロウ"), b = sample("00000000027", "ヤマダ　ハナコ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &a, &k), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &b, &k), JK_OK);
  jk_identity b2 = b;
  b2.version = 2;
  memcpy(b2.code, a.code, sizeof b2.code); /* a's code */
  assert_int_equal(jk_store_resident_append(s, &b2, &k), JK_EEXISTS);
  assert_int_equal(jk_store_meta_set(s, "after", "yes"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  int64_t n = -1;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  assert_int_equal(n, 2);
  char *v = NULL;
  assert_int_equal(jk_store_meta_get(s, "after", &v), JK_OK);
  jk_free(v);
  jk_store_close(s);
}

/* ---- sync ---- */

/* A blob literal in the backend's SQL dialect ("x'0102'" or "'\x0102'::bytea"). */
static const char *blob(const char *hex) {
  static char buf[4][160];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, sizeof buf[0], tu_is_pg() ? "'\\x%s'::bytea" : "x'%s'", hex);
  return b;
}

/* The integer in the first column of the first row of sql, run behind the library's back. */
static long long raw_count(fx *f, const char *sql) {
  long long v = -1;
  if (tu_is_pg()) {
    PGconn *c = PQconnectdb(tu_pg_conninfo());
    if (PQstatus(c) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(c));
    char set[128];
    snprintf(set, sizeof set, "SET search_path = %s", f->t.schema);
    PQclear(PQexec(c, set));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) fail_msg("%s: %s", sql, PQerrorMessage(c));
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
  }
  sqlite3 *db;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

/* Run the SQL made of fmt with blob literals spliced in. */
#define raw_execf(f, want, ...)                                                                    \
  do {                                                                                             \
    char sql_[512];                                                                                \
    snprintf(sql_, sizeof sql_, __VA_ARGS__);                                                      \
    raw_exec((f), sql_, (want));                                                                   \
  } while (0)

/* Drop an append-only trigger, as an editor with the database's CLI could. */
static void drop_trigger(fx *f, const char *trigger, const char *table) {
  char sql[200];
  if (tu_is_pg()) snprintf(sql, sizeof sql, "DROP TRIGGER %s ON %s", trigger, table);
  else snprintf(sql, sizeof sql, "DROP TRIGGER %s", trigger);
  raw_exec(f, sql, TU_RAW_OK);
}

/* Sources chosen so that byte order ("B…" < "a…") differs from a dictionary collation. */
#define SRC_A "a-272108"
#define SRC_B "B-271004"
#define CODE1 "12345678901"
#define CODE2 "10987654321"

static jk_notice_row nrow(const char *source, int64_t seq, const char *code, uint8_t enc[16]) {
  jk_notice_row r = {.source = source, .seq = seq, .code = code, .enc = enc, .enc_len = 16};
  for (int i = 0; i < 16; i++) enc[i] = (uint8_t)(seq * 16 + i + source[0]);
  for (int i = 0; i < 32; i++) r.leaf[i] = (uint8_t)(seq + i + source[0]);
  return r;
}

typedef struct seen_rows {
  int n;
  char source[8][64];
  int64_t seq[8];
  char code[8][12];
  size_t enc_len[8];
  uint8_t enc0[8];
  uint8_t leaf0[8];
} seen_rows;

static int seen_cb(const jk_notice_row *r, void *p) {
  seen_rows *v = p;
  if (v->n >= 8) return 1;
  snprintf(v->source[v->n], 64, "%s", r->source);
  v->seq[v->n] = r->seq;
  snprintf(v->code[v->n], 12, "%s", r->code);
  v->enc_len[v->n] = r->enc_len;
  v->enc0[v->n] = r->enc ? r->enc[0] : 0;
  v->leaf0[v->n] = r->leaf[0];
  if (!r->enc != !r->enc_len) fail_msg("enc %p with enc_len %zu", (const void *)r->enc, r->enc_len);
  v->n++;
  return 0;
}

/* Three notices of SRC_A (CODE1, CODE2, CODE1) and one of SRC_B (CODE1), committed. */
static jk_store *with_notices(fx *f) {
  jk_store *s;
  uint8_t enc[16];
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_OK);
  const char *codes[3] = {CODE1, CODE2, CODE1};
  for (int i = 0; i < 3; i++) {
    jk_notice_row r = nrow(SRC_A, i + 1, codes[i], enc);
    assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  }
  jk_notice_row r = nrow(SRC_B, 1, CODE1, enc);
  assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  return s;
}

static int sources_cb(const char *source, int64_t size, void *p) {
  char *out = p;
  size_t n = strlen(out);
  snprintf(out + n, 256 - n, "%s=%lld;", source, (long long)size);
  return 0;
}

static void test_notice_append_contiguous(void **state) {
  fx *f = *state;
  jk_store *s;
  uint8_t enc[16];
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_notice_row r = nrow(SRC_A, 1, CODE1, enc);
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  r = nrow(SRC_A, 2, CODE1, enc); /* a new source starts at 1 */
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT);
  assert_error_contains("notice seq 2 of " SRC_A ": expected 1");
  for (int64_t seq = 1; seq <= 3; seq++) {
    r = nrow(SRC_A, seq, seq == 2 ? CODE2 : CODE1, enc);
    assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  }
  r = nrow(SRC_A, 5, CODE1, enc); /* a gap */
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT);
  assert_error_contains("notice seq 5 of " SRC_A ": expected 4");
  r = nrow(SRC_A, 3, CODE1, enc); /* a duplicate */
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT);
  assert_error_contains("expected 4");
  r = nrow(SRC_B, 1, CODE1, enc); /* sources count separately */
  assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  r = nrow(SRC_B, 1, CODE1, enc);
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT);
  /* bad arguments */
  const char *bad_ids[] = {"", "has space", "tab\there", "\xe6\x9e\x9a\xe6\x96\xb9",
                           "0123456789012345678901234567890123456789012345678901234567890123"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
    r = nrow(bad_ids[i], 1, CODE1, enc);
    if (jk_store_notice_append(s, &r) != JK_EINVAL) fail_msg("node id '%s' accepted", bad_ids[i]);
  }
  r = nrow("012345678901234567890123456789012345678901234567890123456789012", 1, CODE1, enc); /* 63: fine */
  assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  const char *bad_codes[] = {"1234567890", "123456789012", "1234567890a", ""};
  for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
    r = nrow(SRC_A, 4, bad_codes[i], enc);
    if (jk_store_notice_append(s, &r) != JK_EINVAL) fail_msg("code '%s' accepted", bad_codes[i]);
  }
  r = nrow(SRC_A, 4, CODE1, enc);
  r.enc_len = 0;
  assert_int_equal(jk_store_notice_append(s, &r), JK_EINVAL);
  r.enc_len = JK_NOTICE_ROW_MAX + 1;
  assert_int_equal(jk_store_notice_append(s, &r), JK_EINVAL);
  r.enc = NULL;
  r.enc_len = 16;
  assert_int_equal(jk_store_notice_append(s, &r), JK_EINVAL);
  r = nrow(SRC_A, 0, CODE1, enc);
  assert_int_equal(jk_store_notice_append(s, &r), JK_EINVAL);
  /* the refusals left the transaction usable (PostgreSQL too) */
  assert_int_equal(jk_store_commit(s), JK_OK);

  /* the cached next seq does not outlive a rollback */
  assert_int_equal(jk_store_begin(s), JK_OK);
  r = nrow(SRC_A, 4, CODE1, enc);
  assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  jk_store_rollback(s);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  /* nor a commit, nor another writer's appends in between */
  jk_store *t;
  assert_int_equal(jk_store_open(&t, f->path, 0), JK_OK);
  assert_int_equal(jk_store_begin(t), JK_OK);
  r = nrow(SRC_A, 5, CODE1, enc);
  assert_int_equal(jk_store_notice_append(t, &r), JK_OK);
  assert_int_equal(jk_store_commit(t), JK_OK);
  jk_store_close(t);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_append(s, &r), JK_ECONFLICT);
  assert_error_contains("expected 6");
  jk_store_rollback(s);

  int64_t n = -1;
  assert_int_equal(jk_store_notice_size(s, SRC_A, &n), JK_OK);
  assert_int_equal(n, 5);
  assert_int_equal(jk_store_notice_size(s, SRC_B, &n), JK_OK);
  assert_int_equal(n, 1);
  assert_int_equal(jk_store_notice_size(s, "272108-none", &n), JK_OK);
  assert_int_equal(n, 0);
  assert_int_equal(jk_store_notice_size(s, "bad id", &n), JK_EINVAL);
  jk_store_close(s);
}

static void test_notice_reads(void **state) {
  fx *f = *state;
  jk_store *s = with_notices(f);
  seen_rows v = {0};
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, 0, seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(v.source[i], SRC_A);
    assert_int_equal(v.seq[i], i + 1);
    assert_int_equal(v.enc_len[i], 16);
    assert_int_equal(v.enc0[i], (uint8_t)((i + 1) * 16 + SRC_A[0]));
    assert_int_equal(v.leaf0[i], (uint8_t)(i + 1 + SRC_A[0]));
  }
  assert_string_equal(v.code[1], CODE2);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_notice_each(s, SRC_A, 2, 2, seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(v.seq[0], 2);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_notice_each(s, SRC_A, 0, 0, seen_cb, &v), JK_OK); /* first 0: from the start */
  assert_int_equal(v.n, 3);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_notice_each(s, SRC_A, 3, 2, seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, -1, seen_cb, &v), JK_EINVAL);

  uint8_t leaves[3][32];
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 0, 3, leaves), JK_OK);
  for (int i = 0; i < 3; i++) assert_int_equal(leaves[i][0], (uint8_t)(i + 1 + SRC_A[0]));
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 1, 2, leaves), JK_OK);
  assert_int_equal(leaves[0][0], (uint8_t)(2 + SRC_A[0]));
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 1, 3, leaves), JK_ECORRUPT); /* seq 4 is missing */
  assert_error_contains("notice 4 of " SRC_A);
  assert_int_equal(jk_store_notice_leaves(s, SRC_B, 0, 2, leaves), JK_ECORRUPT);

  /* by code: every source, in (source, seq) byte order */
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_notice_by_code(s, CODE1, seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.source[0], SRC_B);
  assert_string_equal(v.source[1], SRC_A);
  assert_int_equal(v.seq[1], 1);
  assert_string_equal(v.source[2], SRC_A);
  assert_int_equal(v.seq[2], 3);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_notice_by_code(s, "99999999999", seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  assert_int_equal(jk_store_notice_by_code(s, "9999", seen_cb, &v), JK_EINVAL);

  char list[256] = "";
  assert_int_equal(jk_store_notice_sources(s, sources_cb, list), JK_OK);
  assert_string_equal(list, SRC_B "=1;" SRC_A "=3;");
  jk_store_close(s);
}

static void test_notice_scrub(void **state) {
  fx *f = *state;
  jk_store *s = with_notices(f);
  int64_t n = -1;
  assert_int_equal(jk_store_notice_scrub(s, CODE1, &n), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_scrub(s, CODE1, &n), JK_OK);
  assert_int_equal(n, 3);
  assert_int_equal(jk_store_notice_scrub(s, CODE1, &n), JK_OK);
  assert_int_equal(n, 0);
  assert_int_equal(jk_store_notice_scrub(s, "1234", &n), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);
  seen_rows v = {0};
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, 0, seen_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_int_equal(v.enc_len[0], 0); /* scrubbed */
  assert_int_equal(v.enc_len[1], 16); /* CODE2: kept */
  assert_int_equal(v.enc_len[2], 0);
  /* the leaves stay */
  uint8_t leaves[3][32];
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 0, 3, leaves), JK_OK);
  for (int i = 0; i < 3; i++) assert_int_equal(leaves[i][0], (uint8_t)(i + 1 + SRC_A[0]));
  int64_t size = 0;
  assert_int_equal(jk_store_notice_size(s, SRC_A, &size), JK_OK);
  assert_int_equal(size, 3);
  jk_store_close(s);

  /* append-only in the database itself: only setting enc to NULL passes */
  /* (on the scrubbed rows, so that only the column under test can trip the trigger) */
  raw_execf(f, TU_RAW_CONSTRAINT, "UPDATE notice_log SET leaf = %s WHERE enc IS NULL", blob("00"));
  raw_execf(f, TU_RAW_CONSTRAINT, "UPDATE notice_log SET enc = %s WHERE code = '%s'", blob("01"), CODE1);
  raw_exec(f, "UPDATE notice_log SET code = '11111111111' WHERE enc IS NULL", TU_RAW_CONSTRAINT);
  raw_exec(f, "UPDATE notice_log SET seq = seq + 10 WHERE enc IS NULL", TU_RAW_CONSTRAINT);
  raw_exec(f, "UPDATE notice_log SET source = 'x' WHERE enc IS NULL", TU_RAW_CONSTRAINT);
  raw_exec(f, "DELETE FROM notice_log", TU_RAW_CONSTRAINT);
  raw_exec(f, "UPDATE notice_log SET enc = NULL", TU_RAW_OK);
  if (tu_is_pg()) raw_exec(f, "TRUNCATE notice_log", TU_RAW_CONSTRAINT);
}

static void test_notice_corrupt(void **state) {
  fx *f = *state;
  jk_store *s = with_notices(f);
  jk_store_close(s);
  drop_trigger(f, "notice_log_append_only_u", "notice_log");
  seen_rows v = {0};
  uint8_t leaves[3][32];
  struct {
    const char *set, *field;
  } cases[] = {
      {"leaf = x", "leaf"}, /* a 31-byte leaf */
      {"enc = e", "enc"},   /* an empty encoding */
      {"code = '1234567890'", "code"},
      {"code = '1234567890x'", "code"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char sql[400];
    const char *set = cases[i].set;
    if (strcmp(set, "leaf = x") == 0)
      snprintf(sql, sizeof sql, "UPDATE notice_log SET leaf = %s WHERE seq = 2",
               blob("00000000000000000000000000000000000000000000000000000000000000"));
    else if (strcmp(set, "enc = e") == 0)
      snprintf(sql, sizeof sql, "UPDATE notice_log SET enc = %s WHERE seq = 2", blob(""));
    else
      snprintf(sql, sizeof sql, "UPDATE notice_log SET %s WHERE seq = 2 AND source = '%s'", set, SRC_A);
    /* each case on a fresh copy of the row: put it back first */
    raw_execf(f, TU_RAW_OK, "UPDATE notice_log SET leaf = %s, enc = %s, code = '%s' WHERE seq = 2 AND source = '%s'",
              blob("2a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849"), blob("01"), CODE2, SRC_A);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    memset(&v, 0, sizeof v);
    if (jk_store_notice_each(s, SRC_A, 1, 0, seen_cb, &v) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", cases[i].set);
    assert_error_contains(cases[i].field);
    assert_int_equal(v.n, 1); /* the good row before it was handed over */
    if (strcmp(cases[i].field, "leaf") == 0)
      assert_int_equal(jk_store_notice_leaves(s, SRC_A, 0, 3, leaves), JK_ECORRUPT);
    jk_store_close(s);
  }
  /* a seq stored as text (SQLite's dynamic typing) */
  if (!tu_is_pg()) {
    raw_exec(f, "UPDATE notice_log SET seq = 'x' WHERE seq = 3", TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    assert_int_equal(jk_store_notice_by_code(s, CODE1, seen_cb, &v), JK_ECORRUPT);
    jk_store_close(s);
  }
}

static void test_notice_subtree(void **state) {
  fx *f = *state;
  jk_store *s;
  uint8_t h[32], other[32], out[32];
  memset(h, 0xab, sizeof h);
  memset(other, 0xcd, sizeof other);
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 8, 0, h), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 8, 0, h), JK_OK);
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 8, 0, h), JK_OK); /* the same again: a no-op */
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 8, 0, other), JK_ECONFLICT);
  assert_error_contains("different hash");
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_B, 8, 0, other), JK_OK); /* per source */
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 64, 0, h), JK_EINVAL);
  assert_int_equal(jk_store_notice_subtree_put(s, SRC_A, 8, (uint64_t)INT64_MAX + 1, h), JK_EINVAL);
  assert_int_equal(jk_store_notice_subtree_put(s, "no good", 8, 0, h), JK_EINVAL);
  assert_int_equal(jk_store_meta_set(s, "after", "yes"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK); /* the refusal did not abort the transaction */
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_A, 8, 0, out), JK_OK);
  assert_memory_equal(out, h, 32);
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_B, 8, 0, out), JK_OK);
  assert_memory_equal(out, other, 32);
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_A, 8, 1, out), JK_ENOTFOUND);
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_A, 9, 0, out), JK_ENOTFOUND);
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_A, 64, 0, out), JK_EINVAL);
  jk_store_close(s);
  raw_execf(f, TU_RAW_CONSTRAINT, "UPDATE notice_subtree SET hash = %s", blob("00"));
  raw_exec(f, "DELETE FROM notice_subtree", TU_RAW_CONSTRAINT);
  drop_trigger(f, "notice_subtree_append_only_u", "notice_subtree");
  raw_execf(f, TU_RAW_OK, "UPDATE notice_subtree SET hash = %s WHERE source = '%s'", blob("00"), SRC_A);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_notice_subtree_get(s, SRC_A, 8, 0, out), JK_ECORRUPT);
  jk_store_close(s);
}

static jk_sync_head_row head(const char *node, int64_t size, uint8_t root, const char *at, uint8_t sig) {
  jk_sync_head_row h = {.size = size};
  snprintf(h.node, sizeof h.node, "%s", node);
  memset(h.root, root, sizeof h.root);
  snprintf(h.at, sizeof h.at, "%s", at);
  memset(h.sig, sig, sizeof h.sig);
  return h;
}

static jk_agency_rec agency(const char *id, const char *name, const char *purposes, int rate, const char *at) {
  jk_agency_rec a;
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, "%s", id);
  snprintf(a.name, sizeof a.name, "%s", name);
  snprintf(a.purposes, sizeof a.purposes, "%s", purposes);
  a.rate = rate;
  snprintf(a.added_at, sizeof a.added_at, "%s", at);
  return a;
}

typedef struct agency_list {
  char ids[8][64];
  int n;
} agency_list;
static int list_agency(const jk_agency_rec *a, void *payload) {
  agency_list *l = payload;
  if (l->n < 8) snprintf(l->ids[l->n++], 64, "%s", a->id);
  return 0;
}

/* The agency registry (docs/provision.md): register, change, revoke (never again), list; bad
 * rows refused with the field named, nothing written. */
static void test_agency_registry(void **state) {
  fx *f = *state;
  jk_store *s;
  jk_agency_rec out;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_agency_get(s, "mhlw-nenkin", &out), JK_ENOTFOUND);
  jk_agency_rec a = agency("mhlw-nenkin", "厚生労働省及び日本年金機構", "B1-77,B1-74", 500, "2026-11-24T01:00:00.000000Z");
  assert_int_equal(jk_store_agency_put(s, &a), JK_OK);
  jk_agency_rec b = agency("mofa-ryoken", "外務省", "B1-03-2", 50, "2026-11-24T01:05:00.000000Z");
  assert_int_equal(jk_store_agency_put(s, &b), JK_OK);
  assert_int_equal(jk_store_agency_get(s, "mhlw-nenkin", &out), JK_OK);
  assert_string_equal(out.name, "厚生労働省及び日本年金機構");
  assert_string_equal(out.purposes, "B1-77,B1-74");
  assert_int_equal(out.rate, 500);
  assert_string_equal(out.revoked_at, "");
  /* a change keeps the registration time */
  jk_agency_rec a2 = agency("mhlw-nenkin", "厚生労働省及び日本年金機構", "B1-77", 800, "2026-11-25T00:00:00.000000Z");
  assert_int_equal(jk_store_agency_put(s, &a2), JK_OK);
  assert_int_equal(jk_store_agency_get(s, "mhlw-nenkin", &out), JK_OK);
  assert_string_equal(out.purposes, "B1-77");
  assert_int_equal(out.rate, 800);
  assert_string_equal(out.added_at, "2026-11-24T01:00:00.000000Z");
  /* revoked: for good */
  assert_int_equal(jk_store_agency_revoke(s, "mofa-ryoken", "2026-11-24T02:00:00.000000Z"), JK_OK);
  assert_int_equal(jk_store_agency_revoke(s, "mofa-ryoken", "2026-11-24T03:00:00.000000Z"), JK_ECONFLICT);
  assert_error_contains("already revoked at 2026-11-24T02:00:00.000000Z");
  assert_int_equal(jk_store_agency_put(s, &b), JK_ECONFLICT);
  assert_error_contains("never registered again");
  assert_int_equal(jk_store_agency_get(s, "mofa-ryoken", &out), JK_OK);
  assert_string_equal(out.revoked_at, "2026-11-24T02:00:00.000000Z");
  assert_int_equal(jk_store_agency_revoke(s, "nobody", "2026-11-24T02:00:00.000000Z"), JK_ENOTFOUND);
  agency_list l = {0};
  assert_int_equal(jk_store_agency_each(s, list_agency, &l), JK_OK);
  assert_int_equal(l.n, 2);
  assert_string_equal(l.ids[0], "mhlw-nenkin");
  assert_string_equal(l.ids[1], "mofa-ryoken");
  /* bad rows: refused, the field named */
  static const struct {
    const char *id, *name, *purposes;
    int rate;
    const char *field;
  } bad[] = {
      {"", "x", "B1-77", 1, "id"},
      {"has space", "x", "B1-77", 1, "id"},
      {"a1", "", "B1-77", 1, "name"},
      {"a1", "\xff", "B1-77", 1, "name"},
      {"a1", "x", "", 1, "purposes"},
      {"a1", "x", "B1-77,", 1, "purposes"},
      {"a1", "x", "B1-77,B1-77", 1, "purposes"},
      {"a1", "x", "77", 1, "purposes"},
      {"a1", "x", "B1-77;DROP TABLE agency", 1, "purposes"},
      {"a1", "x", "B1-77", 0, "rate"},
      {"a1", "x", "B1-77", 100001, "rate"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jk_agency_rec r = agency(bad[i].id, bad[i].name, bad[i].purposes, bad[i].rate, "2026-11-24T01:00:00.000000Z");
    if (jk_store_agency_put(s, &r) != JK_EINVAL) fail_msg("bad agency row %zu accepted", i);
    assert_error_contains(bad[i].field);
  }
  jk_agency_rec r = agency("a1", "x", "B1-77", 1, "");
  assert_int_equal(jk_store_agency_put(s, &r), JK_EINVAL);
  assert_error_contains("added_at");
  assert_int_equal(jk_store_agency_get(s, "a1", &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_agency_get(s, "", &out), JK_EINVAL);
  assert_int_equal(jk_store_agency_revoke(s, "mhlw-nenkin", ""), JK_EINVAL);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM agency"), 2);
}

static void test_outbox_heads(void **state) {
  fx *f = *state;
  jk_store *s;
  jk_sync_head_row out;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_outbox_head_latest(s, SRC_A, &out), JK_ENOTFOUND);
  jk_sync_head_row h = head(SRC_A, 5, 0x11, "2026-11-23T01:00:00.000000Z", 0x21);
  assert_int_equal(jk_store_outbox_head_put(s, &h), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_outbox_head_put(s, &h), JK_OK);
  /* the same head signed again later: one row, the newer time and signature */
  jk_sync_head_row later = head(SRC_A, 5, 0x11, "2026-11-23T02:00:00.000000Z", 0x22);
  assert_int_equal(jk_store_outbox_head_put(s, &later), JK_OK);
  jk_sync_head_row earlier = head(SRC_A, 5, 0x11, "2026-11-23T00:30:00.000000Z", 0x23);
  assert_int_equal(jk_store_outbox_head_put(s, &earlier), JK_OK); /* older: kept as it is */
  assert_int_equal(jk_store_outbox_head_put(s, &later), JK_OK);   /* the same: a no-op */
  /* a different root for the same size: refused, and the transaction goes on */
  jk_sync_head_row forked = head(SRC_A, 5, 0x12, "2026-11-23T03:00:00.000000Z", 0x24);
  assert_int_equal(jk_store_outbox_head_put(s, &forked), JK_ECONFLICT);
  assert_error_contains("different root");
  jk_sync_head_row bigger = head(SRC_A, 9, 0x13, "2026-11-23T01:30:00.000000Z", 0x25);
  assert_int_equal(jk_store_outbox_head_put(s, &bigger), JK_OK);
  jk_sync_head_row b = head(SRC_B, 50, 0x14, "2026-11-23T01:30:00.000000Z", 0x26);
  assert_int_equal(jk_store_outbox_head_put(s, &b), JK_OK);
  jk_sync_head_row bad = head("bad node", 1, 0, "2026-11-23T01:30:00.000000Z", 0);
  assert_int_equal(jk_store_outbox_head_put(s, &bad), JK_EINVAL);
  bad = head(SRC_A, -1, 0, "2026-11-23T01:30:00.000000Z", 0);
  assert_int_equal(jk_store_outbox_head_put(s, &bad), JK_EINVAL);
  bad = head(SRC_A, 1, 0, "", 0);
  assert_int_equal(jk_store_outbox_head_put(s, &bad), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);

  assert_int_equal(jk_store_outbox_head_latest(s, SRC_A, &out), JK_OK);
  assert_string_equal(out.node, SRC_A);
  assert_int_equal(out.size, 9);
  assert_int_equal(out.root[0], 0x13);
  assert_int_equal(out.sig[63], 0x25);
  assert_int_equal(jk_store_outbox_head_latest(s, SRC_B, &out), JK_OK);
  assert_int_equal(out.size, 50);
  assert_int_equal(jk_store_outbox_head_latest(s, "nobody", &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_outbox_head_latest(s, "", &out), JK_EINVAL);
  /* the first head at or after a size: 5 for 1 .. 5, 9 for 6 .. 9, none after */
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_A, 1, &out), JK_OK);
  assert_int_equal(out.size, 5);
  assert_int_equal(out.sig[63], 0x22);
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_A, 5, &out), JK_OK);
  assert_int_equal(out.size, 5);
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_A, 6, &out), JK_OK);
  assert_int_equal(out.size, 9);
  assert_int_equal(out.root[0], 0x13);
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_A, 10, &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_B, 10, &out), JK_OK);
  assert_int_equal(out.size, 50);
  assert_int_equal(jk_store_outbox_head_at_least(s, SRC_A, 0, &out), JK_EINVAL);
  assert_int_equal(jk_store_outbox_head_at_least(s, "", 1, &out), JK_EINVAL);
  jk_store_close(s);
  /* size 5 kept one row, with the newest time and signature */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM outbox_head WHERE size = 5"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM outbox_head WHERE size = 5 AND at = '2026-11-23T02:00:00.000000Z'"),
                   1);
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox_head WHERE size = 5 AND sig = %s",
           blob("22222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222"
                "222222222222222222222222222222"));
  assert_int_equal(raw_count(f, sql), 1);
  /* the root of a signed head is never rewritten; a malformed row is found */
  raw_execf(f, TU_RAW_CONSTRAINT, "UPDATE outbox_head SET root = %s", blob("00"));
  raw_exec(f, "DELETE FROM outbox_head", TU_RAW_CONSTRAINT);
  raw_execf(f, TU_RAW_OK, "UPDATE outbox_head SET sig = %s WHERE size = 9", blob("0102"));
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_outbox_head_latest(s, SRC_A, &out), JK_ECORRUPT);
  assert_int_equal(jk_store_outbox_head_latest(s, SRC_B, &out), JK_OK);
  jk_store_close(s);
}

static jk_holding_rec holding(const char *code, const char *source, int64_t seq, int version) {
  jk_holding_rec r = {.seq = seq, .version = version};
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.source, sizeof r.source, "%s", source);
  snprintf(r.name, sizeof r.name, "%s", "山田　太郎");
  snprintf(r.kana, sizeof r.kana, "%s", "ヤマダ　タロウ");
  snprintf(r.address, sizeof r.address, "%s", "大阪府枚方市大垣内町2丁目1番20号");
  r.birth = (jk_date){1980, 1, 2};
  r.moved_on = (jk_date){2026, 11, 1};
  r.sex = JK_SEX_MALE;
  r.reason = JK_MOVE_IN;
  r.status = JK_STATUS_ACTIVE;
  return r;
}

typedef struct seen_holdings {
  int n;
  char keys[8][80];
} seen_holdings;

static int holding_cb(const jk_holding_rec *r, void *p) {
  seen_holdings *v = p;
  if (v->n >= 8) return 1;
  snprintf(v->keys[v->n++], 80, "%s/%s/%d", r->code, r->source, r->version);
  return 0;
}

static void test_holdings(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_holding_rec a1 = holding(CODE1, SRC_A, 1, 1), b1 = holding(CODE1, SRC_B, 4, 3), a2 = holding(CODE2, SRC_A, 2, 1);
  assert_int_equal(jk_store_holding_put(s, &a1), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put(s, &a1), JK_OK);
  assert_int_equal(jk_store_holding_put(s, &b1), JK_OK);
  assert_int_equal(jk_store_holding_put(s, &a2), JK_OK);
  /* an upsert: the row of (code, source) replaced */
  jk_holding_rec a1v2 = holding(CODE1, SRC_A, 3, 2);
  snprintf(a1v2.address, sizeof a1v2.address, "%s", "大阪府枚方市岡東町12番5号");
  a1v2.reason = JK_MOVE_CODE_CHANGE;
  snprintf(a1v2.prev_code, sizeof a1v2.prev_code, "%s", "11111111111");
  assert_int_equal(jk_store_holding_put(s, &a1v2), JK_OK);
  /* an erased record: content cleared, the fact kept */
  jk_holding_rec gone = {.seq = 7, .version = 0, .status = JK_HOLDING_ERASED, .moved_on = {2026, 11, 20}};
  snprintf(gone.code, sizeof gone.code, "%s", "55555555555");
  snprintf(gone.source, sizeof gone.source, "%s", SRC_B);
  assert_int_equal(jk_store_holding_put(s, &gone), JK_OK);
  /* refused */
  jk_holding_rec bad = a2;
  bad.sex = JK_SEX_NONE; /* only an erased record has no sex */
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  assert_error_contains("sex");
  bad = a2;
  bad.birth = (jk_date){1980, 2, 30};
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  assert_error_contains("birth");
  bad = a2;
  bad.status = 5;
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  bad.reason = JK_MOVE__COUNT;
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  snprintf(bad.code, sizeof bad.code, "%s", "1234");
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  snprintf(bad.source, sizeof bad.source, "%s", "with space");
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  bad.seq = 0;
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  bad.name[0] = '\0';
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  bad = a2;
  snprintf(bad.prev_code, sizeof bad.prev_code, "%s", "12");
  assert_int_equal(jk_store_holding_put(s, &bad), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);

  jk_holding_rec got;
  assert_int_equal(jk_store_holding_get(s, CODE1, SRC_A, &got), JK_OK);
  assert_int_equal(got.version, 2);
  assert_int_equal(got.seq, 3);
  assert_string_equal(got.address, "大阪府枚方市岡東町12番5号");
  assert_string_equal(got.prev_code, "11111111111");
  assert_string_equal(got.name, "山田　太郎");
  assert_int_equal(got.birth.y, 1980);
  assert_int_equal(got.moved_on.m, 11);
  assert_int_equal(got.sex, JK_SEX_MALE);
  assert_int_equal(got.reason, JK_MOVE_CODE_CHANGE);
  assert_int_equal(got.status, JK_STATUS_ACTIVE);
  assert_int_equal(jk_store_holding_get(s, CODE2, SRC_A, &got), JK_OK);
  assert_string_equal(got.prev_code, "");
  assert_int_equal(jk_store_holding_get(s, "55555555555", SRC_B, &got), JK_OK);
  assert_int_equal(got.status, JK_HOLDING_ERASED);
  assert_int_equal(got.birth.y, 0);
  assert_int_equal(got.sex, JK_SEX_NONE);
  assert_string_equal(got.name, "");
  assert_int_equal(jk_store_holding_get(s, CODE2, SRC_B, &got), JK_ENOTFOUND);
  assert_int_equal(jk_store_holding_get(s, CODE2, "bad id", &got), JK_EINVAL);

  /* (code, source) in byte order; filters */
  seen_holdings v = {0};
  assert_int_equal(jk_store_holding_each(s, NULL, NULL, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 4);
  assert_string_equal(v.keys[0], CODE2 "/" SRC_A "/1");
  assert_string_equal(v.keys[1], CODE1 "/" SRC_B "/3");
  assert_string_equal(v.keys[2], CODE1 "/" SRC_A "/2");
  assert_string_equal(v.keys[3], "55555555555/" SRC_B "/0");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_each(s, CODE1, NULL, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.keys[0], CODE1 "/" SRC_B "/3");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_each(s, NULL, SRC_B, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.keys[0], CODE1 "/" SRC_B "/3");
  assert_string_equal(v.keys[1], "55555555555/" SRC_B "/0");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_each(s, CODE1, SRC_A, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(jk_store_holding_each(s, "12", NULL, holding_cb, &v), JK_EINVAL);

  int64_t n = -1;
  assert_int_equal(jk_store_holding_count(s, NULL, 0, &n), JK_OK);
  assert_int_equal(n, 4);
  assert_int_equal(jk_store_holding_count(s, SRC_B, 0, &n), JK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(jk_store_holding_count(s, NULL, JK_HOLDING_ERASED, &n), JK_OK);
  assert_int_equal(n, 1);
  assert_int_equal(jk_store_holding_count(s, SRC_A, JK_STATUS_ACTIVE, &n), JK_OK);
  assert_int_equal(n, 2);
  assert_int_equal(jk_store_holding_count(s, SRC_A, JK_STATUS_REMOVED, &n), JK_OK);
  assert_int_equal(n, 0);
  assert_int_equal(jk_store_holding_count(s, NULL, 7, &n), JK_EINVAL);

  assert_int_equal(jk_store_holding_delete(s, CODE2, SRC_A), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_delete(s, CODE2, SRC_A), JK_OK);
  assert_int_equal(jk_store_holding_delete(s, CODE2, SRC_A), JK_ENOTFOUND);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_holding_get(s, CODE2, SRC_A, &got), JK_ENOTFOUND);
  jk_store_close(s);

  /* rows edited by hand */
  const char *edits[][2] = {
      {"birth = '1980-02-30'", "birth"},
      {"birth = NULL", "birth"}, /* only an erased record has no birth date */
      {"status = 5", "status"},
      {"sex = 0", "sex"},
      {"reason = 10", "reason"},
      {"code = '1234567890'", "code"},
      {"version = 0", "version"},
      {"prev_code = '123'", "prev_code"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE holding SET birth = '1980-01-02', status = 1, sex = 1, reason = 1, code = '%s', version = 2, "
             "prev_code = NULL WHERE source = '%s' AND seq = 3",
             CODE1, SRC_A);
    raw_exec(f, sql, TU_RAW_OK);
    snprintf(sql, sizeof sql, "UPDATE holding SET %s WHERE source = '%s' AND seq = 3", edits[i][0], SRC_A);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    memset(&v, 0, sizeof v);
    if (jk_store_holding_each(s, NULL, SRC_A, holding_cb, &v) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", edits[i][0]);
    assert_error_contains(edits[i][1]);
    jk_store_close(s);
  }
}

static jk_provision_rec prow(const char *at, const char *agency, const char *purpose, const char *code,
                            const char *fields, const char *result, uint8_t q) {
  jk_provision_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.at, sizeof r.at, "%s", at);
  snprintf(r.agency, sizeof r.agency, "%s", agency);
  snprintf(r.purpose, sizeof r.purpose, "%s", purpose);
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.fields, sizeof r.fields, "%s", fields);
  snprintf(r.result, sizeof r.result, "%s", result);
  for (size_t i = 0; i < sizeof r.query; i++) r.query[i] = (uint8_t)(q + i);
  return r;
}

typedef struct seen_provision {
  int n, stop_after;
  int64_t ids[8];
  jk_provision_rec rows[8];
} seen_provision;

static int provision_cb(const jk_provision_rec *r, void *p) {
  seen_provision *v = p;
  if (v->n < 8) {
    v->ids[v->n] = r->id;
    v->rows[v->n] = *r;
  }
  v->n++;
  return v->stop_after && v->n >= v->stop_after;
}

static int provision_count_cb(const jk_provision_rec *r, void *p) {
  int64_t *last = p;
  if (r->id <= last[0]) fail_msg("provision ids out of order: %lld after %lld", (long long)r->id, (long long)last[0]);
  last[0] = r->id;
  last[1]++;
  return 0;
}

/* Provision records (docs/provision.md): appended in order with increasing ids, with or without
 * the caller's transaction; read back all or by resident code, in id order; a malformed row
 * refuses the whole call; append-only; a row edited by hand is JK_ECORRUPT. */
static void test_provision_log(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, NULL, 0), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, NULL, 1), JK_EINVAL);
  /* outside a transaction: one of its own. The agency id has a quote and a backslash (printable
   * ASCII, as a certificate identity may be): they must arrive byte for byte. */
  jk_provision_rec a[3] = {
      prow("2026-11-24T01:00:00.000000Z", "mhlw-nenkin", "B1-77", CODE1, "name,birth,address", "ok", 0x10),
      prow("2026-11-24T01:00:01.000000Z", "a\"b\\c", "B1-77", "", "", "NOTFOUND", 0x20),
      prow("2026-11-24T01:00:02.000000Z", "mhlw-nenkin", "", "", "", "INVALID", 0x30),
  };
  assert_int_equal(jk_store_provision_put_many(s, a, 3), JK_OK);
  assert_true(a[0].id > 0);
  assert_true(a[1].id > a[0].id);
  assert_true(a[2].id > a[1].id);
  /* inside one: committed with it */
  jk_provision_rec b[2] = {
      prow("2026-11-24T02:00:00.000000Z", "mofa-ryoken", "B1-03-2", CODE2, "name,sex,code,change", "ok", 0x40),
      prow("2026-11-24T02:00:01.000000Z", "mofa-ryoken", "B1-03-2", CODE1, "", "PERM", 0x50),
  };
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, b, 2), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(b[0].id > a[2].id);
  assert_true(b[1].id > b[0].id);
  /* rolled back with the transaction */
  jk_provision_rec c = prow("2026-11-24T03:00:00.000000Z", "mhlw-nenkin", "B1-77", CODE1, "", "BUSY", 0x60);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, &c, 1), JK_OK);
  jk_store_rollback(s);

  seen_provision v = {0};
  assert_int_equal(jk_store_provision_each(s, NULL, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 5);
  assert_int_equal(v.ids[0], a[0].id);
  assert_int_equal(v.ids[1], a[1].id);
  assert_int_equal(v.ids[2], a[2].id);
  assert_int_equal(v.ids[3], b[0].id);
  assert_int_equal(v.ids[4], b[1].id);
  assert_string_equal(v.rows[0].at, "2026-11-24T01:00:00.000000Z");
  assert_string_equal(v.rows[0].agency, "mhlw-nenkin");
  assert_string_equal(v.rows[0].purpose, "B1-77");
  assert_string_equal(v.rows[0].code, CODE1);
  assert_string_equal(v.rows[0].fields, "name,birth,address");
  assert_string_equal(v.rows[0].result, "ok");
  assert_memory_equal(v.rows[0].query, a[0].query, 32);
  assert_string_equal(v.rows[1].agency, "a\"b\\c");
  assert_string_equal(v.rows[1].code, "");
  assert_string_equal(v.rows[1].result, "NOTFOUND");
  assert_memory_equal(v.rows[1].query, a[1].query, 32);
  assert_string_equal(v.rows[2].purpose, "");
  assert_string_equal(v.rows[3].fields, "name,sex,code,change");
  /* by code, in id order; a callback may stop */
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_provision_each(s, CODE1, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.ids[0], a[0].id);
  assert_int_equal(v.ids[1], b[1].id);
  assert_string_equal(v.rows[1].result, "PERM");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_provision_each(s, CODE2, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(v.ids[0], b[0].id);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_provision_each(s, "55555555555", provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  v = (seen_provision){.stop_after = 2};
  assert_int_equal(jk_store_provision_each(s, NULL, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_int_equal(jk_store_provision_each(s, "1234", provision_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_provision_each(s, NULL, NULL, NULL), JK_EINVAL);

  /* malformed rows: the call refused, the field named, nothing inserted (also not the good row
   * before it), no id handed out */
  static const struct {
    const char *at, *agency, *purpose, *code, *fields, *result, *field;
  } bad[] = {
      {"", "mhlw-nenkin", "B1-77", CODE1, "name", "ok", "at"},
      {"2026-11-24 01:00", "mhlw-nenkin", "B1-77", CODE1, "name", "ok", "at"},
      {"2026-11-24T01:00:00Z", "", "B1-77", CODE1, "name", "ok", "agency"},
      {"2026-11-24T01:00:00Z", "has space", "B1-77", CODE1, "name", "ok", "agency"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "77", CODE1, "name", "ok", "purpose"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77;x", CODE1, "name", "ok", "purpose"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", "1234", "name", "ok", "code"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", "1234567890a", "name", "ok", "code"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "nam", "ok", "fields"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "name,name", "ok", "fields"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "name,", "ok", "fields"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "name", "", "result"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "name", "OK", "result"},
      {"2026-11-24T01:00:00Z", "mhlw-nenkin", "B1-77", CODE1, "name", "DENIED", "result"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jk_provision_rec two[2] = {
        prow("2026-11-24T04:00:00.000000Z", "mhlw-nenkin", "B1-77", CODE1, "name", "ok", 0x70),
        prow(bad[i].at, bad[i].agency, bad[i].purpose, bad[i].code, bad[i].fields, bad[i].result, 0x71),
    };
    if (jk_store_provision_put_many(s, two, 2) != JK_EINVAL) fail_msg("bad provision row %zu accepted", i);
    assert_error_contains(bad[i].field);
    assert_error_contains("record 1");
    assert_int_equal(two[0].id, 0);
  }
  /* a field without its NUL */
  jk_provision_rec full = prow("2026-11-24T04:00:00.000000Z", "mhlw-nenkin", "B1-77", CODE1, "name", "ok", 0);
  memset(full.agency, 'x', sizeof full.agency);
  assert_int_equal(jk_store_provision_put_many(s, &full, 1), JK_EINVAL);
  assert_error_contains("agency");
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision"), 5);

  /* many rows: more than one PostgreSQL statement and more than one page of reads */
  enum { MANY = 4500 };
  jk_provision_rec *many = calloc(MANY, sizeof *many);
  for (int i = 0; i < MANY; i++)
    many[i] = prow("2026-11-25T00:00:00.000000Z", "mhlw-nenkin", "B1-77", i % 2 ? CODE1 : "", "", "ok", (uint8_t)i);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, many, MANY), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  for (int i = 0; i < MANY; i++)
    if (many[i].id <= (i ? many[i - 1].id : b[1].id)) fail_msg("id %d not increasing", i);
  int64_t last[2] = {0, 0};
  assert_int_equal(jk_store_provision_each(s, NULL, provision_count_cb, last), JK_OK);
  assert_int_equal(last[1], 5 + MANY);
  assert_int_equal(last[0], many[MANY - 1].id);
  last[0] = last[1] = 0;
  assert_int_equal(jk_store_provision_each(s, CODE1, provision_count_cb, last), JK_OK);
  assert_int_equal(last[1], 2 + MANY / 2);
  /* the row at a given id is the one put there */
  memset(&v, 0, sizeof v);
  v.stop_after = 8;
  assert_int_equal(jk_store_provision_each(s, CODE1, provision_cb, &v), JK_OK);
  assert_int_equal(v.ids[2], many[1].id);
  assert_memory_equal(v.rows[2].query, many[1].query, 32);
  assert_int_equal(v.ids[7], many[11].id);
  assert_memory_equal(v.rows[7].query, many[11].query, 32);
  free(many);
  jk_store_close(s);

  /* append-only */
  raw_exec(f, "UPDATE provision SET result = 'ok'", TU_RAW_CONSTRAINT);
  raw_exec(f, "DELETE FROM provision", TU_RAW_CONSTRAINT);
  if (tu_is_pg()) raw_exec(f, "TRUNCATE provision", TU_RAW_CONSTRAINT);
  /* edited by hand anyway: found */
  drop_trigger(f, "provision_append_only_u", "provision");
  const char *edits[][2] = {
      {"result = 'DENIED'", "result"},
      {"fields = 'name,nope'", "fields"},
      {"code = '123'", "code"},
      {"purpose = 'X'", "purpose"},
      {"agency = ''", "agency"},
      {"at = ''", "at"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE provision SET at = '2026-11-24T02:00:00.000000Z', agency = 'mofa-ryoken', purpose = 'B1-03-2', "
             "code = '%s', fields = '', result = 'PERM' WHERE id = %lld",
             CODE1, (long long)b[1].id);
    raw_exec(f, sql, TU_RAW_OK);
    snprintf(sql, sizeof sql, "UPDATE provision SET %s WHERE id = %lld", edits[i][0], (long long)b[1].id);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    memset(&v, 0, sizeof v);
    if (jk_store_provision_each(s, NULL, provision_cb, &v) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", edits[i][0]);
    assert_error_contains(edits[i][1]);
    jk_store_close(s);
  }
  raw_execf(f, TU_RAW_OK, "UPDATE provision SET result = 'PERM', query = %s WHERE id = %lld", blob("0102"),
            (long long)b[1].id);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_provision_each(s, CODE1, provision_cb, &v), JK_ECORRUPT);
  assert_error_contains("query");
  jk_store_close(s);
}

/* A node.db of schema 6 gains the provision records and the holdings' person index. */
static void test_upgrade_adds_provision_log(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk__store_open_at_version(&s, f->path, 6), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 6);
  jk_holding_rec h = holding(CODE1, SRC_A, 1, 1);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put(s, &h), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM provision", TU_RAW_ERROR);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  seen_holdings v = {0};
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_MALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  jk_provision_rec r = prow("2026-11-24T01:00:00.000000Z", "mhlw-nenkin", "B1-77", CODE1, "name", "ok", 1);
  assert_int_equal(jk_store_provision_put_many(s, &r, 1), JK_OK);
  assert_true(r.id > 0);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision"), 1);
}

/* ---- the residents' side (0008) ---- */

#define T1 "2026-11-24T01:00:00.000000Z"
#define T2 "2026-11-24T02:00:00.000000Z"

static jk_request_rec request(const char *code, const char *kind, const char *purposes, const char *note) {
  jk_request_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.kind, sizeof r.kind, "%s", kind);
  snprintf(r.channel, sizeof r.channel, "%s", "letter");
  r.filed_on = (jk_date){2026, 11, 20};
  snprintf(r.recorded_at, sizeof r.recorded_at, "%s", T1);
  snprintf(r.recorded_by, sizeof r.recorded_by, "%s", "clerk01");
  snprintf(r.policy, sizeof r.policy, "%s", "resident-choice");
  snprintf(r.purposes, sizeof r.purposes, "%s", purposes);
  snprintf(r.note, sizeof r.note, "%s", note);
  return r;
}

typedef struct seen_requests {
  int n, stop_after;
  int64_t ids[8];
  jk_request_rec rows[8];
} seen_requests;

static int request_cb(const jk_request_rec *r, void *p) {
  seen_requests *v = p;
  if (v->n < 8) {
    v->ids[v->n] = r->id;
    v->rows[v->n] = *r;
  }
  v->n++;
  return v->stop_after && v->n >= v->stop_after;
}

/* Requests are recorded as filed, decided once, listed by code or all in id order; malformed
 * ones are refused with the field named; the database refuses changes and deletions. */
static void test_resident_requests(void **state) {
  fx *f = *state;
  jk_store *s;
  jk_request_rec out;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_request_rec a = request(CODE1, "opt-out", "", "本人が窓口で提出");
  assert_int_equal(jk_store_request_add(s, &a), JK_ECONFLICT); /* no transaction */
  assert_int_equal(a.id, 0);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_request_add(s, &a), JK_OK);
  jk_request_rec b = request(CODE1, "stop-use", "B1-77,B1-74", "");
  snprintf(b.channel, sizeof b.channel, "%s", "fax");
  assert_int_equal(jk_store_request_add(s, &b), JK_OK);
  jk_request_rec c = request(CODE2, "opt-out", "", "");
  snprintf(c.policy, sizeof c.policy, "%s", "statutory");
  snprintf(c.decision, sizeof c.decision, "%s", "recorded"); /* decided as it is recorded */
  snprintf(c.decided_at, sizeof c.decided_at, "%s", T1);
  snprintf(c.decided_by, sizeof c.decided_by, "%s", "clerk01");
  snprintf(c.reason, sizeof c.reason, "%s", "statutory: 住民基本台帳法第30条の6");
  assert_int_equal(jk_store_request_add(s, &c), JK_OK);
  jk_request_rec d = request(CODE2, "consent", "", "");
  snprintf(d.channel, sizeof d.channel, "%s", "counter");
  assert_int_equal(jk_store_request_add(s, &d), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(a.id > 0);
  assert_true(b.id > a.id);
  assert_true(c.id > b.id);
  assert_true(d.id > c.id);

  assert_int_equal(jk_store_request_get(s, b.id, &out), JK_OK);
  assert_int_equal(out.id, b.id);
  assert_string_equal(out.code, CODE1);
  assert_string_equal(out.kind, "stop-use");
  assert_string_equal(out.channel, "fax");
  assert_int_equal(out.filed_on.y, 2026);
  assert_int_equal(out.filed_on.m, 11);
  assert_int_equal(out.filed_on.d, 20);
  assert_string_equal(out.recorded_at, T1);
  assert_string_equal(out.recorded_by, "clerk01");
  assert_string_equal(out.policy, "resident-choice");
  assert_string_equal(out.purposes, "B1-77,B1-74");
  assert_string_equal(out.decision, "");
  assert_string_equal(out.decided_at, "");
  assert_int_equal(jk_store_request_get(s, c.id, &out), JK_OK);
  assert_string_equal(out.decision, "recorded");
  assert_string_equal(out.reason, "statutory: 住民基本台帳法第30条の6");
  assert_int_equal(jk_store_request_get(s, a.id, &out), JK_OK);
  assert_string_equal(out.note, "本人が窓口で提出");
  assert_int_equal(jk_store_request_get(s, d.id + 100, &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_request_get(s, 0, &out), JK_ENOTFOUND);

  /* decided once: a second decision is a conflict, and the transaction goes on */
  assert_int_equal(jk_store_request_decide(s, a.id, "accepted", T2, "chief02", "held back"), JK_ECONFLICT);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_request_decide(s, a.id, "accepted", T2, "chief02", "held back"), JK_OK);
  assert_int_equal(jk_store_request_decide(s, a.id, "rejected", T2, "chief02", NULL), JK_ECONFLICT);
  assert_error_contains("already decided (accepted at " T2 ")");
  assert_int_equal(jk_store_request_decide(s, c.id, "accepted", T2, "chief02", NULL), JK_ECONFLICT);
  assert_int_equal(jk_store_request_decide(s, d.id + 100, "accepted", T2, "chief02", NULL), JK_ENOTFOUND);
  assert_int_equal(jk_store_request_decide(s, d.id, "maybe", T2, "chief02", NULL), JK_EINVAL);
  assert_error_contains("decision");
  assert_int_equal(jk_store_request_decide(s, d.id, "", T2, "chief02", NULL), JK_EINVAL);
  assert_int_equal(jk_store_request_decide(s, d.id, NULL, T2, "chief02", NULL), JK_EINVAL);
  assert_int_equal(jk_store_request_decide(s, d.id, "accepted", "", "chief02", NULL), JK_EINVAL);
  assert_error_contains("decided_at");
  assert_int_equal(jk_store_request_decide(s, d.id, "accepted", T2, "has space", NULL), JK_EINVAL);
  assert_error_contains("decided_by");
  assert_int_equal(jk_store_request_decide(s, d.id, "accepted", T2, "chief02", "two\nlines"), JK_EINVAL);
  assert_error_contains("reason");
  assert_int_equal(jk_store_meta_set(s, "after", "yes"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_request_get(s, a.id, &out), JK_OK);
  assert_string_equal(out.decision, "accepted");
  assert_string_equal(out.decided_at, T2);
  assert_string_equal(out.decided_by, "chief02");
  assert_string_equal(out.reason, "held back");
  assert_string_equal(out.note, "本人が窓口で提出"); /* the rest as filed */
  assert_string_equal(out.recorded_at, T1);
  assert_int_equal(jk_store_request_get(s, d.id, &out), JK_OK);
  assert_string_equal(out.decision, ""); /* the refused decisions left it pending */

  /* by code and all, in id order; a callback may stop */
  seen_requests v = {0};
  assert_int_equal(jk_store_request_each(s, CODE1, request_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.ids[0], a.id);
  assert_int_equal(v.ids[1], b.id);
  assert_string_equal(v.rows[1].purposes, "B1-77,B1-74");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_request_each(s, CODE2, request_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.ids[0], c.id);
  assert_int_equal(v.ids[1], d.id);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_request_each(s, NULL, request_cb, &v), JK_OK);
  assert_int_equal(v.n, 4);
  for (int i = 1; i < 4; i++) assert_true(v.ids[i] > v.ids[i - 1]);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_request_each(s, "55555555555", request_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  v = (seen_requests){.stop_after = 1};
  assert_int_equal(jk_store_request_each(s, NULL, request_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(jk_store_request_each(s, "1234", request_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_request_each(s, NULL, NULL, NULL), JK_EINVAL);

  /* malformed: refused with the field named, nothing inserted, no id */
  static const struct {
    const char *set, *value, *field;
  } bad[] = {
      {"code", "1234", "code"},
      {"code", "1234567890a", "code"},
      {"kind", "optout", "kind"},
      {"kind", "", "kind"},
      {"channel", "email", "channel"},
      {"filed_on", "2026-02-30", "filed_on"},
      {"filed_on", "", "filed_on"},
      {"recorded_at", "", "recorded_at"},
      {"recorded_at", "2026-11-24 01:00", "recorded_at"},
      {"recorded_by", "", "recorded_by"},
      {"recorded_by", "has space", "recorded_by"},
      {"policy", "opt-in", "policy"},
      {"purposes", "B1-77", "purposes"},          /* not a stop-use */
      {"stop-use purposes", "", "purposes"},      /* a stop-use names its purposes */
      {"stop-use purposes", "B1-77,B1-77", "purposes"},
      {"stop-use purposes", "B1-77,", "purposes"},
      {"stop-use purposes", "77", "purposes"},
      {"note", "two\nlines", "note"},
      {"note", "tab\there", "note"},
      {"note", "del\x7f", "note"},
      {"note", "c1 \xc2\x85", "note"},
      {"note", "\xff", "note"},
      {"decision", "maybe", "decision"},
      {"pending decided_at", T2, "decided_at"},
      {"pending decided_by", "chief02", "decided_by"},
      {"pending reason", "why", "reason"},
      {"accepted without decided_at", "", "decided_at"},
      {"accepted without decided_by", "", "decided_by"},
      {"accepted reason", "bell\a", "reason"},
  };
  assert_int_equal(jk_store_begin(s), JK_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jk_request_rec r = request(CODE1, "opt-out", "", "");
    const char *set = bad[i].set, *val = bad[i].value;
    if (strcmp(set, "code") == 0) snprintf(r.code, sizeof r.code, "%s", val);
    else if (strcmp(set, "kind") == 0) snprintf(r.kind, sizeof r.kind, "%s", val);
    else if (strcmp(set, "channel") == 0) snprintf(r.channel, sizeof r.channel, "%s", val);
    else if (strcmp(set, "filed_on") == 0) r.filed_on = *val ? (jk_date){2026, 2, 30} : (jk_date){0, 0, 0};
    else if (strcmp(set, "recorded_at") == 0) snprintf(r.recorded_at, sizeof r.recorded_at, "%s", val);
    else if (strcmp(set, "recorded_by") == 0) snprintf(r.recorded_by, sizeof r.recorded_by, "%s", val);
    else if (strcmp(set, "policy") == 0) snprintf(r.policy, sizeof r.policy, "%s", val);
    else if (strcmp(set, "purposes") == 0) snprintf(r.purposes, sizeof r.purposes, "%s", val);
    else if (strcmp(set, "stop-use purposes") == 0) {
      snprintf(r.kind, sizeof r.kind, "%s", "stop-use");
      snprintf(r.purposes, sizeof r.purposes, "%s", val);
    } else if (strcmp(set, "note") == 0) snprintf(r.note, sizeof r.note, "%s", val);
    else if (strcmp(set, "decision") == 0) snprintf(r.decision, sizeof r.decision, "%s", val);
    else if (strcmp(set, "pending decided_at") == 0) snprintf(r.decided_at, sizeof r.decided_at, "%s", val);
    else if (strcmp(set, "pending decided_by") == 0) snprintf(r.decided_by, sizeof r.decided_by, "%s", val);
    else if (strcmp(set, "pending reason") == 0) snprintf(r.reason, sizeof r.reason, "%s", val);
    else {
      snprintf(r.decision, sizeof r.decision, "%s", "accepted");
      snprintf(r.decided_at, sizeof r.decided_at, "%s", strstr(set, "decided_at") ? val : T2);
      snprintf(r.decided_by, sizeof r.decided_by, "%s", strstr(set, "decided_by") ? val : "chief02");
      snprintf(r.reason, sizeof r.reason, "%s", strstr(set, "reason") ? val : "");
    }
    r.id = 77;
    if (jk_store_request_add(s, &r) != JK_EINVAL) fail_msg("bad request %zu (%s) accepted", i, set);
    assert_error_contains(bad[i].field);
    assert_int_equal(r.id, 0);
  }
  /* a field without its NUL */
  jk_request_rec full = request(CODE1, "opt-out", "", "");
  memset(full.note, 'x', sizeof full.note);
  assert_int_equal(jk_store_request_add(s, &full), JK_EINVAL);
  assert_error_contains("note");
  full = request(CODE1, "opt-out", "", "");
  memset(full.recorded_by, 'x', sizeof full.recorded_by);
  assert_int_equal(jk_store_request_add(s, &full), JK_EINVAL);
  assert_error_contains("recorded_by");
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM resident_request"), 4);

  /* the database itself: a pending row may only be decided, a decided one not at all, and
   * nothing is deleted */
  char sql[300];
  snprintf(sql, sizeof sql, "UPDATE resident_request SET note = 'x' WHERE id = %lld", (long long)d.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "UPDATE resident_request SET code = '%s' WHERE id = %lld", CODE2, (long long)b.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql,
           "UPDATE resident_request SET decision = 'accepted', decided_at = '%s', decided_by = 'x', reason = '', "
           "filed_on = '2026-11-21' WHERE id = %lld",
           T2, (long long)d.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT); /* deciding, and changing the filing date with it */
  snprintf(sql, sizeof sql, "UPDATE resident_request SET decided_at = '' WHERE id = %lld", (long long)d.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT); /* not a decision */
  snprintf(sql, sizeof sql, "UPDATE resident_request SET reason = 'changed' WHERE id = %lld", (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT); /* decided already */
  snprintf(sql, sizeof sql, "UPDATE resident_request SET decision = '' WHERE id = %lld", (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT); /* undecided again */
  raw_exec(f, "DELETE FROM resident_request", TU_RAW_CONSTRAINT);
  if (tu_is_pg()) raw_exec(f, "TRUNCATE resident_request", TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql,
           "UPDATE resident_request SET decision = 'rejected', decided_at = '%s', decided_by = 'chief02', "
           "reason = 'no' WHERE id = %lld",
           T2, (long long)d.id);
  raw_exec(f, sql, TU_RAW_OK); /* the one change allowed */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM resident_request WHERE decision = ''"), 1);

  /* edited by hand anyway: found */
  drop_trigger(f, "resident_request_decide_once", "resident_request");
  static const char *const edits[][2] = {
      {"kind = 'opt-in'", "kind"},
      {"filed_on = '2026-02-30'", "filed_on"},
      {"code = '123'", "code"},
      {"purposes = 'B1-77'", "purposes"},
      {"decided_at = ''", "decided_at"},
      {"note = 'a' || char(10) || 'b'", "note"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    snprintf(sql, sizeof sql,
             "UPDATE resident_request SET kind = 'opt-out', filed_on = '2026-11-20', code = '%s', purposes = '', "
             "decided_at = '%s', note = '本人が窓口で提出' WHERE id = %lld",
             CODE1, T2, (long long)a.id);
    raw_exec(f, sql, TU_RAW_OK);
    const char *edit = edits[i][0];
    if (tu_is_pg() && strstr(edit, "char(10)")) edit = "note = 'a' || chr(10) || 'b'"; /* the dialect's name */
    snprintf(sql, sizeof sql, "UPDATE resident_request SET %s WHERE id = %lld", edit, (long long)a.id);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    if (jk_store_request_get(s, a.id, &out) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", edits[i][0]);
    assert_error_contains(edits[i][1]);
    assert_string_equal(out.code, ""); /* nothing handed out */
    memset(&v, 0, sizeof v);
    assert_int_equal(jk_store_request_each(s, NULL, request_cb, &v), JK_ECORRUPT);
    assert_int_equal(v.n, 0);
    jk_store_close(s);
  }
}

typedef struct seen_holdbacks {
  int n;
  jk_holdback_rec rows[8];
} seen_holdbacks;

static int holdback_cb(const jk_holdback_rec *r, void *p) {
  seen_holdbacks *v = p;
  if (v->n < 8) v->rows[v->n] = *r;
  v->n++;
  return 0;
}

static int stop_holdback_cb(const jk_holdback_rec *r, void *p) {
  (void)r;
  (*(int *)p)++;
  return 1;
}

static jk_holdback_rec holdback(const char *code, const char *since, int64_t request, int64_t erase_seq) {
  jk_holdback_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.since, sizeof r.since, "%s", since);
  r.request = request;
  r.erase_seq = erase_seq;
  return r;
}

static void test_holdback(void **state) {
  fx *f = *state;
  jk_store *s;
  jk_holdback_rec out;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_holdback_rec a = holdback(CODE1, T1, 1, 0);
  assert_int_equal(jk_store_holdback_put(s, &a), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_holdback_delete(s, CODE1), JK_ECONFLICT);
  assert_int_equal(jk_store_holdback_get(s, CODE1, &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holdback_put(s, &a), JK_OK);
  jk_holdback_rec b = holdback(CODE2, T2, 2, 7);
  assert_int_equal(jk_store_holdback_put(s, &b), JK_OK);
  assert_int_equal(jk_store_holdback_get(s, CODE1, &out), JK_OK);
  assert_string_equal(out.code, CODE1);
  assert_string_equal(out.since, T1);
  assert_int_equal(out.request, 1);
  assert_int_equal(out.erase_seq, 0);
  /* replaced: the erasure notice went out */
  a.erase_seq = 5;
  assert_int_equal(jk_store_holdback_put(s, &a), JK_OK);
  assert_int_equal(jk_store_holdback_get(s, CODE1, &out), JK_OK);
  assert_int_equal(out.erase_seq, 5);
  assert_int_equal(out.request, 1);
  /* code order */
  seen_holdbacks v = {0};
  assert_int_equal(jk_store_holdback_each(s, holdback_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.rows[0].code, CODE2);
  assert_int_equal(v.rows[0].erase_seq, 7);
  assert_string_equal(v.rows[1].code, CODE1);
  int stops = 0;
  assert_int_equal(jk_store_holdback_each(s, stop_holdback_cb, &stops), JK_OK);
  assert_int_equal(stops, 1);
  assert_int_equal(jk_store_holdback_delete(s, CODE2), JK_OK);
  assert_int_equal(jk_store_holdback_delete(s, CODE2), JK_ENOTFOUND);
  assert_error_contains(CODE2);
  assert_int_equal(jk_store_holdback_get(s, CODE2, &out), JK_ENOTFOUND);
  assert_string_equal(out.code, "");
  /* malformed rows and arguments */
  static const struct {
    jk_holdback_rec r;
    const char *field;
  } bad[] = {
      {{"123", T1, 1, 0}, "code"},
      {{"1234567890a", T1, 1, 0}, "code"},
      {{CODE2, "", 1, 0}, "since"},
      {{CODE2, "2026-11-24 01:00", 1, 0}, "since"},
      {{CODE2, T1, 0, 0}, "request"},
      {{CODE2, T1, 1, -1}, "erase_seq"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (jk_store_holdback_put(s, &bad[i].r) != JK_EINVAL) fail_msg("bad holdback %zu accepted", i);
    assert_error_contains(bad[i].field);
  }
  assert_int_equal(jk_store_holdback_get(s, "123", &out), JK_EINVAL);
  assert_int_equal(jk_store_holdback_delete(s, "123"), JK_EINVAL);
  assert_int_equal(jk_store_holdback_each(s, NULL, NULL), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holdback_each(s, holdback_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_string_equal(v.rows[0].code, CODE1);
  assert_int_equal(v.rows[0].erase_seq, 5);
  /* rolled back with the transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holdback_delete(s, CODE1), JK_OK);
  jk_store_rollback(s);
  assert_int_equal(jk_store_holdback_get(s, CODE1, &out), JK_OK);
  jk_store_close(s);
  /* edited by hand: found */
  raw_exec(f, "UPDATE holdback SET erase_seq = -1", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_holdback_get(s, CODE1, &out), JK_ECORRUPT);
  assert_error_contains("erase_seq");
  jk_store_close(s);
}

typedef struct seen_scrubs {
  int n;
  char list[256];
} seen_scrubs;

static int scrub_cb(const char *source, int64_t seq, const char *code, void *p) {
  seen_scrubs *v = p;
  size_t n = strlen(v->list);
  snprintf(v->list + n, sizeof v->list - n, "%s/%lld=%s;", source, (long long)seq, code);
  v->n++;
  return 0;
}

static void test_scrub_pending_and_one(void **state) {
  fx *f = *state;
  jk_store *s = with_notices(f); /* SRC_A 1..3 (CODE1, CODE2, CODE1), SRC_B 1 (CODE1) */
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 3, CODE1), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 3, CODE1), JK_OK);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 3, CODE1), JK_OK); /* again: a no-op */
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 3, CODE2), JK_OK); /* the first code stays */
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 1, CODE1), JK_OK);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_B, 1, CODE1), JK_OK);
  assert_int_equal(jk_store_scrub_pending_put(s, "no good", 1, CODE1), JK_EINVAL);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 0, CODE1), JK_EINVAL);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 4, "123"), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK); /* the no-ops did not abort the transaction */
  seen_scrubs v = {0};
  assert_int_equal(jk_store_scrub_pending_each(s, scrub_cb, &v), JK_OK);
  assert_string_equal(v.list, SRC_B "/1=" CODE1 ";" SRC_A "/1=" CODE1 ";" SRC_A "/3=" CODE1 ";"); /* byte order */
  assert_int_equal(jk_store_scrub_pending_delete(s, SRC_A, 1), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_scrub_pending_delete(s, SRC_A, 1), JK_OK);
  assert_int_equal(jk_store_scrub_pending_delete(s, SRC_A, 1), JK_OK); /* gone already: a no-op */
  assert_int_equal(jk_store_scrub_pending_delete(s, SRC_A, 0), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_scrub_pending_each(s, scrub_cb, &v), JK_OK);
  assert_string_equal(v.list, SRC_B "/1=" CODE1 ";" SRC_A "/3=" CODE1 ";");
  assert_int_equal(jk_store_scrub_pending_each(s, NULL, NULL), JK_EINVAL);

  /* one notice scrubbed: its encoding gone, its leaf and every other row as they were */
  seen_rows before = {0}, after = {0};
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, 0, seen_cb, &before), JK_OK);
  assert_int_equal(jk_store_notice_scrub_one(s, SRC_A, 2), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_scrub_one(s, SRC_A, 2), JK_OK);
  assert_int_equal(jk_store_notice_scrub_one(s, SRC_A, 2), JK_OK); /* scrubbed already: a no-op */
  assert_int_equal(jk_store_notice_scrub_one(s, SRC_A, 4), JK_ENOTFOUND);
  assert_int_equal(jk_store_notice_scrub_one(s, "C-000000", 1), JK_ENOTFOUND);
  assert_int_equal(jk_store_notice_scrub_one(s, SRC_A, 0), JK_EINVAL);
  assert_int_equal(jk_store_notice_scrub_one(s, "no good", 1), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, 0, seen_cb, &after), JK_OK);
  assert_int_equal(after.n, 3);
  assert_int_equal(after.enc_len[0], 16);
  assert_int_equal(after.enc_len[1], 0); /* enc NULL (seen_cb checks enc and enc_len agree) */
  assert_int_equal(after.enc_len[2], 16);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(after.leaf0[i], before.leaf0[i]);
    assert_int_equal(after.seq[i], before.seq[i]);
    assert_string_equal(after.code[i], before.code[i]);
  }
  uint8_t leaves[3][32];
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 0, 3, leaves), JK_OK);
  for (int i = 0; i < 3; i++) assert_int_equal(leaves[i][0], (uint8_t)(i + 1 + SRC_A[0]));
  memset(&after, 0, sizeof after);
  assert_int_equal(jk_store_notice_each(s, SRC_B, 1, 0, seen_cb, &after), JK_OK);
  assert_int_equal(after.enc_len[0], 16); /* the other source's notice of the same code: kept */
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM notice_log WHERE enc IS NULL"), 1);
}

/* A node.db of schema 7 gains the residents' tables. */
static void test_upgrade_adds_rights(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk__store_open_at_version(&s, f->path, 7), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 7);
  jk_provision_rec p = prow(T1, "mhlw-nenkin", "B1-77", CODE1, "name", "ok", 1);
  assert_int_equal(jk_store_provision_put_many(s, &p, 1), JK_OK);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM resident_request", TU_RAW_ERROR);
  raw_exec(f, "SELECT * FROM holdback", TU_RAW_ERROR);
  raw_exec(f, "SELECT * FROM scrub_pending", TU_RAW_ERROR);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  jk_request_rec r = request(CODE1, "stop-use", "B1-77", "");
  jk_holdback_rec h = holdback(CODE1, T1, 1, 0);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_request_add(s, &r), JK_OK);
  assert_int_equal(jk_store_holdback_put(s, &h), JK_OK);
  assert_int_equal(jk_store_scrub_pending_put(s, SRC_A, 1, CODE1), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(r.id > 0);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision"), 1); /* kept */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM resident_request"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM holdback"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM scrub_pending"), 1);
}

/* ---- residents' restrictions (0009) ---- */

static jk_restriction_rec restriction_row(const char *code, const char *source, int64_t seq, bool protect,
                                          const char *purposes) {
  jk_restriction_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.source, sizeof r.source, "%s", source);
  r.seq = seq;
  r.protect = protect;
  r.since = (jk_date){2026, 11, 1};
  if (protect) r.until = (jk_date){2027, 10, 31};
  snprintf(r.purposes, sizeof r.purposes, "%s", purposes);
  return r;
}

typedef struct seen_restrictions {
  int n, stop_after;
  jk_restriction_rec rows[8];
} seen_restrictions;

static int restriction_cb(const jk_restriction_rec *r, void *p) {
  seen_restrictions *v = p;
  if (v->n < 8) v->rows[v->n] = *r;
  v->n++;
  return v->stop_after && v->n >= v->stop_after;
}

static bool date_is(jk_date d, int y, int m, int dd) { return d.y == y && d.m == m && d.d == dd; }

/* Restrictions at a prefecture: upserted by (code, source), listed by code or all in (code,
 * source) byte order; a malformed row is refused with the field named and nothing changed; a row
 * edited by hand is JK_ECORRUPT. */
static void test_restrictions(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_restriction_rec a = restriction_row(CODE1, SRC_A, 1, true, "");
  assert_int_equal(jk_store_restriction_put(s, &a), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_restriction_put(s, &a), JK_OK);
  jk_restriction_rec b = restriction_row(CODE1, SRC_B, 4, false, "B1-77,B1-74");
  assert_int_equal(jk_store_restriction_put(s, &b), JK_OK);
  jk_restriction_rec c = restriction_row(CODE2, SRC_A, 2, true, "B1-77");
  assert_int_equal(jk_store_restriction_put(s, &c), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);

  /* every row, in (code, source) byte order: CODE2 < CODE1, "B…" < "a…" */
  seen_restrictions v = {0};
  assert_int_equal(jk_store_restriction_each(s, NULL, restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.rows[0].code, CODE2);
  assert_string_equal(v.rows[0].source, SRC_A);
  assert_string_equal(v.rows[1].code, CODE1);
  assert_string_equal(v.rows[1].source, SRC_B);
  assert_string_equal(v.rows[2].code, CODE1);
  assert_string_equal(v.rows[2].source, SRC_A);
  /* fields as put */
  assert_int_equal(v.rows[2].seq, 1);
  assert_true(v.rows[2].protect);
  assert_true(date_is(v.rows[2].since, 2026, 11, 1));
  assert_true(date_is(v.rows[2].until, 2027, 10, 31));
  assert_string_equal(v.rows[2].purposes, "");
  assert_int_equal(v.rows[1].seq, 4);
  assert_false(v.rows[1].protect);
  assert_true(date_is(v.rows[1].until, 0, 0, 0));
  assert_string_equal(v.rows[1].purposes, "B1-77,B1-74");
  assert_string_equal(v.rows[0].purposes, "B1-77");

  /* replaced: the protection lifted, a purpose stopped */
  a = restriction_row(CODE1, SRC_A, 5, false, "B1-03-2");
  a.since = (jk_date){2026, 12, 1};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_restriction_put(s, &a), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_restriction_each(s, CODE1, restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.rows[0].source, SRC_B);
  assert_string_equal(v.rows[1].source, SRC_A);
  assert_int_equal(v.rows[1].seq, 5);
  assert_false(v.rows[1].protect);
  assert_true(date_is(v.rows[1].since, 2026, 12, 1));
  assert_true(date_is(v.rows[1].until, 0, 0, 0));
  assert_string_equal(v.rows[1].purposes, "B1-03-2");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_restriction_each(s, CODE2, restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_true(v.rows[0].protect);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_restriction_each(s, "55555555555", restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  v = (seen_restrictions){.stop_after = 1};
  assert_int_equal(jk_store_restriction_each(s, NULL, restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(jk_store_restriction_each(s, "1234", restriction_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_restriction_each(s, NULL, NULL, NULL), JK_EINVAL);
  assert_int_equal(jk_store_restriction_put(s, NULL), JK_ECONFLICT); /* no transaction comes first */

  /* malformed: refused with the field named; nothing changed (the rows put before are kept as
   * they were, also the one of the same (code, source)) */
  static const struct {
    const char *set, *field;
  } bad[] = {
      {"code 123", "code"},
      {"code 1234567890a", "code"},
      {"source empty", "source"},
      {"source space", "source"},
      {"source full", "source"},
      {"seq 0", "seq"},
      {"seq -1", "seq"},
      {"since 2026-02-30", "since"},
      {"since zero", "since"},
      {"protect without until", "until"},
      {"protect until 2026-13-01", "until"},
      {"no protect with until", "until"},
      {"purposes repeat", "purposes"},
      {"purposes trailing comma", "purposes"},
      {"purposes 77", "purposes"},
      {"purposes full", "purposes"},
  };
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_restriction_put(s, NULL), JK_EINVAL);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jk_restriction_rec r = restriction_row(CODE2, SRC_A, 9, true, "B1-74");
    const char *set = bad[i].set;
    if (strcmp(set, "code 123") == 0) snprintf(r.code, sizeof r.code, "%s", "123");
    else if (strcmp(set, "code 1234567890a") == 0) snprintf(r.code, sizeof r.code, "%s", "1234567890a");
    else if (strcmp(set, "source empty") == 0) r.source[0] = '\0';
    else if (strcmp(set, "source space") == 0) snprintf(r.source, sizeof r.source, "%s", "has space");
    else if (strcmp(set, "source full") == 0) memset(r.source, 'x', sizeof r.source);
    else if (strcmp(set, "seq 0") == 0) r.seq = 0;
    else if (strcmp(set, "seq -1") == 0) r.seq = -1;
    else if (strcmp(set, "since 2026-02-30") == 0) r.since = (jk_date){2026, 2, 30};
    else if (strcmp(set, "since zero") == 0) r.since = (jk_date){0, 0, 0};
    else if (strcmp(set, "protect without until") == 0) r.until = (jk_date){0, 0, 0};
    else if (strcmp(set, "protect until 2026-13-01") == 0) r.until = (jk_date){2026, 13, 1};
    else if (strcmp(set, "no protect with until") == 0) r.protect = false;
    else if (strcmp(set, "purposes repeat") == 0) snprintf(r.purposes, sizeof r.purposes, "%s", "B1-77,B1-77");
    else if (strcmp(set, "purposes trailing comma") == 0) snprintf(r.purposes, sizeof r.purposes, "%s", "B1-77,");
    else if (strcmp(set, "purposes 77") == 0) snprintf(r.purposes, sizeof r.purposes, "%s", "77");
    else memset(r.purposes, 'x', sizeof r.purposes);
    if (jk_store_restriction_put(s, &r) != JK_EINVAL) fail_msg("bad restriction %zu (%s) accepted", i, set);
    assert_error_contains(bad[i].field);
  }
  assert_int_equal(jk_store_commit(s), JK_OK);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_restriction_each(s, NULL, restriction_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.rows[0].code, CODE2);
  assert_int_equal(v.rows[0].seq, 2);
  assert_string_equal(v.rows[0].purposes, "B1-77");
  /* rolled back with the transaction */
  c.seq = 8;
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_restriction_put(s, &c), JK_OK);
  jk_store_rollback(s);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_restriction_each(s, CODE2, restriction_cb, &v), JK_OK);
  assert_int_equal(v.rows[0].seq, 2);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM restriction"), 3);

  /* edited by hand: found, nothing handed out */
  static const char *const edits[][2] = {
      {"protect = 2", "protect"},
      {"until = ''", "until"},
      {"since = '2026-02-30'", "since"},
      {"seq = 0", "seq"},
      {"purposes = 'B1-77,B1-77'", "purposes"},
      {"source = ''", "source"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE restriction SET seq = 2, protect = 1, since = '2026-11-01', until = '2027-10-31', "
             "purposes = 'B1-77', source = '%s' WHERE code = '%s'",
             SRC_A, CODE2);
    raw_exec(f, sql, TU_RAW_OK);
    snprintf(sql, sizeof sql, "UPDATE restriction SET %s WHERE code = '%s'", edits[i][0], CODE2);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    memset(&v, 0, sizeof v);
    if (jk_store_restriction_each(s, CODE2, restriction_cb, &v) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", edits[i][0]);
    assert_error_contains(edits[i][1]);
    assert_int_equal(v.n, 0);
    jk_store_close(s);
  }
}

static jk_protection_rec protection_row(const char *code, const char *offenders) {
  jk_protection_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", code);
  snprintf(r.offenders, sizeof r.offenders, "%s", offenders);
  snprintf(r.status, sizeof r.status, "%s", "provisional");
  r.applied_on = (jk_date){2026, 11, 20};
  r.until = (jk_date){2027, 11, 19}; /* the provisional block's end */
  snprintf(r.recorded_at, sizeof r.recorded_at, "%s", T1);
  snprintf(r.recorded_by, sizeof r.recorded_by, "%s", "clerk01");
  return r;
}

/* r decided: status, until, decided_at, decided_by. */
static void protection_decide(jk_protection_rec *r, const char *status, jk_date until) {
  snprintf(r->status, sizeof r->status, "%s", status);
  r->until = until;
  snprintf(r->decided_at, sizeof r->decided_at, "%s", T2);
  snprintf(r->decided_by, sizeof r->decided_by, "%s", "chief02");
}

typedef struct seen_protections {
  int n, stop_after;
  jk_protection_rec rows[8];
} seen_protections;

static int protection_cb(const jk_protection_rec *r, void *p) {
  seen_protections *v = p;
  if (v->n < 8) v->rows[v->n] = *r;
  v->n++;
  return v->stop_after && v->n >= v->stop_after;
}

/* Support measures at a municipality: recorded with increasing ids, decided (provisional →
 * active with an end date → ended), listed by code or all in id order; the resident, the
 * offenders, the application date and the entry never change; malformed ones are refused with
 * the field named; the database refuses deletions and changes of what is kept as entered. */
static void test_protections(void **state) {
  fx *f = *state;
  jk_store *s;
  jk_protection_rec out;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_protection_rec a = protection_row(CODE1, "元配偶者 山田 一郎(1975年生、大阪市在住)");
  assert_int_equal(jk_store_protection_add(s, &a), JK_ECONFLICT); /* no transaction */
  assert_int_equal(a.id, 0);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_protection_add(s, &a), JK_OK);
  jk_protection_rec b = protection_row(CODE2, "氏名不詳のつきまとい行為者");
  snprintf(b.note, sizeof b.note, "%s", "警察署の意見書あり");
  assert_int_equal(jk_store_protection_add(s, &b), JK_OK);
  jk_protection_rec c = protection_row(CODE1, "元交際相手");
  protection_decide(&c, "active", (jk_date){2027, 11, 19}); /* recorded as decided */
  assert_int_equal(jk_store_protection_add(s, &c), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(a.id > 0);
  assert_true(b.id > a.id);
  assert_true(c.id > b.id);

  assert_int_equal(jk_store_protection_get(s, a.id, &out), JK_OK);
  assert_int_equal(out.id, a.id);
  assert_string_equal(out.code, CODE1);
  assert_string_equal(out.offenders, "元配偶者 山田 一郎(1975年生、大阪市在住)");
  assert_string_equal(out.status, "provisional");
  assert_true(date_is(out.applied_on, 2026, 11, 20));
  assert_true(date_is(out.until, 2027, 11, 19));
  assert_string_equal(out.recorded_at, T1);
  assert_string_equal(out.recorded_by, "clerk01");
  assert_string_equal(out.decided_at, "");
  assert_string_equal(out.decided_by, "");
  assert_string_equal(out.note, "");
  assert_int_equal(jk_store_protection_get(s, b.id, &out), JK_OK);
  assert_string_equal(out.note, "警察署の意見書あり");
  assert_int_equal(jk_store_protection_get(s, c.id, &out), JK_OK);
  assert_string_equal(out.status, "active");
  assert_true(date_is(out.until, 2027, 11, 19));
  assert_string_equal(out.decided_at, T2);
  assert_string_equal(out.decided_by, "chief02");
  assert_int_equal(jk_store_protection_get(s, c.id + 100, &out), JK_ENOTFOUND);
  assert_string_equal(out.code, "");
  assert_int_equal(jk_store_protection_get(s, 0, &out), JK_ENOTFOUND);
  assert_int_equal(jk_store_protection_get(s, a.id, NULL), JK_EINVAL);

  /* provisional → active with an end date */
  jk_protection_rec u = a;
  protection_decide(&u, "active", (jk_date){2027, 11, 19});
  snprintf(u.note, sizeof u.note, "%s", "DV相談記録あり");
  assert_int_equal(jk_store_protection_update(s, &u), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_protection_update(s, &u), JK_OK);
  /* what is kept as entered may not change: refused, naming it, and the transaction goes on */
  static const char *const fixed[] = {"code", "offenders", "applied_on", "recorded_at", "recorded_by"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
    jk_protection_rec w = u;
    snprintf(w.note, sizeof w.note, "%s", "changed");
    if (i == 0) snprintf(w.code, sizeof w.code, "%s", CODE2);
    else if (i == 1) snprintf(w.offenders, sizeof w.offenders, "%s", "別人");
    else if (i == 2) w.applied_on = (jk_date){2026, 11, 21};
    else if (i == 3) snprintf(w.recorded_at, sizeof w.recorded_at, "%s", T2);
    else snprintf(w.recorded_by, sizeof w.recorded_by, "%s", "clerk02");
    if (jk_store_protection_update(s, &w) != JK_ECONFLICT) fail_msg("changing %s accepted", fixed[i]);
    assert_error_contains(fixed[i]);
  }
  jk_protection_rec w = u;
  w.id = c.id + 100;
  assert_int_equal(jk_store_protection_update(s, &w), JK_ENOTFOUND);
  w.id = 0;
  assert_int_equal(jk_store_protection_update(s, &w), JK_ENOTFOUND);
  w = u;
  w.until = (jk_date){0, 0, 0}; /* active without an end */
  assert_int_equal(jk_store_protection_update(s, &w), JK_EINVAL);
  assert_error_contains("until");
  assert_int_equal(jk_store_protection_update(s, NULL), JK_EINVAL);
  assert_int_equal(jk_store_meta_set(s, "after", "yes"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_protection_get(s, a.id, &out), JK_OK);
  assert_string_equal(out.status, "active");
  assert_true(date_is(out.until, 2027, 11, 19));
  assert_string_equal(out.decided_at, T2);
  assert_string_equal(out.decided_by, "chief02");
  assert_string_equal(out.note, "DV相談記録あり");
  assert_string_equal(out.code, CODE1); /* the rest as entered */
  assert_string_equal(out.offenders, a.offenders);
  assert_true(date_is(out.applied_on, 2026, 11, 20));
  assert_string_equal(out.recorded_at, T1);
  /* active → ended; provisional → rejected */
  u.until = (jk_date){2027, 3, 31};
  snprintf(u.status, sizeof u.status, "%s", "ended");
  jk_protection_rec r = b;
  protection_decide(&r, "rejected", (jk_date){0, 0, 0});
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_protection_update(s, &u), JK_OK);
  assert_int_equal(jk_store_protection_update(s, &r), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_protection_get(s, a.id, &out), JK_OK);
  assert_string_equal(out.status, "ended");
  assert_true(date_is(out.until, 2027, 3, 31));
  assert_int_equal(jk_store_protection_get(s, b.id, &out), JK_OK);
  assert_string_equal(out.status, "rejected");
  assert_true(date_is(out.until, 0, 0, 0));
  assert_string_equal(out.note, "警察署の意見書あり");

  /* by code and all, in id order; a callback may stop */
  seen_protections v = {0};
  assert_int_equal(jk_store_protection_each(s, CODE1, protection_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.rows[0].id, a.id);
  assert_int_equal(v.rows[1].id, c.id);
  assert_string_equal(v.rows[1].offenders, "元交際相手");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_protection_each(s, CODE2, protection_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(v.rows[0].id, b.id);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_protection_each(s, NULL, protection_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_int_equal(v.rows[0].id, a.id);
  assert_int_equal(v.rows[1].id, b.id);
  assert_int_equal(v.rows[2].id, c.id);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_protection_each(s, "55555555555", protection_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  v = (seen_protections){.stop_after = 1};
  assert_int_equal(jk_store_protection_each(s, NULL, protection_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_int_equal(jk_store_protection_each(s, "1234", protection_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_protection_each(s, NULL, NULL, NULL), JK_EINVAL);

  /* malformed: refused with the field named, nothing inserted, no id */
  static const struct {
    const char *set, *field;
  } bad[] = {
      {"code 123", "code"},
      {"offenders empty", "offenders"},
      {"offenders newline", "offenders"},
      {"offenders c1", "offenders"},
      {"offenders not utf-8", "offenders"},
      {"offenders full", "offenders"},
      {"status pending", "status"},
      {"status empty", "status"},
      {"status full", "status"},
      {"applied_on 2026-02-30", "applied_on"},
      {"applied_on zero", "applied_on"},
      {"provisional without until", "until"},
      {"active without until", "until"},
      {"ended until 2026-02-30", "until"},
      {"rejected with until", "until"},
      {"recorded_at empty", "recorded_at"},
      {"recorded_at space", "recorded_at"},
      {"recorded_by empty", "recorded_by"},
      {"recorded_by space", "recorded_by"},
      {"recorded_by full", "recorded_by"},
      {"provisional decided_at", "decided_at"},
      {"provisional decided_by", "decided_by"},
      {"active without decided_at", "decided_at"},
      {"active without decided_by", "decided_by"},
      {"note tab", "note"},
      {"note full", "note"},
  };
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_protection_add(s, NULL), JK_EINVAL);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jk_protection_rec x = protection_row(CODE1, "元配偶者");
    const char *set = bad[i].set;
    if (strcmp(set, "code 123") == 0) snprintf(x.code, sizeof x.code, "%s", "123");
    else if (strcmp(set, "offenders empty") == 0) x.offenders[0] = '\0';
    else if (strcmp(set, "offenders newline") == 0) snprintf(x.offenders, sizeof x.offenders, "%s", "two\nlines");
    else if (strcmp(set, "offenders c1") == 0) snprintf(x.offenders, sizeof x.offenders, "%s", "c1 \xc2\x85");
    else if (strcmp(set, "offenders not utf-8") == 0) snprintf(x.offenders, sizeof x.offenders, "%s", "\xff");
    else if (strcmp(set, "offenders full") == 0) memset(x.offenders, 'x', sizeof x.offenders);
    else if (strcmp(set, "status pending") == 0) snprintf(x.status, sizeof x.status, "%s", "pending");
    else if (strcmp(set, "status empty") == 0) x.status[0] = '\0';
    else if (strcmp(set, "status full") == 0) memset(x.status, 'a', sizeof x.status);
    else if (strcmp(set, "applied_on 2026-02-30") == 0) x.applied_on = (jk_date){2026, 2, 30};
    else if (strcmp(set, "applied_on zero") == 0) x.applied_on = (jk_date){0, 0, 0};
    else if (strcmp(set, "provisional without until") == 0) x.until = (jk_date){0, 0, 0};
    else if (strcmp(set, "active without until") == 0) protection_decide(&x, "active", (jk_date){0, 0, 0});
    else if (strcmp(set, "ended until 2026-02-30") == 0) protection_decide(&x, "ended", (jk_date){2026, 2, 30});
    else if (strcmp(set, "rejected with until") == 0) protection_decide(&x, "rejected", (jk_date){2027, 1, 1});
    else if (strcmp(set, "recorded_at empty") == 0) x.recorded_at[0] = '\0';
    else if (strcmp(set, "recorded_at space") == 0) snprintf(x.recorded_at, sizeof x.recorded_at, "%s", "2026-11-24 01:00");
    else if (strcmp(set, "recorded_by empty") == 0) x.recorded_by[0] = '\0';
    else if (strcmp(set, "recorded_by space") == 0) snprintf(x.recorded_by, sizeof x.recorded_by, "%s", "has space");
    else if (strcmp(set, "recorded_by full") == 0) memset(x.recorded_by, 'x', sizeof x.recorded_by);
    else if (strcmp(set, "provisional decided_at") == 0) snprintf(x.decided_at, sizeof x.decided_at, "%s", T2);
    else if (strcmp(set, "provisional decided_by") == 0) snprintf(x.decided_by, sizeof x.decided_by, "%s", "chief02");
    else if (strcmp(set, "active without decided_at") == 0) {
      protection_decide(&x, "active", (jk_date){2027, 1, 1});
      x.decided_at[0] = '\0';
    } else if (strcmp(set, "active without decided_by") == 0) {
      protection_decide(&x, "active", (jk_date){2027, 1, 1});
      x.decided_by[0] = '\0';
    } else if (strcmp(set, "note tab") == 0) snprintf(x.note, sizeof x.note, "%s", "tab\there");
    else memset(x.note, 'x', sizeof x.note);
    x.id = 77;
    if (jk_store_protection_add(s, &x) != JK_EINVAL) fail_msg("bad support measure %zu (%s) accepted", i, set);
    assert_error_contains(bad[i].field);
    assert_int_equal(x.id, 0);
  }
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM protection"), 3);

  /* the database itself: never deleted; what is kept as entered never changes */
  char sql[300];
  raw_exec(f, "DELETE FROM protection", TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "DELETE FROM protection WHERE id = %lld", (long long)b.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  if (tu_is_pg()) raw_exec(f, "TRUNCATE protection", TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "UPDATE protection SET code = '%s' WHERE id = %lld", CODE2, (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "UPDATE protection SET offenders = 'x' WHERE id = %lld", (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "UPDATE protection SET applied_on = '2026-11-21' WHERE id = %lld", (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  snprintf(sql, sizeof sql, "UPDATE protection SET recorded_by = 'x' WHERE id = %lld", (long long)a.id);
  raw_exec(f, sql, TU_RAW_CONSTRAINT);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM protection"), 3);

  /* edited by hand: found, nothing handed out */
  static const char *const edits[][2] = {
      {"status = 'bogus'", "status"},
      {"until = ''", "until"},
      {"decided_at = ''", "decided_at"},
      {"note = 'a' || char(10) || 'b'", "note"},
  };
  for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
    snprintf(sql, sizeof sql,
             "UPDATE protection SET status = 'active', until = '2027-11-19', decided_at = '%s', note = '' "
             "WHERE id = %lld",
             T2, (long long)c.id);
    raw_exec(f, sql, TU_RAW_OK);
    const char *edit = edits[i][0];
    if (tu_is_pg() && strstr(edit, "char(10)")) edit = "note = 'a' || chr(10) || 'b'"; /* the dialect's name */
    snprintf(sql, sizeof sql, "UPDATE protection SET %s WHERE id = %lld", edit, (long long)c.id);
    raw_exec(f, sql, TU_RAW_OK);
    assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
    if (jk_store_protection_get(s, c.id, &out) != JK_ECORRUPT) fail_msg("%s: not ECORRUPT", edits[i][0]);
    assert_error_contains(edits[i][1]);
    assert_string_equal(out.code, "");
    memset(&v, 0, sizeof v);
    assert_int_equal(jk_store_protection_each(s, CODE1, protection_cb, &v), JK_ECORRUPT);
    assert_int_equal(v.n, 1); /* a's row came first */
    jk_store_close(s);
  }
}

/* Provision records of the residents' restrictions: REVIEW (a query about a protected resident,
 * held for review) and STOPPED (a purpose the resident stopped). */
static void test_provision_review_stopped(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_provision_rec a[2] = {
      prow(T1, "mhlw-nenkin", "B1-77", CODE1, "", "REVIEW", 0x10),
      prow(T2, "mofa-ryoken", "B1-03-2", CODE2, "", "STOPPED", 0x20),
  };
  assert_int_equal(jk_store_provision_put_many(s, a, 2), JK_OK);
  seen_provision v = {0};
  assert_int_equal(jk_store_provision_each(s, NULL, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 2);
  assert_string_equal(v.rows[0].result, "REVIEW");
  assert_string_equal(v.rows[1].result, "STOPPED");
  jk_provision_rec bad = prow(T1, "mhlw-nenkin", "B1-77", CODE1, "", "review", 0x30);
  assert_int_equal(jk_store_provision_put_many(s, &bad, 1), JK_EINVAL);
  assert_error_contains("result");
  jk_store_close(s);
}

/* A node.db of schema 8 gains the restrictions and the support measures. */
static void test_upgrade_adds_restrictions(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk__store_open_at_version(&s, f->path, 8), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 8);
  jk_request_rec q = request(CODE1, "stop-use", "B1-77", "");
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_request_add(s, &q), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM restriction", TU_RAW_ERROR);
  raw_exec(f, "SELECT * FROM protection", TU_RAW_ERROR);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  jk_restriction_rec x = restriction_row(CODE1, SRC_A, 1, false, "B1-77");
  jk_protection_rec p = protection_row(CODE1, "元配偶者");
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_restriction_put(s, &x), JK_OK);
  assert_int_equal(jk_store_protection_add(s, &p), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(p.id > 0);
  jk_store_close(s);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM resident_request"), 1); /* kept */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM restriction"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM protection"), 1);
}

/* ---- the provision records' code index (0010) ---- */

#define CODE3 "11111111111"

/* jk_store_provision_each(code) for each code of rows[0 .. n) (and one no row has) gives
 * exactly the rows of that code, in id order: whatever part of them is indexed. */
static void expect_by_code(jk_store *s, const jk_provision_rec *rows, size_t n, const char *when) {
  static const char *const codes[] = {CODE1, CODE2, CODE3, "55555555555"};
  for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
    seen_provision v = {0};
    if (jk_store_provision_each(s, codes[k], provision_cb, &v) != JK_OK)
      fail_msg("%s: each(%s): %s", when, codes[k], jk_error_last());
    int want = 0;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(rows[i].code, codes[k]) != 0) continue;
      if (want >= v.n || want >= 8 || v.ids[want] != rows[i].id)
        fail_msg("%s: each(%s): row %d is not id %lld", when, codes[k], want, (long long)rows[i].id);
      assert_string_equal(v.rows[want].code, codes[k]);
      assert_memory_equal(v.rows[want].query, rows[i].query, 32);
      want++;
    }
    if (v.n != want) fail_msg("%s: each(%s): %d rows, want %d", when, codes[k], v.n, want);
  }
}

static int64_t watermark(jk_store *s) {
  int64_t w = -1;
  assert_int_equal(jk_store_provision_indexed(s, &w), JK_OK);
  return w;
}

/* The code index is built in sorted batches off the per-answer path: by code, every row is
 * found in id order before any indexing (the tail after the watermark is scanned), with part
 * of the rows indexed and with all of them; the watermark moves only inside a transaction,
 * only up, never past the last row; rows added after it are found; the guards and a hand-edited
 * index or watermark. */
static void test_provision_index(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(watermark(s), 0); /* a new store: nothing indexed */
  assert_int_equal(jk_store_provision_indexed(s, NULL), JK_EINVAL);
  enum { N0 = 9 };
  static const char *const codes[N0] = {CODE1, "", CODE2, CODE1, "", CODE3, CODE1, CODE2, CODE1};
  jk_provision_rec rows[16];
  for (int i = 0; i < N0; i++)
    rows[i] = prow(T1, "mhlw-nenkin", "B1-77", codes[i], "", codes[i][0] ? "ok" : "NOTFOUND", (uint8_t)(0x10 * i));
  assert_int_equal(jk_store_provision_put_many(s, rows, N0), JK_OK);
  assert_int_equal(watermark(s), 0); /* putting rows indexes nothing */
  expect_by_code(s, rows, N0, "nothing indexed");

  /* outside a transaction: refused, nothing moved */
  assert_int_equal(jk_store_provision_index(s, rows[3].id), JK_ECONFLICT);
  assert_int_equal(watermark(s), 0);
  /* part of them: (0, rows[3]] */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, rows[3].id), JK_OK);
  assert_int_equal(watermark(s), rows[3].id);
  expect_by_code(s, rows, N0, "indexed in the open transaction");
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(watermark(s), rows[3].id);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 3); /* rows 0, 2, 3: "" is not indexed */
  expect_by_code(s, rows, N0, "partly indexed");
  /* upto <= the watermark: a no-op */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, rows[3].id), JK_OK);
  assert_int_equal(jk_store_provision_index(s, rows[1].id), JK_OK);
  assert_int_equal(jk_store_provision_index(s, 0), JK_OK);
  assert_int_equal(jk_store_provision_index(s, -5), JK_OK);
  assert_int_equal(watermark(s), rows[3].id);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 3);
  /* rolled back with the transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, rows[6].id), JK_OK);
  assert_int_equal(watermark(s), rows[6].id);
  jk_store_rollback(s);
  assert_int_equal(watermark(s), rows[3].id);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 3);
  expect_by_code(s, rows, N0, "after a rollback");
  /* all of them: upto beyond the last row stops at the last row */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, INT64_MAX), JK_OK);
  assert_int_equal(watermark(s), rows[N0 - 1].id);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 7);
  expect_by_code(s, rows, N0, "all indexed");

  /* rows added after the watermark: found in the tail, then indexed in part */
  static const char *const more[4] = {CODE1, "", CODE2, CODE3};
  for (int i = 0; i < 4; i++)
    rows[N0 + i] =
        prow(T2, "mofa-ryoken", "B1-03-2", more[i], "", more[i][0] ? "PERM" : "INVALID", (uint8_t)(0x90 + i));
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_put_many(s, rows + N0, 4), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_true(rows[N0].id > rows[N0 - 1].id);
  assert_int_equal(watermark(s), rows[N0 - 1].id);
  expect_by_code(s, rows, N0 + 4, "new rows after the watermark");
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, rows[N0 + 1].id), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(watermark(s), rows[N0 + 1].id);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 8);
  expect_by_code(s, rows, N0 + 4, "new rows partly indexed");
  /* a callback may stop, across the indexed rows and the tail */
  seen_provision v = {.stop_after = 4};
  assert_int_equal(jk_store_provision_each(s, CODE1, provision_cb, &v), JK_OK);
  assert_int_equal(v.n, 4);
  assert_int_equal(v.ids[3], rows[8].id);
  /* every row (code NULL) is unchanged */
  int64_t last[2] = {0, 0};
  assert_int_equal(jk_store_provision_each(s, NULL, provision_count_cb, last), JK_OK);
  assert_int_equal(last[1], N0 + 4);
  jk_store_close(s);

  /* the guards: the index only grows, the watermark only moves up */
  raw_exec(f, "DELETE FROM provision_code", TU_RAW_CONSTRAINT);
  raw_exec(f, "UPDATE provision_code SET code = '" CODE2 "'", TU_RAW_CONSTRAINT);
  raw_exec(f, "UPDATE provision_indexed SET upto = 1", TU_RAW_CONSTRAINT);
  raw_exec(f, "DELETE FROM provision_indexed", TU_RAW_CONSTRAINT);
  raw_exec(f, "INSERT INTO provision_indexed (one, upto) VALUES (2, 0)", TU_RAW_CONSTRAINT);
  if (tu_is_pg()) {
    raw_exec(f, "TRUNCATE provision_code", TU_RAW_CONSTRAINT);
    raw_exec(f, "TRUNCATE provision_indexed", TU_RAW_CONSTRAINT);
  }
  /* an index entry put by hand for another resident's row brings nothing in */
  raw_execf(f, TU_RAW_OK, "INSERT INTO provision_code (bucket, code, id) VALUES (%lld >> 16, '%s', %lld)", (long long)rows[0].id, CODE3, (long long)rows[0].id);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  expect_by_code(s, rows, N0 + 4, "a stray index entry");
  jk_store_close(s);
  /* a watermark beyond the last row (it would hide the next rows): JK_ECORRUPT */
  raw_exec(f, "UPDATE provision_indexed SET upto = upto + 1000", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  int64_t w = -1;
  assert_int_equal(jk_store_provision_indexed(s, &w), JK_ECORRUPT);
  assert_error_contains("watermark");
  assert_int_equal(w, 0);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, INT64_MAX), JK_ECORRUPT);
  jk_store_rollback(s);
  jk_store_close(s);
  /* the watermark row deleted anyway: every row is still found (scanned), the loss reported */
  drop_trigger(f, "provision_indexed_kept", "provision_indexed");
  raw_exec(f, "DELETE FROM provision_indexed", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  expect_by_code(s, rows, N0 + 4, "no watermark");
  assert_int_equal(jk_store_provision_indexed(s, &w), JK_ECORRUPT);
  assert_error_contains("watermark");
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_provision_index(s, INT64_MAX), JK_ECORRUPT);
  jk_store_rollback(s);
  jk_store_close(s);
}

/* A node.db of schema 9 gains the code index: the rows it had are indexed by the upgrade (the
 * watermark at the highest id), the per-row index provision_by_code is gone, and rows added
 * afterwards are found too. */
static void test_upgrade_adds_provision_index(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk__store_open_at_version(&s, f->path, 9), JK_OK);
  assert_int_equal(jk_store_schema_version(s), 9);
  jk_provision_rec rows[5] = {
      prow(T1, "mhlw-nenkin", "B1-77", CODE1, "name", "ok", 0x10),
      prow(T1, "mhlw-nenkin", "B1-77", "", "", "NOTFOUND", 0x20),
      prow(T1, "mofa-ryoken", "B1-03-2", CODE2, "name", "ok", 0x30),
      prow(T2, "mhlw-nenkin", "B1-77", CODE1, "", "PERM", 0x40),
  };
  assert_int_equal(jk_store_provision_put_many(s, rows, 4), JK_OK);
  jk_store_close(s);
  raw_exec(f, "SELECT * FROM provision_code", TU_RAW_ERROR);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  assert_int_equal(watermark(s), rows[3].id);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM provision_code"), 3);
  assert_int_equal(raw_count(f, tu_is_pg() ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'provision_by_code' "
                                             "AND schemaname = current_schema()"
                                           : "SELECT count(*) FROM sqlite_master WHERE name = 'provision_by_code'"),
                   0);
  expect_by_code(s, rows, 4, "upgraded");
  rows[4] = prow(T2, "mofa-ryoken", "B1-03-2", CODE2, "", "STOPPED", 0x50);
  assert_int_equal(jk_store_provision_put_many(s, &rows[4], 1), JK_OK);
  expect_by_code(s, rows, 5, "a row after the upgrade");
  jk_store_close(s);
}

static int stop_holding_cb(const jk_holding_rec *r, void *p) {
  (void)r;
  (*(int *)p)++;
  return 1;
}

/* The name search's store half: holdings of one birth date and sex, any source and status, in
 * (code, source) order; the kana is compared by the caller. */
static void test_holding_by_person(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_holding_rec rows[7] = {
      holding(CODE1, SRC_A, 1, 1),
      holding(CODE1, SRC_B, 1, 2),
      holding(CODE2, SRC_A, 2, 1),         /* female */
      holding("33333333333", SRC_A, 3, 1), /* another birth date */
      holding("00000000019", SRC_B, 2, 4), /* removed */
      holding("44444444444", SRC_B, 3, 1), /* born a year later */
      {.seq = 4, .status = JK_HOLDING_ERASED},
  };
  rows[2].sex = JK_SEX_FEMALE;
  rows[3].birth = (jk_date){1980, 1, 3};
  rows[4].status = JK_STATUS_REMOVED;
  rows[5].birth = (jk_date){1981, 1, 2};
  snprintf(rows[6].code, sizeof rows[6].code, "%s", "55555555555");
  snprintf(rows[6].source, sizeof rows[6].source, "%s", SRC_A);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put_many(s, rows, 7), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);

  seen_holdings v = {0};
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_MALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.keys[0], "00000000019/" SRC_B "/4");
  assert_string_equal(v.keys[1], CODE1 "/" SRC_B "/2"); /* byte order: "B…" before "a…" */
  assert_string_equal(v.keys[2], CODE1 "/" SRC_A "/1");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_FEMALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_string_equal(v.keys[0], CODE2 "/" SRC_A "/1");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 3}, JK_SEX_MALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  assert_string_equal(v.keys[0], "33333333333/" SRC_A "/1");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1990, 5, 5}, JK_SEX_MALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 0);
  /* a callback may stop */
  int calls = 0;
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_MALE, stop_holding_cb, &calls), JK_OK);
  assert_int_equal(calls, 1);
  /* refused */
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){0, 0, 0}, JK_SEX_MALE, holding_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 2, 30}, JK_SEX_MALE, holding_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_NONE, holding_cb, &v), JK_EINVAL);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_MALE, NULL, NULL), JK_EINVAL);
  jk_store_close(s);
  /* a matching row edited by hand is found */
  raw_exec(f, "UPDATE holding SET kana = '' WHERE code = '" CODE1 "' AND source = '" SRC_A "'", TU_RAW_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_MALE, holding_cb, &v), JK_ECORRUPT);
  assert_error_contains("kana");
  memset(&v, 0, sizeof v);
  assert_int_equal(jk_store_holding_by_person(s, (jk_date){1980, 1, 2}, JK_SEX_FEMALE, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 1);
  jk_store_close(s);
}

static void test_peers(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_peer_rec p = {.cert_pem = (char *)"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"};
  snprintf(p.node, sizeof p.node, "%s", SRC_A);
  snprintf(p.lgcode, sizeof p.lgcode, "%s", "272108");
  snprintf(p.role, sizeof p.role, "%s", "municipality");
  memset(p.pubkey, 0x5a, sizeof p.pubkey);
  snprintf(p.seen_at, sizeof p.seen_at, "%s", "2026-11-23T01:00:00.000000Z");
  jk_peer_rec out;
  assert_int_equal(jk_store_peer_get(s, SRC_A, &out), JK_ENOTFOUND);
  assert_error_contains(SRC_A);
  assert_int_equal(jk_store_peer_put(s, &p), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_peer_put(s, &p), JK_OK);
  p.role[0] = '\0';
  assert_int_equal(jk_store_peer_put(s, &p), JK_EINVAL);
  snprintf(p.role, sizeof p.role, "%s", "prefecture"); /* upsert */
  assert_int_equal(jk_store_peer_put(s, &p), JK_OK);
  p.cert_pem = NULL;
  assert_int_equal(jk_store_peer_put(s, &p), JK_EINVAL);
  p.cert_pem = (char *)"";
  assert_int_equal(jk_store_peer_put(s, &p), JK_EINVAL);
  p.cert_pem = (char *)"pem";
  snprintf(p.node, sizeof p.node, "%s", "bad node");
  assert_int_equal(jk_store_peer_put(s, &p), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_peer_get(s, SRC_A, &out), JK_OK);
  assert_string_equal(out.node, SRC_A);
  assert_string_equal(out.lgcode, "272108");
  assert_string_equal(out.role, "prefecture");
  assert_int_equal(out.pubkey[31], 0x5a);
  assert_string_equal(out.seen_at, "2026-11-23T01:00:00.000000Z");
  assert_non_null(out.cert_pem);
  assert_string_equal(out.cert_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  jk_free(out.cert_pem);
  assert_int_equal(jk_store_peer_get(s, "nobody", &out), JK_ENOTFOUND);
  jk_store_close(s);
  raw_execf(f, TU_RAW_OK, "UPDATE peer SET pubkey = %s", blob("0102"));
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_peer_get(s, SRC_A, &out), JK_ECORRUPT);
  assert_error_contains("pubkey");
  assert_null(out.cert_pem);
  jk_store_close(s);
}

static jk_receipt_row receipt(const char *receiver, const char *source, int64_t ledger_size, const char *at,
                              uint8_t fill) {
  jk_receipt_row r = {.highest_seq = ledger_size * 2, .ledger_size = ledger_size};
  snprintf(r.receiver, sizeof r.receiver, "%s", receiver);
  snprintf(r.source, sizeof r.source, "%s", source);
  snprintf(r.sender, sizeof r.sender, "%s", SRC_A);
  snprintf(r.at, sizeof r.at, "%s", at);
  memset(r.ledger_root, fill, sizeof r.ledger_root);
  memset(r.sig, fill, sizeof r.sig);
  return r;
}

static void test_acks_and_receipts(void **state) {
  fx *f = *state;
  jk_store *s;
  uint8_t root[32], got[32];
  int64_t size = -1;
  memset(root, 0x77, sizeof root);
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_sync_ack_get(s, SRC_A, &size, got), JK_ENOTFOUND);
  assert_int_equal(jk_store_sync_ack_put(s, SRC_A, 10, root, "2026-11-23T01:00:00.000000Z"), JK_ECONFLICT);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_sync_ack_put(s, SRC_A, 10, root, "2026-11-23T01:00:00.000000Z"), JK_OK);
  root[0] = 0x78;
  assert_int_equal(jk_store_sync_ack_put(s, SRC_A, 12, root, "2026-11-23T02:00:00.000000Z"), JK_OK); /* replace */
  assert_int_equal(jk_store_sync_ack_put(s, SRC_A, -1, root, "2026-11-23T02:00:00.000000Z"), JK_EINVAL);
  assert_int_equal(jk_store_sync_ack_put(s, "a b", 1, root, "2026-11-23T02:00:00.000000Z"), JK_EINVAL);
  assert_int_equal(jk_store_sync_ack_put(s, SRC_A, 1, root, NULL), JK_EINVAL);

  const char *t1 = "2026-11-23T01:00:00.000000Z", *t2 = "2026-11-23T02:00:00.000000Z";
  jk_receipt_row r1 = receipt("pref-27", SRC_A, 10, t1, 1), r2 = receipt("pref-27", SRC_B, 12, t1, 2),
                 r3 = receipt("pref-27", "c-271004", 12, t2, 3), other = receipt("nation", SRC_A, 99, t2, 4);
  assert_int_equal(jk_store_receipt_put(s, &r1), JK_OK);
  assert_int_equal(jk_store_receipt_put(s, &r2), JK_OK);
  assert_int_equal(jk_store_receipt_put(s, &r3), JK_OK);
  assert_int_equal(jk_store_receipt_put(s, &other), JK_OK);
  jk_receipt_row bad = r1;
  bad.highest_seq = -1;
  assert_int_equal(jk_store_receipt_put(s, &bad), JK_EINVAL);
  bad = r1;
  bad.sender[0] = '\0';
  assert_int_equal(jk_store_receipt_put(s, &bad), JK_EINVAL);
  assert_int_equal(jk_store_commit(s), JK_OK);

  assert_int_equal(jk_store_sync_ack_get(s, SRC_A, &size, got), JK_OK);
  assert_int_equal(size, 12);
  assert_memory_equal(got, root, 32);
  jk_receipt_row out;
  assert_int_equal(jk_store_receipt_get(s, "pref-27", SRC_B, &out), JK_OK);
  assert_int_equal(out.ledger_size, 12);
  assert_int_equal(out.highest_seq, 24);
  assert_string_equal(out.sender, SRC_A);
  assert_string_equal(out.at, t1);
  assert_int_equal(out.sig[63], 2);
  assert_int_equal(jk_store_receipt_get(s, "pref-27", "nope", &out), JK_ENOTFOUND);
  /* latest: the newest, ties to the largest ledger size */
  assert_int_equal(jk_store_receipt_latest(s, "pref-27", &out), JK_OK);
  assert_string_equal(out.source, "c-271004");
  assert_int_equal(jk_store_receipt_latest(s, "nation", &out), JK_OK);
  assert_int_equal(out.ledger_size, 99);
  assert_int_equal(jk_store_receipt_latest(s, "nobody", &out), JK_ENOTFOUND);
  /* a newer receipt for (receiver, source) replaces the old one */
  assert_int_equal(jk_store_begin(s), JK_OK);
  jk_receipt_row r1b = receipt("pref-27", SRC_A, 20, t2, 5);
  assert_int_equal(jk_store_receipt_put(s, &r1b), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_receipt_latest(s, "pref-27", &out), JK_OK);
  assert_string_equal(out.source, SRC_A);
  assert_int_equal(out.ledger_size, 20);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM receipt"), 4);
  jk_store_close(s);

  raw_execf(f, TU_RAW_OK, "UPDATE receipt SET ledger_root = %s WHERE source = '%s'", blob("00"), SRC_A);
  raw_execf(f, TU_RAW_OK, "UPDATE sync_ack SET root = %s", blob("00"));
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_receipt_latest(s, "pref-27", &out), JK_ECORRUPT);
  assert_int_equal(jk_store_receipt_get(s, "pref-27", SRC_B, &out), JK_OK);
  assert_int_equal(jk_store_sync_ack_get(s, SRC_A, &size, got), JK_ECORRUPT);
  jk_store_close(s);
}

typedef struct page_check {
  int64_t n, next;
  int64_t stop_after;
  char last[80];
  bool bad;
} page_check;

static int page_cb(const jk_notice_row *r, void *p) {
  page_check *c = p;
  if (r->seq != c->next || r->enc_len != 16 || r->enc[0] != (uint8_t)(r->seq * 16 + r->source[0])) c->bad = true;
  c->next++;
  return ++c->n == c->stop_after;
}

/* Rows strictly ascending by (code, source) in byte order. */
static int holding_page_cb(const jk_holding_rec *r, void *p) {
  page_check *c = p;
  char key[80];
  snprintf(key, sizeof key, "%s %s", r->code, r->source);
  if (c->n && strcmp(key, c->last) <= 0) c->bad = true;
  memcpy(c->last, key, sizeof key);
  return ++c->n == c->stop_after;
}

/* Reads longer than the PostgreSQL backend's pages (4,096 rows) see every row once, in order. */
static void test_sync_long_reads(void **state) {
  fx *f = *state;
  jk_store *s;
  uint8_t enc[16];
  enum { N = 4100 };
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_OK);
  for (int64_t i = 1; i <= N; i++) {
    jk_notice_row r = nrow(SRC_A, i, CODE1, enc);
    assert_int_equal(jk_store_notice_append(s, &r), JK_OK);
    jk_holding_rec h = holding("", SRC_B, i, 1);
    snprintf(h.code, sizeof h.code, "%011lld", (long long)i);
    assert_int_equal(jk_store_holding_put(s, &h), JK_OK);
    if (i <= 10) { /* the same codes from another source: (code, source) order interleaves them */
      snprintf(h.source, sizeof h.source, "%s", SRC_A);
      assert_int_equal(jk_store_holding_put(s, &h), JK_OK);
    }
  }
  assert_int_equal(jk_store_commit(s), JK_OK);
  page_check c = {.next = 1};
  assert_int_equal(jk_store_notice_each(s, SRC_A, 1, 0, page_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, N);
  c = (page_check){.next = 4000, .stop_after = 97}; /* a range across the page boundary, stopped */
  assert_int_equal(jk_store_notice_each(s, SRC_A, 4000, 4099, page_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, 97);
  static uint8_t leaves[N][32];
  assert_int_equal(jk_store_notice_leaves(s, SRC_A, 0, N, leaves), JK_OK);
  assert_int_equal(leaves[N - 1][0], (uint8_t)(N + SRC_A[0]));
  c = (page_check){.n = 0};
  assert_int_equal(jk_store_holding_each(s, NULL, NULL, holding_page_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, N + 10);
  assert_string_equal(c.last, "00000004100 " SRC_B);
  c = (page_check){.n = 0};
  assert_int_equal(jk_store_holding_each(s, NULL, SRC_B, holding_page_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, N);
  c = (page_check){.n = 0, .stop_after = 4097};
  assert_int_equal(jk_store_holding_each(s, NULL, NULL, holding_page_cb, &c), JK_OK);
  assert_int_equal(c.n, 4097);
  int64_t n = 0;
  assert_int_equal(jk_store_holding_count(s, SRC_B, 0, &n), JK_OK);
  assert_int_equal(n, N);
  jk_store_close(s);
}

/* ---- several rows at once (jk_store_notice_append_many, _holding_put_many, _get_codes) ---- */

/* The notices of `sources` and every holding, as text: two stores compare equal when they hold
 * the same rows. */
static int dump_notice_cb(const jk_notice_row *r, void *p) {
  jk_buf *b = p;
  jk_buf_appendf(b, "N %s %lld %s ", r->source, (long long)r->seq, r->code);
  for (size_t i = 0; i < r->enc_len; i++) jk_buf_appendf(b, "%02x", r->enc[i]);
  jk_buf_appends(b, " ");
  for (size_t i = 0; i < 32; i++) jk_buf_appendf(b, "%02x", r->leaf[i]);
  jk_buf_appends(b, "\n");
  return 0;
}

static int dump_holding_cb(const jk_holding_rec *r, void *p) {
  jk_buf *b = p;
  jk_buf_appendf(b, "H %s|%s|%lld|%d|%s|%s|%s|%s|%04d-%02d-%02d|%04d-%02d-%02d|%d|%d|%d\n", r->code, r->source,
                 (long long)r->seq, r->version, r->name, r->kana, r->address, r->prev_code, r->birth.y, r->birth.m,
                 r->birth.d, r->moved_on.y, r->moved_on.m, r->moved_on.d, (int)r->sex, r->reason, r->status);
  return 0;
}

static char *dump_sync(jk_store *s, const char *const *sources, size_t nsources) {
  jk_buf b = {0};
  for (size_t i = 0; i < nsources; i++)
    assert_int_equal(jk_store_notice_each(s, sources[i], 1, 0, dump_notice_cb, &b), JK_OK);
  assert_int_equal(jk_store_holding_each(s, NULL, NULL, dump_holding_cb, &b), JK_OK);
  jk_buf_appends(&b, "end\n");
  return jk_buf_steal(&b, NULL);
}

/* Text that a careless array literal, CSV or SQL quoting would mangle. */
static const char *const nasty[] = {
    "O'Brien \"Jr\" \\ ,{x},(y)",
    "{\"a\",\"b\"}",
    "NULL",
    "\\x41\\\\",
    "髙橋　𠮷野家　ｶﾀｶﾅ　①", /* NFC Japanese, a 4-byte character, half-width kana */
    "a\tb\nc\rd",
    " ",
    "\"\"",
};
#define NNASTY (sizeof nasty / sizeof nasty[0])

/* Record i of a varied set: nasty text, the longest fields, erased rows, code changes. */
static jk_holding_rec varied_holding(int i, const char *source) {
  jk_holding_rec r = holding("", source, i + 1, i % 5 + 1);
  snprintf(r.code, sizeof r.code, "%011d", 20000000 + i % 37);
  snprintf(r.name, sizeof r.name, "%s%d", nasty[i % NNASTY], i);
  snprintf(r.kana, sizeof r.kana, "%s", nasty[(i + 3) % NNASTY]);
  if (i % 7 == 0) { /* the longest fields: JK_NAME_MAX / JK_ADDRESS_MAX bytes of 3-byte characters and 'x' */
    size_t k = 0;
    while (k + 3 <= JK_NAME_MAX) k += (size_t)snprintf(r.name + k, sizeof r.name - k, "%s", "漢");
    while (k < JK_NAME_MAX) r.name[k++] = 'x';
    r.name[k] = '\0';
    k = 0;
    while (k + 3 <= JK_ADDRESS_MAX) k += (size_t)snprintf(r.address + k, sizeof r.address - k, "%s", "町");
    while (k < JK_ADDRESS_MAX) r.address[k++] = 'y';
    r.address[k] = '\0';
  }
  if (i % 4 == 1) {
    r.reason = JK_MOVE_CODE_CHANGE;
    snprintf(r.prev_code, sizeof r.prev_code, "%011d", 30000000 + i);
  }
  if (i % 6 == 5) r.moved_on = (jk_date){0, 0, 0};
  if (i % 11 == 10) r.status = JK_STATUS_REMOVED;
  if (i % 9 == 8) { /* erased: content cleared */
    jk_holding_rec e = {.seq = i + 1, .version = 0, .status = JK_HOLDING_ERASED};
    memcpy(e.code, r.code, sizeof e.code);
    memcpy(e.source, r.source, sizeof e.source);
    r = e;
  }
  return r;
}

/* Notice i of a source: an encoding of 1 .. JK_NOTICE_ROW_MAX bytes of every value. */
static jk_notice_row varied_notice(const char *source, int64_t seq, uint8_t *enc, char code[12]) {
  jk_notice_row r = {.source = source, .seq = seq, .code = code, .enc = enc};
  snprintf(code, 12, "%011lld", (long long)(40000000 + seq % 8));
  r.enc_len = seq % 13 == 0 ? JK_NOTICE_ROW_MAX : (size_t)(1 + seq % 300);
  for (size_t i = 0; i < r.enc_len; i++) enc[i] = (uint8_t)(i * 7 + (size_t)seq + (uint8_t)source[0]);
  for (int i = 0; i < 32; i++) r.leaf[i] = (uint8_t)(seq * 3 + i);
  return r;
}

/* The same rows written one by one into one store and in many-calls into another read back the
 * same; more than a statement's worth of rows (the PostgreSQL backend writes in chunks). */
static void test_many_same_as_singles(void **state) {
  fx *f = *state;
  enum { NN = 4500, NH = 4600 };
  static const char *const sources[] = {SRC_A, SRC_B, "c-1", "d-2", "e-3", "f-4"};
  enum { NS = sizeof sources / sizeof sources[0] };
  tu_store t2;
  tu_store_new(&t2);
  jk_store *one, *many;
  assert_int_equal(jk_store_open(&one, t2.location, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_open(&many, f->path, JK_STORE_CREATE), JK_OK);
  static uint8_t encs[NN][JK_NOTICE_ROW_MAX];
  static jk_notice_row rows[NN];
  static jk_holding_rec recs[NH];
  /* SRC_A alone for 4000 rows, then six sources interleaved (more than the seq cache holds) */
  int64_t next[NS] = {1, 1, 1, 1, 1, 1};
  static char codes[NN][12];
  for (int i = 0; i < NN; i++) {
    int src = i < 4000 ? 0 : i % NS;
    rows[i] = varied_notice(sources[src], next[src]++, encs[i], codes[i]);
  }
  for (int i = 0; i < NH; i++) recs[i] = varied_holding(i, sources[i % 3]); /* (code, source) repeats often */

  assert_int_equal(jk_store_begin(one), JK_OK);
  for (int i = 0; i < NN; i++) assert_int_equal(jk_store_notice_append(one, &rows[i]), JK_OK);
  for (int i = 0; i < NH; i++)
    if (jk_store_holding_put(one, &recs[i]) != JK_OK) fail_msg("record %d: %s", i, jk_error_last());
  assert_int_equal(jk_store_commit(one), JK_OK);

  assert_int_equal(jk_store_notice_append_many(many, rows, 10), JK_ECONFLICT); /* no transaction */
  assert_int_equal(jk_store_holding_put_many(many, recs, 10), JK_ECONFLICT);
  assert_int_equal(jk_store_begin(many), JK_OK);
  assert_int_equal(jk_store_notice_append_many(many, rows, 0), JK_OK);
  assert_int_equal(jk_store_holding_put_many(many, recs, 0), JK_OK);
  assert_int_equal(jk_store_notice_append_many(many, rows, 1), JK_OK);       /* one */
  assert_int_equal(jk_store_notice_append(many, &rows[1]), JK_OK);          /* a single after a many */
  assert_int_equal(jk_store_notice_append_many(many, rows + 2, 3998), JK_OK); /* more than a chunk */
  assert_int_equal(jk_store_notice_append_many(many, rows + 4000, 300), JK_OK); /* six sources */
  for (int i = 4300; i < 4310; i++) assert_int_equal(jk_store_notice_append(many, &rows[i]), JK_OK);
  assert_int_equal(jk_store_notice_append_many(many, rows + 4310, NN - 4310), JK_OK);
  assert_int_equal(jk_store_holding_put_many(many, recs, 1), JK_OK);
  assert_int_equal(jk_store_holding_put_many(many, recs + 1, NH - 1), JK_OK);
  int64_t size = 0;
  assert_int_equal(jk_store_notice_size(many, SRC_A, &size), JK_OK);
  assert_int_equal(size, next[0] - 1);
  assert_int_equal(jk_store_commit(many), JK_OK);

  char *a = dump_sync(one, sources, NS), *b = dump_sync(many, sources, NS);
  assert_true(strlen(a) > 1000000);
  if (strcmp(a, b) != 0) {
    size_t k = 0;
    while (a[k] == b[k]) k++;
    while (k && a[k - 1] != '\n') k--;
    fail_msg("the stores differ from:\n%.300s\n---\n%.300s", a + k, b + k);
  }
  /* the nasty strings came back byte for byte */
  for (size_t i = 0; i < NNASTY; i++)
    if (!strstr(b, nasty[i])) fail_msg("'%s' did not come back", nasty[i]);
  jk_holding_rec got;
  assert_int_equal(jk_store_holding_get(many, recs[7].code, recs[7].source, &got), JK_OK);
  int64_t held = 0;
  assert_int_equal(jk_store_holding_count(many, NULL, 0, &held), JK_OK);
  assert_int_equal(held, 37 * 3);
  free(a);
  free(b);
  /* a transaction continues after many-calls: the seq cache was kept right */
  assert_int_equal(jk_store_begin(many), JK_OK);
  uint8_t enc[JK_NOTICE_ROW_MAX];
  char code[NS][12];
  jk_notice_row more[NS];
  for (int k = 0; k < NS; k++) more[k] = varied_notice(sources[k], next[k], enc, code[k]);
  assert_int_equal(jk_store_notice_append_many(many, more, NS), JK_OK);
  for (int k = 0; k < NS; k++) {
    jk_notice_row r = varied_notice(sources[k], next[k] + 1, enc, code[k]);
    assert_int_equal(jk_store_notice_append(many, &r), JK_OK);
  }
  jk_store_rollback(many);
  jk_store_close(one);
  jk_store_close(many);
  tu_store_free(&t2);
}

static void test_many_refused(void **state) {
  fx *f = *state;
  jk_store *s;
  uint8_t enc[8][16];
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_OK);
  jk_notice_row pre = nrow(SRC_A, 1, CODE1, enc[0]);
  assert_int_equal(jk_store_notice_append(s, &pre), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);

  static const struct {
    const char *what;
    int64_t seqs[5];
    const char *msg;
  } runs[] = {
      {"gap", {2, 3, 5}, "notice seq 5 of " SRC_A ": expected 4"},
      {"duplicate", {2, 3, 3}, "notice seq 3 of " SRC_A ": expected 4"},
      {"wrong first", {3, 4, 5}, "notice seq 3 of " SRC_A ": expected 2"},
      {"restart", {1, 2, 3}, "notice seq 1 of " SRC_A ": expected 2"},
      {"backwards", {2, 4, 3}, "notice seq 4 of " SRC_A ": expected 3"},
  };
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    jk_notice_row rows[3];
    for (int i = 0; i < 3; i++) rows[i] = nrow(SRC_A, runs[k].seqs[i], CODE2, enc[i]);
    assert_int_equal(jk_store_begin(s), JK_OK);
    if (jk_store_notice_append_many(s, rows, 3) != JK_ECONFLICT) fail_msg("%s: accepted", runs[k].what);
    assert_error_contains(runs[k].msg);
    jk_store_rollback(s);
    int64_t n = 0;
    assert_int_equal(jk_store_notice_size(s, SRC_A, &n), JK_OK);
    assert_int_equal(n, 1);
  }
  /* several sources: the error is the first refused row's in call order */
  jk_notice_row mix[5] = {nrow(SRC_B, 1, CODE1, enc[0]), nrow(SRC_A, 2, CODE1, enc[1]), nrow(SRC_B, 3, CODE1, enc[2]),
                          nrow(SRC_A, 4, CODE1, enc[3]), nrow("c-9", 2, CODE1, enc[4])};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_append_many(s, mix, 5), JK_ECONFLICT);
  assert_error_contains("notice seq 3 of " SRC_B ": expected 2");
  /* a bad field after the first contiguity error: the contiguity error; before it: the field */
  jk_notice_row two[3] = {nrow(SRC_A, 2, CODE1, enc[0]), nrow(SRC_A, 4, CODE1, enc[1]), nrow(SRC_A, 4, "123", enc[2])};
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_ECONFLICT);
  two[1].code = "123";
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_EINVAL);
  assert_error_contains("11 digits");
  two[1] = nrow(SRC_A, 3, CODE1, enc[1]);
  two[2] = nrow(SRC_A, 0, CODE1, enc[2]);
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_EINVAL);
  two[2] = nrow(SRC_A, 4, CODE1, enc[2]);
  two[2].enc_len = JK_NOTICE_ROW_MAX + 1;
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_EINVAL);
  two[2] = nrow("bad id", 1, CODE1, enc[2]);
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_EINVAL);
  assert_int_equal(jk_store_notice_append_many(s, NULL, 3), JK_EINVAL);
  assert_int_equal(jk_store_notice_append_many(s, NULL, 0), JK_OK);
  /* nothing of the refused calls was written: the next seq is still 2 */
  two[2] = nrow(SRC_A, 4, CODE1, enc[2]);
  assert_int_equal(jk_store_notice_append_many(s, two, 3), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  int64_t n = 0;
  assert_int_equal(jk_store_notice_size(s, SRC_A, &n), JK_OK);
  assert_int_equal(n, 4);
  assert_int_equal(jk_store_notice_size(s, SRC_B, &n), JK_OK);
  assert_int_equal(n, 0);

  /* holdings: a bad record anywhere refuses the whole call before anything is written */
  jk_holding_rec recs[3] = {holding(CODE1, SRC_A, 1, 1), holding(CODE2, SRC_A, 2, 1), holding(CODE2, SRC_B, 3, 1)};
  assert_int_equal(jk_store_begin(s), JK_OK);
  recs[2].birth = (jk_date){1980, 2, 30};
  assert_int_equal(jk_store_holding_put_many(s, recs, 3), JK_EINVAL);
  assert_error_contains("field birth");
  recs[2] = holding(CODE2, SRC_B, 3, 1);
  recs[1].sex = JK_SEX_NONE;
  assert_int_equal(jk_store_holding_put_many(s, recs, 3), JK_EINVAL);
  assert_error_contains("field sex");
  assert_int_equal(jk_store_holding_put_many(s, NULL, 2), JK_EINVAL);
  int64_t held = -1;
  assert_int_equal(jk_store_holding_count(s, NULL, 0, &held), JK_OK); /* the transaction is still usable */
  assert_int_equal(held, 0);
  assert_int_equal(jk_store_commit(s), JK_OK);

  /* a row the database refuses (here a trigger an editor added) fails the call; after the
   * rollback nothing of it is there */
  if (tu_is_pg())
    raw_exec(f,
             "CREATE TRIGGER refuse7 BEFORE INSERT ON notice_log FOR EACH ROW WHEN (NEW.seq = 7) "
             "EXECUTE FUNCTION jk_refuse('no seven')",
             TU_RAW_OK);
  else
    raw_exec(f, "CREATE TRIGGER refuse7 BEFORE INSERT ON notice_log WHEN NEW.seq = 7 BEGIN SELECT RAISE(ABORT, "
                "'no seven'); END",
             TU_RAW_OK);
  jk_notice_row five[4];
  for (int i = 0; i < 4; i++) five[i] = nrow(SRC_A, 5 + i, CODE1, enc[i]);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_notice_append_many(s, five, 4), JK_ECONFLICT);
  assert_error_contains("no seven");
  if (!tu_is_pg()) { /* SQLite goes on: nothing of the call was kept */
    assert_int_equal(jk_store_notice_size(s, SRC_A, &n), JK_OK);
    assert_int_equal(n, 4);
  }
  jk_store_rollback(s);
  assert_int_equal(jk_store_notice_size(s, SRC_A, &n), JK_OK);
  assert_int_equal(n, 4);
  /* an erroring holding upsert: the same */
  if (tu_is_pg())
    raw_exec(f,
             "CREATE TRIGGER refuse_h BEFORE INSERT OR UPDATE ON holding FOR EACH ROW WHEN (NEW.seq = 3) "
             "EXECUTE FUNCTION jk_refuse('no three')",
             TU_RAW_OK);
  else
    raw_exec(f, "CREATE TRIGGER refuse_h BEFORE INSERT ON holding WHEN NEW.seq = 3 BEGIN SELECT RAISE(ABORT, "
                "'no three'); END",
             TU_RAW_OK);
  recs[1] = holding(CODE2, SRC_A, 2, 1);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put_many(s, recs, 3), JK_ECONFLICT);
  assert_error_contains("no three");
  if (!tu_is_pg()) {
    assert_int_equal(jk_store_holding_count(s, NULL, 0, &held), JK_OK);
    assert_int_equal(held, 0);
  }
  jk_store_rollback(s);
  assert_int_equal(jk_store_holding_count(s, NULL, 0, &held), JK_OK);
  assert_int_equal(held, 0);
  jk_store_close(s);
}

/* put_many with the same (code, source) several times: the last one wins, wherever it is. */
static void test_holding_put_many_last_wins(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_holding_rec recs[6] = {holding(CODE1, SRC_A, 1, 1), holding(CODE2, SRC_A, 2, 1), holding(CODE1, SRC_A, 3, 2),
                            holding(CODE1, SRC_B, 4, 1), holding(CODE2, SRC_A, 5, 2), holding(CODE1, SRC_A, 6, 3)};
  snprintf(recs[5].name, sizeof recs[5].name, "%s", "最後　の人");
  assert_int_equal(jk_store_begin(s), JK_OK);
  jk_holding_rec old = holding(CODE2, SRC_A, 1, 1); /* already stored: replaced */
  assert_int_equal(jk_store_holding_put(s, &old), JK_OK);
  assert_int_equal(jk_store_holding_put_many(s, recs, 6), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  seen_holdings v = {0};
  assert_int_equal(jk_store_holding_each(s, NULL, NULL, holding_cb, &v), JK_OK);
  assert_int_equal(v.n, 3);
  assert_string_equal(v.keys[0], CODE2 "/" SRC_A "/2");
  assert_string_equal(v.keys[1], CODE1 "/" SRC_B "/1");
  assert_string_equal(v.keys[2], CODE1 "/" SRC_A "/3");
  jk_holding_rec got;
  assert_int_equal(jk_store_holding_get(s, CODE1, SRC_A, &got), JK_OK);
  assert_int_equal(got.seq, 6);
  assert_string_equal(got.name, "最後　の人");
  /* the same record twice in a row, and a row replaced by an erased one in the same call */
  jk_holding_rec gone = {.seq = 9, .version = 0, .status = JK_HOLDING_ERASED};
  snprintf(gone.code, sizeof gone.code, "%s", CODE1);
  snprintf(gone.source, sizeof gone.source, "%s", SRC_B);
  jk_holding_rec again[3] = {recs[3], recs[3], gone};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put_many(s, again, 3), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(jk_store_holding_get(s, CODE1, SRC_B, &got), JK_OK);
  assert_int_equal(got.status, JK_HOLDING_ERASED);
  assert_int_equal(got.seq, 9);
  assert_string_equal(got.name, "");
  assert_int_equal(got.birth.y, 0);
  jk_store_close(s);
}

typedef struct codes_seen {
  int n, stop_after;
  char last[80];
  bool bad;
  char keys[16][96];
} codes_seen;

static int codes_cb(const jk_holding_rec *r, void *p) {
  codes_seen *c = p;
  char key[80];
  snprintf(key, sizeof key, "%s %s", r->code, r->source);
  if (c->n && strcmp(key, c->last) <= 0) c->bad = true; /* (code, source) order, each row once */
  snprintf(c->last, sizeof c->last, "%s", key);
  if (c->n < 16) snprintf(c->keys[c->n], sizeof c->keys[0], "%s/%d", key, r->version);
  c->n++;
  return c->stop_after && c->n >= c->stop_after;
}

static void test_holding_get_codes(void **state) {
  fx *f = *state;
  jk_store *s;
  enum { N = 5000 };
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  static jk_holding_rec recs[N + 2];
  for (int i = 0; i < N; i++) {
    recs[i] = holding("", i % 2 ? SRC_A : SRC_B, i + 1, 1);
    snprintf(recs[i].code, sizeof recs[i].code, "%011d", 50000000 + i / 2); /* two sources per code */
  }
  recs[N] = holding(CODE1, SRC_A, 1, 4);
  recs[N + 1] = holding(CODE1, "0-first", 1, 5);
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_holding_put_many(s, recs, N + 2), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);

  /* repeats, unknown codes, any order; outside a transaction */
  const char *codes[] = {CODE2, CODE1, "00050000001", CODE1, "99999999999", "00050000000", "00050000001"};
  codes_seen c = {0};
  assert_int_equal(jk_store_holding_get_codes(s, codes, 7, codes_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, 6);
  assert_string_equal(c.keys[0], "00050000000 " SRC_B "/1"); /* byte order: "0-" < "B-" < "a-" */
  assert_string_equal(c.keys[1], "00050000000 " SRC_A "/1");
  assert_string_equal(c.keys[2], "00050000001 " SRC_B "/1");
  assert_string_equal(c.keys[3], "00050000001 " SRC_A "/1");
  assert_string_equal(c.keys[4], CODE1 " 0-first/5");
  assert_string_equal(c.keys[5], CODE1 " " SRC_A "/4");
  /* none known */
  c = (codes_seen){0};
  assert_int_equal(jk_store_holding_get_codes(s, codes + 4, 1, codes_cb, &c), JK_OK);
  assert_int_equal(c.n, 0);
  assert_int_equal(jk_store_holding_get_codes(s, NULL, 0, codes_cb, &c), JK_OK);
  assert_int_equal(c.n, 0);
  /* many codes (more than one statement's worth), backwards, each twice */
  static char buf[2 * N][12];
  static const char *many[2 * N];
  for (int i = 0; i < N; i++) {
    snprintf(buf[i], 12, "%011d", 50000000 + (N - 1 - i)); /* half of them unknown */
    snprintf(buf[N + i], 12, "%011d", 50000000 + i);
    many[i] = buf[i];
    many[N + i] = buf[N + i];
  }
  c = (codes_seen){0};
  assert_int_equal(jk_store_holding_get_codes(s, many, 2 * N, codes_cb, &c), JK_OK);
  assert_false(c.bad);
  assert_int_equal(c.n, N);
  assert_string_equal(c.last, "00050002499 " SRC_A);
  /* the callback stops it */
  c = (codes_seen){.stop_after = 4097};
  assert_int_equal(jk_store_holding_get_codes(s, many, 2 * N, codes_cb, &c), JK_OK);
  assert_int_equal(c.n, 4097);
  c = (codes_seen){.stop_after = 1};
  assert_int_equal(jk_store_holding_get_codes(s, codes, 7, codes_cb, &c), JK_OK);
  assert_int_equal(c.n, 1);
  /* invalid codes */
  const char *bad[] = {CODE1, "1234"};
  assert_int_equal(jk_store_holding_get_codes(s, bad, 2, codes_cb, &c), JK_EINVAL);
  bad[1] = NULL;
  assert_int_equal(jk_store_holding_get_codes(s, bad, 2, codes_cb, &c), JK_EINVAL);
  bad[1] = "1234567890a";
  assert_int_equal(jk_store_holding_get_codes(s, bad, 2, codes_cb, &c), JK_EINVAL);
  assert_int_equal(jk_store_holding_get_codes(s, NULL, 1, codes_cb, &c), JK_EINVAL);
  /* a malformed row is JK_ECORRUPT */
  raw_exec(f, "UPDATE holding SET sex = 7 WHERE code = '00050000001' AND source = '" SRC_A "'", TU_RAW_OK);
  c = (codes_seen){0};
  assert_int_equal(jk_store_holding_get_codes(s, codes, 7, codes_cb, &c), JK_ECORRUPT);
  assert_error_contains("field sex");
  jk_store_close(s);
}

typedef struct hook_log {
  int calls, released;
  char codes[4][12], prev[4][12];
  int versions[4];
  jk_err fail_with;
} hook_log;

static jk_err change_cb(jk_store *s, const jk_identity *rec, const char *prev_code, void *payload) {
  hook_log *h = payload;
  (void)s;
  if (h->calls < 4) {
    snprintf(h->codes[h->calls], 12, "%s", rec->code);
    snprintf(h->prev[h->calls], 12, "%s", prev_code ? prev_code : "-");
    h->versions[h->calls] = rec->version;
  }
  h->calls++;
  return h->fail_with ? jk_error_set(h->fail_with, "hook refused") : JK_OK;
}

static void release_cb(void *payload) { ((hook_log *)payload)->released++; }

/* jk_store_set_change_hook: called after each resident write, with the retired code of a code
 * change; its failure fails the write and the transaction. */
static void test_change_hook(void **state) {
  fx *f = *state;
  jk_store *s;
  hook_log h = {0}, h2 = {0};
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_store_set_change_hook(s, change_cb, &h, release_cb);
  jk_identity r = sample("00000000019", "ヤマダ　タロウ");
  jk_resident_keys k = {"山田太郎", "ヤマダタロウ", "大阪府枚方市"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &r, &k), JK_OK);
  jk_identity dup = sample("00000000019", "ヤマダ　ジロウ");
  assert_int_equal(jk_store_resident_insert(s, &dup, &k), JK_EEXISTS); /* no write, no call */
  jk_identity v2 = r;
  v2.version = 2;
  v2.reason = JK_MOVE_WITHIN;
  assert_int_equal(jk_store_resident_append(s, &v2, &k), JK_OK);
  jk_identity v3 = v2;
  v3.version = 3;
  v3.reason = JK_MOVE_CODE_CHANGE;
  snprintf(v3.code, sizeof v3.code, "%s", "00000000027");
  assert_int_equal(jk_store_resident_append(s, &v3, &k), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(h.calls, 3);
  assert_string_equal(h.codes[0], "00000000019");
  assert_string_equal(h.prev[0], "-");
  assert_int_equal(h.versions[1], 2);
  assert_string_equal(h.prev[1], "-");
  assert_string_equal(h.codes[2], "00000000027");
  assert_string_equal(h.prev[2], "00000000019");

  /* a failing hook fails the write, and the transaction cannot commit */
  h.fail_with = JK_ECONFLICT;
  assert_int_equal(jk_store_begin(s), JK_OK);
  jk_identity other = sample("00000000035", "スズキ　イチロウ");
  assert_int_equal(jk_store_resident_insert(s, &other, &k), JK_ECONFLICT);
  assert_int_equal(jk_store_meta_set(s, "after", "yes"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_ECONFLICT);
  int64_t n = -1;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  assert_int_equal(n, 1);
  char *v = NULL;
  assert_int_equal(jk_store_meta_get(s, "after", &v), JK_ENOTFOUND);
  /* the next transaction is a fresh one */
  h.fail_with = JK_OK;
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_resident_insert(s, &other, &k), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);

  /* replaced: the old payload released; closed: the new one */
  jk_store_set_change_hook(s, change_cb, &h2, release_cb);
  assert_int_equal(h.released, 1);
  jk_store_set_change_hook(s, NULL, NULL, NULL);
  assert_int_equal(h2.released, 1);
  jk_store_set_change_hook(s, change_cb, &h2, release_cb);
  jk_store_close(s);
  assert_int_equal(h2.released, 2);
  assert_int_equal(h2.calls, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_and_pragmas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_in_place, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_adds_sync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions_and_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_row_detected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_prefix_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_writer_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_taken_code_keeps_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notice_append_contiguous, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notice_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notice_scrub, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notice_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notice_subtree, setup, teardown),
      cmocka_unit_test_setup_teardown(test_outbox_heads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_agency_registry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_provision_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_adds_provision_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resident_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_holdback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scrub_pending_and_one, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_adds_rights, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restrictions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_protections, setup, teardown),
      cmocka_unit_test_setup_teardown(test_provision_review_stopped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_adds_restrictions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_provision_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_adds_provision_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_holding_by_person, setup, teardown),
      cmocka_unit_test_setup_teardown(test_holdings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_acks_and_receipts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sync_long_reads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_same_as_singles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_holding_put_many_last_wins, setup, teardown),
      cmocka_unit_test_setup_teardown(test_holding_get_codes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_change_hook, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
