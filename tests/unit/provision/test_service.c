/*
 * test_service.c — the query service's engine (provision.h) on a real store with its ledger:
 * only the purpose's fields, held-back residents answered like unknown ones, a name search
 * that matches two people disclosing nothing, refusals (role, registry, purpose, rate) — and
 * for every one of them a provision row and a ledger entry, group-committed when many callers
 * wait at once. The daemon's mutual TLS in front of it is tested by tests/cli/test_provision.sh.
 */
#include "testutil.h"

#define JK_STOREFX_NO_FIXTURE
#include "storefx.h"

#include "jukinet/ledger.h"
#include "jukinet/provision.h"
#include "jukinet/rescode.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>

/* A table of three purposes: one with every field, one with the name and address only, and
 * one for another agency. */
static const char TABLE[] = "code\tagency\taffair\tfields\tcitation\tsource_url\n"
                            "B1-77\t厚生労働省及び日本年金機構\t年金\tname,birth,sex,address,change\t別表第一 七十七\thttps://x\n"
                            "B1-74\t厚生労働省及び日本年金機構\t年金\tname,address\t別表第一 七十四\thttps://x\n"
                            "B1-01\t外務省\t旅券\tname,birth,sex,address,change\t別表第一 一\thttps://x\n";

typedef struct fx {
  tu_store t;
  jk_store *s;
  jk_ledger *l;
  uint8_t pk[32], sk[64];
  jk_purposes *table;
  jk_provision_service *svc;
  char code[4][12];
  pthread_mutex_t mu; /* the store, shared with the committer (which signs the ledger's tail on
                         its own timer): the tests take it around their own use */
} fx;

static void lock_fx(void *p) { pthread_mutex_lock(&((fx *)p)->mu); }
static void unlock_fx(void *p) { pthread_mutex_unlock(&((fx *)p)->mu); }

static jk_err soft_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  fx *f = payload;
  crypto_sign_detached(sig, NULL, msg, len, f->sk);
  return JK_OK;
}

static void holding(fx *f, int i, const char *source, const char *kana, const char *birth, int status) {
  jk_holding_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", f->code[i]);
  snprintf(r.source, sizeof r.source, "%s", source);
  r.seq = i + 1;
  if (status == JK_HOLDING_ERASED) {
    r.status = JK_HOLDING_ERASED;
  } else {
    r.version = 1;
    snprintf(r.name, sizeof r.name, "住民 %d", i);
    snprintf(r.kana, sizeof r.kana, "%s", kana);
    snprintf(r.address, sizeof r.address, "大阪府枚方市%d番", i);
    assert_int_equal(jk_date_parse(birth, &r.birth), JK_OK);
    assert_int_equal(jk_date_parse("2020-04-01", &r.moved_on), JK_OK);
    r.sex = JK_SEX_FEMALE;
    r.reason = JK_MOVE_IN;
    r.status = status;
  }
  assert_int_equal(jk_store_holding_put(f->s, &r), JK_OK);
}

static void agency(fx *f, const char *id, const char *purposes, int rate) {
  jk_agency_rec a;
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, "%s", id);
  snprintf(a.name, sizeof a.name, "日本年金機構");
  snprintf(a.purposes, sizeof a.purposes, "%s", purposes);
  a.rate = rate;
  jk_utc_now(a.added_at, 0);
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  jk_ledger_entry en = {.operator_ = "test", .action = "agency.add", .object = id, .result = "ok"};
  assert_int_equal(jk_ledger_stage(f->l, &en), JK_OK);
  assert_int_equal(jk_store_agency_put(f->s, &a), JK_OK);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  tu_store_new(&f->t);
  assert_int_equal(jk_store_open(&f->s, f->t.location, JK_STORE_CREATE), JK_OK);
  crypto_sign_keypair(f->pk, f->sk);
  jk_ledger_signer sg = {soft_sign, f};
  assert_int_equal(jk_ledger_open(&f->l, f->s, "131016-test", &sg), JK_OK);
  assert_int_equal(jk_purposes_parse(&f->table, TABLE, sizeof TABLE - 1), JK_OK);
  for (int i = 0; i < 4; i++) {
    snprintf(f->code[i], sizeof f->code[i], "10000000%02d", i);
    f->code[i][10] = (char)('0' + jk_rescode_check_digit(f->code[i]));
    f->code[i][11] = '\0';
  }
  /* 0: one resident; 1 and 2: the same kana, birth and sex in two cities; 3: erased */
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  jk_ledger_entry en = {.operator_ = "test", .action = "sync.apply", .result = "ok"};
  assert_int_equal(jk_ledger_stage(f->l, &en), JK_OK);
  holding(f, 0, "272108-a", "ヤマダ　ハナコ", "1980-04-01", JK_STATUS_ACTIVE);
  holding(f, 1, "272108-a", "ドウメイ ハナコ", "1990-05-05", JK_STATUS_ACTIVE);
  holding(f, 2, "272230-b", "ドウメイ ハナコ", "1990-05-05", JK_STATUS_ACTIVE);
  holding(f, 3, "272108-a", "", "", JK_HOLDING_ERASED);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
  agency(f, "mhlw-nenkin", "B1-77,B1-74", 100000);
  agency(f, "slow", "B1-77", 2);
  pthread_mutex_init(&f->mu, NULL);
  jk_provision_hooks hooks = {.lock = lock_fx, .unlock = unlock_fx, .payload = f};
  assert_int_equal(jk_provision_service_new(&f->svc, f->s, f->l, f->table, &hooks), JK_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  jk_provision_service_free(f->svc);
  pthread_mutex_destroy(&f->mu);
  jk_purposes_free(f->table);
  jk_ledger_close(f->l);
  jk_store_close(f->s);
  tu_store_free(&f->t);
  free(f);
  return 0;
}

/* One request; the answer parsed into *out (decref it). Returns the status. */
static unsigned ask(fx *f, const char *client, const char *role, const char *body, json_t **out) {
  jk_provision_request r = {.client = client, .role = role, .addr = "127.0.0.1:5555", .body = body,
                            .len = strlen(body)};
  unsigned status;
  char *b;
  size_t n;
  assert_int_equal(jk_provision_handle(f->svc, &r, &status, &b, &n), JK_OK);
  json_error_t je;
  json_t *a = json_loadb(b, n, 0, &je);
  assert_non_null(a);
  jk_free(b);
  if (out) *out = a;
  else json_decref(a);
  return status;
}

static char *by_code(const char *purpose, const char *code) {
  static _Thread_local char buf[128]; /* callers in many threads */
  snprintf(buf, sizeof buf, "{\"purpose\":\"%s\",\"code\":\"%s\"}", purpose, code);
  return buf;
}

typedef struct counter {
  const char *result; /* NULL = every row */
  int64_t n;
  jk_provision_rec last;
} counter;

static int on_row(const jk_provision_rec *r, void *p) {
  counter *c = p;
  if (!c->result || strcmp(c->result, r->result) == 0) {
    c->n++;
    c->last = *r;
  }
  return 0;
}

static int64_t count_rows(fx *f, const char *result) {
  counter c = {.result = result};
  lock_fx(f);
  assert_int_equal(jk_store_provision_each(f->s, NULL, on_row, &c), JK_OK);
  unlock_fx(f);
  return c.n;
}

static int64_t ledger_actions(fx *f) {
  int64_t n;
  lock_fx(f);
  assert_int_equal(jk_ledger_size(f->l, &n), JK_OK);
  unlock_fx(f);
  return n;
}

/* The ledger is intact, and every entry is under a signed head or waits for one (D15). */
static void verify_all(fx *f) {
  jk_ledger_report rep;
  lock_fx(f);
  assert_int_equal(jk_ledger_verify(f->l, f->pk, &rep), JK_OK);
  unlock_fx(f);
}

/* The newest signed head's size and the number of entries. */
static void head_and_size(fx *f, int64_t *head, int64_t *size) {
  jk_ledger_head_row h;
  lock_fx(f);
  assert_int_equal(jk_store_ledger_head_latest(f->s, &h), JK_OK);
  assert_int_equal(jk_ledger_size(f->l, size), JK_OK);
  unlock_fx(f);
  *head = h.size;
}

static void test_answers_only_the_purposes_fields(void **state) {
  fx *f = *state;
  json_t *a;
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", f->code[0]), &a), 200);
  json_t *r = json_object_get(a, "resident");
  assert_int_equal(json_object_size(r), 5);
  assert_string_equal(json_string_value(json_object_get(r, "name")), "住民 0");
  assert_string_equal(json_string_value(json_object_get(r, "birth")), "1980-04-01");
  assert_string_equal(json_string_value(json_object_get(r, "sex")), "女");
  assert_null(json_object_get(r, "code")); /* never the 住民票コード */
  char *dump = json_dumps(a, 0);
  assert_null(strstr(dump, f->code[0]));
  free(dump);
  json_int_t first = json_integer_value(json_object_get(a, "provision"));
  assert_true(first >= 1);
  json_decref(a);
  /* B1-74 of this table gives the name and the address only */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-74", f->code[0]), &a), 200);
  r = json_object_get(a, "resident");
  assert_int_equal(json_object_size(r), 2);
  assert_non_null(json_object_get(r, "name"));
  assert_non_null(json_object_get(r, "address"));
  assert_true(json_integer_value(json_object_get(a, "provision")) > first);
  json_decref(a);
  /* the record: who, for what, which resident, which fields */
  counter seen = {0};
  lock_fx(f);
  assert_int_equal(jk_store_provision_each(f->s, f->code[0], on_row, &seen), JK_OK);
  unlock_fx(f);
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.last.agency, "mhlw-nenkin");
  assert_string_equal(seen.last.purpose, "B1-74");
  assert_string_equal(seen.last.fields, "name,address");
  assert_string_equal(seen.last.result, "ok");
}

static void test_held_back_like_unknown(void **state) {
  fx *f = *state;
  json_t *a, *b;
  char unknown[12] = "9999999999";
  unknown[10] = (char)('0' + jk_rescode_check_digit(unknown));
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", f->code[3]), &a), 404); /* erased */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", unknown), &b), 404);
  json_object_del(a, "provision");
  json_object_del(b, "provision");
  assert_true(json_equal(a, b)); /* the same answer: a refusal reveals nothing */
  json_decref(a);
  json_decref(b);
  assert_int_equal(count_rows(f, "NOTFOUND"), 2);
}

static void test_name_search(void **state) {
  fx *f = *state;
  json_t *a;
  /* hiragana, half-width and 和暦 are the same name and date */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency",
                       "{\"purpose\":\"B1-77\",\"kana\":\"やまだ はなこ\",\"birth\":\"昭和55年4月1日\",\"sex\":\"女\"}", &a),
                   200);
  assert_string_equal(json_string_value(json_object_get(json_object_get(a, "resident"), "name")), "住民 0");
  json_decref(a);
  /* two people: nothing but that */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency",
                       "{\"purpose\":\"B1-77\",\"kana\":\"ドウメイ　ハナコ\",\"birth\":\"1990-05-05\",\"sex\":\"女\"}", &a),
                   200);
  assert_string_equal(json_string_value(json_object_get(a, "result")), "ambiguous");
  assert_null(json_object_get(a, "resident"));
  assert_int_equal(json_object_size(a), 3);
  json_decref(a);
  assert_int_equal(count_rows(f, "AMBIGUOUS"), 1);
  /* the address tells them apart */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency",
                       "{\"purpose\":\"B1-77\",\"kana\":\"ドウメイ ハナコ\",\"birth\":\"1990-05-05\",\"sex\":\"女\","
                       "\"address\":\"大阪府枚方市2番\"}",
                       &a),
                   200);
  assert_string_equal(json_string_value(json_object_get(json_object_get(a, "resident"), "name")), "住民 2");
  json_decref(a);
  /* another sex: nobody */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency",
                       "{\"purpose\":\"B1-77\",\"kana\":\"ヤマダ ハナコ\",\"birth\":\"1980-04-01\",\"sex\":\"男\"}", NULL),
                   404);
}

static void test_refusals_recorded(void **state) {
  fx *f = *state;
  int64_t before = ledger_actions(f);
  json_t *a;
  const char *why[][4] = {
      /* client, role, body, status */
      {"272108-a", "municipal", NULL, "403"},                           /* a municipality's certificate */
      {"nobody", "agency", NULL, "403"},                                /* not registered */
      {"mhlw-nenkin", "agency", "{\"purpose\":\"B1-01\",\"code\":\"X\"}", "400"}, /* bad code */
      {"mhlw-nenkin", "agency", "{\"purpose\":\"B1-01\"}", "400"},      /* nobody named */
      {"mhlw-nenkin", "agency", "{\"purpose\":\"B6-99\",\"code\":\"C\"}", "400"},
      {"mhlw-nenkin", "agency", "not json", "400"},
  };
  for (size_t i = 0; i < sizeof why / sizeof *why; i++) {
    const char *body = why[i][2] ? why[i][2] : by_code("B1-77", f->code[0]);
    char fixed[128];
    if (why[i][2] && strstr(body, "\"C\"")) { /* an unknown purpose with a valid code */
      snprintf(fixed, sizeof fixed, "{\"purpose\":\"B6-99\",\"code\":\"%s\"}", f->code[0]);
      body = fixed;
    }
    unsigned st = ask(f, why[i][0], why[i][1], body, &a);
    assert_int_equal(st, (unsigned)strtoul(why[i][3], NULL, 10));
    assert_null(json_object_get(a, "resident"));
    assert_non_null(json_object_get(a, "error"));
    json_decref(a);
  }
  /* a purpose of the table the agency is not registered for */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-01", f->code[0]), &a), 403);
  assert_non_null(strstr(json_string_value(json_object_get(json_object_get(a, "error"), "message")), "B1-01"));
  json_decref(a);
  assert_int_equal(count_rows(f, "PERM"), 3);
  assert_int_equal(count_rows(f, "INVALID"), 4);
  assert_int_equal(ledger_actions(f) - before, 7); /* one entry each */
  verify_all(f);
}

static void test_rate_limit(void **state) {
  fx *f = *state;
  int ok = 0, busy = 0;
  for (int i = 0; i < 5; i++) {
    unsigned st = ask(f, "slow", "agency", by_code("B1-77", f->code[0]), NULL);
    if (st == 200) ok++;
    if (st == 429) busy++;
  }
  assert_true(ok >= 2 && ok <= 3); /* a bucket of 2, refilled at 2/s */
  assert_int_equal(ok + busy, 5);
  assert_int_equal(count_rows(f, "BUSY"), busy);
}

/* A resident's restrictions, as their municipality sent them: a 支援措置 holds every query for
 * review, a stopped purpose is not answered — both like "no match", recorded as such. */
static void test_restrictions(void **state) {
  fx *f = *state;
  jk_restriction_rec r;
  memset(&r, 0, sizeof r);
  snprintf(r.code, sizeof r.code, "%s", f->code[0]);
  snprintf(r.source, sizeof r.source, "272108-a");
  r.seq = 9;
  assert_int_equal(jk_date_parse("2026-11-01", &r.since), JK_OK);
  snprintf(r.purposes, sizeof r.purposes, "B1-74");
  jk_restriction_rec other = r; /* another municipality's row does not count */
  snprintf(other.source, sizeof other.source, "272230-b");
  other.protect = true;
  assert_int_equal(jk_date_parse("2027-11-01", &other.until), JK_OK);
  lock_fx(f);
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  jk_ledger_entry en = {.operator_ = "test", .action = "sync.apply", .result = "ok"};
  assert_int_equal(jk_ledger_stage(f->l, &en), JK_OK);
  assert_int_equal(jk_store_restriction_put(f->s, &r), JK_OK);
  assert_int_equal(jk_store_restriction_put(f->s, &other), JK_OK);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
  unlock_fx(f);
  json_t *a, *b;
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", f->code[0]), NULL), 200);
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-74", f->code[0]), &a), 404);
  assert_int_equal(count_rows(f, "STOPPED"), 1);
  /* now protected: every purpose held for review, answered exactly like an unknown code */
  r.protect = true;
  r.seq = 10;
  assert_int_equal(jk_date_parse("2027-11-01", &r.until), JK_OK);
  lock_fx(f);
  assert_int_equal(jk_store_begin(f->s), JK_OK);
  assert_int_equal(jk_ledger_stage(f->l, &en), JK_OK);
  assert_int_equal(jk_store_restriction_put(f->s, &r), JK_OK);
  assert_int_equal(jk_store_commit(f->s), JK_OK);
  unlock_fx(f);
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", f->code[0]), &b), 404);
  char unknown[12] = "9999999999";
  unknown[10] = (char)('0' + jk_rescode_check_digit(unknown));
  json_t *c;
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", unknown), &c), 404);
  json_object_del(b, "provision");
  json_object_del(c, "provision");
  assert_true(json_equal(b, c));
  json_decref(a);
  json_decref(b);
  json_decref(c);
  counter rv = {.result = "REVIEW"};
  lock_fx(f);
  assert_int_equal(jk_store_provision_each(f->s, NULL, on_row, &rv), JK_OK);
  unlock_fx(f);
  assert_int_equal(rv.n, 1);
  assert_string_equal(rv.last.code, f->code[0]); /* who was asked about, for the review */
  assert_string_equal(rv.last.fields, "");        /* nothing was given */
}

typedef struct worker {
  fx *f;
  int n, ok;
} worker;

static void *hammer(void *p) {
  worker *w = p;
  for (int i = 0; i < w->n; i++)
    if (ask(w->f, "mhlw-nenkin", "agency", by_code("B1-77", w->f->code[i % 3]), NULL) == 200) w->ok++;
  return NULL;
}

static void test_group_commit(void **state) {
  fx *f = *state;
  enum { THREADS = 16, EACH = 40 };
  pthread_t th[THREADS];
  worker w[THREADS];
  jk_provision_stats s0, s1;
  jk_provision_stats_get(f->svc, &s0);
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){f, EACH, 0};
    assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].ok, EACH);
  }
  jk_provision_stats_get(f->svc, &s1);
  assert_int_equal(s1.answers - s0.answers, THREADS * EACH);
  /* many callers shared commits (one would do if they all waited at once) */
  assert_true(s1.commits - s0.commits < THREADS * EACH);
  print_message("%d answers in %lu commits\n", THREADS * EACH, s1.commits - s0.commits);
  assert_int_equal(count_rows(f, "ok"), THREADS * EACH);
  verify_all(f);
}

/* D15: under load the groups leave their entries to a later head; the committer signs the tail
 * once the queries stop (within SEAL_MS, 100 ms), and at stop. */
static void test_head_signed_after_the_burst(void **state) {
  fx *f = *state;
  enum { THREADS = 8, EACH = 30 };
  pthread_t th[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){f, EACH, 0};
    assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  int64_t head = 0, size = 0;
  for (int i = 0; i < 100; i++) { /* 2 s at most; 0.1 s expected */
    head_and_size(f, &head, &size);
    if (head == size) break;
    struct timespec ms20 = {0, 20000000};
    nanosleep(&ms20, NULL);
  }
  assert_int_equal(head, size);
  assert_false(jk_ledger_unsigned_since(f->l, NULL));
  verify_all(f);
  /* one more answer, then the service stops at once: its entry is signed on the way out */
  assert_int_equal(ask(f, "mhlw-nenkin", "agency", by_code("B1-77", f->code[0]), NULL), 200);
  jk_provision_service_free(f->svc);
  f->svc = NULL;
  jk_ledger_head_row h;
  assert_int_equal(jk_store_ledger_head_latest(f->s, &h), JK_OK);
  assert_int_equal(jk_ledger_size(f->l, &size), JK_OK);
  assert_int_equal(h.size, size);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_answers_only_the_purposes_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_held_back_like_unknown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_name_search, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refusals_recorded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restrictions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_head_signed_after_the_burst, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
