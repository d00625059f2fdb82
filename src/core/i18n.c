/*
 * i18n.c — language selection and the Japanese message catalogue.
 *
 * The catalogue (i18n_ja.inc) is a list of { english, japanese } pairs. A translation must use
 * the same conversions as its key, in any order through positional arguments (%1$s); the
 * catalogue test (tests/unit/core/test_i18n.c) checks that for every entry.
 */
#include "jukinet/i18n.h"

#include <stdatomic.h>
#include <string.h>

struct tr_pair {
  const char *en, *ja;
};

static const struct tr_pair catalogue[] = {
#include "i18n_ja.inc"
    {NULL, NULL}, /* sentinel */
};

#define CATALOGUE_LEN (sizeof catalogue / sizeof catalogue[0] - 1)

static atomic_int current_lang = JK_LANG_JA;

void jk_lang_set(jk_lang lang) { atomic_store(&current_lang, (int)lang); }
jk_lang jk_lang_get(void) { return (jk_lang)atomic_load(&current_lang); }

int jk_lang_parse(const char *s) {
  if (!s || !*s) return -1;
  if (strncmp(s, "ja", 2) == 0) return JK_LANG_JA;
  if (strncmp(s, "en", 2) == 0 || strcmp(s, "C") == 0 || strncmp(s, "C.", 2) == 0 ||
      strcmp(s, "POSIX") == 0)
    return JK_LANG_EN;
  return -1;
}

const char *jk_tr(const char *en) {
  if (!en || jk_lang_get() != JK_LANG_JA) return en;
  for (size_t i = 0; catalogue[i].en; i++)
    if (strcmp(catalogue[i].en, en) == 0) return catalogue[i].ja;
  return en;
}

size_t jk_tr_count(void) { return CATALOGUE_LEN; }
const char *jk_tr_key(size_t i) { return i < jk_tr_count() ? catalogue[i].en : NULL; }
