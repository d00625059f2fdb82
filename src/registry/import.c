/*
 * import.c — CSV import and export of the registry.
 *
 * Import is all or nothing (REQ-IMP-1): rows are parsed, normalised, checked and inserted in
 * one transaction; at the first bad row inserting stops, the remaining rows are still
 * checked (so the operator sees up to MAX_REPORTED problems at once), and the transaction is
 * rolled back. Column names are matched in Japanese or English, in any order.
 */
#include "jukinet/csv.h"
#include "jukinet/registry.h"
#include "jukinet/i18n.h"
#include "jukinet/text.h"
#include "registry/registry_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_REPORTED 20

enum col {
  C_CODE, C_NAME, C_KANA, C_BIRTH, C_SEX, C_ADDRESS, C_HOUSEHOLD, C_RELATION, C_REASON, C_MOVED_ON, C_STATUS,
  C_NOTE, C__COUNT
};

static const struct {
  const char *ja, *en;
  bool required;
} columns[C__COUNT] = {
    [C_CODE] = {"住民票コード", "code", false},      [C_NAME] = {"氏名", "name", true},
    [C_KANA] = {"氏名かな", "kana", true},           [C_BIRTH] = {"生年月日", "birth", true},
    [C_SEX] = {"性別", "sex", true},                 [C_ADDRESS] = {"住所", "address", true},
    [C_HOUSEHOLD] = {"世帯", "household", false},    [C_RELATION] = {"続柄", "relation", false},
    [C_REASON] = {"異動事由", "reason", false},       [C_MOVED_ON] = {"異動年月日", "moved_on", false},
    [C_STATUS] = {"状態", "status", false},          [C_NOTE] = {"備考", "note", false},
};

/* ---- household key → household id (open addressing, FNV-1a) ---- */

typedef struct hh_map {
  char **keys;
  int64_t *ids;
  size_t cap, len;
} hh_map;

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static void hh_free(hh_map *m) {
  for (size_t i = 0; i < m->cap; i++) jk_free(m->keys[i]);
  jk_free(m->keys);
  jk_free(m->ids);
  memset(m, 0, sizeof *m);
}

static jk_err hh_grow(hh_map *m) {
  hh_map n = {0};
  n.cap = m->cap ? m->cap * 2 : 1024;
  n.keys = jk_calloc(n.cap, sizeof *n.keys);
  n.ids = jk_calloc(n.cap, sizeof *n.ids);
  if (!n.keys || !n.ids) {
    jk_free(n.keys);
    jk_free(n.ids);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = fnv1a(m->keys[i]) & (n.cap - 1);
    while (n.keys[j]) j = (j + 1) & (n.cap - 1);
    n.keys[j] = m->keys[i];
    n.ids[j] = m->ids[i];
  }
  n.len = m->len;
  jk_free(m->keys);
  jk_free(m->ids);
  *m = n;
  return JK_OK;
}

/* Find key; *slot_id points at its id (0 when newly inserted, for the caller to set). */
static jk_err hh_get(hh_map *m, const char *key, int64_t **slot_id) {
  jk_err e;
  if ((m->len + 1) * 2 > m->cap && (e = hh_grow(m))) return e;
  size_t j = fnv1a(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0) {
      *slot_id = &m->ids[j];
      return JK_OK;
    }
    j = (j + 1) & (m->cap - 1);
  }
  if (!(m->keys[j] = jk_strdup(key))) return jk_error_set(JK_ENOMEM, NULL);
  m->ids[j] = 0;
  m->len++;
  *slot_id = &m->ids[j];
  return JK_OK;
}

/* ---- import ---- */

typedef struct importer {
  jk_store *s;
  int map[C__COUNT]; /* column index in the file, or -1 */
  size_t ncols;
  hh_map households;
  jk_buf report;
  size_t errors;
  bool inserting;
  jk_err first_error;
  jk_import_result *res;
  int code_slice; /* the node's resident-code slice, read once per import */
} importer;

static jk_err map_header(importer *im, const char *const *f, size_t n) {
  for (int c = 0; c < C__COUNT; c++) im->map[c] = -1;
  for (size_t i = 0; i < n; i++) {
    int found = -1;
    for (int c = 0; c < C__COUNT; c++)
      if (strcmp(f[i], columns[c].ja) == 0 || strcmp(f[i], columns[c].en) == 0) found = c;
    if (found < 0)
      return jk_error_set(JK_EINVAL, "header, column %zu: unknown column '%.60s'", i + 1, f[i]);
    if (im->map[found] >= 0)
      return jk_error_set(JK_EINVAL, "header, column %zu: column %s appears twice", i + 1, columns[found].ja);
    im->map[found] = (int)i;
  }
  for (int c = 0; c < C__COUNT; c++)
    if (columns[c].required && im->map[c] < 0)
      return jk_error_set(JK_EINVAL, "header: the required column %s (%s) is missing", columns[c].ja,
                          columns[c].en);
  im->ncols = n;
  return JK_OK;
}

static const char *field(const importer *im, const char *const *f, enum col c) {
  return im->map[c] >= 0 ? f[im->map[c]] : "";
}

static jk_err dup_or_null(const char *v, char **out) {
  *out = NULL;
  if (!*v) return JK_OK;
  *out = jk_strdup(v);
  return *out ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* One data row → rec (raw strings copied). Field errors name the column. */
static jk_err parse_row(importer *im, const char *const *f, jk_identity *rec, const char **hh_key) {
  jk_err e;
  const char *v;
  memset(rec, 0, sizeof *rec);
  v = field(im, f, C_CODE);
  if (*v) {
    if (strlen(v) > JK_RESCODE_LEN || (e = jk_rescode_validate(v, strlen(v)))) {
      if (strlen(v) > JK_RESCODE_LEN) jk_error_set(JK_EINVAL, "a resident code has 11 digits");
      return jk_error_prefix("%s: ", columns[C_CODE].ja);
    }
    memcpy(rec->code, v, JK_RESCODE_LEN + 1);
  }
  if ((e = dup_or_null(field(im, f, C_NAME), &rec->name)) || (e = dup_or_null(field(im, f, C_KANA), &rec->kana)) ||
      (e = dup_or_null(field(im, f, C_ADDRESS), &rec->address)) ||
      (e = dup_or_null(field(im, f, C_RELATION), &rec->relation)) ||
      (e = dup_or_null(field(im, f, C_NOTE), &rec->note)))
    return e;
  if ((e = jk_date_parse(field(im, f, C_BIRTH), &rec->birth))) return jk_error_prefix("%s: ", columns[C_BIRTH].ja);
  if ((e = jk_sex_parse(field(im, f, C_SEX), &rec->sex))) return jk_error_prefix("%s: ", columns[C_SEX].ja);
  v = field(im, f, C_REASON);
  rec->reason = JK_MOVE_IN;
  if (*v && (e = jk_move_parse(v, &rec->reason))) return jk_error_prefix("%s: ", columns[C_REASON].ja);
  v = field(im, f, C_MOVED_ON);
  if (*v) {
    if ((e = jk_date_parse(v, &rec->moved_on))) return jk_error_prefix("%s: ", columns[C_MOVED_ON].ja);
  } else {
    rec->moved_on = rec->reason == JK_MOVE_BIRTH ? rec->birth : jk_date_today();
  }
  bool removal = jk_move_class_of(rec->reason) == JK_MOVE_CLASS_REMOVAL;
  rec->status = removal ? JK_STATUS_REMOVED : JK_STATUS_ACTIVE;
  v = field(im, f, C_STATUS);
  if (*v) {
    jk_status st;
    if (strcmp(v, "住民") == 0 || strcmp(v, "active") == 0) st = JK_STATUS_ACTIVE;
    else if (strcmp(v, "消除") == 0 || strcmp(v, "removed") == 0) st = JK_STATUS_REMOVED;
    else return jk_error_set(JK_EINVAL, "%s: unknown status '%.20s' (住民 or 消除)", columns[C_STATUS].ja, v);
    if (st != rec->status)
      return jk_error_set(JK_EINVAL, "%s: %s does not agree with 異動事由 %s", columns[C_STATUS].ja, v,
                          jk_move_name_ja(rec->reason));
  }
  *hh_key = field(im, f, C_HOUSEHOLD);
  return JK_OK;
}

/* ---- the pipeline ----
 * Two threads: a reader parses, normalises and checks rows into batches (CPU-bound, no
 * database), the caller's thread takes the batches in order and inserts them (the store is
 * used by this one thread only). A bounded queue keeps memory flat whatever the file size.
 * Row errors found by the reader travel with their row, as text, so the report stays in file
 * order and in the language of the moment. */

#define BATCH 512
#define QUEUE 8

typedef struct item {
  jk_identity rec;
  jk__keys keys;
  char *hh_key;   /* NULL = none */
  size_t row, line;
  jk_err err;     /* JK_OK, or the row's error */
  char *msg;      /* the error detail, when err */
} item;

typedef struct batch {
  item items[BATCH];
  size_t n;
  bool last;      /* nothing follows (end of input or a syntax error) */
  struct batch *next_spent;
} batch;

typedef struct pipe {
  importer *im;
  jk_csv *csv;
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  batch *q[QUEUE];
  size_t head, count;
  batch *spent;   /* processed batches handed back, so the reader frees what it allocated
                     (cross-thread frees contend on malloc's arenas) */
  bool cancel;    /* the consumer gave up: the reader stops */
  bool gone;      /* the reader has returned */
  size_t rows;    /* rows read (reader-owned until joined) */
} pipe_t;

static void item_clear(item *it) {
  jk_identity_clear(&it->rec);
  jk__keys_free(&it->keys);
  jk_free(it->hh_key);
  jk_free(it->msg);
  memset(it, 0, sizeof *it);
}

static void batch_clear(batch *b) {
  for (size_t i = 0; i < b->n; i++) item_clear(&b->items[i]);
  b->n = 0;
  b->last = false;
}

static void batch_free(batch *b) {
  if (!b) return;
  batch_clear(b);
  jk_free(b);
}

/* The consumer hands a processed batch back (the items' memory is freed by the reader). */
static void give_back(pipe_t *p, batch *b) {
  pthread_mutex_lock(&p->mu);
  b->next_spent = p->spent;
  p->spent = b;
  pthread_mutex_unlock(&p->mu);
}

/* A batch for the reader: a recycled one (cleared here, in the thread that allocated its
 * items) or a new one. */
static batch *take_batch(pipe_t *p) {
  pthread_mutex_lock(&p->mu);
  batch *b = p->spent;
  if (b) p->spent = b->next_spent;
  pthread_mutex_unlock(&p->mu);
  if (b) {
    batch_clear(b);
    b->next_spent = NULL;
    return b;
  }
  return jk_calloc(1, sizeof *b);
}

/* Fill one item from a record; errors are kept in the item. */
static void prepare_item(importer *im, const char *const *f, size_t n, item *it) {
  const char *hh = "";
  jk_err e;
  if (n != im->ncols) {
    e = jk_error_set(JK_EINVAL, "has %zu fields, the header has %zu", n, im->ncols);
  } else if (!(e = parse_row(im, f, &it->rec, &hh)) && !(e = jk_registry_normalize(&it->rec)) &&
             !(e = jk__keys_make(&it->rec, &it->keys)) && *hh && !(it->hh_key = jk_strdup(hh))) {
    e = jk_error_set(JK_ENOMEM, NULL);
  }
  it->err = e;
  if (e) it->msg = jk_strdup(jk_error_last()); /* NULL on ENOMEM: reported generically */
}

static bool push(pipe_t *p, batch *b) {
  pthread_mutex_lock(&p->mu);
  while (p->count == QUEUE && !p->cancel) pthread_cond_wait(&p->not_full, &p->mu);
  bool ok = !p->cancel;
  if (ok) {
    p->q[(p->head + p->count) % QUEUE] = b;
    p->count++;
    pthread_cond_signal(&p->not_empty);
  }
  pthread_mutex_unlock(&p->mu);
  return ok;
}

static batch *pop(pipe_t *p) {
  pthread_mutex_lock(&p->mu);
  while (p->count == 0 && !p->gone) pthread_cond_wait(&p->not_empty, &p->mu);
  if (p->count == 0) { /* the reader stopped without a last batch: it ran out of memory */
    pthread_mutex_unlock(&p->mu);
    return NULL;
  }
  batch *b = p->q[p->head];
  p->head = (p->head + 1) % QUEUE;
  p->count--;
  pthread_cond_signal(&p->not_full);
  pthread_mutex_unlock(&p->mu);
  return b;
}

static void read_all(pipe_t *p);

static void *reader(void *arg) {
  pipe_t *p = arg;
  read_all(p);
  pthread_mutex_lock(&p->mu);
  p->gone = true;
  pthread_cond_broadcast(&p->not_empty);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void read_all(pipe_t *p) {
  const char *const *f;
  const size_t *lens;
  size_t n;
  for (;;) {
    batch *b = take_batch(p);
    if (!b) return; /* the consumer sees the reader gone without a last batch */
    while (b->n < BATCH) {
      jk_err e = jk_csv_next(p->csv, &f, &lens, &n);
      if (e == JK_ENOTFOUND) {
        b->last = true;
        break;
      }
      item *it = &b->items[b->n++];
      it->row = ++p->rows;
      it->line = jk_csv_line(p->csv);
      if (e) { /* a syntax error ends reading: the rest of the file cannot be trusted */
        it->err = e;
        it->msg = jk_strdup(jk_error_last());
        b->last = true;
        break;
      }
      prepare_item(p->im, f, n, it);
    }
    bool last = b->last;
    if (!push(p, b)) {
      batch_free(b);
      return;
    }
    if (last) return;
  }
}

static void report(importer *im, const item *it, jk_err e, const char *msg) {
  if (im->errors < MAX_REPORTED) {
    const char *fmt = jk_tr("row %zu (line %zu): %s\n");
    jk_buf_appendf(&im->report, fmt, it->row, it->line, msg ? msg : jk_err_str(e));
  }
  if (!im->first_error) im->first_error = e;
  im->errors++;
  im->inserting = false;
}

/* Insert one prepared row. */
static jk_err insert_item(importer *im, item *it) {
  jk_err e;
  int64_t *hh = NULL;
  if (it->hh_key) {
    if ((e = hh_get(&im->households, it->hh_key, &hh))) return e;
    if (*hh) it->rec.household_id = *hh;
  }
  if ((e = jk__add_in_tx(im->s, &it->rec, &it->keys, im->code_slice))) return e;
  if (!hh || !*hh) im->res->households++;
  if (hh && !*hh) *hh = it->rec.household_id;
  im->res->rows++;
  return JK_OK;
}

jk_err jk_registry_import_csv(jk_store *s, const char *csv, size_t len, jk_import_result *res) {
  importer im = {.s = s, .res = res, .inserting = true, .code_slice = jk__code_slice(s)};
  pipe_t p = {.im = &im};
  jk_csv *c = NULL;
  jk_err e, fatal = JK_OK;
  const char *const *f;
  const size_t *lens;
  size_t n;
  bool started = false, in_tx = false;
  pthread_t tid;
  memset(res, 0, sizeof *res);
  if (!jk_utf8_valid(csv, len)) {
    size_t off = jk_utf8_valid_prefix(csv, len), line = 1;
    for (size_t i = 0; i < off; i++) line += csv[i] == '\n';
    return jk_error_set(JK_EINVAL, "line %zu: invalid UTF-8 (byte %zu); for Shift_JIS files use --encoding cp932",
                        line, off + 1);
  }
  jk_csv_limits lim = {.max_field = JK_ADDRESS_MAX * 2, .max_fields = 32};
  if ((e = jk_csv_new(&c, csv, len, &lim))) return e;
  if ((e = jk_csv_next(c, &f, &lens, &n))) {
    if (e == JK_ENOTFOUND) e = jk_error_set(JK_EINVAL, "the file is empty: a header row is needed");
    goto out;
  }
  if ((e = map_header(&im, f, n))) goto out;
  if ((e = jk_store_begin(s))) goto out;
  in_tx = true;
  size_t lines = 0;
  for (const char *q = csv; (q = memchr(q, '\n', (size_t)(csv + len - q))); q++) lines++;
  if ((e = jk_store_bulk_begin(s, lines))) goto out;

  p.csv = c;
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.not_empty, NULL);
  pthread_cond_init(&p.not_full, NULL);
  if (pthread_create(&tid, NULL, reader, &p) != 0) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  started = true;
  for (bool done = false; !done;) {
    batch *b = pop(&p);
    if (!b) { /* the reader ran out of memory */
      fatal = jk_error_set(JK_ENOMEM, NULL);
      break;
    }
    for (size_t i = 0; i < b->n; i++) {
      item *it = &b->items[i];
      if (it->err) {
        report(&im, it, it->err, it->msg);
        if (it->err == JK_ENOMEM) fatal = JK_ENOMEM;
      } else if (im.inserting && (e = insert_item(&im, it))) {
        report(&im, it, e, jk_error_last());
        if (e == JK_ENOMEM || e == JK_EIO || e == JK_EBUSY || e == JK_ECORRUPT) fatal = e; /* not the row's fault */
      }
    }
    done = b->last;
    give_back(&p, b);
    if (fatal) break;
  }
  if (fatal) { /* stop the reader and drain what it queued */
    pthread_mutex_lock(&p.mu);
    p.cancel = true;
    pthread_cond_broadcast(&p.not_full);
    pthread_mutex_unlock(&p.mu);
  }
  pthread_join(tid, NULL);
  started = false;
  while (p.count) batch_free(p.q[(p.head + --p.count) % QUEUE]);
  while (p.spent) {
    batch *b = p.spent;
    p.spent = b->next_spent;
    batch_free(b);
  }

  if (fatal && im.errors == 0) { /* the reader ran out of memory before any row was judged */
    e = jk_error_set(fatal, NULL);
    goto out;
  }
  if (im.errors == 0 && p.rows == 0) {
    e = jk_error_set(JK_EINVAL, "the file has a header but no rows");
    goto out;
  }
  if (im.errors) {
    size_t errors = im.errors;
    memset(res, 0, sizeof *res);
    res->errors = errors;
    if (errors > MAX_REPORTED) jk_buf_appendf(&im.report, jk_tr("… and %zu more\n"), errors - MAX_REPORTED);
    if (im.report.len && im.report.data[im.report.len - 1] == '\n') im.report.data[--im.report.len] = '\0';
    e = jk_error_set(im.first_error ? im.first_error : JK_EINVAL,
                     "nothing was imported: %zu of %zu rows have problems:\n%s", errors, p.rows,
                     im.report.data ? im.report.data : "");
    goto out;
  }
  if ((e = jk_store_bulk_end(s))) goto out;
  in_tx = false;
  e = jk_store_commit(s);
out:
  if (started) pthread_join(tid, NULL);
  if (p.csv) {
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.not_empty);
    pthread_cond_destroy(&p.not_full);
  }
  if (in_tx) jk_store_rollback(s);
  if (e) {
    size_t errors = res->errors;
    memset(res, 0, sizeof *res);
    res->errors = errors;
  }
  jk_csv_free(c);
  hh_free(&im.households);
  jk_buf_free(&im.report);
  return e;
}

/* ---- export ---- */

typedef struct exporter {
  jk_buf *out;
  size_t rows;
  jk_err e;
} exporter;

static int export_one(const jk_identity *r, void *payload) {
  exporter *x = payload;
  char birth[11], moved[11] = "", hh[24] = "";
  jk_date_format_iso(r->birth, birth);
  if (r->moved_on.y) jk_date_format_iso(r->moved_on, moved);
  if (r->household_id) snprintf(hh, sizeof hh, "%lld", (long long)r->household_id);
  const char *vals[C__COUNT] = {
      [C_CODE] = r->code,         [C_NAME] = r->name,
      [C_KANA] = r->kana,         [C_BIRTH] = birth,
      [C_SEX] = jk_sex_name_ja(r->sex), [C_ADDRESS] = r->address,
      [C_HOUSEHOLD] = hh,         [C_RELATION] = r->relation ? r->relation : "",
      [C_REASON] = jk_move_name_ja(r->reason), [C_MOVED_ON] = moved,
      [C_STATUS] = r->status == JK_STATUS_REMOVED ? "消除" : "住民",
      [C_NOTE] = r->note ? r->note : "",
  };
  for (int c = 0; c < C__COUNT && !x->e; c++) x->e = jk_csv_put_field(x->out, vals[c], strlen(vals[c]), c == 0);
  if (!x->e) x->e = jk_csv_end_record(x->out);
  x->rows++;
  return x->e != JK_OK;
}

jk_err jk_registry_export_csv(jk_store *s, jk_buf *out, size_t *rows) {
  exporter x = {.out = out};
  jk_err e;
  for (int c = 0; c < C__COUNT; c++)
    if ((e = jk_csv_put_field(out, columns[c].ja, strlen(columns[c].ja), c == 0))) return e;
  if ((e = jk_csv_end_record(out))) return e;
  if ((e = jk_store_resident_each(s, export_one, &x))) return e;
  if (x.e) return x.e;
  if (rows) *rows = x.rows;
  return JK_OK;
}
