/*
 * test_attest.c — the nation's receipt carried down to a municipality (src/sync/attest.c): the
 * municipality accepts it only with a certificate of the nation from the network CA, naming
 * the receipt's signer, a signature that verifies and its own source; anything else is refused.
 * (tests/cli/test_rights.sh fetches one end to end through the prefecture.)
 */
#include "testutil.h"

#include "jukinet/pki.h"
#include "jukinet/sync.h"

#include <jansson.h>
#include <sodium.h>

typedef struct fx {
  char *dir, ca[600];
  uint8_t pk[32], sk[64];
  char *ca_pem, *crl_pem, *nation_pem, *city_pem;
} fx;

static jk_err soft_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  fx *f = payload;
  crypto_sign_detached(sig, NULL, msg, len, f->sk);
  return JK_OK;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_true(sodium_init() >= 0);
  jk_lang_set(JK_LANG_EN);
  f->dir = tu_tmpdir();
  snprintf(f->ca, sizeof f->ca, "%s/ca", f->dir);
  crypto_sign_keypair(f->pk, f->sk);
  assert_int_equal(jk_pki_ca_init(f->ca, "test network"), JK_OK);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "131016-nation", "131016", "national", 30, &f->nation_pem), JK_OK);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "272108-city", "272108", "municipal", 30, &f->city_pem), JK_OK);
  f->ca_pem = tu_slurp(f->ca, "ca.crt");
  f->crl_pem = tu_slurp(f->ca, "ca.crl");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  jk_free(f->nation_pem);
  jk_free(f->city_pem);
  free(f->ca_pem);
  free(f->crl_pem);
  tu_rmdir(f->dir);
  free(f);
  return 0;
}

/* The answer the nation gives: receipt r signed (unless sign is false), with cert. */
static char *answer(fx *f, jk_receipt *r, const char *cert, bool sign) {
  jk_ledger_signer sg = {soft_sign, f};
  if (sign) assert_int_equal(jk_receipt_sign(r, &sg), JK_OK);
  uint8_t enc[JK_RECEIPT_ENCODED_MAX];
  size_t n;
  assert_int_equal(jk_receipt_encode(r, enc, sizeof enc, &n), JK_OK);
  char b64[sodium_base64_ENCODED_LEN(JK_RECEIPT_ENCODED_MAX, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, enc, n, sodium_base64_VARIANT_ORIGINAL);
  json_t *o = json_pack("{s:s,s:s}", "receipt", b64, "cert", cert);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static jk_receipt receipt(void) {
  jk_receipt r;
  memset(&r, 0, sizeof r);
  snprintf(r.receiver, sizeof r.receiver, "131016-nation");
  snprintf(r.sender, sizeof r.sender, "270008-pref");
  snprintf(r.source, sizeof r.source, "272108-city");
  r.highest_seq = 42;
  r.ledger_size = 7;
  snprintf(r.at, sizeof r.at, "2026-11-24T01:02:03.000000Z");
  return r;
}

static void test_attest_check(void **state) {
  fx *f = *state;
  jk_receipt r = receipt(), out;
  char *a = answer(f, &r, f->nation_pem, true);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, f->crl_pem, "272108-city", &out), JK_OK);
  assert_int_equal(out.highest_seq, 42);
  assert_string_equal(out.receiver, "131016-nation");
  /* about another municipality */
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, f->crl_pem, "272230-other", &out), JK_EPERM);
  assert_int_equal(out.highest_seq, 0);
  free(a);
  /* tampered after signing */
  r = receipt();
  jk_ledger_signer sg = {soft_sign, f};
  assert_int_equal(jk_receipt_sign(&r, &sg), JK_OK);
  r.highest_seq = 43;
  a = answer(f, &r, f->nation_pem, false);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, f->crl_pem, "272108-city", &out), JK_ECRYPTO);
  free(a);
  /* a municipality's certificate is not the nation's */
  r = receipt();
  a = answer(f, &r, f->city_pem, true);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, f->crl_pem, "272108-city", &out), JK_EPERM);
  free(a);
  /* the certificate names another node than the receipt's signer */
  r = receipt();
  snprintf(r.receiver, sizeof r.receiver, "131016-other");
  a = answer(f, &r, f->nation_pem, true);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, f->crl_pem, "272108-city", &out), JK_EPERM);
  free(a);
  /* from another CA */
  char other[700];
  snprintf(other, sizeof other, "%s/other", f->dir);
  assert_int_equal(jk_pki_ca_init(other, "another network"), JK_OK);
  char *ca2 = tu_slurp(other, "ca.crt");
  r = receipt();
  a = answer(f, &r, f->nation_pem, true);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), ca2, NULL, "272108-city", &out), JK_EPERM);
  free(a);
  free(ca2);
  /* revoked */
  assert_int_equal(jk_pki_revoke(f->ca, "131016-nation", "test", NULL), JK_OK);
  char *crl2 = tu_slurp(f->ca, "ca.crl");
  r = receipt();
  a = answer(f, &r, f->nation_pem, true);
  assert_int_equal(jk_sync_attest_check(a, strlen(a), f->ca_pem, crl2, "272108-city", &out), JK_EPERM);
  free(a);
  free(crl2);
  /* malformed answers */
  const char *bad[] = {"", "{}", "[]", "{\"receipt\":\"!!\",\"cert\":\"x\"}", "{\"receipt\":\"AAAA\",\"cert\":\"x\"}",
                       "{\"receipt\":1,\"cert\":2}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(jk_sync_attest_check(bad[i], strlen(bad[i]), f->ca_pem, f->crl_pem, "272108-city", &out), JK_EINVAL);
}

static void test_attest_parse(void **state) {
  (void)state;
  char src[JK_NODE_ID_MAX + 1];
  const char *ok = "{\"source\":\"272108-41a869be43045374\"}";
  assert_int_equal(jk_sync_attest_parse((const uint8_t *)ok, strlen(ok), src), JK_OK);
  assert_string_equal(src, "272108-41a869be43045374");
  const char *bad[] = {"", "{}", "{\"source\":\"\"}", "{\"source\":\"a b\"}", "{\"source\":1}",
                       "{\"source\":\"x\",\"y\":1}", "{\"source\":\"x\",\"source\":\"y\"}", "[\"x\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(jk_sync_attest_parse((const uint8_t *)bad[i], strlen(bad[i]), src), JK_EINVAL);
    assert_string_equal(src, "");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_attest_check, setup, teardown),
      cmocka_unit_test(test_attest_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
