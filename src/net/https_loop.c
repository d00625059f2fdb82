/*
 * https_loop.c — the event-loop engine of the HTTPS server (jk_https_options.event_loop; why:
 * docs/decisions.md D16): epoll threads, each owning its connections, GnuTLS sessions driven
 * non-blocking, and the strict request parser of http1.c.
 *
 * What it saves over libmicrohttpd: an asynchronous answer needs no suspend and resume of the
 * connection (two epoll_ctl, an eventfd write and a wake-up each). Every connection is
 * registered once, edge-triggered, for reading and writing; finished tickets go onto their
 * thread's lock-free stack and the thread is woken only when that stack was empty, so one
 * group commit wakes each thread once. A connection's recv reads up to 16 KiB into its own
 * buffer: a short read means the socket is empty (edge-triggered), so no recv ends in EAGAIN.
 *
 * Invariants
 * - The same checks as the libmicrohttpd engine (https_server.c): the client certificate during
 *   the handshake (verify function) and again before every request (403, cached per connection
 *   until the CRL is reloaded or a minute has passed); the handler runs only for a verified
 *   peer and a complete body of at most max_body bytes; an oversized body is read and dropped
 *   up to JK__HTTPS_DISCARD_MAX before its 413 (at once, and then the connection closes, when
 *   larger or when the client waits for 100 Continue).
 * - A connection belongs to one thread; only its ticket's finish comes from elsewhere, and it
 *   only pushes the connection onto the thread's stack. A connection is never freed while its
 *   ticket is out: it is not read meanwhile, and the idle timeout skips it.
 * - Requests on one connection are answered in order, one at a time: bytes that come early
 *   (pipelining) wait in the buffer until the answer before them is out.
 * - Malformed heads get 400 (431 too large, 411 chunked) and the connection closes; the reason
 *   goes to stderr once, the peer learns only the class of the error.
 */
#include "net/http1.h"
#include "net/https_int.h"

#include "jukinet/buf.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define RAW_CAP 16384 /* a whole TLS record's payload fits, and a short read means "empty" */
#define IN_INIT 4096
#define EVENTS 64
#define ACCEPT_BATCH 16
#define STOP_WAIT_MS 30000

typedef enum cstate {
  S_HANDSHAKE, /* TLS handshake under way */
  S_READ,      /* reading a request (head, then body) */
  S_DISCARD,   /* dropping an oversized body before its 413 */
  S_WAIT,      /* the handler has the request: its ticket is out */
  S_WRITE,     /* an answer (or a 100 Continue) is going out */
} cstate;

typedef struct worker worker;

typedef struct lconn {
  jk_https_ticket ticket; /* first: the ticket handed out is the connection */
  struct lconn *prev, *next; /* the thread's connections */
  struct lconn *next_stack;  /* on a thread's stack of finished tickets or of new connections */
  worker *w;
  int fd;
  gnutls_session_t s;
  jk__server_conn sc; /* what the handshake callbacks see (https_conn.c) */
  cstate st;
  bool drained;     /* the last recv emptied the socket: wait for the next edge */
  bool have_head;   /* head is the current request's */
  bool interim;     /* what is going out is a 100 Continue: the body comes after */
  bool close_after; /* close once the answer is out */
  bool head_only;   /* a HEAD request: the answer goes out without its body */
  bool fin_here;    /* the ticket was finished during the handler's own call */
  time_t last;      /* the last byte in or out (idle timeout) */
  size_t raw_off, raw_len;
  uint8_t *in; /* plaintext read and not consumed yet */
  size_t in_len, in_cap;
  jk__http_head head;
  uint64_t discard; /* bytes of an oversized body still to drop */
  char method[JK__HTTP_METHOD_MAX + 1], url[JK__HTTP_TARGET_MAX + 1];
  jk_https_request req;
  jk_https_response resp;
  uint8_t *out; /* the answer going out */
  size_t out_len, out_off, out_cap;
  uint8_t raw[RAW_CAP]; /* ciphertext from recv, handed to GnuTLS by pull() */
} lconn;

struct worker {
  jk__loop *L;
  pthread_t th;
  bool started;
  int ep, efd;
  lconn *conns;
  _Atomic(lconn *) done;     /* finished tickets, pushed from any thread */
  _Atomic(lconn *) incoming; /* connections another thread accepted for this one */
  atomic_uint nconns;
  bool quiesced;
  time_t scanned;
  time_t date_at;
  char date[40];
};

struct jk__loop {
  jk_https_server *srv;
  int lfd;
  gnutls_certificate_credentials_t cred;
  gnutls_priority_t prio;
  unsigned n;
  worker *w;
  atomic_bool quiesce, stop;
  atomic_uint acks; /* threads that have left the listener */
  atomic_uint total;
  atomic_long full_warned; /* when the connection limit was last logged */
  unsigned idle_s, conn_limit;
};

unsigned jk__https_loop_idle_s = JK__HTTPS_CONN_TIMEOUT_S, jk__https_loop_conn_limit = JK__HTTPS_CONN_LIMIT;

/* The connection whose handler is running on this thread: its finish needs no wake-up. */
static _Thread_local lconn *running;

/* jk_https_hold on this thread: the threads to wake at release, each with the tickets finished
 * for it meanwhile (more than HELD_MAX threads: woken at once). Those tickets are counted as
 * finished only after the wake-up, so that jk_https_stop, which waits for every ticket, cannot
 * free a thread that release is about to wake. */
#define HELD_MAX 16
typedef struct held_entry {
  worker *w;
  long tickets;
} held_entry;
static _Thread_local unsigned held_depth, n_held;
static _Thread_local held_entry held[HELD_MAX];

static void loop_finish(jk_https_ticket *t, const jk_https_response *resp);

/* ---- GnuTLS transport and callbacks ---- */

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t size) {
  lconn *c = p;
  if (c->raw_off == c->raw_len) {
    if (c->drained) {
      gnutls_transport_set_errno(c->s, EAGAIN);
      return -1;
    }
    ssize_t n;
    do
      n = recv(c->fd, c->raw, sizeof c->raw, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) c->drained = true;
      gnutls_transport_set_errno(c->s, e);
      return -1;
    }
    if (n == 0) return 0;
    if ((size_t)n < sizeof c->raw) c->drained = true;
    c->raw_off = 0;
    c->raw_len = (size_t)n;
  }
  size_t k = c->raw_len - c->raw_off;
  if (k > size) k = size;
  memcpy(data, c->raw + c->raw_off, k);
  c->raw_off += k;
  return (ssize_t)k;
}

/* GnuTLS asks whether bytes are waiting; the loop never blocks here. */
static int pull_timeout(gnutls_transport_ptr_t p, unsigned int ms) {
  (void)ms;
  lconn *c = p;
  if (c->raw_off < c->raw_len) return 1;
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  return poll(&pfd, 1, 0);
}

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t size) {
  lconn *c = p;
  ssize_t n;
  do
    n = send(c->fd, data, size, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) gnutls_transport_set_errno(c->s, errno);
  return n;
}

/* ---- connections ---- */

static void stack_push(_Atomic(lconn *) *top, lconn *c, bool *was_empty) {
  lconn *old = atomic_load_explicit(top, memory_order_relaxed);
  do
    c->next_stack = old;
  while (!atomic_compare_exchange_weak_explicit(top, &old, c, memory_order_release, memory_order_relaxed));
  if (was_empty) *was_empty = old == NULL;
}

static void wake(worker *w) {
  uint64_t one = 1;
  ssize_t n;
  do
    n = write(w->efd, &one, sizeof one);
  while (n < 0 && errno == EINTR);
}

static void conn_free(lconn *c) {
  worker *w = c->w;
  if (c->prev) c->prev->next = c->next;
  else if (w->conns == c) w->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  if (c->fd >= 0) close(c->fd); /* leaves the epoll set with it */
  jk__server_conn_detach(&c->sc);
  if (c->s) gnutls_deinit(c->s);
  jk_free(c->resp.body);
  jk_free(c->in);
  jk_free(c->out);
  atomic_fetch_sub(&w->nconns, 1);
  atomic_fetch_sub(&w->L->total, 1);
  jk_free(c);
}

static lconn *conn_new(jk__loop *L, worker *w, int fd, const struct sockaddr *sa) {
  lconn *c = jk_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->ticket.finish = loop_finish;
  c->w = w;
  c->fd = fd;
  c->st = S_HANDSHAKE;
  c->last = time(NULL);
  c->sc.srv = L->srv;
  jk__peer_addr(&c->sc.ps, sa);
  int rc = gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
  if (rc >= 0) rc = gnutls_priority_set(c->s, L->prio);
  if (rc >= 0) rc = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, L->cred);
  if (rc < 0) {
    if (c->s) gnutls_deinit(c->s);
    jk_free(c);
    return NULL;
  }
  jk__server_conn_attach(&c->sc, c->s);
  gnutls_handshake_set_timeout(c->s, 0); /* the idle timeout covers slow handshakes */
  gnutls_transport_set_ptr(c->s, c);
  gnutls_transport_set_pull_function(c->s, pull);
  gnutls_transport_set_pull_timeout_function(c->s, pull_timeout);
  gnutls_transport_set_push_function(c->s, push);
  return c;
}

static void link_conn(worker *w, lconn *c) {
  c->prev = NULL;
  c->next = w->conns;
  if (w->conns) w->conns->prev = c;
  w->conns = c;
}

/* ---- answers ---- */

static const char *reason_of(unsigned status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

/* Room for n bytes in a connection's buffer (in or out). */
static bool reserve(uint8_t **buf, size_t *cap, size_t n) {
  if (n <= *cap) return true;
  uint8_t *nb = jk_realloc(*buf, n);
  if (!nb) return false;
  *buf = nb;
  *cap = n;
  return true;
}

static bool out_reserve(lconn *c, size_t n) { return reserve(&c->out, &c->out_cap, n); }
static bool in_reserve(lconn *c, size_t n) { return reserve(&c->in, &c->in_cap, n); }

/* Put an answer in c->out (the body is copied; the caller keeps it). False: out of memory, and
 * the connection is set to close without an answer (never left where it was: drive() would parse
 * the same request again). Assembled without printf: its format parsing was 3 % of these threads (perf). */
static bool compose(lconn *c, unsigned status, const char *ctype, const uint8_t *body, size_t len) {
  worker *w = c->w;
  time_t now = time(NULL);
  if (now != w->date_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    w->date_at = now;
  }
  char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10), (char)('0' + status % 10), 0};
  char clen[JK_DEC_MAX];
  jk_fmt_u64(clen, len);
  const char *parts[] = {"HTTP/1.1 ", code, " ", reason_of(status), "\r\nDate: ", w->date, "\r\nContent-Type: ", ctype,
                         "\r\nCache-Control: no-store\r\nContent-Length: ", clen, "\r\n",
                         c->close_after ? "Connection: close\r\n" : c->head.http10 ? "Connection: keep-alive\r\n" : "",
                         "\r\n"};
  size_t n = 0, lens[sizeof parts / sizeof parts[0]];
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    n += lens[i] = strlen(parts[i]);
  if (c->head_only) len = 0;
  if (!out_reserve(c, n + len)) { /* nothing to send then: the connection closes */
    c->out_len = c->out_off = 0;
    c->close_after = true;
    c->st = S_WRITE;
    return false;
  }
  uint8_t *p = c->out;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    memcpy(p, parts[i], lens[i]);
    p += lens[i];
  }
  if (len) memcpy(p, body, len);
  c->out_len = n + len;
  c->out_off = 0;
  c->st = S_WRITE;
  return true;
}

/* An error answer with a JSON body; close: the connection ends after it. */
static bool compose_error(lconn *c, unsigned status, const char *code, const char *msg, bool close) {
  char body[512];
  int n = jk__https_error_body(body, sizeof body, code, msg);
  if (close) c->close_after = true;
  return compose(c, status, "application/json", (const uint8_t *)body, (size_t)n);
}

/* The handler's answer, as https_server.c's respond(): a body without status is a 500. */
static bool compose_resp(lconn *c) {
  jk_https_response r = c->resp;
  c->resp = (jk_https_response){0};
  unsigned status = r.status ? r.status : 500;
  if (r.body_len && !r.body) status = 500;
  bool ok;
  if (r.body && r.body_len && status != 500)
    ok = compose(c, status, r.content_type ? r.content_type : "application/octet-stream", r.body, r.body_len);
  else
    ok = compose(c, status, r.content_type ? r.content_type : "application/octet-stream", NULL, 0);
  jk_free(r.body);
  return ok;
}

/* ---- requests ---- */

static void consume(lconn *c, size_t n) {
  if (n > c->in_len) n = c->in_len;
  memmove(c->in, c->in + n, c->in_len - n);
  c->in_len -= n;
}

static void loop_finish(jk_https_ticket *t, const jk_https_response *resp) {
  lconn *c = (lconn *)t;
  worker *w = c->w; /* once pushed, c may be answered and freed at any moment */
  jk_https_server *srv = w->L->srv;
  c->resp = *resp;
  if (running == c) {
    c->fin_here = true;
  } else if (held_depth) {
    size_t i = 0;
    while (i < n_held && held[i].w != w)
      i++;
    if (i == n_held && n_held < HELD_MAX) held[n_held++] = (held_entry){w, 0};
    stack_push(&w->done, c, NULL);
    if (i < n_held) {
      held[i].tickets++; /* counted at the release, after its wake-up */
      return;
    }
    wake(w);
  } else {
    bool was_empty;
    stack_push(&w->done, c, &was_empty);
    if (was_empty) wake(w);
  }
  atomic_fetch_sub(&srv->tickets, 1);
}

/* The request in c->in is whole: hand it to the handler. */
static void dispatch(lconn *c) {
  jk_https_server *srv = c->w->L->srv;
  memcpy(c->method, c->in + c->head.method_off, c->head.method_len);
  c->method[c->head.method_len] = 0;
  memcpy(c->url, c->in + c->head.target_off, c->head.path_len);
  c->url[c->head.path_len] = 0;
  c->head_only = strcmp(c->method, "HEAD") == 0;
  static const uint8_t empty[1];
  c->req = (jk_https_request){.method = c->method,
                              .url = c->url,
                              .body = c->head.content_length ? c->in + c->head.head_len : empty,
                              .body_len = (size_t)c->head.content_length,
                              .peer = &c->sc.ps.peer,
                              .addr = c->sc.ps.addr};
  c->st = S_WAIT;
  if (srv->async) {
    atomic_fetch_add(&srv->tickets, 1);
    c->resp = (jk_https_response){0};
    c->fin_here = false;
    running = c;
    srv->async(&c->req, &c->ticket, srv->payload);
    running = NULL;
    /* finished during the call, on this thread: loop_finish left it off the stack. Otherwise
     * c is not to be touched here: another thread may have pushed it already */
    if (!c->fin_here) return;
  } else {
    c->resp = (jk_https_response){0};
    srv->h(&c->req, &c->resp, srv->payload);
  }
  if (!compose_resp(c)) compose_error(c, 500, "INTERNAL", "out of memory", true);
}

/* Work on what is in c->in. True: the state moved on (call again); false: more bytes needed. */
static bool advance(lconn *c) {
  jk_https_server *srv = c->w->L->srv;
  if (c->st == S_DISCARD) {
    size_t drop = c->in_len < c->discard ? c->in_len : (size_t)c->discard;
    consume(c, drop);
    c->discard -= drop;
    if (c->discard) return false;
    char msg[128];
    snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", srv->max_body);
    c->have_head = false;
    c->head.head_len = 0;
    c->head.content_length = 0;
    compose_error(c, 413, "TOOLARGE", msg, false);
    return true;
  }
  if (!c->have_head) {
    const char *why = NULL;
    jk__http_rc rc = jk__http_parse_head(c->in, c->in_len, HEAD_MAX, &c->head, &why);
    if (rc == JK__HTTP_MORE) return false;
    atomic_fetch_add(&srv->requests, 1);
    if (rc != JK__HTTP_OK) {
      jk__tls_warn("https: a bad request from %s: %s", c->sc.ps.addr, why);
      if (rc == JK__HTTP_TOO_LARGE) compose_error(c, 431, "TOOLARGE", "the request head is larger than 8 KiB", true);
      else compose_error(c, 400, "INVALID", "a malformed HTTP request", true);
      return true;
    }
    c->have_head = true;
    if (c->head.close) c->close_after = true;
    if (jk__server_conn_verdict(&c->sc)) {
      compose_error(c, 403, "PERM", "the client certificate is refused", true);
      return true;
    }
    if (c->head.transfer_encoding) {
      compose_error(c, 411, "INVALID", "a request body needs a Content-Length (no chunked transfer)", true);
      return true;
    }
    if (c->head.content_length > srv->max_body) {
      char msg[128];
      snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", srv->max_body);
      if (c->head.content_length <= JK__HTTPS_DISCARD_MAX && !c->head.expect_continue) {
        consume(c, c->head.head_len);
        c->discard = c->head.content_length;
        c->st = S_DISCARD;
        return true;
      }
      compose_error(c, 413, "TOOLARGE", msg, true);
      return true;
    }
    if (!in_reserve(c, c->head.head_len + (size_t)c->head.content_length)) {
      compose_error(c, 500, "INTERNAL", "out of memory", true);
      return true;
    }
    if (c->head.expect_continue && c->in_len < c->head.head_len + c->head.content_length) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!out_reserve(c, sizeof cont - 1)) {
        compose_error(c, 500, "INTERNAL", "out of memory", true);
        return true;
      }
      memcpy(c->out, cont, sizeof cont - 1);
      c->out_len = sizeof cont - 1;
      c->out_off = 0;
      c->interim = true;
      c->st = S_WRITE;
      return true;
    }
  }
  if (c->in_len < c->head.head_len + c->head.content_length) return false;
  /* the CRL may have changed while the body came in */
  if (jk__server_conn_verdict(&c->sc)) {
    compose_error(c, 403, "PERM", "the client certificate is refused", true);
    return true;
  }
  dispatch(c);
  return true;
}

/* Read what the socket has into c->in. True: bytes came; false: none now (or closed: *gone). */
static bool read_some(lconn *c, bool *gone) {
  /* a head grows the buffer to HEAD_MAX at most (then advance() has a whole head, or a 431);
   * a body has its room reserved by advance(); a dropped body is consumed as it comes */
  if (c->in_len == c->in_cap) {
    size_t cap = !c->in ? IN_INIT : c->st == S_READ && !c->have_head && c->in_cap < HEAD_MAX ? HEAD_MAX : 0;
    if (!cap) return false;
    if (!in_reserve(c, cap)) {
      *gone = true;
      return false;
    }
  }
  for (;;) {
    ssize_t r = gnutls_record_recv(c->s, c->in + c->in_len, c->in_cap - c->in_len);
    if (r > 0) {
      c->in_len += (size_t)r;
      c->last = time(NULL);
      return true;
    }
    if (r == GNUTLS_E_INTERRUPTED) continue;
    if (r == GNUTLS_E_AGAIN) return false;
    *gone = true; /* closed by the peer (0), or a TLS error: nothing to answer */
    return false;
  }
}

/* Send what c->out holds. True: all of it is out; false: wait for the socket (or *gone). */
static bool flush(lconn *c, bool *gone) {
  while (c->out_off < c->out_len) {
    ssize_t r = gnutls_record_send(c->s, c->out + c->out_off, c->out_len - c->out_off);
    if (r == GNUTLS_E_AGAIN) return false;
    if (r == GNUTLS_E_INTERRUPTED) continue;
    if (r < 0) {
      *gone = true;
      return false;
    }
    c->out_off += (size_t)r;
  }
  c->last = time(NULL);
  return true;
}

/* Drive a connection as far as it goes without waiting. False: it was freed. */
static bool drive(lconn *c) {
  for (;;) {
    bool gone = false;
    switch (c->st) {
    case S_HANDSHAKE: {
      int r = gnutls_handshake(c->s);
      if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) return true;
      if (r < 0) {
        conn_free(c);
        return false;
      }
      c->st = S_READ;
      c->last = time(NULL);
      continue;
    }
    case S_READ:
    case S_DISCARD:
      if (advance(c)) continue;
      if (read_some(c, &gone)) continue;
      if (gone) {
        conn_free(c);
        return false;
      }
      return true;
    case S_WAIT:
      return true;
    case S_WRITE:
      if (!flush(c, &gone)) {
        if (!gone) return true;
        conn_free(c);
        return false;
      }
      if (c->interim) { /* 100 Continue is out: now the body */
        c->interim = false;
        c->st = S_READ;
        continue;
      }
      if (c->close_after) {
        conn_free(c);
        return false;
      }
      if (c->have_head) consume(c, c->head.head_len + (size_t)c->head.content_length);
      c->have_head = false;
      c->head_only = false;
      c->st = S_READ;
      if (c->out_cap > 65536) { /* a big answer: do not keep its buffer */
        jk_free(c->out);
        c->out = NULL;
        c->out_cap = 0;
      }
      if (c->in_cap > 65536 && c->in_len <= IN_INIT) {
        uint8_t *nb = jk_realloc(c->in, IN_INIT);
        if (nb) c->in = nb, c->in_cap = IN_INIT;
      }
      continue;
    }
  }
}

void jk_https_hold(void) { held_depth++; }

void jk_https_release(void) {
  if (!held_depth || --held_depth) return;
  for (unsigned i = 0; i < n_held; i++) {
    jk_https_server *srv = held[i].w->L->srv;
    wake(held[i].w);
    atomic_fetch_sub(&srv->tickets, held[i].tickets); /* the thread may be gone after this */
  }
  n_held = 0;
}

/* ---- the threads ---- */

static worker *least_loaded(jk__loop *L) {
  worker *best = &L->w[0];
  for (unsigned i = 1; i < L->n; i++)
    if (atomic_load(&L->w[i].nconns) < atomic_load(&best->nconns)) best = &L->w[i];
  return best;
}

static void accept_some(worker *self) {
  jk__loop *L = self->L;
  for (int k = 0; k < ACCEPT_BATCH && !atomic_load(&L->quiesce); k++) {
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    int fd = accept4(L->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) jk__tls_warn("https: accept: %s", strerror(errno));
      return;
    }
    if (atomic_load(&L->total) >= L->conn_limit) {
      close(fd);
      long now = (long)time(NULL), last = atomic_load(&L->full_warned);
      if (now - last >= 60 && atomic_compare_exchange_strong(&L->full_warned, &last, now))
        jk__tls_warn("https: %u connections at once: new ones are refused", L->conn_limit);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    worker *to = least_loaded(L);
    lconn *c = conn_new(L, to, fd, (struct sockaddr *)&sa);
    if (!c) {
      close(fd);
      continue;
    }
    atomic_fetch_add(&L->total, 1);
    atomic_fetch_add(&to->nconns, 1);
    /* on the owner's list before its first event can come (the owner takes its stack of new
     * connections after epoll_wait, before it looks at the events) */
    if (to == self) link_conn(self, c);
    else stack_push(&to->incoming, c, NULL);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(to->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      jk__tls_warn("https: epoll_ctl: %s", strerror(errno));
      if (to == self) conn_free(c);
      else shutdown(fd, SHUT_RDWR); /* on the owner's list: its idle timeout frees it */
    }
  }
}

static void take_incoming(worker *w) {
  lconn *c = atomic_exchange_explicit(&w->incoming, NULL, memory_order_acquire);
  while (c) {
    lconn *next = c->next_stack;
    link_conn(w, c);
    c = next;
  }
}

/* Answers finished on other threads: send them. */
static void take_done(worker *w) {
  lconn *c = atomic_exchange_explicit(&w->done, NULL, memory_order_acquire);
  while (c) {
    lconn *next = c->next_stack;
    if (!compose_resp(c)) compose_error(c, 500, "INTERNAL", "out of memory", true);
    drive(c);
    c = next;
  }
}

static void expire(worker *w, time_t now) {
  if (now == w->scanned) return;
  w->scanned = now;
  for (lconn *c = w->conns, *next; c; c = next) {
    next = c->next;
    if (c->st != S_WAIT && now - c->last >= (time_t)w->L->idle_s) conn_free(c);
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  jk__loop *L = w->L;
  struct epoll_event ev[EVENTS];
  for (;;) {
    int n = epoll_wait(w->ep, ev, EVENTS, 1000);
    take_incoming(w);
    for (int i = 0; i < n; i++) {
      void *p = ev[i].data.ptr;
      if (p == L) accept_some(w);
      else if (p == w) {
        uint64_t v;
        while (read(w->efd, &v, sizeof v) < 0 && errno == EINTR) {
        }
        if (atomic_load(&L->quiesce) && !w->quiesced) {
          epoll_ctl(w->ep, EPOLL_CTL_DEL, L->lfd, NULL);
          w->quiesced = true;
          atomic_fetch_add(&L->acks, 1);
        }
      } else {
        lconn *c = p;
        if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->drained = false;
        drive(c);
      }
    }
    take_incoming(w); /* accept_some may have given this thread connections of its own */
    take_done(w);
    if (atomic_load(&L->stop)) break;
    expire(w, time(NULL));
  }
  take_done(w); /* the last answers: one attempt to send each, then everything closes */
  while (w->conns)
    conn_free(w->conns);
  return NULL;
}

/* ---- start and stop ---- */

static void loop_free(jk__loop *L) {
  for (unsigned i = 0; i < L->n; i++) {
    if (L->w[i].ep >= 0) close(L->w[i].ep);
    if (L->w[i].efd >= 0) close(L->w[i].efd);
  }
  if (L->lfd >= 0) close(L->lfd);
  if (L->cred) gnutls_certificate_free_credentials(L->cred);
  if (L->prio) gnutls_priority_deinit(L->prio);
  jk_free(L->w);
  jk_free(L);
}

static void join_all(jk__loop *L) {
  atomic_store(&L->stop, true);
  for (unsigned i = 0; i < L->n; i++)
    if (L->w[i].started) wake(&L->w[i]);
  for (unsigned i = 0; i < L->n; i++)
    if (L->w[i].started) pthread_join(L->w[i].th, NULL);
}

jk_err jk__loop_start(jk_https_server *srv, const struct sockaddr_in *sa, unsigned threads) {
  jk_err e = jk__tls_global_init();
  if (e) return e;
  jk__loop *L = jk_calloc(1, sizeof *L);
  if (!L) return jk_error_set(JK_ENOMEM, NULL);
  L->srv = srv;
  L->lfd = -1;
  L->idle_s = jk__https_loop_idle_s;
  L->conn_limit = jk__https_loop_conn_limit;
  L->n = threads ? threads : 1;
  if (!(L->w = jk_calloc(L->n, sizeof *L->w))) {
    jk_free(L);
    return jk_error_set(JK_ENOMEM, NULL);
  }
  for (unsigned i = 0; i < L->n; i++)
    L->w[i].ep = L->w[i].efd = -1;
  int rc;
  if ((rc = gnutls_priority_init(&L->prio, JK__TLS_PRIORITY, NULL)) < 0 ||
      (rc = gnutls_certificate_allocate_credentials(&L->cred)) < 0) {
    loop_free(L);
    return jk_error_set(JK_ECRYPTO, "cannot set TLS up: %s", gnutls_strerror(rc));
  }
  gnutls_datum_t ca = {(unsigned char *)srv->t->ca_pem, (unsigned)strlen(srv->t->ca_pem)};
  if ((rc = gnutls_certificate_set_x509_trust_mem(L->cred, &ca, GNUTLS_X509_FMT_PEM)) < 0) {
    loop_free(L);
    return jk_error_set(JK_ECRYPTO, "cannot read the network CA: %s", gnutls_strerror(rc));
  }
  gnutls_certificate_set_retrieve_function2(L->cred, jk__server_cert_cb);
  char where[64];
  snprintf(where, sizeof where, "port %u", (unsigned)ntohs(sa->sin_port));
  int one = 1;
  L->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (L->lfd < 0 || setsockopt(L->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(L->lfd, (const struct sockaddr *)sa, sizeof *sa) != 0 || listen(L->lfd, 512) != 0) {
    int err = errno;
    loop_free(L);
    return jk_error_set(JK_EIO, "cannot listen on %s: %s", where, strerror(err));
  }
  struct sockaddr_in bound;
  socklen_t bl = sizeof bound;
  srv->port = getsockname(L->lfd, (struct sockaddr *)&bound, &bl) == 0 ? ntohs(bound.sin_port) : ntohs(sa->sin_port);
  for (unsigned i = 0; i < L->n; i++) {
    worker *w = &L->w[i];
    w->L = L;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = L};
    struct epoll_event eev = {.events = EPOLLIN, .data.ptr = w};
    if (w->ep < 0 || w->efd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, L->lfd, &lev) != 0 ||
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &eev) != 0) {
      int err = errno;
      join_all(L);
      loop_free(L);
      return jk_error_set(JK_EIO, "cannot set the HTTPS threads up: %s", strerror(err));
    }
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
      join_all(L);
      loop_free(L);
      return jk_error_set(JK_EIO, "cannot start the HTTPS threads");
    }
    w->started = true;
  }
  srv->loop = L;
  return JK_OK;
}

void jk__loop_stop(jk_https_server *srv) {
  jk__loop *L = srv->loop;
  if (!L) return;
  /* no new connections: every thread leaves the listener, then it closes */
  atomic_store(&L->quiesce, true);
  for (unsigned i = 0; i < L->n; i++)
    wake(&L->w[i]);
  for (int i = 0; i < 5000 && atomic_load(&L->acks) < L->n; i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  /* every ticket must be finished (the handler's side is still running) before the
   * connections can be closed */
  for (int i = 0; i < STOP_WAIT_MS && atomic_load(&srv->tickets) > 0; i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  if (atomic_load(&srv->tickets) > 0)
    jk__tls_warn("https: stopping with %ld requests unanswered", atomic_load(&srv->tickets));
  join_all(L);
  loop_free(L);
  srv->loop = NULL;
}
