/* libFuzzer target: node.conf. Whatever the file holds, jk_node_open either opens a node or
 * fails with an error detail; it never crashes or leaks. (The directory has no node.db, so a
 * well-formed config ends at the store, which is all we want to reach.) */
#include "jukinet/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char dir[64];
  char path[128];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/jukinet-fuzz-nodeconf-%d", (int)getpid());
    if (mkdir(dir, 0700) != 0) { /* left over from a crashed run: reuse */
    }
  }
  snprintf(path, sizeof path, "%s/node.conf", dir);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  fwrite(data, 1, size, f);
  fclose(f);
  jk_node *n = NULL;
  jk_err e = jk_node_open(&n, dir, JK_STORE_READONLY);
  if (e == JK_OK) jk_node_close(n);
  else if (!jk_error_last()[0]) abort();
  return 0;
}
