/*
 * text_int.h — the fast-path tables of text.c, shared with tests/unit/core/test_text.c only,
 * which checks them against utf8proc for every code point (private).
 */
#ifndef JK_TEXT_INT_H
#define JK_TEXT_INT_H

#include <stdbool.h>
#include <stdint.h>

/* True when cp can be copied as is by NFC: combining class 0, NFC_Quick_Check=Yes, never the
 * second half of a canonical composition. */
bool jk__text_nfc_inert(uint32_t cp);

#define KEY_DROP (-1) /* key_map: the code point is white space, left out of the key */
#define KEY_SLOW (-2) /* key_map: needs utf8proc */
/* The search-key image of cp on the fast path: a code point, KEY_DROP (-1: white space, left
 * out) or KEY_SLOW (-2: needs utf8proc). */
int32_t jk__text_key_map(uint32_t cp);

#endif
