/*
 * service.c — the query service's engine (provision.h): one agency request in, its answer out,
 * with the provision record and its ledger entry durable before the answer is released.
 *
 * Flow
 * - The caller's thread (one per HTTPS connection) does what needs no store: the body is parsed
 *   (jk_provision_query_parse), the client's role and the purpose code checked against the
 *   table, the body hashed. Then it queues the request and waits.
 * - One committer thread takes every request queued (up to GROUP_MAX) and, holding the store,
 *   in one transaction: checks the agency against the registry (cached, reread every second),
 *   its purpose and its rate; looks the resident up in the holdings; writes one provision row
 *   and stages one ledger entry per request; commits — one fsync for the whole group. Only then
 *   are the answers handed to their callers. A request arriving during a commit waits for the
 *   next one: throughput grows with the number of connections.
 * - The ledger head over a group's entries is signed on the token at most SEAL_MS after them,
 *   not at every commit (docs/decisions.md D15): a commit that comes less than SEAL_MS after the
 *   last signature leaves its entries to the next head, and when the queue runs dry the
 *   committer signs the tail itself (jk_ledger_seal) once SEAL_MS has passed — and at start (a
 *   tail left by a crash) and at stop. The entries themselves are durable before any answer.
 * - When the commit fails nothing is disclosed: every request of the group gets 503.
 *
 * Held back. A resident whose record is erased anywhere upstream (a non-participant under
 * resident-choice, or an erasure) is answered exactly like "no match"; so is a resident under a
 * 支援措置 (recorded REVIEW: held for the municipality's review) and a query for a purpose the
 * resident stopped (recorded STOPPED).
 */
#include "jukinet/provision.h"

#include "jukinet/buf.h"
#include "jukinet/common.h"
#include "jukinet/store.h"
#include "jukinet/sync.h"
#include "jukinet/text.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GROUP_MAX 1024        /* requests per commit */
#define REGISTRY_TTL_NS 1000000000LL /* the agency registry is reread after this */
#define INDEX_EVERY 8192               /* provision rows indexed by code per batch */
#define INDEX_AFTER_NS 1000000000LL    /* … or after this long */
#define AGENCY_ROLE "agency"
#define SEAL_MS 100                    /* a ledger head is signed at most this long after its entries */

/* One queued request (allocated; freed once its answer is handed over). */
typedef struct item {
  struct item *next;
  jk_provision_request reqc; /* the caller's request: its strings and body stay valid until done */
  const jk_provision_request *req;
  jk_provision_done_fn done_fn;
  void *done_arg;
  jk_provision_query q;
  char kana_key[JK_NAME_MAX * 3 + 1], address_key[JK_ADDRESS_MAX * 3 + 1]; /* name search keys */
  unsigned pre_status;     /* decided before the committer (400, 403), 0 = not */
  const char *pre_code;    /* its error code */
  char pre_msg[200];       /* and message (English, no personal data) */
  uint8_t hash[32];        /* SHA-256 of the body */
  unsigned fields;         /* the purpose's fields (table) */
  char fields_text[64];    /* the same as the provision row writes them ("name,birth,…") */
  /* the answer */
  unsigned status;
  char *body;
  size_t len;
} item;

/* An agency of the registry, with its rate bucket (committer only). */
typedef struct agency {
  jk_agency_rec rec;
  double tokens;
  int64_t refilled_ns;
} agency;

struct jk_provision_service {
  jk_store *s;
  jk_ledger *l;
  const jk_purposes *table;
  jk_provision_hooks hooks;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  item *head, **tail;
  bool stopping;
  pthread_t thread;
  /* committer only */
  agency *ag;
  size_t nag;
  int64_t loaded_ns;
  int64_t indexed;      /* provision rows indexed by code up to here (-1: not read yet) */
  int64_t indexed_ns;   /* when the last batch was indexed */
  bool oom;
  atomic_ulong answers, refusals, commits, failures;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- text without printf ----
 * The committer writes a handful of strings per answer; snprintf's format parsing was 6 % of
 * its time (perf). The fields are bounded by the parser and the store, so these only cut. */

/* src into dst (cap bytes with the NUL). */
static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* A writer into a fixed buffer: put() appends what fits; w.n is the length, w.buf stays
 * NUL-terminated. */
typedef struct fixed {
  char *buf;
  size_t cap, n;
} fixed;

static void put(fixed *w, const char *s, size_t len) {
  if (len > w->cap - 1 - w->n) len = w->cap - 1 - w->n;
  memcpy(w->buf + w->n, s, len);
  w->n += len;
  w->buf[w->n] = 0;
}

static void puts_(fixed *w, const char *s) { put(w, s, strlen(s)); }

/* A row id (positive) in decimal. */
static void put_id(fixed *w, int64_t id) {
  char d[JK_DEC_MAX];
  put(w, d, jk_fmt_u64(d, (uint64_t)id));
}

/* ,"provision":id (a row id, positive) */
static jk_err put_provision(jk_buf *b, int64_t id) {
  char d[JK_DEC_MAX];
  jk_err e = jk_buf_appends(b, ",\"provision\":");
  return e ? e : jk_buf_append(b, d, jk_fmt_u64(d, (uint64_t)id));
}

/* ---- answers ----
 * Written straight into a buffer, not built as a JSON tree and dumped: this runs once per
 * answer on the committer, where jansson's tree and its printf-based dump took about a tenth
 * of that thread's time (perf, docs/decisions.md D15). */

/* The item's answer from b (taken over); e: b could not be written, 500. */
static void answer_buf(item *it, unsigned status, jk_buf *b, jk_err e) {
  it->status = status;
  it->body = e ? NULL : jk_buf_steal(b, &it->len);
  if (!it->body) {
    jk_buf_free(b);
    it->status = 500;
    it->len = 0;
  }
}

/* ,"key": (no comma when first; keys are plain ASCII literals) */
static jk_err put_key(jk_buf *b, bool first, const char *key) {
  jk_err e = first ? JK_OK : jk_buf_append(b, ",", 1);
  if (!e) e = jk_buf_append(b, "\"", 1);
  if (!e) e = jk_buf_appends(b, key);
  return e ? e : jk_buf_append(b, "\":", 2);
}

/* ,"key":"value" */
static jk_err put_str(jk_buf *b, bool first, const char *key, const char *value) {
  jk_err e = put_key(b, first, key);
  return e ? e : jk_buf_append_json_string(b, value);
}

/* Most answers fit: one allocation instead of the doublings from 64 bytes (perf: malloc was
 * 4 % of the committer). */
#define ANSWER_INIT 512

static void answer_error(item *it, unsigned status, const char *code, const char *msg, int64_t provision) {
  jk_buf b = {0};
  jk_err e = jk_buf_reserve(&b, ANSWER_INIT);
  if (!e) e = jk_buf_appends(&b, "{\"error\":{");
  if (!e) e = put_str(&b, true, "code", code);
  if (!e) e = put_str(&b, false, "message", msg);
  if (!e) e = jk_buf_appends(&b, "}");
  if (!e && provision > 0) e = put_provision(&b, provision);
  if (!e) e = jk_buf_appends(&b, "}");
  answer_buf(it, status, &b, e);
}

/* ---- before the queue (the caller's thread) ---- */

static void refuse_early(item *it, unsigned status, const char *code, const char *msg) {
  it->pre_status = status;
  it->pre_code = code;
  snprintf(it->pre_msg, sizeof it->pre_msg, "%s", msg);
}

/* text's search key into out (cap bytes with the NUL); false when it has none or is too long. */
static bool search_key_into(const char *text, char *out, size_t cap) {
  char *k = NULL;
  bool ok = jk_text_search_key(text, strlen(text), &k) == JK_OK && strlen(k) < cap;
  if (ok) memcpy(out, k, strlen(k) + 1);
  jk_free(k);
  return ok;
}

static void prepare(jk_provision_service *svc, item *it) {
  const jk_provision_request *r = it->req;
  struct sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, r->len, r->body);
  sha256_digest(&c, 32, it->hash);
  if (strcmp(r->role, AGENCY_ROLE) != 0) {
    refuse_early(it, 403, "PERM", "only a national agency's certificate may query this service");
    return;
  }
  if (jk_provision_query_parse(r->body, r->len, &it->q)) {
    refuse_early(it, jk_error_last_code() == JK_ETOOLARGE ? 413 : 400, "INVALID", jk_error_last());
    return;
  }
  const jk_purpose *p = jk_purposes_find(svc->table, it->q.purpose);
  if (!p) {
    char msg[120];
    snprintf(msg, sizeof msg, "query: \"purpose\": %s is not in 住民基本台帳法 別表第一", it->q.purpose);
    refuse_early(it, 400, "INVALID", msg);
    return;
  }
  it->fields = p->fields & ~(unsigned)JK_FIELD_CODE; /* 30条の9: never the 住民票コード */
  jk_fields_format(it->fields, it->fields_text, sizeof it->fields_text); /* here, not on the committer */
  if (it->q.by_code) return;
  if (!search_key_into(it->q.kana, it->kana_key, sizeof it->kana_key))
    refuse_early(it, 400, "INVALID", "query: \"kana\" cannot be searched");
  else if (it->q.address[0] && !search_key_into(it->q.address, it->address_key, sizeof it->address_key))
    refuse_early(it, 400, "INVALID", "query: \"address\" cannot be searched");
}

/* ---- the agency registry and rates (committer) ---- */

static int collect_agency(const jk_agency_rec *a, void *payload) {
  jk_provision_service *svc = payload;
  agency *na = jk_realloc(svc->ag, (svc->nag + 1) * sizeof *na);
  if (!na) {
    jk_error_set(JK_ENOMEM, NULL);
    svc->oom = true;
    return 1;
  }
  svc->ag = na;
  memset(&na[svc->nag], 0, sizeof *na);
  na[svc->nag].rec = *a;
  svc->nag++;
  return 0;
}

/* Reread the registry when it is older than REGISTRY_TTL_NS: a revocation or a new rate takes
 * effect within a second. Buckets carry over by id. */
static jk_err registry_refresh(jk_provision_service *svc, int64_t now) {
  if (svc->loaded_ns && now - svc->loaded_ns < REGISTRY_TTL_NS) return JK_OK;
  agency *old = svc->ag;
  size_t nold = svc->nag;
  svc->ag = NULL;
  svc->nag = 0;
  svc->oom = false;
  jk_err e = jk_store_agency_each(svc->s, collect_agency, svc);
  if (!e && svc->oom) e = JK_ENOMEM;
  if (e) { /* keep the registry as it was */
    jk_free(svc->ag);
    svc->ag = old;
    svc->nag = nold;
    return e;
  }
  for (size_t i = 0; i < svc->nag; i++) {
    agency *a = &svc->ag[i];
    a->tokens = a->rec.rate;
    a->refilled_ns = now;
    for (size_t j = 0; j < nold; j++)
      if (strcmp(old[j].rec.id, a->rec.id) == 0) {
        a->tokens = old[j].tokens < a->rec.rate ? old[j].tokens : a->rec.rate;
        a->refilled_ns = old[j].refilled_ns;
      }
  }
  jk_free(old);
  svc->loaded_ns = now;
  return JK_OK;
}

static agency *agency_find(jk_provision_service *svc, const char *id) {
  for (size_t i = 0; i < svc->nag; i++)
    if (strcmp(svc->ag[i].rec.id, id) == 0) return &svc->ag[i];
  return NULL;
}

static bool purpose_allowed(const agency *a, const char *code) { return jk_purpose_list_has(a->rec.purposes, code); }

/* Take one answer from the agency's bucket: rate per second, at most one second's worth. */
static bool rate_take(agency *a, int64_t now) {
  double rate = a->rec.rate;
  a->tokens += (double)(now - a->refilled_ns) * rate / 1e9;
  if (a->tokens > rate) a->tokens = rate;
  a->refilled_ns = now;
  if (a->tokens < 1.0) return false;
  a->tokens -= 1.0;
  return true;
}

/* ---- the lookup (committer) ---- */

/* The current record of one resident code among its rows (one per municipality that sent it),
 * in jk_sync_identity's order. erased: a municipality erased the resident (non-participation):
 * held back, whatever the other rows say. */
typedef struct pick {
  jk_holding_rec best;
  bool have, erased;
} pick;

static void pick_row(pick *p, const jk_holding_rec *r) {
  if (r->status == JK_HOLDING_ERASED) {
    p->erased = true;
    return;
  }
  if (!p->have || jk_holding_newer(r, &p->best)) {
    p->best = *r;
    p->have = true;
  }
}

static int on_code_row(const jk_holding_rec *r, void *payload) {
  pick_row(payload, r);
  return 0;
}

/* The name search: rows of one birth date and sex, in code order; a code's rows are picked as
 * above and its current record compared with the query's keys. */
typedef struct search {
  const item *it;
  pick cur;
  char code[12];
  int matches;
  jk_holding_rec match;
  jk_err err;
} search;

static bool same_key(const char *text, const char *key) {
  char *k = NULL;
  if (jk_text_search_key(text, strlen(text), &k)) return false;
  bool same = strcmp(k, key) == 0;
  jk_free(k);
  return same;
}

static void search_close_code(search *x) {
  if (!x->code[0] || x->cur.erased || !x->cur.have) return;
  if (!same_key(x->cur.best.kana, x->it->kana_key)) return;
  if (x->it->address_key[0] && !same_key(x->cur.best.address, x->it->address_key)) return;
  if (x->matches++ == 0) x->match = x->cur.best;
}

static int on_person_row(const jk_holding_rec *r, void *payload) {
  search *x = payload;
  if (strcmp(r->code, x->code) != 0) {
    search_close_code(x);
    memset(&x->cur, 0, sizeof x->cur);
    snprintf(x->code, sizeof x->code, "%s", r->code);
  }
  pick_row(&x->cur, r);
  return x->matches > 1 ? 1 : 0; /* ambiguous already: stop reading */
}

/* 0 none, 1 one (*out), 2 several. */
static jk_err lookup(jk_provision_service *svc, const item *it, int *found, jk_holding_rec *out) {
  *found = 0;
  if (it->q.by_code) {
    pick p;
    memset(&p, 0, sizeof p);
    jk_err e = jk_store_holding_each(svc->s, it->q.code, NULL, on_code_row, &p);
    if (e) return e;
    if (p.have && !p.erased) {
      *out = p.best;
      *found = 1;
    }
    return JK_OK;
  }
  search x;
  memset(&x, 0, sizeof x);
  x.it = it;
  jk_err e = jk_store_holding_by_person(svc->s, it->q.birth, it->q.sex, on_person_row, &x);
  if (e) return e;
  if (x.matches <= 1) search_close_code(&x);
  *found = x.matches > 1 ? 2 : x.matches;
  if (*found == 1) *out = x.match;
  return JK_OK;
}

/* The resident's fields the purpose allows, nothing else, as a JSON object. */
static jk_err put_resident(jk_buf *b, const jk_holding_rec *r, unsigned fields) {
  char d[11];
  bool first = true;
  jk_err e = jk_buf_appends(b, "{");
  if (!e && (fields & JK_FIELD_NAME)) e = put_str(b, first, "name", r->name), first = false;
  if (!e && (fields & JK_FIELD_BIRTH)) {
    jk_date_format_iso(r->birth, d);
    e = put_str(b, first, "birth", d), first = false;
  }
  if (!e && (fields & JK_FIELD_SEX)) e = put_str(b, first, "sex", jk_sex_name_ja(r->sex)), first = false;
  if (!e && (fields & JK_FIELD_ADDRESS)) e = put_str(b, first, "address", r->address), first = false;
  if (!e && (fields & JK_FIELD_CHANGE)) {
    e = put_key(b, first, "change");
    if (!e) e = jk_buf_append(b, "{", 1);
    if (!e) e = put_str(b, true, "reason", jk_move_name_ja((jk_move_kind)r->reason));
    if (!e) e = put_str(b, false, "status", r->status == JK_STATUS_ACTIVE ? "active" : "removed");
    if (!e && jk_date_valid(r->moved_on)) {
      jk_date_format_iso(r->moved_on, d);
      e = put_str(b, false, "date", d);
    }
    if (!e) e = jk_buf_appends(b, "}");
  }
  return e ? e : jk_buf_appends(b, "}");
}

/* 200: the resident's fields, or "ambiguous" for a name search that matched several. */
static void answer_found(item *it, const jk_holding_rec *r, bool ambiguous, int64_t provision) {
  jk_buf b = {0};
  jk_err e = jk_buf_reserve(&b, ANSWER_INIT);
  if (!e) e = jk_buf_appends(&b, "{");
  if (!e) e = put_str(&b, true, "purpose", it->q.purpose);
  if (!e && ambiguous) e = put_str(&b, false, "result", "ambiguous");
  if (!e && !ambiguous) e = jk_buf_appends(&b, ",\"resident\":");
  if (!e && !ambiguous) e = put_resident(&b, r, it->fields);
  if (!e) e = put_provision(&b, provision);
  if (!e) e = jk_buf_appends(&b, "}");
  answer_buf(it, 200, &b, e);
}

/* ---- one group (committer, store held) ---- */

typedef struct decided {
  unsigned status;
  const char *code, *msg; /* error code and message for refusals */
  char msgbuf[200];
  int found;
  jk_holding_rec rec;
  const char *held;       /* answered "no match" because of a restriction: REVIEW or STOPPED */
} decided;

/* The resident's restrictions, as the municipality of the current record sent them: a 支援措置
 * in force (today within since .. until) holds every agency query for review; a purpose the
 * resident stopped (目的外利用の中止) is not answered. Both are answered like "no match", so a
 * query cannot tell a protected resident from an unknown one. */
typedef struct restrict_ctx {
  const char *source, *purpose;
  jk_date today;
  const char *held;
} restrict_ctx;

static int on_restriction(const jk_restriction_rec *r, void *payload) {
  restrict_ctx *x = payload;
  if (strcmp(r->source, x->source) != 0) return 0;
  if (r->protect && jk_date_cmp(x->today, r->since) >= 0 && jk_date_cmp(x->today, r->until) <= 0) x->held = "REVIEW";
  else if (!x->held && jk_purpose_list_has(r->purposes, x->purpose)) x->held = "STOPPED";
  return 0;
}

static jk_err decide(jk_provision_service *svc, item *it, int64_t now, jk_date today, decided *d) {
  memset(d, 0, sizeof *d);
  if (it->pre_status) {
    d->status = it->pre_status;
    d->code = it->pre_code;
    d->msg = it->pre_msg;
    return JK_OK;
  }
  agency *a = agency_find(svc, it->req->client);
  if (!a || a->rec.revoked_at[0]) {
    d->status = 403;
    d->code = "PERM";
    d->msg = "this agency is not registered at this node";
    return JK_OK;
  }
  if (!purpose_allowed(a, it->q.purpose)) {
    d->status = 403;
    d->code = "PERM";
    snprintf(d->msgbuf, sizeof d->msgbuf, "this agency is not registered for purpose %s", it->q.purpose);
    d->msg = d->msgbuf;
    return JK_OK;
  }
  if (!rate_take(a, now)) {
    d->status = 429;
    d->code = "BUSY";
    d->msg = "over this agency's rate: try again later";
    return JK_OK;
  }
  jk_err e = lookup(svc, it, &d->found, &d->rec);
  if (e) return e;
  d->status = d->found ? 200 : 404;
  if (d->found == 1) {
    restrict_ctx x = {.source = d->rec.source, .purpose = it->q.purpose, .today = today};
    if ((e = jk_store_restriction_each(svc->s, d->rec.code, on_restriction, &x))) return e;
    if (x.held) {
      d->held = x.held;
      d->status = 404;
    }
  }
  return JK_OK;
}

static const char *result_of(const decided *d) {
  if (d->held) return d->held;
  if (d->status == 200) return d->found == 2 ? "AMBIGUOUS" : "ok";
  if (d->status == 404) return "NOTFOUND";
  if (d->status == 429) return "BUSY";
  if (d->status == 403) return "PERM";
  return "INVALID";
}

/* Index the rows by resident code in sorted batches, not one random index insert per answer
 * (docs/decisions.md D14): every INDEX_EVERY rows, or a second after the last batch. The rows
 * after the watermark are found by a scan of the short tail (jk_store_provision_each). */
static jk_err index_due(jk_provision_service *svc, int64_t last_id, int64_t now, int64_t *to) {
  *to = 0;
  jk_err e = JK_OK;
  if (svc->indexed < 0 && (e = jk_store_provision_indexed(svc->s, &svc->indexed))) return e;
  if (last_id - svc->indexed < INDEX_EVERY && now - svc->indexed_ns < INDEX_AFTER_NS) return JK_OK;
  if (last_id <= svc->indexed) return JK_OK;
  if ((e = jk_store_provision_index(svc->s, last_id))) return e;
  *to = last_id;
  return JK_OK;
}

/* The bytes the ledger entry's detail hash pins: the provision row, so that the table cannot be
 * changed behind the ledger's back. */
static size_t row_detail(const jk_provision_rec *r, char *buf, size_t cap) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, r->query, 32);
  fixed w = {buf, cap, 0};
  buf[0] = 0;
  puts_(&w, "provision\t");
  put_id(&w, r->id);
  const char *f[] = {r->at, r->agency, r->purpose, r->code, r->fields, r->result, hex};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    put(&w, "\t", 1);
    puts_(&w, f[i]);
  }
  return w.n;
}

static void fail_group(item **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    answer_error(v[i], 503, "IO", "the provision record could not be made durable: nothing was disclosed", 0);
}

static void run_group(jk_provision_service *svc, item **v, size_t n) {
  decided *d = jk_calloc(n, sizeof *d);
  jk_provision_rec *rec = jk_calloc(n, sizeof *rec);
  if (!d || !rec) {
    jk_free(d);
    jk_free(rec);
    fail_group(v, n);
    return;
  }
  if (svc->hooks.lock) svc->hooks.lock(svc->hooks.payload);
  int64_t now = now_ns();
  char at[32];
  jk_utc_now(at, 0);
  jk_date today = jk_date_today();
  jk_err e = registry_refresh(svc, now);
  if (!e) e = jk_store_begin(svc->s);
  bool in_tx = !e;
  for (size_t i = 0; i < n && !e; i++) {
    item *it = v[i];
    if ((e = decide(svc, it, now, today, &d[i]))) break;
    jk_provision_rec *r = &rec[i];
    copy_str(r->at, sizeof r->at, at);
    copy_str(r->agency, sizeof r->agency, it->req->client);
    copy_str(r->purpose, sizeof r->purpose, it->q.purpose); /* "" when not parsed */
    if (d[i].status == 200 && d[i].found == 1) {
      copy_str(r->code, sizeof r->code, d[i].rec.code);
      copy_str(r->fields, sizeof r->fields, it->fields_text);
    } else if (d[i].held) { /* who was asked about, for the review; nothing was given */
      copy_str(r->code, sizeof r->code, d[i].rec.code);
    }
    copy_str(r->result, sizeof r->result, result_of(&d[i]));
    memcpy(r->query, it->hash, 32);
  }
  if (!e) e = jk_store_provision_put_many(svc->s, rec, n);
  int64_t index_to = 0;
  if (!e) e = index_due(svc, rec[n - 1].id, now, &index_to);
  for (size_t i = 0; i < n && !e; i++) {
    char terminal[80], detail[512], object[40];
    fixed tw = {terminal, sizeof terminal, 0}, ow = {object, sizeof object, 0};
    puts_(&tw, "https:");
    puts_(&tw, v[i]->req->addr ? v[i]->req->addr : "?");
    bool answered = d[i].status == 200 || d[i].status == 404;
    /* the entry names its provision row, which names the resident (and the entry's detail hash
     * pins the row): objects in increasing order keep the ledger's object index appending,
     * where resident codes would dirty a random index page per answer */
    puts_(&ow, "provision:");
    put_id(&ow, rec[i].id);
    const char *res = rec[i].result;
    if (!answered) res = d[i].status == 429 ? "EBUSY" : d[i].status == 403 ? "EPERM" : "EINVAL";
    jk_ledger_entry en = {.operator_ = v[i]->req->client,
                          .role = v[i]->req->role,
                          .terminal = terminal,
                          .action = answered ? "provision.answer" : "provision.refuse",
                          .object = object,
                          .result = res,
                          .detail = detail,
                          .detail_len = row_detail(&rec[i], detail, sizeof detail)};
    e = jk_ledger_stage(svc->l, &en);
  }
  if (!e) {
    jk_ledger_defer_seal(svc->l, SEAL_MS);
    e = jk_store_commit(svc->s);
  } else if (in_tx) {
    jk_ledger_discard(svc->l);
    jk_store_rollback(svc->s);
  }
  if (svc->hooks.unlock) svc->hooks.unlock(svc->hooks.payload);
  if (e) {
    atomic_fetch_add(&svc->failures, 1);
    fprintf(stderr, "jukinetd[error]: provision: %s\n", jk_error_last());
    fail_group(v, n);
  } else {
    atomic_fetch_add(&svc->commits, 1);
    if (index_to) {
      svc->indexed = index_to;
      svc->indexed_ns = now;
    }
    for (size_t i = 0; i < n; i++) {
      item *it = v[i];
      if (d[i].status == 200) {
        atomic_fetch_add(&svc->answers, 1);
        answer_found(it, &d[i].rec, d[i].found != 1, rec[i].id);
      } else if (d[i].status == 404) {
        atomic_fetch_add(&svc->answers, 1);
        answer_error(it, 404, "NOTFOUND", "no resident matches", rec[i].id);
      } else {
        atomic_fetch_add(&svc->refusals, 1);
        answer_error(it, d[i].status, d[i].code, d[i].msg, rec[i].id);
      }
    }
  }
  jk_free(d);
  jk_free(rec);
}

/* The answer to its caller; the item is gone afterwards. */
static void hand_over(item *it) {
  it->done_fn(it->done_arg, it->status, it->body, it->len);
  jk_free(it);
}

/* ---- the committer thread ---- */

/* A signed ledger head over the entries the groups left unsigned (called without svc->mu). */
static jk_err seal(jk_provision_service *svc) {
  if (svc->hooks.lock) svc->hooks.lock(svc->hooks.payload);
  jk_err e = jk_ledger_seal(svc->l);
  if (svc->hooks.unlock) svc->hooks.unlock(svc->hooks.payload);
  if (e) {
    atomic_fetch_add(&svc->failures, 1);
    fprintf(stderr, "jukinetd[error]: provision: signing the ledger head: %s\n", jk_error_last());
  }
  return e;
}

/* Wait for requests; meanwhile sign the ledger's unsigned tail when it is SEAL_MS old (a failed
 * attempt is retried SEAL_MS later). Called and returns with svc->mu held. */
static void wait_for_work(jk_provision_service *svc, int64_t *retry_ns) {
  while (!svc->head && !svc->stopping) {
    int64_t since, now = now_ns();
    if (!jk_ledger_unsigned_since(svc->l, &since)) {
      pthread_cond_wait(&svc->wake, &svc->mu);
      continue;
    }
    int64_t due = since + SEAL_MS * 1000000LL;
    if (due < *retry_ns) due = *retry_ns;
    if (now >= due) {
      pthread_mutex_unlock(&svc->mu);
      if (seal(svc)) *retry_ns = now_ns() + SEAL_MS * 1000000LL;
      pthread_mutex_lock(&svc->mu);
      continue;
    }
    struct timespec ts = {.tv_sec = (time_t)(due / 1000000000LL), .tv_nsec = (long)(due % 1000000000LL)};
    pthread_cond_timedwait(&svc->wake, &svc->mu, &ts);
  }
}

static void *committer(void *arg) {
  jk_provision_service *svc = arg;
  pthread_setname_np(pthread_self(), "jk-provision"); /* for top -H and perf */
  item **v = jk_malloc(GROUP_MAX * sizeof *v);
  int64_t retry_ns = 0;
  pthread_mutex_lock(&svc->mu);
  for (;;) {
    wait_for_work(svc, &retry_ns);
    if (!svc->head && svc->stopping) break;
    size_t n = 0;
    while (svc->head && n < GROUP_MAX) {
      v[n++] = svc->head;
      svc->head = svc->head->next;
    }
    if (!svc->head) svc->tail = &svc->head;
    pthread_mutex_unlock(&svc->mu);
    if (!v) { /* out of memory at start: callers are answered 503 by the free */
      pthread_mutex_lock(&svc->mu);
      break;
    }
    run_group(svc, v, n);
    if (svc->hooks.answers_begin) svc->hooks.answers_begin(svc->hooks.payload);
    for (size_t i = 0; i < n; i++) hand_over(v[i]);
    if (svc->hooks.answers_end) svc->hooks.answers_end(svc->hooks.payload);
    pthread_mutex_lock(&svc->mu);
  }
  pthread_mutex_unlock(&svc->mu);
  jk_free(v);
  if (jk_ledger_unsigned_since(svc->l, NULL)) (void)seal(svc); /* nothing unsigned left behind */
  return NULL;
}

jk_err jk_provision_service_new(jk_provision_service **out, jk_store *s, jk_ledger *l, const jk_purposes *table,
                                const jk_provision_hooks *hooks) {
  if (out) *out = NULL;
  if (!out || !s || !l || !table) return jk_error_set(JK_EINVAL, "jk_provision_service_new: missing argument");
  jk_provision_service *svc = jk_calloc(1, sizeof *svc);
  if (!svc) return jk_error_set(JK_ENOMEM, NULL);
  svc->s = s;
  svc->l = l;
  svc->table = table;
  if (hooks) svc->hooks = *hooks;
  svc->tail = &svc->head;
  svc->indexed = -1;
  /* a tail a crash left unsigned (the store may be in use already: under the hooks) */
  if (svc->hooks.lock) svc->hooks.lock(svc->hooks.payload);
  jk_err e = jk_ledger_seal(l);
  if (svc->hooks.unlock) svc->hooks.unlock(svc->hooks.payload);
  if (e) {
    jk_free(svc);
    return jk_error_prefix("signing the ledger's unsigned entries: ");
  }
  pthread_mutex_init(&svc->mu, NULL);
  pthread_condattr_t ca; /* timed waits on the monotonic clock (now_ns) */
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&svc->wake, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&svc->thread, NULL, committer, svc) != 0) {
    pthread_cond_destroy(&svc->wake);
    pthread_mutex_destroy(&svc->mu);
    jk_free(svc);
    return jk_error_set(JK_EIO, "cannot start the provision committer thread");
  }
  *out = svc;
  return JK_OK;
}

void jk_provision_service_free(jk_provision_service *svc) {
  if (!svc) return;
  pthread_mutex_lock(&svc->mu);
  svc->stopping = true;
  pthread_cond_broadcast(&svc->wake);
  pthread_mutex_unlock(&svc->mu);
  pthread_join(svc->thread, NULL);
  /* requests still queued (the committer stopped early): 503, nothing disclosed */
  pthread_mutex_lock(&svc->mu);
  for (item *it = svc->head, *next; it; it = next) {
    next = it->next;
    answer_error(it, 503, "IO", "the service is stopping", 0);
    hand_over(it);
  }
  svc->head = NULL;
  pthread_mutex_unlock(&svc->mu);
  pthread_cond_destroy(&svc->wake);
  pthread_mutex_destroy(&svc->mu);
  jk_free(svc->ag);
  jk_free(svc);
}

jk_err jk_provision_submit(jk_provision_service *svc, const jk_provision_request *req, jk_provision_done_fn done,
                           void *arg) {
  if (!svc || !req || !req->client || !req->role || (!req->body && req->len) || !done)
    return jk_error_set(JK_EINVAL, "jk_provision_submit: missing argument");
  item *it = jk_calloc(1, sizeof *it); /* ~3 KiB: not on a connection thread's stack */
  if (!it) return jk_error_set(JK_ENOMEM, NULL);
  it->reqc = *req;
  it->req = &it->reqc;
  it->done_fn = done;
  it->done_arg = arg;
  prepare(svc, it); /* on the caller's thread: parsing runs in parallel, not in the committer */
  pthread_mutex_lock(&svc->mu);
  bool queued = !svc->stopping;
  if (queued) {
    *svc->tail = it;
    svc->tail = &it->next;
    pthread_cond_signal(&svc->wake);
  }
  pthread_mutex_unlock(&svc->mu);
  if (!queued) {
    answer_error(it, 503, "IO", "the service is stopping", 0);
    hand_over(it);
  }
  return JK_OK;
}

/* jk_provision_handle waits for its answer on a semaphore: each caller is woken alone. */
typedef struct waiter {
  sem_t sem;
  unsigned status;
  char *body;
  size_t len;
} waiter;

static void wake_waiter(void *arg, unsigned status, char *body, size_t len) {
  waiter *w = arg;
  w->status = status;
  w->body = body;
  w->len = len;
  sem_post(&w->sem);
}

jk_err jk_provision_handle(jk_provision_service *svc, const jk_provision_request *req, unsigned *status, char **body,
                           size_t *len) {
  if (status) *status = 0;
  if (body) *body = NULL;
  if (len) *len = 0;
  if (!status || !body || !len) return jk_error_set(JK_EINVAL, "jk_provision_handle: missing argument");
  waiter w = {.status = 0};
  sem_init(&w.sem, 0, 0);
  jk_err e = jk_provision_submit(svc, req, wake_waiter, &w);
  if (!e)
    while (sem_wait(&w.sem) != 0) {
    }
  sem_destroy(&w.sem);
  if (e) return e;
  *status = w.status;
  *body = w.body;
  *len = w.len;
  return w.body ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

void jk_provision_stats_get(jk_provision_service *svc, jk_provision_stats *out) {
  memset(out, 0, sizeof *out);
  if (!svc) return;
  out->answers = atomic_load(&svc->answers);
  out->refusals = atomic_load(&svc->refusals);
  out->commits = atomic_load(&svc->commits);
  out->failures = atomic_load(&svc->failures);
}
