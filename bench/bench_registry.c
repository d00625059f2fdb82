/*
 * bench_registry — the foundation benchmarks (issue 2).
 *
 * 1. Import N synthetic residents (default 1,000,000) from CSV through jukinet
 *    (parse, validate, NFC, search keys, code assignment, households, indexes; one durable
 *    transaction) against two raw SQLite inserts of the same rows, with the same WAL +
 *    synchronous=FULL settings, one transaction, prepared statements, nothing validated:
 *    - raw-schema: the same final rows (codes, keys, households precomputed, untimed) into
 *      the same node schema: the storage work jukinet must do, without jukinet. This is the
 *      baseline of the ratio (docs/decisions.md D5 says why).
 *    - raw-plain: the CSV fields into one plain table without indexes, for scale.
 *    Alternating runs, median of R (default 5).
 * 2. Kana-prefix search over the N-resident node: Q random prefixes (1–4 characters taken
 *    from real residents' kana), 100 results each, through jk_registry_search; median, p99.
 *
 *   bench_registry [--rows N] [--runs R] [--queries Q] [--dir DIR]
 */
#include "jukinet/buf.h"
#include "jukinet/csv.h"
#include "jukinet/gen.h"
#include "benchutil.h"
#include "jukinet/i18n.h"
#include "jukinet/registry.h"
#include "jukinet/rescode.h"
#include "jukinet/text.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The CSV the import reads, generated once. */
static char *make_csv(size_t rows, size_t *len) {
  jk_gen *g;
  jk_buf b = {0};
  if (jk_gen_new(&g, 42, NULL, jk_date_today())) die("gen");
  jk_buf_appends(&b, "住民票コード,氏名,氏名かな,生年月日,性別,住所,世帯,続柄,異動事由,異動年月日\n");
  for (size_t i = 0; i < rows; i++) {
    jk_identity r;
    uint64_t hh;
    char birth[11], moved[11];
    if (jk_gen_next(g, &r, &hh)) die("gen");
    jk_date_format_iso(r.birth, birth);
    jk_date_format_iso(r.moved_on, moved);
    jk_buf_appendf(&b, ",%s,%s,%s,%s,%s,%llu,%s,%s,%s\n", r.name, r.kana, birth, jk_sex_name_ja(r.sex), r.address,
                   (unsigned long long)hh, r.relation ? r.relation : "", jk_move_name_ja(r.reason), moved);
  }
  jk_gen_free(g);
  return jk_buf_steal(&b, len);
}

static double run_jukinet(const char *dir, const char *csv, size_t len, size_t rows) {
  char path[1024];
  jk_store *s;
  jk_import_result res;
  snprintf(path, sizeof path, "%s/jukinet.db", dir);
  rm_db(path);
  if (jk_store_open(&s, path, JK_STORE_CREATE)) die("open");
  double t0 = now_s();
  if (jk_registry_import_csv(s, csv, len, &res)) die("import");
  double t = now_s() - t0;
  if (res.rows != rows) {
    fprintf(stderr, "bench: imported %zu rows, expected %zu\n", res.rows, rows);
    exit(1);
  }
  jk_store_close(s);
  return t;
}

/* Raw baseline: the same rows, pre-split (parsing is not timed), straight into SQLite. */
typedef struct rows_t {
  char *arena;
  const char **f; /* rows × 10 fields */
  size_t n;
} rows_t;

static rows_t split_rows(const char *csv, size_t len) {
  rows_t r = {0};
  jk_csv *c;
  const char *const *f;
  const size_t *l;
  size_t n, cap = 0, used = 0, nr = 0;
  if (jk_csv_new(&c, csv, len, NULL)) die("csv");
  jk_csv_next(c, &f, &l, &n); /* header */
  jk_buf arena = {0};
  size_t *offs = NULL;
  while (jk_csv_next(c, &f, &l, &n) == JK_OK) {
    if (used + 10 > cap) {
      cap = cap ? cap * 2 : 1 << 20;
      offs = realloc(offs, cap * sizeof *offs);
    }
    for (size_t i = 0; i < 10; i++) {
      offs[used++] = arena.len;
      jk_buf_append(&arena, f[i], l[i] + 1);
    }
    nr++;
  }
  jk_csv_free(c);
  r.arena = jk_buf_steal(&arena, NULL);
  r.f = malloc(used * sizeof *r.f);
  for (size_t i = 0; i < used; i++) r.f[i] = r.arena + offs[i];
  free(offs);
  r.n = nr;
  return r;
}

/* The rows as the node stores them, computed once (untimed) for the raw-schema baseline. */
typedef struct final_rows {
  char (*code)[12];
  char **keys; /* 3 per row: name, kana, address */
  char recorded_at[32];
} final_rows;

static final_rows finalize_rows(const rows_t *rows) {
  final_rows fr = {0};
  fr.code = calloc(rows->n, sizeof *fr.code);
  fr.keys = calloc(rows->n * 3, sizeof *fr.keys);
  for (size_t i = 0; i < rows->n; i++) {
    jk_rescode_random(fr.code[i]); /* collisions among 1M draws from 10^10 are resolved below */
    const char *const *f = &rows->f[i * 10];
    if (jk_registry_key(f[1], &fr.keys[i * 3]) || jk_registry_key(f[2], &fr.keys[i * 3 + 1]) ||
        jk_registry_key(f[5], &fr.keys[i * 3 + 2]))
      die("key");
  }
  snprintf(fr.recorded_at, sizeof fr.recorded_at, "2026-11-23T00:00:00.000Z");
  return fr;
}

static double run_raw_schema(const char *dir, const rows_t *rows, final_rows *fr) {
  char path[1024];
  jk_store *js;
  sqlite3 *db;
  sqlite3_stmt *ins, *hh;
  snprintf(path, sizeof path, "%s/rawschema.db", dir);
  rm_db(path);
  if (jk_store_open(&js, path, JK_STORE_CREATE)) die("schema"); /* the node schema, untimed */
  jk_store_close(js);
  if (sqlite3_open(path, &db) != SQLITE_OK) die("raw open");
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536", NULL, NULL, NULL);
  /* the secondary indexes, to be rebuilt after the load as a careful raw loader would */
  sqlite3_stmt *q;
  char *idx[16];
  int nidx = 0;
  sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='resident' AND sql IS NOT NULL "
                     "AND sql NOT LIKE 'CREATE UNIQUE%'", -1, &q, NULL);
  while (sqlite3_step(q) == SQLITE_ROW && nidx < 16) idx[nidx++] = strdup((const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  double t0 = now_s();
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  sqlite3_exec(db, "DROP INDEX resident_kana_key; DROP INDEX resident_name_key; DROP INDEX resident_birth; "
               "DROP INDEX resident_address_key", NULL, NULL, NULL);
  sqlite3_prepare_v2(db, "INSERT INTO household(created_at) VALUES (?)", -1, &hh, NULL);
  sqlite3_prepare_v2(db, "INSERT INTO resident(version, code, status, name, kana, birth, sex, address, household_id, "
                     "relation, reason, moved_on, note, recorded_at, name_key, kana_key, address_key) VALUES "
                     "(1, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)", -1, &ins, NULL);
  const char *last_hh = "";
  sqlite3_int64 hh_id = 0;
  for (size_t i = 0; i < rows->n; i++) {
    const char *const *f = &rows->f[i * 10];
    if (strcmp(f[6], last_hh) != 0) {
      sqlite3_bind_text(hh, 1, fr->recorded_at, -1, SQLITE_STATIC);
      if (sqlite3_step(hh) != SQLITE_DONE) die("raw household");
      sqlite3_reset(hh);
      hh_id = sqlite3_last_insert_rowid(db);
      last_hh = f[6];
    }
    sqlite3_bind_text(ins, 1, fr->code[i], 11, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, f[1], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, f[2], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, f[3], -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 5, strcmp(f[4], "男") == 0 ? 1 : 2);
    sqlite3_bind_text(ins, 6, f[5], -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, hh_id);
    sqlite3_bind_text(ins, 8, f[7], -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 9, strcmp(f[8], "出生") == 0 ? 4 : 1);
    sqlite3_bind_text(ins, 10, f[9], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 11, fr->recorded_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 12, fr->keys[i * 3], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 13, fr->keys[i * 3 + 1], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 14, fr->keys[i * 3 + 2], -1, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc == SQLITE_CONSTRAINT) { /* a drawn code repeated: draw again, like any loader must */
      jk_rescode_random(fr->code[i]);
      i--;
      continue;
    }
    if (rc != SQLITE_DONE) die("raw insert");
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(hh);
  for (int k = 0; k < nidx; k++)
    if (sqlite3_exec(db, idx[k], NULL, NULL, NULL) != SQLITE_OK) die("raw index");
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) die("raw commit");
  double t = now_s() - t0;
  for (int k = 0; k < nidx; k++) free(idx[k]);
  sqlite3_close(db);
  return t;
}

static double run_raw(const char *dir, const rows_t *rows) {
  char path[1024];
  sqlite3 *db;
  sqlite3_stmt *q;
  snprintf(path, sizeof path, "%s/raw.db", dir);
  rm_db(path);
  if (sqlite3_open(path, &db) != SQLITE_OK) die("raw open");
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;"
               "CREATE TABLE resident(id INTEGER PRIMARY KEY, code TEXT, name TEXT, kana TEXT, birth TEXT, "
               "sex TEXT, address TEXT, household TEXT, relation TEXT, reason TEXT, moved_on TEXT)",
               NULL, NULL, NULL);
  double t0 = now_s();
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  sqlite3_prepare_v2(db,
                     "INSERT INTO resident(code,name,kana,birth,sex,address,household,relation,reason,moved_on) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?)",
                     -1, &q, NULL);
  for (size_t i = 0; i < rows->n; i++) {
    for (int k = 0; k < 10; k++) sqlite3_bind_text(q, k + 1, rows->f[i * 10 + k], -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) die("raw insert");
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) die("raw commit");
  double t = now_s() - t0;
  sqlite3_close(db);
  return t;
}

typedef struct kana_list {
  char **v;
  size_t n, cap;
} kana_list;

static int collect_kana(const jk_identity *r, void *p) {
  kana_list *k = p;
  if (k->n < k->cap) k->v[k->n++] = strdup(r->kana);
  return 0;
}

static int count_cb(const jk_identity *r, void *p) {
  (void)r;
  (*(size_t *)p)++;
  return 0;
}

int main(int argc, char **argv) {
  size_t rows = 1000000;
  int runs = 5, queries = 2000;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rows") == 0) rows = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0) runs = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--queries") == 0) queries = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }
  if (runs < 1 || runs > 50 || rows < 1 || queries < 1) return 2;
  char tmpl[] = "/tmp/jukinet-bench-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmpl))) return 1;
  jk_lang_set(JK_LANG_EN);

  size_t len;
  printf("generating %zu synthetic residents...\n", rows);
  char *csv = make_csv(rows, &len);
  rows_t split = split_rows(csv, len);
  printf("CSV: %.1f MB\n", (double)len / 1e6);

  final_rows fr = finalize_rows(&split);
  double tj[50], tr[50], ts[50];
  for (int r = 0; r < runs; r++) { /* alternate, so drift hits all alike */
    tr[r] = run_raw(dir, &split);
    ts[r] = run_raw_schema(dir, &split, &fr);
    tj[r] = run_jukinet(dir, csv, len, rows);
    printf("  run %d: raw-plain %.2f s, raw-schema %.2f s, jukinet import %.2f s\n", r + 1, tr[r], ts[r], tj[r]);
  }
  double mj = median(tj, runs), mr = median(tr, runs), ms = median(ts, runs);
  printf("\nimport of %zu residents (median of %d):\n", rows, runs);
  printf("  raw SQLite, plain table, no index   %10.0f rows/s\n", (double)rows / mr);
  printf("  raw SQLite, node schema             %10.0f rows/s\n", (double)rows / ms);
  printf("  jukinet import (CSV to durable)     %10.0f rows/s\n", (double)rows / mj);
  printf("  ratio jukinet / raw-schema          %10.2f   (target >= 0.5)\n", ms / mj);
  printf("  ratio jukinet / raw-plain           %10.2f   (for scale: a table with no index)\n", mr / mj);

  /* search on the node left by the last jukinet run */
  char path[1024];
  jk_store *s;
  snprintf(path, sizeof path, "%s/jukinet.db", dir);
  if (jk_store_open(&s, path, JK_STORE_READONLY)) die("open");
  kana_list kl = {.v = calloc(5000, sizeof(char *)), .cap = 5000};
  jk_store_query all = {.limit = 5000, .offset = rows / 3};
  if (jk_store_resident_search(s, &all, collect_kana, &kl)) die("sample");
  double *lat = calloc((size_t)queries, sizeof *lat);
  srand(7);
  size_t total = 0;
  for (int i = 0; i < queries; i++) {
    const char *k = kl.v[(size_t)rand() % kl.n];
    char prefix[64];
    size_t chars = 1 + (size_t)rand() % 4, b = 0;
    for (size_t c = 0; c < chars && k[b]; c++) { /* whole UTF-8 characters */
      b++;
      while ((k[b] & 0xC0) == 0x80) b++;
    }
    memcpy(prefix, k, b);
    prefix[b] = '\0';
    jk_registry_query q = {.kana = prefix, .limit = 100};
    size_t n = 0;
    double t0 = now_s();
    if (jk_registry_search(s, &q, count_cb, &n)) die("search");
    lat[i] = (now_s() - t0) * 1000;
    total += n;
  }
  qsort(lat, (size_t)queries, sizeof *lat, cmp_double);
  printf("\nkana-prefix search over %zu residents, %d queries, up to 100 results each (%.1f on average):\n", rows,
         queries, (double)total / queries);
  printf("  median %.3f ms, p99 %.3f ms, max %.3f ms   (target p99 < 10 ms)\n", lat[queries / 2],
         lat[(size_t)(queries * 0.99)], lat[queries - 1]);
  printf("\nBENCH import_ratio_schema=%.3f import_ratio_plain=%.3f import_rows_per_s=%.0f raw_schema_rows_per_s=%.0f "
         "raw_plain_rows_per_s=%.0f search_p50_ms=%.3f search_p99_ms=%.3f\n",
         ms / mj, mr / mj, (double)rows / mj, (double)rows / ms, (double)rows / mr, lat[queries / 2],
         lat[(size_t)(queries * 0.99)]);
  jk_store_close(s);
  for (size_t i = 0; i < kl.n; i++) free(kl.v[i]);
  free(kl.v);
  free(lat);
  for (size_t i = 0; i < split.n * 3; i++) jk_free(fr.keys[i]);
  free(fr.keys);
  free(fr.code);
  free(split.f);
  jk_free(split.arena);
  jk_free(csv);
  if (dir == tmpl) {
    char p[1024];
    snprintf(p, sizeof p, "%s/jukinet.db", dir);
    rm_db(p);
    snprintf(p, sizeof p, "%s/raw.db", dir);
    rm_db(p);
    snprintf(p, sizeof p, "%s/rawschema.db", dir);
    rm_db(p);
    rmdir(dir);
  }
  return 0;
}
