/*
 * pki.h — the network's certificates: a network CA, node certificates, revocation (X.509, GnuTLS).
 *
 * The CA is an offline directory run by the network operator (like an openssl CA), not a node:
 *
 *   ca.key      the CA's Ed25519 private key, PKCS#8 PEM, unencrypted, mode 0600 (a file, not a
 *               token: keep the directory on an offline machine or an encrypted medium)
 *   ca.crt      the self-signed CA certificate (CN = the network's name, CA, certSign + crlSign)
 *   ca.crl      the certificate revocation list, signed by the CA, nextUpdate 7 days ahead
 *   serial      the next certificate serial (decimal, starts at 1)
 *   crlnumber   the next CRL number (decimal)
 *   index.tsv   one line per issued certificate:
 *               serial TAB V|R TAB notAfter TAB revokedAt TAB node id TAB reason
 *               (times in Unix seconds; revokedAt 0 while valid)
 *   slices.tsv  one line per municipality: lgcode TAB its resident-code slice (rescode.h)
 *   lock        flock(2)ed while the directory is changed
 *
 * A node certificate binds the node's Ed25519 public key (held on the node's PKCS#11 token) to
 * its identity: subject CN = node id, O = jukinet, OU = role (municipal | prefectural |
 * national); subjectAltName URIs urn:jukinet:node:<node id> and urn:jukinet:lgcode:<lgcode>;
 * keyUsage digitalSignature; extendedKeyUsage serverAuth + clientAuth (a node is both).
 *
 * Errors: GnuTLS codes are translated here and never leak (memory -> JK_ENOMEM, unparsable
 * input -> JK_EINVAL, anything else -> JK_ECRYPTO, the detail names the GnuTLS call).
 * No GnuTLS type appears in this header.
 */
#ifndef JUKINET_PKI_H
#define JUKINET_PKI_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The role of a national agency's certificate (a client of the provision service, not a node). */
#define JK_PKI_ROLE_AGENCY "agency"
/* Room for a node identity (the certificate's CN, a node id) with its NUL. */
#define JK_PKI_ID_MAX 64
/* Longest validity of a node certificate, in days. */
#define JK_PKI_MAX_DAYS 3650

/* Facts about one certificate (jk_pki_info_read). Strings are NUL-terminated UTF-8. */
typedef struct jk_pki_info {
  char subject[512];        /* RFC 4514 distinguished name */
  char issuer[512];
  char serial[64];          /* decimal when it fits 64 bits, else hex */
  char identity[JK_PKI_ID_MAX]; /* the CN ("" when none) */
  char role[32];            /* the OU ("" when none) */
  int64_t not_before, not_after; /* Unix seconds */
  char key_fingerprint[65]; /* SHA-256 of the SubjectPublicKeyInfo, lower-case hex */
  uint8_t ed25519[32];      /* the raw public key when it is Ed25519 */
  bool is_ed25519;
  bool is_ca;
  int code_slice;           /* a municipality's slice of the resident-code space, -1 when none */
} jk_pki_info;

/* Create a network CA in `dir` (created 0700; it must not exist or be empty, JK_EEXISTS
 * otherwise): a new Ed25519 key, a self-signed certificate valid 10 years with CN = name
 * (UTF-8, 1 to 64 bytes), serial 1 and crlnumber 1, an empty index and an empty signed CRL.
 *   JK_EINVAL   NULL or empty argument, name too long.  JK_EIO  the files cannot be written. */
JK_API jk_err jk_pki_ca_init(const char *dir, const char *name);

/* Issue a node certificate for the Ed25519 public key node_pubkey, valid from now (less five
 * minutes for clock skew) for `days` days (1 to JK_PKI_MAX_DAYS), signed by the CA in ca_dir;
 * the serial is taken from the counter and the certificate recorded in index.tsv.
 * node_id: 1 to JK_PKI_ID_MAX-1 printable ASCII characters; lgcode: 6 digits; role: one of
 * municipal, prefectural, national, or JK_PKI_ROLE_AGENCY: a national agency's client
 * certificate (docs/provision.md), with node_id the agency's id, lgcode NULL or "", client use
 * only and the SAN urn:jukinet:agency:<id> instead of the node and lgcode SANs.
 * A municipal node's certificate also names the municipality's
 * slice of the resident-code space (SAN urn:jukinet:codeslice:<k>, rescode.h): the CA keeps one
 * per 地方公共団体コード in slices.tsv, for good, and gives a new municipality the next free one.
 * On success *out_pem is the certificate in PEM (caller frees with jk_free); on failure NULL.
 *   JK_EINVAL  bad argument.  JK_ENOTFOUND  ca_dir is not a CA directory.
 *   JK_ECORRUPT  the CA's files are damaged.  JK_EIO  they cannot be written. */
JK_API jk_err jk_pki_issue(const char *ca_dir, const uint8_t node_pubkey[32], const char *node_id,
                           const char *lgcode, const char *role, int days, char **out_pem);

/* Revoke by serial (all decimal digits) or by node id (every still valid certificate of that
 * node), with a free-text reason kept in index.tsv (NULL = ""; control characters become
 * spaces; at most 200 bytes kept), then regenerate and sign ca.crl. *count_out (may be NULL)
 * receives the number of certificates revoked by this call.
 *   JK_ENOTFOUND  no such serial or node, or nothing valid left to revoke for it.
 *   JK_EINVAL / JK_ECORRUPT / JK_EIO as for jk_pki_issue. */
JK_API jk_err jk_pki_revoke(const char *ca_dir, const char *serial_or_node_id, const char *reason,
                            size_t *count_out);

/* Regenerate ca.crl (thisUpdate now, nextUpdate in 7 days, a new CRL number) from index.tsv,
 * sign it and write it; *out_pem (may be NULL) receives a copy the caller frees with jk_free. */
JK_API jk_err jk_pki_crl(const char *ca_dir, char **out_pem);

/* Verify the node certificate cert_pem against the network CA certificate ca_crt_pem and, when
 * crl_pem is not NULL, the CRL (which must itself be signed by that CA and not be past its
 * nextUpdate) at time `now` (Unix seconds; 0 = the current time). On success the node identity
 * (the CN, which the certificate's urn:jukinet:node: SAN must repeat) is copied to identity_out
 * (may be NULL); on failure identity_out is "".
 *   JK_EINVAL  NULL argument, or a PEM input that is not a certificate / CRL.
 *   JK_EPERM   refused, the detail says why: "not signed by the network CA", "revoked",
 *              "expired", "not yet valid", "the CRL is not signed by the network CA", "the CRL
 *              is out of date", "not a node certificate" (a CA, no CN, no TLS client+server use,
 *              the SAN does not match), or the CA certificate itself is not valid at `now`. */
JK_API jk_err jk_pki_verify(const char *ca_crt_pem, const char *crl_pem, const char *cert_pem, int64_t now,
                            char identity_out[JK_PKI_ID_MAX]);

/* The same, for the kinds of certificate in `kinds` (JK_PKI_NODE | JK_PKI_AGENCY): an agency
 * certificate has OU agency, client use only and the SAN urn:jukinet:agency:<id>, and names no
 * local government. A certificate of a kind not admitted: JK_EPERM "not a node certificate" (or
 * "not an agency certificate" when only agencies are admitted). */
#define JK_PKI_NODE 1u
#define JK_PKI_AGENCY 2u
JK_API jk_err jk_pki_verify_as(const char *ca_crt_pem, const char *crl_pem, const char *cert_pem, int64_t now,
                               unsigned kinds, char identity_out[JK_PKI_ID_MAX]);

/* Read the facts of a PEM certificate (no verification). JK_EINVAL when it is not one. */
JK_API jk_err jk_pki_info_read(const char *cert_pem, jk_pki_info *out);

#ifdef __cplusplus
}
#endif
#endif
