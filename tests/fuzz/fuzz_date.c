/*
 * fuzz_date.c — libFuzzer target for jk_date_parse.
 *
 * The input bytes, NUL-terminated, go to jk_date_parse. A refused input must leave a detail
 * and the zero date; an accepted one must be a valid date that survives both text forms:
 * parse → jk_date_format_iso → parse and parse → jk_date_format_wareki → parse give the same
 * date, and the day count goes there and back. Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jukinet/date.h"
#include "jukinet/i18n.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  /* Both catalogues: a translation whose conversions differ from its key would crash here. */
  jk_lang_set(size % 2 ? JK_LANG_EN : JK_LANG_JA);

  jk_date d = {1, 2, 3}, back;
  if (jk_date_parse(text, &d) != JK_OK) {
    must(d.y == 0 && d.m == 0 && d.d == 0);
    must(jk_error_last()[0] != '\0');
    free(text);
    return 0;
  }
  must(jk_date_valid(d));

  char iso[11], wareki[JK_DATE_TEXT_MAX];
  jk_date_format_iso(d, iso);
  must(strlen(iso) == 10);
  must(jk_date_parse(iso, &back) == JK_OK && jk_date_cmp(back, d) == 0);

  memset(wareki, 'Z', sizeof wareki);
  jk_date_format_wareki(d, wareki);
  must(memchr(wareki, '\0', sizeof wareki) != NULL);
  must(jk_date_parse(wareki, &back) == JK_OK && jk_date_cmp(back, d) == 0);

  must(jk_date_cmp(jk_date_from_days(jk_date_to_days(d)), d) == 0);
  int ey = -1;
  jk_era e = jk_date_era(d, &ey);
  must(ey >= 1 && (e == JK_ERA_NONE ? ey == d.y : jk_era_name(e)[0] != '\0'));
  free(text);
  return 0;
}
