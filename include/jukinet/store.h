/*
 * store.h — jk_store, the storage interface of a node.
 *
 * One interface, two backends: SQLite (the default, a node.db file) and PostgreSQL (the
 * prefecture and the nation). Callers never see SQL: the store offers domain operations and owns all tables
 * (src/store/README.md). A backend is chosen by the location given to jk_store_open:
 *   "/path/node.db" or "sqlite:/path/node.db"   SQLite (WAL, synchronous=FULL)
 *   "postgresql:host=/run/pg port=5432 dbname=jukinet" (libpq keywords) or "postgresql://…"
 *                                               PostgreSQL (synchronous_commit on); the tables
 *                                               live in the connection's current schema
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

#include <stdint.h>

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
/* Backend name: "sqlite" or "postgresql". */
JK_API const char *jk_store_backend(const jk_store *s);
/* Schema version of the open database, and the newest this program knows. */
JK_API int jk_store_schema_version(jk_store *s);
JK_API int jk_store_schema_latest(void);

/* Write transactions. begin takes the write lock (waits up to 5 s, then JK_EBUSY); commit
 * returns only when the transaction is durable; rollback cannot fail. Nesting is refused. */
JK_API jk_err jk_store_begin(jk_store *s);
JK_API jk_err jk_store_commit(jk_store *s);
JK_API void jk_store_rollback(jk_store *s);
/* Commit hooks (the ledger uses them to write an operation's entries and sign a tree head in the
 * same transaction as the operation). pre runs inside the transaction just before it commits:
 * an error from it rolls the whole transaction back and is returned by commit. post runs after
 * every commit attempt and every rollback, saying whether the transaction committed. One pair
 * per handle; NULLs remove them. */
JK_API void jk_store_set_commit_hooks(jk_store *s, jk_err (*pre)(jk_store *s, void *payload),
                                      void (*post)(jk_store *s, void *payload, bool committed), void *payload);

/* A hook run inside the transaction after each successful resident insert or append, with the
 * stored version and, for a 住民票コード変更, the code it retired (else NULL); an error from it
 * fails that write, and the transaction (the row is already written: commit then rolls back and
 * returns the error). The sync outbox uses it to record each change notice in the same
 * transaction as the change. One hook per handle; NULL removes it. release (may be NULL) is
 * called with the payload when the hook is replaced or removed and when the store closes. */
typedef jk_err (*jk_store_change_fn)(jk_store *s, const jk_identity *rec, const char *prev_code, void *payload);
JK_API void jk_store_set_change_hook(jk_store *s, jk_store_change_fn fn, void *payload, void (*release)(void *payload));

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


/* ---- ledger (操作履歴; src/ledger owns the meaning, the store only keeps rows) ----
 * Rows are appended in seq order (1, 2, 3 … with no gaps: the store refuses anything else with
 * JK_ECONFLICT). Text fields are bounded (JK_LEDGER_FIELD_MAX bytes); detail and leaf are
 * 32-byte hashes. Reads return the rows as stored, unvalidated beyond their shape: the ledger
 * module's verification is what judges them. */
#define JK_LEDGER_FIELD_MAX 256
typedef struct jk_ledger_row {
  int64_t seq;
  const char *at, *operator_, *role, *terminal, *action, *object, *result;
  uint8_t detail[32];
  uint8_t leaf[32];
} jk_ledger_row;
typedef int (*jk_ledger_row_cb)(const jk_ledger_row *row, void *payload);
typedef struct jk_ledger_head_row {
  int64_t size;
  uint8_t root[32];
  char at[32];
  uint8_t sig[64];
} jk_ledger_head_row;
typedef int (*jk_ledger_head_cb)(const jk_ledger_head_row *head, void *payload);

/* Number of entries (the highest seq). */
JK_API jk_err jk_store_ledger_size(jk_store *s, int64_t *out);
JK_API jk_err jk_store_ledger_append(jk_store *s, const jk_ledger_row *row);
/* The row with this seq (strings borrowed until the next call on s). */
JK_API jk_err jk_store_ledger_get(jk_store *s, int64_t seq, jk_ledger_row_cb cb, void *payload);
/* Rows with first <= seq <= last (last 0 = to the end), in the order the table holds them by
 * seq; rows are returned as found, so a gap or a duplicate shows up to the caller. */
JK_API jk_err jk_store_ledger_each(jk_store *s, int64_t first, int64_t last, jk_ledger_row_cb cb, void *payload);
/* Leaf hashes of seq first+1 … first+count (0-based index `first`). JK_ECORRUPT when a row is
 * missing or malformed. */
JK_API jk_err jk_store_ledger_leaves(jk_store *s, uint64_t first, size_t count, uint8_t (*out)[32]);
/* Search: conditions ANDed, NULL/0 = any; seq range from the time range is the caller's job.
 * Newest first, at most limit (0 = 100). */
typedef struct jk_ledger_query {
  const char *operator_, *object, *action;
  int64_t first_seq, last_seq; /* 0 = open */
  size_t limit;
} jk_ledger_query;
JK_API jk_err jk_store_ledger_search(jk_store *s, const jk_ledger_query *q, jk_ledger_row_cb cb, void *payload);
/* The time of entry seq into at (JK_ENOTFOUND when absent). */
JK_API jk_err jk_store_ledger_time(jk_store *s, int64_t seq, char at[32]);
/* Cached subtree hashes (level >= 8). */
JK_API jk_err jk_store_ledger_subtree_put(jk_store *s, unsigned level, uint64_t index, const uint8_t hash[32]);
JK_API jk_err jk_store_ledger_subtree_get(jk_store *s, unsigned level, uint64_t index, uint8_t out[32]);
/* Every cached subtree, by (level, index). */
typedef int (*jk_ledger_subtree_cb)(unsigned level, uint64_t index, const uint8_t hash[32], void *payload);
JK_API jk_err jk_store_ledger_subtree_each(jk_store *s, jk_ledger_subtree_cb cb, void *payload);
/* Signed tree heads. */
JK_API jk_err jk_store_ledger_head_put(jk_store *s, const jk_ledger_head_row *h);
/* The head with the largest size (JK_ENOTFOUND when none), or the one of exactly `size`. */
JK_API jk_err jk_store_ledger_head_latest(jk_store *s, jk_ledger_head_row *out);
JK_API jk_err jk_store_ledger_head_get(jk_store *s, int64_t size, jk_ledger_head_row *out);
JK_API jk_err jk_store_ledger_head_each(jk_store *s, jk_ledger_head_cb cb, void *payload);

/* ---- operators, roles, cards, sessions (src/auth owns the rules; the store keeps rows) ----
 * Fixed-size fields; longer input is refused by the auth module before it gets here. */
#define JK_STAFF_ID_MAX 32
#define JK_OP_TEXT_MAX 200
typedef struct jk_operator_rec {
  int64_t id;
  char staff_id[JK_STAFF_ID_MAX + 1];
  char name[JK_OP_TEXT_MAX + 1], department[JK_OP_TEXT_MAX + 1];
  char created_at[32], created_by[JK_STAFF_ID_MAX + 1];
  char disabled_at[32]; /* "" = active */
} jk_operator_rec;
typedef int (*jk_operator_cb)(const jk_operator_rec *rec, void *payload);
/* Insert (sets rec->id); JK_EEXISTS when the staff id is taken. */
JK_API jk_err jk_store_operator_insert(jk_store *s, jk_operator_rec *rec);
/* By id (id != 0) or by staff id. JK_ENOTFOUND. */
JK_API jk_err jk_store_operator_get(jk_store *s, int64_t id, const char *staff_id, jk_operator_rec *out);
JK_API jk_err jk_store_operator_each(jk_store *s, jk_operator_cb cb, void *payload);
JK_API jk_err jk_store_operator_disable(jk_store *s, int64_t id, const char *at, const char *by);

/* A dated appointment to a role, or a handling designation (role "handler"). */
typedef struct jk_grant_rec {
  int64_t id, operator_id;
  char role[32];
  jk_date from, until;        /* until.y == 0: open-ended */
  char granted_by[JK_STAFF_ID_MAX + 1], granted_at[32];
  char ended_by[JK_STAFF_ID_MAX + 1], ended_at[32]; /* "" while in force */
} jk_grant_rec;
typedef int (*jk_grant_cb)(const jk_grant_rec *rec, void *payload);
JK_API jk_err jk_store_grant_insert(jk_store *s, jk_grant_rec *rec);
/* End grant `id` on `until` (its last day). JK_ENOTFOUND, or JK_ECONFLICT when already ended. */
JK_API jk_err jk_store_grant_end(jk_store *s, int64_t id, jk_date until, const char *by, const char *at);
/* Grants of one operator (operator_id != 0) or all, oldest first. */
JK_API jk_err jk_store_grant_each(jk_store *s, int64_t operator_id, jk_grant_cb cb, void *payload);

/* Password history: add a hash (an Argon2id string, at most 255 bytes); recent calls cb for the
 * newest `n` (newest first) with (hash, set_at). */
JK_API jk_err jk_store_password_add(jk_store *s, int64_t operator_id, const char *hash, const char *at,
                                    const char *by);
typedef int (*jk_password_cb)(const char *hash, const char *set_at, void *payload);
JK_API jk_err jk_store_password_recent(jk_store *s, int64_t operator_id, size_t n, jk_password_cb cb, void *payload);

typedef struct jk_card_rec {
  int64_t id, operator_id;
  char serial[65], label[65];
  uint8_t pubkey[32];
  char status[16];  /* active | returned | lost | revoked | replaced */
  char enrolled_at[32], enrolled_by[JK_STAFF_ID_MAX + 1], status_at[32];
} jk_card_rec;
typedef int (*jk_card_cb)(const jk_card_rec *rec, void *payload);
/* JK_EEXISTS when the public key is already enrolled (on any card, ever). */
JK_API jk_err jk_store_card_insert(jk_store *s, jk_card_rec *rec);
JK_API jk_err jk_store_card_get(jk_store *s, int64_t id, jk_card_rec *out);
/* The newest card enrolled with this token serial and label. JK_ENOTFOUND. */
JK_API jk_err jk_store_card_find(jk_store *s, const char *serial, const char *label, jk_card_rec *out);
JK_API jk_err jk_store_card_set_status(jk_store *s, int64_t id, const char *status, const char *at);
/* Cards of one operator (operator_id != 0) or all. */
JK_API jk_err jk_store_card_each(jk_store *s, int64_t operator_id, jk_card_cb cb, void *payload);
typedef struct jk_card_event_rec {
  int64_t id, card_id;
  char event[16];
  char holder[JK_STAFF_ID_MAX + 1], by[JK_STAFF_ID_MAX + 1], at[32];
  char note[JK_OP_TEXT_MAX + 1];
} jk_card_event_rec;
typedef int (*jk_card_event_cb)(const jk_card_event_rec *rec, void *payload);
JK_API jk_err jk_store_card_event_add(jk_store *s, jk_card_event_rec *rec);
JK_API jk_err jk_store_card_event_each(jk_store *s, int64_t card_id, jk_card_event_cb cb, void *payload);

/* Consecutive login failures and the lockout end ("" = not locked). get: zeros when unset. */
JK_API jk_err jk_store_login_state_get(jk_store *s, int64_t operator_id, int *failures, char locked_until[32]);
JK_API jk_err jk_store_login_state_set(jk_store *s, int64_t operator_id, int failures, const char *locked_until);

typedef struct jk_session_rec {
  int64_t id, operator_id, card_id;
  uint8_t token_hash[32];
  char terminal[JK_OP_TEXT_MAX + 1];
  char created_at[32], last_used_at[32], ended_at[32]; /* ended_at "" while open */
} jk_session_rec;
JK_API jk_err jk_store_session_insert(jk_store *s, jk_session_rec *rec);
/* By token hash. JK_ENOTFOUND. */
JK_API jk_err jk_store_session_get(jk_store *s, const uint8_t token_hash[32], jk_session_rec *out);
JK_API jk_err jk_store_session_touch(jk_store *s, int64_t id, const char *at);
JK_API jk_err jk_store_session_end(jk_store *s, int64_t id, const char *at, const char *reason);


/* ---- sync (src/sync owns the meaning, docs/protocol.md; the store keeps rows) ----
 * The notice log holds every change notice a node made (its outbox: source = its own node id)
 * or applied (source = the municipality that made it). Per source, rows are appended in seq
 * order 1, 2, 3 … with no gap: anything else is JK_ECONFLICT. enc is the notice's canonical
 * encoding (1 .. JK_NOTICE_ROW_MAX bytes), leaf its RFC 9162 leaf hash, code the resident code
 * it is about (copied out of it so notices can be found by code). Rows are never changed,
 * except that jk_store_notice_scrub may drop the encodings of an erased resident (the leaf
 * stays, so the tree and its proofs do not change). Node ids: 1 .. 63 printable ASCII bytes. */
#define JK_NOTICE_ROW_MAX 4096
typedef struct jk_notice_row {
  const char *source;
  int64_t seq;
  const char *code;
  const uint8_t *enc; /* NULL (enc_len 0) when scrubbed */
  size_t enc_len;
  uint8_t leaf[32];
} jk_notice_row;
typedef int (*jk_notice_row_cb)(const jk_notice_row *row, void *payload);
/* Append a row (inside a transaction). JK_ECONFLICT when row->seq is not the source's next
 * ("notice seq 5 of SOURCE: expected 4"); JK_EINVAL for a bad node id, a code that is not 11
 * digits, seq < 1 or an encoding outside 1 .. JK_NOTICE_ROW_MAX bytes. */
JK_API jk_err jk_store_notice_append(jk_store *s, const jk_notice_row *row);
/* The highest seq of `source` (0 when none). */
JK_API jk_err jk_store_notice_size(jk_store *s, const char *source, int64_t *out);
/* Rows of one source with first <= seq <= last (first < 1 = from the start, last 0 = to the
 * end) in seq order; pointers borrowed for the duration of the callback. Rows are returned as
 * found (a gap shows up to the caller); a malformed row is JK_ECORRUPT. */
JK_API jk_err jk_store_notice_each(jk_store *s, const char *source, int64_t first, int64_t last, jk_notice_row_cb cb,
                                   void *payload);
/* Leaf hashes of seq first+1 … first+count of `source` (0-based index `first`). JK_ECORRUPT
 * when a row is missing or malformed. */
JK_API jk_err jk_store_notice_leaves(jk_store *s, const char *source, uint64_t first, size_t count, uint8_t (*out)[32]);
/* Every notice about `code`, any source, in (source, seq) order. */
JK_API jk_err jk_store_notice_by_code(jk_store *s, const char *code, jk_notice_row_cb cb, void *payload);
/* Drop the encodings of every notice about `code` (erasure); the leaves stay. *n rows changed. */
JK_API jk_err jk_store_notice_scrub(jk_store *s, const char *code, int64_t *n);
/* Drop the encoding of the one notice (source, seq) (an erasure the nation has acknowledged:
 * the notices before it are scrubbed one by one); the leaf stays. Inside a transaction (else
 * JK_ECONFLICT); JK_EINVAL for a bad node id or seq < 1; JK_ENOTFOUND when there is no such
 * notice; scrubbing a scrubbed one is a no-op. */
JK_API jk_err jk_store_notice_scrub_one(jk_store *s, const char *source, int64_t seq);
/* Every source in the log with its highest seq, in source order. */
typedef int (*jk_sync_source_cb)(const char *source, int64_t size, void *payload);
JK_API jk_err jk_store_notice_sources(jk_store *s, jk_sync_source_cb cb, void *payload);
/* Cached subtree hashes of a source's notice tree (as for the ledger; level < 64, index <=
 * INT64_MAX, else JK_EINVAL). put: the same hash again is a no-op, a different one JK_ECONFLICT
 * (the transaction stays usable). get: JK_ENOTFOUND, without a detail message (an expected
 * miss). */
JK_API jk_err jk_store_notice_subtree_put(jk_store *s, const char *source, unsigned level, uint64_t index,
                                          const uint8_t hash[32]);
JK_API jk_err jk_store_notice_subtree_get(jk_store *s, const char *source, unsigned level, uint64_t index,
                                          uint8_t out[32]);

/* Signed outbox tree heads of a source (the node's own, or as received from it). put: the same
 * (node, size) twice with the same root is a no-op (the newer time and signature are kept:
 * those of the later `at`, compared as strings, which orders ISO 8601 UTC times); with a
 * different root it is JK_ECONFLICT (the transaction stays usable). size >= 0; at 1 .. 31
 * printable ASCII bytes. latest: the largest size, JK_ENOTFOUND when none. */
typedef struct jk_sync_head_row {
  char node[64];
  int64_t size;
  uint8_t root[32];
  char at[32];
  uint8_t sig[64];
} jk_sync_head_row;
JK_API jk_err jk_store_outbox_head_put(jk_store *s, const jk_sync_head_row *h);
JK_API jk_err jk_store_outbox_head_latest(jk_store *s, const char *node, jk_sync_head_row *out);
/* The head of the smallest size >= size (>= 1): a prefecture forwards up to a head the
 * municipality signed, so that the batch ends at it (docs/protocol.md). JK_ENOTFOUND when none. */
JK_API jk_err jk_store_outbox_head_at_least(jk_store *s, const char *node, int64_t size, jk_sync_head_row *out);

/* Identity records at the prefecture and the nation, one row per (code, source): the latest
 * version that municipality sent for that resident code. status is a jk_status, or
 * JK_HOLDING_ERASED (content cleared, the fact kept). put refuses (JK_EINVAL, naming the field)
 * what a read would call corrupt: a live record (status 1, 2) needs version >= 1, name, kana and
 * address non-empty, a real birth date, sex male/female and a reason 1 .. 9; an erased one may
 * have version 0, empty text, birth and sex zero and reason 0. prev_code is "" or 11 digits,
 * moved_on zero or a real date, seq >= 1. */
#define JK_HOLDING_ERASED 9
typedef struct jk_holding_rec {
  char code[12];
  char source[64];
  int64_t seq;        /* the notice that wrote this row */
  int version;
  char name[JK_NAME_MAX + 1], kana[JK_NAME_MAX + 1], address[JK_ADDRESS_MAX + 1];
  char prev_code[12]; /* a 住民票コード変更's retired code, else "" */
  jk_date birth, moved_on;
  jk_sex sex;         /* JK_SEX_NONE when erased */
  int reason;         /* jk_move_kind */
  int status;         /* jk_status or JK_HOLDING_ERASED */
} jk_holding_rec;
typedef int (*jk_holding_cb)(const jk_holding_rec *r, void *payload);
/* Insert or replace the row of (r->code, r->source). */
JK_API jk_err jk_store_holding_put(jk_store *s, const jk_holding_rec *r);
/* get, delete: JK_ENOTFOUND when there is no row of (code, source). */
JK_API jk_err jk_store_holding_get(jk_store *s, const char *code, const char *source, jk_holding_rec *out);
JK_API jk_err jk_store_holding_delete(jk_store *s, const char *code, const char *source);
/* Rows in (code, source) order; code / source NULL = any. */
JK_API jk_err jk_store_holding_each(jk_store *s, const char *code, const char *source, jk_holding_cb cb, void *payload);
/* Rows of one source (NULL = all) with status (0 = any). */
JK_API jk_err jk_store_holding_count(jk_store *s, const char *source, int status, int64_t *out);

/* Many rows at once, for a sync batch: the same effect (and the same checks, errors and
 * contiguity rules) as n single calls in order, but a backend may do them in a few round trips
 * (PostgreSQL: a handful of multi-row statements instead of n). On an error nothing of the call
 * is kept (the caller rolls back the transaction anyway). n 0 is a no-op. */
JK_API jk_err jk_store_notice_append_many(jk_store *s, const jk_notice_row *rows, size_t n);
/* Upserts in order: for the same (code, source) the later row wins. */
JK_API jk_err jk_store_holding_put_many(jk_store *s, const jk_holding_rec *recs, size_t n);
/* Every row (any source) of these resident codes, cb once per row, in (code, source) order;
 * codes may repeat. */
JK_API jk_err jk_store_holding_get_codes(jk_store *s, const char *const *codes, size_t n, jk_holding_cb cb,
                                         void *payload);

/* ---- the agency registry (docs/provision.md) ----
 * A national agency that may query this node: id, its certificate identity (1 .. 63 printable
 * ASCII); name, as 住民基本台帳法 別表 names it (UTF-8, 1 .. 255 bytes); purposes, the purpose codes
 * it may use, comma-separated without repeats (1 .. 1023 bytes, each a purpose code of
 * purpose.h); rate, answers per second (1 .. 100,000); added_at; revoked_at ("" while
 * registered). put: registers, or changes name / purposes / rate of a registered agency
 * (added_at then kept); JK_ECONFLICT for a revoked id (an id is never registered again).
 * revoke: JK_ENOTFOUND when unknown, JK_ECONFLICT when already revoked. get: JK_ENOTFOUND. */
typedef struct jk_agency_rec {
  char id[64];
  char name[256];
  char purposes[1024];
  int rate;
  char added_at[32];
  char revoked_at[32];
} jk_agency_rec;
typedef int (*jk_agency_cb)(const jk_agency_rec *a, void *payload);
JK_API jk_err jk_store_agency_put(jk_store *s, const jk_agency_rec *a);
JK_API jk_err jk_store_agency_get(jk_store *s, const char *id, jk_agency_rec *out);
JK_API jk_err jk_store_agency_revoke(jk_store *s, const char *id, const char *at);
/* Every agency, registered or revoked, in id order. */
JK_API jk_err jk_store_agency_each(jk_store *s, jk_agency_cb cb, void *payload);

/* ---- provision records (docs/provision.md) ----
 * One row per query a national agency made at this node, answers and refusals alike, written
 * in the same transaction as its ledger entry. id is assigned by the store (> 0, increasing).
 * at: a time (ISO 8601, 1 .. 31 printable ASCII); agency: 1 .. 63 printable ASCII; purpose: ""
 * or a purpose code (jk_purpose_code_valid); code: "" or a resident code (11 digits); fields: ""
 * or field tokens as jk_fields_parse accepts; result: one of ok, NOTFOUND, AMBIGUOUS, PERM,
 * INVALID, BUSY, REVIEW (a query about a protected resident, held for review) or STOPPED (a
 * purpose the resident stopped); query: the SHA-256 of the request body. Append-only. */
typedef struct jk_provision_rec {
  int64_t id;
  char at[32];
  char agency[64];
  char purpose[16];
  char code[12];
  char fields[64];
  char result[16];
  uint8_t query[32];
} jk_provision_rec;
typedef int (*jk_provision_cb)(const jk_provision_rec *r, void *payload);
/* Insert n rows in order (one multi-row statement or a few on PostgreSQL, not n round trips),
 * setting recs[i].id (the ids given are ignored). Refuses (JK_EINVAL naming the row and the
 * field, nothing inserted) a malformed row. Inside the caller's transaction when one is open,
 * else in a transaction of its own; on any error nothing of the call is kept. n 0 is a no-op. */
JK_API jk_err jk_store_provision_put_many(jk_store *s, jk_provision_rec *recs, size_t n);
/* Rows about resident code `code` (NULL = every row), in id order; cb returns non-zero to stop.
 * By code, the rows up to the watermark come from the code index (jk_store_provision_index)
 * and the rows after it from a scan of that unindexed tail, in one statement (PostgreSQL: per
 * page of 4,096 rows), so every row is found whether indexed yet or not. */
JK_API jk_err jk_store_provision_each(jk_store *s, const char *code, jk_provision_cb cb, void *payload);
/* Index provision rows by resident code up to id `upto` (> the current watermark; rows with id in
 * (watermark, upto] and a non-empty code), in one sorted statement, and move the watermark to
 * upto. In the caller's transaction (JK_ECONFLICT outside one). upto <= watermark: no-op. upto
 * beyond the highest id written: the watermark stops at that id (a row added later must never
 * fall under the watermark unindexed). The query service calls it every few thousand answers:
 * one random index insert per answer was the service's largest cost. */
JK_API jk_err jk_store_provision_index(jk_store *s, int64_t upto);
/* The watermark (0 when nothing is indexed). JK_ECORRUPT when the stored one is malformed. */
JK_API jk_err jk_store_provision_indexed(jk_store *s, int64_t *upto);
/* Holding rows (any source and status) with this birth date and sex, in (code, source) order;
 * cb returns non-zero to stop. */
JK_API jk_err jk_store_holding_by_person(jk_store *s, jk_date birth, jk_sex sex, jk_holding_cb cb, void *payload);

/* ---- the residents' side (docs/provision.md "The residents' side"; src/rights owns the rules) ----
 * Requests a resident filed about their 本人確認情報 at a municipal node. code: 11 digits; kind:
 * opt-out (不参加の申出), consent (送信再開への同意) or stop-use (目的外利用の中止請求); channel:
 * letter, postcard, fax, mail or counter; filed_on: a real date; recorded_at: a time (1 .. 31
 * printable ASCII); recorded_by: a staff id (1 .. 63 printable ASCII); policy: statutory or
 * resident-choice (the one in force when recorded); purposes: for stop-use the purpose codes it
 * names, comma-separated without repeats (1 .. 1023 bytes, each jk_purpose_code_valid), for the
 * other kinds ""; note and reason: UTF-8 without control characters (C0, DEL, C1), may be "";
 * decision: "" while pending (then decided_at, decided_by and reason are "" too), or accepted,
 * rejected or recorded with decided_at a time and decided_by a staff id. id is assigned by the
 * store (> 0, increasing). A request is never deleted or changed, except that a pending one is
 * decided once (the database's triggers refuse anything else). */
typedef struct jk_request_rec {
  int64_t id;
  char code[12];
  char kind[16];        /* opt-out | consent | stop-use | copy (住民票の写しの請求, src/rights/copy.c) */
  char channel[16];     /* letter | postcard | fax | mail | counter */
  jk_date filed_on;
  char recorded_at[32];
  char recorded_by[64];
  char policy[24];      /* statutory | resident-choice */
  char purposes[1024];  /* stop-use: purpose codes, comma-separated; else "" */
  char note[512];
  char decision[16];    /* "" (pending) | accepted | rejected | recorded */
  char decided_at[32];
  char decided_by[64];
  char reason[512];
} jk_request_rec;
typedef int (*jk_request_cb)(const jk_request_rec *r, void *payload);
/* Record a request (inside a transaction, else JK_ECONFLICT) and set r->id (the id given is
 * ignored). It may come decided already (e.g. "recorded", with decided_at and decided_by).
 * JK_EINVAL naming the field for anything malformed (nothing written, r->id 0). */
JK_API jk_err jk_store_request_add(jk_store *s, jk_request_rec *r);
/* Decide pending request `id` (inside a transaction): decision accepted, rejected or recorded;
 * at a time; by a staff id; reason as note above (may be "" or NULL). JK_EINVAL for a bad
 * argument; JK_ENOTFOUND when there is no such request; JK_ECONFLICT when it was decided
 * already (the transaction stays usable). */
JK_API jk_err jk_store_request_decide(jk_store *s, int64_t id, const char *decision, const char *at, const char *by,
                                      const char *reason);
/* The request `id`. JK_ENOTFOUND; JK_ECORRUPT for a malformed row. */
JK_API jk_err jk_store_request_get(jk_store *s, int64_t id, jk_request_rec *out);
/* The requests of resident code `code` (NULL = every request), in id order; cb returns
 * non-zero to stop. A malformed row is JK_ECORRUPT. */
JK_API jk_err jk_store_request_each(jk_store *s, const char *code, jk_request_cb cb, void *payload);

/* Residents a municipality does not send upstream (non-participants under resident-choice):
 * code (11 digits), since (a time), request (the opt-out request's id, >= 1), erase_seq (the
 * outbox seq of the erasure notice sent for it, >= 0; 0 = none yet). Writes inside a
 * transaction (else JK_ECONFLICT); JK_EINVAL naming the field for a malformed row. */
typedef struct jk_holdback_rec {
  char code[12];
  char since[32];
  int64_t request;
  int64_t erase_seq;
} jk_holdback_rec;
typedef int (*jk_holdback_cb)(const jk_holdback_rec *r, void *payload);
/* Insert, or replace the row of r->code. */
JK_API jk_err jk_store_holdback_put(jk_store *s, const jk_holdback_rec *r);
/* JK_ENOTFOUND when the code is not held back, without a detail message (an expected miss: the
 * outbox asks on every change). */
JK_API jk_err jk_store_holdback_get(jk_store *s, const char *code, jk_holdback_rec *out);
/* JK_ENOTFOUND when the code is not held back. */
JK_API jk_err jk_store_holdback_delete(jk_store *s, const char *code);
/* Every row in code order; cb returns non-zero to stop. */
JK_API jk_err jk_store_holdback_each(jk_store *s, jk_holdback_cb cb, void *payload);

/* At a prefecture: erasure notices applied here, (source, seq) about `code`, whose content is
 * scrubbed (jk_store_notice_scrub_one) only once the nation has acknowledged them. source a
 * node id, seq >= 1, code 11 digits (else JK_EINVAL); writes inside a transaction (else
 * JK_ECONFLICT). put: the same (source, seq) again is a no-op (the code first given is kept).
 * delete: a no-op when there is no such row. each: in (source, seq) order, the strings borrowed
 * for the duration of the callback; cb returns non-zero to stop. */
typedef int (*jk_scrub_cb)(const char *source, int64_t seq, const char *code, void *payload);
JK_API jk_err jk_store_scrub_pending_put(jk_store *s, const char *source, int64_t seq, const char *code);
JK_API jk_err jk_store_scrub_pending_each(jk_store *s, jk_scrub_cb cb, void *payload);
JK_API jk_err jk_store_scrub_pending_delete(jk_store *s, const char *source, int64_t seq);

/* ---- residents' restrictions (issue 5: 目的外利用の中止請求 and 支援措置; src/rights owns the
 * rules) ----
 * At a prefecture and the nation, per (code, source), the latest restriction a municipality sent
 * for a resident (a RESTRICT notice). code: 11 digits; source: a node id (1 .. 63 printable
 * ASCII); seq: the notice, >= 1; protect: a 支援措置 is in force (the address is withheld and
 * every agency query is held for review); since: a real date; until: a real date when protect,
 * else {0,0,0}; purposes: "" or the purpose codes the resident stopped (目的外利用の中止),
 * comma-separated without repeats (each jk_purpose_code_valid, at most 1023 bytes). put: insert,
 * or replace the row of (code, source), inside a transaction (else JK_ECONFLICT); JK_EINVAL
 * naming the field for a malformed row (nothing written). each: the rows of resident code `code`
 * (NULL = every row) in (code, source) order; cb returns non-zero to stop; a malformed row is
 * JK_ECORRUPT. */
typedef struct jk_restriction_rec {
  char code[12];
  char source[64];
  int64_t seq;
  bool protect;
  jk_date since;
  jk_date until;          /* {0,0,0} when !protect */
  char purposes[1024];    /* "" or purpose codes (jk_purpose_code_valid each, no repeats) */
} jk_restriction_rec;
typedef int (*jk_restriction_cb)(const jk_restriction_rec *r, void *payload);
JK_API jk_err jk_store_restriction_put(jk_store *s, const jk_restriction_rec *r);
JK_API jk_err jk_store_restriction_each(jk_store *s, const char *code, jk_restriction_cb cb, void *payload);

/* At a municipality: the 支援措置 (support measures for victims of DV, stalking and the like) of
 * its residents. code: 11 digits; offenders: who the resident is protected from (UTF-8 without
 * control characters, names and details, 1 .. 1023 bytes); status: provisional, active,
 * rejected or ended; applied_on: a real date (the application); until: a real date (the end of
 * the measure, and of a provisional block) unless rejected, {0,0,0} when rejected; recorded_at: a time
 * (1 .. 31 printable ASCII); recorded_by: a staff id (1 .. 63 printable ASCII); decided_at and
 * decided_by: "" while provisional, else a time and a staff id; note: UTF-8 without control
 * characters, may be "". JK_EINVAL naming the field for anything malformed. id is assigned by
 * the store (> 0, increasing). A measure is never deleted, and its code, offenders, applied_on,
 * recorded_at and recorded_by never change (the database's triggers refuse it). */
typedef struct jk_protection_rec {
  int64_t id;
  char code[12];
  char offenders[1024];
  char status[16];        /* provisional | active | rejected | ended */
  jk_date applied_on;
  jk_date until;          /* the end of the measure (or of the provisional block); {0,0,0} when rejected */
  char recorded_at[32];
  char recorded_by[64];
  char decided_at[32];
  char decided_by[64];
  char note[512];
} jk_protection_rec;
typedef int (*jk_protection_cb)(const jk_protection_rec *r, void *payload);
/* Record a measure (inside a transaction, else JK_ECONFLICT) and set r->id (the id given is
 * ignored; 0 on failure). */
JK_API jk_err jk_store_protection_add(jk_store *s, jk_protection_rec *r);
/* Change status, until, decided_at, decided_by and note of measure r->id (inside a transaction,
 * else JK_ECONFLICT); r is checked whole as for add. JK_ENOTFOUND when there is no such measure;
 * JK_ECONFLICT naming the field when r's code, offenders, applied_on, recorded_at or recorded_by
 * differ from the stored ones (nothing written, the transaction stays usable). The status flow
 * (provisional → active or rejected, active → ended) is the caller's rule, not checked here. */
JK_API jk_err jk_store_protection_update(jk_store *s, const jk_protection_rec *r);
/* The measure `id`. JK_ENOTFOUND; JK_ECORRUPT for a malformed row. */
JK_API jk_err jk_store_protection_get(jk_store *s, int64_t id, jk_protection_rec *out);
/* The measures of resident code `code` (NULL = every measure), in id order; cb returns non-zero
 * to stop. A malformed row is JK_ECORRUPT. */
JK_API jk_err jk_store_protection_each(jk_store *s, const char *code, jk_protection_cb cb, void *payload);

/* Peer nodes' certificates, verified by the caller before they are put (upsert by node).
 * lgcode: "" or printable ASCII; role: 1 .. 15 printable ASCII bytes; cert_pem: 1 .. 65,536
 * bytes of UTF-8; seen_at: "" or a time. get: JK_ENOTFOUND when the node is unknown. */
typedef struct jk_peer_rec {
  char node[64];
  char lgcode[8];
  char role[16];
  uint8_t pubkey[32];
  char *cert_pem; /* get: allocated, caller frees with jk_free; put: borrowed */
  char seen_at[32];
} jk_peer_rec;
JK_API jk_err jk_store_peer_put(jk_store *s, const jk_peer_rec *p);
JK_API jk_err jk_store_peer_get(jk_store *s, const char *node, jk_peer_rec *out);

/* The receiver's side: the sender's ledger head it countersigned last (replace; size >= 0).
 * get: JK_ENOTFOUND when none yet. */
JK_API jk_err jk_store_sync_ack_put(jk_store *s, const char *sender, int64_t size, const uint8_t root[32],
                                    const char *at);
JK_API jk_err jk_store_sync_ack_get(jk_store *s, const char *sender, int64_t *size, uint8_t root[32]);

/* The sender's side: the latest signed receipt per (receiver, source) (replace). latest: of
 * all the receipts from `receiver`, the newest by `at` (ties: the largest ledger_size): it says
 * which of the sender's ledger heads the receiver countersigned last — after a receiver lost
 * its newest transactions (a failover to a replica) a resync receipt says so, and it must win
 * over the older receipts of other sources. get, latest: JK_ENOTFOUND when none.
 * highest_seq, ledger_size >= 0. */
typedef struct jk_receipt_row {
  char receiver[64], sender[64], source[64];
  int64_t highest_seq, ledger_size;
  uint8_t ledger_root[32];
  char at[32];
  uint8_t sig[64];
} jk_receipt_row;
JK_API jk_err jk_store_receipt_put(jk_store *s, const jk_receipt_row *r);
JK_API jk_err jk_store_receipt_get(jk_store *s, const char *receiver, const char *source, jk_receipt_row *out);
JK_API jk_err jk_store_receipt_latest(jk_store *s, const char *receiver, jk_receipt_row *out);

#ifdef __cplusplus
}
#endif
#endif
