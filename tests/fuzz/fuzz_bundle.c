/* libFuzzer target: the ledger bundle checker (jk_ledger_check_bundle) treats a bundle as
 * hostile input — it never crashes or reads out of bounds, and its report is consistent:
 * JK_OK only with first_bad == 0, a finding always names an entry or a head. The key is fixed
 * (seed of zeros) so that corpus bundles made with it verify all the way through. */
#include "jukinet/ledger.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t pk[32];
  static int ready;
  if (!ready) {
    uint8_t sk[64], seed[32] = {0};
    if (sodium_init() < 0) abort();
    crypto_sign_seed_keypair(pk, sk, seed);
    ready = 1;
  }
  jk_ledger_report r;
  jk_err e = jk_ledger_check_bundle((const char *)data, size, pk, &r);
  if (e == JK_OK && (r.first_bad != 0 || r.bad_head != 0)) abort();
  if (e == JK_ECORRUPT && r.message[0] && r.first_bad == 0 && r.bad_head == 0) abort();
  if (strnlen(r.message, sizeof r.message) == sizeof r.message) abort();
  return 0;
}
