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
  /* ledger */
  jk_err (*ledger_size)(jk_store *s, int64_t *out);
  jk_err (*ledger_append)(jk_store *s, const jk_ledger_row *row);
  jk_err (*ledger_each)(jk_store *s, int64_t first, int64_t last, jk_ledger_row_cb cb, void *payload);
  jk_err (*ledger_leaves)(jk_store *s, uint64_t first, size_t count, uint8_t (*out)[32]);
  /* One probe of the search: segment >= 0 restricts to seq >> JK__LEDGER_SEGMENT_SHIFT ==
   * segment (the object index is segmented, 0003_ledger.sql); -1 = no restriction. At most limit
   * rows, newest first; *got counts rows handed to cb, SIZE_MAX when cb asked to stop. */
  jk_err (*ledger_search)(jk_store *s, const jk_ledger_query *q, int64_t segment, size_t limit, jk_ledger_row_cb cb,
                          void *payload, size_t *got);
  jk_err (*ledger_time)(jk_store *s, int64_t seq, char at[32]);
  jk_err (*ledger_subtree_put)(jk_store *s, unsigned level, uint64_t index, const uint8_t hash[32]);
  jk_err (*ledger_subtree_get)(jk_store *s, unsigned level, uint64_t index, uint8_t out[32]);
  jk_err (*ledger_subtree_each)(jk_store *s, jk_ledger_subtree_cb cb, void *payload);
  jk_err (*ledger_head_put)(jk_store *s, const jk_ledger_head_row *h);
  jk_err (*ledger_head_get)(jk_store *s, int64_t size, jk_ledger_head_row *out); /* size 0 = latest */
  jk_err (*ledger_head_each)(jk_store *s, jk_ledger_head_cb cb, void *payload);
  /* operators, grants, passwords, cards, sessions */
  jk_err (*operator_insert)(jk_store *s, jk_operator_rec *rec);
  jk_err (*operator_get)(jk_store *s, int64_t id, const char *staff_id, jk_operator_rec *out);
  jk_err (*operator_each)(jk_store *s, jk_operator_cb cb, void *payload);
  jk_err (*operator_disable)(jk_store *s, int64_t id, const char *at, const char *by);
  jk_err (*grant_insert)(jk_store *s, jk_grant_rec *rec);
  jk_err (*grant_end)(jk_store *s, int64_t id, jk_date until, const char *by, const char *at);
  jk_err (*grant_each)(jk_store *s, int64_t operator_id, jk_grant_cb cb, void *payload);
  jk_err (*password_add)(jk_store *s, int64_t operator_id, const char *hash, const char *at, const char *by);
  jk_err (*password_recent)(jk_store *s, int64_t operator_id, size_t n, jk_password_cb cb, void *payload);
  jk_err (*card_insert)(jk_store *s, jk_card_rec *rec);
  jk_err (*card_get)(jk_store *s, int64_t id, const char *serial, const char *label, jk_card_rec *out);
  jk_err (*card_set_status)(jk_store *s, int64_t id, const char *status, const char *at);
  jk_err (*card_each)(jk_store *s, int64_t operator_id, jk_card_cb cb, void *payload);
  jk_err (*card_event_add)(jk_store *s, jk_card_event_rec *rec);
  jk_err (*card_event_each)(jk_store *s, int64_t card_id, jk_card_event_cb cb, void *payload);
  jk_err (*login_state_get)(jk_store *s, int64_t operator_id, int *failures, char locked_until[32]);
  jk_err (*login_state_set)(jk_store *s, int64_t operator_id, int failures, const char *locked_until);
  jk_err (*session_insert)(jk_store *s, jk_session_rec *rec);
  jk_err (*session_get)(jk_store *s, const uint8_t token_hash[32], jk_session_rec *out);
  jk_err (*session_touch)(jk_store *s, int64_t id, const char *at);
  jk_err (*session_end)(jk_store *s, int64_t id, const char *at, const char *reason);
  /* sync (sqlite_sync.c, pg_sync.c). Arguments are checked by store.c: node ids, codes, seqs
   * and lengths are valid, writes are inside a transaction, and notice_append's seq is the
   * source's next one. */
  jk_err (*notice_append)(jk_store *s, const jk_notice_row *row);
  jk_err (*notice_size)(jk_store *s, const char *source, int64_t *out);
  jk_err (*notice_each)(jk_store *s, const char *source, int64_t first, int64_t last, jk_notice_row_cb cb,
                        void *payload); /* last >= first >= 1 */
  jk_err (*notice_leaves)(jk_store *s, const char *source, uint64_t first, size_t count, uint8_t (*out)[32]);
  jk_err (*notice_by_code)(jk_store *s, const char *code, jk_notice_row_cb cb, void *payload);
  jk_err (*notice_scrub)(jk_store *s, const char *code, int64_t *n);
  /* JK_ENOTFOUND when (source, seq) is not in the log */
  jk_err (*notice_scrub_one)(jk_store *s, const char *source, int64_t seq);
  jk_err (*notice_sources)(jk_store *s, jk_sync_source_cb cb, void *payload);
  jk_err (*notice_subtree_put)(jk_store *s, const char *source, unsigned level, uint64_t index, const uint8_t hash[32]);
  jk_err (*notice_subtree_get)(jk_store *s, const char *source, unsigned level, uint64_t index, uint8_t out[32]);
  jk_err (*outbox_head_put)(jk_store *s, const jk_sync_head_row *h);
  /* at_least <= 0: the largest size; else the smallest size >= at_least */
  jk_err (*outbox_head_find)(jk_store *s, const char *node, int64_t at_least, jk_sync_head_row *out);
  jk_err (*holding_put)(jk_store *s, const jk_holding_rec *r);
  jk_err (*holding_get)(jk_store *s, const char *code, const char *source, jk_holding_rec *out);
  jk_err (*holding_delete)(jk_store *s, const char *code, const char *source);
  jk_err (*holding_each)(jk_store *s, const char *code, const char *source, jk_holding_cb cb, void *payload);
  jk_err (*holding_count)(jk_store *s, const char *source, int status, int64_t *out);
  /* Several rows at once (store.h); n >= 1. notice_append_many: every row checked, each source's
   * rows contiguous and starting at its next seq. holding_put_many: every record checked, the
   * same (code, source) may come more than once (the later wins). holding_get_codes: the codes
   * are checked, sorted (byte order) and distinct. */
  jk_err (*notice_append_many)(jk_store *s, const jk_notice_row *rows, size_t n);
  jk_err (*holding_put_many)(jk_store *s, const jk_holding_rec *recs, size_t n);
  jk_err (*holding_get_codes)(jk_store *s, const char *const *codes, size_t n, jk_holding_cb cb, void *payload);
  jk_err (*peer_put)(jk_store *s, const jk_peer_rec *p);
  jk_err (*peer_get)(jk_store *s, const char *node, jk_peer_rec *out);
  /* agency registry (sqlite_provision.c / pg_provision.c); arguments checked by store.c */
  jk_err (*agency_put)(jk_store *s, const jk_agency_rec *a);
  jk_err (*agency_get)(jk_store *s, const char *id, jk_agency_rec *out);
  jk_err (*agency_revoke)(jk_store *s, const char *id, const char *at);
  jk_err (*agency_each)(jk_store *s, jk_agency_cb cb, void *payload);
  /* provision records (same files): every row checked and n >= 1, inside a transaction (store.c
   * opens one when the caller has none); a failure keeps nothing of the call. */
  jk_err (*provision_put_many)(jk_store *s, jk_provision_rec *recs, size_t n);
  jk_err (*provision_each)(jk_store *s, const char *code, jk_provision_cb cb, void *payload);
  /* The code index (0010): *indexed the watermark (JK_ECORRUPT when its row is missing or not
   * an integer), *last the highest provision id (0 when none); store.c checks the range. index:
   * rows with id in (from, upto] and a non-empty code added to provision_code in (code, id)
   * order (a key already there is left as it is), the watermark moved from `from` to upto
   * (JK_ECONFLICT when it is no longer `from`); store.c has checked: inside a transaction,
   * `from` the current watermark, from < upto <= the highest id. */
  jk_err (*provision_marks)(jk_store *s, int64_t *indexed, int64_t *last);
  jk_err (*provision_index)(jk_store *s, int64_t from, int64_t upto);
  /* birth a real date, sex male or female */
  jk_err (*holding_by_person)(jk_store *s, jk_date birth, jk_sex sex, jk_holding_cb cb, void *payload);
  /* the residents' side (same files): arguments checked by store.c, writes inside a transaction.
   * request_decide: JK_ENOTFOUND / JK_ECONFLICT as store.h says, without aborting the
   * transaction. holdback_get: JK_ENOTFOUND without a message. scrub_pending_put: an existing
   * (source, seq) is left as it is. */
  jk_err (*request_add)(jk_store *s, jk_request_rec *r);
  jk_err (*request_decide)(jk_store *s, int64_t id, const char *decision, const char *at, const char *by,
                           const char *reason);
  jk_err (*request_get)(jk_store *s, int64_t id, jk_request_rec *out);
  jk_err (*request_each)(jk_store *s, const char *code, jk_request_cb cb, void *payload);
  jk_err (*holdback_put)(jk_store *s, const jk_holdback_rec *r);
  jk_err (*holdback_get)(jk_store *s, const char *code, jk_holdback_rec *out);
  jk_err (*holdback_delete)(jk_store *s, const char *code);
  jk_err (*holdback_each)(jk_store *s, jk_holdback_cb cb, void *payload);
  jk_err (*scrub_pending_put)(jk_store *s, const char *source, int64_t seq, const char *code);
  jk_err (*scrub_pending_each)(jk_store *s, jk_scrub_cb cb, void *payload);
  jk_err (*scrub_pending_delete)(jk_store *s, const char *source, int64_t seq);
  /* residents' restrictions (same files): arguments checked by store.c, writes inside a
   * transaction. protection_update: JK_ENOTFOUND when there is no row r->id; JK_ECONFLICT
   * (naming the field, jk__store_protection_fixed_diff) when its fixed columns differ from r's,
   * without aborting the transaction. */
  jk_err (*restriction_put)(jk_store *s, const jk_restriction_rec *r);
  jk_err (*restriction_each)(jk_store *s, const char *code, jk_restriction_cb cb, void *payload);
  jk_err (*protection_add)(jk_store *s, jk_protection_rec *r);
  jk_err (*protection_update)(jk_store *s, const jk_protection_rec *r);
  jk_err (*protection_get)(jk_store *s, int64_t id, jk_protection_rec *out);
  jk_err (*protection_each)(jk_store *s, const char *code, jk_protection_cb cb, void *payload);
  jk_err (*sync_ack_put)(jk_store *s, const char *sender, int64_t size, const uint8_t root[32], const char *at);
  jk_err (*sync_ack_get)(jk_store *s, const char *sender, int64_t *size, uint8_t root[32]);
  jk_err (*receipt_put)(jk_store *s, const jk_receipt_row *r);
  jk_err (*receipt_get)(jk_store *s, const char *receiver, const char *source, jk_receipt_row *out);
  jk_err (*receipt_latest)(jk_store *s, const char *receiver, jk_receipt_row *out);
};

/* Entries per segment of the ledger's object index: seq >> 14 (docs/decisions.md D8). */
#define JK__LEDGER_SEGMENT_SHIFT 14

/* Per-transaction cache of the next notice seq (struct jk_store): sources interleaved in one
 * transaction beyond this many cost one size query per switch. */
#define JK__NOTICE_NEXT_SLOTS 4

struct jk_store {
  const struct jk__store_ops *ops;
  bool in_tx;
  int64_t ledger_next; /* next ledger seq in the open transaction; 0 = not read yet */
  /* next notice seq of a few sources in the open transaction (the write lock keeps them true
   * until it ends); next 0 = empty slot. Cleared by begin, commit and rollback. */
  struct {
    char source[64];
    int64_t next;
  } notice_next[JK__NOTICE_NEXT_SLOTS];
  unsigned notice_next_victim;
  /* called by jk_store_commit inside the transaction, just before it commits (the ledger
   * writes the operation's entries and signs a tree head there): an error rolls back. */
  jk_err (*pre_commit)(jk_store *s, void *payload);
  /* called after every commit attempt and rollback, with whether the transaction committed */
  void (*post_commit)(jk_store *s, void *payload, bool committed);
  void *hook_payload;
  /* jk_store_set_change_hook: run after each resident insert/append (the sync outbox) */
  jk_store_change_fn change_fn;
  void *change_payload;
  void (*change_release)(void *payload);
  /* a change hook failed after its write was made: the transaction can only roll back */
  jk_err doomed;
};

/* Checks shared by the front (a bad argument is JK_EINVAL) and the backends (a bad row read
 * back is JK_ECORRUPT). n is the length in bytes (the value need not be NUL-terminated). */
bool jk__store_node_id_ok(const char *v, size_t n);    /* 1 .. 63 bytes of 0x21 .. 0x7e */
bool jk__store_rescode_ok(const char *v, size_t n);    /* exactly 11 ASCII digits */
/* A record's fields and ranges (the code and source included); *field names the first bad one. */
bool jk__store_holding_ok(const jk_holding_rec *r, const char **field);
/* The peer record without cert_pem (checked by length alone). */
bool jk__store_peer_ok(const jk_peer_rec *p, const char **field);
/* A stored agency row is well formed (every field of jk_agency_rec as store.h says); *field
 * names the first bad one. */
bool jk__store_agency_ok(const jk_agency_rec *a, const char **field);
/* A provision record is well formed (every field of jk_provision_rec as store.h says, the id
 * not looked at); *field names the first bad one. */
bool jk__store_provision_ok(const jk_provision_rec *r, const char **field);
/* A resident request is well formed (every field of jk_request_rec as store.h says, the id not
 * looked at); a holdback row likewise; *field names the first bad one. */
bool jk__store_request_ok(const jk_request_rec *r, const char **field);
bool jk__store_holdback_ok(const jk_holdback_rec *r, const char **field);
/* A restriction row and a support measure are well formed (every field as store.h says, the
 * measure's id not looked at); *field names the first bad one. */
bool jk__store_restriction_ok(const jk_restriction_rec *r, const char **field);
bool jk__store_protection_ok(const jk_protection_rec *r, const char **field);
/* The first of the columns a measure keeps as entered (code, offenders, applied_on,
 * recorded_at, recorded_by) that differs between a and b, or NULL when none does. */
const char *jk__store_protection_fixed_diff(const jk_protection_rec *a, const jk_protection_rec *b);
#define JK__PEER_CERT_MAX 65536

/* Backends. */
jk_err jk__sqlite_open(jk_store **out, const char *path, unsigned flags, int max_version);
jk_err jk__pg_open(jk_store **out, const char *conninfo, unsigned flags, int max_version);

/* Test hook: open a SQLite node.db migrated only up to `max_version` (to test upgrades). */
JK_API jk_err jk__store_open_at_version(jk_store **out, const char *location, int max_version);

/* Current UTC time as ISO 8601 "2026-11-23T01:02:03.456Z" (buf >= 32). */
void jk__store_now(char buf[32]);

#endif
