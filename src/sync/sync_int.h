/*
 * sync_int.h — shared inside src/sync: the notice tree of one source, answers, ledger entries.
 */
#ifndef JK_SYNC_INT_H
#define JK_SYNC_INT_H

#include "jukinet/buf.h"
#include "jukinet/merkle.h"
#include "jukinet/sync.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>

#define JK__SYNC_OCTET "application/octet-stream"
#define JK__SYNC_JSON "application/json; charset=utf-8"

/* A merkle source over one source's notice leaves and cached subtrees in the store. */
typedef struct jk__notice_tree {
  jk_store *s;
  const char *source;
} jk__notice_tree;
jk_merkle_source jk__notice_source(jk__notice_tree *t);

/* Persist the blocks of f's binary decomposition as cached subtrees of `source`, so that the
 * frontier at f->size loads from the store in O(log n) (jk_merkle_frontier_load). */
jk_err jk__notice_frontier_save(jk_store *s, const char *source, const jk_merkle_frontier *f);

/* One ledger entry in the caller's open transaction: the sync service as operator "-". */
jk_err jk__sync_stage(const jk_sync_ctx *ctx, const char *action, const char *object, const char *result,
                      const void *detail, size_t detail_len);

/* End a transaction that staged its ledger entry: commit when e is JK_OK, else roll back; on a
 * failure (either way) the staged entries are dropped. Returns e, or the commit's error. */
jk_err jk__sync_end(const jk_sync_ctx *ctx, jk_err e);

/* Fill an answer: 200 with the JSON object o (taken; NULL or no memory: a 500). */
void jk__sync_answer_json(jk_sync_answer *a, json_t *o);
/* Fill an answer: a JSON error {"error":{"code","message"}} with the error's name and detail. */
void jk__sync_answer_error(jk_sync_answer *a, unsigned status, jk_err e, const char *code_override);
/* erasure.c: what an ERASE notice of source (seq) clears here besides the holding row (in the
 * batch's transaction); and, at a prefecture, the scrubs the nation's receipt for source up to
 * highest now allows (in the receipt's transaction). */
jk_err jk__erase_content(const jk_sync_ctx *ctx, const char *source, int64_t seq, const char *code);
jk_err jk__scrub_acknowledged(const jk_sync_ctx *ctx, const char *source, int64_t highest);
/* The restriction row of a RESTRICT notice (in the batch's transaction). */
jk_err jk__restrict(const jk_sync_ctx *ctx, const jk_notice *n);

/* The HTTP status for an error code. */
unsigned jk__sync_status_of(jk_err e);


/* A batch's in-memory view of the holding rows of its resident codes (holdings.c). */
typedef struct jk__hview jk__hview;
jk_err jk__hview_load(jk__hview **out, jk_store *s, const char *const *codes, size_t n);
void jk__hview_free(jk__hview *v);
/* The row of (code, source), NULL when none. Valid until the next put. */
const jk_holding_rec *jk__hview_get(const jk__hview *v, const char *code, const char *source);
jk_err jk__hview_put(jk__hview *v, const jk_holding_rec *r);
void jk__hview_delete(jk__hview *v, const char *code, const char *source);
/* The current record of a code among the rows of the view. */
bool jk__hview_current(const jk__hview *v, const char *code, jk_holding_rec *out);
/* Write every changed row back (one put_many, deletes one by one). The view is spent: only
 * jk__hview_free may follow. */
jk_err jk__hview_flush(jk__hview *v, jk_store *s);

/* Copy between the store's head row and the wire struct. */
void jk__head_from_row(jk_outbox_head *h, const jk_sync_head_row *r);
void jk__head_to_row(jk_sync_head_row *r, const jk_outbox_head *h);

/* Receipts between wire and store. */
void jk__receipt_to_row(jk_receipt_row *r, const jk_receipt *w);
void jk__receipt_from_row(jk_receipt *w, const jk_receipt_row *r);

#endif
