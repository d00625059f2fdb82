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

jk_err jk_outbox_record(jk_store *s, const char *node_id, const jk_identity *rec, const char *prev_code) {
  if (!s || !node_id || !rec) return jk_error_set(JK_EINVAL, "jk_outbox_record: bad argument");
  int64_t size;
  jk_err e = jk_store_notice_size(s, node_id, &size);
  if (e) return e;
  jk_notice n;
  if ((e = jk_notice_from_identity(&n, node_id, (uint64_t)size + 1, rec))) return jk_error_prefix("outbox: ");
  if (prev_code && rec->reason == JK_MOVE_CODE_CHANGE) snprintf(n.prev_code, sizeof n.prev_code, "%s", prev_code);
  uint8_t enc[JK_NOTICE_ENCODED_MAX];
  size_t len;
  if ((e = jk_notice_encode(&n, enc, sizeof enc, &len))) return jk_error_prefix("outbox: ");
  jk_notice_row row = {.source = node_id, .seq = size + 1, .code = n.code, .enc = enc, .enc_len = len};
  jk_notice_leaf(enc, len, row.leaf);
  return jk_store_notice_append(s, &row);
}

typedef struct outbox_hook {
  char node_id[JK_NODE_ID_MAX + 1];
} outbox_hook;

static jk_err on_change(jk_store *s, const jk_identity *rec, const char *prev_code, void *payload) {
  outbox_hook *h = payload;
  return jk_outbox_record(s, h->node_id, rec, prev_code);
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
