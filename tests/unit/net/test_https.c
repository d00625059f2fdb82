/*
 * test_https.c — node-to-node HTTPS with mutual TLS 1.3 (src/net/tls.c, https_server.c,
 * https_client.c), real components only: SoftHSM2 tokens holding Ed25519 keys (made with
 * softhsm2-util and pkcs11-tool, as scripts/devnode does), a network CA (jk_pki), libmicrohttpd
 * and libcurl over GnuTLS on loopback.
 *
 * The group setup writes a softhsm2.conf in a temporary directory and points SOFTHSM2_CONF at
 * it before any module is loaded. Nodes: A (client, municipal), B (server, prefectural) and C
 * (only for the PIN checks); extra certificates for A's and B's keys: one from another CA, one
 * to revoke, one expired (signed here with the CA key through GnuTLS).
 */
#include "testutil.h"

#include "jukinet/https.h"
#include "jukinet/pki.h"
#include "jukinet/token.h"
#include "net/https_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

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
/* Under ASan: SoftHSM 2.6.1 leaks an OpenSSL ASN1 object in every C_SignInit with an EdDSA key;
 * LeakSanitizer's fast unwinder stops inside libcrypto (no frame pointers), so match both. jukinet
 * never uses OpenSSL: in this program every libcrypto allocation is SoftHSM's. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void) {
  return "leak:libsofthsm2.so\nleak:libcrypto.so\n";
}
#endif

#define MOD "/usr/lib/softhsm/libsofthsm2.so"
#define PIN_A "1111"
#define PIN_B "2222"
#define PIN_C "3333"
#define ID_A "272108-00000000000000aa"
#define ID_B "270008-00000000000000bb"
#define ID_C "130001-00000000000000cc"
#define ID_AREV "272108-00000000000000ar"
#define ID_BREV "270008-00000000000000br"
/* the same for the event-loop pass: a revocation cannot be undone */
#define ID_AREV2 "272108-00000000000000as"
#define ID_BREV2 "270008-00000000000000bs"
#define MIB (1u << 20)

static char *dir;
static char ca_dir[600], ca2_dir[600], ca_crt[700], ca_crl[700];
static uint8_t pk_a[32], pk_b[32], pk_c[32];
static jk_tls *tls_a, *tls_b;

/* ---- helpers ---- */

static void run(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fail_msg("command failed (%d): %s", rc, cmd);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_true(fputs(text, f) >= 0);
  assert_int_equal(fclose(f), 0);
}

static void path_of(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void key_uri(char *out, size_t cap, const char *token) {
  snprintf(out, cap, "pkcs11:token=%s;object=tls;type=private", token);
}

/* A token with an Ed25519 key pair "tls" (pkcs11-tool, as scripts/devnode makes node keys). */
static void make_token(const char *label, const char *pin, uint8_t pk[32]) {
  char cmd[1600], pub[700];
  snprintf(cmd, sizeof cmd, "softhsm2-util --init-token --free --label %s --so-pin 12345678 --pin %s >/dev/null", label,
           pin);
  run(cmd);
  snprintf(cmd, sizeof cmd,
           "pkcs11-tool --module %s --login --pin %s --token-label %s --keypairgen --key-type EC:edwards25519 "
           "--label tls --id 01 >/dev/null 2>&1",
           MOD, pin, label);
  run(cmd);
  snprintf(pub, sizeof pub, "%s/%s.pub", dir, label);
  snprintf(cmd, sizeof cmd,
           "pkcs11-tool --module %s --token-label %s --read-object --type pubkey --label tls -o '%s' >/dev/null 2>&1",
           MOD, label, pub);
  run(cmd);
  char *pem = tu_slurp(NULL, pub);
  gnutls_pubkey_t k;
  gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)}, x = {NULL, 0};
  gnutls_ecc_curve_t curve;
  assert_int_equal(gnutls_pubkey_init(&k), 0);
  assert_int_equal(gnutls_pubkey_import(k, &d, GNUTLS_X509_FMT_PEM), 0);
  assert_int_equal(gnutls_pubkey_export_ecc_raw(k, &curve, &x, NULL), 0);
  assert_int_equal(curve, GNUTLS_ECC_CURVE_ED25519);
  assert_int_equal(x.size, 32);
  memcpy(pk, x.data, 32);
  gnutls_free(x.data);
  gnutls_pubkey_deinit(k);
  free(pem);
}

static void issue(const char *ca, const uint8_t pk[32], const char *id, const char *lg, const char *role,
                  const char *name) {
  char *pem = NULL, path[700];
  jk_err e = jk_pki_issue(ca, pk, id, lg, role, 365, &pem);
  if (e) fail_msg("issue %s: %s", id, jk_error_last());
  path_of(path, sizeof path, name);
  write_text(path, pem);
  jk_free(pem);
}

/* An expired copy of the certificate `from` (same key and names, validity 20 to 10 days ago,
 * another serial), signed by the network CA with its key file through GnuTLS. */
static void make_expired(const char *from, const char *name) {
  char path[700], ca_key[700];
  path_of(path, sizeof path, from);
  char *pem = tu_slurp(NULL, path), *capem = tu_slurp(NULL, ca_crt);
  snprintf(ca_key, sizeof ca_key, "%s/ca.key", ca_dir);
  char *keypem = tu_slurp(NULL, ca_key);
  gnutls_x509_crt_t crt, ca;
  gnutls_privkey_t key;
  gnutls_datum_t d = {(unsigned char *)pem, (unsigned)strlen(pem)}, out = {NULL, 0};
  assert_int_equal(gnutls_x509_crt_init(&crt), 0);
  assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
  d = (gnutls_datum_t){(unsigned char *)capem, (unsigned)strlen(capem)};
  assert_int_equal(gnutls_x509_crt_init(&ca), 0);
  assert_int_equal(gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_PEM), 0);
  d = (gnutls_datum_t){(unsigned char *)keypem, (unsigned)strlen(keypem)};
  assert_int_equal(gnutls_privkey_init(&key), 0);
  assert_int_equal(gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_PEM, NULL, 0), 0);
  time_t now = time(NULL);
  static const unsigned char serial[] = {0x7f, 0x01};
  assert_int_equal(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), 0);
  assert_int_equal(gnutls_x509_crt_set_activation_time(crt, now - 20 * 86400), 0);
  assert_int_equal(gnutls_x509_crt_set_expiration_time(crt, now - 10 * 86400), 0);
  assert_int_equal(gnutls_x509_crt_privkey_sign(crt, ca, key, GNUTLS_DIG_SHA512, 0), 0);
  assert_int_equal(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out), 0);
  char *txt = strndup((const char *)out.data, out.size);
  path_of(path, sizeof path, name);
  write_text(path, txt);
  free(txt);
  gnutls_free(out.data);
  gnutls_privkey_deinit(key);
  gnutls_x509_crt_deinit(ca);
  gnutls_x509_crt_deinit(crt);
  sodium_memzero(keypem, strlen(keypem));
  free(keypem);
  free(capem);
  free(pem);
}

static jk_err open_tls(jk_tls **out, const char *token, const char *pin, const char *cert, const char *ca,
                       const char *crl) {
  char uri[256], cert_path[700];
  key_uri(uri, sizeof uri, token);
  path_of(cert_path, sizeof cert_path, cert);
  jk_tls_config cfg = {.module = MOD,
                       .key_uri = uri,
                       .pin = pin,
                       .pin_len = strlen(pin),
                       .cert_file = cert_path,
                       .ca_file = ca,
                       .crl_file = crl};
  return jk_tls_open(out, &cfg);
}

static jk_tls *open_ok(const char *token, const char *pin, const char *cert) {
  jk_tls *t = NULL;
  jk_err e = open_tls(&t, token, pin, cert, ca_crt, ca_crl);
  if (e) fail_msg("jk_tls_open %s: %s", cert, jk_error_last());
  return t;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the handler: answers the SHA-256 of the body, records who asked ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int calls;
static jk_tls_peer seen;
static char seen_pem[8192], seen_method[16], seen_url[128];

static void echo_hash(const jk_https_request *req, jk_https_response *resp, void *payload) {
  (void)payload;
  pthread_mutex_lock(&seen_lock);
  calls++;
  seen = *req->peer;
  seen.cert_pem = NULL;
  snprintf(seen_pem, sizeof seen_pem, "%s", req->peer->cert_pem ? req->peer->cert_pem : "");
  snprintf(seen_method, sizeof seen_method, "%s", req->method);
  snprintf(seen_url, sizeof seen_url, "%s", req->url);
  pthread_mutex_unlock(&seen_lock);
  resp->status = 200;
  resp->content_type = "application/octet-stream";
  resp->body = jk_malloc(32);
  resp->body_len = 32;
  crypto_hash_sha256(resp->body, req->body, req->body_len);
}

static int handler_calls(void) {
  pthread_mutex_lock(&seen_lock);
  int n = calls;
  pthread_mutex_unlock(&seen_lock);
  return n;
}

/* Which server engine the test runs on: libmicrohttpd, or jukinet's event loop (the second
 * pass of every server test, by setup_loop). */
static bool use_loop;

static jk_https_server *start(jk_tls *t, size_t max_body, char url[128]) {
  jk_https_server *srv = NULL;
  jk_https_options o = {.max_body = max_body, .kinds = JK_PKI_NODE, .event_loop = use_loop};
  jk_err e = jk_https_start_with(&srv, t, "127.0.0.1:0", &o, echo_hash, NULL);
  if (e) fail_msg("jk_https_start: %s", jk_error_last());
  assert_true(jk_https_port(srv) > 0);
  snprintf(url, 128, "https://127.0.0.1:%u/sync/v1/batch", jk_https_port(srv));
  return srv;
}

/* POST with a jk_https_client; the answer must be the body's hash when status is 200. */
static jk_err post(jk_https_client *c, const char *url, const char *expect, const void *body, size_t len,
                   unsigned *status) {
  uint8_t *resp = NULL;
  size_t resp_len = 0;
  jk_err e = jk_https_post(c, url, expect, body, len, "application/octet-stream", 5000, status, &resp, &resp_len);
  if (!e && *status == 200) {
    uint8_t h[32];
    crypto_hash_sha256(h, body, len);
    assert_int_equal(resp_len, 32);
    assert_memory_equal(resp, h, 32);
    assert_string_equal(jk_https_client_content_type(c), "application/octet-stream");
  } else if (!e && *status >= 400) {
    assert_non_null(strstr(jk_https_client_content_type(c), "application/json"));
  }
  jk_free(resp);
  return e;
}

/* A refused client: no handler call, and either a 403 or a failed transfer. */
static void expect_refused(jk_https_client *c, const char *url, int calls_before) {
  unsigned status = 0;
  jk_err e = post(c, url, ID_B, "hello", 5, &status);
  if (e == JK_OK && status != 403) fail_msg("a refused client got HTTP %u", status);
  assert_int_equal(handler_calls(), calls_before);
}

/* A bare libcurl POST of "hello" or of body (no jk_tls): tls_version 0 = TLS 1.3, cert NULL = no
 * client certificate. libcurl sends "Expect: 100-continue" itself for bodies over 1 MiB. */
static CURLcode raw_post_body(const char *url, long tls_version, const char *cert, const char *key, const void *body,
                              size_t len, long *code) {
  CURL *h = curl_easy_init();
  assert_non_null(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CAINFO, ca_crt);
  curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, tls_version ? tls_version : (long)CURL_SSLVERSION_TLSv1_3);
  if (cert) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
  }
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "hello");
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 5));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  FILE *sink = fopen("/dev/null", "w");
  curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
  CURLcode rc = curl_easy_perform(h);
  *code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
  curl_easy_cleanup(h);
  fclose(sink);
  return rc;
}

static CURLcode raw_post(const char *url, long tls_version, const char *cert, const char *key, long *code) {
  return raw_post_body(url, tls_version, cert, key, NULL, 0, code);
}

/* ---- setup ---- */

static int group_setup(void **state) {
  (void)state;
  char text[1600];
  jk_lang_set(JK_LANG_EN);
  if (system("command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null") != 0)
    fail_msg("softhsm2-util and pkcs11-tool are needed (scripts/bootstrap installs softhsm2 and opensc)");
  assert_true(sodium_init() >= 0);
  dir = tu_tmpdir();
  snprintf(text, sizeof text, "%s/tokens", dir);
  assert_int_equal(mkdir(text, 0700), 0);
  char conf[700];
  path_of(conf, sizeof conf, "softhsm2.conf");
  snprintf(text, sizeof text, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
  write_text(conf, text);
  assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0); /* before any module is loaded */
  make_token("nodeA", PIN_A, pk_a);
  make_token("nodeB", PIN_B, pk_b);
  make_token("nodeC", PIN_C, pk_c);
  path_of(ca_dir, sizeof ca_dir, "ca");
  path_of(ca2_dir, sizeof ca2_dir, "other-ca");
  snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", ca_dir);
  snprintf(ca_crl, sizeof ca_crl, "%s/ca.crl", ca_dir);
  assert_int_equal(jk_pki_ca_init(ca_dir, "jukinet test network"), JK_OK);
  assert_int_equal(jk_pki_ca_init(ca2_dir, "jukinet test network"), JK_OK); /* same name, other key */
  issue(ca_dir, pk_a, ID_A, "272108", "municipal", "a.crt");
  issue(ca_dir, pk_b, ID_B, "270008", "prefectural", "b.crt");
  issue(ca_dir, pk_c, ID_C, "130001", "national", "c.crt");
  issue(ca2_dir, pk_a, ID_A, "272108", "municipal", "a-other-ca.crt");
  issue(ca_dir, pk_a, ID_AREV, "272108", "municipal", "a-revoked.crt");
  issue(ca_dir, pk_b, ID_BREV, "270008", "prefectural", "b-revoked.crt");
  issue(ca_dir, pk_a, ID_AREV2, "272108", "municipal", "a-revoked2.crt");
  issue(ca_dir, pk_b, ID_BREV2, "270008", "prefectural", "b-revoked2.crt");
  make_expired("a.crt", "a-expired.crt");
  tls_a = open_ok("nodeA", PIN_A, "a.crt");
  tls_b = open_ok("nodeB", PIN_B, "b.crt");
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  jk_tls_close(tls_a);
  jk_tls_close(tls_b);
  tu_rmdir(dir);
  return 0;
}

static int setup(void **state) {
  (void)state;
  use_loop = false;
  jk_lang_set(JK_LANG_EN);
  jk_error_clear();
  pthread_mutex_lock(&seen_lock);
  calls = 0;
  memset(&seen, 0, sizeof seen);
  pthread_mutex_unlock(&seen_lock);
  return 0;
}

static int setup_loop(void **state) {
  setup(state);
  use_loop = true;
  return 0;
}

/* ---- 1. the happy path, keep-alive, and the figures ---- */

static void test_happy_path(void **state) {
  (void)state;
  char url[128];
  jk_https_server *srv = start(tls_b, 2 * MIB, url);
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
  uint8_t *big = malloc(MIB), small[1024];
  randombytes_buf(big, MIB);
  randombytes_buf(small, sizeof small);
  unsigned status = 0;
  double t0 = now_ms();
  assert_int_equal(post(c, url, ID_B, small, sizeof small, &status), JK_OK); /* handshake + 1 KiB */
  double first = now_ms() - t0;
  assert_int_equal(status, 200);
  t0 = now_ms();
  assert_int_equal(post(c, url, ID_B, big, MIB, &status), JK_OK);
  double one_mib = now_ms() - t0;
  assert_int_equal(status, 200);
  /* the handler saw the client's identity */
  pthread_mutex_lock(&seen_lock);
  assert_int_equal(calls, 2);
  assert_string_equal(seen.node, ID_A);
  assert_string_equal(seen.role, "municipal");
  assert_string_equal(seen.lgcode, "272108");
  assert_memory_equal(seen.pubkey, pk_a, 32);
  assert_string_equal(seen_method, "POST");
  assert_string_equal(seen_url, "/sync/v1/batch");
  char a_path[700];
  path_of(a_path, sizeof a_path, "a.crt");
  char *a_pem = tu_slurp(NULL, a_path);
  jk_pki_info mine, theirs;
  assert_int_equal(jk_pki_info_read(a_pem, &mine), JK_OK);
  assert_int_equal(jk_pki_info_read(seen_pem, &theirs), JK_OK);
  assert_string_equal(mine.serial, theirs.serial);
  assert_string_equal(mine.key_fingerprint, theirs.key_fingerprint);
  free(a_pem);
  pthread_mutex_unlock(&seen_lock);
  /* one connection, one handshake for both requests */
  assert_int_equal(jk__https_client_connects(c), 1);
  assert_int_equal(jk__https_server_handshakes(srv), 1);
  /* figures: keep-alive round trips */
  enum { N_SMALL = 50, N_BIG = 5 };
  t0 = now_ms();
  for (int i = 0; i < N_SMALL; i++)
    assert_int_equal(post(c, url, ID_B, small, sizeof small, &status), JK_OK);
  double small_rt = (now_ms() - t0) / N_SMALL;
  t0 = now_ms();
  for (int i = 0; i < N_BIG; i++)
    assert_int_equal(post(c, url, ID_B, big, MIB, &status), JK_OK);
  double big_rt = (now_ms() - t0) / N_BIG;
  assert_int_equal(jk__https_client_connects(c), 1);
  assert_int_equal(jk__https_server_handshakes(srv), 1);
  /* a second client: a new connection and handshake */
  jk_https_client *c2 = NULL;
  assert_int_equal(jk_https_client_new(&c2, tls_a), JK_OK);
  t0 = now_ms();
  assert_int_equal(post(c2, url, ID_B, small, sizeof small, &status), JK_OK);
  double second = now_ms() - t0;
  assert_int_equal(jk__https_server_handshakes(srv), 2);
  fprintf(stderr,
          "figures: first POST 1 KiB with handshake %.1f ms (another client %.1f ms); keep-alive POST 1 KiB %.2f ms, "
          "1 MiB %.1f ms (first 1 MiB %.1f ms)\n",
          first, second, small_rt, big_rt, one_mib);
  /* the server's identity without a request */
  jk_https_client *c3 = NULL;
  assert_int_equal(jk_https_client_new(&c3, tls_a), JK_OK);
  jk_tls_peer up;
  unsigned long before = jk__https_server_requests(srv);
  assert_int_equal(jk_https_client_peer(c3, url, ID_B, &up), JK_OK);
  assert_string_equal(up.node, ID_B);
  assert_string_equal(up.role, "prefectural");
  assert_string_equal(up.lgcode, "270008");
  assert_memory_equal(up.pubkey, pk_b, 32);
  assert_non_null(strstr(up.cert_pem, "BEGIN CERTIFICATE"));
  jk_free(up.cert_pem);
  assert_int_equal(jk__https_server_requests(srv), before); /* nothing was sent */
  assert_int_equal(post(c3, url, ID_B, small, sizeof small, &status), JK_OK);
  assert_int_equal(status, 200);
  assert_int_equal(jk_https_client_peer(c3, url, ID_A, &up), JK_EPERM);
  assert_null(up.cert_pem);
  jk_https_client_free(c3);
  /* an empty body */
  assert_int_equal(post(c, url, ID_B, NULL, 0, &status), JK_OK);
  assert_int_equal(status, 200);
  jk_https_client_free(c2);
  jk_https_client_free(c);
  jk_https_stop(srv);
  free(big);
}

/* ---- 2 to 5, 10: clients the server refuses ---- */

static void test_client_other_ca(void **state) {
  (void)state;
  char url[128];
  jk_https_server *srv = start(tls_b, MIB, url);
  jk_tls *t = open_ok("nodeA", PIN_A, "a-other-ca.crt"); /* trusts our CA, presents the other CA's cert */
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, t), JK_OK);
  expect_refused(c, url, 0);
  jk_https_client_free(c);
  jk_tls_close(t);
  jk_https_stop(srv);
}

static void test_client_revoked(void **state) {
  (void)state;
  char url[128];
  jk_tls *srv_tls = open_ok("nodeB", PIN_B, "b.crt"); /* its own CRL copy, reloaded below */
  jk_https_server *srv = start(srv_tls, MIB, url);
  jk_tls *t = open_ok("nodeA", PIN_A, use_loop ? "a-revoked2.crt" : "a-revoked.crt");
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, t), JK_OK);
  unsigned status = 0;
  assert_int_equal(post(c, url, ID_B, "x", 1, &status), JK_OK); /* not revoked yet */
  assert_int_equal(status, 200);
  assert_int_equal(handler_calls(), 1);
  assert_int_equal(jk_pki_revoke(ca_dir, use_loop ? ID_AREV2 : ID_AREV, "key compromise", NULL), JK_OK);
  /* the server has not re-read the CRL: still served */
  assert_int_equal(post(c, url, ID_B, "x", 1, &status), JK_OK);
  assert_int_equal(handler_calls(), 2);
  assert_int_equal(jk_tls_reload_crl(srv_tls), JK_OK);
  /* the same kept-alive connection is refused now (by the check before the handler: 403) ... */
  uint8_t *resp = NULL;
  size_t resp_len = 0;
  assert_int_equal(jk_https_post(c, url, ID_B, "x", 1, NULL, 5000, &status, &resp, &resp_len), JK_OK);
  assert_int_equal(status, 403);
  assert_non_null(strstr((char *)resp, "{\"error\":{\"code\":\"PERM\",\"message\":"));
  jk_free(resp);
  assert_int_equal(handler_calls(), 2);
  /* ... and so is a new one */
  jk_https_client *c2 = NULL;
  assert_int_equal(jk_https_client_new(&c2, t), JK_OK);
  expect_refused(c2, url, 2);
  jk_https_client_free(c2);
  jk_https_client_free(c);
  jk_tls_close(t);
  jk_https_stop(srv);
  jk_tls_close(srv_tls);
}

static void test_client_expired(void **state) {
  (void)state;
  char url[128];
  jk_https_server *srv = start(tls_b, MIB, url);
  jk_tls *t = open_ok("nodeA", PIN_A, "a-expired.crt");
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, t), JK_OK);
  expect_refused(c, url, 0);
  jk_https_client_free(c);
  jk_tls_close(t);
  jk_https_stop(srv);
}

static void test_client_without_certificate(void **state) {
  (void)state;
  char url[128];
  jk_https_server *srv = start(tls_b, MIB, url);
  long code = 0;
  CURLcode rc = raw_post(url, 0, NULL, NULL, &code);
  if (rc == CURLE_OK && code != 403) fail_msg("a client without a certificate got HTTP %ld", code);
  assert_int_equal(handler_calls(), 0);
  jk_https_stop(srv);
}

static void test_tls12_client(void **state) {
  (void)state;
  char url[128], cert[700], key[256];
  jk_https_server *srv = start(tls_b, MIB, url);
  path_of(cert, sizeof cert, "a.crt");
  key_uri(key, sizeof key, "nodeA");
  long code = 0;
  /* a valid node certificate and key (tls_a holds the token's PIN), but TLS 1.2 only */
  CURLcode rc = raw_post(url, (long)(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2), cert, key, &code);
  assert_int_not_equal(rc, CURLE_OK);
  assert_int_equal(jk__https_server_handshakes(srv), 0);
  /* the same with TLS 1.3: served */
  rc = raw_post(url, 0, cert, key, &code);
  assert_int_equal(rc, CURLE_OK);
  assert_int_equal(code, 200);
  assert_int_equal(handler_calls(), 1);
  jk_https_stop(srv);
}

/* ---- 6, 7: servers the client refuses ---- */

static void test_wrong_server(void **state) {
  (void)state;
  char url[128];
  jk_https_server *srv = start(tls_b, MIB, url);
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
  unsigned status = 7;
  assert_int_equal(post(c, url, "272108-0000000000000xyz", "secret", 6, &status), JK_EPERM);
  assert_error_contains("not 272108-0000000000000xyz");
  assert_int_equal(status, 0);
  assert_int_equal(handler_calls(), 0);
  assert_int_equal(jk__https_server_handshakes(srv), 1);
  assert_int_equal(jk__https_server_requests(srv), 0); /* not even the headers were sent */
  /* the right name on the same client works */
  assert_int_equal(post(c, url, ID_B, "x", 1, &status), JK_OK);
  assert_int_equal(status, 200);
  /* and a kept-alive connection is checked again for each request */
  assert_int_equal(post(c, url, ID_A, "secret", 6, &status), JK_EPERM);
  assert_int_equal(handler_calls(), 1);
  assert_int_equal(jk__https_server_requests(srv), 1);
  jk_https_client_free(c);
  jk_https_stop(srv);
}

static void test_server_revoked(void **state) {
  (void)state;
  char url[128];
  const char *id = use_loop ? ID_BREV2 : ID_BREV;
  jk_tls *srv_tls = open_ok("nodeB", PIN_B, use_loop ? "b-revoked2.crt" : "b-revoked.crt");
  jk_https_server *srv = start(srv_tls, MIB, url);
  jk_tls *cli_tls = open_ok("nodeA", PIN_A, "a.crt"); /* its own CRL copy, reloaded below */
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, cli_tls), JK_OK);
  unsigned status = 0;
  assert_int_equal(post(c, url, id, "x", 1, &status), JK_OK);
  assert_int_equal(status, 200);
  assert_int_equal(jk_pki_revoke(ca_dir, id, "retired", NULL), JK_OK);
  assert_int_equal(jk_tls_reload_crl(cli_tls), JK_OK);
  /* the kept-alive connection: refused before the request goes out */
  assert_int_equal(post(c, url, id, "secret", 6, &status), JK_EPERM);
  assert_error_contains("revoked");
  /* a new connection (libcurl reads the CRL file too) */
  jk_https_client *c2 = NULL;
  assert_int_equal(jk_https_client_new(&c2, cli_tls), JK_OK);
  assert_int_equal(post(c2, url, id, "secret", 6, &status), JK_EPERM);
  assert_int_equal(handler_calls(), 1);
  assert_int_equal(jk__https_server_requests(srv), 1);
  jk_https_client_free(c2);
  jk_https_client_free(c);
  jk_tls_close(cli_tls);
  jk_https_stop(srv);
  jk_tls_close(srv_tls);
}

/* ---- 8. bodies over max_body ---- */

static void test_body_too_large(void **state) {
  (void)state;
  char url[128];
  enum { MAX = 64 * 1024 };
  jk_https_server *srv = start(tls_b, MAX, url);
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
  uint8_t *body = calloc(1, 256 * MAX); /* 16 MiB */
  unsigned status = 0;
  uint8_t *resp = NULL;
  size_t resp_len = 0;
  assert_int_equal(jk_https_post(c, url, ID_B, body, MAX + 1, NULL, 5000, &status, &resp, &resp_len), JK_OK);
  assert_int_equal(status, 413);
  assert_non_null(strstr((char *)resp, "\"code\":\"TOOLARGE\""));
  jk_free(resp);
  assert_int_equal(jk_https_post(c, url, ID_B, body, 256 * MAX, NULL, 5000, &status, &resp, &resp_len), JK_OK);
  assert_int_equal(status, 413);
  jk_free(resp);
  assert_int_equal(handler_calls(), 0);
  /* a client that waits for "100 Continue" is answered at once */
  char cert[700], key[256];
  path_of(cert, sizeof cert, "a.crt");
  key_uri(key, sizeof key, "nodeA");
  long code = 0;
  assert_int_equal(raw_post_body(url, 0, cert, key, body, 2 * MIB, &code), CURLE_OK);
  assert_int_equal(code, 413);
  assert_int_equal(handler_calls(), 0);
  /* exactly max_body is served */
  assert_int_equal(post(c, url, ID_B, body, MAX, &status), JK_OK);
  assert_int_equal(status, 200);
  assert_int_equal(handler_calls(), 1);
  free(body);
  jk_https_client_free(c);
  jk_https_stop(srv);
}

/* ---- 9. the PIN ---- */

static void test_wrong_pin(void **state) {
  (void)state;
  jk_tls *t = NULL;
  const char *wrong = "987654";
  assert_int_equal(open_tls(&t, "nodeC", wrong, "c.crt", ca_crt, ca_crl), JK_EPERM);
  assert_null(t);
  assert_error_contains("wrong token PIN");
  assert_null(strstr(jk_error_last(), wrong));
  /* once only: the right PIN still opens it (SoftHSM never locks, but one wrong try was all) */
  assert_int_equal(open_tls(&t, "nodeC", PIN_C, "c.crt", ca_crt, ca_crl), JK_OK);
  jk_tls_close(t);
  t = NULL;
  /* a token this process is logged in to already (tls_a): the PIN is still checked */
  assert_int_equal(open_tls(&t, "nodeA", wrong, "a.crt", ca_crt, ca_crl), JK_EPERM);
  assert_null(strstr(jk_error_last(), wrong));
  assert_null(t);
  /* in Japanese too, and never the PIN */
  jk_lang_set(JK_LANG_JA);
  assert_int_equal(open_tls(&t, "nodeC", wrong, "c.crt", ca_crt, ca_crl), JK_EPERM);
  assert_null(strstr(jk_error_last(), wrong));
  jk_lang_set(JK_LANG_EN);
  /* the key must match the certificate */
  assert_int_equal(open_tls(&t, "nodeC", PIN_C, "a.crt", ca_crt, ca_crl), JK_EINVAL);
  assert_error_contains("does not match");
  /* no such key, no such module */
  char uri[256], cert[700];
  path_of(cert, sizeof cert, "c.crt");
  snprintf(uri, sizeof uri, "pkcs11:token=nodeC;object=nope;type=private");
  jk_tls_config cfg = {.module = MOD, .key_uri = uri, .pin = PIN_C, .pin_len = 4, .cert_file = cert, .ca_file = ca_crt};
  jk_err e = jk_tls_open(&t, &cfg);
  if (e != JK_ENOTFOUND) fail_msg("no such key: %s", jk_error_last());
  cfg.key_uri = "pkcs11:object=tls";
  assert_int_equal(jk_tls_open(&t, &cfg), JK_EINVAL);
  cfg.key_uri = "pkcs11:token=nodeC;object=tls;type=private";
  cfg.module = "/nonexistent/pkcs11.so";
  assert_int_equal(jk_tls_open(&t, &cfg), JK_ENOTFOUND);
}

/* ---- another PKCS#11 user of the process logs the server's token out and in ---- */

static void test_token_logout(void **state) {
  (void)state;
  char url[128];
  jk_tls *srv_tls = open_ok("nodeB", PIN_B, "b.crt");
  jk_https_server *srv = start(srv_tls, MIB, url);
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
  unsigned status = 0;
  assert_int_equal(post(c, url, ID_B, "x", 1, &status), JK_OK);
  jk_https_client_free(c);
  /* jk_token_login logs the token out and in again, jk_token_close logs it out: the token drops
   * the private key handle GnuTLS holds; the server imports the key again and carries on */
  jk_token *tk = NULL;
  assert_int_equal(jk_token_open(&tk, MOD, "nodeB"), JK_OK);
  assert_int_equal(jk_token_login(tk, PIN_B, strlen(PIN_B)), JK_OK);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
    jk_err e = post(c, url, ID_B, "x", 1, &status);
    if (e) fail_msg("round %d: %s", round, jk_error_last());
    assert_int_equal(status, 200);
    jk_https_client_free(c);
    if (round == 0) jk_token_close(tk);
  }
  assert_int_equal(handler_calls(), 3);
  jk_https_stop(srv);
  jk_tls_close(srv_tls);
}

/* ---- transport failures ---- */

static void test_timeouts(void **state) {
  (void)state;
  /* a listener that never answers: the handshake never completes */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 4), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  char url[128];
  snprintf(url, sizeof url, "https://127.0.0.1:%u/x", (unsigned)ntohs(sa.sin_port));
  jk_https_client *c = NULL;
  assert_int_equal(jk_https_client_new(&c, tls_a), JK_OK);
  unsigned status = 0;
  uint8_t *resp = NULL;
  size_t resp_len = 0;
  double t0 = now_ms();
  assert_int_equal(jk_https_post(c, url, ID_B, "x", 1, NULL, 300, &status, &resp, &resp_len), JK_EIO);
  assert_true(now_ms() - t0 < 3000);
  assert_error_contains("no answer within 300 ms");
  close(fd);
  /* nobody listening */
  assert_int_equal(jk_https_post(c, url, ID_B, "x", 1, NULL, 2000, &status, &resp, &resp_len), JK_EIO);
  /* bad arguments */
  assert_int_equal(jk_https_post(c, "http://127.0.0.1:1/x", ID_B, "x", 1, NULL, 2000, &status, &resp, &resp_len),
                   JK_EINVAL);
  assert_int_equal(jk_https_post(c, url, NULL, "x", 1, NULL, 2000, &status, &resp, &resp_len), JK_EINVAL);
  jk_https_client_free(c);
  jk_https_server *srv = NULL;
  assert_int_equal(jk_https_start(&srv, tls_b, "localhost", MIB, echo_hash, NULL), JK_EINVAL);
  assert_int_equal(jk_https_start(&srv, tls_b, "127.0.0.1:99999", MIB, echo_hash, NULL), JK_EINVAL);
  jk_https_stop(NULL);
  jk_https_client_free(NULL);
  jk_tls_close(NULL);
}

/* ---- asynchronous handlers: answered later, from another thread ---- */

typedef struct later {
  jk_https_ticket *t;
  uint8_t hash[32];
  size_t n;
} later;
static later pending[8];
static int npending;

static void park(const jk_https_request *req, jk_https_ticket *t, void *payload) {
  (void)payload;
  pthread_mutex_lock(&seen_lock);
  later *l = &pending[npending++ % 8];
  l->t = t;
  crypto_hash_sha256(l->hash, req->body, req->body_len); /* the body stays valid until finished */
  l->n = req->body_len;
  pthread_mutex_unlock(&seen_lock);
}

/* The parked request's answer (its hash), once the handler has parked it and delay_us passed. */
static void wait_parked(void) {
  for (int i = 0; i < 2000; i++) {
    pthread_mutex_lock(&seen_lock);
    int n = npending;
    pthread_mutex_unlock(&seen_lock);
    if (n > 0) return;
    usleep(1000);
  }
}

static jk_https_ticket *take_parked(unsigned delay_us, jk_https_response *r) {
  wait_parked();
  usleep(delay_us);
  pthread_mutex_lock(&seen_lock);
  later l = pending[0];
  npending = 0;
  pthread_mutex_unlock(&seen_lock);
  *r = (jk_https_response){.status = 200, .content_type = "application/octet-stream", .body = jk_malloc(32), .body_len = 32};
  memcpy(r->body, l.hash, 32);
  return l.t;
}

static void *finisher(void *arg) {
  (void)arg;
  jk_https_response r;
  jk_https_ticket *t = take_parked(50000, &r); /* the client waits meanwhile: suspended, not answered */
  jk_https_finish(t, &r);
  return NULL;
}

/* An asynchronous server (the park handler) of `threads` threads on the engine asked for, its
 * URL, and a client of node A. */
static jk_https_server *start_async(unsigned threads, bool loop, char url[128], jk_https_client **c) {
  jk_https_server *srv = NULL;
  jk_https_options o = {.max_body = MIB, .threads = threads, .kinds = JK_PKI_NODE, .async = park, .event_loop = loop};
  assert_int_equal(jk_https_start_with(&srv, tls_b, "127.0.0.1:0", &o, NULL, NULL), JK_OK);
  snprintf(url, 128, "https://127.0.0.1:%u/x", jk_https_port(srv));
  assert_int_equal(jk_https_client_new(c, tls_a), JK_OK);
  return srv;
}

static void test_async_handler(void **state) {
  (void)state;
  char url[128];
  jk_https_client *c = NULL;
  jk_https_server *srv = start_async(2, use_loop, url, &c);
  for (int round = 0; round < 3; round++) { /* keep-alive: the connection serves again after a resume */
    pthread_t th;
    npending = 0;
    assert_int_equal(pthread_create(&th, NULL, finisher, NULL), 0);
    uint8_t body[700];
    randombytes_buf(body, sizeof body);
    unsigned status = 0;
    double t0 = now_ms();
    assert_int_equal(post(c, url, ID_B, body, sizeof body, &status), JK_OK);
    assert_true(now_ms() - t0 >= 45); /* it waited for the finisher */
    assert_int_equal(status, 200);
    pthread_join(th, NULL);
  }
  assert_int_equal(jk__https_server_handshakes(srv), 1);
  jk_https_client_free(c);
  jk_https_stop(srv);
  /* an asynchronous server needs no synchronous handler; neither is an error */
  jk_https_options o = {.max_body = MIB, .threads = 2, .kinds = JK_PKI_NODE, .event_loop = use_loop};
  assert_int_equal(jk_https_start_with(&srv, tls_b, "127.0.0.1:0", &o, NULL, NULL), JK_EINVAL);
}

/* ---- the event loop's own HTTP handling, byte by byte (a GnuTLS client of our own) ---- */

typedef struct rawc {
  int fd;
  gnutls_session_t s;
  gnutls_certificate_credentials_t cred;
} rawc;

/* A TLS 1.3 connection as node A (its key on the token, by URI) to 127.0.0.1:port. */
static void raw_open(rawc *r, unsigned port) {
  char cert[700], key[256];
  path_of(cert, sizeof cert, "a.crt");
  key_uri(key, sizeof key, "nodeA");
  assert_int_equal(gnutls_certificate_allocate_credentials(&r->cred), 0);
  assert_true(gnutls_certificate_set_x509_trust_file(r->cred, ca_crt, GNUTLS_X509_FMT_PEM) > 0);
  assert_int_equal(gnutls_certificate_set_x509_key_file(r->cred, cert, key, GNUTLS_X509_FMT_PEM), 0);
  r->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(r->fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(gnutls_init(&r->s, GNUTLS_CLIENT), 0);
  assert_int_equal(gnutls_priority_set_direct(r->s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL), 0);
  assert_int_equal(gnutls_credentials_set(r->s, GNUTLS_CRD_CERTIFICATE, r->cred), 0);
  gnutls_transport_set_int(r->s, r->fd);
  gnutls_record_set_timeout(r->s, 5000);
  gnutls_handshake_set_timeout(r->s, 5000);
  int rc;
  do
    rc = gnutls_handshake(r->s);
  while (rc < 0 && !gnutls_error_is_fatal(rc));
  if (rc < 0) fail_msg("handshake: %s", gnutls_strerror(rc));
}

static void raw_close(rawc *r) {
  gnutls_deinit(r->s);
  close(r->fd);
  gnutls_certificate_free_credentials(r->cred);
}

static void raw_send(rawc *r, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t k = gnutls_record_send(r->s, p, n);
    if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED) continue;
    if (k < 0) fail_msg("send: %s", gnutls_strerror((int)k));
    p += k;
    n -= (size_t)k;
  }
}

/* Read until buf holds `answers` whole answers (bodies by Content-Length; head_only: the last
 * one has none), or the server closes (*closed), or 5 s pass. Returns the bytes read. */
static size_t raw_answers(rawc *r, char *buf, size_t cap, int answers, bool head_only, bool *closed) {
  size_t len = 0;
  *closed = false;
  for (;;) {
    buf[len] = 0;
    int whole = 0;
    const char *p = buf;
    for (;;) {
      const char *end = strstr(p, "\r\n\r\n");
      if (!end) break;
      const char *cl = strstr(p, "Content-Length: ");
      size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
      if (head_only && whole == answers - 1) body = 0;
      if ((size_t)(end + 4 - buf) + body > len) break;
      whole++;
      p = end + 4 + body;
    }
    if (whole >= answers) return len;
    ssize_t k = gnutls_record_recv(r->s, buf + len, cap - 1 - len);
    if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED) continue;
    if (k <= 0) {
      *closed = true;
      return len;
    }
    len += (size_t)k;
  }
}

/* The server closes after its answer: the next read sees the end. */
static void expect_closed(rawc *r) {
  char b[64];
  ssize_t k;
  do
    k = gnutls_record_recv(r->s, b, sizeof b);
  while (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED);
  assert_true(k <= 0);
}

static void assert_hash_answer(const char *answer, const char *body) {
  assert_non_null(strstr(answer, "HTTP/1.1 200 OK\r\n"));
  const char *end = strstr(answer, "\r\n\r\n");
  assert_non_null(end);
  uint8_t h[32];
  crypto_hash_sha256(h, (const uint8_t *)body, strlen(body));
  assert_memory_equal(end + 4, h, 32);
}

static void test_loop_wire(void **state) {
  (void)state;
  enum { MAX = 1024 };
  jk_https_server *srv = NULL;
  jk_https_options o = {.max_body = MAX, .threads = 2, .kinds = JK_PKI_NODE, .event_loop = true};
  assert_int_equal(jk_https_start_with(&srv, tls_b, "127.0.0.1:0", &o, echo_hash, NULL), JK_OK);
  unsigned port = jk_https_port(srv);
  static char buf[65536];
  bool closed;
  rawc r;
  raw_open(&r, port);
  /* two requests in one write (pipelining): two answers, in order */
  const char *two = "POST /a HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nonePOST /b HTTP/1.1\r\nHost: b\r\n"
                    "Content-Length: 4\r\n\r\ntwo!";
  raw_send(&r, two, strlen(two));
  size_t n = raw_answers(&r, buf, sizeof buf, 2, false, &closed);
  assert_false(closed);
  assert_hash_answer(buf, "one");
  const char *second = strstr(strstr(buf, "\r\n\r\n") + 4 + 32, "HTTP/1.1");
  assert_non_null(second);
  assert_hash_answer(second, "two!");
  assert_true((size_t)(second - buf) + (size_t)(strstr(second, "\r\n\r\n") - second) + 4 + 32 == n);
  assert_int_equal(handler_calls(), 2);
  assert_string_equal(seen_url, "/b");
  /* HEAD: the head of the answer without its body; the connection goes on */
  const char *head = "HEAD /c?x=1 HTTP/1.1\r\nHost: b\r\n\r\n";
  raw_send(&r, head, strlen(head));
  n = raw_answers(&r, buf, sizeof buf, 1, true, &closed);
  assert_non_null(strstr(buf, "Content-Length: 32\r\n"));
  assert_int_equal(n, (size_t)(strstr(buf, "\r\n\r\n") - buf) + 4);
  assert_string_equal(seen_method, "HEAD");
  assert_string_equal(seen_url, "/c");
  /* a request that trickles in, a byte at a time */
  const char *slow = "POST /d HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\nslow!";
  for (size_t i = 0; i < strlen(slow); i++) {
    raw_send(&r, slow + i, 1);
    usleep(500);
  }
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_hash_answer(buf, "slow!");
  /* a body over max_body: read and dropped, 413, and the connection serves on */
  static char big[MAX + 1 + 200];
  int hl = snprintf(big, sizeof big, "POST /e HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\n\r\n", MAX + 1);
  memset(big + hl, 'z', MAX + 1);
  raw_send(&r, big, (size_t)hl + MAX + 1);
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_non_null(strstr(buf, "HTTP/1.1 413 "));
  assert_non_null(strstr(buf, "\"code\":\"TOOLARGE\""));
  int before = handler_calls();
  raw_send(&r, slow, strlen(slow));
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_hash_answer(buf, "slow!");
  assert_int_equal(handler_calls(), before + 1);
  /* Expect: 100-continue: the interim answer, then the body */
  const char *ask = "POST /f HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  raw_send(&r, ask, strlen(ask));
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
  raw_send(&r, "more", 4);
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_hash_answer(buf, "more");
  raw_close(&r);

  /* what closes the connection after its answer, without reaching the handler */
  static const struct {
    const char *req, *status;
  } end[] = {
      {"POST /g HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 411 "},
      {"POST /g HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", "HTTP/1.1 400 "},                /* no Host */
      {"POST /g HTTP/1.1\r\nHost: b\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "HTTP/1.1 400 "},
      {"POST /g HTTP/1.1\r\nHost: b\r\nX: a\x01\r\n\r\n", "HTTP/1.1 400 "},
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
      {"POST /g HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 2000\r\n\r\n", "HTTP/1.1 413 "},
  };
  before = handler_calls();
  for (size_t i = 0; i < sizeof end / sizeof end[0]; i++) {
    raw_open(&r, port);
    raw_send(&r, end[i].req, strlen(end[i].req));
    raw_answers(&r, buf, sizeof buf, 1, false, &closed);
    if (strncmp(buf, end[i].status, strlen(end[i].status)) != 0) fail_msg("case %zu: %.40s", i, buf);
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    assert_non_null(strstr(buf, "{\"error\":{\"code\":"));
    expect_closed(&r);
    raw_close(&r);
  }
  /* a head over 8 KiB */
  raw_open(&r, port);
  memset(big, 'h', sizeof big);
  const char *start = "GET / HTTP/1.1\r\nHost: b\r\nX: ";
  memcpy(big, start, strlen(start));
  for (int i = 0; i < 9; i++)
    raw_send(&r, big, 1024);
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_non_null(strstr(buf, "HTTP/1.1 431 "));
  expect_closed(&r);
  raw_close(&r);
  assert_int_equal(handler_calls(), before);
  /* HTTP/1.0 without keep-alive: answered, then closed */
  raw_open(&r, port);
  const char *old = "POST /h HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi";
  raw_send(&r, old, strlen(old));
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_hash_answer(buf, "hi");
  expect_closed(&r);
  raw_close(&r);
  jk_https_stop(srv);
}

/* A client that leaves while its request is with an asynchronous handler: the answer that
 * comes later goes nowhere, and nothing else breaks (ASan watches the connection's memory). */
static void test_loop_client_gone(void **state) {
  (void)state;
  char url[128];
  jk_https_client *c = NULL;
  jk_https_server *srv = start_async(2, true, url, &c);
  npending = 0;
  rawc r;
  raw_open(&r, jk_https_port(srv));
  const char *req = "POST /x HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\n\r\nhello";
  raw_send(&r, req, strlen(req));
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, finisher, NULL), 0);
  wait_parked();
  raw_close(&r); /* gone before the answer */
  pthread_join(th, NULL);
  /* the server serves on */
  assert_int_equal(pthread_create(&th, NULL, finisher, NULL), 0);
  unsigned status = 0;
  assert_int_equal(post(c, url, ID_B, "again", 5, &status), JK_OK);
  assert_int_equal(status, 200);
  pthread_join(th, NULL);
  jk_https_client_free(c);
  jk_https_stop(srv);
}

/* jk_https_hold: a ticket finished while held goes out at the release, not before (the
 * thread that owns the connection is not woken; its own timer ticks once a second). */
static double released_at;

static void *held_finisher(void *arg) {
  (void)arg;
  jk_https_response r;
  jk_https_ticket *t = take_parked(20000, &r); /* the server thread is back in epoll_wait */
  jk_https_hold();
  jk_https_hold(); /* nested: only the outer release wakes */
  jk_https_finish(t, &r);
  jk_https_release();
  usleep(300000);
  released_at = now_ms();
  jk_https_release();
  return NULL;
}

static void test_loop_hold(void **state) {
  (void)state;
  char url[128];
  jk_https_client *c = NULL;
  jk_https_server *srv = start_async(1, true, url, &c);
  unsigned status = 0;
  npending = 0;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, held_finisher, NULL), 0);
  assert_int_equal(post(c, url, ID_B, "held", 4, &status), JK_OK);
  double answered_at = now_ms();
  pthread_join(th, NULL);
  assert_int_equal(status, 200);
  assert_true(answered_at >= released_at);
  jk_https_client_free(c);
  jk_https_stop(srv);
}

/* The event loop's connection limit and idle timeout (lowered through its test hooks): a
 * connection over the limit is closed at once, an idle one — a bare TCP probe that never says
 * hello, a kept-alive client — once the timeout has passed. */
static int tcp_connect(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* ms until the server closes fd (recv sees the end), or -1 after 5 s */
static double ms_to_close(int fd) {
  double t0 = now_ms();
  char b[16];
  ssize_t n = recv(fd, b, sizeof b, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET) ? now_ms() - t0 : -1;
}

static void test_loop_limits(void **state) {
  (void)state;
  jk__https_loop_idle_s = 2; /* whole seconds, checked once a second: closed 1 to 3 s after */
  jk__https_loop_conn_limit = 2;
  jk_https_server *srv = NULL;
  jk_https_options o = {.max_body = MIB, .threads = 2, .kinds = JK_PKI_NODE, .event_loop = true};
  assert_int_equal(jk_https_start_with(&srv, tls_b, "127.0.0.1:0", &o, echo_hash, NULL), JK_OK);
  unsigned port = jk_https_port(srv);
  double t0 = now_ms();
  int a = tcp_connect(port), b = tcp_connect(port);
  usleep(200000); /* both accepted */
  int over = tcp_connect(port);
  double t = ms_to_close(over);
  assert_true(t >= 0 && t < 800); /* the third: closed at once */
  close(over);
  char peek;
  assert_int_equal(recv(a, &peek, 1, MSG_PEEK | MSG_DONTWAIT), -1); /* the first two: open still */
  assert_int_equal(errno, EAGAIN);
  /* the two probes: closed by the idle timeout */
  assert_true(ms_to_close(a) >= 0);
  assert_true(ms_to_close(b) >= 0);
  t = now_ms() - t0;
  assert_true(t >= 900 && t < 4500);
  close(a);
  close(b);
  usleep(100000);
  /* room again: a TLS client is served, and its kept-alive connection ends when idle */
  rawc r;
  raw_open(&r, port);
  const char *req = "POST /i HTTP/1.1\r\nHost: b\r\nContent-Length: 4\r\n\r\nidle";
  raw_send(&r, req, strlen(req));
  static char buf[4096];
  bool closed;
  raw_answers(&r, buf, sizeof buf, 1, false, &closed);
  assert_hash_answer(buf, "idle");
  t = now_ms();
  expect_closed(&r); /* within the client's 5 s record timeout: the server closed it */
  assert_true(now_ms() - t < 4500);
  raw_close(&r);
  jk_https_stop(srv);
  jk__https_loop_idle_s = JK__HTTPS_CONN_TIMEOUT_S;
  jk__https_loop_conn_limit = JK__HTTPS_CONN_LIMIT;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_happy_path, setup),
      cmocka_unit_test_setup(test_client_other_ca, setup),
      cmocka_unit_test_setup(test_client_revoked, setup),
      cmocka_unit_test_setup(test_client_expired, setup),
      cmocka_unit_test_setup(test_client_without_certificate, setup),
      cmocka_unit_test_setup(test_wrong_server, setup),
      cmocka_unit_test_setup(test_server_revoked, setup),
      cmocka_unit_test_setup(test_body_too_large, setup),
      cmocka_unit_test_setup(test_wrong_pin, setup),
      cmocka_unit_test_setup(test_tls12_client, setup),
      cmocka_unit_test_setup(test_token_logout, setup),
      cmocka_unit_test_setup(test_timeouts, setup),
      cmocka_unit_test_setup(test_async_handler, setup),
      /* the same on the event-loop engine */
      cmocka_unit_test_setup(test_happy_path, setup_loop),
      cmocka_unit_test_setup(test_client_other_ca, setup_loop),
      cmocka_unit_test_setup(test_client_revoked, setup_loop),
      cmocka_unit_test_setup(test_client_expired, setup_loop),
      cmocka_unit_test_setup(test_client_without_certificate, setup_loop),
      cmocka_unit_test_setup(test_wrong_server, setup_loop),
      cmocka_unit_test_setup(test_server_revoked, setup_loop),
      cmocka_unit_test_setup(test_body_too_large, setup_loop),
      cmocka_unit_test_setup(test_tls12_client, setup_loop),
      cmocka_unit_test_setup(test_token_logout, setup_loop),
      cmocka_unit_test_setup(test_async_handler, setup_loop),
      cmocka_unit_test_setup(test_loop_wire, setup_loop),
      cmocka_unit_test_setup(test_loop_client_gone, setup_loop),
      cmocka_unit_test_setup(test_loop_hold, setup_loop),
      cmocka_unit_test_setup(test_loop_limits, setup_loop),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
