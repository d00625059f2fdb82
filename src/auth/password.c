/*
 * password.c — operators' passwords (Argon2id, libsodium) and the rules the アクセス管理責任者
 * sets (art. 12, REQ-ACCESS-12): length, no reuse of recent ones, expiry; plus the policy
 * itself, kept in node_meta as policy.* keys.
 *
 * A password is checked for length in characters (UTF-8), never logged, and compared only
 * through crypto_pwhash_str_verify (constant time in the secret).
 */
#include "auth/auth_int.h"

#include "jukinet/text.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const jk_auth_policy defaults = {12, 5, 90, 5, 30, 15};

static const struct {
  const char *key;
  size_t off;
  int min, max;
} fields[] = {
    {"policy.min_length", offsetof(jk_auth_policy, min_length), 8, 128},
    {"policy.history", offsetof(jk_auth_policy, history), 0, 24},
    {"policy.max_age_days", offsetof(jk_auth_policy, max_age_days), 0, 3650},
    {"policy.lockout_threshold", offsetof(jk_auth_policy, lockout_threshold), 1, 100},
    {"policy.lockout_minutes", offsetof(jk_auth_policy, lockout_minutes), 1, 100000},
    {"policy.idle_minutes", offsetof(jk_auth_policy, idle_minutes), 1, 1440},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static int *field(jk_auth_policy *p, size_t i) { return (int *)((char *)p + fields[i].off); }

jk_err jk_auth_policy_get(jk_node *n, jk_auth_policy *out) {
  jk_store *s = jk_node_store(n);
  *out = defaults;
  for (size_t i = 0; i < NFIELDS; i++) {
    char *v = NULL, *end;
    jk_err e = jk_store_meta_get(s, fields[i].key, &v);
    if (e == JK_ENOTFOUND) {
      jk_error_clear();
      continue;
    }
    if (e) return e;
    long x = strtol(v, &end, 10);
    bool ok = *v && !*end && x >= fields[i].min && x <= fields[i].max;
    jk_free(v);
    if (!ok) return jk_error_set(JK_ECORRUPT, "node setting %s is out of range", fields[i].key);
    *field(out, i) = (int)x;
  }
  return JK_OK;
}

jk_err jk_auth_policy_set(jk_session *s, const jk_auth_policy *p) {
  jk_err e;
  jk_auth_policy copy = *p;
  for (size_t i = 0; i < NFIELDS; i++) {
    int v = *field(&copy, i);
    if (v < fields[i].min || v > fields[i].max)
      return jk_error_set(JK_EINVAL, "%s must be between %d and %d", fields[i].key + 7, fields[i].min, fields[i].max);
  }
  if ((e = jk_auth_begin(s, "policy.set", "-", NULL))) return e;
  if ((e = jk_store_begin(s->store))) return jk_auth_end(s, e);
  for (size_t i = 0; i < NFIELDS && !e; i++) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", *field(&copy, i));
    e = jk_store_meta_set(s->store, fields[i].key, buf);
  }
  if (e) jk_store_rollback(s->store);
  else e = jk_store_commit(s->store);
  return jk_auth_end(s, e);
}

/* ---- passwords ---- */

static size_t utf8_chars(const char *p, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)p[i] & 0xc0) != 0x80) c++;
  return c;
}

typedef struct reuse_ctx {
  const char *pw;
  size_t len;
  bool reused;
  jk_err err;
} reuse_ctx;

static int check_reuse(const char *hash, const char *set_at, void *payload) {
  (void)set_at;
  reuse_ctx *c = payload;
  if (crypto_pwhash_str_verify(hash, c->pw, c->len) == 0) {
    c->reused = true;
    return 1;
  }
  return 0;
}

jk_err jk__password_check_policy(jk_store *s, const jk_auth_policy *p, int64_t operator_id, const char *pw,
                                 size_t len) {
  if (len > PASSWORD_MAX_BYTES) return jk_error_set(JK_ETOOLARGE, "the password is longer than %d bytes", PASSWORD_MAX_BYTES);
  if (!jk_utf8_valid(pw, len) || memchr(pw, '\0', len) || memchr(pw, '\n', len))
    return jk_error_set(JK_EINVAL, "the password must be valid UTF-8 on one line");
  if (utf8_chars(pw, len) < (size_t)p->min_length)
    return jk_error_set(JK_EINVAL, "the password must be at least %d characters long", p->min_length);
  /* at least two kinds of character: letters, digits, others */
  bool alpha = false, digit = false, other = false;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)pw[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) alpha = true;
    else if (ch >= '0' && ch <= '9') digit = true;
    else other = true;
  }
  if (alpha + digit + other < 2)
    return jk_error_set(JK_EINVAL, "the password must mix at least two kinds of characters (letters, digits, others)");
  if (operator_id && p->history > 0) {
    reuse_ctx c = {pw, len, false, JK_OK};
    jk_err e = jk_store_password_recent(s, operator_id, (size_t)p->history, check_reuse, &c);
    if (e) return e;
    if (c.reused) return jk_error_set(JK_EINVAL, "the password was used recently (the last %d may not be reused)", p->history);
  }
  return JK_OK;
}

jk_err jk__password_hash(const char *pw, size_t len, char out[128]) {
  _Static_assert(crypto_pwhash_STRBYTES <= 128, "argon2 string size");
  if (crypto_pwhash_str_alg(out, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return jk_error_set(JK_ENOMEM, "password hashing ran out of memory");
  return JK_OK;
}

jk_err jk__password_store(jk_store *s, int64_t operator_id, const char *pw, size_t len, const char *by) {
  char hash[128], now[32];
  jk_err e = jk__password_hash(pw, len, hash);
  if (e) return e;
  jk_utc_now(now, 0);
  e = jk_store_password_add(s, operator_id, hash, now, by);
  sodium_memzero(hash, sizeof hash);
  return e;
}

typedef struct current_ctx {
  char hash[256], at[32];
  bool found;
} current_ctx;

static int take_current(const char *hash, const char *set_at, void *payload) {
  current_ctx *c = payload;
  snprintf(c->hash, sizeof c->hash, "%s", hash);
  snprintf(c->at, sizeof c->at, "%s", set_at);
  c->found = true;
  return 1;
}

/* Days between an ISO time and now (rounded down); -1 when unparsable. */

jk_err jk__password_verify(jk_store *s, const jk_auth_policy *p, int64_t operator_id, const char *pw, size_t len,
                           bool *expired) {
  current_ctx c = {0};
  *expired = false;
  jk_err e = jk_store_password_recent(s, operator_id, 1, take_current, &c);
  if (e) return e;
  if (!c.found) return jk_error_set(JK_EAUTH, "no password is set for this operator");
  int rc = len <= PASSWORD_MAX_BYTES ? crypto_pwhash_str_verify(c.hash, pw, len) : -1;
  sodium_memzero(c.hash, sizeof c.hash);
  if (rc != 0) return jk_error_set(JK_EAUTH, "wrong password");
  if (p->max_age_days > 0) {
    /* an unreadable date counts as very old, a future one as untrustworthy: both expired */
    long long age = jk__auth_seconds_since(c.at);
    if (age < 0 || age / 86400 >= p->max_age_days) *expired = true;
  }
  return JK_OK;
}
