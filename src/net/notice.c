/*
 * notice.c — the wire format of sync protocol v1: change notices, signed outbox heads,
 * batches and receipts (include/jukinet/notice.h; every byte in docs/protocol.md).
 *
 * Invariants
 * - Canonical: one notice has exactly one encoding. The encoder refuses what the decoder
 *   would refuse (both run check_notice), so decode(encode(n)) == n for every accepted n.
 * - Every decoder reads through a bounded reader (struct rd): it never reads past the input;
 *   a short input is "truncated at <field>", leftover bytes are "trailing bytes".
 * - Sizes from the wire are checked before they are used to allocate or to index: a batch
 *   allocates at most one copy of its body and an item array bounded by JK_BATCH_MAX_NOTICES.
 * - No keys here: signing goes through the caller's jk_ledger_signer; verification takes a
 *   public key. Nothing here opens a socket or touches the store.
 *
 * Notice encoding, version 1 (integers big-endian; str = u16 length + bytes; date = u16 year,
 * u8 month, u8 day):
 *   u8 0x01 | str source | u64 seq | u8 kind | 11 code | date moved_on
 *   kind CHANGE continues: u8 n + n bytes prev_code (n = 0 or 11) | u32 version | str name |
 *   str kana | date birth | u8 sex | str address | u8 reason | u8 status
 */
#include "jukinet/notice.h"
#include "jukinet/purpose.h"

#include "jukinet/text.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---- bounded reading ---- */

typedef struct rd {
  const uint8_t *p;
  size_t len, pos;
} rd;

static bool rd_need(const rd *r, size_t n) { return r->len - r->pos >= n; }

static bool rd_u8(rd *r, unsigned *v) {
  if (!rd_need(r, 1)) return false;
  *v = r->p[r->pos++];
  return true;
}

static bool rd_u16(rd *r, size_t *v) {
  if (!rd_need(r, 2)) return false;
  *v = ((size_t)r->p[r->pos] << 8) | r->p[r->pos + 1];
  r->pos += 2;
  return true;
}

static bool rd_u32(rd *r, uint32_t *v) {
  if (!rd_need(r, 4)) return false;
  *v = ((uint32_t)r->p[r->pos] << 24) | ((uint32_t)r->p[r->pos + 1] << 16) | ((uint32_t)r->p[r->pos + 2] << 8) |
       r->p[r->pos + 3];
  r->pos += 4;
  return true;
}

static bool rd_u64(rd *r, uint64_t *v) {
  if (!rd_need(r, 8)) return false;
  uint64_t x = 0;
  for (int i = 0; i < 8; i++) x = (x << 8) | r->p[r->pos + (size_t)i];
  r->pos += 8;
  *v = x;
  return true;
}

static bool rd_bytes(rd *r, void *out, size_t n) {
  if (!rd_need(r, n)) return false;
  memcpy(out, r->p + r->pos, n);
  r->pos += n;
  return true;
}

/* A str into out (cap bytes including the NUL). Returns 0 ok, 1 truncated, 2 too long,
 * 3 a NUL byte inside (the copy would be shorter than the wire: never canonical). */
static int rd_str(rd *r, char *out, size_t cap) {
  size_t n;
  if (!rd_u16(r, &n)) return 1;
  if (n >= cap) return 2; /* the caller fails: nothing more is read */
  if (!rd_bytes(r, out, n)) return 1;
  out[n] = '\0';
  return memchr(out, 0, n) ? 3 : 0;
}

static bool rd_date(rd *r, jk_date *d) {
  size_t y;
  unsigned m, dd;
  if (!rd_u16(r, &y) || !rd_u8(r, &m) || !rd_u8(r, &dd)) return false;
  d->y = (int)y;
  d->m = (int)m;
  d->d = (int)dd;
  return true;
}

/* ---- bounded writing ---- */

typedef struct wr {
  uint8_t *p;
  size_t cap, pos;
  bool over;
} wr;

static void wr_bytes(wr *w, const void *src, size_t n) {
  if (w->over || w->cap - w->pos < n) {
    w->over = true;
    return;
  }
  if (n) memcpy(w->p + w->pos, src, n);
  w->pos += n;
}

static void wr_u8(wr *w, unsigned v) {
  uint8_t b = (uint8_t)v;
  wr_bytes(w, &b, 1);
}

static void wr_u16(wr *w, size_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  wr_bytes(w, b, 2);
}

static void wr_u32(wr *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  wr_bytes(w, b, 4);
}

static void wr_u64(wr *w, uint64_t v) {
  uint8_t b[8];
  for (int i = 7; i >= 0; i--, v >>= 8) b[i] = (uint8_t)v;
  wr_bytes(w, b, 8);
}

static void wr_str(wr *w, const char *s) {
  size_t n = strlen(s);
  wr_u16(w, n);
  wr_bytes(w, s, n);
}

static void wr_date(wr *w, jk_date d) {
  wr_u16(w, (size_t)d.y);
  wr_u8(w, (unsigned)d.m);
  wr_u8(w, (unsigned)d.d);
}

/* ---- field checks (shared by encoders and decoders) ---- */

/* Length of a NUL-terminated field of a fixed array, or cap when it is not terminated. */
static size_t field_len(const char *s, size_t cap) { return strnlen(s, cap); }

static bool node_id_ok(const char *s, size_t cap) {
  size_t n = field_len(s, cap);
  if (n == 0 || n > JK_NODE_ID_MAX || n == cap) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
  return v;
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", a real date and time. */
static bool time_ok(const char *s, size_t cap) {
  size_t n = field_len(s, cap);
  if (n != JK_SYNC_TIME_LEN) return false;
  if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) || s[10] != 'T' ||
      !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2) ||
      s[19] != '.' || !digits(s + 20, 6) || s[26] != 'Z')
    return false;
  jk_date d = {num(s, 4), num(s + 5, 2), num(s + 8, 2)};
  return jk_date_valid(d) && num(s + 11, 2) < 24 && num(s + 14, 2) < 60 && num(s + 17, 2) < 60;
}

static jk_err check_node(const char *what, const char *field, const char *s, size_t cap) {
  if (!node_id_ok(s, cap))
    return jk_error_set(JK_EINVAL, "%s: %s is not a node id (1 to 63 printable ASCII characters)", what, field);
  return JK_OK;
}

static jk_err check_time(const char *what, const char *field, const char *s, size_t cap) {
  if (!time_ok(s, cap))
    return jk_error_set(JK_EINVAL, "%s: %s is not a UTC time YYYY-MM-DDTHH:MM:SS.uuuuuuZ", what, field);
  return JK_OK;
}

static jk_err check_code(const char *field, const char *s) {
  jk_err e = jk_rescode_validate(s, strnlen(s, JK_RESCODE_LEN + 1));
  if (e) jk_error_prefix("notice: %s: ", field);
  return e;
}

static jk_err check_date(const char *field, jk_date d) {
  if (!jk_date_valid(d))
    return jk_error_set(JK_EINVAL, "notice: %s is not a valid date (%04d-%02d-%02d)", field, d.y, d.m, d.d);
  return JK_OK;
}

static jk_err check_text(const char *field, const char *s, size_t cap, size_t max) {
  size_t n = field_len(s, cap);
  if (n > max || n == cap) return jk_error_set(JK_ETOOLARGE, "notice: %s is longer than %zu bytes", field, max);
  if (n == 0) return jk_error_set(JK_EINVAL, "notice: %s is empty", field);
  if (!jk_utf8_valid(s, n)) return jk_error_set(JK_EINVAL, "notice: %s is not valid UTF-8", field);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return jk_error_set(JK_EINVAL, "notice: %s contains a control character", field);
  return JK_OK;
}

/* A RESTRICT notice: until is a real date not before moved_on exactly when protect; purposes
 * "" or purpose codes separated by commas, none twice. */
static jk_err check_restrict(const jk_notice *n) {
  bool zero = n->until.y == 0 && n->until.m == 0 && n->until.d == 0;
  if (n->protect) {
    jk_err e = check_date("until", n->until);
    if (e) return e;
    if (jk_date_cmp(n->until, n->moved_on) < 0) return jk_error_set(JK_EINVAL, "notice: until is before moved_on");
  } else if (!zero) {
    return jk_error_set(JK_EINVAL, "notice: until is only for a protection");
  }
  size_t len = field_len(n->purposes, sizeof n->purposes);
  if (len == sizeof n->purposes)
    return jk_error_set(JK_ETOOLARGE, "notice: purposes is longer than %d bytes", JK_NOTICE_PURPOSES_MAX - 1);
  if (len && !jk_purpose_list_valid(n->purposes, len))
    return jk_error_set(JK_EINVAL, "notice: purposes is not a list of purpose codes, each once");
  return JK_OK;
}

/* Everything about a notice but its byte layout. */
static jk_err check_notice(const jk_notice *n) {
  jk_err e;
  if ((e = check_node("notice", "source", n->source, sizeof n->source))) return e;
  if (n->seq == 0) return jk_error_set(JK_EINVAL, "notice: seq must be at least 1");
  if (n->kind != JK_NOTICE_CHANGE && n->kind != JK_NOTICE_ERASE && n->kind != JK_NOTICE_RESTRICT)
    return jk_error_set(JK_EINVAL, "notice: unknown kind %d", (int)n->kind);
  if ((e = check_code("code", n->code)) || (e = check_date("moved_on", n->moved_on))) return e;
  if (n->kind == JK_NOTICE_RESTRICT) return check_restrict(n);
  if (n->protect || n->until.y || n->until.m || n->until.d || n->purposes[0])
    return jk_error_set(JK_EINVAL, "notice: protect, until and purposes are for a restriction only");
  if (n->kind == JK_NOTICE_ERASE) return JK_OK;
  bool code_change = n->reason == JK_MOVE_CODE_CHANGE;
  if (n->prev_code[0] == '\0') {
    if (code_change) return jk_error_set(JK_EINVAL, "notice: prev_code is required for a code change");
  } else {
    if (!code_change) return jk_error_set(JK_EINVAL, "notice: prev_code is only for a code change");
    if ((e = check_code("prev_code", n->prev_code))) return e;
    if (memcmp(n->prev_code, n->code, JK_RESCODE_LEN) == 0)
      return jk_error_set(JK_EINVAL, "notice: prev_code equals the new code");
  }
  if (n->version < 1) return jk_error_set(JK_EINVAL, "notice: version must be at least 1");
  if ((e = check_text("name", n->name, sizeof n->name, JK_NAME_MAX)) ||
      (e = check_text("kana", n->kana, sizeof n->kana, JK_NAME_MAX)))
    return e;
  if (!jk_text_is_kana(n->kana, strlen(n->kana)))
    return jk_error_set(JK_EINVAL, "notice: kana contains characters that are not kana");
  if ((e = check_date("birth", n->birth))) return e;
  if (n->sex != JK_SEX_MALE && n->sex != JK_SEX_FEMALE)
    return jk_error_set(JK_EINVAL, "notice: %s %d is out of range", "sex", (int)n->sex);
  if ((e = check_text("address", n->address, sizeof n->address, JK_ADDRESS_MAX))) return e;
  if ((int)n->reason < JK_MOVE_IN || (int)n->reason >= JK_MOVE__COUNT)
    return jk_error_set(JK_EINVAL, "notice: %s %d is out of range", "reason", (int)n->reason);
  if (n->status != JK_STATUS_ACTIVE && n->status != JK_STATUS_REMOVED)
    return jk_error_set(JK_EINVAL, "notice: %s %d is out of range", "status", (int)n->status);
  if (jk_date_cmp(n->moved_on, n->birth) < 0) return jk_error_set(JK_EINVAL, "notice: moved_on is before birth");
  return JK_OK;
}

/* ---- notices ---- */

static jk_err copy_field(char *dst, size_t cap, const char *src, const char *field) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) return jk_error_set(JK_ETOOLARGE, "notice: %s is longer than %zu bytes", field, cap - 1);
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
  return JK_OK;
}

jk_err jk_notice_from_identity(jk_notice *out, const char *source, uint64_t seq, const jk_identity *id) {
  jk_err e;
  memset(out, 0, sizeof *out);
  if ((e = copy_field(out->source, sizeof out->source, source, "source")) ||
      (e = copy_field(out->code, sizeof out->code, id->code, "code")) ||
      (e = copy_field(out->name, sizeof out->name, id->name, "name")) ||
      (e = copy_field(out->kana, sizeof out->kana, id->kana, "kana")) ||
      (e = copy_field(out->address, sizeof out->address, id->address, "address"))) {
    memset(out, 0, sizeof *out);
    return e;
  }
  out->seq = seq;
  out->kind = JK_NOTICE_CHANGE;
  out->version = id->version;
  out->birth = id->birth;
  out->sex = id->sex;
  out->reason = id->reason;
  out->moved_on = id->moved_on;
  out->status = id->status;
  return JK_OK;
}

jk_err jk_notice_encode(const jk_notice *n, uint8_t *buf, size_t cap, size_t *len) {
  jk_err e;
  if ((e = check_notice(n))) return e;
  wr w = {buf, cap, 0, false};
  wr_u8(&w, 1);
  wr_str(&w, n->source);
  wr_u64(&w, n->seq);
  wr_u8(&w, (unsigned)n->kind);
  wr_bytes(&w, n->code, JK_RESCODE_LEN);
  wr_date(&w, n->moved_on);
  if (n->kind == JK_NOTICE_RESTRICT) {
    wr_u8(&w, n->protect ? 1u : 0u);
    wr_date(&w, n->until);
    wr_str(&w, n->purposes);
  }
  if (n->kind == JK_NOTICE_CHANGE) {
    size_t pl = strlen(n->prev_code);
    wr_u8(&w, (unsigned)pl);
    wr_bytes(&w, n->prev_code, pl);
    wr_u32(&w, (uint32_t)n->version);
    wr_str(&w, n->name);
    wr_str(&w, n->kana);
    wr_date(&w, n->birth);
    wr_u8(&w, (unsigned)n->sex);
    wr_str(&w, n->address);
    wr_u8(&w, (unsigned)n->reason);
    wr_u8(&w, (unsigned)n->status);
  }
  if (w.over) return jk_error_set(JK_ETOOLARGE, "notice encoding buffer too small");
  *len = w.pos;
  return JK_OK;
}

static jk_err truncated(const char *field) {
  return jk_error_set(JK_EINVAL, "notice: truncated at %s", field);
}

/* A str field of the notice: truncated, too long, else copied. */
static jk_err rd_text(rd *r, char *out, size_t cap, const char *field) {
  int s = rd_str(r, out, cap);
  if (s == 1) return truncated(field);
  if (s == 2) return jk_error_set(JK_ETOOLARGE, "notice: %s is longer than %zu bytes", field, cap - 1);
  if (s == 3) return jk_error_set(JK_EINVAL, "notice: %s contains a control character", field);
  return JK_OK;
}

static jk_err notice_decode(jk_notice *n, const void *data, size_t len) {
  rd r = {data, len, 0};
  unsigned v, kind, pl, sex, reason, status;
  uint32_t version;
  jk_err e;
  memset(n, 0, sizeof *n);
  if (len > JK_NOTICE_ENCODED_MAX)
    return jk_error_set(JK_ETOOLARGE, "notice: %zu bytes, more than the %d a notice may have", len,
                        (int)JK_NOTICE_ENCODED_MAX);
  if (!rd_u8(&r, &v)) return truncated("layout version");
  if (v != 1) return jk_error_set(JK_EINVAL, "notice: unknown layout version %u", v);
  int s = rd_str(&r, n->source, sizeof n->source);
  if (s == 1) return truncated("source");
  if (s != 0) return jk_error_set(JK_EINVAL, "%s: %s is not a node id (1 to 63 printable ASCII characters)", "notice",
                                  "source");
  if (!rd_u64(&r, &n->seq)) return truncated("seq");
  if (!rd_u8(&r, &kind)) return truncated("kind");
  if (kind != JK_NOTICE_CHANGE && kind != JK_NOTICE_ERASE && kind != JK_NOTICE_RESTRICT)
    return jk_error_set(JK_EINVAL, "notice: unknown kind %d", (int)kind);
  n->kind = (jk_notice_kind)kind;
  if (!rd_bytes(&r, n->code, JK_RESCODE_LEN)) return truncated("code");
  if (!rd_date(&r, &n->moved_on)) return truncated("moved_on");
  if (kind == JK_NOTICE_RESTRICT) {
    unsigned flags;
    if (!rd_u8(&r, &flags)) return truncated("flags");
    if (flags > 1) return jk_error_set(JK_EINVAL, "notice: unknown restriction flags %u", flags);
    n->protect = flags == 1;
    if (!rd_date(&r, &n->until)) return truncated("until");
    if ((e = rd_text(&r, n->purposes, sizeof n->purposes, "purposes"))) return e;
  }
  if (kind == JK_NOTICE_CHANGE) {
    if (!rd_u8(&r, &pl)) return truncated("prev_code");
    if (pl != 0 && pl != JK_RESCODE_LEN)
      return jk_error_set(JK_EINVAL, "notice: prev_code has %u bytes (0 or 11)", pl);
    if (!rd_bytes(&r, n->prev_code, pl)) return truncated("prev_code");
    if (!rd_u32(&r, &version)) return truncated("version");
    if (version < 1 || version > 0x7fffffffu) return jk_error_set(JK_EINVAL, "notice: version must be at least 1");
    n->version = (int)version;
    if ((e = rd_text(&r, n->name, sizeof n->name, "name")) || (e = rd_text(&r, n->kana, sizeof n->kana, "kana")))
      return e;
    if (!rd_date(&r, &n->birth)) return truncated("birth");
    if (!rd_u8(&r, &sex)) return truncated("sex");
    if ((e = rd_text(&r, n->address, sizeof n->address, "address"))) return e;
    if (!rd_u8(&r, &reason)) return truncated("reason");
    if (!rd_u8(&r, &status)) return truncated("status");
    n->sex = (jk_sex)sex;
    n->reason = (jk_move_kind)reason;
    n->status = (jk_status)status;
  }
  if (r.pos != len) return jk_error_set(JK_EINVAL, "notice: %zu trailing bytes", len - r.pos);
  /* NUL bytes inside a str would make the copy shorter than the wire: refuse them. */
  return check_notice(n);
}

jk_err jk_notice_decode(jk_notice *out, const void *data, size_t len) {
  jk_err e = data ? notice_decode(out, data, len) : truncated("layout version");
  if (e) memset(out, 0, sizeof *out);
  return e;
}

void jk_notice_leaf(const void *enc, size_t len, uint8_t out[JK_MERKLE_HASH_LEN]) { jk_merkle_leaf_hash(enc, len, out); }

/* ---- signed heads and receipts: messages ---- */

static const char outbox_magic[23] = "jukinet outbox head v1"; /* 22 bytes + NUL, all signed */
static const char receipt_magic[19] = "jukinet receipt v1";    /* 18 bytes + NUL, all signed */

jk_err jk_outbox_head_message(const jk_outbox_head *h, uint8_t *buf, size_t cap, size_t *len) {
  jk_err e;
  if ((e = check_node("outbox head", "node", h->node, sizeof h->node)) ||
      (e = check_time("outbox head", "at", h->at, sizeof h->at)))
    return e;
  if (h->size > JK_MERKLE_MAX_SIZE) return jk_error_set(JK_EINVAL, "outbox head: size is too large");
  wr w = {buf, cap, 0, false};
  wr_bytes(&w, outbox_magic, sizeof outbox_magic);
  wr_str(&w, h->node);
  wr_u64(&w, h->size);
  wr_bytes(&w, h->root, 32);
  wr_str(&w, h->at);
  if (w.over) return jk_error_set(JK_ETOOLARGE, "outbox head message buffer too small");
  *len = w.pos;
  return JK_OK;
}

jk_err jk_outbox_head_sign(jk_outbox_head *h, const jk_ledger_signer *signer) {
  uint8_t msg[JK_OUTBOX_HEAD_MSG_MAX];
  size_t len = 0;
  jk_err e = jk_outbox_head_message(h, msg, sizeof msg, &len);
  if (!e && (e = signer->sign(msg, len, h->sig, signer->payload))) jk_error_prefix("signing the outbox head: ");
  return e;
}

bool jk_outbox_head_verify(const jk_outbox_head *h, const uint8_t pubkey[32]) {
  uint8_t msg[JK_OUTBOX_HEAD_MSG_MAX];
  size_t len = 0;
  if (jk_outbox_head_message(h, msg, sizeof msg, &len)) return false;
  return crypto_sign_verify_detached(h->sig, msg, len, pubkey) == 0;
}

static void receipt_fields(wr *w, const jk_receipt *r) {
  wr_str(w, r->receiver);
  wr_str(w, r->sender);
  wr_str(w, r->source);
  wr_u64(w, r->highest_seq);
  wr_u64(w, r->ledger_size);
  wr_bytes(w, r->ledger_root, 32);
  wr_str(w, r->at);
}

static jk_err check_receipt(const jk_receipt *r) {
  jk_err e;
  if ((e = check_node("receipt", "receiver", r->receiver, sizeof r->receiver)) ||
      (e = check_node("receipt", "sender", r->sender, sizeof r->sender)) ||
      (e = check_node("receipt", "source", r->source, sizeof r->source)) ||
      (e = check_time("receipt", "at", r->at, sizeof r->at)))
    return e;
  if (r->ledger_size > JK_MERKLE_MAX_SIZE) return jk_error_set(JK_EINVAL, "receipt: ledger_size is too large");
  return JK_OK;
}

jk_err jk_receipt_message(const jk_receipt *r, uint8_t *buf, size_t cap, size_t *len) {
  jk_err e;
  if ((e = check_receipt(r))) return e;
  wr w = {buf, cap, 0, false};
  wr_bytes(&w, receipt_magic, sizeof receipt_magic);
  receipt_fields(&w, r);
  if (w.over) return jk_error_set(JK_ETOOLARGE, "receipt buffer too small");
  *len = w.pos;
  return JK_OK;
}

jk_err jk_receipt_encode(const jk_receipt *r, uint8_t *buf, size_t cap, size_t *len) {
  jk_err e;
  if ((e = check_receipt(r))) return e;
  wr w = {buf, cap, 0, false};
  wr_u8(&w, 1);
  receipt_fields(&w, r);
  wr_bytes(&w, r->sig, 64);
  if (w.over) return jk_error_set(JK_ETOOLARGE, "receipt buffer too small");
  *len = w.pos;
  return JK_OK;
}

static jk_err receipt_str(rd *r, char *out, size_t cap, const char *field) {
  int s = rd_str(r, out, cap);
  if (s == 1) return jk_error_set(JK_EINVAL, "receipt: truncated at %s", field);
  if (s != 0) return jk_error_set(JK_EINVAL, "receipt: %s is too long or contains a NUL byte", field);
  return JK_OK;
}

jk_err jk_receipt_decode(jk_receipt *out, const void *data, size_t len) {
  rd r = {data, data ? len : 0, 0};
  unsigned v;
  jk_err e;
  memset(out, 0, sizeof *out);
  if (!rd_u8(&r, &v)) {
    e = jk_error_set(JK_EINVAL, "receipt: truncated at %s", "version");
  } else if (v != 1) {
    e = jk_error_set(JK_EINVAL, "receipt: unknown layout version %u", v);
  } else if (!(e = receipt_str(&r, out->receiver, sizeof out->receiver, "receiver")) &&
             !(e = receipt_str(&r, out->sender, sizeof out->sender, "sender")) &&
             !(e = receipt_str(&r, out->source, sizeof out->source, "source"))) {
    if (!rd_u64(&r, &out->highest_seq)) e = jk_error_set(JK_EINVAL, "receipt: truncated at %s", "highest_seq");
    else if (!rd_u64(&r, &out->ledger_size)) e = jk_error_set(JK_EINVAL, "receipt: truncated at %s", "ledger_size");
    else if (!rd_bytes(&r, out->ledger_root, 32)) e = jk_error_set(JK_EINVAL, "receipt: truncated at %s", "ledger_root");
    else if ((e = receipt_str(&r, out->at, sizeof out->at, "at"))) {
    } else if (!rd_bytes(&r, out->sig, 64)) e = jk_error_set(JK_EINVAL, "receipt: truncated at %s", "sig");
    else if (r.pos != len) e = jk_error_set(JK_EINVAL, "receipt: %zu trailing bytes", len - r.pos);
    else e = check_receipt(out);
  }
  if (e) memset(out, 0, sizeof *out);
  return e;
}

jk_err jk_receipt_sign(jk_receipt *r, const jk_ledger_signer *signer) {
  uint8_t msg[JK_RECEIPT_MSG_MAX];
  size_t len = 0;
  jk_err e = jk_receipt_message(r, msg, sizeof msg, &len);
  if (!e && (e = signer->sign(msg, len, r->sig, signer->payload))) jk_error_prefix("signing the receipt: ");
  return e;
}

bool jk_receipt_verify(const jk_receipt *r, const uint8_t pubkey[32]) {
  uint8_t msg[JK_RECEIPT_MSG_MAX];
  size_t len = 0;
  if (jk_receipt_message(r, msg, sizeof msg, &len)) return false;
  return crypto_sign_verify_detached(r->sig, msg, len, pubkey) == 0;
}

/* ---- batches ----
 * Layout, version 1 (docs/protocol.md):
 *   8 "jkbatch\0" | u8 0x01 | str sender | str receiver | str source | u64 first_seq | u32 count
 *   outbox head: u64 size | 32 root | str at | 64 sig
 *   count x: u32 n | n bytes notice | u8 k | k x 32 inclusion path
 *   ledger head: u64 size | 32 root | str at | 64 sig
 *   u64 old_size | u8 k | k x 32 consistency path
 */

static const char batch_magic[8] = "jkbatch"; /* 7 bytes + NUL */

/* The private allocation behind a decoded batch: the item array, the decoded notices, then a
 * copy of the body. */
typedef struct batch_block {
  jk_batch batch;
  jk_batch_item items[];
} batch_block;

static jk_err check_seq_range(uint64_t first, size_t count) {
  if (count > JK_BATCH_MAX_NOTICES)
    return jk_error_set(JK_ETOOLARGE, "batch: %zu notices, more than the %d a batch may have", count,
                        JK_BATCH_MAX_NOTICES);
  if (count == 0 && first != 0) return jk_error_set(JK_EINVAL, "batch: first_seq must be 0 when the batch is empty");
  if (count > 0 && first == 0) return jk_error_set(JK_EINVAL, "batch: first_seq must be at least 1");
  if (count > 0 && first > UINT64_MAX - (count - 1)) return jk_error_set(JK_EINVAL, "batch: the seqs overflow");
  return JK_OK;
}

static jk_err check_batch_fields(const jk_batch *b) {
  jk_err e;
  if ((e = check_node("batch", "sender", b->sender, sizeof b->sender)) ||
      (e = check_node("batch", "receiver", b->receiver, sizeof b->receiver)) ||
      (e = check_node("batch", "source", b->source, sizeof b->source)) ||
      (e = check_seq_range(b->first_seq, b->count)) ||
      (e = check_time("batch", "outbox head at", b->outbox.at, sizeof b->outbox.at)) ||
      (e = check_time("batch", "ledger head at", b->ledger.at, sizeof b->ledger.at)))
    return e;
  if (b->outbox.size > JK_MERKLE_MAX_SIZE) return jk_error_set(JK_EINVAL, "batch: the outbox head size is too large");
  if (b->ledger.size < 1) return jk_error_set(JK_EINVAL, "batch: the ledger head covers no entry");
  if (b->ledger_path_len > JK_MERKLE_MAX_PATH)
    return jk_error_set(JK_EINVAL, "batch: %s has %zu hashes, more than %d", "the consistency proof",
                        b->ledger_path_len, JK_MERKLE_MAX_PATH);
  return JK_OK;
}

jk_err jk_batch_encode(const jk_batch *b, uint8_t **out, size_t *out_len) {
  jk_err e;
  *out = NULL;
  *out_len = 0;
  if ((e = check_batch_fields(b))) return e;
  if (b->count > 0 && !b->items) return jk_error_set(JK_EINVAL, "batch: the notices are missing");
  size_t total = sizeof batch_magic + 1 + 3 * 2 + strlen(b->sender) + strlen(b->receiver) + strlen(b->source) + 8 +
                 4 + (8 + 32 + 2 + JK_SYNC_TIME_LEN + 64) + (8 + 32 + 2 + JK_SYNC_TIME_LEN + 64) + 8 + 1 +
                 b->ledger_path_len * 32;
  jk_notice *n = jk_malloc(sizeof *n);
  if (!n) return jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < b->count; i++) {
    const jk_batch_item *it = &b->items[i];
    if (it->path_len > JK_MERKLE_MAX_PATH) {
      e = jk_error_set(JK_EINVAL, "batch: notice %zu: its inclusion proof has %zu hashes, more than %d", i + 1,
                       it->path_len, JK_MERKLE_MAX_PATH);
      break;
    }
    if ((e = jk_notice_decode(n, it->enc, it->enc_len))) {
      jk_error_prefix("batch: notice %zu: ", i + 1);
      break;
    }
    total += 4 + it->enc_len + 1 + it->path_len * 32;
    if (total > JK_BATCH_MAX_BYTES) {
      e = jk_error_set(JK_ETOOLARGE, "batch: more than %u bytes", JK_BATCH_MAX_BYTES);
      break;
    }
  }
  jk_free(n);
  if (e) return e;
  uint8_t *buf = jk_malloc(total);
  if (!buf) return jk_error_set(JK_ENOMEM, NULL);
  wr w = {buf, total, 0, false};
  wr_bytes(&w, batch_magic, sizeof batch_magic);
  wr_u8(&w, 1);
  wr_str(&w, b->sender);
  wr_str(&w, b->receiver);
  wr_str(&w, b->source);
  wr_u64(&w, b->first_seq);
  wr_u32(&w, (uint32_t)b->count);
  wr_u64(&w, b->outbox.size);
  wr_bytes(&w, b->outbox.root, 32);
  wr_str(&w, b->outbox.at);
  wr_bytes(&w, b->outbox.sig, 64);
  for (size_t i = 0; i < b->count; i++) {
    const jk_batch_item *it = &b->items[i];
    wr_u32(&w, (uint32_t)it->enc_len);
    wr_bytes(&w, it->enc, it->enc_len);
    wr_u8(&w, (unsigned)it->path_len);
    if (it->path_len) wr_bytes(&w, it->path, it->path_len * 32);
  }
  wr_u64(&w, (uint64_t)b->ledger.size);
  wr_bytes(&w, b->ledger.root, 32);
  wr_str(&w, b->ledger.at);
  wr_bytes(&w, b->ledger.sig, 64);
  wr_u64(&w, b->ledger_old_size);
  wr_u8(&w, (unsigned)b->ledger_path_len);
  wr_bytes(&w, b->ledger_path, b->ledger_path_len * 32);
  if (w.over || w.pos != total) { /* cannot happen: total is computed from the same fields */
    jk_free(buf);
    return jk_error_set(JK_ECORRUPT, "batch: internal size mismatch");
  }
  *out = buf;
  *out_len = total;
  return JK_OK;
}

static jk_err batch_truncated(const char *field) { return jk_error_set(JK_EINVAL, "batch: truncated at %s", field); }

static jk_err batch_node(rd *r, char *out, size_t cap, const char *field) {
  int s = rd_str(r, out, cap);
  if (s == 1) return batch_truncated(field);
  if (s != 0) return jk_error_set(JK_EINVAL, "%s: %s is not a node id (1 to 63 printable ASCII characters)", "batch",
                                  field);
  return check_node("batch", field, out, cap);
}

static jk_err batch_time(rd *r, char *out, size_t cap, const char *field) {
  int s = rd_str(r, out, cap);
  if (s == 1) return batch_truncated(field);
  if (s != 0) return jk_error_set(JK_EINVAL, "%s: %s is not a UTC time YYYY-MM-DDTHH:MM:SS.uuuuuuZ", "batch", field);
  return check_time("batch", field, out, cap);
}

static jk_err batch_path(rd *r, const uint8_t (**path)[32], size_t *len, const char *field) {
  unsigned k;
  if (!rd_u8(r, &k)) return batch_truncated(field);
  if (k > JK_MERKLE_MAX_PATH)
    return jk_error_set(JK_EINVAL, "batch: %s has %zu hashes, more than %d", field, (size_t)k, JK_MERKLE_MAX_PATH);
  if (!rd_need(r, (size_t)k * 32)) return batch_truncated(field);
  *path = (const uint8_t(*)[32])(r->p + r->pos);
  *len = k;
  r->pos += (size_t)k * 32;
  return JK_OK;
}

static jk_err batch_decode(jk_batch **out, const uint8_t *data, size_t len) {
  rd r = {data, len, 0};
  jk_err e;
  unsigned v;
  uint32_t count;
  uint64_t first;
  char magic[sizeof batch_magic];
  jk_batch hdr;
  memset(&hdr, 0, sizeof hdr);
  if (len > JK_BATCH_MAX_BYTES)
    return jk_error_set(JK_ETOOLARGE, "batch: %zu bytes, more than the %u a batch may have", len, JK_BATCH_MAX_BYTES);
  if (!rd_bytes(&r, magic, sizeof magic)) return batch_truncated("magic");
  if (memcmp(magic, batch_magic, sizeof magic) != 0) return jk_error_set(JK_EINVAL, "batch: not a batch (bad magic)");
  if (!rd_u8(&r, &v)) return batch_truncated("layout version");
  if (v != 1) return jk_error_set(JK_EINVAL, "batch: unknown layout version %u", v);
  if ((e = batch_node(&r, hdr.sender, sizeof hdr.sender, "sender")) ||
      (e = batch_node(&r, hdr.receiver, sizeof hdr.receiver, "receiver")) ||
      (e = batch_node(&r, hdr.source, sizeof hdr.source, "source")))
    return e;
  if (!rd_u64(&r, &first)) return batch_truncated("first_seq");
  if (!rd_u32(&r, &count)) return batch_truncated("count");
  if ((e = check_seq_range(first, count))) return e;
  /* every notice takes at least 4 + 1 bytes: refuse an impossible count before allocating */
  if ((size_t)count * 5 > len - r.pos) return batch_truncated("the notices");

  /* one block: the batch, its items, the notices decoded (kept: the receiver reads them, so no
   * one decodes them again), and a copy of the bytes the items point into */
  size_t items_sz = (size_t)count * sizeof(jk_batch_item), notices_sz = (size_t)count * sizeof(jk_notice);
  batch_block *blk = jk_malloc(sizeof *blk + items_sz + notices_sz + len);
  if (!blk) return jk_error_set(JK_ENOMEM, NULL);
  memset(blk, 0, sizeof *blk + items_sz);
  jk_notice *notices = (jk_notice *)((uint8_t *)blk + sizeof *blk + items_sz);
  uint8_t *body = (uint8_t *)notices + notices_sz;
  memcpy(body, data, len);
  r.p = body;
  jk_batch *b = &blk->batch;
  *b = hdr;
  b->owned_ = blk;
  b->items = count ? blk->items : NULL;
  b->notices = count ? notices : NULL;
  b->first_seq = first;
  b->count = count;
  memcpy(b->outbox.node, b->source, sizeof b->outbox.node);
  if (!rd_u64(&r, &b->outbox.size)) {
    e = batch_truncated("outbox head size");
    goto out;
  }
  if (b->outbox.size > JK_MERKLE_MAX_SIZE) {
    e = jk_error_set(JK_EINVAL, "batch: the outbox head size is too large");
    goto out;
  }
  if (!rd_bytes(&r, b->outbox.root, 32)) {
    e = batch_truncated("outbox head root");
    goto out;
  }
  if ((e = batch_time(&r, b->outbox.at, sizeof b->outbox.at, "outbox head at"))) goto out;
  if (!rd_bytes(&r, b->outbox.sig, 64)) {
    e = batch_truncated("outbox head sig");
    goto out;
  }
  for (size_t i = 0; i < count; i++) {
    jk_batch_item *it = &blk->items[i];
    uint32_t n_len;
    if (!rd_u32(&r, &n_len)) {
      e = jk_error_set(JK_EINVAL, "batch: truncated in notice %zu", i + 1);
      goto out;
    }
    if (n_len > JK_NOTICE_ENCODED_MAX) {
      e = jk_error_set(JK_ETOOLARGE, "batch: notice %zu has %zu bytes, more than %d", i + 1, (size_t)n_len,
                       (int)JK_NOTICE_ENCODED_MAX);
      goto out;
    }
    if (!rd_need(&r, n_len)) {
      e = jk_error_set(JK_EINVAL, "batch: truncated in notice %zu", i + 1);
      goto out;
    }
    it->enc = body + r.pos;
    it->enc_len = n_len;
    r.pos += n_len;
    if ((e = jk_notice_decode(&notices[i], it->enc, it->enc_len))) {
      jk_error_prefix("batch: notice %zu: ", i + 1);
      goto out;
    }
    it->seq = notices[i].seq;
    if ((e = batch_path(&r, &it->path, &it->path_len, "an inclusion proof"))) {
      jk_error_prefix("batch: notice %zu: ", i + 1);
      goto out;
    }
  }
  uint64_t lsize;
  if (!rd_u64(&r, &lsize)) {
    e = batch_truncated("ledger head size");
    goto out;
  }
  if (lsize < 1 || lsize > (uint64_t)INT64_MAX) {
    e = lsize ? jk_error_set(JK_EINVAL, "batch: the ledger head size is too large")
              : jk_error_set(JK_EINVAL, "batch: the ledger head covers no entry");
    goto out;
  }
  b->ledger.size = (int64_t)lsize;
  if (!rd_bytes(&r, b->ledger.root, 32)) {
    e = batch_truncated("ledger head root");
    goto out;
  }
  if ((e = batch_time(&r, b->ledger.at, sizeof b->ledger.at, "ledger head at"))) goto out;
  if (!rd_bytes(&r, b->ledger.sig, 64)) {
    e = batch_truncated("ledger head sig");
    goto out;
  }
  if (!rd_u64(&r, &b->ledger_old_size)) {
    e = batch_truncated("ledger old size");
    goto out;
  }
  const uint8_t(*cpath)[32];
  if ((e = batch_path(&r, &cpath, &b->ledger_path_len, "the consistency proof"))) goto out;
  memcpy(b->ledger_path, cpath, b->ledger_path_len * 32);
  if (r.pos != len) {
    e = jk_error_set(JK_EINVAL, "batch: %zu trailing bytes", len - r.pos);
    goto out;
  }
  *out = b;
out:
  if (e) jk_free(blk);
  return e;
}

jk_err jk_batch_peek(const void *data, size_t len, char source[JK_NODE_ID_MAX + 1], uint64_t *first_seq) {
  rd r = {data, len, 0};
  char magic[sizeof batch_magic], node[JK_NODE_ID_MAX + 1];
  unsigned v;
  jk_err e;
  source[0] = '\0';
  *first_seq = 0;
  if (!data || !rd_bytes(&r, magic, sizeof magic) || memcmp(magic, batch_magic, sizeof magic) != 0 ||
      !rd_u8(&r, &v) || v != 1)
    return jk_error_set(JK_EINVAL, "batch: not a batch (bad magic)");
  if ((e = batch_node(&r, node, sizeof node, "sender")) || (e = batch_node(&r, node, sizeof node, "receiver")) ||
      (e = batch_node(&r, source, JK_NODE_ID_MAX + 1, "source")))
    return e;
  if (!rd_u64(&r, first_seq)) return batch_truncated("first_seq");
  return JK_OK;
}

jk_err jk_batch_decode(jk_batch **out, const void *data, size_t len) {
  *out = NULL;
  if (!data) return batch_truncated("magic");
  return batch_decode(out, data, len);
}

void jk_batch_free(jk_batch *b) {
  if (b) jk_free(b->owned_);
}

/* n: room for one notice, to decode into when the batch was not decoded (b->notices NULL). */
static jk_err verify_notices(const jk_batch *b, jk_notice *scratch, bool proofs) {
  jk_err e;
  for (size_t i = 0; i < b->count; i++) {
    const jk_batch_item *it = &b->items[i];
    uint64_t want = b->first_seq + i;
    uint8_t leaf[32];
    const jk_notice *n = b->notices ? &b->notices[i] : scratch;
    if (!b->notices && (e = jk_notice_decode(scratch, it->enc, it->enc_len)))
      return jk_error_prefix("batch: notice %zu: ", i + 1);
    if (n->seq != want)
      return jk_error_set(JK_ECORRUPT, "batch: notice %zu has seq %llu where seq %llu belongs (a gap or a reordering)",
                          i + 1, (unsigned long long)n->seq, (unsigned long long)want);
    if (strcmp(n->source, b->source) != 0)
      return jk_error_set(JK_ECORRUPT, "batch: notice seq %llu is from %s, not from the batch's source %s",
                          (unsigned long long)n->seq, n->source, b->source);
    if (n->seq > b->outbox.size)
      return jk_error_set(JK_ECORRUPT, "batch: notice seq %llu is beyond the outbox head (%llu notices)",
                          (unsigned long long)n->seq, (unsigned long long)b->outbox.size);
    if (!proofs) continue;
    jk_notice_leaf(it->enc, it->enc_len, leaf);
    if (!jk_merkle_inclusion_verify(n->seq - 1, b->outbox.size, leaf, it->path, it->path_len, b->outbox.root))
      return jk_error_set(JK_ECORRUPT, "batch: notice seq %llu: its inclusion proof does not verify against the "
                          "signed outbox head", (unsigned long long)n->seq);
  }
  return JK_OK;
}

jk_err jk_batch_verify(const jk_batch *b, const uint8_t source_pubkey[32], const uint8_t sender_pubkey[32],
                       const jk_ledger_ack *last_acked) {
  return jk_batch_verify_ex(b, source_pubkey, sender_pubkey, last_acked, 0);
}

jk_err jk_batch_verify_ex(const jk_batch *b, const uint8_t source_pubkey[32], const uint8_t sender_pubkey[32],
                          const jk_ledger_ack *last_acked, unsigned flags) {
  jk_err e;
  if ((e = check_batch_fields(b))) return e;
  if (b->count > 0 && !b->items) return jk_error_set(JK_EINVAL, "batch: the notices are missing");
  /* 1. the source's signed outbox head */
  if (strcmp(b->outbox.node, b->source) != 0)
    return jk_error_set(JK_ECORRUPT, "batch: the outbox head is of %s, not of the batch's source %s", b->outbox.node,
                        b->source);
  if (!jk_outbox_head_verify(&b->outbox, source_pubkey))
    return jk_error_set(JK_ECRYPTO, "batch: the signature on the outbox head of %s does not verify", b->source);
  /* 2. every notice against it */
  jk_notice *n = jk_malloc(sizeof *n);
  if (!n) return jk_error_set(JK_ENOMEM, NULL);
  e = verify_notices(b, n, !(flags & JK_BATCH_VERIFY_NO_PROOFS));
  jk_free(n);
  if (e) return e;
  /* 3. the sender's signed ledger head */
  uint8_t msg[JK_LEDGER_HEAD_MSG_MAX];
  size_t len = 0;
  if ((e = jk_ledger_head_message(b->sender, &b->ledger, msg, sizeof msg, &len))) return e;
  if (crypto_sign_verify_detached(b->ledger.sig, msg, len, sender_pubkey) != 0)
    return jk_error_set(JK_ECRYPTO, "batch: the signature on the ledger head of sender %s does not verify", b->sender);
  /* 4. it extends the head acknowledged last */
  uint64_t nsize = (uint64_t)b->ledger.size;
  if (!last_acked || last_acked->size == 0) {
    if (b->ledger_old_size != 0)
      return jk_error_set(JK_ECONFLICT, "batch: the sender says a ledger head of %llu entries was acknowledged, but "
                          "none was", (unsigned long long)b->ledger_old_size);
    if (b->ledger_path_len != 0)
      return jk_error_set(JK_ECORRUPT, "batch: a consistency proof without an acknowledged ledger head");
    return JK_OK;
  }
  if (b->ledger_old_size != last_acked->size)
    return jk_error_set(JK_ECONFLICT, "batch: the consistency proof starts at %llu entries, but the ledger head "
                        "acknowledged last has %llu", (unsigned long long)b->ledger_old_size,
                        (unsigned long long)last_acked->size);
  if (nsize < last_acked->size)
    return jk_error_set(JK_ECORRUPT, "batch: the ledger of sender %s shrank from %llu to %llu entries: it rewrote "
                        "its past", b->sender, (unsigned long long)last_acked->size, (unsigned long long)nsize);
  if (!jk_merkle_consistency_verify(last_acked->size, nsize, last_acked->root, b->ledger.root,
                                    (const uint8_t(*)[32])b->ledger_path, b->ledger_path_len))
    return jk_error_set(JK_ECORRUPT, "batch: the ledger head of sender %s (%llu entries) is not consistent with the "
                        "one acknowledged last (%llu entries): the sender rewrote its past", b->sender,
                        (unsigned long long)nsize, (unsigned long long)last_acked->size);
  return JK_OK;
}
