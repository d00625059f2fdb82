/*
 * outbox.c — a municipal node's outbox: each registry write's change notice, appended to the
 * node's own notice log in the same transaction as the write (docs/protocol.md "Notices").
 *
 * The notice log is hashed like the ledger (leaf = SHA-256(0x00 ‖ encoding)); its tree heads
 * are signed later, by the sender, one per batch (sync_send.c): the write path pays one
 * encoding, one SHA-256 and one row, never a signature.
 */
#include "sync_int.h"

#include <string.h>

/* Append notice n (its seq is set here: the source's next). */
static jk_err append(jk_store *s, const char *node_id, jk_notice *n, int64_t *seq_out) {
  int64_t size;
  jk_err e = jk_store_notice_size(s, node_id, &size);
  if (e) return e;
  n->seq = (uint64_t)size + 1;
  uint8_t enc[JK_NOTICE_ENCODED_MAX];
  size_t len;
  if ((e = jk_notice_encode(n, enc, sizeof enc, &len))) return jk_error_prefix("outbox: ");
  jk_notice_row row = {.source = node_id, .seq = size + 1, .code = n->code, .enc = enc, .enc_len = len};
  jk_notice_leaf(enc, len, row.leaf);
  if ((e = jk_store_notice_append(s, &row))) return e;
  if (seq_out) *seq_out = size + 1;
  return JK_OK;
}

jk_err jk_outbox_record(jk_store *s, const char *node_id, const jk_identity *rec, const char *prev_code) {
  if (!s || !node_id || !rec) return jk_error_set(JK_EINVAL, "jk_outbox_record: bad argument");
  jk_notice n;
  jk_err e = jk_notice_from_identity(&n, node_id, 1, rec);
  if (e) return jk_error_prefix("outbox: ");
  if (prev_code && rec->reason == JK_MOVE_CODE_CHANGE) snprintf(n.prev_code, sizeof n.prev_code, "%s", prev_code);
  return append(s, node_id, &n, NULL);
}

jk_err jk_outbox_erase(jk_store *s, const char *node_id, const char *code, jk_date on, int64_t *seq) {
  if (!s || !node_id || !code || jk_rescode_validate(code, strlen(code)) || !jk_date_valid(on))
    return jk_error_set(JK_EINVAL, "jk_outbox_erase: bad argument");
  jk_notice n;
  memset(&n, 0, sizeof n);
  snprintf(n.source, sizeof n.source, "%s", node_id);
  n.kind = JK_NOTICE_ERASE;
  snprintf(n.code, sizeof n.code, "%s", code);
  n.moved_on = on;
  return append(s, node_id, &n, seq);
}

typedef struct outbox_hook {
  char node_id[JK_NODE_ID_MAX + 1];
} outbox_hook;

jk_err jk_outbox_restrict(jk_store *s, const char *node_id, const char *code, bool protect, jk_date since,
                          jk_date until, const char *purposes, int64_t *seq) {
  if (seq) *seq = 0;
  if (!s || !node_id || !code || !purposes) return jk_error_set(JK_EINVAL, "jk_outbox_restrict: bad argument");
  jk_holdback_rec hb;
  jk_err e = jk_store_holdback_get(s, code, &hb);
  if (e == JK_OK) return JK_OK; /* held back: the tiers above hold nothing to restrict */
  if (e != JK_ENOTFOUND) return e;
  jk_notice n;
  memset(&n, 0, sizeof n);
  snprintf(n.source, sizeof n.source, "%s", node_id);
  n.kind = JK_NOTICE_RESTRICT;
  snprintf(n.code, sizeof n.code, "%s", code);
  n.moved_on = since;
  n.protect = protect;
  if (protect) n.until = until;
  if (strlen(purposes) >= sizeof n.purposes) return jk_error_set(JK_ETOOLARGE, "outbox: too many purposes to stop");
  snprintf(n.purposes, sizeof n.purposes, "%s", purposes);
  return append(s, node_id, &n, seq);
}

/* A held-back resident (a non-participant under resident-choice) changes the registry but
 * sends nothing; a code change carries the hold over to the new code. */
static jk_err on_change(jk_store *s, const jk_identity *rec, const char *prev_code, void *payload) {
  outbox_hook *h = payload;
  jk_holdback_rec hb;
  const char *held = rec->code;
  jk_err e = jk_store_holdback_get(s, held, &hb);
  if (e == JK_ENOTFOUND && prev_code && *prev_code && rec->reason == JK_MOVE_CODE_CHANGE)
    e = jk_store_holdback_get(s, held = prev_code, &hb);
  if (e == JK_ENOTFOUND) return jk_outbox_record(s, h->node_id, rec, prev_code);
  if (e) return e;
  if (held != rec->code) { /* the hold follows the resident to the new code */
    if ((e = jk_store_holdback_delete(s, held))) return e;
    snprintf(hb.code, sizeof hb.code, "%s", rec->code);
    return jk_store_holdback_put(s, &hb);
  }
  return JK_OK;
}

jk_err jk_outbox_attach(jk_store *s, const char *node_id) {
  if (!s || !node_id || !*node_id || strlen(node_id) > JK_NODE_ID_MAX)
    return jk_error_set(JK_EINVAL, "jk_outbox_attach: bad argument");
  outbox_hook *h = jk_calloc(1, sizeof *h);
  if (!h) return jk_error_set(JK_ENOMEM, NULL);
  snprintf(h->node_id, sizeof h->node_id, "%s", node_id);
  jk_store_set_change_hook(s, on_change, h, jk_free);
  return JK_OK;
}

void jk_outbox_detach(jk_store *s) {
  if (s) jk_store_set_change_hook(s, NULL, NULL, NULL);
}
