/*
 * tls.c — a node's TLS credentials (include/jukinet/https.h): GnuTLS and its PKCS#11 layer set
 * up once per process, the token key, the node certificate, the network CA and the CRL; and the
 * peer check the HTTPS server and client share.
 *
 * Invariants
 * - GnuTLS's PKCS#11 layer runs in manual mode (pthread_once, before any other PKCS#11 call):
 *   only the modules named by jk_tls_config are loaded, each once per process.
 * - PINs live in libsodium guarded memory (no access except while one is copied into GnuTLS's
 *   buffer, under the registry lock), one entry per token label, shared by the jk_tls objects
 *   of that token and wiped when the last one closes. The PIN callback gives a PIN for the
 *   first attempt of a login only: GnuTLS asking again means the token refused it; the entry is
 *   then marked bad and never offered again, so a wrong PIN costs the token at most one failed
 *   login in this process (a retry loop would lock a real card).
 * - A PIN is checked once, in jk_tls_open: the key import logs in to the token. When this
 *   process is already logged in to the token through an earlier jk_tls, the token does not
 *   ask; the PIN is then compared with the one that earlier open verified.
 * - The CRL is swapped under the write lock; every peer check holds the read lock.
 * - TLS sessions sign through a wrapper key: when a signature on the token fails (the token was
 *   logged out — another PKCS#11 user of this process, jk_token_login or jk_token_close, logs
 *   out every session, and the token drops our private key handle with it), the key is imported
 *   again by its URI (the PIN callback logs in again) and the signature retried once; the
 *   failure is logged.
 * - No PIN reaches a message or a log; GnuTLS codes become jk_err here (the detail names the
 *   call) and never leak.
 */
#include "net/https_int.h"

#include "jukinet/file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_MAX (1u << 16)
#define CRL_MAX (16u << 20)
#define LABEL_MAX 128
#define URN_LGCODE "urn:jukinet:lgcode:"

/* ---- errors and logs ---- */

static jk_err gt(int rc, const char *what) {
  return jk_error_set(rc == GNUTLS_E_MEMORY_ERROR ? JK_ENOMEM : JK_ECRYPTO, "%s failed: %s", what, gnutls_strerror(rc));
}

void jk__tls_warn(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "jukinetd[warn]: %s\n", line); /* one write: lines of several threads do not mix */
}

/* ---- the PIN registry and callback ---- */

struct jk__pin_entry {
  jk__pin_entry *next;
  char label[LABEL_MAX]; /* the token label, as GnuTLS reports it to the PIN callback */
  unsigned char *pin;    /* sodium_malloc'ed, no access except under reg_lock */
  size_t len;
  unsigned refs;
  bool verified; /* a jk_tls_open logged in with it */
  bool bad;      /* the token refused it: never offered again */
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER; /* one jk_tls_open at a time */
static jk__pin_entry *registry;

static jk__pin_entry *find_entry(const char *label) {
  for (jk__pin_entry *e = registry; e; e = e->next)
    if (label && strcmp(e->label, label) == 0) return e;
  return NULL;
}

static int pin_cb(void *userdata, int attempt, const char *token_url, const char *token_label, unsigned int flags,
                  char *pin, size_t pin_max) {
  (void)userdata;
  (void)token_url;
  int rc = -1;
  pthread_mutex_lock(&reg_lock);
  jk__pin_entry *e = find_entry(token_label);
  if (e && !e->bad && !(flags & GNUTLS_PIN_SO)) {
    if (attempt > 0 || (flags & GNUTLS_PIN_WRONG)) {
      e->bad = true; /* the token refused it: never again */
    } else if (e->len < pin_max) {
      sodium_mprotect_readonly(e->pin);
      memcpy(pin, e->pin, e->len);
      pin[e->len] = 0;
      sodium_mprotect_noaccess(e->pin);
      rc = 0;
    }
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

/* ---- process-wide set-up ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_rc;
static const char *once_what;
static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static char **modules; /* real paths of the modules added to GnuTLS */
static size_t n_modules;

static void global_init(void) {
  if (sodium_init() < 0) {
    once_rc = GNUTLS_E_INTERNAL_ERROR;
    once_what = "sodium_init";
    return;
  }
  if ((once_rc = gnutls_global_init()) < 0) {
    once_what = "gnutls_global_init";
    return;
  }
  if ((once_rc = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL)) < 0) {
    once_what = "gnutls_pkcs11_init";
    return;
  }
  gnutls_pkcs11_set_pin_function(pin_cb, NULL);
}

jk_err jk__tls_global_init(void) {
  pthread_once(&once, global_init);
  return once_rc < 0 ? gt(once_rc, once_what) : JK_OK;
}

static jk_err add_module(const char *module) {
  char real[4096];
  if (!realpath(module, real))
    return jk_error_set(errno == ENOENT ? JK_ENOTFOUND : JK_EIO, "PKCS#11 module %s not found", module);
  jk_err e = JK_OK;
  pthread_mutex_lock(&module_lock);
  for (size_t i = 0; i < n_modules; i++)
    if (strcmp(modules[i], real) == 0) goto out;
  char **nm = jk_realloc(modules, (n_modules + 1) * sizeof *nm);
  if (!nm) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  modules = nm;
  if (!(modules[n_modules] = jk_strdup(real))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  int rc = gnutls_pkcs11_add_provider(real, NULL);
  if (rc < 0) {
    jk_free(modules[n_modules]);
    e = jk_error_set(JK_EUNSUPPORTED, "cannot load the PKCS#11 module %s: %s", module, gnutls_strerror(rc));
    goto out;
  }
  n_modules++;
out:
  pthread_mutex_unlock(&module_lock);
  return e;
}

/* ---- files and URIs ---- */

static jk_err read_text(const char *path, size_t max, char **out) { return jk_file_read(path, max, out, NULL); }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The token label of a PKCS#11 URI (RFC 7512 "token=" path attribute, percent-decoded). */
static bool uri_token_label(const char *uri, char out[LABEL_MAX]) {
  const char *p = uri + strlen("pkcs11:");
  while (*p && *p != '?') {
    size_t n = strcspn(p, ";?");
    if (n > 6 && strncmp(p, "token=", 6) == 0) {
      size_t k = 0;
      for (size_t i = 6; i < n; i++) {
        char c = p[i];
        if (c == '%') {
          int hi = i + 2 < n ? hexval(p[i + 1]) : -1, lo = i + 2 < n ? hexval(p[i + 2]) : -1;
          if (hi < 0 || lo < 0) return false;
          c = (char)(hi * 16 + lo);
          i += 2;
        }
        if (k + 1 >= LABEL_MAX || c == 0) return false;
        out[k++] = c;
      }
      out[k] = 0;
      return k > 0;
    }
    p += n;
    if (*p == ';') p++;
  }
  return false;
}

/* ---- the PIN registry, from jk_tls_open / jk_tls_close (open_lock held) ---- */

static jk_err pin_register(const char *label, const char *pin, size_t len, jk__pin_entry **out) {
  jk_err e = JK_OK;
  pthread_mutex_lock(&reg_lock);
  jk__pin_entry *en = find_entry(label);
  if (en) {
    sodium_mprotect_readonly(en->pin);
    bool same = en->len == len && sodium_memcmp(en->pin, pin, len) == 0;
    sodium_mprotect_noaccess(en->pin);
    if (!same || en->bad)
      e = jk_error_set(JK_EPERM, "wrong token PIN for token '%s'", label);
    else
      en->refs++;
    goto out;
  }
  if (!(en = jk_calloc(1, sizeof *en)) || !(en->pin = sodium_malloc(len ? len : 1))) {
    jk_free(en);
    en = NULL;
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  snprintf(en->label, sizeof en->label, "%s", label);
  memcpy(en->pin, pin, len);
  sodium_mprotect_noaccess(en->pin);
  en->len = len;
  en->refs = 1;
  en->next = registry;
  registry = en;
out:
  pthread_mutex_unlock(&reg_lock);
  *out = e ? NULL : en;
  return e;
}

static void pin_release(jk__pin_entry *en) {
  if (!en) return;
  pthread_mutex_lock(&reg_lock);
  if (--en->refs == 0) {
    for (jk__pin_entry **pp = &registry; *pp; pp = &(*pp)->next)
      if (*pp == en) {
        *pp = en->next;
        break;
      }
    sodium_free(en->pin); /* wipes it */
    jk_free(en);
  }
  pthread_mutex_unlock(&reg_lock);
}

static bool pin_refused(jk__pin_entry *en) {
  pthread_mutex_lock(&reg_lock);
  bool bad = en->bad;
  pthread_mutex_unlock(&reg_lock);
  return bad;
}

/* ---- jk_tls ---- */

/* The CRL must at least parse; its signature and freshness are checked with every peer. */
static jk_err check_crl(const char *crl_pem, const char *path) {
  gnutls_x509_crl_t crl = NULL;
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)crl_pem, (unsigned)strlen(crl_pem)};
  jk_err e = JK_OK;
  int rc = gnutls_x509_crl_init(&crl);
  if (rc < 0) return gt(rc, "gnutls_x509_crl_init");
  if (!*crl_pem || gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) < 0)
    e = jk_error_set(JK_EINVAL, "%s is not a PEM CRL", path);
  gnutls_x509_crl_deinit(crl);
  return e;
}

/* ---- the wrapper key ---- */

static int import_inner(jk_tls *t, gnutls_privkey_t *out) {
  int rc = gnutls_privkey_init(out);
  if (rc < 0) return rc;
  if ((rc = gnutls_privkey_import_url(*out, t->key_uri, 0)) < 0) {
    gnutls_privkey_deinit(*out);
    *out = NULL;
  }
  return rc;
}

static int wrap_sign(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata, unsigned flags,
                     const gnutls_datum_t *data, gnutls_datum_t *sig) {
  jk_tls *t = userdata;
  (void)key;
  pthread_rwlock_rdlock(&t->key_lock);
  int rc = gnutls_privkey_sign_data2(t->inner, algo, flags, data, sig);
  pthread_rwlock_unlock(&t->key_lock);
  if (rc >= 0) return rc;
  /* the token may have dropped our handle (logged out): import the key again, retry once */
  gnutls_privkey_t fresh = NULL, old = NULL;
  int rc2 = import_inner(t, &fresh);
  if (rc2 >= 0) {
    pthread_rwlock_wrlock(&t->key_lock);
    old = t->inner;
    t->inner = fresh;
    pthread_rwlock_unlock(&t->key_lock);
    gnutls_privkey_deinit(old);
    pthread_rwlock_rdlock(&t->key_lock);
    rc2 = gnutls_privkey_sign_data2(t->inner, algo, flags, data, sig);
    pthread_rwlock_unlock(&t->key_lock);
  }
  jk__tls_warn("signing with the token key %s failed (%s); imported again: %s", t->key_uri, gnutls_strerror(rc),
               rc2 >= 0 ? "signed" : gnutls_strerror(rc2));
  return rc2 >= 0 ? rc2 : rc;
}

static int wrap_info(gnutls_privkey_t key, unsigned int flags, void *userdata) {
  (void)key;
  (void)userdata;
  if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO) return GNUTLS_PK_EDDSA_ED25519;
  if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS) return 256;
  if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) return GNUTLS_FLAGS_TO_SIGN_ALGO(flags) == GNUTLS_SIGN_EDDSA_ED25519;
  if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO) return GNUTLS_SIGN_EDDSA_ED25519;
  return -1;
}

static jk_err key_self_test(jk_tls *t) {
  static const char probe[] = "jukinet TLS key self-test";
  gnutls_datum_t data = {(unsigned char *)(uintptr_t)probe, sizeof probe - 1}, sig = {NULL, 0};
  int rc = gnutls_privkey_sign_data2(t->inner, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
  if (rc < 0) return rc == GNUTLS_E_PKCS11_PIN_ERROR ? JK_EPERM : gt(rc, "signing with the token key");
  rc = gnutls_pubkey_verify_data2(t->pcert.pubkey, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &sig);
  gnutls_free(sig.data);
  if (rc < 0)
    return jk_error_set(JK_EINVAL, "the token key %s does not match the certificate %s", t->key_uri, t->cert_file);
  return JK_OK;
}

jk_err jk_tls_open(jk_tls **out, const jk_tls_config *cfg) {
  if (out) *out = NULL;
  if (!out || !cfg || !cfg->module || !cfg->key_uri || !cfg->pin || !cfg->cert_file || !cfg->ca_file)
    return jk_error_set(JK_EINVAL, "missing argument");
  char label[LABEL_MAX];
  if (strncmp(cfg->key_uri, "pkcs11:", 7) != 0 || !uri_token_label(cfg->key_uri, label))
    return jk_error_set(JK_EINVAL, "the key %s is not a PKCS#11 URI naming a token (pkcs11:token=…;object=…)",
                        cfg->key_uri);
  jk_err e = jk__tls_global_init();
  if (e || (e = add_module(cfg->module))) return e;
  jk_tls *t = jk_calloc(1, sizeof *t);
  if (!t) return jk_error_set(JK_ENOMEM, NULL);
  pthread_rwlock_init(&t->crl_lock, NULL);
  pthread_rwlock_init(&t->key_lock, NULL);
  char *cert_pem = NULL;
  int rc;
  pthread_mutex_lock(&open_lock);
  if (!(t->cert_file = jk_strdup(cfg->cert_file)) || !(t->key_uri = jk_strdup(cfg->key_uri)) ||
      !(t->ca_file = jk_strdup(cfg->ca_file)) || (cfg->crl_file && !(t->crl_file = jk_strdup(cfg->crl_file)))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  if ((e = read_text(cfg->cert_file, CERT_MAX, &cert_pem)) || (e = read_text(cfg->ca_file, CERT_MAX, &t->ca_pem)))
    goto out;
  if (cfg->crl_file &&
      ((e = read_text(cfg->crl_file, CRL_MAX, &t->crl_pem)) || (e = check_crl(t->crl_pem, cfg->crl_file))))
    goto out;
  gnutls_datum_t d = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
  if ((rc = gnutls_pcert_import_x509_raw(&t->pcert, &d, GNUTLS_X509_FMT_PEM, 0)) < 0) {
    e = jk_error_set(JK_EINVAL, "%s is not a PEM certificate", cfg->cert_file);
    goto out;
  }
  t->pcert_set = true;
  if (gnutls_pubkey_get_pk_algorithm(t->pcert.pubkey, NULL) != GNUTLS_PK_EDDSA_ED25519) {
    e = jk_error_set(JK_EINVAL, "the certificate %s is not for an Ed25519 key", cfg->cert_file);
    goto out;
  }
  /* the PIN: registered for the callback, then checked by the key import's login */
  if ((e = pin_register(label, cfg->pin, cfg->pin_len, &t->pin))) goto out;
  rc = import_inner(t, &t->inner);
  if (rc == GNUTLS_E_PKCS11_PIN_ERROR || (rc < 0 && pin_refused(t->pin))) {
    e = jk_error_set(JK_EPERM, "wrong token PIN for token '%s'", label);
    goto out;
  }
  if (rc == GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE || rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
      rc == GNUTLS_E_PKCS11_TOKEN_ERROR || rc == GNUTLS_E_PKCS11_SLOT_ERROR) {
    e = jk_error_set(JK_ENOTFOUND, "no private key %s on the tokens of %s", cfg->key_uri, cfg->module);
    goto out;
  }
  if (rc < 0) {
    e = gt(rc, "gnutls_privkey_import_url");
    goto out;
  }
  if (gnutls_privkey_get_pk_algorithm(t->inner, NULL) != GNUTLS_PK_EDDSA_ED25519) {
    e = jk_error_set(JK_EINVAL, "the token key %s is not an Ed25519 key", cfg->key_uri);
    goto out;
  }
  if ((rc = gnutls_privkey_init(&t->key)) < 0 ||
      (rc = gnutls_privkey_import_ext4(t->key, t, wrap_sign, NULL, NULL, NULL, wrap_info, 0)) < 0) {
    e = gt(rc, "gnutls_privkey_import_ext4");
    goto out;
  }
  if ((e = key_self_test(t))) {
    if (e == JK_EPERM) e = jk_error_set(JK_EPERM, "wrong token PIN for token '%s'", label);
    goto out;
  }
  pthread_mutex_lock(&reg_lock);
  t->pin->verified = true;
  pthread_mutex_unlock(&reg_lock);
out:
  pthread_mutex_unlock(&open_lock);
  jk_free(cert_pem);
  if (e) {
    jk_tls_close(t);
    return e;
  }
  *out = t;
  return JK_OK;
}

jk_err jk_tls_reload_crl(jk_tls *t) {
  if (!t) return jk_error_set(JK_EINVAL, "missing argument");
  if (!t->crl_file) return jk_error_set(JK_EINVAL, "no CRL file is configured");
  char *pem = NULL;
  jk_err e = read_text(t->crl_file, CRL_MAX, &pem);
  if (e || (e = check_crl(pem, t->crl_file))) {
    jk_free(pem);
    return e;
  }
  pthread_rwlock_wrlock(&t->crl_lock);
  char *old = t->crl_pem;
  t->crl_pem = pem;
  atomic_fetch_add(&t->crl_gen, 1);
  pthread_rwlock_unlock(&t->crl_lock);
  jk_free(old);
  return JK_OK;
}

void jk_tls_close(jk_tls *t) {
  if (!t) return;
  if (t->key) gnutls_privkey_deinit(t->key);
  if (t->inner) gnutls_privkey_deinit(t->inner);
  if (t->pcert_set) gnutls_pcert_deinit(&t->pcert);
  pthread_mutex_lock(&open_lock);
  pin_release(t->pin);
  pthread_mutex_unlock(&open_lock);
  pthread_rwlock_destroy(&t->crl_lock);
  pthread_rwlock_destroy(&t->key_lock);
  jk_free(t->cert_file);
  jk_free(t->key_uri);
  jk_free(t->ca_file);
  jk_free(t->crl_file);
  jk_free(t->ca_pem);
  jk_free(t->crl_pem);
  jk_free(t);
}

/* ---- the peer check ---- */

static void dn_field(gnutls_x509_crt_t crt, const char *oid, char *out, size_t cap) {
  size_t n = cap;
  if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, out, &n) < 0) out[0] = 0;
}

static bool lgcode_of(gnutls_x509_crt_t crt, char out[8]) {
  for (unsigned i = 0; i < 32; i++) {
    char buf[256];
    size_t n = sizeof buf - 1;
    int rc = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &n, NULL);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return false;
    if (rc != GNUTLS_SAN_URI || n >= sizeof buf) continue;
    buf[n] = 0;
    size_t pl = strlen(URN_LGCODE);
    if (strncmp(buf, URN_LGCODE, pl) != 0 || strlen(buf + pl) != 6 || strspn(buf + pl, "0123456789") != 6) continue;
    memcpy(out, buf + pl, 7);
    return true;
  }
  return false;
}

static jk_err facts(const gnutls_datum_t *der, jk_tls_peer *out) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t x = {NULL, 0};
  gnutls_ecc_curve_t curve;
  jk_err e = JK_OK;
  int rc;
  if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER)) < 0 ||
      (rc = gnutls_pubkey_init(&pub)) < 0 || (rc = gnutls_pubkey_import_x509(pub, crt, 0)) < 0) {
    e = gt(rc, "reading the peer's certificate");
    goto out;
  }
  dn_field(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, out->role, sizeof out->role);
  /* a node names its local government; an agency (verified as one by jk_pki_verify_as) none */
  bool agency = strcmp(out->role, JK_PKI_ROLE_AGENCY) == 0;
  if (!out->role[0] || (!agency && !lgcode_of(crt, out->lgcode))) {
    e = jk_error_set(JK_EPERM, "not a node certificate");
    goto out;
  }
  if (gnutls_pubkey_get_pk_algorithm(pub, NULL) != GNUTLS_PK_EDDSA_ED25519 ||
      gnutls_pubkey_export_ecc_raw(pub, &curve, &x, NULL) < 0 || curve != GNUTLS_ECC_CURVE_ED25519 || x.size != 32) {
    e = jk_error_set(JK_EPERM, "the peer's key is not Ed25519");
    goto out;
  }
  memcpy(out->pubkey, x.data, 32);
out:
  gnutls_free(x.data);
  gnutls_pubkey_deinit(pub);
  gnutls_x509_crt_deinit(crt);
  return e;
}

jk_err jk__tls_check_peer(jk_tls *t, gnutls_session_t s, unsigned kinds, jk_tls_peer *out) {
  memset(out, 0, sizeof *out);
  unsigned n = 0;
  const gnutls_datum_t *peers = NULL;
  if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3) return jk_error_set(JK_EPERM, "the connection is not TLS 1.3");
  if (gnutls_certificate_type_get(s) == GNUTLS_CRT_X509) peers = gnutls_certificate_get_peers(s, &n);
  if (!peers || n == 0) return jk_error_set(JK_EPERM, "the peer presented no certificate");
  gnutls_datum_t pem = {NULL, 0};
  int rc = gnutls_pem_base64_encode2("CERTIFICATE", &peers[0], &pem);
  if (rc < 0) return gt(rc, "gnutls_pem_base64_encode2");
  char *cert_pem = jk_strndup((const char *)pem.data, pem.size);
  gnutls_free(pem.data);
  if (!cert_pem) return jk_error_set(JK_ENOMEM, NULL);
  char id[JK_PKI_ID_MAX];
  pthread_rwlock_rdlock(&t->crl_lock);
  jk_err e = jk_pki_verify_as(t->ca_pem, t->crl_pem, cert_pem, 0, kinds, id);
  pthread_rwlock_unlock(&t->crl_lock);
  if (e == JK_EINVAL) e = jk_error_set(JK_EPERM, "the peer's certificate cannot be read");
  if (!e) e = facts(&peers[0], out);
  if (e) {
    jk_free(cert_pem);
    memset(out, 0, sizeof *out);
    return e;
  }
  snprintf(out->node, sizeof out->node, "%s", id);
  out->cert_pem = cert_pem;
  return JK_OK;
}

void jk__tls_peer_clear(jk_tls_peer *p) {
  if (!p) return;
  jk_free(p->cert_pem);
  memset(p, 0, sizeof *p);
}

/* ---- a server connection's client (both server engines) ---- */

#define RECHECK_S 60

jk_err jk__peer_verdict(jk__peer_state *ps, jk_tls *t, gnutls_session_t s, unsigned kinds) {
  unsigned gen = atomic_load(&t->crl_gen);
  time_t now = time(NULL);
  if (ps->checked && ps->crl_gen == gen && now < ps->recheck_at) return ps->verdict;
  jk__tls_peer_clear(&ps->peer);
  jk_err e = s ? jk__tls_check_peer(t, s, kinds, &ps->peer) : jk_error_set(JK_EPERM, "not a TLS connection");
  ps->checked = true;
  ps->crl_gen = gen;
  ps->recheck_at = now + RECHECK_S;
  ps->verdict = e;
  if (e && !ps->logged) {
    ps->logged = true;
    jk__tls_warn("refused the TLS client %s: %s", ps->addr, jk_error_last());
  }
  return e;
}

void jk__peer_closed(jk__peer_state *ps) {
  if (ps->hello && !ps->logged && (!ps->served || !ps->shown))
    jk__tls_warn("refused the TLS client %s: %s", ps->addr,
                 !ps->served ? "the TLS handshake failed before the certificates (no TLS 1.3, or no common algorithm)"
                             : "the client left the TLS handshake before showing a certificate");
  ps->logged = true;
  jk__tls_peer_clear(&ps->peer);
}

void jk__peer_addr(jk__peer_state *ps, const struct sockaddr *sa) {
  snprintf(ps->addr, sizeof ps->addr, "?");
  if (!sa || sa->sa_family != AF_INET) return;
  const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
  char ip[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip))
    snprintf(ps->addr, sizeof ps->addr, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
}

int jk__https_error_body(char *out, size_t cap, const char *code, const char *msg) {
  int n = snprintf(out, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}
