/*
 * bench_net — timing helper for the network benchmark in bench/run (a whole network of
 * jukinetd on loopback, scripts/devnet). It only reads stores (read-only), polling every 0.2 ms:
 *
 *   bench_net wait STORE SOURCE COUNT [TIMEOUT_S]
 *       until STORE holds COUNT notices of SOURCE; prints the seconds it took.
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

static void nap(void) {
  struct timespec ts = {0, 200000};
  nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "wait") == 0) {
    jk_store *s;
    if (jk_store_open(&s, argv[2], JK_STORE_READONLY)) die("open");
    int64_t want = strtoll(argv[4], NULL, 10);
    double limit = argc > 5 ? strtod(argv[5], NULL) : 600, t0 = now_s();
    while (size_of(s, argv[3]) < want) {
      if (now_s() - t0 > limit) return 1;
      nap();
    }
    printf("%.3f\n", now_s() - t0);
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
      nap();
    }
    double committed = now_s();
    while (size_of(n, argv[4]) < next) {
      if (now_s() - t0 > limit) return 1;
      nap();
    }
    printf("%.2f\n", (now_s() - committed) * 1000);
    jk_store_close(m);
    jk_store_close(n);
    return 0;
  }
  fprintf(stderr, "usage: bench_net wait STORE SOURCE COUNT [TIMEOUT] | latency MUNI NATION SOURCE [TIMEOUT]\n");
  return 2;
}
