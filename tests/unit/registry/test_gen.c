/* Synthetic residents (src/registry/gen.c): determinism, a golden start of the stream, every
 * record well-formed, households consistent, and the distributions roughly Japanese. */
#include "testutil.h"

#include "jukinet/gen.h"

static const jk_date TODAY = {2026, 11, 23};

/* A copy of a generated record (jk_gen_next's fields are borrowed until the next call). */
typedef struct rec {
  char name[160], kana[160], address[700], relation[32];
  jk_date birth, moved_on;
  jk_sex sex;
  jk_move_kind reason;
  uint64_t hh;
} rec;

static void next(jk_gen *g, rec *r) {
  jk_identity id;
  uint64_t hh = 0;
  assert_int_equal(jk_gen_next(g, &id, &hh), JK_OK);
  assert_non_null(id.name);
  assert_non_null(id.kana);
  assert_non_null(id.address);
  assert_non_null(id.relation);
  assert_string_equal(id.code, "");
  assert_int_equal(id.version, 1);
  assert_int_equal(id.status, JK_STATUS_ACTIVE);
  assert_int_equal(id.resident_id, 0);
  assert_null(id.note);
  assert_true(strlen(id.name) < sizeof r->name && strlen(id.kana) < sizeof r->kana);
  assert_true(strlen(id.address) < sizeof r->address && strlen(id.relation) < sizeof r->relation);
  snprintf(r->name, sizeof r->name, "%s", id.name);
  snprintf(r->kana, sizeof r->kana, "%s", id.kana);
  snprintf(r->address, sizeof r->address, "%s", id.address);
  snprintf(r->relation, sizeof r->relation, "%s", id.relation);
  r->birth = id.birth;
  r->moved_on = id.moved_on;
  r->sex = id.sex;
  r->reason = id.reason;
  r->hh = hh;
}

static jk_gen *gen(uint64_t seed, const char *city) {
  jk_gen *g = NULL;
  jk_err e = jk_gen_new(&g, seed, city, TODAY);
  if (e) fail_msg("jk_gen_new: %s", jk_error_last());
  return g;
}

static bool same(const rec *a, const rec *b) {
  return strcmp(a->name, b->name) == 0 && strcmp(a->kana, b->kana) == 0 && strcmp(a->address, b->address) == 0 &&
         strcmp(a->relation, b->relation) == 0 && jk_date_cmp(a->birth, b->birth) == 0 &&
         jk_date_cmp(a->moved_on, b->moved_on) == 0 && a->sex == b->sex && a->reason == b->reason && a->hh == b->hh;
}

static void test_deterministic(void **state) {
  (void)state;
  jk_gen *a = gen(42, NULL), *b = gen(42, NULL), *c = gen(43, NULL);
  int differ = 0;
  for (int i = 0; i < 10000; i++) {
    rec ra, rb, rc;
    next(a, &ra);
    next(b, &rb);
    next(c, &rc);
    if (!same(&ra, &rb)) fail_msg("seed 42 differs at resident %d: %s / %s", i, ra.name, rb.name);
    differ += !same(&ra, &rc);
  }
  assert_true(differ > 9000);
  jk_gen_free(a);
  jk_gen_free(b);
  jk_gen_free(c);
}

/* The start of seed 1's stream, recorded: fails when the stream changes (data files, tables
 * or drawing order in gen.c). If the change is intended, record the new values here. */
static void test_golden(void **state) {
  (void)state;
  static const struct {
    const char *name, *kana, *address, *relation, *birth, *moved_on;
    jk_sex sex;
    jk_move_kind reason;
    uint64_t hh;
  } want[] = {
      {"高野　周平", "タカノ　シュウヘイ", "大阪府枚方市村野東町3番13号", "世帯主", "1975-03-14", "2024-08-16", JK_SEX_MALE, JK_MOVE_IN, 1},
      {"高野　由佳", "タカノ　ユカ", "大阪府枚方市村野東町3番13号", "妻", "1973-10-07", "2024-08-16", JK_SEX_FEMALE, JK_MOVE_IN, 1},
      {"高野　奏太", "タカノ　ソウタ", "大阪府枚方市村野東町3番13号", "子", "2012-07-16", "2024-08-16", JK_SEX_MALE, JK_MOVE_IN, 1},
  };
  jk_gen *g = gen(1, NULL);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    rec r;
    char birth[11], moved[11];
    next(g, &r);
    jk_date_format_iso(r.birth, birth);
    jk_date_format_iso(r.moved_on, moved);
    assert_string_equal(r.name, want[i].name);
    assert_string_equal(r.kana, want[i].kana);
    assert_string_equal(r.address, want[i].address);
    assert_string_equal(r.relation, want[i].relation);
    assert_string_equal(birth, want[i].birth);
    assert_string_equal(moved, want[i].moved_on);
    assert_int_equal(r.sex, want[i].sex);
    assert_int_equal(r.reason, want[i].reason);
    assert_int_equal(r.hh, want[i].hh);
  }
  jk_gen_free(g);
}

/* Decode one UTF-8 character (the generator's output is trusted to be valid here; a bad lead
 * byte fails the test). */
static uint32_t utf8_next(const char **p) {
  const unsigned char *s = (const unsigned char *)*p;
  uint32_t c = s[0];
  int n = 1;
  if ((s[0] & 0xE0) == 0xC0) c = s[0] & 0x1F, n = 2;
  else if ((s[0] & 0xF0) == 0xE0) c = s[0] & 0x0F, n = 3;
  else if ((s[0] & 0xF8) == 0xF0) c = s[0] & 0x07, n = 4;
  else if (s[0] >= 0x80) fail_msg("bad UTF-8 lead byte 0x%02x", s[0]);
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) fail_msg("bad UTF-8 continuation byte");
    c = c << 6 | (s[i] & 0x3F);
  }
  *p += n;
  return c;
}

/* "姓　名": exactly one U+3000, with text on both sides; the surname is copied to out. */
static void split_name(const char *s, char *out, size_t cap) {
  const char *sp = strstr(s, "\xE3\x80\x80");
  if (!sp || sp == s || !sp[3]) fail_msg("'%s' is not 姓　名", s);
  if (strstr(sp + 3, "\xE3\x80\x80")) fail_msg("'%s' has two U+3000", s);
  assert_true((size_t)(sp - s) < cap);
  memcpy(out, s, (size_t)(sp - s));
  out[sp - s] = '\0';
}

static void check_kana(const char *s) {
  for (const char *p = s; *p;) {
    uint32_t c = utf8_next(&p);
    if (!((c >= 0x30A1 && c <= 0x30FA) || c == 0x30FC || c == 0x3000)) fail_msg("'%s': U+%04X is not katakana", s, c);
  }
}

static int64_t days(jk_date d) { return jk_date_to_days(d); }

/* Distinct strings (surnames), open addressing. */
#define SET_SLOTS 4096
typedef struct strset {
  char s[SET_SLOTS][64];
  int n;
} strset;

static void set_add(strset *set, const char *s) {
  uint32_t h = 2166136261u;
  for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  for (uint32_t i = h % SET_SLOTS;; i = (i + 1) % SET_SLOTS) {
    if (!set->s[i][0]) {
      assert_true(strlen(s) < sizeof set->s[i] && set->n < SET_SLOTS - 1);
      snprintf(set->s[i], sizeof set->s[i], "%s", s);
      set->n++;
      return;
    }
    if (strcmp(set->s[i], s) == 0) return;
  }
}

/* Every record well-formed; households consistent; distributions over n residents. */
static void check_stream(const char *city, const char *prefix, int n, bool distributions) {
  jk_gen *g = gen(7, city);
  strset *surnames = calloc(1, sizeof *surnames);
  rec head, r;
  char surname[128], head_surname[128], head_kana_surname[128], kana_surname[128];
  uint64_t hh_prev = 0;
  int households = 0, singles = 0, size = 0, males = 0, births = 0, kids = 0, middle = 0, old = 0, max_age = 0;
  assert_non_null(surnames);
  memset(&head, 0, sizeof head);
  for (int i = 0; i <= n; i++) {
    if (i < n) next(g, &r);
    if (i == n || r.hh != hh_prev) { /* a household ended */
      if (hh_prev) {
        households++;
        singles += size == 1;
      }
      if (i == n) break;
      if (r.hh != hh_prev + 1) fail_msg("household key %llu after %llu", (unsigned long long)r.hh, (unsigned long long)hh_prev);
      hh_prev = r.hh;
      size = 0;
      if (strcmp(r.relation, "世帯主") != 0) fail_msg("household %llu starts with %s", (unsigned long long)r.hh, r.relation);
      head = r;
      split_name(r.name, head_surname, sizeof head_surname);
      split_name(r.kana, head_kana_surname, sizeof head_kana_surname);
      set_add(surnames, head_surname);
    } else {
      /* members share the surname (kanji and kana) and the address */
      split_name(r.name, surname, sizeof surname);
      split_name(r.kana, kana_surname, sizeof kana_surname);
      assert_string_equal(surname, head_surname);
      assert_string_equal(kana_surname, head_kana_surname);
      assert_string_equal(r.address, head.address);
      int64_t gap = days(r.birth) - days(head.birth);
      if (strcmp(r.relation, "子") == 0) {
        if (gap <= 20 * 365 || gap >= 40 * 366) fail_msg("%s (子) born %lld days after the head", r.name, (long long)gap);
      } else if (strcmp(r.relation, "妻") == 0 || strcmp(r.relation, "夫") == 0) {
        assert_int_not_equal(r.sex, head.sex);
        assert_int_equal(r.sex, strcmp(r.relation, "妻") == 0 ? JK_SEX_FEMALE : JK_SEX_MALE);
        if (gap < -7 * 366 || gap > 7 * 366) fail_msg("spouse %s born %lld days from the head", r.name, (long long)gap);
      } else if (strcmp(r.relation, "父") == 0 || strcmp(r.relation, "母") == 0) {
        assert_int_equal(r.sex, strcmp(r.relation, "母") == 0 ? JK_SEX_FEMALE : JK_SEX_MALE);
        if (-gap <= 20 * 365 || -gap >= 40 * 366) fail_msg("parent %s born %lld days before the head", r.name, (long long)-gap);
      } else {
        fail_msg("unexpected relation %s", r.relation);
      }
    }
    size++;
    assert_true(size <= 6);

    /* the record itself */
    split_name(r.name, surname, sizeof surname);
    check_kana(r.kana);
    if (strncmp(r.address, prefix, strlen(prefix)) != 0) fail_msg("address %s lacks %s", r.address, prefix);
    assert_true(strstr(r.address, "番") && strstr(r.address, "号"));
    assert_true(jk_date_valid(r.birth) && jk_date_valid(r.moved_on));
    assert_true(jk_date_cmp(r.birth, TODAY) <= 0);
    assert_true(jk_date_cmp(r.moved_on, r.birth) >= 0);
    assert_true(jk_date_cmp(r.moved_on, TODAY) <= 0);
    assert_true(r.sex == JK_SEX_MALE || r.sex == JK_SEX_FEMALE);
    assert_true(r.reason == JK_MOVE_BIRTH || r.reason == JK_MOVE_IN);
    if (r.reason == JK_MOVE_BIRTH) assert_int_equal(jk_date_cmp(r.moved_on, r.birth), 0);
    int age = jk_date_age(r.birth, TODAY);
    assert_true(age >= 0);
    if (age > max_age) max_age = age;
    kids += age < 15;
    middle += age >= 45 && age <= 75;
    old += age >= 65;
    males += r.sex == JK_SEX_MALE;
    births += r.reason == JK_MOVE_BIRTH;
  }
  if (distributions) {
    int single_pct = singles * 100 / households, male_pct = males * 100 / n, birth_pct = births * 100 / n;
    print_message("%d residents, %d households, %d%% single, %d%% male, %d%% born here, %d%% under 15, "
                  "%d%% 45-75, %d%% 65+, oldest %d, %d surnames\n",
                  n, households, single_pct, male_pct, birth_pct, kids * 100 / n, middle * 100 / n, old * 100 / n,
                  max_age, surnames->n);
    assert_in_range(single_pct, 25, 50);
    assert_in_range(male_pct, 40, 60);
    assert_in_range(birth_pct, 30, 50);
    assert_true(max_age <= 110);
    assert_true(max_age >= 95);
    assert_true(middle > kids);
    assert_true(surnames->n >= 250);
  }
  free(surnames);
  jk_gen_free(g);
}

static void test_records_and_distribution(void **state) {
  (void)state;
  check_stream(NULL, "大阪府枚方市", 100000, true);
}

/* The town list follows the city; an unknown city keeps its prefix with 枚方市's towns. */
static void test_cities(void **state) {
  (void)state;
  check_stream("大阪府門真市", "大阪府門真市", 3000, false);
  check_stream("東京都千代田区", "東京都千代田区", 3000, false);
  struct {
    const char *city, *yes, *no;
  } cases[] = {
      {"大阪府門真市", "四宮", "香里ケ丘"},
      {"門真市", "三ツ島", "楠葉"},
      {"東京都千代田区", "香里ケ丘", "四宮"},
      {NULL, "長尾元町", "三ツ島"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    jk_gen *g = gen(3, cases[c].city);
    bool seen = false;
    for (int i = 0; i < 20000; i++) {
      rec r;
      next(g, &r);
      seen |= strstr(r.address, cases[c].yes) != NULL;
      if (strstr(r.address, cases[c].no)) fail_msg("%s: address %s", cases[c].city ? cases[c].city : "(default)", r.address);
    }
    if (!seen) fail_msg("%s: no address in %s", cases[c].city ? cases[c].city : "(default)", cases[c].yes);
    jk_gen_free(g);
  }
}

/* Older residents get older-style names (the birth-year column of the name lists). */
static void test_names_follow_generations(void **state) {
  (void)state;
  jk_gen *g = gen(5, NULL);
  int old_kazuko = 0, young_kazuko = 0, young_himari = 0, old_himari = 0;
  for (int i = 0; i < 200000; i++) {
    rec r;
    next(g, &r);
    const char *given = strstr(r.name, "\xE3\x80\x80") + 3;
    if (strcmp(given, "和子") == 0) *(r.birth.y < 1965 ? &old_kazuko : &young_kazuko) += 1;
    if (strcmp(given, "陽葵") == 0) *(r.birth.y >= 2008 ? &young_himari : &old_himari) += 1;
  }
  assert_true(old_kazuko > 0 && young_himari > 0);
  assert_int_equal(young_kazuko, 0);
  assert_int_equal(old_himari, 0);
  jk_gen_free(g);
}

static void test_bad_arguments(void **state) {
  (void)state;
  jk_gen *g = (jk_gen *)&g;
  jk_lang_set(JK_LANG_EN);
  assert_int_equal(jk_gen_new(NULL, 1, NULL, TODAY), JK_EINVAL);
  assert_int_equal(jk_gen_new(&g, 1, NULL, (jk_date){2026, 2, 30}), JK_EINVAL);
  assert_null(g);
  assert_int_equal(jk_gen_new(&g, 1, NULL, (jk_date){0, 0, 0}), JK_EINVAL);
  assert_int_equal(jk_gen_new(&g, 1, NULL, (jk_date){1950, 1, 1}), JK_EINVAL);
  assert_error_contains("1975");
  assert_int_equal(jk_gen_new(&g, 1, "", TODAY), JK_EINVAL);
  assert_int_equal(jk_gen_new(&g, 1, "大阪府\n枚方市", TODAY), JK_EINVAL);
  char longcity[1000];
  memset(longcity, 'a', sizeof longcity - 1);
  longcity[sizeof longcity - 1] = '\0';
  assert_int_equal(jk_gen_new(&g, 1, longcity, TODAY), JK_ETOOLARGE);
  assert_null(g);
  assert_int_equal(jk_gen_next(NULL, NULL, NULL), JK_EINVAL);
  jk_gen_free(NULL);

  /* the oldest allowed today still gives valid residents, none born before 1868 */
  g = NULL;
  assert_int_equal(jk_gen_new(&g, 9, NULL, (jk_date){1975, 1, 1}), JK_OK);
  for (int i = 0; i < 20000; i++) {
    jk_identity id;
    assert_int_equal(jk_gen_next(g, &id, NULL), JK_OK);
    assert_true(id.birth.y >= 1868 && jk_date_valid(id.birth) && jk_date_valid(id.moved_on));
    assert_true(jk_date_cmp(id.birth, (jk_date){1975, 1, 1}) <= 0);
  }
  jk_gen_free(g);
}

/* Every allocation of jk_gen_new may fail: JK_ENOMEM, nothing leaked (ASan build). */
static void test_alloc_failures(void **state) {
  (void)state;
  for (unsigned long nth = 1;; nth++) {
    jk_gen *g = (jk_gen *)&g;
    jk_alloc_fail_at(nth);
    jk_err e = jk_gen_new(&g, 1, NULL, TODAY);
    jk_alloc_fail_at(0);
    if (e == JK_OK) {
      assert_true(nth > 3);
      jk_identity id;
      assert_int_equal(jk_gen_next(g, &id, NULL), JK_OK);
      jk_gen_free(g);
      break;
    }
    assert_int_equal(e, JK_ENOMEM);
    assert_null(g);
    assert_true(nth < 100);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_records_and_distribution),
      cmocka_unit_test(test_cities),
      cmocka_unit_test(test_names_follow_generations),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
