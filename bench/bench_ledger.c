/*
 * bench_ledger — the operation log benchmarks (issue 3).
 *
 * 1. Append N entries (default 1,000,000) in batches of B (default 1,000) through
 *    jk_ledger_append (canonical encoding, leaf hash, frontier, cached subtrees, one tree head
 *    signed per batch on a SoftHSM2 token, durable commit per batch) against a raw SQLite
 *    insert of the same rows (the same column bytes, leaf hash precomputed and untimed) into a
 *    plain table, in the same batches, with the same WAL + synchronous=FULL settings.
 *    Alternating runs, median of R (default 3). Ratio = ledger rate / raw rate.
 * 2. Full verification of the N-entry ledger (jk_ledger_verify): entries/s, median of R.
 * 3. Inclusion proofs at N entries: Q random entries (default 2,000), median and p99.
 *
 *   bench_ledger [--entries N] [--batch B] [--runs R] [--queries Q] [--dir DIR]
 */
#include "benchutil.h"
#include "jukinet/i18n.h"
#include "jukinet/ledger.h"
#include "jukinet/store.h"
#include "jukinet/token.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the node key on a SoftHSM2 token, as on a real node ---- */

static jk_token *tok;

static jk_err token_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  (void)payload;
  return jk_token_sign(tok, "jukinet-node", msg, len, sig);
}

static void setup_token(const char *dir, uint8_t pk[32]) {
  char conf[1200], cmd[8000];
  snprintf(conf, sizeof conf, "%.1000s/softhsm2.conf", dir);
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/tokens' && printf 'directories.tokendir = %s/tokens\\nobjectstore.backend = file\\n"
                            "log.level = ERROR\\n' > '%s' && SOFTHSM2_CONF='%s' softhsm2-util --init-token --free "
                            "--label bench-node --so-pin 12345678 --pin 1234 >/dev/null",
           dir, dir, conf, conf);
  if (system(cmd) != 0) {
    fprintf(stderr, "bench_ledger: cannot make a SoftHSM2 token (softhsm2-util)\n");
    exit(1);
  }
  setenv("SOFTHSM2_CONF", conf, 1);
  if (jk_token_open(&tok, jk_token_default_module(), "bench-node") || jk_token_login(tok, "1234", 4) ||
      jk_token_generate_key(tok, "jukinet-node") || jk_token_public_key(tok, "jukinet-node", pk))
    die("token");
}

/* ---- the entries ---- */

static const char *actions[] = {"resident.show", "resident.search", "resident.add", "resident.move", "login"};

/* Objects are resident codes in random order, as at a real counter (a sequential pattern would
 * flatter the object index). */
static void entry_at(size_t i, jk_ledger_entry *e, char obj[16]) {
  uint64_t z = (uint64_t)i + 0x9e3779b97f4a7c15u;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  z ^= z >> 31;
  snprintf(obj, 16, "%011llu", (unsigned long long)(10000000000u + z % 89999999999u));
  *e = (jk_ledger_entry){.operator_ = i % 3 ? "clerk01" : "clerk02", .role = "operator",
                         .terminal = "cli:madoguchi-03:/dev/pts/1:uid1001", .action = actions[i % 5], .object = obj,
                         .result = i % 50 ? "ok" : "EPERM"};
}

static double run_ledger(const char *path, size_t n, size_t batch, jk_store **keep, jk_ledger **keep_l) {
  jk_store *s;
  jk_ledger *l;
  rm_db(path);
  if (jk_store_open(&s, path, JK_STORE_CREATE)) die("open");
  jk_ledger_signer sg = {token_sign, NULL};
  if (jk_ledger_open(&l, s, "272108-bench", &sg)) die("ledger");
  jk_ledger_entry *es = malloc(batch * sizeof *es);
  char (*objs)[16] = malloc(batch * 16);
  double t0 = now_s();
  for (size_t done = 0; done < n; done += batch) {
    size_t k = n - done < batch ? n - done : batch;
    for (size_t j = 0; j < k; j++) entry_at(done + j, &es[j], objs[j]);
    if (jk_ledger_append(l, es, k)) die("append");
  }
  double t = now_s() - t0;
  free(es);
  free(objs);
  if (keep) {
    *keep = s;
    *keep_l = l;
  } else {
    jk_ledger_close(l);
    jk_store_close(s);
  }
  return (double)n / t;
}

static void check(sqlite3 *db, int rc, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    fprintf(stderr, "bench_ledger: raw %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

static double run_raw(const char *path, size_t n, size_t batch) {
  sqlite3 *db;
  sqlite3_stmt *q;
  rm_db(path);
  check(NULL, sqlite3_open(path, &db), "open");
  check(db, sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE raw (seq INTEGER "
                             "PRIMARY KEY, at TEXT, operator TEXT, role TEXT, terminal TEXT, action TEXT, object TEXT, "
                             "result TEXT, detail BLOB, leaf BLOB)",
                         NULL, NULL, NULL),
        "schema");
  check(db, sqlite3_prepare_v2(db, "INSERT INTO raw VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &q, NULL),
        "prepare");
  /* the same bytes: precomputed, untimed */
  uint8_t (*leaves)[32] = malloc(n * 32);
  uint8_t detail[32];
  crypto_hash_sha256(detail, (const unsigned char *)"", 0);
  for (size_t i = 0; i < n; i++) crypto_hash_sha256(leaves[i], (const unsigned char *)&i, sizeof i);
  const char *at = "2026-11-23T10:00:00.000000Z";
  double t0 = now_s();
  for (size_t done = 0; done < n; done += batch) {
    size_t k = n - done < batch ? n - done : batch;
    check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
    for (size_t j = 0; j < k; j++) {
      jk_ledger_entry e;
      char obj[16];
      entry_at(done + j, &e, obj);
      sqlite3_bind_int64(q, 1, (sqlite3_int64)(done + j + 1));
      sqlite3_bind_text(q, 2, at, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 3, e.operator_, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 4, e.role, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 5, e.terminal, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 6, e.action, -1, SQLITE_STATIC);
      sqlite3_bind_text(q, 7, obj, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(q, 8, e.result, -1, SQLITE_STATIC);
      sqlite3_bind_blob(q, 9, detail, 32, SQLITE_STATIC);
      sqlite3_bind_blob(q, 10, leaves[done + j], 32, SQLITE_STATIC);
      check(db, sqlite3_step(q), "insert");
      sqlite3_reset(q);
    }
    check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
  }
  double t = now_s() - t0;
  sqlite3_finalize(q);
  sqlite3_close(db);
  free(leaves);
  return (double)n / t;
}

int main(int argc, char **argv) {
  size_t n = 1000000, batch = 1000, queries = 2000;
  int runs = 3;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--entries") == 0) n = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--batch") == 0) batch = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0) runs = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--queries") == 0) queries = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }
  if (n < 1 || batch < 1 || runs < 1 || runs > 50) {
    fprintf(stderr, "usage: bench_ledger [--entries N] [--batch B] [--runs R] [--queries Q] [--dir DIR]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  jk_lang_set(JK_LANG_EN);
  char tmpl[] = "/tmp/jukinet-bench-ledger-XXXXXX";
  char owned[1100];
  if (!dir) {
    if (!mkdtemp(tmpl)) return 1;
    dir = tmpl;
  }
  snprintf(owned, sizeof owned, "%s", dir);
  uint8_t pk[32];
  setup_token(owned, pk);
  char lpath[1200], rpath[1200];
  snprintf(lpath, sizeof lpath, "%s/ledger.db", owned);
  snprintf(rpath, sizeof rpath, "%s/raw.db", owned);

  printf("## ledger append: %zu entries in batches of %zu, median of %d (alternating runs)\n", n, batch, runs);
  double *lr = calloc((size_t)runs, sizeof *lr), *rr = calloc((size_t)runs, sizeof *rr);
  jk_store *s = NULL;
  jk_ledger *l = NULL;
  for (int r = 0; r < runs; r++) {
    rr[r] = run_raw(rpath, n, batch);
    lr[r] = run_ledger(lpath, n, batch, r == runs - 1 ? &s : NULL, r == runs - 1 ? &l : NULL);
    fprintf(stderr, "  run %d: ledger %.0f entries/s, raw %.0f rows/s\n", r + 1, lr[r], rr[r]);
  }
  double ml = median(lr, runs), mr = median(rr, runs);
  printf("ledger append (signed head per batch, durable): %.0f entries/s\n", ml);
  printf("raw SQLite insert of the same bytes:             %.0f rows/s\n", mr);
  printf("ratio ledger/raw: %.2f (target >= 0.5)\n", ml / mr);

  printf("## full verification of %zu entries, median of %d\n", n, runs);
  double *vr = calloc((size_t)runs, sizeof *vr);
  jk_ledger_report rep;
  for (int r = 0; r < runs; r++) {
    double t0 = now_s();
    if (jk_ledger_verify(l, pk, &rep)) die("verify");
    vr[r] = (double)rep.entries / (now_s() - t0);
  }
  printf("verification: %.0f entries/s (%lld entries, %lld signed heads)\n", median(vr, runs),
         (long long)rep.entries, (long long)rep.heads);

  printf("## inclusion proofs at %zu entries, %zu random entries\n", n, queries);
  double *pt = calloc(queries, sizeof *pt);
  jk_ledger_proof *p = malloc(sizeof *p);
  srand(7);
  for (size_t i = 0; i < queries; i++) {
    int64_t seq = 1 + (int64_t)((size_t)rand() % n);
    double t0 = now_s();
    if (jk_ledger_prove(l, seq, 0, p)) die("prove");
    pt[i] = (now_s() - t0) * 1000;
  }
  qsort(pt, queries, sizeof *pt, cmp_double);
  printf("inclusion proof (generate + check against the signed root): median %.3f ms, p99 %.3f ms\n",
         pt[queries / 2], pt[queries * 99 / 100]);
  free(p);
  jk_ledger_close(l);
  jk_store_close(s);
  jk_token_close(tok);
  rm_db(lpath);
  rm_db(rpath);
  free(lr);
  free(rr);
  free(vr);
  free(pt);
  if (dir == tmpl) {
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", owned);
    if (system(cmd) != 0) fprintf(stderr, "bench_ledger: could not remove %s\n", owned);
  }
  return 0;
}
