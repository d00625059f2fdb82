/* libFuzzer target: an agency's query body (jk_provision_query_parse), the first bytes a client
 * of POST /api/v1/provision controls: it never crashes or reads out of bounds; what it accepts
 * names the resident exactly one way, with a valid code or kana + a real date + a sex, and what
 * it refuses leaves nothing filled in. */
#include "jukinet/provision.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jk_provision_query q;
  jk_err e = jk_provision_query_parse(data, size, &q);
  if (e != JK_OK) {
    static const jk_provision_query zero;
    if ((e != JK_EINVAL && e != JK_ETOOLARGE) || memcmp(&q, &zero, sizeof q) != 0) abort();
    return 0;
  }
  if (!jk_purpose_code_valid(q.purpose, strlen(q.purpose))) abort();
  if (q.by_code) {
    if (jk_rescode_validate(q.code, strlen(q.code)) != JK_OK || q.kana[0] || q.address[0]) abort();
  } else {
    if (q.code[0] || !q.kana[0] || !q.birth.y || (q.sex != JK_SEX_MALE && q.sex != JK_SEX_FEMALE)) abort();
  }
  return 0;
}
