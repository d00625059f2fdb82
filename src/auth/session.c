/*
 * session.c — login (IC card + password), lockout, sessions, and recording outcomes.
 *
 * Order of the login checks (each failure is a ledger entry, none says more than needed):
 *   1. the card is present and enrolled here; it is enrolled to the claimed operator
 *   2. the operator is active and not locked out (a locked operator costs the card no PIN try)
 *   3. the card is active (not returned, lost, revoked or replaced)        REQ-ACCESS-13
 *   4. C_Login with the PIN, then a fresh challenge signed by the card verifies against the
 *      enrolled public key                                                REQ-ACCESS-11-1
 *   5. the password (Argon2id)                                            REQ-ACCESS-11-1
 *   6. the password has not expired (or a new one is given and accepted)  REQ-ACCESS-12
 * Failures of 1 (claimed operator), 4 and 5 count toward the operator's lockout.
 *
 * A session token is 32 random bytes shown once as hex; the node keeps only its SHA-256.
 */
#include "auth/auth_int.h"

#include "jukinet/i18n.h"
#include "jukinet/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


/* Seconds from an ISO time to now; a very large number when unparsable (treated as expired). */
long long jk__auth_seconds_since(const char *iso) {
  struct tm tm = {0};
  if (!strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)) return (long long)1 << 40;
  return (long long)(time(NULL) - timegm(&tm));
}

jk_err jk__auth_record(jk_node *n, const char *staff_id, const char *role, const char *terminal, const char *action,
                       const char *object, jk_err result) {
  char saved[1024];
  snprintf(saved, sizeof saved, "%s", jk_error_last());
  jk_ledger *l = jk_node_ledger(n);
  jk_ledger_entry en = {.operator_ = staff_id, .role = role, .terminal = terminal, .action = action,
                        .object = object, .result = result ? jk_err_name(result) : "ok"};
  jk_err e = jk_ledger_stage(l, &en);
  if (!e) e = jk_ledger_flush(l);
  if (e) {
    jk_ledger_discard(l);
    return jk_error_prefix("the refusal could not be recorded in the ledger: ");
  }
  jk_error_set(result, "%s", saved);
  return JK_OK;
}

/* A failed login attempt against a known operator: count it, lock when the threshold is met,
 * record it, all in one transaction. Returns `result` with the caller's message kept. */
static jk_err login_failed(jk_node *n, const jk_auth_policy *p, int64_t operator_id, const char *staff_id,
                           const char *terminal, const char *object, jk_err result) {
  char saved[1024];
  snprintf(saved, sizeof saved, "%s", jk_error_last());
  jk_store *s = jk_node_store(n);
  jk_ledger *l = jk_node_ledger(n);
  int failures = 0;
  char locked[32];
  bool now_locked = false;
  jk_err e = jk_store_begin(s);
  if (e) goto fail;
  if (operator_id) {
    if ((e = jk_store_login_state_get(s, operator_id, &failures, locked))) goto rollback;
    failures++;
    if (failures >= p->lockout_threshold) { /* REQ-ACCESS-12: lockout */
      jk_utc_now(locked, p->lockout_minutes);
      failures = 0;
      now_locked = true;
    }
    if ((e = jk_store_login_state_set(s, operator_id, failures, now_locked ? locked : locked[0] ? locked : NULL)))
      goto rollback;
  }
  jk_ledger_entry en = {.operator_ = staff_id, .role = "-", .terminal = terminal, .action = "login", .object = object,
                        .result = jk_err_name(result)};
  if ((e = jk_ledger_stage(l, &en))) goto rollback;
  if (now_locked) {
    jk_ledger_entry lk = {.operator_ = staff_id, .role = "-", .terminal = terminal, .action = "login.lockout",
                          .object = staff_id, .result = "ok"};
    if ((e = jk_ledger_stage(l, &lk))) goto rollback;
  }
  if ((e = jk_store_commit(s))) goto fail;
  if (now_locked)
    return jk_error_set(JK_EPERM, "%s; too many failed logins: %s is locked for %d minutes", saved, staff_id,
                        p->lockout_minutes);
  return jk_error_set(result, "%s", saved);
rollback:
  jk_store_rollback(s);
fail:
  jk_ledger_discard(l);
  return jk_error_prefix("the failed login could not be recorded: ");
}

static bool staff_id_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > JK_STAFF_ID_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  }
  return true;
}

bool jk__auth_staff_id_ok(const char *s) { return staff_id_ok(s); }

static jk_err touch_session(jk_store *st, void *payload) {
  jk_session *s = payload;
  if (!s->touch || !s->session_id) return JK_OK;
  char now[32];
  jk_utc_now(now, 0);
  s->touch = false;
  return jk_store_session_touch(st, s->session_id, now);
}

static jk_err new_session(jk_node *n, const jk_operator_rec *op, int64_t card_id, const char *terminal,
                          jk_session **out) {
  jk_session *s = jk_calloc(1, sizeof *s);
  if (!s) return jk_error_set(JK_ENOMEM, NULL);
  s->node = n;
  s->store = jk_node_store(n);
  s->ledger = jk_node_ledger(n);
  s->operator_id = op->id;
  s->card_id = card_id;
  snprintf(s->staff_id, sizeof s->staff_id, "%s", op->staff_id);
  snprintf(s->name, sizeof s->name, "%s", op->name);
  snprintf(s->terminal, sizeof s->terminal, "%s", terminal);
  jk_err e = jk__auth_roles(s->store, op->id, jk_date_today(), s->roles, sizeof s->roles, &s->designated);
  if (e) {
    jk_free(s);
    return e;
  }
  jk_ledger_set_extra(s->ledger, touch_session, s);
  *out = s;
  return JK_OK;
}

void jk_session_free(jk_session *s) {
  if (!s) return;
  jk_ledger_set_extra(s->ledger, NULL, NULL);
  sodium_memzero(s, sizeof *s);
  jk_free(s);
}

jk_err jk_auth_login(jk_node *n, const jk_login_req *r, char token[JK_SESSION_TOKEN_LEN + 1]) {
  jk_store *s = jk_node_store(n);
  jk_auth_policy p;
  jk_card_rec card;
  jk_operator_rec op;
  char serial[65], label[65], object[80], now[32];
  const char *terminal = r->terminal && *r->terminal ? r->terminal : "-";
  const char *claimed = r->staff_id && *r->staff_id ? r->staff_id : "-";
  jk_err e;
  token[0] = '\0';
  if ((e = jk_auth_policy_get(n, &p))) return e;
  if (r->staff_id && !staff_id_ok(r->staff_id)) {
    jk_error_set(JK_EINVAL, "a staff id is 1 to %d letters, digits, '-', '_' or '.'", JK_STAFF_ID_MAX);
    return jk__auth_record(n, "-", "-", terminal, "login", "-", JK_EINVAL) ?: JK_EINVAL;
  }
  if (!r->card_token || !*r->card_token) return jk_error_set(JK_EINVAL, "no IC card given (--card or JUKINET_CARD)");
  if (!r->pin || !r->pin_len || r->pin_len > PIN_MAX_BYTES) return jk_error_set(JK_EINVAL, "the card's PIN is required");
  if (!r->password || !r->password_len) return jk_error_set(JK_EINVAL, "the password is required");

  /* 1. the card */
  snprintf(object, sizeof object, "card:%.60s", r->card_token);
  if ((e = jk__card_identify(jk_node_card_module(n), r->card_token, serial, label)))
    return jk__auth_record(n, claimed, "-", terminal, "login", object, e) ?: e;
  if ((e = jk_store_card_find(s, serial, label, &card))) {
    if (e != JK_ENOTFOUND) return e;
    jk_error_set(JK_EAUTH, "this IC card is not enrolled on this node");
    return jk__auth_record(n, claimed, "-", terminal, "login", object, JK_EAUTH) ?: JK_EAUTH;
  }
  snprintf(object, sizeof object, "card:%lld", (long long)card.id);
  if ((e = jk_store_operator_get(s, card.operator_id, NULL, &op))) return e;
  if (r->staff_id && strcmp(r->staff_id, op.staff_id) != 0) {
    jk_operator_rec other;
    int64_t other_id = 0;
    if (jk_store_operator_get(s, 0, r->staff_id, &other) == JK_OK) other_id = other.id;
    jk_error_clear();
    jk_error_set(JK_EAUTH, "this IC card is not enrolled to %s", r->staff_id);
    return login_failed(n, &p, other_id, r->staff_id, terminal, object, JK_EAUTH);
  }

  /* 2. operator active, not locked */
  if (op.disabled_at[0]) {
    jk_error_set(JK_EPERM, "operator %s is disabled", op.staff_id);
    return jk__auth_record(n, op.staff_id, "-", terminal, "login", object, JK_EPERM) ?: JK_EPERM;
  }
  int failures;
  char locked[32];
  if ((e = jk_store_login_state_get(s, op.id, &failures, locked))) return e;
  jk_utc_now(now, 0);
  if (locked[0] && strcmp(locked, now) > 0) {
    jk_error_set(JK_EPERM, "%s is locked after too many failed logins until %.16s UTC", op.staff_id, locked);
    return jk__auth_record(n, op.staff_id, "-", terminal, "login", object, JK_EPERM) ?: JK_EPERM;
  }

  /* 3. card status */
  if (strcmp(card.status, "active") != 0) {
    jk_error_set(JK_EPERM, "this IC card is %s and cannot be used to log in", jk_tr(card.status));
    return jk__auth_record(n, op.staff_id, "-", terminal, "login", object, JK_EPERM) ?: JK_EPERM;
  }

  /* 4. PIN and challenge */
  if ((e = jk__card_prove(jk_node_card_module(n), r->card_token, r->pin, r->pin_len, card.pubkey, NULL, serial,
                          label))) {
    if (e == JK_EAUTH) return login_failed(n, &p, op.id, op.staff_id, terminal, object, JK_EAUTH);
    return jk__auth_record(n, op.staff_id, "-", terminal, "login", object, e) ?: e;
  }

  /* 5. password, 6. expiry */
  bool expired;
  if ((e = jk__password_verify(s, &p, op.id, r->password, r->password_len, &expired))) {
    if (e == JK_EAUTH) return login_failed(n, &p, op.id, op.staff_id, terminal, object, JK_EAUTH);
    return e;
  }
  bool change = false;
  if (expired) {
    if (!r->new_password) {
      jk_error_set(JK_EPERM, "the password of %s has expired: give a new one (--new-password-file or "
                   "JUKINET_NEW_PASSWORD)", op.staff_id);
      return jk__auth_record(n, op.staff_id, "-", terminal, "login", object, JK_EPERM) ?: JK_EPERM;
    }
    if ((e = jk__password_check_policy(s, &p, op.id, r->new_password, r->new_password_len)))
      return jk__auth_record(n, op.staff_id, "-", terminal, "password.change", op.staff_id, e) ?: e;
    change = true;
  }

  /* success: a session */
  uint8_t raw[32];
  jk_session_rec rec;
  memset(&rec, 0, sizeof rec);
  randombytes_buf(raw, sizeof raw);
  crypto_hash_sha256(rec.token_hash, raw, sizeof raw);
  rec.operator_id = op.id;
  rec.card_id = card.id;
  snprintf(rec.terminal, sizeof rec.terminal, "%s", terminal);
  snprintf(rec.created_at, sizeof rec.created_at, "%s", now);
  jk_ledger *l = jk_node_ledger(n);
  if ((e = jk_store_begin(s))) goto out;
  if ((e = jk_store_login_state_set(s, op.id, 0, NULL)) || (e = jk_store_session_insert(s, &rec)) ||
      (change && (e = jk__password_store(s, op.id, r->new_password, r->new_password_len, op.staff_id)))) {
    jk_store_rollback(s);
    goto out;
  }
  jk_ledger_entry en = {.operator_ = op.staff_id, .role = "-", .terminal = terminal, .action = "login",
                        .object = object, .result = "ok"};
  jk_ledger_entry pc = {.operator_ = op.staff_id, .role = "-", .terminal = terminal, .action = "password.change",
                        .object = op.staff_id, .result = "ok"};
  if ((e = jk_ledger_stage(l, &en)) || (change && (e = jk_ledger_stage(l, &pc)))) {
    jk_store_rollback(s);
    jk_ledger_discard(l);
    goto out;
  }
  if ((e = jk_store_commit(s))) {
    jk_ledger_discard(l);
    goto out;
  }
  sodium_bin2hex(token, JK_SESSION_TOKEN_LEN + 1, raw, sizeof raw);
out:
  sodium_memzero(raw, sizeof raw);
  return e;
}

jk_err jk_auth_resume(jk_node *n, const char *token, const char *terminal, jk_session **out) {
  jk_store *s = jk_node_store(n);
  uint8_t raw[32], hash[32];
  size_t got = 0;
  jk_session_rec rec;
  jk_operator_rec op;
  jk_card_rec card;
  jk_auth_policy p;
  jk_err e;
  *out = NULL;
  if (!terminal || !*terminal) terminal = "-";
  if ((e = jk_auth_policy_get(n, &p))) return e;
  if (!token || strlen(token) != JK_SESSION_TOKEN_LEN ||
      sodium_hex2bin(raw, sizeof raw, token, JK_SESSION_TOKEN_LEN, NULL, &got, NULL) != 0 || got != sizeof raw) {
    jk_error_set(JK_EAUTH, "not logged in, or the session token is not valid: log in with jukinet login");
    return jk__auth_record(n, "-", "-", terminal, "session.resume", "-", JK_EAUTH) ?: JK_EAUTH;
  }
  crypto_hash_sha256(hash, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  if ((e = jk_store_session_get(s, hash, &rec))) {
    if (e != JK_ENOTFOUND) return e;
    jk_error_set(JK_EAUTH, "not logged in, or the session token is not valid: log in with jukinet login");
    return jk__auth_record(n, "-", "-", terminal, "session.resume", "-", JK_EAUTH) ?: JK_EAUTH;
  }
  if ((e = jk_store_operator_get(s, rec.operator_id, NULL, &op)) || (e = jk_store_card_get(s, rec.card_id, &card)))
    return e;
  char object[40];
  snprintf(object, sizeof object, "session:%lld", (long long)rec.id);
  if (rec.ended_at[0]) {
    jk_error_set(JK_EAUTH, "the session has ended: log in again");
    return jk__auth_record(n, op.staff_id, "-", terminal, "session.resume", object, JK_EAUTH) ?: JK_EAUTH;
  }
  const char *why = NULL;
  jk_err code = JK_EAUTH;
  if (jk__auth_seconds_since(rec.last_used_at) > (long long)p.idle_minutes * 60) {
    jk_error_set(JK_EAUTH, "the session expired after %d minutes without use: log in again", p.idle_minutes);
    why = "idle";
  } else if (op.disabled_at[0]) {
    jk_error_set(JK_EPERM, "operator %s is disabled", op.staff_id);
    why = "disabled";
    code = JK_EPERM;
  } else if (strcmp(card.status, "active") != 0) {
    jk_error_set(JK_EPERM, "the IC card of this session is %s: log in again with a valid card", jk_tr(card.status));
    why = "card";
    code = JK_EPERM;
  }
  if (why) { /* end the session and record why, together */
    char saved[1024], now[32];
    snprintf(saved, sizeof saved, "%s", jk_error_last());
    jk_utc_now(now, 0);
    jk_ledger *l = jk_node_ledger(n);
    jk_ledger_entry en = {.operator_ = op.staff_id, .role = "-", .terminal = terminal, .action = "session.resume",
                          .object = object, .result = jk_err_name(code)};
    if ((e = jk_store_begin(s))) return e;
    if ((e = jk_store_session_end(s, rec.id, now, why)) || (e = jk_ledger_stage(l, &en))) {
      jk_store_rollback(s);
      jk_ledger_discard(l);
      return e;
    }
    if ((e = jk_store_commit(s))) {
      jk_ledger_discard(l);
      return e;
    }
    return jk_error_set(code, "%s", saved);
  }
  if ((e = new_session(n, &op, card.id, terminal, out))) return e;
  (*out)->session_id = rec.id;
  return JK_OK;
}

jk_err jk_auth_logout(jk_session *s) {
  char now[32], object[40];
  jk_err e;
  snprintf(object, sizeof object, "session:%lld", (long long)s->session_id);
  if ((e = jk_auth_begin(s, "session.logout", object, NULL))) return e;
  jk_utc_now(now, 0);
  if (!(e = jk_store_begin(s->store))) {
    if ((e = jk_store_session_end(s->store, s->session_id, now, "logout"))) jk_store_rollback(s->store);
    else e = jk_store_commit(s->store);
  }
  if (!e) s->ended = true;
  return jk_auth_end(s, e);
}

const char *jk_session_staff_id(const jk_session *s) { return s->staff_id; }
const char *jk_session_name(const jk_session *s) { return s->name; }
int64_t jk_session_operator_id(const jk_session *s) { return s->operator_id; }
const char *jk_session_roles(const jk_session *s) { return s->roles; }
bool jk_session_designated(const jk_session *s) { return s->designated; }
jk_node *jk_session_node(jk_session *s) { return s->node; }
