/* libFuzzer target: the body of POST /sync/v1/attest (jk_sync_attest_parse) and a nation's
 * answer as a municipality checks it (jk_sync_attest_check, with no CA to trust: it must refuse,
 * never crash): what the parser accepts is one printable node id, what it refuses leaves "". */
#include "jukinet/sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char src[JK_NODE_ID_MAX + 1];
  jk_err e = jk_sync_attest_parse(data, size, src);
  size_t n = strlen(src);
  if (e != JK_OK && (e != JK_EINVAL || n != 0)) abort();
  if (e == JK_OK && (n < 1 || n > JK_NODE_ID_MAX)) abort();
  for (size_t i = 0; e == JK_OK && i < n; i++)
    if (src[i] <= 0x20 || src[i] >= 0x7f) abort();
  jk_receipt r;
  if (jk_sync_attest_check(data, size, "not a certificate", NULL, "x", &r) == JK_OK) abort();
  return 0;
}
