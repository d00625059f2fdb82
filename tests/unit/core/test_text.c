/*
 * Unit tests for src/core/text.c: strict UTF-8, the NFC storage form, search keys, kana
 * fields and CP932 at the edges. Where the library takes a fast path, the tests check it
 * against utf8proc itself for every code point, so a wrong range fails here and not in a
 * resident's record.
 */
#include "testutil.h"

#include "jukinet/buf.h"
#include "jukinet/common.h"
#include "jukinet/text.h"

#include <utf8proc.h>

/* Internal to text.c, shared with this test only. */
#include "core/text_int.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---- helpers ------------------------------------------------------------------------ */

#include "common/ref_utf8.h"

/* UTF-8 of cp (any value up to U+10FFFF, surrogates too: the tests need them). */
static size_t enc(char *p, uint32_t cp) {
  unsigned char *u = (unsigned char *)p;
  if (cp < 0x80) {
    u[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    u[0] = (unsigned char)(0xC0 | (cp >> 6));
    u[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    u[0] = (unsigned char)(0xE0 | (cp >> 12));
    u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  u[0] = (unsigned char)(0xF0 | (cp >> 18));
  u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  u[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

static bool is_surrogate(uint32_t cp) { return cp >= 0xD800 && cp <= 0xDFFF; }

static void nfc_is(const char *in, size_t n, const char *want) {
  char *out = (char *)1;
  jk_err e = jk_text_nfc(in, n, &out);
  if (e) fail_msg("jk_text_nfc(\"%.*s\") failed: %s", (int)n, in, jk_error_last());
  assert_string_equal(out, want);
  /* the storage form is a fixed point */
  char *again = NULL;
  assert_int_equal(jk_text_nfc(out, strlen(out), &again), JK_OK);
  assert_string_equal(again, out);
  jk_free(again);
  jk_free(out);
}

static void nfc_fails(const char *in, size_t n, const char *detail) {
  char *out = (char *)1;
  jk_lang_set(JK_LANG_EN);
  assert_int_equal(jk_text_nfc(in, n, &out), JK_EINVAL);
  assert_null(out);
  assert_error_contains(detail);
}

static void key_is(const char *in, const char *want) {
  char *out = (char *)1;
  jk_err e = jk_text_search_key(in, strlen(in), &out);
  if (e) fail_msg("jk_text_search_key(\"%s\") failed: %s", in, jk_error_last());
  if (strcmp(out, want) != 0) fail_msg("key of \"%s\" is \"%s\", expected \"%s\"", in, out, want);
  char *again = NULL;
  assert_int_equal(jk_text_search_key(out, strlen(out), &again), JK_OK);
  assert_string_equal(again, out);
  jk_free(again);
  jk_free(out);
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

static void test_utf8_valid(void **state) {
  (void)state;
  /* boundaries of every length */
  static const char *const good[] = {
      "", "a", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
      "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "山田太郎", "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ",
      "𠮷野家", "abcdefghijklmnopqrstuvwxyz0123456789山田abcdefghijklmnop"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    size_t n = strlen(good[i]);
    assert_int_equal(jk_utf8_valid_prefix(good[i], n), n);
    assert_true(jk_utf8_valid(good[i], n));
  }
  /* invalid: {text, length, valid prefix} */
  static const struct {
    const char *s;
    size_t n, prefix;
  } bad[] = {
      {"\x80", 1, 0},                      /* lone continuation */
      {"ab\xBF", 3, 2},                    /* lone continuation */
      {"\xC3", 1, 0},                      /* truncated 2-byte */
      {"x\xC3y", 3, 1},                    /* 2-byte lead, no continuation */
      {"\xE3\x81", 2, 0},                  /* truncated 3-byte */
      {"山\xE3\x81", 5, 3},                /* truncated 3-byte after a kanji */
      {"\xF0\x9F\x98", 3, 0},              /* truncated 4-byte */
      {"\xC0\x80", 2, 0},                  /* overlong NUL */
      {"\xC1\xBF", 2, 0},                  /* overlong 2-byte */
      {"\xE0\x80\x80", 3, 0},              /* overlong 3-byte */
      {"\xE0\x9F\xBF", 3, 0},              /* overlong 3-byte, top */
      {"\xF0\x80\x80\x80", 4, 0},          /* overlong 4-byte */
      {"\xF0\x8F\xBF\xBF", 4, 0},          /* overlong 4-byte, top */
      {"\xED\xA0\x80", 3, 0},              /* surrogate U+D800 */
      {"\xED\xBF\xBF", 3, 0},              /* surrogate U+DFFF */
      {"\xF4\x90\x80\x80", 4, 0},          /* U+110000 */
      {"\xF5\x80\x80\x80", 4, 0},          /* lead above F4 */
      {"\xFE", 1, 0},                      /* never in UTF-8 */
      {"\xFF", 1, 0},                      /* never in UTF-8 */
      {"abc\0def", 7, 3},                  /* NUL byte */
      {"abcdefghij\x80", 11, 10},          /* after the 8-byte fast path */
      {"abcdefgh\0ijklmnop", 17, 8},       /* NUL inside an 8-byte block */
      {"\xE3\x81\x82\xE3\x81", 5, 3},      /* あ then a truncated kana */
      {"\xE3\x81\x82\xE3\x41\x82", 6, 3},  /* continuation byte replaced by ASCII */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (jk_utf8_valid_prefix(bad[i].s, bad[i].n) != bad[i].prefix)
      fail_msg("case %zu: prefix %zu, expected %zu", i, jk_utf8_valid_prefix(bad[i].s, bad[i].n), bad[i].prefix);
    assert_false(jk_utf8_valid(bad[i].s, bad[i].n));
  }
  /* a NUL or a high byte at every position of a long ASCII run */
  char buf[40];
  for (size_t k = 0; k < 32; k++) {
    memset(buf, 'a', 32);
    buf[k] = '\0';
    assert_int_equal(jk_utf8_valid_prefix(buf, 32), k);
    buf[k] = (char)0x80;
    assert_int_equal(jk_utf8_valid_prefix(buf, 32), k);
    buf[k] = 'a';
    assert_int_equal(jk_utf8_valid_prefix(buf, 32), 32);
  }
  /* n bounds the read: valid text cut in the middle of a character */
  assert_int_equal(jk_utf8_valid_prefix("山田", 4), 3);
  assert_int_equal(jk_utf8_valid_prefix(NULL, 0), 0);
}

/* Every 1-, 2- and 3-byte string and every 4-byte string with a 4-byte lead, against the
 * reference validator. */
static void test_utf8_exhaustive(void **state) {
  (void)state;
  unsigned char b[4];
  for (unsigned x = 0; x < 256; x++) {
    b[0] = (unsigned char)x;
    assert_int_equal(jk_utf8_valid_prefix((char *)b, 1), ref_valid_prefix(b, 1));
    for (unsigned y = 0; y < 256; y++) {
      b[1] = (unsigned char)y;
      assert_int_equal(jk_utf8_valid_prefix((char *)b, 2), ref_valid_prefix(b, 2));
      if (x < 0xC0) continue; /* the 3rd byte cannot matter after an invalid or 1-byte lead */
      for (unsigned z = 0; z < 256; z++) {
        b[2] = (unsigned char)z;
        size_t got = jk_utf8_valid_prefix((char *)b, 3), want = ref_valid_prefix(b, 3);
        if (got != want) fail_msg("%02X %02X %02X: %zu, expected %zu", x, y, z, got, want);
      }
    }
  }
  for (unsigned x = 0xF0; x < 0x100; x++)
    for (unsigned y = 0x80; y < 0xC0; y++)
      for (unsigned z = 0x7F; z < 0xC1; z++)
        for (unsigned w = 0x7F; w < 0xC1; w++) {
          b[0] = (unsigned char)x, b[1] = (unsigned char)y, b[2] = (unsigned char)z, b[3] = (unsigned char)w;
          assert_int_equal(jk_utf8_valid_prefix((char *)b, 4), ref_valid_prefix(b, 4));
        }
  /* every scalar value encodes to valid UTF-8 of the right length */
  char s[4];
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
    size_t n = enc(s, cp);
    assert_int_equal(jk_utf8_valid_prefix(s, n), is_surrogate(cp) ? 0 : n);
  }
}

static void test_utf8_len(void **state) {
  (void)state;
  assert_int_equal(jk_utf8_len(S("")), 0);
  assert_int_equal(jk_utf8_len(S("abc")), 3);
  assert_int_equal(jk_utf8_len(S("山田　太郎")), 5);
  assert_int_equal(jk_utf8_len(S("𠮷野家")), 3);
  assert_int_equal(jk_utf8_len(S("ｶﾞé")), 3);
  assert_int_equal(jk_utf8_len(S("e\xCC\x81")), 2);
}

/* ---- NFC ------------------------------------------------------------------------------ */

static void test_nfc_basic(void **state) {
  (void)state;
  nfc_is(S("山田太郎"), "山田太郎");
  nfc_is(S("Yamada Taro"), "Yamada Taro");
  nfc_is(S(""), "");
  nfc_is(S("   "), "");
  nfc_is(S("\xE3\x80\x80"), "");
  /* trimming: ASCII white space (newline and tab too) and U+3000, at both ends only */
  nfc_is(S(" \t山田　太郎\xE3\x80\x80\r\n"), "山田　太郎");
  nfc_is(S("\xE3\x80\x80\xE3\x80\x80 a b \xE3\x80\x80"), "a b");
  /* composition */
  nfc_is(S("\xE3\x81\x8B\xE3\x82\x99"), "が");       /* か + U+3099 */
  nfc_is(S("\xE3\x83\x8F\xE3\x82\x9A"), "パ");       /* ハ + U+309A */
  nfc_is(S("e\xCC\x81"), "é");                       /* e + U+0301 */
  nfc_is(S("Jose\xCC\x81 "), "José");
  nfc_is(S("\xE1\x84\x80\xE1\x85\xA1"), "가");       /* Hangul jamo */
  /* canonical reordering: U+0301 (230) after U+0323 (220), then compose */
  nfc_is(S("a\xCC\x81\xCC\xA3"), "\xE1\xBA\xA1\xCC\x81");
  /* singletons and CJK compatibility ideographs */
  nfc_is(S("\xE2\x84\xAB"), "Å");                    /* U+212B ANGSTROM SIGN */
  nfc_is(S("\xEF\xA4\xA9"), "朗");                   /* U+F929 → U+6717 */
  nfc_is(S("\xEF\xA8\x91"), "\xEF\xA8\x91");         /* U+FA11 﨑 has no decomposition */
  /* NFC is not NFKC: width and compatibility forms stay */
  nfc_is(S("ﾔﾏﾀﾞ ﾀﾛｳ"), "ﾔﾏﾀﾞ ﾀﾛｳ");
  nfc_is(S("ＹＡＭＡＤＡ①㈱"), "ＹＡＭＡＤＡ①㈱");
  nfc_is(S("髙橋　﨑"), "髙橋　﨑");
  /* a combining mark right after trimmed space stays a (lone) mark */
  nfc_is(S(" \xCC\x81x"), "\xCC\x81x");
  /* the dakuten at the end survives the trim; at the very start it is kept as is */
  nfc_is(S("\xE3\x82\x99\xE3\x81\x8B"), "\xE3\x82\x99\xE3\x81\x8B");
  nfc_is(S("ｶ\xE3\x82\x99"), "ｶ\xE3\x82\x99"); /* half-width ｶ does not compose */
}

static void test_nfc_errors(void **state) {
  (void)state;
  nfc_fails(S("ab\xC3"), "invalid UTF-8 at byte 3");
  nfc_fails(S("\xFF"), "invalid UTF-8 at byte 1");
  nfc_fails(S("山田\xED\xA0\x80"), "invalid UTF-8 at byte 7");
  nfc_fails(S("\xC0\x80"), "invalid UTF-8 at byte 1");
  nfc_fails(S("ab\0cd"), "invalid UTF-8 at byte 3");
  /* control characters inside the text: tab and newline too */
  nfc_fails(S("山田\t太郎"), "control character U+0009 at character 3");
  nfc_fails(S("山田\n太郎"), "control character U+000A at character 3");
  nfc_fails(S("a\x1B"), "control character U+001B at character 2");
  nfc_fails(S("a\x7F"), "control character U+007F at character 2");
  nfc_fails(S("a\xC2\x85z"), "control character U+0085 at character 2");      /* NEL (C1) */
  nfc_fails(S("\xC2\x9F"), "control character U+009F at character 1");
  nfc_fails(S("\xE3\x80\x80 \x01"), "control character U+0001 at character 3"); /* counted from the input */
  nfc_fails(S("\x01 a"), "control character U+0001 at character 1");
  /* the detail follows the language */
  char *out = NULL;
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_text_nfc(S("ab\xC3"), &out), JK_EINVAL);
  assert_error_contains("3 バイト目");
  assert_int_equal(jk_text_nfc(S("山田\t"), &out), JK_OK); /* trailing tab is trimmed */
  assert_string_equal(out, "山田");
  jk_free(out);
  assert_int_equal(jk_text_nfc(S("山\t田"), &out), JK_EINVAL);
  assert_error_contains("2 文字目に制御文字 U+0009");
  jk_lang_set(JK_LANG_EN);
}

/* The fast path's table: every "inert" code point is a starter that NFC leaves alone and that
 * no canonical decomposition has after its first code point (so it never composes with what
 * precedes it). Checked for all of Unicode against utf8proc. */
static unsigned char *second_of_pair; /* bitmap over U+0000..U+10FFFF */

static void build_second_of_pair(void) {
  if (second_of_pair) return;
  second_of_pair = calloc(0x110000 / 8, 1);
  assert_non_null(second_of_pair);
  for (int32_t cp = 0; cp <= 0x10FFFF; cp++) {
    utf8proc_int32_t d[32];
    int boundclass = 0;
    if (is_surrogate((uint32_t)cp)) continue;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, &boundclass);
    assert_true(n >= 1 && n <= 32);
    for (utf8proc_ssize_t k = 1; k < n; k++) second_of_pair[d[k] >> 3] |= (unsigned char)(1u << (d[k] & 7));
  }
}

static bool is_second(uint32_t cp) { return second_of_pair[cp >> 3] & (1u << (cp & 7)); }

static void test_nfc_fast_path_table(void **state) {
  (void)state;
  build_second_of_pair();
  size_t inert = 0;
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
    if (is_surrogate(cp) || !jk__text_nfc_inert(cp)) continue;
    inert++;
    if (utf8proc_get_property((utf8proc_int32_t)cp)->combining_class != 0)
      fail_msg("U+%04X is in the NFC fast path but is a combining mark", cp);
    if (is_second(cp)) fail_msg("U+%04X is in the NFC fast path but composes with what precedes it", cp);
    char s[5] = {0};
    enc(s, cp);
    utf8proc_uint8_t *n = utf8proc_NFC((const utf8proc_uint8_t *)s);
    assert_non_null(n);
    if (strcmp((char *)n, s) != 0) fail_msg("U+%04X is in the NFC fast path but NFC changes it", cp);
    free(n);
  }
  assert_true(inert > 28000); /* the ranges really cover kana and kanji */
  assert_true(jk__text_nfc_inert(0x3042) && jk__text_nfc_inert(0x5C71) && jk__text_nfc_inert('a'));
  assert_false(jk__text_nfc_inert(0x3099));
  assert_false(jk__text_nfc_inert(0x0301));
  assert_false(jk__text_nfc_inert(0xF929));
}

/* Random texts from a pool of awkward code points: jk_text_nfc equals utf8proc's NFC. */
static const uint32_t pool[] = {
    'a', 'e', 'A', 'Z', '1', '-', 'o', 0xE9, 0xC5, 0x3B1, 0x3B9, 0x345, 0x301, 0x300, 0x308, 0x323,
    0x327, 0x338, 0x340, 0x344, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x0B47, 0x0B3E, 0x0CC6, 0x0CD5, 0x3042,
    0x304B, 0x306F, 0x3099, 0x309A, 0x309B, 0x309C, 0x309D, 0x309F, 0x30AB, 0x30CF, 0x30FC, 0x30FF,
    0x3001, 0x301C, 0x302A, 0x3231, 0x337B, 0x2460, 0x5C71, 0x7530, 0x9AD9, 0xF929, 0xFA11, 0x2F800,
    0x20BB7, 0xFF76, 0xFF9E, 0xFF9F, 0xFF21, 0xFF41, 0xFF5E, 0x212B, 0x2126, 0xFB01, 0xDF, 0x1E9E,
    0x130, 0x131, 0x3A3, 0x3C2, 0x1F600, 0xE0100, 0xFE00, 0x200B, 0xAD, 0x2002, 0x2003, 0x00A0,
    0x3000, ' ', 0x1FBE, 0x339, 0x1FB3, 0x3B1, 0x0385, 0x0374, 0x037E, 0x0F73, 0x0F77, 0x1D15E, 0x2ADC};

static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return rnd_state >> 8;
}

static size_t random_text(char *buf, size_t max_chars, bool spaces) {
  size_t n = 0, chars = 1 + rnd() % max_chars;
  for (size_t i = 0; i < chars; i++) {
    uint32_t cp = pool[rnd() % (sizeof pool / sizeof pool[0])];
    if (!spaces && (cp == ' ' || cp == 0x3000)) cp = 'x';
    n += enc(buf + n, cp);
  }
  buf[n] = '\0';
  return n;
}

static void test_nfc_matches_utf8proc(void **state) {
  (void)state;
  char buf[256];
  for (int i = 0; i < 20000; i++) {
    size_t n = random_text(buf, 12, false);
    char *out = NULL;
    assert_int_equal(jk_text_nfc(buf, n, &out), JK_OK);
    utf8proc_uint8_t *want = utf8proc_NFC((const utf8proc_uint8_t *)buf);
    if (strcmp(out, (char *)want) != 0) fail_msg("NFC of '%s' is '%s', utf8proc says '%s'", buf, out, want);
    free(want);
    char *again = NULL;
    assert_int_equal(jk_text_nfc(out, strlen(out), &again), JK_OK);
    assert_string_equal(again, out);
    jk_free(again);
    jk_free(out);
  }
}

/* ---- search keys ---------------------------------------------------------------------- */

static bool white_space(uint32_t cp) {
  return cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

/* One round of the key function written independently: NFD, then utf8proc's NFKC case fold
 * (with default ignorables dropped), hiragana → katakana, white space out. malloc'd. */
static char *ref_key_round(const char *s) {
  utf8proc_uint8_t *m = NULL, *nfd = utf8proc_NFD((const utf8proc_uint8_t *)s);
  assert_non_null(nfd);
  utf8proc_ssize_t n = utf8proc_map(nfd, 0, &m,
                                    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                        UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
  free(nfd);
  assert_true(n >= 0);
  char *out = malloc((size_t)n + 1);
  size_t w = 0;
  for (utf8proc_ssize_t i = 0; i < n;) {
    utf8proc_int32_t cp;
    i += utf8proc_iterate(m + i, n - i, &cp);
    if (white_space((uint32_t)cp)) continue;
    if ((cp >= 0x3041 && cp <= 0x3096) || cp == 0x309D || cp == 0x309E) cp += 0x60;
    w += enc(out + w, (uint32_t)cp);
  }
  out[w] = '\0';
  free(m);
  return out;
}

static void test_search_key_equivalences(void **state) {
  (void)state;
  /* one person, written many ways */
  static const char *const yamada[] = {
      "ヤマダタロウ", "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", "ﾔﾏﾀﾞﾀﾛｳ", " やまだ\tたろう\n",
      "やま\xE3\x81\x9F\xE3\x82\x99たろう", /* た + combining dakuten */
      "やま\xE3\x81\x9F\xE3\x82\x9Bたろう", /* た + spacing dakuten ゛ */
      "ヤマダ\xE2\x80\x83タロウ",           /* EM SPACE */
      "ヤマダ\xC2\xA0タロウ",               /* NO-BREAK SPACE */
      "ﾔﾏﾀ\xEF\xBE\x9E\xE3\x80\x80ﾀﾛｳ"};
  for (size_t i = 0; i < sizeof yamada / sizeof yamada[0]; i++) key_is(yamada[i], "ヤマダタロウ");
  key_is("ＹＡＭＡＤＡ", "yamada");
  key_is("Yamada Taro", "yamadataro");
  key_is("ｙａｍａｄａ　ＴＡＲＯ", "yamadataro");
  key_is("山田　太郎", "山田太郎");
  key_is("髙橋", "髙橋");                 /* U+9AD9 is a unified ideograph: unchanged */
  key_is("\xEF\xA8\x91", "\xEF\xA8\x91"); /* U+FA11 﨑 has no decomposition, even in NFKC */
  key_is("\xEF\xA4\xA9", "朗");           /* U+F929 → U+6717 */
  key_is("ゝゞゟ", "ヽヾヨリ");
  key_is("ヴ", "ヴ");
  key_is("ゔ", "ヴ");
  key_is("ｳﾞ", "ヴ");
  key_is("ｶﾞｯｺｳ", "ガッコウ");
  key_is("ﾊﾟﾝ", "パン");
  key_is("①㈱", "1(株)");
  key_is("Ⅲ", "iii");
  key_is("Straße", "strasse");
  key_is("ﬁ", "fi");
  key_is("ÉCOLE", "école");
  key_is("葛\xF3\xA0\x84\x80城", "葛城");          /* variation selector (IVS) dropped */
  key_is("ヤマ\xE2\x80\x8Bダ", "ヤマダ");          /* ZERO WIDTH SPACE dropped */
  key_is("〒573-0027 大阪府", "〒573-0027大阪府");
  key_is("", "");
  key_is("　 \t", "");
  key_is("ー・", "ー・");
  key_is("ﾞ", "\xE3\x82\x99"); /* a lone half-width dakuten becomes the combining one */
  key_is("か\xE3\x82\x9B", "ガ");  /* か゛: space between base and mark removed, then composed */
  key_is("a \xCC\x81", "á");
  /* canonically equivalent texts share a key even where case folding turns a mark into a
   * letter: U+0345 (class 240) folds to ι, U+0339 (class 220) goes before it in NFC */
  key_is("\xCD\x85\xCC\xB9", "\xCC\xB9\xCE\xB9");
  key_is("\xCC\xB9\xCD\x85", "\xCC\xB9\xCE\xB9");
  key_is("\xE1\xBE\xB3\xCC\xA3", "\xCE\xB1\xCC\xA3\xCE\xB9"); /* ᾳ + U+0323 → α + U+0323 + ι */
}

static void test_search_key_errors(void **state) {
  (void)state;
  char *out = (char *)1;
  jk_lang_set(JK_LANG_EN);
  assert_int_equal(jk_text_search_key(S("やま\xE3\x81"), &out), JK_EINVAL);
  assert_null(out);
  assert_error_contains("invalid UTF-8 at byte 7");
  out = (char *)1;
  assert_int_equal(jk_text_search_key(S("a\0b"), &out), JK_EINVAL);
  assert_null(out);
}

/* The fast path's table against utf8proc for every code point it claims. */
static void test_search_key_fast_path_table(void **state) {
  (void)state;
  build_second_of_pair();
  size_t fast = 0;
  for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
    if (is_surrogate(cp)) continue;
    int32_t m = jk__text_key_map(cp);
    if (m == KEY_SLOW) continue;
    fast++;
    if (utf8proc_get_property((utf8proc_int32_t)cp)->combining_class != 0 || is_second(cp))
      fail_msg("U+%04X is in the key fast path but can compose or reorder", cp);
    char s[5] = {0}, want_s[5] = {0};
    enc(s, cp);
    if (m != KEY_DROP) {
      enc(want_s, (uint32_t)m);
      if (jk__text_key_map((uint32_t)m) != m) fail_msg("U+%04X maps to U+%04X, which is not a finished key", cp, m);
    }
    char *want = ref_key_round(s);
    if (strcmp(want, want_s) != 0) fail_msg("U+%04X: fast key '%s', utf8proc says '%s'", cp, want_s, want);
    free(want);
  }
  assert_true(fast > 20000);
  assert_int_equal(jk__text_key_map(0x3042), 0x30A2);
  assert_int_equal(jk__text_key_map(0xFF21), 'a');
  assert_int_equal(jk__text_key_map(0x3000), KEY_DROP);
  assert_int_equal(jk__text_key_map(0xFF76), KEY_SLOW);
}

/* Random texts: when one round of the reference reaches a fixed point, that is the key; the
 * key of a key is the key, always. */
static void test_search_key_matches_reference(void **state) {
  (void)state;
  char buf[256];
  size_t checked = 0;
  for (int i = 0; i < 20000; i++) {
    random_text(buf, 10, true);
    char *out = NULL, *again = NULL;
    assert_int_equal(jk_text_search_key(buf, strlen(buf), &out), JK_OK);
    assert_true(jk_utf8_valid(out, strlen(out)));
    assert_int_equal(jk_text_search_key(out, strlen(out), &again), JK_OK);
    if (strcmp(out, again) != 0) fail_msg("key of '%s' is '%s', but its key is '%s'", buf, out, again);
    /* the key of the storage form is the key */
    char *nfc = NULL, *nfc_key = NULL;
    assert_int_equal(jk_text_nfc(buf, strlen(buf), &nfc), JK_OK);
    assert_int_equal(jk_text_search_key(nfc, strlen(nfc), &nfc_key), JK_OK);
    if (strcmp(out, nfc_key) != 0) fail_msg("key of '%s' is '%s', of its NFC '%s'", buf, out, nfc_key);
    jk_free(nfc);
    jk_free(nfc_key);
    char *want = ref_key_round(buf), *want2 = ref_key_round(want);
    if (strcmp(want, want2) == 0) {
      checked++;
      if (strcmp(out, want) != 0) fail_msg("key of '%s' is '%s', reference says '%s'", buf, out, want);
    }
    free(want);
    free(want2);
    jk_free(out);
    jk_free(again);
  }
  assert_true(checked > 10000);
}

/* ---- kana ----------------------------------------------------------------------------- */

static void test_is_kana(void **state) {
  (void)state;
  static const char *const yes[] = {"ヤマダ　タロウ", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ー", "・", "ヴァイオリン",
                                    "ゔ", "ゝゞヽヾ", "ゟヿ", "\xE3\x81\x8B\xE3\x82\x99", "゠", "･ﾟ", " ",
                                    "マクドナルド　ロナルド"};
  static const char *const no[] = {"山田", "yamada", "ヤマダ1", "ヤマダ\t", "ヤマダ・タロウ。", "ＹＡＭＡＤＡ",
                                   "\xE3\x81\x80",   /* U+3040 unassigned */
                                   "\xE3\x82\x97",   /* U+3097 unassigned */
                                   "\xEF\xBD\xA4",   /* U+FF64 ､ */
                                   "\xEF\xBE\xA0",   /* U+FFA0 half-width Hangul filler */
                                   "\xE3\x83\x80\xE3\x82", /* truncated */
                                   "ヤマダ\xC2\xA0タロウ", "ㇰ"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!jk_text_is_kana(yes[i], strlen(yes[i]))) fail_msg("'%s' should be kana", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (jk_text_is_kana(no[i], strlen(no[i]))) fail_msg("'%s' should not be kana", no[i]);
  assert_false(jk_text_is_kana(S("")));
  assert_false(jk_text_is_kana(S("ア\0イ")));
  /* the block edges */
  char s[8];
  for (uint32_t cp = 0x3000; cp <= 0x3100; cp++) {
    size_t n = enc(s, cp);
    bool want = cp == 0x3000 || (cp >= 0x3041 && cp <= 0x30FF && cp != 0x3097 && cp != 0x3098);
    assert_int_equal(jk_text_is_kana(s, n), want);
  }
  for (uint32_t cp = 0xFF60; cp <= 0xFFA0; cp++) {
    size_t n = enc(s, cp);
    assert_int_equal(jk_text_is_kana(s, n), cp >= 0xFF65 && cp <= 0xFF9F);
  }
}

/* ---- CP932 ---------------------------------------------------------------------------- */

static void from_cp932_is(const char *in, size_t n, const char *want) {
  char *out = (char *)1;
  size_t len = 99;
  jk_err e = jk_cp932_to_utf8(in, n, &out, &len);
  if (e) fail_msg("jk_cp932_to_utf8 failed: %s", jk_error_last());
  assert_int_equal(len, strlen(want));
  assert_string_equal(out, want);
  jk_free(out);
}

static void from_cp932_fails(const char *in, size_t n, const char *detail) {
  char *out = (char *)1;
  size_t len = 99;
  jk_lang_set(JK_LANG_EN);
  assert_int_equal(jk_cp932_to_utf8(in, n, &out, &len), JK_EINVAL);
  assert_null(out);
  assert_int_equal(len, 0);
  assert_error_contains(detail);
}

static void to_cp932_is(const char *in, const char *want, size_t want_len) {
  char *out = (char *)1;
  size_t len = 99;
  jk_text_pos pos;
  jk_err e = jk_utf8_to_cp932(in, strlen(in), &out, &len, &pos);
  if (e) fail_msg("jk_utf8_to_cp932(\"%s\") failed: %s", in, jk_error_last());
  assert_int_equal(len, want_len);
  assert_memory_equal(out, want, want_len);
  jk_free(out);
}

static void to_cp932_fails(const char *in, size_t line, size_t column, uint32_t cp, const char *detail) {
  char *out = (char *)1;
  size_t len = 99;
  jk_text_pos pos = {0, 0, 0};
  jk_lang_set(JK_LANG_EN);
  assert_int_equal(jk_utf8_to_cp932(in, strlen(in), &out, &len, &pos), JK_EINVAL);
  assert_null(out);
  assert_int_equal(len, 0);
  if (pos.line != line || pos.column != column || pos.cp != cp)
    fail_msg("'%s': reported line %zu column %zu U+%04X, expected line %zu column %zu U+%04X", in, pos.line,
             pos.column, pos.cp, line, column, cp);
  assert_error_contains(detail);
  /* bad may be NULL */
  out = (char *)1;
  assert_int_equal(jk_utf8_to_cp932(in, strlen(in), &out, &len, NULL), JK_EINVAL);
  assert_null(out);
}

static void test_cp932_decode(void **state) {
  (void)state;
  from_cp932_is(S("\x8E\x52\x93\x63\x91\xBE\x98\x59"), "山田太郎");
  from_cp932_is(S("\xB1\xB2\xB3\xDE\xDF"), "ｱｲｳﾞﾟ");           /* half-width katakana */
  from_cp932_is(S("\x87\x40\x87\x8A\x87\x82\x87\x54"), "①㈱№Ⅰ"); /* NEC special characters */
  from_cp932_is(S("\xFB\xFC\xFA\x40\xFA\x55"), "髙ⅰ￤");          /* IBM extensions */
  from_cp932_is(S("\xED\x40"), "纊");                           /* NEC-selected IBM extension */
  from_cp932_is(S("\x81\x60\x81\x7C\x81\x5C"), "～－―");        /* the Microsoft mappings */
  from_cp932_is(S("a\\b~c\r\n"), "a\\b~c\r\n");                 /* ASCII stays ASCII */
  from_cp932_is(S(""), "");
  /* out_len may be NULL */
  char *out = NULL;
  assert_int_equal(jk_cp932_to_utf8(S("\x82\xA0"), &out, NULL), JK_OK);
  assert_string_equal(out, "あ");
  jk_free(out);
}

static void test_cp932_decode_errors(void **state) {
  (void)state;
  from_cp932_fails(S("\x80"), "line 1, column 1: byte sequence is not valid CP932");
  from_cp932_fails(S("abc\x82"), "line 1, column 4: byte sequence is not valid CP932"); /* truncated lead */
  from_cp932_fails(S("abc\n\x82\xA0\x85\x40"), "line 2, column 2: byte sequence is not valid CP932");
  from_cp932_fails(S("\x8E\x52\x93\x63\r\n\x91\xBE\r\n\x98\x59\xA0"),
                   "line 3, column 2: byte sequence is not valid CP932");
  from_cp932_fails(S("\x82\x20"), "line 1, column 1: byte sequence is not valid CP932"); /* bad trail */
  from_cp932_fails(S("\xFD"), "line 1, column 1: byte sequence is not valid CP932");
  from_cp932_fails(S("\xFF"), "line 1, column 1: byte sequence is not valid CP932");
  from_cp932_fails(S("\xFC\x4C"), "line 1, column 1: byte sequence is not valid CP932");
  from_cp932_fails(S("ab\n\n\x82\xA0\0"), "line 3, column 2: the text contains a NUL byte");
  jk_lang_set(JK_LANG_JA);
  char *out = NULL;
  assert_int_equal(jk_cp932_to_utf8(S("abc\n\x82"), &out, NULL), JK_EINVAL);
  assert_error_contains("2 行 1 文字目");
  jk_lang_set(JK_LANG_EN);
}

static void test_cp932_encode(void **state) {
  (void)state;
  to_cp932_is("山田太郎", "\x8E\x52\x93\x63\x91\xBE\x98\x59", 8);
  to_cp932_is("ｱｲｳﾞﾟ", "\xB1\xB2\xB3\xDE\xDF", 5);
  to_cp932_is("①㈱", "\x87\x40\x87\x8A", 4);
  to_cp932_is("髙", "\xFB\xFC", 2); /* U+9AD9: IBM extension, encodable */
  to_cp932_is("～", "\x81\x60", 2); /* U+FF5E FULLWIDTH TILDE is 0x8160 */
  to_cp932_is("", "", 0);
  to_cp932_is("a\\b~\r\n", "a\\b~\r\n", 6);
}

static void test_cp932_encode_errors(void **state) {
  (void)state;
  /* U+301C WAVE DASH: glibc would quietly write 0x8160, which reads back as U+FF5E */
  to_cp932_fails("東京〜大阪", 1, 3, 0x301C, "line 1, column 3: U+301C '〜' cannot be written in CP932");
  /* 𠮷 (U+20BB7) in the middle of the 3rd line */
  to_cp932_fails("一行目\r\n二行目です\nこれは𠮷野家です\n", 3, 4, 0x20BB7,
                 "line 3, column 4: U+20BB7 '𠮷' cannot be written in CP932");
  to_cp932_fails("ok\n\nまる😀", 3, 3, 0x1F600, "line 3, column 3: U+1F600 '😀' cannot be written in CP932");
  to_cp932_fails("\xE2\x88\x92", 1, 1, 0x2212, "U+2212 '−'");  /* MINUS SIGN → 0x817C reads back as U+FF0D */
  to_cp932_fails("¥100", 1, 1, 0xA5, "U+00A5 '¥'");             /* would become a backslash */
  to_cp932_fails("\xE2\x80\x94", 1, 1, 0x2014, "U+2014");        /* EM DASH → 0x815C reads back as U+2015 */
  to_cp932_fails("ab\xC2\xA6", 1, 3, 0xA6, "U+00A6 '¦'");
  to_cp932_fails("한국", 1, 1, 0xD55C, "U+D55C");
  to_cp932_fails("e\xCC\x81", 1, 2, 0x301, "U+0301");
  /* invalid UTF-8 is refused as such */
  char *out = (char *)1;
  size_t len;
  jk_text_pos pos;
  assert_int_equal(jk_utf8_to_cp932(S("ab\xE3\x81"), &out, &len, &pos), JK_EINVAL);
  assert_null(out);
  assert_error_contains("invalid UTF-8 at byte 3");
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_utf8_to_cp932(S("東京〜大阪"), &out, &len, &pos), JK_EINVAL);
  assert_error_contains("1 行 3 文字目: U+301C「〜」は CP932");
  jk_lang_set(JK_LANG_EN);
}

static const char realistic[] =
    "氏名,氏名かな,生年月日,性別,住所,備考\r\n"
    "山田　太郎,ヤマダ　タロウ,昭和55年1月2日,男,大阪府枚方市大垣内町２丁目１番２０号,\r\n"
    "髙橋　花子,ﾀｶﾊｼ ﾊﾅｺ,平成元年12月31日,女,東京都千代田区霞が関１－２－３　中央合同庁舎第２号館,㈱ジュキネット勤務\r\n"
    "齋藤　𠀋,さいとう　じょう,1999-09-09,男,北海道札幌市中央区北１条西２丁目,①②③ⅠⅡⅢ№℡\r\n"
    "渡邊　桃子,ワタナベ　モモコ,令和2年4月1日,女,京都府京都市左京区吉田本町３６－１,～ＡＢＣｘｙｚ￢∵≒∽√\r\n"
    "德永　纊,トクナガ　コウ,1945/08/15,男,沖縄県那覇市泉崎１丁目２番２号,ﾃｽﾄﾃﾞｰﾀ・ｶﾌﾞｼｷｶﾞｲｼｬ「」『』【】\r\n";

static void test_cp932_round_trip_realistic(void **state) {
  (void)state;
  /* 𠀋 (U+2000B) is not CP932: it is reported, on line 4 column 4 */
  jk_text_pos pos;
  char *sj = NULL, *back = NULL;
  size_t sjlen = 0, backlen = 0;
  assert_int_equal(jk_utf8_to_cp932(realistic, strlen(realistic), &sj, &sjlen, &pos), JK_EINVAL);
  assert_int_equal(pos.line, 4);
  assert_int_equal(pos.column, 4);
  assert_int_equal(pos.cp, 0x2000B);

  /* with it replaced by hand, everything survives */
  char text[sizeof realistic];
  memcpy(text, realistic, sizeof realistic);
  char *p = strstr(text, "𠀋");
  assert_non_null(p);
  memcpy(p, "丈", 3);
  memmove(p + 3, p + 4, strlen(p + 4) + 1);
  assert_int_equal(jk_utf8_to_cp932(text, strlen(text), &sj, &sjlen, &pos), JK_OK);
  assert_true(sjlen < strlen(text));
  assert_non_null(memchr(sj, 0x87, sjlen)); /* NEC row 13 was used */
  assert_int_equal(jk_cp932_to_utf8(sj, sjlen, &back, &backlen), JK_OK);
  assert_int_equal(backlen, strlen(text));
  assert_string_equal(back, text);
  jk_free(back);
  jk_free(sj);

  /* and a long file of it */
  size_t rows = 2000, one = strlen(text);
  char *big = malloc(rows * one + 1);
  for (size_t r = 0; r < rows; r++) memcpy(big + r * one, text, one);
  big[rows * one] = '\0';
  assert_int_equal(jk_utf8_to_cp932(big, rows * one, &sj, &sjlen, &pos), JK_OK);
  assert_int_equal(jk_cp932_to_utf8(sj, sjlen, &back, &backlen), JK_OK);
  assert_int_equal(backlen, rows * one);
  assert_memory_equal(back, big, backlen);
  jk_free(back);
  jk_free(sj);
  /* one bad character near the end of a long file: its line is counted right */
  memcpy(big + (rows - 1) * one + 3, "〜", 3); /* replaces "名" of the last header row */
  assert_int_equal(jk_utf8_to_cp932(big, rows * one, &sj, &sjlen, &pos), JK_EINVAL);
  assert_int_equal(pos.line, (rows - 1) * 6 + 1);
  assert_int_equal(pos.column, 2);
  assert_int_equal(pos.cp, 0x301C);
  free(big);
}

/* Every CP932 code: if it decodes, its UTF-8 encodes back to bytes that decode the same. */
static void test_cp932_every_code(void **state) {
  (void)state;
  size_t ok = 0;
  char in[2], *u = NULL, *sj = NULL, *u2 = NULL;
  size_t ulen, sjlen, u2len;
  jk_text_pos pos;
  for (unsigned lead = 1; lead < 0x100; lead++) {
    bool two = (lead >= 0x81 && lead <= 0x9F) || (lead >= 0xE0 && lead <= 0xFC);
    for (unsigned trail = 0; trail < (two ? 0x100u : 1u); trail++) {
      in[0] = (char)lead;
      in[1] = (char)trail;
      size_t n = two ? 2 : 1;
      if (jk_cp932_to_utf8(in, n, &u, &ulen) != JK_OK) continue;
      if (n == 2 && trail < 0x40) fail_msg("%02X %02X decoded", lead, trail);
      ok++;
      if (jk_utf8_to_cp932(u, ulen, &sj, &sjlen, &pos) != JK_OK)
        fail_msg("%02X %02X decodes to '%s' which does not encode: %s", lead, trail, u, jk_error_last());
      assert_int_equal(jk_cp932_to_utf8(sj, sjlen, &u2, &u2len), JK_OK);
      assert_int_equal(u2len, ulen);
      assert_memory_equal(u2, u, ulen);
      jk_free(u);
      jk_free(sj);
      jk_free(u2);
    }
  }
  /* 127 ASCII (no NUL) + 63 half-width kana + double-byte codes incl. NEC/IBM rows and the
   * user-defined area; a few hundred either way between glibc versions is fine */
  assert_true(ok > 9000 && ok < 12000);
}

/* ---- allocation failures -------------------------------------------------------------- */

typedef jk_err (*conv_fn)(const char *s, size_t n, char **out);

static jk_err do_cp932_to_utf8(const char *s, size_t n, char **out) { return jk_cp932_to_utf8(s, n, out, NULL); }
static jk_err do_utf8_to_cp932(const char *s, size_t n, char **out) {
  size_t len;
  return jk_utf8_to_cp932(s, n, out, &len, NULL);
}

static void fail_each_allocation(conv_fn f, const char *s, size_t n) {
  for (unsigned long k = 1;; k++) {
    char *out = (char *)1;
    jk_alloc_fail_at(k);
    jk_err e = f(s, n, &out);
    unsigned long used = jk_alloc_fail_at(0);
    if (e == JK_OK) {
      assert_non_null(out);
      jk_free(out);
      if (used < k) break; /* the fault never fired: every site was covered */
      continue;            /* a failure that was survived (shrinking a buffer) */
    }
    assert_int_equal(e, JK_ENOMEM);
    assert_null(out);
    assert_true(k < 100);
  }
}

static void test_allocation_failures(void **state) {
  (void)state;
  fail_each_allocation(jk_text_nfc, S(" 山田太郎 "));               /* fast path */
  fail_each_allocation(jk_text_nfc, S("か\xE3\x82\x99 e\xCC\x81")); /* utf8proc */
  fail_each_allocation(jk_text_nfc, S(""));
  fail_each_allocation(jk_text_search_key, S("やまだ　たろう"));      /* fast path */
  fail_each_allocation(jk_text_search_key, S("ﾔﾏﾀﾞ ﾀﾛｳ"));         /* utf8proc */
  fail_each_allocation(jk_text_search_key, S("か\xE3\x82\x9B"));    /* two rounds */
  fail_each_allocation(do_cp932_to_utf8, S("\x8E\x52\x93\x63\x91\xBE\x98\x59"));
  fail_each_allocation(do_utf8_to_cp932, S("山田太郎"));
}

/* jk_text_is_plain: what the store and the forms accept as text a person wrote. */
static void test_is_plain(void **state) {
  (void)state;
  assert_true(jk_text_is_plain("山田　一郎 (代理人)", strlen("山田　一郎 (代理人)")));
  assert_true(jk_text_is_plain("\xc2\xa0", 2)); /* U+00A0 is text */
  assert_true(jk_text_is_plain("", 0));
  assert_false(jk_text_is_plain("a\tb", 3));
  assert_false(jk_text_is_plain("a\x7f", 2));
  assert_false(jk_text_is_plain("\xc2\x85", 2)); /* U+0085, a C1 control */
  assert_false(jk_text_is_plain("a\xff", 2));
}

/* jk_buf_append_json_string: the answer writer of the query service (RFC 8259 §7). */
static void test_json_string(void **state) {
  (void)state;
  jk_buf b = {0};
  assert_int_equal(jk_buf_append_json_string(&b, "山田　花子"), JK_OK);
  assert_string_equal(b.data, "\"山田　花子\"");
  jk_buf_reset(&b);
  assert_int_equal(jk_buf_append_json_string(&b, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f"), JK_OK);
  assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"");
  jk_buf_reset(&b);
  assert_int_equal(jk_buf_append_json_string(&b, ""), JK_OK);
  assert_string_equal(b.data, "\"\"");
  /* past the cap: the buffer is as it was */
  jk_buf c = {.max = 8};
  assert_int_equal(jk_buf_appends(&c, "{"), JK_OK);
  assert_int_equal(jk_buf_append_json_string(&c, "0123456789"), JK_ETOOLARGE);
  assert_int_equal(c.len, 1);
  assert_string_equal(c.data, "{");
  jk_buf_free(&c);
  jk_buf_free(&b);
}

/* jk_fmt_u64: decimal without printf, the largest value included. */
static void test_fmt_u64(void **state) {
  (void)state;
  char d[JK_DEC_MAX];
  assert_int_equal(jk_fmt_u64(d, 0), 1);
  assert_string_equal(d, "0");
  assert_int_equal(jk_fmt_u64(d, 1234567890), 10);
  assert_string_equal(d, "1234567890");
  assert_int_equal(jk_fmt_u64(d, UINT64_MAX), 20);
  assert_string_equal(d, "18446744073709551615");
}

/* jk_buf_reserve: room without content, then appends that need no allocation. */
static void test_buf_reserve(void **state) {
  (void)state;
  jk_buf b = {0};
  assert_int_equal(jk_buf_reserve(&b, 500), JK_OK);
  assert_true(b.cap >= 501);
  assert_int_equal(b.len, 0);
  char *data = b.data;
  for (int i = 0; i < 50; i++)
    assert_int_equal(jk_buf_appends(&b, "0123456789"), JK_OK);
  assert_ptr_equal(b.data, data); /* no reallocation */
  assert_int_equal(b.len, 500);
  assert_int_equal(jk_buf_reserve(&b, 0), JK_OK);
  assert_int_equal(jk_buf_reserve(&b, SIZE_MAX), JK_ENOMEM);
  jk_buf_free(&b);
  jk_buf m = {.max = 100};
  assert_int_equal(jk_buf_reserve(&m, 101), JK_ETOOLARGE); /* max counts the bytes, not the NUL */
  assert_int_equal(jk_buf_reserve(&m, 100), JK_OK);
  jk_buf_free(&m);
}

int main(void) {
  jk_lang_set(JK_LANG_EN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_string),
      cmocka_unit_test(test_buf_reserve),
      cmocka_unit_test(test_fmt_u64),
      cmocka_unit_test(test_is_plain),
      cmocka_unit_test(test_utf8_valid),
      cmocka_unit_test(test_utf8_exhaustive),
      cmocka_unit_test(test_utf8_len),
      cmocka_unit_test(test_nfc_basic),
      cmocka_unit_test(test_nfc_errors),
      cmocka_unit_test(test_nfc_fast_path_table),
      cmocka_unit_test(test_nfc_matches_utf8proc),
      cmocka_unit_test(test_search_key_equivalences),
      cmocka_unit_test(test_search_key_errors),
      cmocka_unit_test(test_search_key_fast_path_table),
      cmocka_unit_test(test_search_key_matches_reference),
      cmocka_unit_test(test_is_kana),
      cmocka_unit_test(test_cp932_decode),
      cmocka_unit_test(test_cp932_decode_errors),
      cmocka_unit_test(test_cp932_encode),
      cmocka_unit_test(test_cp932_encode_errors),
      cmocka_unit_test(test_cp932_round_trip_realistic),
      cmocka_unit_test(test_cp932_every_code),
      cmocka_unit_test(test_allocation_failures),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(second_of_pair);
  return rc;
}
