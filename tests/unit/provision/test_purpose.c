/* The table of lawful purposes (purpose.h): the compiled-in 別表 rows, and a strict parser that
 * names the line of anything malformed. */
#include "testutil.h"

#include "jukinet/file.h"
#include "jukinet/purpose.h"

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

#define HDR "code\tagency\taffair\tfields\tcitation\tsource_url\n"
#define ROW(code, fields) code "\t厚生労働省\t国民年金法による年金である給付の支給に関する事務\t" fields "\t別表第一\thttps://example.org/\n"

static jk_err parse(const char *text) {
  jk_purposes *p = NULL;
  jk_err e = jk_purposes_parse(&p, text, strlen(text));
  if (e) assert_null(p);
  jk_purposes_free(p);
  return e;
}

static void test_builtin(void **state) {
  (void)state;
  const jk_purposes *p;
  assert_int_equal(jk_purposes_builtin(&p), JK_OK);
  assert_true(jk_purposes_count(p) >= 30);
  const jk_purpose *r = jk_purposes_find(p, "B1-01");
  assert_non_null(r);
  assert_non_null(strstr(r->affair, "被災者生活再建支援金"));
  assert_non_null(strstr(r->citation, "別表第一"));
  /* the law (30条の9): 別表第一 agencies get 本人確認情報 other than the 住民票コード */
  for (size_t i = 0; i < jk_purposes_count(p); i++) {
    const jk_purpose *x = jk_purposes_at(p, i);
    assert_int_equal(x->fields & JK_FIELD_CODE, 0);
    assert_true(x->fields & JK_FIELD_NAME);
    assert_ptr_equal(jk_purposes_find(p, x->code), x); /* every row found by its code (binary search) */
  }
  assert_null(jk_purposes_find(p, "A"));
  assert_null(jk_purposes_find(p, "B9-99"));
  assert_null(jk_purposes_find(p, ""));
  assert_null(jk_purposes_at(p, jk_purposes_count(p)));
  assert_null(jk_purposes_find(p, "B1-04")); /* 削除 */
  assert_null(jk_purposes_find(p, "nothing"));
  /* the compiled-in bytes are exactly data/purposes.tsv */
  char *file = NULL;
  size_t len = 0;
  assert_int_equal(jk_file_read(JK_SOURCE_DIR "/data/purposes.tsv", JK_PURPOSES_BYTES_MAX, &file, &len), JK_OK);
  jk_purposes *q;
  assert_int_equal(jk_purposes_parse(&q, file, len), JK_OK);
  assert_int_equal(jk_purposes_count(q), jk_purposes_count(p));
  for (size_t i = 0; i < jk_purposes_count(p); i++) {
    assert_string_equal(jk_purposes_at(q, i)->code, jk_purposes_at(p, i)->code);
    assert_string_equal(jk_purposes_at(q, i)->affair, jk_purposes_at(p, i)->affair);
    assert_string_equal(jk_purposes_at(q, i)->source, jk_purposes_at(p, i)->source);
  }
  jk_purposes_free(q);
  jk_free(file);
}

static void test_parse(void **state) {
  (void)state;
  const char *t = HDR ROW("B1-03-2", "name,birth,sex,address,change") ROW("B2-10", "address,name");
  jk_purposes *p;
  assert_int_equal(jk_purposes_parse(&p, t, strlen(t)), JK_OK);
  assert_int_equal(jk_purposes_count(p), 2);
  const jk_purpose *r = jk_purposes_find(p, "B2-10");
  assert_non_null(r);
  assert_int_equal(r->fields, JK_FIELD_ADDRESS | JK_FIELD_NAME);
  assert_string_equal(r->agency, "厚生労働省");
  assert_string_equal(r->source, "https://example.org/");
  jk_purposes_free(p);
  /* the last line may lack its LF; a header alone is an empty table */
  const char *nolf = HDR "B1-01\ta\tb\tname\tc\td";
  assert_int_equal(jk_purposes_parse(&p, nolf, strlen(nolf)), JK_OK);
  assert_int_equal(jk_purposes_count(p), 1);
  jk_purposes_free(p);
  assert_int_equal(jk_purposes_parse(&p, HDR, strlen(HDR)), JK_OK);
  assert_int_equal(jk_purposes_count(p), 0);
  jk_purposes_free(p);
}

static void test_bad_tables(void **state) {
  (void)state;
  assert_int_equal(parse(""), JK_EINVAL);
  assert_error_contains("header");
  assert_int_equal(parse("code\tagency\n"), JK_EINVAL);
  assert_error_contains("line 1");
  assert_int_equal(parse(HDR "B1-01\ta\tb\tname\tc\n"), JK_EINVAL); /* 5 cells */
  assert_error_contains("line 2: not 6");
  assert_int_equal(parse(HDR "B1-01\ta\tb\tname\tc\td\te\n"), JK_EINVAL); /* 7 cells */
  assert_int_equal(parse(HDR "B1-01\t\tb\tname\tc\td\n"), JK_EINVAL);
  assert_error_contains("empty cell");
  assert_int_equal(parse(HDR ROW("B1-01", "name") "\n" ROW("B1-02", "name")), JK_EINVAL);
  assert_error_contains("line 3: an empty line");
  assert_int_equal(parse(HDR ROW("B1-01", "name") ROW("B1-01", "sex")), JK_EINVAL);
  assert_error_contains("line 3: code B1-01 is given twice");
  static const char *codes[] = {"B1-1", "B7-01", "B1-00", "b1-01", "B1-01-", "B1-01-0", "B1-01-123", "B1-01x",
                                "B1-01-1-2-3-4-56", "B1_01", "1-01"};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    char t[512];
    snprintf(t, sizeof t, HDR "%s\ta\tb\tname\tc\td\n", codes[i]);
    if (parse(t) != JK_EINVAL) fail_msg("code %s was accepted", codes[i]);
    assert_error_contains("code");
  }
  assert_int_equal(parse(HDR ROW("B1-01", "name,nickname")), JK_EINVAL);
  assert_error_contains("line 2: fields: \"nickname\"");
  assert_int_equal(parse(HDR ROW("B1-01", "name,name")), JK_EINVAL);
  assert_error_contains("given twice");
  assert_int_equal(parse(HDR ROW("B1-01", "name,")), JK_EINVAL);
  assert_int_equal(parse(HDR "B1-01\ta\tb\tname\tc\td\r\n"), JK_EINVAL);
  assert_error_contains("carriage return");
  const char bad_utf8[] = HDR "B1-01\ta\xff\tb\tname\tc\td\n";
  jk_purposes *p = NULL;
  assert_int_equal(jk_purposes_parse(&p, bad_utf8, sizeof bad_utf8 - 1), JK_EINVAL);
  assert_error_contains("UTF-8");
  const char nul[] = HDR "B1-01\ta\0\tb\tname\tc\td\n";
  assert_int_equal(jk_purposes_parse(&p, nul, sizeof nul - 1), JK_EINVAL);
  assert_error_contains("NUL");
  assert_null(p);
  /* sizes */
  size_t big = JK_PURPOSE_CELL_MAX + 1;
  static const char head[] = HDR "B1-01\ta\t", tail[] = "\tname\tc\td\n";
  char *t = jk_malloc(sizeof head + big + sizeof tail);
  memcpy(t, head, sizeof head - 1);
  memset(t + sizeof head - 1, 'x', big);
  memcpy(t + sizeof head - 1 + big, tail, sizeof tail); /* with its NUL */
  assert_int_equal(parse(t), JK_ETOOLARGE);
  jk_free(t);
  assert_int_equal(jk_purposes_parse(&p, "", (size_t)JK_PURPOSES_BYTES_MAX + 1), JK_ETOOLARGE);
  assert_int_equal(jk_purposes_parse(&p, NULL, 3), JK_EINVAL);
}

static void test_fields(void **state) {
  (void)state;
  unsigned f;
  assert_int_equal(jk_fields_parse("change,name", 11, &f), JK_OK);
  assert_int_equal(f, JK_FIELD_CHANGE | JK_FIELD_NAME);
  char buf[64];
  jk_fields_format(JK_FIELD_ALL, buf, sizeof buf);
  assert_string_equal(buf, "name,birth,sex,address,code,change");
  jk_fields_format(JK_FIELD_CHANGE | JK_FIELD_NAME, buf, sizeof buf);
  assert_string_equal(buf, "name,change");
  jk_fields_format(0, buf, sizeof buf);
  assert_string_equal(buf, "");
  assert_int_equal(jk_fields_parse("", 0, &f), JK_EINVAL);
  assert_int_equal(jk_fields_parse("Name", 4, &f), JK_EINVAL);
  assert_string_equal(jk_field_name_ja(JK_FIELD_CODE), "住民票コード");
  assert_null(jk_field_name_ja(JK_FIELD_NAME | JK_FIELD_SEX));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_builtin, setup),
      cmocka_unit_test_setup(test_parse, setup),
      cmocka_unit_test_setup(test_bad_tables, setup),
      cmocka_unit_test_setup(test_fields, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
