/*
 * bench_provision — the provision benchmark (issue 5): a closed-loop HTTPS load generator, and
 * the bare libmicrohttpd responder our server's rate is reported against.
 *
 *   bench_provision bare --listen ADDR:PORT --cert-out FILE [--threads N]
 *       libmicrohttpd, TLS 1.3 only, epoll, a pool of N threads (default 2, the cores of the
 *       benchmark machine), answering every request with one fixed JSON body of the size of a
 *       real provision answer. Generates an Ed25519 key and a self-signed certificate in memory,
 *       writes the certificate (the client's CA) to FILE, prints `port N` and serves until
 *       SIGTERM or SIGINT. It asks for no client certificate.
 *   bench_provision load --host H --port P --path PATH --ca CAFILE
 *                        [--cert CERTFILE --module PKCS11_MODULE --key-uri 'pkcs11:…;type=private']
 *                        [--pin-env VAR] --bodies FILE --conns K --seconds S [--warmup W]
 *       K keep-alive TLS 1.3 connections, each with one POST outstanding; the bodies are FILE's
 *       lines, used round-robin. The first W seconds (default 1) are warm-up; then S seconds are
 *       counted. Prints one JSON line:
 *         {"conns":K,"seconds":S,"requests":N,"rate":R,"p50_us":…,"p99_us":…,
 *          "status":{"200":…,"404":…,"429":…,"other":…},"errors":E,"reconnects":C}
 *       errors: connections that failed (connect, TLS, server closed mid-request, bad answer) in
 *       the counted window; each is reconnected. reconnects: connections re-opened in the window
 *       because the server announced `Connection: close` (not errors, but each costs a handshake).
 *       With --cert, the client certificate's key is on a PKCS#11 token; its PIN is read from
 *       the environment variable VAR (default JUKINET_PIN) and never printed.
 *
 * Exit: 0 success, 2 usage error, 1 failure (nothing could connect, or no request completed).
 *
 * Invariants
 * - The load generator is one thread multiplexing raw GnuTLS sessions over non-blocking sockets
 *   with level-triggered epoll: it shares the machine's two cores with the server under test, so
 *   it must cost as little as possible (no libcurl, no per-request allocation, one buffered
 *   socket read per TLS flight instead of GnuTLS's header-then-body reads).
 * - Latency runs from the start of a request's write to the end of its response (monotonic
 *   clock), recorded with µs resolution for every request completed in the counted window.
 * - The server certificate's chain is verified against CAFILE, not its name: node certificates
 *   name nodes, not hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* as JK__TLS_PRIORITY (src/net/https_int.h): TLS 1.3 only, the same suites as the server */
#define TLS_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

#define BODIES_MAX (64u << 20)  /* the bodies file */
#define HEAD_MAX 8192u          /* a response's status line and headers */
#define IN_MAX (64u << 10)      /* a whole response */
#define RBUF_SIZE (16u << 10)   /* socket read buffer per connection (one TLS flight) */
#define LAT_MAX (1u << 27)      /* latencies kept (0.5 GiB); past it the rest are counted only */
#define RETRY_NS 100000000ull   /* a connection that never got through waits 100 ms to retry */
#define ERRORS_SHOWN 5          /* the first few failures are explained on stderr */

static _Noreturn void usage(void) {
  fputs("usage: bench_provision bare --listen ADDR:PORT --cert-out FILE [--threads N]\n"
        "       bench_provision load --host H --port P --path PATH --ca CAFILE\n"
        "                            [--cert CERTFILE --module PKCS11_MODULE --key-uri URI] [--pin-env VAR]\n"
        "                            --bodies FILE --conns K --seconds S [--warmup W]\n",
        stderr);
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A whole number in [lo, hi], or a usage error. */
static long parse_long(const char *s, long lo, long hi, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    fprintf(stderr, "bench_provision: %s: %s is not a number in [%ld, %ld]\n", what, s, lo, hi);
    usage();
  }
  return v;
}

/* A positive number of seconds (fractions allowed), or a usage error. */
static double parse_seconds(const char *s, bool zero_ok, const char *what) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(zero_ok ? v >= 0 : v > 0) || v > 86400) {
    fprintf(stderr, "bench_provision: %s: %s is not a number of seconds\n", what, s);
    usage();
  }
  return v;
}

/* ==== bare: the baseline responder ==== */

/* The size of a real provision answer (a resident's 本人確認情報 and the provision number). */
static const char BARE_ANSWER[] =
    "{\"purpose\":\"B1-77\",\"resident\":{\"name\":\"山田 太郎\",\"birth\":\"1980-04-01\",\"sex\":\"男\","
    "\"address\":\"大阪府枚方市大垣内町2丁目1番20号\"},\"provision\":123456}";

/* Splits "A.B.C.D:PORT" (IPv4 only: the benchmark runs on loopback). false when malformed. */
static bool parse_listen(const char *s, struct sockaddr_in *out) {
  const char *colon = strrchr(s, ':');
  char host[64];
  if (!colon || (size_t)(colon - s) >= sizeof host) return false;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (errno || end == colon + 1 || *end || port < 0 || port > 65535) return false;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

/* An Ed25519 key and a self-signed certificate for it (CN bench-bare, valid one day), both PEM.
 * The caller frees both with gnutls_free. Returns a GnuTLS code; on failure *what names the step. */
static int make_identity(gnutls_datum_t *key_pem, gnutls_datum_t *cert_pem, const char **what) {
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  time_t now = time(NULL);
  unsigned char serial[8];
  int rc;
  key_pem->data = cert_pem->data = NULL;
  *what = "generating the Ed25519 key";
  if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
      (rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_EDDSA_ED25519,
                                         GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519), 0)) < 0)
    goto out;
  *what = "building the certificate";
  if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0) goto out;
  serial[0] &= 0x7f; /* a positive INTEGER */
  if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
      (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
      (rc = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
      (rc = gnutls_x509_crt_set_expiration_time(crt, now + 86400)) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "bench-bare", 10)) < 0 ||
      (rc = gnutls_x509_crt_set_key(crt, key)) < 0 || (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
      (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
      (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
    goto out;
  *what = "signing the certificate";
  if ((rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_UNKNOWN, 0)) < 0) goto out;
  *what = "exporting the key and certificate";
  /* PKCS#8: GnuTLS 3.7's plain export of an Ed25519 key is a "BEGIN UNKNOWN" PEM nothing reads */
  if ((rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, key_pem)) < 0 ||
      (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, cert_pem)) < 0)
    goto out;
  rc = 0;
out:
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  return rc;
}

static bool write_file(const char *path, const gnutls_datum_t *d) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(d->data, 1, d->size, f) == d->size;
  return fclose(f) == 0 && ok;
}

/* Every request gets the fixed answer, after its body is read (and dropped). The first call of a
 * request carries only its headers: marking it lets the next calls take the body. */
static enum MHD_Result bare_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **req_cls) {
  static int headers_seen;
  (void)url, (void)method, (void)version, (void)upload_data;
  if (!*req_cls) {
    *req_cls = &headers_seen;
    return MHD_YES;
  }
  if (*upload_data_size) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  return MHD_queue_response(c, MHD_HTTP_OK, cls);
}

static int bare_main(int argc, char **argv) {
  const char *listen = NULL, *cert_out = NULL;
  unsigned threads = 2;
  for (int i = 2; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--listen")) listen = argv[++i];
    else if (!strcmp(argv[i], "--cert-out")) cert_out = argv[++i];
    else if (!strcmp(argv[i], "--threads")) threads = (unsigned)parse_long(argv[++i], 1, 256, "--threads");
    else usage();
  }
  struct sockaddr_in sa;
  if (!listen || !cert_out) usage();
  if (!parse_listen(listen, &sa)) {
    fprintf(stderr, "bench_provision: --listen %s is not IPv4-ADDRESS:PORT\n", listen);
    usage();
  }
  gnutls_datum_t key_pem, cert_pem;
  const char *what = "GnuTLS set-up";
  int rc = gnutls_global_init();
  if (rc < 0 || (rc = make_identity(&key_pem, &cert_pem, &what)) < 0) {
    fprintf(stderr, "bench_provision: %s failed: %s\n", what, gnutls_strerror(rc));
    return 1;
  }
  if (!write_file(cert_out, &cert_pem)) {
    fprintf(stderr, "bench_provision: cannot write %s: %s\n", cert_out, strerror(errno));
    return 1;
  }
  /* one response for every request: libmicrohttpd counts its users, so all threads share it */
  struct MHD_Response *answer =
      MHD_create_response_from_buffer(sizeof BARE_ANSWER - 1, (void *)BARE_ANSWER, MHD_RESPMEM_PERSISTENT);
  if (!answer || MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES) {
    fputs("bench_provision: cannot build the answer\n", stderr);
    return 1;
  }
  /* blocked before the daemon starts, so its threads inherit the mask and sigwait gets them */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, bare_answer,
      answer, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_HTTPS_MEM_KEY, (const char *)key_pem.data,
      MHD_OPTION_HTTPS_MEM_CERT, (const char *)cert_pem.data, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITY,
      MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "bench_provision: cannot start libmicrohttpd on %s\n", listen);
    return 1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  printf("port %u\n", info ? (unsigned)info->port : 0u);
  fflush(stdout);
  int sig;
  sigwait(&stop, &sig);
  MHD_stop_daemon(d);
  MHD_destroy_response(answer);
  gnutls_free(key_pem.data);
  gnutls_free(cert_pem.data);
  gnutls_global_deinit();
  return 0;
}

/* ==== load: the closed-loop generator ==== */

typedef struct {
  const char *host, *path, *ca, *cert, *module, *key_uri, *pin_env, *bodies;
  long port, conns;
  double seconds, warmup;
} load_opts;

/* One pre-built request: line, headers and body. */
typedef struct {
  char *data;
  size_t len;
} request;

enum conn_state { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_SENDING, C_RECEIVING };

typedef struct {
  int fd;
  gnutls_session_t s;
  enum conn_state st;
  uint32_t events;         /* the epoll interest now set */
  bool answered;           /* a response came on this connection: a failure reconnects at once */
  const request *req;      /* borrowed from the load's list */
  size_t sent;             /* bytes of req written */
  uint64_t t_write;        /* when req's write began */
  uint64_t retry_at;       /* C_IDLE: when to connect again */
  char *in;                /* the response so far, NUL-terminated; IN_MAX + 1 bytes */
  size_t in_len;
  unsigned char *rbuf;     /* bytes read from the socket that GnuTLS has not taken yet */
  size_t r_off, r_len;
} conn;

typedef struct {
  const load_opts *o;
  struct sockaddr_in peer;
  gnutls_certificate_credentials_t cred;
  gnutls_priority_t prio;
  int ep;
  conn *conns;
  request *reqs;
  size_t n_reqs, next_req;
  uint64_t t_begin, t_end; /* the counted window */
  uint64_t next_retry;     /* the earliest retry_at of the connections waiting, or UINT64_MAX */
  uint64_t requests, st200, st404, st429, st_other, errors, reconnects, errors_all;
  bool ever_connected;
  uint32_t *lat; /* µs, of the requests counted */
  size_t n_lat, lat_cap;
} load;

typedef struct {
  int status;
  size_t end;  /* the response's length in the buffer */
  bool close;  /* the server will close after it */
} http_resp;

/* ---- the PKCS#11 client key ---- */

static bool pin_refused;

/* Answers the first login attempt with the PIN of the environment variable named by userdata;
 * refuses a second one (the token said the PIN is wrong: retrying would lock a real card). */
static int pin_answer(void *userdata, int attempt, const char *token_url, const char *token_label, unsigned flags,
                      char *pin, size_t pin_max) {
  const char *p = getenv((const char *)userdata);
  (void)token_url, (void)token_label;
  if (attempt > 0 || (flags & GNUTLS_PIN_WRONG)) {
    pin_refused = true;
    return -1;
  }
  if (!p || strlen(p) >= pin_max) return -1;
  memcpy(pin, p, strlen(p) + 1);
  return 0;
}

/* Signs a probe, so that a wrong PIN or a key that cannot sign stops us before the run. */
static int key_self_test(gnutls_privkey_t key) {
  static const char probe[] = "bench_provision key self-test";
  gnutls_datum_t data = {(unsigned char *)(uintptr_t)probe, sizeof probe - 1}, sig = {NULL, 0};
  int pk = gnutls_privkey_get_pk_algorithm(key, NULL);
  gnutls_sign_algorithm_t algo = pk == GNUTLS_PK_EDDSA_ED25519
                                     ? GNUTLS_SIGN_EDDSA_ED25519
                                     : gnutls_pk_to_sign((gnutls_pk_algorithm_t)pk, GNUTLS_DIG_SHA256);
  int rc = gnutls_privkey_sign_data2(key, algo, 0, &data, &sig);
  gnutls_free(sig.data);
  return rc;
}

/* Loads CERTFILE and the token key named by --key-uri into cred. false after explaining why. */
static bool load_client_key(gnutls_certificate_credentials_t cred, const load_opts *o) {
  gnutls_privkey_t key = NULL;
  gnutls_pcert_st pcerts[8];
  unsigned n_pcerts = 8;
  gnutls_datum_t pem = {NULL, 0};
  int rc;
  /* only the module named, never p11-kit's whole configuration (examples/tls-pkcs11 README) */
  if ((rc = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL)) < 0) {
    fprintf(stderr, "bench_provision: gnutls_pkcs11_init failed: %s\n", gnutls_strerror(rc));
    goto fail;
  }
  gnutls_pkcs11_set_pin_function(pin_answer, (void *)(uintptr_t)o->pin_env);
  if (access(o->module, R_OK) < 0) { /* GnuTLS would only say "initialization error" */
    fprintf(stderr, "bench_provision: no PKCS#11 module %s: %s\n", o->module, strerror(errno));
    goto fail;
  }
  if ((rc = gnutls_pkcs11_add_provider(o->module, NULL)) < 0) {
    fprintf(stderr, "bench_provision: cannot load the PKCS#11 module %s: %s\n", o->module, gnutls_strerror(rc));
    goto fail;
  }
  if (!getenv(o->pin_env)) fprintf(stderr, "bench_provision: warning: %s is not set (no token PIN)\n", o->pin_env);
  if ((rc = gnutls_privkey_init(&key)) < 0 || (rc = gnutls_privkey_import_url(key, o->key_uri, 0)) < 0 ||
      (rc = key_self_test(key)) < 0) {
    if (pin_refused || rc == GNUTLS_E_PKCS11_PIN_ERROR)
      fprintf(stderr, "bench_provision: the token refused the PIN in %s\n", o->pin_env);
    else
      fprintf(stderr, "bench_provision: cannot use the key %s on the tokens of %s: %s (is SOFTHSM2_CONF set?)\n",
              o->key_uri, o->module, gnutls_strerror(rc));
    goto fail;
  }
  if ((rc = gnutls_load_file(o->cert, &pem)) < 0 ||
      (rc = gnutls_pcert_list_import_x509_raw(pcerts, &n_pcerts, &pem, GNUTLS_X509_FMT_PEM, 0)) < 0) {
    fprintf(stderr, "bench_provision: cannot read the certificate %s: %s\n", o->cert, gnutls_strerror(rc));
    goto fail;
  }
  gnutls_free(pem.data);
  pem.data = NULL;
  /* from here cred owns the certificates and the key (on failure we stop anyway) */
  if ((rc = gnutls_certificate_set_key(cred, NULL, 0, pcerts, (int)n_pcerts, key)) < 0) {
    fprintf(stderr, "bench_provision: the key %s does not go with %s: %s\n", o->key_uri, o->cert, gnutls_strerror(rc));
    return false;
  }
  return true;
fail:
  gnutls_free(pem.data);
  gnutls_privkey_deinit(key);
  return false;
}

/* ---- requests ---- */

/* Reads FILE's non-empty lines and builds one request per line. false after explaining why. */
static bool build_requests(load *L) {
  const load_opts *o = L->o;
  gnutls_datum_t file = {NULL, 0};
  int rc = gnutls_load_file(o->bodies, &file);
  if (rc < 0 || file.size > BODIES_MAX) {
    fprintf(stderr, "bench_provision: cannot read %s: %s\n", o->bodies, rc < 0 ? gnutls_strerror(rc) : "too large");
    gnutls_free(file.data);
    return false;
  }
  const char *p = (const char *)file.data, *end = p + file.size;
  size_t cap = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *line_end = nl ? nl : end;
    size_t n = (size_t)(line_end - p);
    if (n && p[n - 1] == '\r') n--;
    if (n) {
      if (L->n_reqs == cap) {
        cap = cap ? 2 * cap : 64;
        if (!(L->reqs = realloc(L->reqs, cap * sizeof *L->reqs))) abort();
      }
      size_t room = n + strlen(o->path) + strlen(o->host) + 160;
      request *r = &L->reqs[L->n_reqs++];
      if (!(r->data = malloc(room))) abort();
      int h = snprintf(r->data, room,
                       "POST %s HTTP/1.1\r\nHost: %s:%ld\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n",
                       o->path, o->host, o->port, n);
      memcpy(r->data + h, p, n);
      r->len = (size_t)h + n;
    }
    p = line_end + 1;
  }
  gnutls_free(file.data);
  if (!L->n_reqs) fprintf(stderr, "bench_provision: %s holds no body\n", o->bodies);
  return L->n_reqs > 0;
}

/* ---- HTTP responses ---- */

/* The value of header line l[0..n) when it is `name: value`, NUL-terminated into out; else NULL. */
static const char *header_value(const char *l, size_t n, const char *name, char *out, size_t out_size) {
  size_t k = strlen(name);
  if (n <= k || strncasecmp(l, name, k) || l[k] != ':') return NULL;
  for (k++; k < n && (l[k] == ' ' || l[k] == '\t'); k++) {}
  while (n > k && (l[n - 1] == '\r' || l[n - 1] == ' ')) n--;
  if (n - k >= out_size) n = k + out_size - 1;
  memcpy(out, l + k, n - k);
  out[n - k] = 0;
  return out;
}

/* The end of a chunked body p[0..n): 1 and *used when complete, 0 when more is needed, -1 malformed. */
static int chunked_end(const char *p, size_t n, size_t *used) {
  size_t i = 0;
  for (;;) {
    const char *eol = memmem(p + i, n - i, "\r\n", 2);
    if (!eol) return 0;
    char *end;
    unsigned long long size = strtoull(p + i, &end, 16);
    if (end == p + i || size > IN_MAX || (*end != '\r' && *end != ';')) return -1;
    size_t data = (size_t)(eol - p) + 2;
    if (size == 0) { /* the last chunk: trailers end with an empty line */
      if (n - data >= 2 && !memcmp(p + data, "\r\n", 2)) return *used = data + 2, 1;
      const char *t = memmem(p + data, n - data, "\r\n\r\n", 4);
      return t ? (*used = (size_t)(t - p) + 4, 1) : 0;
    }
    if (n - data < size + 2) return 0;
    if (memcmp(p + data + size, "\r\n", 2)) return -1;
    i = data + (size_t)size + 2;
  }
}

/* Whether buf[0..n) (NUL-terminated) holds a whole response: 1 (r filled), 0 need more, -1 bad. */
static int parse_response(const char *buf, size_t n, http_resp *r) {
  const char *he = memmem(buf, n, "\r\n\r\n", 4);
  if (!he) return n > HEAD_MAX ? -1 : 0;
  size_t head = (size_t)(he - buf) + 4;
  if (head < 14 || memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ') return -1;
  if (buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9') return -1;
  r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
  r->close = buf[7] == '0'; /* HTTP/1.0 closes unless told otherwise: we never ask it to */
  long long length = -1;
  bool chunked = false;
  char v[64];
  for (const char *l = (const char *)memchr(buf, '\n', head) + 1; l < buf + head - 2;) {
    const char *nl = memchr(l, '\n', (size_t)(buf + head - l));
    size_t len = (size_t)(nl - l);
    if (header_value(l, len, "content-length", v, sizeof v)) {
      char *end;
      length = strtoll(v, &end, 10);
      if (end == v || *end || length < 0 || length > IN_MAX) return -1;
    } else if (header_value(l, len, "transfer-encoding", v, sizeof v)) {
      chunked = strcasestr(v, "chunked") != NULL;
    } else if (header_value(l, len, "connection", v, sizeof v)) {
      r->close = strcasestr(v, "close") != NULL;
    }
    l = nl + 1;
  }
  if (chunked) {
    size_t used = 0;
    int c = chunked_end(buf + head, n - head, &used);
    r->end = head + used;
    return c;
  }
  if (length < 0) { /* no body (204, 304) or one delimited by the close: not in our protocol */
    r->end = head;
    return r->status == 204 || r->status == 304 ? 1 : -1;
  }
  r->end = head + (size_t)length;
  return n >= r->end;
}

/* ---- connections ---- */

static void conn_open(load *L, conn *c);
static void conn_step(load *L, conn *c);

/* GnuTLS's own pull reads a record's header, then its body: two recv calls a record, four a
 * response of the bare responder (libmicrohttpd sends headers and body as two records; measured
 * with strace -c). This pull reads what the socket holds in one, and GnuTLS takes it from there. */
static ssize_t conn_pull(gnutls_transport_ptr_t ptr, void *data, size_t size) {
  conn *c = ptr;
  if (c->r_off == c->r_len) {
    ssize_t n = recv(c->fd, c->rbuf, RBUF_SIZE, 0);
    if (n <= 0) {
      gnutls_transport_set_errno(c->s, n < 0 ? errno : 0);
      return n;
    }
    c->r_off = 0;
    c->r_len = (size_t)n;
  }
  size_t k = c->r_len - c->r_off < size ? c->r_len - c->r_off : size;
  memcpy(data, c->rbuf + c->r_off, k);
  c->r_off += k;
  return (ssize_t)k;
}

static ssize_t conn_push(gnutls_transport_ptr_t ptr, const void *data, size_t size) {
  conn *c = ptr;
  ssize_t n = send(c->fd, data, size, MSG_NOSIGNAL);
  if (n < 0) gnutls_transport_set_errno(c->s, errno);
  return n;
}

static ssize_t conn_pushv(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt) {
  conn *c = ptr;
  struct msghdr m = {.msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)iovcnt};
  ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
  if (n < 0) gnutls_transport_set_errno(c->s, errno);
  return n;
}

/* Whether data can be read within ms: what we hold counts, as well as what the socket holds. */
static int conn_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms) {
  conn *c = ptr;
  if (c->r_off < c->r_len) return 1;
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  int n = poll(&p, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
  if (n < 0) gnutls_transport_set_errno(c->s, errno);
  return n;
}

static void conn_want(load *L, conn *c, uint32_t events) {
  if (c->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(L->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) abort();
  c->events = events;
}

static bool in_window(const load *L, uint64_t t) { return t >= L->t_begin && t < L->t_end; }

static void conn_close(conn *c) {
  if (c->s) gnutls_deinit(c->s);
  if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
  c->s = NULL;
  c->fd = -1;
  c->st = C_IDLE;
  c->r_off = c->r_len = 0;
}

/* Counts a failed connection and opens it again: at once when it had been answered (the server
 * dropped it), else after RETRY_NS (it cannot get through, e.g. the server refuses our client
 * certificate, which TLS 1.3 shows only at the first read: do not spin on it). The first few
 * failures are explained on stderr; detail may be NULL. */
static void conn_fail(load *L, conn *c, const char *why, const char *detail) {
  uint64_t now = now_ns();
  if (L->errors_all++ < ERRORS_SHOWN)
    fprintf(stderr, "bench_provision: connection %td: %s%s%s\n", c - L->conns, why, detail ? ": " : "",
            detail ? detail : "");
  if (in_window(L, now)) L->errors++;
  bool answered = c->answered;
  conn_close(c);
  if (answered) {
    conn_open(L, c);
  } else {
    c->retry_at = now + RETRY_NS;
    if (c->retry_at < L->next_retry) L->next_retry = c->retry_at;
  }
}

/* conn_fail for a GnuTLS code; a refused server certificate also says why it was refused. */
static void conn_tls_fail(load *L, conn *c, const char *why, int rc) {
  gnutls_datum_t d;
  if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR && L->errors_all < ERRORS_SHOWN &&
      gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(c->s), GNUTLS_CRT_X509,
                                                    &d, 0) >= 0) {
    fprintf(stderr, "bench_provision: the server certificate: %s\n", d.data);
    gnutls_free(d.data);
  }
  conn_fail(L, c, why, gnutls_strerror(rc));
}

/* Writes the next body's request; the clock starts with the write. */
static void start_request(load *L, conn *c) {
  c->req = &L->reqs[L->next_req++ % L->n_reqs];
  c->sent = 0;
  c->in_len = 0;
  c->t_write = now_ns();
  c->st = C_SENDING;
  conn_step(L, c);
}

static void count_response(load *L, conn *c, const http_resp *r) {
  uint64_t t = now_ns();
  if (!in_window(L, t)) return;
  L->requests++;
  if (r->status == 200) L->st200++;
  else if (r->status == 404) L->st404++;
  else if (r->status == 429) L->st429++;
  else L->st_other++;
  if (L->n_lat == L->lat_cap && L->lat_cap < LAT_MAX) {
    size_t cap = L->lat_cap ? 2 * L->lat_cap : 1u << 16;
    uint32_t *n = realloc(L->lat, cap * sizeof *n);
    if (n) L->lat = n, L->lat_cap = cap;
  }
  uint64_t us = (t - c->t_write) / 1000;
  if (L->n_lat < L->lat_cap) L->lat[L->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void conn_connected(load *L, conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    conn_fail(L, c, "cannot connect", strerror(err));
    return;
  }
  c->st = C_HANDSHAKE;
  conn_step(L, c);
}

/* Whether our read buffer holds bytes GnuTLS has not taken: epoll cannot see them, so a GnuTLS
 * call that returns "again" while they are there (it does after a post-handshake message such
 * as a session ticket) must be repeated at once, not left to the next event. */
static bool conn_buffered(const conn *c) { return c->r_off < c->r_len; }

static void conn_handshake(load *L, conn *c) {
  int rc;
  while ((rc = gnutls_handshake(c->s)) == GNUTLS_E_AGAIN && conn_buffered(c) && !gnutls_record_get_direction(c->s)) {
  }
  if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
    conn_want(L, c, gnutls_record_get_direction(c->s) ? EPOLLOUT : EPOLLIN);
    return;
  }
  if (rc < 0) {
    conn_tls_fail(L, c, "TLS handshake failed", rc);
    return;
  }
  L->ever_connected = true;
  conn_want(L, c, EPOLLIN);
  start_request(L, c);
}

static void conn_send(load *L, conn *c) {
  while (c->sent < c->req->len) {
    ssize_t rc = gnutls_record_send(c->s, c->req->data + c->sent, c->req->len - c->sent);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      conn_want(L, c, EPOLLOUT); /* GnuTLS wants the same call again when the socket drains */
      return;
    }
    if (rc < 0) {
      conn_tls_fail(L, c, "sending failed", (int)rc);
      return;
    }
    c->sent += (size_t)rc;
  }
  c->st = C_RECEIVING;
  conn_want(L, c, EPOLLIN);
}

/* Reads until the response is whole or the socket is empty (level-triggered epoll calls again). */
static void conn_receive(load *L, conn *c) {
  for (;;) {
    if (c->in_len == IN_MAX) {
      conn_fail(L, c, "response too large", NULL);
      return;
    }
    ssize_t rc = gnutls_record_recv(c->s, c->in + c->in_len, IN_MAX - c->in_len);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      if (conn_buffered(c)) continue;
      return;
    }
    if (rc <= 0) {
      if (rc) conn_tls_fail(L, c, "receiving failed", (int)rc);
      else conn_fail(L, c, "the server closed the connection", NULL);
      return;
    }
    c->in_len += (size_t)rc;
    c->in[c->in_len] = 0;
    http_resp r;
    int done = parse_response(c->in, c->in_len, &r);
    if (done < 0) {
      conn_fail(L, c, "malformed response", NULL);
      return;
    }
    if (done) {
      c->answered = true;
      count_response(L, c, &r);
      if (!r.close) {
        start_request(L, c);
      } else {
        if (in_window(L, now_ns())) L->reconnects++;
        conn_close(c);
        conn_open(L, c);
      }
      return;
    }
  }
}

/* Advances c as far as it can go without waiting. */
static void conn_step(load *L, conn *c) {
  switch (c->st) {
  case C_CONNECTING: conn_connected(L, c); break;
  case C_HANDSHAKE: conn_handshake(L, c); break;
  case C_SENDING: conn_send(L, c); break;
  case C_RECEIVING: conn_receive(L, c); break;
  case C_IDLE: break;
  }
}

/* Starts a non-blocking connect and a TLS session on it; a failure schedules a retry. */
static void conn_open(load *L, conn *c) {
  int rc = 0, one = 1;
  c->answered = false;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) goto sys_fail;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&L->peer, sizeof L->peer) < 0 && errno != EINPROGRESS) goto sys_fail;
  if ((rc = gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL)) < 0 ||
      (rc = gnutls_priority_set(c->s, L->prio)) < 0 ||
      (rc = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, L->cred)) < 0) {
    conn_tls_fail(L, c, "cannot set up a TLS session", rc);
    return;
  }
  gnutls_session_set_verify_cert(c->s, NULL, 0); /* the chain against --ca; no host name */
  gnutls_transport_set_ptr(c->s, c);
  gnutls_transport_set_pull_function(c->s, conn_pull);
  gnutls_transport_set_pull_timeout_function(c->s, conn_pull_timeout);
  gnutls_transport_set_push_function(c->s, conn_push);
  gnutls_transport_set_vec_push_function(c->s, conn_pushv);
  c->events = EPOLLOUT; /* the connect completes */
  struct epoll_event ev = {.events = c->events, .data.ptr = c};
  if (epoll_ctl(L->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) goto sys_fail;
  c->st = C_CONNECTING;
  return;
sys_fail:
  conn_fail(L, c, "cannot connect", strerror(errno));
}

/* Opens the connections whose retry time has come; sets the next one still ahead. */
static void retry_due(load *L, uint64_t now) {
  L->next_retry = UINT64_MAX;
  for (long i = 0; i < L->o->conns; i++) {
    conn *c = &L->conns[i];
    if (c->st != C_IDLE) continue;
    if (c->retry_at <= now) conn_open(L, c);
    else if (c->retry_at < L->next_retry) L->next_retry = c->retry_at;
  }
}

static void run(load *L) {
  struct epoll_event evs[256];
  uint64_t now;
  for (long i = 0; i < L->o->conns; i++) conn_open(L, &L->conns[i]);
  while ((now = now_ns()) < L->t_end) {
    if (L->next_retry <= now) retry_due(L, now);
    uint64_t until = L->next_retry < L->t_end ? L->next_retry : L->t_end;
    int ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    int n = epoll_wait(L->ep, evs, (int)(sizeof evs / sizeof *evs), ms);
    if (n < 0 && errno != EINTR) abort();
    for (int i = 0; i < n; i++) conn_step(L, evs[i].data.ptr);
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* The nearest-rank percentile p of the sorted v[0..n). */
static uint32_t percentile(const uint32_t *v, size_t n, double p) {
  if (!n) return 0;
  size_t k = (size_t)(p / 100 * (double)n + 0.999999);
  return v[(k ? k : 1) - 1];
}

static void report(load *L) {
  qsort(L->lat, L->n_lat, sizeof *L->lat, cmp_u32);
  printf("{\"conns\":%ld,\"seconds\":%g,\"requests\":%llu,\"rate\":%.1f,\"p50_us\":%u,\"p99_us\":%u,"
         "\"status\":{\"200\":%llu,\"404\":%llu,\"429\":%llu,\"other\":%llu},\"errors\":%llu,\"reconnects\":%llu}\n",
         L->o->conns, L->o->seconds, (unsigned long long)L->requests, (double)L->requests / L->o->seconds,
         percentile(L->lat, L->n_lat, 50), percentile(L->lat, L->n_lat, 99), (unsigned long long)L->st200,
         (unsigned long long)L->st404, (unsigned long long)L->st429, (unsigned long long)L->st_other,
         (unsigned long long)L->errors, (unsigned long long)L->reconnects);
  fflush(stdout);
}

static void parse_load_args(int argc, char **argv, load_opts *o) {
  *o = (load_opts){.pin_env = "JUKINET_PIN", .warmup = 1, .port = -1, .conns = -1};
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) o->host = v;
    else if (!strcmp(a, "--port")) o->port = parse_long(v, 1, 65535, a);
    else if (!strcmp(a, "--path")) o->path = v;
    else if (!strcmp(a, "--ca")) o->ca = v;
    else if (!strcmp(a, "--cert")) o->cert = v;
    else if (!strcmp(a, "--module")) o->module = v;
    else if (!strcmp(a, "--key-uri")) o->key_uri = v;
    else if (!strcmp(a, "--pin-env")) o->pin_env = v;
    else if (!strcmp(a, "--bodies")) o->bodies = v;
    else if (!strcmp(a, "--conns")) o->conns = parse_long(v, 1, 10000, a);
    else if (!strcmp(a, "--seconds")) o->seconds = parse_seconds(v, false, a);
    else if (!strcmp(a, "--warmup")) o->warmup = parse_seconds(v, true, a);
    else usage();
  }
  if (!o->host || o->port < 0 || !o->path || !o->ca || !o->bodies || o->conns < 0 || !o->seconds) usage();
  if ((o->cert || o->module || o->key_uri) && !(o->cert && o->module && o->key_uri)) {
    fputs("bench_provision: --cert, --module and --key-uri go together\n", stderr);
    usage();
  }
}

/* Credentials, priorities, requests, the peer address and the connections. false after explaining. */
static bool load_setup(load *L) {
  const load_opts *o = L->o;
  int rc;
  L->peer.sin_family = AF_INET;
  L->peer.sin_port = htons((uint16_t)o->port);
  if (inet_pton(AF_INET, o->host, &L->peer.sin_addr) != 1) {
    fprintf(stderr, "bench_provision: --host %s is not an IPv4 address\n", o->host);
    return false;
  }
  if ((rc = gnutls_global_init()) < 0 || (rc = gnutls_certificate_allocate_credentials(&L->cred)) < 0 ||
      (rc = gnutls_priority_init(&L->prio, TLS_PRIORITY, NULL)) < 0) {
    fprintf(stderr, "bench_provision: GnuTLS set-up failed: %s\n", gnutls_strerror(rc));
    return false;
  }
  if ((rc = gnutls_certificate_set_x509_trust_file(L->cred, o->ca, GNUTLS_X509_FMT_PEM)) <= 0) {
    fprintf(stderr, "bench_provision: no CA certificate in %s%s%s\n", o->ca, rc < 0 ? ": " : "",
            rc < 0 ? gnutls_strerror(rc) : "");
    return false;
  }
  if (o->cert && !load_client_key(L->cred, o)) return false;
  if (!build_requests(L)) return false;
  if ((L->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !(L->conns = calloc((size_t)o->conns, sizeof *L->conns))) abort();
  for (long i = 0; i < o->conns; i++) {
    conn *c = &L->conns[i];
    c->fd = -1;
    if (!(c->in = malloc(IN_MAX + 1)) || !(c->rbuf = malloc(RBUF_SIZE))) abort();
  }
  return true;
}

static int load_main(int argc, char **argv) {
  load_opts o;
  parse_load_args(argc, argv, &o);
  load L = {.o = &o, .ep = -1, .next_retry = UINT64_MAX};
  signal(SIGPIPE, SIG_IGN);
  if (!load_setup(&L)) return 1;
  uint64_t t0 = now_ns();
  L.t_begin = t0 + (uint64_t)(o.warmup * 1e9);
  L.t_end = L.t_begin + (uint64_t)(o.seconds * 1e9);
  run(&L);
  report(&L);
  int status = 0;
  if (!L.ever_connected) {
    fprintf(stderr, "bench_provision: no connection to %s:%ld got through\n", o.host, o.port);
    status = 1;
  } else if (!L.requests) {
    fprintf(stderr, "bench_provision: no request completed in the counted window\n");
    status = 1;
  }
  for (long i = 0; i < o.conns; i++) {
    conn_close(&L.conns[i]);
    free(L.conns[i].in);
    free(L.conns[i].rbuf);
  }
  for (size_t i = 0; i < L.n_reqs; i++) free(L.reqs[i].data);
  free(L.reqs);
  free(L.conns);
  free(L.lat);
  close(L.ep);
  gnutls_priority_deinit(L.prio);
  gnutls_certificate_free_credentials(L.cred);
  gnutls_global_deinit();
  return status;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "bare")) return bare_main(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "load")) return load_main(argc, argv);
  usage();
}
