/*
 * https_conn.c — a server connection as GnuTLS's handshake callbacks see it, for both server
 * engines (libmicrohttpd in https_server.c, the event loop in https_loop.c; https_int.h).
 *
 * Invariants
 * - GnuTLS callbacks carry no user pointer, and libmicrohttpd keeps the session's own pointer
 *   for itself: a process-wide table maps each connection's TLS session to its state. A
 *   connection enters it before its handshake (jk__server_conn_attach) and leaves it when it
 *   closes (jk__server_conn_detach); a callback runs on the connection's own thread, so what it
 *   finds cannot be freed meanwhile.
 * - A client certificate is requested — REQUEST, not REQUIRE: with REQUIRE GnuTLS fails a client
 *   that sends none before the verify function runs, and its reason would go unlogged — and the
 *   verify function refuses the handshake of anything but a valid certificate of the kinds the
 *   server admits. The engines check again before every request (jk__server_conn_verdict).
 */
#include "net/https_int.h"

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static jk__server_conn *map_head;

static jk__server_conn *find(gnutls_session_t s) {
  jk__server_conn *sc;
  pthread_mutex_lock(&map_lock);
  for (sc = map_head; sc && sc->s != s; sc = sc->next) {
  }
  pthread_mutex_unlock(&map_lock);
  return sc;
}

jk_err jk__server_conn_verdict(jk__server_conn *sc) {
  return jk__peer_verdict(&sc->ps, sc->srv->t, sc->s, sc->srv->kinds);
}

/* gnutls_certificate_verify_function: refuse the handshake of a client that is not admitted. */
static int verify_cb(gnutls_session_t s) {
  jk__server_conn *sc = find(s);
  if (!sc) return -1;
  sc->ps.shown = true;
  sc->ps.checked = false; /* a new handshake: never trust an older verdict */
  return jk__server_conn_verdict(sc) ? -1 : 0;
}

int jk__server_cert_cb(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                       unsigned int *pcert_length, gnutls_privkey_t *privkey) {
  (void)req_ca_dn;
  (void)nreqs;
  (void)algos;
  (void)n_algos;
  jk__server_conn *sc = find(s);
  if (!sc) return -1;
  sc->ps.served = true;
  atomic_fetch_add(&sc->srv->handshakes, 1);
  *pcert = &sc->srv->t->pcert; /* function2: GnuTLS does not free them */
  *pcert_length = 1;
  *privkey = sc->srv->t->key;
  return 0;
}

/* gnutls_handshake_hook_func: notes the ClientHello, so that a handshake that fails before our
 * callbacks run (no TLS 1.3, no common algorithm) is still logged when the connection closes,
 * while a bare TCP probe is not. */
static int hello_hook(gnutls_session_t s, unsigned int htype, unsigned when, unsigned int incoming,
                      const gnutls_datum_t *msg) {
  (void)when;
  (void)msg;
  if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming) {
    jk__server_conn *sc = find(s);
    if (sc) sc->ps.hello = true;
  }
  return 0;
}

void jk__server_conn_attach(jk__server_conn *sc, gnutls_session_t s) {
  sc->s = s;
  gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
  gnutls_session_set_verify_function(s, verify_cb);
  gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_PRE, hello_hook);
  pthread_mutex_lock(&map_lock);
  sc->next = map_head;
  map_head = sc;
  pthread_mutex_unlock(&map_lock);
}

void jk__server_conn_detach(jk__server_conn *sc) {
  if (sc->s) {
    pthread_mutex_lock(&map_lock);
    for (jk__server_conn **pp = &map_head; *pp; pp = &(*pp)->next)
      if (*pp == sc) {
        *pp = sc->next;
        break;
      }
    pthread_mutex_unlock(&map_lock);
  }
  jk__peer_closed(&sc->ps);
}
