/*
 * rights.c — the participation policy and a resident's non-participation notice and consent
 * (rights.h). Everything happens in the caller's transaction, next to the caller's ledger entry:
 * a request row, and under resident-choice the hold and the erasure notice, commit together or
 * not at all.
 */
#include "jukinet/rights.h"
#include "rights/rights_int.h"

#include "jukinet/common.h"
#include "jukinet/identity.h"
#include "jukinet/letter.h"
#include "jukinet/notice.h"
#include "jukinet/purpose.h"
#include "jukinet/registry.h"
#include "jukinet/sync.h"
#include "jukinet/text.h"

#include <stdio.h>
#include <string.h>

#define META_POLICY "participation.policy"
#define META_NATION "sync.nation" /* the nation's node id, from its receipts carried down */

static jk_err send_state_if_any(jk_store *s, const char *node_id, const char *code);

const char *jk_participation_token(jk_participation p) {
  return p == JK_PARTICIPATION_RESIDENT_CHOICE ? "resident-choice" : "statutory";
}

jk_err jk_participation_parse(const char *s, jk_participation *out) {
  if (s && strcmp(s, "statutory") == 0) *out = JK_PARTICIPATION_STATUTORY;
  else if (s && strcmp(s, "resident-choice") == 0) *out = JK_PARTICIPATION_RESIDENT_CHOICE;
  else return jk_error_set(JK_EINVAL, "'%s' is not a participation policy (statutory, resident-choice)", s ? s : "");
  return JK_OK;
}

jk_err jk_participation_get(jk_store *s, jk_participation *out) {
  char *v = NULL;
  jk_err e = jk_store_meta_get(s, META_POLICY, &v);
  *out = JK_PARTICIPATION_STATUTORY;
  if (e == JK_ENOTFOUND) return JK_OK;
  if (!e) e = jk_participation_parse(v, out);
  jk_free(v);
  return e;
}

static int any_held(const jk_holdback_rec *r, void *payload) {
  (void)r;
  *(bool *)payload = true;
  return 1;
}

jk_err jk_participation_set(jk_store *s, jk_participation p) {
  if (p == JK_PARTICIPATION_STATUTORY) {
    bool held = false;
    jk_err e = jk_store_holdback_each(s, any_held, &held);
    if (e) return e;
    if (held)
      return jk_error_set(JK_ECONFLICT, "residents are held back under resident-choice: each must consent (or be "
                                        "decided) before the policy can become statutory");
  }
  return jk_store_meta_set(s, META_POLICY, jk_participation_token(p));
}

bool jk_request_channel_valid(const char *c) {
  static const char *const ok[] = {"letter", "postcard", "fax", "mail", "counter"};
  for (size_t i = 0; c && i < sizeof ok / sizeof *ok; i++)
    if (strcmp(c, ok[i]) == 0) return true;
  return false;
}

/* The request row common to both: the resident must be on the registry. */
static jk_err begin_request(jk_store *s, const char *code, const char *kind, jk_date filed_on, const char *channel,
                            const char *by, const char *note, jk_participation policy, jk_request_rec *r,
                            jk_identity *cur) {
  if (!code || !by || !r) return jk_error_set(JK_EINVAL, "missing argument");
  if (!jk_request_channel_valid(channel))
    return jk_error_set(JK_EINVAL, "'%s' is not a channel (letter, postcard, fax, mail, counter)",
                        channel ? channel : "");
  if (!jk_date_valid(filed_on)) return jk_error_set(JK_EINVAL, "the filing date is not a real date");
  jk_err e = jk_registry_get(s, code, cur);
  if (e) return e;
  memset(r, 0, sizeof *r);
  snprintf(r->code, sizeof r->code, "%s", code);
  snprintf(r->kind, sizeof r->kind, "%s", kind);
  snprintf(r->channel, sizeof r->channel, "%s", channel);
  r->filed_on = filed_on;
  jk_utc_now(r->recorded_at, 0);
  snprintf(r->recorded_by, sizeof r->recorded_by, "%s", by);
  snprintf(r->policy, sizeof r->policy, "%s", jk_participation_token(policy));
  if (note && strlen(note) >= sizeof r->note) return jk_error_set(JK_EINVAL, "the note is longer than %zu bytes", sizeof r->note - 1);
  snprintf(r->note, sizeof r->note, "%s", note ? note : "");
  return JK_OK;
}

static void decided(jk_request_rec *r, const char *decision, const char *reason) {
  snprintf(r->decision, sizeof r->decision, "%s", decision);
  memcpy(r->decided_at, r->recorded_at, sizeof r->decided_at);
  memcpy(r->decided_by, r->recorded_by, sizeof r->decided_by);
  snprintf(r->reason, sizeof r->reason, "%s", reason);
}

jk_err jk_rights_opt_out(jk_store *s, const char *node_id, const char *code, jk_date filed_on, const char *channel,
                         const char *by, const char *note, jk_request_rec *out) {
  jk_participation policy;
  jk_identity cur = {0};
  jk_request_rec r;
  jk_err e = jk_participation_get(s, &policy);
  if (!e) e = begin_request(s, code, "opt-out", filed_on, channel, by, note, policy, &r, &cur);
  jk_identity_clear(&cur);
  if (e) return e;
  if (policy == JK_PARTICIPATION_STATUTORY) {
    decided(&r, "recorded", "statutory: 住民基本台帳法第30条の6 requires sending 本人確認情報 to the prefecture");
    if ((e = jk_store_request_add(s, &r))) return e;
  } else {
    jk_holdback_rec hb;
    if ((e = jk_store_holdback_get(s, code, &hb)) == JK_OK)
      return jk_error_set(JK_ECONFLICT, "resident %s is a non-participant already (request %lld)", code,
                          (long long)hb.request);
    if (e != JK_ENOTFOUND) return e;
    decided(&r, "accepted", "resident-choice: held back, erasure sent");
    if ((e = jk_store_request_add(s, &r))) return e;
    memset(&hb, 0, sizeof hb);
    snprintf(hb.code, sizeof hb.code, "%s", code);
    memcpy(hb.since, r.recorded_at, sizeof hb.since);
    hb.request = r.id;
    if ((e = jk_outbox_erase(s, node_id, code, jk_date_today(), &hb.erase_seq))) return e;
    if ((e = jk_store_holdback_put(s, &hb))) return e;
  }
  if (out) *out = r;
  return JK_OK;
}

jk_err jk_rights_consent(jk_store *s, const char *node_id, const char *code, jk_date filed_on, const char *channel,
                         const char *by, const char *note, jk_request_rec *out) {
  jk_participation policy;
  jk_identity cur = {0};
  jk_request_rec r;
  jk_holdback_rec hb;
  jk_err e = jk_participation_get(s, &policy);
  if (!e) e = begin_request(s, code, "consent", filed_on, channel, by, note, policy, &r, &cur);
  if (!e && (e = jk_store_holdback_get(s, code, &hb)) == JK_ENOTFOUND)
    e = jk_error_set(JK_ECONFLICT, "resident %s is not held back: there is nothing to consent to", code);
  if (!e) {
    decided(&r, "accepted", "sent again from now on");
    e = jk_store_request_add(s, &r);
  }
  if (!e) e = jk_store_holdback_delete(s, code);
  if (!e) e = jk_outbox_record(s, node_id, &cur, NULL); /* the current record goes up again */
  if (!e) e = send_state_if_any(s, node_id, code);       /* with its restrictions, if any */
  jk_identity_clear(&cur);
  if (!e && out) *out = r;
  return e;
}

jk_err jk_rights_status_get(jk_store *s, const char *node_id, const char *upstream, int64_t id, jk_rights_status *out) {
  memset(out, 0, sizeof *out);
  jk_err e = jk_store_request_get(s, id, &out->req);
  if (e) return e;
  jk_holdback_rec hb;
  if ((e = jk_store_holdback_get(s, out->req.code, &hb)) == JK_OK && hb.request == id) {
    out->held = true;
    memcpy(out->held_since, hb.since, sizeof out->held_since);
    out->erase_seq = hb.erase_seq;
  } else if (e && e != JK_ENOTFOUND) {
    return e;
  }
  if (out->erase_seq > 0 && upstream && node_id) {
    jk_receipt_row rc;
    e = jk_store_receipt_get(s, upstream, node_id, &rc);
    if (e == JK_OK && rc.highest_seq >= out->erase_seq) {
      memcpy(out->erase_acknowledged_at, rc.at, sizeof out->erase_acknowledged_at);
      snprintf(out->acknowledged_by, sizeof out->acknowledged_by, "%s", rc.receiver);
    } else if (e && e != JK_ENOTFOUND) {
      return e;
    }
    char *nation = NULL;
    e = jk_store_meta_get(s, META_NATION, &nation);
    if (e == JK_OK && (e = jk_store_receipt_get(s, nation, node_id, &rc)) == JK_OK && rc.highest_seq >= out->erase_seq) {
      memcpy(out->nation_acknowledged_at, rc.at, sizeof out->nation_acknowledged_at);
      snprintf(out->nation, sizeof out->nation, "%s", rc.receiver);
    }
    jk_free(nation);
    if (e && e != JK_ENOTFOUND) return e;
  }
  return JK_OK;
}

jk_err jk_rights_nation_receipt_put(jk_store *s, const jk_receipt_row *r) {
  jk_err e = jk_store_receipt_put(s, r);
  return e ? e : jk_store_meta_set(s, META_NATION, r->receiver);
}

/* ---- the reply letter ---- */

/* "令和8年11月24日" from a date, or from the date part of an ISO time. */
static void wareki_of(jk_date d, char out[JK_DATE_TEXT_MAX]) { jk_date_format_wareki(d, out); }

static jk_date date_of_time(const char *iso) {
  jk_date d = {0, 0, 0};
  char day[11];
  if (iso && strlen(iso) >= 10) {
    memcpy(day, iso, 10);
    day[10] = '\0';
    if (jk_date_parse(day, &d)) d = (jk_date){0, 0, 0};
  }
  return d;
}

static const char *channel_ja(const char *c) {
  if (strcmp(c, "letter") == 0) return "書面";
  if (strcmp(c, "postcard") == 0) return "はがき";
  if (strcmp(c, "fax") == 0) return "ファクシミリ";
  if (strcmp(c, "mail") == 0) return "電子メール";
  return "窓口";
}

/* The reply to a 目的外利用の中止請求: the decision, its reason and date, and each purpose named
 * with its 事務 (from the law's table). Pending: that it is being examined. */
static jk_err stop_use_reply(const jk_request_rec *r, const char *today, const char *to, const char *from,
                             const char *filed, jk_letter *l) {
  char para[1024], decided_on[JK_DATE_TEXT_MAX];
  bool pending = !r->decision[0], accepted = strcmp(r->decision, "accepted") == 0;
  jk_err e = jk_letter_header(l, today, to, from);
  if (!e) e = jk_letter_title(l, "本人確認情報の目的外利用の中止請求について（回答）");
  snprintf(para, sizeof para, "%sに%sで提出のあった本人確認情報の目的外利用の中止請求（請求番号 %lld、住民票コード %s）について、次のとおり回答します。",
           filed, channel_ja(r->channel), (long long)r->id, r->code);
  if (!e) e = jk_letter_para(l, para);
  if (!e && pending) return jk_letter_para(l, "請求は現在審査中です。決定後、改めて通知します。");
  wareki_of(date_of_time(r->decided_at), decided_on);
  snprintf(para, sizeof para,
           accepted ? "%sに請求を認め、次の事務への本人確認情報の提供を中止しました。都道府県及び地方公共団体情報システム機構にも通知し、"
                      "以後これらの事務の照会には応じません。理由: %s"
                    : "%sに請求を認めないことと決定しました。理由: %s",
           decided_on, r->reason[0] ? r->reason : "—");
  if (!e) e = jk_letter_para(l, para);
  const jk_purposes *table;
  if (!e) e = jk_purposes_builtin(&table);
  const char *head[] = {"利用事務", "提供先", "事務の内容"};
  const char *cells[3 * 32];
  char codes[32][16], affairs[32][260];
  size_t n = 0;
  for (const char *p = r->purposes; !e && *p && n < 32;) {
    const char *comma = strchr(p, ',');
    size_t m = comma ? (size_t)(comma - p) : strlen(p);
    snprintf(codes[n], sizeof codes[n], "%.*s", (int)(m < 15 ? m : 15), p);
    const jk_purpose *row = jk_purposes_find(table, codes[n]);
    size_t cut = row ? strlen(row->affair) : 0;
    if (cut > 240) cut = jk_utf8_valid_prefix(row->affair, 240); /* at a character boundary */
    snprintf(affairs[n], sizeof affairs[n], "%.*s%s", (int)cut, row ? row->affair : "", row && cut < strlen(row->affair) ? "…" : "");
    cells[3 * n] = codes[n];
    cells[3 * n + 1] = row ? row->agency : "";
    cells[3 * n + 2] = affairs[n];
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  if (!e && !(e = jk_letter_heading(l, "請求のあった利用事務"))) e = jk_letter_table(l, 3, head, cells, n);
  return e;
}

jk_err jk_rights_reply(jk_store *s, const char *node_id, const char *upstream, const char *municipality, int64_t id,
                       jk_letter *l) {
  if (!s || !municipality || !l) return jk_error_set(JK_EINVAL, "jk_rights_reply: missing argument");
  jk_rights_status st;
  jk_identity who = {0};
  jk_err e = jk_rights_status_get(s, node_id, upstream, id, &st);
  if (!e) e = jk_registry_get(s, st.req.code, &who);
  if (e) return e;
  const jk_request_rec *r = &st.req;
  char today[JK_DATE_TEXT_MAX], filed[JK_DATE_TEXT_MAX], to[JK_NAME_MAX + 8], from[300], para[1024];
  wareki_of(jk_date_today(), today);
  wareki_of(r->filed_on, filed);
  snprintf(to, sizeof to, "%s 様", who.name);
  snprintf(from, sizeof from, "%s長", municipality);
  jk_identity_clear(&who);
  bool consent = strcmp(r->kind, "consent") == 0;
  if (strcmp(r->kind, "stop-use") == 0) return stop_use_reply(r, today, to, from, filed, l);
  e = jk_letter_header(l, today, to, from);
  if (!e)
    e = jk_letter_title(l, consent ? "本人確認情報の提供への同意について（通知）"
                                   : "本人確認情報の提供に関する申出について（回答）");
  snprintf(para, sizeof para, "%sに%sで提出のあった%s（申出番号 %lld、住民票コード %s）について、次のとおり%sします。",
           filed, channel_ja(r->channel), consent ? "本人確認情報の提供への同意" : "本人確認情報の提供に関する申出",
           (long long)r->id, r->code, consent ? "通知" : "回答");
  if (!e) e = jk_letter_para(l, para);
  if (e) return e;
  char rec[JK_DATE_TEXT_MAX], held[JK_DATE_TEXT_MAX], ack[JK_DATE_TEXT_MAX];
  wareki_of(date_of_time(r->recorded_at), rec);
  if (consent) {
    const char *head[] = {"事項", "日付", "内容"};
    const char *cells[] = {"同意の受付", rec, "同意の届出を記録しました。",
                           "送信の再開", rec,
                           "あなたの本人確認情報を、都道府県知事及び地方公共団体情報システム機構へ再び通知しました。以後の異動も通知します。"};
    if (!(e = jk_letter_heading(l, "実施した措置"))) e = jk_letter_table(l, 3, head, cells, 2);
    return e;
  }
  if (strcmp(r->policy, "statutory") == 0) {
    e = jk_letter_para(l, "本市は、住民基本台帳法第30条の6の規定により、住民の本人確認情報を都道府県知事に通知することと"
                          "しています。このため、申出は記録しましたが、本人確認情報の通知を止めることはできません。");
    const char *head[] = {"事項", "日付", "内容"};
    const char *cells[] = {"申出の受付", rec, "申出を記録しました。", "通知の継続", rec,
                           "法律の定めにより、本人確認情報の通知を継続します。"};
    if (!e && !(e = jk_letter_heading(l, "記録した事項"))) e = jk_letter_table(l, 3, head, cells, 2);
    return e;
  }
  wareki_of(date_of_time(st.held_since[0] ? st.held_since : r->decided_at), held);
  char erase[300], acked[400];
  snprintf(erase, sizeof erase,
           "都道府県知事及び地方公共団体情報システム機構に、保存されている本人確認情報の消去を通知しました（通知番号 %lld）。",
           (long long)st.erase_seq);
  if (st.erase_acknowledged_at[0]) {
    wareki_of(date_of_time(st.erase_acknowledged_at), ack);
    snprintf(acked, sizeof acked, "都道府県（%s）が消去の通知を受領し、電子署名付きの受領証を返しました。", st.acknowledged_by);
  } else {
    snprintf(ack, sizeof ack, "（未着）");
    snprintf(acked, sizeof acked, "受領証の到着を待っています。到着後に改めてお知らせできます。");
  }
  char nack[JK_DATE_TEXT_MAX], nacked[400];
  if (st.nation_acknowledged_at[0]) {
    wareki_of(date_of_time(st.nation_acknowledged_at), nack);
    snprintf(nacked, sizeof nacked,
             "地方公共団体情報システム機構（%s）が消去を反映し、電子署名付きの受領証を返しました（都道府県経由）。", st.nation);
  } else {
    snprintf(nack, sizeof nack, "（未着）");
    snprintf(nacked, sizeof nacked, "機構の受領証の到着を待っています。");
  }
  const char *head[] = {"事項", "日付", "内容"};
  const char *cells[] = {"申出の受付", rec, "申出を記録しました。",
                         "送信の停止", held, "あなたの本人確認情報の通知を停止しました。以後の異動も通知しません。",
                         "消去の通知", held, erase,
                         "消去の受領（都道府県）", ack, acked,
                         "消去の受領（機構）", nack, nacked,
                         "再開の条件", "—", "あなたから同意の届出があるまで、本人確認情報を通知しません。"};
  if (!(e = jk_letter_heading(l, "実施した措置"))) e = jk_letter_table(l, 3, head, cells, 6);
  if (!e && !st.held)
    e = jk_letter_para(l, "なお、その後の同意の届出により、現在は本人確認情報の通知を再開しています。");
  return e;
}

/* ---- restrictions: 目的外利用の中止 and 支援措置 ---- */

bool jk__protection_in_force(const jk_protection_rec *p, jk_date today) {
  bool live = strcmp(p->status, "provisional") == 0 || strcmp(p->status, "active") == 0;
  return live && jk_date_valid(p->until) && jk_date_cmp(today, p->until) <= 0;
}
#define in_force jk__protection_in_force

typedef struct state {
  jk_date today;
  bool protect;
  jk_date until;
  char purposes[JK_NOTICE_PURPOSES_MAX];
  jk_err e;
} state;

static int on_protection(const jk_protection_rec *p, void *payload) {
  state *st = payload;
  if (!in_force(p, st->today)) return 0;
  if (!st->protect || jk_date_cmp(p->until, st->until) > 0) st->until = p->until;
  st->protect = true;
  return 0;
}

/* Add list's items to st->purposes, each once. */
static void add_purposes(state *st, const char *list) {
  char one[32];
  for (const char *p = list; *p && !st->e;) {
    const char *comma = strchr(p, ',');
    size_t m = comma ? (size_t)(comma - p) : strlen(p);
    if (m < sizeof one) {
      memcpy(one, p, m);
      one[m] = '\0';
      bool have = jk_purpose_list_has(st->purposes, one);
      size_t used = strlen(st->purposes);
      if (!have && used + m + 2 > sizeof st->purposes)
        st->e = jk_error_set(JK_ETOOLARGE, "too many purposes stopped for one resident");
      else if (!have)
        snprintf(st->purposes + used, sizeof st->purposes - used, "%s%s", used ? "," : "", one);
    }
    if (!comma) break;
    p = comma + 1;
  }
}

static int on_stop(const jk_request_rec *r, void *payload) {
  state *st = payload;
  if (strcmp(r->kind, "stop-use") == 0 && strcmp(r->decision, "accepted") == 0) add_purposes(st, r->purposes);
  return st->e != JK_OK;
}

/* The resident's restrictions as they stand now. */
static jk_err compute_state(jk_store *s, const char *code, state *st) {
  memset(st, 0, sizeof *st);
  st->today = jk_date_today();
  jk_err e = jk_store_protection_each(s, code, on_protection, st);
  if (!e) e = jk_store_request_each(s, code, on_stop, st);
  return e ? e : st->e;
}

/* ... sent up as one RESTRICT notice (also when nothing is restricted any more). */
static jk_err send_state(jk_store *s, const char *node_id, const char *code) {
  state st;
  jk_err e = compute_state(s, code, &st);
  if (e) return e;
  return jk_outbox_restrict(s, node_id, code, st.protect, st.today, st.until, st.purposes, NULL);
}

static jk_err send_state_if_any(jk_store *s, const char *node_id, const char *code) {
  state st;
  jk_err e = compute_state(s, code, &st);
  if (e || (!st.protect && !st.purposes[0])) return e;
  return jk_outbox_restrict(s, node_id, code, st.protect, st.today, st.until, st.purposes, NULL);
}

jk_err jk_rights_stop_use(jk_store *s, const char *code, const char *purposes, jk_date filed_on, const char *channel,
                          const char *by, const char *note, jk_request_rec *out) {
  jk_participation policy;
  jk_identity cur = {0};
  jk_request_rec r;
  const jk_purposes *table;
  if (!purposes || !*purposes) return jk_error_set(JK_EINVAL, "name the purposes to stop (codes of the law's table)");
  jk_err e = jk_purposes_builtin(&table);
  for (const char *p = purposes; !e && *p;) {
    const char *comma = strchr(p, ',');
    size_t m = comma ? (size_t)(comma - p) : strlen(p);
    char one[32];
    if (m == 0 || m >= sizeof one) {
      e = jk_error_set(JK_EINVAL, "'%s' is not a list of purpose codes", purposes);
      break;
    }
    memcpy(one, p, m);
    one[m] = '\0';
    if (!jk_purposes_find(table, one)) e = jk_error_set(JK_EINVAL, "purpose %s is not in the law's table", one);
    if (!comma) break;
    p = comma + 1;
  }
  if (!e) e = jk_participation_get(s, &policy);
  if (!e) e = begin_request(s, code, "stop-use", filed_on, channel, by, note, policy, &r, &cur);
  jk_identity_clear(&cur);
  if (e) return e;
  if (strlen(purposes) >= sizeof r.purposes) return jk_error_set(JK_ETOOLARGE, "too many purposes in one request");
  snprintf(r.purposes, sizeof r.purposes, "%s", purposes);
  if ((e = jk_store_request_add(s, &r))) return e;
  if (out) *out = r;
  return JK_OK;
}

jk_err jk_rights_decide(jk_store *s, const char *node_id, int64_t id, bool accept, const char *by, const char *reason,
                        jk_request_rec *out) {
  jk_request_rec r;
  jk_err e = jk_store_request_get(s, id, &r);
  if (e) return e;
  bool copy = strcmp(r.kind, "copy") == 0; /* a 住民票の写し request held for review (copy.c) */
  if (strcmp(r.kind, "stop-use") != 0 && !copy)
    return jk_error_set(JK_EINVAL, "request %lld is a %s, not a request to stop use or a request for a copy held for review",
                        (long long)id, r.kind);
  char at[32];
  jk_utc_now(at, 0);
  if ((e = jk_store_request_decide(s, id, accept ? "accepted" : "rejected", at, by, reason ? reason : ""))) return e;
  if (accept && !copy && (e = send_state(s, node_id, r.code))) return e;
  if (out) e = jk_store_request_get(s, id, out);
  return e;
}

jk_err jk_rights_protect(jk_store *s, const char *node_id, const char *code, const char *offenders, jk_date applied_on,
                         const char *by, const char *note, jk_protection_rec *out) {
  jk_identity cur = {0};
  if (!code || !offenders || !by) return jk_error_set(JK_EINVAL, "missing argument");
  if (!jk_date_valid(applied_on)) return jk_error_set(JK_EINVAL, "the application date is not a real date");
  jk_err e = jk_registry_get(s, code, &cur);
  jk_identity_clear(&cur);
  if (e) return e;
  jk_protection_rec p;
  memset(&p, 0, sizeof p);
  snprintf(p.code, sizeof p.code, "%s", code);
  if (strlen(offenders) >= sizeof p.offenders || strlen(note ? note : "") >= sizeof p.note)
    return jk_error_set(JK_EINVAL, "the offenders or the note are too long");
  snprintf(p.offenders, sizeof p.offenders, "%s", offenders);
  snprintf(p.status, sizeof p.status, "provisional");
  p.applied_on = applied_on;
  /* the provisional block holds while the application is examined, at most the term */
  p.until = jk_date_from_days(jk_date_to_days(jk_date_today()) + 364);
  jk_utc_now(p.recorded_at, 0);
  snprintf(p.recorded_by, sizeof p.recorded_by, "%s", by);
  snprintf(p.note, sizeof p.note, "%s", note ? note : "");
  if ((e = jk_store_protection_add(s, &p)) || (e = send_state(s, node_id, code))) return e;
  if (out) *out = p;
  return JK_OK;
}

jk_err jk_rights_protect_step(jk_store *s, const char *node_id, int64_t id, jk_protect_step step, const char *by,
                              const char *note, jk_protection_rec *out) {
  jk_protection_rec p;
  jk_err e = jk_store_protection_get(s, id, &p);
  if (e) return e;
  bool provisional = strcmp(p.status, "provisional") == 0, active = strcmp(p.status, "active") == 0;
  jk_date today = jk_date_today();
  switch (step) {
  case JK_PROTECT_ACCEPT:
  case JK_PROTECT_REJECT:
    if (!provisional) return jk_error_set(JK_ECONFLICT, "measure %lld is %s, not awaiting a decision", (long long)id, p.status);
    snprintf(p.status, sizeof p.status, "%s", step == JK_PROTECT_ACCEPT ? "active" : "rejected");
    p.until = step == JK_PROTECT_ACCEPT ? jk_date_from_days(jk_date_to_days(today) + 364) : (jk_date){0, 0, 0};
    break;
  case JK_PROTECT_EXTEND:
    if (!active) return jk_error_set(JK_ECONFLICT, "measure %lld is %s: only an active measure is extended", (long long)id, p.status);
    p.until = jk_date_from_days(jk_date_to_days(p.until) + 365);
    break;
  case JK_PROTECT_END:
    if (!active && !provisional) return jk_error_set(JK_ECONFLICT, "measure %lld has ended already (%s)", (long long)id, p.status);
    snprintf(p.status, sizeof p.status, "ended");
    if (jk_date_cmp(today, p.until) < 0) p.until = today;
    break;
  default:
    return jk_error_set(JK_EINVAL, "unknown step");
  }
  jk_utc_now(p.decided_at, 0);
  snprintf(p.decided_by, sizeof p.decided_by, "%s", by);
  if (note && *note) snprintf(p.note, sizeof p.note, "%s", note);
  if ((e = jk_store_protection_update(s, &p)) || (e = send_state(s, node_id, p.code))) return e;
  if (out) *out = p;
  return JK_OK;
}

typedef struct any_ctx {
  jk_date today;
  bool yes;
} any_ctx;

static int on_any(const jk_protection_rec *p, void *payload) {
  any_ctx *a = payload;
  a->yes |= in_force(p, a->today);
  return 0;
}

jk_err jk_rights_protected(jk_store *s, const char *code, bool *out) {
  any_ctx a = {.today = jk_date_today()};
  jk_err e = jk_store_protection_each(s, code, on_any, &a);
  *out = a.yes;
  return e;
}

jk_err jk_rights_code_change_letter(jk_store *s, const char *old_code, const char *new_code, const char *municipality,
                                    jk_letter *l) {
  jk_identity cur = {0};
  jk_err e = jk_registry_get(s, new_code, &cur);
  if (e) return e;
  char today[JK_DATE_TEXT_MAX], on[JK_DATE_TEXT_MAX], to[JK_NAME_MAX + 8], from[160], para[600];
  wareki_of(jk_date_today(), today);
  wareki_of(cur.moved_on, on);
  snprintf(to, sizeof to, "%s 様", cur.name);
  snprintf(from, sizeof from, "%s長", municipality);
  bool changed = strcmp(cur.code, new_code) == 0 && cur.reason == JK_MOVE_CODE_CHANGE;
  jk_identity_clear(&cur);
  if (!changed) return jk_error_set(JK_EINVAL, "%s is not a code given by a 住民票コード change", new_code);
  if (!(e = jk_letter_header(l, today, to, from))) e = jk_letter_title(l, "住民票コードの変更について（通知）");
  snprintf(para, sizeof para,
           "あなたの請求により、%sに住民票コードを変更しましたので通知します。以前の住民票コードは再び使われることはありません。", on);
  if (!e) e = jk_letter_para(l, para);
  const char *head[] = {"項目", "内容"};
  const char *cells[] = {"新しい住民票コード", new_code, "以前の住民票コード", old_code, "変更日", on};
  if (!e) e = jk_letter_table(l, 2, head, cells, 3);
  if (!e)
    e = jk_letter_para(l, "この変更は都道府県及び地方公共団体情報システム機構に通知しました。本人確認情報の開示では、"
                          "以前の住民票コードの下での記録も併せて開示します。住民票コードは、法令に定める場合を除き、"
                          "他人に告知を求められることはありません。この通知書は大切に保管してください。");
  return e;
}
