/*
 * cli.c — option parsing, output, error reporting and file helpers of the jukinet tool.
 */
#include "cli.h"

#include "jukinet/buf.h"
#include "jukinet/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_exit_code(jk_err e) {
  switch (e) {
  case JK_OK: return EXIT_OK_;
  case JK_EINVAL:
  case JK_ETOOLARGE: return EXIT_INVALID;
  case JK_ENOTFOUND: return EXIT_NOTFOUND;
  case JK_EEXISTS:
  case JK_ECONFLICT: return EXIT_CONFLICT;
  case JK_EAUTH: return EXIT_AUTH;
  case JK_EPERM: return EXIT_PERM;
  case JK_EBUSY: return EXIT_BUSY;
  case JK_ECORRUPT: return EXIT_CORRUPT;
  case JK_EDISCONNECTED: return EXIT_DISCONNECTED;
  case JK_EUNSUPPORTED: return EXIT_UNSUPPORTED;
  default: return EXIT_IO;
  }
}

int cli_fail(jk_err e) {
  fprintf(stderr, "jukinet: %s: %s\n", jk_tr("error"), jk_error_last());
  return cli_exit_code(e);
}

int cli_usage(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "jukinet: ");
  va_start(ap, fmt);
  vfprintf(stderr, jk_tr(fmt), ap);
  va_end(ap);
  fprintf(stderr, "\n%s\n", jk_tr("See: jukinet help"));
  return EXIT_USAGE;
}

void cli_out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(jk_tr(fmt), ap);
  va_end(ap);
}

int cli_json(json_t *v) {
  if (!v) {
    fprintf(stderr, "jukinet: out of memory\n");
    return EXIT_IO;
  }
  char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(v);
  if (!s) return EXIT_IO;
  puts(s);
  free(s);
  return 0;
}

static int set_lang(const char *v) {
  int l = jk_lang_parse(v);
  if (l < 0) return cli_usage("unknown language '%s' (ja or en)", v);
  jk_lang_set((jk_lang)l);
  return 0;
}

int cli_parse(int argc, char **argv, const cli_opt *opts, const char **pos, int max_pos, int *npos,
              cli_global *g) {
  bool only_pos = false;
  *npos = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
      if (*npos >= max_pos) return cli_usage("unexpected argument '%s'", a);
      pos[(*npos)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (a[1] != '-') return cli_usage("unknown option '%s'", a);
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const char *inline_val = eq ? eq + 1 : NULL;
    /* globals */
    if (nlen == 4 && strncmp(name, "json", 4) == 0 && !inline_val) {
      g->json = true;
      continue;
    }
    if ((nlen == 4 && strncmp(name, "lang", 4) == 0) || (nlen == 3 && strncmp(name, "dir", 3) == 0)) {
      const char *v = inline_val;
      if (!v) {
        if (i + 1 >= argc) return cli_usage("option --%.*s needs a value", (int)nlen, name);
        v = argv[++i];
      }
      if (nlen == 3) g->dir = v;
      else if (set_lang(v)) return EXIT_USAGE;
      continue;
    }
    const cli_opt *o = NULL;
    for (const cli_opt *p = opts; p && p->name; p++)
      if (strlen(p->name) == nlen && strncmp(p->name, name, nlen) == 0) o = p;
    if (!o) return cli_usage("unknown option '--%.*s'", (int)nlen, name);
    if (o->flag) {
      if (inline_val) return cli_usage("option --%s takes no value", o->name);
      *o->flag = true;
      continue;
    }
    if (!inline_val) {
      if (i + 1 >= argc) return cli_usage("option --%s needs a value", o->name);
      inline_val = argv[++i];
    }
    *o->val = inline_val;
  }
  return 0;
}

jk_err cli_read_file(const char *path, size_t max, char **out, size_t *len) {
  int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return jk_error_set(errno == ENOENT ? JK_ENOTFOUND : JK_EIO, "cannot open %s: %s", path, strerror(errno));
  jk_buf b = {.max = max};
  char chunk[65536];
  jk_err e = JK_OK;
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      e = jk_error_set(JK_EIO, "cannot read %s: %s", path, strerror(errno));
      break;
    }
    if (r == 0) break;
    if ((e = jk_buf_append(&b, chunk, (size_t)r))) {
      if (e == JK_ETOOLARGE) jk_error_set(JK_ETOOLARGE, "%s is larger than %zu bytes", path, max);
      break;
    }
  }
  if (fd != STDIN_FILENO) close(fd);
  if (e) {
    jk_buf_free(&b);
    return e;
  }
  *out = jk_buf_steal(&b, len);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

static jk_err write_all(int fd, const char *data, size_t len, const char *path) {
  while (len) {
    ssize_t w = write(fd, data, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    data += w;
    len -= (size_t)w;
  }
  return JK_OK;
}

jk_err cli_write_file(const char *path, const char *data, size_t len) {
  if (!path || strcmp(path, "-") == 0) {
    if (cli_holding()) /* the operation's output waits for its ledger entry (op.c) */
      return fwrite(data, 1, len, stdout) == len ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
    fflush(stdout);
    return write_all(STDOUT_FILENO, data, len, "stdout");
  }
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return jk_error_set(JK_ETOOLARGE, "path too long");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  jk_err e = write_all(fd, data, len, path);
  if (!e && fsync(fd) != 0) e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  close(fd);
  if (!e && rename(tmp, path) != 0) e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  if (e) unlink(tmp);
  return e;
}

/* Codes typed with full-width digits (１２３…) are common: fold them to ASCII first. */
jk_err cli_fold_digits(const char *in, char *out, size_t cap) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p;) {
    if (o + 1 >= cap) return jk_error_set(JK_ETOOLARGE, "too long");
    if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
      out[o++] = (char)('0' + (p[2] - 0x90));
      p += 3;
    } else {
      out[o++] = (char)*p++;
    }
  }
  out[o] = '\0';
  return JK_OK;
}
