/*
 * csv.c — RFC 4180 CSV reader and writer.
 *
 * Reader invariants: a record's fields are copied, NUL-terminated, into one reusable buffer
 * (rec), and fields[]/lens[] point into it; nothing else is allocated per record. Limits
 * (max_field, max_fields) bound memory whatever the input. Errors are sticky.
 */
#include "jukinet/csv.h"

#include <string.h>

struct jk_csv {
  const char *p, *end;
  size_t line;        /* line of the next character */
  size_t rec_line;    /* line where the last record started */
  jk_csv_limits lim;
  jk_buf rec;         /* field bytes, each NUL-terminated */
  size_t *offs;       /* field start offsets into rec */
  size_t *lens;
  const char **fields;
  size_t cap;         /* capacity of offs/lens/fields */
  jk_err sticky;
};

jk_err jk_csv_new(jk_csv **out, const char *buf, size_t len, const jk_csv_limits *limits) {
  jk_csv *c = jk_calloc(1, sizeof *c);
  if (!c) return jk_error_set(JK_ENOMEM, NULL);
  c->lim.max_field = limits && limits->max_field ? limits->max_field : 4096;
  c->lim.max_fields = limits && limits->max_fields ? limits->max_fields : 64;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) buf += 3, len -= 3;
  c->p = buf;
  c->end = buf + len;
  c->line = 1;
  *out = c;
  return JK_OK;
}

void jk_csv_free(jk_csv *c) {
  if (!c) return;
  jk_buf_free(&c->rec);
  jk_free(c->offs);
  jk_free(c->lens);
  jk_free(c->fields);
  jk_free(c);
}

size_t jk_csv_line(const jk_csv *c) { return c->rec_line; }

static jk_err fail(jk_csv *c, jk_err e) {
  c->sticky = e;
  return e;
}

static jk_err push_field_start(jk_csv *c, size_t n) {
  if (n >= c->lim.max_fields)
    return fail(c, jk_error_set(JK_ETOOLARGE, "line %zu: more than %zu fields", c->rec_line, c->lim.max_fields));
  if (n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    size_t *o = jk_realloc(c->offs, cap * sizeof *o);
    if (!o) return fail(c, jk_error_set(JK_ENOMEM, NULL));
    c->offs = o;
    size_t *l = jk_realloc(c->lens, cap * sizeof *l);
    if (!l) return fail(c, jk_error_set(JK_ENOMEM, NULL));
    c->lens = l;
    const char **f = jk_realloc(c->fields, cap * sizeof *f);
    if (!f) return fail(c, jk_error_set(JK_ENOMEM, NULL));
    c->fields = f;
    c->cap = cap;
  }
  c->offs[n] = c->rec.len;
  return JK_OK;
}

/* Refuse before copying, so a hostile 1 GB field costs no memory. */
static jk_err field_byte_limit(jk_csv *c, size_t n, size_t start, size_t more) {
  if (c->rec.len - start + more > c->lim.max_field)
    return fail(c, jk_error_set(JK_ETOOLARGE, "line %zu, field %zu: longer than %zu bytes", c->rec_line, n + 1,
                                c->lim.max_field));
  return JK_OK;
}

jk_err jk_csv_next(jk_csv *c, const char *const **fields, const size_t **lens, size_t *nfields) {
  jk_err e;
  if (c->sticky) return c->sticky;
  /* skip blank lines */
  while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
    if (*c->p == '\n') c->line++;
    c->p++;
  }
  if (c->p >= c->end) return JK_ENOTFOUND;
  c->rec_line = c->line;
  jk_buf_reset(&c->rec);
  size_t n = 0;
  for (;;) { /* one field per iteration */
    if ((e = push_field_start(c, n))) return e;
    size_t start = c->rec.len;
    if (c->p < c->end && *c->p == '"') {
      size_t open_line = c->line;
      c->p++;
      for (;;) {
        const char *q = c->p;
        while (q < c->end && *q != '"') {
          if (*q == '\n') c->line++;
          q++;
        }
        if ((e = field_byte_limit(c, n, start, (size_t)(q - c->p)))) return e;
        if ((e = jk_buf_append(&c->rec, c->p, (size_t)(q - c->p)))) return fail(c, e);
        if (q >= c->end)
          return fail(c, jk_error_set(JK_EINVAL, "line %zu, field %zu: quote opened here is never closed",
                                      open_line, n + 1));
        c->p = q + 1;
        if (c->p < c->end && *c->p == '"') { /* doubled quote */
          if ((e = field_byte_limit(c, n, start, 1))) return e;
          if ((e = jk_buf_append(&c->rec, "\"", 1))) return fail(c, e);
          c->p++;
          continue;
        }
        break;
      }
      if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
        return fail(c, jk_error_set(JK_EINVAL, "line %zu, field %zu: text after the closing quote", c->line,
                                    n + 1));
    } else {
      const char *q = c->p;
      while (q < c->end && *q != ',' && *q != '\n' && *q != '\r') {
        if (*q == '"')
          return fail(c, jk_error_set(JK_EINVAL, "line %zu, field %zu: a quote inside an unquoted field",
                                      c->line, n + 1));
        q++;
      }
      if ((e = field_byte_limit(c, n, start, (size_t)(q - c->p)))) return e;
      if ((e = jk_buf_append(&c->rec, c->p, (size_t)(q - c->p)))) return fail(c, e);
      c->p = q;
    }
    c->lens[n] = c->rec.len - start;
    if ((e = jk_buf_append(&c->rec, "", 1))) return fail(c, e); /* NUL terminator */
    n++;
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    /* end of record: CRLF, LF, lone CR or end of input */
    if (c->p < c->end && *c->p == '\r') c->p++;
    if (c->p < c->end && *c->p == '\n') {
      c->p++;
      c->line++;
    }
    break;
  }
  for (size_t i = 0; i < n; i++) c->fields[i] = c->rec.data + c->offs[i];
  *fields = c->fields;
  *lens = c->lens;
  *nfields = n;
  return JK_OK;
}

jk_err jk_csv_put_field(jk_buf *b, const char *s, size_t n, bool first) {
  jk_err e;
  if (!first && (e = jk_buf_append(b, ",", 1))) return e;
  bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
  for (size_t i = 0; i < n && !quote; i++)
    if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = true;
  if (!quote) return jk_buf_append(b, s, n);
  if ((e = jk_buf_append(b, "\"", 1))) return e;
  const char *p = s, *end = s + n;
  while (p < end) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) q = end;
    if ((e = jk_buf_append(b, p, (size_t)(q - p)))) return e;
    if (q < end && (e = jk_buf_append(b, "\"\"", 2))) return e;
    p = q < end ? q + 1 : end;
  }
  return jk_buf_append(b, "\"", 1);
}

jk_err jk_csv_end_record(jk_buf *b) { return jk_buf_append(b, "\r\n", 2); }
