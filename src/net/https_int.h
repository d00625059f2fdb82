/*
 * https_int.h — what tls.c, https_conn.c, https_server.c, https_loop.c and https_client.c share
 * (include/jukinet/https.h).
 * Private to src/net: GnuTLS types appear here and nowhere in include/.
 */
#ifndef JK_NET_HTTPS_INT_H
#define JK_NET_HTTPS_INT_H

#include "jukinet/https.h"
#include "jukinet/pki.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
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

/* A server connection's client: the cached verdict of jk__tls_check_peer and the facts of the
 * handshake that decide what is logged when it fails. Shared by both server engines. */
typedef struct jk__peer_state {
  char addr[64]; /* "IPv4:port" or "?" */
  bool hello;    /* a ClientHello came in */
  bool served;   /* our certificate went out (the certificate callback ran) */
  bool shown;    /* the verify function ran */
  bool logged;   /* its refusal is logged already */
  bool checked;  /* verdict and peer are valid for crl_gen / until recheck_at */
  unsigned crl_gen;
  time_t recheck_at;
  jk_err verdict;
  jk_tls_peer peer;
} jk__peer_state;

/* The verdict on the client of session s (NULL: not a TLS connection), from the cache while it
 * is fresh (same CRL, less than a minute old); a refusal is logged once per connection. */
jk_err jk__peer_verdict(jk__peer_state *ps, jk_tls *t, gnutls_session_t s, unsigned kinds);
/* The connection closed: log a handshake that failed before our callbacks could say why (a
 * bare TCP probe, with no ClientHello, is not logged); free the peer. */
void jk__peer_closed(jk__peer_state *ps);
/* ps->addr from a peer address (IPv4 "a.b.c.d:port", anything else "?"). */
void jk__peer_addr(jk__peer_state *ps, const struct sockaddr *sa);

/* The server: jk_https_start_with fills the first part; an engine runs it — libmicrohttpd
 * (https_server.c) or jukinet's own event loop (https_loop.c, options.event_loop). */
typedef struct jk__loop jk__loop;
struct MHD_Daemon;
struct jk_https_server {
  jk_tls *t;
  jk_https_handler h;
  jk_https_async_handler async;
  void *payload;
  size_t max_body;
  unsigned kinds; /* JK_PKI_NODE | JK_PKI_AGENCY */
  unsigned port;
  atomic_long tickets; /* asynchronous requests handed out and not finished yet */
  atomic_ulong handshakes, requests;
  struct MHD_Daemon *d; /* one engine or the other */
  jk__loop *loop;
};

/* A server connection as the GnuTLS handshake callbacks see it (https_conn.c), embedded in each
 * engine's connection state: the engine sets srv and ps.addr, then attaches the session. */
typedef struct jk__server_conn {
  struct jk__server_conn *next; /* in the session -> connection table */
  gnutls_session_t s;           /* NULL: not a TLS connection (every check refuses it) */
  jk_https_server *srv;
  jk__peer_state ps;
} jk__server_conn;
/* Ask s for a client certificate, check it during the handshake (the verify function), note its
 * ClientHello, and enter sc in the table the callbacks search. */
void jk__server_conn_attach(jk__server_conn *sc, gnutls_session_t s);
/* Out of the table (when attached); log a handshake that failed unexplained; free the peer. */
void jk__server_conn_detach(jk__server_conn *sc);
/* jk__peer_verdict on the connection's client, for the check before every request. */
jk_err jk__server_conn_verdict(jk__server_conn *sc);
/* The certificate callback both engines give GnuTLS (gnutls_certificate_retrieve_function2):
 * the server's certificate and its token key; counts the server's handshakes. */
int jk__server_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                       unsigned int *pcert_length, gnutls_privkey_t *privkey);

/* A ticket is the engine's request state; it starts with how the engine finishes it. */
struct jk_https_ticket {
  void (*finish)(jk_https_ticket *t, const jk_https_response *resp);
};

/* The bodies of the JSON error answers both engines send: {"error":{"code":…,"message":…}}. */
int jk__https_error_body(char *out, size_t cap, const char *code, const char *msg);

/* The event-loop engine (https_loop.c): listen on sa with `threads` epoll threads. JK_EIO
 * cannot listen, JK_ENOMEM, JK_ECRYPTO. */
jk_err jk__loop_start(jk_https_server *srv, const struct sockaddr_in *sa, unsigned threads);
/* Stop accepting, wait for every ticket (up to 30 s), close every connection, free. */
void jk__loop_stop(jk_https_server *srv);

#define JK__HTTPS_CONN_TIMEOUT_S 30 /* an idle connection is closed */
#define JK__HTTPS_CONN_LIMIT 256    /* connections at once */
/* Test hooks of the event loop (https_loop.c): its idle timeout and connection limit, read when
 * a server starts; JK__HTTPS_CONN_TIMEOUT_S and JK__HTTPS_CONN_LIMIT unless a test lowers them. */
extern unsigned jk__https_loop_idle_s, jk__https_loop_conn_limit;
#define JK__HTTPS_DISCARD_MAX (64u << 20) /* an oversized body up to this is read and dropped before the 413 */

/* One warning line on stderr, prefixed "jukinetd[warn]: ". Never pass a secret. */
void jk__tls_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test hooks: TLS handshakes the server has made (certificate callback calls), requests whose
 * headers it has read (from a verified client or not), and the connections the client has
 * opened (sum of CURLINFO_NUM_CONNECTS). */
unsigned long jk__https_server_handshakes(const jk_https_server *srv);
unsigned long jk__https_server_requests(const jk_https_server *srv);
unsigned long jk__https_client_connects(const jk_https_client *c);

#endif
