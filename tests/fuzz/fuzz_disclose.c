/* libFuzzer target: the body of POST /sync/v1/disclose (jk_sync_disclose_parse), sent by a
 * municipality or a prefecture: it never crashes or reads out of bounds; what it accepts is 1 to
 * JK_DISCLOSE_CODES_MAX valid resident codes, and what it refuses yields none. */
#include "jukinet/rescode.h"
#include "jukinet/sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char codes[JK_DISCLOSE_CODES_MAX][JK_RESCODE_LEN + 1];
  size_t n = 99;
  jk_err e = jk_sync_disclose_parse(data, size, codes, &n);
  if (e != JK_OK) {
    if (e != JK_EINVAL || n != 0) abort();
    return 0;
  }
  if (n < 1 || n > JK_DISCLOSE_CODES_MAX) abort();
  for (size_t i = 0; i < n; i++)
    if (jk_rescode_validate(codes[i], strlen(codes[i])) != JK_OK) abort();
  return 0;
}
