/*
 * text.h — text at the edges: UTF-8 validation, NFC storage form, search keys, CP932.
 *
 * Inside jukinet all text is valid UTF-8 in NFC. Search keys fold away differences people do
 * not see as differences: NFKC (full/half width, compatibility forms), hiragana → katakana,
 * case, and spaces, so "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ" and "ヤマダタロウ" share one key.
 * CP932 (Windows Shift_JIS) is spoken only at import/export; a character CP932 cannot hold is
 * reported with its position (1-based line and column in characters), never dropped or replaced.
 */
#ifndef JUKINET_TEXT_H
#define JUKINET_TEXT_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Length in bytes of the longest valid UTF-8 prefix of s[0..n). Equal to n when valid.
 * Overlongs, surrogates, code points above U+10FFFF and NUL bytes are invalid. */
JK_API size_t jk_utf8_valid_prefix(const char *s, size_t n);
JK_API bool jk_utf8_valid(const char *s, size_t n);
/* Plain text as people write it on a form: valid UTF-8 without control characters (C0, DEL, C1). */
JK_API bool jk_text_is_plain(const char *s, size_t n);
/* Number of code points in valid UTF-8. */
JK_API size_t jk_utf8_len(const char *s, size_t n);

/* Validate and normalise to NFC, trimming leading/trailing white space (ASCII and U+3000).
 * *out is NUL-terminated, caller frees with jk_free. Errors: JK_EINVAL (invalid UTF-8: the
 * detail gives the byte offset; control characters), JK_ENOMEM. */
JK_API jk_err jk_text_nfc(const char *s, size_t n, char **out);

/* Search key of valid UTF-8 text: NFKC, case fold, hiragana → katakana, white space removed.
 * *out NUL-terminated, caller frees with jk_free. */
JK_API jk_err jk_text_search_key(const char *s, size_t n, char **out);

/* True when every character of s is katakana, hiragana, the prolonged sound mark, middle
 * dot or space (what a 氏名かな field may contain). */
JK_API bool jk_text_is_kana(const char *s, size_t n);

/* CP932 → UTF-8. Invalid or unmapped bytes → JK_EINVAL with line/column in the detail.
 * *out NUL-terminated, *out_len its length (may be NULL); caller frees with jk_free. */
JK_API jk_err jk_cp932_to_utf8(const char *s, size_t n, char **out, size_t *out_len);

/* Where a UTF-8 → CP932 conversion failed. */
typedef struct jk_text_pos {
  size_t line;    /* 1-based */
  size_t column;  /* 1-based, in characters */
  uint32_t cp;    /* the code point CP932 cannot hold */
} jk_text_pos;

/* UTF-8 → CP932. A character CP932 cannot encode → JK_EINVAL, *bad (if non-NULL) says where
 * and the detail says "line L, column C: U+XXXX 'c' cannot be written in CP932".
 * *out (not NUL-terminated) and *out_len; caller frees with jk_free. */
JK_API jk_err jk_utf8_to_cp932(const char *s, size_t n, char **out, size_t *out_len,
                               jk_text_pos *bad);

#ifdef __cplusplus
}
#endif
#endif
