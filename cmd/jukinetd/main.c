/*
 * jukinetd — the node daemon.
 *
 * At this stage it opens the node, records its start and stop in the node's ledger (signed with
 * the node key, so SOFTHSM2_CONF or the real module's settings must reach it), serves
 * GET /healthz (JSON: status, role, lgcode, schema), GET /metrics (Prometheus text: counts
 * only, nothing personal) and stops cleanly on SIGTERM or SIGINT.
 * Foreground, logs to stderr (journald-friendly). Node-to-node TLS, sync and the API arrive
 * with the network issue.
 *
 *   jukinetd [--dir DIR] [--listen 127.0.0.1:7410]
 * SIGTERM / SIGINT stop it; SIGHUP re-reads the CRL (node.conf [sync] crl).
 * DIR defaults to $JUKINET_DIR; the address to node.conf [daemon] listen, then 127.0.0.1:7410.
 */
#include "daemon.h"

#include "jukinet/err.h"
#include "jukinet/i18n.h"
#include "jukinet/ledger.h"
#include "jukinet/node.h"
#include "jukinet/provision.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void logmsg(const char *level, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "jukinetd[%s]: ", level);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static enum MHD_Result reply_as(daemon_state *d, struct MHD_Connection *c, unsigned status, const char *type,
                                 const char *body) {
  if (status / 100 < 6) atomic_fetch_add(&d->replies[status / 100], 1);
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

#define reply(c, status, body) reply_as(d, (c), (status), "application/json; charset=utf-8", (body))

/* GET /metrics: Prometheus text format 0.0.4. Counts only: nothing personal is exposed. */
static enum MHD_Result metrics(daemon_state *d, struct MHD_Connection *c) {
  int64_t all = -1, active = -1, entries = -1;
  /* the store may be busy for a while (a batch being applied, or a commit waiting for a
   * synchronous replica): monitoring gets a clear 503 after 2 s instead of hanging */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 2;
  if (!store_lock_until(d, &until))
    return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":{\"code\":\"BUSY\",\"message\":\"the store is busy\"}}");
  jk_store *s = jk_node_store(d->node);
  bool ok = jk_store_resident_count(s, 0, &all) == JK_OK && jk_store_resident_count(s, JK_STATUS_ACTIVE, &active) == JK_OK &&
            jk_store_ledger_size(s, &entries) == JK_OK;
  store_unlock(d);
  if (!ok) return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "{\"error\":{\"code\":\"IO\",\"message\":\"store unavailable\"}}");
  char body[6144];
  int n = snprintf(body, sizeof body,
                   "# HELP jukinet_up 1 while the node serves.\n# TYPE jukinet_up gauge\njukinet_up{role=\"%s\",lgcode=\"%s\"} 1\n"
                   "# HELP jukinet_uptime_seconds Seconds since the daemon started.\n# TYPE jukinet_uptime_seconds gauge\n"
                   "jukinet_uptime_seconds %lld\n"
                   "# HELP jukinet_residents Residents in the registry, by status.\n# TYPE jukinet_residents gauge\n"
                   "jukinet_residents{status=\"active\"} %lld\njukinet_residents{status=\"removed\"} %lld\n"
                   "# HELP jukinet_ledger_entries Entries in the operation history.\n# TYPE jukinet_ledger_entries gauge\n"
                   "jukinet_ledger_entries %lld\n"
                   "# HELP jukinet_http_responses_total HTTP responses by status class.\n"
                   "# TYPE jukinet_http_responses_total counter\n",
                   jk_role_token(jk_node_role(d->node)), jk_node_lgcode(d->node), (long long)(time(NULL) - d->started),
                   (long long)active, (long long)(all - active), (long long)entries);
  if (n > 0 && (size_t)n < sizeof body)
    n += snprintf(body + n, sizeof body - (size_t)n,
                  "# HELP jukinet_connection_stopped 1 while 接続の停止 is in force.\n"
                  "# TYPE jukinet_connection_stopped gauge\njukinet_connection_stopped %d\n"
                  "# HELP jukinet_sync_link State of the link upstream: 0 ok, 1 retrying, 2 halted.\n"
                  "# TYPE jukinet_sync_link gauge\njukinet_sync_link %d\n"
                  "# HELP jukinet_sync_pending Notices not yet acknowledged by the next node up.\n"
                  "# TYPE jukinet_sync_pending gauge\njukinet_sync_pending %lld\n"
                  "# HELP jukinet_sync_batches_total Batches applied here (in) and acknowledged upstream (out).\n"
                  "# TYPE jukinet_sync_batches_total counter\n"
                  "jukinet_sync_batches_total{dir=\"in\"} %lu\njukinet_sync_batches_total{dir=\"out\"} %lu\n"
                  "# HELP jukinet_sync_notices_sent_total Notices acknowledged upstream.\n"
                  "# TYPE jukinet_sync_notices_sent_total counter\njukinet_sync_notices_sent_total %lu\n"
                  "# HELP jukinet_sync_refused_total Sync requests refused here.\n"
                  "# TYPE jukinet_sync_refused_total counter\njukinet_sync_refused_total %lu\n",
                  atomic_load(&d->conn_stopped) ? 1 : 0, atomic_load(&d->link), (long long)atomic_load(&d->pending),
                  atomic_load(&d->batches_in), atomic_load(&d->batches_out), atomic_load(&d->notices_out),
                  atomic_load(&d->refused_in));
  for (int k = 2; k <= 5 && n > 0 && (size_t)n < sizeof body; k++)
    n += snprintf(body + n, sizeof body - (size_t)n, "jukinet_http_responses_total{class=\"%dxx\"} %lu\n", k,
                  atomic_load(&d->replies[k]));
  if (d->prov && n > 0 && (size_t)n < sizeof body) {
    jk_provision_stats ps;
    jk_provision_stats_get(d->prov, &ps);
    n += snprintf(body + n, sizeof body - (size_t)n,
                  "# HELP jukinet_provision_total Agency queries answered (200, 404) and refused, each recorded.\n"
                  "# TYPE jukinet_provision_total counter\n"
                  "jukinet_provision_total{outcome=\"answer\"} %lu\njukinet_provision_total{outcome=\"refusal\"} %lu\n"
                  "# HELP jukinet_provision_commits_total Group commits of provision records (and failed ones).\n"
                  "# TYPE jukinet_provision_commits_total counter\n"
                  "jukinet_provision_commits_total %lu\njukinet_provision_commits_total{failed=\"1\"} %lu\n",
                  ps.answers, ps.refusals, ps.commits, ps.failures);
  }
  return reply_as(d, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  daemon_state *d = cls;
  static int first_call_marker;
  (void)version;
  (void)upload;
  /* Answer on the second call, after the headers: keeps keep-alive working (DESIGN §3). */
  if (*con_cls == NULL) {
    *con_cls = &first_call_marker;
    return MHD_YES;
  }
  if (*upload_size) { /* no endpoint takes a body yet */
    *upload_size = 0;
    return MHD_YES;
  }
  if (strcmp(url, "/healthz") == 0) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
      return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                   "{\"error\":{\"code\":\"INVALID\",\"message\":\"method not allowed\"}}");
    char body[512];
    /* no store access: /healthz answers even while the store is busy (the schema is read at start) */
    snprintf(body, sizeof body,
             "{\"status\":\"ok\",\"node\":\"%s\",\"role\":\"%s\",\"lgcode\":\"%s\",\"schema\":%d,"
             "\"connection\":\"%s\",\"uptime_s\":%lld}",
             jk_node_id(d->node), jk_role_token(jk_node_role(d->node)), jk_node_lgcode(d->node), d->schema,
             atomic_load(&d->conn_stopped) ? "stopped" : "connected",
             (long long)(time(NULL) - d->started));
    return reply(c, MHD_HTTP_OK, body);
  }
  if (strcmp(url, "/metrics") == 0) {
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
      return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                   "{\"error\":{\"code\":\"INVALID\",\"message\":\"method not allowed\"}}");
    return metrics(d, c);
  }
  return reply(c, MHD_HTTP_NOT_FOUND, "{\"error\":{\"code\":\"NOTFOUND\",\"message\":\"no such endpoint\"}}");
}

/* One ledger entry by the daemon itself (operator "-"), durable before it goes on. */
static jk_err record(jk_node *n, const char *action, const char *object) {
  jk_ledger *l = jk_node_ledger(n);
  jk_ledger_entry en = {.operator_ = "-", .role = "-", .terminal = "jukinetd", .action = action, .object = object,
                        .result = "ok"};
  jk_err e = jk_ledger_stage(l, &en);
  if (!e) e = jk_ledger_flush(l);
  if (e) jk_ledger_discard(l);
  return e;
}

static int parse_listen(const char *s, struct sockaddr_in *sa) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 1 || port > 65535) return -1;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *dir = getenv("JUKINET_DIR"), *listen = NULL; /* --listen, else node.conf [daemon] */
  jk_lang_set(JK_LANG_EN); /* logs are English; user-facing text lives in the CLI and console */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
    else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) listen = argv[++i];
    else if (strcmp(argv[i], "--version") == 0) {
      puts("jukinetd " JK_VERSION);
      return 0;
    } else {
      fprintf(stderr, "usage: jukinetd [--dir DIR (default $JUKINET_DIR)] [--listen ADDR:PORT]\n");
      return 2;
    }
  }
  if (!dir) {
    fprintf(stderr, "usage: jukinetd [--dir DIR (default $JUKINET_DIR)] [--listen ADDR:PORT]\n");
    return 2;
  }
  struct sockaddr_in sa;
  if (listen && parse_listen(listen, &sa) != 0) {
    logmsg("error", "bad --listen '%s' (want IPv4:PORT)", listen);
    return 2;
  }
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* holds the node key's PIN: no core dumps */
  daemon_state d = {.started = time(NULL)};
  pthread_mutex_init(&d.lock, NULL);
  pthread_cond_init(&d.store_free, NULL);
  jk_err e = jk_node_open(&d.node, dir, 0);
  if (e) {
    logmsg("error", "cannot open node %s: %s", dir, jk_error_last());
    return 1;
  }
  d.schema = jk_store_schema_version(jk_node_store(d.node));
  if (!listen) {
    listen = jk_node_daemon_listen(d.node);
    if (!listen) listen = "127.0.0.1:7410";
    if (parse_listen(listen, &sa) != 0) {
      logmsg("error", "bad [daemon] listen '%s' in node.conf (want IPv4:PORT)", listen);
      jk_node_close(d.node);
      return 2;
    }
  }
  /* Block the stop signals before MHD starts its threads, then wait for them here. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct MHD_Daemon *mhd =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                       on_request, &d, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_TIMEOUT, 30U,
                       MHD_OPTION_CONNECTION_LIMIT, 1000U, MHD_OPTION_END);
  if (!mhd) {
    logmsg("error", "cannot listen on %s: %s", listen, strerror(errno));
    jk_node_close(d.node);
    return 1;
  }
  /* the daemon's own start and stop are operations too (REQ-ACCESS-11-3) */
  if ((e = record(d.node, "daemon.start", listen))) {
    logmsg("error", "cannot record the start in the ledger: %s", jk_error_last());
    MHD_stop_daemon(mhd);
    jk_node_close(d.node);
    return 1;
  }
  if (net_start(&d) != 0) {
    net_stop(&d);
    MHD_stop_daemon(mhd);
    if (record(d.node, "daemon.stop", listen)) logmsg("error", "cannot record the stop in the ledger: %s", jk_error_last());
    jk_node_close(d.node);
    return 1;
  }
  logmsg("info", "node %s (%s %s) listening on %s", dir, jk_role_token(jk_node_role(d.node)), jk_node_lgcode(d.node),
         listen);
  int sig = 0;
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    /* SIGHUP: the CA published a new CRL (systemctl reload): read it again, record it */
    if (net_reload(&d) == 0) {
      store_lock(&d);
      if (record(d.node, "daemon.reload", "crl")) logmsg("error", "cannot record the reload: %s", jk_error_last());
      store_unlock(&d);
    }
  }
  logmsg("info", "signal %d: stopping", sig);
  net_stop(&d);
  MHD_stop_daemon(mhd);
  if ((e = record(d.node, "daemon.stop", listen)))
    logmsg("error", "cannot record the stop in the ledger: %s", jk_error_last());
  jk_node_close(d.node);
  pthread_cond_destroy(&d.store_free);
  pthread_mutex_destroy(&d.lock);
  logmsg("info", "stopped");
  return 0;
}
