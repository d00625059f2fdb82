/*
 * https.h — node-to-node HTTPS with mutual TLS 1.3 (GnuTLS), keys on the node's PKCS#11 token.
 *
 * Server: libmicrohttpd (HTTPS through GnuTLS); every request's client certificate is verified
 * (chain to the network CA, the CRL, validity, a node certificate with clientAuth) before the
 * handler runs; a client without one, or with one that fails, is refused (403, or the handshake
 * itself). Client: libcurl (GnuTLS flavour) with the node certificate and token key, pinned to
 * the network CA (no system CA store), the CRL honoured, and the server's node identity checked
 * against the one expected (node certificates name nodes, not hosts: the host name is not
 * checked, the identity is). TLS 1.3 only, nothing in clear.
 *
 * No GnuTLS, microhttpd or curl type appears here. Errors: JK_EIO transport (connection
 * refused, reset, timeout), JK_EPERM the peer's certificate is refused (detail says why),
 * JK_ECRYPTO a TLS/key failure, JK_EINVAL bad argument, JK_ENOMEM.
 *
 * Process-wide: the first jk_tls_open initialises GnuTLS's PKCS#11 layer in manual mode (only
 * the modules named in jk_tls_config are loaded) with a PIN callback that answers from the PINs
 * of the open jk_tls objects; no other code of the process should set a GnuTLS PIN callback.
 * The token module may also be used through jk_token (src/token) in the same process, with one
 * caveat: a module that jk_token initialised before the first jk_tls_open is finalised by the
 * jk_token_close of its last token, which cuts GnuTLS off too (new connections then fail).
 * Open the jk_tls first, or keep a jk_token open while TLS is in use. jk_token_login and
 * jk_token_close log the token out: the server then imports its key again by itself.
 * Implementation: src/net/tls.c, https_server.c, https_client.c (see src/net/README.md).
 */
#ifndef JUKINET_HTTPS_H
#define JUKINET_HTTPS_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_tls_config {
  const char *module;    /* PKCS#11 module holding the node key */
  const char *key_uri;   /* "pkcs11:token=…;object=…;type=private" (token= is required: the PIN
                            is given to the token of that label) */
  const char *pin;       /* the token PIN (not copied beyond jk_tls_open's own guarded copy) */
  size_t pin_len;
  const char *cert_file; /* the node certificate (PEM) */
  const char *ca_file;   /* the network CA certificate (PEM) */
  const char *crl_file;  /* the CA's CRL (PEM); NULL = none */
} jk_tls_config;

/* Credentials shared by servers and clients of one node: the token key imported (the PIN is
 * checked once here: a wrong PIN fails now, not on every connection), certificate, CA, CRL.
 * Each open tries the PIN at most once against the token, and a PIN the token refused is never
 * offered to it again by this process's connections (a retry loop would lock a real card). When this process is already logged in
 * to the token through another open jk_tls, the PIN is compared with the one that open checked.
 * The key must be Ed25519 and match the certificate (a test signature is made). The certificate
 * itself is not checked against the CA or the CRL here: peers do that. Thread-safe.
 *   JK_EPERM     wrong PIN: "wrong token PIN for token 'L'" (the PIN never appears).
 *   JK_ENOTFOUND no such module, file or key on the token.
 *   JK_EINVAL    NULL argument, key_uri without token=, a file that is not PEM, a certificate
 *                not for an Ed25519 key or not for this key.
 *   JK_EUNSUPPORTED the module cannot be loaded.  JK_EIO / JK_ETOOLARGE reading the files.
 *   JK_ECRYPTO   other GnuTLS/PKCS#11 failures (the detail names the call). */
typedef struct jk_tls jk_tls;
JK_API jk_err jk_tls_open(jk_tls **out, const jk_tls_config *cfg);
/* Re-read the CRL file (the CA published a new one). Servers use it for new connections and
 * for the next request of kept-alive ones; clients for every request that follows. On failure
 * (JK_EINVAL no CRL file configured or not a PEM CRL, JK_EIO ...) the old CRL stays. */
JK_API jk_err jk_tls_reload_crl(jk_tls *t);
/* After every server and client using t is stopped and freed. Wipes the PIN when no other
 * jk_tls of the same token is open. NULL is a no-op. */
JK_API void jk_tls_close(jk_tls *t);

/* A verified peer: facts from its certificate. */
typedef struct jk_tls_peer {
  char node[64];      /* node id (CN, repeated in the urn:jukinet:node: SAN) */
  char lgcode[8];     /* urn:jukinet:lgcode: SAN */
  char role[16];      /* OU: municipal | prefectural | national | agency (then lgcode is "") */
  uint8_t pubkey[32]; /* the Ed25519 key it holds */
  char *cert_pem;     /* the certificate, PEM (owned by whoever filled the struct; see below) */
} jk_tls_peer;

/* ---- server ---- */
typedef struct jk_https_request {
  const char *method, *url;
  const uint8_t *body;
  size_t body_len;
  const jk_tls_peer *peer; /* always verified when the handler runs */
  const char *addr;         /* the client's "IPv4:port" ("?" when unknown) */
} jk_https_request;
typedef struct jk_https_response {
  unsigned status;          /* 0 = 500 */
  const char *content_type; /* static string; NULL = application/octet-stream */
  uint8_t *body;            /* allocated with jk_malloc by the handler; the server frees it */
  size_t body_len;
} jk_https_response;
/* Runs on a server thread (several may run at once: the handler serialises what it must). */
typedef void (*jk_https_handler)(const jk_https_request *req, jk_https_response *resp, void *payload);

typedef struct jk_https_server jk_https_server;
/* Listen on "IPv4:PORT" (port 0 = any; jk_https_port tells which). Bodies over max_body get 413
 * (JSON error body) without reaching the handler; a refused client gets 403 {"error":{"code":
 * "PERM",…}} or a failed handshake, and the reason is logged to stderr ("jukinetd[warn]: ").
 * Four threads, connections idle for 30 s are closed, at most 256 at once. t is borrowed: it
 * must outlive the server. JK_EINVAL bad argument, JK_EIO cannot listen. */
JK_API jk_err jk_https_start(jk_https_server **out, jk_tls *t, const char *listen, size_t max_body,
                             jk_https_handler h, void *payload);
/* Asynchronous handlers: for a handler that must wait (for a group commit, say) without holding
 * a thread. The server suspends the connection and calls the handler with a ticket; the answer
 * goes out when jk_https_finish(ticket, resp) is called — from any thread, exactly once. The
 * request (and its peer) stay valid until then. jk_https_stop waits for every ticket to be
 * finished before it closes the connections. */
typedef struct jk_https_ticket jk_https_ticket;
typedef void (*jk_https_async_handler)(const jk_https_request *req, jk_https_ticket *t, void *payload);
/* resp->body (jk_malloc'ed) is taken over. */
JK_API void jk_https_finish(jk_https_ticket *t, const jk_https_response *resp);
/* Finishing many tickets at once (a group commit's answers): between jk_https_hold and
 * jk_https_release on the same thread, the event-loop engine does not wake its threads for each
 * finished ticket; release wakes each thread that got one, once. Nests; per thread. */
JK_API void jk_https_hold(void);
JK_API void jk_https_release(void);

/* The same with choices: jk_https_start is {max_body, 0, false, JK_PKI_NODE, NULL}. */
typedef struct jk_https_options {
  size_t max_body;
  unsigned threads;    /* the pool's threads (0 = 4); ignored with per_connection */
  bool per_connection; /* a thread per connection (up to 256): for handlers that block, so that
                          every connection can wait at once */
  unsigned kinds;      /* the clients admitted: JK_PKI_NODE | JK_PKI_AGENCY (pki.h); 0 = nodes */
  jk_https_async_handler async; /* when set, requests go here (and jk_https_start_with's h is
                                   not called) */
  size_t conn_memory; /* each connection's buffer (0 = libmicrohttpd's 32 KiB): it is zeroed
                         whole after every request, so a listener of small requests wants less */
  bool event_loop;    /* jukinet's own epoll loop instead of libmicrohttpd (docs/decisions.md D16):
                         for many small requests per second, above all with an asynchronous
                         handler — an answer costs no suspend and resume of the connection. The
                         same checks and answers; bodies need a Content-Length (no chunked
                         transfer: 411), request heads are at most 8 KiB (431). conn_memory and
                         per_connection do not apply. */
} jk_https_options;
JK_API jk_err jk_https_start_with(jk_https_server **out, jk_tls *t, const char *listen, const jk_https_options *o,
                                  jk_https_handler h, void *payload);
JK_API unsigned jk_https_port(const jk_https_server *srv);
/* Stops accepting, waits for running handlers, frees. NULL is a no-op. */
JK_API void jk_https_stop(jk_https_server *srv);

/* ---- client ---- */
typedef struct jk_https_client jk_https_client; /* one per thread; keeps its connection alive */
JK_API jk_err jk_https_client_new(jk_https_client **out, jk_tls *t);
JK_API void jk_https_client_free(jk_https_client *c);
/* POST body to url ("https://127.0.0.1:7420/sync/v1/batch"); the server must present a valid
 * node certificate of node id `expect_node` (JK_EPERM otherwise, before anything is sent:
 * checked on every request, also on a kept-alive connection). timeout_ms (> 0) bounds the whole
 * exchange. content_type NULL = application/octet-stream. On JK_OK: *status the HTTP status,
 * *resp (jk_free; never NULL, NUL-terminated) the body, *resp_len its length; on failure
 * *status is 0 and *resp NULL. Transport failures are JK_EIO ("no answer within N ms" for a
 * timeout); a server that refuses this node's certificate just closes the connection under
 * TLS 1.3, which is JK_EIO too (the detail says it may be that). Responses over 64 MiB:
 * JK_ETOOLARGE. t (of jk_https_client_new) is borrowed and must outlive the client. */
JK_API jk_err jk_https_post(jk_https_client *c, const char *url, const char *expect_node, const void *body,
                            size_t len, const char *content_type, long timeout_ms, unsigned *status, uint8_t **resp,
                            size_t *resp_len);

/* The Content-Type of the last response jk_https_post returned ("" when it had none). Valid
 * until the next call on c. */
JK_API const char *jk_https_client_content_type(const jk_https_client *c);

/* Connect to url (no request is sent) and fill *out with the server's verified identity; it
 * must be a node certificate of node id `expect_node` (JK_EPERM otherwise). out->cert_pem is
 * allocated (jk_free). The connection and handshake are bounded by 10 s (JK_EIO); errors as
 * for jk_https_post; *out zeroed on failure. libcurl closes a connection whose transfer is
 * stopped before the request, so the next jk_https_post connects again (one more handshake). */
JK_API jk_err jk_https_client_peer(jk_https_client *c, const char *url, const char *expect_node, jk_tls_peer *out);

#ifdef __cplusplus
}
#endif
#endif
