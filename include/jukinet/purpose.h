/*
 * purpose.h — the lawful purposes of provision (住民基本台帳法 別表): for each, the agency that may
 * ask, the affair (事務) it asks for, and the fields of 本人確認情報 it may receive.
 *
 * The table is data/purposes.tsv, compiled in (jk_purposes_builtin); jk_purposes_parse reads the
 * same format from any bytes (tests, a newer table) and refuses anything malformed, naming the
 * line. The format, one header line then one row per purpose, UTF-8, LF line ends, tab-separated:
 *   code  agency  affair  fields  citation  source_url
 * code: "B<n>-<item>[-<branch>]…" for 別表第n's item (一の項 = 01, 三の二の項 = 03-2), unique;
 * fields: a comma-separated set of name, birth, sex, address, code, change.
 */
#ifndef JUKINET_PURPOSE_H
#define JUKINET_PURPOSE_H

#include "jukinet/err.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The fields of 本人確認情報 a purpose may receive (a bit set). */
enum {
  JK_FIELD_NAME = 1u << 0,    /* 氏名 */
  JK_FIELD_BIRTH = 1u << 1,   /* 生年月日 */
  JK_FIELD_SEX = 1u << 2,     /* 性別 */
  JK_FIELD_ADDRESS = 1u << 3, /* 住所 */
  JK_FIELD_CODE = 1u << 4,    /* 住民票コード */
  JK_FIELD_CHANGE = 1u << 5,  /* 異動等の情報 (reason and date of the last change) */
  JK_FIELD_ALL = (1u << 6) - 1
};

#define JK_PURPOSE_CODE_MAX 15     /* bytes of a code */
#define JK_PURPOSES_MAX 4096       /* rows */
#define JK_PURPOSES_BYTES_MAX (4u * 1024u * 1024u)
#define JK_PURPOSE_CELL_MAX 8192   /* bytes of one cell */

typedef struct jk_purpose {
  char code[JK_PURPOSE_CODE_MAX + 1];
  const char *agency;   /* 提供を受ける国の機関又は法人 */
  const char *affair;   /* 事務 */
  unsigned fields;      /* JK_FIELD_* */
  const char *citation; /* e.g. 住民基本台帳法 別表第一 一の項 */
  const char *source;   /* where the row was transcribed from */
} jk_purpose;

typedef struct jk_purposes jk_purposes;

/* Parse a table (len bytes, not NUL-terminated). JK_EINVAL naming the line and the problem
 * (header, cell count, empty cell, code, duplicate code, fields, invalid UTF-8, a CR or NUL);
 * JK_ETOOLARGE past JK_PURPOSES_BYTES_MAX, JK_PURPOSES_MAX rows or JK_PURPOSE_CELL_MAX; JK_ENOMEM.
 * *out is NULL on failure. */
JK_API jk_err jk_purposes_parse(jk_purposes **out, const char *text, size_t len);
JK_API void jk_purposes_free(jk_purposes *p);
/* The compiled-in data/purposes.tsv, parsed on first use (thread-safe); never freed. */
JK_API jk_err jk_purposes_builtin(const jk_purposes **out);

JK_API size_t jk_purposes_count(const jk_purposes *p);
/* Row i (0-based, in file order), NULL past the end. */
JK_API const jk_purpose *jk_purposes_at(const jk_purposes *p, size_t i);
/* True when code (n bytes) has the form of a purpose code: B<1-6>-<item>[-<branch>]…, at most
 * JK_PURPOSE_CODE_MAX bytes. */
JK_API bool jk_purpose_code_valid(const char *code, size_t n);
/* A list of purpose codes as stored and sent ("B1-77,B1-74"): n bytes (n >= 1), each a
 * well-formed code, separated by single commas, none twice. */
JK_API bool jk_purpose_list_valid(const char *list, size_t n);
/* Whether such a list names `code`. */
JK_API bool jk_purpose_list_has(const char *list, const char *code);
/* The row of a code, NULL when there is none. */
JK_API const jk_purpose *jk_purposes_find(const jk_purposes *p, const char *code);

/* "name,birth,…" ↔ JK_FIELD_* bits. parse: JK_EINVAL for an empty list, an unknown or repeated
 * token; format writes the tokens in the order above ("" for none). */
JK_API jk_err jk_fields_parse(const char *list, size_t len, unsigned *out);
JK_API void jk_fields_format(unsigned fields, char *buf, size_t cap);
/* The Japanese name of one field bit (氏名 …), NULL for anything else. */
JK_API const char *jk_field_name_ja(unsigned field);

#ifdef __cplusplus
}
#endif
#endif
