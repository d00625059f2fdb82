/*
 * fuzz_text.c — libFuzzer target for the UTF-8 and normalisation functions of text.h.
 *
 * The input bytes, exactly as given (not NUL-terminated, so ASan sees any over-read), go to:
 *   jk_utf8_valid_prefix  — agrees with a small reference decoder, is <= n, and is the longest
 *                           valid prefix (nothing longer is valid);
 *   jk_text_nfc           — refuses invalid UTF-8; what it accepts comes out valid UTF-8 without
 *                           edge white space and is a fixed point: nfc(nfc(x)) == nfc(x);
 *   jk_text_search_key    — on the valid prefix: never fails, valid UTF-8 without white space,
 *                           idempotent (key(key(x)) == key(x)), and key(nfc(x)) == key(x);
 *   jk_text_is_kana       — only for valid non-empty text, and kana stays kana through nfc.
 * Any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jukinet/i18n.h"
#include "jukinet/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define must(c)                                                    \
  do {                                                             \
    if (!(c)) {                                                    \
      fprintf(stderr, "fuzz_text: %s:%d: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                     \
    }                                                              \
  } while (0)

#include "common/ref_utf8.h"

static bool edge_space(const char *s, size_t n) {
  if (n == 0) return false;
  unsigned char a = (unsigned char)s[0], z = (unsigned char)s[n - 1];
  if (a == ' ' || (a >= '\t' && a <= '\r') || z == ' ' || (z >= '\t' && z <= '\r')) return true;
  if (n >= 3 && (memcmp(s, "\xE3\x80\x80", 3) == 0 || memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)) return true;
  return false;
}

static char *key_of(const char *s, size_t n) {
  char *k = NULL;
  must(jk_text_search_key(s, n, &k) == JK_OK);
  must(k != NULL && jk_utf8_valid(k, strlen(k)));
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  jk_lang_set(size % 2 ? JK_LANG_EN : JK_LANG_JA);

  /* validation */
  size_t p = jk_utf8_valid_prefix(s, size);
  must(p <= size);
  must(p == ref_valid_prefix(data, size));
  must(jk_utf8_valid(s, p));
  must(jk_utf8_valid(s, size) == (p == size));
  if (p < size) must(!jk_utf8_valid(s, p + 1));
  must(jk_utf8_len(s, p) <= p);

  /* NFC */
  char *nfc = (char *)1;
  jk_err e = jk_text_nfc(s, size, &nfc);
  if (p < size) must(e == JK_EINVAL);
  if (e != JK_OK) {
    must(e == JK_EINVAL && nfc == NULL && jk_error_last()[0] != '\0');
  } else {
    size_t n = strlen(nfc);
    must(jk_utf8_valid(nfc, n));
    must(!edge_space(nfc, n));
    char *again = NULL;
    must(jk_text_nfc(nfc, n, &again) == JK_OK);
    must(strcmp(again, nfc) == 0);
    jk_free(again);
  }

  /* search key of the valid prefix */
  char *k = key_of(s, p), *k2 = key_of(k, strlen(k));
  must(strcmp(k, k2) == 0);
  must(!strchr(k, ' ') && !strchr(k, '\t') && !strchr(k, '\n') && !strstr(k, "\xE3\x80\x80"));
  if (e == JK_OK) {
    char *kn = key_of(nfc, strlen(nfc));
    must(strcmp(kn, k) == 0);
    jk_free(kn);
  }
  jk_free(k);
  jk_free(k2);

  /* kana */
  bool kana = jk_text_is_kana(s, size);
  if (kana) {
    must(size > 0 && p == size);
    must(e == JK_OK);
    must(nfc[0] == '\0' || jk_text_is_kana(nfc, strlen(nfc)));
  }
  if (e == JK_OK) jk_free(nfc);
  return 0;
}
