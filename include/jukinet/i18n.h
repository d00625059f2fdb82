/*
 * i18n.h — the language of user-facing text.
 *
 * Code and logs are English; what people read (CLI messages, letters, errors) is Japanese by
 * default with English available. Messages are written in English in the source and looked up
 * in a Japanese catalogue, gettext style, so one string is the key and the fallback.
 */
#ifndef JUKINET_I18N_H
#define JUKINET_I18N_H

#include "jukinet/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jk_lang { JK_LANG_JA = 0, JK_LANG_EN = 1 } jk_lang;

/* Process-wide language; default Japanese. */
JK_API void jk_lang_set(jk_lang lang);
JK_API jk_lang jk_lang_get(void);
/* Parse "ja", "en", "ja_JP.UTF-8", "en_US.UTF-8", "C" … ; unknown → -1. */
JK_API int jk_lang_parse(const char *s);

/* The text to show for an English message: its Japanese translation when the language is
 * Japanese and the catalogue has one, else `en` itself. Never NULL; borrowed (static). */
JK_API const char *jk_tr(const char *en);
/* Number of catalogue entries and the i-th English key (for the catalogue test). */
JK_API size_t jk_tr_count(void);
JK_API const char *jk_tr_key(size_t i);

/* Marks a string literal for translation where it is used later (tables). */
#define JK_N_(s) (s)

#ifdef __cplusplus
}
#endif
#endif
