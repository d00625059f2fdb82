/*
 * notice.h — the wire format of sync protocol v1 (docs/protocol.md): change notices, the
 * municipal outbox's signed tree heads, batches and signed receipts.
 *
 * A change notice (異動通知) says that one resident's 本人確認情報 changed at a municipal node
 * (kind CHANGE: the new version's fields, with its 異動事由 and 異動年月日) or that a resident's
 * record was erased because they do not take part (kind ERASE). A municipality numbers its
 * notices 1, 2, 3 … (the source sequence) and appends them to its outbox, an append-only
 * RFC 9162 Merkle log hashed like the ledger (leaf = SHA-256(0x00 ‖ notice encoding)): notice
 * seq s is leaf s − 1. The node signs outbox tree heads, not single notices; each notice
 * travels with its inclusion proof against a signed head, so one signature covers a batch and
 * any node can check any notice with the municipality's public key alone.
 *
 * A batch carries the notices seq first .. first+count−1 of ONE source (a prefecture forwards a
 * municipality's notices unchanged, with the municipality's signed outbox head and proofs),
 * plus the SENDER's latest signed ledger tree head (docs/ledger.md) and a consistency proof
 * from the head the receiver last acknowledged: a sender that rewrote its own past is caught
 * by the next node up. The receiver answers with a receipt: the highest seq applied for that
 * source (cumulative) and the sender's ledger head, countersigned.
 *
 * Everything here is pure computation on bytes: no socket, no store, no key. Signing goes
 * through the caller's jk_ledger_signer; verification takes public keys (Ed25519, 32 bytes).
 * Decoders treat their input as hostile: exact lengths, every field checked, hard caps,
 * JK_EINVAL / JK_ETOOLARGE with a message naming the field; they never read past the input.
 * Byte layouts: docs/protocol.md.
 *
 * Thread safety: no shared state.
 */
#ifndef JUKINET_NOTICE_H
#define JUKINET_NOTICE_H

#include "jukinet/common.h"
#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"
#include "jukinet/ledger.h"
#include "jukinet/merkle.h"
#include "jukinet/rescode.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A node id ("272108-41a869be43045374"): 1 .. 63 bytes of printable ASCII (0x21 .. 0x7e). */
#define JK_NODE_ID_MAX 63
/* A UTC time "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (27 bytes), as in the ledger. */
#define JK_SYNC_TIME_LEN 27

/* ---- change notices ---- */

typedef enum jk_notice_kind {
  JK_NOTICE_CHANGE = 1, /* a new version of a resident's 本人確認情報 */
  JK_NOTICE_ERASE = 2,   /* erasure of a resident code's record (non-participation) */
  JK_NOTICE_RESTRICT = 3 /* the resident's restrictions as they now stand: 支援措置, 目的外利用の中止 */
} jk_notice_kind;

/* Room for a RESTRICT notice's purposes (comma-separated purpose codes) with its NUL. */
#define JK_NOTICE_PURPOSES_MAX 512

/* One notice. Strings are NUL-terminated UTF-8 in NFC (as the registry stores them). */
typedef struct jk_notice {
  char source[JK_NODE_ID_MAX + 1]; /* the municipal node that made the notice */
  uint64_t seq;                    /* its sequence at that node: 1, 2, 3 … */
  jk_notice_kind kind;
  char code[JK_RESCODE_LEN + 1];   /* 住民票コード (valid, with its check digit) */
  jk_date moved_on;                /* CHANGE: 異動年月日; ERASE: the day of the erasure;
                                      RESTRICT: the day these restrictions took effect */
  /* RESTRICT only (zero / empty otherwise): */
  bool protect;                    /* a 支援措置 is in force: address withheld, agency queries held for review */
  jk_date until;                   /* protect: the day the measure ends; else zero */
  char purposes[JK_NOTICE_PURPOSES_MAX]; /* purposes the resident stopped ("" none), e.g. "B1-77,B1-74" */
  /* CHANGE only (zero / empty otherwise): */
  char prev_code[JK_RESCODE_LEN + 1]; /* reason CODE_CHANGE: the retired code; else "" */
  int version;                     /* 1, 2, … of the resident's record */
  char name[JK_NAME_MAX + 1];      /* 氏名 */
  char kana[JK_NAME_MAX + 1];      /* 氏名かな */
  jk_date birth;                   /* 生年月日 */
  jk_sex sex;                      /* 男 / 女 */
  char address[JK_ADDRESS_MAX + 1];/* 住所 */
  jk_move_kind reason;             /* 異動事由 */
  jk_status status;                /* active / removed after this version */
} jk_notice;

/* The longest notice encoding (docs/protocol.md). */
/* (A RESTRICT notice, 1 + 2 + 63 + 8 + 1 + 11 + 4 + 1 + 4 + 2 + 511 bytes, is shorter.) */
#define JK_NOTICE_ENCODED_MAX \
  (1 + 2 + JK_NODE_ID_MAX + 8 + 1 + JK_RESCODE_LEN + 4 + 1 + JK_RESCODE_LEN + 4 + \
   2 * (2 + JK_NAME_MAX) + 4 + 1 + 2 + JK_ADDRESS_MAX + 1 + 1)

/* Fill a CHANGE notice from a registry version (strings copied; prev_code "" — set it for
 * a code change). JK_ETOOLARGE / JK_EINVAL when a field does not fit or is missing. */
JK_API jk_err jk_notice_from_identity(jk_notice *out, const char *source, uint64_t seq, const jk_identity *id);

/* Canonical encoding (version 1) into buf (cap bytes; JK_NOTICE_ENCODED_MAX always suffices),
 * length in *len. Refuses (JK_EINVAL / JK_ETOOLARGE, detail names the field) whatever
 * jk_notice_decode would refuse, so every encoding decodes back to the same notice. */
JK_API jk_err jk_notice_encode(const jk_notice *n, uint8_t *buf, size_t cap, size_t *len);
/* Strict decoding of exactly len bytes: JK_EINVAL naming the field for anything malformed
 * (truncated, trailing bytes, bad version, node id, seq 0, bad resident code or check digit,
 * impossible date, enum out of range, invalid UTF-8 or control characters, empty field),
 * JK_ETOOLARGE for a field over its limit. *out is zeroed on failure. */
JK_API jk_err jk_notice_decode(jk_notice *out, const void *data, size_t len);
/* RFC 9162 leaf hash of an encoding: SHA-256(0x00 ‖ bytes). Cannot fail. */
JK_API void jk_notice_leaf(const void *enc, size_t len, uint8_t out[JK_MERKLE_HASH_LEN]);

/* ---- the municipal outbox's signed tree head ---- */

typedef struct jk_outbox_head {
  char node[JK_NODE_ID_MAX + 1]; /* the municipal node whose outbox this is */
  uint64_t size;                 /* notices covered: seq 1 .. size */
  uint8_t root[JK_MERKLE_HASH_LEN];
  char at[JK_SYNC_TIME_LEN + 1]; /* when the head was signed, UTC */
  uint8_t sig[64];               /* Ed25519 over jk_outbox_head_message */
} jk_outbox_head;

/* "jukinet outbox head v1\0" ‖ node ‖ size ‖ root ‖ at (docs/protocol.md). */
#define JK_OUTBOX_HEAD_MSG_MAX (23 + 2 + JK_NODE_ID_MAX + 8 + 32 + 2 + JK_SYNC_TIME_LEN)
JK_API jk_err jk_outbox_head_message(const jk_outbox_head *h, uint8_t *buf, size_t cap, size_t *len);
/* Sign h (fills h->sig) with the node's key through signer. */
JK_API jk_err jk_outbox_head_sign(jk_outbox_head *h, const jk_ledger_signer *signer);
/* True when h's fields are well formed and its signature verifies with pubkey. */
JK_API bool jk_outbox_head_verify(const jk_outbox_head *h, const uint8_t pubkey[32]);

/* ---- batches ---- */

#define JK_BATCH_MAX_NOTICES 10000
#define JK_BATCH_MAX_BYTES (16u * 1024u * 1024u)

/* One notice in a batch: its encoding and its inclusion proof against the batch's outbox head
 * (leaf seq − 1 of a tree of outbox.size leaves). Pointers are borrowed (from the caller when
 * encoding, from the jk_batch when decoded). */
typedef struct jk_batch_item {
  const uint8_t *enc;
  size_t enc_len;
  const uint8_t (*path)[JK_MERKLE_HASH_LEN];
  size_t path_len;  /* <= JK_MERKLE_MAX_PATH */
  uint64_t seq;     /* filled by jk_batch_decode (the notice's own seq); ignored by encode */
} jk_batch_item;

typedef struct jk_batch {
  char sender[JK_NODE_ID_MAX + 1];   /* who sends this batch (the municipality or a prefecture) */
  char receiver[JK_NODE_ID_MAX + 1]; /* to whom */
  char source[JK_NODE_ID_MAX + 1];   /* the municipality whose notices these are */
  uint64_t first_seq;                /* seq of the first notice; 0 when count is 0 */
  size_t count;                      /* 0 .. JK_BATCH_MAX_NOTICES */
  jk_outbox_head outbox;             /* the source's signed outbox head (outbox.node == source) */
  jk_batch_item *items;              /* count items */
  const jk_notice *notices;          /* jk_batch_decode: items[i] decoded (count); else NULL */
  jk_ledger_head_row ledger;         /* the SENDER's signed ledger tree head (docs/ledger.md) */
  uint64_t ledger_old_size;          /* the size the sender believes the receiver acked; 0 = none */
  uint8_t ledger_path[JK_MERKLE_MAX_PATH][JK_MERKLE_HASH_LEN]; /* consistency old -> ledger.size */
  size_t ledger_path_len;
  void *owned_;                      /* private: what jk_batch_decode allocated */
} jk_batch;

/* Encode b into a new buffer (*out, caller frees with jk_free; *out_len bytes). Every notice is
 * decoded first (its seq taken from it), the header's first_seq/count are taken from b.
 * JK_EINVAL for a malformed notice, id, time or path (detail names which);
 * JK_ETOOLARGE past JK_BATCH_MAX_NOTICES or JK_BATCH_MAX_BYTES; JK_ENOMEM. */
JK_API jk_err jk_batch_encode(const jk_batch *b, uint8_t **out, size_t *out_len);
/* Decode a batch body (structure only: needs no key). *out is allocated (caller frees with
 * jk_batch_free; NULL on failure) and owns a copy of the bytes. Every notice is decoded
 * strictly, and kept decoded in (*out)->notices. JK_EINVAL: truncated, trailing bytes, bad magic/version, malformed field (detail
 * says where: "notice 3 (seq 12): …"); JK_ETOOLARGE: more than JK_BATCH_MAX_NOTICES notices
 * or a body over JK_BATCH_MAX_BYTES; JK_ENOMEM. */
JK_API jk_err jk_batch_decode(jk_batch **out, const void *data, size_t len);
/* NULL is a no-op. */
JK_API void jk_batch_free(jk_batch *b);
/* Only the header of a batch body: its source and first_seq (a receiver that has two batches
 * of a sender arriving at once applies them in order). JK_EINVAL when the header is malformed;
 * jk_batch_decode checks everything. */
JK_API jk_err jk_batch_peek(const void *data, size_t len, char source[JK_NODE_ID_MAX + 1], uint64_t *first_seq);

/* The ledger head the receiver last acknowledged for this sender (size and root). */
typedef struct jk_ledger_ack {
  uint64_t size;
  uint8_t root[JK_MERKLE_HASH_LEN];
} jk_ledger_ack;

/* Check a decoded batch, in this order, naming the first failure:
 *  1. the outbox head is the source's and its signature verifies with source_pubkey (JK_ECRYPTO);
 *  2. the notices are seq first_seq, first_seq+1, … with no gap, every one of the batch's
 *     source, each within the head (seq <= outbox.size), and each one's inclusion proof
 *     verifies against the head (JK_ECORRUPT, "notice N: …");
 *  3. the sender's ledger head signature verifies with sender_pubkey (JK_ECRYPTO);
 *  4. the ledger head extends the one last acknowledged (last_acked; NULL or size 0 = none yet):
 *     ledger_old_size must equal last_acked->size (else JK_ECONFLICT: the sender missed a
 *     receipt; answer with the last receipt), the new size must not be smaller and the
 *     consistency proof must verify (JK_ECORRUPT: the sender rewrote its past). With no
 *     acknowledged head, ledger_old_size must be 0 and the path empty.
 * The receiver's own node id (b->receiver) is the caller's to check. JK_OK when all hold. */
JK_API jk_err jk_batch_verify(const jk_batch *b, const uint8_t source_pubkey[32], const uint8_t sender_pubkey[32],
                              const jk_ledger_ack *last_acked);

/* The same, with flags: JK_BATCH_VERIFY_NO_PROOFS skips the notices' inclusion proofs (their
 * seq, source and range are still checked). Only for a receiver that holds every notice of the
 * source before the batch and checks instead that the root of its own tree, extended by the
 * batch's leaves, equals the outbox head's root — which proves every notice of the batch at
 * once (src/sync/sync_receive.c); the head must then cover exactly the batch's last notice. */
#define JK_BATCH_VERIFY_NO_PROOFS 0x1u
JK_API jk_err jk_batch_verify_ex(const jk_batch *b, const uint8_t source_pubkey[32], const uint8_t sender_pubkey[32],
                                 const jk_ledger_ack *last_acked, unsigned flags);

/* ---- receipts ---- */

/* The receiver's cumulative acknowledgement: every notice of `source` up to `highest_seq` is
 * applied (re-sent ones included), and the sender's ledger head (ledger_size, ledger_root) is
 * countersigned. */
typedef struct jk_receipt {
  char receiver[JK_NODE_ID_MAX + 1]; /* who signs */
  char sender[JK_NODE_ID_MAX + 1];   /* whose ledger head is countersigned */
  char source[JK_NODE_ID_MAX + 1];   /* whose notices are acknowledged */
  uint64_t highest_seq;              /* 0 = none yet */
  uint64_t ledger_size;
  uint8_t ledger_root[JK_MERKLE_HASH_LEN];
  char at[JK_SYNC_TIME_LEN + 1];     /* when signed, UTC */
  uint8_t sig[64];                   /* Ed25519 by the receiver over jk_receipt_message */
} jk_receipt;

#define JK_RECEIPT_ENCODED_MAX (1 + 3 * (2 + JK_NODE_ID_MAX) + 8 + 8 + 32 + 2 + JK_SYNC_TIME_LEN + 64)
#define JK_RECEIPT_MSG_MAX (19 + 3 * (2 + JK_NODE_ID_MAX) + 8 + 8 + 32 + 2 + JK_SYNC_TIME_LEN)
/* Encode / strictly decode (exact length; JK_EINVAL naming the field). */
JK_API jk_err jk_receipt_encode(const jk_receipt *r, uint8_t *buf, size_t cap, size_t *len);
JK_API jk_err jk_receipt_decode(jk_receipt *out, const void *data, size_t len);
/* "jukinet receipt v1\0" ‖ the fields but the signature (docs/protocol.md). */
JK_API jk_err jk_receipt_message(const jk_receipt *r, uint8_t *buf, size_t cap, size_t *len);
JK_API jk_err jk_receipt_sign(jk_receipt *r, const jk_ledger_signer *signer);
/* True when r is well formed and its signature verifies with the receiver's pubkey. */
JK_API bool jk_receipt_verify(const jk_receipt *r, const uint8_t pubkey[32]);

#ifdef __cplusplus
}
#endif
#endif
