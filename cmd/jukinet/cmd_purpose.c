/*
 * cmd_purpose.c — `jukinet purpose list | show CODE`: the lawful purposes of provision
 * (住民基本台帳法 別表, data/purposes.tsv compiled in): which agency may receive which fields of
 * 本人確認情報, for which affair, and the row of the law that says so. Public law: no login.
 */
#include "cli.h"

#include "jukinet/purpose.h"

#include <string.h>

/* "氏名・生年月日・…" (or the English tokens) for a field set. */
static void fields_text(unsigned f, char *buf, size_t cap) {
  if (jk_lang_get() != JK_LANG_JA) {
    jk_fields_format(f, buf, cap);
    return;
  }
  size_t w = 0;
  buf[0] = '\0';
  for (unsigned bit = 1; bit <= JK_FIELD_CHANGE; bit <<= 1) {
    if (!(f & bit)) continue;
    int n = snprintf(buf + w, cap - w, "%s%s", w ? "・" : "", jk_field_name_ja(bit));
    if (n < 0 || (size_t)n >= cap - w) return;
    w += (size_t)n;
  }
}

static json_t *purpose_json(const jk_purpose *p) {
  char f[64];
  jk_fields_format(p->fields, f, sizeof f);
  json_t *fields = json_array();
  for (unsigned bit = 1; bit <= JK_FIELD_CHANGE; bit <<= 1) {
    char one[16];
    if (!(p->fields & bit)) continue;
    jk_fields_format(bit, one, sizeof one);
    json_array_append_new(fields, json_string(one));
  }
  return json_pack("{s:s,s:s,s:s,s:o,s:s,s:s}", "code", p->code, "agency", p->agency, "affair", p->affair, "fields",
                   fields, "citation", p->citation, "source", p->source);
}

int cmd_purpose(int argc, char **argv, cli_global *g) {
  const char *pos[2];
  int npos;
  if (argc < 1) return cli_usage("usage: jukinet purpose list | show CODE");
  bool list = strcmp(argv[0], "list") == 0, show = strcmp(argv[0], "show") == 0;
  if (!list && !show) return cli_usage("unknown verb '%s' for %s", argv[0], "purpose");
  if (cli_parse(argc - 1, argv + 1, NULL, pos, show ? 1 : 0, &npos, g)) return EXIT_USAGE;
  if (show && npos != 1) return cli_usage("usage: jukinet purpose show CODE");
  const jk_purposes *t;
  jk_err e = jk_purposes_builtin(&t);
  if (e) return cli_fail(e);
  char f[160];
  if (list) {
    if (g->json) {
      json_t *a = json_array();
      for (size_t i = 0; i < jk_purposes_count(t); i++) json_array_append_new(a, purpose_json(jk_purposes_at(t, i)));
      return cli_json(json_pack("{s:i,s:o}", "count", (int)jk_purposes_count(t), "purposes", a));
    }
    for (size_t i = 0; i < jk_purposes_count(t); i++) {
      const jk_purpose *p = jk_purposes_at(t, i);
      fields_text(p->fields, f, sizeof f);
      printf("%s\t%s\t%s\t%s\n", p->code, p->agency, f, p->citation);
    }
    return 0;
  }
  const jk_purpose *p = jk_purposes_find(t, pos[0]);
  if (!p) return cli_fail(jk_error_set(JK_ENOTFOUND, "no purpose %s in the table (jukinet purpose list)", pos[0]));
  if (g->json) return cli_json(purpose_json(p));
  fields_text(p->fields, f, sizeof f);
  cli_out("code: %s\n", p->code);
  cli_out("agency: %s\n", p->agency);
  cli_out("affair: %s\n", p->affair);
  cli_out("fields: %s\n", f);
  cli_out("citation: %s\n", p->citation);
  cli_out("source: %s\n", p->source);
  return 0;
}
