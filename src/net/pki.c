/*
 * pki.c — the network CA, node certificates and the CRL with GnuTLS (include/jukinet/pki.h).
 *
 * Invariants
 * - GnuTLS return codes stop here: gt() turns each into a jk_err with the call named.
 * - The CA directory is changed under flock(lock); every file is replaced atomically
 *   (write a temporary file, fsync, rename), ca.key is created 0600 and never rewritten.
 * - index.tsv, serial and crlnumber are read back as untrusted input: every line is checked,
 *   a damaged file is JK_ECORRUPT, never guessed at.
 * - Verification does its own time checks (GnuTLS's are disabled) so that `now` is honoured,
 *   and checks revocation only with a CRL whose signature verified against the same CA.
 * - The CRL carries no per-entry reason code (GnuTLS 3.7 cannot set one); the reason is kept in
 *   index.tsv.
 */
#include "jukinet/file.h"
#include "jukinet/pki.h"
#include "jukinet/rescode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CA_DAYS 3650
#define CRL_DAYS 7
#define SKEW 300
#define DAY 86400
#define INDEX_MAX (16u << 20)
#define URN_NODE "urn:jukinet:node:"
#define URN_LGCODE "urn:jukinet:lgcode:"
#define URN_CODESLICE "urn:jukinet:codeslice:"
#define URN_AGENCY "urn:jukinet:agency:"

/* ---- errors ---- */

static jk_err gt(int rc, const char *what) {
  jk_err code = JK_ECRYPTO;
  switch (rc) {
  case GNUTLS_E_MEMORY_ERROR: code = JK_ENOMEM; break;
  case GNUTLS_E_BASE64_DECODING_ERROR:
  case GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR:
  case GNUTLS_E_ASN1_DER_ERROR:
  case GNUTLS_E_ASN1_TAG_ERROR:
  case GNUTLS_E_ASN1_DER_OVERFLOW:
  case GNUTLS_E_ASN1_VALUE_NOT_FOUND:
  case GNUTLS_E_ASN1_ELEMENT_NOT_FOUND:
  case GNUTLS_E_ASN1_TYPE_ANY_ERROR:
  case GNUTLS_E_ASN1_SYNTAX_ERROR:
  case GNUTLS_E_ASN1_GENERIC_ERROR:
  case GNUTLS_E_UNKNOWN_PK_ALGORITHM:
  case GNUTLS_E_CERTIFICATE_ERROR:
  case GNUTLS_E_PARSING_ERROR: code = JK_EINVAL; break;
  default: break;
  }
  return jk_error_set(code, "%s failed: %s", what, gnutls_strerror(rc));
}

/* ---- files ---- */

static jk_err path_of(char *out, size_t cap, const char *dir, const char *name) {
  if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) return jk_error_set(JK_ETOOLARGE, "path too long");
  return JK_OK;
}

static jk_err read_file(const char *dir, const char *name, size_t max, char **out, size_t *len_out) {
  char path[4096];
  jk_err e = path_of(path, sizeof path, dir, name);
  if (e) return e;
  e = jk_file_read(path, max, out, len_out);
  /* the CA's own files are never that large: one that is was tampered with */
  if (e == JK_ETOOLARGE) e = jk_error_set(JK_ECORRUPT, "%s is larger than %zu bytes", path, max);
  return e;
}

/* Replace dir/name atomically with data (mode 0644, or 0600 when secret). */
static jk_err write_file(const char *dir, const char *name, const void *data, size_t len, bool secret, bool excl) {
  char path[4096], tmp[4200];
  jk_err e = path_of(path, sizeof path, dir, name);
  if (e) return e;
  snprintf(tmp, sizeof tmp, "%s.%u.tmp", path, (unsigned)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, secret ? 0600 : 0644);
  if (fd < 0) return jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  const char *p = data;
  size_t left = len;
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
      break;
    }
    p += w;
    left -= (size_t)w;
  }
  if (!e && fsync(fd) != 0) e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  if (close(fd) != 0 && !e) e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  if (!e && excl) {
    if (link(tmp, path) != 0)
      e = jk_error_set(errno == EEXIST ? JK_EEXISTS : JK_EIO, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return e;
  }
  if (!e && rename(tmp, path) != 0) e = jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  if (e) unlink(tmp);
  return e;
}

static jk_err lock_ca(const char *dir, int *fd_out) {
  char path[4096];
  jk_err e = path_of(path, sizeof path, dir, "ca.crt");
  if (e) return e;
  if (access(path, F_OK) != 0) return jk_error_set(JK_ENOTFOUND, "%s is not a CA directory (no ca.crt)", dir);
  if ((e = path_of(path, sizeof path, dir, "lock"))) return e;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return jk_error_set(JK_EIO, "cannot open %s: %s", path, strerror(errno));
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      close(fd);
      return jk_error_set(JK_EIO, "cannot lock %s: %s", path, strerror(errno));
    }
  }
  *fd_out = fd;
  return JK_OK;
}

static void unlock_ca(int fd) {
  if (fd >= 0) close(fd); /* releases the flock */
}

/* A decimal counter file: one number, 1 to 2^53, and a newline. */
static jk_err read_counter(const char *dir, const char *name, uint64_t *out) {
  char *s = NULL;
  jk_err e = read_file(dir, name, 64, &s, NULL);
  if (e) return e == JK_ENOTFOUND ? jk_error_set(JK_ECORRUPT, "the CA directory %s has no %s", dir, name) : e;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || errno || (*end && strcmp(end, "\n") != 0) || v < 1 || v > (1ull << 53))
    e = jk_error_set(JK_ECORRUPT, "%s/%s is damaged (not a number)", dir, name);
  else *out = v;
  jk_free(s);
  return e;
}

static jk_err write_counter(const char *dir, const char *name, uint64_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)v);
  return write_file(dir, name, buf, (size_t)n, false, false);
}

/* ---- index.tsv ---- */

typedef struct entry {
  uint64_t serial;
  char status; /* 'V' or 'R' */
  int64_t not_after, revoked_at;
  char node_id[JK_PKI_ID_MAX];
  char reason[208];
} entry;

typedef struct index_t {
  entry *v;
  size_t n, cap;
} index_t;

static bool printable_id(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n >= JK_PKI_ID_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~') return false;
  return true;
}

static jk_err index_push(index_t *ix, const entry *en) {
  if (ix->n == ix->cap) {
    size_t nc = ix->cap ? 2 * ix->cap : 16;
    entry *nv = jk_realloc(ix->v, nc * sizeof *nv);
    if (!nv) return jk_error_set(JK_ENOMEM, NULL);
    ix->v = nv;
    ix->cap = nc;
  }
  ix->v[ix->n++] = *en;
  return JK_OK;
}

static bool parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < 0) return false;
  *out = v;
  return true;
}

static jk_err index_read(const char *dir, index_t *ix) {
  char *data = NULL;
  jk_err e = read_file(dir, "index.tsv", INDEX_MAX, &data, NULL);
  if (e) return e == JK_ENOTFOUND ? jk_error_set(JK_ECORRUPT, "the CA directory %s has no %s", dir, "index.tsv") : e;
  size_t lineno = 0;
  char *line = data;
  while (*line) {
    char *nl = strchr(line, '\n');
    if (!nl) {
      e = jk_error_set(JK_ECORRUPT, "%s/index.tsv: line %zu is not terminated", dir, lineno + 1);
      break;
    }
    *nl = 0;
    lineno++;
    if (line[0] != '#') {
      char *f[6];
      size_t nf = 0;
      char *p = line;
      f[nf++] = p;
      while ((p = strchr(p, '\t')) && nf < 6) {
        *p++ = 0;
        f[nf++] = p;
      }
      entry en;
      memset(&en, 0, sizeof en);
      int64_t serial;
      if (nf != 6 || p || !parse_i64(f[0], &serial) || serial < 1 || strlen(f[1]) != 1 ||
          (f[1][0] != 'V' && f[1][0] != 'R') || !parse_i64(f[2], &en.not_after) || !parse_i64(f[3], &en.revoked_at) ||
          !printable_id(f[4]) || strlen(f[5]) >= sizeof en.reason) {
        e = jk_error_set(JK_ECORRUPT, "%s/index.tsv: line %zu is damaged", dir, lineno);
        break;
      }
      en.serial = (uint64_t)serial;
      en.status = f[1][0];
      snprintf(en.node_id, sizeof en.node_id, "%s", f[4]);
      snprintf(en.reason, sizeof en.reason, "%s", f[5]);
      if ((e = index_push(ix, &en))) break;
    }
    line = nl + 1;
  }
  jk_free(data);
  return e;
}

static jk_err index_write(const char *dir, const index_t *ix) {
  size_t cap = 128 + ix->n * (sizeof(entry) + 80), len = 0;
  char *buf = jk_malloc(cap);
  if (!buf) return jk_error_set(JK_ENOMEM, NULL);
  len += (size_t)snprintf(buf, cap, "# serial\tstatus\tnot_after\trevoked_at\tnode_id\treason\n");
  for (size_t i = 0; i < ix->n; i++) {
    const entry *en = &ix->v[i];
    len += (size_t)snprintf(buf + len, cap - len, "%llu\t%c\t%lld\t%lld\t%s\t%s\n", (unsigned long long)en->serial,
                            en->status, (long long)en->not_after, (long long)en->revoked_at, en->node_id, en->reason);
  }
  jk_err e = write_file(dir, "index.tsv", buf, len, false, false);
  jk_free(buf);
  return e;
}

/* ---- GnuTLS helpers ---- */

static gnutls_datum_t dat(const void *p, size_t n) {
  gnutls_datum_t d = {(unsigned char *)(uintptr_t)p, (unsigned)n};
  return d;
}

static void serial_bytes(uint64_t v, unsigned char out[9], size_t *len) {
  unsigned char be[8];
  for (int i = 7; i >= 0; i--, v >>= 8) be[i] = (unsigned char)(v & 0xff);
  size_t k = 0;
  while (k < 7 && be[k] == 0) k++;
  size_t n = 0;
  if (be[k] & 0x80) out[n++] = 0; /* DER INTEGER stays positive */
  memcpy(out + n, be + k, 8 - k);
  *len = n + 8 - k;
}

static jk_err load_ca(const char *dir, gnutls_x509_crt_t *crt, gnutls_privkey_t *key) {
  char *pem = NULL;
  size_t len;
  int rc;
  jk_err e = read_file(dir, "ca.crt", 1 << 16, &pem, &len);
  if (e) return e == JK_ENOTFOUND ? jk_error_set(JK_ENOTFOUND, "%s is not a CA directory (no ca.crt)", dir) : e;
  gnutls_datum_t d = dat(pem, len);
  if ((rc = gnutls_x509_crt_init(crt)) < 0 || (rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
    e = jk_error_set(JK_ECORRUPT, "%s/ca.crt is damaged: %s", dir, gnutls_strerror(rc));
    goto out;
  }
  jk_free(pem);
  pem = NULL;
  if ((e = read_file(dir, "ca.key", 1 << 16, &pem, &len))) {
    if (e == JK_ENOTFOUND) e = jk_error_set(JK_ENOTFOUND, "the CA directory %s has no ca.key", dir);
    goto out;
  }
  d = dat(pem, len);
  if ((rc = gnutls_privkey_init(key)) < 0 ||
      (rc = gnutls_privkey_import_x509_raw(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
    e = jk_error_set(JK_ECORRUPT, "%s/ca.key is damaged: %s", dir, gnutls_strerror(rc));
    goto out;
  }
out:
  if (pem) sodium_memzero(pem, len);
  jk_free(pem);
  return e;
}

static jk_err export_crt(gnutls_x509_crt_t crt, char **out_pem) {
  gnutls_datum_t d = {NULL, 0};
  int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
  if (rc < 0) return gt(rc, "gnutls_x509_crt_export2");
  *out_pem = jk_strndup((const char *)d.data, d.size);
  gnutls_free(d.data);
  return *out_pem ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

/* ---- the CA ---- */

jk_err jk_pki_ca_init(const char *dir, const char *name) {
  if (!dir || !*dir || !name || !*name) return jk_error_set(JK_EINVAL, "the CA directory and name are required");
  if (strlen(name) > 64) return jk_error_set(JK_EINVAL, "the CA name is longer than 64 bytes");
  struct stat st;
  if (stat(dir, &st) == 0) {
    char probe[4096];
    jk_err pe = path_of(probe, sizeof probe, dir, "ca.crt");
    if (pe) return pe;
    if (!S_ISDIR(st.st_mode)) return jk_error_set(JK_EEXISTS, "%s exists and is not a directory", dir);
    if (access(probe, F_OK) == 0) return jk_error_set(JK_EEXISTS, "%s already holds a CA", dir);
    DIR *d = opendir(dir);
    if (!d) return jk_error_set(JK_EIO, "cannot open %s: %s", dir, strerror(errno));
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)))
      if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) empty = false;
    closedir(d);
    if (!empty) return jk_error_set(JK_EEXISTS, "%s is not empty", dir);
  } else if (errno != ENOENT || mkdir(dir, 0700) != 0) {
    return jk_error_set(JK_EIO, "cannot create %s: %s", dir, strerror(errno));
  }
  gnutls_x509_privkey_t xk = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t kpem = {NULL, 0};
  char *cpem = NULL;
  jk_err e = JK_OK;
  int rc;
  unsigned char kid[64];
  size_t kid_len = sizeof kid;
  unsigned char ser[9];
  size_t ser_len;
  time_t now = time(NULL);
  if ((rc = gnutls_x509_privkey_init(&xk)) < 0) { e = gt(rc, "gnutls_x509_privkey_init"); goto out; }
  if ((rc = gnutls_x509_privkey_generate(xk, GNUTLS_PK_EDDSA_ED25519, 0, 0)) < 0) {
    e = gt(rc, "gnutls_x509_privkey_generate");
    goto out;
  }
  if ((rc = gnutls_x509_privkey_export2_pkcs8(xk, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &kpem)) < 0) {
    e = gt(rc, "gnutls_x509_privkey_export2_pkcs8");
    goto out;
  }
  if ((rc = gnutls_x509_crt_init(&crt)) < 0) { e = gt(rc, "gnutls_x509_crt_init"); goto out; }
  serial_bytes(1, ser, &ser_len); /* the CA certificate itself; node serials count from 1 too,
                                     but under a different issuer/subject pair */
  if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 || (rc = gnutls_x509_crt_set_key(crt, xk)) < 0 ||
      (rc = gnutls_x509_crt_set_serial(crt, ser, ser_len)) < 0 ||
      (rc = gnutls_x509_crt_set_activation_time(crt, now - SKEW)) < 0 ||
      (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)CA_DAYS * DAY)) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name, (unsigned)strlen(name))) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "jukinet", 7)) < 0 ||
      (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
      (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
      (rc = gnutls_x509_privkey_get_key_id(xk, GNUTLS_KEYID_USE_SHA1, kid, &kid_len)) < 0 ||
      (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len)) < 0) {
    e = gt(rc, "building the CA certificate");
    goto out;
  }
  if ((rc = gnutls_privkey_init(&key)) < 0 || (rc = gnutls_privkey_import_x509(key, xk, 0)) < 0 ||
      (rc = gnutls_x509_crt_privkey_sign(crt, crt, key, GNUTLS_DIG_SHA512, 0)) < 0) {
    e = gt(rc, "signing the CA certificate");
    goto out;
  }
  if ((e = export_crt(crt, &cpem))) goto out;
  if ((e = write_file(dir, "ca.key", kpem.data, kpem.size, true, true))) goto out;
  if ((e = write_file(dir, "ca.crt", cpem, strlen(cpem), false, true))) goto out;
  if ((e = write_counter(dir, "serial", 1)) || (e = write_counter(dir, "crlnumber", 1))) goto out;
  index_t empty = {NULL, 0, 0};
  if ((e = index_write(dir, &empty))) goto out;
  e = jk_pki_crl(dir, NULL);
out:
  if (kpem.data) {
    sodium_memzero(kpem.data, kpem.size);
    gnutls_free(kpem.data);
  }
  jk_free(cpem);
  gnutls_x509_crt_deinit(crt);
  gnutls_privkey_deinit(key);
  gnutls_x509_privkey_deinit(xk);
  return e;
}

static bool valid_role(const char *r) {
  return strcmp(r, "municipal") == 0 || strcmp(r, "prefectural") == 0 || strcmp(r, "national") == 0 ||
         strcmp(r, JK_PKI_ROLE_AGENCY) == 0;
}

static bool valid_lgcode(const char *s) {
  if (strlen(s) != 6) return false;
  for (int i = 0; i < 6; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/* ---- code slices (slices.tsv: "lgcode TAB slice" per municipality) ----
 * A municipality keeps its slice for good (a new certificate for a replaced node gets the same
 * one); new municipalities get the next free slice. Called with the lock held. */
#define SLICES_MAX (64u * 1024u)
static jk_err slice_for(const char *dir, const char *lgcode, int *slice, bool *is_new) {
  char *data = NULL;
  size_t len = 0;
  jk_err e = read_file(dir, "slices.tsv", SLICES_MAX, &data, &len);
  if (e == JK_ENOTFOUND) e = JK_OK, len = 0;
  if (e) return e;
  bool used[JK_RESCODE_SLICES] = {false};
  *slice = -1;
  *is_new = false;
  size_t lineno = 0;
  for (size_t i = 0; i < len;) {
    const char *line = data + i, *nl = memchr(line, '\n', len - i);
    lineno++;
    if (!nl) {
      e = jk_error_set(JK_ECORRUPT, "%s/slices.tsv: line %zu is not terminated", dir, lineno);
      break;
    }
    char lg[8];
    int k, used_n = 0;
    if ((size_t)(nl - line) > 20 || sscanf(line, "%7[0-9]\t%d%n", lg, &k, &used_n) != 2 || line + used_n != nl ||
        strlen(lg) != 6 || k < 0 || k >= JK_RESCODE_SLICES || used[k]) {
      e = jk_error_set(JK_ECORRUPT, "%s/slices.tsv: line %zu is damaged", dir, lineno);
      break;
    }
    used[k] = true;
    if (strcmp(lg, lgcode) == 0) *slice = k;
    i = (size_t)(nl - data) + 1;
  }
  if (!e && *slice < 0) {
    for (int k = 0; k < JK_RESCODE_SLICES && *slice < 0; k++)
      if (!used[k]) *slice = k;
    if (*slice < 0) e = jk_error_set(JK_ECONFLICT, "every one of the %d code slices is taken", JK_RESCODE_SLICES);
    else *is_new = true;
  }
  jk_free(data);
  return e;
}

static jk_err slice_record(const char *dir, const char *lgcode, int slice) {
  char *data = NULL;
  size_t len = 0;
  jk_err e = read_file(dir, "slices.tsv", SLICES_MAX, &data, &len);
  if (e == JK_ENOTFOUND) e = JK_OK, len = 0;
  if (e) return e;
  char line[32];
  int n = snprintf(line, sizeof line, "%s\t%d\n", lgcode, slice);
  char *all = jk_malloc(len + (size_t)n);
  if (!all) {
    jk_free(data);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  if (len) memcpy(all, data, len);
  memcpy(all + len, line, (size_t)n);
  e = write_file(dir, "slices.tsv", all, len + (size_t)n, false, false);
  jk_free(all);
  jk_free(data);
  return e;
}

jk_err jk_pki_issue(const char *ca_dir, const uint8_t node_pubkey[32], const char *node_id, const char *lgcode,
                    const char *role, int days, char **out_pem) {
  if (out_pem) *out_pem = NULL;
  if (!ca_dir || !node_pubkey || !node_id || !role || !out_pem) return jk_error_set(JK_EINVAL, "missing argument");
  if (!valid_role(role))
    return jk_error_set(JK_EINVAL, "'%s' is not a role (municipal, prefectural, national, agency)", role);
  bool agency = strcmp(role, JK_PKI_ROLE_AGENCY) == 0;
  if (!printable_id(node_id))
    return jk_error_set(JK_EINVAL, "'%s' is not an id (1 to 63 printable ASCII characters)", node_id);
  if (agency && lgcode && *lgcode)
    return jk_error_set(JK_EINVAL, "an agency certificate names no local government code");
  if (!agency && (!lgcode || !valid_lgcode(lgcode)))
    return jk_error_set(JK_EINVAL, "'%s' is not a local government code (6 digits)", lgcode ? lgcode : "");
  if (days < 1 || days > JK_PKI_MAX_DAYS)
    return jk_error_set(JK_EINVAL, "the validity must be 1 to %d days", JK_PKI_MAX_DAYS);
  int lock = -1;
  gnutls_x509_crt_t ca = NULL, crt = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_pubkey_t pub = NULL;
  index_t ix = {NULL, 0, 0};
  uint64_t serial = 0;
  int rc;
  jk_err e = lock_ca(ca_dir, &lock);
  if (e) return e;
  if ((e = load_ca(ca_dir, &ca, &key)) || (e = read_counter(ca_dir, "serial", &serial)) || (e = index_read(ca_dir, &ix)))
    goto out;
  int slice = -1;
  bool new_slice = false;
  if (strcmp(role, "municipal") == 0 && (e = slice_for(ca_dir, lgcode, &slice, &new_slice))) goto out;
  for (size_t i = 0; i < ix.n; i++)
    if (ix.v[i].serial >= serial) {
      e = jk_error_set(JK_ECORRUPT, "%s: serial %llu is already in index.tsv", ca_dir, (unsigned long long)serial);
      goto out;
    }
  time_t now = time(NULL);
  unsigned char ser[9], kid[64];
  size_t ser_len, kid_len = sizeof kid;
  serial_bytes(serial, ser, &ser_len);
  gnutls_datum_t x = dat(node_pubkey, 32);
  char uri[128];
  if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
      (rc = gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL)) < 0) {
    e = gt(rc, "gnutls_pubkey_import_ecc_raw");
    goto out;
  }
  if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
      (rc = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 || (rc = gnutls_x509_crt_set_serial(crt, ser, ser_len)) < 0 ||
      (rc = gnutls_x509_crt_set_activation_time(crt, now - SKEW)) < 0 ||
      (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * DAY)) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "jukinet", 7)) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, role,
                                          (unsigned)strlen(role))) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, node_id, (unsigned)strlen(node_id))) < 0 ||
      (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
      (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
      (!agency && (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) ||
      (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) {
    e = gt(rc, "building the node certificate");
    goto out;
  }
  /* an agency is a client only, named by a SAN of its own kind: it can never pass for a node */
  snprintf(uri, sizeof uri, "%s%s", agency ? URN_AGENCY : URN_NODE, node_id);
  if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, uri, (unsigned)strlen(uri), GNUTLS_FSAN_APPEND)) < 0) {
    e = gt(rc, "gnutls_x509_crt_set_subject_alt_name");
    goto out;
  }
  if (slice >= 0) {
    snprintf(uri, sizeof uri, "%s%d", URN_CODESLICE, slice);
    if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, uri, (unsigned)strlen(uri), GNUTLS_FSAN_APPEND)) <
        0) {
      e = gt(rc, "gnutls_x509_crt_set_subject_alt_name");
      goto out;
    }
  }
  if (!agency) snprintf(uri, sizeof uri, "%s%s", URN_LGCODE, lgcode);
  if ((!agency &&
       (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, uri, (unsigned)strlen(uri), GNUTLS_FSAN_APPEND)) <
           0) ||
      (rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, kid, &kid_len)) < 0 ||
      (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len)) < 0) {
    e = gt(rc, "building the node certificate");
    goto out;
  }
  kid_len = sizeof kid;
  if ((rc = gnutls_x509_crt_get_subject_key_id(ca, kid, &kid_len, NULL)) >= 0 &&
      (rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len)) < 0) {
    e = gt(rc, "gnutls_x509_crt_set_authority_key_id");
    goto out;
  }
  if ((rc = gnutls_x509_crt_privkey_sign(crt, ca, key, GNUTLS_DIG_SHA512, 0)) < 0) {
    e = gt(rc, "gnutls_x509_crt_privkey_sign");
    goto out;
  }
  if ((e = export_crt(crt, out_pem))) goto out;
  /* the counter moves first: a crash between the two writes skips a serial, never reuses one */
  if ((e = write_counter(ca_dir, "serial", serial + 1))) goto out;
  if (new_slice && (e = slice_record(ca_dir, lgcode, slice))) goto out;
  entry en;
  memset(&en, 0, sizeof en);
  en.serial = serial;
  en.status = 'V';
  en.not_after = (int64_t)now + (int64_t)days * DAY;
  snprintf(en.node_id, sizeof en.node_id, "%s", node_id);
  if ((e = index_push(&ix, &en)) || (e = index_write(ca_dir, &ix))) goto out;
out:
  if (e && out_pem && *out_pem) {
    jk_free(*out_pem);
    *out_pem = NULL;
  }
  jk_free(ix.v);
  gnutls_pubkey_deinit(pub);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_crt_deinit(ca);
  gnutls_privkey_deinit(key);
  unlock_ca(lock);
  return e;
}

/* Sign and write ca.crl from ix. Called with the lock held. */
static jk_err make_crl(const char *dir, const index_t *ix, char **out_pem) {
  gnutls_x509_crt_t ca = NULL;
  gnutls_privkey_t key = NULL;
  gnutls_x509_crl_t crl = NULL;
  gnutls_datum_t d = {NULL, 0};
  uint64_t number = 0;
  int rc;
  jk_err e;
  if ((e = load_ca(dir, &ca, &key)) || (e = read_counter(dir, "crlnumber", &number))) goto out;
  time_t now = time(NULL);
  unsigned char num[9], kid[64];
  size_t num_len, kid_len = sizeof kid;
  serial_bytes(number, num, &num_len);
  if ((rc = gnutls_x509_crl_init(&crl)) < 0 || (rc = gnutls_x509_crl_set_version(crl, 2)) < 0 ||
      (rc = gnutls_x509_crl_set_this_update(crl, now)) < 0 ||
      (rc = gnutls_x509_crl_set_next_update(crl, now + (time_t)CRL_DAYS * DAY)) < 0 ||
      (rc = gnutls_x509_crl_set_number(crl, num, num_len)) < 0) {
    e = gt(rc, "building the CRL");
    goto out;
  }
  if ((rc = gnutls_x509_crt_get_subject_key_id(ca, kid, &kid_len, NULL)) >= 0 &&
      (rc = gnutls_x509_crl_set_authority_key_id(crl, kid, kid_len)) < 0) {
    e = gt(rc, "gnutls_x509_crl_set_authority_key_id");
    goto out;
  }
  for (size_t i = 0; i < ix->n; i++) {
    if (ix->v[i].status != 'R') continue;
    unsigned char ser[9];
    size_t ser_len;
    serial_bytes(ix->v[i].serial, ser, &ser_len);
    if ((rc = gnutls_x509_crl_set_crt_serial(crl, ser, ser_len, (time_t)ix->v[i].revoked_at)) < 0) {
      e = gt(rc, "gnutls_x509_crl_set_crt_serial");
      goto out;
    }
  }
  if ((rc = gnutls_x509_crl_privkey_sign(crl, ca, key, GNUTLS_DIG_SHA512, 0)) < 0) {
    e = gt(rc, "gnutls_x509_crl_privkey_sign");
    goto out;
  }
  if ((rc = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &d)) < 0) {
    e = gt(rc, "gnutls_x509_crl_export2");
    goto out;
  }
  if ((e = write_counter(dir, "crlnumber", number + 1))) goto out;
  if ((e = write_file(dir, "ca.crl", d.data, d.size, false, false))) goto out;
  if (out_pem && !(*out_pem = jk_strndup((const char *)d.data, d.size))) e = jk_error_set(JK_ENOMEM, NULL);
out:
  gnutls_free(d.data);
  gnutls_x509_crl_deinit(crl);
  gnutls_x509_crt_deinit(ca);
  gnutls_privkey_deinit(key);
  return e;
}

jk_err jk_pki_crl(const char *ca_dir, char **out_pem) {
  if (out_pem) *out_pem = NULL;
  if (!ca_dir) return jk_error_set(JK_EINVAL, "missing argument");
  int lock = -1;
  index_t ix = {NULL, 0, 0};
  jk_err e = lock_ca(ca_dir, &lock);
  if (e) return e;
  if (!(e = index_read(ca_dir, &ix))) e = make_crl(ca_dir, &ix, out_pem);
  jk_free(ix.v);
  unlock_ca(lock);
  return e;
}

jk_err jk_pki_revoke(const char *ca_dir, const char *which, const char *reason, size_t *count_out) {
  if (count_out) *count_out = 0;
  if (!ca_dir || !which || !*which) return jk_error_set(JK_EINVAL, "missing argument");
  bool by_serial = true;
  for (const char *p = which; *p; p++)
    if (*p < '0' || *p > '9') by_serial = false;
  int64_t serial = 0;
  if (by_serial && (!parse_i64(which, &serial) || serial < 1))
    return jk_error_set(JK_EINVAL, "'%s' is not a certificate serial", which);
  if (!by_serial && !printable_id(which))
    return jk_error_set(JK_EINVAL, "'%s' is not a node id (1 to 63 printable ASCII characters)", which);
  char why[201];
  snprintf(why, sizeof why, "%s", reason ? reason : "");
  for (char *p = why; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
  int lock = -1;
  index_t ix = {NULL, 0, 0};
  size_t count = 0;
  bool known = false;
  jk_err e = lock_ca(ca_dir, &lock);
  if (e) return e;
  if ((e = index_read(ca_dir, &ix))) goto out;
  int64_t now = (int64_t)time(NULL);
  for (size_t i = 0; i < ix.n; i++) {
    entry *en = &ix.v[i];
    if (by_serial ? en->serial != (uint64_t)serial : strcmp(en->node_id, which) != 0) continue;
    known = true;
    if (en->status == 'R') continue;
    en->status = 'R';
    en->revoked_at = now;
    snprintf(en->reason, sizeof en->reason, "%s", why);
    count++;
  }
  if (!known) {
    e = jk_error_set(JK_ENOTFOUND, "no certificate %s was issued by this CA", which);
    goto out;
  }
  if (!count) {
    e = jk_error_set(JK_ENOTFOUND, "every certificate %s is already revoked", which);
    goto out;
  }
  if ((e = index_write(ca_dir, &ix))) goto out;
  e = make_crl(ca_dir, &ix, NULL);
  if (!e && count_out) *count_out = count;
out:
  jk_free(ix.v);
  unlock_ca(lock);
  return e;
}

/* ---- reading and verifying ---- */

static jk_err import_crt(const char *pem, gnutls_x509_crt_t *out, const char *what) {
  gnutls_datum_t d = dat(pem, strlen(pem));
  int rc;
  if ((rc = gnutls_x509_crt_init(out)) < 0) return gt(rc, "gnutls_x509_crt_init");
  if (!*pem || (rc = gnutls_x509_crt_import(*out, &d, GNUTLS_X509_FMT_PEM)) < 0)
    return jk_error_set(JK_EINVAL, "%s is not a PEM certificate", what);
  return JK_OK;
}

static void serial_text(gnutls_x509_crt_t crt, char *out, size_t cap) {
  unsigned char s[64];
  size_t n = sizeof s;
  out[0] = 0;
  if (gnutls_x509_crt_get_serial(crt, s, &n) < 0) return;
  size_t k = 0;
  while (k < n && s[k] == 0) k++;
  if (n - k <= 8) {
    uint64_t v = 0;
    for (size_t i = k; i < n; i++) v = (v << 8) | s[i];
    snprintf(out, cap, "%llu", (unsigned long long)v);
  } else if (cap > 2 * n) {
    sodium_bin2hex(out, cap, s, n);
  }
}

static void get_dn_oid(gnutls_x509_crt_t crt, const char *oid, char *out, size_t cap) {
  size_t n = cap;
  if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, out, &n) < 0) out[0] = 0;
}

jk_err jk_pki_info_read(const char *cert_pem, jk_pki_info *out) {
  if (!cert_pem || !out) return jk_error_set(JK_EINVAL, "missing argument");
  memset(out, 0, sizeof *out);
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_datum_t x = {NULL, 0}, spki = {NULL, 0};
  int rc;
  jk_err e = import_crt(cert_pem, &crt, "the certificate");
  if (e) goto out;
  size_t n = sizeof out->subject;
  if (gnutls_x509_crt_get_dn(crt, out->subject, &n) < 0) out->subject[0] = 0;
  n = sizeof out->issuer;
  if (gnutls_x509_crt_get_issuer_dn(crt, out->issuer, &n) < 0) out->issuer[0] = 0;
  serial_text(crt, out->serial, sizeof out->serial);
  get_dn_oid(crt, GNUTLS_OID_X520_COMMON_NAME, out->identity, sizeof out->identity);
  get_dn_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, out->role, sizeof out->role);
  out->not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
  out->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
  unsigned crit = 0;
  out->is_ca = gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) > 0;
  out->code_slice = -1;
  for (unsigned i = 0; i < 32; i++) {
    char san[256];
    size_t sn = sizeof san - 1;
    unsigned type = 0;
    rc = gnutls_x509_crt_get_subject_alt_name2(crt, i, san, &sn, &type, NULL);
    if (rc < 0) break;
    if (rc != GNUTLS_SAN_URI || sn >= sizeof san) continue;
    san[sn] = '\0';
    size_t pl = strlen(URN_CODESLICE);
    if (strncmp(san, URN_CODESLICE, pl) == 0) {
      char *end;
      long k = strtol(san + pl, &end, 10);
      if (!*end && end != san + pl && k >= 0 && k < JK_RESCODE_SLICES) out->code_slice = (int)k;
    }
  }
  if ((rc = gnutls_pubkey_init(&pub)) < 0 || (rc = gnutls_pubkey_import_x509(pub, crt, 0)) < 0) {
    e = gt(rc, "gnutls_pubkey_import_x509");
    goto out;
  }
  if ((rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki)) < 0) {
    e = gt(rc, "gnutls_pubkey_export2");
    goto out;
  }
  unsigned char h[32];
  crypto_hash_sha256(h, spki.data, spki.size);
  sodium_bin2hex(out->key_fingerprint, sizeof out->key_fingerprint, h, 32);
  if (gnutls_pubkey_get_pk_algorithm(pub, NULL) == GNUTLS_PK_EDDSA_ED25519) {
    gnutls_ecc_curve_t curve;
    if (gnutls_pubkey_export_ecc_raw(pub, &curve, &x, NULL) >= 0 && curve == GNUTLS_ECC_CURVE_ED25519 && x.size == 32) {
      memcpy(out->ed25519, x.data, 32);
      out->is_ed25519 = true;
    }
  }
out:
  gnutls_free(x.data);
  gnutls_free(spki.data);
  gnutls_pubkey_deinit(pub);
  gnutls_x509_crt_deinit(crt);
  return e;
}

static bool has_purpose(gnutls_x509_crt_t crt, const char *oid) {
  for (unsigned i = 0; i < 32; i++) {
    char buf[128];
    size_t n = sizeof buf;
    int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, buf, &n, NULL);
    if (rc < 0) return false;
    if (strcmp(buf, oid) == 0) return true;
  }
  return false;
}

static bool has_san_uri(gnutls_x509_crt_t crt, const char *uri) {
  for (unsigned i = 0; i < 32; i++) {
    char buf[256];
    size_t n = sizeof buf - 1;
    int rc = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &n, NULL);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return false;
    if (rc == GNUTLS_SAN_URI && n < sizeof buf) {
      buf[n] = 0;
      if (strcmp(buf, uri) == 0) return true;
    }
  }
  return false;
}

static void fmt_time(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(out, 32, "%lld", (long long)t);
}

jk_err jk_pki_verify(const char *ca_crt_pem, const char *crl_pem, const char *cert_pem, int64_t now,
                     char identity_out[JK_PKI_ID_MAX]) {
  return jk_pki_verify_as(ca_crt_pem, crl_pem, cert_pem, now, JK_PKI_NODE, identity_out);
}

jk_err jk_pki_verify_as(const char *ca_crt_pem, const char *crl_pem, const char *cert_pem, int64_t now, unsigned kinds,
                        char identity_out[JK_PKI_ID_MAX]) {
  if (identity_out) identity_out[0] = 0;
  if (!ca_crt_pem || !cert_pem) return jk_error_set(JK_EINVAL, "missing argument");
  if (now == 0) now = (int64_t)time(NULL);
  gnutls_x509_crt_t ca = NULL, crt = NULL;
  gnutls_x509_crl_t crl = NULL;
  unsigned status = 0, crit = 0;
  char cn[JK_PKI_ID_MAX], when[32], uri[128];
  int rc;
  jk_err e;
  if ((e = import_crt(ca_crt_pem, &ca, "the CA certificate")) || (e = import_crt(cert_pem, &crt, "the certificate")))
    goto out;
  /* the trust anchor: a CA certificate valid now */
  if (gnutls_x509_crt_get_basic_constraints(ca, &crit, NULL, NULL) <= 0) {
    e = jk_error_set(JK_EINVAL, "the CA certificate is not a CA");
    goto out;
  }
  if (now < (int64_t)gnutls_x509_crt_get_activation_time(ca) || now > (int64_t)gnutls_x509_crt_get_expiration_time(ca)) {
    e = jk_error_set(JK_EPERM, "the network CA certificate is not valid at this time");
    goto out;
  }
  const unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
  if ((rc = gnutls_x509_crt_verify(crt, &ca, 1, flags, &status)) < 0) {
    e = gt(rc, "gnutls_x509_crt_verify");
    goto out;
  }
  if (status) {
    e = jk_error_set(JK_EPERM, "the certificate is not signed by the network CA");
    goto out;
  }
  if (now < (int64_t)gnutls_x509_crt_get_activation_time(crt)) {
    fmt_time((int64_t)gnutls_x509_crt_get_activation_time(crt), when);
    e = jk_error_set(JK_EPERM, "the certificate is not yet valid (valid from %s)", when);
    goto out;
  }
  if (now > (int64_t)gnutls_x509_crt_get_expiration_time(crt)) {
    fmt_time((int64_t)gnutls_x509_crt_get_expiration_time(crt), when);
    e = jk_error_set(JK_EPERM, "the certificate expired on %s", when);
    goto out;
  }
  if (crl_pem) {
    gnutls_datum_t d = dat(crl_pem, strlen(crl_pem));
    if ((rc = gnutls_x509_crl_init(&crl)) < 0) {
      e = gt(rc, "gnutls_x509_crl_init");
      goto out;
    }
    if (!*crl_pem || gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) < 0) {
      e = jk_error_set(JK_EINVAL, "the CRL is not a PEM CRL");
      goto out;
    }
    if ((rc = gnutls_x509_crl_verify(crl, &ca, 1, 0, &status)) < 0 || status) {
      e = jk_error_set(JK_EPERM, "the CRL is not signed by the network CA");
      goto out;
    }
    time_t next = gnutls_x509_crl_get_next_update(crl);
    if (next == (time_t)-1 || now > (int64_t)next) {
      e = jk_error_set(JK_EPERM, "the CRL is out of date: ask the network CA for a new one");
      goto out;
    }
    if ((rc = gnutls_x509_crt_check_revocation(crt, &crl, 1)) != 0) {
      e = rc > 0 ? jk_error_set(JK_EPERM, "the certificate is revoked") : gt(rc, "gnutls_x509_crt_check_revocation");
      goto out;
    }
  }
  size_t n = sizeof cn;
  if (gnutls_x509_crt_get_basic_constraints(crt, &crit, NULL, NULL) > 0 ||
      gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) < 0 || !printable_id(cn) ||
      !has_purpose(crt, GNUTLS_KP_TLS_WWW_CLIENT)) {
    e = jk_error_set(JK_EPERM, kinds & JK_PKI_NODE ? "not a node certificate" : "not an agency certificate");
    goto out;
  }
  /* a node: server and client use, its node SAN; an agency: its agency SAN (client use only) */
  snprintf(uri, sizeof uri, "%s%s", URN_NODE, cn);
  bool node = has_purpose(crt, GNUTLS_KP_TLS_WWW_SERVER) && has_san_uri(crt, uri);
  snprintf(uri, sizeof uri, "%s%s", URN_AGENCY, cn);
  bool agency = !node && has_san_uri(crt, uri);
  if (!(node && (kinds & JK_PKI_NODE)) && !(agency && (kinds & JK_PKI_AGENCY))) {
    e = jk_error_set(JK_EPERM, kinds & JK_PKI_NODE ? "not a node certificate" : "not an agency certificate");
    goto out;
  }
  if (identity_out) snprintf(identity_out, JK_PKI_ID_MAX, "%s", cn);
out:
  gnutls_x509_crl_deinit(crl);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_crt_deinit(ca);
  return e;
}
