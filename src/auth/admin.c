/*
 * admin.c — operators, appointments and designations, passwords, and the card ledger.
 *
 * Each operation: jk_auth_begin (the permission check, which stages the ledger entry), then
 * one store transaction whose commit also writes the entry, then jk_auth_end. Input is
 * validated after jk_auth_begin, so a refused or malformed request is recorded too.
 */
#include "auth/auth_int.h"

#include "jukinet/i18n.h"
#include "jukinet/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static jk_err text_ok(const char *what, const char *v) {
  size_t n = v ? strlen(v) : 0;
  if (n == 0) return jk_error_set(JK_EINVAL, "%s is required", what);
  if (n > JK_OP_TEXT_MAX) return jk_error_set(JK_ETOOLARGE, "%s is longer than %d bytes", what, JK_OP_TEXT_MAX);
  if (!jk_utf8_valid(v, n)) return jk_error_set(JK_EINVAL, "%s is not valid UTF-8", what);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return jk_error_set(JK_EINVAL, "%s contains a control character", what);
  return JK_OK;
}

static jk_err operator_info_ok(const jk_operator_info *op) {
  jk_err e;
  if (!jk__auth_staff_id_ok(op->staff_id))
    return jk_error_set(JK_EINVAL, "a staff id is 1 to %d letters, digits, '-', '_' or '.'", JK_STAFF_ID_MAX);
  if ((e = text_ok(jk_tr("the name"), op->name)) || (e = text_ok(jk_tr("the department"), op->department))) return e;
  return JK_OK;
}

/* Run `fn` in one transaction (its commit writes the staged entry), then finish the operation. */
typedef jk_err (*tx_fn)(jk_session *s, void *arg);
static jk_err in_tx(jk_session *s, tx_fn fn, void *arg) {
  jk_err e = jk_store_begin(s->store);
  if (!e) {
    if ((e = fn(s, arg))) jk_store_rollback(s->store);
    else e = jk_store_commit(s->store);
  }
  return jk_auth_end(s, e);
}

/* ---- bootstrap ---- */

typedef struct count_ctx {
  int n;
} count_ctx;

static int count_op(const jk_operator_rec *r, void *payload) {
  (void)r;
  ((count_ctx *)payload)->n++;
  return 0;
}

static jk_err grant(jk_store *st, int64_t operator_id, const char *role, jk_date from, const char *by) {
  jk_grant_rec g;
  memset(&g, 0, sizeof g);
  g.operator_id = operator_id;
  snprintf(g.role, sizeof g.role, "%s", role);
  g.from = from;
  snprintf(g.granted_by, sizeof g.granted_by, "%s", by);
  jk_utc_now(g.granted_at, 0);
  return jk_store_grant_insert(st, &g);
}

static jk_err card_event(jk_store *st, int64_t card_id, const char *event, const char *holder, const char *by,
                         const char *note) {
  jk_card_event_rec ev;
  memset(&ev, 0, sizeof ev);
  ev.card_id = card_id;
  snprintf(ev.event, sizeof ev.event, "%s", event);
  snprintf(ev.holder, sizeof ev.holder, "%s", holder);
  snprintf(ev.by, sizeof ev.by, "%s", by);
  jk_utc_now(ev.at, 0);
  snprintf(ev.note, sizeof ev.note, "%s", note ? note : "");
  return jk_store_card_event_add(st, &ev);
}

static jk_err insert_card(jk_store *st, int64_t operator_id, const char *serial, const char *label,
                          const uint8_t pk[32], const char *by, int64_t *id) {
  jk_card_rec c;
  memset(&c, 0, sizeof c);
  c.operator_id = operator_id;
  snprintf(c.serial, sizeof c.serial, "%s", serial);
  snprintf(c.label, sizeof c.label, "%s", label);
  memcpy(c.pubkey, pk, 32);
  snprintf(c.status, sizeof c.status, "active");
  jk_utc_now(c.enrolled_at, 0);
  snprintf(c.enrolled_by, sizeof c.enrolled_by, "%s", by);
  jk_err e = jk_store_card_insert(st, &c);
  if (!e) *id = c.id;
  return e;
}

jk_err jk_auth_bootstrap(jk_node *n, const jk_operator_info *admin, const char *card_token, const char *pin,
                         size_t pin_len, const char *password, size_t password_len, const char *terminal) {
  jk_store *st = jk_node_store(n);
  jk_ledger *l = jk_node_ledger(n);
  jk_auth_policy p;
  count_ctx cc = {0};
  uint8_t pk[32];
  char serial[65], label[65];
  int64_t card_id;
  jk_err e;
  if (!terminal || !*terminal) terminal = "-";
  if ((e = operator_info_ok(admin))) return e;
  if (!card_token || !*card_token) return jk_error_set(JK_EINVAL, "no IC card given (--card or JUKINET_CARD)");
  if ((e = jk_auth_policy_get(n, &p)) || (e = jk_store_operator_each(st, count_op, &cc))) return e;
  if (cc.n) return jk_error_set(JK_EEXISTS, "this node already has operators");
  if ((e = jk__password_check_policy(st, &p, 0, password, password_len))) return e;
  if ((e = jk__card_prove(jk_node_card_module(n), card_token, pin, pin_len, NULL, pk, serial, label))) return e;

  jk_operator_rec op;
  memset(&op, 0, sizeof op);
  snprintf(op.staff_id, sizeof op.staff_id, "%s", admin->staff_id);
  snprintf(op.name, sizeof op.name, "%s", admin->name);
  snprintf(op.department, sizeof op.department, "%s", admin->department);
  jk_utc_now(op.created_at, 0);
  snprintf(op.created_by, sizeof op.created_by, "-");
  static const char *const first_roles[] = {"system_admin", "access_manager", "identity_manager"};
  if ((e = jk_store_begin(st))) return e;
  jk_ledger_entry ni = {.operator_ = "-", .role = "-", .terminal = terminal, .action = "node.init",
                        .object = jk_node_id(n), .result = "ok"};
  if ((e = jk_ledger_stage(l, &ni))) goto fail;
  if ((e = jk_store_operator_insert(st, &op))) goto fail;
  jk_ledger_entry en = {.operator_ = "-", .role = "-", .terminal = terminal, .action = "operator.add",
                        .object = op.staff_id, .result = "ok"};
  if ((e = jk_ledger_stage(l, &en))) goto fail;
  for (size_t i = 0; i < sizeof first_roles / sizeof *first_roles; i++) {
    jk_ledger_entry ap = {.operator_ = "-", .role = "-", .terminal = terminal, .action = "role.appoint",
                          .object = op.staff_id, .result = "ok"};
    if ((e = grant(st, op.id, first_roles[i], jk_date_today(), "-")) || (e = jk_ledger_stage(l, &ap))) goto fail;
  }
  char cobj[40];
  if ((e = insert_card(st, op.id, serial, label, pk, "-", &card_id)) ||
      (e = card_event(st, card_id, "enrol", op.staff_id, "-", "node init")) ||
      (e = jk__password_store(st, op.id, password, password_len, "-")))
    goto fail;
  snprintf(cobj, sizeof cobj, "card:%lld", (long long)card_id);
  jk_ledger_entry ce = {.operator_ = "-", .role = "-", .terminal = terminal, .action = "card.enrol", .object = cobj,
                        .result = "ok"};
  jk_ledger_entry pe = {.operator_ = "-", .role = "-", .terminal = terminal, .action = "password.set",
                        .object = op.staff_id, .result = "ok"};
  if ((e = jk_ledger_stage(l, &ce)) || (e = jk_ledger_stage(l, &pe))) goto fail;
  if ((e = jk_store_commit(st))) {
    jk_ledger_discard(l);
    return e;
  }
  return JK_OK;
fail:
  jk_store_rollback(st);
  jk_ledger_discard(l);
  return e;
}

/* ---- operators ---- */

static jk_err do_operator_add(jk_session *s, void *arg) {
  const jk_operator_info *in = arg;
  jk_operator_rec op;
  memset(&op, 0, sizeof op);
  snprintf(op.staff_id, sizeof op.staff_id, "%s", in->staff_id);
  snprintf(op.name, sizeof op.name, "%s", in->name);
  snprintf(op.department, sizeof op.department, "%s", in->department);
  jk_utc_now(op.created_at, 0);
  snprintf(op.created_by, sizeof op.created_by, "%s", s->staff_id);
  return jk_store_operator_insert(s->store, &op);
}

jk_err jk_auth_operator_add(jk_session *s, const jk_operator_info *op) {
  const char *obj = op->staff_id && jk__auth_staff_id_ok(op->staff_id) ? op->staff_id : "-";
  jk_err e = jk_auth_begin(s, "operator.add", obj, NULL);
  if (e) return e;
  if ((e = operator_info_ok(op))) return jk_auth_end(s, e);
  return in_tx(s, do_operator_add, (void *)op);
}

static jk_err find_operator(jk_session *s, const char *staff_id, jk_operator_rec *op) {
  if (!jk__auth_staff_id_ok(staff_id))
    return jk_error_set(JK_EINVAL, "a staff id is 1 to %d letters, digits, '-', '_' or '.'", JK_STAFF_ID_MAX);
  return jk_store_operator_get(s->store, 0, staff_id, op);
}

static const char *safe_obj(const char *staff_id) {
  return staff_id && jk__auth_staff_id_ok(staff_id) ? staff_id : "-";
}

static jk_err do_disable(jk_session *s, void *arg) {
  jk_operator_rec *op = arg;
  char now[32];
  jk_utc_now(now, 0);
  return jk_store_operator_disable(s->store, op->id, now, s->staff_id);
}

jk_err jk_auth_operator_disable(jk_session *s, const char *staff_id) {
  jk_operator_rec op;
  jk_err e = jk_auth_begin(s, "operator.disable", safe_obj(staff_id), NULL);
  if (e) return e;
  if ((e = find_operator(s, staff_id, &op))) return jk_auth_end(s, e);
  if (op.id == s->operator_id) return jk_auth_end(s, jk_error_set(JK_ECONFLICT, "operators cannot disable themselves"));
  return in_tx(s, do_disable, &op);
}

/* ---- appointments and designations ---- */

typedef struct grant_arg {
  jk_operator_rec op;
  const char *role;
  jk_date date;
  int64_t grant_id;
} grant_arg;

static jk_err do_appoint(jk_session *s, void *arg) {
  grant_arg *g = arg;
  return grant(s->store, g->op.id, g->role, g->date, s->staff_id);
}

typedef struct find_grant {
  const char *role;
  jk_date today;
  int64_t id;
} find_grant;

static int on_find_grant(const jk_grant_rec *g, void *payload) {
  find_grant *f = payload;
  if (strcmp(g->role, f->role) != 0 || g->ended_at[0]) return 0;
  if (g->until.y && jk_date_cmp(g->until, f->today) < 0) return 0;
  f->id = g->id;
  return 0; /* the newest one wins */
}

jk_err jk_auth_appoint(jk_session *s, const char *staff_id, const char *role, jk_date from) {
  bool designation = role && strcmp(role, "handler") == 0;
  grant_arg g = {.role = role, .date = from.y ? from : jk_date_today()};
  jk_err e = jk_auth_begin(s, designation ? "designation.grant" : "role.appoint", safe_obj(staff_id), NULL);
  if (e) return e;
  if (!jk_auth_role_valid(role)) return jk_auth_end(s, jk_error_set(JK_EINVAL, "unknown role %.40s", role ? role : ""));
  if (!jk_date_valid(g.date)) return jk_auth_end(s, jk_error_set(JK_EINVAL, "invalid date"));
  if ((e = find_operator(s, staff_id, &g.op))) return jk_auth_end(s, e);
  find_grant f = {role, jk_date_today(), 0};
  if ((e = jk_store_grant_each(s->store, g.op.id, on_find_grant, &f))) return jk_auth_end(s, e);
  if (f.id) return jk_auth_end(s, jk_error_set(JK_EEXISTS, "%s already holds %s", staff_id, role));
  return in_tx(s, do_appoint, &g);
}

static jk_err do_dismiss(jk_session *s, void *arg) {
  grant_arg *g = arg;
  char now[32];
  jk_utc_now(now, 0);
  return jk_store_grant_end(s->store, g->grant_id, g->date, s->staff_id, now);
}

jk_err jk_auth_dismiss(jk_session *s, const char *staff_id, const char *role, jk_date until) {
  bool designation = role && strcmp(role, "handler") == 0;
  /* default: effective at once (the last day in force was yesterday) */
  grant_arg g = {.role = role, .date = until.y ? until : jk_date_from_days(jk_date_to_days(jk_date_today()) - 1)};
  jk_err e = jk_auth_begin(s, designation ? "designation.revoke" : "role.dismiss", safe_obj(staff_id), NULL);
  if (e) return e;
  if (!jk_auth_role_valid(role)) return jk_auth_end(s, jk_error_set(JK_EINVAL, "unknown role %.40s", role ? role : ""));
  if ((e = find_operator(s, staff_id, &g.op))) return jk_auth_end(s, e);
  find_grant f = {role, jk_date_today(), 0};
  if ((e = jk_store_grant_each(s->store, g.op.id, on_find_grant, &f))) return jk_auth_end(s, e);
  if (!f.id) return jk_auth_end(s, jk_error_set(JK_ENOTFOUND, "%s does not hold %s", staff_id, role));
  g.grant_id = f.id;
  return in_tx(s, do_dismiss, &g);
}

/* ---- passwords ---- */

typedef struct pw_arg {
  int64_t operator_id;
  const char *pw;
  size_t len;
} pw_arg;

static jk_err do_set_password(jk_session *s, void *arg) {
  pw_arg *a = arg;
  return jk__password_store(s->store, a->operator_id, a->pw, a->len, s->staff_id);
}

jk_err jk_auth_set_password(jk_session *s, const char *staff_id, const char *old_pw, size_t old_len, const char *new_pw,
                            size_t new_len) {
  bool self = !staff_id || strcmp(staff_id, s->staff_id) == 0;
  jk_operator_rec op;
  jk_auth_policy p;
  jk_err e = jk_auth_begin(s, self ? "password.change" : "password.set", self ? s->staff_id : safe_obj(staff_id), NULL);
  if (e) return e;
  if ((e = jk_auth_policy_get(s->node, &p))) return jk_auth_end(s, e);
  if ((e = find_operator(s, self ? s->staff_id : staff_id, &op))) return jk_auth_end(s, e);
  if (self) {
    bool expired;
    if (!old_pw) return jk_auth_end(s, jk_error_set(JK_EINVAL, "the current password is required"));
    if ((e = jk__password_verify(s->store, &p, op.id, old_pw, old_len, &expired))) return jk_auth_end(s, e);
  }
  if ((e = jk__password_check_policy(s->store, &p, op.id, new_pw, new_len))) return jk_auth_end(s, e);
  pw_arg a = {op.id, new_pw, new_len};
  return in_tx(s, do_set_password, &a);
}

/* ---- the card ledger ---- */

typedef struct enrol_arg {
  jk_operator_rec op;
  char serial[65], label[65];
  uint8_t pk[32];
  const char *note;
  int64_t old_id; /* replace: the card being replaced */
  int64_t new_id;
} enrol_arg;

static jk_err do_enrol(jk_session *s, void *arg) {
  enrol_arg *a = arg;
  jk_err e;
  if (a->old_id) {
    jk_card_rec old;
    char now[32];
    jk_utc_now(now, 0);
    if ((e = jk_store_card_get(s->store, a->old_id, &old)) ||
        (e = jk_store_card_set_status(s->store, a->old_id, "replaced", now)) ||
        (e = card_event(s->store, a->old_id, "replace", a->op.staff_id, s->staff_id, a->note)))
      return e;
  }
  if ((e = insert_card(s->store, a->op.id, a->serial, a->label, a->pk, s->staff_id, &a->new_id))) return e;
  return card_event(s->store, a->new_id, "enrol", a->op.staff_id, s->staff_id, a->note);
}

static jk_err note_ok(const char *note) { return note && *note ? text_ok(jk_tr("the note"), note) : JK_OK; }

jk_err jk_auth_card_enrol(jk_session *s, const char *staff_id, const char *card_token, const char *pin, size_t pin_len,
                          const char *note, int64_t *card_id) {
  enrol_arg a;
  memset(&a, 0, sizeof a);
  a.note = note;
  jk_err e = jk_auth_begin(s, "card.enrol", safe_obj(staff_id), NULL);
  if (e) return e;
  if ((e = note_ok(note)) || (e = find_operator(s, staff_id, &a.op))) return jk_auth_end(s, e);
  if (!card_token || !*card_token) return jk_auth_end(s, jk_error_set(JK_EINVAL, "no IC card given (--card or JUKINET_CARD)"));
  if ((e = jk__card_prove(jk_node_card_module(s->node), card_token, pin, pin_len, NULL, a.pk, a.serial, a.label)))
    return jk_auth_end(s, e);
  e = in_tx(s, do_enrol, &a);
  if (!e && card_id) *card_id = a.new_id;
  return e;
}

jk_err jk_auth_card_replace(jk_session *s, int64_t old_card_id, const char *card_token, const char *pin, size_t pin_len,
                            const char *note, int64_t *new_card_id) {
  enrol_arg a;
  jk_card_rec old;
  char obj[40];
  memset(&a, 0, sizeof a);
  a.note = note;
  a.old_id = old_card_id;
  snprintf(obj, sizeof obj, "card:%lld", (long long)old_card_id);
  jk_err e = jk_auth_begin(s, "card.replace", obj, NULL);
  if (e) return e;
  if ((e = note_ok(note)) || (e = jk_store_card_get(s->store, old_card_id, &old))) return jk_auth_end(s, e);
  if (strcmp(old.status, "replaced") == 0 || strcmp(old.status, "revoked") == 0)
    return jk_auth_end(s, jk_error_set(JK_ECONFLICT, "card %lld is already %s", (long long)old_card_id, jk_tr(old.status)));
  if ((e = jk_store_operator_get(s->store, old.operator_id, NULL, &a.op))) return jk_auth_end(s, e);
  if (!card_token || !*card_token) return jk_auth_end(s, jk_error_set(JK_EINVAL, "no IC card given (--card or JUKINET_CARD)"));
  if ((e = jk__card_prove(jk_node_card_module(s->node), card_token, pin, pin_len, NULL, a.pk, a.serial, a.label)))
    return jk_auth_end(s, e);
  e = in_tx(s, do_enrol, &a);
  if (!e && new_card_id) *new_card_id = a.new_id;
  return e;
}

/* Allowed transitions (art. 13): lend returned→active; return active→returned;
 * lost active|returned→lost; revoke anything not final→revoked. */
static const char *transition(const char *event, const char *from) {
  bool final = strcmp(from, "revoked") == 0 || strcmp(from, "replaced") == 0;
  if (strcmp(event, "lend") == 0) return strcmp(from, "returned") == 0 ? "active" : NULL;
  if (strcmp(event, "return") == 0) return strcmp(from, "active") == 0 ? "returned" : NULL;
  if (strcmp(event, "lost") == 0) return strcmp(from, "active") == 0 || strcmp(from, "returned") == 0 ? "lost" : NULL;
  if (strcmp(event, "revoke") == 0) return final ? NULL : "revoked";
  return NULL;
}

typedef struct event_arg {
  jk_card_rec card;
  const char *event, *to, *note;
  jk_operator_rec holder;
} event_arg;

static jk_err do_event(jk_session *s, void *arg) {
  event_arg *a = arg;
  char now[32];
  jk_err e;
  jk_utc_now(now, 0);
  if ((e = jk_store_card_set_status(s->store, a->card.id, a->to, now))) return e;
  return card_event(s->store, a->card.id, a->event, a->holder.staff_id, s->staff_id, a->note);
}

jk_err jk_auth_card_event(jk_session *s, int64_t card_id, const char *event, const char *note) {
  char action[32], obj[40];
  event_arg a = {.event = event, .note = note};
  jk_err e;
  bool known = event && (strcmp(event, "lend") == 0 || strcmp(event, "return") == 0 || strcmp(event, "lost") == 0 ||
                         strcmp(event, "revoke") == 0);
  if (!known) return jk_error_set(JK_EINVAL, "unknown card event (lend, return, lost, revoke)");
  snprintf(action, sizeof action, "card.%s", event);
  snprintf(obj, sizeof obj, "card:%lld", (long long)card_id);
  if ((e = jk_auth_begin(s, action, obj, NULL))) return e;
  if ((e = note_ok(note)) || (e = jk_store_card_get(s->store, card_id, &a.card)) ||
      (e = jk_store_operator_get(s->store, a.card.operator_id, NULL, &a.holder)))
    return jk_auth_end(s, e);
  if (!(a.to = transition(event, a.card.status)))
    return jk_auth_end(s, jk_error_set(JK_ECONFLICT, "card %lld is %s: it cannot be %s", (long long)card_id,
                                       jk_tr(a.card.status), jk_tr(event)));
  return in_tx(s, do_event, &a);
}
