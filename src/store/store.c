/*
 * store.c — jk_store front: picks the backend from the location, checks arguments and the
 * transaction discipline once, and dispatches to the backend's ops.
 */
#include "store/store_int.h"
#include "store/migrations.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void jk__store_now(char buf[32]) {
  /* Formatting a calendar time costs more than a row insert: redo it once per second only. */
  static _Thread_local time_t cached_sec = -1;
  static _Thread_local char cached[24];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != cached_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm); /* fixed width for years 0..9999 */
    cached_sec = ts.tv_sec;
  }
  snprintf(buf, 32, "%s.%03dZ", cached, (int)(ts.tv_nsec / 1000000) % 1000);
}

static jk_err open_location(jk_store **out, const char *location, unsigned flags, int max_version) {
  *out = NULL;
  if (!location || !*location) return jk_error_set(JK_EINVAL, "no store location given");
  if (strncmp(location, "postgresql:", 11) == 0 || strncmp(location, "postgres:", 9) == 0)
    return jk_error_set(JK_EUNSUPPORTED, "the PostgreSQL backend is not built into this jukinet");
  if (strncmp(location, "sqlite:", 7) == 0) location += 7;
  return jk__sqlite_open(out, location, flags, max_version);
}

jk_err jk_store_open(jk_store **out, const char *location, unsigned flags) {
  return open_location(out, location, flags, jk_store_schema_latest());
}

jk_err jk__store_open_at_version(jk_store **out, const char *location, int max_version) {
  return open_location(out, location, JK_STORE_CREATE, max_version);
}

void jk_store_close(jk_store *s) {
  if (!s) return;
  if (s->in_tx) s->ops->rollback(s);
  s->ops->close(s);
}

const char *jk_store_backend(const jk_store *s) { return s->ops->name; }
int jk_store_schema_version(jk_store *s) { return s->ops->schema_version(s); }

int jk_store_schema_latest(void) {
  return jk__sqlite_migration_count ? jk__sqlite_migrations[jk__sqlite_migration_count - 1].number : 0;
}

jk_err jk_store_begin(jk_store *s) {
  if (s->in_tx) return jk_error_set(JK_ECONFLICT, "a transaction is already open");
  jk_err e = s->ops->begin(s);
  if (e == JK_OK) s->in_tx = true;
  return e;
}

jk_err jk_store_commit(jk_store *s) {
  if (!s->in_tx) return jk_error_set(JK_ECONFLICT, "no transaction is open");
  jk_err e = s->ops->commit(s);
  if (e != JK_OK) {
    s->ops->rollback(s);
  }
  s->in_tx = false;
  return e;
}

void jk_store_rollback(jk_store *s) {
  if (!s->in_tx) return;
  s->ops->rollback(s);
  s->in_tx = false;
}

static jk_err need_tx(jk_store *s) {
  return s->in_tx ? JK_OK : jk_error_set(JK_ECONFLICT, "a write needs an open transaction");
}

jk_err jk_store_meta_get(jk_store *s, const char *key, char **out) { return s->ops->meta_get(s, key, out); }

jk_err jk_store_meta_set(jk_store *s, const char *key, const char *value) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->meta_set(s, key, value);
}

jk_err jk_store_household_new(jk_store *s, int64_t *out) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->household_new(s, out);
}

jk_err jk_store_household_exists(jk_store *s, int64_t id, bool *out) {
  return s->ops->household_exists(s, id, out);
}

jk_err jk_store_code_known(jk_store *s, const char *code, bool *out) {
  int64_t id;
  bool retired;
  jk_err e = s->ops->code_lookup(s, code, &id, &retired);
  if (e == JK_ENOTFOUND) {
    *out = false;
    jk_error_clear();
    return JK_OK;
  }
  *out = e == JK_OK;
  return e;
}

jk_err jk_store_code_lookup(jk_store *s, const char *code, int64_t *resident_id, bool *retired) {
  return s->ops->code_lookup(s, code, resident_id, retired);
}

jk_err jk_store_code_retired(jk_store *s, const char *code, bool *out) { return s->ops->code_retired(s, code, out); }

jk_err jk_store_bulk_begin(jk_store *s, size_t expected_rows) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->bulk_begin(s, expected_rows);
}

jk_err jk_store_bulk_end(jk_store *s) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->bulk_end(s);
}

jk_err jk_store_code_retire(jk_store *s, const char *code, int64_t resident_id, jk_date on) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->code_retire(s, code, resident_id, on);
}

jk_err jk_store_resident_insert(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (rec->version != 1) return jk_error_set(JK_EINVAL, "a new resident starts at version 1");
  return s->ops->resident_insert(s, rec, keys);
}

jk_err jk_store_resident_append(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->resident_append(s, rec, keys);
}

jk_err jk_store_resident_get(jk_store *s, int64_t id, jk_identity *out) { return s->ops->resident_get(s, id, out); }

jk_err jk_store_resident_history(jk_store *s, int64_t id, jk_identity_cb cb, void *payload) {
  return s->ops->resident_history(s, id, cb, payload);
}

jk_err jk_store_resident_search(jk_store *s, const jk_store_query *q, jk_identity_cb cb, void *payload) {
  return s->ops->resident_search(s, q, cb, payload);
}

jk_err jk_store_resident_each(jk_store *s, jk_identity_cb cb, void *payload) {
  return s->ops->resident_each(s, cb, payload);
}

jk_err jk_store_resident_count(jk_store *s, int status, int64_t *out) {
  return s->ops->resident_count(s, status, out);
}
