/*
 * rescode.c — 住民票コード and 地方公共団体コード: check digits, validation, generation.
 *
 * REQ-CODE-1: a resident code is 10 CSPRNG digits + a check digit (DESIGN §4). The check-digit
 * formula below is an ASSUMPTION (docs/decisions.md): the official one, 平成14年総務省告示
 * 第436号, was not at hand; we use the modulus-11 family of the 個人番号.
 */
#include "jukinet/rescode.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

static bool all_digits(const char *s, size_t n, size_t *bad) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') {
      if (bad) *bad = i;
      return false;
    }
  return true;
}

int jk_rescode_check_digit(const char body[10]) {
  static const int weight[10] = {2, 3, 4, 5, 6, 7, 2, 3, 4, 5};
  int sum = 0;
  /* weight[0] applies to the rightmost body digit, body[9] */
  for (int i = 0; i < 10; i++) sum += (body[9 - i] - '0') * weight[i];
  int r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

jk_err jk_rescode_validate(const char *s, size_t n) {
  size_t bad = 0;
  if (n != JK_RESCODE_LEN)
    return jk_error_set(JK_EINVAL, "a resident code has 11 digits, this has %zu characters", n);
  if (!all_digits(s, n, &bad))
    return jk_error_set(JK_EINVAL, "a resident code is digits only; character %zu is not a digit", bad + 1);
  int want = jk_rescode_check_digit(s);
  if (s[10] - '0' != want)
    return jk_error_set(JK_EINVAL, "wrong check digit: the last digit should be %d, not %c", want, s[10]);
  return JK_OK;
}

/* Random bytes for codes come from the OS CSPRNG (getrandom, through libsodium) in 4 KiB
 * refills: one system call per ~400 codes instead of ten per code. The buffer is per thread,
 * used bytes are wiped, and a fork empties it in the child (pthread_atfork) so parent and
 * child never hand out the same bytes. */
#define POOL 4096
static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t pool_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_pool(void) {
  sodium_memzero(pool, sizeof pool);
  pool_left = 0;
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_pool); }

static unsigned char random_byte(void) {
  if (pool_left == 0) {
    pthread_once(&atfork_once, register_atfork);
    randombytes_buf(pool, sizeof pool);
    pool_left = sizeof pool;
  }
  size_t i = sizeof pool - pool_left--;
  unsigned char b = pool[i];
  pool[i] = 0;
  return b;
}

void jk_rescode_random(char out[JK_RESCODE_LEN + 1]) {
  /* 10 uniform digits: bytes >= 250 are rejected so every digit has probability 1/10. */
  for (int i = 0; i < 10;) {
    unsigned char b = random_byte();
    if (b < 250) out[i++] = (char)('0' + b % 10);
  }
  out[10] = (char)('0' + jk_rescode_check_digit(out));
  out[11] = '\0';
}

void jk_rescode_random_slice(char out[JK_RESCODE_LEN + 1], int slice) {
  if (slice < 0 || slice >= JK_RESCODE_SLICES) {
    jk_rescode_random(out);
    return;
  }
  /* body = k * SLICES + slice for a uniform k in [0, kmax]: 64 random bits reduced by rejection */
  const uint64_t kmax = (UINT64_C(9999999999) - (uint64_t)slice) / JK_RESCODE_SLICES, span = kmax + 1;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t r;
  do {
    r = 0;
    for (int i = 0; i < 8; i++) r = (r << 8) | random_byte();
  } while (r >= limit);
  uint64_t body = (r % span) * JK_RESCODE_SLICES + (uint64_t)slice;
  for (int i = 9; i >= 0; i--) {
    out[i] = (char)('0' + body % 10);
    body /= 10;
  }
  out[10] = (char)('0' + jk_rescode_check_digit(out));
  out[11] = '\0';
}

int jk_rescode_slice(const char *code) {
  uint64_t body = 0;
  for (int i = 0; i < 10; i++) body = body * 10 + (uint64_t)(code[i] - '0');
  return (int)(body % JK_RESCODE_SLICES);
}

int jk_lgcode_check_digit(const char body[5]) {
  int sum = (body[0] - '0') * 6 + (body[1] - '0') * 5 + (body[2] - '0') * 4 + (body[3] - '0') * 3 +
            (body[4] - '0') * 2;
  return (11 - sum % 11) % 10;
}

jk_err jk_lgcode_validate(const char *s, size_t n) {
  size_t bad = 0;
  if (!all_digits(s, n, &bad))
    return jk_error_set(JK_EINVAL, "a local-government code is digits only; character %zu is not a digit", bad + 1);
  if (n == 5) {
    return jk_error_set(JK_EINVAL, "the check digit is missing: the full code is %.5s%d", s,
                        jk_lgcode_check_digit(s));
  }
  if (n != JK_LGCODE_LEN)
    return jk_error_set(JK_EINVAL, "a local-government code has 6 digits, this has %zu characters", n);
  if (s[0] == '0' && s[1] == '0')
    return jk_error_set(JK_EINVAL, "prefecture number 00 does not exist (01 to 47)");
  int pref = (s[0] - '0') * 10 + (s[1] - '0');
  if (pref > 47)
    return jk_error_set(JK_EINVAL, "prefecture number %d does not exist (01 to 47)", pref);
  int want = jk_lgcode_check_digit(s);
  if (s[5] - '0' != want)
    return jk_error_set(JK_EINVAL, "wrong check digit: the last digit should be %d, not %c", want, s[5]);
  return JK_OK;
}
