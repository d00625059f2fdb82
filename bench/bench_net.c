/*
 * bench_net — timing helper for the network benchmark in bench/run (a whole network of
 * jukinetd on loopback, scripts/devnet). It only reads stores (read-only), polling every 0.2 ms:
 *
 *   bench_net wait STORE SOURCE COUNT [TIMEOUT_S]
 *       until STORE holds COUNT notices of SOURCE (polling every 2 ms: a tighter poll took 11 %
 *       of a core from the daemons being measured); prints the seconds it took, then the seconds
 *       from 10 % to 90 % of COUNT (the steady state, without the pipeline's fill and drain).
 *   bench_net latency MUNI_STORE NATION_STORE SOURCE [TIMEOUT_S]
 *       waits for the municipality's next notice to commit, then for the nation to hold it;
 *       prints the milliseconds between the two (one registration's trip up the tiers).
 * STORE is a jk_store location (a node.db path or postgresql:…). Exit 1 on timeout.
 */
#include "benchutil.h"
#include "jukinet/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t size_of(jk_store *s, const char *source) {
  int64_t n = 0;
  if (jk_store_notice_size(s, source, &n)) die("notice_size");
  return n;
}

static void nap(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "wait") == 0) {
    jk_store *s;
    if (jk_store_open(&s, argv[2], JK_STORE_READONLY)) die("open");
    int64_t want = strtoll(argv[4], NULL, 10);
    double limit = argc > 5 ? strtod(argv[5], NULL) : 600, t0 = now_s(), t10 = 0, t90 = 0;
    int64_t have;
    while ((have = size_of(s, argv[3])) < want) {
      double t = now_s();
      if (t - t0 > limit) return 1;
      if (!t10 && have * 10 >= want) t10 = t;
      if (!t90 && have * 10 >= want * 9) t90 = t;
      nap(2000000);
    }
    double end = now_s();
    if (!t10) t10 = end;
    if (!t90) t90 = end;
    printf("%.3f %.3f\n", end - t0, t90 - t10);
    jk_store_close(s);
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "latency") == 0) {
    jk_store *m, *n;
    if (jk_store_open(&m, argv[2], JK_STORE_READONLY) || jk_store_open(&n, argv[3], JK_STORE_READONLY)) die("open");
    double limit = argc > 5 ? strtod(argv[5], NULL) : 30, t0 = now_s();
    int64_t base = size_of(m, argv[4]), next;
    while ((next = size_of(m, argv[4])) <= base) {
      if (now_s() - t0 > limit) return 1;
      nap(200000);
    }
    double committed = now_s();
    while (size_of(n, argv[4]) < next) {
      if (now_s() - t0 > limit) return 1;
      nap(200000);
    }
    printf("%.2f\n", (now_s() - committed) * 1000);
    jk_store_close(m);
    jk_store_close(n);
    return 0;
  }
  fprintf(stderr, "usage: bench_net wait STORE SOURCE COUNT [TIMEOUT] | latency MUNI NATION SOURCE [TIMEOUT]\n");
  return 2;
}
