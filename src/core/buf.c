/*
 * buf.c — growable byte buffer with a hard cap. Grows by doubling; always keeps one spare
 * byte for the terminating NUL so data can be used as a C string.
 */
#include "jukinet/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static jk_err grow(jk_buf *b, size_t need) {
  if (b->max && need > b->max) return jk_error_set(JK_ETOOLARGE, "buffer limit of %zu bytes exceeded", b->max);
  if (need + 1 <= b->cap) return JK_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need + 1) {
    if (cap > SIZE_MAX / 2) return jk_error_set(JK_ENOMEM, NULL);
    cap *= 2;
  }
  char *p = jk_realloc(b->data, cap);
  if (!p) return jk_error_set(JK_ENOMEM, NULL);
  b->data = p;
  b->cap = cap;
  return JK_OK;
}

size_t jk_fmt_u64(char *out, uint64_t v) {
  char tmp[JK_DEC_MAX];
  size_t n = 0, k = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while (v /= 10);
  while (n) out[k++] = tmp[--n];
  out[k] = '\0';
  return k;
}

jk_err jk_buf_reserve(jk_buf *b, size_t n) {
  if (n > SIZE_MAX - 1 - b->len) return jk_error_set(JK_ENOMEM, NULL);
  return grow(b, b->len + n);
}

jk_err jk_buf_append(jk_buf *b, const void *p, size_t n) {
  jk_err e;
  if (n > SIZE_MAX - b->len - 1) return jk_error_set(JK_ETOOLARGE, NULL);
  if ((e = grow(b, b->len + n)) != JK_OK) return e;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return JK_OK;
}

jk_err jk_buf_appends(jk_buf *b, const char *s) { return jk_buf_append(b, s, strlen(s)); }

jk_err jk_buf_appendf(jk_buf *b, const char *fmt, ...) {
  va_list ap;
  char small[256];
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return jk_error_set(JK_EINVAL, "bad format");
  if ((size_t)n < sizeof small) return jk_buf_append(b, small, (size_t)n);
  jk_err e;
  if ((e = grow(b, b->len + (size_t)n)) != JK_OK) return e;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return JK_OK;
}

/* Runs of bytes that need no escape go in one append; the buffer is unchanged on failure. */
jk_err jk_buf_append_json_string(jk_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t start = b->len;
  jk_err e = jk_buf_append(b, "\"", 1);
  const char *run = s;
  for (const char *p = s; !e && *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (p > run && (e = jk_buf_append(b, run, (size_t)(p - run)))) break;
    run = p + 1;
    char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
    case '"': case '\\': break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default: /* \u00XX */
      esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
      n = 6;
    }
    e = jk_buf_append(b, esc, n);
  }
  if (!e && *run) e = jk_buf_append(b, run, strlen(run));
  if (!e) e = jk_buf_append(b, "\"", 1);
  if (e) {
    b->len = start;
    if (b->data) b->data[start] = '\0';
  }
  return e;
}

void jk_buf_reset(jk_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void jk_buf_free(jk_buf *b) {
  jk_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *jk_buf_steal(jk_buf *b, size_t *len) {
  char *d = b->data;
  if (len) *len = b->len;
  if (!d) d = jk_strdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}
