/*
 * test_ledger.c — the operation log: staging with commits, group commit, verification of
 * every kind of tampering (REQ-ACCESS-11-3), proofs, time ranges, bundles.
 *
 * The node's token signer is exercised end to end by the CLI tests (SoftHSM2); here the
 * ledger is given an Ed25519 key held by libsodium, which signs the same bytes.
 */
#include "testutil.h"

#include "jukinet/store.h"

#include "jukinet/ledger.h"
#include "jukinet/merkle.h"

#include <pthread.h>
#include <sodium.h>

#define JK_STOREFX_NO_FIXTURE
#include "storefx.h" /* SQLite, or PostgreSQL with JK_TEST_STORE */

typedef struct lfx {
  struct {
    char *dir;
    jk_store *s;
  } base;
  jk_ledger *l;
  uint8_t pk[32], sk[64];
  tu_store t;
  const char *path; /* the store location */
  int fail_sign;
} lfx;

static jk_err soft_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  lfx *f = payload;
  if (f->fail_sign) return jk_error_set(JK_ECRYPTO, "signing refused (test)");
  crypto_sign_detached(sig, NULL, msg, len, f->sk);
  return JK_OK;
}

static int lsetup(void **state) {
  assert_true(sodium_init() >= 0);
  lfx *f = calloc(1, sizeof *f);
  tu_store_new(&f->t);
  f->base.dir = f->t.dir;
  f->path = f->t.location;
  assert_int_equal(jk_store_open(&f->base.s, f->path, JK_STORE_CREATE), JK_OK);
  crypto_sign_keypair(f->pk, f->sk);
  jk_ledger_signer sg = {soft_sign, f};
  assert_int_equal(jk_ledger_open(&f->l, f->base.s, "272108-test", &sg), JK_OK);
  jk_lang_set(JK_LANG_EN);
  *state = f;
  return 0;
}

static int lteardown(void **state) {
  lfx *f = *state;
  jk_ledger_close(f->l);
  jk_store_close(f->base.s);
  tu_store_free(&f->t);
  free(f);
  return 0;
}

static void record(lfx *f, const char *action, const char *object) {
  jk_ledger_entry e = {.operator_ = "clerk01", .role = "operator", .terminal = "test", .action = action,
                       .object = object, .result = "ok", .detail = "d", .detail_len = 1};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_ledger_flush(f->l), JK_OK);
}

static void record_n(lfx *f, int n) {
  char obj[32];
  for (int i = 0; i < n; i++) {
    snprintf(obj, sizeof obj, "obj%d", i + 1);
    record(f, "resident.show", obj);
  }
}

static int64_t size_of(lfx *f) {
  int64_t n = -1;
  assert_int_equal(jk_ledger_size(f->l, &n), JK_OK);
  return n;
}

static jk_err verify(lfx *f, jk_ledger_report *r) { return jk_ledger_verify(f->l, f->pk, r); }

/* Tamper with the store through a second connection, as an editor with the sqlite3 CLI or psql
 * would. sql_pg: the PostgreSQL spelling when it differs (NULL: the same). */
static void tamper2(lfx *f, const char *sql, const char *sql_pg) {
  const char *q = tu_is_pg() && sql_pg ? sql_pg : sql;
  if (tu_raw_exec(&f->t, q) != TU_RAW_OK) fail_msg("tamper failed: %s", q);
}
#define tamper(f, sql) tamper2((f), (sql), NULL)

static const char *drop_triggers_sqlite =
    "DROP TRIGGER ledger_append_only_u; DROP TRIGGER ledger_append_only_d; "
    "DROP TRIGGER ledger_head_append_only_u; DROP TRIGGER ledger_head_append_only_d; "
    "DROP TRIGGER ledger_subtree_append_only_u; DROP TRIGGER ledger_subtree_append_only_d;";
static const char *drop_triggers_pg =
    "DROP TRIGGER ledger_append_only_u ON ledger; DROP TRIGGER ledger_append_only_d ON ledger; "
    "DROP TRIGGER ledger_head_append_only_u ON ledger_head; DROP TRIGGER ledger_head_append_only_d ON ledger_head; "
    "DROP TRIGGER ledger_subtree_append_only_u ON ledger_subtree; "
    "DROP TRIGGER ledger_subtree_append_only_d ON ledger_subtree;";
#define tamper_drop_triggers(f) tamper2((f), drop_triggers_sqlite, drop_triggers_pg)

static void test_record_and_verify(void **state) {
  lfx *f = *state;
  record_n(f, 10);
  assert_int_equal(size_of(f), 10);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
  assert_int_equal(r.entries, 10);
  assert_int_equal(r.heads, 10);
  assert_int_equal(r.first_bad, 0);
  /* a wrong public key fails on the first head */
  uint8_t other[32], osk[64];
  crypto_sign_keypair(other, osk);
  assert_int_equal(jk_ledger_verify(f->l, other, &r), JK_ECORRUPT);
  assert_int_equal(r.bad_head, 1);
  assert_int_equal(r.first_bad, 1);
}

static void test_triggers_refuse_edits(void **state) {
  lfx *f = *state;
  record_n(f, 3);
  assert_int_equal(tu_raw_exec(&f->t, "UPDATE ledger SET object = 'x' WHERE seq = 2"), TU_RAW_CONSTRAINT);
  assert_int_equal(tu_raw_exec(&f->t, "DELETE FROM ledger WHERE seq = 3"), TU_RAW_CONSTRAINT);
  assert_int_equal(tu_raw_exec(&f->t, "DELETE FROM ledger_head"), TU_RAW_CONSTRAINT);
  if (tu_is_pg()) { /* TRUNCATE skips row triggers: statement triggers refuse it */
    assert_int_equal(tu_raw_exec(&f->t, "TRUNCATE ledger"), TU_RAW_CONSTRAINT);
    assert_int_equal(tu_raw_exec(&f->t, "TRUNCATE ledger_head"), TU_RAW_CONSTRAINT);
  }
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
}

static void test_edited_row_is_named(void **state) {
  lfx *f = *state;
  record_n(f, 20);
  tamper_drop_triggers(f);
  tamper(f, "UPDATE ledger SET object = 'someone else' WHERE seq = 7");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 7);
  assert_non_null(strstr(r.message, "7"));
  assert_non_null(strstr(r.message, "modified"));
}

static void test_edited_row_with_recomputed_leaf(void **state) {
  lfx *f = *state;
  record_n(f, 20);
  tamper_drop_triggers(f);
  /* the editor also replaces the stored leaf hash: the signed root no longer matches */
  tamper(f, "UPDATE ledger SET leaf = (SELECT leaf FROM ledger WHERE seq = 8) WHERE seq = 9");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 9);
}

static void test_deleted_tail(void **state) {
  lfx *f = *state;
  record_n(f, 30);
  tamper_drop_triggers(f);
  tamper(f, "DELETE FROM ledger WHERE seq > 20");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 21);
  assert_int_equal(r.bad_head, 21);
  /* and the node refuses to write on top of a ledger that lost entries */
  jk_ledger_entry e = {.operator_ = "x", .action = "resident.show", .object = "-"};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_ledger_flush(f->l), JK_ECORRUPT);
  jk_ledger_discard(f->l);
}

static void test_deleted_middle(void **state) {
  lfx *f = *state;
  record_n(f, 30);
  tamper_drop_triggers(f);
  tamper(f, "DELETE FROM ledger WHERE seq = 12");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 12);
  assert_non_null(strstr(r.message, "missing"));
}

static void test_swapped_rows(void **state) {
  lfx *f = *state;
  record_n(f, 10);
  tamper_drop_triggers(f);
  /* swap every column but seq between entries 4 and 5 */
  tamper(f, "CREATE TEMP TABLE t AS SELECT * FROM ledger WHERE seq IN (4, 5);"
            "UPDATE ledger SET object = (SELECT object FROM t WHERE seq = 5), leaf = (SELECT leaf FROM t WHERE seq = 5),"
            " at = (SELECT at FROM t WHERE seq = 5) WHERE seq = 4;"
            "UPDATE ledger SET object = (SELECT object FROM t WHERE seq = 4), leaf = (SELECT leaf FROM t WHERE seq = 4),"
            " at = (SELECT at FROM t WHERE seq = 4) WHERE seq = 5;");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 4);
}

static void test_inserted_row(void **state) {
  lfx *f = *state;
  record_n(f, 5);
  tamper_drop_triggers(f);
  /* a forged entry appended after the last signed head, with a correct-looking leaf */
  tamper(f, "INSERT INTO ledger SELECT 6, at, operator, role, terminal, action, 'forged', result, detail, leaf "
            "FROM ledger WHERE seq = 5");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 6);
}

static void test_bad_head_signature(void **state) {
  lfx *f = *state;
  record_n(f, 6);
  tamper_drop_triggers(f);
  tamper2(f, "UPDATE ledger_head SET sig = zeroblob(64) WHERE size = 4",
          "UPDATE ledger_head SET sig = decode(repeat('00', 64), 'hex') WHERE size = 4");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.bad_head, 4);
  assert_non_null(strstr(r.message, "signature"));
}

static void test_bad_head_root(void **state) {
  lfx *f = *state;
  record_n(f, 6);
  tamper_drop_triggers(f);
  tamper2(f, "UPDATE ledger_head SET root = zeroblob(32) WHERE size = 3",
          "UPDATE ledger_head SET root = decode(repeat('00', 32), 'hex') WHERE size = 3");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.bad_head, 3);
  assert_int_equal(r.first_bad, 3);
}

static void test_commit_without_entry_refused(void **state) {
  lfx *f = *state;
  jk_store *s = f->base.s;
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_meta_set(s, "x", "y"), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_EPERM);
  char *v = NULL;
  assert_int_equal(jk_store_meta_get(s, "x", &v), JK_ENOTFOUND);
  /* with an entry, the change and its entry commit together */
  jk_ledger_entry e = {.operator_ = "admin01", .role = "system_admin", .action = "policy.set", .object = "-"};
  assert_int_equal(jk_store_begin(s), JK_OK);
  assert_int_equal(jk_store_meta_set(s, "x", "y"), JK_OK);
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_store_commit(s), JK_OK);
  assert_int_equal(size_of(f), 1);
  assert_int_equal(jk_store_meta_get(s, "x", &v), JK_OK);
  jk_free(v);
}

static void test_rollback_keeps_entry_staged(void **state) {
  lfx *f = *state;
  record_n(f, 3);
  jk_store *s = f->base.s;
  jk_ledger_entry e = {.operator_ = "clerk01", .action = "resident.add", .object = "-"};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_store_begin(s), JK_OK);
  jk_store_rollback(s); /* the operation failed */
  assert_int_equal(jk_ledger_stage_result(f->l, "EINVAL"), JK_OK);
  assert_int_equal(jk_ledger_flush(f->l), JK_OK); /* the failure is recorded */
  assert_int_equal(size_of(f), 4);
  /* a signer failure inside commit rolls back the whole transaction and the tree stays whole */
  f->fail_sign = 1;
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_ledger_flush(f->l), JK_ECRYPTO);
  jk_ledger_discard(f->l);
  f->fail_sign = 0;
  assert_int_equal(size_of(f), 4);
  record_n(f, 2);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
  assert_int_equal(r.entries, 6);
}

static int count_row(const jk_ledger_row *row, void *p) {
  (void)row;
  (*(int *)p)++;
  return 0;
}

static void test_object_late(void **state) {
  lfx *f = *state;
  char code[12] = "";
  jk_ledger_entry e = {.operator_ = "clerk01", .action = "resident.add", .object = "-", .object_late = code};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  memcpy(code, "12345678901", 12); /* filled by the operation before its commit */
  assert_int_equal(jk_ledger_flush(f->l), JK_OK);
  jk_ledger_query q = {.object = "12345678901"};
  int n = 0;
  assert_int_equal(jk_store_ledger_search(f->base.s, &q, count_row, &n), JK_OK);
  assert_int_equal(n, 1);
}

static void test_bad_fields(void **state) {
  lfx *f = *state;
  char big[JK_LEDGER_FIELD_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  jk_ledger_entry e = {.operator_ = big, .action = "x"};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_ETOOLARGE);
  jk_ledger_entry c = {.operator_ = "a\nb", .action = "x"};
  assert_int_equal(jk_ledger_stage(f->l, &c), JK_EINVAL);
  assert_int_equal(size_of(f), 0);
}

typedef struct thr {
  lfx *f;
  int n;
  jk_err err;
} thr;

static void *appender(void *arg) {
  thr *t = arg;
  for (int i = 0; i < t->n && !t->err; i++) {
    jk_ledger_entry e = {.operator_ = "t", .action = "resident.show", .object = "-"};
    t->err = jk_ledger_append(t->f->l, &e, 1);
  }
  return NULL;
}

static void test_group_commit(void **state) {
  lfx *f = *state;
  pthread_t th[4];
  thr t[4];
  for (int i = 0; i < 4; i++) {
    t[i] = (thr){f, 150, JK_OK};
    pthread_create(&th[i], NULL, appender, &t[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(t[i].err, JK_OK);
  }
  assert_int_equal(size_of(f), 600);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
  /* grouped: fewer heads than entries is what makes appends cheap (not asserted: timing) */
  assert_true(r.heads <= 600);
}

static void test_two_writers_share_a_db(void **state) {
  lfx *f = *state;
  jk_store *s2;
  jk_ledger *l2;
  assert_int_equal(jk_store_open(&s2, f->path, 0), JK_OK);
  jk_ledger_signer sg = {soft_sign, f};
  assert_int_equal(jk_ledger_open(&l2, s2, "272108-test", &sg), JK_OK);
  for (int i = 0; i < 300; i++) { /* alternate: each must notice the other's appends */
    jk_ledger_entry e = {.operator_ = i % 2 ? "a" : "b", .action = "resident.show", .object = "-"};
    jk_ledger *l = i % 2 ? f->l : l2;
    assert_int_equal(jk_ledger_stage(l, &e), JK_OK);
    assert_int_equal(jk_ledger_flush(l), JK_OK);
  }
  jk_ledger_close(l2);
  jk_store_close(s2);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
  assert_int_equal(r.entries, 300);
}

static void test_proofs(void **state) {
  lfx *f = *state;
  jk_ledger_entry e[100];
  for (int i = 0; i < 100; i++) e[i] = (jk_ledger_entry){.operator_ = "b", .action = "resident.show", .object = "-"};
  for (int b = 0; b < 12; b++) assert_int_equal(jk_ledger_append(f->l, e, 100), JK_OK); /* 1200: cached subtrees */
  record_n(f, 7);
  jk_ledger_proof *p = malloc(sizeof *p);
  for (int64_t seq = 1; seq <= 1207; seq += 37) {
    assert_int_equal(jk_ledger_prove(f->l, seq, 0, p), JK_OK);
    assert_int_equal(p->size, 1207);
    assert_true(jk_merkle_inclusion_verify((uint64_t)seq - 1, 1207, p->leaf, (const uint8_t(*)[32])p->path,
                                           p->path_len, p->head.root));
  }
  assert_int_equal(jk_ledger_prove(f->l, 5, 300, p), JK_OK); /* at an older signed head */
  assert_int_equal(jk_ledger_prove(f->l, 1208, 0, p), JK_ENOTFOUND);
  assert_int_equal(jk_ledger_prove(f->l, 5, 299, p), JK_ENOTFOUND); /* no head at 299 */
  free(p);
  jk_ledger_consistency *c = malloc(sizeof *c);
  assert_int_equal(jk_ledger_consistency_proof(f->l, 100, 1207, c), JK_OK);
  assert_true(jk_merkle_consistency_verify(100, 1207, c->old_head.root, c->new_head.root,
                                           (const uint8_t(*)[32])c->path, c->path_len));
  assert_int_equal(jk_ledger_consistency_proof(f->l, 150, 1207, c), JK_OK); /* not a signed size */
  assert_string_equal(c->old_head.at, "");
  assert_int_equal(jk_ledger_consistency_proof(f->l, 10, 5, c), JK_EINVAL);
  assert_int_equal(jk_ledger_consistency_proof(f->l, 10, 5000, c), JK_ENOTFOUND);
  free(c);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
}

static void test_subtree_cache_tamper(void **state) {
  lfx *f = *state;
  jk_ledger_entry e[300];
  for (int i = 0; i < 300; i++) e[i] = (jk_ledger_entry){.operator_ = "b", .action = "resident.show", .object = "-"};
  assert_int_equal(jk_ledger_append(f->l, e, 300), JK_OK);
  tamper_drop_triggers(f);
  tamper2(f, "UPDATE ledger_subtree SET hash = zeroblob(32)",
          "UPDATE ledger_subtree SET hash = decode(repeat('00', 32), 'hex')");
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 1);
}

static void test_time_range(void **state) {
  lfx *f = *state;
  record_n(f, 5);
  int64_t a, b;
  assert_int_equal(jk_ledger_time_range(f->l, NULL, NULL, &a, &b), JK_OK);
  assert_int_equal(a, 1);
  assert_int_equal(b, 5);
  assert_int_equal(jk_ledger_time_range(f->l, "2000-01-01", "2000-12-31", &a, &b), JK_OK);
  assert_true(a > b);
  assert_int_equal(jk_ledger_time_range(f->l, "2000-01-01", "9999", &a, &b), JK_OK);
  assert_int_equal(a, 1);
  assert_int_equal(b, 5);
  assert_int_equal(jk_ledger_time_range(f->l, "9000", NULL, &a, &b), JK_OK);
  assert_true(a > b);
}

/* Export to a memory file, return the bundle. */
static char *export_bundle(lfx *f, size_t *len) {
  char path[600];
  snprintf(path, sizeof path, "%s/bundle", f->base.dir);
  FILE *fp = fopen(path, "w+");
  assert_non_null(fp);
  assert_int_equal(jk_ledger_export(f->l, fileno(fp)), JK_OK);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  rewind(fp);
  char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
  buf[n] = '\0';
  fclose(fp);
  *len = (size_t)n;
  return buf;
}

static void test_bundle(void **state) {
  lfx *f = *state;
  record_n(f, 12);
  size_t len;
  char *b = export_bundle(f, &len);
  jk_ledger_report r;
  assert_int_equal(jk_ledger_check_bundle(b, len, f->pk, &r), JK_OK);
  assert_int_equal(r.entries, 12);
  /* the wrong key */
  uint8_t other[32], osk[64];
  crypto_sign_keypair(other, osk);
  assert_int_equal(jk_ledger_check_bundle(b, len, other, &r), JK_ECORRUPT);
  /* an edited field */
  char *p = strstr(b, "\"obj5\"");
  assert_non_null(p);
  p[4] = '9';
  assert_int_equal(jk_ledger_check_bundle(b, len, f->pk, &r), JK_ECORRUPT);
  assert_int_equal(r.first_bad, 5);
  p[4] = '5';
  /* cut short */
  assert_int_not_equal(jk_ledger_check_bundle(b, len / 2, f->pk, &r), JK_OK);
  /* not a bundle */
  assert_int_equal(jk_ledger_check_bundle("{}\n", 3, f->pk, &r), JK_EINVAL);
  assert_int_equal(jk_ledger_check_bundle("", 0, f->pk, &r), JK_EINVAL);
  free(b);
}


/* D15: a transaction that defers leaves its entries to the next signed head; they are durable,
 * verify reports them as a recent unsigned tail, a bundle stops at the newest head, and the
 * next head — another writer's, jk_ledger_seal's, or a later process's seal — covers them. */
static int64_t newest_head(lfx *f) {
  jk_ledger_head_row h;
  assert_int_equal(jk_store_ledger_head_latest(f->base.s, &h), JK_OK);
  return h.size;
}

static void record_deferred(lfx *f, jk_ledger *l, int n) {
  for (int i = 0; i < n; i++) {
    jk_ledger_entry e = {.operator_ = "agency", .action = "provision.answer", .object = "provision:1"};
    assert_int_equal(jk_store_begin(f->base.s), JK_OK);
    assert_int_equal(jk_ledger_stage(l, &e), JK_OK);
    jk_ledger_defer_seal(l, 60000);
    assert_int_equal(jk_store_commit(f->base.s), JK_OK);
  }
}

static void test_deferred_head(void **state) {
  lfx *f = *state;
  record_n(f, 3); /* signed: the last signature is recent, so what follows may defer */
  assert_false(jk_ledger_unsigned_since(f->l, NULL));
  record_deferred(f, f->l, 5);
  assert_int_equal(size_of(f), 8);
  assert_int_equal(newest_head(f), 3);
  int64_t since = 0;
  assert_true(jk_ledger_unsigned_since(f->l, &since));
  assert_true(since > 0);
  jk_ledger_report r;
  assert_int_equal(verify(f, &r), JK_OK);
  assert_int_equal(r.entries, 8);
  assert_int_equal(r.unsigned_tail, 5);
  assert_true(strlen(r.tail_at) >= 19);
  size_t len;
  char *b = export_bundle(f, &len); /* the bundle ends at the newest head, and checks */
  assert_int_equal(jk_ledger_check_bundle(b, len, f->pk, &r), JK_OK);
  assert_int_equal(r.entries, 3);
  assert_int_equal(r.unsigned_tail, 0);
  free(b);
  /* a transaction that does not defer signs everything */
  record(f, "resident.show", "x");
  assert_int_equal(newest_head(f), 9);
  assert_false(jk_ledger_unsigned_since(f->l, NULL));
  /* a deferral lasts one transaction */
  record_deferred(f, f->l, 1);
  record(f, "resident.show", "y");
  assert_int_equal(newest_head(f), 11);
  /* the seal: a head over the tail; nothing to do the second time; a failure leaves the tail */
  record_deferred(f, f->l, 2);
  assert_int_equal(newest_head(f), 11);
  f->fail_sign = 1;
  assert_int_equal(jk_ledger_seal(f->l), JK_ECRYPTO);
  assert_int_equal(newest_head(f), 11);
  assert_true(jk_ledger_unsigned_since(f->l, NULL));
  f->fail_sign = 0;
  assert_int_equal(jk_ledger_seal(f->l), JK_OK);
  assert_int_equal(newest_head(f), 13);
  assert_false(jk_ledger_unsigned_since(f->l, NULL));
  assert_int_equal(jk_ledger_seal(f->l), JK_OK);
  assert_int_equal(newest_head(f), 13);
  /* a tail left by a process that stopped (a crash): the next one seals it */
  record_deferred(f, f->l, 3);
  jk_store *s2;
  jk_ledger *l2;
  assert_int_equal(jk_store_open(&s2, f->path, 0), JK_OK);
  jk_ledger_signer sg = {soft_sign, f};
  assert_int_equal(jk_ledger_open(&l2, s2, "272108-test", &sg), JK_OK);
  assert_int_equal(jk_ledger_seal(l2), JK_OK);
  jk_ledger_close(l2);
  jk_store_close(s2);
  assert_int_equal(newest_head(f), 16);
  assert_int_equal(verify(f, &r), JK_OK);
  assert_int_equal(r.unsigned_tail, 0);
  /* that seal was another process's: this ledger's own seal finds nothing left, and says so
   * (a committer waiting for its tail must not spin on a tail someone else signed) */
  assert_true(jk_ledger_unsigned_since(f->l, NULL));
  assert_int_equal(jk_ledger_seal(f->l), JK_OK);
  assert_int_equal(newest_head(f), 16);
  assert_false(jk_ledger_unsigned_since(f->l, NULL));
  /* staged entries are committed, not sealed */
  jk_ledger_entry e = {.operator_ = "x", .action = "resident.show", .object = "-"};
  assert_int_equal(jk_ledger_stage(f->l, &e), JK_OK);
  assert_int_equal(jk_ledger_seal(f->l), JK_EINVAL);
  jk_ledger_discard(f->l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_record_and_verify, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_triggers_refuse_edits, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_edited_row_is_named, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_edited_row_with_recomputed_leaf, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_deleted_tail, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_deleted_middle, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_swapped_rows, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_inserted_row, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_bad_head_signature, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_bad_head_root, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_commit_without_entry_refused, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_rollback_keeps_entry_staged, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_object_late, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_bad_fields, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_group_commit, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_two_writers_share_a_db, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_proofs, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_subtree_cache_tamper, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_time_range, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_bundle, lsetup, lteardown),
      cmocka_unit_test_setup_teardown(test_deferred_head, lsetup, lteardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
