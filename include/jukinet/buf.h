/*
 * buf.h — a growable byte buffer with a hard cap (curl dynbuf, openssh sshbuf).
 */
#ifndef JUKINET_BUF_H
#define JUKINET_BUF_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Zero-initialise ({0}) before use. data is NUL-terminated whenever len > 0.
 * max: 0 = no cap (callers handling untrusted input must set one); past it appends fail
 * with JK_ETOOLARGE and the buffer is unchanged. */
typedef struct jk_buf {
  char *data;
  size_t len, cap;
  size_t max;
} jk_buf;

JK_API jk_err jk_buf_append(jk_buf *b, const void *p, size_t n);
JK_API jk_err jk_buf_appends(jk_buf *b, const char *s);
JK_API jk_err jk_buf_appendf(jk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s (NUL-terminated UTF-8, not checked here) as a JSON string with its quotes: '"', '\\' and
 * control characters escaped (RFC 8259 §7), everything else as is. Unchanged on failure. */
JK_API jk_err jk_buf_append_json_string(jk_buf *b, const char *s);
/* Room for n more bytes without another allocation (a writer that knows its usual size saves
 * the doublings from 64 bytes up). JK_ETOOLARGE past max, JK_ENOMEM. */
JK_API jk_err jk_buf_reserve(jk_buf *b, size_t n);
/* v in decimal into out, NUL-terminated (out has room for JK_DEC_MAX bytes); returns the
 * length. No printf: for the hot paths where format parsing shows in a profile. */
#define JK_DEC_MAX 21
JK_API size_t jk_fmt_u64(char *out, uint64_t v);
/* Length back to 0, memory kept. */
JK_API void jk_buf_reset(jk_buf *b);
/* Release the memory; the buffer may be reused after. */
JK_API void jk_buf_free(jk_buf *b);
/* Hand the data to the caller (caller frees with jk_free); the buffer becomes empty. */
JK_API char *jk_buf_steal(jk_buf *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
