/*
 * test_pki.c — the network CA, node certificates, revocation and verification (src/net/pki.c).
 * Node keys here are libsodium Ed25519 keys standing in for the keys on the nodes' tokens.
 */
#include "testutil.h"

#include "jukinet/pki.h"

#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#define NODE_ID "272108-0123456789abcdef"

typedef struct fx {
  char *dir;
  char ca[600], ca2[600];
  uint8_t pk[32], sk[64];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_int_equal(sodium_init() >= 0, 1);
  jk_lang_set(JK_LANG_EN);
  f->dir = tu_tmpdir();
  snprintf(f->ca, sizeof f->ca, "%s/ca", f->dir);
  snprintf(f->ca2, sizeof f->ca2, "%s/other-ca", f->dir);
  crypto_sign_keypair(f->pk, f->sk);
  assert_int_equal(jk_pki_ca_init(f->ca, "jukinet test network"), JK_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  tu_rmdir(f->dir);
  free(f);
  return 0;
}

static void test_ca_files(void **state) {
  fx *f = *state;
  char path[700];
  struct stat st;
  snprintf(path, sizeof path, "%s/ca.key", f->ca);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *crt = tu_slurp(f->ca, "ca.crt");
  jk_pki_info info;
  assert_int_equal(jk_pki_info_read(crt, &info), JK_OK);
  assert_true(info.is_ca);
  assert_true(info.is_ed25519);
  assert_string_equal(info.identity, "jukinet test network");
  assert_true(info.not_after - info.not_before > 3649LL * 86400);
  free(crt);
  char *key = tu_slurp(f->ca, "ca.key");
  assert_non_null(strstr(key, "BEGIN PRIVATE KEY"));
  free(key);
  char *crl = tu_slurp(f->ca, "ca.crl");
  assert_non_null(strstr(crl, "BEGIN X509 CRL"));
  free(crl);
  /* never over an existing CA */
  assert_int_equal(jk_pki_ca_init(f->ca, "again"), JK_EEXISTS);
}

static void test_issue_verify(void **state) {
  fx *f = *state;
  char *pem = NULL, id[JK_PKI_ID_MAX];
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt"), *crl = tu_slurp(f->ca, "ca.crl");
  assert_int_equal(jk_pki_verify(ca, crl, pem, 0, id), JK_OK);
  assert_string_equal(id, NODE_ID);
  assert_int_equal(jk_pki_verify(ca, NULL, pem, 0, NULL), JK_OK);
  jk_pki_info info;
  assert_int_equal(jk_pki_info_read(pem, &info), JK_OK);
  assert_false(info.is_ca);
  assert_true(info.is_ed25519);
  assert_memory_equal(info.ed25519, f->pk, 32);
  assert_string_equal(info.serial, "1");
  assert_string_equal(info.role, "municipal");
  assert_string_equal(info.identity, NODE_ID);
  assert_non_null(strstr(info.subject, "O=jukinet"));
  assert_int_equal(strlen(info.key_fingerprint), 64);
  /* serials count up */
  char *pem2 = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 30, &pem2), JK_OK);
  assert_int_equal(jk_pki_info_read(pem2, &info), JK_OK);
  assert_string_equal(info.serial, "2");
  /* a municipality keeps its resident-code slice; the next one gets the next slice; a
   * prefecture has none */
  assert_int_equal(info.code_slice, 0);
  char *pem3 = NULL, *pem4 = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "272230-00000000000000bb", "272230", "municipal", 30, &pem3), JK_OK);
  assert_int_equal(jk_pki_info_read(pem3, &info), JK_OK);
  assert_int_equal(info.code_slice, 1);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "270008-00000000000000cc", "270008", "prefectural", 30, &pem4), JK_OK);
  assert_int_equal(jk_pki_info_read(pem4, &info), JK_OK);
  assert_int_equal(info.code_slice, -1);
  char *slices = tu_slurp(f->ca, "slices.tsv");
  assert_string_equal(slices, "272108\t0\n272230\t1\n");
  free(slices);
  jk_free(pem3);
  jk_free(pem4);
  /* a damaged slices.tsv is refused, not guessed at */
  char path[4200];
  snprintf(path, sizeof path, "%.4000s/slices.tsv", f->ca);
  FILE *fp = fopen(path, "a");
  fputs("272116\t1\n", fp); /* slice 1 twice */
  fclose(fp);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "272116-00000000000000dd", "272116", "municipal", 30, &pem3), JK_ECORRUPT);
  /* the CA certificate itself is not a node certificate */
  assert_int_equal(jk_pki_verify(ca, NULL, ca, 0, id), JK_EPERM);
  assert_string_equal(id, "");
  jk_free(pem);
  jk_free(pem2);
  free(ca);
  free(crl);
}

static void test_revoke(void **state) {
  fx *f = *state;
  char *a = NULL, *b = NULL;
  uint8_t pk2[32], sk2[64];
  crypto_sign_keypair(pk2, sk2);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &a), JK_OK);
  assert_int_equal(jk_pki_issue(f->ca, pk2, "130001-00000000000000aa", "130001", "prefectural", 365, &b), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt"), *old_crl = tu_slurp(f->ca, "ca.crl");
  size_t count = 0;
  assert_int_equal(jk_pki_revoke(f->ca, NODE_ID, "key compromise", &count), JK_OK);
  assert_int_equal(count, 1);
  char *crl = tu_slurp(f->ca, "ca.crl");
  assert_int_equal(jk_pki_verify(ca, crl, a, 0, NULL), JK_EPERM);
  assert_error_contains("revoked");
  assert_int_equal(jk_pki_verify(ca, crl, b, 0, NULL), JK_OK);
  /* the old CRL does not know yet */
  assert_int_equal(jk_pki_verify(ca, old_crl, a, 0, NULL), JK_OK);
  /* revoking again: nothing left */
  assert_int_equal(jk_pki_revoke(f->ca, NODE_ID, NULL, NULL), JK_ENOTFOUND);
  assert_int_equal(jk_pki_revoke(f->ca, "999", NULL, NULL), JK_ENOTFOUND);
  assert_int_equal(jk_pki_revoke(f->ca, "2", "by serial", &count), JK_OK);
  free(crl);
  crl = tu_slurp(f->ca, "ca.crl");
  assert_int_equal(jk_pki_verify(ca, crl, b, 0, NULL), JK_EPERM);
  /* a CRL past its nextUpdate is refused */
  assert_int_equal(jk_pki_verify(ca, crl, b, (int64_t)time(NULL) + 8 * 86400, NULL), JK_EPERM);
  char *idx = tu_slurp(f->ca, "index.tsv");
  assert_non_null(strstr(idx, "key compromise"));
  free(idx);
  jk_free(a);
  jk_free(b);
  free(ca);
  free(crl);
  free(old_crl);
}

/* A national agency's certificate: a client only, no local government, never a node. */
static void test_agency(void **state) {
  fx *f = *state;
  char *a = NULL, *n = NULL, id[JK_PKI_ID_MAX];
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "mhlw-nenkin", NULL, JK_PKI_ROLE_AGENCY, 365, &a), JK_OK);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &n), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt"), *crl = tu_slurp(f->ca, "ca.crl");
  assert_int_equal(jk_pki_verify_as(ca, crl, a, 0, JK_PKI_AGENCY, id), JK_OK);
  assert_string_equal(id, "mhlw-nenkin");
  assert_int_equal(jk_pki_verify_as(ca, crl, a, 0, JK_PKI_NODE | JK_PKI_AGENCY, id), JK_OK);
  /* where nodes are expected, an agency is refused; where agencies are, a node */
  assert_int_equal(jk_pki_verify(ca, crl, a, 0, id), JK_EPERM);
  assert_error_contains("not a node certificate");
  assert_string_equal(id, "");
  assert_int_equal(jk_pki_verify_as(ca, crl, n, 0, JK_PKI_AGENCY, id), JK_EPERM);
  assert_error_contains("not an agency certificate");
  jk_pki_info info;
  assert_int_equal(jk_pki_info_read(a, &info), JK_OK);
  assert_string_equal(info.role, "agency");
  assert_int_equal(info.code_slice, -1);
  /* an agency names no local government; a node must */
  char *x = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "mofa", "131016", JK_PKI_ROLE_AGENCY, 365, &x), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "n1", NULL, "national", 365, &x), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "n1", "131016", "ministry", 365, &x), JK_EINVAL);
  assert_null(x);
  /* revoked like any other */
  assert_int_equal(jk_pki_revoke(f->ca, "mhlw-nenkin", "end of contract", NULL), JK_OK);
  free(crl);
  crl = tu_slurp(f->ca, "ca.crl");
  assert_int_equal(jk_pki_verify_as(ca, crl, a, 0, JK_PKI_AGENCY, id), JK_EPERM);
  assert_error_contains("revoked");
  jk_free(a);
  jk_free(n);
  free(ca);
  free(crl);
}

static void test_other_ca(void **state) {
  fx *f = *state;
  char *pem = NULL;
  assert_int_equal(jk_pki_ca_init(f->ca2, "jukinet test network"), JK_OK); /* same name, other key */
  assert_int_equal(jk_pki_issue(f->ca2, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt"), *crl = tu_slurp(f->ca, "ca.crl"), *crl2 = tu_slurp(f->ca2, "ca.crl");
  assert_int_equal(jk_pki_verify(ca, NULL, pem, 0, NULL), JK_EPERM);
  assert_error_contains("not signed by the network CA");
  /* a CRL of another CA is refused too */
  char *good = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &good), JK_OK);
  assert_int_equal(jk_pki_verify(ca, crl2, good, 0, NULL), JK_EPERM);
  assert_error_contains("CRL");
  jk_free(pem);
  jk_free(good);
  free(ca);
  free(crl);
  free(crl2);
}

static void test_expired(void **state) {
  fx *f = *state;
  char *pem = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 1, &pem), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt");
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(jk_pki_verify(ca, NULL, pem, now + 2 * 86400, NULL), JK_EPERM);
  assert_error_contains("expired");
  assert_int_equal(jk_pki_verify(ca, NULL, pem, now - 86400, NULL), JK_EPERM); /* before the CA, too */
  assert_int_equal(jk_pki_verify(ca, NULL, pem, now + 3600, NULL), JK_OK);
  jk_free(pem);
  free(ca);
}

static void test_tampered(void **state) {
  fx *f = *state;
  char *pem = NULL;
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_OK);
  char *ca = tu_slurp(f->ca, "ca.crt");
  /* a character of the base64 near the end: inside the signature */
  char *end = strstr(pem, "\n-----END");
  assert_non_null(end);
  char *p = end - 8;
  *p = *p == 'A' ? 'B' : 'A';
  assert_int_not_equal(jk_pki_verify(ca, NULL, pem, 0, NULL), JK_OK);
  /* a character in the middle: the signed part (the key or a name) */
  *p = p[0] == 'A' ? 'B' : 'A';
  char *mid = pem + strlen(pem) / 2;
  if (*mid == '\n') mid++;
  *mid = *mid == 'A' ? 'B' : 'A';
  assert_int_not_equal(jk_pki_verify(ca, NULL, pem, 0, NULL), JK_OK);
  jk_free(pem);
  free(ca);
}

static void test_bad_inputs(void **state) {
  fx *f = *state;
  char *ca = tu_slurp(f->ca, "ca.crt"), *pem = NULL, id[JK_PKI_ID_MAX];
  assert_int_equal(jk_pki_verify(ca, NULL, "", 0, id), JK_EINVAL);
  assert_int_equal(jk_pki_verify(ca, NULL, "-----BEGIN CERTIFICATE-----\nzzzz\n-----END CERTIFICATE-----\n", 0, id),
                   JK_EINVAL);
  assert_int_equal(jk_pki_verify("garbage", NULL, ca, 0, id), JK_EINVAL);
  assert_int_equal(jk_pki_verify(NULL, NULL, ca, 0, id), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_OK);
  assert_int_equal(jk_pki_verify(ca, "not a crl", pem, 0, id), JK_EINVAL);
  jk_free(pem);
  jk_pki_info info;
  assert_int_equal(jk_pki_info_read("hello", &info), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, "has space", "272108", "municipal", 365, &pem), JK_EINVAL);
  assert_null(pem);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "27210", "municipal", 365, &pem), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "village", 365, &pem), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 0, &pem), JK_EINVAL);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 99999, &pem), JK_EINVAL);
  char nodir[700];
  snprintf(nodir, sizeof nodir, "%s/none", f->dir);
  assert_int_equal(jk_pki_issue(nodir, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_ENOTFOUND);
  assert_int_equal(jk_pki_revoke(f->ca, "", NULL, NULL), JK_EINVAL);
  assert_int_equal(jk_pki_ca_init(NULL, "x"), JK_EINVAL);
  /* a damaged index is reported, never guessed at */
  char path[700];
  snprintf(path, sizeof path, "%s/index.tsv", f->ca);
  FILE *fp = fopen(path, "a");
  fputs("x\ty\n", fp);
  fclose(fp);
  assert_int_equal(jk_pki_issue(f->ca, f->pk, NODE_ID, "272108", "municipal", 365, &pem), JK_ECORRUPT);
  free(ca);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ca_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_issue_verify, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
      cmocka_unit_test_setup_teardown(test_agency, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_ca, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
