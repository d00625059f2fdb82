/*
 * store.h — jk_store, the storage interface of a node.
 *
 * One interface, several backends: SQLite (the default, a node.db file) and, later,
 * PostgreSQL. Callers never see SQL: the store offers domain operations and owns all tables
 * (src/store/README.md). A backend is chosen by the location given to jk_store_open:
 *   "/path/node.db" or "sqlite:/path/node.db"   SQLite (WAL, synchronous=FULL)
 *
 * Durability: a write acknowledged by jk_store_commit is on stable storage.
 * Concurrency: one jk_store handle is used by one thread at a time.
 * Every read from the store is treated as untrusted (a node.db may be edited by hand).
 */
#ifndef JUKINET_STORE_H
#define JUKINET_STORE_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_store jk_store;

#define JK_STORE_CREATE 0x1   /* create the database when missing (else JK_ENOTFOUND) */
#define JK_STORE_READONLY 0x2 /* no writes; no migration */

/* Open (and migrate to the latest schema unless READONLY). Caller closes with
 * jk_store_close. A database newer than this program is refused (JK_EUNSUPPORTED). */
JK_API jk_err jk_store_open(jk_store **out, const char *location, unsigned flags);
JK_API void jk_store_close(jk_store *s);
/* Backend name: "sqlite". */
JK_API const char *jk_store_backend(const jk_store *s);
/* Schema version of the open database, and the newest this program knows. */
JK_API int jk_store_schema_version(jk_store *s);
JK_API int jk_store_schema_latest(void);

/* Write transactions. begin takes the write lock (waits up to 5 s, then JK_EBUSY); commit
 * returns only when the transaction is durable; rollback cannot fail. Nesting is refused. */
JK_API jk_err jk_store_begin(jk_store *s);
JK_API jk_err jk_store_commit(jk_store *s);
JK_API void jk_store_rollback(jk_store *s);

/* Bulk loading inside an open transaction. bulk_begin says about how many residents will be
 * inserted; when that is more than the store already holds, a backend may drop its secondary
 * indexes and rebuild them in bulk_end (sorting once is far cheaper than a million random
 * index inserts). bulk_end must be called before commit; a rollback restores everything. */
JK_API jk_err jk_store_bulk_begin(jk_store *s, size_t expected_rows);
JK_API jk_err jk_store_bulk_end(jk_store *s);

/* Node metadata (key/value). get: *out caller frees with jk_free; JK_ENOTFOUND when unset. */
JK_API jk_err jk_store_meta_get(jk_store *s, const char *key, char **out);
JK_API jk_err jk_store_meta_set(jk_store *s, const char *key, const char *value);

/* Search keys stored beside a record (computed by the registry, see registry.h). */
typedef struct jk_resident_keys {
  const char *name, *kana, *address;
} jk_resident_keys;

/* A new household; *out its id. */
JK_API jk_err jk_store_household_new(jk_store *s, int64_t *out);
/* Whether a household exists. */
JK_API jk_err jk_store_household_exists(jk_store *s, int64_t id, bool *out);
/* Whether a resident code was ever assigned here (current or retired). */
JK_API jk_err jk_store_code_known(jk_store *s, const char *code, bool *out);
/* Find who holds or held a code: *resident_id, *retired = true when it was retired by a code
 * change. JK_ENOTFOUND when never assigned here. */
JK_API jk_err jk_store_code_lookup(jk_store *s, const char *code, int64_t *resident_id, bool *retired);
/* Whether `code` was retired by a code change (cheap: the retired set is small). */
JK_API jk_err jk_store_code_retired(jk_store *s, const char *code, bool *out);
/* Record `code` as retired (never to be assigned again). */
JK_API jk_err jk_store_code_retire(jk_store *s, const char *code, int64_t resident_id, jk_date on);

/* Insert a new resident with its first version. rec->version must be 1; sets
 * rec->resident_id and rec->recorded_at. */
JK_API jk_err jk_store_resident_insert(jk_store *s, jk_identity *rec, const jk_resident_keys *keys);
/* Append a version to rec->resident_id: rec->version must be the current version + 1
 * (else JK_ECONFLICT). The current row becomes rec; the history keeps every version. */
JK_API jk_err jk_store_resident_append(jk_store *s, jk_identity *rec, const jk_resident_keys *keys);
/* The current version of a resident by id. out must be zeroed; caller clears with
 * jk_identity_clear. */
JK_API jk_err jk_store_resident_get(jk_store *s, int64_t resident_id, jk_identity *out);

/* Called for each record; return non-zero to stop (the call then returns JK_OK).
 * rec is borrowed for the duration of the call. */
typedef int (*jk_identity_cb)(const jk_identity *rec, void *payload);

/* Every version of a resident, oldest first. */
JK_API jk_err jk_store_resident_history(jk_store *s, int64_t resident_id, jk_identity_cb cb, void *payload);

/* Search over current records. Prefix keys are search keys (registry.h); NULL = no condition.
 * Conditions are ANDed. Results in kana-key order (then id), at most limit (0 = 100). */
typedef struct jk_store_query {
  const char *kana_prefix, *name_prefix, *address_prefix;
  jk_date birth;      /* exact birth date; y == 0 = any */
  jk_sex sex;         /* JK_SEX_NONE = any */
  int status;         /* 0 = any, else jk_status */
  int64_t household_id; /* 0 = any */
  size_t limit, offset;
} jk_store_query;
JK_API jk_err jk_store_resident_search(jk_store *s, const jk_store_query *q, jk_identity_cb cb, void *payload);

/* Every current record in id order (export). */
JK_API jk_err jk_store_resident_each(jk_store *s, jk_identity_cb cb, void *payload);
/* Number of residents, by status (0 = all). */
JK_API jk_err jk_store_resident_count(jk_store *s, int status, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
