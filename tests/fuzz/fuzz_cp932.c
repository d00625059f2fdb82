/*
 * fuzz_cp932.c — libFuzzer target for the CP932 conversions of text.h.
 *
 * The input bytes, as CP932: when jk_cp932_to_utf8 accepts them, the result is valid UTF-8
 * of the stated length, jk_utf8_to_cp932 must accept it, and the bytes it gives decode to the
 * same UTF-8 again (they may differ from the input: NEC-selected IBM extensions come back as
 * IBM extensions). When it refuses them, it says so with JK_EINVAL and no output.
 *
 * The same bytes, as UTF-8 (their valid prefix): jk_utf8_to_cp932 either round-trips exactly
 * or reports a position whose line and column lead to the very code point it names.
 * Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jukinet/i18n.h"
#include "jukinet/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define must(c)                                                      \
  do {                                                               \
    if (!(c)) {                                                      \
      fprintf(stderr, "fuzz_cp932: %s:%d: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                       \
    }                                                                \
  } while (0)

/* The code point at 1-based (line, column) of valid UTF-8 s, or UINT32_MAX. */
static uint32_t cp_at(const char *s, size_t n, size_t line, size_t column) {
  size_t i = 0, l = 1, c = 1;
  while (i < n && (l < line || c < column)) {
    if (s[i] == '\n') {
      if (l == line) return UINT32_MAX; /* the line is shorter than column */
      l++;
      c = 1;
      i++;
      continue;
    }
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
    c++;
  }
  if (i >= n || l != line || c != column) return UINT32_MAX;
  const unsigned char *p = (const unsigned char *)s + i;
  if (p[0] < 0x80) return p[0];
  if (p[0] < 0xE0) return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  if (p[0] < 0xF0) return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
         (p[3] & 0x3F);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  jk_lang_set(size % 2 ? JK_LANG_EN : JK_LANG_JA);

  /* CP932 → UTF-8 → CP932 → UTF-8 */
  char *u = (char *)1, *sj = NULL, *u2 = NULL;
  size_t ulen = 7, sjlen = 0, u2len = 0;
  jk_text_pos pos;
  jk_err e = jk_cp932_to_utf8(s, size, &u, &ulen);
  if (e != JK_OK) {
    must(e == JK_EINVAL && u == NULL && ulen == 0 && jk_error_last()[0] != '\0');
  } else {
    must(u != NULL && strlen(u) == ulen && jk_utf8_valid(u, ulen));
    must(ulen >= size);
    must(jk_utf8_to_cp932(u, ulen, &sj, &sjlen, &pos) == JK_OK);
    must(sjlen <= ulen);
    must(jk_cp932_to_utf8(sj, sjlen, &u2, &u2len) == JK_OK);
    must(u2len == ulen && memcmp(u2, u, ulen) == 0);
    jk_free(u);
    jk_free(sj);
    jk_free(u2);
  }

  /* UTF-8 → CP932 of the valid prefix */
  size_t p = jk_utf8_valid_prefix(s, size);
  char *c = (char *)1;
  size_t clen = 7;
  pos.line = pos.column = 0;
  pos.cp = 0;
  e = jk_utf8_to_cp932(s, p, &c, &clen, &pos);
  if (e == JK_OK) {
    must(clen <= p);
    char *back = NULL;
    size_t blen = 0;
    must(jk_cp932_to_utf8(c, clen, &back, &blen) == JK_OK);
    must(blen == p && memcmp(back, s, p) == 0);
    jk_free(back);
    jk_free(c);
  } else {
    must(e == JK_EINVAL && c == NULL && clen == 0);
    must(pos.line >= 1 && pos.column >= 1);
    must(cp_at(s, p, pos.line, pos.column) == pos.cp);
  }
  return 0;
}
