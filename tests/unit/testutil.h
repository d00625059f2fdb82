/*
 * testutil.h — small helpers shared by the cmocka unit tests (header-only).
 */
#ifndef JK_TESTUTIL_H
#define JK_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jukinet/err.h"
#include "jukinet/i18n.h"

/* A fresh temporary directory path (created); caller frees and removes with tu_rmdir. */
static inline char *tu_tmpdir(void) {
  char tmpl[] = "/tmp/jukinet-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

static inline void tu_rmdir(char *dir) {
  char cmd[512];
  if (!dir) return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
  free(dir);
}

/* The whole of a small file (< 64 KiB), NUL-terminated: dir/name, or name alone when dir is
 * NULL. Fails the test when it cannot be read. Caller frees. */
static inline char *tu_slurp(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  char *buf = calloc(1, 1 << 16);
  size_t n = fread(buf, 1, (1 << 16) - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

/* Assert that the last error detail contains `needle`. */
#define assert_error_contains(needle)                                                         \
  do {                                                                                        \
    const char *detail_ = jk_error_last();                                                    \
    if (!strstr(detail_, (needle))) fail_msg("error detail '%s' lacks '%s'", detail_, (needle)); \
  } while (0)

#endif
