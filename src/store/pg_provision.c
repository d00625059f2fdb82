/*
 * pg_provision.c — the PostgreSQL side of provision to national agencies (store.h,
 * docs/provision.md): the agency registry, the provision records (and their code index, built
 * in sorted batches) and the holdings' search by person, the residents' requests, holdbacks and
 * pending scrubs, the residents' restrictions and support measures; the same behaviour as
 * sqlite_provision.c. The residents' tables are small: one statement per call, parameters as
 * text.
 *
 * provision_put_many sends a chunk of rows as one JSON parameter (an array of 7-element arrays)
 * that the server unnests in order, one INSERT … RETURNING id per chunk. JSON rather than the
 * binary arrays of pg_sync.c because every value here has been checked to be printable ASCII
 * (store.c), so the only escapes are \" and \\, and one parameter carries all the columns.
 */
#include "store/pg_int.h"

#include "jukinet/buf.h"

#include <stdlib.h>
#include <string.h>

enum {
  PV_PUT = PG_SLOT_PROVISION,
  PV_GET,
  PV_REVOKE,
  PV_EACH,
  PV_LOG_PUT,
  PV_LOG_EACH, /* + 0 every row, + 1 by code */
  PV_BY_PERSON = PV_LOG_EACH + 2,
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

/* ---- provision records ---- */

#define PROVISION_COLS "id, at, agency, purpose, code, fields, result, query"
#define PROVISION_CHUNK 1000 /* rows per INSERT */
#define PROVISION_PAGE 4096  /* rows per read */

static jk_err read_provision(const PGresult *r, int row, jk_provision_rec *p) {
  const char *field = NULL;
  memset(p, 0, sizeof *p);
  if (!jk__pg_i64(r, row, 0, &p->id) || p->id < 1) field = "id";
  else if (!jk__pg_copy(r, row, 1, p->at, sizeof p->at, false)) field = "at";
  else if (!jk__pg_copy(r, row, 2, p->agency, sizeof p->agency, false)) field = "agency";
  else if (!jk__pg_copy(r, row, 3, p->purpose, sizeof p->purpose, false)) field = "purpose";
  else if (!jk__pg_copy(r, row, 4, p->code, sizeof p->code, false)) field = "code";
  else if (!jk__pg_copy(r, row, 5, p->fields, sizeof p->fields, false)) field = "fields";
  else if (!jk__pg_copy(r, row, 6, p->result, sizeof p->result, false)) field = "result";
  else if (!jk__pg_bytea(r, row, 7, p->query, sizeof p->query)) field = "query";
  if (!field && jk__store_provision_ok(p, &field)) return JK_OK;
  memset(p, 0, sizeof *p);
  return jk_error_set(JK_ECORRUPT, "a provision record is malformed (field %s)", field);
}

/* v as a JSON string: runs of plain bytes copied, '"' and '\\' escaped (and, though store.c
 * lets none through, control characters). */
static jk_err json_str(jk_buf *b, const char *v) {
  jk_err e = jk_buf_append(b, "\"", 1);
  while (!e && *v) {
    size_t n = 0;
    while (v[n] && v[n] != '"' && v[n] != '\\' && (unsigned char)v[n] >= 0x20) n++;
    if (n) e = jk_buf_append(b, v, n);
    v += n;
    if (e || !*v) break;
    if (*v == '"' || *v == '\\') e = jk_buf_append(b, *v == '"' ? "\\\"" : "\\\\", 2);
    else e = jk_buf_appendf(b, "\\u%04x", (unsigned)(unsigned char)*v);
    v++;
  }
  if (!e) e = jk_buf_append(b, "\"", 1);
  return e;
}

static jk_err json_row(jk_buf *b, const jk_provision_rec *r, bool first) {
  static const char hex[] = "0123456789abcdef";
  char q[2 * sizeof r->query + 3];
  q[0] = ',';
  q[1] = '"';
  for (size_t i = 0; i < sizeof r->query; i++) {
    q[2 + 2 * i] = hex[r->query[i] >> 4];
    q[3 + 2 * i] = hex[r->query[i] & 15];
  }
  q[sizeof q - 1] = '"';
  jk_err e = jk_buf_append(b, first ? "[" : ",[", first ? 1 : 2);
  const char *const text[6] = {r->at, r->agency, r->purpose, r->code, r->fields, r->result};
  for (int k = 0; k < 6 && !e; k++) {
    if (k) e = jk_buf_append(b, ",", 1);
    if (!e) e = json_str(b, text[k]);
  }
  if (!e) e = jk_buf_append(b, q, sizeof q);
  if (!e) e = jk_buf_append(b, "]", 1);
  return e;
}

static int id_cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Per chunk: the rows are produced in array order (WITH ORDINALITY … ORDER BY), so the identity
 * column numbers them in that order; the ids RETURNING gives back are sorted to be sure of the
 * pairing, which holds because one statement's ids increase row by row. */
static jk_err pp_put_many(jk_store *base, jk_provision_rec *recs, size_t n) {
  pg_store *s = (pg_store *)base;
  jk_buf b = {0};
  int64_t *ids = jk_malloc((n < PROVISION_CHUNK ? n : PROVISION_CHUNK) * sizeof *ids);
  jk_err e = ids ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
  for (size_t at = 0; at < n && !e; at += PROVISION_CHUNK) {
    size_t m = n - at < PROVISION_CHUNK ? n - at : PROVISION_CHUNK;
    jk_buf_reset(&b);
    e = jk_buf_append(&b, "[", 1);
    for (size_t i = 0; i < m && !e; i++) e = json_row(&b, &recs[at + i], i == 0);
    if (!e) e = jk_buf_append(&b, "]", 1);
    if (e) break;
    pg_params p = {0};
    jk__pg_text(&p, b.data);
    PGresult *r = jk__pg_run(s, PV_LOG_PUT,
                             "INSERT INTO provision(at, agency, purpose, code, fields, result, query) "
                             "SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, decode(e->>6, 'hex') "
                             "FROM json_array_elements($1::json) WITH ORDINALITY AS t(e, ord) ORDER BY ord "
                             "RETURNING id",
                             &p, "provision", &e);
    if (!r) break;
    if (PQntuples(r) != (int)m) e = jk_error_set(JK_EIO, "database (%s): %s", "provision", "row not written");
    for (size_t i = 0; i < m && !e; i++)
      if (!jk__pg_i64(r, (int)i, 0, &ids[i]) || ids[i] < 1)
        e = jk_error_set(JK_ECORRUPT, "database (%s): %s", "provision", "a returned id is malformed");
    PQclear(r);
    if (e) break;
    qsort(ids, m, sizeof *ids, id_cmp);
    for (size_t i = 0; i < m; i++) recs[at + i].id = ids[i];
  }
  jk_buf_free(&b);
  jk_free(ids);
  return e;
}

/* The watermark (0010) as the SQL reads it: a missing row reads as 0, so a disclosure then
 * scans every row rather than miss any (jk_store_provision_index reports the missing row). */
#define PG_WATERMARK "coalesce((SELECT upto FROM provision_indexed), 0)"

/* In keyset pages of id: never every row in memory at once. By code: the index up to the
 * watermark (provision_code's primary key, then provision's; p.code = $2 again, so that an
 * index entry edited by hand cannot bring in another resident's row), plus the rows after it
 * (an id range, the unindexed tail: small). Each page is one statement, one snapshot: the two
 * halves never overlap nor leave a gap, even when the watermark moves between pages. */
static jk_err pp_each(jk_store *base, const char *code, jk_provision_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[2] = {
      "SELECT " PROVISION_COLS " FROM provision WHERE id > $1 ORDER BY id LIMIT 4096",
      "WITH RECURSIVE b(x) AS (SELECT 0::bigint UNION ALL SELECT x + 1 FROM b WHERE x < (" PG_WATERMARK " >> 16)) "
      "SELECT p.id, p.at, p.agency, p.purpose, p.code, p.fields, p.result, p.query "
      "FROM b JOIN provision_code c ON c.bucket = b.x AND c.code = $2 JOIN provision p ON p.id = c.id "
      "WHERE c.id > $1 AND c.id <= " PG_WATERMARK " AND p.code = $2 "
      "UNION ALL "
      "SELECT " PROVISION_COLS " FROM provision WHERE id > GREATEST($1, " PG_WATERMARK ") AND code = $2 "
      "ORDER BY id LIMIT 4096",
  };
  _Static_assert(PROVISION_PAGE == 4096, "the page size is written in the SQL");
  int v = code ? 1 : 0;
  int64_t after = 0;
  jk_err e = JK_OK;
  for (;;) {
    pg_params p = {0};
    jk__pg_int(&p, after);
    if (code) jk__pg_text(&p, code);
    PGresult *r = jk__pg_run(s, PV_LOG_EACH + v, sql[v], &p, "provision", &e);
    if (!r) return e;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
      jk_provision_rec row;
      if ((e = read_provision(r, i, &row))) break;
      after = row.id;
      if (cb(&row, payload)) {
        PQclear(r);
        return JK_OK;
      }
    }
    PQclear(r);
    if (e || n < PROVISION_PAGE) return e;
  }
}

static jk_err pp_marks(jk_store *base, int64_t *indexed, int64_t *last) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, PV_MARKS,
                           "SELECT (SELECT upto FROM provision_indexed), coalesce((SELECT max(id) FROM provision), 0)",
                           NULL, "provision", &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_i64(r, 0, 0, indexed) || !jk__pg_i64(r, 0, 1, last))
    e = jk_error_set(JK_ECORRUPT, "the provision watermark is missing or malformed");
  PQclear(r);
  return e;
}

/* The watermark first (its WHERE makes sure it is still `from`), then the rows, sorted by
 * (bucket, code, id): a batch lands in the current bucket's few pages (sqlite_provision.c). ON
 * CONFLICT: a key already there (put by hand) must not abort the caller's transaction, which
 * holds the answers themselves. */
static jk_err pp_index(jk_store *base, int64_t from, int64_t upto) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t changed = 0;
  jk__pg_int(&p, from);
  jk__pg_int(&p, upto);
  jk_err e = jk__pg_do(s, PV_RAISE, "UPDATE provision_indexed SET upto = $2 WHERE upto = $1", &p, "provision", &changed);
  if (e) return e;
  if (changed != 1) return jk_error_set(JK_ECONFLICT, "the provision watermark moved under the call");
  return jk__pg_do(s, PV_INDEX,
                   "INSERT INTO provision_code (bucket, code, id) SELECT id >> 16, code, id FROM provision "
                   "WHERE id > $1 AND id <= $2 AND code <> '' ORDER BY id >> 16, code, id ON CONFLICT DO NOTHING",
                   &p, "provision", NULL);
}

/* ---- holdings by person (the index holding_by_person) ---- */

static jk_err pp_holding_by_person(jk_store *base, jk_date birth, jk_sex sex, jk_holding_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_date(&p, birth);
  jk__pg_int(&p, (int)sex);
  PGresult *r = jk__pg_run(s, PV_BY_PERSON,
                           "SELECT " PG_HOLD_COLS " FROM holding WHERE birth = $1 AND sex = $2 ORDER BY code, source",
                           &p, "holding", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_holding_rec h;
    if ((e = jk__pg_read_holding(r, i, &h)) || cb(&h, payload)) break;
  }
  PQclear(r);
  return e;
}

/* ---- the residents' side (0008) ---- */

#define REQUEST_COLS                                                                               \
  "id, code, kind, channel, filed_on, recorded_at, recorded_by, policy, purposes, note, decision, " \
  "decided_at, decided_by, reason"

static jk_err read_request(const PGresult *r, int row, jk_request_rec *q) {
  const char *field = NULL;
  memset(q, 0, sizeof *q);
  if (!jk__pg_i64(r, row, 0, &q->id) || q->id < 1) field = "id";
  else if (!jk__pg_copy(r, row, 1, q->code, sizeof q->code, false)) field = "code";
  else if (!jk__pg_copy(r, row, 2, q->kind, sizeof q->kind, false)) field = "kind";
  else if (!jk__pg_copy(r, row, 3, q->channel, sizeof q->channel, false)) field = "channel";
  else if (!jk__pg_date_col(r, row, 4, &q->filed_on, false)) field = "filed_on";
  else if (!jk__pg_copy(r, row, 5, q->recorded_at, sizeof q->recorded_at, false)) field = "recorded_at";
  else if (!jk__pg_copy(r, row, 6, q->recorded_by, sizeof q->recorded_by, false)) field = "recorded_by";
  else if (!jk__pg_copy(r, row, 7, q->policy, sizeof q->policy, false)) field = "policy";
  else if (!jk__pg_copy(r, row, 8, q->purposes, sizeof q->purposes, false)) field = "purposes";
  else if (!jk__pg_copy(r, row, 9, q->note, sizeof q->note, false)) field = "note";
  else if (!jk__pg_copy(r, row, 10, q->decision, sizeof q->decision, false)) field = "decision";
  else if (!jk__pg_copy(r, row, 11, q->decided_at, sizeof q->decided_at, false)) field = "decided_at";
  else if (!jk__pg_copy(r, row, 12, q->decided_by, sizeof q->decided_by, false)) field = "decided_by";
  else if (!jk__pg_copy(r, row, 13, q->reason, sizeof q->reason, false)) field = "reason";
  if (!field && jk__store_request_ok(q, &field)) return JK_OK;
  int64_t id = q->id;
  memset(q, 0, sizeof *q);
  return jk_error_set(JK_ECORRUPT, "resident request %lld is malformed (field %s)", (long long)id, field);
}

static jk_err rq_add(jk_store *base, jk_request_rec *q) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, q->code);
  jk__pg_text(&p, q->kind);
  jk__pg_text(&p, q->channel);
  jk__pg_date(&p, q->filed_on);
  jk__pg_text(&p, q->recorded_at);
  jk__pg_text(&p, q->recorded_by);
  jk__pg_text(&p, q->policy);
  jk__pg_text(&p, q->purposes);
  jk__pg_text(&p, q->note);
  jk__pg_text(&p, q->decision);
  jk__pg_text(&p, q->decided_at);
  jk__pg_text(&p, q->decided_by);
  jk__pg_text(&p, q->reason);
  PGresult *r = jk__pg_run(s, RQ_ADD,
                           "INSERT INTO resident_request(code, kind, channel, filed_on, recorded_at, recorded_by, policy, "
                           "purposes, note, decision, decided_at, decided_by, reason) VALUES ($1, $2, $3, $4, $5, $6, "
                           "$7, $8, $9, $10, $11, $12, $13) RETURNING id",
                           &p, "resident request", &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_i64(r, 0, 0, &q->id) || q->id < 1)
    e = jk_error_set(JK_EIO, "database (%s): %s", "resident request", "no id returned");
  PQclear(r);
  return e;
}

static jk_err rq_get(jk_store *base, int64_t id, jk_request_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, id);
  PGresult *r =
      jk__pg_run(s, RQ_GET, "SELECT " REQUEST_COLS " FROM resident_request WHERE id = $1", &p, "resident request", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "there is no resident request %lld", (long long)id);
  else e = read_request(r, 0, out);
  PQclear(r);
  return e;
}

/* Only a pending row is updated (so the trigger, which would abort the transaction, never fires
 * for a decided one); nothing updated: there is no such request, or it was decided already. */
static jk_err rq_decide(jk_store *base, int64_t id, const char *decision, const char *at, const char *by,
                        const char *reason) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_int(&p, id);
  jk__pg_text(&p, decision);
  jk__pg_text(&p, at);
  jk__pg_text(&p, by);
  jk__pg_text(&p, reason);
  jk_err e = jk__pg_do(s, RQ_DECIDE,
                       "UPDATE resident_request SET decision = $2, decided_at = $3, decided_by = $4, reason = $5 "
                       "WHERE id = $1 AND decision = ''",
                       &p, "resident request", &n);
  if (e || n == 1) return e;
  jk_request_rec have;
  if ((e = rq_get(base, id, &have))) return e;
  return jk_error_set(JK_ECONFLICT, "resident request %lld was already decided (%s at %s)", (long long)id,
                      have.decision, have.decided_at);
}

static jk_err rq_each(jk_store *base, const char *code, jk_request_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[2] = {
      "SELECT " REQUEST_COLS " FROM resident_request ORDER BY id",
      "SELECT " REQUEST_COLS " FROM resident_request WHERE code = $1 ORDER BY id",
  };
  int v = code ? 1 : 0;
  pg_params p = {0};
  jk_err e = JK_OK;
  if (code) jk__pg_text(&p, code);
  PGresult *r = jk__pg_run(s, RQ_EACH + v, sql[v], &p, "resident request", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_request_rec q;
    if ((e = read_request(r, i, &q)) || cb(&q, payload)) break;
  }
  PQclear(r);
  return e;
}

static jk_err read_holdback(const PGresult *r, int row, jk_holdback_rec *h) {
  const char *field = NULL;
  memset(h, 0, sizeof *h);
  if (!jk__pg_copy(r, row, 0, h->code, sizeof h->code, false)) field = "code";
  else if (!jk__pg_copy(r, row, 1, h->since, sizeof h->since, false)) field = "since";
  else if (!jk__pg_i64(r, row, 2, &h->request)) field = "request";
  else if (!jk__pg_i64(r, row, 3, &h->erase_seq)) field = "erase_seq";
  if (!field && jk__store_holdback_ok(h, &field)) return JK_OK;
  memset(h, 0, sizeof *h);
  return jk_error_set(JK_ECORRUPT, "a holdback row is malformed (field %s)", field);
}

static jk_err hb_put(jk_store *base, const jk_holdback_rec *h) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, h->code);
  jk__pg_text(&p, h->since);
  jk__pg_int(&p, h->request);
  jk__pg_int(&p, h->erase_seq);
  return jk__pg_do(s, HB_PUT,
                   "INSERT INTO holdback(code, since, request, erase_seq) VALUES ($1, $2, $3, $4) ON CONFLICT (code) "
                   "DO UPDATE SET since = excluded.since, request = excluded.request, erase_seq = excluded.erase_seq",
                   &p, "holdback", NULL);
}

static jk_err hb_get(jk_store *base, const char *code, jk_holdback_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_text(&p, code);
  PGresult *r =
      jk__pg_run(s, HB_GET, "SELECT code, since, request, erase_seq FROM holdback WHERE code = $1", &p, "holdback", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, NULL); /* an expected miss: no message */
  else e = read_holdback(r, 0, out);
  PQclear(r);
  return e;
}

static jk_err hb_delete(jk_store *base, const char *code) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  jk__pg_text(&p, code);
  jk_err e = jk__pg_do(s, HB_DEL, "DELETE FROM holdback WHERE code = $1", &p, "holdback", &n);
  if (e || n == 1) return e;
  return jk_error_set(JK_ENOTFOUND, "resident %s is not held back", code);
}

static jk_err hb_each(jk_store *base, jk_holdback_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r =
      jk__pg_run(s, HB_EACH, "SELECT code, since, request, erase_seq FROM holdback ORDER BY code", NULL, "holdback", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_holdback_rec h;
    if ((e = read_holdback(r, i, &h)) || cb(&h, payload)) break;
  }
  PQclear(r);
  return e;
}

static jk_err sc_put(jk_store *base, const char *source, int64_t seq, const char *code) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, source);
  jk__pg_int(&p, seq);
  jk__pg_text(&p, code);
  return jk__pg_do(s, SC_PUT, "INSERT INTO scrub_pending(source, seq, code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                   &p, "scrub pending", NULL);
}

static jk_err sc_each(jk_store *base, jk_scrub_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  jk_err e = JK_OK;
  PGresult *r = jk__pg_run(s, SC_EACH, "SELECT source, seq, code FROM scrub_pending ORDER BY source, seq", NULL,
                           "scrub pending", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    char source[64], code[12];
    int64_t seq;
    if (!jk__pg_copy(r, i, 0, source, sizeof source, false) || !jk__store_node_id_ok(source, strlen(source)) ||
        !jk__pg_i64(r, i, 1, &seq) || seq < 1 || !jk__pg_copy(r, i, 2, code, sizeof code, false) ||
        !jk__store_rescode_ok(code, strlen(code))) {
      e = jk_error_set(JK_ECORRUPT, "a scrub_pending row is malformed");
      break;
    }
    if (cb(source, seq, code, payload)) break;
  }
  PQclear(r);
  return e;
}

static jk_err sc_delete(jk_store *base, const char *source, int64_t seq) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk__pg_text(&p, source);
  jk__pg_int(&p, seq);
  return jk__pg_do(s, SC_DEL, "DELETE FROM scrub_pending WHERE source = $1 AND seq = $2", &p, "scrub pending", NULL);
}

/* ---- residents' restrictions (0009) ---- */

/* A date column: "" gives {0,0,0} when `empty_ok`, else "YYYY-MM-DD" checked. */
static bool date_col(const PGresult *r, int row, int col, jk_date *out, bool empty_ok) {
  const char *v = jk__pg_str(r, row, col);
  memset(out, 0, sizeof *out);
  if (!v) return false;
  if (PQgetlength(r, row, col) == 0) return empty_ok;
  return jk__pg_date_col(r, row, col, out, false);
}

/* d as ISO text into iso, or "" for {0,0,0} (jk__pg_date would give NULL). */
static const char *iso_or_empty(jk_date d, char iso[11]) {
  iso[0] = '\0';
  if (d.y || d.m || d.d) jk_date_format_iso(d, iso);
  return iso;
}

#define RESTRICTION_COLS "code, source, seq, protect, since, until, purposes"

static jk_err read_restriction(const PGresult *r, int row, jk_restriction_rec *x) {
  const char *field = NULL;
  int protect = -1;
  memset(x, 0, sizeof *x);
  if (!jk__pg_copy(r, row, 0, x->code, sizeof x->code, false)) field = "code";
  else if (!jk__pg_copy(r, row, 1, x->source, sizeof x->source, false)) field = "source";
  else if (!jk__pg_i64(r, row, 2, &x->seq)) field = "seq";
  else if (!jk__pg_int32(r, row, 3, &protect) || (protect != 0 && protect != 1)) field = "protect";
  else if (!date_col(r, row, 4, &x->since, false)) field = "since";
  else if (!date_col(r, row, 5, &x->until, true)) field = "until";
  else if (!jk__pg_copy(r, row, 6, x->purposes, sizeof x->purposes, false)) field = "purposes";
  x->protect = protect == 1;
  if (!field && jk__store_restriction_ok(x, &field)) return JK_OK;
  memset(x, 0, sizeof *x);
  return jk_error_set(JK_ECORRUPT, "a restriction row is malformed (field %s)", field);
}

static jk_err rs_put(jk_store *base, const jk_restriction_rec *x) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  char until[11];
  jk__pg_text(&p, x->code);
  jk__pg_text(&p, x->source);
  jk__pg_int(&p, x->seq);
  jk__pg_int(&p, x->protect ? 1 : 0);
  jk__pg_date(&p, x->since);
  jk__pg_text(&p, iso_or_empty(x->until, until));
  jk__pg_text(&p, x->purposes);
  return jk__pg_do(s, RS_PUT,
                   "INSERT INTO restriction(" RESTRICTION_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7) "
                   "ON CONFLICT (code, source) DO UPDATE SET seq = excluded.seq, protect = excluded.protect, "
                   "since = excluded.since, until = excluded.until, purposes = excluded.purposes",
                   &p, "restriction", NULL);
}

static jk_err rs_each(jk_store *base, const char *code, jk_restriction_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[2] = {
      "SELECT " RESTRICTION_COLS " FROM restriction ORDER BY code, source",
      "SELECT " RESTRICTION_COLS " FROM restriction WHERE code = $1 ORDER BY code, source",
  };
  int v = code ? 1 : 0;
  pg_params p = {0};
  jk_err e = JK_OK;
  if (code) jk__pg_text(&p, code);
  PGresult *r = jk__pg_run(s, RS_EACH + v, sql[v], &p, "restriction", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_restriction_rec x;
    if ((e = read_restriction(r, i, &x)) || cb(&x, payload)) break;
  }
  PQclear(r);
  return e;
}

#define PROTECTION_COLS                                                                            \
  "id, code, offenders, status, applied_on, until, recorded_at, recorded_by, decided_at, decided_by, note"

static jk_err read_protection(const PGresult *r, int row, jk_protection_rec *x) {
  const char *field = NULL;
  memset(x, 0, sizeof *x);
  if (!jk__pg_i64(r, row, 0, &x->id) || x->id < 1) field = "id";
  else if (!jk__pg_copy(r, row, 1, x->code, sizeof x->code, false)) field = "code";
  else if (!jk__pg_copy(r, row, 2, x->offenders, sizeof x->offenders, false)) field = "offenders";
  else if (!jk__pg_copy(r, row, 3, x->status, sizeof x->status, false)) field = "status";
  else if (!date_col(r, row, 4, &x->applied_on, false)) field = "applied_on";
  else if (!date_col(r, row, 5, &x->until, true)) field = "until";
  else if (!jk__pg_copy(r, row, 6, x->recorded_at, sizeof x->recorded_at, false)) field = "recorded_at";
  else if (!jk__pg_copy(r, row, 7, x->recorded_by, sizeof x->recorded_by, false)) field = "recorded_by";
  else if (!jk__pg_copy(r, row, 8, x->decided_at, sizeof x->decided_at, false)) field = "decided_at";
  else if (!jk__pg_copy(r, row, 9, x->decided_by, sizeof x->decided_by, false)) field = "decided_by";
  else if (!jk__pg_copy(r, row, 10, x->note, sizeof x->note, false)) field = "note";
  if (!field && jk__store_protection_ok(x, &field)) return JK_OK;
  int64_t id = x->id;
  memset(x, 0, sizeof *x);
  return jk_error_set(JK_ECORRUPT, "support measure %lld is malformed (field %s)", (long long)id, field);
}

static jk_err pr_add(jk_store *base, jk_protection_rec *x) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  char until[11];
  jk__pg_text(&p, x->code);
  jk__pg_text(&p, x->offenders);
  jk__pg_text(&p, x->status);
  jk__pg_date(&p, x->applied_on);
  jk__pg_text(&p, iso_or_empty(x->until, until));
  jk__pg_text(&p, x->recorded_at);
  jk__pg_text(&p, x->recorded_by);
  jk__pg_text(&p, x->decided_at);
  jk__pg_text(&p, x->decided_by);
  jk__pg_text(&p, x->note);
  PGresult *r = jk__pg_run(s, PR_ADD,
                           "INSERT INTO protection(code, offenders, status, applied_on, until, recorded_at, recorded_by, "
                           "decided_at, decided_by, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                           &p, "support measure", &e);
  if (!r) return e;
  if (PQntuples(r) != 1 || !jk__pg_i64(r, 0, 0, &x->id) || x->id < 1)
    e = jk_error_set(JK_EIO, "database (%s): %s", "support measure", "no id returned");
  PQclear(r);
  return e;
}

static jk_err pr_get(jk_store *base, int64_t id, jk_protection_rec *out) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  jk_err e = JK_OK;
  jk__pg_int(&p, id);
  PGresult *r =
      jk__pg_run(s, PR_GET, "SELECT " PROTECTION_COLS " FROM protection WHERE id = $1", &p, "support measure", &e);
  if (!r) return e;
  if (PQntuples(r) == 0) e = jk_error_set(JK_ENOTFOUND, "there is no support measure %lld", (long long)id);
  else e = read_protection(r, 0, out);
  PQclear(r);
  return e;
}

/* Only a row whose fixed columns match x is updated (so the trigger, which would abort the
 * transaction, never fires); nothing updated: there is no such measure, or x would change what
 * is kept as entered. */
static jk_err pr_update(jk_store *base, const jk_protection_rec *x) {
  pg_store *s = (pg_store *)base;
  pg_params p = {0};
  int64_t n = 0;
  char until[11];
  jk__pg_int(&p, x->id);
  jk__pg_text(&p, x->code);
  jk__pg_text(&p, x->offenders);
  jk__pg_date(&p, x->applied_on);
  jk__pg_text(&p, x->recorded_at);
  jk__pg_text(&p, x->recorded_by);
  jk__pg_text(&p, x->status);
  jk__pg_text(&p, iso_or_empty(x->until, until));
  jk__pg_text(&p, x->decided_at);
  jk__pg_text(&p, x->decided_by);
  jk__pg_text(&p, x->note);
  jk_err e = jk__pg_do(s, PR_UPDATE,
                       "UPDATE protection SET status = $7, until = $8, decided_at = $9, decided_by = $10, note = $11 "
                       "WHERE id = $1 AND code = $2 AND offenders = $3 AND applied_on = $4 AND recorded_at = $5 "
                       "AND recorded_by = $6",
                       &p, "support measure", &n);
  if (e || n == 1) return e;
  jk_protection_rec have;
  if ((e = pr_get(base, x->id, &have))) return e;
  const char *field = jk__store_protection_fixed_diff(&have, x);
  return jk_error_set(JK_ECONFLICT, "support measure %lld: %s is kept as entered", (long long)x->id,
                      field ? field : "the row");
}

static jk_err pr_each(jk_store *base, const char *code, jk_protection_cb cb, void *payload) {
  pg_store *s = (pg_store *)base;
  static const char *const sql[2] = {
      "SELECT " PROTECTION_COLS " FROM protection ORDER BY id",
      "SELECT " PROTECTION_COLS " FROM protection WHERE code = $1 ORDER BY id",
  };
  int v = code ? 1 : 0;
  pg_params p = {0};
  jk_err e = JK_OK;
  if (code) jk__pg_text(&p, code);
  PGresult *r = jk__pg_run(s, PR_EACH + v, sql[v], &p, "support measure", &e);
  if (!r) return e;
  for (int i = 0; i < PQntuples(r); i++) {
    jk_protection_rec x;
    if ((e = read_protection(r, i, &x)) || cb(&x, payload)) break;
  }
  PQclear(r);
  return e;
}

void jk__pg_provision_ops(struct jk__store_ops *ops) {
  ops->agency_put = pa_put;
  ops->agency_get = pa_get;
  ops->agency_revoke = pa_revoke;
  ops->agency_each = pa_each;
  ops->provision_put_many = pp_put_many;
  ops->provision_each = pp_each;
  ops->provision_marks = pp_marks;
  ops->provision_index = pp_index;
  ops->holding_by_person = pp_holding_by_person;
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
