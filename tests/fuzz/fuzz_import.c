/* libFuzzer target: CSV import into an in-memory node. Whatever the bytes, import either
 * stores every row or nothing, and never crashes. */
#include "jukinet/registry.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static jk_store *s;
  if (!s && jk_store_open(&s, ":memory:", JK_STORE_CREATE) != JK_OK) abort();
  int64_t before = 0, after = 0;
  jk_store_resident_count(s, 0, &before);
  jk_import_result res;
  jk_err e = jk_registry_import_csv(s, (const char *)data, size, &res);
  jk_store_resident_count(s, 0, &after);
  if (e != JK_OK && after != before) abort();             /* all or nothing */
  if (e == JK_OK && after != before + (int64_t)res.rows) abort();
  return 0;
}
