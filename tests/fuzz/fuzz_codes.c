/* libFuzzer target: resident and local-government code validation agree with an independent
 * reference implementation on every input. */
#include "jukinet/rescode.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref_rescode(const uint8_t *s, size_t n) {
  if (n != 11) return 0;
  int sum = 0;
  for (size_t i = 0; i < 11; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  for (int i = 0; i < 10; i++) sum += (s[9 - i] - '0') * (i % 6 + 2);
  int r = sum % 11, c = r <= 1 ? 0 : 11 - r;
  return s[10] - '0' == c;
}

static int ref_lgcode(const uint8_t *s, size_t n) {
  if (n != 6) return 0;
  for (size_t i = 0; i < 6; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  int pref = (s[0] - '0') * 10 + (s[1] - '0');
  if (pref < 1 || pref > 47) return 0;
  int sum = (s[0] - '0') * 6 + (s[1] - '0') * 5 + (s[2] - '0') * 4 + (s[3] - '0') * 3 + (s[4] - '0') * 2;
  return s[5] - '0' == (11 - sum % 11) % 10;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if ((jk_rescode_validate((const char *)data, size) == JK_OK) != ref_rescode(data, size)) abort();
  if ((jk_lgcode_validate((const char *)data, size) == JK_OK) != ref_lgcode(data, size)) abort();
  return 0;
}
