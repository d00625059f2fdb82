/* The registry: entries, every move kind, code change, history, search, bad input. */
#include "testutil.h"

#include "storefx.h"

/* A raw record as a clerk types it. Strings are heap copies (the registry may replace them). */
static jk_identity typed(const char *name, const char *kana, jk_date birth, jk_sex sex, const char *address) {
  jk_identity r = {0};
  r.name = strdup(name);
  r.kana = strdup(kana);
  r.address = strdup(address);
  r.birth = birth;
  r.sex = sex;
  return r;
}

#include "jukinet/registry.h"


static void add_ok(jk_store *s, jk_identity *r) {
  jk_err e = jk_registry_add(s, r);
  if (e) fail_msg("add: %s", jk_error_last());
}

typedef struct hist {
  int n;
  jk_move_kind kinds[16];
  char codes[16][12];
} hist;

static int on_hist(const jk_identity *r, void *p) {
  hist *h = p;
  if (h->n < 16) {
    h->kinds[h->n] = r->reason;
    memcpy(h->codes[h->n], r->code, 12);
  }
  h->n++;
  return 0;
}

static void test_add_assigns_code_and_household(void **state) {
  fx *f = *state;
  jk_identity r = typed("  山田　太郎 ", "やまだ　たろう", (jk_date){1980, 1, 2}, JK_SEX_MALE, "大阪府枚方市大垣内町2丁目1番20号");
  r.kana = (free(r.kana), strdup("ヤマダ　タロウ"));
  add_ok(f->s, &r);
  assert_int_equal(jk_rescode_validate(r.code, strlen(r.code)), JK_OK);
  assert_string_equal(r.name, "山田　太郎"); /* trimmed */
  assert_int_equal(r.version, 1);
  assert_true(r.household_id > 0);
  assert_string_equal(r.relation, "世帯主");
  assert_int_equal(r.reason, JK_MOVE_IN);
  assert_int_equal(r.moved_on.y, 2026); /* JUKINET_TODAY */
  jk_identity g = {0};
  assert_int_equal(jk_registry_get(f->s, r.code, &g), JK_OK);
  assert_string_equal(g.kana, "ヤマダ　タロウ");
  jk_identity_clear(&g);

  /* a second member of the same household */
  jk_identity w = typed("山田　花子", "ヤマダ　ハナコ", (jk_date){1982, 3, 4}, JK_SEX_FEMALE, "大阪府枚方市大垣内町2丁目1番20号");
  w.household_id = r.household_id;
  w.relation = strdup("妻");
  add_ok(f->s, &w);
  assert_int_equal(w.household_id, r.household_id);
  /* a household that does not exist */
  jk_identity x = typed("山田　次郎", "ヤマダ　ジロウ", (jk_date){1990, 3, 4}, JK_SEX_MALE, "大阪府枚方市");
  x.household_id = 9999;
  assert_int_equal(jk_registry_add(f->s, &x), JK_ENOTFOUND);
  assert_int_equal(count(f->s), 2);
  jk_identity_clear(&r);
  jk_identity_clear(&w);
  jk_identity_clear(&x);
}

static void test_birth_defaults(void **state) {
  fx *f = *state;
  jk_identity r = typed("佐藤　陽菜", "サトウ　ヒナ", (jk_date){2026, 11, 1}, JK_SEX_FEMALE, "大阪府枚方市岡東町1番1号");
  r.reason = JK_MOVE_BIRTH;
  add_ok(f->s, &r);
  assert_int_equal(jk_date_cmp(r.moved_on, r.birth), 0);
  jk_identity_clear(&r);
  /* 転出 is not an entry */
  jk_identity o = typed("佐藤　一郎", "サトウ　イチロウ", (jk_date){1950, 1, 1}, JK_SEX_MALE, "大阪府枚方市");
  o.reason = JK_MOVE_OUT;
  assert_int_equal(jk_registry_add(f->s, &o), JK_EINVAL);
  jk_identity_clear(&o);
}

static void test_given_code_kept_and_never_reused(void **state) {
  fx *f = *state;
  jk_identity r = typed("鈴木　一郎", "スズキ　イチロウ", (jk_date){1970, 5, 6}, JK_SEX_MALE, "大阪府枚方市");
  memcpy(r.code, "00000000019", 12);
  add_ok(f->s, &r);
  assert_string_equal(r.code, "00000000019");
  jk_identity d = typed("鈴木　二郎", "スズキ　ジロウ", (jk_date){1971, 5, 6}, JK_SEX_MALE, "大阪府枚方市");
  memcpy(d.code, "00000000019", 12);
  assert_int_equal(jk_registry_add(f->s, &d), JK_EEXISTS);
  jk_identity_clear(&d);

  /* code change: old code retired for good (REQ-CODE-2) */
  jk_identity v = {0};
  assert_int_equal(jk_registry_move(f->s, "00000000019", JK_MOVE_CODE_CHANGE, NULL, &v), JK_OK);
  assert_string_not_equal(v.code, "00000000019");
  assert_int_equal(jk_rescode_validate(v.code, 11), JK_OK);
  char newcode[12];
  memcpy(newcode, v.code, 12);
  jk_identity_clear(&v);
  jk_identity g = {0};
  assert_int_equal(jk_registry_get(f->s, "00000000019", &g), JK_ENOTFOUND);
  assert_error_contains(newcode);
  /* nobody may get the retired code, not even by 転入 */
  jk_identity again = typed("田中　三郎", "タナカ　サブロウ", (jk_date){1960, 1, 1}, JK_SEX_MALE, "大阪府枚方市");
  memcpy(again.code, "00000000019", 12);
  assert_int_equal(jk_registry_add(f->s, &again), JK_ECONFLICT);
  assert_error_contains("never reused");
  jk_identity_clear(&again);
  /* history under both codes */
  hist h1 = {0}, h2 = {0};
  assert_int_equal(jk_registry_history(f->s, "00000000019", on_hist, &h1), JK_OK);
  assert_int_equal(jk_registry_history(f->s, newcode, on_hist, &h2), JK_OK);
  assert_int_equal(h1.n, 2);
  assert_int_equal(h2.n, 2);
  assert_string_equal(h1.codes[0], "00000000019");
  assert_string_equal(h1.codes[1], newcode);
  jk_identity_clear(&r);
}

static void test_every_move_kind(void **state) {
  fx *f = *state;
  jk_identity r = typed("高橋　健", "タカハシ　ケン", (jk_date){1985, 4, 1}, JK_SEX_MALE, "大阪府枚方市村野本町3番1号");
  r.moved_on = (jk_date){2010, 1, 1};
  add_ok(f->s, &r);
  char code[12];
  memcpy(code, r.code, 12);
  jk_identity out = {0};
  jk_move_change c = {.address = "大阪府枚方市星丘2丁目5番3号", .moved_on = {2012, 2, 2}};
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_WITHIN, &c, &out), JK_OK); /* 転居 */
  assert_int_equal(out.version, 2);
  jk_identity_clear(&out);
  /* 転居 to the same address is refused */
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_WITHIN, &c, NULL), JK_EINVAL);
  /* 職権修正 of the kana */
  jk_move_change k = {.kana = "タカハシ　ケン", .moved_on = {2013, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_CORRECTION, &k, NULL), JK_EINVAL); /* nothing changes */
  k.kana = "タカハシ　タケシ";
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_CORRECTION, &k, NULL), JK_OK);
  /* a move dated before the previous one is refused */
  jk_move_change early = {.address = "大阪府枚方市", .moved_on = {2011, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_WITHIN, &early, NULL), JK_EINVAL);
  /* 住民票コード変更 */
  jk_move_change cc = {.moved_on = {2014, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, code, JK_MOVE_CODE_CHANGE, &cc, &out), JK_OK);
  char code2[12];
  memcpy(code2, out.code, 12);
  jk_identity_clear(&out);
  /* 転出 → removed, kept */
  jk_move_change o = {.note = "転出先: 大阪府門真市", .moved_on = {2015, 3, 31}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_OUT, &o, &out), JK_OK);
  assert_int_equal(out.status, JK_STATUS_REMOVED);
  jk_identity_clear(&out);
  /* no 転居 for a removed resident */
  jk_move_change c2 = {.address = "大阪府枚方市田口1番1号", .moved_on = {2016, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_WITHIN, &c2, NULL), JK_ECONFLICT);
  /* comes back: 転入 re-enters the same resident */
  jk_move_change back = {.address = "大阪府枚方市田口1番1号", .moved_on = {2018, 4, 1}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_IN, &back, &out), JK_OK);
  assert_int_equal(out.status, JK_STATUS_ACTIVE);
  jk_identity_clear(&out);
  /* 職権消除, then 職権記載 (restoring an erroneous removal) */
  jk_move_change rm = {.moved_on = {2019, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_REMOVAL, &rm, NULL), JK_OK);
  jk_move_change en = {.moved_on = {2019, 2, 1}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_ENTRY, &en, NULL), JK_OK);
  /* 死亡 */
  jk_move_change dd = {.moved_on = {2020, 5, 5}};
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_DEATH, &dd, &out), JK_OK);
  assert_int_equal(out.status, JK_STATUS_REMOVED);
  jk_identity_clear(&out);
  assert_int_equal(jk_registry_move(f->s, code2, JK_MOVE_DEATH, &dd, NULL), JK_ECONFLICT);

  /* the whole history, under either code */
  hist h = {0};
  assert_int_equal(jk_registry_history(f->s, code, on_hist, &h), JK_OK);
  jk_move_kind want[] = {JK_MOVE_IN,  JK_MOVE_WITHIN,  JK_MOVE_CORRECTION, JK_MOVE_CODE_CHANGE, JK_MOVE_OUT,
                         JK_MOVE_IN,  JK_MOVE_REMOVAL, JK_MOVE_ENTRY,      JK_MOVE_DEATH};
  assert_int_equal(h.n, 9);
  for (int i = 0; i < 9; i++) assert_int_equal(h.kinds[i], want[i]);
  assert_string_equal(h.codes[0], code);
  assert_string_equal(h.codes[8], code2);
  hist h2 = {0};
  assert_int_equal(jk_registry_history(f->s, code2, on_hist, &h2), JK_OK);
  assert_int_equal(h2.n, 9);
  assert_int_equal(count(f->s), 1);
  jk_identity_clear(&r);
}

/* A resident who moved out comes back by 転入 with their code: the same record, a new version. */
static void test_move_in_by_add_reenters(void **state) {
  fx *f = *state;
  jk_identity r = typed("中村　恵", "ナカムラ　メグミ", (jk_date){1988, 8, 8}, JK_SEX_FEMALE, "大阪府枚方市牧野阪1番1号");
  r.moved_on = (jk_date){2010, 1, 1};
  add_ok(f->s, &r);
  jk_move_change out = {.note = "転出先: 東京都", .moved_on = {2015, 1, 1}};
  assert_int_equal(jk_registry_move(f->s, r.code, JK_MOVE_OUT, &out, NULL), JK_OK);
  jk_identity back = typed("中村　恵", "ナカムラ　メグミ", (jk_date){1988, 8, 8}, JK_SEX_FEMALE, "大阪府枚方市田口2番2号");
  memcpy(back.code, r.code, 12);
  back.reason = JK_MOVE_IN;
  back.moved_on = (jk_date){2020, 4, 1};
  add_ok(f->s, &back);
  assert_int_equal(back.resident_id, r.resident_id);
  assert_int_equal(back.version, 3);
  assert_int_equal(back.status, JK_STATUS_ACTIVE);
  assert_string_equal(back.address, "大阪府枚方市田口2番2号");
  assert_int_equal(count(f->s), 1);
  /* but not while still on the register */
  jk_identity dup = typed("中村　恵", "ナカムラ　メグミ", (jk_date){1988, 8, 8}, JK_SEX_FEMALE, "大阪府");
  memcpy(dup.code, r.code, 12);
  dup.reason = JK_MOVE_IN;
  assert_int_equal(jk_registry_add(f->s, &dup), JK_EEXISTS);
  jk_identity_clear(&r);
  jk_identity_clear(&back);
  jk_identity_clear(&dup);
}

static void test_bad_input_changes_nothing(void **state) {
  fx *f = *state;
  char *huge = malloc(10001);
  memset(huge, 'A', 10000);
  huge[10000] = '\0';
  struct {
    const char *name, *kana, *address;
    jk_date birth;
    jk_err want;
    const char *detail;
  } cases[] = {
      {"山田\xff太郎", "ヤマダ", "大阪府", {1980, 1, 1}, JK_EINVAL, "UTF-8"},
      {"", "ヤマダ", "大阪府", {1980, 1, 1}, JK_EINVAL, "name"},
      {"　 ", "ヤマダ", "大阪府", {1980, 1, 1}, JK_EINVAL, "name"},
      {"山田", "山田", "大阪府", {1980, 1, 1}, JK_EINVAL, "kana"},
      {"山田", "ヤマダ", "大阪府", {2030, 1, 1}, JK_EINVAL, "future"},
      {"山田", "ヤマダ", "大阪府", {1980, 2, 30}, JK_EINVAL, "birth"},
      {huge, "ヤマダ", "大阪府", {1980, 1, 1}, JK_ETOOLARGE, "name"},
      {"山田", "ヤマダ", huge, {1980, 1, 1}, JK_ETOOLARGE, "address"},
      {"山田\n太郎", "ヤマダ", "大阪府", {1980, 1, 1}, JK_EINVAL, "control"},
      {"山田'; DROP TABLE resident; --", "ヤマダ", "大阪府", {1980, 1, 1}, JK_OK, NULL},
  };
  int64_t before = count(f->s);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    jk_identity r = typed(cases[i].name, cases[i].kana, cases[i].birth, JK_SEX_MALE, cases[i].address);
    jk_err e = jk_registry_add(f->s, &r);
    if (e != cases[i].want) fail_msg("case %zu: got %s (%s)", i, jk_err_name(e), jk_error_last());
    if (cases[i].detail) assert_error_contains(cases[i].detail);
    jk_identity_clear(&r);
  }
  assert_int_equal(count(f->s), before + 1); /* only the SQL-metacharacter name, stored as text */
  free(huge);
}

static void test_search(void **state) {
  fx *f = *state;
  const struct {
    const char *name, *kana, *addr;
    jk_date b;
    jk_sex s;
  } people[] = {
      {"山田　太郎", "ヤマダ　タロウ", "大阪府枚方市岡東町1番1号", {1980, 1, 2}, JK_SEX_MALE},
      {"山田　花子", "ヤマダ　ハナコ", "大阪府枚方市岡東町1番1号", {1982, 3, 4}, JK_SEX_FEMALE},
      {"山本　一郎", "ヤマモト　イチロウ", "大阪府枚方市星丘1番1号", {1980, 1, 2}, JK_SEX_MALE},
      {"佐藤　花子", "サトウ　ハナコ", "大阪府枚方市田口5番2号", {1990, 7, 7}, JK_SEX_FEMALE},
  };
  for (size_t i = 0; i < 4; i++) {
    jk_identity r = typed(people[i].name, people[i].kana, people[i].b, people[i].s, people[i].addr);
    add_ok(f->s, &r);
    jk_identity_clear(&r);
  }
  struct {
    jk_registry_query q;
    int want;
  } cases[] = {
      {{.kana = "やまだ"}, 2},              /* hiragana finds katakana */
      {{.kana = "ﾔﾏﾀﾞ"}, 2},                /* half-width */
      {{.kana = "ヤマダ　タ"}, 1},          /* spaces folded */
      {{.kana = "ヤマ"}, 3},
      {{.name = "山田"}, 2},
      {{.name = "山"}, 3},
      {{.birth = {1980, 1, 2}}, 2},
      {{.kana = "ヤマ", .sex = JK_SEX_FEMALE}, 1},
      {{.address = "大阪府枚方市岡東町"}, 2},
      {{.sex = JK_SEX_FEMALE}, 2},
      {{.kana = "ワタナベ"}, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hist h = {0};
    jk_err e = jk_registry_search(f->s, &cases[i].q, on_hist, &h);
    if (e) fail_msg("case %zu: %s", i, jk_error_last());
    if (h.n != cases[i].want) fail_msg("case %zu: %d results, want %d", i, h.n, cases[i].want);
  }
  jk_registry_query none = {0};
  hist h = {0};
  assert_int_equal(jk_registry_search(f->s, &none, on_hist, &h), JK_EINVAL);
  jk_registry_query bad = {.kana = "\xe3\x81"};
  assert_int_equal(jk_registry_search(f->s, &bad, on_hist, &h), JK_EINVAL);
}

static void test_alloc_failure_leaves_nothing(void **state) {
  fx *f = *state;
  /* Fail each allocation of an add in turn: either ENOMEM and nothing stored, or success. */
  for (unsigned long k = 1; k < 400; k++) {
    jk_identity r = typed("伊藤　誠", "イトウ　マコト", (jk_date){1975, 6, 7}, JK_SEX_MALE, "大阪府枚方市禁野本町1番1号");
    int64_t before = count(f->s);
    jk_alloc_fail_at(k);
    jk_err e = jk_registry_add(f->s, &r);
    jk_alloc_fail_at(0);
    jk_identity_clear(&r);
    if (e == JK_OK) {
      assert_int_equal(count(f->s), before + 1);
      return;
    }
    if (e != JK_ENOMEM) fail_msg("allocation %lu: %s (%s)", k, jk_err_name(e), jk_error_last());
    assert_int_equal(count(f->s), before);
  }
  fail_msg("add never succeeded");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_add_assigns_code_and_household, setup, teardown),
      cmocka_unit_test_setup_teardown(test_birth_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_given_code_kept_and_never_reused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_every_move_kind, setup, teardown),
      cmocka_unit_test_setup_teardown(test_move_in_by_add_reenters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alloc_failure_leaves_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
