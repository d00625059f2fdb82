/*
 * sqlite_provision.c — the SQLite side of provision to national agencies (store.h,
 * docs/provision.md): the agency registry (0006), the provision records and the holdings'
 * search by person (0007), the residents' requests, holdbacks and pending scrubs (0008), the
 * residents' restrictions and support measures (0009), the provision records' code index,
 * built in sorted batches (0010). Arguments are checked by store.c; rows
 * read back are checked again (jk__store_agency_ok, jk__store_provision_ok, jk__sq_read_holding,
 * jk__store_request_ok, jk__store_holdback_ok, jk__store_restriction_ok,
 * jk__store_protection_ok).
 */
#include "store/sqlite_int.h"

enum {
  PV_PUT = SQ_SLOT_PROVISION,
  PV_GET,
  PV_REVOKE,
  PV_EACH,
  PV_LOG_PUT,
  PV_LOG_EACH, /* + 0 every row, + 1 by code */
  PV_BY_PERSON = PV_LOG_EACH + 2,
  PV_SAVE,
  PV_RELEASE,
  PV_UNDO,
  RQ_ADD,
  RQ_DECIDE,
  RQ_GET,
  RQ_EACH, /* + 0 every row, + 1 by code */
  HB_PUT = RQ_EACH + 2,
  HB_GET,
  HB_DEL,
  HB_EACH,
  SC_PUT,
  SC_EACH,
  SC_DEL,
  RS_PUT,
  RS_EACH, /* + 0 every row, + 1 by code */
  PR_ADD = RS_EACH + 2,
  PR_UPDATE,
  PR_GET,
  PR_EACH, /* + 0 every row, + 1 by code */
  PV_MARKS = PR_EACH + 2,
  PV_RAISE,
  PV_INDEX,
  PV__END
};
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

/* ---- provision records ---- */

#define PROVISION_COLS "id, at, agency, purpose, code, fields, result, query"

static jk_err read_provision(sqlite3_stmt *q, jk_provision_rec *r) {
  const char *field = NULL;
  memset(r, 0, sizeof *r);
  if (!col_i64(q, 0, &r->id) || r->id < 1) field = "id";
  else if (!col_copy(q, 1, r->at, sizeof r->at, false)) field = "at";
  else if (!col_copy(q, 2, r->agency, sizeof r->agency, false)) field = "agency";
  else if (!col_copy(q, 3, r->purpose, sizeof r->purpose, false)) field = "purpose";
  else if (!col_copy(q, 4, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 5, r->fields, sizeof r->fields, false)) field = "fields";
  else if (!col_copy(q, 6, r->result, sizeof r->result, false)) field = "result";
  else if (sqlite3_column_type(q, 7) != SQLITE_BLOB || sqlite3_column_bytes(q, 7) != (int)sizeof r->query)
    field = "query";
  else memcpy(r->query, sqlite3_column_blob(q, 7), sizeof r->query);
  if (!field && jk__store_provision_ok(r, &field)) return JK_OK;
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "a provision record is malformed (field %s)", field);
}

static jk_err savepoint_step(sq_store *s, int slot, const char *sql) {
  XPREP(q, s, slot, sql);
  return jk__sq_step_done(s, q, "savepoint");
}

/* One cached statement stepped once per row (SQLite runs in the process: a row costs no round
 * trip), inside a savepoint, so that a failure keeps nothing of the call. */
static jk_err sp_put_many(jk_store *base, jk_provision_rec *recs, size_t n) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_LOG_PUT,
        "INSERT INTO provision(at, agency, purpose, code, fields, result, query) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  jk_err e = savepoint_step(s, PV_SAVE, "SAVEPOINT jk_provision");
  for (size_t i = 0; i < n && !e; i++) {
    const jk_provision_rec *r = &recs[i];
    sqlite3_bind_text(q, 1, r->at, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->purpose, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, r->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->fields, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->result, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 7, r->query, (int)sizeof r->query, SQLITE_STATIC);
    if (!(e = jk__sq_step_done(s, q, "provision"))) recs[i].id = sqlite3_last_insert_rowid(s->db);
  }
  if (!e) return savepoint_step(s, PV_RELEASE, "RELEASE jk_provision");
  /* after an error, back to the savepoint and out of it, keeping the error's message (when
   * SQLite has already rolled the whole transaction back these fail, harmlessly) */
  sqlite3_stmt *u = jk__sq_stmt(s, PV_UNDO, "ROLLBACK TO jk_provision");
  if (u) {
    sqlite3_step(u);
    finish(u);
  }
  if ((u = jk__sq_stmt(s, PV_RELEASE, "RELEASE jk_provision"))) {
    sqlite3_step(u);
    finish(u);
  }
  return e;
}

/* The watermark (0010) as the SQL reads it: a missing row reads as 0, so a disclosure then
 * scans every row rather than miss any (jk_store_provision_index reports the missing row). */
#define SQ_WATERMARK "coalesce((SELECT upto FROM provision_indexed), 0)"

/* By code: the index up to the watermark (one probe of provision_code's primary key per bucket
 * of 65,536 ids — a disclosure is rare, an answer is not — then provision's rowid;
 * p.code = ?1 again, so that an index entry edited by hand cannot bring in another resident's
 * row), plus the rows after it (a rowid range, the unindexed tail: small), in one statement. */
static jk_err sp_each(jk_store *base, const char *code, jk_provision_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[2] = {
      "SELECT " PROVISION_COLS " FROM provision ORDER BY id",
      "WITH RECURSIVE b(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM b WHERE x < (" SQ_WATERMARK " >> 16)) "
      "SELECT p.id, p.at, p.agency, p.purpose, p.code, p.fields, p.result, p.query "
      "FROM b JOIN provision_code c ON c.bucket = b.x AND c.code = ?1 JOIN provision p ON p.id = c.id "
      "WHERE c.id <= " SQ_WATERMARK " AND p.code = ?1 "
      "UNION ALL "
      "SELECT " PROVISION_COLS " FROM provision WHERE id > " SQ_WATERMARK " AND code = ?1 "
      "ORDER BY 1",
  };
  int v = code ? 1 : 0;
  sqlite3_stmt *q = jk__sq_stmt(s, PV_LOG_EACH + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (code) sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_provision_rec r;
    if ((e = read_provision(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "provision");
  finish(q);
  return e;
}

/* Both in one statement; max(id) alone in its subquery, so that SQLite reads it from the end
 * of the rowid b-tree rather than scanning the table. */
static jk_err sp_marks(jk_store *base, int64_t *indexed, int64_t *last) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_MARKS,
        "SELECT (SELECT upto FROM provision_indexed), coalesce((SELECT max(id) FROM provision), 0)");
  int rc = sqlite3_step(q);
  jk_err e = JK_OK;
  if (rc != SQLITE_ROW) e = db_error(s, rc, "provision"); /* no FROM: always one row */
  else if (!col_i64(q, 0, indexed) || !col_i64(q, 1, last))
    e = jk_error_set(JK_ECORRUPT, "the provision watermark is missing or malformed");
  finish(q);
  return e;
}

/* The watermark first (its WHERE makes sure it is still `from`), then the rows, sorted by
 * (bucket, code, id): keyed by id >> 16 first, a batch lands in the current bucket's few pages
 * (each written once per call) however large the index grows — keyed by code alone, a batch
 * touched as many pages as it had rows once the index outgrew it. */
static jk_err sp_index(jk_store *base, int64_t from, int64_t upto) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_RAISE, "UPDATE provision_indexed SET upto = ?2 WHERE upto = ?1");
  sqlite3_bind_int64(q, 1, from);
  sqlite3_bind_int64(q, 2, upto);
  jk_err e = jk__sq_step_done(s, q, "provision");
  if (e) return e;
  if (sqlite3_changes(s->db) != 1) return jk_error_set(JK_ECONFLICT, "the provision watermark moved under the call");
  XPREP(x, s, PV_INDEX,
        "INSERT INTO provision_code (bucket, code, id) SELECT id >> 16, code, id FROM provision "
        "WHERE id > ?1 AND id <= ?2 AND code <> '' ORDER BY id >> 16, code, id ON CONFLICT DO NOTHING");
  sqlite3_bind_int64(x, 1, from);
  sqlite3_bind_int64(x, 2, upto);
  return jk__sq_step_done(s, x, "provision");
}

/* ---- holdings by person (the index holding_by_person) ---- */

static jk_err sp_holding_by_person(jk_store *base, jk_date birth, jk_sex sex, jk_holding_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PV_BY_PERSON, "SELECT " SQ_HOLD_COLS " FROM holding WHERE birth = ?1 AND sex = ?2 ORDER BY code, source");
  char iso[11];
  jk_date_format_iso(birth, iso);
  sqlite3_bind_text(q, 1, iso, 10, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, (int)sex);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_holding_rec r;
    if ((e = jk__sq_read_holding(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "holding");
  finish(q);
  return e;
}

/* ---- the residents' side (0008) ---- */

#define REQUEST_COLS                                                                               \
  "id, code, kind, channel, filed_on, recorded_at, recorded_by, policy, purposes, note, decision, " \
  "decided_at, decided_by, reason"

static jk_err read_request(sqlite3_stmt *q, jk_request_rec *r) {
  const char *field = NULL;
  memset(r, 0, sizeof *r);
  if (!col_i64(q, 0, &r->id) || r->id < 1) field = "id";
  else if (!col_copy(q, 1, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 2, r->kind, sizeof r->kind, false)) field = "kind";
  else if (!col_copy(q, 3, r->channel, sizeof r->channel, false)) field = "channel";
  else if (sqlite3_column_type(q, 4) != SQLITE_TEXT ||
           !jk__sq_parse_iso(sqlite3_column_text(q, 4), sqlite3_column_bytes(q, 4), &r->filed_on))
    field = "filed_on";
  else if (!col_copy(q, 5, r->recorded_at, sizeof r->recorded_at, false)) field = "recorded_at";
  else if (!col_copy(q, 6, r->recorded_by, sizeof r->recorded_by, false)) field = "recorded_by";
  else if (!col_copy(q, 7, r->policy, sizeof r->policy, false)) field = "policy";
  else if (!col_copy(q, 8, r->purposes, sizeof r->purposes, false)) field = "purposes";
  else if (!col_copy(q, 9, r->note, sizeof r->note, false)) field = "note";
  else if (!col_copy(q, 10, r->decision, sizeof r->decision, false)) field = "decision";
  else if (!col_copy(q, 11, r->decided_at, sizeof r->decided_at, false)) field = "decided_at";
  else if (!col_copy(q, 12, r->decided_by, sizeof r->decided_by, false)) field = "decided_by";
  else if (!col_copy(q, 13, r->reason, sizeof r->reason, false)) field = "reason";
  if (!field && jk__store_request_ok(r, &field)) return JK_OK;
  int64_t id = r->id;
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "resident request %lld is malformed (field %s)", (long long)id, field);
}

static jk_err rq_add(jk_store *base, jk_request_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, RQ_ADD,
        "INSERT INTO resident_request(code, kind, channel, filed_on, recorded_at, recorded_by, policy, purposes, note, "
        "decision, decided_at, decided_by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  char iso[11];
  jk_date_format_iso(r->filed_on, iso);
  const char *const text[] = {
      r->code,     r->kind, r->channel,  iso,           r->recorded_at, r->recorded_by, r->policy,
      r->purposes, r->note, r->decision, r->decided_at, r->decided_by,  r->reason,
  }; /* ?1 .. ?13 */
  for (int i = 0; i < (int)(sizeof text / sizeof *text); i++) sqlite3_bind_text(q, i + 1, text[i], -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "resident request");
  if (!e) r->id = sqlite3_last_insert_rowid(s->db);
  return e;
}

static jk_err rq_get(jk_store *base, int64_t id, jk_request_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, RQ_GET, "SELECT " REQUEST_COLS " FROM resident_request WHERE id = ?1");
  sqlite3_bind_int64(q, 1, id);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_request(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "there is no resident request %lld", (long long)id);
  else e = db_error(s, rc, "resident request");
  finish(q);
  return e;
}

/* Only a pending row is updated (so the trigger never fires for a decided one); nothing
 * updated: either there is no such request or it was decided already. */
static jk_err rq_decide(jk_store *base, int64_t id, const char *decision, const char *at, const char *by,
                        const char *reason) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, RQ_DECIDE,
        "UPDATE resident_request SET decision = ?2, decided_at = ?3, decided_by = ?4, reason = ?5 "
        "WHERE id = ?1 AND decision = ''");
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, decision, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, reason, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "resident request");
  if (e || sqlite3_changes(s->db) == 1) return e;
  jk_request_rec have;
  if ((e = rq_get(base, id, &have))) return e;
  return jk_error_set(JK_ECONFLICT, "resident request %lld was already decided (%s at %s)", (long long)id,
                      have.decision, have.decided_at);
}

static jk_err rq_each(jk_store *base, const char *code, jk_request_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[2] = {
      "SELECT " REQUEST_COLS " FROM resident_request ORDER BY id",
      "SELECT " REQUEST_COLS " FROM resident_request WHERE code = ?1 ORDER BY id",
  };
  int v = code ? 1 : 0;
  sqlite3_stmt *q = jk__sq_stmt(s, RQ_EACH + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (code) sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_request_rec r;
    if ((e = read_request(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "resident request");
  finish(q);
  return e;
}

static jk_err read_holdback(sqlite3_stmt *q, jk_holdback_rec *r) {
  const char *field = NULL;
  memset(r, 0, sizeof *r);
  if (!col_copy(q, 0, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 1, r->since, sizeof r->since, false)) field = "since";
  else if (!col_i64(q, 2, &r->request)) field = "request";
  else if (!col_i64(q, 3, &r->erase_seq)) field = "erase_seq";
  if (!field && jk__store_holdback_ok(r, &field)) return JK_OK;
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "a holdback row is malformed (field %s)", field);
}

static jk_err hb_put(jk_store *base, const jk_holdback_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, HB_PUT, "INSERT OR REPLACE INTO holdback(code, since, request, erase_seq) VALUES (?1, ?2, ?3, ?4)");
  sqlite3_bind_text(q, 1, r->code, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->since, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, r->request);
  sqlite3_bind_int64(q, 4, r->erase_seq);
  return jk__sq_step_done(s, q, "holdback");
}

static jk_err hb_get(jk_store *base, const char *code, jk_holdback_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, HB_GET, "SELECT code, since, request, erase_seq FROM holdback WHERE code = ?1");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_holdback(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, NULL); /* an expected miss: no message */
  else e = db_error(s, rc, "holdback");
  finish(q);
  return e;
}

static jk_err hb_delete(jk_store *base, const char *code) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, HB_DEL, "DELETE FROM holdback WHERE code = ?1");
  sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "holdback");
  if (e || sqlite3_changes(s->db) == 1) return e;
  return jk_error_set(JK_ENOTFOUND, "resident %s is not held back", code);
}

static jk_err hb_each(jk_store *base, jk_holdback_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, HB_EACH, "SELECT code, since, request, erase_seq FROM holdback ORDER BY code");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_holdback_rec r;
    if ((e = read_holdback(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "holdback");
  finish(q);
  return e;
}

static jk_err sc_put(jk_store *base, const char *source, int64_t seq, const char *code) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SC_PUT, "INSERT INTO scrub_pending(source, seq, code) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, seq);
  sqlite3_bind_text(q, 3, code, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "scrub pending");
}

static jk_err sc_each(jk_store *base, jk_scrub_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SC_EACH, "SELECT source, seq, code FROM scrub_pending ORDER BY source, seq");
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    char source[64], code[12];
    int64_t seq;
    if (!col_copy(q, 0, source, sizeof source, false) || !jk__store_node_id_ok(source, strlen(source)) ||
        !col_i64(q, 1, &seq) || seq < 1 || !col_copy(q, 2, code, sizeof code, false) ||
        !jk__store_rescode_ok(code, strlen(code))) {
      e = jk_error_set(JK_ECORRUPT, "a scrub_pending row is malformed");
      break;
    }
    if (cb(source, seq, code, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "scrub pending");
  finish(q);
  return e;
}

static jk_err sc_delete(jk_store *base, const char *source, int64_t seq) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, SC_DEL, "DELETE FROM scrub_pending WHERE source = ?1 AND seq = ?2");
  sqlite3_bind_text(q, 1, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, seq);
  return jk__sq_step_done(s, q, "scrub pending");
}

/* ---- residents' restrictions (0009) ---- */

/* A date column: "" gives {0,0,0} when `empty_ok`, else "YYYY-MM-DD" checked. */
static bool col_date(sqlite3_stmt *q, int i, jk_date *out, bool empty_ok) {
  memset(out, 0, sizeof *out);
  if (sqlite3_column_type(q, i) != SQLITE_TEXT) return false;
  int n = sqlite3_column_bytes(q, i);
  if (n == 0) return empty_ok;
  return jk__sq_parse_iso(sqlite3_column_text(q, i), n, out);
}

/* d as ISO text into iso, or "" for {0,0,0}. */
static const char *iso_or_empty(jk_date d, char iso[11]) {
  iso[0] = '\0';
  if (d.y || d.m || d.d) jk_date_format_iso(d, iso);
  return iso;
}

#define RESTRICTION_COLS "code, source, seq, protect, since, until, purposes"

static jk_err read_restriction(sqlite3_stmt *q, jk_restriction_rec *r) {
  const char *field = NULL;
  int protect = -1;
  memset(r, 0, sizeof *r);
  if (!col_copy(q, 0, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 1, r->source, sizeof r->source, false)) field = "source";
  else if (!col_i64(q, 2, &r->seq)) field = "seq";
  else if (!col_int(q, 3, &protect) || (protect != 0 && protect != 1)) field = "protect";
  else if (!col_date(q, 4, &r->since, false)) field = "since";
  else if (!col_date(q, 5, &r->until, true)) field = "until";
  else if (!col_copy(q, 6, r->purposes, sizeof r->purposes, false)) field = "purposes";
  r->protect = protect == 1;
  if (!field && jk__store_restriction_ok(r, &field)) return JK_OK;
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "a restriction row is malformed (field %s)", field);
}

static jk_err rs_put(jk_store *base, const jk_restriction_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, RS_PUT,
        "INSERT OR REPLACE INTO restriction(" RESTRICTION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  char since[11], until[11];
  sqlite3_bind_text(q, 1, r->code, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, r->seq);
  sqlite3_bind_int(q, 4, r->protect ? 1 : 0);
  sqlite3_bind_text(q, 5, iso_or_empty(r->since, since), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, iso_or_empty(r->until, until), -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 7, r->purposes, -1, SQLITE_STATIC);
  return jk__sq_step_done(s, q, "restriction");
}

static jk_err rs_each(jk_store *base, const char *code, jk_restriction_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[2] = {
      "SELECT " RESTRICTION_COLS " FROM restriction ORDER BY code, source",
      "SELECT " RESTRICTION_COLS " FROM restriction WHERE code = ?1 ORDER BY code, source",
  };
  int v = code ? 1 : 0;
  sqlite3_stmt *q = jk__sq_stmt(s, RS_EACH + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (code) sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_restriction_rec r;
    if ((e = read_restriction(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "restriction");
  finish(q);
  return e;
}

#define PROTECTION_COLS                                                                            \
  "id, code, offenders, status, applied_on, until, recorded_at, recorded_by, decided_at, decided_by, note"

static jk_err read_protection(sqlite3_stmt *q, jk_protection_rec *r) {
  const char *field = NULL;
  memset(r, 0, sizeof *r);
  if (!col_i64(q, 0, &r->id) || r->id < 1) field = "id";
  else if (!col_copy(q, 1, r->code, sizeof r->code, false)) field = "code";
  else if (!col_copy(q, 2, r->offenders, sizeof r->offenders, false)) field = "offenders";
  else if (!col_copy(q, 3, r->status, sizeof r->status, false)) field = "status";
  else if (!col_date(q, 4, &r->applied_on, false)) field = "applied_on";
  else if (!col_date(q, 5, &r->until, true)) field = "until";
  else if (!col_copy(q, 6, r->recorded_at, sizeof r->recorded_at, false)) field = "recorded_at";
  else if (!col_copy(q, 7, r->recorded_by, sizeof r->recorded_by, false)) field = "recorded_by";
  else if (!col_copy(q, 8, r->decided_at, sizeof r->decided_at, false)) field = "decided_at";
  else if (!col_copy(q, 9, r->decided_by, sizeof r->decided_by, false)) field = "decided_by";
  else if (!col_copy(q, 10, r->note, sizeof r->note, false)) field = "note";
  if (!field && jk__store_protection_ok(r, &field)) return JK_OK;
  int64_t id = r->id;
  memset(r, 0, sizeof *r);
  return jk_error_set(JK_ECORRUPT, "support measure %lld is malformed (field %s)", (long long)id, field);
}

static jk_err pr_add(jk_store *base, jk_protection_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PR_ADD,
        "INSERT INTO protection(code, offenders, status, applied_on, until, recorded_at, recorded_by, decided_at, "
        "decided_by, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  char applied[11], until[11];
  const char *const text[] = {
      r->code,        r->offenders,   r->status,     iso_or_empty(r->applied_on, applied), iso_or_empty(r->until, until),
      r->recorded_at, r->recorded_by, r->decided_at, r->decided_by,                        r->note,
  }; /* ?1 .. ?10 */
  for (int i = 0; i < (int)(sizeof text / sizeof *text); i++) sqlite3_bind_text(q, i + 1, text[i], -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "support measure");
  if (!e) r->id = sqlite3_last_insert_rowid(s->db);
  return e;
}

static jk_err pr_get(jk_store *base, int64_t id, jk_protection_rec *out) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PR_GET, "SELECT " PROTECTION_COLS " FROM protection WHERE id = ?1");
  sqlite3_bind_int64(q, 1, id);
  int rc = sqlite3_step(q);
  jk_err e;
  if (rc == SQLITE_ROW) e = read_protection(q, out);
  else if (rc == SQLITE_DONE) e = jk_error_set(JK_ENOTFOUND, "there is no support measure %lld", (long long)id);
  else e = db_error(s, rc, "support measure");
  finish(q);
  return e;
}

/* Only a row whose fixed columns match r is updated (so the trigger never fires); nothing
 * updated: there is no such measure, or r would change what is kept as entered. */
static jk_err pr_update(jk_store *base, const jk_protection_rec *r) {
  sq_store *s = (sq_store *)base;
  XPREP(q, s, PR_UPDATE,
        "UPDATE protection SET status = ?7, until = ?8, decided_at = ?9, decided_by = ?10, note = ?11 "
        "WHERE id = ?1 AND code = ?2 AND offenders = ?3 AND applied_on = ?4 AND recorded_at = ?5 "
        "AND recorded_by = ?6");
  char applied[11], until[11];
  sqlite3_bind_int64(q, 1, r->id);
  const char *const text[] = {
      r->code,      r->offenders, iso_or_empty(r->applied_on, applied), r->recorded_at, r->recorded_by,
      r->status,    iso_or_empty(r->until, until), r->decided_at,       r->decided_by,  r->note,
  }; /* ?2 .. ?11 */
  for (int i = 0; i < (int)(sizeof text / sizeof *text); i++) sqlite3_bind_text(q, i + 2, text[i], -1, SQLITE_STATIC);
  jk_err e = jk__sq_step_done(s, q, "support measure");
  if (e || sqlite3_changes(s->db) == 1) return e;
  jk_protection_rec have;
  if ((e = pr_get(base, r->id, &have))) return e;
  const char *field = jk__store_protection_fixed_diff(&have, r);
  return jk_error_set(JK_ECONFLICT, "support measure %lld: %s is kept as entered", (long long)r->id,
                      field ? field : "the row");
}

static jk_err pr_each(jk_store *base, const char *code, jk_protection_cb cb, void *payload) {
  sq_store *s = (sq_store *)base;
  static const char *const sql[2] = {
      "SELECT " PROTECTION_COLS " FROM protection ORDER BY id",
      "SELECT " PROTECTION_COLS " FROM protection WHERE code = ?1 ORDER BY id",
  };
  int v = code ? 1 : 0;
  sqlite3_stmt *q = jk__sq_stmt(s, PR_EACH + v, sql[v]);
  if (!q) return db_error(s, sqlite3_errcode(s->db), "prepare");
  if (code) sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
  jk_err e = JK_OK;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    jk_protection_rec r;
    if ((e = read_protection(q, &r)) || cb(&r, payload)) break;
  }
  if (!e && rc != SQLITE_ROW && rc != SQLITE_DONE) e = db_error(s, rc, "support measure");
  finish(q);
  return e;
}

void jk__sq_provision_ops(struct jk__store_ops *ops) {
  ops->agency_put = sa_put;
  ops->agency_get = sa_get;
  ops->agency_revoke = sa_revoke;
  ops->agency_each = sa_each;
  ops->provision_put_many = sp_put_many;
  ops->provision_each = sp_each;
  ops->provision_marks = sp_marks;
  ops->provision_index = sp_index;
  ops->holding_by_person = sp_holding_by_person;
  ops->request_add = rq_add;
  ops->request_decide = rq_decide;
  ops->request_get = rq_get;
  ops->request_each = rq_each;
  ops->holdback_put = hb_put;
  ops->holdback_get = hb_get;
  ops->holdback_delete = hb_delete;
  ops->holdback_each = hb_each;
  ops->scrub_pending_put = sc_put;
  ops->scrub_pending_each = sc_each;
  ops->scrub_pending_delete = sc_delete;
  ops->restriction_put = rs_put;
  ops->restriction_each = rs_each;
  ops->protection_add = pr_add;
  ops->protection_update = pr_update;
  ops->protection_get = pr_get;
  ops->protection_each = pr_each;
}
