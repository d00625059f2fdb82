/*
 * csv.h — RFC 4180 CSV reading and writing (the import/export edge).
 *
 * Reader: fields separated by ',', records by CRLF or LF; a field in double quotes may hold
 * commas, newlines and doubled quotes (""). Input must be valid UTF-8 (convert CP932 first).
 * Hard limits make hostile input harmless: a field longer than max_field bytes or a record
 * with more than max_fields fields is JK_ETOOLARGE; a quote left open at end of input, text
 * after a closing quote, or a bare quote inside an unquoted field is JK_EINVAL. Every error
 * detail names the record (1-based line where it starts) and the field (1-based).
 */
#ifndef JUKINET_CSV_H
#define JUKINET_CSV_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_csv jk_csv;

typedef struct jk_csv_limits {
  size_t max_field;  /* bytes; default 4096 */
  size_t max_fields; /* per record; default 64 */
} jk_csv_limits;

/* A reader over a memory buffer, borrowed until jk_csv_free. A UTF-8 BOM is skipped.
 * limits may be NULL for the defaults. Caller frees with jk_csv_free. */
JK_API jk_err jk_csv_new(jk_csv **out, const char *buf, size_t len, const jk_csv_limits *limits);
JK_API void jk_csv_free(jk_csv *c);

/* The next record. JK_OK with *nfields > 0 and fields/lens set (borrowed until the next call),
 * or JK_ENOTFOUND at end of input, or an error (sticky: later calls return it again).
 * Fields are NUL-terminated. A blank line is skipped. */
JK_API jk_err jk_csv_next(jk_csv *c, const char *const **fields, const size_t **lens,
                          size_t *nfields);
/* 1-based line number where the last returned record started. */
JK_API size_t jk_csv_line(const jk_csv *c);

/* Append `s` as a CSV field (quoted if it contains , " CR LF or leading/trailing space),
 * preceded by ',' unless first is true. */
JK_API jk_err jk_csv_put_field(jk_buf *b, const char *s, size_t n, bool first);
/* End a record with CRLF. */
JK_API jk_err jk_csv_end_record(jk_buf *b);

#ifdef __cplusplus
}
#endif
#endif
