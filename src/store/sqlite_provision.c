/*
 * sqlite_provision.c — the SQLite side of the agency registry (store.h, docs/provision.md).
 * Arguments are checked by store.c; rows read back are checked again (jk__store_agency_ok).
 */
#include "store/sqlite_int.h"

enum { PV_PUT = SQ_SLOT_PROVISION, PV_GET, PV_REVOKE, PV_EACH, PV__END };
_Static_assert(PV__END <= SQ_XSTMT_MAX, "provision statement slots overflow");

#define AGENCY_COLS "id, name, purposes, rate, added_at, revoked_at"

static jk_err read_agency(sqlite3_stmt *q, jk_agency_rec *a) {
  const char *field = NULL;
  memset(a, 0, sizeof *a);
  if (!col_copy(q, 0, a->id, sizeof a->id, false)) field = "id";
  else if (!col_copy(q, 1, a->name, sizeof a->name, false)) field = "name";
  else if (!col_copy(q, 2, a->purposes, sizeof a->purposes, false)) field = "purposes";
  else if (!col_int(q, 3, &a->rate)) field = "rate";
  else if (!col_copy(q, 4, a->added_at, sizeof a->added_at, false)) field = "added_at";
  else if (!col_copy(q, 5, a->revoked_at, sizeof a->revoked_at, true)) field = "revoked_at";
  if (!field && jk__store_agency_ok(a, &field)) return JK_OK;
  memset(a, 0, sizeof *a);
  return jk_error_set(JK_ECORRUPT, "an agency row is malformed (field %s)", field);
}

static jk_err sa_get(jk_store *base, const char *id, jk_agency_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_GET, "SELECT " AGENCY_COLS " FROM agency WHERE id = ?1");
  sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_agency(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "agency %s is not registered", id);
  else e = db_error(s, rc, "agency");
  finish(q);
  return e;
}

static jk_err sa_put(jk_store *base, const jk_agency_rec *a) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_PUT,
        "INSERT INTO agency(id, name, purposes, rate, added_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, purposes = excluded.purposes, rate = excluded.rate "
        "WHERE agency.revoked_at IS NULL");
  sqlite3_bind_text(q, 1, a->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, a->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, a->purposes, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 4, a->rate);
  sqlite3_bind_text(q, 5, a->added_at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "agency");
  if (e || sqlite3_changes(s->db) == 1) return e;
  return jk_error_set(JK_ECONFLICT, "agency %s was revoked: an id is never registered again", a->id);
}

static jk_err sa_revoke(jk_store *base, const char *id, const char *at) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_REVOKE, "UPDATE agency SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL");
  sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "agency");
  if (e || sqlite3_changes(s->db) == 1) return e;
  jk_agency_rec have;
  if ((e = sa_get(base, id, &have))) return e;
  return jk_error_set(JK_ECONFLICT, "agency %s was already revoked at %s", id, have.revoked_at);
}

static jk_err sa_each(jk_store *base, jk_agency_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_EACH, "SELECT " AGENCY_COLS " FROM agency ORDER BY id");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_agency_rec a;
    if ((e = read_agency(q, &a)) || cb(&a, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "agency");
  finish(q);
  return e;
}

void jk__sq_provision_ops(struct jk__store_ops *ops) {
  ops->agency_put = sa_put;
  ops->agency_get = sa_get;
  ops->agency_revoke = sa_revoke;
  ops->agency_each = sa_each;
}
