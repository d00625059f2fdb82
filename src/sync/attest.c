/*
 * attest.c — POST /sync/v1/attest: the nation's signed receipt for a municipality, carried down
 * by its prefecture (docs/protocol.md). A municipality that sent an erasure learns from it that
 * the nation holds (and so has applied, and erased) its notices up to highest_seq — signed by
 * the nation itself, with the nation's certificate so that the municipality checks it against
 * the network CA without ever talking to the nation.
 *
 * Body {"source": "<municipality node id>"}. The prefecture passes it on only for the asking
 * municipality itself (jukinetd); the nation answers a prefecture only for a municipality of its
 * prefecture (same first two digits of the 地方公共団体コード), with a fresh receipt: receiver the
 * nation, sender the prefecture (whose ledger head the nation countersigned last), source, the
 * highest seq held, signed now. Answer 200 {"receipt": base64, "cert": PEM}; each is recorded.
 */
#include "sync_int.h"

#include "jukinet/pki.h"

#include <jansson.h>
#include <sodium.h>
#include <string.h>

jk_err jk_sync_attest_parse(const uint8_t *body, size_t len, char source[JK_NODE_ID_MAX + 1]) {
  json_error_t je;
  source[0] = '\0';
  json_t *o = len <= 1024 ? json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
  const char *s = json_string_value(json_object_get(o, "source"));
  size_t n = s ? strlen(s) : 0;
  bool ok = o && json_object_size(o) == 1 && n >= 1 && n <= JK_NODE_ID_MAX;
  for (size_t i = 0; ok && i < n; i++) ok = s[i] > 0x20 && s[i] < 0x7f;
  if (ok) memcpy(source, s, n + 1);
  json_decref(o);
  return ok ? JK_OK : jk_error_set(JK_EINVAL, "attest: the body must be {\"source\": a node id}");
}

static jk_err issue(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *source, jk_receipt *r) {
  if (ctx->tier != JK_TIER_NATIONAL) return jk_error_set(JK_EPERM, "only the nation issues these receipts");
  if (strcmp(peer->role, "prefectural") != 0) return jk_error_set(JK_EPERM, "the nation attests to prefectures only");
  jk_peer_rec src;
  jk_err e = jk_store_peer_get(ctx->store, source, &src);
  if (e) return jk_error_set(JK_EPERM, "%s is not a municipality known here", source);
  bool same = strncmp(src.lgcode, peer->lgcode, 2) == 0;
  jk_free(src.cert_pem);
  if (!same) return jk_error_set(JK_EPERM, "%s is not a municipality of %s's prefecture", source, peer->node);
  int64_t highest, size = 0;
  uint8_t root[32] = {0};
  if ((e = jk_store_notice_size(ctx->store, source, &highest))) return e;
  e = jk_store_sync_ack_get(ctx->store, peer->node, &size, root);
  if (e && e != JK_ENOTFOUND) return e;
  memset(r, 0, sizeof *r);
  snprintf(r->receiver, sizeof r->receiver, "%s", ctx->node_id);
  snprintf(r->sender, sizeof r->sender, "%s", peer->node);
  snprintf(r->source, sizeof r->source, "%s", source);
  r->highest_seq = (uint64_t)highest;
  r->ledger_size = (uint64_t)size;
  memcpy(r->ledger_root, root, 32);
  char at[32];
  jk_utc_now(at, 0);
  memcpy(r->at, at, sizeof r->at - 1); /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ": 27 bytes */
  r->at[sizeof r->at - 1] = '\0';
  return jk_receipt_sign(r, &ctx->signer);
}

void jk_sync_attest(const jk_sync_ctx *ctx, const jk_sync_peer *peer, const char *cert_pem, const uint8_t *body,
                    size_t len, jk_sync_answer *ans) {
  memset(ans, 0, sizeof *ans);
  char source[JK_NODE_ID_MAX + 1];
  jk_receipt r;
  jk_err e = jk_sync_attest_parse(body, len, source);
  if (!e) e = issue(ctx, peer, source, &r);
  uint8_t enc[JK_RECEIPT_ENCODED_MAX];
  size_t n = 0;
  if (!e) e = jk_receipt_encode(&r, enc, sizeof enc, &n);
  jk_err le = jk_store_begin(ctx->store);
  if (!le) le = jk__sync_stage(ctx, "sync.attest", source[0] ? source : "-", e ? jk_err_name(e) : "ok", body, len);
  if (!le) le = jk__sync_end(ctx, JK_OK);
  if (!e && le) e = le;
  if (e) {
    jk__sync_answer_error(ans, jk__sync_status_of(e), e, NULL);
    ans->err = e;
    return;
  }
  char b64[sodium_base64_ENCODED_LEN(JK_RECEIPT_ENCODED_MAX, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, enc, n, sodium_base64_VARIANT_ORIGINAL);
  json_t *o = json_pack("{s:s,s:s}", "receipt", b64, "cert", cert_pem ? cert_pem : "");
  jk__sync_answer_json(ans, o);
}

jk_err jk_sync_attest_check(const void *answer, size_t len, const char *ca_pem, const char *crl_pem, const char *source,
                            jk_receipt *out) {
  memset(out, 0, sizeof *out);
  json_error_t je;
  json_t *o = json_loadb(answer, len, 0, &je);
  const char *b64 = json_string_value(json_object_get(o, "receipt")), *cert = json_string_value(json_object_get(o, "cert"));
  jk_err e = b64 && cert ? JK_OK : jk_error_set(JK_EINVAL, "attest: the answer holds no receipt and certificate");
  uint8_t enc[JK_RECEIPT_ENCODED_MAX];
  size_t n = 0;
  if (!e && sodium_base642bin(enc, sizeof enc, b64, strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
    e = jk_error_set(JK_EINVAL, "attest: the receipt is not base64");
  if (!e) e = jk_receipt_decode(out, enc, n);
  /* the certificate: a node certificate of the network, of the nation, naming the receipt's signer */
  char id[JK_PKI_ID_MAX];
  jk_pki_info info;
  if (!e) e = jk_pki_verify(ca_pem, crl_pem, cert, 0, id);
  if (!e) e = jk_pki_info_read(cert, &info);
  if (!e && (strcmp(info.role, "national") != 0 || !info.is_ed25519))
    e = jk_error_set(JK_EPERM, "attest: the certificate is not the nation's");
  if (!e && strcmp(id, out->receiver) != 0)
    e = jk_error_set(JK_EPERM, "attest: the receipt is signed by %s, the certificate names %s", out->receiver, id);
  if (!e && !jk_receipt_verify(out, info.ed25519)) e = jk_error_set(JK_ECRYPTO, "attest: the receipt's signature is wrong");
  if (!e && strcmp(out->source, source) != 0)
    e = jk_error_set(JK_EPERM, "attest: the receipt is about %s, not %s", out->source, source);
  json_decref(o);
  if (e) memset(out, 0, sizeof *out);
  return e;
}
