/*
 * sync.h — the sync engine of protocol v1 (docs/protocol.md): the municipal outbox, the sender
 * that builds batches for the next node up, and the receiver that verifies and applies them.
 *
 * The engine works on a node's store and ledger and signs with the node's key; it never opens
 * a socket. The daemon moves its bytes over mutual TLS (https.h); tests can wire a sender to a
 * receiver directly. Every write is one store transaction with its ledger entry:
 *   outbox    a municipal node's registry writes append their change notices to the node's
 *             notice log in the same transaction (jk_outbox_attach);
 *   sender    per source in the notice log (its own at a municipality, its municipalities' at a
 *             prefecture): the notices after the last receipt, with inclusion proofs against a
 *             signed outbox head of that source, and the node's own signed ledger head;
 *   receiver  verifies a batch (signatures, proofs, the sender's ledger consistency, who may
 *             send for whom), applies the new notices in one transaction — notice log, identity
 *             records (holdings), the source's head, the countersigned ledger head — and answers
 *             with a signed cumulative receipt.
 * Exactly once: the receiver applies only seq > the highest it holds for that source, and that
 * highest moves only inside the transaction that applied the notices.
 *
 * Thread safety: a jk_sync_ctx's store is single-threaded; serialise calls per context.
 */
#ifndef JUKINET_SYNC_H
#define JUKINET_SYNC_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"
#include "jukinet/ledger.h"
#include "jukinet/notice.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tiers, as in node.conf's role. */
typedef enum jk_tier { JK_TIER_MUNICIPAL = 1, JK_TIER_PREFECTURAL = 2, JK_TIER_NATIONAL = 3 } jk_tier;

/* What the engine needs of its node (all borrowed). */
typedef struct jk_sync_ctx {
  jk_store *store;
  jk_ledger *ledger;          /* every sync transaction writes one entry */
  const char *node_id;        /* this node */
  const char *lgcode;         /* its 地方公共団体コード (6 digits) */
  jk_tier tier;
  jk_ledger_signer signer;    /* the node key (outbox heads, receipts) */
  const char *terminal;       /* recorded in the ledger, e.g. "jukinetd" */
} jk_sync_ctx;

/* ---- outbox (municipal nodes) ---- */

/* Append the change notice of a registry version to the node's own notice log (source =
 * node_id), in the caller's open transaction. prev_code: the retired code of a 住民票コード変更,
 * else NULL. */
JK_API jk_err jk_outbox_record(jk_store *s, const char *node_id, const jk_identity *rec, const char *prev_code);
/* Append an ERASE notice for resident code `code` (the day of the erasure `on`), in the
 * caller's open transaction: the prefecture and the nation clear the record this municipality
 * sent (docs/provision.md). *seq (may be NULL) gets the notice's seq. */
JK_API jk_err jk_outbox_erase(jk_store *s, const char *node_id, const char *code, jk_date on, int64_t *seq);
/* Append a RESTRICT notice: the resident's restrictions as they now stand (protect: a 支援措置
 * in force until `until`; purposes: the purposes the resident stopped, "" none), in effect
 * from `since`. Nothing is sent for a held-back resident (*seq 0). */
JK_API jk_err jk_outbox_restrict(jk_store *s, const char *node_id, const char *code, bool protect, jk_date since,
                                 jk_date until, const char *purposes, int64_t *seq);
/* From now on, every resident insert/append on s records its notice (jk_outbox_record) in the
 * same transaction — except for a resident held back (jk_store_holdback_*: a non-participant
 * under resident-choice), whose changes are not sent. node_id is copied. Detach with
 * jk_outbox_detach (also before closing s). */
JK_API jk_err jk_outbox_attach(jk_store *s, const char *node_id);
JK_API void jk_outbox_detach(jk_store *s);

/* ---- a peer as the transport saw it (its verified certificate) ---- */
typedef struct jk_sync_peer {
  char node[64];
  char lgcode[8];
  char role[16];              /* municipal | prefectural | national */
  uint8_t pubkey[32];
  const char *cert_pem;       /* borrowed; stored so that the next node up can learn the source */
} jk_sync_peer;

/* ---- receiver ---- */

/* The answer to a request: HTTP-like status, content type, body (caller frees with jk_free). */
typedef struct jk_sync_answer {
  unsigned status;            /* 200 applied; 409 resync (receipt) or unknown source (JSON); 4xx/5xx refusal */
  const char *content_type;   /* "application/octet-stream" (a receipt) or "application/json" */
  uint8_t *body;
  size_t body_len;
  jk_err err;                 /* JK_OK when applied; else why (its detail in jk_error_last) */
} jk_sync_answer;

/* Handle POST /sync/v1/batch from a peer whose certificate the transport verified (and whose
 * node id the caller checked against its allowlist). Never fails: every outcome is an answer.
 * Refusals (bad signature, proof, rewritten ledger, wrong source …) are recorded in the ledger
 * too. */
JK_API void jk_sync_receive(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const uint8_t *body, size_t len,
                            jk_sync_answer *ans);
/* Handle POST /sync/v1/peer: the certificate (PEM) of a municipality a prefecture forwards for,
 * verified against the network CA (and CRL) before it is stored; only from a prefecture, for
 * a municipality of its own prefecture. */
JK_API void jk_sync_receive_peer(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *ca_pem,
                                 const char *crl_pem, const uint8_t *body, size_t len, jk_sync_answer *ans);
/* Handle POST /sync/v1/state: how far this node holds the sources the peer sends for (the peer
 * itself, or a prefecture's municipalities), as JSON {"sources":{"<node id>":highest,…}}. Counts
 * only; nothing is written. The sender compares it with its receipts
 * (jk_sync_sender_state_behind) to find a receiver that lost what it had acknowledged. */
JK_API void jk_sync_state(const jk_sync_ctx *ctx, const jk_sync_peer *peer, jk_sync_answer *ans);
/* Handle POST /sync/v1/disclose: the provisions recorded here of a resident, for the
 * disclosure of its municipality (src/sync/disclose.c has the rules and the format). Every
 * answer and refusal is recorded. */
#define JK_DISCLOSE_CODES_MAX 16
/* Its body: {"codes": [1 .. JK_DISCLOSE_CODES_MAX valid resident codes]} (4 KiB at most, no
 * other key, no repeated key). JK_EINVAL naming what is wrong; *n 0 on failure. */
JK_API jk_err jk_sync_disclose_parse(const uint8_t *body, size_t len, char codes[][JK_RESCODE_LEN + 1], size_t *n);
JK_API void jk_sync_disclose(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const uint8_t *body, size_t len,
                             jk_sync_answer *ans);
/* POST /sync/v1/attest (src/sync/attest.c): at the nation, a fresh signed receipt for a
 * municipality of the asking prefecture, with the nation's certificate (cert_pem). Recorded. */
JK_API jk_err jk_sync_attest_parse(const uint8_t *body, size_t len, char source[JK_NODE_ID_MAX + 1]);
JK_API void jk_sync_attest(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *cert_pem,
                           const uint8_t *body, size_t len, jk_sync_answer *ans);
/* At the municipality: check the answer — the certificate against the network CA (and CRL), of
 * the nation, naming the receipt's signer; the signature; the source is `source`. *out the
 * receipt; zeroed on failure (JK_EINVAL malformed, JK_EPERM wrong certificate or source,
 * JK_ECRYPTO bad signature). */
JK_API jk_err jk_sync_attest_check(const void *answer, size_t len, const char *ca_pem, const char *crl_pem,
                                   const char *source, jk_receipt *out);
/* Remember a directly connected peer (its certificate), e.g. on its first request. */
JK_API jk_err jk_sync_peer_note(const jk_sync_ctx *ctx, const jk_sync_peer *peer);

/* ---- sender ---- */

typedef struct jk_sync_sender jk_sync_sender;
/* upstream: the node id and public key of the next node up (from its verified certificate). */
JK_API jk_err jk_sync_sender_new(jk_sync_sender **out, const jk_sync_ctx *ctx, const char *upstream,
                                 const uint8_t upstream_pubkey[32]);
JK_API void jk_sync_sender_free(jk_sync_sender *snd);

typedef struct jk_sync_batch_info {
  char source[64];
  uint64_t first_seq;
  size_t count;
} jk_sync_batch_info;
/* Batches a sender keeps in flight at most: the next one is built and sent while the receiver
 * applies the one before (docs/protocol.md "Pipelining"). */
#define JK_SYNC_WINDOW 2
/* The next batch to send (at most max_notices, 0 = JK_BATCH_MAX_NOTICES), after those in
 * flight, oldest pending source first: *body (jk_free) and its length, or *body NULL when
 * nothing more is pending or JK_SYNC_WINDOW batches (or a probe) are in flight. Signs a new
 * outbox head for the node's own notices when needed and records "sync.send" in the ledger
 * (so the batch's ledger head includes it). Its ledger consistency proof starts at the head of
 * the batch before it in flight, which the receiver will have countersigned by then. */
JK_API jk_err jk_sync_sender_next(jk_sync_sender *snd, size_t max_notices, uint8_t **body, size_t *len,
                                  jk_sync_batch_info *info);
/* Process the answer to the OLDEST batch in flight (receivers answer in the order sent).
 * JK_OK: the receipt is verified and stored; JK_ECONFLICT: a resync receipt was stored — call
 * next again; JK_ENOTFOUND: the receiver does not know the batch's source — send it
 * jk_sync_sender_source_cert, then retry; another error: the detail says why (CRYPTO / CORRUPT:
 * stop the link and alert; BUSY / IO / DISCONNECTED: retry later). On any error every later
 * batch in flight is forgotten too: drop their answers. */
JK_API jk_err jk_sync_sender_reply(jk_sync_sender *snd, unsigned status, const char *content_type,
                                   const uint8_t *body, size_t len);
/* How many batches are in flight (0 .. JK_SYNC_WINDOW). */
JK_API size_t jk_sync_sender_inflight(const jk_sync_sender *snd);
/* Forget every batch in flight (their answers lost, say): the next batch starts again at what
 * the receiver acknowledged. */
JK_API void jk_sync_sender_forget(jk_sync_sender *snd);
/* Ask the next node up how far it holds each source the sender has receipts for (forgetting the
 * batches in flight; nothing else is sent until its answer is taken): an empty batch
 * for the next such source (restart: from the first), whose receipt says the receiver's highest
 * seq. *body NULL when every source was asked. Run after reconnecting: a receiver restored from
 * a backup, or failed over to a replica that lagged, may hold less than it acknowledged — then
 * jk_sync_sender_reply returns JK_ECONFLICT and the next batches send the rest again. */
JK_API jk_err jk_sync_sender_probe(jk_sync_sender *snd, bool restart, uint8_t **body, size_t *len,
                                   jk_sync_batch_info *info);
/* True in *behind when the answer to POST /sync/v1/state shows a source held upstream below
 * what upstream acknowledged (then probe: jk_sync_sender_probe). */
JK_API jk_err jk_sync_sender_state_behind(jk_sync_sender *snd, const uint8_t *body, size_t len, bool *behind);
/* The stored certificate (PEM, jk_free) of a source, for POST /sync/v1/peer. */
JK_API jk_err jk_sync_sender_source_cert(jk_sync_sender *snd, const char *source, char **pem);
/* Notices not yet acknowledged by upstream, over all sources. */
JK_API jk_err jk_sync_pending(const jk_sync_ctx *ctx, const char *upstream, int64_t *out);

/* ---- 接続の停止 (the connection switch) ----
 * Persistent node state (store metadata): while stopped, the node neither sends nor accepts
 * sync; notices wait in the outbox and resuming catches up. Who may flip it is the caller's
 * check (actions connection.stop / connection.resume: the セキュリティ総括責任者 or 副総括責任者). */
typedef struct jk_conn_state {
  bool stopped;
  char reason[JK_OP_TEXT_MAX + 1]; /* why (stop) or "" */
  char by[JK_STAFF_ID_MAX + 1];    /* who flipped it last */
  char at[32];                     /* when (UTC) */
} jk_conn_state;
/* Read the switch (never stopped yet: stopped = false, the rest ""). */
JK_API jk_err jk_conn_get(jk_store *s, jk_conn_state *out);
/* Flip it inside the caller's open transaction. reason: 1 .. JK_OP_TEXT_MAX bytes of UTF-8
 * without control characters, required to stop. JK_ECONFLICT when it already is so. */
JK_API jk_err jk_conn_set(jk_store *s, bool stopped, const char *reason, const char *by);

/* ---- agreement between tiers ----
 * A digest of identity records, the same whoever computes it: SHA-256 over the records in code
 * order, each as its notice fields (code, version, name, kana, birth, sex, address, reason,
 * moved_on, status). A municipality digests its registry's current records; a prefecture or the
 * nation the rows it holds for that municipality. Equal digests: every record arrived as is. */
typedef struct jk_sync_digest {
  int64_t records;
  uint8_t sha256[32];
} jk_sync_digest;
JK_API jk_err jk_sync_digest_registry(jk_store *s, jk_sync_digest *out);
JK_API jk_err jk_sync_digest_holdings(jk_store *s, const char *source, jk_sync_digest *out);

/* ---- identity records at the prefecture and the nation ---- */

/* The current record of a resident code: of the rows the municipalities sent (one per source),
 * the latest by 異動年月日; on the same day an active record (a 転入) wins over a removed one (its
 * 転出); then the source id. JK_ENOTFOUND when no municipality sent it. */
JK_API jk_err jk_sync_identity(jk_store *s, const char *code, jk_holding_rec *out);
/* That order: true when a is the newer record of a resident than b — the later 異動年月日; on
 * the same day active over removed over erased; then the larger source id. */
JK_API bool jk_holding_newer(const jk_holding_rec *a, const jk_holding_rec *b);

#ifdef __cplusplus
}
#endif
#endif
