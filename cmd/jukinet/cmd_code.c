/*
 * cmd_code.c — `jukinet code check|new`, `jukinet lgcode check`, `jukinet date convert`:
 * the checks a clerk runs on a single value. Exit 0 when valid, 1 when not, with the reason.
 */
#include "cli.h"

#include "jukinet/date.h"
#include "jukinet/node.h"
#include "jukinet/rescode.h"
#include "jukinet/text.h"

#include <string.h>


static int check_result(cli_global *g, const char *kind, const char *input, jk_err e) {
  if (g->json) {
    cli_json(json_pack("{s:s,s:s,s:b,s:s?}", "kind", kind, "input", input, "valid", e == JK_OK, "reason",
                       e ? jk_error_last() : NULL));
    return e ? EXIT_INVALID : 0;
  }
  if (e) return cli_fail(e);
  cli_out("%s: valid\n", input);
  return 0;
}

/* `… check VALUE`: argv starts after "check". Full-width digits are folded first. */
static int check_value(int argc, char **argv, cli_global *g, const char *kind, const char *usage,
                       jk_err (*validate)(const char *, size_t)) {
  const char *pos[2];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("%s", jk_tr(usage));
  char buf[64];
  jk_err e = cli_fold_digits(pos[0], buf, sizeof buf);
  if (!e) e = validate(buf, strlen(buf));
  return check_result(g, kind, pos[0], e);
}

int cmd_code(int argc, char **argv, cli_global *g) {
  const char *pos[2];
  int npos;
  if (argc < 1) return cli_usage("usage: jukinet code check CODE | jukinet code new");
  if (strcmp(argv[0], "check") == 0)
    return check_value(argc - 1, argv + 1, g, "resident-code", JK_N_("usage: jukinet code check CODE"),
                       jk_rescode_validate);
  if (strcmp(argv[0], "new") == 0) {
    if (cli_parse(argc - 1, argv + 1, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
    char code[JK_RESCODE_LEN + 1];
    if (g->dir) { /* against a node: a code it has never assigned */
      jk_node *n;
      bool known = true;
      jk_err e = jk_node_open(&n, g->dir, JK_STORE_READONLY);
      if (e) return cli_fail(e);
      for (int i = 0; i < 64 && known && !e; i++) {
        jk_rescode_random(code);
        e = jk_store_code_known(jk_node_store(n), code, &known);
      }
      jk_node_close(n);
      if (e) return cli_fail(e);
    } else {
      jk_rescode_random(code);
    }
    if (g->json) return cli_json(json_pack("{s:s}", "code", code));
    puts(code);
    return 0;
  }
  return cli_usage("unknown verb '%s' for %s", argv[0], "code");
}

int cmd_lgcode(int argc, char **argv, cli_global *g) {
  if (argc < 1 || strcmp(argv[0], "check") != 0) return cli_usage("usage: jukinet lgcode check CODE");
  return check_value(argc - 1, argv + 1, g, "lgcode", JK_N_("usage: jukinet lgcode check CODE"),
                     jk_lgcode_validate);
}

int cmd_date(int argc, char **argv, cli_global *g) {
  const char *pos[2];
  int npos;
  if (argc < 1 || strcmp(argv[0], "convert") != 0) return cli_usage("usage: jukinet date convert TEXT");
  if (cli_parse(argc - 1, argv + 1, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
  if (npos != 1) return cli_usage("usage: jukinet date convert TEXT");
  jk_date d;
  jk_err e = jk_date_parse(pos[0], &d);
  if (e) {
    if (g->json) {
      cli_json(json_pack("{s:s,s:b,s:s}", "input", pos[0], "valid", 0, "reason", jk_error_last()));
      return EXIT_INVALID;
    }
    return cli_fail(e);
  }
  char iso[11], wareki[JK_DATE_TEXT_MAX];
  jk_date_format_iso(d, iso);
  jk_date_format_wareki(d, wareki);
  int ey = 0;
  jk_era era = jk_date_era(d, &ey);
  if (g->json)
    return cli_json(json_pack("{s:s,s:b,s:s,s:s,s:s,s:i}", "input", pos[0], "valid", 1, "iso", iso, "wareki", wareki,
                              "era", jk_era_name(era), "era_year", ey));
  printf("%s\t%s\n", iso, wareki);
  return 0;
}
