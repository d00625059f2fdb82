/*
 * main.c — jukinet, the command-line tool: `jukinet <noun> <verb> [options]`.
 *
 * Language: --lang ja|en, else $JUKINET_LANG, else $LANG (en_US.UTF-8 and the like → English),
 * else Japanese.
 */
#include "cli.h"

#include <sodium.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *noun;
  int (*fn)(int, char **, cli_global *);
} nouns[] = {
    {"node", cmd_node}, {"resident", cmd_resident}, {"code", cmd_code}, {"lgcode", cmd_lgcode},
    {"date", cmd_date}, {"gen", cmd_gen},           {"help", cmd_help},
    {"login", cmd_login}, {"logout", cmd_logout},   {"whoami", cmd_whoami},
    {"operator", cmd_operator}, {"policy", cmd_policy}, {"card", cmd_card},
    {"audit", cmd_audit}, {"pki", cmd_pki},     {"connection", cmd_connection},
    {"sync", cmd_sync},         {"demo", cmd_demo},     {"purpose", cmd_purpose},
    {"agency", cmd_agency},     {"provision", cmd_provision}, {"participation", cmd_participation},
};

static void pick_language(int argc, char **argv) {
  const char *env = getenv("JUKINET_LANG");
  int l = -1;
  if (env) l = jk_lang_parse(env);
  if (l < 0) {
    const char *lang = getenv("LC_ALL");
    if (!lang || !*lang) lang = getenv("LANG");
    /* Only an explicit English locale switches to English; C/POSIX (servers, CI) stays Japanese
     * unless asked, because Japanese is the product's language. */
    if (lang && strncmp(lang, "en", 2) == 0) l = JK_LANG_EN;
  }
  for (int i = 1; i < argc; i++) { /* --lang wins, wherever it is */
    if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) l = jk_lang_parse(argv[i + 1]);
    else if (strncmp(argv[i], "--lang=", 7) == 0) l = jk_lang_parse(argv[i] + 7);
  }
  jk_lang_set(l == JK_LANG_EN ? JK_LANG_EN : JK_LANG_JA);
}

int main(int argc, char **argv) {
  cli_global g = {0};
  /* PINs, passwords and session tokens pass through this process: no core dump, no ptrace by
   * other processes of the same user (guarded memory is also excluded from dumps). */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (sodium_init() < 0) {
    fputs("jukinet: libsodium cannot start\n", stderr);
    return EXIT_IO;
  }
  pick_language(argc, argv);
  g.dir = getenv("JUKINET_DIR");
  if (g.dir && !*g.dir) g.dir = NULL;
  int i = 1;
  /* leading global options: jukinet --lang en code check … */
  while (i < argc && argv[i][0] == '-') {
    if (strcmp(argv[i], "--json") == 0) g.json = true;
    else if ((strcmp(argv[i], "--lang") == 0 || strcmp(argv[i], "--dir") == 0) && i + 1 < argc) {
      if (strcmp(argv[i], "--dir") == 0) g.dir = argv[i + 1];
      i++;
    } else if (strncmp(argv[i], "--lang=", 7) == 0) {
    } else if (strncmp(argv[i], "--dir=", 6) == 0) {
      g.dir = argv[i] + 6;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      return cmd_help(0, NULL, &g);
    } else if (strcmp(argv[i], "--version") == 0) {
      puts("jukinet " JK_VERSION);
      return 0;
    } else {
      return cli_usage("unknown option '%s'", argv[i]);
    }
    i++;
  }
  if (i >= argc) return cmd_help(0, NULL, &g);
  if (strcmp(argv[i], "version") == 0) {
    puts("jukinet " JK_VERSION);
    return 0;
  }
  for (size_t k = 0; k < sizeof nouns / sizeof nouns[0]; k++)
    if (strcmp(argv[i], nouns[k].noun) == 0) return nouns[k].fn(argc - i - 1, argv + i + 1, &g);
  return cli_usage("unknown command '%s'", argv[i]);
}
