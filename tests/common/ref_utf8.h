/*
 * ref_utf8.h — a reference UTF-8 validator for tests and fuzz targets (header-only).
 * It decodes first and then checks the value, a different method from the library's byte
 * ranges, so the two can be compared. Returns the length of the longest valid prefix.
 */
#ifndef JK_TEST_REF_UTF8_H
#define JK_TEST_REF_UTF8_H

#include <stddef.h>
#include <stdint.h>

static inline size_t ref_valid_prefix(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len;
    uint32_t cp, min;
    if (c == 0) return i;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return n;
}

#endif
