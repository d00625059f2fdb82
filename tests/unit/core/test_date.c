/*
 * Dates: every accepted form, every era boundary (both sides), calendar rules, full-width
 * input, hostile input, every day from 明治 to 2100 round-tripped through both text forms,
 * day arithmetic against independent references, age, today, and the error details.
 */
#include "testutil.h"

#include <time.h>

#include "jukinet/date.h"

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  return 0;
}

static jk_date D(int y, int m, int d) { return (jk_date){y, m, d}; }

static void parse_ok_at(const char *text, int y, int m, int d, int line) {
  jk_date out = {-1, -1, -1};
  jk_err e = jk_date_parse(text, &out);
  if (e != JK_OK) fail_msg("line %d: '%s' refused: %s", line, text, jk_error_last());
  if (out.y != y || out.m != m || out.d != d)
    fail_msg("line %d: '%s' parsed as %d-%d-%d, want %d-%d-%d", line, text, out.y, out.m, out.d, y, m, d);
}
#define parse_ok(text, y, m, d) parse_ok_at((text), (y), (m), (d), __LINE__)

/* Refused with JK_EINVAL, *out cleared, and the English detail contains `why`. */
static void parse_bad_at(const char *text, const char *why, int line) {
  jk_date out = {7, 7, 7};
  jk_error_clear();
  jk_err e = jk_date_parse(text, &out);
  if (e != JK_EINVAL) fail_msg("line %d: '%s' gave %d (%d-%d-%d), want JK_EINVAL", line, text, e, out.y, out.m, out.d);
  if (jk_error_last_code() != JK_EINVAL) fail_msg("line %d: '%s': last error code not set", line, text);
  if (out.y || out.m || out.d) fail_msg("line %d: '%s': out not cleared on failure", line, text);
  if (!strstr(jk_error_last(), why)) fail_msg("line %d: '%s': detail '%s' lacks '%s'", line, text, jk_error_last(), why);
}
#define parse_bad(text, why) parse_bad_at((text), (why), __LINE__)

/* ---- accepted forms ------------------------------------------------------------------ */

static void test_western_forms(void **state) {
  (void)state;
  parse_ok("2002-08-05", 2002, 8, 5);
  parse_ok("2002/8/5", 2002, 8, 5);
  parse_ok("2002/08/05", 2002, 8, 5);
  parse_ok("2002.8.5", 2002, 8, 5);
  parse_ok("2002-8-5", 2002, 8, 5);
  parse_ok("2002年8月5日", 2002, 8, 5);
  parse_ok("2002年08月05日", 2002, 8, 5);
  parse_ok("20020805", 2002, 8, 5);
  parse_ok("19991231", 1999, 12, 31);
  parse_ok("00010101", 1, 1, 1);
  parse_ok("0001-01-01", 1, 1, 1);
  parse_ok("9999-12-31", 9999, 12, 31);
  parse_ok("1850年1月1日", 1850, 1, 1);
  parse_ok("  2002-08-05  ", 2002, 8, 5);
  parse_ok("\t2002-08-05\n", 2002, 8, 5);
  parse_ok("　2002-08-05　", 2002, 8, 5); /* U+3000 */
  parse_ok("　 　2002年8月5日 　", 2002, 8, 5);
}

static void test_wareki_forms(void **state) {
  (void)state;
  parse_ok("平成14年8月5日", 2002, 8, 5);
  parse_ok("平成14年08月05日", 2002, 8, 5);
  parse_ok("平成元年1月8日", 1989, 1, 8);
  parse_ok("平成1年1月8日", 1989, 1, 8);
  parse_ok("H14.8.5", 2002, 8, 5);
  parse_ok("H14/8/5", 2002, 8, 5);
  parse_ok("h14-8-5", 2002, 8, 5);
  parse_ok("H14-08-05", 2002, 8, 5);
  parse_ok("H14年8月5日", 2002, 8, 5);
  parse_ok("平成14.8.5", 2002, 8, 5);
  parse_ok("H元.1.8", 1989, 1, 8);
  parse_ok("h元/1/8", 1989, 1, 8);
  parse_ok("M1.10.23", 1868, 10, 23);
  parse_ok("m45.7.29", 1912, 7, 29);
  parse_ok("T1.7.30", 1912, 7, 30);
  parse_ok("t15/12/24", 1926, 12, 24);
  parse_ok("S1.12.25", 1926, 12, 25);
  parse_ok("s64.1.7", 1989, 1, 7);
  parse_ok("R1.5.1", 2019, 5, 1);
  parse_ok("r8.11.23", 2026, 11, 23);
  parse_ok("明治元年10月23日", 1868, 10, 23);
  parse_ok("大正元年7月30日", 1912, 7, 30);
  parse_ok("昭和元年12月25日", 1926, 12, 25);
  parse_ok("令和元年5月1日", 2019, 5, 1);
  parse_ok("令和8年11月23日", 2026, 11, 23);
  parse_ok("昭和50年3月1日", 1975, 3, 1);
  parse_ok("㍻14年8月5日", 2002, 8, 5); /* the one-character era ligatures */
  parse_ok("㋿元年5月1日", 2019, 5, 1);
  parse_ok("㍼64年1月7日", 1989, 1, 7);
  parse_ok("  令和元年5月1日　", 2019, 5, 1);
  parse_ok("令和7981年12月31日", 9999, 12, 31); /* the last representable 令和 day */
}

static void test_fullwidth(void **state) {
  (void)state;
  parse_ok("Ｈ１４．８．５", 2002, 8, 5);
  parse_ok("ｈ１４／８／５", 2002, 8, 5);
  parse_ok("Ｈ１４－８－５", 2002, 8, 5);
  parse_ok("２００２年８月５日", 2002, 8, 5);
  parse_ok("２００２－０８－０５", 2002, 8, 5);
  parse_ok("２００２／８／５", 2002, 8, 5);
  parse_ok("２００２０８０５", 2002, 8, 5);
  parse_ok("平成１４年８月５日", 2002, 8, 5);
  parse_ok("Ｒ元．５．１", 2019, 5, 1);
  parse_ok("Ｓ６４．１．７", 1989, 1, 7);
  parse_ok("2００2-0８-05", 2002, 8, 5); /* mixed widths */
  parse_ok("　Ｈ１４．８．５　", 2002, 8, 5);
  parse_bad("Ｘ１４．８．５", "unknown era 'Ｘ'");
  parse_bad("Ｈ３１．５．１", "outside the era");
  parse_bad("２００１－０２－２９", "2001-02-29 does not exist");
  parse_bad("２００２－０８－０５！", "unexpected '！' after the end of the date (character 11)");
}

/* ---- era boundaries ------------------------------------------------------------------ */

static void test_era_boundaries(void **state) {
  (void)state;
  /* 明治: from 1868-10-23; 明治元年 before that is refused. */
  parse_ok("明治元年10月23日", 1868, 10, 23);
  parse_bad("明治元年10月22日", "before the era began on 1868-10-23");
  parse_bad("明治元年1月1日", "明治 year 1 month 1 day 1 is before the era began on 1868-10-23");
  parse_bad("M1.10.22", "before the era began");
  /* 明治 → 大正 on 1912-07-30 */
  parse_ok("明治45年7月29日", 1912, 7, 29);
  parse_bad("明治45年7月30日", "明治 year 45 month 7 day 30 is outside the era (it ended on 1912-07-29)");
  parse_bad("明治46年1月1日", "outside the era (it ended on 1912-07-29)");
  parse_ok("大正元年7月30日", 1912, 7, 30);
  parse_bad("大正元年7月29日", "大正 year 1 month 7 day 29 is before the era began on 1912-07-30");
  /* 大正 → 昭和 on 1926-12-25 */
  parse_ok("大正15年12月24日", 1926, 12, 24);
  parse_bad("大正15年12月25日", "outside the era (it ended on 1926-12-24)");
  parse_ok("昭和元年12月25日", 1926, 12, 25);
  parse_ok("昭和元年12月31日", 1926, 12, 31);
  parse_bad("昭和元年12月24日", "before the era began on 1926-12-25");
  /* 昭和 → 平成 on 1989-01-08 */
  parse_ok("昭和64年1月7日", 1989, 1, 7);
  parse_bad("昭和64年1月8日", "昭和 year 64 month 1 day 8 is outside the era (it ended on 1989-01-07)");
  parse_bad("S64.1.8", "outside the era (it ended on 1989-01-07)");
  parse_bad("昭和65年1月1日", "outside the era");
  parse_ok("平成元年1月8日", 1989, 1, 8);
  parse_bad("平成元年1月7日", "平成 year 1 month 1 day 7 is before the era began on 1989-01-08");
  parse_bad("平成元年1月1日", "before the era began on 1989-01-08");
  /* 平成 → 令和 on 2019-05-01 */
  parse_ok("平成31年4月30日", 2019, 4, 30);
  parse_bad("平成31年5月1日", "平成 year 31 month 5 day 1 is outside the era (it ended on 2019-04-30)");
  parse_bad("H32.1.1", "outside the era (it ended on 2019-04-30)");
  parse_ok("令和元年5月1日", 2019, 5, 1);
  parse_bad("令和元年4月30日", "令和 year 1 month 4 day 30 is before the era began on 2019-05-01");
  parse_bad("R1.1.1", "before the era began on 2019-05-01");
  /* Era years: 0 and too many digits */
  parse_bad("平成0年1月8日", "平成 year 0 does not exist");
  parse_bad("H0.5.5", "year 0 does not exist");
  parse_bad("令和12345年1月1日", "the era year must have 1 to 4 digits, this one has 5");
  parse_bad("令和7982年1月1日", "out of range: 令和 year 7982 would be 10000");
  /* An impossible calendar date inside an era is refused as such, not as outside the era. */
  parse_bad("平成13年2月29日", "impossible date: 2001-02-29 does not exist (that month has 28 days)");
  parse_ok("平成12年2月29日", 2000, 2, 29);
  parse_bad("昭和64年1月32日", "impossible date: 1989-01-32");
}

/* ---- calendar rules ------------------------------------------------------------------ */

static void test_calendar_rules(void **state) {
  (void)state;
  parse_bad("2001-02-29", "impossible date: 2001-02-29 does not exist (that month has 28 days)");
  parse_ok("2000-02-29", 2000, 2, 29);
  parse_ok("2004-02-29", 2004, 2, 29);
  parse_ok("1600-02-29", 1600, 2, 29);
  parse_bad("1900-02-29", "1900-02-29 does not exist (that month has 28 days)");
  parse_bad("2100-02-29", "2100-02-29 does not exist");
  parse_bad("2000-02-30", "2000-02-30 does not exist (that month has 29 days)");
  parse_bad("2002-13-01", "2002-13-01 does not exist (months run from 1 to 12)");
  parse_bad("2002-00-10", "2002-00-10 does not exist (months run from 1 to 12)");
  parse_bad("2002-01-00", "2002-01-00 does not exist (days start at 1)");
  parse_bad("2002-01-32", "2002-01-32 does not exist (that month has 31 days)");
  parse_bad("2002年4月31日", "2002-04-31 does not exist (that month has 30 days)");
  parse_ok("2002年4月30日", 2002, 4, 30);
  parse_bad("20020230", "2002-02-30 does not exist");
  parse_bad("20021301", "2002-13-01 does not exist");
  parse_bad("0000-01-01", "year 0 does not exist");
  parse_bad("00000101", "year 0 does not exist");
  parse_bad("02-08-05", "a western year must have 4 digits, this one has 2");
  parse_bad("02/8/5", "a western year must have 4 digits");
  parse_bad("14年8月5日", "a western year must have 4 digits");
  parse_bad("202-08-05", "a western year must have 4 digits, this one has 3");
  parse_bad("12002-08-05", "a western year must have 4 digits, this one has 5");
  parse_bad("020805", "a western year must have 4 digits, this one has 6");
  parse_bad("2002-008-05", "the month must have 1 or 2 digits, this one has 3");
  parse_bad("2002-08-005", "the day must have 1 or 2 digits, this one has 3");
}

/* ---- refused input ------------------------------------------------------------------- */

static void test_refused(void **state) {
  (void)state;
  jk_date out;
  parse_bad("", "the date is empty");
  parse_bad("   　 ", "the date is empty");
  parse_bad(NULL, "the date is empty");
  assert_int_equal(jk_date_parse("2002-08-05", NULL), JK_EINVAL);
  /* unknown eras */
  parse_bad("天保3年1月1日", "unknown era '天保'");
  parse_bad("X5.1.1", "unknown era 'X'");
  parse_bad("HH14.8.5", "unknown era 'HH'");
  parse_bad("Heisei14.8.5", "unknown era 'Heisei'");
  parse_bad("元禄3年1月1日", "unknown era '元禄'");
  parse_bad("天元3年1月1日", "unknown era '天元'");
  parse_bad("元年5月1日", "'元' (year 1) needs an era name");
  parse_bad("平成元元年1月8日", "unknown era '平成元元'");
  /* structure */
  parse_bad("2002", "incomplete date: the month and day are missing");
  parse_bad("2002-", "incomplete date: the month is missing");
  parse_bad("2002-08", "incomplete date: the day is missing");
  parse_bad("2002-08-", "incomplete date: the day is missing");
  parse_bad("2002年8月5", "incomplete date: '日' is missing after the day");
  parse_bad("2002年8月", "incomplete date: the day is missing");
  parse_bad("平成", "incomplete date: the year is missing after the era 平成");
  parse_bad("H", "the year is missing after the era 平成");
  parse_bad("2002-08/05", "mixed separators: '-' after the year but '/' after the month");
  parse_bad("2002.8/5", "mixed separators: '.' after the year but '/' after the month");
  parse_bad("2002年8-5", "unexpected '-' at character 7");
  parse_bad("2002-8月5日", "unexpected '月' at character 7");
  parse_bad("2002--08-05", "unexpected '-' at character 6");
  parse_bad("-2002-08-05", "unexpected '-' at character 1");
  parse_bad("+2002-08-05", "unexpected '+' at character 1");
  parse_bad("平成14年8月5日x", "unexpected 'x' after the end of the date (character 10)");
  parse_bad("2002-08-05T00:00", "unexpected 'T' after the end of the date (character 11)");
  parse_bad("2002-08-05 12:00", "unexpected space inside the date (character 11)");
  parse_bad("2002-08-05-", "unexpected '-' after the end of the date");
  parse_bad("2002年8月5日です", "unexpected 'です' after the end of the date");
  parse_bad("2002年8月5日日", "unexpected '日' after the end of the date");
  parse_bad("20020805x", "unexpected 'x' after the end of the date (character 9)");
  parse_bad("20020805 1", "unexpected space inside the date");
  parse_bad("2002 -08-05", "unexpected space inside the date (character 5)");
  parse_bad("平成 14年8月5日", "unexpected space inside the date (character 3)");
  parse_bad("2002　-08-05", "unexpected space inside the date (character 5)");
  parse_bad("2002-08-05\x01", "unexpected 'U+0001' after the end of the date");
  parse_bad("\x7f", "unexpected 'U+007F' at character 1");
  parse_bad("\xc2\x85" "2002-08-05", "unexpected 'U+0085' at character 1");
  parse_bad("年", "unexpected '年' at character 1");
  /* invalid UTF-8 anywhere, including truncated, overlong and surrogate sequences */
  parse_bad("2002-08-05\xff", "not valid UTF-8 (byte 11)");
  parse_bad("\xe5\xb9", "not valid UTF-8 (byte 1)");
  parse_bad("平成\xe5", "not valid UTF-8 (byte 7)");
  parse_bad("\xc0\xb2" "002-08-05", "not valid UTF-8");  /* overlong '2' */
  parse_bad("\xed\xa0\x80", "not valid UTF-8");          /* surrogate */
  parse_bad("\xf4\x90\x80\x80", "not valid UTF-8");      /* > U+10FFFF */
  /* a sequence cut by the NUL: the scan stops there (ASan would see a read past it) */
  char cut[3] = {'\xe5', '\0', '\x80'};
  assert_int_equal(jk_date_parse(cut, &out), JK_EINVAL);
  assert_non_null(strstr(jk_error_last(), "UTF-8"));
}

static void test_huge_input(void **state) {
  (void)state;
  size_t n = 1u << 20;
  char *big = malloc(n + 16);
  assert_non_null(big);
  memset(big, '9', n);
  big[n] = '\0';
  parse_bad(big, "a western year must have 4 digits, this one has 1048576");
  /* many spaces around a date are still only spaces */
  memset(big, ' ', n);
  memcpy(big + n / 2, "2002-08-05", 10);
  big[n] = '\0';
  parse_ok(big, 2002, 8, 5);
  /* a huge word is shown cut, with an ellipsis */
  for (size_t i = 0; i + 3 <= n; i += 3) memcpy(big + i, "天", 3);
  big[n - n % 3] = '\0';
  parse_bad(big, "unknown era '天天天");
  assert_non_null(strstr(jk_error_last(), "…'"));
  assert_true(strlen(jk_error_last()) < 200);
  /* long trailing garbage */
  memset(big, 'x', n);
  memcpy(big, "2002-08-05", 10);
  big[n] = '\0';
  parse_bad(big, "unexpected 'xxxxxxxx");
  free(big);
}

/* ---- formatting ---------------------------------------------------------------------- */

static void wareki_is(jk_date d, const char *want) {
  char buf[JK_DATE_TEXT_MAX];
  memset(buf, 'Z', sizeof buf);
  jk_date_format_wareki(d, buf);
  if (strcmp(buf, want) != 0) fail_msg("%d-%d-%d: wareki '%s', want '%s'", d.y, d.m, d.d, buf, want);
}

static void test_format(void **state) {
  (void)state;
  char iso[11];
  jk_date_format_iso(D(2002, 8, 5), iso);
  assert_string_equal(iso, "2002-08-05");
  jk_date_format_iso(D(1, 1, 1), iso);
  assert_string_equal(iso, "0001-01-01");
  jk_date_format_iso(D(9999, 12, 31), iso);
  assert_string_equal(iso, "9999-12-31");
  jk_date_format_iso(D(0, 0, 0), iso); /* "no date" */
  assert_string_equal(iso, "");
  jk_date_format_iso(D(2001, 2, 29), iso);
  assert_string_equal(iso, "");
  jk_date_format_iso(D(12345, 1, 1), iso);
  assert_string_equal(iso, "");

  wareki_is(D(2002, 8, 5), "平成14年8月5日");
  wareki_is(D(2019, 5, 1), "令和元年5月1日");
  wareki_is(D(2019, 4, 30), "平成31年4月30日");
  wareki_is(D(2020, 1, 1), "令和2年1月1日");
  wareki_is(D(1989, 1, 7), "昭和64年1月7日");
  wareki_is(D(1989, 1, 8), "平成元年1月8日");
  wareki_is(D(1926, 12, 24), "大正15年12月24日");
  wareki_is(D(1926, 12, 25), "昭和元年12月25日");
  wareki_is(D(1912, 7, 29), "明治45年7月29日");
  wareki_is(D(1912, 7, 30), "大正元年7月30日");
  wareki_is(D(1868, 10, 23), "明治元年10月23日");
  wareki_is(D(1868, 10, 22), "1868年10月22日");
  wareki_is(D(1850, 1, 1), "1850年1月1日");
  wareki_is(D(850, 3, 4), "0850年3月4日"); /* 4 digits so it parses back */
  wareki_is(D(9999, 12, 31), "令和7981年12月31日");
  wareki_is(D(0, 0, 0), "");
  wareki_is(D(2001, 2, 29), "");
  parse_ok("0850年3月4日", 850, 3, 4);
}

static void test_era(void **state) {
  (void)state;
  int ey = -5;
  assert_int_equal(jk_date_era(D(2002, 8, 5), &ey), JK_ERA_HEISEI);
  assert_int_equal(ey, 14);
  assert_int_equal(jk_date_era(D(1868, 10, 23), &ey), JK_ERA_MEIJI);
  assert_int_equal(ey, 1);
  assert_int_equal(jk_date_era(D(1868, 10, 22), &ey), JK_ERA_NONE);
  assert_int_equal(ey, 1868);
  assert_int_equal(jk_date_era(D(1989, 1, 7), &ey), JK_ERA_SHOWA);
  assert_int_equal(ey, 64);
  assert_int_equal(jk_date_era(D(2019, 5, 1), NULL), JK_ERA_REIWA);
  assert_int_equal(jk_date_era(D(2001, 2, 29), &ey), JK_ERA_NONE);
  assert_int_equal(ey, 0);
  assert_string_equal(jk_era_name(JK_ERA_MEIJI), "明治");
  assert_string_equal(jk_era_name(JK_ERA_TAISHO), "大正");
  assert_string_equal(jk_era_name(JK_ERA_SHOWA), "昭和");
  assert_string_equal(jk_era_name(JK_ERA_HEISEI), "平成");
  assert_string_equal(jk_era_name(JK_ERA_REIWA), "令和");
  assert_string_equal(jk_era_name(JK_ERA_NONE), "");
  assert_string_equal(jk_era_name((jk_era)42), "");
}

/* ---- every day from 明治 to 2100 ------------------------------------------------------- */

/* An independent reference: the next day by plain month lengths. */
static jk_date next_day(jk_date d) {
  static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (d.y % 4 == 0 && d.y % 100 != 0) || d.y % 400 == 0;
  int last = d.m == 2 && leap ? 29 : mdays[d.m];
  if (++d.d > last) d.d = 1, d.m++;
  if (d.m > 12) d.m = 1, d.y++;
  return d;
}

/* Independent era table, as yyyymmdd numbers. */
static const struct {
  long first;
  const char *name;
  int year1;
} ref_eras[] = {
    {20190501, "令和", 2019}, {19890108, "平成", 1989}, {19261225, "昭和", 1926},
    {19120730, "大正", 1912}, {18681023, "明治", 1868},
};

static void test_every_day_round_trips(void **state) {
  (void)state;
  jk_date d = D(1868, 10, 23);
  int64_t days = jk_date_to_days(d);
  assert_int_equal(days, -36959);
  long count = 0;
  for (; jk_date_cmp(d, D(2100, 12, 31)) <= 0; d = next_day(d), days++, count++) {
    char iso[11], wa[JK_DATE_TEXT_MAX], want[JK_DATE_TEXT_MAX];
    jk_date back;
    if (!jk_date_valid(d)) fail_msg("%d-%d-%d not valid", d.y, d.m, d.d);
    if (jk_date_to_days(d) != days) fail_msg("%d-%d-%d: to_days %lld, want %lld", d.y, d.m, d.d,
                                             (long long)jk_date_to_days(d), (long long)days);
    back = jk_date_from_days(days);
    if (jk_date_cmp(back, d) != 0) fail_msg("from_days(%lld) = %d-%d-%d, want %d-%d-%d", (long long)days, back.y,
                                            back.m, back.d, d.y, d.m, d.d);

    jk_date_format_iso(d, iso);
    snprintf(want, sizeof want, "%04d-%02d-%02d", d.y, d.m, d.d);
    if (strcmp(iso, want) != 0) fail_msg("iso '%s', want '%s'", iso, want);
    if (jk_date_parse(iso, &back) != JK_OK) fail_msg("'%s' refused: %s", iso, jk_error_last());
    if (jk_date_cmp(back, d) != 0) fail_msg("'%s' parsed as %d-%d-%d", iso, back.y, back.m, back.d);

    long key = d.y * 10000L + d.m * 100 + d.d;
    size_t k = 0;
    while (key < ref_eras[k].first) k++;
    int ey = d.y - ref_eras[k].year1 + 1, got_ey = 0;
    if (ey == 1) snprintf(want, sizeof want, "%s元年%d月%d日", ref_eras[k].name, d.m, d.d);
    else snprintf(want, sizeof want, "%s%d年%d月%d日", ref_eras[k].name, ey, d.m, d.d);
    jk_date_format_wareki(d, wa);
    if (strcmp(wa, want) != 0) fail_msg("%s: wareki '%s', want '%s'", iso, wa, want);
    if (strcmp(jk_era_name(jk_date_era(d, &got_ey)), ref_eras[k].name) != 0 || got_ey != ey)
      fail_msg("%s: era %s %d, want %s %d", iso, jk_era_name(jk_date_era(d, NULL)), got_ey, ref_eras[k].name, ey);
    if (jk_date_parse(wa, &back) != JK_OK) fail_msg("'%s' refused: %s", wa, jk_error_last());
    if (jk_date_cmp(back, d) != 0) fail_msg("'%s' parsed as %d-%d-%d", wa, back.y, back.m, back.d);
  }
  assert_int_equal(count, jk_date_to_days(D(2101, 1, 1)) - jk_date_to_days(D(1868, 10, 23)));
  assert_int_equal(count, 84806); /* python: (date(2101,1,1) - date(1868,10,23)).days */
}

/* ---- day arithmetic, comparison, validity, age --------------------------------------- */

static void test_days(void **state) {
  (void)state;
  /* Reference values from Python's datetime.date. */
  assert_int_equal(jk_date_to_days(D(1970, 1, 1)), 0);
  assert_int_equal(jk_date_to_days(D(1969, 12, 31)), -1);
  assert_int_equal(jk_date_to_days(D(2000, 3, 1)), 11017);
  assert_int_equal(jk_date_to_days(D(2026, 11, 23)), 20780);
  assert_int_equal(jk_date_to_days(D(1600, 2, 29)), -135081);
  assert_int_equal(jk_date_to_days(D(1, 1, 1)), -719162);
  assert_int_equal(jk_date_to_days(D(9999, 12, 31)), 2932896);
  /* the whole range, both ways */
  jk_date d = D(1, 1, 1);
  for (int64_t n = -719162; n <= 2932896; n++, d = next_day(d)) {
    jk_date b = jk_date_from_days(n);
    if (jk_date_cmp(b, d) != 0) fail_msg("from_days(%lld) = %d-%d-%d, want %d-%d-%d", (long long)n, b.y, b.m, b.d, d.y, d.m, d.d);
    if (jk_date_to_days(d) != n) fail_msg("to_days(%d-%d-%d) != %lld", d.y, d.m, d.d, (long long)n);
  }
  /* outside 0001..9999: the zero date, not garbage */
  jk_date z = jk_date_from_days(-719163);
  assert_true(z.y == 0 && z.m == 0 && z.d == 0);
  z = jk_date_from_days(2932897);
  assert_true(z.y == 0 && z.m == 0 && z.d == 0);
  z = jk_date_from_days(INT64_MAX);
  assert_true(z.y == 0 && z.m == 0 && z.d == 0);
  z = jk_date_from_days(INT64_MIN);
  assert_true(z.y == 0 && z.m == 0 && z.d == 0);
  /* nonsense fields do not crash (UBSan checks overflow) */
  (void)jk_date_to_days(D(2147483647, 2147483647, 2147483647));
  (void)jk_date_to_days(D(-2147483647 - 1, -2147483647 - 1, -2147483647 - 1));
}

static void test_cmp_valid(void **state) {
  (void)state;
  assert_true(jk_date_cmp(D(2002, 8, 5), D(2002, 8, 5)) == 0);
  assert_true(jk_date_cmp(D(2002, 8, 5), D(2002, 8, 6)) < 0);
  assert_true(jk_date_cmp(D(2002, 8, 6), D(2002, 8, 5)) > 0);
  assert_true(jk_date_cmp(D(2002, 7, 31), D(2002, 8, 1)) < 0);
  assert_true(jk_date_cmp(D(2001, 12, 31), D(2002, 1, 1)) < 0);
  assert_true(jk_date_cmp(D(2003, 1, 1), D(2002, 12, 31)) > 0);
  assert_true(jk_date_cmp(D(0, 0, 0), D(1, 1, 1)) < 0);

  assert_true(jk_date_valid(D(1, 1, 1)));
  assert_true(jk_date_valid(D(9999, 12, 31)));
  assert_true(jk_date_valid(D(2000, 2, 29)));
  assert_false(jk_date_valid(D(0, 0, 0)));
  assert_false(jk_date_valid(D(0, 12, 31)));
  assert_false(jk_date_valid(D(10000, 1, 1)));
  assert_false(jk_date_valid(D(-1, 1, 1)));
  assert_false(jk_date_valid(D(1900, 2, 29)));
  assert_false(jk_date_valid(D(2001, 2, 29)));
  assert_false(jk_date_valid(D(2002, 4, 31)));
  assert_false(jk_date_valid(D(2002, 13, 1)));
  assert_false(jk_date_valid(D(2002, 0, 1)));
  assert_false(jk_date_valid(D(2002, 1, 0)));
  assert_false(jk_date_valid(D(2002, 1, 32)));
}

static void test_age(void **state) {
  (void)state;
  assert_int_equal(jk_date_age(D(1980, 1, 2), D(2026, 11, 23)), 46);
  assert_int_equal(jk_date_age(D(1980, 11, 23), D(2026, 11, 23)), 46); /* on the birthday */
  assert_int_equal(jk_date_age(D(1980, 11, 24), D(2026, 11, 23)), 45); /* the day before */
  assert_int_equal(jk_date_age(D(1980, 12, 1), D(2026, 11, 30)), 45);
  assert_int_equal(jk_date_age(D(2026, 11, 23), D(2026, 11, 23)), 0);
  assert_int_equal(jk_date_age(D(2025, 11, 24), D(2026, 11, 23)), 0);
  /* born on 29 Feb: a year older from 1 March in common years, on 29 Feb in leap years */
  assert_int_equal(jk_date_age(D(2000, 2, 29), D(2001, 2, 28)), 0);
  assert_int_equal(jk_date_age(D(2000, 2, 29), D(2001, 3, 1)), 1);
  assert_int_equal(jk_date_age(D(2000, 2, 29), D(2004, 2, 28)), 3);
  assert_int_equal(jk_date_age(D(2000, 2, 29), D(2004, 2, 29)), 4);
  /* not born yet, or nonsense */
  assert_int_equal(jk_date_age(D(2026, 11, 24), D(2026, 11, 23)), -1);
  assert_int_equal(jk_date_age(D(0, 0, 0), D(2026, 11, 23)), -1);
  assert_int_equal(jk_date_age(D(2000, 1, 1), D(2001, 2, 29)), -1);
}

/* ---- today --------------------------------------------------------------------------- */

static jk_date jst_now_reference(void) {
  time_t t = time(NULL) + 9 * 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  return D(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void today_is_jst_now(void) {
  jk_date before = jst_now_reference();
  jk_date got = jk_date_today();
  jk_date after = jst_now_reference();
  if (jk_date_cmp(got, before) != 0 && jk_date_cmp(got, after) != 0)
    fail_msg("today %d-%d-%d, JST now %d-%d-%d", got.y, got.m, got.d, before.y, before.m, before.d);
}

static void test_today(void **state) {
  (void)state;
  const char *env = getenv("JUKINET_TODAY");
  char saved[64] = "";
  if (env) snprintf(saved, sizeof saved, "%s", env);

  assert_int_equal(setenv("JUKINET_TODAY", "2026-11-23", 1), 0);
  jk_date t = jk_date_today();
  assert_true(t.y == 2026 && t.m == 11 && t.d == 23);
  assert_int_equal(setenv("JUKINET_TODAY", "2000-02-29", 1), 0);
  t = jk_date_today();
  assert_true(t.y == 2000 && t.m == 2 && t.d == 29);

  /* not ISO, or not a date: ignored, the real JST date instead */
  static const char *const ignored[] = {"2001-02-29", "平成14年8月5日", "20020805", "2002-8-5", "2002-08-05x", "", "x"};
  for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
    assert_int_equal(setenv("JUKINET_TODAY", ignored[i], 1), 0);
    today_is_jst_now();
  }
  assert_int_equal(unsetenv("JUKINET_TODAY"), 0);
  today_is_jst_now();

  if (env) assert_int_equal(setenv("JUKINET_TODAY", saved, 1), 0);
}

/* ---- errors in Japanese -------------------------------------------------------------- */

static void test_errors_japanese(void **state) {
  (void)state;
  jk_date out;
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_date_parse("平成31年5月1日", &out), JK_EINVAL);
  assert_error_contains("平成31年5月1日は元号の期間外です");
  assert_error_contains("2019-04-30");
  assert_int_equal(jk_date_parse("天保3年1月1日", &out), JK_EINVAL);
  assert_error_contains("不明な元号「天保」");
  assert_int_equal(jk_date_parse("2001-02-29", &out), JK_EINVAL);
  assert_error_contains("存在しない日付です: 2001-02-29(その月は28日までです)");
  assert_int_equal(jk_date_parse("2002-08-05x", &out), JK_EINVAL);
  assert_error_contains("余分な「x」があります(11 文字目)");
  jk_lang_set(JK_LANG_EN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_western_forms, setup),
      cmocka_unit_test_setup(test_wareki_forms, setup),
      cmocka_unit_test_setup(test_fullwidth, setup),
      cmocka_unit_test_setup(test_era_boundaries, setup),
      cmocka_unit_test_setup(test_calendar_rules, setup),
      cmocka_unit_test_setup(test_refused, setup),
      cmocka_unit_test_setup(test_huge_input, setup),
      cmocka_unit_test_setup(test_format, setup),
      cmocka_unit_test_setup(test_era, setup),
      cmocka_unit_test_setup(test_every_day_round_trips, setup),
      cmocka_unit_test_setup(test_days, setup),
      cmocka_unit_test_setup(test_cmp_valid, setup),
      cmocka_unit_test_setup(test_age, setup),
      cmocka_unit_test_setup(test_today, setup),
      cmocka_unit_test_setup(test_errors_japanese, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
