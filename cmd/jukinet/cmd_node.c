/*
 * cmd_node.c — `jukinet node init|show`.
 *
 * node init creates the node directory, its key on the node's token, and enrols the first
 * システム管理者 with an IC card and a password (REQ-ACCESS-11-1): a node never exists without
 * an operator who can log in to it. When enrolment fails, the half-made directory is removed.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/node.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Remove what node init wrote into a directory it found empty or missing. */
static void remove_new_node(const char *dir) {
  static const char *const files[] = {"node.conf", "node.db", "node.db-wal", "node.db-shm", "key.pin"};
  char path[4096];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

static int node_init(int argc, char **argv, cli_global *g) {
  const char *lgcode = NULL, *name = NULL, *role = NULL, *store = NULL, *key_token = NULL, *key_module = NULL,
             *key_label = NULL, *key_pin_file = NULL, *card_module = NULL, *staff = NULL, *admin_name = NULL,
             *dept = NULL, *card = NULL, *pin_file = NULL, *pw_file = NULL;
  bool reuse_key = false;
  const cli_opt opts[] = {{"reuse-key", NULL, &reuse_key},
                          {"lgcode", &lgcode, NULL},
                          {"name", &name, NULL},
                          {"role", &role, NULL},
                          {"store", &store, NULL},
                          {"key-token", &key_token, NULL},
                          {"key-module", &key_module, NULL},
                          {"key-label", &key_label, NULL},
                          {"key-pin-file", &key_pin_file, NULL},
                          {"card-module", &card_module, NULL},
                          {"admin-staff-id", &staff, NULL},
                          {"admin-name", &admin_name, NULL},
                          {"admin-department", &dept, NULL},
                          {"card", &card, NULL},
                          {"pin-file", &pin_file, NULL},
                          {"password-file", &pw_file, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!g->dir) return cli_usage("--dir is required (or set JUKINET_DIR)");
  if (!key_token) return cli_usage("--key-token is required (the label of the node's key token)");
  if (!staff || !admin_name || !dept)
    return cli_usage("node init needs the first administrator: --admin-staff-id, --admin-name, --admin-department");
  if (!card) card = getenv("JUKINET_CARD");
  if (!card || !*card) return cli_usage("node init needs the administrator's IC card: --card or JUKINET_CARD");
  jk_node_init_opts o = {.lgcode = lgcode, .name = name, .store = store, .key_token = key_token,
                         .key_module = key_module, .key_label = key_label, .card_module = card_module,
                         .reuse_key = reuse_key};
  if (role) {
    if (strcmp(role, "municipal") == 0) o.role = JK_ROLE_MUNICIPAL;
    else if (strcmp(role, "prefectural") == 0) o.role = JK_ROLE_PREFECTURAL;
    else if (strcmp(role, "national") == 0) o.role = JK_ROLE_NATIONAL;
    else return cli_usage("unknown role '%s' (municipal, prefectural, national)", role);
  }
  char *key_pin = NULL, *pin = NULL, *pw = NULL;
  size_t key_pin_len, pin_len, pw_len;
  jk_node *n = NULL;
  bool created = false;
  jk_err e;
  if ((e = cli_secret("JUKINET_KEY_PIN", key_pin_file, "PIN of the node key token", &key_pin, &key_pin_len)) ||
      (e = cli_secret("JUKINET_PIN", pin_file, "PIN of the IC card", &pin, &pin_len)) ||
      (e = cli_secret("JUKINET_PASSWORD", pw_file, "password", &pw, &pw_len)))
    goto out;
  o.key_pin = key_pin;
  o.key_pin_len = key_pin_len;
  if ((e = jk_node_init(g->dir, &o))) goto out;
  created = true;
  if ((e = jk_node_open(&n, g->dir, 0))) goto out;
  jk_operator_info admin = {staff, admin_name, dept};
  if ((e = jk_auth_bootstrap(n, &admin, card, pin, pin_len, pw, pw_len, cli_terminal()))) goto out;
out:
  cli_secret_free(key_pin);
  cli_secret_free(pin);
  cli_secret_free(pw);
  jk_node_close(n);
  if (e) {
    int rc = cli_fail(e);
    if (created) {
      remove_new_node(g->dir);
      /* the key made on the token stays there: say how to use it on the next try */
      fprintf(stderr, "jukinet: %s\n", jk_tr("the node key stays on its token: run node init again with --reuse-key"));
    }
    return rc;
  }
  if (g->json)
    return cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s}", "dir", g->dir, "lgcode", lgcode, "name", name, "role",
                              jk_role_token(o.role ? o.role : JK_ROLE_MUNICIPAL), "admin", staff));
  cli_out("created node %s (%s %s) in %s\n", jk_role_token(o.role ? o.role : JK_ROLE_MUNICIPAL), lgcode, name, g->dir);
  cli_out("first administrator: %s (システム管理者, アクセス管理責任者, 本人確認情報管理責任者)\n", staff);
  return 0;
}

static int node_show(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, "node.show", "-", NULL, &op);
  if (rc) return rc;
  int64_t all = 0, active = 0, entries = 0;
  jk_store *s = jk_node_store(op.node);
  jk_err e;
  if ((e = jk_store_resident_count(s, 0, &all)) || (e = jk_store_resident_count(s, JK_STATUS_ACTIVE, &active)) ||
      (e = jk_store_ledger_size(s, &entries)))
    return cli_op_end(&op, e);
  if (g->json) {
    cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:I}", "dir", g->dir, "id", jk_node_id(op.node), "role",
                       jk_role_token(jk_node_role(op.node)), "lgcode", jk_node_lgcode(op.node), "name",
                       jk_node_name(op.node), "store", jk_store_backend(s), "schema", jk_store_schema_version(s),
                       "residents", (json_int_t)active, "removed", (json_int_t)(all - active), "ledger_entries",
                       (json_int_t)entries));
  } else {
    cli_out("node:       %s\n", g->dir);
    cli_out("node id:    %s\n", jk_node_id(op.node));
    cli_out("role:       %s\n", jk_role_token(jk_node_role(op.node)));
    cli_out("lgcode:     %s %s\n", jk_node_lgcode(op.node), jk_node_name(op.node));
    cli_out("store:      %s (schema %d)\n", jk_store_backend(s), jk_store_schema_version(s));
    cli_out("residents:  %lld on the register, %lld removed\n", (long long)active, (long long)(all - active));
    cli_out("ledger:     %lld entries\n", (long long)entries);
  }
  return cli_op_end(&op, JK_OK);
}

int cmd_node(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet node init|show");
  if (strcmp(argv[0], "init") == 0) return node_init(argc - 1, argv + 1, g);
  if (strcmp(argv[0], "show") == 0) return node_show(argc - 1, argv + 1, g);
  return cli_usage("unknown verb '%s' for %s", argv[0], "node");
}
