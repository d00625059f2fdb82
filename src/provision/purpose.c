/*
 * purpose.c — the table of lawful purposes (purpose.h): parsed strictly, because a wrong row
 * would hand an agency fields the law does not give it.
 *
 * The parsed table owns one copy of the text in which every cell is NUL-terminated in place;
 * rows point into it.
 */
#include "jukinet/purpose.h"

#include "jukinet/common.h"
#include "jukinet/text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char jk__purposes_tsv[];
extern const size_t jk__purposes_tsv_len;

struct jk_purposes {
  char *text;
  jk_purpose *rows;
  size_t n;
  const jk_purpose **by_code; /* the rows sorted by code, for jk_purposes_find (NULL while parsing) */
};

static const char HEADER[] = "code\tagency\taffair\tfields\tcitation\tsource_url";
#define NCELLS 6

static const struct {
  const char *token, *ja;
  unsigned bit;
} fields[] = {
    {"name", "氏名", JK_FIELD_NAME},       {"birth", "生年月日", JK_FIELD_BIRTH},
    {"sex", "性別", JK_FIELD_SEX},         {"address", "住所", JK_FIELD_ADDRESS},
    {"code", "住民票コード", JK_FIELD_CODE}, {"change", "異動等の情報", JK_FIELD_CHANGE},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

jk_err jk_fields_parse(const char *list, size_t len, unsigned *out) {
  *out = 0;
  if (!list || len == 0) return jk_error_set(JK_EINVAL, "fields: none given");
  size_t i = 0;
  while (i <= len) {
    size_t j = i;
    while (j < len && list[j] != ',') j++;
    size_t k = 0;
    while (k < NFIELDS && !(strlen(fields[k].token) == j - i && memcmp(fields[k].token, list + i, j - i) == 0)) k++;
    if (k == NFIELDS)
      return jk_error_set(JK_EINVAL, "fields: \"%.*s\" is not one of name, birth, sex, address, code, change",
                          (int)(j - i < 32 ? j - i : 32), list + i);
    if (*out & fields[k].bit) return jk_error_set(JK_EINVAL, "fields: %s is given twice", fields[k].token);
    *out |= fields[k].bit;
    i = j + 1;
  }
  return JK_OK;
}

void jk_fields_format(unsigned f, char *buf, size_t cap) {
  size_t w = 0;
  if (cap) buf[0] = '\0';
  for (size_t k = 0; k < NFIELDS; k++) {
    if (!(f & fields[k].bit)) continue;
    int n = snprintf(buf + w, cap > w ? cap - w : 0, "%s%s", w ? "," : "", fields[k].token);
    if (n < 0 || (size_t)n >= (cap > w ? cap - w : 0)) return; /* truncated: cap too small */
    w += (size_t)n;
  }
}

const char *jk_field_name_ja(unsigned f) {
  for (size_t k = 0; k < NFIELDS; k++)
    if (fields[k].bit == f) return fields[k].ja;
  return NULL;
}

/* "B<1-6>-<2 digits>" then "-<1 or 2 digits>" branches, at most JK_PURPOSE_CODE_MAX bytes. */
bool jk_purpose_code_valid(const char *c, size_t n) {
  if (!c) return false;
  if (n < 5 || n > JK_PURPOSE_CODE_MAX || c[0] != 'B' || c[1] < '1' || c[1] > '6' || c[2] != '-') return false;
  if (c[3] < '0' || c[3] > '9' || c[4] < '0' || c[4] > '9' || (c[3] == '0' && c[4] == '0')) return false;
  size_t i = 5;
  while (i < n) {
    if (c[i] != '-') return false;
    size_t d = ++i;
    while (i < n && c[i] >= '0' && c[i] <= '9') i++;
    if (i - d < 1 || i - d > 2 || c[d] == '0') return false;
  }
  return true;
}

bool jk_purpose_list_valid(const char *list, size_t n) {
  if (!list || n == 0) return false;
  for (size_t i = 0; i <= n;) {
    size_t j = i;
    while (j < n && list[j] != ',') j++;
    if (!jk_purpose_code_valid(list + i, j - i)) return false; /* also an empty item: ",," or a trailing comma */
    for (size_t k = 0; k < i;) { /* none twice */
      size_t m = k;
      while (list[m] != ',') m++;
      if (m - k == j - i && memcmp(list + k, list + i, j - i) == 0) return false;
      k = m + 1;
    }
    i = j + 1;
  }
  return true;
}

bool jk_purpose_list_has(const char *list, const char *code) {
  size_t n = code ? strlen(code) : 0;
  for (const char *p = list; p && *p && n;) {
    const char *comma = strchr(p, ',');
    size_t m = comma ? (size_t)(comma - p) : strlen(p);
    if (m == n && memcmp(p, code, n) == 0) return true;
    if (!comma) break;
    p = comma + 1;
  }
  return false;
}

void jk_purposes_free(jk_purposes *p) {
  if (!p) return;
  jk_free(p->text);
  jk_free(p->rows);
  jk_free(p->by_code);
  jk_free(p);
}

static int by_code_cmp(const void *a, const void *b) {
  return strcmp((*(const jk_purpose *const *)a)->code, (*(const jk_purpose *const *)b)->code);
}

jk_err jk_purposes_parse(jk_purposes **out, const char *text, size_t len) {
  *out = NULL;
  if (len > JK_PURPOSES_BYTES_MAX)
    return jk_error_set(JK_ETOOLARGE, "purposes: %zu bytes, more than %u", len, JK_PURPOSES_BYTES_MAX);
  if (!text) {
    if (len) return jk_error_set(JK_EINVAL, "purposes: no text");
    text = "";
  }
  if (memchr(text, '\0', len)) return jk_error_set(JK_EINVAL, "purposes: a NUL byte");
  if (!jk_utf8_valid(text, len)) return jk_error_set(JK_EINVAL, "purposes: not valid UTF-8");
  jk_purposes *p = jk_calloc(1, sizeof *p);
  if (!p || !(p->text = jk_malloc(len + 1))) {
    jk_free(p);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  memcpy(p->text, text, len);
  p->text[len] = '\0';
  size_t lines = 1; /* rows to allocate: at most one per line */
  for (size_t i = 0; i < len; i++) lines += p->text[i] == '\n';
  if (lines > JK_PURPOSES_MAX + 2) {
    jk_purposes_free(p);
    return jk_error_set(JK_ETOOLARGE, "purposes: more than %d rows", JK_PURPOSES_MAX);
  }
  if (!(p->rows = jk_calloc(lines, sizeof *p->rows))) {
    jk_purposes_free(p);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  jk_err e = JK_OK;
  char *s = p->text, *end = p->text + len;
  size_t line = 0;
  while (s < end && !e) {
    line++;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *le = nl ? nl : end;
    *le = '\0';
    size_t n = (size_t)(le - s);
    if (memchr(s, '\r', n)) {
      e = jk_error_set(JK_EINVAL, "purposes, line %zu: a carriage return (lines end with LF only)", line);
    } else if (line == 1) {
      if (strcmp(s, HEADER) != 0)
        e = jk_error_set(JK_EINVAL, "purposes, line 1: the header is not code, agency, affair, fields, citation, "
                         "source_url");
    } else if (n == 0) {
      /* "" after the last LF is the end */
      e = nl ? jk_error_set(JK_EINVAL, "purposes, line %zu: an empty line", line) : JK_OK;
    } else {
      char *cell[NCELLS];
      size_t k = 0;
      for (char *c = s;; c++) { /* exactly NCELLS - 1 tabs */
        if (k < NCELLS) cell[k] = c;
        k++;
        if (!(c = strchr(c, '\t'))) break;
        *c = '\0';
      }
      if (k != NCELLS) {
        e = jk_error_set(JK_EINVAL, "purposes, line %zu: not 6 tab-separated cells", line);
        break;
      }
      for (size_t i = 0; i < NCELLS && !e; i++) {
        size_t cl = strlen(cell[i]);
        if (cl == 0) e = jk_error_set(JK_EINVAL, "purposes, line %zu: an empty cell", line);
        else if (cl > JK_PURPOSE_CELL_MAX)
          e = jk_error_set(JK_ETOOLARGE, "purposes, line %zu: a cell of %zu bytes, more than %d", line, cl,
                           JK_PURPOSE_CELL_MAX);
      }
      if (e) break;
      jk_purpose *r = &p->rows[p->n];
      size_t cn = strlen(cell[0]);
      if (!jk_purpose_code_valid(cell[0], cn)) {
        e = jk_error_set(JK_EINVAL, "purposes, line %zu: the code is not B<table>-<item>[-<branch>] (e.g. B1-03-2)",
                         line);
        break;
      }
      memcpy(r->code, cell[0], cn + 1);
      if (jk_purposes_find(p, r->code)) {
        e = jk_error_set(JK_EINVAL, "purposes, line %zu: code %s is given twice", line, r->code);
        break;
      }
      if ((e = jk_fields_parse(cell[3], strlen(cell[3]), &r->fields))) {
        jk_error_prefix("purposes, line %zu: ", line);
        break;
      }
      r->agency = cell[1];
      r->affair = cell[2];
      r->citation = cell[4];
      r->source = cell[5];
      p->n++;
    }
    s = le + 1;
  }
  if (!e && line == 0) e = jk_error_set(JK_EINVAL, "purposes, line 1: the header is missing");
  /* every agency query looks its purpose up: a binary search, not a scan of the table */
  if (!e && p->n && !(p->by_code = jk_calloc(p->n, sizeof *p->by_code))) e = jk_error_set(JK_ENOMEM, NULL);
  if (!e && p->n) {
    for (size_t i = 0; i < p->n; i++) p->by_code[i] = &p->rows[i];
    qsort(p->by_code, p->n, sizeof *p->by_code, by_code_cmp);
  }
  if (e) {
    jk_purposes_free(p);
    return e;
  }
  *out = p;
  return JK_OK;
}

size_t jk_purposes_count(const jk_purposes *p) { return p ? p->n : 0; }

const jk_purpose *jk_purposes_at(const jk_purposes *p, size_t i) { return p && i < p->n ? &p->rows[i] : NULL; }

const jk_purpose *jk_purposes_find(const jk_purposes *p, const char *code) {
  if (!p || !code) return NULL;
  if (!p->by_code) { /* while parsing: the rows so far */
    for (size_t i = 0; i < p->n; i++)
      if (strcmp(p->rows[i].code, code) == 0) return &p->rows[i];
    return NULL;
  }
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(p->by_code[mid]->code, code);
    if (c == 0) return p->by_code[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static jk_purposes *builtin;
static jk_err builtin_err;
static char builtin_msg[256];

static void load_builtin(void) {
  builtin_err = jk_purposes_parse(&builtin, jk__purposes_tsv, jk__purposes_tsv_len);
  if (builtin_err) snprintf(builtin_msg, sizeof builtin_msg, "%s", jk_error_last());
}

jk_err jk_purposes_builtin(const jk_purposes **out) {
  pthread_once(&once, load_builtin);
  *out = builtin;
  if (builtin_err) return jk_error_set(builtin_err, "the compiled-in purposes table: %s", builtin_msg);
  return JK_OK;
}
