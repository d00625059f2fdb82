/*
 * sqlite_auth.c — operators, grants, passwords, cards, the card ledger, login state and
 * sessions in the SQLite backend (schema 0004_auth.sql).
 *
 * The auth module (src/auth) owns the rules; this file keeps rows. Text read back is copied
 * into the fixed-size fields of the records; a value that does not fit, or a missing one, is
 * JK_ECORRUPT (node.db may have been edited by hand).
 */
#include "store/sqlite_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

enum {
  SA_OP_INSERT = SQ_SLOT_AUTH,
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
_Static_assert(SA__END <= SQ_XSTMT_MAX, "auth statement slots overflow");

/* Copy column i into dst (cap bytes incl. NUL). NULL gives "" when optional. */
static bool copy_col(sqlite3_stmt *q, int i, char *dst, size_t cap, bool optional) {
  const unsigned char *v = sqlite3_column_text(q, i);
  if (!v) {
    dst[0] = '\0';
    return optional;
  }
  size_t n = (size_t)sqlite3_column_bytes(q, i);
  if (n >= cap) return false;
  memcpy(dst, v, n);
  dst[n] = '\0';
  return true;
}

static jk_err corrupt(const char *table, int64_t id) {
  return jk_error_set(JK_ECORRUPT, "%s row %lld is malformed", table, (long long)id);
}

static void bind_opt(sqlite3_stmt *q, int i, const char *v) {
  if (v && *v) sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, i);
}

static bool parse_date(const unsigned char *v, int n, jk_date *out) {
  if (!v) {
    memset(out, 0, sizeof *out);
    return true;
  }
  return jk__sq_parse_iso(v, n, out);
}

/* ---- operators ---- */

#define OP_COLS "id, staff_id, name, department, created_at, created_by, disabled_at"

static jk_err sa_operator_insert(jk_store *base, jk_operator_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_OP_INSERT,
        "INSERT INTO operator(staff_id, name, department, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)");
  sqlite3_bind_text(q, 1, r->staff_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->department, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, r->created_at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->created_by, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  finish(q);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) /* a duplicate, not any constraint */
    return jk_error_set(JK_EEXISTS, "an operator with staff id %s already exists", r->staff_id);
  if (rc != SQLITE_DONE) return db_error(s, rc, "operator");
  r->id = sqlite3_last_insert_rowid(s->db);
  return JK_OK;
}

static jk_err read_operator(sqlite3_stmt *q, jk_operator_rec *r) {
  memset(r, 0, sizeof *r);
  r->id = sqlite3_column_int64(q, 0);
  if (!copy_col(q, 1, r->staff_id, sizeof r->staff_id, false) || !copy_col(q, 2, r->name, sizeof r->name, false) ||
      !copy_col(q, 3, r->department, sizeof r->department, false) ||
      !copy_col(q, 4, r->created_at, sizeof r->created_at, false) ||
      !copy_col(q, 5, r->created_by, sizeof r->created_by, false) ||
      !copy_col(q, 6, r->disabled_at, sizeof r->disabled_at, true))
    return corrupt("operator", r->id);
  return JK_OK;
}

static jk_err sa_operator_get(jk_store *base, int64_t id, const char *staff_id, jk_operator_rec *out) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = id ? jk__sq_stmt(s, SA_OP_GET_ID, "SELECT " OP_COLS " FROM operator WHERE id = ?1")
                       : jk__sq_stmt(s, SA_OP_GET_STAFF, "SELECT " OP_COLS " FROM operator WHERE staff_id = ?1");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (id) sqlite3_bind_int64(q, 1, id);
  else sqlite3_bind_text(q, 1, staff_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_operator(q, out);
  else if (rc == SQLITE_DONE)
    e = id ? jk_error_set(JK_ENOTFOUND, "operator %lld does not exist", (long long)id)
           : jk_error_set(JK_ENOTFOUND, "no operator has staff id %s", staff_id);
  else e = db_error(s, rc, "operator");
  finish(q);
  return e;
}

static jk_err sa_operator_each(jk_store *base, jk_operator_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_OP_EACH, "SELECT " OP_COLS " FROM operator ORDER BY id");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_operator_rec r;
    if ((e = read_operator(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "operator");
  finish(q);
  return e;
}

static jk_err sa_operator_disable(jk_store *base, int64_t id, const char *at, const char *by) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_OP_DISABLE, "UPDATE operator SET disabled_at = ?2, disabled_by = ?3 WHERE id = ?1 AND disabled_at IS NULL");
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, by, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "operator");
  if (!e && sqlite3_changes(s->db) == 0)
    return jk_error_set(JK_ECONFLICT, "operator %lld is not active", (long long)id);
  return e;
}

/* ---- grants ---- */

#define GRANT_COLS "id, operator_id, role, from_date, until_date, granted_by, granted_at, ended_by, ended_at"

static jk_err sa_grant_insert(jk_store *base, jk_grant_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_GRANT_INSERT,
        "INSERT INTO grant_(operator_id, role, from_date, until_date, granted_by, granted_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  char from[11], until[11];
  jk_date_format_iso(r->from, from);
  sqlite3_bind_int64(q, 1, r->operator_id);
  sqlite3_bind_text(q, 2, r->role, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, from, 10, SQLITE_STATIC);
  if (r->until.y) {
    jk_date_format_iso(r->until, until);
    sqlite3_bind_text(q, 4, until, 10, SQLITE_STATIC);
  } else {
    sqlite3_bind_null(q, 4);
  }
  sqlite3_bind_text(q, 5, r->granted_by, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->granted_at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "appointment");
  if (!e) r->id = sqlite3_last_insert_rowid(s->db);
  return e;
}

static jk_err sa_grant_end(jk_store *base, int64_t id, jk_date until, const char *by, const char *at) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_GRANT_END,
        "UPDATE grant_ SET until_date = ?2, ended_by = ?3, ended_at = ?4 WHERE id = ?1 AND ended_at IS NULL");
  char d[11];
  jk_date_format_iso(until, d);
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, d, 10, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, by, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "appointment");
  if (!e && sqlite3_changes(s->db) == 0)
    return jk_error_set(JK_ECONFLICT, "appointment %lld does not exist or has already ended", (long long)id);
  return e;
}

static jk_err sa_grant_each(jk_store *base, int64_t operator_id, jk_grant_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = operator_id
                        ? jk__sq_stmt(s, SA_GRANT_EACH_OP, "SELECT " GRANT_COLS " FROM grant_ WHERE operator_id = ?1 ORDER BY id")
                        : jk__sq_stmt(s, SA_GRANT_EACH, "SELECT " GRANT_COLS " FROM grant_ ORDER BY id");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (operator_id) sqlite3_bind_int64(q, 1, operator_id);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_grant_rec r;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(q, 0);
    r.operator_id = sqlite3_column_int64(q, 1);
    if (!copy_col(q, 2, r.role, sizeof r.role, false) ||
        !parse_date(sqlite3_column_text(q, 3), sqlite3_column_bytes(q, 3), &r.from) || !r.from.y ||
        !parse_date(sqlite3_column_text(q, 4), sqlite3_column_bytes(q, 4), &r.until) ||
        !copy_col(q, 5, r.granted_by, sizeof r.granted_by, false) ||
        !copy_col(q, 6, r.granted_at, sizeof r.granted_at, false) ||
        !copy_col(q, 7, r.ended_by, sizeof r.ended_by, true) || !copy_col(q, 8, r.ended_at, sizeof r.ended_at, true)) {
      e = corrupt("appointment", r.id);
      break;
    }
    if (cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "appointment");
  finish(q);
  return e;
}

/* ---- passwords ---- */

static jk_err sa_password_add(jk_store *base, int64_t operator_id, const char *hash, const char *at, const char *by) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_PW_ADD, "INSERT INTO password(operator_id, hash, set_at, set_by) VALUES (?1, ?2, ?3, ?4)");
  sqlite3_bind_int64(q, 1, operator_id);
  sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "password");
}

static jk_err sa_password_recent(jk_store *base, int64_t operator_id, size_t n, jk_password_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_PW_RECENT, "SELECT hash, set_at FROM password WHERE operator_id = ?1 ORDER BY id DESC LIMIT ?2");
  sqlite3_bind_int64(q, 1, operator_id);
  sqlite3_bind_int64(q, 2, (int64_t)n);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    char hash[256], at[32];
    if (!copy_col(q, 0, hash, sizeof hash, false) || !copy_col(q, 1, at, sizeof at, false)) {
      e = corrupt("password", operator_id);
      break;
    }
    int stop = cb(hash, at, payload);
    sodium_memzero(hash, sizeof hash);
    if (stop) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "password");
  finish(q);
  return e;
}

/* ---- cards and the card ledger ---- */

#define CARD_COLS "id, operator_id, serial, label, pubkey, status, enrolled_at, enrolled_by, status_at"

static jk_err sa_card_insert(jk_store *base, jk_card_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_CARD_INSERT,
        "INSERT INTO card(operator_id, serial, label, pubkey, status, enrolled_at, enrolled_by, status_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)");
  sqlite3_bind_int64(q, 1, r->operator_id);
  sqlite3_bind_text(q, 2, r->serial, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->label, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 4, r->pubkey, 32, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->status, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->enrolled_at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->enrolled_by, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  finish(q);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) /* a duplicate, not any constraint */
    return jk_error_set(JK_EEXISTS, "this card's key is already enrolled");
  if (rc != SQLITE_DONE) return db_error(s, rc, "card");
  r->id = sqlite3_last_insert_rowid(s->db);
  snprintf(r->status_at, sizeof r->status_at, "%s", r->enrolled_at);
  return JK_OK;
}

static jk_err read_card(sqlite3_stmt *q, jk_card_rec *r) {
  memset(r, 0, sizeof *r);
  r->id = sqlite3_column_int64(q, 0);
  r->operator_id = sqlite3_column_int64(q, 1);
  if (!copy_col(q, 2, r->serial, sizeof r->serial, false) || !copy_col(q, 3, r->label, sizeof r->label, false) ||
      sqlite3_column_bytes(q, 4) != 32 || !copy_col(q, 5, r->status, sizeof r->status, false) ||
      !copy_col(q, 6, r->enrolled_at, sizeof r->enrolled_at, false) ||
      !copy_col(q, 7, r->enrolled_by, sizeof r->enrolled_by, false) ||
      !copy_col(q, 8, r->status_at, sizeof r->status_at, false))
    return corrupt("card", r->id);
  memcpy(r->pubkey, sqlite3_column_blob(q, 4), 32);
  return JK_OK;
}

static jk_err sa_card_get(jk_store *base, int64_t id, const char *serial, const char *label, jk_card_rec *out) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = id ? jk__sq_stmt(s, SA_CARD_GET, "SELECT " CARD_COLS " FROM card WHERE id = ?1")
                       : jk__sq_stmt(s, SA_CARD_FIND,
                                     "SELECT " CARD_COLS " FROM card WHERE serial = ?1 AND label = ?2 "
                                     "ORDER BY id DESC LIMIT 1");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (id) {
    sqlite3_bind_int64(q, 1, id);
  } else {
    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, label, -1, SQLITE_STATIC);
  }
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_card(q, out);
  else if (rc == SQLITE_DONE)
    e = id ? jk_error_set(JK_ENOTFOUND, "card %lld does not exist", (long long)id)
           : jk_error_set(JK_ENOTFOUND, "this card (serial %s) is not enrolled on this node", serial);
  else e = db_error(s, rc, "card");
  finish(q);
  return e;
}

static jk_err sa_card_set_status(jk_store *base, int64_t id, const char *status, const char *at) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_CARD_STATUS, "UPDATE card SET status = ?2, status_at = ?3 WHERE id = ?1");
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "card");
  if (!e && sqlite3_changes(s->db) == 0) return jk_error_set(JK_ENOTFOUND, "card %lld does not exist", (long long)id);
  return e;
}

static jk_err sa_card_each(jk_store *base, int64_t operator_id, jk_card_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q = operator_id
                        ? jk__sq_stmt(s, SA_CARD_EACH_OP, "SELECT " CARD_COLS " FROM card WHERE operator_id = ?1 ORDER BY id")
                        : jk__sq_stmt(s, SA_CARD_EACH, "SELECT " CARD_COLS " FROM card ORDER BY id");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (operator_id) sqlite3_bind_int64(q, 1, operator_id);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_card_rec r;
    if ((e = read_card(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "card");
  finish(q);
  return e;
}

static jk_err sa_card_event_add(jk_store *base, jk_card_event_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_CEV_ADD,
        "INSERT INTO card_event(card_id, event, holder, by_, at, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  sqlite3_bind_int64(q, 1, r->card_id);
  sqlite3_bind_text(q, 2, r->event, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, r->holder, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, r->by, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, r->note, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "card ledger");
  if (!e) r->id = sqlite3_last_insert_rowid(s->db);
  return e;
}

static jk_err sa_card_event_each(jk_store *base, int64_t card_id, jk_card_event_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  sqlite3_stmt *q =
      card_id ? jk__sq_stmt(s, SA_CEV_EACH_CARD,
                            "SELECT id, card_id, event, holder, by_, at, note FROM card_event WHERE card_id = ?1 ORDER BY id")
              : jk__sq_stmt(s, SA_CEV_EACH, "SELECT id, card_id, event, holder, by_, at, note FROM card_event ORDER BY id");
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (card_id) sqlite3_bind_int64(q, 1, card_id);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_card_event_rec r;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(q, 0);
    r.card_id = sqlite3_column_int64(q, 1);
    if (!copy_col(q, 2, r.event, sizeof r.event, false) || !copy_col(q, 3, r.holder, sizeof r.holder, false) ||
        !copy_col(q, 4, r.by, sizeof r.by, false) || !copy_col(q, 5, r.at, sizeof r.at, false) ||
        !copy_col(q, 6, r.note, sizeof r.note, false)) {
      e = corrupt("card_event", r.id);
      break;
    }
    if (cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "card ledger");
  finish(q);
  return e;
}

/* ---- login state and sessions ---- */

static jk_err sa_login_state_get(jk_store *base, int64_t operator_id, int *failures, char locked_until[32]) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_LS_GET, "SELECT failures, locked_until FROM login_state WHERE operator_id = ?1");
  sqlite3_bind_int64(q, 1, operator_id);
  *failures = 0;
  locked_until[0] = '\0';
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW) {
    int f = sqlite3_column_int(q, 0);
    if (f < 0 || !copy_col(q, 1, locked_until, 32, true)) e = corrupt("login_state", operator_id);
    else *failures = f;
  } else if (rc != SQLITE_DONE) {
    e = db_error(s, rc, "login state");
  }
  finish(q);
  return e;
}

static jk_err sa_login_state_set(jk_store *base, int64_t operator_id, int failures, const char *locked_until) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_LS_SET,
        "INSERT INTO login_state(operator_id, failures, locked_until) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(operator_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until");
  sqlite3_bind_int64(q, 1, operator_id);
  sqlite3_bind_int(q, 2, failures);
  bind_opt(q, 3, locked_until);
  return jk__sq_step_done(s, q, "login state");
}

#define SES_COLS "id, operator_id, card_id, token_hash, terminal, created_at, last_used_at, ended_at"

static jk_err sa_session_insert(jk_store *base, jk_session_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_SES_INSERT,
        "INSERT INTO session(token_hash, operator_id, card_id, terminal, created_at, last_used_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
  sqlite3_bind_blob(q, 1, r->token_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, r->operator_id);
  sqlite3_bind_int64(q, 3, r->card_id);
  sqlite3_bind_text(q, 4, r->terminal, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, r->created_at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "session");
  if (!e) {
    r->id = sqlite3_last_insert_rowid(s->db);
    snprintf(r->last_used_at, sizeof r->last_used_at, "%s", r->created_at);
  }
  return e;
}

static jk_err sa_session_get(jk_store *base, const uint8_t token_hash[32], jk_session_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_SES_GET, "SELECT " SES_COLS " FROM session WHERE token_hash = ?1");
  sqlite3_bind_blob(q, 1, token_hash, 32, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc == SQLITE_ROW) {
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(q, 0);
    out->operator_id = sqlite3_column_int64(q, 1);
    out->card_id = sqlite3_column_int64(q, 2);
    if (sqlite3_column_bytes(q, 3) != 32 || !copy_col(q, 4, out->terminal, sizeof out->terminal, false) ||
        !copy_col(q, 5, out->created_at, sizeof out->created_at, false) ||
        !copy_col(q, 6, out->last_used_at, sizeof out->last_used_at, false) ||
        !copy_col(q, 7, out->ended_at, sizeof out->ended_at, true))
      e = corrupt("session", out->id);
    else memcpy(out->token_hash, sqlite3_column_blob(q, 3), 32);
  } else if (rc == SQLITE_DONE) {
    e = jk_error_set(JK_ENOTFOUND, "no such session");
  } else {
    e = db_error(s, rc, "session");
  }
  finish(q);
  return e;
}

static jk_err sa_session_touch(jk_store *base, int64_t id, const char *at) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_SES_TOUCH, "UPDATE session SET last_used_at = ?2 WHERE id = ?1 AND ended_at IS NULL");
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "session");
}

static jk_err sa_session_end(jk_store *base, int64_t id, const char *at, const char *reason) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SA_SES_END, "UPDATE session SET ended_at = ?2, end_reason = ?3 WHERE id = ?1 AND ended_at IS NULL");
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, reason, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "session");
}

void jk__sq_auth_ops(struct jk__store_ops *ops) {
  ops->operator_insert = sa_operator_insert;
  ops->operator_get = sa_operator_get;
  ops->operator_each = sa_operator_each;
  ops->operator_disable = sa_operator_disable;
  ops->grant_insert = sa_grant_insert;
  ops->grant_end = sa_grant_end;
  ops->grant_each = sa_grant_each;
  ops->password_add = sa_password_add;
  ops->password_recent = sa_password_recent;
  ops->card_insert = sa_card_insert;
  ops->card_get = sa_card_get;
  ops->card_set_status = sa_card_set_status;
  ops->card_each = sa_card_each;
  ops->card_event_add = sa_card_event_add;
  ops->card_event_each = sa_card_event_each;
  ops->login_state_get = sa_login_state_get;
  ops->login_state_set = sa_login_state_set;
  ops->session_insert = sa_session_insert;
  ops->session_get = sa_session_get;
  ops->session_touch = sa_session_touch;
  ops->session_end = sa_session_end;
}
