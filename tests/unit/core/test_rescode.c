/* Resident codes (住民票コード) and local-government codes (地方公共団体コード). REQ-CODE-1. */
#include "testutil.h"

#include "jukinet/rescode.h"

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

/* The check digit by the documented formula, computed independently. */
static int reference_check(const char *body) {
  int sum = 0;
  for (int i = 0; i < 10; i++) {
    int w = (i % 6) + 2; /* 2,3,4,5,6,7,2,3,4,5 from the right */
    sum += (body[9 - i] - '0') * w;
  }
  int r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

static void test_check_digit_known(void **state) {
  (void)state;
  /* 0000000001: sum = 1*2 = 2 → 11-2 = 9 */
  assert_int_equal(jk_rescode_check_digit("0000000001"), 9);
  /* 1000000000: leftmost digit has weight 5 → r = 5 → 6 */
  assert_int_equal(jk_rescode_check_digit("1000000000"), 6);
  /* all zeros → r = 0 → 0 */
  assert_int_equal(jk_rescode_check_digit("0000000000"), 0);
  /* remainder 1 → 0: 0000000006? 6*2=12 → r=1 */
  assert_int_equal(jk_rescode_check_digit("0000000006"), 0);
  assert_int_equal(jk_rescode_validate("00000000019", 11), JK_OK);
}

static void test_validate_errors(void **state) {
  (void)state;
  assert_int_equal(jk_rescode_validate("1234567890", 10), JK_EINVAL);
  assert_error_contains("11 digits");
  assert_int_equal(jk_rescode_validate("123456789012", 12), JK_EINVAL);
  assert_int_equal(jk_rescode_validate("12345a78901", 11), JK_EINVAL);
  assert_error_contains("character 6");
  char code[12] = "00000000019";
  code[10] = '8';
  assert_int_equal(jk_rescode_validate(code, 11), JK_EINVAL);
  assert_error_contains("should be 9");
}

static void test_every_single_digit_error_caught(void **state) {
  (void)state;
  /* mod 11 with weights < 11 catches every single-digit substitution */
  char code[12];
  for (int n = 0; n < 200; n++) {
    jk_rescode_random(code);
    assert_int_equal(jk_rescode_validate(code, 11), JK_OK);
    assert_int_equal(code[10] - '0', reference_check(code));
    for (int pos = 0; pos < 10; pos++) {
      char saved = code[pos];
      for (char d = '0'; d <= '9'; d++) {
        if (d == saved) continue;
        code[pos] = d;
        /* a substitution that keeps the check digit can only happen when r hits 0/1 both ways */
        if (jk_rescode_validate(code, 11) == JK_OK) assert_int_equal(code[10], '0');
      }
      code[pos] = saved;
    }
  }
}

static void test_random_distribution(void **state) {
  (void)state;
  int counts[10] = {0};
  char code[12];
  for (int i = 0; i < 20000; i++) {
    jk_rescode_random(code);
    for (int k = 0; k < 10; k++) counts[code[k] - '0']++;
  }
  for (int d = 0; d < 10; d++) { /* 20000 expected each; 6 sigma ≈ 850 */
    assert_true(counts[d] > 19000);
    assert_true(counts[d] < 21000);
  }
}

/* codes in a slice: valid, in that slice, spread over the whole body range */
static void test_slices(void **state) {
  (void)state;
  int slices[] = {0, 1, 17, 4095};
  for (size_t k = 0; k < sizeof slices / sizeof *slices; k++) {
    int lo = 0, hi = 0;
    for (int i = 0; i < 2000; i++) {
      char c[JK_RESCODE_LEN + 1];
      jk_rescode_random_slice(c, slices[k]);
      assert_int_equal(jk_rescode_validate(c, strlen(c)), JK_OK);
      assert_int_equal(jk_rescode_slice(c), slices[k]);
      if (c[0] < '5') lo++;
      else hi++;
    }
    assert_true(lo > 800 && hi > 800);
  }
  char c[JK_RESCODE_LEN + 1];
  jk_rescode_random_slice(c, -1); /* any */
  assert_int_equal(jk_rescode_validate(c, strlen(c)), JK_OK);
  assert_int_equal(jk_rescode_slice("99999999990"), (int)(UINT64_C(9999999999) % JK_RESCODE_SLICES));
}

static void test_lgcode(void **state) {
  (void)state;
  assert_int_equal(jk_lgcode_validate("272108", 6), JK_OK); /* 枚方市 */
  assert_int_equal(jk_lgcode_validate("272230", 6), JK_OK); /* 門真市 */
  assert_int_equal(jk_lgcode_validate("131016", 6), JK_OK); /* 千代田区 */
  assert_int_equal(jk_lgcode_validate("272109", 6), JK_EINVAL);
  assert_error_contains("should be 8");
  assert_int_equal(jk_lgcode_validate("27210", 5), JK_EINVAL);
  assert_error_contains("272108");
  assert_int_equal(jk_lgcode_validate("2721089", 7), JK_EINVAL);
  assert_int_equal(jk_lgcode_validate("27a108", 6), JK_EINVAL);
  assert_int_equal(jk_lgcode_validate("481001", 6), JK_EINVAL);
  assert_error_contains("48");
  assert_int_equal(jk_lgcode_validate("001007", 6), JK_EINVAL);
}

static void test_japanese_message(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_rescode_validate("12345", 5), JK_EINVAL);
  assert_error_contains("住民票コードは11桁");
  jk_lang_set(JK_LANG_EN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_digit_known),   cmocka_unit_test(test_validate_errors),
      cmocka_unit_test(test_every_single_digit_error_caught), cmocka_unit_test(test_random_distribution),
      cmocka_unit_test(test_lgcode), cmocka_unit_test(test_slices),              cmocka_unit_test(test_japanese_message),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
