/*
 * card.c — proving possession of an operator IC card (REQ-ACCESS-11-1).
 *
 * The card is a PKCS#11 token holding an Ed25519 key labelled "jukinet-operator". Proof =
 * C_Login with the card's PIN, then the card signs a fresh 32-byte random challenge (bound to
 * its purpose by a fixed prefix) and the signature must verify against the public key enrolled
 * for the operator. A card that only reports the enrolled public key but cannot sign with the
 * matching private key fails here.
 */
#include "auth/auth_int.h"

#include "jukinet/token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void copy_id(jk_token *t, char serial[65], char label[65]) {
  snprintf(serial, 65, "%s", jk_token_serial(t));
  snprintf(label, 65, "%s", jk_token_label(t));
}

jk_err jk__card_identify(const char *module, const char *token_label, char serial[65], char label[65]) {
  jk_token *t = NULL;
  jk_err e = jk_token_open(&t, module, token_label);
  if (e) return jk_error_prefix("IC card: ");
  copy_id(t, serial, label);
  jk_token_close(t);
  return JK_OK;
}

jk_err jk__card_prove(const char *module, const char *token_label, const char *pin, size_t pin_len,
                      const uint8_t *expected_pk, uint8_t pk_out[32], char serial[65], char label[65]) {
  jk_token *t = NULL;
  uint8_t pk[32], sig[64];
  uint8_t challenge[32 + 32] = "jukinet operator card challenge";
  jk_err e = jk_token_open(&t, module, token_label);
  if (e) return jk_error_prefix("IC card: ");
  copy_id(t, serial, label);
  if ((e = jk_token_login(t, pin, pin_len))) {
    jk_error_prefix("IC card: ");
    goto out;
  }
  if ((e = jk_token_public_key(t, JK_CARD_KEY_LABEL, pk))) {
    jk_error_prefix("IC card: ");
    goto out;
  }
  randombytes_buf(challenge + 32, 32);
  if ((e = jk_token_sign(t, JK_CARD_KEY_LABEL, challenge, sizeof challenge, sig))) {
    jk_error_prefix("IC card: ");
    goto out;
  }
  /* verify against what is enrolled, not against what the card claims */
  const uint8_t *check = expected_pk ? expected_pk : pk;
  if (!jk_token_verify(check, challenge, sizeof challenge, sig)) {
    e = jk_error_set(JK_EAUTH, "the card's key is not the one enrolled for this card");
    goto out;
  }
  if (pk_out) memcpy(pk_out, pk, 32);
out:
  jk_token_close(t);
  return e;
}
