/*
 * cmd_operator.c — `jukinet operator add|list|disable|appoint|dismiss|designate|undesignate|
 * password` and `jukinet policy show|set`.
 */
#include "cli.h"

#include "jukinet/auth.h"
#include "jukinet/date.h"
#include "jukinet/node.h"

#include <stdlib.h>
#include <string.h>

static jk_err date_opt(const char *v, jk_date *out) {
  memset(out, 0, sizeof *out);
  if (!v) return JK_OK;
  jk_err e = jk_date_parse(v, out);
  return e ? jk_error_prefix("--from/--until: ") : JK_OK;
}

static int op_add(int argc, char **argv, cli_global *g) {
  const char *staff = NULL, *name = NULL, *dept = NULL;
  const cli_opt opts[] = {{"staff-id", &staff, NULL}, {"name", &name, NULL}, {"department", &dept, NULL},
                          {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!staff || !name || !dept) return cli_usage("operator add needs --staff-id, --name and --department");
  /* the permission check and the entry are made by jk_auth_operator_add itself */
  cli_op op;
  int rc = cli_op_begin(g, NULL, NULL, NULL, &op);
  if (rc) return rc;
  jk_operator_info info = {staff, name, dept};
  jk_err e = jk_auth_operator_add(op.sess, &info);
  if (!e) {
    if (g->json) cli_json(json_pack("{s:s,s:s,s:s}", "staff_id", staff, "name", name, "department", dept));
    else cli_out("registered operator %s %s (%s)\n", staff, name, dept);
  }
  return cli_op_end(&op, e);
}

/* Commands whose library call does its own check: run it inside a session. */
typedef jk_err (*session_fn)(jk_session *s, void *arg);
static int with_session(cli_global *g, session_fn fn, void *arg) {
  cli_op op;
  int rc = cli_op_begin(g, NULL, NULL, NULL, &op);
  if (rc) return rc;
  return cli_op_end(&op, fn(op.sess, arg));
}

typedef struct grant_args {
  const char *staff, *role;
  jk_date date;
  bool dismiss;
  bool json;
} grant_args;

static jk_err run_grant(jk_session *s, void *arg) {
  grant_args *a = arg;
  jk_err e = a->dismiss ? jk_auth_dismiss(s, a->staff, a->role, a->date) : jk_auth_appoint(s, a->staff, a->role, a->date);
  if (e) return e;
  const char *ja = jk_auth_role_name_ja(a->role);
  if (a->json) cli_json(json_pack("{s:s,s:s,s:b}", "staff_id", a->staff, "role", a->role, "in_force", !a->dismiss));
  else if (a->dismiss) cli_out("%s no longer holds %s (%s)\n", a->staff, a->role, ja ? ja : "");
  else cli_out("%s now holds %s (%s)\n", a->staff, a->role, ja ? ja : "");
  return JK_OK;
}

static int op_grant(int argc, char **argv, cli_global *g, bool dismiss, const char *fixed_role) {
  const char *from = NULL;
  const cli_opt opts[] = {{dismiss ? "until" : "from", &from, NULL}, {NULL, NULL, NULL}};
  const char *pos[2];
  int npos;
  if (cli_parse(argc, argv, opts, pos, fixed_role ? 1 : 2, &npos, g)) return EXIT_USAGE;
  if (npos != (fixed_role ? 1 : 2)) return cli_usage(fixed_role ? "usage: jukinet operator designate|undesignate STAFF-ID"
                                                                : "usage: jukinet operator appoint|dismiss STAFF-ID ROLE");
  grant_args a = {pos[0], fixed_role ? fixed_role : pos[1], {0}, dismiss, g->json};
  jk_err e = date_opt(from, &a.date);
  if (e) return cli_fail(e);
  return with_session(g, run_grant, &a);
}

static jk_err run_disable(jk_session *s, void *arg) {
  jk_err e = jk_auth_operator_disable(s, arg);
  if (!e) cli_out("operator %s disabled\n", (const char *)arg);
  return e;
}

typedef struct list_ctx {
  jk_node *node;
  json_t *arr;
  jk_err err;
} list_ctx;

static int on_operator(const jk_operator_rec *r, void *payload) {
  list_ctx *c = payload;
  char roles[512];
  bool designated;
  if ((c->err = jk_auth_roles_of(c->node, r->id, roles, sizeof roles, &designated))) return 1;
  if (c->arr) {
    json_array_append_new(c->arr, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "staff_id", r->staff_id, "name", r->name,
                                            "department", r->department, "roles", roles, "designated", designated,
                                            "active", !r->disabled_at[0]));
  } else {
    printf("%-12s %-16s %-20s %s%s%s\n", r->staff_id, r->name, r->department, roles, designated ? " +handler" : "",
           r->disabled_at[0] ? jk_tr(" (disabled)") : "");
  }
  return 0;
}

static int op_list(int argc, char **argv, cli_global *g) {
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
  cli_op op;
  int rc = cli_op_begin(g, "operator.list", "-", NULL, &op);
  if (rc) return rc;
  list_ctx c = {op.node, g->json ? json_array() : NULL, JK_OK};
  jk_err e = jk_store_operator_each(jk_node_store(op.node), on_operator, &c);
  if (!e) e = c.err;
  if (!e && c.arr) cli_json(c.arr);
  else json_decref(c.arr);
  return cli_op_end(&op, e);
}

typedef struct pw_args {
  const char *staff;
  char *old, *new_;
  size_t old_len, new_len;
} pw_args;

static jk_err run_password(jk_session *s, void *arg) {
  pw_args *a = arg;
  jk_err e = jk_auth_set_password(s, a->staff, a->old, a->old_len, a->new_, a->new_len);
  if (!e) cli_out("password set\n");
  return e;
}

static int op_password(int argc, char **argv, cli_global *g) {
  const char *pw_file = NULL, *new_file = NULL;
  const cli_opt opts[] = {{"password-file", &pw_file, NULL}, {"new-password-file", &new_file, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  pw_args a = {npos ? pos[0] : NULL, NULL, NULL, 0, 0};
  jk_err e = JK_OK;
  if (!a.staff && (e = cli_secret("JUKINET_PASSWORD", pw_file, "current password", &a.old, &a.old_len))) goto out;
  if ((e = cli_secret("JUKINET_NEW_PASSWORD", new_file, "new password", &a.new_, &a.new_len))) goto out;
out:
  if (e) {
    cli_secret_free(a.old);
    cli_secret_free(a.new_);
    return cli_fail(e);
  }
  int rc = with_session(g, run_password, &a);
  cli_secret_free(a.old);
  cli_secret_free(a.new_);
  return rc;
}

int cmd_operator(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet operator add|list|disable|appoint|dismiss|designate|undesignate|password");
  const char *v = argv[0];
  argc--;
  argv++;
  if (strcmp(v, "add") == 0) return op_add(argc, argv, g);
  if (strcmp(v, "list") == 0) return op_list(argc, argv, g);
  if (strcmp(v, "appoint") == 0) return op_grant(argc, argv, g, false, NULL);
  if (strcmp(v, "dismiss") == 0) return op_grant(argc, argv, g, true, NULL);
  if (strcmp(v, "designate") == 0) return op_grant(argc, argv, g, false, "handler");
  if (strcmp(v, "undesignate") == 0) return op_grant(argc, argv, g, true, "handler");
  if (strcmp(v, "password") == 0) return op_password(argc, argv, g);
  if (strcmp(v, "disable") == 0) {
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, NULL, pos, 1, &npos, g)) return EXIT_USAGE;
    if (npos != 1) return cli_usage("usage: jukinet operator disable STAFF-ID");
    return with_session(g, run_disable, (void *)pos[0]);
  }
  return cli_usage("unknown verb '%s' for %s", v, "operator");
}

/* ---- policy ---- */

static jk_err run_policy_set(jk_session *s, void *arg) {
  jk_err e = jk_auth_policy_set(s, arg);
  if (!e) cli_out("policy updated\n");
  return e;
}

static jk_err int_opt(const char *name, const char *v, int *out) {
  if (!v) return JK_OK;
  char *end;
  long x = strtol(v, &end, 10);
  if (!*v || *end || x < 0 || x > 1000000) return jk_error_set(JK_EINVAL, "--%s must be a whole number", name);
  *out = (int)x;
  return JK_OK;
}

int cmd_policy(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet policy show|set");
  const char *v = argv[0];
  if (strcmp(v, "show") == 0) {
    const char *pos[1];
    int npos;
    if (cli_parse(argc - 1, argv + 1, NULL, pos, 0, &npos, g)) return EXIT_USAGE;
    cli_op op;
    int rc = cli_op_begin(g, "policy.show", "-", NULL, &op);
    if (rc) return rc;
    jk_auth_policy p;
    jk_err e = jk_auth_policy_get(op.node, &p);
    if (!e && g->json)
      cli_json(json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "min_length", p.min_length, "history", p.history, "max_age_days",
                         p.max_age_days, "lockout_threshold", p.lockout_threshold, "lockout_minutes",
                         p.lockout_minutes, "idle_minutes", p.idle_minutes));
    else if (!e) {
      cli_out("password length      at least %d characters\n", p.min_length);
      cli_out("password reuse       not the last %d\n", p.history);
      cli_out("password expiry      %d days\n", p.max_age_days);
      cli_out("lockout              after %d failures, for %d minutes\n", p.lockout_threshold, p.lockout_minutes);
      cli_out("session idle timeout %d minutes\n", p.idle_minutes);
    }
    return cli_op_end(&op, e);
  }
  if (strcmp(v, "set") == 0) {
    const char *ml = NULL, *hi = NULL, *age = NULL, *lt = NULL, *lm = NULL, *idle = NULL;
    const cli_opt opts[] = {{"min-length", &ml, NULL},        {"history", &hi, NULL},
                            {"max-age-days", &age, NULL},     {"lockout-threshold", &lt, NULL},
                            {"lockout-minutes", &lm, NULL},   {"idle-minutes", &idle, NULL},
                            {NULL, NULL, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse(argc - 1, argv + 1, opts, pos, 0, &npos, g)) return EXIT_USAGE;
    jk_node *n;
    int rc = cli_node_open(g, &n);
    if (rc) return rc;
    jk_auth_policy p;
    jk_err e = jk_auth_policy_get(n, &p);
    jk_node_close(n);
    if (e || (e = int_opt("min-length", ml, &p.min_length)) || (e = int_opt("history", hi, &p.history)) ||
        (e = int_opt("max-age-days", age, &p.max_age_days)) ||
        (e = int_opt("lockout-threshold", lt, &p.lockout_threshold)) ||
        (e = int_opt("lockout-minutes", lm, &p.lockout_minutes)) || (e = int_opt("idle-minutes", idle, &p.idle_minutes)))
      return cli_fail(e);
    return with_session(g, run_policy_set, &p);
  }
  return cli_usage("unknown verb '%s' for %s", v, "policy");
}
