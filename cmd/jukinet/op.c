/*
 * op.c — running one operation on a node as a logged-in operator, and the session file.
 *
 * Every command that touches a node goes through cli_op_begin/cli_op_end:
 *   begin: open the node, resume the session from the session file, check the permission
 *          (jk_auth_begin: one place, refusals recorded), and hold stdout;
 *   end:   record the outcome in the ledger (durable), and only then release what the command
 *          printed — a result is never shown before its ledger entry is on disk.
 * Holding stdout swaps glibc's `stdout` for a memory stream (stdout is a plain variable in
 * glibc); everything printed with printf/puts/cli_out lands there until released.
 *
 * The session file (like kinit's credential cache): $JUKINET_SESSION, else
 * $XDG_RUNTIME_DIR/jukinet-session, else /tmp/jukinet-<uid>/session; mode 0600 in a 0700
 * directory, holding the bearer token as one line of hex.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/node.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* ---- the session file ---- */

static jk_err session_path(char *out, size_t cap, bool create_dir) {
  const char *env = getenv("JUKINET_SESSION");
  if (env && *env) {
    if ((size_t)snprintf(out, cap, "%s", env) >= cap) return jk_error_set(JK_ETOOLARGE, "path too long");
    return JK_OK;
  }
  const char *run = getenv("XDG_RUNTIME_DIR");
  if (run && *run) {
    if ((size_t)snprintf(out, cap, "%s/jukinet-session", run) >= cap) return jk_error_set(JK_ETOOLARGE, "path too long");
    return JK_OK;
  }
  char dir[128];
  snprintf(dir, sizeof dir, "/tmp/jukinet-%u", (unsigned)getuid());
  if (create_dir && mkdir(dir, 0700) != 0 && errno != EEXIST)
    return jk_error_set(JK_EIO, "cannot create %s: %s", dir, strerror(errno));
  struct stat st;
  if (create_dir && (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077)))
    return jk_error_set(JK_EPERM, "%s is not a private directory of this user", dir);
  snprintf(out, cap, "%s/session", dir);
  return JK_OK;
}

jk_err cli_session_write(const char *token) {
  char path[4096], tmp[4200];
  jk_err e = session_path(path, sizeof path, true);
  if (e) return e;
  snprintf(tmp, sizeof tmp, "%s.%u.tmp", path, (unsigned)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return jk_error_set(JK_EIO, "cannot write the session file %s: %s", tmp, strerror(errno));
  size_t n = strlen(token);
  bool ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return jk_error_set(JK_EIO, "cannot write the session file %s", path);
  }
  return JK_OK;
}

void cli_session_remove(void) {
  char path[4096];
  if (session_path(path, sizeof path, false) == JK_OK) unlink(path);
}

/* Read the token (65 bytes incl. NUL); "" when there is no session file. */
static void session_read(char token[JK_SESSION_TOKEN_LEN + 1]) {
  char path[4096], buf[JK_SESSION_TOKEN_LEN + 2];
  token[0] = '\0';
  if (session_path(path, sizeof path, false)) return;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  ssize_t r = read(fd, buf, sizeof buf);
  close(fd);
  if (r <= 0) return;
  size_t n = (size_t)r;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  if (n != JK_SESSION_TOKEN_LEN) { /* a tampered file: hand over something that cannot match */
    memcpy(token, "x", 2);
    return;
  }
  memcpy(token, buf, n);
  token[n] = '\0';
  sodium_memzero(buf, sizeof buf);
}

const char *cli_terminal(void) {
  static char term[160];
  const char *env = getenv("JUKINET_TERMINAL");
  if (env && *env) {
    snprintf(term, sizeof term, "%.150s", env);
  } else {
    char host[64] = "-";
    gethostname(host, sizeof host - 1);
    const char *tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
    snprintf(term, sizeof term, "cli:%.60s:%.40s:uid%u", host, tty ? tty : "-", (unsigned)getuid());
  }
  for (char *p = term; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  return term;
}

/* ---- secrets ---- */

jk_err cli_secret(const char *env, const char *file, const char *prompt, char **out, size_t *len) {
  char *buf = sodium_malloc(CLI_SECRET_MAX + 2);
  size_t n = 0;
  *out = NULL;
  *len = 0;
  if (!buf) return jk_error_set(JK_ENOMEM, NULL);
  if (file) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      sodium_free(buf);
      return jk_error_set(JK_ENOTFOUND, "cannot open %s: %s", file, strerror(errno));
    }
    ssize_t r = read(fd, buf, CLI_SECRET_MAX + 1);
    close(fd);
    if (r < 0) {
      sodium_free(buf);
      return jk_error_set(JK_EIO, "cannot read %s", file);
    }
    n = (size_t)r;
  } else if (env && getenv(env) && *getenv(env)) {
    const char *v = getenv(env);
    n = strlen(v);
    if (n <= CLI_SECRET_MAX) memcpy(buf, v, n);
  } else if (isatty(STDIN_FILENO)) {
    struct termios old, quiet;
    fprintf(stderr, "%s: ", jk_tr(prompt));
    fflush(stderr);
    bool echo_off = tcgetattr(STDIN_FILENO, &old) == 0;
    if (echo_off) {
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ssize_t r = read(STDIN_FILENO, buf, CLI_SECRET_MAX + 1);
    if (echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    n = r > 0 ? (size_t)r : 0;
  } else {
    sodium_free(buf);
    return jk_error_set(JK_EINVAL, "%s is needed: set %s or give it in a file", jk_tr(prompt), env ? env : "-");
  }
  if (n > CLI_SECRET_MAX) {
    sodium_free(buf);
    return jk_error_set(JK_ETOOLARGE, "%s is longer than %d bytes", jk_tr(prompt), CLI_SECRET_MAX);
  }
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  buf[n] = '\0';
  if (n == 0) {
    sodium_free(buf);
    return jk_error_set(JK_EINVAL, "%s is empty", jk_tr(prompt));
  }
  *out = buf;
  *len = n;
  return JK_OK;
}

void cli_secret_free(char *s) {
  if (s) sodium_free(s);
}

/* ---- held output ---- */

static FILE *saved_stdout;
static char *held_buf;
static size_t held_len;

bool cli_holding(void) { return saved_stdout != NULL; }

static void hold_begin(void) {
  if (saved_stdout) return;
  fflush(stdout);
  FILE *m = open_memstream(&held_buf, &held_len);
  if (!m) return; /* out of memory: print directly (the ledger write below still comes first) */
  saved_stdout = stdout;
  stdout = m;
}

static void hold_end(bool show) {
  if (!saved_stdout) return;
  fclose(stdout);
  stdout = saved_stdout;
  saved_stdout = NULL;
  if (show && held_len) fwrite(held_buf, 1, held_len, stdout);
  fflush(stdout);
  free(held_buf);
  held_buf = NULL;
  held_len = 0;
}

/* ---- operations ---- */

int cli_node_open(cli_global *g, jk_node **n) {
  if (!g->dir) return cli_usage("--dir is required (or set JUKINET_DIR)");
  jk_err e = jk_node_open(n, g->dir, 0);
  return e ? cli_fail(e) : 0;
}

int cli_op_begin(cli_global *g, const char *action, const char *object, const char *object_late, cli_op *op) {
  char token[JK_SESSION_TOKEN_LEN + 1];
  jk_err e;
  memset(op, 0, sizeof *op);
  int rc = cli_node_open(g, &op->node);
  if (rc) return rc;
  session_read(token);
  e = jk_auth_resume(op->node, token, cli_terminal(), &op->sess);
  sodium_memzero(token, sizeof token);
  if (!e && action) e = jk_auth_begin(op->sess, action, object, object_late);
  if (e) {
    rc = cli_fail(e);
    jk_session_free(op->sess);
    jk_node_close(op->node);
    memset(op, 0, sizeof *op);
    return rc;
  }
  hold_begin();
  return 0;
}

int cli_op_end(cli_op *op, jk_err e) {
  jk_err r = jk_auth_end(op->sess, e);
  /* REQ-ACCESS-11-3: the entry is durable before the result is shown */
  hold_end(r == JK_OK);
  jk_session_free(op->sess);
  jk_node_close(op->node);
  memset(op, 0, sizeof *op);
  return r ? cli_fail(r) : 0;
}
