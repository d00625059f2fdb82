/*
 * store_int.h — the backend vtable behind jk_store (private to src/store).
 *
 * Each backend (sqlite.c, later pg.c) fills one jk__store_ops; store.c checks arguments once
 * and dispatches, so callers and backends never see each other. A backend's handle starts
 * with `struct jk_store` (its ops pointer and shared state).
 */
#ifndef JK_STORE_INT_H
#define JK_STORE_INT_H

#include "jukinet/store.h"

struct jk__store_ops {
  const char *name;
  void (*close)(jk_store *s);
  int (*schema_version)(jk_store *s);
  jk_err (*begin)(jk_store *s);
  jk_err (*commit)(jk_store *s);
  void (*rollback)(jk_store *s);
  jk_err (*meta_get)(jk_store *s, const char *key, char **out);
  jk_err (*meta_set)(jk_store *s, const char *key, const char *value);
  jk_err (*household_new)(jk_store *s, int64_t *out);
  jk_err (*household_exists)(jk_store *s, int64_t id, bool *out);
  jk_err (*code_lookup)(jk_store *s, const char *code, int64_t *resident_id, bool *retired);
  jk_err (*code_retired)(jk_store *s, const char *code, bool *out);
  jk_err (*bulk_begin)(jk_store *s, size_t expected_rows);
  jk_err (*bulk_end)(jk_store *s);
  jk_err (*code_retire)(jk_store *s, const char *code, int64_t resident_id, jk_date on);
  jk_err (*resident_insert)(jk_store *s, jk_identity *rec, const jk_resident_keys *keys);
  jk_err (*resident_append)(jk_store *s, jk_identity *rec, const jk_resident_keys *keys);
  jk_err (*resident_get)(jk_store *s, int64_t id, jk_identity *out);
  jk_err (*resident_history)(jk_store *s, int64_t id, jk_identity_cb cb, void *payload);
  jk_err (*resident_search)(jk_store *s, const jk_store_query *q, jk_identity_cb cb, void *payload);
  jk_err (*resident_each)(jk_store *s, jk_identity_cb cb, void *payload);
  jk_err (*resident_count)(jk_store *s, int status, int64_t *out);
};

struct jk_store {
  const struct jk__store_ops *ops;
  bool in_tx;
};

/* Backends. */
jk_err jk__sqlite_open(jk_store **out, const char *path, unsigned flags, int max_version);

/* Test hook: open a SQLite node.db migrated only up to `max_version` (to test upgrades). */
JK_API jk_err jk__store_open_at_version(jk_store **out, const char *location, int max_version);

/* Current UTC time as ISO 8601 "2026-11-23T01:02:03.456Z" (buf >= 32). */
void jk__store_now(char buf[32]);

#endif
