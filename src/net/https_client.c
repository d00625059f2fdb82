/*
 * https_client.c — the node's HTTPS client (include/jukinet/https.h): libcurl's GnuTLS build,
 * one easy handle per jk_https_client so its connection stays alive between requests.
 *
 * Invariants
 * - TLS 1.3 only; only the network CA is trusted (CURLOPT_CAINFO, CURLOPT_CAPATH cleared: the
 *   system store never counts), libcurl also reads the CRL file for every new connection.
 * - Node certificates name nodes, not hosts: the host name is not checked (VERIFYHOST 0).
 *   Instead a CURLOPT_PREREQFUNCTION callback, which libcurl calls once the connection is up
 *   (new or reused, TLS done) and before a byte of the request is sent, checks the server's
 *   certificate with jk_pki_verify (the CA, the CRL held by jk_tls, node shape) and its node id
 *   against the one expected; anything else aborts the transfer: the body never reaches a
 *   wrong peer.
 * - No TLS session resumption: every new connection shows its certificate again.
 * - The PIN is never given to libcurl: GnuTLS's PKCS#11 PIN callback (tls.c) answers for the
 *   token when libcurl loads the key, from guarded memory.
 * - No "Expect: 100-continue" round trip; no redirects; responses are capped (RESP_MAX).
 */
#include "net/https_int.h"

#include "jukinet/buf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RESP_MAX (64u << 20)
#define PEER_TIMEOUT_MS 10000L /* jk_https_client_peer: connect and handshake */

struct jk_https_client {
  jk_tls *t;
  CURL *h;
  jk_buf resp;
  const char *expect; /* during a transfer: the node id the server must have */
  jk_err refusal;     /* why the pre-request check or the write callback stopped the transfer */
  jk_tls_peer *capture; /* jk_https_client_peer: the verified server goes here, nothing is sent */
  bool captured;
  char why[512];
  char errbuf[CURL_ERROR_SIZE];
  unsigned long connects;
  char ctype[128]; /* Content-Type of the last response, "" when none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_once_rc;

static void curl_init(void) { curl_once_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* libcurl's pre-request callback: the server must be the node expected. */
static int prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port) {
  jk_https_client *c = clientp;
  (void)primary_ip;
  (void)primary_port;
  (void)local_ip;
  (void)local_port;
  struct curl_tlssessioninfo *info = NULL;
  jk_tls_peer peer;
  jk_err e;
  if (curl_easy_getinfo(c->h, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
      info->backend != CURLSSLBACKEND_GNUTLS || !info->internals) {
    e = jk_error_set(JK_EPERM, "no TLS session to check");
  } else if (!(e = jk__tls_check_peer(c->t, (gnutls_session_t)info->internals, JK_PKI_NODE, &peer))) {
    if (strcmp(peer.node, c->expect) != 0)
      e = jk_error_set(JK_EPERM, "the server is node %s, not %s", peer.node, c->expect);
    else if (c->capture) { /* jk_https_client_peer: keep the peer, stop before the request */
      *c->capture = peer;
      c->captured = true;
      return CURL_PREREQFUNC_ABORT;
    }
    jk__tls_peer_clear(&peer);
  }
  if (!e) return CURL_PREREQFUNC_OK;
  c->refusal = e;
  snprintf(c->why, sizeof c->why, "%s", jk_error_last());
  return CURL_PREREQFUNC_ABORT;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
  jk_https_client *c = userdata;
  if (jk_buf_append(&c->resp, p, size * n) != JK_OK) {
    c->refusal = JK_ETOOLARGE;
    snprintf(c->why, sizeof c->why, "%s", jk_error_last());
    return 0;
  }
  return size * n;
}

jk_err jk_https_client_new(jk_https_client **out, jk_tls *t) {
  if (out) *out = NULL;
  if (!out || !t) return jk_error_set(JK_EINVAL, "missing argument");
  jk_err e = jk__tls_global_init();
  if (e) return e;
  pthread_once(&curl_once, curl_init);
  if (curl_once_rc != CURLE_OK)
    return jk_error_set(JK_ECRYPTO, "curl_global_init failed: %s", curl_easy_strerror(curl_once_rc));
  const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
  if (!vi || vi->version_num < 0x075000 || !vi->ssl_version || strncmp(vi->ssl_version, "GnuTLS", 6) != 0)
    return jk_error_set(JK_EUNSUPPORTED, "libcurl %s with %s: libcurl 7.80 or later built with GnuTLS is needed",
                        vi && vi->version ? vi->version : "?", vi && vi->ssl_version ? vi->ssl_version : "no TLS");
  jk_https_client *c = jk_calloc(1, sizeof *c);
  if (!c) return jk_error_set(JK_ENOMEM, NULL);
  c->t = t;
  c->resp.max = RESP_MAX;
  if (!(c->h = curl_easy_init())) {
    jk_free(c);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  CURL *h = c->h;
  CURLcode rc = CURLE_OK;
#define SET(opt, val) (void)(rc == CURLE_OK && (rc = curl_easy_setopt(h, opt, val)) == CURLE_OK)
  SET(CURLOPT_PROTOCOLS_STR, "https");
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSLVERSION, (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3));
  SET(CURLOPT_SSLCERT, t->cert_file);
  SET(CURLOPT_SSLCERTTYPE, "PEM");
  SET(CURLOPT_SSLKEY, t->key_uri);
  SET(CURLOPT_CAINFO, t->ca_file);
  SET(CURLOPT_CAPATH, NULL);
  if (t->crl_file) SET(CURLOPT_CRLFILE, t->crl_file);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 0L); /* node certificates name nodes: see prereq() */
  SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
  SET(CURLOPT_PREREQFUNCTION, prereq);
  SET(CURLOPT_PREREQDATA, c);
  SET(CURLOPT_WRITEFUNCTION, on_data);
  SET(CURLOPT_WRITEDATA, c);
  SET(CURLOPT_ERRORBUFFER, c->errbuf);
  SET(CURLOPT_TCP_NODELAY, 1L);
#undef SET
  if (rc != CURLE_OK) {
    e = jk_error_set(JK_EUNSUPPORTED, "curl_easy_setopt failed: %s", curl_easy_strerror(rc));
    jk_https_client_free(c);
    return e;
  }
  *out = c;
  return JK_OK;
}

void jk_https_client_free(jk_https_client *c) {
  if (!c) return;
  if (c->h) curl_easy_cleanup(c->h);
  jk_buf_free(&c->resp);
  jk_free(c);
}

static bool header_safe(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
  return true;
}

static jk_err curl_error(jk_https_client *c, CURLcode rc, const char *url, long timeout_ms, bool fresh_tls) {
  const char *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
  switch (rc) {
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
    /* under TLS 1.3 a server that refuses our certificate just closes the connection after
     * the handshake: say so, it is the likely cause */
    if (fresh_tls)
      return jk_error_set(JK_EIO,
                          "%s: the server closed the connection after the TLS handshake: it may refuse "
                          "this node's certificate (%s)",
                          url, msg);
    break;
  case CURLE_ABORTED_BY_CALLBACK:
  case CURLE_WRITE_ERROR:
    if (c->refusal) return jk_error_set(c->refusal, "%s: %s", url, c->why);
    break;
  case CURLE_OPERATION_TIMEDOUT: return jk_error_set(JK_EIO, "%s: no answer within %ld ms (%s)", url, timeout_ms, msg);
  case CURLE_PEER_FAILED_VERIFICATION:
    return jk_error_set(JK_EPERM, "%s: the server's certificate is refused: %s", url, msg);
  case CURLE_OUT_OF_MEMORY: return jk_error_set(JK_ENOMEM, NULL);
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL: return jk_error_set(JK_EINVAL, "%s: %s", url, msg);
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_USE_SSL_FAILED: return jk_error_set(JK_ECRYPTO, "%s: TLS failure: %s", url, msg);
  default: break;
  }
  return jk_error_set(JK_EIO, "%s: %s", url, msg);
}

jk_err jk_https_post(jk_https_client *c, const char *url, const char *expect_node, const void *body, size_t len,
                     const char *content_type, long timeout_ms, unsigned *status, uint8_t **resp, size_t *resp_len) {
  if (status) *status = 0;
  if (resp) *resp = NULL;
  if (resp_len) *resp_len = 0;
  if (!c || !url || !expect_node || !*expect_node || (!body && len) || !status || !resp || !resp_len)
    return jk_error_set(JK_EINVAL, "missing argument");
  if (strncasecmp(url, "https://", 8) != 0) return jk_error_set(JK_EINVAL, "%s is not an https:// URL", url);
  if (timeout_ms <= 0) return jk_error_set(JK_EINVAL, "the timeout must be positive");
  char ct[256];
  if ((size_t)snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "application/octet-stream") >=
          sizeof ct ||
      !header_safe(ct))
    return jk_error_set(JK_EINVAL, "bad content type");
  struct curl_slist *hdrs = NULL, *more;
  if (!(hdrs = curl_slist_append(NULL, "Expect:")) || !(more = curl_slist_append(hdrs, ct))) {
    curl_slist_free_all(hdrs);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  hdrs = more;
  jk_buf_reset(&c->resp);
  c->expect = expect_node;
  c->refusal = JK_OK;
  c->why[0] = 0;
  c->errbuf[0] = 0;
  CURL *h = c->h;
  CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (rc == CURLE_OK) rc = curl_easy_perform(h);
  long connects = 0, code = 0;
  curl_off_t tls_done = 0;
  if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
    c->connects += (unsigned long)connects;
  bool fresh_tls =
      connects > 0 && curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_done) == CURLE_OK && tls_done > 0;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
  curl_slist_free_all(hdrs);
  c->expect = NULL;
  if (rc != CURLE_OK) {
    jk_buf_reset(&c->resp);
    return curl_error(c, rc, url, timeout_ms, fresh_tls);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  char *ctype = NULL;
  c->ctype[0] = '\0';
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
    snprintf(c->ctype, sizeof c->ctype, "%s", ctype);
  size_t n = 0;
  uint8_t *data = (uint8_t *)jk_buf_steal(&c->resp, &n);
  if (!data && !(data = jk_calloc(1, 1))) return jk_error_set(JK_ENOMEM, NULL);
  *status = (unsigned)code;
  *resp = data;
  *resp_len = n;
  return JK_OK;
}

const char *jk_https_client_content_type(const jk_https_client *c) { return c ? c->ctype : ""; }

jk_err jk_https_client_peer(jk_https_client *c, const char *url, const char *expect_node, jk_tls_peer *out) {
  if (out) memset(out, 0, sizeof *out);
  if (!c || !url || !expect_node || !*expect_node || !out) return jk_error_set(JK_EINVAL, "missing argument");
  if (strncasecmp(url, "https://", 8) != 0) return jk_error_set(JK_EINVAL, "%s is not an https:// URL", url);
  c->expect = expect_node;
  c->refusal = JK_OK;
  c->capture = out;
  c->captured = false;
  c->why[0] = 0;
  c->errbuf[0] = 0;
  CURL *h = c->h;
  /* a GET that the pre-request callback stops once the server is verified: nothing is sent
   * (libcurl then closes the connection: a stopped transfer's connection is never reused) */
  CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, PEER_TIMEOUT_MS);
  if (rc == CURLE_OK) rc = curl_easy_perform(h);
  long connects = 0;
  curl_off_t tls_done = 0;
  if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
    c->connects += (unsigned long)connects;
  bool fresh_tls =
      connects > 0 && curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_done) == CURLE_OK && tls_done > 0;
  c->expect = NULL;
  c->capture = NULL;
  jk_buf_reset(&c->resp);
  if (c->captured) return JK_OK;
  memset(out, 0, sizeof *out);
  return curl_error(c, rc == CURLE_OK ? CURLE_GOT_NOTHING : rc, url, PEER_TIMEOUT_MS, fresh_tls);
}

unsigned long jk__https_client_connects(const jk_https_client *c) { return c ? c->connects : 0; }
