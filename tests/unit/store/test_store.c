/* The store: migrations, durability settings, history, append-only guards, corruption.
 * Runs on SQLite, and on PostgreSQL when JK_TEST_STORE says so (storefx.h). */
#include "testutil.h"

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
  assert_true(jk_store_schema_latest() >= 2);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_and_pragmas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_upgrade_in_place, setup, teardown),
      cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
      cmocka_unit_test_setup_teardown(test_versions_and_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_row_detected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_prefix_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_writer_busy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_taken_code_keeps_transaction, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
