/* libFuzzer target: the event-loop HTTPS server's request head parser (src/net/http1.c) treats
 * its input as hostile — it never reads past the bytes it is given, it zeroes its result
 * unless it accepts, whatever it accepts lies inside the head and keeps the grammar's promises
 * (token method, visible-ASCII target, CRLFCRLF at the end), and the head alone parses the same
 * as the head with any bytes after it (the body or the next request cannot change it). */
#include "net/http1.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes: ASan sees any read past the end */
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  jk__http_head h;
  const char *why = (const char *)1;
  jk__http_rc rc = jk__http_parse_head(buf, size, MAX_HEAD, &h, &why);
  static const jk__http_head zero;
  switch (rc) {
  case JK__HTTP_MORE:
    if (why || memcmp(&h, &zero, sizeof h) != 0 || size >= MAX_HEAD) abort();
    break;
  case JK__HTTP_BAD:
  case JK__HTTP_TOO_LARGE:
    if (!why || !*why || memcmp(&h, &zero, sizeof h) != 0) abort();
    break;
  case JK__HTTP_OK: {
    if (why || h.head_len < 4 || h.head_len > size || h.head_len > MAX_HEAD) abort();
    if (memcmp(buf + h.head_len - 4, "\r\n\r\n", 4) != 0) abort();
    if (!h.method_len || h.method_len > JK__HTTP_METHOD_MAX || h.method_off + h.method_len > h.head_len) abort();
    if (!h.target_len || h.target_len > JK__HTTP_TARGET_MAX || h.target_off + h.target_len > h.head_len) abort();
    if (h.path_len > h.target_len) abort();
    for (size_t i = 0; i < h.target_len; i++)
      if (buf[h.target_off + i] <= 0x20 || buf[h.target_off + i] >= 0x7f) abort();
    if (h.has_length && h.transfer_encoding) abort();
    jk__http_head again;
    const char *why2;
    if (jk__http_parse_head(buf, h.head_len, MAX_HEAD, &again, &why2) != JK__HTTP_OK) abort();
    if (memcmp(&again, &h, sizeof h) != 0) abort();
    break;
  }
  default:
    abort();
  }
  free(buf);
  return 0;
}
