/*
 * authz.c — roles, the permission table and the one permission check (jk_auth_begin).
 *
 * data/permissions.tsv is compiled in (cmake/embed_file.cmake) and parsed once; a malformed
 * table is a build-time mistake, caught by tests/unit/auth/test_authz.c, and at run time makes
 * every check refuse (never allow).
 */
#include "auth/auth_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

extern const char jk__permissions_tsv[];
extern const size_t jk__permissions_tsv_len;

static const struct {
  const char *token, *ja;
} roles[] = {
    {"security_chief", "セキュリティ総括責任者"},
    {"deputy_chief", "セキュリティ副総括責任者"},
    {"system_admin", "システム管理者"},
    {"security_officer", "セキュリティ責任者"},
    {"entry_manager", "入退室管理者"},
    {"access_manager", "アクセス管理責任者"},
    {"identity_manager", "本人確認情報管理責任者"},
    {"asset_manager", "情報資産管理責任者"},
    {"operator", "操作者"},
    {"auditor", "監査者"},
    {"handler", "本人確認情報取扱者（指定）"},
};
#define NROLES (sizeof roles / sizeof roles[0])

bool jk_auth_role_valid(const char *t) { return t && jk_auth_role_name_ja(t) != NULL; }

const char *jk_auth_role_name_ja(const char *t) {
  for (size_t i = 0; i < NROLES; i++)
    if (strcmp(roles[i].token, t) == 0) return roles[i].ja;
  return NULL;
}

const char *jk_auth_role_at(size_t i) { return i < NROLES ? roles[i].token : NULL; }

/* ---- the table ---- */

#define MAX_PERMS 128
typedef struct perm {
  char action[48];
  char roles[256];
  bool handler;
  char description[192];
} perm;

static perm perms[MAX_PERMS];
static size_t nperms;
static bool table_ok;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static bool copy_cell(char *dst, size_t cap, const char *p, size_t n) {
  if (n == 0 || n >= cap) return false;
  memcpy(dst, p, n);
  dst[n] = '\0';
  return true;
}

static bool roles_cell_ok(const char *list) {
  if (strcmp(list, "*") == 0) return true;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (!jk_auth_role_valid(t) || strcmp(t, "handler") == 0) return false;
  return true;
}

static void load_table(void) {
  const char *p = jk__permissions_tsv, *end = p + jk__permissions_tsv_len;
  nperms = 0;
  table_ok = false;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if (le > p && *p != '#') {
      const char *cells[4];
      size_t lens[4];
      int k = 0;
      const char *c = p;
      while (k < 4) {
        const char *tab = k < 3 ? memchr(c, '\t', (size_t)(le - c)) : NULL;
        const char *ce = tab ? tab : le;
        cells[k] = c;
        lens[k] = (size_t)(ce - c);
        k++;
        if (!tab) break;
        c = tab + 1;
      }
      if (k != 4 || nperms == MAX_PERMS) return;
      perm *pm = &perms[nperms];
      if (!copy_cell(pm->action, sizeof pm->action, cells[0], lens[0]) ||
          !copy_cell(pm->roles, sizeof pm->roles, cells[1], lens[1]) || !roles_cell_ok(pm->roles) ||
          !copy_cell(pm->description, sizeof pm->description, cells[3], lens[3]))
        return;
      if (lens[2] == 7 && memcmp(cells[2], "handler", 7) == 0) pm->handler = true;
      else if (lens[2] == 1 && cells[2][0] == '-') pm->handler = false;
      else return;
      for (size_t i = 0; i < nperms; i++)
        if (strcmp(perms[i].action, pm->action) == 0) return; /* duplicate */
      nperms++;
    }
    p = nl ? nl + 1 : end;
  }
  table_ok = nperms > 0;
}

static bool table(void) {
  pthread_once(&table_once, load_table);
  return table_ok;
}

jk_err jk_auth_permission(const char *action, const char **roles_out, bool *needs) {
  if (!table()) return jk_error_set(JK_ECORRUPT, "the permission table (data/permissions.tsv) is malformed");
  for (size_t i = 0; i < nperms; i++)
    if (strcmp(perms[i].action, action) == 0) {
      *roles_out = perms[i].roles;
      *needs = perms[i].handler;
      return JK_OK;
    }
  return jk_error_set(JK_ENOTFOUND, "action %s is not in the permission table", action);
}

bool jk_auth_permission_at(size_t i, const char **action, const char **roles_out, bool *needs, const char **desc) {
  if (!table() || i >= nperms) return false;
  *action = perms[i].action;
  *roles_out = perms[i].roles;
  *needs = perms[i].handler;
  *desc = perms[i].description;
  return true;
}

bool jk__auth_roles_match(const char *have, const char *allowed, char matched[32]) {
  char buf[512];
  char *save = NULL;
  snprintf(matched, 32, "-");
  snprintf(buf, sizeof buf, "%s", have);
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (strcmp(t, "handler") == 0) continue;
    if (strcmp(allowed, "*") == 0) {
      snprintf(matched, 32, "%s", t);
      return true;
    }
    size_t n = strlen(t);
    for (const char *a = allowed; (a = strstr(a, t)); a += n)
      if ((a == allowed || a[-1] == ',') && (a[n] == ',' || a[n] == '\0')) {
        snprintf(matched, 32, "%s", t);
        return true;
      }
  }
  return strcmp(allowed, "*") == 0;
}

/* ---- roles in force ---- */

typedef struct roles_ctx {
  jk_date today;
  char *out;
  size_t cap;
  bool designated, overflow;
} roles_ctx;

static int on_grant(const jk_grant_rec *g, void *payload) {
  roles_ctx *c = payload;
  if (jk_date_cmp(g->from, c->today) > 0) return 0;               /* not yet */
  if (g->until.y && jk_date_cmp(g->until, c->today) < 0) return 0; /* over */
  if (strcmp(g->role, "handler") == 0) {
    c->designated = true;
    return 0;
  }
  if (!jk_auth_role_valid(g->role)) return 0; /* a hand-edited row grants nothing */
  size_t len = strlen(c->out);
  /* once per role */
  char probe[40];
  snprintf(probe, sizeof probe, ",%s,", g->role);
  char padded[520];
  snprintf(padded, sizeof padded, ",%s,", c->out);
  if (strstr(padded, probe)) return 0;
  int w = snprintf(c->out + len, c->cap - len, "%s%s", len ? "," : "", g->role);
  if (w < 0 || (size_t)w >= c->cap - len) {
    c->out[len] = '\0';
    c->overflow = true;
    return 1;
  }
  return 0;
}

jk_err jk__auth_roles(jk_store *s, int64_t operator_id, jk_date today, char *out, size_t cap, bool *designated) {
  roles_ctx c = {today, out, cap, false, false};
  out[0] = '\0';
  jk_err e = jk_store_grant_each(s, operator_id, on_grant, &c);
  *designated = c.designated;
  if (!e && c.overflow) e = jk_error_set(JK_ETOOLARGE, "too many roles");
  return e;
}

/* ---- the check ---- */

jk_err jk_auth_begin(jk_session *s, const char *action, const char *object, const char *object_late) {
  const char *allowed;
  bool needs;
  char matched[32];
  jk_err e;
  if (s->ended) return jk_error_set(JK_EAUTH, "the session has ended: log in again");
  if ((e = jk_auth_permission(action, &allowed, &needs))) {
    jk_err r = jk__auth_record(s->node, s->staff_id, "-", s->terminal, action, object, JK_EPERM);
    if (r) return r;
    return jk_error_set(JK_EPERM, "action %s is not permitted to anyone (not in the permission table)", action);
  }
  /* REQ-ACCESS-11-2, REQ-ASSET-15: the operator's roles, and the designation where needed */
  bool ok = jk__auth_roles_match(s->roles, allowed, matched);
  if (ok && needs && !s->designated) {
    jk_err r = jk__auth_record(s->node, s->staff_id, matched, s->terminal, action, object, JK_EPERM);
    if (r) return r;
    return jk_error_set(JK_EPERM,
                        "%s is not designated by the 本人確認情報管理責任者 to handle 本人確認情報 (needed for %s)",
                        s->staff_id, action);
  }
  if (!ok) {
    jk_err r = jk__auth_record(s->node, s->staff_id, "-", s->terminal, action, object, JK_EPERM);
    if (r) return r;
    return jk_error_set(JK_EPERM, "%s holds none of the roles that may do %s (%s)", s->staff_id, action, allowed);
  }
  snprintf(s->role_used, sizeof s->role_used, "%s", matched);
  jk_ledger_entry en = {.operator_ = s->staff_id, .role = matched, .terminal = s->terminal, .action = action,
                        .object = object, .object_late = object_late, .result = "ok"};
  s->touch = true;
  return jk_ledger_stage(s->ledger, &en);
}

jk_err jk_auth_end(jk_session *s, jk_err e) {
  char saved[1024] = "";
  if (e) {
    snprintf(saved, sizeof saved, "%s", jk_error_last());
    jk_ledger_stage_result(s->ledger, jk_err_name(e));
  }
  jk_err w = jk_ledger_flush(s->ledger);
  if (w) {
    jk_ledger_discard(s->ledger);
    return jk_error_prefix("the operation could not be recorded in the ledger: ");
  }
  if (e) return jk_error_set(e, "%s", saved);
  return JK_OK;
}

jk_err jk_auth_roles_of(jk_node *n, int64_t operator_id, char *out, size_t cap, bool *designated) {
  return jk__auth_roles(jk_node_store(n), operator_id, jk_date_today(), out, cap, designated);
}
