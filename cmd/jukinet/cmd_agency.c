/*
 * cmd_agency.c — `jukinet agency add ID --name NAME --purposes CODES [--rate N] | list | show ID
 * | revoke ID`: the registry of national agencies that may query this node (a prefectural or
 * national node; docs/provision.md). add and revoke are the セキュリティ総括責任者's or
 * 副総括責任者's, each recorded in the ledger; a revoked id is never registered again.
 *
 * add checks every purpose against the law's table (data/purposes.tsv): the code must be in
 * it, and the agency's name must be among the bodies its row names — 別表第一 says which body
 * may receive 本人確認情報 for which 事務, and the registry must not widen that.
 */
#include "cli.h"

#include "jukinet/node.h"
#include "jukinet/purpose.h"

#include <stdlib.h>
#include <string.h>

/* Every code of a comma-separated list is in the table, and its row names `name`. */
static jk_err purposes_for(const char *name, const char *list) {
  const jk_purposes *t;
  jk_err e = jk_purposes_builtin(&t);
  if (e) return e;
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    char code[JK_PURPOSE_CODE_MAX + 1];
    if (n == 0 || n > JK_PURPOSE_CODE_MAX)
      return jk_error_set(JK_EINVAL, "--purposes: \"%.*s\" is not a purpose code (jukinet purpose list)", (int)(n < 40 ? n : 40), p);
    memcpy(code, p, n);
    code[n] = '\0';
    const jk_purpose *r = jk_purposes_find(t, code);
    if (!r) return jk_error_set(JK_EINVAL, "--purposes: %s is not in the table of lawful purposes (jukinet purpose list)", code);
    if (!strstr(r->agency, name))
      return jk_error_set(JK_EPERM, "purpose %s is for %s (住民基本台帳法 別表第一), not for %s", code, r->agency, name);
    p += n + (c ? 1 : 0);
    if (c && !*p) return jk_error_set(JK_EINVAL, "--purposes: a trailing comma");
  }
  return JK_OK;
}

static json_t *agency_json(const jk_agency_rec *a) {
  return json_pack("{s:s,s:s,s:s,s:i,s:s,s:s?}", "id", a->id, "name", a->name, "purposes", a->purposes, "rate", a->rate,
                   "added_at", a->added_at, "revoked_at", a->revoked_at[0] ? a->revoked_at : NULL);
}

static void agency_text(const jk_agency_rec *a) {
  printf("%s\t%s\t%s\t%d/s\t%s\n", a->id, a->name, a->purposes, a->rate,
          a->revoked_at[0] ? a->revoked_at : jk_tr("registered"));
}

static int collect(const jk_agency_rec *a, void *payload) {
  json_t *arr = payload;
  if (arr) json_array_append_new(arr, agency_json(a));
  else agency_text(a);
  return 0;
}

int cmd_agency(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet agency add ID --name NAME --purposes CODES [--rate N] | list | show ID | revoke ID");
  const char *v = argv[0], *name = NULL, *purposes = NULL, *rate_s = NULL;
  const cli_opt add_opts[] = {{"name", &name, NULL}, {"purposes", &purposes, NULL}, {"rate", &rate_s, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  bool add = strcmp(v, "add") == 0, list = strcmp(v, "list") == 0, show = strcmp(v, "show") == 0,
       revoke = strcmp(v, "revoke") == 0;
  if (!add && !list && !show && !revoke) return cli_usage("unknown verb '%s' for %s", v, "agency");
  if (cli_parse(argc - 1, argv + 1, add ? add_opts : NULL, pos, list ? 0 : 1, &npos, g)) return EXIT_USAGE;
  if (!list && npos != 1)
    return cli_usage("usage: jukinet agency add ID --name NAME --purposes CODES [--rate N] | list | show ID | revoke ID");
  if (add && (!name || !purposes)) return cli_usage("usage: jukinet agency add ID --name NAME --purposes CODES [--rate N]");
  int rate = 100;
  if (rate_s) {
    char *end;
    long r = strtol(rate_s, &end, 10);
    if (*end || end == rate_s || r < 1 || r > 100000) return cli_usage("--rate: answers per second, 1 to 100000");
    rate = (int)r;
  }
  cli_op op;
  int rc = cli_op_begin(g, add ? "agency.add" : revoke ? "agency.revoke" : "agency.list", list ? "-" : pos[0], NULL, &op);
  if (rc) return rc;
  jk_store *s = jk_node_store(op.node);
  jk_err e = JK_OK;
  if (jk_node_role(op.node) == JK_ROLE_MUNICIPAL && (add || revoke))
    e = jk_error_set(JK_EPERM, "agencies query prefectural and national nodes: a municipal node keeps no agency registry");
  jk_agency_rec a;
  memset(&a, 0, sizeof a);
  if (!e && add) {
    snprintf(a.id, sizeof a.id, "%s", pos[0]);
    if (strlen(name) >= sizeof a.name || strlen(purposes) >= sizeof a.purposes)
      e = jk_error_set(JK_EINVAL, "--name or --purposes is too long");
    else {
      snprintf(a.name, sizeof a.name, "%s", name);
      snprintf(a.purposes, sizeof a.purposes, "%s", purposes);
      a.rate = rate;
      jk_utc_now(a.added_at, 0);
      if (!(e = purposes_for(a.name, a.purposes))) e = jk_store_agency_put(s, &a); /* one statement */
    }
  } else if (!e && revoke) {
    char now[32];
    jk_utc_now(now, 0);
    e = jk_store_agency_revoke(s, pos[0], now);
  }
  if (!e && (add || revoke || show)) e = jk_store_agency_get(s, pos[0], &a);
  if (!e && (add || revoke || show)) {
    if (g->json) cli_json(agency_json(&a));
    else agency_text(&a);
  } else if (!e && list) {
    json_t *arr = g->json ? json_array() : NULL;
    e = jk_store_agency_each(s, collect, arr);
    if (arr) {
      if (!e) cli_json(json_pack("{s:o}", "agencies", arr));
      else json_decref(arr);
    }
  }
  return cli_op_end(&op, e);
}
