/* libFuzzer target: the purposes table parser (jk_purposes_parse), which reads data/purposes.tsv
 * or a newer table an operator supplies: it never crashes or reads out of bounds; whatever it
 * accepts has unique, well-formed codes and non-empty cells, and every row is found by its code. */
#include "jukinet/purpose.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  jk_purposes *p = NULL;
  jk_err e = jk_purposes_parse(&p, (const char *)data, size);
  if (e != JK_OK) {
    if ((e != JK_EINVAL && e != JK_ETOOLARGE) || p) abort();
    return 0;
  }
  for (size_t i = 0; i < jk_purposes_count(p); i++) {
    const jk_purpose *r = jk_purposes_at(p, i);
    if (!r || !r->agency[0] || !r->affair[0] || !r->citation[0] || !r->source[0]) abort();
    if (!r->fields || (r->fields & ~(unsigned)JK_FIELD_ALL) || r->code[0] != 'B') abort();
    if (jk_purposes_find(p, r->code) != r) abort();
    char buf[64];
    jk_fields_format(r->fields, buf, sizeof buf);
    unsigned back;
    if (jk_fields_parse(buf, strlen(buf), &back) != JK_OK || back != r->fields) abort();
  }
  jk_purposes_free(p);
  return 0;
}
