/*
 * err.c — thread-local error detail behind jk_error_last().
 *
 * The detail is formatted once, in the language current at the time of the failure, into a
 * fixed thread-local buffer (no allocation: reporting "out of memory" must not allocate).
 * Details never contain secrets: callers pass field names and positions, not values of
 * PINs or passwords.
 */
#include "jukinet/err.h"
#include "jukinet/i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DETAIL_MAX 8192

static _Thread_local char detail[DETAIL_MAX];
static _Thread_local jk_err last_code;

struct err_row {
  jk_err code;
  const char *name, *en, *ja;
};

static const struct err_row rows[] = {
#define JK__ERR_ROW(c, v, n, en, ja) {c, n, en, ja},
    JK_ERR_MAP(JK__ERR_ROW)
#undef JK__ERR_ROW
};

static const struct err_row *find(jk_err e) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (rows[i].code == e) return &rows[i];
  return NULL;
}

const char *jk_err_name(jk_err e) {
  const struct err_row *r = find(e);
  return r ? r->name : "UNKNOWN";
}

const char *jk_err_str(jk_err e) {
  const struct err_row *r = find(e);
  if (!r) return jk_lang_get() == JK_LANG_JA ? "不明なエラー" : "unknown error";
  return jk_lang_get() == JK_LANG_JA ? r->ja : r->en;
}

const char *jk_error_last(void) {
  if (detail[0]) return detail;
  return jk_err_str(last_code);
}

jk_err jk_error_last_code(void) { return last_code; }

void jk_error_clear(void) {
  detail[0] = '\0';
  last_code = JK_OK;
}

jk_err jk_error_set(jk_err code, const char *fmt, ...) {
  va_list ap;
  last_code = code;
  if (!fmt) {
    detail[0] = '\0';
    return code;
  }
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, jk_tr(fmt), ap);
  va_end(ap);
  return code;
}

jk_err jk_error_prefix(const char *fmt, ...) {
  char prefix[256], old[DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, jk_tr(fmt), ap);
  va_end(ap);
  size_t pl = strlen(prefix), ol;
  snprintf(old, sizeof old, "%s", jk_error_last());
  ol = strlen(old);
  if (pl + ol >= sizeof detail) ol = sizeof detail - 1 - pl;
  memcpy(detail, prefix, pl);
  memcpy(detail + pl, old, ol);
  detail[pl + ol] = '\0';
  return last_code;
}
