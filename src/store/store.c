/*
 * store.c — jk_store front: picks the backend from the location, checks arguments and the
 * transaction discipline once, and dispatches to the backend's ops.
 */
#include "store/store_int.h"
#include "store/migrations.h"

#include <stdio.h>
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
  s->ops->close(s);
}

const char *jk_store_backend(const jk_store *s) { return s->ops->name; }
int jk_store_schema_version(jk_store *s) { return s->ops->schema_version(s); }

int jk_store_schema_latest(void) {
  return jk__sqlite_migration_count ? jk__sqlite_migrations[jk__sqlite_migration_count - 1].number : 0;
}

jk_err jk_store_begin(jk_store *s) {
  if (s->in_tx) return jk_error_set(JK_ECONFLICT, "a transaction is already open");
  s->ledger_next = 0;
  jk_err e = s->ops->begin(s);
  if (e == JK_OK) s->in_tx = true;
  return e;
}

jk_err jk_store_commit(jk_store *s) {
  if (!s->in_tx) return jk_error_set(JK_ECONFLICT, "no transaction is open");
  jk_err e = s->pre_commit ? s->pre_commit(s, s->hook_payload) : JK_OK;
  if (e == JK_OK) e = s->ops->commit(s);
  if (e != JK_OK) {
    s->ops->rollback(s);
  }
  s->in_tx = false;
  if (s->post_commit) s->post_commit(s, s->hook_payload, e == JK_OK);
  return e;
}

void jk_store_rollback(jk_store *s) {
  if (!s->in_tx) return;
  s->ops->rollback(s);
  s->in_tx = false;
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

jk_err jk_store_resident_insert(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  if (e) return e;
  if (rec->version != 1) return jk_error_set(JK_EINVAL, "a new resident starts at version 1");
  return s->ops->resident_insert(s, rec, keys);
}

jk_err jk_store_resident_append(jk_store *s, jk_identity *rec, const jk_resident_keys *keys) {
  jk_err e = need_tx(s);
  return e ? e : s->ops->resident_append(s, rec, keys);
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
