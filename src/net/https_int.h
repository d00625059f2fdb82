/*
 * https_int.h — what tls.c, https_server.c and https_client.c share (include/jukinet/https.h).
 * Private to src/net: GnuTLS types appear here and nowhere in include/.
 */
#ifndef JK_NET_HTTPS_INT_H
#define JK_NET_HTTPS_INT_H

#include "jukinet/https.h"
#include "jukinet/pki.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdatomic.h>

/* TLS 1.3 and nothing else, on both sides. */
#define JK__TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

typedef struct jk__pin_entry jk__pin_entry;

struct jk_tls {
  gnutls_privkey_t key;      /* what TLS sessions sign with: a wrapper around inner (see tls.c) */
  pthread_rwlock_t key_lock; /* guards inner: signers read, a re-import writes */
  gnutls_privkey_t inner;    /* the token key by its PKCS#11 URI (the PIN was checked at import) */
  gnutls_pcert_st pcert;     /* our certificate, for the server's certificate callback */
  bool pcert_set;
  char *cert_file, *key_uri, *ca_file, *crl_file; /* copies of the configuration (libcurl reads the files) */
  char *ca_pem;
  pthread_rwlock_t crl_lock; /* guards crl_pem: peer checks read, jk_tls_reload_crl writes */
  char *crl_pem;             /* NULL = no CRL configured */
  atomic_uint crl_gen;       /* bumped by every reload: cached peer verdicts are stale then */
  jk__pin_entry *pin;        /* our PIN in the process-wide registry */
};

/* GnuTLS, its PKCS#11 layer (manual mode, our PIN callback) and libsodium, once per process.
 * JK_ECRYPTO when GnuTLS cannot start. */
jk_err jk__tls_global_init(void);

/* Check the peer of the TLS session s: its certificate (the first one it sent) must be a
 * certificate of the network of one of `kinds` (jk_pki_verify_as with t's CA and current CRL:
 * signature, validity, revocation, shape), a node's carrying an lgcode SAN, and hold an Ed25519
 * key. On success *out is filled
 * and out->cert_pem is allocated with jk_malloc (free with jk__tls_peer_clear). JK_EPERM with
 * the reason when refused; JK_ENOMEM. On failure *out is zeroed. */
jk_err jk__tls_check_peer(jk_tls *t, gnutls_session_t s, unsigned kinds, jk_tls_peer *out);
void jk__tls_peer_clear(jk_tls_peer *p);

/* One warning line on stderr, prefixed "jukinetd[warn]: ". Never pass a secret. */
void jk__tls_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test hooks: TLS handshakes the server has made (certificate callback calls), requests whose
 * headers it has read (from a verified client or not), and the connections the client has
 * opened (sum of CURLINFO_NUM_CONNECTS). */
unsigned long jk__https_server_handshakes(const jk_https_server *srv);
unsigned long jk__https_server_requests(const jk_https_server *srv);
unsigned long jk__https_client_connects(const jk_https_client *c);

#endif
