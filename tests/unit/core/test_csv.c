/* CSV reader and writer: RFC 4180, limits, errors naming line and field. */
#include "testutil.h"

#include "jukinet/csv.h"

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

typedef struct rec {
  const char *const *f;
  const size_t *l;
  size_t n;
} rec;

static jk_err next(jk_csv *c, rec *r) { return jk_csv_next(c, &r->f, &r->l, &r->n); }

static void test_basic(void **state) {
  (void)state;
  const char *in = "\xEF\xBB\xBF" "a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n\n\"multi\nline\",,z";
  jk_csv *c;
  rec r;
  assert_int_equal(jk_csv_new(&c, in, strlen(in), NULL), JK_OK);
  assert_int_equal(next(c, &r), JK_OK);
  assert_int_equal(r.n, 3);
  assert_string_equal(r.f[0], "a");
  assert_int_equal(jk_csv_line(c), 1);
  assert_int_equal(next(c, &r), JK_OK);
  assert_string_equal(r.f[1], "x,y");
  assert_string_equal(r.f[2], "he said \"hi\"");
  assert_int_equal(r.l[2], strlen("he said \"hi\""));
  assert_int_equal(next(c, &r), JK_OK);
  assert_int_equal(jk_csv_line(c), 4);
  assert_string_equal(r.f[0], "multi\nline");
  assert_string_equal(r.f[1], "");
  assert_string_equal(r.f[2], "z");
  assert_int_equal(next(c, &r), JK_ENOTFOUND);
  jk_csv_free(c);
}

static void test_open_quote(void **state) {
  (void)state;
  const char *in = "a,b\n1,2\n3,\"never closed\n4,5\n";
  jk_csv *c;
  rec r;
  assert_int_equal(jk_csv_new(&c, in, strlen(in), NULL), JK_OK);
  assert_int_equal(next(c, &r), JK_OK);
  assert_int_equal(next(c, &r), JK_OK);
  assert_int_equal(next(c, &r), JK_EINVAL);
  assert_error_contains("line 3, field 2");
  assert_error_contains("never closed");
  assert_int_equal(next(c, &r), JK_EINVAL); /* sticky */
  jk_csv_free(c);
}

static void test_stray_quotes(void **state) {
  (void)state;
  jk_csv *c;
  rec r;
  const char *a = "ab\"c,d\n";
  assert_int_equal(jk_csv_new(&c, a, strlen(a), NULL), JK_OK);
  assert_int_equal(next(c, &r), JK_EINVAL);
  assert_error_contains("field 1");
  jk_csv_free(c);
  const char *b = "x,\"ab\"c\n";
  assert_int_equal(jk_csv_new(&c, b, strlen(b), NULL), JK_OK);
  assert_int_equal(next(c, &r), JK_EINVAL);
  assert_error_contains("after the closing quote");
  jk_csv_free(c);
}

static void test_limits(void **state) {
  (void)state;
  jk_csv_limits lim = {.max_field = 100, .max_fields = 4};
  char big[10050];
  memset(big, 'x', 10000);
  memcpy(big + 10000, ",y\n", 4);
  jk_csv *c;
  rec r;
  assert_int_equal(jk_csv_new(&c, big, strlen(big), &lim), JK_OK);
  assert_int_equal(next(c, &r), JK_ETOOLARGE);
  assert_error_contains("field 1");
  jk_csv_free(c);
  big[0] = '"';
  memcpy(big + 9999, "\",y\n", 5);
  assert_int_equal(jk_csv_new(&c, big, strlen(big), &lim), JK_OK);
  assert_int_equal(next(c, &r), JK_ETOOLARGE);
  jk_csv_free(c);
  const char *many = "1,2,3,4,5\n";
  assert_int_equal(jk_csv_new(&c, many, strlen(many), &lim), JK_OK);
  assert_int_equal(next(c, &r), JK_ETOOLARGE);
  assert_error_contains("more than 4 fields");
  jk_csv_free(c);
}

static void test_writer_round_trip(void **state) {
  (void)state;
  const char *vals[] = {"plain", "with,comma", "with \"quote\"", "line\nbreak", " padded ", "", "山田　太郎"};
  jk_buf b = {0};
  for (size_t i = 0; i < 7; i++) assert_int_equal(jk_csv_put_field(&b, vals[i], strlen(vals[i]), i == 0), JK_OK);
  assert_int_equal(jk_csv_end_record(&b), JK_OK);
  jk_csv *c;
  rec r;
  assert_int_equal(jk_csv_new(&c, b.data, b.len, NULL), JK_OK);
  assert_int_equal(next(c, &r), JK_OK);
  assert_int_equal(r.n, 7);
  for (size_t i = 0; i < 7; i++) assert_string_equal(r.f[i], vals[i]);
  jk_csv_free(c);
  jk_buf_free(&b);
}

static void test_alloc_failures(void **state) {
  (void)state;
  const char *in = "a,b,c\n\"1\",2,3\n";
  /* fail each allocation in turn: never a crash, a leak (ASan) or a wrong success */
  for (unsigned long k = 1; k < 50; k++) {
    jk_csv *c = NULL;
    rec r;
    jk_alloc_fail_at(k);
    jk_err e = jk_csv_new(&c, in, strlen(in), NULL);
    size_t got = 0;
    while (e == JK_OK && (e = next(c, &r)) == JK_OK) got++;
    jk_alloc_fail_at(0);
    jk_csv_free(c);
    if (e == JK_ENOTFOUND) {
      assert_int_equal(got, 2);
      return; /* past every allocation site */
    }
    assert_int_equal(e, JK_ENOMEM);
  }
  fail_msg("allocation failures never stopped");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),  cmocka_unit_test(test_open_quote),         cmocka_unit_test(test_stray_quotes),
      cmocka_unit_test(test_limits), cmocka_unit_test(test_writer_round_trip), cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
