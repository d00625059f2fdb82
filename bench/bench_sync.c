/*
 * bench_sync — the sync engine without the network (issue 4): where the time of a notice goes.
 *
 * 1. Raw insert baseline of each store: N notice-shaped rows (source, seq, code, a 300-byte
 *    encoding, leaf) into a plain table shaped like notice_log (the same keys and index), in one
 *    transaction, through the backend's own API (sqlite3 / libpq) — what the store can do at
 *    best — against jk_store_notice_append of the same rows. Median of R runs; ratio.
 * 2. The engine in one process, SQLite at every tier: N residents imported at a municipality
 *    (each writing its notice to the outbox in the same transaction), then batches of 10,000
 *    municipality → prefecture → nation: the rate of each stage (build, verify + apply + receipt)
 *    and of the whole pipeline done in turn. Software Ed25519 keys (the token's signature is one
 *    per batch). Median of R runs.
 *
 *   bench_sync [--notices N] [--runs R] [--dir DIR] [--pg CONNINFO] [--raw-only 1]
 * N defaults to 100,000, R to 3. With --pg, the raw baseline and jk_store_notice_append also run
 * on that PostgreSQL database (in a schema of their own, dropped afterwards).
 */
#include "benchutil.h"
#include "jukinet/buf.h"
#include "jukinet/i18n.h"
#include "jukinet/ledger.h"
#include "jukinet/registry.h"
#include "jukinet/store.h"
#include "jukinet/sync.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_LEN 300
static const char *SRC = "272108-0123456789abcdef";

static void row_at(size_t i, char code[12], uint8_t enc[ENC_LEN], uint8_t leaf[32]) {
  uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15u + 1;
  z = (z ^ (z >> 31)) * 0xbf58476d1ce4e5b9u;
  snprintf(code, 12, "%011llu", (unsigned long long)(z % 100000000000u));
  for (size_t k = 0; k < ENC_LEN; k++) enc[k] = (uint8_t)(z >> (k % 56)) ^ (uint8_t)k;
  crypto_hash_sha256(leaf, enc, ENC_LEN);
}

static const char *TABLE_SQL = "CREATE TABLE raw_notice (source TEXT NOT NULL, seq INTEGER NOT NULL, code TEXT NOT NULL, "
                               "enc %s, leaf %s NOT NULL, PRIMARY KEY (source, seq));"
                               "CREATE INDEX raw_notice_code ON raw_notice(code);";

static double raw_sqlite(const char *path, size_t n) {
  sqlite3 *db;
  rm_db(path);
  if (sqlite3_open(path, &db) != SQLITE_OK) die("sqlite3_open");
  char sql[512];
  snprintf(sql, sizeof sql, TABLE_SQL, "BLOB", "BLOB");
  sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536", NULL, NULL, NULL);
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die("raw table");
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "INSERT INTO raw_notice VALUES (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL);
  char code[12];
  uint8_t enc[ENC_LEN], leaf[32];
  double t0 = now_s();
  sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  for (size_t i = 0; i < n; i++) {
    row_at(i, code, enc, leaf);
    sqlite3_bind_text(st, 1, SRC, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)i + 1);
    sqlite3_bind_text(st, 3, code, 11, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, enc, ENC_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, leaf, 32, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) die("raw insert");
    sqlite3_reset(st);
  }
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  double t = now_s() - t0;
  sqlite3_finalize(st);
  sqlite3_close(db);
  rm_db(path);
  return (double)n / t;
}

static void pg_quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

static void pg_ok(PGresult *r, const char *what) {
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
    fprintf(stderr, "bench_sync: %s: %s\n", what, PQresultErrorMessage(r));
    exit(1);
  }
  PQclear(r);
}

/* A connection to a fresh schema holding the raw table. */
static PGconn *pg_raw_table(const char *conninfo, const char *schema) {
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) die("PQconnectdb");
  PQsetNoticeProcessor(c, pg_quiet, NULL);
  char sql[512];
  snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s; SET search_path = %s", schema, schema,
           schema);
  pg_ok(PQexec(c, sql), "schema");
  snprintf(sql, sizeof sql, TABLE_SQL, "BYTEA", "BYTEA");
  pg_ok(PQexec(c, sql), "raw table");
  return c;
}

/* libpq, one prepared INSERT per row (one round trip each), in one transaction. */
static double raw_pg(const char *conninfo, const char *schema, size_t n) {
  PGconn *c = pg_raw_table(conninfo, schema);
  char sql[512];
  pg_ok(PQprepare(c, "ins", "INSERT INTO raw_notice VALUES ($1, $2, $3, $4, $5)", 5, NULL), "prepare");
  char code[12], seq[24];
  uint8_t enc[ENC_LEN], leaf[32];
  double t0 = now_s();
  pg_ok(PQexec(c, "BEGIN"), "begin");
  for (size_t i = 0; i < n; i++) {
    row_at(i, code, enc, leaf);
    snprintf(seq, sizeof seq, "%zu", i + 1);
    const char *v[5] = {SRC, seq, code, (const char *)enc, (const char *)leaf};
    int len[5] = {0, 0, 0, ENC_LEN, 32}, fmt[5] = {0, 0, 0, 1, 1};
    pg_ok(PQexecPrepared(c, "ins", 5, v, len, fmt, 0), "insert");
  }
  pg_ok(PQexec(c, "COMMIT"), "commit");
  double t = now_s() - t0;
  snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
  pg_ok(PQexec(c, sql), "drop");
  PQfinish(c);
  return (double)n / t;
}

/* libpq COPY FROM STDIN (text format): PostgreSQL's fastest way in, for scale. */
static double raw_pg_copy(const char *conninfo, const char *schema, size_t n) {
  PGconn *c = pg_raw_table(conninfo, schema);
  char sql[512];
  char code[12];
  uint8_t enc[ENC_LEN], leaf[32];
  char *line = malloc(64 + 2 * (ENC_LEN + 32) + 16);
  double t0 = now_s();
  pg_ok(PQexec(c, "BEGIN"), "begin");
  PGresult *r = PQexec(c, "COPY raw_notice FROM STDIN");
  if (PQresultStatus(r) != PGRES_COPY_IN) die("COPY");
  PQclear(r);
  for (size_t i = 0; i < n; i++) {
    row_at(i, code, enc, leaf);
    int k = snprintf(line, 64, "%s\t%zu\t%s\t\\\\x", SRC, i + 1, code);
    for (size_t j = 0; j < ENC_LEN; j++) k += snprintf(line + k, 3, "%02x", enc[j]);
    k += snprintf(line + k, 8, "\t\\\\x");
    for (size_t j = 0; j < 32; j++) k += snprintf(line + k, 3, "%02x", leaf[j]);
    line[k++] = '\n';
    if (PQputCopyData(c, line, k) != 1) die("PQputCopyData");
  }
  if (PQputCopyEnd(c, NULL) != 1) die("PQputCopyEnd");
  pg_ok(PQgetResult(c), "copy");
  pg_ok(PQexec(c, "COMMIT"), "commit");
  double t = now_s() - t0;
  free(line);
  snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
  pg_ok(PQexec(c, sql), "drop");
  PQfinish(c);
  return (double)n / t;
}

static double store_append(const char *location, size_t n) {
  jk_store *s;
  if (jk_store_open(&s, location, JK_STORE_CREATE)) die("jk_store_open");
  char code[12];
  uint8_t enc[ENC_LEN];
  jk_notice_row row = {.source = SRC, .code = code, .enc = enc, .enc_len = ENC_LEN};
  double t0 = now_s();
  if (jk_store_begin(s)) die("begin");
  for (size_t i = 0; i < n; i++) {
    row_at(i, code, enc, row.leaf);
    row.seq = (int64_t)i + 1;
    if (jk_store_notice_append(s, &row)) die("jk_store_notice_append");
  }
  if (jk_store_commit(s)) die("commit");
  double t = now_s() - t0;
  jk_store_close(s);
  return (double)n / t;
}

/* The same rows through jk_store_notice_append_many, 10,000 per call (what a receiver does). */
static double store_append_many(const char *location, size_t n) {
  jk_store *s;
  if (jk_store_open(&s, location, JK_STORE_CREATE)) die("jk_store_open");
  enum { CHUNK = 10000 };
  jk_notice_row *rows = malloc(CHUNK * sizeof *rows);
  char(*codes)[12] = malloc(CHUNK * 12);
  uint8_t(*encs)[ENC_LEN] = malloc((size_t)CHUNK * ENC_LEN);
  double t0 = now_s();
  if (jk_store_begin(s)) die("begin");
  for (size_t i = 0; i < n; i += CHUNK) {
    size_t k = n - i < CHUNK ? n - i : CHUNK;
    for (size_t j = 0; j < k; j++) {
      rows[j] = (jk_notice_row){.source = SRC, .seq = (int64_t)(i + j) + 1, .code = codes[j], .enc = encs[j],
                                .enc_len = ENC_LEN};
      row_at(i + j, codes[j], encs[j], rows[j].leaf);
    }
    if (jk_store_notice_append_many(s, rows, k)) die("jk_store_notice_append_many");
  }
  if (jk_store_commit(s)) die("commit");
  double t = now_s() - t0;
  free(rows);
  free(codes);
  free(encs);
  jk_store_close(s);
  return (double)n / t;
}

/* ---- the engine, in one process ---- */

typedef struct tnode {
  jk_store *s;
  jk_ledger *l;
  uint8_t pk[32], sk[64];
  char id[64], lg[8];
  jk_sync_ctx ctx;
  jk_sync_sender *snd;
} tnode;

static jk_err soft_sign(const void *m, size_t n, uint8_t sig[64], void *p) {
  crypto_sign_detached(sig, NULL, m, n, ((tnode *)p)->sk);
  return JK_OK;
}

static void node_up(tnode *t, const char *path, const char *id, const char *lg, jk_tier tier) {
  rm_db(path);
  memset(t, 0, sizeof *t);
  if (jk_store_open(&t->s, path, JK_STORE_CREATE)) die("open");
  crypto_sign_keypair(t->pk, t->sk);
  snprintf(t->id, sizeof t->id, "%s", id);
  snprintf(t->lg, sizeof t->lg, "%s", lg);
  jk_ledger_signer sg = {soft_sign, t};
  if (jk_ledger_open(&t->l, t->s, t->id, &sg)) die("ledger");
  if (tier == JK_TIER_MUNICIPAL && jk_outbox_attach(t->s, t->id)) die("outbox");
  t->ctx = (jk_sync_ctx){.store = t->s, .ledger = t->l, .node_id = t->id, .lgcode = t->lg, .tier = tier, .signer = sg,
                         .terminal = "bench"};
}

static void node_down(tnode *t) {
  jk_sync_sender_free(t->snd);
  jk_outbox_detach(t->s);
  jk_ledger_close(t->l);
  jk_store_close(t->s);
}

static jk_sync_peer peer_of(const tnode *t, const char *role) {
  jk_sync_peer p = {0};
  snprintf(p.node, sizeof p.node, "%s", t->id);
  snprintf(p.lgcode, sizeof p.lgcode, "%s", t->lg);
  snprintf(p.role, sizeof p.role, "%s", role);
  memcpy(p.pubkey, t->pk, 32);
  p.cert_pem = "-";
  return p;
}

/* Drain from → to; returns the seconds spent building batches (*build) and receiving (*recv). */
static void drain(tnode *from, tnode *to, const char *role, double *build, double *recv) {
  jk_sync_peer peer = peer_of(from, role);
  *build = *recv = 0;
  for (;;) {
    uint8_t *body;
    size_t len;
    double t0 = now_s();
    if (jk_sync_sender_next(from->snd, 0, &body, &len, NULL)) die("sender_next");
    double t1 = now_s();
    *build += t1 - t0;
    if (!body) return;
    jk_sync_answer a;
    jk_sync_receive(&to->ctx, &peer, body, len, &a);
    if (a.err) die("receive");
    if (jk_sync_sender_reply(from->snd, a.status, a.content_type, a.body, a.body_len)) die("reply");
    *recv += now_s() - t1;
    jk_free(a.body);
    jk_free(body);
  }
}

typedef struct stage_times {
  double import, build1, recv1, build2, recv2;
} stage_times;

static void engine_run(const char *dir, size_t n, stage_times *st) {
  char pa[1100], pp[1100], pn[1100];
  snprintf(pa, sizeof pa, "%.1000s/muni.db", dir);
  snprintf(pp, sizeof pp, "%.1000s/pref.db", dir);
  snprintf(pn, sizeof pn, "%.1000s/nation.db", dir);
  tnode a, p, na;
  node_up(&a, pa, "272108-aaaaaaaaaaaaaaaa", "272108", JK_TIER_MUNICIPAL);
  node_up(&p, pp, "270008-cccccccccccccccc", "270008", JK_TIER_PREFECTURAL);
  node_up(&na, pn, "131016-dddddddddddddddd", "131016", JK_TIER_NATIONAL);
  jk_buf csv = {0};
  jk_buf_appends(&csv, "氏名,氏名かな,生年月日,性別,住所,異動事由\n");
  for (size_t i = 0; i < n; i++)
    jk_buf_appendf(&csv, "枚方　太郎%zu,ヒラカタ　タロウ,1980-04-01,男,大阪府枚方市大垣内町2丁目%zu番%zu号,転入\n", i,
                   i % 40 + 1, i % 97 + 1);
  jk_ledger_entry le = {.operator_ = "clerk01", .role = "operator", .terminal = "bench", .action = "resident.import",
                        .object = "-", .result = "ok"};
  jk_import_result ir;
  double t0 = now_s();
  if (jk_ledger_stage(a.l, &le) || jk_registry_import_csv(a.s, csv.data, csv.len, &ir)) die("import");
  st->import = now_s() - t0;
  jk_buf_free(&csv);
  /* the nation knows 枚方市 (as it would from the prefecture's POST /sync/v1/peer) */
  jk_sync_peer pm = peer_of(&a, "municipal");
  le.action = "sync.peer";
  if (jk_store_begin(na.s) || jk_sync_peer_note(&na.ctx, &pm) || jk_ledger_stage(na.l, &le) || jk_store_commit(na.s))
    die("peer");
  if (jk_sync_sender_new(&a.snd, &a.ctx, p.id, p.pk) || jk_sync_sender_new(&p.snd, &p.ctx, na.id, na.pk)) die("sender");
  drain(&a, &p, "municipal", &st->build1, &st->recv1);
  drain(&p, &na, "prefectural", &st->build2, &st->recv2);
  int64_t got;
  if (jk_store_notice_size(na.s, a.id, &got) || got != (int64_t)n) die("the nation does not hold every notice");
  node_down(&a);
  node_down(&p);
  node_down(&na);
  rm_db(pa);
  rm_db(pp);
  rm_db(pn);
}

int main(int argc, char **argv) {
  size_t n = 100000;
  int runs = 3;
  const char *dir = "/tmp", *pg = NULL;
  bool raw_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--notices") == 0) n = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0) runs = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    else if (strcmp(argv[i], "--pg") == 0) pg = argv[i + 1];
    else if (strcmp(argv[i], "--raw-only") == 0) raw_only = strcmp(argv[i + 1], "0") != 0;
    else {
      fprintf(stderr, "usage: bench_sync [--notices N] [--runs R] [--dir DIR] [--pg CONNINFO] [--raw-only 1]\n");
      return 2;
    }
  }
  if (n == 0 || runs < 1 || runs > 50 || sodium_init() < 0) return 2;
  jk_lang_set(JK_LANG_EN);
  char path[1100];
  snprintf(path, sizeof path, "%.1000s/bench-sync-%d.db", dir, (int)getpid());
  double raw[50], app[50], rawp[50], appp[50], copyp[50], manyp[50];
  for (int r = 0; r < runs; r++) {
    raw[r] = raw_sqlite(path, n);
    rm_db(path);
    app[r] = store_append(path, n);
    rm_db(path);
    if (pg) {
      char schema[64], loc[1400];
      snprintf(schema, sizeof schema, "bench_raw_%d", (int)getpid());
      rawp[r] = raw_pg(pg, schema, n);
      copyp[r] = raw_pg_copy(pg, schema, n);
      snprintf(schema, sizeof schema, "bench_store_%d", (int)getpid());
      PGconn *c = PQconnectdb(pg);
      PQsetNoticeProcessor(c, pg_quiet, NULL);
      char sql[256];
      snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema, schema);
      pg_ok(PQexec(c, sql), "schema");
      snprintf(loc, sizeof loc, "postgresql:%.1200s options=-csearch_path=%s", pg, schema);
      appp[r] = store_append(loc, n);
      snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE; CREATE SCHEMA %s", schema, schema);
      pg_ok(PQexec(c, sql), "schema again");
      manyp[r] = store_append_many(loc, n);
      snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", schema);
      pg_ok(PQexec(c, sql), "drop");
      PQfinish(c);
    }
  }
  printf("## sync: notice log appends, %zu rows of %d bytes in one transaction, median of %d\n", n, ENC_LEN, runs);
  double mr = median(raw, runs), ma = median(app, runs);
  printf("sqlite raw insert (sqlite3, same keys): %.0f rows/s; jk_store_notice_append: %.0f rows/s; ratio %.2f\n", mr, ma,
         ma / mr);
  if (pg) {
    double pr = median(rawp, runs), pa = median(appp, runs);
    printf("postgresql raw insert (libpq, one round trip per row): %.0f rows/s; jk_store_notice_append: %.0f rows/s; "
           "ratio %.2f\n", pr, pa, pa / pr);
    printf("postgresql raw COPY (the fastest way in): %.0f rows/s; jk_store_notice_append_many (10,000 per call, as a "
           "receiver): %.0f rows/s; ratio %.2f\n", median(copyp, runs), median(manyp, runs),
           median(manyp, runs) / median(copyp, runs));
  }
  if (raw_only) return 0;
  double imp[50], s1[50], s2[50], s3[50], s4[50], all[50];
  for (int r = 0; r < runs; r++) {
    stage_times st;
    engine_run(dir, n, &st);
    imp[r] = (double)n / st.import;
    s1[r] = (double)n / st.build1;
    s2[r] = (double)n / st.recv1;
    s3[r] = (double)n / st.build2;
    s4[r] = (double)n / st.recv2;
    all[r] = (double)n / (st.build1 + st.recv1 + st.build2 + st.recv2);
  }
  printf("## sync engine in one process (SQLite, no TLS), %zu notices, median of %d\n", n, runs);
  printf("municipality: import with outbox %.0f residents/s; build batches %.0f notices/s\n", median(imp, runs),
         median(s1, runs));
  printf("prefecture: verify + apply + receipt %.0f notices/s; build forwarded batches %.0f notices/s\n",
         median(s2, runs), median(s3, runs));
  printf("nation: verify + apply + receipt %.0f notices/s\n", median(s4, runs));
  printf("the four stages one after another: %.0f notices/s\n", median(all, runs));
  return 0;
}
