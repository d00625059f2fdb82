/*
 * cli.h — shared pieces of the jukinet command-line tool (private to cmd/jukinet).
 *
 * The CLI uses only libjukinet's public API (include/jukinet), like curl's tool uses libcurl.
 * Messages are written in English in the source and translated through jk_tr (Japanese by
 * default, English with --lang en or LANG=en_*).
 */
#ifndef JK_CLI_H
#define JK_CLI_H

#include "jukinet/err.h"
#include "jukinet/i18n.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes (`jukinet help exit-codes`). */
enum {
  EXIT_OK_ = 0,
  EXIT_INVALID = 1,     /* input refused as invalid (bad code, impossible date, bad CSV row …) */
  EXIT_USAGE = 2,       /* wrong command line */
  EXIT_NOTFOUND = 3,
  EXIT_CONFLICT = 4,    /* already exists / conflicts with the current state */
  EXIT_AUTH = 5,
  EXIT_PERM = 6,
  EXIT_BUSY = 7,
  EXIT_CORRUPT = 8,
  EXIT_IO = 9,          /* I/O, out of memory, anything else */
  EXIT_DISCONNECTED = 10,
  EXIT_UNSUPPORTED = 11,
};

/* Global options, parsed before the noun. */
typedef struct cli_global {
  bool json;
  const char *dir; /* --dir or $JUKINET_DIR */
} cli_global;

/* One option of a command. Either val (takes an argument) or flag. */
typedef struct cli_opt {
  const char *name; /* without the leading dashes */
  const char **val;
  bool *flag;
} cli_opt;

/* Parse argv against opts; positional arguments go to pos (at most max_pos). Global options
 * (--json, --dir, --lang) are accepted anywhere. Returns 0 or EXIT_USAGE (message printed). */
int cli_parse(int argc, char **argv, const cli_opt *opts, const char **pos, int max_pos, int *npos,
              cli_global *g);

/* Print "jukinet: エラー: <detail>" and return the exit code for e. */
int cli_fail(jk_err e);
/* Print a usage error and return EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code(jk_err e);
/* printf of a translated format to stdout. */
void cli_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a JSON value to stdout (UTF-8, indented) and free it. Returns 0. */
int cli_json(json_t *v);
/* Read a whole file ("-" = stdin) into memory, capped at max bytes. Caller frees with jk_free. */
jk_err cli_read_file(const char *path, size_t max, char **out, size_t *len);
/* Write data to a file atomically ("-" or NULL = stdout). */
jk_err cli_write_file(const char *path, const char *data, size_t len);

/* Codes typed with full-width digits (１２３…) are common: copy `in` to out (cap bytes) with
 * them folded to ASCII. JK_ETOOLARGE when it does not fit. */
jk_err cli_fold_digits(const char *in, char *out, size_t cap);

/* ---- operations on a node (op.c) ---- */
typedef struct jk_node jk_node;
typedef struct jk_session jk_session;
typedef struct cli_op {
  jk_node *node;
  jk_session *sess;
} cli_op;
/* Open the node, resume the session, check `action` (refusals recorded) and hold stdout.
 * action NULL: only resume the session (the library call that follows checks for itself).
 * Returns 0, or the exit code after printing why. */
int cli_op_begin(cli_global *g, const char *action, const char *object, const char *object_late, cli_op *op);
/* Record the outcome, then show the held output (only when recorded and e == JK_OK); closes
 * the node. Returns the exit code. */
int cli_op_end(cli_op *op, jk_err e);
/* Open the node in g->dir read-write (no session). Returns 0 or the exit code. */
int cli_node_open(cli_global *g, jk_node **n);
bool cli_holding(void);
/* The terminal this command runs at, for the ledger ($JUKINET_TERMINAL or cli:host:tty:uid). */
const char *cli_terminal(void);

/* Secrets: from `file` when given, else $env, else a no-echo prompt on a terminal. *out is
 * guarded memory: free with cli_secret_free. */
#define CLI_SECRET_MAX 256
jk_err cli_secret(const char *env, const char *file, const char *prompt, char **out, size_t *len);
void cli_secret_free(char *s);
/* The session file. */
jk_err cli_session_write(const char *token);
void cli_session_remove(void);

/* Commands: each returns the process exit code. */
int cmd_node(int argc, char **argv, cli_global *g);
int cmd_resident(int argc, char **argv, cli_global *g);
int cmd_code(int argc, char **argv, cli_global *g);
int cmd_lgcode(int argc, char **argv, cli_global *g);
int cmd_date(int argc, char **argv, cli_global *g);
int cmd_gen(int argc, char **argv, cli_global *g);
int cmd_help(int argc, char **argv, cli_global *g);
int cmd_login(int argc, char **argv, cli_global *g);
int cmd_logout(int argc, char **argv, cli_global *g);
int cmd_whoami(int argc, char **argv, cli_global *g);
int cmd_operator(int argc, char **argv, cli_global *g);
int cmd_policy(int argc, char **argv, cli_global *g);
int cmd_card(int argc, char **argv, cli_global *g);
int cmd_audit(int argc, char **argv, cli_global *g);
int cmd_pki(int argc, char **argv, cli_global *g);
int cmd_connection(int argc, char **argv, cli_global *g);
int cmd_sync(int argc, char **argv, cli_global *g);
int cmd_purpose(int argc, char **argv, cli_global *g);
int cmd_agency(int argc, char **argv, cli_global *g);
int cmd_provision(int argc, char **argv, cli_global *g);
int cmd_participation(int argc, char **argv, cli_global *g);
int cmd_disclose(int argc, char **argv, cli_global *g); /* resident disclose */
/* POST body (JSON) to path ("/sync/v1/…") at the node's upstream over its mutual TLS (the node
 * key's PIN from its configuration). *resp (jk_free) the answer. JK_ENOTFOUND when the node has
 * no upstream. */
jk_err cli_upstream_post(jk_node *n, const char *path, const char *body, unsigned *status, uint8_t **resp,
                         size_t *len);
/* resident notice|consent|requests (cmd_rights.c): -1 when verb is none of them */
int cmd_rights(int argc, char **argv, cli_global *g, const char *verb);
int cmd_demo(int argc, char **argv, cli_global *g);

#endif
