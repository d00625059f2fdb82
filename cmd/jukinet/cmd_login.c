/*
 * cmd_login.c — `jukinet login`, `jukinet logout`, `jukinet whoami`.
 *
 * login reads the card's PIN and the password without echo from the terminal, or for
 * automation from $JUKINET_PIN / $JUKINET_PASSWORD or --pin-file / --password-file, and writes
 * the session token to the session file (op.c), mode 0600, like kinit.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/node.h"

#include <stdlib.h>
#include <string.h>

int cmd_login(int argc, char **argv, cli_global *g) {
  const char *staff = NULL, *card = NULL, *pin_file = NULL, *pw_file = NULL, *new_pw_file = NULL;
  const cli_opt opts[] = {{"staff-id", &staff, NULL},      {"card", &card, NULL},
                          {"pin-file", &pin_file, NULL},   {"password-file", &pw_file, NULL},
                          {"new-password-file", &new_pw_file, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!staff) staff = getenv("JUKINET_STAFF_ID");
  if (staff && !*staff) staff = NULL;
  if (!card) card = getenv("JUKINET_CARD");
  if (!card || !*card) return cli_usage("which IC card? --card LABEL or JUKINET_CARD");
  jk_node *n = NULL;
  char *pin = NULL, *pw = NULL, *new_pw = NULL;
  size_t pin_len = 0, pw_len = 0, new_len = 0;
  char token[JK_SESSION_TOKEN_LEN + 1] = "";
  int rc = cli_node_open(g, &n);
  if (rc) return rc;
  jk_err e;
  if ((e = cli_secret("JUKINET_PIN", pin_file, "PIN of the IC card", &pin, &pin_len)) ||
      (e = cli_secret("JUKINET_PASSWORD", pw_file, "password", &pw, &pw_len)))
    goto out;
  if ((new_pw_file || getenv("JUKINET_NEW_PASSWORD")) &&
      (e = cli_secret("JUKINET_NEW_PASSWORD", new_pw_file, "new password", &new_pw, &new_len)))
    goto out;
  jk_login_req req = {.staff_id = staff, .card_token = card, .pin = pin, .pin_len = pin_len, .password = pw,
                      .password_len = pw_len, .new_password = new_pw, .new_password_len = new_len,
                      .terminal = cli_terminal()};
  if ((e = jk_auth_login(n, &req, token))) goto out;
  e = cli_session_write(token);
out:
  cli_secret_free(pin);
  cli_secret_free(pw);
  cli_secret_free(new_pw);
  memset(token, 0, sizeof token);
  jk_node_close(n);
  if (e) return cli_fail(e);
  if (g->json) return cli_json(json_pack("{s:b}", "logged_in", 1));
  cli_out("logged in\n");
  return 0;
}

int cmd_logout(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, NULL, NULL, NULL, &op);
  if (rc) return rc;
  rc = cli_op_end(&op, jk_auth_logout(op.sess));
  if (rc == 0) {
    cli_session_remove();
    if (!g->json) cli_out("logged out\n");
  }
  return rc;
}

int cmd_whoami(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, "session.show", "-", NULL, &op);
  if (rc) return rc;
  const char *roles = jk_session_roles(op.sess);
  if (g->json) {
    cli_json(json_pack("{s:s,s:s,s:s,s:b}", "staff_id", jk_session_staff_id(op.sess), "name",
                       jk_session_name(op.sess), "roles", roles, "designated", jk_session_designated(op.sess)));
  } else {
    cli_out("operator:   %s %s\n", jk_session_staff_id(op.sess), jk_session_name(op.sess));
    cli_out("roles:      %s\n", *roles ? roles : "-");
    cli_out("handles 本人確認情報: %s\n", jk_session_designated(op.sess) ? jk_tr("yes") : jk_tr("no"));
  }
  return cli_op_end(&op, JK_OK);
}
