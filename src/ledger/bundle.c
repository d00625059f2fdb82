/*
 * bundle.c — export a ledger as a self-contained bundle, and check one with nothing but the
 * node's public key (docs/ledger.md has the format).
 *
 * A bundle is JSON Lines, UTF-8, one object per line:
 *   {"format":"jukinet-ledger-bundle","version":1,"node":"<node id>"}
 *   {"seq":1,"at":"…","operator":"…","role":"…","terminal":"…","action":"…","object":"…",
 *    "result":"…","detail":"<64 hex>","leaf":"<64 hex>"}                         one per entry
 *   {"head":{"size":N,"root":"<64 hex>","at":"…","sig":"<128 hex>"}}             after entry N
 *   {"end":{"entries":N,"heads":M}}                                               last line
 * The checker treats the bundle as hostile: lines are capped, every field is checked for type
 * and length, duplicates keys are refused, and a bundle cut short is reported.
 */
#include "ledger/ledger_int.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BUNDLE_LINE_MAX 8192

/* ---- export ---- */

typedef struct out_ctx {
  int fd;
  jk_err err;
  jk_ledger_head_row *heads;
  size_t nheads, next;
  int64_t entries;
} out_ctx;

static jk_err write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) return jk_error_set(JK_EIO, "writing the bundle failed");
    p += w;
    n -= (size_t)w;
  }
  return JK_OK;
}

static jk_err write_json(int fd, json_t *o) {
  if (!o) return jk_error_set(JK_ENOMEM, NULL);
  char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(o);
  if (!s) return jk_error_set(JK_ENOMEM, NULL);
  jk_err e = write_all(fd, s, strlen(s));
  if (!e) e = write_all(fd, "\n", 1);
  free(s);
  return e;
}

static json_t *hex(const uint8_t *b, size_t n) {
  char h[129];
  sodium_bin2hex(h, sizeof h, b, n);
  return json_string(h);
}

static jk_err write_head(int fd, const jk_ledger_head_row *h) {
  return write_json(fd, json_pack("{s:{s:I, s:o, s:s, s:o}}", "head", "size", (json_int_t)h->size, "root",
                                  hex(h->root, 32), "at", h->at, "sig", hex(h->sig, 64)));
}

static int export_row(const jk_ledger_row *r, void *payload) {
  out_ctx *c = payload;
  c->err = write_json(c->fd, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "seq", (json_int_t)r->seq,
                                       "at", r->at, "operator", r->operator_, "role", r->role, "terminal", r->terminal,
                                       "action", r->action, "object", r->object, "result", r->result, "detail",
                                       hex(r->detail, 32), "leaf", hex(r->leaf, 32)));
  c->entries++;
  while (!c->err && c->next < c->nheads && c->heads[c->next].size <= r->seq) c->err = write_head(c->fd, &c->heads[c->next++]);
  return c->err ? 1 : 0;
}

jk_err jk_ledger_export(jk_ledger *l, int fd) {
  jk_store *s = jk__ledger_store(l);
  jk__heads hv = {0};
  jk_err e = jk_store_ledger_head_each(s, jk__heads_push, &hv);
  if (!e) e = hv.err;
  if (!e) e = write_json(fd, json_pack("{s:s, s:i, s:s}", "format", "jukinet-ledger-bundle", "version", 1, "node",
                                       jk__ledger_node_id(l)));
  out_ctx c = {fd, JK_OK, hv.v, hv.n, 0, 0};
  /* the entries under the newest signed head: a tail still waiting for its head (D15) would
   * make the bundle fail its check; it comes with the next export */
  int64_t last = hv.n ? hv.v[hv.n - 1].size : 0;
  if (!e) e = jk_store_ledger_each(s, 1, last, export_row, &c); /* no head at all: every entry, so that the check fails */
  if (!e) e = c.err;
  /* heads beyond the last entry are exported too: the checker reports them as a cut tail */
  while (!e && c.next < c.nheads) e = write_head(fd, &c.heads[c.next++]);
  if (!e)
    e = write_json(fd, json_pack("{s:{s:I, s:I}}", "end", "entries", (json_int_t)c.entries, "heads", (json_int_t)hv.n));
  jk_free(hv.v);
  return e;
}

/* ---- check ---- */

static bool get_str(json_t *o, const char *key, const char **out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v) || json_string_length(v) > JK_LEDGER_FIELD_MAX) return false;
  *out = json_string_value(v);
  return strlen(*out) == json_string_length(v); /* no embedded NUL */
}

static bool get_hex(json_t *o, const char *key, uint8_t *out, size_t n) {
  const char *s;
  size_t got;
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v) || json_string_length(v) != 2 * n) return false;
  s = json_string_value(v);
  return sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) == 0 && got == n;
}

static bool get_int(json_t *o, const char *key, int64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
  *out = (int64_t)json_integer_value(v);
  return true;
}

/* Damage inside a bundle is corruption (exit 8), like damage in a node.db; only a file that is
 * not a bundle at all (wrong header, empty) is invalid input. */
static jk_err bad_line(size_t line, const char *what) {
  return jk_error_set(JK_ECORRUPT, "bundle line %zu: %s", line, what);
}

/* Pass 1 collects the heads (they are checked as their size is reached in pass 2). */
static jk_err parse_line(const char *p, size_t n, size_t line, json_t **out) {
  json_error_t je;
  if (n > BUNDLE_LINE_MAX) return bad_line(line, "line too long");
  *out = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
  if (!*out || !json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return bad_line(line, "not a JSON object");
  }
  return JK_OK;
}

typedef struct line_iter {
  const char *p, *end;
  size_t line;
} line_iter;

static bool next_line(line_iter *it, const char **start, size_t *n) {
  if (it->p >= it->end) return false;
  const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
  const char *stop = nl ? nl : it->end;
  *start = it->p;
  *n = (size_t)(stop - it->p);
  it->p = nl ? nl + 1 : it->end;
  it->line++;
  return true;
}

static jk_err parse_head(json_t *o, size_t line, jk_ledger_head_row *h) {
  json_t *hv = json_object_get(o, "head");
  const char *at;
  memset(h, 0, sizeof *h);
  if (!json_is_object(hv) || json_object_size(o) != 1 || !get_int(hv, "size", &h->size) || h->size < 1 ||
      !get_hex(hv, "root", h->root, 32) || !get_str(hv, "at", &at) || strlen(at) >= sizeof h->at ||
      !get_hex(hv, "sig", h->sig, 64))
    return bad_line(line, "malformed tree head");
  memcpy(h->at, at, strlen(at) + 1);
  return JK_OK;
}

static int cmp_head(const void *a, const void *b) {
  int64_t x = ((const jk_ledger_head_row *)a)->size, y = ((const jk_ledger_head_row *)b)->size;
  return x < y ? -1 : x > y;
}

jk_err jk_ledger_check_bundle(const char *data, size_t len, const uint8_t pubkey[32], jk_ledger_report *report) {
  jk_err e = JK_OK;
  json_t *o = NULL;
  const char *p, *node;
  size_t n;
  char node_id[JK_LEDGER_FIELD_MAX + 1];
  jk__heads hv = {0};
  memset(report, 0, sizeof *report);

  /* header */
  line_iter it = {data, data + len, 0};
  if (!next_line(&it, &p, &n)) return jk_error_set(JK_EINVAL, "the bundle is empty");
  if ((e = parse_line(p, n, it.line, &o))) return e;
  json_t *fmt = json_object_get(o, "format"), *ver = json_object_get(o, "version");
  if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "jukinet-ledger-bundle") != 0 || !json_is_integer(ver) ||
      json_integer_value(ver) != 1 || !get_str(o, "node", &node) || !*node) {
    json_decref(o);
    return jk_error_set(JK_EINVAL, "not a jukinet ledger bundle (version 1)");
  }
  snprintf(node_id, sizeof node_id, "%s", node);
  json_decref(o);
  o = NULL;

  /* pass 1: heads and the end line */
  int64_t end_entries = -1, end_heads = -1, seen_entries = 0;
  line_iter it1 = it;
  while (!e && next_line(&it1, &p, &n)) {
    if (end_entries >= 0) {
      if (n == 0 && it1.p >= it1.end) break;
      e = bad_line(it1.line, "data after the end line");
      break;
    }
    if ((e = parse_line(p, n, it1.line, &o))) break;
    if (json_object_get(o, "head")) {
      jk_ledger_head_row h;
      if (!(e = parse_head(o, it1.line, &h)) && jk__heads_push(&h, &hv)) e = hv.err;
    } else if (json_object_get(o, "end")) {
      json_t *ev = json_object_get(o, "end");
      if (!json_is_object(ev) || !get_int(ev, "entries", &end_entries) || !get_int(ev, "heads", &end_heads))
        e = bad_line(it1.line, "malformed end line");
    } else {
      seen_entries++;
    }
    json_decref(o);
    o = NULL;
  }
  if (!e && end_entries < 0) e = jk_error_set(JK_ECORRUPT, "the bundle is cut short: it has no end line");
  if (!e && (end_entries != seen_entries || end_heads != (int64_t)hv.n))
    e = jk_error_set(JK_ECORRUPT, "the bundle is incomplete: its end line counts %lld entries and %lld heads",
                     (long long)end_entries, (long long)end_heads);
  if (e) {
    jk_free(hv.v);
    return e;
  }
  if (hv.n > 1) qsort(hv.v, hv.n, sizeof *hv.v, cmp_head);
  for (size_t i = 1; i < hv.n; i++)
    if (hv.v[i].size == hv.v[i - 1].size) {
      long long dup = (long long)hv.v[i].size;
      jk_free(hv.v);
      return jk_error_set(JK_ECORRUPT, "the bundle has two tree heads of size %lld", dup);
    }

  /* pass 2: entries through the verifier */
  jk__verifier v;
  jk__verifier_init(&v, node_id, pubkey, hv.v, hv.n, report);
  while (!e && next_line(&it, &p, &n)) {
    if ((e = parse_line(p, n, it.line, &o))) break;
    if (json_object_get(o, "head") || json_object_get(o, "end")) {
      json_decref(o);
      o = NULL;
      continue;
    }
    jk_ledger_row r;
    memset(&r, 0, sizeof r);
    if (!get_int(o, "seq", &r.seq) || !get_str(o, "at", &r.at) || !get_str(o, "operator", &r.operator_) ||
        !get_str(o, "role", &r.role) || !get_str(o, "terminal", &r.terminal) || !get_str(o, "action", &r.action) ||
        !get_str(o, "object", &r.object) || !get_str(o, "result", &r.result) ||
        !get_hex(o, "detail", r.detail, 32) || !get_hex(o, "leaf", r.leaf, 32) || json_object_size(o) != 10) {
      e = bad_line(it.line, "malformed entry");
    } else if (!jk__verifier_entry(&v, &r)) {
      json_decref(o);
      o = NULL;
      break;
    }
    json_decref(o);
    o = NULL;
  }
  if (e) {
    jk__verifier_free(&v);
    return e;
  }
  return jk__verifier_done(&v);
}
