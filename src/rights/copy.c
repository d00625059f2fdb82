/*
 * copy.c — 住民票の写し, the municipality's own issuance path, and the 支援措置 on it
 * (rights.h; docs/provision.md "支援措置").
 *
 * The decision needs no person to remember a measure: every request is checked against the
 * measures in force for the resident. A requester named among a measure's offenders is refused
 * whatever relation they claim (an abuser who says "I am the household" is still the abuser); a
 * third party or an office may be acting for one, so their request waits for the municipality's
 * review. Names are compared by search key (jk_text_search_key: width, kana and spacing folded),
 * each entry of the measure's list of offenders on its own (names_offender).
 */
#include "jukinet/rights.h"
#include "rights/rights_int.h"

#include "jukinet/letter.h"
#include "jukinet/registry.h"
#include "jukinet/text.h"

#include <stdio.h>
#include <string.h>

#define REQUESTER_MAX 100
#define REASON_MAX 300

static const char *const relation_tokens[] = {NULL, "self", "household", "third-party", "official"};
static const char *const relation_ja[] = {NULL, "本人", "同一世帯員", "第三者", "国又は地方公共団体の機関"};

jk_err jk_copy_relation_parse(const char *s, jk_copy_relation *out) {
  for (int i = JK_COPY_SELF; i <= JK_COPY_OFFICIAL; i++)
    if (s && strcmp(s, relation_tokens[i]) == 0) {
      *out = (jk_copy_relation)i;
      return JK_OK;
    }
  return jk_error_set(JK_EINVAL, "'%s' is not a requester's relation (self, household, third-party, official)",
                      s ? s : "");
}

const char *jk_copy_relation_token(jk_copy_relation r) {
  return r >= JK_COPY_SELF && r <= JK_COPY_OFFICIAL ? relation_tokens[r] : "?";
}

/* Text a person wrote on a form: valid UTF-8, no control character, at most max bytes; the
 * requester's name (reason = false) is required, the reason only when `required`. */
static jk_err form_text(const char *v, size_t max, bool reason, bool required) {
  size_t n = v ? strlen(v) : 0;
  if (required && n == 0)
    return reason ? jk_error_set(JK_EINVAL, "a third party's or an office's request needs its reason (--reason)")
                  : jk_error_set(JK_EINVAL, "the requester's name is required");
  if (n > max)
    return reason ? jk_error_set(JK_ETOOLARGE, "the reason is longer than %zu bytes", max)
                  : jk_error_set(JK_ETOOLARGE, "the requester's name is longer than %zu bytes", max);
  if (n && !jk_text_is_plain(v, n))
    return reason ? jk_error_set(JK_EINVAL, "the reason is not valid UTF-8 text (or has a control character)")
                  : jk_error_set(JK_EINVAL, "the requester's name is not valid UTF-8 text (or has a control character)");
  return JK_OK;
}

/* Whether `key` (the requester's search key) names one of the offenders listed in `list`
 * (separated by commas, 、, ・, ; or newlines). An entry is often more than a name ("元配偶者
 * 山田一郎(昭和50年1月1日生)"): a requester whose whole name appears in an entry — or an entry
 * inside the requester's name — is that offender. Names of one character never match: a false
 * match refuses a copy, a missed one could reach the abuser, so the rule leans to matching. */
static bool names_offender(const char *list, const char *key) {
  static const char *const seps[] = {",", "，", "、", ";", "；", "\n"};
  size_t klen = strlen(key);
  if (jk_utf8_len(key, klen) < 2) return false;
  const char *p = list;
  while (*p) {
    size_t n = strlen(p), cut = n, skip = 0;
    for (size_t i = 0; i < sizeof seps / sizeof *seps; i++) {
      const char *q = strstr(p, seps[i]);
      if (q && (size_t)(q - p) < cut) cut = (size_t)(q - p), skip = strlen(seps[i]);
    }
    char *k = NULL;
    bool same = false;
    if (cut > 0 && jk_text_search_key(p, cut, &k) == JK_OK) {
      size_t elen = strlen(k);
      same = strstr(k, key) != NULL || (jk_utf8_len(k, elen) >= 2 && strstr(key, k) != NULL);
    }
    jk_free(k);
    if (same) return true;
    p += cut + skip;
    if (!skip) break;
  }
  return false;
}

/* Whether a copy request of the resident's carries `mark` (an issuance on one reviewed request). */
typedef struct used {
  const char *mark;
  bool yes;
} used;

static int on_used(const jk_request_rec *r, void *payload) {
  used *u = payload;
  if (strcmp(r->kind, "copy") == 0 && strstr(r->note, u->mark)) u->yes = true;
  return u->yes;
}

typedef struct measures {
  jk_date today;
  const char *key; /* the requester's search key */
  bool in_force, offender;
  int64_t id;      /* the measure that named the requester, or the first in force */
} measures;

static int on_measure(const jk_protection_rec *p, void *payload) {
  measures *m = payload;
  if (!jk__protection_in_force(p, m->today)) return 0;
  if (!m->in_force) m->id = p->id;
  m->in_force = true;
  if (names_offender(p->offenders, m->key)) {
    m->offender = true;
    m->id = p->id;
  }
  return 0;
}

jk_err jk_rights_copy_request(jk_store *s, const char *code, const char *requester, jk_copy_relation rel,
                              const char *reason, const char *channel, const char *by, int64_t reviewed,
                              jk_copy_verdict *verdict, jk_request_rec *req) {
  if (!s || !code || !by || !verdict || !req) return jk_error_set(JK_EINVAL, "missing argument");
  if (rel < JK_COPY_SELF || rel > JK_COPY_OFFICIAL) return jk_copy_relation_parse(NULL, &rel);
  bool own = rel == JK_COPY_SELF || rel == JK_COPY_HOUSEHOLD;
  jk_err e = form_text(requester, REQUESTER_MAX, false, true);
  if (!e) e = form_text(reason, REASON_MAX, true, !own);
  if (e) return e;
  if (!channel || !jk_request_channel_valid(channel))
    return jk_error_set(JK_EINVAL, "'%s' is not a channel (letter, postcard, fax, mail, counter)", channel ? channel : "");
  jk_identity cur = {0};
  if ((e = jk_registry_get(s, code, &cur))) return e;
  bool active = cur.status == JK_STATUS_ACTIVE;
  jk_identity_clear(&cur);
  if (!active) return jk_error_set(JK_ENOTFOUND, "%s is not a current resident of this municipality", code);
  char *key = NULL;
  if ((e = jk_text_search_key(requester, strlen(requester), &key))) return jk_error_prefix("the requester's name: ");
  measures m = {.today = jk_date_today(), .key = key};
  e = jk_store_protection_each(s, code, on_measure, &m);
  jk_free(key);
  if (e) return e;

  char issued_on[64] = ""; /* the note's mark of an issuance on a reviewed request */
  if (reviewed > 0) { /* the request the municipality reviewed: this resident's, accepted, not used yet */
    jk_request_rec r;
    if ((e = jk_store_request_get(s, reviewed, &r))) return e;
    if (strcmp(r.kind, "copy") != 0 || strcmp(r.code, code) != 0)
      return jk_error_set(JK_EINVAL, "request %lld is not a request for a copy of %s", (long long)reviewed, code);
    if (strcmp(r.decision, "accepted") != 0)
      return jk_error_set(JK_EPERM, "request %lld has not been accepted after review (%s)", (long long)reviewed,
                          r.decision[0] ? r.decision : "pending");
    snprintf(issued_on, sizeof issued_on, "／審査済みの請求 %lld に基づく交付", (long long)reviewed);
    used u = {.mark = issued_on};
    if ((e = jk_store_request_each(s, code, on_used, &u))) return e;
    if (u.yes) /* one review, one copy */
      return jk_error_set(JK_ECONFLICT, "request %lld was reviewed for one copy, and it has been issued", (long long)reviewed);
  }
  jk_participation policy;
  if ((e = jk_participation_get(s, &policy))) return e;
  memset(req, 0, sizeof *req);
  snprintf(req->code, sizeof req->code, "%s", code);
  snprintf(req->kind, sizeof req->kind, "copy");
  snprintf(req->channel, sizeof req->channel, "%s", channel);
  req->filed_on = m.today;
  jk_utc_now(req->recorded_at, 0);
  snprintf(req->recorded_by, sizeof req->recorded_by, "%s", by);
  snprintf(req->policy, sizeof req->policy, "%s", jk_participation_token(policy));
  snprintf(req->note, sizeof req->note, "請求者: %s／関係: %s／理由: %s%s", requester, relation_ja[rel],
           reason && *reason ? reason : "—", issued_on);

  const char *decision, *why;
  char refused[160];
  snprintf(refused, sizeof refused, "支援措置（措置 %lld）: 加害者として申出のあった者からの請求", (long long)m.id);
  if (m.in_force && m.offender) {
    *verdict = JK_COPY_REFUSED;
    decision = "rejected";
    why = refused;
  } else if (m.in_force && !own && reviewed <= 0) {
    *verdict = JK_COPY_REVIEW;
    decision = NULL;
    why = NULL;
  } else if (m.in_force && !own) { /* issued on a request the municipality reviewed and accepted */
    *verdict = JK_COPY_ISSUED;
    decision = "accepted";
    why = "審査の上交付";
  } else {
    *verdict = JK_COPY_ISSUED;
    decision = "accepted";
    why = m.in_force ? "支援措置: 本人又は同一世帯員からの請求" : "交付";
  }
  if (decision) {
    snprintf(req->decision, sizeof req->decision, "%s", decision);
    memcpy(req->decided_at, req->recorded_at, sizeof req->decided_at);
    memcpy(req->decided_by, req->recorded_by, sizeof req->decided_by);
    snprintf(req->reason, sizeof req->reason, "%s", why);
  }
  return jk_store_request_add(s, req);
}

void jk_rights_copy_summary(const jk_request_rec *r, const char **relation, const char **outcome) {
  *relation = *outcome = "";
  if (strcmp(r->kind, "copy") != 0) return;
  const char *rel = strstr(r->note, "／関係: ");
  for (int i = JK_COPY_SELF; rel && i <= JK_COPY_OFFICIAL; i++) {
    size_t n = strlen(relation_ja[i]);
    const char *v = rel + strlen("／関係: ");
    if (strncmp(v, relation_ja[i], n) == 0 && (v[n] == '\0' || strncmp(v + n, "／", strlen("／")) == 0))
      *relation = relation_ja[i];
  }
  if (!r->decision[0]) *outcome = "審査中（交付していません）";
  else if (strcmp(r->decision, "accepted") != 0) *outcome = "交付せず";
  else if (strstr(r->note, "／審査済みの請求 ")) *outcome = "審査の上交付";
  else if (strcmp(r->decided_at, r->recorded_at) != 0) *outcome = "審査の上、交付を認める決定"; /* decided later */
  else *outcome = "交付";
}

jk_err jk_rights_copy_letter(jk_store *s, const char *code, const char *municipality, const char *to, jk_letter *l) {
  jk_identity cur = {0};
  jk_err e = jk_registry_get(s, code, &cur);
  if (e) return e;
  char today[JK_DATE_TEXT_MAX], birth[JK_DATE_TEXT_MAX], moved[JK_DATE_TEXT_MAX], birth_iso[11], addressee[160],
      from[160], moved_line[160], birth_line[JK_DATE_TEXT_MAX + 16];
  jk_date_format_wareki(jk_date_today(), today);
  jk_date_format_wareki(cur.birth, birth);
  jk_date_format_iso(cur.birth, birth_iso);
  snprintf(birth_line, sizeof birth_line, "%s（%s）", birth, birth_iso);
  snprintf(addressee, sizeof addressee, "%s 様", to ? to : "");
  snprintf(from, sizeof from, "%s長", municipality);
  moved_line[0] = '\0';
  if (jk_date_valid(cur.moved_on)) {
    jk_date_format_wareki(cur.moved_on, moved);
    snprintf(moved_line, sizeof moved_line, "%s %s", moved, jk_move_name_ja(cur.reason));
  }
  const char *head[] = {"項目", "記載事項"};
  const char *cells[] = {"氏名",     cur.name,
                         "氏名（カナ）", cur.kana,
                         "生年月日", birth_line,
                         "性別",     jk_sex_name_ja(cur.sex),
                         "住所",     cur.address,
                         "続柄",     cur.relation && *cur.relation ? cur.relation : "—",
                         "異動",     moved_line[0] ? moved_line : "—"};
  if (!(e = jk_letter_header(l, today, to ? addressee : NULL, from)) && !(e = jk_letter_title(l, "住民票の写し")) &&
      !(e = jk_letter_table(l, 2, head, cells, sizeof cells / sizeof *cells / 2))) {
    char para[400];
    snprintf(para, sizeof para, "この写しは、住民票の原本と相違ないことを証明します。（%s、%s）", today, from);
    e = jk_letter_para(l, para);
  }
  jk_identity_clear(&cur);
  return e;
}
