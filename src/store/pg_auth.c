/*
 * pg_auth.c — operators, grants, passwords, cards, the card ledger, login state and sessions
 * in the PostgreSQL backend (schema sql/pg/0004_auth.sql). The same contract as sqlite_auth.c:
 * text read back is copied into the records' fixed-size fields, and a value that does not fit,
 * or a missing one, is JK_ECORRUPT.
 */
#include "store/pg_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum {
  SA_OP_INSERT = PG_SLOT_AUTH,
  SA_OP_GET_ID,
  SA_OP_GET_STAFF,
  SA_OP_EACH,
  SA_OP_DISABLE,
  SA_GRANT_INSERT,
  SA_GRANT_END,
  SA_GRANT_EACH_OP,
  SA_GRANT_EACH,
  SA_PW_ADD,
  SA_PW_RECENT,
  SA_CARD_INSERT,
  SA_CARD_GET,
  SA_CARD_FIND,
  SA_CARD_STATUS,
  SA_CARD_EACH_OP,
  SA_CARD_EACH,
  SA_CEV_ADD,
  SA_CEV_EACH_CARD,
  SA_CEV_EACH,
  SA_LS_GET,
  SA_LS_SET,
  SA_SES_INSERT,
  SA_SES_GET,
  SA_SES_TOUCH,
  SA_SES_END,
  SA__END
};
_Static_assert(SA__END <= PG_STMT_MAX, "auth statement slots overflow");

static jk_err corrupt(const char *table, int64_t id) {
  return jk_error_set(JK_ECORRUPT, "%s row %lld is malformed", table, (long long)id);
}

/* An INSERT … RETURNING id: *id. */
static jk_err insert_id(pg_store *s, int slot, const char *sql, const pg_params *p, const char *what, int64_t *id) {
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, slot, sql, p, what, &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_i64(r, 0, 0, id)) e = jk_error_set(JK_EIO, "database (%s): %s", what, "no id returned");
  PQclear(r);
  return e;
}

/* ---- operators ---- */

#define OP_COLS "id, staff_id, name, department, created_at, created_by, disabled_at"

static jk_err pa_operator_insert(jk_store *base, jk_operator_rec *r) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, r->staff_id);
  jk__pg_text(&p, r->name);
  jk__pg_text(&p, r->department);
  jk__pg_text(&p, r->created_at);
  jk__pg_text(&p, r->created_by);
  PGresult *q = jk__pg_run(s, SA_OP_INSERT,
                           "INSERT INTO operator(staff_id, name, department, created_at, created_by) VALUES ($1, $2, "
                           "$3, $4, $5) ON CONFLICT (staff_id) DO NOTHING RETURNING id",
                           &p, "operator", &e);
  if (!q) return e;
  if (PQntuples(q) == 0) e = jk_error_set(JK_EEXISTS, "an operator with staff id %s already exists", r->staff_id);
  else if (!jk__pg_i64(q, 0, 0, &r->id)) e = corrupt("operator", 0);
  PQclear(q);
  return e;
}

static jk_err read_operator(const PGresult *q, int i, jk_operator_rec *r) {
  memset(r, 0, sizeof *r);
  if (!jk__pg_i64(q, i, 0, &r->id) || !jk__pg_copy(q, i, 1, r->staff_id, sizeof r->staff_id, false) ||
      !jk__pg_copy(q, i, 2, r->name, sizeof r->name, false) ||
      !jk__pg_copy(q, i, 3, r->department, sizeof r->department, false) ||
      !jk__pg_copy(q, i, 4, r->created_at, sizeof r->created_at, false) ||
      !jk__pg_copy(q, i, 5, r->created_by, sizeof r->created_by, false) ||
      !jk__pg_copy(q, i, 6, r->disabled_at, sizeof r->disabled_at, true))
    return corrupt("operator", r->id);
  return JK_OK;
}

static jk_err pa_operator_get(jk_store *base, int64_t id, const char *staff_id, jk_operator_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *q;
  if (id) {
    jk__pg_int(&p, id);
    q = jk__pg_run(s, SA_OP_GET_ID, "SELECT " OP_COLS " FROM operator WHERE id = $1", &p, "operator", &e);
  } else {
    jk__pg_text(&p, staff_id);
    q = jk__pg_run(s, SA_OP_GET_STAFF, "SELECT " OP_COLS " FROM operator WHERE staff_id = $1", &p, "operator", &e);
  }
  if (!q) return e;
  if (PQntuples(q) > 0) e = read_operator(q, 0, out);
  else e = id ? jk_error_set(JK_ENOTFOUND, "operator %lld does not exist", (long long)id)
              : jk_error_set(JK_ENOTFOUND, "no operator has staff id %s", staff_id);
  PQclear(q);
  return e;
}

static jk_err pa_operator_each(jk_store *base, jk_operator_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *q = jk__pg_run(s, SA_OP_EACH, "SELECT " OP_COLS " FROM operator ORDER BY id", NULL, "operator", &e);
  if (!q) return e;
  for (int i = 0; i < PQntuples(q); i++) {
    jk_operator_rec r;
    if ((e = read_operator(q, i, &r)) || cb(&r, payload)) break;
  }
  PQclear(q);
  return e;
}

static jk_err pa_operator_disable(jk_store *base, int64_t id, const char *at, const char *by) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_int(&p, id);
  jk__pg_text(&p, at);
  jk__pg_text(&p, by);
  jk_err e = jk__pg_do(s, SA_OP_DISABLE,
                       "UPDATE operator SET disabled_at = $2, disabled_by = $3 WHERE id = $1 AND disabled_at IS NULL",
                       &p, "operator", &n);
  if (!e && n == 0) return jk_error_set(JK_ECONFLICT, "operator %lld is not active", (long long)id);
  return e;
}

/* ---- grants ---- */

#define GRANT_COLS "id, operator_id, role, from_date, until_date, granted_by, granted_at, ended_by, ended_at"

static jk_err pa_grant_insert(jk_store *base, jk_grant_rec *r) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, r->operator_id);
  jk__pg_text(&p, r->role);
  jk__pg_date(&p, r->from);
  jk__pg_date(&p, r->until);
  jk__pg_text(&p, r->granted_by);
  jk__pg_text(&p, r->granted_at);
  return insert_id(s, SA_GRANT_INSERT,
                   "INSERT INTO grant_(operator_id, role, from_date, until_date, granted_by, granted_at) VALUES ($1, "
                   "$2, $3, $4, $5, $6) RETURNING id",
                   &p, "appointment", &r->id);
}

static jk_err pa_grant_end(jk_store *base, int64_t id, jk_date until, const char *by, const char *at) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_int(&p, id);
  jk__pg_date(&p, until);
  jk__pg_text(&p, by);
  jk__pg_text(&p, at);
  jk_err e = jk__pg_do(s, SA_GRANT_END,
                       "UPDATE grant_ SET until_date = $2, ended_by = $3, ended_at = $4 WHERE id = $1 AND ended_at IS NULL",
                       &p, "appointment", &n);
  if (!e && n == 0)
    return jk_error_set(JK_ECONFLICT, "appointment %lld does not exist or has already ended", (long long)id);
  return e;
}

static jk_err pa_grant_each(jk_store *base, int64_t operator_id, jk_grant_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *q;
  if (operator_id) {
    jk__pg_int(&p, operator_id);
    q = jk__pg_run(s, SA_GRANT_EACH_OP, "SELECT " GRANT_COLS " FROM grant_ WHERE operator_id = $1 ORDER BY id", &p,
                   "appointment", &e);
  } else {
    q = jk__pg_run(s, SA_GRANT_EACH, "SELECT " GRANT_COLS " FROM grant_ ORDER BY id", NULL, "appointment", &e);
  }
  if (!q) return e;
  for (int i = 0; i < PQntuples(q); i++) {
    jk_grant_rec r;
    memset(&r, 0, sizeof r);
    if (!jk__pg_i64(q, i, 0, &r.id) || !jk__pg_i64(q, i, 1, &r.operator_id) ||
        !jk__pg_copy(q, i, 2, r.role, sizeof r.role, false) || !jk__pg_date_col(q, i, 3, &r.from, false) ||
        !jk__pg_date_col(q, i, 4, &r.until, true) || !jk__pg_copy(q, i, 5, r.granted_by, sizeof r.granted_by, false) ||
        !jk__pg_copy(q, i, 6, r.granted_at, sizeof r.granted_at, false) ||
        !jk__pg_copy(q, i, 7, r.ended_by, sizeof r.ended_by, true) ||
        !jk__pg_copy(q, i, 8, r.ended_at, sizeof r.ended_at, true)) {
      e = corrupt("appointment", r.id);
      break;
    }
    if (cb(&r, payload)) break;
  }
  PQclear(q);
  return e;
}

/* ---- passwords ---- */

static jk_err pa_password_add(jk_store *base, int64_t operator_id, const char *hash, const char *at, const char *by) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, operator_id);
  jk__pg_text(&p, hash);
  jk__pg_text(&p, at);
  jk__pg_text(&p, by);
  return jk__pg_do(s, SA_PW_ADD, "INSERT INTO password(operator_id, hash, set_at, set_by) VALUES ($1, $2, $3, $4)", &p,
                   "password", NULL);
}

static jk_err pa_password_recent(jk_store *base, int64_t operator_id, size_t n, jk_password_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, operator_id);
  jk__pg_int(&p, (int64_t)n);
  PGresult *q = jk__pg_run(s, SA_PW_RECENT,
                           "SELECT hash, set_at FROM password WHERE operator_id = $1 ORDER BY id DESC LIMIT $2", &p,
                           "password", &e);
  if (!q) return e;
  for (int i = 0; i < PQntuples(q); i++) {
    char hash[256], at[32];
    if (!jk__pg_copy(q, i, 0, hash, sizeof hash, false) || !jk__pg_copy(q, i, 1, at, sizeof at, false)) {
      e = corrupt("password", operator_id);
      break;
    }
    int stop = cb(hash, at, payload);
    sodium_memzero(hash, sizeof hash);
    if (stop) break;
  }
  /* the hashes also sit in libpq's result buffer: wipe it before freeing */
  for (int i = 0; i < PQntuples(q); i++)
    if (!PQgetisnull(q, i, 0)) sodium_memzero(PQgetvalue(q, i, 0), (size_t)PQgetlength(q, i, 0));
  PQclear(q);
  return e;
}

/* ---- cards and the card ledger ---- */

#define CARD_COLS "id, operator_id, serial, label, pubkey, status, enrolled_at, enrolled_by, status_at"

static jk_err pa_card_insert(jk_store *base, jk_card_rec *r) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, r->operator_id);
  jk__pg_text(&p, r->serial);
  jk__pg_text(&p, r->label);
  jk__pg_bytes(&p, r->pubkey, 32);
  jk__pg_text(&p, r->status);
  jk__pg_text(&p, r->enrolled_at);
  jk__pg_text(&p, r->enrolled_by);
  PGresult *q = jk__pg_run(s, SA_CARD_INSERT,
                           "INSERT INTO card(operator_id, serial, label, pubkey, status, enrolled_at, enrolled_by, "
                           "status_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT (pubkey) DO NOTHING "
                           "RETURNING id",
                           &p, "card", &e);
  if (!q) return e;
  if (PQntuples(q) == 0) e = jk_error_set(JK_EEXISTS, "this card's key is already enrolled");
  else if (!jk__pg_i64(q, 0, 0, &r->id)) e = corrupt("card", 0);
  PQclear(q);
  if (!e) snprintf(r->status_at, sizeof r->status_at, "%s", r->enrolled_at);
  return e;
}

static jk_err read_card(const PGresult *q, int i, jk_card_rec *r) {
  memset(r, 0, sizeof *r);
  if (!jk__pg_i64(q, i, 0, &r->id) || !jk__pg_i64(q, i, 1, &r->operator_id) ||
      !jk__pg_copy(q, i, 2, r->serial, sizeof r->serial, false) ||
      !jk__pg_copy(q, i, 3, r->label, sizeof r->label, false) || !jk__pg_bytea(q, i, 4, r->pubkey, 32) ||
      !jk__pg_copy(q, i, 5, r->status, sizeof r->status, false) ||
      !jk__pg_copy(q, i, 6, r->enrolled_at, sizeof r->enrolled_at, false) ||
      !jk__pg_copy(q, i, 7, r->enrolled_by, sizeof r->enrolled_by, false) ||
      !jk__pg_copy(q, i, 8, r->status_at, sizeof r->status_at, false))
    return corrupt("card", r->id);
  return JK_OK;
}

static jk_err pa_card_get(jk_store *base, int64_t id, const char *serial, const char *label, jk_card_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *q;
  if (id) {
    jk__pg_int(&p, id);
    q = jk__pg_run(s, SA_CARD_GET, "SELECT " CARD_COLS " FROM card WHERE id = $1", &p, "card", &e);
  } else {
    jk__pg_text(&p, serial);
    jk__pg_text(&p, label);
    q = jk__pg_run(s, SA_CARD_FIND,
                   "SELECT " CARD_COLS " FROM card WHERE serial = $1 AND label = $2 ORDER BY id DESC LIMIT 1", &p,
                   "card", &e);
  }
  if (!q) return e;
  if (PQntuples(q) > 0) e = read_card(q, 0, out);
  else e = id ? jk_error_set(JK_ENOTFOUND, "card %lld does not exist", (long long)id)
              : jk_error_set(JK_ENOTFOUND, "this card (serial %s) is not enrolled on this node", serial);
  PQclear(q);
  return e;
}

static jk_err pa_card_set_status(jk_store *base, int64_t id, const char *status, const char *at) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_int(&p, id);
  jk__pg_text(&p, status);
  jk__pg_text(&p, at);
  jk_err e = jk__pg_do(s, SA_CARD_STATUS, "UPDATE card SET status = $2, status_at = $3 WHERE id = $1", &p, "card", &n);
  if (!e && n == 0) return jk_error_set(JK_ENOTFOUND, "card %lld does not exist", (long long)id);
  return e;
}

static jk_err pa_card_each(jk_store *base, int64_t operator_id, jk_card_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *q;
  if (operator_id) {
    jk__pg_int(&p, operator_id);
    q = jk__pg_run(s, SA_CARD_EACH_OP, "SELECT " CARD_COLS " FROM card WHERE operator_id = $1 ORDER BY id", &p, "card",
                   &e);
  } else {
    q = jk__pg_run(s, SA_CARD_EACH, "SELECT " CARD_COLS " FROM card ORDER BY id", NULL, "card", &e);
  }
  if (!q) return e;
  for (int i = 0; i < PQntuples(q); i++) {
    jk_card_rec r;
    if ((e = read_card(q, i, &r)) || cb(&r, payload)) break;
  }
  PQclear(q);
  return e;
}

static jk_err pa_card_event_add(jk_store *base, jk_card_event_rec *r) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, r->card_id);
  jk__pg_text(&p, r->event);
  jk__pg_text(&p, r->holder);
  jk__pg_text(&p, r->by);
  jk__pg_text(&p, r->at);
  jk__pg_text(&p, r->note);
  return insert_id(s, SA_CEV_ADD,
                   "INSERT INTO card_event(card_id, event, holder, by_, at, note) VALUES ($1, $2, $3, $4, $5, $6) "
                   "RETURNING id",
                   &p, "card ledger", &r->id);
}

static jk_err pa_card_event_each(jk_store *base, int64_t card_id, jk_card_event_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  PGresult *q;
  if (card_id) {
    jk__pg_int(&p, card_id);
    q = jk__pg_run(s, SA_CEV_EACH_CARD,
                   "SELECT id, card_id, event, holder, by_, at, note FROM card_event WHERE card_id = $1 ORDER BY id",
                   &p, "card ledger", &e);
  } else {
    q = jk__pg_run(s, SA_CEV_EACH, "SELECT id, card_id, event, holder, by_, at, note FROM card_event ORDER BY id",
                   NULL, "card ledger", &e);
  }
  if (!q) return e;
  for (int i = 0; i < PQntuples(q); i++) {
    jk_card_event_rec r;
    memset(&r, 0, sizeof r);
    if (!jk__pg_i64(q, i, 0, &r.id) || !jk__pg_i64(q, i, 1, &r.card_id) ||
        !jk__pg_copy(q, i, 2, r.event, sizeof r.event, false) ||
        !jk__pg_copy(q, i, 3, r.holder, sizeof r.holder, false) || !jk__pg_copy(q, i, 4, r.by, sizeof r.by, false) ||
        !jk__pg_copy(q, i, 5, r.at, sizeof r.at, false) || !jk__pg_copy(q, i, 6, r.note, sizeof r.note, false)) {
      e = corrupt("card_event", r.id);
      break;
    }
    if (cb(&r, payload)) break;
  }
  PQclear(q);
  return e;
}

/* ---- login state and sessions ---- */

static jk_err pa_login_state_get(jk_store *base, int64_t operator_id, int *failures, char locked_until[32]) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  *failures = 0;
  locked_until[0] = '\0';
  jk__pg_int(&p, operator_id);
  PGresult *q = jk__pg_run(s, SA_LS_GET, "SELECT failures, locked_until FROM login_state WHERE operator_id = $1", &p,
                           "login state", &e);
  if (!q) return e;
  if (PQntuples(q) > 0) {
    int f = -1;
    if (!jk__pg_int32(q, 0, 0, &f) || f < 0 || !jk__pg_copy(q, 0, 1, locked_until, 32, true)) {
      locked_until[0] = '\0';
      e = corrupt("login_state", operator_id);
    } else {
      *failures = f;
    }
  }
  PQclear(q);
  return e;
}

static jk_err pa_login_state_set(jk_store *base, int64_t operator_id, int failures, const char *locked_until) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, operator_id);
  jk__pg_int(&p, failures);
  jk__pg_opt(&p, locked_until);
  return jk__pg_do(s, SA_LS_SET,
                   "INSERT INTO login_state(operator_id, failures, locked_until) VALUES ($1, $2, $3) ON "
                   "CONFLICT(operator_id) DO UPDATE SET failures = excluded.failures, locked_until = "
                   "excluded.locked_until",
                   &p, "login state", NULL);
}

#define SES_COLS "id, operator_id, card_id, token_hash, terminal, created_at, last_used_at, ended_at"

static jk_err pa_session_insert(jk_store *base, jk_session_rec *r) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_bytes(&p, r->token_hash, 32);
  jk__pg_int(&p, r->operator_id);
  jk__pg_int(&p, r->card_id);
  jk__pg_text(&p, r->terminal);
  jk__pg_text(&p, r->created_at);
  jk_err e = insert_id(s, SA_SES_INSERT,
                       "INSERT INTO session(token_hash, operator_id, card_id, terminal, created_at, last_used_at) "
                       "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                       &p, "session", &r->id);
  if (!e) snprintf(r->last_used_at, sizeof r->last_used_at, "%s", r->created_at);
  return e;
}

static jk_err pa_session_get(jk_store *base, const uint8_t token_hash[32], jk_session_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_bytes(&p, token_hash, 32);
  PGresult *q = jk__pg_run(s, SA_SES_GET, "SELECT " SES_COLS " FROM session WHERE token_hash = $1", &p, "session", &e);
  if (!q) return e;
  if (PQntuples(q) > 0) {
    memset(out, 0, sizeof *out);
    if (!jk__pg_i64(q, 0, 0, &out->id) || !jk__pg_i64(q, 0, 1, &out->operator_id) ||
        !jk__pg_i64(q, 0, 2, &out->card_id) || !jk__pg_bytea(q, 0, 3, out->token_hash, 32) ||
        !jk__pg_copy(q, 0, 4, out->terminal, sizeof out->terminal, false) ||
        !jk__pg_copy(q, 0, 5, out->created_at, sizeof out->created_at, false) ||
        !jk__pg_copy(q, 0, 6, out->last_used_at, sizeof out->last_used_at, false) ||
        !jk__pg_copy(q, 0, 7, out->ended_at, sizeof out->ended_at, true))
      e = corrupt("session", out->id);
  } else {
    e = jk_error_set(JK_ENOTFOUND, "no such session");
  }
  PQclear(q);
  return e;
}

static jk_err pa_session_touch(jk_store *base, int64_t id, const char *at) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, id);
  jk__pg_text(&p, at);
  return jk__pg_do(s, SA_SES_TOUCH, "UPDATE session SET last_used_at = $2 WHERE id = $1 AND ended_at IS NULL", &p,
                   "session", NULL);
}

static jk_err pa_session_end(jk_store *base, int64_t id, const char *at, const char *reason) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_int(&p, id);
  jk__pg_text(&p, at);
  jk__pg_text(&p, reason);
  return jk__pg_do(s, SA_SES_END,
                   "UPDATE session SET ended_at = $2, end_reason = $3 WHERE id = $1 AND ended_at IS NULL", &p,
                   "session", NULL);
}

void jk__pg_auth_ops(struct jk__store_ops *ops) {
  ops->operator_insert = pa_operator_insert;
  ops->operator_get = pa_operator_get;
  ops->operator_each = pa_operator_each;
  ops->operator_disable = pa_operator_disable;
  ops->grant_insert = pa_grant_insert;
  ops->grant_end = pa_grant_end;
  ops->grant_each = pa_grant_each;
  ops->password_add = pa_password_add;
  ops->password_recent = pa_password_recent;
  ops->card_insert = pa_card_insert;
  ops->card_get = pa_card_get;
  ops->card_set_status = pa_card_set_status;
  ops->card_each = pa_card_each;
  ops->card_event_add = pa_card_event_add;
  ops->card_event_each = pa_card_event_each;
  ops->login_state_get = pa_login_state_get;
  ops->login_state_set = pa_login_state_set;
  ops->session_insert = pa_session_insert;
  ops->session_get = pa_session_get;
  ops->session_touch = pa_session_touch;
  ops->session_end = pa_session_end;
}
