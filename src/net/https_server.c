/*
 * https_server.c — the node's HTTPS server (include/jukinet/https.h): libmicrohttpd over GnuTLS,
 * TLS 1.3 only, the node certificate with its key on the token, every client verified as a node
 * of the network.
 *
 * Invariants
 * - A client is checked twice: during the handshake (a client certificate is requested and a
 *   verify function refuses the handshake when none comes, or anything but a valid node
 *   certificate) and
 *   again before every request reaches the handler (403, JSON error body): libmicrohttpd itself
 *   does not enforce client certificates, so the second check is the one that must never go.
 *   The verdict is cached per connection until the CRL is reloaded or a minute has passed.
 * - The handler runs only for a verified peer and a complete body of at most max_body bytes.
 *   When Content-Length says more, the 413 comes after the body has been read and dropped (up to
 *   DISCARD_MAX; the client is a verified node): an answer sent while the client is still
 *   sending would be lost to the reset of the close. Beyond DISCARD_MAX, or when the client
 *   waits for "100 Continue", the 413 comes at once. A chunked body that grows past max_body
 *   closes the connection.
 * - The real reason of a refusal goes to stderr once per connection ("jukinetd[warn]: "); the
 *   peer learns only that it was refused.
 * - The handshake's callbacks are https_conn.c's: a connection is attached when libmicrohttpd
 *   announces it, before its handshake, and detached when it closes.
 */
#include "net/https_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define THREADS 4
#define DISCARD_MAX JK__HTTPS_DISCARD_MAX

/* One TLS connection: a jk__server_conn (https_conn.c). */
typedef jk__server_conn conn_ctx;

/* One request. Under an asynchronous handler it is also the ticket (jk_https_ticket). */
typedef struct req_ctx {
  jk_https_ticket ticket; /* first: the ticket handed out is the request */
  uint8_t *body;
  size_t len, cap;
  bool answered;  /* refused before the body */
  bool too_large; /* the body is read and dropped, then 413 */
  /* asynchronous: the connection is suspended from the handler's call until the answer */
  bool suspended;
  atomic_bool finished; /* resp is set (release), read after the resume (acquire) */
  struct MHD_Connection *c;
  jk_https_server *srv;
  jk_https_request req;
  jk_https_response resp;
} req_ctx;

/* ---- the peer check ---- */

/* The verdict on the connection's client, from the cache when it is fresh. */
static jk_err check_client(conn_ctx *cc) { return jk__server_conn_verdict(cc); }

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  jk_https_server *srv = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    conn_ctx *cc = jk_calloc(1, sizeof *cc);
    *socket_context = cc;
    if (!cc) return; /* no state: the certificate callback refuses the handshake */
    cc->srv = srv;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    jk__peer_addr(&cc->ps, ci ? ci->client_addr : NULL);
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci && ci->tls_session) jk__server_conn_attach(cc, (gnutls_session_t)ci->tls_session);
    return;
  }
  conn_ctx *cc = *socket_context;
  if (!cc) return;
  jk__server_conn_detach(cc);
  jk_free(cc);
  *socket_context = NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  req_ctx *r = *con_cls;
  if (!r) return;
  jk_free(r->body);
  jk_free(r);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = 0;
  /* libmicrohttpd reports every failed handshake as "received handshake message out of
   * context" or the like; the real reason is logged by the verify function or when the connection closes */
  if (strstr(line, "handshake")) return;
  jk__tls_warn("https: %s", line);
}

/* ---- requests ---- */

static void free_body(void *p) { jk_free(p); }

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, const char *code, const char *msg) {
  char body[512];
  int n = jk__https_error_body(body, sizeof body, code, msg);
  struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static bool parse_size(const char *s, size_t *out) {
  if (!s || *s < '0' || *s > '9') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > SIZE_MAX) return false;
  *out = (size_t)v;
  return true;
}

static enum MHD_Result reply_too_large(jk_https_server *srv, struct MHD_Connection *c) {
  char msg[128];
  snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", srv->max_body);
  return reply_json(c, MHD_HTTP_CONTENT_TOO_LARGE, "TOOLARGE", msg);
}

/* The first call of a request (headers read, no body yet): refuse before reading anything. */
static enum MHD_Result begin(jk_https_server *srv, struct MHD_Connection *c, req_ctx *r) {
  atomic_fetch_add(&srv->requests, 1);
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_ctx *cc = ci ? ci->socket_context : NULL;
  if (!cc || check_client(cc) != JK_OK) {
    r->answered = true;
    return reply_json(c, MHD_HTTP_FORBIDDEN, "PERM", "the client certificate is refused");
  }
  size_t len = 0;
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl && (!parse_size(cl, &len) || len > srv->max_body)) {
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    if (parse_size(cl, &len) && len <= DISCARD_MAX && !(expect && strcasecmp(expect, "100-continue") == 0)) {
      r->too_large = true;
      return MHD_YES;
    }
    r->answered = true;
    return reply_too_large(srv, c);
  }
  if (len && !(r->body = jk_malloc(len))) return MHD_NO;
  r->cap = len;
  return MHD_YES;
}

static enum MHD_Result append(jk_https_server *srv, req_ctx *r, const char *data, size_t n) {
  if (n > srv->max_body - r->len) {
    jk__tls_warn("https: a chunked request body grew past %zu bytes: connection closed", srv->max_body);
    return MHD_NO;
  }
  if (r->len + n > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n)
      cap = cap > srv->max_body / 2 ? srv->max_body : cap * 2;
    uint8_t *nb = jk_realloc(r->body, cap);
    if (!nb) return MHD_NO;
    r->body = nb;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  return MHD_YES;
}

/* Queue the handler's answer. */
static enum MHD_Result respond(struct MHD_Connection *c, jk_https_response resp) {
  unsigned status = resp.status ? resp.status : 500;
  struct MHD_Response *m;
  if (resp.body_len && !resp.body) status = 500;
  if (resp.body && resp.body_len && status != 500)
    m = MHD_create_response_from_buffer_with_free_callback(resp.body_len, resp.body, free_body);
  else {
    jk_free(resp.body);
    m = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
  }
  if (!m) return MHD_NO;
  MHD_add_response_header(m, "Content-Type", resp.content_type ? resp.content_type : "application/octet-stream");
  MHD_add_response_header(m, "Cache-Control", "no-store");
  enum MHD_Result ret = MHD_queue_response(c, status, m);
  MHD_destroy_response(m);
  return ret;
}

static enum MHD_Result finish(jk_https_server *srv, struct MHD_Connection *c, const char *url, const char *method,
                              req_ctx *r) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_ctx *cc = ci ? ci->socket_context : NULL;
  if (!cc || check_client(cc) != JK_OK) /* the CRL may have changed while the body came in */
    return reply_json(c, MHD_HTTP_FORBIDDEN, "PERM", "the client certificate is refused");
  static const uint8_t empty[1];
  r->req = (jk_https_request){.method = method,
                              .url = url,
                              .body = r->body ? r->body : empty,
                              .body_len = r->len,
                              .peer = &cc->ps.peer,
                              .addr = cc->ps.addr};
  if (srv->async) {
    /* suspended before the handler runs: its jk_https_finish may come at once, from anywhere */
    r->c = c;
    r->srv = srv;
    r->suspended = true;
    atomic_fetch_add(&srv->tickets, 1);
    MHD_suspend_connection(c);
    srv->async(&r->req, (jk_https_ticket *)r, srv->payload);
    return MHD_YES;
  }
  jk_https_response resp = {0, NULL, NULL, 0};
  srv->h(&r->req, &resp, srv->payload);
  return respond(c, resp);
}

void jk_https_finish(jk_https_ticket *t, const jk_https_response *resp) { t->finish(t, resp); }

static void mhd_finish(jk_https_ticket *t, const jk_https_response *resp) {
  req_ctx *r = (req_ctx *)t;
  jk_https_server *srv = r->srv;
  r->resp = *resp;
  atomic_store_explicit(&r->finished, true, memory_order_release);
  MHD_resume_connection(r->c); /* MHD calls on_request again, which sends resp */
  atomic_fetch_sub(&srv->tickets, 1);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  jk_https_server *srv = cls;
  req_ctx *r = *con_cls;
  (void)version;
  if (!r) {
    if (!(r = jk_calloc(1, sizeof *r))) return MHD_NO;
    r->ticket.finish = mhd_finish;
    *con_cls = r;
    return begin(srv, c, r);
  }
  if (r->suspended) { /* resumed: the asynchronous answer is there */
    *upload_size = 0;
    if (!atomic_load_explicit(&r->finished, memory_order_acquire)) return MHD_YES;
    r->suspended = false;
    return respond(c, r->resp);
  }
  if (r->answered) {
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size && r->too_large) {
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->too_large) return reply_too_large(srv, c);
  if (*upload_size) {
    enum MHD_Result ret = append(srv, r, upload, *upload_size);
    *upload_size = 0;
    return ret;
  }
  return finish(srv, c, url, method, r);
}

/* ---- start and stop ---- */

static bool parse_listen(const char *s, struct sockaddr_in *sa) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return false;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  size_t port;
  if (!parse_size(colon + 1, &port) || port > 65535) return false;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

jk_err jk_https_start(jk_https_server **out, jk_tls *t, const char *listen, size_t max_body, jk_https_handler h,
                      void *payload) {
  jk_https_options o = {.max_body = max_body, .kinds = JK_PKI_NODE};
  return jk_https_start_with(out, t, listen, &o, h, payload);
}

jk_err jk_https_start_with(jk_https_server **out, jk_tls *t, const char *listen, const jk_https_options *o,
                           jk_https_handler h, void *payload) {
  if (out) *out = NULL;
  if (!out || !t || !listen || !o || (!h && !o->async)) return jk_error_set(JK_EINVAL, "missing argument");
  struct sockaddr_in sa;
  if (!parse_listen(listen, &sa)) return jk_error_set(JK_EINVAL, "'%s' is not an IPv4 address and port", listen);
  jk_https_server *srv = jk_calloc(1, sizeof *srv);
  if (!srv) return jk_error_set(JK_ENOMEM, NULL);
  srv->t = t;
  srv->h = h;
  srv->async = o->async;
  srv->payload = payload;
  srv->max_body = o->max_body;
  srv->kinds = o->kinds ? o->kinds : JK_PKI_NODE;
  /* a thread per connection, or a pool of epoll threads; a pool of 1 is no pool for MHD */
  unsigned threads = o->threads ? o->threads : THREADS;
  if (o->event_loop) {
    jk_err e = jk__loop_start(srv, &sa, threads);
    if (e) {
      jk_free(srv);
      return e;
    }
    *out = srv;
    return JK_OK;
  }
  unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (o->async) flags |= MHD_ALLOW_SUSPEND_RESUME;
  flags |= o->per_connection ? MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL : MHD_USE_EPOLL;
  if (o->per_connection) threads = 1;
  errno = 0;
  /* the pool size goes last, and only with a pool: MHD warns about a size without one */
  struct MHD_OptionItem pool[] = {{MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)o->conn_memory, NULL},
                                  {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL},
                                  {MHD_OPTION_END, 0, NULL}};
  if (threads < 2) pool[1].option = MHD_OPTION_END;
  if (!o->conn_memory) pool[0] = pool[1], pool[1].option = MHD_OPTION_END; /* MHD's default */
  srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_TRUST, t->ca_pem,
                            MHD_OPTION_HTTPS_PRIORITIES, JK__TLS_PRIORITY, MHD_OPTION_HTTPS_CERT_CALLBACK, jk__server_cert_cb,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)JK__HTTPS_CONN_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)JK__HTTPS_CONN_LIMIT, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
  if (!srv->d) {
    int err = errno;
    jk_free(srv);
    return jk_error_set(JK_EIO, "cannot listen on %s: %s", listen,
                        err ? strerror(err) : "libmicrohttpd refused to start");
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = di ? di->port : ntohs(sa.sin_port);
  *out = srv;
  return JK_OK;
}

unsigned jk_https_port(const jk_https_server *srv) { return srv ? srv->port : 0; }

void jk_https_stop(jk_https_server *srv) {
  if (!srv) return;
  if (srv->loop) {
    jk__loop_stop(srv);
    jk_free(srv);
    return;
  }
  if (srv->async) {
    /* no new connections; then every suspended request must get its answer (the handler's side
     * is still running) before the connections can be closed */
    MHD_quiesce_daemon(srv->d);
    for (int i = 0; i < 30000 && atomic_load(&srv->tickets) > 0; i++) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
    if (atomic_load(&srv->tickets) > 0) jk__tls_warn("https: stopping with %ld requests unanswered", atomic_load(&srv->tickets));
  }
  MHD_stop_daemon(srv->d); /* closes every connection (on_connection frees them), joins the threads */
  jk_free(srv);
}

unsigned long jk__https_server_handshakes(const jk_https_server *srv) {
  return srv ? atomic_load(&((jk_https_server *)(uintptr_t)srv)->handshakes) : 0;
}

unsigned long jk__https_server_requests(const jk_https_server *srv) {
  return srv ? atomic_load(&((jk_https_server *)(uintptr_t)srv)->requests) : 0;
}
