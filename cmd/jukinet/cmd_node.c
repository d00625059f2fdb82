/*
 * cmd_node.c — `jukinet node init|show`.
 */
#include "cli.h"

#include "jukinet/node.h"

#include <string.h>

static int node_init(int argc, char **argv, cli_global *g) {
  const char *lgcode = NULL, *name = NULL, *role = NULL, *store = NULL;
  const cli_opt opts[] = {{"lgcode", &lgcode, NULL}, {"name", &name, NULL}, {"role", &role, NULL},
                          {"store", &store, NULL},   {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!g->dir) return cli_usage("--dir is required (or set JUKINET_DIR)");
  jk_node_init_opts o = {.lgcode = lgcode, .name = name, .store = store};
  if (role) {
    if (strcmp(role, "municipal") == 0) o.role = JK_ROLE_MUNICIPAL;
    else if (strcmp(role, "prefectural") == 0) o.role = JK_ROLE_PREFECTURAL;
    else if (strcmp(role, "national") == 0) o.role = JK_ROLE_NATIONAL;
    else return cli_usage("unknown role '%s' (municipal, prefectural, national)", role);
  }
  jk_err e = jk_node_init(g->dir, &o);
  if (e) return cli_fail(e);
  if (g->json)
    return cli_json(json_pack("{s:s,s:s,s:s,s:s}", "dir", g->dir, "lgcode", lgcode, "name", name, "role",
                              jk_role_token(o.role ? o.role : JK_ROLE_MUNICIPAL)));
  cli_out("created node %s (%s %s) in %s\n", jk_role_token(o.role ? o.role : JK_ROLE_MUNICIPAL), lgcode, name, g->dir);
  return 0;
}

static int node_show(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!g->dir) return cli_usage("--dir is required (or set JUKINET_DIR)");
  jk_node *n;
  jk_err e = jk_node_open(&n, g->dir, JK_STORE_READONLY);
  if (e) return cli_fail(e);
  int64_t all = 0, active = 0;
  jk_store *s = jk_node_store(n);
  if ((e = jk_store_resident_count(s, 0, &all)) || (e = jk_store_resident_count(s, JK_STATUS_ACTIVE, &active))) {
    jk_node_close(n);
    return cli_fail(e);
  }
  int rc = 0;
  if (g->json) {
    rc = cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I}", "dir", g->dir, "role", jk_role_token(jk_node_role(n)),
                            "lgcode", jk_node_lgcode(n), "name", jk_node_name(n), "store", jk_store_backend(s),
                            "schema", jk_store_schema_version(s), "residents", (json_int_t)active, "removed",
                            (json_int_t)(all - active)));
  } else {
    cli_out("node:       %s\n", g->dir);
    cli_out("role:       %s\n", jk_role_token(jk_node_role(n)));
    cli_out("lgcode:     %s %s\n", jk_node_lgcode(n), jk_node_name(n));
    cli_out("store:      %s (schema %d)\n", jk_store_backend(s), jk_store_schema_version(s));
    cli_out("residents:  %lld on the register, %lld removed\n", (long long)active, (long long)(all - active));
  }
  jk_node_close(n);
  return rc;
}

int cmd_node(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet node init|show");
  if (strcmp(argv[0], "init") == 0) return node_init(argc - 1, argv + 1, g);
  if (strcmp(argv[0], "show") == 0) return node_show(argc - 1, argv + 1, g);
  return cli_usage("unknown verb '%s' for %s", argv[0], "node");
}
