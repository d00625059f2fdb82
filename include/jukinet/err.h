/*
 * err.h — the one error type of libjukinet.
 *
 * Every fallible function returns jk_err: JK_OK (0) or a negative code. Codes are distinct
 * only where a caller acts differently (STYLE "Errors"). The human-readable detail of the
 * last failure on this thread — in the current language (jk_lang) — is jk_error_last().
 * Codes of SQLite, iconv, utf8proc … are translated at the module edge and never leak.
 */
#ifndef JUKINET_ERR_H
#define JUKINET_ERR_H

#include "jukinet/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(code, value, name, english message, japanese message) */
#define JK_ERR_MAP(X)                                                                        \
  X(JK_OK, 0, "OK", "success", "成功")                                                        \
  X(JK_ENOMEM, -1, "NOMEM", "out of memory", "メモリが不足しています")                          \
  X(JK_EINVAL, -2, "INVALID", "invalid input", "入力が正しくありません")                        \
  X(JK_ENOTFOUND, -3, "NOTFOUND", "not found", "見つかりません")                                \
  X(JK_EEXISTS, -4, "EXISTS", "already exists", "既に存在します")                               \
  X(JK_ECONFLICT, -5, "CONFLICT", "conflicts with the current state", "現在の状態と矛盾します")   \
  X(JK_EAUTH, -6, "AUTH", "authentication failed", "認証に失敗しました")                        \
  X(JK_EPERM, -7, "PERM", "permission denied", "権限がありません")                              \
  X(JK_ETOOLARGE, -8, "TOOLARGE", "too large", "大きすぎます")                                  \
  X(JK_EBUSY, -9, "BUSY", "busy, try again", "使用中です。再試行してください")                    \
  X(JK_ECORRUPT, -10, "CORRUPT", "data is corrupt", "データが破損しています")                    \
  X(JK_ECRYPTO, -11, "CRYPTO", "cryptographic failure", "暗号処理に失敗しました")               \
  X(JK_EDISCONNECTED, -12, "DISCONNECTED", "connection is stopped", "接続は停止中です")         \
  X(JK_EIO, -13, "IO", "input/output error", "入出力エラー")                                   \
  X(JK_EUNSUPPORTED, -14, "UNSUPPORTED", "not supported", "対応していません")

typedef enum jk_err {
#define JK__ERR_ENUM(c, v, n, en, ja) c = v,
  JK_ERR_MAP(JK__ERR_ENUM)
#undef JK__ERR_ENUM
} jk_err;

/* Stable upper-case name ("INVALID"), for JSON and logs. Never NULL. */
JK_API const char *jk_err_name(jk_err e);
/* Generic message for the code in the current language. Never NULL. */
JK_API const char *jk_err_str(jk_err e);

/* The detail of the last failure on this thread (current language), or the generic
 * message when none was set. Borrowed until the next failure on this thread. */
JK_API const char *jk_error_last(void);
/* Code of the last failure on this thread. */
JK_API jk_err jk_error_last_code(void);
JK_API void jk_error_clear(void);

/* Record a failure and return `code`. `fmt` is an English format string; when the current
 * language is Japanese its translation from the catalogue (src/core/i18n_ja.inc) is used.
 * Positional arguments (%1$s) let the translation reorder them. */
JK_API jk_err jk_error_set(jk_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current detail with context ("row 12: " + detail); returns the current code. */
JK_API jk_err jk_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif
