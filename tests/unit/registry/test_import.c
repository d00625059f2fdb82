/* CSV import (all or nothing, REQ-IMP-1) and export round trip; CP932 at the edge. */
#include "testutil.h"

#include "storefx.h"

#include "jukinet/buf.h"
#include "jukinet/registry.h"
#include "jukinet/text.h"


static const char *const HEADER = "住民票コード,氏名,氏名かな,生年月日,性別,住所,世帯,続柄,異動事由,異動年月日\n";

/* n good rows; row `bad` (1-based, 0 = none) replaced by `badrow`. */
static char *make_csv(size_t n, size_t bad, const char *badrow) {
  jk_buf b = {0};
  jk_buf_appends(&b, HEADER);
  for (size_t i = 1; i <= n; i++) {
    if (i == bad) {
      jk_buf_appends(&b, badrow);
      continue;
    }
    jk_buf_appendf(&b, ",山田　太郎%zu,ヤマダ　タロウ,昭和55年1月2日,男,大阪府枚方市岡東町%zu番1号,%zu,,転入,2002-08-05\n", i,
                   i % 50 + 1, (i + 1) / 2);
  }
  return jk_buf_steal(&b, NULL);
}

static void import_ok(jk_store *s, const char *csv, size_t want_rows) {
  jk_import_result res;
  jk_err e = jk_registry_import_csv(s, csv, strlen(csv), &res);
  if (e) fail_msg("import: %s", jk_error_last());
  assert_int_equal(res.rows, want_rows);
}

static void test_import_good(void **state) {
  fx *f = *state;
  char *csv = make_csv(1000, 0, NULL);
  jk_import_result res;
  assert_int_equal(jk_registry_import_csv(f->s, csv, strlen(csv), &res), JK_OK);
  assert_int_equal(res.rows, 1000);
  assert_int_equal(res.households, 500);
  assert_int_equal(count(f->s), 1000);
  free(csv);
  /* English header, other order, optional columns absent, household keys non-contiguous */
  const char *en = "kana,name,sex,birth,address,household\n"
                   "スズキ　イチロウ,鈴木　一郎,M,1970-05-06,大阪府門真市,A\n"
                   "サトウ　ハナコ,佐藤　花子,F,H2.3.4,大阪府門真市,B\n"
                   "スズキ　ハナコ,鈴木　花子,女,1972-01-01,大阪府門真市,A\n";
  assert_int_equal(jk_registry_import_csv(f->s, en, strlen(en), &res), JK_OK);
  assert_int_equal(res.rows, 3);
  assert_int_equal(res.households, 2);
}

static void test_one_bad_row_in_100000(void **state) {
  fx *f = *state;
  char *csv = make_csv(100000, 77777, ",山田　太郎,ヤマダ　タロウ,昭和64年1月8日,男,大阪府枚方市,1,,転入,\n");
  jk_import_result res;
  assert_int_equal(jk_registry_import_csv(f->s, csv, strlen(csv), &res), JK_EINVAL);
  assert_error_contains("nothing was imported");
  assert_error_contains("row 77777 (line 77778)");
  assert_error_contains("生年月日");
  assert_int_equal(res.rows, 0);
  assert_int_equal(res.errors, 1);
  assert_int_equal(count(f->s), 0);
  free(csv);
}

static void test_bad_files(void **state) {
  fx *f = *state;
  struct {
    const char *csv;
    const char *detail;
  } cases[] = {
      {"", "empty"},
      {"氏名,氏名かな,生年月日,性別\n山田,ヤマダ,1980-01-01,男\n", "住所"},                       /* missing column */
      {"氏名,氏名かな,生年月日,性別,住所,色\n", "unknown column"},
      {"氏名,氏名かな,生年月日,性別,住所\n", "no rows"},
      {"氏名,氏名かな,生年月日,性別,住所\n\"山田,ヤマダ,1980-01-01,男,大阪府\n", "never closed"},
      {"氏名,氏名かな,生年月日,性別,住所\n山田,ヤマダ,1980-01-01,男\n", "has 4 fields"},
      {"氏名,氏名かな,生年月日,性別,住所\n山田\xff,ヤマダ,1980-01-01,男,大阪府\n", "invalid UTF-8"},
      {"氏名,氏名かな,生年月日,性別,住所\n山田,ヤマダ,1980-01-01,X,大阪府\n", "性別"},
      {"氏名,氏名かな,生年月日,性別,住所\n山田,ヤマダ,天保3年1月1日,男,大阪府\n", "era"},
      {"氏名,氏名かな,生年月日,性別,住所\n山田,ヤマダ,2099-01-01,男,大阪府\n", "future"},
      {"氏名,氏名かな,生年月日,性別,住所\n,ヤマダ,1980-01-01,男,大阪府\n", "name"},
      {"住民票コード,氏名,氏名かな,生年月日,性別,住所\n00000000018,山田,ヤマダ,1980-01-01,男,大阪府\n", "check digit"},
      {"住民票コード,氏名,氏名かな,生年月日,性別,住所\n00000000019,山田,ヤマダ,1980-01-01,男,大阪府\n"
       "00000000019,山田,ヤマダ,1980-01-01,男,大阪府\n",
       "row 2"}, /* the same code twice */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    jk_import_result res;
    jk_err e = jk_registry_import_csv(f->s, cases[i].csv, strlen(cases[i].csv), &res);
    if (e == JK_OK) fail_msg("case %zu imported", i);
    if (!strstr(jk_error_last(), cases[i].detail)) fail_msg("case %zu: '%s' lacks '%s'", i, jk_error_last(), cases[i].detail);
    assert_int_equal(count(f->s), 0);
  }
  /* a 10,000-character field */
  jk_buf b = {0};
  jk_buf_appends(&b, "氏名,氏名かな,生年月日,性別,住所\n山田,ヤマダ,1980-01-01,男,");
  for (int i = 0; i < 10000; i++) jk_buf_append(&b, "A", 1);
  jk_buf_appends(&b, "\n");
  jk_import_result res;
  assert_int_not_equal(jk_registry_import_csv(f->s, b.data, b.len, &res), JK_OK);
  assert_error_contains("line 2");
  assert_int_equal(count(f->s), 0);
  jk_buf_free(&b);
}

static void test_many_errors_reported(void **state) {
  fx *f = *state;
  jk_buf b = {0};
  jk_buf_appends(&b, "氏名,氏名かな,生年月日,性別,住所\n");
  for (int i = 0; i < 30; i++) jk_buf_appends(&b, "山田,ヤマダ,1980-13-01,男,大阪府\n");
  jk_import_result res;
  assert_int_equal(jk_registry_import_csv(f->s, b.data, b.len, &res), JK_EINVAL);
  assert_int_equal(res.errors, 30);
  assert_error_contains("row 20 ");
  assert_error_contains("and 10 more");
  jk_buf_free(&b);
}

typedef struct snap {
  jk_buf b;
} snap;

static int on_rec(const jk_identity *r, void *p) {
  snap *s = p;
  jk_buf_appendf(&s->b, "%s|%s|%s|%d-%d-%d|%d|%s|%s|%d|%d\n", r->code, r->name, r->kana, r->birth.y, r->birth.m,
                 r->birth.d, r->sex, r->address, r->relation ? r->relation : "", r->reason, r->status);
  return 0;
}

static void test_export_round_trip(void **state) {
  fx *f = *state;
  char *csv = make_csv(200, 0, NULL);
  import_ok(f->s, csv, 200);
  free(csv);
  /* a removed resident and a quoted address travel too */
  const char *more = "氏名,氏名かな,生年月日,性別,住所,異動事由,状態\n"
                     "田中　一,タナカ　ハジメ,1940-01-01,男,\"大阪府枚方市, 旧住所\",死亡,消除\n";
  import_ok(f->s, more, 1);
  jk_buf out = {0};
  size_t rows = 0;
  assert_int_equal(jk_registry_export_csv(f->s, &out, &rows), JK_OK);
  assert_int_equal(rows, 201);

  char path[512];
  jk_store *s2;
  snprintf(path, sizeof path, "%s/copy.db", f->dir);
  assert_int_equal(jk_store_open(&s2, path, JK_STORE_CREATE), JK_OK);
  import_ok(s2, out.data, 201);
  snap a = {0}, b = {0};
  assert_int_equal(jk_store_resident_each(f->s, on_rec, &a), JK_OK);
  assert_int_equal(jk_store_resident_each(s2, on_rec, &b), JK_OK);
  assert_string_equal(a.b.data, b.b.data);
  jk_buf_free(&a.b);
  jk_buf_free(&b.b);

  /* CP932 at the edge: the same file survives a CP932 round trip */
  char *sj = NULL, *back = NULL;
  size_t sjlen = 0, backlen = 0;
  jk_text_pos pos;
  assert_int_equal(jk_utf8_to_cp932(out.data, out.len, &sj, &sjlen, &pos), JK_OK);
  assert_int_equal(jk_cp932_to_utf8(sj, sjlen, &back, &backlen), JK_OK);
  assert_int_equal(backlen, out.len);
  assert_memory_equal(back, out.data, out.len);
  jk_free(sj);
  jk_free(back);
  jk_buf_free(&out);
  jk_store_close(s2);
}

static void test_export_unencodable_reported(void **state) {
  fx *f = *state;
  const char *csv = "氏名,氏名かな,生年月日,性別,住所\n"
                    "山田　太郎,ヤマダ　タロウ,1980-01-02,男,大阪府枚方市\n"
                    "𠮷田　花子,ヨシダ　ハナコ,1981-02-03,女,大阪府枚方市\n";
  import_ok(f->s, csv, 2);
  jk_buf out = {0};
  assert_int_equal(jk_registry_export_csv(f->s, &out, NULL), JK_OK);
  char *sj = NULL;
  size_t sjlen;
  jk_text_pos pos;
  assert_int_equal(jk_utf8_to_cp932(out.data, out.len, &sj, &sjlen, &pos), JK_EINVAL);
  assert_int_equal(pos.line, 3);
  assert_int_equal(pos.column, 13); /* after "NNNNNNNNNNN," */
  assert_int_equal(pos.cp, 0x20BB7);
  assert_null(sj);
  jk_buf_free(&out);
}

/* Fail each allocation of an import in turn (both pipeline threads draw from the same
 * counter): every outcome is either ENOMEM with nothing stored, or the whole file stored. */
static void test_alloc_failures_all_or_nothing(void **state) {
  fx *f = *state;
  char *csv = make_csv(40, 0, NULL);
  bool succeeded = false;
  for (unsigned long k = 1; k < 3000 && !succeeded; k += (k < 200 ? 1 : 37)) {
    jk_import_result res;
    jk_alloc_fail_at(k);
    jk_err e = jk_registry_import_csv(f->s, csv, strlen(csv), &res);
    jk_alloc_fail_at(0);
    if (e == JK_OK) {
      assert_int_equal(count(f->s), 40);
      succeeded = true;
    } else {
      if (e != JK_ENOMEM) fail_msg("allocation %lu: %s (%s)", k, jk_err_name(e), jk_error_last());
      assert_int_equal(count(f->s), 0);
    }
  }
  assert_true(succeeded);
  free(csv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_import_good, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_bad_row_in_100000, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_errors_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_export_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_export_unencodable_reported, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alloc_failures_all_or_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
