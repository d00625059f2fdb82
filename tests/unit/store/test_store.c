/* The SQLite store: migrations, durability settings, history, append-only guards, corruption. */
#include "testutil.h"

#include "jukinet/store.h"
#include "store/store_int.h"

#include <sqlite3.h>

typedef struct fx {
  char *dir;
  char path[512];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = tu_tmpdir();
  snprintf(f->path, sizeof f->path, "%s/node.db", f->dir);
  jk_lang_set(JK_LANG_EN);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  tu_rmdir(f->dir);
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

static void raw_exec(const char *path, const char *sql, int want_rc) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  assert_int_equal(rc & 0xff, want_rc);
}

static void test_create_and_pragmas(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_ENOTFOUND);
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  assert_string_equal(jk_store_backend(s), "sqlite");
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  assert_true(jk_store_schema_latest() >= 2);
  jk_store_close(s);
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
  raw_exec(f->path, "SELECT * FROM retired_code", SQLITE_ERROR); /* not there yet */
  /* a newer program opens it: upgraded, data kept */
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  assert_int_equal(jk_store_schema_version(s), jk_store_schema_latest());
  int64_t n = 0;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  assert_int_equal(n, 1);
  jk_store_close(s);
  raw_exec(f->path, "SELECT * FROM retired_code", SQLITE_OK);
}

static void test_newer_schema_refused(void **state) {
  fx *f = *state;
  jk_store *s;
  assert_int_equal(jk_store_open(&s, f->path, JK_STORE_CREATE), JK_OK);
  jk_store_close(s);
  raw_exec(f->path, "INSERT INTO schema_migrations VALUES (9999, 'future', 'x')", SQLITE_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_EUNSUPPORTED);
  assert_error_contains("9999");
}

static void test_not_a_database(void **state) {
  fx *f = *state;
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
  raw_exec(f->path, "UPDATE resident_version SET name = 'x'", SQLITE_CONSTRAINT);
  raw_exec(f->path, "DELETE FROM resident_version", SQLITE_CONSTRAINT);
  raw_exec(f->path, "DELETE FROM resident", SQLITE_CONSTRAINT);
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
  raw_exec(f->path, "UPDATE resident SET birth = '1980-02-30'", SQLITE_OK);
  assert_int_equal(jk_store_open(&s, f->path, 0), JK_OK);
  jk_identity cur = {0};
  assert_int_equal(jk_store_resident_get(s, r.resident_id, &cur), JK_ECORRUPT);
  assert_error_contains("birth");
  jk_store_close(s);
  raw_exec(f->path, "UPDATE resident SET birth = '1980-01-02', name = x'ff00'", SQLITE_OK);
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
