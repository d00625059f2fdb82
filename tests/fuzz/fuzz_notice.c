/* libFuzzer target: the change-notice decoder (jk_notice_decode) treats its input as hostile —
 * it never crashes or reads out of bounds, it zeroes its output on failure, and whatever it
 * accepts re-encodes to exactly the same bytes (one notice, one encoding). */
#include "jukinet/notice.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jk_notice n;
  jk_err e = jk_notice_decode(&n, data, size);
  if (e != JK_OK) {
    if (e != JK_EINVAL && e != JK_ETOOLARGE) abort();
    if (n.seq != 0 || n.kind != 0) abort();
    return 0;
  }
  uint8_t buf[JK_NOTICE_ENCODED_MAX];
  size_t len;
  if (jk_notice_encode(&n, buf, sizeof buf, &len) != JK_OK) abort();
  if (len != size || memcmp(buf, data, size) != 0) abort();
  return 0;
}
