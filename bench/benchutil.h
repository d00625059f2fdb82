/*
 * benchutil.h — timing and file helpers shared by the benchmarks (header-only).
 */
#ifndef JK_BENCHUTIL_H
#define JK_BENCHUTIL_H

#include "jukinet/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v). */
static inline double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void die(const char *what) {
  fprintf(stderr, "bench: %s: %s\n", what, jk_error_last());
  exit(1);
}

/* Remove a SQLite database and its -wal and -shm files. */
static inline void rm_db(const char *path) {
  char p[1300];
  unlink(path);
  snprintf(p, sizeof p, "%.1200s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%.1200s-shm", path);
  unlink(p);
}

#endif
