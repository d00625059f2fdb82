/* libFuzzer target: the receipt decoder (jk_receipt_decode), which a sender runs on whatever the
 * next node up answers — hostile input: it never crashes or reads out of bounds, and whatever it
 * accepts re-encodes to exactly the same bytes. */
#include "jukinet/notice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jk_receipt r;
  jk_err e = jk_receipt_decode(&r, data, size);
  if (e != JK_OK) {
    if (e != JK_EINVAL && e != JK_ETOOLARGE) abort();
    return 0;
  }
  uint8_t buf[JK_RECEIPT_ENCODED_MAX];
  size_t len;
  if (jk_receipt_encode(&r, buf, sizeof buf, &len) != JK_OK) abort();
  if (len != size || memcmp(buf, data, size) != 0) abort();
  /* a decoded receipt is verifiable without crashing, whatever key */
  static const uint8_t zero[32];
  (void)jk_receipt_verify(&r, zero);
  return 0;
}
