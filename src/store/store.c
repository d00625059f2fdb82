/*
 * store.c — jk_store front: picks the backend from the location, checks arguments and the
 * transaction discipline once, and dispatches to the backend's ops.
 */
#include "store/store_int.h"
#include "store/migrations.h"

#include "jukinet/purpose.h"
#include "jukinet/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void jk__store_now(char buf[32]) {
  /* Formatting a calendar time costs more than a row insert: redo it once per second only. */
  static _Thread_local time_t cached_sec = -1;
  static _Thread_local char cached[24];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != cached_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm); /* fixed width for years 0..9999 */
    cached_sec = ts.tv_sec;
  }
  snprintf(buf, 32, "%s.%03dZ", cached, (int)(ts.tv_nsec / 1000000) % 1000);
}

static jk_err open_location(jk_store **out, const char *location, unsigned flags, int max_version) {
  *out = NULL;
  if (!location || !*location) return jk_error_set(JK_EINVAL, "no store location given");
  /* "postgresql:<conninfo>" / "postgres:<conninfo>"; a URI ("postgresql://…") goes to libpq whole */
  size_t pgp = strncmp(location, "postgresql:", 11) == 0 ? 11 : strncmp(location, "postgres:", 9) == 0 ? 9 : 0;
  if (pgp) return jk__pg_open(out, strncmp(location + pgp, "//", 2) == 0 ? location : location + pgp, flags, max_version);
  if (strncmp(location, "sqlite:", 7) == 0) location += 7;
  return jk__sqlite_open(out, location, flags, max_version);
}

jk_err jk_store_open(jk_store **out, const char *location, unsigned flags) {
  return open_location(out, location, flags, jk_store_schema_latest());
}

jk_err jk__store_open_at_version(jk_store **out, const char *location, int max_version) {
  return open_location(out, location, JK_STORE_CREATE, max_version);
}

void jk_store_close(jk_store *s) {
  if (!s) return;
  if (s->in_tx) s->ops->rollback(s);
  if (s->change_release) s->change_release(s->change_payload);
  s->ops->close(s);
}

const char *jk_store_backend(const jk_store *s) { return s->ops->name; }
int jk_store_schema_version(jk_store *s) { return s->ops->schema_version(s); }

int jk_store_schema_latest(void) {
  return jk__sqlite_migration_count ? jk__sqlite_migrations[jk__sqlite_migration_count - 1].number : 0;
}

static void notice_next_clear(jk_store *s) {
  memset(s->notice_next, 0, sizeof s->notice_next);
  s->notice_next_victim = 0;
}

jk_err jk_store_begin(jk_store *s) {
  if (s->in_tx) return jk_error_set(JK_ECONFLICT, "a transaction is already open");
  s->ledger_next = 0;
  s->doomed = JK_OK;
  notice_next_clear(s);
  jk_err e = s->ops->begin(s);
  if (e == JK_OK) s->in_tx = true;
  return e;
}

jk_err jk_store_commit(jk_store *s) {
  if (!s->in_tx) return jk_error_set(JK_ECONFLICT, "no transaction is open");
  jk_err e = s->doomed;
  if (e) jk_error_set(e, "the transaction was aborted by an earlier error and has been rolled back");
  else if (s->pre_commit) e = s->pre_commit(s, s->hook_payload);
  if (e == JK_OK) e = s->ops->commit(s);
  if (e != JK_OK) {
    s->ops->rollback(s);
  }
  s->in_tx = false;
  notice_next_clear(s);
  if (s->post_commit) s->post_commit(s, s->hook_payload, e == JK_OK);
  return e;
}

void jk_store_rollback(jk_store *s) {
  if (!s->in_tx) return;
  s->ops->rollback(s);
  s->in_tx = false;
  notice_next_clear(s);
  if (s->post_commit) s->post_commit(s, s->hook_payload, false);
}

static jk_err need_tx(jk_store *s) {
  return s->in_tx ? JK_OK : jk_error_set(JK_ECONFLICT, "a write needs an open transaction");
}

jk_err jk_store_meta_get(jk_store *s, const char *key, char **out) { return s->ops->meta_get(s, key, out); }

jk_err jk_store_meta_set(jk_store *s, const char *key, const char *value) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->meta_set(s, key, value);
}

jk_err jk_store_household_new(jk_store *s, int64_t *out) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->household_new(s, out);
}

jk_err jk_store_household_exists(jk_store *s, int64_t id, bool *out) {
  return s->ops->household_exists(s, id, out);
}

jk_err jk_store_code_known(jk_store *s, const char *code, bool *out) {
  int64_t id;
  bool retired;
  jk_err e = s->ops->code_lookup(s, code, &id, &retired);
  if (e == JK_ENOTFOUND) {
    *out = false;
    jk_error_clear();
    return JK_OK;
  }
  *out = e == JK_OK;
  return e;
}

jk_err jk_store_code_lookup(jk_store *s, const char *code, int64_t *resident_id, bool *retired) {
  return s->ops->code_lookup(s, code, resident_id, retired);
}

jk_err jk_store_code_retired(jk_store *s, const char *code, bool *out) { return s->ops->code_retired(s, code, out); }

jk_err jk_store_bulk_begin(jk_store *s, size_t expected_rows) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->bulk_begin(s, expected_rows);
}

jk_err jk_store_bulk_end(jk_store *s) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->bulk_end(s);
}

jk_err jk_store_code_retire(jk_store *s, const char *code, int64_t resident_id, jk_date on) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->code_retire(s, code, resident_id, on);
}

void jk_store_set_change_hook(jk_store *s, jk_store_change_fn fn, void *payload, void (*release)(void *payload)) {
  if (s->change_release) s->change_release(s->change_payload);
  s->change_fn = fn;
  s->change_payload = fn ? payload : NULL;
  s->change_release = fn ? release : NULL;
}

/* Run the change hook for a write that succeeded. Its failure fails the write, and the
 * transaction: the row is already written, so commit refuses and rolls back. */
static jk_err changed(jk_store *s, const jk_identity *rec, const char *prev_code) {
  jk_err e = s->change_fn(s, rec, prev_code, s->change_payload);
  if (e) s->doomed = e;
  return e;
}

jk_err jk_store_resident_insert(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (rec->version != 1) return jk_error_set(JK_EINVAL, "a new resident starts at version 1");
  if ((e = s->ops->resident_insert(s, rec, keys)) || !s->change_fn) return e;
  return changed(s, rec, NULL);
}

jk_err jk_store_resident_append(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (!s->change_fn) return s->ops->resident_append(s, rec, keys);
  /* the hook is told the code a 住民票コード変更 retired: the current version's, read first */
  char prev[JK_RESCODE_LEN + 1] = "";
  if (rec->reason == JK_MOVE_CODE_CHANGE) {
    jk_identity cur = {0};
    if ((e = s->ops->resident_get(s, rec->resident_id, &cur))) return e;
    if (strcmp(cur.code, rec->code) != 0) memcpy(prev, cur.code, sizeof prev);
    jk_identity_clear(&cur);
  }
  if ((e = s->ops->resident_append(s, rec, keys))) return e;
  return changed(s, rec, prev[0] ? prev : NULL);
}

jk_err jk_store_resident_get(jk_store *s, int64_t id, jk_identity *out) { return s->ops->resident_get(s, id, out); }

jk_err jk_store_resident_history(jk_store *s, int64_t id, jk_identity_cb cb, void *payload) {
  return s->ops->resident_history(s, id, cb, payload);
}

jk_err jk_store_resident_search(jk_store *s, const jk_store_query *q, jk_identity_cb cb, void *payload) {
  return s->ops->resident_search(s, q, cb, payload);
}

jk_err jk_store_resident_each(jk_store *s, jk_identity_cb cb, void *payload) {
  return s->ops->resident_each(s, cb, payload);
}

jk_err jk_store_resident_count(jk_store *s, int status, int64_t *out) {
  return s->ops->resident_count(s, status, out);
}

void jk_store_set_commit_hooks(jk_store *s, jk_err (*pre)(jk_store *s, void *payload),
                               void (*post)(jk_store *s, void *payload, bool committed), void *payload) {
  s->pre_commit = pre;
  s->post_commit = post;
  s->hook_payload = payload;
}

/* ---- ledger ---- */

static jk_err need_text(const char *what, const char *v) {
  if (!v) return jk_error_set(JK_EINVAL, "ledger field %s is missing", what);
  if (strlen(v) > JK_LEDGER_FIELD_MAX)
    return jk_error_set(JK_ETOOLARGE, "ledger field %s is longer than %d bytes", what, JK_LEDGER_FIELD_MAX);
  return JK_OK;
}

jk_err jk_store_ledger_size(jk_store *s, int64_t *out) { return s->ops->ledger_size(s, out); }

jk_err jk_store_ledger_append(jk_store *s, const jk_ledger_row *r) {
  jk_err e = need_tx(s);
  if (e || (e = need_text("at", r->at)) || (e = need_text("operator", r->operator_)) ||
      (e = need_text("role", r->role)) || (e = need_text("terminal", r->terminal)) ||
      (e = need_text("action", r->action)) || (e = need_text("object", r->object)) ||
      (e = need_text("result", r->result)))
    return e;
  if (r->seq < 1) return jk_error_set(JK_EINVAL, "ledger entries are numbered from 1");
  if (!s->ledger_next) { /* once per transaction: the write lock keeps it true until commit */
    int64_t size;
    if ((e = s->ops->ledger_size(s, &size))) return e;
    s->ledger_next = size + 1;
  }
  /* REQ-ACCESS-11-3: entries are contiguous; a writer that lost track is refused, not merged */
  if (r->seq != s->ledger_next)
    return jk_error_set(JK_ECONFLICT, "ledger entry %lld cannot follow entry %lld", (long long)r->seq,
                        (long long)s->ledger_next - 1);
  if ((e = s->ops->ledger_append(s, r))) return e;
  s->ledger_next++;
  return JK_OK;
}

jk_err jk_store_ledger_get(jk_store *s, int64_t seq, jk_ledger_row_cb cb, void *payload) {
  if (seq < 1) return jk_error_set(JK_ENOTFOUND, "ledger entry %lld does not exist", (long long)seq);
  int64_t size;
  jk_err e = s->ops->ledger_size(s, &size);
  if (e) return e;
  if (seq > size) return jk_error_set(JK_ENOTFOUND, "ledger entry %lld does not exist", (long long)seq);
  return s->ops->ledger_each(s, seq, seq, cb, payload);
}

jk_err jk_store_ledger_each(jk_store *s, int64_t first, int64_t last, jk_ledger_row_cb cb, void *payload) {
  return s->ops->ledger_each(s, first, last, cb, payload);
}

jk_err jk_store_ledger_leaves(jk_store *s, uint64_t first, size_t count, uint8_t (*out)[32]) {
  return s->ops->ledger_leaves(s, first, count, out);
}

/* With an object, the segmented object index is probed segment by segment, newest first. */
jk_err jk_store_ledger_search(jk_store *s, const jk_ledger_query *q, jk_ledger_row_cb cb, void *payload) {
  size_t limit = q->limit ? q->limit : 100, got = 0;
  if (!q->object) return s->ops->ledger_search(s, q, -1, limit, cb, payload, &got);
  int64_t size;
  jk_err e = s->ops->ledger_size(s, &size);
  if (e) return e;
  int64_t hi = q->last_seq > 0 && q->last_seq < size ? q->last_seq : size;
  int64_t lo = q->first_seq > 0 ? q->first_seq : 1;
  for (int64_t seg = hi >> JK__LEDGER_SEGMENT_SHIFT; seg >= (lo >> JK__LEDGER_SEGMENT_SHIFT) && got < limit; seg--)
    if ((e = s->ops->ledger_search(s, q, seg, limit - got, cb, payload, &got))) return e;
  return JK_OK;
}

jk_err jk_store_ledger_time(jk_store *s, int64_t seq, char at[32]) { return s->ops->ledger_time(s, seq, at); }

jk_err jk_store_ledger_subtree_put(jk_store *s, unsigned level, uint64_t index, const uint8_t hash[32]) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->ledger_subtree_put(s, level, index, hash);
}

jk_err jk_store_ledger_subtree_get(jk_store *s, unsigned level, uint64_t index, uint8_t out[32]) {
  return s->ops->ledger_subtree_get(s, level, index, out);
}

jk_err jk_store_ledger_subtree_each(jk_store *s, jk_ledger_subtree_cb cb, void *payload) {
  return s->ops->ledger_subtree_each(s, cb, payload);
}

jk_err jk_store_ledger_head_put(jk_store *s, const jk_ledger_head_row *h) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->ledger_head_put(s, h);
}

jk_err jk_store_ledger_head_latest(jk_store *s, jk_ledger_head_row *out) { return s->ops->ledger_head_get(s, 0, out); }

jk_err jk_store_ledger_head_get(jk_store *s, int64_t size, jk_ledger_head_row *out) {
  if (size < 1) return jk_error_set(JK_ENOTFOUND, "no tree head of size %lld", (long long)size);
  return s->ops->ledger_head_get(s, size, out);
}

jk_err jk_store_ledger_head_each(jk_store *s, jk_ledger_head_cb cb, void *payload) {
  return s->ops->ledger_head_each(s, cb, payload);
}

/* ---- operators, grants, passwords, cards, sessions ---- */

jk_err jk_store_operator_insert(jk_store *s, jk_operator_rec *rec) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->operator_insert(s, rec);
}

jk_err jk_store_operator_get(jk_store *s, int64_t id, const char *staff_id, jk_operator_rec *out) {
  if (!id && !staff_id) return jk_error_set(JK_EINVAL, "no operator given");
  return s->ops->operator_get(s, id, staff_id, out);
}

jk_err jk_store_operator_each(jk_store *s, jk_operator_cb cb, void *payload) {
  return s->ops->operator_each(s, cb, payload);
}

jk_err jk_store_operator_disable(jk_store *s, int64_t id, const char *at, const char *by) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->operator_disable(s, id, at, by);
}

jk_err jk_store_grant_insert(jk_store *s, jk_grant_rec *rec) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->grant_insert(s, rec);
}

jk_err jk_store_grant_end(jk_store *s, int64_t id, jk_date until, const char *by, const char *at) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->grant_end(s, id, until, by, at);
}

jk_err jk_store_grant_each(jk_store *s, int64_t operator_id, jk_grant_cb cb, void *payload) {
  return s->ops->grant_each(s, operator_id, cb, payload);
}

jk_err jk_store_password_add(jk_store *s, int64_t operator_id, const char *hash, const char *at, const char *by) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (strlen(hash) > 255) return jk_error_set(JK_ETOOLARGE, "password hash too long");
  return s->ops->password_add(s, operator_id, hash, at, by);
}

jk_err jk_store_password_recent(jk_store *s, int64_t operator_id, size_t n, jk_password_cb cb, void *payload) {
  return s->ops->password_recent(s, operator_id, n, cb, payload);
}

jk_err jk_store_card_insert(jk_store *s, jk_card_rec *rec) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->card_insert(s, rec);
}

jk_err jk_store_card_get(jk_store *s, int64_t id, jk_card_rec *out) { return s->ops->card_get(s, id, NULL, NULL, out); }

jk_err jk_store_card_find(jk_store *s, const char *serial, const char *label, jk_card_rec *out) {
  return s->ops->card_get(s, 0, serial, label, out);
}

jk_err jk_store_card_set_status(jk_store *s, int64_t id, const char *status, const char *at) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->card_set_status(s, id, status, at);
}

jk_err jk_store_card_each(jk_store *s, int64_t operator_id, jk_card_cb cb, void *payload) {
  return s->ops->card_each(s, operator_id, cb, payload);
}

jk_err jk_store_card_event_add(jk_store *s, jk_card_event_rec *rec) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->card_event_add(s, rec);
}

jk_err jk_store_card_event_each(jk_store *s, int64_t card_id, jk_card_event_cb cb, void *payload) {
  return s->ops->card_event_each(s, card_id, cb, payload);
}

jk_err jk_store_login_state_get(jk_store *s, int64_t operator_id, int *failures, char locked_until[32]) {
  return s->ops->login_state_get(s, operator_id, failures, locked_until);
}

jk_err jk_store_login_state_set(jk_store *s, int64_t operator_id, int failures, const char *locked_until) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->login_state_set(s, operator_id, failures, locked_until);
}

jk_err jk_store_session_insert(jk_store *s, jk_session_rec *rec) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->session_insert(s, rec);
}

jk_err jk_store_session_get(jk_store *s, const uint8_t token_hash[32], jk_session_rec *out) {
  return s->ops->session_get(s, token_hash, out);
}

jk_err jk_store_session_touch(jk_store *s, int64_t id, const char *at) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->session_touch(s, id, at);
}

jk_err jk_store_session_end(jk_store *s, int64_t id, const char *at, const char *reason) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->session_end(s, id, at, reason);
}

/* ---- sync ---- */

static bool printable(const char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e) return false;
  return true;
}

bool jk__store_node_id_ok(const char *v, size_t n) { return v && n >= 1 && n <= 63 && printable(v, n); }

bool jk__store_rescode_ok(const char *v, size_t n) {
  if (!v || n != 11) return false;
  for (size_t i = 0; i < n; i++)
    if (v[i] < '0' || v[i] > '9') return false;
  return true;
}

/* A time as the sync module writes it ("2026-11-23T01:02:03.456789Z"): printable ASCII,
 * NUL-terminated within cap, not empty unless `empty_ok`. */
static bool time_ok(const char *v, size_t cap, bool empty_ok) {
  if (!v) return false;
  size_t n = strnlen(v, cap);
  if (n == 0) return empty_ok;
  return n < cap && printable(v, n);
}

/* NUL-terminated within cap, valid UTF-8, and not empty unless allowed. */
static bool text_ok(const char *v, size_t cap, bool empty_ok) {
  size_t n = strnlen(v, cap);
  return n < cap && (n > 0 || empty_ok) && jk_utf8_valid(v, n);
}

static bool date_ok_or_zero(jk_date d, bool zero_ok) {
  if (d.y == 0 && d.m == 0 && d.d == 0) return zero_ok;
  return jk_date_valid(d);
}

bool jk__store_holding_ok(const jk_holding_rec *r, const char **field) {
  bool erased = r->status == JK_HOLDING_ERASED;
  size_t prev = strnlen(r->prev_code, sizeof r->prev_code);
#define HOLDING_CHECK(cond, name)                                                                  \
  if (!(cond)) {                                                                                   \
    *field = (name);                                                                               \
    return false;                                                                                  \
  }
  HOLDING_CHECK(jk__store_rescode_ok(r->code, strnlen(r->code, sizeof r->code)), "code");
  HOLDING_CHECK(jk__store_node_id_ok(r->source, strnlen(r->source, sizeof r->source)), "source");
  HOLDING_CHECK(r->seq >= 1, "seq");
  HOLDING_CHECK(r->status == JK_STATUS_ACTIVE || r->status == JK_STATUS_REMOVED || erased, "status");
  HOLDING_CHECK(r->version >= (erased ? 0 : 1), "version");
  HOLDING_CHECK(text_ok(r->name, sizeof r->name, erased), "name");
  HOLDING_CHECK(text_ok(r->kana, sizeof r->kana, erased), "kana");
  HOLDING_CHECK(text_ok(r->address, sizeof r->address, erased), "address");
  HOLDING_CHECK(prev == 0 || jk__store_rescode_ok(r->prev_code, prev), "prev_code");
  HOLDING_CHECK(date_ok_or_zero(r->birth, erased), "birth");
  HOLDING_CHECK(date_ok_or_zero(r->moved_on, true), "moved_on");
  HOLDING_CHECK(r->sex == JK_SEX_MALE || r->sex == JK_SEX_FEMALE || (erased && r->sex == JK_SEX_NONE), "sex");
  HOLDING_CHECK(r->reason < JK_MOVE__COUNT && (r->reason > JK_MOVE_NONE || (erased && r->reason == JK_MOVE_NONE)),
                "reason");
#undef HOLDING_CHECK
  return true;
}

bool jk__store_peer_ok(const jk_peer_rec *p, const char **field) {
  size_t lg = strnlen(p->lgcode, sizeof p->lgcode), role = strnlen(p->role, sizeof p->role);
  if (!jk__store_node_id_ok(p->node, strnlen(p->node, sizeof p->node))) *field = "node";
  else if (lg >= sizeof p->lgcode || (lg && !jk__store_node_id_ok(p->lgcode, lg))) *field = "lgcode";
  else if (role == 0 || role >= sizeof p->role || !jk__store_node_id_ok(p->role, role)) *field = "role";
  else if (!time_ok(p->seen_at, sizeof p->seen_at, true)) *field = "seen_at";
  else return true;
  return false;
}

static bool purposes_ok(const char *list, size_t n) { return n < 1024 && jk_purpose_list_valid(list, n); }

bool jk__store_agency_ok(const jk_agency_rec *a, const char **field) {
  size_t name = strnlen(a->name, sizeof a->name);
  if (!jk__store_node_id_ok(a->id, strnlen(a->id, sizeof a->id))) *field = "id";
  else if (name == 0 || name >= sizeof a->name || !jk_utf8_valid(a->name, name)) *field = "name";
  else if (!purposes_ok(a->purposes, strnlen(a->purposes, sizeof a->purposes))) *field = "purposes";
  else if (a->rate < 1 || a->rate > 100000) *field = "rate";
  else if (!time_ok(a->added_at, sizeof a->added_at, false)) *field = "added_at";
  else if (!time_ok(a->revoked_at, sizeof a->revoked_at, true)) *field = "revoked_at";
  else return true;
  return false;
}

static bool provision_result_ok(const char *v, size_t cap) {
  static const char *const results[] = {"ok", "NOTFOUND", "AMBIGUOUS", "PERM", "INVALID", "BUSY", "REVIEW", "STOPPED"};
  size_t n = strnlen(v, cap);
  for (size_t i = 0; n < cap && i < sizeof results / sizeof *results; i++)
    if (strcmp(v, results[i]) == 0) return true;
  return false;
}

bool jk__store_provision_ok(const jk_provision_rec *r, const char **field) {
  size_t purpose = strnlen(r->purpose, sizeof r->purpose), code = strnlen(r->code, sizeof r->code),
         fields = strnlen(r->fields, sizeof r->fields);
  unsigned bits = 0;
  if (!time_ok(r->at, sizeof r->at, false)) *field = "at";
  else if (!jk__store_node_id_ok(r->agency, strnlen(r->agency, sizeof r->agency))) *field = "agency";
  else if (purpose >= sizeof r->purpose || (purpose && !jk_purpose_code_valid(r->purpose, purpose))) *field = "purpose";
  else if (code >= sizeof r->code || (code && !jk__store_rescode_ok(r->code, code))) *field = "code";
  else if (fields >= sizeof r->fields || (fields && jk_fields_parse(r->fields, fields, &bits) != JK_OK))
    *field = "fields";
  else if (!provision_result_ok(r->result, sizeof r->result)) *field = "result";
  else return true;
  return false;
}

/* ---- the residents' side: row checks ---- */

/* v (NUL-terminated within cap) is one of list[0 .. n). */
static bool one_of(const char *v, size_t cap, const char *const *list, size_t n) {
  if (strnlen(v, cap) >= cap) return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(v, list[i]) == 0) return true;
  return false;
}
#define ONE_OF(field, list) one_of((field), sizeof(field), (list), sizeof(list) / sizeof *(list))

/* NUL-terminated within cap, valid UTF-8 without control characters (C0, DEL, C1); may be "". */
static bool plain_text_ok(const char *v, size_t cap) {
  size_t n = strnlen(v, cap);
  return n < cap && jk_text_is_plain(v, n);
}

static bool staff_ok(const char *v, size_t cap) { return jk__store_node_id_ok(v, strnlen(v, cap)); }

static const char *const request_decisions[] = {"accepted", "rejected", "recorded"};
#define NDECISIONS (sizeof request_decisions / sizeof *request_decisions)
#define REQUEST_TEXT_CAP sizeof(((jk_request_rec *)0)->reason) /* bytes, with the NUL */

bool jk__store_request_ok(const jk_request_rec *r, const char **field) {
  static const char *const kinds[] = {"opt-out", "consent", "stop-use", "copy"};
  static const char *const channels[] = {"letter", "postcard", "fax", "mail", "counter"};
  static const char *const policies[] = {"statutory", "resident-choice"};
  bool pending = r->decision[0] == '\0';
  size_t purposes = strnlen(r->purposes, sizeof r->purposes);
  if (!jk__store_rescode_ok(r->code, strnlen(r->code, sizeof r->code))) *field = "code";
  else if (!ONE_OF(r->kind, kinds)) *field = "kind";
  else if (!ONE_OF(r->channel, channels)) *field = "channel";
  else if (!jk_date_valid(r->filed_on)) *field = "filed_on";
  else if (!time_ok(r->recorded_at, sizeof r->recorded_at, false)) *field = "recorded_at";
  else if (!staff_ok(r->recorded_by, sizeof r->recorded_by)) *field = "recorded_by";
  else if (!ONE_OF(r->policy, policies)) *field = "policy";
  else if (strcmp(r->kind, "stop-use") == 0 ? !purposes_ok(r->purposes, purposes) : purposes != 0) *field = "purposes";
  else if (!plain_text_ok(r->note, sizeof r->note)) *field = "note";
  else if (!pending && !ONE_OF(r->decision, request_decisions)) *field = "decision";
  else if (pending ? r->decided_at[0] != '\0' : !time_ok(r->decided_at, sizeof r->decided_at, false))
    *field = "decided_at";
  else if (pending ? r->decided_by[0] != '\0' : !staff_ok(r->decided_by, sizeof r->decided_by)) *field = "decided_by";
  else if (pending ? r->reason[0] != '\0' : !plain_text_ok(r->reason, sizeof r->reason)) *field = "reason";
  else return true;
  return false;
}

bool jk__store_holdback_ok(const jk_holdback_rec *r, const char **field) {
  if (!jk__store_rescode_ok(r->code, strnlen(r->code, sizeof r->code))) *field = "code";
  else if (!time_ok(r->since, sizeof r->since, false)) *field = "since";
  else if (r->request < 1) *field = "request";
  else if (r->erase_seq < 0) *field = "erase_seq";
  else return true;
  return false;
}

/* ---- residents' restrictions: row checks ---- */

static bool date_is_zero(jk_date d) { return d.y == 0 && d.m == 0 && d.d == 0; }

bool jk__store_restriction_ok(const jk_restriction_rec *r, const char **field) {
  size_t purposes = strnlen(r->purposes, sizeof r->purposes);
  if (!jk__store_rescode_ok(r->code, strnlen(r->code, sizeof r->code))) *field = "code";
  else if (!jk__store_node_id_ok(r->source, strnlen(r->source, sizeof r->source))) *field = "source";
  else if (r->seq < 1) *field = "seq";
  else if (!jk_date_valid(r->since)) *field = "since";
  else if (r->protect ? !jk_date_valid(r->until) : !date_is_zero(r->until)) *field = "until";
  else if (purposes != 0 && !purposes_ok(r->purposes, purposes)) *field = "purposes";
  else return true;
  return false;
}

bool jk__store_protection_ok(const jk_protection_rec *r, const char **field) {
  static const char *const statuses[] = {"provisional", "active", "rejected", "ended"};
  bool terminated = strnlen(r->status, sizeof r->status) < sizeof r->status; /* strcmp is safe */
  bool pending = terminated && strcmp(r->status, "provisional") == 0;
  /* the provisional block has an end too (it is sent upstream); only a rejection has none */
  bool until = terminated && strcmp(r->status, "rejected") != 0;
  if (!jk__store_rescode_ok(r->code, strnlen(r->code, sizeof r->code))) *field = "code";
  else if (r->offenders[0] == '\0' || !plain_text_ok(r->offenders, sizeof r->offenders)) *field = "offenders";
  else if (!ONE_OF(r->status, statuses)) *field = "status";
  else if (!jk_date_valid(r->applied_on)) *field = "applied_on";
  else if (until ? !jk_date_valid(r->until) : !date_is_zero(r->until)) *field = "until";
  else if (!time_ok(r->recorded_at, sizeof r->recorded_at, false)) *field = "recorded_at";
  else if (!staff_ok(r->recorded_by, sizeof r->recorded_by)) *field = "recorded_by";
  else if (pending ? r->decided_at[0] != '\0' : !time_ok(r->decided_at, sizeof r->decided_at, false))
    *field = "decided_at";
  else if (pending ? r->decided_by[0] != '\0' : !staff_ok(r->decided_by, sizeof r->decided_by)) *field = "decided_by";
  else if (!plain_text_ok(r->note, sizeof r->note)) *field = "note";
  else return true;
  return false;
}

static bool date_eq(jk_date a, jk_date b) { return a.y == b.y && a.m == b.m && a.d == b.d; }

const char *jk__store_protection_fixed_diff(const jk_protection_rec *a, const jk_protection_rec *b) {
  if (strcmp(a->code, b->code) != 0) return "code";
  if (strcmp(a->offenders, b->offenders) != 0) return "offenders";
  if (!date_eq(a->applied_on, b->applied_on)) return "applied_on";
  if (strcmp(a->recorded_at, b->recorded_at) != 0) return "recorded_at";
  if (strcmp(a->recorded_by, b->recorded_by) != 0) return "recorded_by";
  return NULL;
}

static jk_err need_node(const char *what, const char *v) {
  if (v && jk__store_node_id_ok(v, strnlen(v, 64))) return JK_OK;
  return jk_error_set(JK_EINVAL, "%s is not a node id (1 to 63 printable ASCII characters)", what);
}

static jk_err need_code(const char *v) {
  if (v && jk__store_rescode_ok(v, strnlen(v, 12))) return JK_OK;
  return jk_error_set(JK_EINVAL, "a resident code must be 11 digits");
}

static jk_err need_time(const char *what, const char *v) {
  if (time_ok(v, 32, false)) return JK_OK;
  return jk_error_set(JK_EINVAL, "%s is not a time (1 to 31 printable ASCII characters)", what);
}

/* The cached next seq of `source` in this transaction (read from the store on a miss). */
static jk_err notice_next(jk_store *s, const char *source, int64_t **next) {
  for (unsigned i = 0; i < JK__NOTICE_NEXT_SLOTS; i++) {
    if (s->notice_next[i].next && strcmp(s->notice_next[i].source, source) == 0) {
      *next = &s->notice_next[i].next;
      return JK_OK;
    }
  }
  int64_t size;
  jk_err e = s->ops->notice_size(s, source, &size);
  if (e) return e;
  unsigned v = s->notice_next_victim++ % JK__NOTICE_NEXT_SLOTS;
  snprintf(s->notice_next[v].source, sizeof s->notice_next[v].source, "%s", source);
  s->notice_next[v].next = size + 1;
  *next = &s->notice_next[v].next;
  return JK_OK;
}

/* Record that `source` continues at `next` (after a write of several rows). */
static void notice_next_set(jk_store *s, const char *source, int64_t next) {
  for (unsigned i = 0; i < JK__NOTICE_NEXT_SLOTS; i++) {
    if (s->notice_next[i].next && strcmp(s->notice_next[i].source, source) == 0) {
      s->notice_next[i].next = next;
      return;
    }
  }
  unsigned v = s->notice_next_victim++ % JK__NOTICE_NEXT_SLOTS;
  snprintf(s->notice_next[v].source, sizeof s->notice_next[v].source, "%s", source);
  s->notice_next[v].next = next;
}

static jk_err notice_seq_refused(const jk_notice_row *row, int64_t want) {
  return jk_error_set(JK_ECONFLICT, "notice seq %lld of %s: expected %lld", (long long)row->seq, row->source,
                      (long long)want);
}

/* A row's own fields (not its place in the source's sequence). */
static jk_err notice_row_check(const jk_notice_row *row) {
  jk_err e;
  if ((e = need_node("notice source", row->source)) || (e = need_code(row->code))) return e;
  if (row->seq < 1) return jk_error_set(JK_EINVAL, "notices are numbered from 1");
  if (!row->enc || row->enc_len < 1 || row->enc_len > JK_NOTICE_ROW_MAX)
    return jk_error_set(JK_EINVAL, "a notice encoding must be 1 to %d bytes", JK_NOTICE_ROW_MAX);
  return JK_OK;
}

jk_err jk_store_notice_append(jk_store *s, const jk_notice_row *row) {
  jk_err e = need_tx(s);
  if (e || (e = notice_row_check(row))) return e;
  int64_t *next;
  if ((e = notice_next(s, row->source, &next))) return e;
  if (row->seq != *next) return notice_seq_refused(row, *next);
  if ((e = s->ops->notice_append(s, row))) return e;
  (*next)++;
  return JK_OK;
}

/* Rows of a many-call grouped by source, each group in call order. */
typedef struct notice_ref {
  const char *source;
  size_t i;
} notice_ref;

static int notice_ref_cmp(const void *a, const void *b) {
  const notice_ref *x = a, *y = b;
  int c = strcmp(x->source, y->source);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

static jk_err need_array(const void *v, size_t n) {
  return v || n == 0 ? JK_OK : jk_error_set(JK_EINVAL, "%zu rows were announced but none given", n);
}

/* n single appends in order, checked at once: every row's fields, then per source the
 * contiguity (a source's first row is its next seq, each further row the one after). The error
 * is the one the first refused row would have given. */
jk_err jk_store_notice_append_many(jk_store *s, const jk_notice_row *rows, size_t n) {
  jk_err e = need_tx(s);
  if (e || (e = need_array(rows, n)) || n == 0) return e;
  size_t valid = 0; /* rows[0 .. valid) have good fields */
  while (valid < n && notice_row_check(&rows[valid]) == JK_OK) valid++;
  size_t bad = valid;
  int64_t want = 0;
  bool one_source = true;
  for (size_t i = 1; i < valid && one_source; i++)
    one_source = rows[i].source == rows[0].source || strcmp(rows[i].source, rows[0].source) == 0;
  notice_ref *refs = NULL;
  if (valid && one_source) {
    int64_t *next;
    if ((e = notice_next(s, rows[0].source, &next))) return e;
    for (size_t i = 0; i < valid; i++) {
      if (rows[i].seq != *next + (int64_t)i) {
        bad = i;
        want = *next + (int64_t)i;
        break;
      }
    }
  } else if (valid) {
    if (!(refs = jk_malloc(valid * sizeof *refs))) return jk_error_set(JK_ENOMEM, NULL);
    for (size_t i = 0; i < valid; i++) refs[i] = (notice_ref){rows[i].source, i};
    qsort(refs, valid, sizeof *refs, notice_ref_cmp);
    for (size_t g = 0; g < valid;) {
      size_t end = g + 1;
      while (end < valid && strcmp(refs[end].source, refs[g].source) == 0) end++;
      int64_t *next;
      if ((e = notice_next(s, refs[g].source, &next))) {
        jk_free(refs);
        return e;
      }
      for (size_t k = g; k < end; k++) {
        int64_t expect = *next + (int64_t)(k - g);
        if (rows[refs[k].i].seq != expect) {
          if (refs[k].i < bad) {
            bad = refs[k].i;
            want = expect;
          }
          break;
        }
      }
      g = end;
    }
  }
  if (bad < valid) e = notice_seq_refused(&rows[bad], want);
  else if (valid < n) e = notice_row_check(&rows[valid]);
  else e = s->ops->notice_append_many(s, rows, n);
  if (!e) {
    if (!refs) notice_next_set(s, rows[0].source, rows[n - 1].seq + 1);
    for (size_t k = 0; refs && k < valid; k++) /* the last row of each source */
      if (k + 1 == valid || strcmp(refs[k + 1].source, refs[k].source) != 0)
        notice_next_set(s, refs[k].source, rows[refs[k].i].seq + 1);
  }
  jk_free(refs);
  return e;
}

jk_err jk_store_notice_size(jk_store *s, const char *source, int64_t *out) {
  jk_err e = need_node("notice source", source);
  return e ? e : s->ops->notice_size(s, source, out);
}

jk_err jk_store_notice_each(jk_store *s, const char *source, int64_t first, int64_t last, jk_notice_row_cb cb,
                            void *payload) {
  jk_err e = need_node("notice source", source);
  if (e) return e;
  if (last < 0) return jk_error_set(JK_EINVAL, "notice range out of bounds");
  if (first < 1) first = 1;
  if (last == 0) last = INT64_MAX;
  if (last < first) return JK_OK;
  return s->ops->notice_each(s, source, first, last, cb, payload);
}

jk_err jk_store_notice_leaves(jk_store *s, const char *source, uint64_t first, size_t count, uint8_t (*out)[32]) {
  jk_err e = need_node("notice source", source);
  if (e) return e;
  if (count > (size_t)INT64_MAX || first > (uint64_t)INT64_MAX - count)
    return jk_error_set(JK_EINVAL, "notice range out of bounds");
  return count ? s->ops->notice_leaves(s, source, first, count, out) : JK_OK;
}

jk_err jk_store_notice_by_code(jk_store *s, const char *code, jk_notice_row_cb cb, void *payload) {
  jk_err e = need_code(code);
  return e ? e : s->ops->notice_by_code(s, code, cb, payload);
}

jk_err jk_store_notice_scrub(jk_store *s, const char *code, int64_t *n) {
  int64_t changed = 0;
  jk_err e = need_tx(s);
  if (e || (e = need_code(code)) || (e = s->ops->notice_scrub(s, code, &changed))) return e;
  if (n) *n = changed;
  return JK_OK;
}

jk_err jk_store_notice_scrub_one(jk_store *s, const char *source, int64_t seq) {
  jk_err e = need_tx(s);
  if (e || (e = need_node("notice source", source))) return e;
  if (seq < 1) return jk_error_set(JK_EINVAL, "notices are numbered from 1");
  return s->ops->notice_scrub_one(s, source, seq);
}

jk_err jk_store_notice_sources(jk_store *s, jk_sync_source_cb cb, void *payload) {
  return s->ops->notice_sources(s, cb, payload);
}

static jk_err need_subtree(unsigned level, uint64_t index) {
  if (level >= 64 || index > (uint64_t)INT64_MAX)
    return jk_error_set(JK_EINVAL, "subtree %u/%llu is out of range", level, (unsigned long long)index);
  return JK_OK;
}

jk_err jk_store_notice_subtree_put(jk_store *s, const char *source, unsigned level, uint64_t index,
                                   const uint8_t hash[32]) {
  jk_err e = need_tx(s);
  if (e || (e = need_node("notice source", source)) || (e = need_subtree(level, index))) return e;
  return s->ops->notice_subtree_put(s, source, level, index, hash);
}

jk_err jk_store_notice_subtree_get(jk_store *s, const char *source, unsigned level, uint64_t index, uint8_t out[32]) {
  jk_err e = need_node("notice source", source);
  if (e || (e = need_subtree(level, index))) return e;
  return s->ops->notice_subtree_get(s, source, level, index, out);
}

jk_err jk_store_outbox_head_put(jk_store *s, const jk_sync_head_row *h) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (!jk__store_node_id_ok(h->node, strnlen(h->node, sizeof h->node)))
    return jk_error_set(JK_EINVAL, "%s is not a node id (1 to 63 printable ASCII characters)", "outbox head node");
  if (h->size < 0) return jk_error_set(JK_EINVAL, "a tree head size cannot be negative");
  if ((e = need_time("outbox head time", h->at))) return e;
  return s->ops->outbox_head_put(s, h);
}

jk_err jk_store_agency_put(jk_store *s, const jk_agency_rec *a) {
  const char *field = NULL;
  if (!a) return jk_error_set(JK_EINVAL, "jk_store_agency_put: no agency");
  jk_agency_rec r = *a;
  r.revoked_at[0] = '\0'; /* put registers; revoke revokes */
  if (!jk__store_agency_ok(&r, &field))
    return jk_error_set(JK_EINVAL, "agency %.63s: %s is not valid (store.h: the agency registry)",
                        jk__store_node_id_ok(a->id, strnlen(a->id, sizeof a->id)) ? a->id : "?", field);
  return s->ops->agency_put(s, &r);
}

jk_err jk_store_agency_get(jk_store *s, const char *id, jk_agency_rec *out) {
  memset(out, 0, sizeof *out);
  jk_err e = need_node("agency id", id);
  return e ? e : s->ops->agency_get(s, id, out);
}

jk_err jk_store_agency_revoke(jk_store *s, const char *id, const char *at) {
  jk_err e = need_node("agency id", id);
  if (!e) e = need_time("agency revocation time", at);
  return e ? e : s->ops->agency_revoke(s, id, at);
}

jk_err jk_store_agency_each(jk_store *s, jk_agency_cb cb, void *payload) {
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_agency_each: no callback");
  return s->ops->agency_each(s, cb, payload);
}

/* Every row is checked before any is written. Without an open transaction the rows go in one
 * of their own (the backend's, not jk_store_begin's: no commit hooks run), so that a failure
 * keeps nothing and SQLite syncs once, not once per row. */
jk_err jk_store_provision_put_many(jk_store *s, jk_provision_rec *recs, size_t n) {
  jk_err e = need_array(recs, n);
  if (e || n == 0) return e;
  for (size_t i = 0; i < n; i++) {
    const char *field = "";
    if (!jk__store_provision_ok(&recs[i], &field))
      return jk_error_set(JK_EINVAL, "provision record %zu: %s is not valid (store.h: provision records)", i, field);
  }
  if (s->in_tx) {
    e = s->ops->provision_put_many(s, recs, n);
  } else if (!(e = s->ops->begin(s))) {
    e = s->ops->provision_put_many(s, recs, n);
    if (!e) e = s->ops->commit(s);
    if (e) s->ops->rollback(s);
  }
  if (e)
    for (size_t i = 0; i < n; i++) recs[i].id = 0;
  return e;
}

jk_err jk_store_provision_each(jk_store *s, const char *code, jk_provision_cb cb, void *payload) {
  jk_err e = JK_OK;
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_provision_each: no callback");
  if (code && (e = need_code(code))) return e;
  return s->ops->provision_each(s, code, cb, payload);
}

/* The watermark and the highest id, checked: 0 <= watermark <= highest id (a watermark beyond
 * the rows would hide the rows added later under it, unindexed). */
static jk_err provision_marks(jk_store *s, int64_t *indexed, int64_t *last) {
  jk_err e = s->ops->provision_marks(s, indexed, last);
  if (!e && (*indexed < 0 || *last < 0 || *indexed > *last))
    e = jk_error_set(JK_ECORRUPT, "the provision watermark %lld is out of range (the last provision record is %lld)",
                     (long long)*indexed, (long long)*last);
  return e;
}

/* Off the per-answer path: the rows since the last call are indexed in one sorted statement.
 * upto is clamped to the highest id: the watermark must never pass a row not yet written. */
jk_err jk_store_provision_index(jk_store *s, int64_t upto) {
  int64_t indexed = 0, last = 0;
  jk_err e = need_tx(s);
  if (!e) e = provision_marks(s, &indexed, &last);
  if (e) return e;
  if (upto > last) upto = last;
  if (upto <= indexed) return JK_OK;
  return s->ops->provision_index(s, indexed, upto);
}

jk_err jk_store_provision_indexed(jk_store *s, int64_t *upto) {
  int64_t last = 0;
  if (!upto) return jk_error_set(JK_EINVAL, "jk_store_provision_indexed: no output");
  jk_err e = provision_marks(s, upto, &last);
  if (e) *upto = 0;
  return e;
}

/* ---- the residents' side ---- */

jk_err jk_store_request_add(jk_store *s, jk_request_rec *r) {
  const char *field = "";
  jk_err e = need_tx(s);
  if (e) return e;
  if (!r) return jk_error_set(JK_EINVAL, "jk_store_request_add: no request");
  r->id = 0;
  if (!jk__store_request_ok(r, &field))
    return jk_error_set(JK_EINVAL, "resident request: %s is not valid (store.h: the residents' side)", field);
  if ((e = s->ops->request_add(s, r))) r->id = 0;
  return e;
}

jk_err jk_store_request_decide(jk_store *s, int64_t id, const char *decision, const char *at, const char *by,
                               const char *reason) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (!reason) reason = "";
  const char *field = !decision || !one_of(decision, 16, request_decisions, NDECISIONS) ? "decision"
                      : !time_ok(at, 32, false)                                 ? "decided_at"
                      : !by || !staff_ok(by, 64)                                ? "decided_by"
                      : !plain_text_ok(reason, REQUEST_TEXT_CAP)                ? "reason"
                                                                                : NULL;
  if (field) return jk_error_set(JK_EINVAL, "resident request: %s is not valid (store.h: the residents' side)", field);
  if (id < 1) return jk_error_set(JK_ENOTFOUND, "there is no resident request %lld", (long long)id);
  return s->ops->request_decide(s, id, decision, at, by, reason);
}

jk_err jk_store_request_get(jk_store *s, int64_t id, jk_request_rec *out) {
  if (!out) return jk_error_set(JK_EINVAL, "jk_store_request_get: no output");
  memset(out, 0, sizeof *out);
  if (id < 1) return jk_error_set(JK_ENOTFOUND, "there is no resident request %lld", (long long)id);
  return s->ops->request_get(s, id, out);
}

jk_err jk_store_request_each(jk_store *s, const char *code, jk_request_cb cb, void *payload) {
  jk_err e = JK_OK;
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_request_each: no callback");
  if (code && (e = need_code(code))) return e;
  return s->ops->request_each(s, code, cb, payload);
}

jk_err jk_store_holdback_put(jk_store *s, const jk_holdback_rec *r) {
  const char *field = "";
  jk_err e = need_tx(s);
  if (e) return e;
  if (!r) return jk_error_set(JK_EINVAL, "jk_store_holdback_put: no row");
  if (!jk__store_holdback_ok(r, &field))
    return jk_error_set(JK_EINVAL, "holdback: %s is not valid (store.h: the residents' side)", field);
  return s->ops->holdback_put(s, r);
}

jk_err jk_store_holdback_get(jk_store *s, const char *code, jk_holdback_rec *out) {
  if (!out) return jk_error_set(JK_EINVAL, "jk_store_holdback_get: no output");
  memset(out, 0, sizeof *out);
  jk_err e = need_code(code);
  return e ? e : s->ops->holdback_get(s, code, out);
}

jk_err jk_store_holdback_delete(jk_store *s, const char *code) {
  jk_err e = need_tx(s);
  if (e || (e = need_code(code))) return e;
  return s->ops->holdback_delete(s, code);
}

jk_err jk_store_holdback_each(jk_store *s, jk_holdback_cb cb, void *payload) {
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_holdback_each: no callback");
  return s->ops->holdback_each(s, cb, payload);
}

static jk_err need_seq(int64_t seq) {
  return seq >= 1 ? JK_OK : jk_error_set(JK_EINVAL, "notices are numbered from 1");
}

jk_err jk_store_scrub_pending_put(jk_store *s, const char *source, int64_t seq, const char *code) {
  jk_err e = need_tx(s);
  if (e || (e = need_node("scrub source", source)) || (e = need_seq(seq)) || (e = need_code(code))) return e;
  return s->ops->scrub_pending_put(s, source, seq, code);
}

jk_err jk_store_scrub_pending_each(jk_store *s, jk_scrub_cb cb, void *payload) {
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_scrub_pending_each: no callback");
  return s->ops->scrub_pending_each(s, cb, payload);
}

jk_err jk_store_scrub_pending_delete(jk_store *s, const char *source, int64_t seq) {
  jk_err e = need_tx(s);
  if (e || (e = need_node("scrub source", source)) || (e = need_seq(seq))) return e;
  return s->ops->scrub_pending_delete(s, source, seq);
}

/* ---- residents' restrictions ---- */

jk_err jk_store_restriction_put(jk_store *s, const jk_restriction_rec *r) {
  const char *field = "";
  jk_err e = need_tx(s);
  if (e) return e;
  if (!r) return jk_error_set(JK_EINVAL, "jk_store_restriction_put: no restriction");
  if (!jk__store_restriction_ok(r, &field))
    return jk_error_set(JK_EINVAL, "restriction: %s is not valid (store.h: residents' restrictions)", field);
  return s->ops->restriction_put(s, r);
}

jk_err jk_store_restriction_each(jk_store *s, const char *code, jk_restriction_cb cb, void *payload) {
  jk_err e = JK_OK;
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_restriction_each: no callback");
  if (code && (e = need_code(code))) return e;
  return s->ops->restriction_each(s, code, cb, payload);
}

static jk_err protection_check(const jk_protection_rec *r) {
  const char *field = "";
  if (jk__store_protection_ok(r, &field)) return JK_OK;
  return jk_error_set(JK_EINVAL, "support measure: %s is not valid (store.h: residents' restrictions)", field);
}

jk_err jk_store_protection_add(jk_store *s, jk_protection_rec *r) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (!r) return jk_error_set(JK_EINVAL, "jk_store_protection_add: no support measure");
  r->id = 0;
  if ((e = protection_check(r))) return e;
  if ((e = s->ops->protection_add(s, r))) r->id = 0;
  return e;
}

jk_err jk_store_protection_update(jk_store *s, const jk_protection_rec *r) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (!r) return jk_error_set(JK_EINVAL, "jk_store_protection_update: no support measure");
  if ((e = protection_check(r))) return e;
  if (r->id < 1) return jk_error_set(JK_ENOTFOUND, "there is no support measure %lld", (long long)r->id);
  return s->ops->protection_update(s, r);
}

jk_err jk_store_protection_get(jk_store *s, int64_t id, jk_protection_rec *out) {
  if (!out) return jk_error_set(JK_EINVAL, "jk_store_protection_get: no output");
  memset(out, 0, sizeof *out);
  if (id < 1) return jk_error_set(JK_ENOTFOUND, "there is no support measure %lld", (long long)id);
  return s->ops->protection_get(s, id, out);
}

jk_err jk_store_protection_each(jk_store *s, const char *code, jk_protection_cb cb, void *payload) {
  jk_err e = JK_OK;
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_protection_each: no callback");
  if (code && (e = need_code(code))) return e;
  return s->ops->protection_each(s, code, cb, payload);
}

jk_err jk_store_holding_by_person(jk_store *s, jk_date birth, jk_sex sex, jk_holding_cb cb, void *payload) {
  if (!cb) return jk_error_set(JK_EINVAL, "jk_store_holding_by_person: no callback");
  if (!jk_date_valid(birth)) return jk_error_set(JK_EINVAL, "a birth date to search by is not a real date");
  if (sex != JK_SEX_MALE && sex != JK_SEX_FEMALE)
    return jk_error_set(JK_EINVAL, "a sex to search by is male or female");
  return s->ops->holding_by_person(s, birth, sex, cb, payload);
}

jk_err jk_store_outbox_head_latest(jk_store *s, const char *node, jk_sync_head_row *out) {
  jk_err e = need_node("outbox head node", node);
  return e ? e : s->ops->outbox_head_find(s, node, 0, out);
}

jk_err jk_store_outbox_head_at_least(jk_store *s, const char *node, int64_t size, jk_sync_head_row *out) {
  jk_err e = need_node("outbox head node", node);
  if (!e && size < 1) e = jk_error_set(JK_EINVAL, "outbox head size %lld: 1 or more", (long long)size);
  return e ? e : s->ops->outbox_head_find(s, node, size, out);
}

static jk_err holding_check(const jk_holding_rec *r) {
  const char *field = "";
  if (!jk__store_holding_ok(r, &field)) return jk_error_set(JK_EINVAL, "holding record: field %s is invalid", field);
  return JK_OK;
}

jk_err jk_store_holding_put(jk_store *s, const jk_holding_rec *r) {
  jk_err e = need_tx(s);
  return e || (e = holding_check(r)) ? e : s->ops->holding_put(s, r);
}

jk_err jk_store_holding_put_many(jk_store *s, const jk_holding_rec *recs, size_t n) {
  jk_err e = need_tx(s);
  if (e || (e = need_array(recs, n)) || n == 0) return e;
  for (size_t i = 0; i < n; i++)
    if ((e = holding_check(&recs[i]))) return e;
  return s->ops->holding_put_many(s, recs, n);
}

static int code_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The backends get the codes sorted (byte order) and distinct. */
jk_err jk_store_holding_get_codes(jk_store *s, const char *const *codes, size_t n, jk_holding_cb cb, void *payload) {
  jk_err e = need_array(codes, n);
  if (e || n == 0) return e;
  for (size_t i = 0; i < n; i++)
    if ((e = need_code(codes[i]))) return e;
  const char **sorted = jk_malloc(n * sizeof *sorted);
  if (!sorted) return jk_error_set(JK_ENOMEM, NULL);
  memcpy(sorted, codes, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, code_cmp);
  size_t m = 1;
  for (size_t i = 1; i < n; i++)
    if (strcmp(sorted[i], sorted[m - 1]) != 0) sorted[m++] = sorted[i];
  e = s->ops->holding_get_codes(s, sorted, m, cb, payload);
  jk_free(sorted);
  return e;
}

jk_err jk_store_holding_get(jk_store *s, const char *code, const char *source, jk_holding_rec *out) {
  jk_err e = need_code(code);
  if (e || (e = need_node("holding source", source))) return e;
  return s->ops->holding_get(s, code, source, out);
}

jk_err jk_store_holding_delete(jk_store *s, const char *code, const char *source) {
  jk_err e = need_tx(s);
  if (e || (e = need_code(code)) || (e = need_node("holding source", source))) return e;
  return s->ops->holding_delete(s, code, source);
}

jk_err jk_store_holding_each(jk_store *s, const char *code, const char *source, jk_holding_cb cb, void *payload) {
  jk_err e = JK_OK;
  if ((code && (e = need_code(code))) || (source && (e = need_node("holding source", source)))) return e;
  return s->ops->holding_each(s, code, source, cb, payload);
}

jk_err jk_store_holding_count(jk_store *s, const char *source, int status, int64_t *out) {
  jk_err e = JK_OK;
  if (source && (e = need_node("holding source", source))) return e;
  if (status != 0 && status != JK_STATUS_ACTIVE && status != JK_STATUS_REMOVED && status != JK_HOLDING_ERASED)
    return jk_error_set(JK_EINVAL, "holding status %d is out of range", status);
  return s->ops->holding_count(s, source, status, out);
}

jk_err jk_store_peer_put(jk_store *s, const jk_peer_rec *p) {
  jk_err e = need_tx(s);
  if (e) return e;
  const char *field = "";
  if (!jk__store_peer_ok(p, &field)) return jk_error_set(JK_EINVAL, "peer record: field %s is invalid", field);
  size_t n = p->cert_pem ? strnlen(p->cert_pem, JK__PEER_CERT_MAX + 1) : 0;
  if (n == 0 || n > JK__PEER_CERT_MAX || !jk_utf8_valid(p->cert_pem, n))
    return jk_error_set(JK_EINVAL, "peer record: field %s is invalid", "cert_pem");
  return s->ops->peer_put(s, p);
}

jk_err jk_store_peer_get(jk_store *s, const char *node, jk_peer_rec *out) {
  jk_err e = need_node("peer node", node);
  if (e) return e;
  memset(out, 0, sizeof *out);
  return s->ops->peer_get(s, node, out);
}

jk_err jk_store_sync_ack_put(jk_store *s, const char *sender, int64_t size, const uint8_t root[32], const char *at) {
  jk_err e = need_tx(s);
  if (e || (e = need_node("sender", sender)) || (e = need_time("acknowledgement time", at))) return e;
  if (size < 0) return jk_error_set(JK_EINVAL, "a tree head size cannot be negative");
  return s->ops->sync_ack_put(s, sender, size, root, at);
}

jk_err jk_store_sync_ack_get(jk_store *s, const char *sender, int64_t *size, uint8_t root[32]) {
  jk_err e = need_node("sender", sender);
  return e ? e : s->ops->sync_ack_get(s, sender, size, root);
}

jk_err jk_store_receipt_put(jk_store *s, const jk_receipt_row *r) {
  jk_err e = need_tx(s);
  if (e) return e;
  const char *bad = !jk__store_node_id_ok(r->receiver, strnlen(r->receiver, sizeof r->receiver)) ? "receipt receiver"
                    : !jk__store_node_id_ok(r->sender, strnlen(r->sender, sizeof r->sender))     ? "receipt sender"
                    : !jk__store_node_id_ok(r->source, strnlen(r->source, sizeof r->source))     ? "receipt source"
                                                                                                   : NULL;
  if (bad) return jk_error_set(JK_EINVAL, "%s is not a node id (1 to 63 printable ASCII characters)", bad);
  if (r->highest_seq < 0 || r->ledger_size < 0)
    return jk_error_set(JK_EINVAL, "a receipt's seq and ledger size cannot be negative");
  if ((e = need_time("receipt time", r->at))) return e;
  return s->ops->receipt_put(s, r);
}

jk_err jk_store_receipt_get(jk_store *s, const char *receiver, const char *source, jk_receipt_row *out) {
  jk_err e = need_node("receipt receiver", receiver);
  if (e || (e = need_node("receipt source", source))) return e;
  return s->ops->receipt_get(s, receiver, source, out);
}

jk_err jk_store_receipt_latest(jk_store *s, const char *receiver, jk_receipt_row *out) {
  jk_err e = need_node("receipt receiver", receiver);
  return e ? e : s->ops->receipt_latest(s, receiver, out);
}
