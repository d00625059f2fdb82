/*
 * alloc.c — the single allocation path of libjukinet, with failure injection for tests.
 *
 * Invariant: every heap allocation the library makes goes through jk_malloc/jk_calloc/
 * jk_realloc, so "fail the Nth allocation" reaches every allocation site (sqlite's
 * test_malloc idea). The counter is process-wide and atomic; injection is for
 * single-threaded tests.
 */
#include "jukinet/common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong alloc_count;
static atomic_ulong fail_at; /* 0 = never */

static int should_fail(void) {
  unsigned long n = atomic_fetch_add(&alloc_count, 1) + 1;
  unsigned long f = atomic_load(&fail_at);
  return f != 0 && n == f;
}

unsigned long jk_alloc_fail_at(unsigned long nth) {
  unsigned long seen = atomic_exchange(&alloc_count, 0);
  atomic_store(&fail_at, nth);
  return seen;
}

void *jk_malloc(size_t n) {
  if (should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *jk_calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *jk_realloc(void *p, size_t n) {
  if (should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

char *jk_strndup(const char *s, size_t n) {
  char *d = jk_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *jk_strdup(const char *s) { return jk_strndup(s, strlen(s)); }

void jk_free(void *p) { free(p); }
