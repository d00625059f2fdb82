/*
 * registry.c — residents, households and moves (異動) over jk_store.
 *
 * Every public call here is one store transaction: begin, checks, writes, commit; any
 * failure rolls back so nothing is half-done (REQ-IMP-1, REQ-HIST-1). Code assignment draws
 * from the CSPRNG until it finds a code never assigned here (REQ-CODE-2).
 */
#include "jukinet/registry.h"
#include "jukinet/i18n.h"
#include "jukinet/text.h"
#include "registry/registry_int.h"

#include <stdlib.h>
#include <string.h>

/* Replace *field by its NFC form (NULL stays NULL). */
static jk_err nfc_field(char **field, const char *label) {
  if (!*field) return JK_OK;
  char *n = NULL;
  jk_err e = jk_text_nfc(*field, strlen(*field), &n);
  if (e) return jk_error_prefix("%s: ", jk_tr(label));
  jk_free(*field);
  *field = n;
  return JK_OK;
}

jk_err jk_registry_normalize(jk_identity *rec) {
  jk_err e;
  if ((e = nfc_field(&rec->name, JK_N_("name"))) || (e = nfc_field(&rec->kana, JK_N_("kana"))) ||
      (e = nfc_field(&rec->address, JK_N_("address"))) || (e = nfc_field(&rec->relation, JK_N_("relation"))) ||
      (e = nfc_field(&rec->note, JK_N_("note"))))
    return e;
  if (rec->relation && !*rec->relation) {
    jk_free(rec->relation);
    rec->relation = NULL;
  }
  if (rec->note && !*rec->note) {
    jk_free(rec->note);
    rec->note = NULL;
  }
  return jk_identity_check(rec);
}

jk_err jk_registry_key(const char *text, char **out) { return jk_text_search_key(text, strlen(text), out); }

void jk__keys_free(jk__keys *k) {
  jk_free(k->name);
  jk_free(k->kana);
  jk_free(k->address);
  memset(k, 0, sizeof *k);
}

jk_err jk__keys_make(const jk_identity *rec, jk__keys *k) {
  jk_err e;
  memset(k, 0, sizeof *k);
  if ((e = jk_registry_key(rec->name, &k->name)) || (e = jk_registry_key(rec->kana, &k->kana)) ||
      (e = jk_registry_key(rec->address, &k->address))) {
    jk__keys_free(k);
    return e;
  }
  k->view.name = k->name;
  k->view.kana = k->kana;
  k->view.address = k->address;
  return JK_OK;
}

int jk__code_slice(jk_store *s) {
  char *v = NULL;
  int slice = -1;
  if (jk_store_meta_get(s, "registry.code_slice", &v) == JK_OK && v) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*end && x >= 0 && x < JK_RESCODE_SLICES) slice = (int)x;
  }
  jk_free(v);
  return slice;
}

jk_err jk__assign_code(jk_store *s, char out[JK_RESCODE_LEN + 1]) {
  /* 10^10 codes (2.4 million per slice): a collision with an assigned code is rare; 64 misses
   * in a row means the RNG is broken, not bad luck. */
  int slice = jk__code_slice(s);
  for (int i = 0; i < 64; i++) {
    bool known;
    jk_err e;
    jk_rescode_random_slice(out, slice);
    if ((e = jk_store_code_known(s, out, &known))) return e;
    if (!known) return JK_OK;
  }
  return jk_error_set(JK_ECRYPTO, "could not draw an unused resident code");
}

static jk_err set_relation(jk_identity *rec, const char *rel) {
  char *r = jk_strdup(rel);
  if (!r) return jk_error_set(JK_ENOMEM, NULL);
  jk_free(rec->relation);
  rec->relation = r;
  return JK_OK;
}

/* The body of jk_registry_add, inside the caller's transaction. Shared with import.
 * A code already held by someone is caught by the store's UNIQUE constraint (JK_EEXISTS), so
 * only the small retired set is probed here; a freshly drawn code that collides is redrawn. */
jk_err jk__add_in_tx(jk_store *s, jk_identity *rec, const jk__keys *keys, int slice) {
  jk_err e;
  bool retired, drawn = rec->code[0] == '\0';
  if (rec->household_id == 0) {
    if ((e = jk_store_household_new(s, &rec->household_id))) return e;
    if (!rec->relation && (e = set_relation(rec, "世帯主"))) return e;
  }
  rec->version = 1;
  if (!rec->status) rec->status = JK_STATUS_ACTIVE;
  for (int attempt = 0; attempt < 64; attempt++) {
    if (drawn) jk_rescode_random_slice(rec->code, slice);
    if ((e = jk_store_code_retired(s, rec->code, &retired))) return e;
    if (retired) {
      if (drawn) continue;
      return jk_error_set(JK_ECONFLICT, "resident code %s was retired by a code change and is never reused",
                          rec->code);
    }
    e = jk_store_resident_insert(s, rec, &keys->view);
    if (e != JK_EEXISTS || !drawn) return e;
  }
  return jk_error_set(JK_ECRYPTO, "could not draw an unused resident code");
}

/* Defaults of an entry: reason 転入, moved_on today (出生: birth date). */
static void entry_defaults(jk_identity *rec) {
  if (rec->reason == JK_MOVE_NONE) rec->reason = JK_MOVE_IN;
  if (!rec->moved_on.y) rec->moved_on = rec->reason == JK_MOVE_BIRTH ? rec->birth : jk_date_today();
}

static jk_err move_in_tx(jk_store *s, const char *code, jk_move_kind kind, const jk_move_change *chg,
                         jk_identity *next);

jk_err jk_registry_add(jk_store *s, jk_identity *rec) {
  jk_err e;
  jk__keys keys = {0};
  entry_defaults(rec);
  if (jk_move_class_of(rec->reason) != JK_MOVE_CLASS_ENTRY)
    return jk_error_set(JK_EINVAL, "%s is not a kind of entry (転入, 出生, 職権記載)", jk_move_name_ja(rec->reason));
  if ((e = jk_registry_normalize(rec))) return e;
  if ((e = jk__keys_make(rec, &keys))) return e;
  if ((e = jk_store_begin(s))) goto out;
  if (rec->household_id > 0) {
    bool exists;
    if ((e = jk_store_household_exists(s, rec->household_id, &exists))) goto fail;
    if (!exists) {
      e = jk_error_set(JK_ENOTFOUND, "household %lld does not exist", (long long)rec->household_id);
      goto fail;
    }
  }
  /* 転入 of someone removed here earlier: the same person comes back with the same code, as
   * a new version of their record (the move path does exactly that). */
  if (rec->code[0] && rec->reason == JK_MOVE_IN) {
    int64_t holder;
    bool retired;
    e = jk_store_code_lookup(s, rec->code, &holder, &retired);
    if (e != JK_OK && e != JK_ENOTFOUND) goto fail;
    if (e == JK_OK && !retired) {
      jk_identity cur = {0}, next = {0};
      if ((e = jk_store_resident_get(s, holder, &cur))) goto fail;
      jk_status st = cur.status;
      jk_identity_clear(&cur);
      if (st == JK_STATUS_REMOVED) {
        jk_move_change chg = {.name = rec->name, .kana = rec->kana, .address = rec->address,
                              .relation = rec->relation, .note = rec->note, .birth = rec->birth,
                              .sex = rec->sex, .household_id = rec->household_id, .moved_on = rec->moved_on};
        if ((e = move_in_tx(s, rec->code, JK_MOVE_IN, &chg, &next))) {
          jk_identity_clear(&next);
          goto fail;
        }
        jk_identity_clear(rec);
        *rec = next;
        goto commit;
      }
    }
    jk_error_clear();
  }
  if ((e = jk__add_in_tx(s, rec, &keys, jk__code_slice(s)))) goto fail;
commit:
  e = jk_store_commit(s);
  goto out;
fail:
  jk_store_rollback(s);
out:
  jk__keys_free(&keys);
  return e;
}

/* Resolve a code to the resident holding it now; a retired code names its successor. */
static jk_err resolve(jk_store *s, const char *code, int64_t *id) {
  bool retired;
  jk_err e;
  if ((e = jk_rescode_validate(code, strlen(code)))) return e;
  if ((e = jk_store_code_lookup(s, code, id, &retired))) return e;
  if (retired) {
    jk_identity cur = {0};
    if ((e = jk_store_resident_get(s, *id, &cur))) return e;
    e = jk_error_set(JK_ENOTFOUND, "resident code %s was retired; the resident's code is now %s", code, cur.code);
    jk_identity_clear(&cur);
    return e;
  }
  return JK_OK;
}

jk_err jk_registry_get(jk_store *s, const char *code, jk_identity *out) {
  int64_t id;
  jk_err e = resolve(s, code, &id);
  return e ? e : jk_store_resident_get(s, id, out);
}

jk_err jk_registry_history(jk_store *s, const char *code, jk_identity_cb cb, void *payload) {
  int64_t id;
  bool retired;
  jk_err e;
  if ((e = jk_rescode_validate(code, strlen(code)))) return e;
  if ((e = jk_store_code_lookup(s, code, &id, &retired))) return e;
  return jk_store_resident_history(s, id, cb, payload);
}

/* Replace a text field of next with a copy of v (when v is given); *changed when different. */
static jk_err change_text(char **field, const char *v, bool *changed) {
  if (!v) return JK_OK;
  if (*field && strcmp(*field, v) == 0) return JK_OK;
  char *d = jk_strdup(v);
  if (!d) return jk_error_set(JK_ENOMEM, NULL);
  jk_free(*field);
  *field = d;
  *changed = true;
  return JK_OK;
}

static jk_err apply_changes(jk_identity *next, const jk_move_change *c, bool *changed) {
  jk_err e;
  if ((e = change_text(&next->name, c->name, changed)) || (e = change_text(&next->kana, c->kana, changed)) ||
      (e = change_text(&next->address, c->address, changed)) ||
      (e = change_text(&next->relation, c->relation, changed)))
    return e;
  if (c->birth.y && jk_date_cmp(c->birth, next->birth) != 0) {
    next->birth = c->birth;
    *changed = true;
  }
  if (c->sex && c->sex != next->sex) {
    next->sex = c->sex;
    *changed = true;
  }
  /* the note belongs to this move only */
  jk_free(next->note);
  next->note = NULL;
  if (c->note && !(next->note = jk_strdup(c->note))) return jk_error_set(JK_ENOMEM, NULL);
  return JK_OK;
}

static jk_err move_in_tx(jk_store *s, const char *code, jk_move_kind kind, const jk_move_change *chg,
                         jk_identity *next) {
  jk_err e;
  int64_t id;
  jk_identity cur = {0};
  jk__keys keys = {0};
  bool changed = false;
  jk_move_class cls = jk_move_class_of(kind);
  char old_code[JK_RESCODE_LEN + 1];

  if (!cls) return jk_error_set(JK_EINVAL, "%s: unknown move kind %d", jk_tr("reason"), (int)kind);
  if ((e = resolve(s, code, &id))) return e;
  if ((e = jk_store_resident_get(s, id, &cur))) return e;
  if ((e = jk_identity_copy(next, &cur))) goto out;
  memcpy(old_code, cur.code, sizeof old_code);

  if (cls == JK_MOVE_CLASS_ENTRY) {
    if (cur.status != JK_STATUS_REMOVED) {
      e = jk_error_set(JK_ECONFLICT, "resident %s is on the register: %s applies only to a removed resident", code,
                       jk_move_name_ja(kind));
      goto out;
    }
    next->status = JK_STATUS_ACTIVE;
  } else if (cur.status != JK_STATUS_ACTIVE) {
    e = jk_error_set(JK_ECONFLICT, "resident %s has been removed from the register (%s): %s is not possible", code,
                     jk_move_name_ja(cur.reason), jk_move_name_ja(kind));
    goto out;
  }
  if ((e = apply_changes(next, chg, &changed))) goto out;
  next->reason = kind;
  next->moved_on = chg->moved_on.y ? chg->moved_on : jk_date_today();
  next->version = cur.version + 1;

  switch (kind) {
  case JK_MOVE_WITHIN:
    if (!chg->address || strcmp(chg->address, cur.address) == 0) {
      e = jk_error_set(JK_EINVAL, "転居 needs a new address different from the current one");
      goto out;
    }
    break;
  case JK_MOVE_IN:
    if (!chg->address) {
      e = jk_error_set(JK_EINVAL, "転入 needs the new address");
      goto out;
    }
    break;
  case JK_MOVE_CORRECTION:
    if (!changed && !chg->household_id) {
      e = jk_error_set(JK_EINVAL, "職権修正 must change at least one field");
      goto out;
    }
    break;
  case JK_MOVE_CODE_CHANGE:
    if ((e = jk__assign_code(s, next->code))) goto out;
    if ((e = jk_store_code_retire(s, old_code, id, next->moved_on))) goto out;
    break;
  case JK_MOVE_OUT:
  case JK_MOVE_DEATH:
  case JK_MOVE_REMOVAL:
    next->status = JK_STATUS_REMOVED;
    break;
  default:
    break;
  }
  if (chg->household_id == -1 || (cls == JK_MOVE_CLASS_ENTRY && !chg->household_id)) {
    if ((e = jk_store_household_new(s, &next->household_id))) goto out;
    if (!chg->relation && (e = set_relation(next, "世帯主"))) goto out;
  } else if (chg->household_id > 0) {
    bool exists;
    if ((e = jk_store_household_exists(s, chg->household_id, &exists))) goto out;
    if (!exists) {
      e = jk_error_set(JK_ENOTFOUND, "household %lld does not exist", (long long)chg->household_id);
      goto out;
    }
    next->household_id = chg->household_id;
  }
  if ((e = jk_registry_normalize(next))) goto out;
  if (jk_date_cmp(next->moved_on, cur.moved_on) < 0) {
    e = jk_error_set(JK_EINVAL, "%s: the move date is before the previous move (%04d-%02d-%02d)", jk_tr("move date"),
                     cur.moved_on.y, cur.moved_on.m, cur.moved_on.d);
    goto out;
  }
  if ((e = jk__keys_make(next, &keys))) goto out;
  e = jk_store_resident_append(s, next, &keys.view);
out:
  jk__keys_free(&keys);
  jk_identity_clear(&cur);
  return e;
}

jk_err jk_registry_move(jk_store *s, const char *code, jk_move_kind kind, const jk_move_change *chg,
                        jk_identity *out) {
  jk_err e;
  jk_identity next = {0};
  jk_move_change none = {0};
  if (!chg) chg = &none;
  if ((e = jk_store_begin(s))) return e;
  if ((e = move_in_tx(s, code, kind, chg, &next))) {
    jk_store_rollback(s);
    jk_identity_clear(&next);
    return e;
  }
  if ((e = jk_store_commit(s))) {
    jk_identity_clear(&next);
    return e;
  }
  if (out) *out = next;
  else jk_identity_clear(&next);
  return JK_OK;
}

jk_err jk_registry_search(jk_store *s, const jk_registry_query *q, jk_identity_cb cb, void *payload) {
  jk_store_query sq = {0};
  char *keys[3] = {NULL, NULL, NULL};
  const char *texts[3] = {q->kana, q->name, q->address};
  jk_err e = JK_OK;
  if (!q->kana && !q->name && !q->address && !q->birth.y && !q->sex && !q->status && !q->household_id)
    return jk_error_set(JK_EINVAL, "give at least one search condition");
  for (int i = 0; i < 3; i++) {
    if (!texts[i]) continue;
    size_t n = strlen(texts[i]);
    if (n > JK_ADDRESS_MAX) {
      e = jk_error_set(JK_ETOOLARGE, "search text is too long");
      goto out;
    }
    if (!jk_utf8_valid(texts[i], n)) {
      e = jk_error_set(JK_EINVAL, "search text is not valid UTF-8");
      goto out;
    }
    if ((e = jk_registry_key(texts[i], &keys[i]))) goto out;
    if (!*keys[i]) {
      e = jk_error_set(JK_EINVAL, "search text is empty");
      goto out;
    }
  }
  sq.kana_prefix = keys[0];
  sq.name_prefix = keys[1];
  sq.address_prefix = keys[2];
  sq.birth = q->birth;
  sq.sex = q->sex;
  sq.status = q->status;
  sq.household_id = q->household_id;
  sq.limit = q->limit;
  sq.offset = q->offset;
  e = jk_store_resident_search(s, &sq, cb, payload);
out:
  for (int i = 0; i < 3; i++) jk_free(keys[i]);
  return e;
}
