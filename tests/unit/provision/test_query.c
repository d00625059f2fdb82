/* An agency's query body (provision.h): the two ways to name a resident, and everything else
 * refused with the key named and nothing filled in. */
#include "testutil.h"

#include "jukinet/provision.h"

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

static jk_err q(const char *body, jk_provision_query *out) { return jk_provision_query_parse(body, strlen(body), out); }

static void refused(const char *body, jk_err want, const char *needle) {
  jk_provision_query r;
  memset(&r, 0x5a, sizeof r);
  jk_err e = q(body, &r);
  if (e != want) fail_msg("%s: got %d, want %d (%s)", body, e, want, jk_error_last());
  assert_error_contains(needle);
  static const jk_provision_query zero;
  assert_memory_equal(&r, &zero, sizeof r); /* nothing half-filled */
}

static void test_by_code(void **state) {
  (void)state;
  jk_provision_query r;
  assert_int_equal(q("{\"purpose\":\"B1-77\",\"code\":\"00000000019\"}", &r), JK_OK);
  assert_true(r.by_code);
  assert_string_equal(r.purpose, "B1-77");
  assert_string_equal(r.code, "00000000019");
  assert_string_equal(r.kana, "");
}

static void test_by_name(void **state) {
  (void)state;
  jk_provision_query r;
  const char *b = "{\"purpose\":\"B1-03-2\",\"kana\":\"ヤマダ　タロウ\",\"birth\":\"昭和55年4月1日\",\"sex\":\"男\","
                  "\"address\":\"大阪府枚方市大垣内町2丁目1番20号\"}";
  assert_int_equal(q(b, &r), JK_OK);
  assert_false(r.by_code);
  assert_string_equal(r.kana, "ヤマダ　タロウ");
  assert_int_equal(r.birth.y, 1980);
  assert_int_equal(r.birth.m, 4);
  assert_int_equal(r.birth.d, 1);
  assert_int_equal(r.sex, JK_SEX_MALE);
  assert_string_equal(r.address, "大阪府枚方市大垣内町2丁目1番20号");
  /* the address is optional; NFC applied (a decomposed ガ becomes one character) */
  assert_int_equal(q("{\"purpose\":\"B1-77\",\"kana\":\"\xe3\x82\xab\xe3\x82\x99ク\",\"birth\":\"1990-01-02\","
                     "\"sex\":\"female\"}",
                     &r),
                   JK_OK);
  assert_string_equal(r.kana, "ガク");
  assert_string_equal(r.address, "");
  assert_int_equal(r.sex, JK_SEX_FEMALE);
}

static void test_refused(void **state) {
  (void)state;
  refused("", JK_EINVAL, "empty");
  refused("[]", JK_EINVAL, "JSON object");
  refused("{\"purpose\":\"B1-77\",\"code\":\"00000000019\"", JK_EINVAL, "not JSON");
  refused("{\"purpose\":\"B1-77\",\"purpose\":\"B1-01\",\"code\":\"00000000019\"}", JK_EINVAL, "not JSON");
  refused("{\"purpose\":\"B1-77\",\"code\":\"00000000019\",\"fields\":\"all\"}", JK_EINVAL, "unknown key \"fields\"");
  refused("{\"code\":\"00000000019\"}", JK_EINVAL, "\"purpose\" is missing");
  refused("{\"purpose\":\"77\",\"code\":\"00000000019\"}", JK_EINVAL, "not a purpose code");
  refused("{\"purpose\":77,\"code\":\"00000000019\"}", JK_EINVAL, "\"purpose\" must be a string");
  refused("{\"purpose\":\"B1-77\",\"code\":19}", JK_EINVAL, "\"code\" must be a string");
  refused("{\"purpose\":\"B1-77\",\"code\":\"00000000018\"}", JK_EINVAL, "\"code\"");
  refused("{\"purpose\":\"B1-77\",\"code\":\"\"}", JK_EINVAL, "\"code\" is empty");
  refused("{\"purpose\":\"B1-77\",\"code\":\"000000000190\"}", JK_EINVAL, "longer than");
  refused("{\"purpose\":\"B1-77\",\"code\":\"00000000019\",\"kana\":\"ヤマダ\"}", JK_EINVAL, "not both");
  refused("{\"purpose\":\"B1-77\"}", JK_EINVAL, "together");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"ヤマダ\",\"birth\":\"1980-04-01\"}", JK_EINVAL, "together");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"山田\",\"birth\":\"1980-04-01\",\"sex\":\"男\"}", JK_EINVAL, "in kana");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"ヤマダ\",\"birth\":\"1980-02-30\",\"sex\":\"男\"}", JK_EINVAL,
          "\"birth\"");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"ヤマダ\",\"birth\":\"1980-04-01\",\"sex\":\"x\"}", JK_EINVAL, "\"sex\"");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"ヤマダ\",\"birth\":[1980],\"sex\":\"男\"}", JK_EINVAL, "must be a string");
  refused("{\"purpose\":\"B1-77\",\"code\":\"0000000001\\u00009\"}", JK_EINVAL, "NUL");
  /* invalid UTF-8, raw and escaped as a lone surrogate */
  const char raw[] = "{\"purpose\":\"B1-77\",\"kana\":\"\xff\"}";
  jk_provision_query r;
  assert_int_equal(jk_provision_query_parse(raw, sizeof raw - 1, &r), JK_EINVAL);
  assert_error_contains("UTF-8");
  refused("{\"purpose\":\"B1-77\",\"kana\":\"\\ud800\",\"birth\":\"1980-04-01\",\"sex\":\"男\"}", JK_EINVAL, "not JSON");
  /* size */
  char *big = jk_malloc(JK_PROVISION_BODY_MAX + 2);
  memset(big, ' ', JK_PROVISION_BODY_MAX + 1);
  big[0] = '{';
  big[JK_PROVISION_BODY_MAX] = '}';
  big[JK_PROVISION_BODY_MAX + 1] = '\0';
  refused(big, JK_ETOOLARGE, "more than");
  jk_free(big);
  char addr[1400];
  int n = snprintf(addr, sizeof addr, "{\"purpose\":\"B1-77\",\"kana\":\"ヤ\",\"birth\":\"1980-04-01\",\"sex\":\"男\",\"address\":\"");
  memset(addr + n, 'a', 700);
  memcpy(addr + n + 700, "\"}", 3);
  refused(addr, JK_EINVAL, "\"address\" is longer than");
  assert_int_equal(jk_provision_query_parse(NULL, 0, &r), JK_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_by_code, setup),
      cmocka_unit_test_setup(test_by_name, setup),
      cmocka_unit_test_setup(test_refused, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
