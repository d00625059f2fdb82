/*
 * PKCS#11 tokens (src/token) against the real SoftHSM2 module, in a private token directory.
 *
 * The group setup writes a softhsm2.conf in a temporary directory, points SOFTHSM2_CONF at it
 * before any module is loaded, and initialises the tokens below with softhsm2-util.
 *
 * SoftHSM never returns CKR_PIN_LOCKED, so the locked-card paths are tested through a small
 * wrapper module: this same file compiled with -DJK_FAKE_PKCS11 as a shared object (by the
 * group setup, with cc). It forwards everything to SoftHSM except C_Login / C_GetTokenInfo for
 * a few magic PINs, and can hide C_SignInit (JK_FAKE_P11_MODE=nosign).
 */
#ifdef JK_FAKE_PKCS11 /* ---------------------------------------------------- the wrapper module */

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST fake;
static CK_FUNCTION_LIST_PTR real;
static CK_FLAGS extra_flags;

static int pin_is(CK_UTF8CHAR_PTR pin, CK_ULONG len, const char *magic) {
  return pin && len == strlen(magic) && memcmp(pin, magic, len) == 0;
}

static CK_RV fake_login(CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  extra_flags = 0;
  if (pin_is(pin, len, "locked")) return CKR_PIN_LOCKED;
  if (pin_is(pin, len, "expired")) return CKR_PIN_EXPIRED;
  if (pin_is(pin, len, "final")) {
    extra_flags = CKF_USER_PIN_FINAL_TRY;
    return CKR_PIN_INCORRECT;
  }
  if (pin_is(pin, len, "lockme")) {
    extra_flags = CKF_USER_PIN_LOCKED;
    return CKR_PIN_INCORRECT;
  }
  return real->C_Login(s, u, pin, len);
}

static CK_RV fake_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR ti) {
  CK_RV rv = real->C_GetTokenInfo(slot, ti);
  if (rv == CKR_OK && extra_flags) ti->flags = (ti->flags & ~CKF_USER_PIN_COUNT_LOW) | extra_flags;
  return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out) {
  if (!real) {
    void *h = dlopen("/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
    void *sym = h ? dlsym(h, "C_GetFunctionList") : NULL;
    CK_C_GetFunctionList get;
    if (!sym) return CKR_GENERAL_ERROR;
    memcpy(&get, &sym, sizeof get);
    if (get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
  }
  fake = *real;
  fake.C_Login = fake_login;
  fake.C_GetTokenInfo = fake_token_info;
  const char *mode = getenv("JK_FAKE_P11_MODE");
  if (mode && strcmp(mode, "nosign") == 0) fake.C_SignInit = NULL;
  *out = &fake;
  return CKR_OK;
}

#else /* ------------------------------------------------------------------------- the tests */

#include "testutil.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "jukinet/token.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#endif
#ifdef TU_ASAN
#include <sanitizer/lsan_interface.h>
/* Under ASan: SoftHSM 2.6.1 leaks an OpenSSL ASN1 object in every C_SignInit with an EdDSA key
 * (its EC_PARAMS decoding). LeakSanitizer's fast unwinder stops inside libcrypto, which has no
 * frame pointers, so the report cannot be matched on libsofthsm2.so alone; jukinet itself never
 * uses OpenSSL, so in this program every libcrypto allocation is SoftHSM's. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void) { return "leak:libsofthsm2.so\nleak:libcrypto.so\n"; }
#endif

#define MOD "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "1234"

static char *dir;
static char conf_path[600], conf_fork_path[600], fake_path[600];

/* Tokens: one per concern, so that each test can run alone in any order. */
static const char *const tokens[] = {"card1", "card2", "node1", "node2", "tool", "lockless", "forked"};

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
}

static void run(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fail_msg("command failed (%d): %s", rc, cmd);
}

static int group_setup(void **state) {
  (void)state;
  char text[1600], cmd[1600];
  jk_lang_set(JK_LANG_EN);
  unsetenv("JUKINET_PKCS11_MODULE");
  dir = tu_tmpdir();
  snprintf(text, sizeof text, "%s/tokens", dir);
  assert_int_equal(mkdir(text, 0700), 0);
  snprintf(conf_path, sizeof conf_path, "%s/softhsm2.conf", dir);
  snprintf(text, sizeof text,
           "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
  write_file(conf_path, text);
  /* the same tokens, but SoftHSM forgets its state in a forked child (like a real card) */
  snprintf(conf_fork_path, sizeof conf_fork_path, "%s/softhsm2-reset.conf", dir);
  snprintf(text, sizeof text,
           "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"
           "library.reset_on_fork = true\n",
           dir);
  write_file(conf_fork_path, text);
  assert_int_equal(setenv("SOFTHSM2_CONF", conf_path, 1), 0); /* before any module is loaded */
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    snprintf(cmd, sizeof cmd,
             "softhsm2-util --init-token --free --label %s --so-pin 12345678 --pin " PIN " >/dev/null",
             tokens[i]);
    run(cmd);
  }
  snprintf(fake_path, sizeof fake_path, "%s/fake-pkcs11.so", dir);
  snprintf(cmd, sizeof cmd,
           "cc -shared -fPIC -O0 -DJK_FAKE_PKCS11 $(pkg-config --cflags p11-kit-1) -o '%s' '%s' -ldl",
           fake_path, JK_SOURCE_DIR "/tests/unit/token/test_token.c");
  run(cmd);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  tu_rmdir(dir);
  return 0;
}

static int setup(void **state) {
  (void)state;
  jk_lang_set(JK_LANG_EN);
  jk_error_clear();
  return 0;
}

static jk_token *open_token(const char *label) {
  jk_token *t = NULL;
  jk_err e = jk_token_open(&t, MOD, label);
  if (e != JK_OK) fail_msg("open %s: %s", label, jk_error_last());
  assert_non_null(t);
  return t;
}

static void login(jk_token *t) {
  jk_err e = jk_token_login(t, PIN, strlen(PIN));
  if (e != JK_OK) fail_msg("login %s: %s", jk_token_label(t), jk_error_last());
}

static void generate(jk_token *t, const char *key) {
  jk_err e = jk_token_generate_key(t, key);
  if (e != JK_OK) fail_msg("generate %s on %s: %s", key, jk_token_label(t), jk_error_last());
}

static void sign_ok(jk_token *t, const char *key, const void *msg, size_t len, uint8_t sig[64]) {
  jk_err e = jk_token_sign(t, key, msg, len, sig);
  if (e != JK_OK) fail_msg("sign with %s on %s: %s", key, jk_token_label(t), jk_error_last());
}

static void pubkey_ok(jk_token *t, const char *key, uint8_t pk[32]) {
  jk_err e = jk_token_public_key(t, key, pk);
  if (e != JK_OK) fail_msg("public key %s on %s: %s", key, jk_token_label(t), jk_error_last());
}

/* ---- modules and opening ------------------------------------------------------------------ */

static void test_default_module(void **state) {
  (void)state;
  unsetenv("JUKINET_PKCS11_MODULE");
  assert_string_equal(jk_token_default_module(), MOD); /* SoftHSM is installed here */
  setenv("JUKINET_PKCS11_MODULE", "/opt/vendor/p11.so", 1);
  assert_string_equal(jk_token_default_module(), "/opt/vendor/p11.so");
  setenv("JUKINET_PKCS11_MODULE", "", 1);
  assert_string_equal(jk_token_default_module(), MOD);
  unsetenv("JUKINET_PKCS11_MODULE");
}

static void test_missing_module(void **state) {
  (void)state;
  jk_token *t = (jk_token *)&t; /* must be reset to NULL */
  assert_int_equal(jk_token_open(&t, "/nonexistent/libnope-pkcs11.so", "card1"), JK_ENOTFOUND);
  assert_null(t);
  assert_error_contains("/nonexistent/libnope-pkcs11.so");
  assert_error_contains("not found");
}

static void test_not_a_module(void **state) {
  (void)state;
  jk_token *t = NULL;
  /* not a shared object at all */
  assert_int_equal(jk_token_open(&t, conf_path, "card1"), JK_EUNSUPPORTED);
  assert_error_contains("cannot load PKCS#11 module");
  assert_null(t);
  /* a shared object without C_GetFunctionList: the C library */
  Dl_info info;
  assert_true(dladdr((void *)&strlen, &info) != 0 && info.dli_fname);
  assert_int_equal(jk_token_open(&t, info.dli_fname, "card1"), JK_EUNSUPPORTED);
  assert_error_contains("no C_GetFunctionList");
  /* a module that lacks a function we need */
  setenv("JK_FAKE_P11_MODE", "nosign", 1);
  assert_int_equal(jk_token_open(&t, fake_path, "card1"), JK_EUNSUPPORTED);
  unsetenv("JK_FAKE_P11_MODE");
  assert_error_contains("lacks C_SignInit");
  assert_null(t);
}

static void test_unknown_label(void **state) {
  (void)state;
  jk_token *t = NULL;
  assert_int_equal(jk_token_open(&t, MOD, "no-such-card"), JK_ENOTFOUND);
  assert_null(t);
  assert_error_contains("'no-such-card'");
  assert_error_contains(MOD);
  /* a prefix of a real label is not that label */
  assert_int_equal(jk_token_open(&t, MOD, "card"), JK_ENOTFOUND);
  assert_int_equal(jk_token_open(&t, MOD, "012345678901234567890123456789012"), JK_EINVAL);
  assert_int_equal(jk_token_open(&t, MOD, ""), JK_EINVAL);
  assert_int_equal(jk_token_open(&t, MOD, NULL), JK_EINVAL);
  assert_int_equal(jk_token_open(&t, NULL, "card1"), JK_EINVAL);
  assert_int_equal(jk_token_open(NULL, MOD, "card1"), JK_EINVAL);
}

static void test_facts(void **state) {
  (void)state;
  jk_token *t = open_token("card1");
  assert_string_equal(jk_token_label(t), "card1");
  const char *serial = jk_token_serial(t);
  assert_int_equal(strlen(serial), 16); /* SoftHSM: 16 hex digits, the last 8 the slot id */
  for (const char *p = serial; *p; p++) assert_non_null(strchr("0123456789abcdef", *p));
  assert_string_equal(jk_token_manufacturer(t), "SoftHSM project");
  assert_string_equal(jk_token_model(t), "SoftHSM v2");
  jk_token_close(t);
  jk_token_close(NULL);
}

/* The same module through two paths (a symlink) is loaded and initialised once: closing the
 * token of one path must not finalise the module under the other's feet. */
static void test_module_once_per_path(void **state) {
  (void)state;
  char link[700];
  uint8_t sig[64], pk[32];
  snprintf(link, sizeof link, "%s/softhsm-link.so", dir);
  unlink(link);
  assert_int_equal(symlink(MOD, link), 0);
  jk_token *a = open_token("card2"), *b = NULL;
  assert_int_equal(jk_token_open(&b, link, "node2"), JK_OK);
  login(b);
  if (jk_token_public_key(b, "once-key", pk) == JK_ENOTFOUND) generate(b, "once-key");
  pubkey_ok(b, "once-key", pk);
  jk_token_close(a);
  sign_ok(b, "once-key", "x", 1, sig);
  assert_true(jk_token_verify(pk, "x", 1, sig));
  jk_token_close(b);
}

/* ---- keys and signatures -------------------------------------------------------------------- */

static void test_generate_sign_verify(void **state) {
  (void)state;
  uint8_t pk[32], pk2[32], s1[64], s2[64], s3[64];
  const char m1[] = "tree head 1: 9f86d081884c7d65", m2[] = "tree head 2: 9f86d081884c7d65";
  jk_token *t = open_token("node1");
  login(t);
  generate(t, "sign-key");
  pubkey_ok(t, "sign-key", pk);
  sign_ok(t, "sign-key", m1, sizeof m1, s1);
  sign_ok(t, "sign-key", m2, sizeof m2, s2);
  sign_ok(t, "sign-key", m1, sizeof m1, s3);
  assert_true(jk_token_verify(pk, m1, sizeof m1, s1));
  assert_true(jk_token_verify(pk, m2, sizeof m2, s2));
  assert_memory_not_equal(s1, s2, 64);
  assert_memory_equal(s1, s3, 64); /* Ed25519 is deterministic */
  assert_false(jk_token_verify(pk, m2, sizeof m2, s1));

  char flipped[sizeof m1];
  memcpy(flipped, m1, sizeof m1);
  flipped[3] ^= 0x01;
  assert_false(jk_token_verify(pk, flipped, sizeof flipped, s1));
  assert_false(jk_token_verify(pk, m1, sizeof m1 - 1, s1));
  for (size_t i = 0; i < 64; i += 21) {
    uint8_t bad[64];
    memcpy(bad, s1, 64);
    bad[i] ^= 0x80;
    assert_false(jk_token_verify(pk, m1, sizeof m1, bad));
  }
  memcpy(pk2, pk, 32);
  pk2[5] ^= 0x10;
  assert_false(jk_token_verify(pk2, m1, sizeof m1, s1));
  assert_false(jk_token_verify(NULL, m1, sizeof m1, s1));
  assert_false(jk_token_verify(pk, NULL, 5, s1));

  /* the empty message and a large one */
  sign_ok(t, "sign-key", NULL, 0, s1);
  assert_true(jk_token_verify(pk, NULL, 0, s1));
  assert_true(jk_token_verify(pk, "", 0, s1));
  size_t big_len = 1 << 20;
  uint8_t *big = malloc(big_len);
  assert_non_null(big);
  for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 7);
  sign_ok(t, "sign-key", big, big_len, s2);
  assert_true(jk_token_verify(pk, big, big_len, s2));
  big[big_len - 1] ^= 1;
  assert_false(jk_token_verify(pk, big, big_len, s2));
  free(big);
  jk_token_close(t);

  /* the key persists: a new session, no login, reads the same public key */
  t = open_token("node1");
  pubkey_ok(t, "sign-key", pk2);
  assert_memory_equal(pk, pk2, 32);
  jk_token_close(t);
}

static void test_generate_twice(void **state) {
  (void)state;
  jk_token *t = open_token("node1");
  login(t);
  generate(t, "dup-key");
  assert_int_equal(jk_token_generate_key(t, "dup-key"), JK_EEXISTS);
  assert_error_contains("'dup-key'");
  assert_error_contains("already exists");
  /* still exactly one key: reading and signing work */
  uint8_t pk[32], sig[64];
  pubkey_ok(t, "dup-key", pk);
  sign_ok(t, "dup-key", "m", 1, sig);
  assert_true(jk_token_verify(pk, "m", 1, sig));
  jk_token_close(t);
}

static void test_missing_key(void **state) {
  (void)state;
  uint8_t pk[32], sig[64];
  jk_token *t = open_token("card2");
  assert_int_equal(jk_token_public_key(t, "no-such-key", pk), JK_ENOTFOUND);
  assert_error_contains("no public key labelled 'no-such-key'");
  login(t);
  assert_int_equal(jk_token_sign(t, "no-such-key", "m", 1, sig), JK_ENOTFOUND);
  assert_error_contains("no private key labelled 'no-such-key'");
  char long_label[JK_TOKEN_KEY_LABEL_MAX + 2];
  memset(long_label, 'k', sizeof long_label - 1);
  long_label[sizeof long_label - 1] = '\0';
  assert_int_equal(jk_token_public_key(t, long_label, pk), JK_EINVAL);
  assert_int_equal(jk_token_sign(t, "", "m", 1, sig), JK_EINVAL);
  assert_int_equal(jk_token_sign(t, "k", NULL, 1, sig), JK_EINVAL);
  assert_int_equal(jk_token_sign(t, "k", "m", 1, NULL), JK_EINVAL);
  assert_int_equal(jk_token_generate_key(t, NULL), JK_EINVAL);
  assert_int_equal(jk_token_public_key(NULL, "k", pk), JK_EINVAL);
  assert_int_equal(jk_token_login(NULL, PIN, 4), JK_EINVAL);
  jk_token_close(t);
}

static void test_sign_without_login(void **state) {
  (void)state;
  uint8_t pk[32], sig[64], before[64];
  jk_token *t = open_token("card2");
  login(t);
  generate(t, "nologin-key");
  jk_token_close(t); /* the last session: logged out */

  t = open_token("card2");
  pubkey_ok(t, "nologin-key", pk); /* public: no login needed */
  memset(sig, 0xa5, sizeof sig);
  memcpy(before, sig, sizeof sig);
  assert_int_equal(jk_token_sign(t, "nologin-key", "m", 1, sig), JK_EAUTH);
  assert_error_contains("not logged in");
  assert_memory_equal(sig, before, 64); /* untouched on failure */
  assert_int_equal(jk_token_generate_key(t, "nologin-key-2"), JK_EAUTH);
  assert_error_contains("not logged in");
  login(t);
  sign_ok(t, "nologin-key", "m", 1, sig);
  assert_true(jk_token_verify(pk, "m", 1, sig));
  jk_token_close(t);
}

/* ---- PINs ----------------------------------------------------------------------------------- */

static void test_wrong_pin(void **state) {
  (void)state;
  static const char wrong[] = "98765";
  jk_token *t = open_token("card1");
  assert_int_equal(jk_token_login(t, wrong, strlen(wrong)), JK_EAUTH);
  assert_error_contains("wrong PIN for token 'card1'");
  assert_null(strstr(jk_error_last(), wrong)); /* REQ: no PIN in any message */
  assert_null(strstr(jk_error_last(), PIN));

  jk_lang_set(JK_LANG_JA);
  assert_int_equal(jk_token_login(t, wrong, strlen(wrong)), JK_EAUTH);
  assert_error_contains("トークン「card1」の PIN が違います");
  assert_null(strstr(jk_error_last(), wrong));
  jk_lang_set(JK_LANG_EN);

  /* a PIN the token refuses by its length is a wrong PIN too, and costs nothing here */
  char longpin[300];
  memset(longpin, '9', sizeof longpin);
  assert_int_equal(jk_token_login(t, longpin, sizeof longpin), JK_EAUTH);
  assert_null(strstr(jk_error_last(), "99999"));
  assert_int_equal(jk_token_login(t, "", 0), JK_EAUTH);
  /* SoftHSM has no PIN pad: a NULL PIN is refused before reaching the token */
  assert_int_equal(jk_token_login(t, NULL, 0), JK_EINVAL);
  assert_error_contains("no PIN pad");

  /* the right PIN after wrong ones works; a PIN need not be NUL-terminated */
  char pin_buf[8] = {'1', '2', '3', '4', 'x', 'x', 'x', 'x'};
  assert_int_equal(jk_token_login(t, pin_buf, 4), JK_OK);
  uint8_t pk[32], sig[64];
  if (jk_token_public_key(t, "pin-key", pk) == JK_ENOTFOUND) generate(t, "pin-key");
  pubkey_ok(t, "pin-key", pk);
  sign_ok(t, "pin-key", "m", 1, sig);
  assert_true(jk_token_verify(pk, "m", 1, sig));
  jk_token_close(t);
}

/* SoftHSM 2.6.1 never locks a token: it sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (cleared
 * by a right one) and keeps answering CKR_PIN_INCORRECT. A real card locks (see the fake). */
static void test_softhsm_never_locks(void **state) {
  (void)state;
  jk_token *t = open_token("lockless");
  for (int i = 0; i < 20; i++) {
    assert_int_equal(jk_token_login(t, "0000", 4), JK_EAUTH);
    assert_error_contains("few tries left before the card locks");
  }
  assert_int_equal(jk_token_login(t, PIN, 4), JK_OK);
  jk_token_close(t);
}

static void test_locked_card(void **state) {
  (void)state;
  jk_token *t = NULL;
  assert_int_equal(jk_token_open(&t, fake_path, "card1"), JK_OK);
  assert_int_equal(jk_token_login(t, "locked", 6), JK_EPERM);
  assert_error_contains("card locked");
  assert_error_contains("'card1'");
  assert_int_equal(jk_token_login(t, "final", 5), JK_EAUTH);
  assert_error_contains("one try left before the card locks");
  assert_int_equal(jk_token_login(t, "lockme", 6), JK_EPERM);
  assert_error_contains("the card is now locked");
  assert_int_equal(jk_token_login(t, "expired", 7), JK_EPERM);
  assert_error_contains("has expired");
  assert_int_equal(jk_token_login(t, PIN, 4), JK_OK); /* the fake forwards real PINs */
  jk_token_close(t);
}

/* PKCS#11 login is per process and token. A second handle's wrong PIN is still refused (the
 * token is asked again), and closing one of two handles keeps the other logged in. */
static void test_shared_login(void **state) {
  (void)state;
  uint8_t pk[32], sig[64];
  jk_token *a = open_token("card2"), *b = open_token("card2");
  login(a);
  if (jk_token_public_key(a, "shared-key", pk) == JK_ENOTFOUND) generate(a, "shared-key");
  pubkey_ok(a, "shared-key", pk);
  assert_int_equal(jk_token_login(b, "0000", 4), JK_EAUTH); /* not "already logged in" */
  assert_int_equal(jk_token_sign(a, "shared-key", "m", 1, sig), JK_EAUTH);
  assert_int_equal(jk_token_login(b, PIN, 4), JK_OK);
  sign_ok(a, "shared-key", "m", 1, sig);
  assert_int_equal(jk_token_login(a, PIN, 4), JK_OK); /* again: fine */
  jk_token_close(b);
  sign_ok(a, "shared-key", "m", 1, sig);
  assert_true(jk_token_verify(pk, "m", 1, sig));
  jk_token_close(a);
}

/* ---- several tokens, tools, listing -------------------------------------------------------- */

static void test_two_tokens(void **state) {
  (void)state;
  uint8_t pk1[32], pk2[32], s1[64], s2[64];
  const char msg[] = "same message";
  jk_token *n1 = open_token("node1"), *n2 = open_token("node2");
  assert_string_not_equal(jk_token_serial(n1), jk_token_serial(n2));
  login(n1);
  login(n2);
  generate(n1, "node-key");
  generate(n2, "node-key"); /* the same label on another token is another key */
  pubkey_ok(n1, "node-key", pk1);
  pubkey_ok(n2, "node-key", pk2);
  assert_memory_not_equal(pk1, pk2, 32);
  sign_ok(n1, "node-key", msg, sizeof msg, s1);
  sign_ok(n2, "node-key", msg, sizeof msg, s2);
  assert_true(jk_token_verify(pk1, msg, sizeof msg, s1));
  assert_true(jk_token_verify(pk2, msg, sizeof msg, s2));
  assert_false(jk_token_verify(pk2, msg, sizeof msg, s1));
  assert_false(jk_token_verify(pk1, msg, sizeof msg, s2));
  jk_token_close(n1); /* the module stays initialised for n2 */
  sign_ok(n2, "node-key", msg, sizeof msg, s2);
  assert_true(jk_token_verify(pk2, msg, sizeof msg, s2));
  jk_token_close(n2);
}

/* Cards made by scripts: pkcs11-tool (OpenSC 0.23) writes CKA_EC_PARAMS as the PrintableString
 * "edwards25519". A P-256 key is refused as not Ed25519. */
static void test_pkcs11_tool_keys(void **state) {
  (void)state;
  uint8_t pk[32], sig[64];
  run("pkcs11-tool --module " MOD " --login --pin " PIN " --token-label tool --keypairgen"
      " --key-type EC:edwards25519 --label op >/dev/null 2>&1");
  run("pkcs11-tool --module " MOD " --login --pin " PIN " --token-label tool --keypairgen"
      " --key-type EC:prime256v1 --label p256 >/dev/null 2>&1");
  jk_token *t = open_token("tool");
  pubkey_ok(t, "op", pk);
  login(t);
  sign_ok(t, "op", "operator", 8, sig);
  assert_true(jk_token_verify(pk, "operator", 8, sig));
  assert_int_equal(jk_token_public_key(t, "p256", pk), JK_EUNSUPPORTED);
  assert_error_contains("not an Ed25519 key");
  assert_int_equal(jk_token_sign(t, "p256", "m", 1, sig), JK_EUNSUPPORTED);
  jk_token_close(t);
}

struct seen {
  int calls;
  bool card1, node2;
  bool serial_ok;
};

static jk_err collect(const char *label, const char *serial, void *payload) {
  struct seen *s = payload;
  s->calls++;
  if (strcmp(label, "card1") == 0) s->card1 = true;
  if (strcmp(label, "node2") == 0) s->node2 = true;
  if (strlen(serial) != 16) s->serial_ok = false;
  return JK_OK;
}

static jk_err stop_at_first(const char *label, const char *serial, void *payload) {
  (void)label;
  (void)serial;
  (*(int *)payload)++;
  return JK_EBUSY;
}

static void test_list(void **state) {
  (void)state;
  struct seen s = {.serial_ok = true};
  assert_int_equal(jk_token_list(MOD, collect, &s), JK_OK);
  /* every initialised token, not SoftHSM's free slot */
  assert_int_equal(s.calls, (int)(sizeof tokens / sizeof tokens[0]));
  assert_true(s.card1 && s.node2 && s.serial_ok);
  int calls = 0;
  assert_int_equal(jk_token_list(MOD, stop_at_first, &calls), JK_EBUSY);
  assert_int_equal(calls, 1);
  assert_int_equal(jk_token_list("/nonexistent/p11.so", collect, &s), JK_ENOTFOUND);
  assert_int_equal(jk_token_list(MOD, NULL, NULL), JK_EINVAL);
}

/* ---- threads: the module refcount goes 0 -> 1 -> 0 from two threads at once ---------------- */

struct worker {
  const char *label;
  int failures;
};

static void *worker_run(void *arg) {
  struct worker *w = arg;
  uint8_t pk[32], sig[64];
  for (int i = 0; i < 15; i++) {
    jk_token *t = NULL;
    char msg[32];
    int len = snprintf(msg, sizeof msg, "%s %d", w->label, i);
    if (jk_token_open(&t, MOD, w->label) != JK_OK || jk_token_login(t, PIN, 4) != JK_OK ||
        jk_token_public_key(t, "thread-key", pk) != JK_OK ||
        jk_token_sign(t, "thread-key", msg, (size_t)len, sig) != JK_OK ||
        !jk_token_verify(pk, msg, (size_t)len, sig))
      w->failures++;
    jk_token_close(t);
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  const char *labels[2] = {"node1", "node2"};
  for (int i = 0; i < 2; i++) {
    uint8_t pk[32];
    jk_token *t = open_token(labels[i]);
    login(t);
    if (jk_token_public_key(t, "thread-key", pk) == JK_ENOTFOUND) generate(t, "thread-key");
    jk_token_close(t);
  }
  struct worker w[2] = {{labels[0], 0}, {labels[1], 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
  assert_int_equal(w[0].failures, 0);
  assert_int_equal(w[1].failures, 0);
}

/* ---- fork ---------------------------------------------------------------------------------- */

/* In the child: use the inherited handle, then open the card anew; exit code says what failed. */
static int child_work(jk_token *inherited, bool keeps_login) {
  uint8_t pk[32], sig[64];
  const char msg[] = "signed in the child";
  jk_err e = jk_token_sign(inherited, "fork-key", msg, sizeof msg, sig);
  if (keeps_login ? e != JK_OK : e != JK_EAUTH) return 10;
  if (e != JK_OK) {
    if (jk_token_login(inherited, PIN, 4) != JK_OK) return 11;
    if (jk_token_sign(inherited, "fork-key", msg, sizeof msg, sig) != JK_OK) return 12;
  }
  if (jk_token_public_key(inherited, "fork-key", pk) != JK_OK) return 13;
  if (!jk_token_verify(pk, msg, sizeof msg, sig)) return 14;
  jk_token *t = NULL;
  if (jk_token_open(&t, MOD, "forked") != JK_OK) return 15;
  if (jk_token_login(t, PIN, 4) != JK_OK) return 16;
  memset(sig, 0, sizeof sig);
  if (jk_token_sign(t, "fork-key", msg, sizeof msg, sig) != JK_OK) return 17;
  if (!jk_token_verify(pk, msg, sizeof msg, sig)) return 18;
  jk_token_close(t);
  jk_token_close(inherited);
  return 0;
}

static void fork_case(bool keeps_login) {
  uint8_t pk[32], sig[64];
  jk_token *t = open_token("forked");
  login(t);
  if (jk_token_public_key(t, "fork-key", pk) == JK_ENOTFOUND) generate(t, "fork-key");
  pubkey_ok(t, "fork-key", pk);
  sign_ok(t, "fork-key", "parent", 6, sig);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(30); /* a deadlock in the child fails the test instead of hanging it */
    _exit(child_work(t, keeps_login));
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status)) fail_msg("child died of signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (WEXITSTATUS(status) != 0) fail_msg("child failed at step %d", WEXITSTATUS(status));
  /* the parent's session and login are untouched by the child */
  sign_ok(t, "fork-key", "parent again", 12, sig);
  assert_true(jk_token_verify(pk, "parent again", 12, sig));
  jk_token_close(t);
}

/* SoftHSM's default (reset_on_fork = false): C_Initialize in the child answers
 * CKR_CRYPTOKI_ALREADY_INITIALIZED and the child keeps the parent's login. */
static void test_fork_keeps_state(void **state) {
  (void)state;
  fork_case(true);
}

/* reset_on_fork = true behaves like a real card: the child starts logged out. */
static void test_fork_reset(void **state) {
  (void)state;
  assert_int_equal(setenv("SOFTHSM2_CONF", conf_fork_path, 1), 0); /* read at C_Initialize */
  fork_case(false);
  assert_int_equal(setenv("SOFTHSM2_CONF", conf_path, 1), 0);
}

/* ---- allocation failures -------------------------------------------------------------------- */

static void test_alloc_failures(void **state) {
  (void)state;
  for (unsigned long n = 1;; n++) {
    jk_token *t = NULL;
    jk_alloc_fail_at(n);
    jk_err e = jk_token_open(&t, MOD, "card1");
    jk_alloc_fail_at(0);
    if (e == JK_OK) {
      assert_non_null(t);
      jk_token_close(t);
      assert_true(n > 1);
      break;
    }
    assert_int_equal(e, JK_ENOMEM);
    assert_null(t);
    assert_true(n < 50);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_default_module, setup),
      cmocka_unit_test_setup(test_missing_module, setup),
      cmocka_unit_test_setup(test_not_a_module, setup),
      cmocka_unit_test_setup(test_unknown_label, setup),
      cmocka_unit_test_setup(test_facts, setup),
      cmocka_unit_test_setup(test_module_once_per_path, setup),
      cmocka_unit_test_setup(test_generate_sign_verify, setup),
      cmocka_unit_test_setup(test_generate_twice, setup),
      cmocka_unit_test_setup(test_missing_key, setup),
      cmocka_unit_test_setup(test_sign_without_login, setup),
      cmocka_unit_test_setup(test_wrong_pin, setup),
      cmocka_unit_test_setup(test_softhsm_never_locks, setup),
      cmocka_unit_test_setup(test_locked_card, setup),
      cmocka_unit_test_setup(test_shared_login, setup),
      cmocka_unit_test_setup(test_two_tokens, setup),
      cmocka_unit_test_setup(test_pkcs11_tool_keys, setup),
      cmocka_unit_test_setup(test_list, setup),
      cmocka_unit_test_setup(test_threads, setup),
      cmocka_unit_test_setup(test_fork_keeps_state, setup),
      cmocka_unit_test_setup(test_fork_reset, setup),
      cmocka_unit_test_setup(test_alloc_failures, setup),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

#endif
