/*
 * file.c — jk_file_read: a whole small file, size-capped before anything is allocated.
 */
#include "jukinet/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

jk_err jk_file_read(const char *path, size_t max, char **out, size_t *len_out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return jk_error_set(errno == ENOENT ? JK_ENOTFOUND : JK_EIO, "cannot open %s: %s", path, strerror(errno));
  jk_err e = JK_OK;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0) {
    e = jk_error_set(JK_EIO, "cannot read %s: %s", path, strerror(errno));
    goto out;
  }
  if (st.st_size < 0 || (size_t)st.st_size > max) {
    e = jk_error_set(JK_ETOOLARGE, "%s is larger than %zu bytes", path, max);
    goto out;
  }
  size_t n = (size_t)st.st_size, got = 0;
  if (!(buf = jk_malloc(n + 1))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      e = jk_error_set(JK_EIO, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
      goto out;
    }
    got += (size_t)r;
  }
  buf[n] = 0;
  if (len_out) *len_out = n;
  *out = buf;
  buf = NULL;
out:
  jk_free(buf);
  close(fd);
  return e;
}
