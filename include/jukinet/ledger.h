/*
 * ledger.h — the node's tamper-evident operation log (操作履歴; regulation art. 11).
 *
 * Every operation on a node, reads included, is one entry: time, operator, role, terminal,
 * action, object, result and the SHA-256 of the operation's details. Entries are the leaves of
 * an RFC 9162 Merkle tree; the node signs tree heads (size, root, time) with the Ed25519 key on
 * its own token. Anyone with the node's public key can check an exported bundle
 * (docs/ledger.md has the byte layouts).
 *
 * Writing. An entry is durable before the operation's result is shown:
 *  - jk_ledger_stage queues an entry for the store's current (or next) write transaction; the
 *    ledger writes staged entries and signs a tree head inside jk_store_commit (a pre-commit
 *    hook), so an operation and its entry commit together or not at all;
 *  - jk_ledger_flush writes what is still staged in a transaction of its own (reads, refusals,
 *    failed operations);
 *  - jk_ledger_append writes a batch now, from any thread, group-committed: concurrent callers
 *    share one transaction and one signature, and each returns once its entries are durable.
 * While a ledger is attached to a store, a write transaction that carries no entry is refused
 * at commit (JK_EPERM): nothing changes a node without being recorded.
 *
 * Secrets never go into an entry: callers pass identifiers and results, and details only as
 * bytes that are hashed, never stored.
 */
#ifndef JUKINET_LEDGER_H
#define JUKINET_LEDGER_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_ledger jk_ledger;

/* Signs tree heads: sign(msg) -> 64-byte Ed25519 signature (on the node's token). */
typedef struct jk_ledger_signer {
  jk_err (*sign)(const void *msg, size_t len, uint8_t sig[64], void *payload);
  void *payload;
} jk_ledger_signer;

/* One operation. Text fields are UTF-8, at most JK_LEDGER_FIELD_MAX bytes; NULL means "-". */
typedef struct jk_ledger_entry {
  const char *operator_; /* staff id, or "-" (unknown / the system) */
  const char *role;      /* the role the permission came from, or "-" */
  const char *terminal;  /* where from: "cli:host:tty", "http:addr" … */
  const char *action;    /* e.g. "resident.add", "login" (data/permissions.tsv) */
  const char *object;    /* resident code, staff id, card id … or "-" */
  const char *object_late; /* when non-NULL and non-empty at commit, used as the object: a buffer
                              the operation fills (a new resident's code); must outlive the commit */
  const char *result;    /* "ok" or the error name ("EPERM", "EAUTH" …) */
  const void *detail;    /* hashed into the entry, never stored; may be NULL */
  size_t detail_len;
} jk_ledger_entry;

/* Attach a ledger to an open store. node_id names the node in every entry and head (it is part
 * of the signed bytes). signer NULL: read-only (verify, prove, search, export). Caller closes
 * with jk_ledger_close before closing the store. */
JK_API jk_err jk_ledger_open(jk_ledger **out, jk_store *s, const char *node_id, const jk_ledger_signer *signer);
JK_API void jk_ledger_close(jk_ledger *l);

JK_API jk_err jk_ledger_stage(jk_ledger *l, const jk_ledger_entry *e);
/* Change the result of every entry staged so far (an operation that failed after staging). */
JK_API jk_err jk_ledger_stage_result(jk_ledger *l, const char *result);
JK_API jk_err jk_ledger_flush(jk_ledger *l);
/* Drop staged entries (only for a process that is about to fail anyway). */
JK_API void jk_ledger_discard(jk_ledger *l);
/* Thread-safe, group-committed append; uses the ledger's store, which must not be in a
 * transaction of the caller's. */
JK_API jk_err jk_ledger_append(jk_ledger *l, const jk_ledger_entry *e, size_t n);

/* A callback run inside every transaction that writes entries, just before them (auth uses it
 * to mark the session as used in the same transaction). NULL removes it. */
JK_API void jk_ledger_set_extra(jk_ledger *l, jk_err (*fn)(jk_store *s, void *payload), void *payload);

/* Number of entries. */
JK_API jk_err jk_ledger_size(jk_ledger *l, int64_t *out);

/* Deferred signing (docs/decisions.md D15). The caller's next transaction (call this inside
 * it, before the commit) may leave its entries without a signed head when this ledger signed
 * one less than max_ms ago: they are durable at the commit and the next head covers them. A
 * caller that defers must run jk_ledger_seal once max_ms has passed since
 * jk_ledger_unsigned_since says entries were left, and before it stops. */
JK_API void jk_ledger_defer_seal(jk_ledger *l, unsigned max_ms);
/* Whether this ledger left entries without a signed head; *since_ns (CLOCK_MONOTONIC) since when. */
JK_API bool jk_ledger_unsigned_since(jk_ledger *l, int64_t *since_ns);
/* One transaction writing a signed head over every entry the newest head leaves out (written
 * by this ledger, by another process, or before a crash); nothing when there is none. The
 * store must not be in a transaction. */
JK_API jk_err jk_ledger_seal(jk_ledger *l);

/* Canonical encoding of an entry (docs/ledger.md): writes at most cap bytes into buf and sets
 * *len; JK_ETOOLARGE when cap is too small (JK_LEDGER_ENCODED_MAX always suffices). */
#define JK_LEDGER_ENCODED_MAX (1 + 8 + 9 * (2 + JK_LEDGER_FIELD_MAX) + 32)
JK_API jk_err jk_ledger_encode(const char *node_id, const jk_ledger_row *row, uint8_t *buf, size_t cap, size_t *len);
/* The bytes a tree head signature covers. */
#define JK_LEDGER_HEAD_MSG_MAX (21 + 2 * (2 + JK_LEDGER_FIELD_MAX) + 8 + 32)
JK_API jk_err jk_ledger_head_message(const char *node_id, const jk_ledger_head_row *h, uint8_t *buf, size_t cap,
                                     size_t *len);

/* ---- verification ---- */
typedef struct jk_ledger_report {
  int64_t entries, heads;     /* counted */
  int64_t unsigned_tail;      /* newest entries no signed head covers yet (D15), when recent */
  char tail_at[32];           /* the time of the first of them */
  int64_t first_bad;          /* 0 when intact, else the first entry that is wrong or missing */
  int64_t bad_head;           /* size of the first bad tree head, or 0 */
  char message[512];          /* English, what was found (translated by the caller) */
} jk_ledger_report;

/* Recompute everything: every entry's leaf, seq contiguity and time order, every cached
 * subtree, every tree head's root and Ed25519 signature with pubkey, and that the newest head
 * covers every entry — or that the entries after it were written less than
 * JK_LEDGER_TAIL_GRACE_S ago (a running node's deferred head, D15: report->unsigned_tail and
 * tail_at say how many and since when). JK_OK when intact; JK_ECORRUPT with report->first_bad
 * / bad_head and message when not (other errors: could not read). */
#define JK_LEDGER_TAIL_GRACE_S 10
JK_API jk_err jk_ledger_verify(jk_ledger *l, const uint8_t pubkey[32], jk_ledger_report *report);

/* Inclusion proof of entry seq in the tree of the newest signed head (or of `size` when
 * non-zero; it must be a signed head's size). path holds up to 64 hashes. */
typedef struct jk_ledger_proof {
  int64_t seq, size;
  uint8_t leaf[32], root[32];
  uint8_t path[64][32];
  size_t path_len;
  jk_ledger_head_row head;
} jk_ledger_proof;
JK_API jk_err jk_ledger_prove(jk_ledger *l, int64_t seq, int64_t size, jk_ledger_proof *out);
/* Consistency proof between sizes old_size <= new_size, both at most the newest signed head.
 * A size with a signed head gets that head; another size gets the root computed from the
 * tree, with at = "" and an all-zero sig (unsigned). */
typedef struct jk_ledger_consistency {
  jk_ledger_head_row old_head, new_head;
  uint8_t path[64][32];
  size_t path_len;
} jk_ledger_consistency;
JK_API jk_err jk_ledger_consistency_proof(jk_ledger *l, int64_t old_size, int64_t new_size, jk_ledger_consistency *out);

/* Entries whose time is in [from, to] (ISO 8601 UTC prefixes such as "2026-11-23" or full
 * times; NULL = open) as a seq range: times never decrease, so this is a binary search.
 * *first > *last when nothing is in range. */
JK_API jk_err jk_ledger_time_range(jk_ledger *l, const char *from, const char *to, int64_t *first, int64_t *last);

/* ---- export ---- */
/* Write a bundle (JSON Lines, docs/ledger.md) of every entry and tree head to fd. */
JK_API jk_err jk_ledger_export(jk_ledger *l, int fd);
/* Check a bundle with nothing but the node's public key; same report as jk_ledger_verify. */
JK_API jk_err jk_ledger_check_bundle(const char *data, size_t len, const uint8_t pubkey[32], jk_ledger_report *report);

#ifdef __cplusplus
}
#endif
#endif
