/*
 * pg_provision.c — the PostgreSQL side of the agency registry (store.h, docs/provision.md);
 * the same behaviour as sqlite_provision.c.
 */
#include "store/pg_int.h"

#include <string.h>

enum { PV_PUT = PG_SLOT_PROVISION, PV_GET, PV_REVOKE, PV_EACH, PV__END };
_Static_assert(PV__END <= PG_STMT_MAX, "provision statement slots overflow");

#define AGENCY_COLS "id, name, purposes, rate, added_at, revoked_at"

static jk_err read_agency(const PGresult *r, int row, jk_agency_rec *a) {
  const char *field = NULL;
  memset(a, 0, sizeof *a);
  if (!jk__pg_copy(r, row, 0, a->id, sizeof a->id, false)) field = "id";
  else if (!jk__pg_copy(r, row, 1, a->name, sizeof a->name, false)) field = "name";
  else if (!jk__pg_copy(r, row, 2, a->purposes, sizeof a->purposes, false)) field = "purposes";
  else if (!jk__pg_int32(r, row, 3, &a->rate)) field = "rate";
  else if (!jk__pg_copy(r, row, 4, a->added_at, sizeof a->added_at, false)) field = "added_at";
  else if (!jk__pg_copy(r, row, 5, a->revoked_at, sizeof a->revoked_at, true)) field = "revoked_at";
  if (!field && jk__store_agency_ok(a, &field)) return JK_OK;
  memset(a, 0, sizeof *a);
  return jk_error_set(JK_ECORRUPT, "an agency row is malformed (field %s)", field);
}

static jk_err pa_get(jk_store *base, const char *id, jk_agency_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, id);
  PGresult *r = jk__pg_run(s, PV_GET, "SELECT " AGENCY_COLS " FROM agency WHERE id = $1", &p, "agency", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "agency %s is not registered", id);
  else e = read_agency(r, 0, out);
  PQclear(r);
  return e;
}

static jk_err pa_put(jk_store *base, const jk_agency_rec *a) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t changed = 0;
  jk__pg_text(&p, a->id);
  jk__pg_text(&p, a->name);
  jk__pg_text(&p, a->purposes);
  jk__pg_int(&p, a->rate);
  jk__pg_text(&p, a->added_at);
  jk_err e = jk__pg_do(s, PV_PUT,
                       "INSERT INTO agency(id, name, purposes, rate, added_at, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL) "
                       "ON CONFLICT (id) DO UPDATE SET name = excluded.name, purposes = excluded.purposes, "
                       "rate = excluded.rate WHERE agency.revoked_at IS NULL",
                       &p, "agency", &changed);
  if (e || changed == 1) return e;
  return jk_error_set(JK_ECONFLICT, "agency %s was revoked: an id is never registered again", a->id);
}

static jk_err pa_revoke(jk_store *base, const char *id, const char *at) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t changed = 0;
  jk__pg_text(&p, id);
  jk__pg_text(&p, at);
  jk_err e = jk__pg_do(s, PV_REVOKE, "UPDATE agency SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &p,
                       "agency", &changed);
  if (e || changed == 1) return e;
  jk_agency_rec have;
  if ((e = pa_get(base, id, &have))) return e;
  return jk_error_set(JK_ECONFLICT, "agency %s was already revoked at %s", id, have.revoked_at);
}

static jk_err pa_each(jk_store *base, jk_agency_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, PV_EACH, "SELECT " AGENCY_COLS " FROM agency ORDER BY id", NULL, "agency", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r) && !e; i++) {
    jk_agency_rec a;
    if ((e = read_agency(r, i, &a)) || cb(&a, payload)) break;
  }
  PQclear(r);
  return e;
}

void jk__pg_provision_ops(struct jk__store_ops *ops) {
  ops->agency_put = pa_put;
  ops->agency_get = pa_get;
  ops->agency_revoke = pa_revoke;
  ops->agency_each = pa_each;
}
