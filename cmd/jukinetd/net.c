/*
 * net.c — jukinetd's side of the network (docs/protocol.md, docs/network.md):
 *   - the sync service: POST /sync/v1/batch and /sync/v1/peer over HTTPS with mutual TLS 1.3
 *     ([sync] listen), open to the node ids of [sync] allow only;
 *   - the sender: one thread pushing this node's pending notices to [sync] upstream, batch by
 *     batch, with backoff on transport errors and a halt (logged, retried rarely) when the
 *     upstream says a batch is tampered with (CRYPTO / CORRUPT);
 *   - 接続の停止: the switch in the store is polled every 100 ms; while stopped, nothing is
 *     sent and every sync request is answered 503 DISCONNECTED.
 * The store handle is single-threaded: every use holds d->lock, never across a network call.
 */
#include "daemon.h"

#include "jukinet/buf.h"
#include "jukinet/err.h"
#include "jukinet/file.h"
#include "jukinet/pki.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_NS (100 * 1000 * 1000L) /* connection switch poll */
#define SYNC_BODY_MAX (JK_BATCH_MAX_BYTES + 4096)

static const char *json_type = "application/json; charset=utf-8";

static void answer_json(jk_https_response *resp, unsigned status, const char *code, const char *msg) {
  char buf[768];
  /* msg is ours (English, no quotes or backslashes) */
  int n = snprintf(buf, sizeof buf, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  resp->status = status;
  resp->content_type = json_type;
  resp->body = jk_malloc((size_t)n);
  if (resp->body) {
    memcpy(resp->body, buf, (size_t)n);
    resp->body_len = (size_t)n;
  }
}

static void to_sync_peer(const jk_tls_peer *p, jk_sync_peer *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->node, sizeof out->node, "%s", p->node);
  snprintf(out->lgcode, sizeof out->lgcode, "%s", p->lgcode);
  snprintf(out->role, sizeof out->role, "%s", p->role);
  memcpy(out->pubkey, p->pubkey, 32);
  out->cert_pem = p->cert_pem;
}

static void on_sync(const jk_https_request *req, jk_https_response *resp, void *payload) {
  daemon_state *d = payload;
  bool batch = strcmp(req->url, "/sync/v1/batch") == 0, peer = strcmp(req->url, "/sync/v1/peer") == 0,
       state = strcmp(req->url, "/sync/v1/state") == 0;
  if (!batch && !peer && !state) return answer_json(resp, 404, "NOTFOUND", "no such endpoint");
  if (strcmp(req->method, "POST") != 0) return answer_json(resp, 405, "INVALID", "method not allowed");
  if (!jk_node_peer_allowed(d->node, req->peer->node)) {
    logmsg("warn", "sync request from %s refused: not in [sync] allow", req->peer->node);
    return answer_json(resp, 403, "PERM", "this node is not among the peers allowed here");
  }
  if (atomic_load(&d->conn_stopped))
    return answer_json(resp, 503, "DISCONNECTED", "the connection of this node is stopped");
  jk_sync_peer sp;
  to_sync_peer(req->peer, &sp);
  jk_sync_answer ans;
  pthread_mutex_lock(&d->lock);
  if (atomic_load(&d->conn_stopped)) { /* re-checked under the lock: a stop is final for this request */
    pthread_mutex_unlock(&d->lock);
    return answer_json(resp, 503, "DISCONNECTED", "the connection of this node is stopped");
  }
  if (batch) jk_sync_receive(&d->sync, &sp, req->body, req->body_len, &ans);
  else if (state) jk_sync_state(&d->sync, &sp, &ans);
  else jk_sync_receive_peer(&d->sync, &sp, d->ca_pem, d->crl_pem, req->body, req->body_len, &ans);
  pthread_mutex_unlock(&d->lock);
  if (batch && ans.status == 200) {
    atomic_fetch_add(&d->batches_in, 1);
    pthread_mutex_lock(&d->lock);
    pthread_cond_signal(&d->wake); /* forward at once */
    pthread_mutex_unlock(&d->lock);
  } else if (ans.status != 200 && ans.status != 204 && ans.status != 409) {
    atomic_fetch_add(&d->refused_in, 1);
    logmsg("warn", "sync request from %s refused (%u): %s", sp.node, ans.status, jk_error_last());
  }
  resp->status = ans.status;
  resp->content_type = ans.content_type;
  resp->body = ans.body;
  resp->body_len = ans.body_len;
}

/* ---- the sender ---- */

static void sleep_ms(daemon_state *d, long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&d->lock);
  if (!atomic_load(&d->stopping)) pthread_cond_timedwait(&d->wake, &d->lock, &ts);
  pthread_mutex_unlock(&d->lock);
}

static void refresh_switch(daemon_state *d) {
  jk_conn_state c;
  pthread_mutex_lock(&d->lock);
  jk_err e = jk_conn_get(jk_node_store(d->node), &c);
  pthread_mutex_unlock(&d->lock);
  if (e) return;
  bool was = atomic_exchange(&d->conn_stopped, c.stopped);
  if (was != c.stopped) {
    if (c.stopped) logmsg("warn", "connection STOPPED by %s: %s", c.by, c.reason);
    else logmsg("info", "connection resumed by %s", c.by);
    pthread_mutex_lock(&d->lock);
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
  }
}

static void *poller(void *arg) {
  daemon_state *d = arg;
  while (!atomic_load(&d->stopping)) {
    refresh_switch(d);
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static jk_err post(jk_https_client *c, daemon_state *d, const char *path, const uint8_t *body, size_t len,
                   const char *type, unsigned *status, uint8_t **resp, size_t *resp_len, char *resp_type, size_t cap) {
  char url[1024];
  snprintf(url, sizeof url, "%s%s", jk_node_upstream_url(d->node), path);
  resp_type[0] = '\0';
  jk_err e = jk_https_post(c, url, jk_node_upstream(d->node), body, len, type, 60000, status, resp, resp_len);
  /* receipts come as application/octet-stream, errors as JSON */
  if (!e) snprintf(resp_type, cap, "%s", jk_https_client_content_type(c));
  return e;
}

static void *sender(void *arg) {
  daemon_state *d = arg;
  jk_https_client *c = NULL;
  jk_sync_sender *snd = NULL;
  long backoff = 0;
  bool need_probe = true, probe_restart = true; /* ask the upstream where it is, first thing */
  time_t last_state = time(NULL);
  bool municipal = jk_node_role(d->node) == JK_ROLE_MUNICIPAL;
  while (!atomic_load(&d->stopping)) {
    if (atomic_load(&d->conn_stopped)) {
      sleep_ms(d, 100);
      continue;
    }
    if (backoff) {
      sleep_ms(d, backoff);
      if (atomic_load(&d->stopping)) break;
    }
    jk_err e = JK_OK;
    if (!c && (e = jk_https_client_new(&c, d->tls))) {
      logmsg("error", "sync client: %s", jk_error_last());
      backoff = 5000;
      continue;
    }
    if (!snd) {
      /* learn the upstream's key from its certificate: one empty request would do, but the
       * client exposes the server it verified after any exchange */
      jk_tls_peer up;
      if ((e = jk_https_client_peer(c, jk_node_upstream_url(d->node), jk_node_upstream(d->node), &up))) {
        logmsg("warn", "upstream %s: %s", jk_node_upstream(d->node), jk_error_last());
        atomic_store(&d->link, 1);
        backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 200;
        continue;
      }
      pthread_mutex_lock(&d->lock);
      e = jk_sync_sender_new(&snd, &d->sync, up.node, up.pubkey);
      pthread_mutex_unlock(&d->lock);
      jk_free(up.cert_pem);
      if (e) {
        logmsg("error", "sync sender: %s", jk_error_last());
        backoff = 5000;
        continue;
      }
    }
    uint8_t *body = NULL;
    size_t len = 0;
    jk_sync_batch_info info;
    int64_t pending = 0;
    bool probing = need_probe;
    pthread_mutex_lock(&d->lock);
    if (probing) { /* after (re)connecting: does the upstream still hold what it acknowledged? */
      e = jk_sync_sender_probe(snd, probe_restart, &body, &len, &info);
      probe_restart = false;
      if (!e && !body) need_probe = probing = false; /* every source asked */
    }
    if (!probing && !body && !e) e = jk_sync_sender_next(snd, 0, &body, &len, &info);
    if (!e) jk_sync_pending(&d->sync, jk_node_upstream(d->node), &pending);
    pthread_mutex_unlock(&d->lock);
    atomic_store(&d->pending, pending);
    if (e) {
      logmsg("error", "cannot build the next batch: %s", jk_error_last());
      backoff = e == JK_EBUSY ? 200 : 5000;
      continue;
    }
    if (!body) { /* nothing pending: wait for a change (polling the CLI's writes at a municipality) */
      atomic_store(&d->link, 0);
      backoff = 0;
      /* now and then, while idle: does the upstream still hold what it acknowledged? (it may
       * have been restored from a backup, or failed over to a lagging replica, while we had
       * nothing to send) */
      time_t now = time(NULL);
      if (now - last_state >= jk_node_sync_check_interval(d->node)) {
        last_state = now;
        unsigned st = 0;
        uint8_t *sb = NULL;
        size_t sl = 0;
        char stype[64];
        bool behind = false;
        if (post(c, d, "/sync/v1/state", NULL, 0, "application/json", &st, &sb, &sl, stype, sizeof stype) == JK_OK &&
            st == 200) {
          pthread_mutex_lock(&d->lock);
          jk_err be = jk_sync_sender_state_behind(snd, sb, sl, &behind);
          pthread_mutex_unlock(&d->lock);
          if (!be && behind) {
            logmsg("warn", "%s holds less than it acknowledged: asking it source by source",
                   jk_node_upstream(d->node));
            need_probe = probe_restart = true;
          }
        }
        jk_free(sb);
        if (need_probe) continue;
      }
      if (!municipal) {
        sleep_ms(d, 250); /* a receiver wakes us when it applied something */
        continue;
      }
      /* a municipality's registry is written by other processes (the CLI): poll its outbox's
       * size, one cheap query every 10 ms, and build a batch only when it grew */
      int64_t was = -1, now_size = -1;
      pthread_mutex_lock(&d->lock);
      jk_store_notice_size(jk_node_store(d->node), jk_node_id(d->node), &was);
      pthread_mutex_unlock(&d->lock);
      while (!atomic_load(&d->stopping) && !atomic_load(&d->conn_stopped)) {
        sleep_ms(d, 10);
        pthread_mutex_lock(&d->lock);
        jk_err pe = jk_store_notice_size(jk_node_store(d->node), jk_node_id(d->node), &now_size);
        pthread_mutex_unlock(&d->lock);
        if (pe || now_size != was) break;
      }
      continue;
    }
    if (atomic_load(&d->conn_stopped)) { /* stopped while we built it: it waits in the outbox */
      jk_free(body);
      continue;
    }
    unsigned status = 0;
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    char type[64];
    e = post(c, d, "/sync/v1/batch", body, len, "application/octet-stream", &status, &resp, &resp_len, type, sizeof type);
    jk_free(body);
    if (e) {
      logmsg("warn", "sending to %s: %s", jk_node_upstream(d->node), jk_error_last());
      need_probe = probe_restart = true; /* the upstream may come back with less than it acknowledged */
      atomic_store(&d->link, 1);
      backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 100;
      continue;
    }
    pthread_mutex_lock(&d->lock);
    e = jk_sync_sender_reply(snd, status, type, resp, resp_len);
    pthread_mutex_unlock(&d->lock);
    jk_free(resp);
    if (e == JK_OK) {
      atomic_fetch_add(&d->batches_out, 1);
      atomic_fetch_add(&d->notices_out, info.count);
      atomic_store(&d->link, 0);
      backoff = 0;
    } else if (e == JK_ECONFLICT) {
      logmsg("info", "%s", jk_error_last());
      backoff = 0;
    } else if (e == JK_ENOTFOUND) { /* the upstream does not know this source yet: introduce it */
      char *pem = NULL;
      pthread_mutex_lock(&d->lock);
      e = jk_sync_sender_source_cert(snd, info.source, &pem);
      pthread_mutex_unlock(&d->lock);
      if (!e) {
        e = post(c, d, "/sync/v1/peer", (const uint8_t *)pem, strlen(pem), "application/x-pem-file", &status, &resp,
                 &resp_len, type, sizeof type);
        jk_free(resp);
        resp = NULL;
        if (!e && status != 204) e = jk_error_set(JK_EPERM, "the upstream refused the certificate of %s (%u)", info.source, status);
      }
      jk_free(pem);
      if (e) {
        logmsg("error", "introducing %s upstream: %s", info.source, jk_error_last());
        backoff = 5000;
      }
    } else if (e == JK_ECRYPTO || e == JK_ECORRUPT || e == JK_EPERM || e == JK_EINVAL) {
      logmsg("error", "link to %s HALTED: %s (an incident: the operators must look; retrying in 60 s)",
             jk_node_upstream(d->node), jk_error_last());
      atomic_store(&d->link, 2);
      backoff = 60000;
    } else {
      logmsg("warn", "upstream %s: %s", jk_node_upstream(d->node), jk_error_last());
      atomic_store(&d->link, 1);
      backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 200;
    }
  }
  jk_sync_sender_free(snd);
  jk_https_client_free(c);
  return NULL;
}

static pthread_t poll_thread;
static bool poll_running;

static jk_err read_text(const char *path, char **out) { return jk_file_read(path, 1u << 20, out, NULL); }

int net_start(daemon_state *d) {
  jk_node *n = d->node;
  pthread_cond_init(&d->wake, NULL);
  d->sync = (jk_sync_ctx){.store = jk_node_store(n),
                          .ledger = jk_node_ledger(n),
                          .node_id = jk_node_id(n),
                          .lgcode = jk_node_lgcode(n),
                          .tier = (jk_tier)jk_node_role(n),
                          .signer = jk_node_signer(n),
                          .terminal = "jukinetd"};
  refresh_switch(d);
  if (pthread_create(&poll_thread, NULL, poller, d) != 0) return -1;
  poll_running = true;
  const char *listen = jk_node_sync_listen(n);
  bool up = jk_node_upstream_url(n) && jk_node_upstream(n);
  if (!listen && !up) return 0; /* a node on its own */
  if (jk_node_upstream_url(n) && !jk_node_upstream(n)) {
    logmsg("error", "node.conf [sync] upstream needs upstream-node (the node id its certificate names)");
    return -1;
  }
  char cert[4096], ca[4096], crl[4096], uri[1024];
  char *pin = NULL;
  size_t pin_len = 0;
  const char *module;
  jk_err e = jk_node_tls_files(n, cert, ca, crl, sizeof cert);
  if (!e) e = jk_node_key_uri(n, uri, sizeof uri, &pin, &pin_len, &module);
  if (e) {
    logmsg("error", "TLS settings: %s", jk_error_last());
    return -1;
  }
  bool have_crl = access(crl, R_OK) == 0;
  jk_tls_config cfg = {.module = module, .key_uri = uri, .pin = pin, .pin_len = pin_len, .cert_file = cert,
                       .ca_file = ca, .crl_file = have_crl ? crl : NULL};
  e = jk_tls_open(&d->tls, &cfg);
  jk_node_pin_free(pin);
  if (e) {
    logmsg("error", "TLS: %s", jk_error_last());
    return -1;
  }
  if ((e = read_text(ca, &d->ca_pem)) || (have_crl && (e = read_text(crl, &d->crl_pem)))) {
    logmsg("error", "%s", jk_error_last());
    return -1;
  }
  if (listen) {
    if ((e = jk_https_start(&d->https, d->tls, listen, SYNC_BODY_MAX, on_sync, d))) {
      logmsg("error", "sync service on %s: %s", listen, jk_error_last());
      return -1;
    }
    logmsg("info", "sync service (mutual TLS 1.3) on %s", listen);
  }
  if (up) {
    if (pthread_create(&d->sender, NULL, sender, d) != 0) {
      logmsg("error", "cannot start the sender thread");
      return -1;
    }
    d->sender_running = true;
    logmsg("info", "sending to %s at %s", jk_node_upstream(n), jk_node_upstream_url(n));
  }
  return 0;
}

void net_stop(daemon_state *d) {
  atomic_store(&d->stopping, true);
  pthread_mutex_lock(&d->lock);
  pthread_cond_broadcast(&d->wake);
  pthread_mutex_unlock(&d->lock);
  if (d->sender_running) pthread_join(d->sender, NULL);
  d->sender_running = false;
  jk_https_stop(d->https);
  d->https = NULL;
  if (poll_running) pthread_join(poll_thread, NULL);
  poll_running = false;
  jk_tls_close(d->tls);
  d->tls = NULL;
  jk_free(d->ca_pem);
  jk_free(d->crl_pem);
  d->ca_pem = d->crl_pem = NULL;
}

int net_reload(daemon_state *d) {
  if (!d->tls) {
    logmsg("info", "SIGHUP: no network settings to reload");
    return -1;
  }
  char cert[4096], ca[4096], crl[4096];
  char *pem = NULL;
  jk_err e = jk_node_tls_files(d->node, cert, ca, crl, sizeof cert);
  if (!e) e = jk_tls_reload_crl(d->tls);
  if (!e) e = read_text(crl, &pem);
  if (e) {
    logmsg("error", "SIGHUP: the CRL was not reloaded (the old one stays in force): %s", jk_error_last());
    jk_free(pem);
    return -1;
  }
  pthread_mutex_lock(&d->lock);
  char *old = d->crl_pem;
  d->crl_pem = pem;
  pthread_mutex_unlock(&d->lock);
  jk_free(old);
  logmsg("info", "SIGHUP: CRL %s reloaded", crl);
  return 0;
}
