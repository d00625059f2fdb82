/*
 * storefx.h — a cmocka fixture with a fresh SQLite node.db in a temporary directory
 * (header-only; include after testutil.h).
 */
#ifndef JK_STOREFX_H
#define JK_STOREFX_H

#include "jukinet/store.h"

typedef struct fx {
  char *dir;
  jk_store *s;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  char path[512];
  f->dir = tu_tmpdir();
  snprintf(path, sizeof path, "%s/node.db", f->dir);
  assert_int_equal(jk_store_open(&f->s, path, JK_STORE_CREATE), JK_OK);
  jk_lang_set(JK_LANG_EN);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  jk_store_close(f->s);
  tu_rmdir(f->dir);
  free(f);
  return 0;
}

static inline int64_t count(jk_store *s) {
  int64_t n = -1;
  assert_int_equal(jk_store_resident_count(s, 0, &n), JK_OK);
  return n;
}

#endif
