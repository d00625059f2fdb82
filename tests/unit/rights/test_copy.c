/* The 住民票の写し under the 支援措置 (rights.h, src/rights/copy.c): who is refused, who is held
 * for review, who is served; the offender found however the name is written; bad requests
 * refused with nothing recorded; what the resident's disclosure may say of a request. */
#include "testutil.h"

#include "storefx.h"

#include "jukinet/letter.h"
#include "jukinet/registry.h"
#include "jukinet/rights.h"

static char code[12], other[12];

static void add(fx *f, const char *name, const char *kana, char out[12]) {
  jk_identity r = {0};
  r.name = strdup(name);
  r.kana = strdup(kana);
  r.address = strdup("大阪府枚方市大垣内町2丁目1番20号");
  r.birth = (jk_date){1985, 6, 7};
  r.sex = JK_SEX_FEMALE;
  if (jk_registry_add(f->s, &r)) fail_msg("add: %s", jk_error_last());
  memcpy(out, r.code, 12);
  jk_identity_clear(&r);
}

static void protect(fx *f, const char *offenders) {
  jk_protection_rec p;
  memset(&p, 0, sizeof p);
  snprintf(p.code, sizeof p.code, "%s", code);
  snprintf(p.offenders, sizeof p.offenders, "%s", offenders);
  snprintf(p.status, sizeof p.status, "active");
  p.applied_on = (jk_date){2026, 11, 1};
  p.until = (jk_date){2027, 10, 31};
  jk_utc_now(p.recorded_at, 0);
  snprintf(p.recorded_by, sizeof p.recorded_by, "chief01");
  jk_utc_now(p.decided_at, 0);
  snprintf(p.decided_by, sizeof p.decided_by, "chief01");
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  assert_int_equal(jk_store_protection_add(f->s, &p), JK_OK);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
}

/* One request in its own transaction; the error, and *v / *r when it succeeded. */
static jk_err ask(fx *f, const char *c, const char *who, jk_copy_relation rel, const char *reason, int64_t reviewed,
                  jk_copy_verdict *v, jk_request_rec *r) {
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  jk_err e = jk_rights_copy_request(f->s, c, who, rel, reason, "counter", "clerk01", reviewed, v, r);
  if (e) jk_store_rollback(f->s);
  else assert_int_equal(jk_store_commit(f->s), JK_OK);
  return e;
}

static int count_cb(const jk_request_rec *r, void *p) {
  (void)r;
  (*(int *)p)++;
  return 0;
}

static int requests(fx *f, const char *c) {
  int n = 0;
  assert_int_equal(jk_store_request_each(f->s, c, count_cb, &n), JK_OK);
  return n;
}

static int csetup(void **state) {
  int rc = setup(state);
  fx *f = *state;
  add(f, "山田　花子", "ヤマダ　ハナコ", code);
  add(f, "鈴木　一子", "スズキ　イチコ", other);
  return rc;
}

static void test_no_measure(void **state) {
  fx *f = *state;
  jk_copy_verdict v = 0;
  jk_request_rec r;
  assert_int_equal(ask(f, code, "株式会社債権回収", JK_COPY_THIRD_PARTY, "債権回収", 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_ISSUED);
  assert_string_equal(r.kind, "copy");
  assert_string_equal(r.decision, "accepted");
  const char *rel, *out;
  jk_rights_copy_summary(&r, &rel, &out);
  assert_string_equal(rel, "第三者");
  assert_string_equal(out, "交付");
  /* the copy: the record, never the 住民票コード */
  jk_letter *l = NULL;
  char *text = NULL;
  assert_int_equal(jk_letter_new(&l), JK_OK);
  assert_int_equal(jk_rights_copy_letter(f->s, code, "枚方市", "株式会社債権回収", l), JK_OK);
  assert_int_equal(jk_letter_text(l, &text, NULL), JK_OK);
  assert_non_null(strstr(text, "住民票の写し"));
  assert_non_null(strstr(text, "山田　花子"));
  assert_non_null(strstr(text, "大阪府枚方市大垣内町2丁目1番20号"));
  assert_non_null(strstr(text, "昭和60年6月7日"));
  assert_null(strstr(text, code));
  jk_free(text);
  jk_letter_free(l);
}

static void test_offender_refused(void **state) {
  fx *f = *state;
  protect(f, "元配偶者 山田一郎(昭和50年1月1日生)、やまだ じろう");
  const char *as[] = {"山田　一郎", "山田一郎", "ヤマダ ジロウ", "ﾔﾏﾀﾞｼﾞﾛｳ", "山田"};
  jk_copy_relation rels[] = {JK_COPY_HOUSEHOLD, JK_COPY_SELF, JK_COPY_THIRD_PARTY, JK_COPY_OFFICIAL, JK_COPY_SELF};
  for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
    jk_copy_verdict v = 0;
    jk_request_rec r;
    assert_int_equal(ask(f, code, as[i], rels[i], "x", 0, &v, &r), JK_OK);
    if (v != JK_COPY_REFUSED) fail_msg("%s was not refused", as[i]);
    assert_string_equal(r.decision, "rejected");
    const char *rel, *out;
    jk_rights_copy_summary(&r, &rel, &out);
    assert_string_equal(out, "交付せず");
  }
  /* the resident, and the household (not named): served; a one-character name never matches */
  jk_copy_verdict v = 0;
  jk_request_rec r;
  assert_int_equal(ask(f, code, "山田　花子", JK_COPY_SELF, NULL, 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_ISSUED);
  assert_int_equal(ask(f, code, "田", JK_COPY_HOUSEHOLD, NULL, 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_ISSUED);
  /* another resident is not under the measure */
  assert_int_equal(ask(f, other, "山田一郎", JK_COPY_THIRD_PARTY, "x", 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_ISSUED);
}

static void test_third_party_reviewed(void **state) {
  fx *f = *state;
  protect(f, "山田一郎");
  jk_copy_verdict v = 0;
  jk_request_rec r, d;
  assert_int_equal(ask(f, code, "弁護士 田中正", JK_COPY_THIRD_PARTY, "訴訟の相手方", 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_REVIEW);
  assert_string_equal(r.decision, "");
  const char *rel, *out;
  jk_rights_copy_summary(&r, &rel, &out);
  assert_string_equal(out, "審査中（交付していません）");
  int64_t id = r.id;
  /* not before the decision; not another resident's; not a request of another kind */
  assert_int_equal(ask(f, code, "弁護士 田中正", JK_COPY_THIRD_PARTY, "訴訟の相手方", id, &v, &r), JK_EPERM);
  assert_int_equal(ask(f, other, "弁護士 田中正", JK_COPY_THIRD_PARTY, "訴訟の相手方", id, &v, &r), JK_EINVAL);
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  assert_int_equal(jk_rights_decide(f->s, "272108-test", id, true, "chief01", "書面で確認", &d), JK_OK);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
  jk_rights_copy_summary(&d, &rel, &out);
  assert_string_equal(out, "審査の上、交付を認める決定");
  assert_int_equal(ask(f, code, "弁護士 田中正", JK_COPY_THIRD_PARTY, "訴訟の相手方", id, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_ISSUED);
  jk_rights_copy_summary(&r, &rel, &out);
  assert_string_equal(rel, "第三者");
  assert_string_equal(out, "審査の上交付");
  /* one review, one copy */
  assert_int_equal(ask(f, code, "弁護士 田中正", JK_COPY_THIRD_PARTY, "訴訟の相手方", id, &v, &r), JK_ECONFLICT);
  /* an office too is held */
  assert_int_equal(ask(f, code, "枚方税務署", JK_COPY_OFFICIAL, "課税調査", 0, &v, &r), JK_OK);
  assert_int_equal(v, JK_COPY_REVIEW);
}

static void test_bad_requests(void **state) {
  fx *f = *state;
  jk_copy_verdict v = 0;
  jk_request_rec r;
  char big[102];
  memset(big, 'x', 101);
  big[101] = '\0';
  int before = requests(f, code);
  assert_int_equal(ask(f, code, "", JK_COPY_SELF, NULL, 0, &v, &r), JK_EINVAL);
  assert_int_equal(ask(f, code, big, JK_COPY_SELF, NULL, 0, &v, &r), JK_ETOOLARGE);
  assert_int_equal(ask(f, code, "a\xff" "b", JK_COPY_SELF, NULL, 0, &v, &r), JK_EINVAL);
  assert_int_equal(ask(f, code, "a\x01" "b", JK_COPY_SELF, NULL, 0, &v, &r), JK_EINVAL);
  assert_int_equal(ask(f, code, "債権者", JK_COPY_THIRD_PARTY, NULL, 0, &v, &r), JK_EINVAL); /* no reason */
  assert_int_equal(ask(f, code, "債権者", JK_COPY_THIRD_PARTY, "\x7f", 0, &v, &r), JK_EINVAL);
  assert_int_equal(ask(f, code, "x", (jk_copy_relation)9, NULL, 0, &v, &r), JK_EINVAL);
  assert_int_equal(ask(f, "12345678903", "x", JK_COPY_SELF, NULL, 0, &v, &r), JK_ENOTFOUND);
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  assert_int_equal(jk_rights_copy_request(f->s, code, "x", JK_COPY_SELF, NULL, "pigeon", "clerk01", 0, &v, &r), JK_EINVAL);
  jk_store_rollback(f->s);
  assert_int_equal(requests(f, code), before);
  jk_copy_relation rel;
  assert_int_equal(jk_copy_relation_parse("cousin", &rel), JK_EINVAL);
  assert_int_equal(jk_copy_relation_parse("third-party", &rel), JK_OK);
  assert_int_equal(rel, JK_COPY_THIRD_PARTY);
  assert_string_equal(jk_copy_relation_token(JK_COPY_OFFICIAL), "official");
}

int main(void) {
  jk_lang_set(JK_LANG_EN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_no_measure, csetup, teardown),
      cmocka_unit_test_setup_teardown(test_offender_refused, csetup, teardown),
      cmocka_unit_test_setup_teardown(test_third_party_reviewed, csetup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_requests, csetup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
