/*
 * rights.h — the residents' side of provision (issue 5, docs/provision.md): a municipality's
 * participation policy, the non-participation notice (本人確認情報の提供に関する申出) and the
 * consent to be sent again, each a request row (store.h jk_request_rec) written in the caller's
 * transaction with the node's ledger entry.
 *
 * Under resident-choice a non-participation notice (1) holds the resident back: the outbox sends
 * none of their changes from now on (store.h holdback); (2) sends an erasure notice, so that the
 * prefecture and the nation clear what this municipality sent (src/sync/erasure.c) and return
 * signed receipts; (3) a recorded consent is required before the resident is sent again, and
 * (4) the reply letter lists what was done, with dates (jk_rights_reply). Under statutory the
 * notice is recorded and answered: the law requires sending (住民基本台帳法第30条の6).
 */
#ifndef JUKINET_RIGHTS_H
#define JUKINET_RIGHTS_H

#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jk_participation {
  JK_PARTICIPATION_STATUTORY = 1,      /* everyone is sent */
  JK_PARTICIPATION_RESIDENT_CHOICE = 2 /* residents who filed a non-participation notice are held back */
} jk_participation;

/* "statutory" / "resident-choice" and back (JK_EINVAL for anything else). */
JK_API const char *jk_participation_token(jk_participation p);
JK_API jk_err jk_participation_parse(const char *s, jk_participation *out);
/* The node's policy (node_meta participation.policy; statutory until set). */
JK_API jk_err jk_participation_get(jk_store *s, jk_participation *out);
/* Set it, in the caller's transaction. Going back to statutory with residents held back is
 * refused (JK_ECONFLICT): their consent (or a decision per resident) comes first. */
JK_API jk_err jk_participation_set(jk_store *s, jk_participation p);

/* A channel a request came by: letter, postcard, fax, mail (e-mail), counter (JK_EINVAL else). */
JK_API bool jk_request_channel_valid(const char *channel);

/* Record a non-participation notice of resident `code` (which must be on this registry:
 * JK_ENOTFOUND), filed on `filed_on` by `channel`, recorded by staff `by`, in the caller's
 * transaction; node_id is this municipal node (its outbox). Under resident-choice: holds the
 * resident back and sends the erasure notice (decision "accepted"); JK_ECONFLICT when the
 * resident is held back already. Under statutory: recorded with decision "recorded" and the
 * reason that the law requires sending. *out gets the request as stored. */
JK_API jk_err jk_rights_opt_out(jk_store *s, const char *node_id, const char *code, jk_date filed_on,
                                const char *channel, const char *by, const char *note, jk_request_rec *out);
/* Record the resident's consent to be sent again: the hold ends and the current record is sent
 * (a CHANGE notice of its current version). JK_ECONFLICT when the resident is not held back. */
JK_API jk_err jk_rights_consent(jk_store *s, const char *node_id, const char *code, jk_date filed_on,
                                const char *channel, const char *by, const char *note, jk_request_rec *out);

/* ---- 目的外利用の中止請求 (request to stop use outside the purpose) ----
 * Record it (kind stop-use, pending): purposes are codes of the law's table, comma-separated
 * (JK_EINVAL otherwise). Decide it (the 本人確認情報管理責任者): accepted requests' purposes
 * are stopped upstream from then on (a RESTRICT notice with the resident's whole restriction
 * state); JK_ECONFLICT when already decided, JK_EINVAL when not a stop-use request. */
JK_API jk_err jk_rights_stop_use(jk_store *s, const char *code, const char *purposes, jk_date filed_on,
                                 const char *channel, const char *by, const char *note, jk_request_rec *out);
JK_API jk_err jk_rights_decide(jk_store *s, const char *node_id, int64_t id, bool accept, const char *by,
                               const char *reason, jk_request_rec *out);

/* ---- 支援措置 (DV / stalker support measures) ----
 * Apply: a provisional block starts at once (status provisional; upstream every agency query
 * about the resident is held for review and answered "no match") while the application is
 * examined. Decide: accepted → active for one year from today (until = today + 1 year − 1 day);
 * rejected → the block ends. Extend: an active measure one more year from its end. End: at the
 * resident's request. Each sends the resident's restriction state up. JK_ECONFLICT for a step the
 * measure's status does not allow. */
JK_API jk_err jk_rights_protect(jk_store *s, const char *node_id, const char *code, const char *offenders,
                                jk_date applied_on, const char *by, const char *note, jk_protection_rec *out);
typedef enum jk_protect_step { JK_PROTECT_ACCEPT = 1, JK_PROTECT_REJECT, JK_PROTECT_EXTEND, JK_PROTECT_END } jk_protect_step;
JK_API jk_err jk_rights_protect_step(jk_store *s, const char *node_id, int64_t id, jk_protect_step step,
                                     const char *by, const char *note, jk_protection_rec *out);
/* Whether resident code is under a measure in force today (provisional or active, not past
 * its end): the municipality's own issuance and disclosure paths withhold the address then. */
JK_API jk_err jk_rights_protected(jk_store *s, const char *code, bool *out);

/* ---- 住民票の写し: the municipality's own issuance path, under the 支援措置 ----
 * Who asks: the resident (self), a member of the household, a third party (第三者請求), or a
 * public office (公用請求). While a measure is in force for the resident: a requester named
 * among the measure's offenders is refused, whoever they say they are (REFUSED); a third party
 * or an office is held for the municipality's review (REVIEW: a pending request, decided with
 * jk_rights_decide, after which one copy is issued with reviewed = its id); the resident and the
 * household get their copy. Without a measure the copy is issued. Every request is a
 * resident_request of kind copy (requester, relation and reason in its note; decision accepted
 * when issued, rejected when refused, pending under review): *req. The caller's transaction. */
struct jk_letter;
typedef enum jk_copy_relation { JK_COPY_SELF = 1, JK_COPY_HOUSEHOLD, JK_COPY_THIRD_PARTY, JK_COPY_OFFICIAL } jk_copy_relation;
typedef enum jk_copy_verdict { JK_COPY_ISSUED = 1, JK_COPY_REFUSED, JK_COPY_REVIEW } jk_copy_verdict;
/* "self", "household", "third-party", "official" */
JK_API jk_err jk_copy_relation_parse(const char *s, jk_copy_relation *out);
JK_API const char *jk_copy_relation_token(jk_copy_relation r);
/* requester: the name as written on the request (1..100 bytes of text); reason: why (may be
 * NULL for self and household; required otherwise, at most 300 bytes); channel as for the other
 * requests; reviewed: 0, or the id of this resident's copy request accepted after review and not used yet.
 * JK_ENOTFOUND: no current resident of that code. */
JK_API jk_err jk_rights_copy_request(jk_store *s, const char *code, const char *requester, jk_copy_relation rel,
                                     const char *reason, const char *channel, const char *by, int64_t reviewed,
                                     jk_copy_verdict *verdict, jk_request_rec *req);
/* Who asked, as the resident's disclosure shows a copy request: the requester's relation in
 * Japanese ("本人", "第三者" …; never the requester's name or reason, which are a third party's
 * personal data) and what became of it ("交付", "交付せず", "審査中（交付していません）" …). r: a request
 * of kind copy; for another kind both are "". */
JK_API void jk_rights_copy_summary(const jk_request_rec *r, const char **relation, const char **outcome);
/* The 住民票の写し of resident code (current record), composed into l; municipality as printed
 * ("枚方市"); to: the requester. The 住民票コード is not printed. */
JK_API jk_err jk_rights_copy_letter(jk_store *s, const char *code, const char *municipality, const char *to,
                                    struct jk_letter *l);

/* The notice to the resident of a 住民票コード change made at their request: the new code, the old
 * one (retired for good), the date and what the change sent to the prefecture and the nation.
 * new_code: the resident's current code after jk_registry_move (JK_MOVE_CODE_CHANGE). */
JK_API jk_err jk_rights_code_change_letter(jk_store *s, const char *old_code, const char *new_code,
                                           const char *municipality, struct jk_letter *l);

/* What happened to a non-participation notice, for its reply letter: the request, whether the
 * resident is held back (since when), the erasure notice's seq and, when the prefecture's
 * signed receipt covers it, that receipt's time ("" while not yet). */
typedef struct jk_rights_status {
  jk_request_rec req;
  bool held;
  char held_since[32];
  int64_t erase_seq;
  char erase_acknowledged_at[32]; /* by the prefecture (its signed receipt) */
  char acknowledged_by[64];
  char nation_acknowledged_at[32]; /* by the nation (its signed receipt, carried down; "" not yet) */
  char nation[64];
} jk_rights_status;

/* Store the nation's signed receipt r (checked by jk_sync_attest_check) in the caller's
 * transaction, and remember the nation's node id for jk_rights_status_get. */
JK_API jk_err jk_rights_nation_receipt_put(jk_store *s, const jk_receipt_row *r);
/* node_id: this node (the source of the notices); upstream: the prefecture's node id (NULL: no
 * receipt is looked for). JK_ENOTFOUND for an unknown request. */
JK_API jk_err jk_rights_status_get(jk_store *s, const char *node_id, const char *upstream, int64_t request_id,
                                   jk_rights_status *out);

/* The reply letter to request `id` (a non-participation notice or a consent), composed into l
 * (letter.h; render it with jk_letter_pdf or jk_letter_text): what was done, with dates — under
 * resident-choice the hold, the erasure notice and its receipt by the prefecture; under
 * statutory, that the notice is recorded and why the record is still sent. municipality: the
 * sender's name as printed ("枚方市"). node_id / upstream as for jk_rights_status_get. */
struct jk_letter;
JK_API jk_err jk_rights_reply(jk_store *s, const char *node_id, const char *upstream, const char *municipality,
                              int64_t id, struct jk_letter *l);

#ifdef __cplusplus
}
#endif
#endif
