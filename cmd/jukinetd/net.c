/*
 * net.c — jukinetd's side of the network (docs/protocol.md, docs/network.md):
 *   - the sync service: POST /sync/v1/batch and /sync/v1/peer over HTTPS with mutual TLS 1.3
 *     ([sync] listen), open to the node ids of [sync] allow only;
 *   - the sender: one thread pushing this node's pending notices to [sync] upstream, two
 *     batches in flight (each posted on a thread of its own), with backoff on transport errors
 *     and a halt (logged, retried rarely) when the upstream says a batch is tampered with
 *     (CRYPTO / CORRUPT);
 *   - 接続の停止: the switch in the store is polled every 100 ms; while stopped, nothing is
 *     sent and every sync request is answered 503 DISCONNECTED.
 * The store handle is single-threaded: every use holds the store lock (store_lock.c), never
 * across a network call; the sender thread asks for it first.
 */
#include "daemon.h"

#include "jukinet/buf.h"
#include "jukinet/err.h"
#include "jukinet/file.h"
#include "jukinet/pki.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_NS (100 * 1000 * 1000L) /* connection switch poll */
#define SYNC_BODY_MAX (JK_BATCH_MAX_BYTES + 4096)

const char *const json_ctype = "application/json; charset=utf-8";

void answer_json(jk_https_response *resp, unsigned status, const char *code, const char *msg) {
  char buf[768];
  /* msg is ours (English, no quotes or backslashes) */
  int n = snprintf(buf, sizeof buf, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  resp->status = status;
  resp->content_type = json_ctype;
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

/* A sender keeps two batches in flight on two connections (JK_SYNC_WINDOW), so the second may
 * reach the store first. A batch that starts past what is held here waits (releasing the store) while another batch request is at work that may fill the gap — or, when
 * none is, briefly, for one still on its way — instead of being refused as a gap and sent
 * again. A real gap (a receiver that lost notices) is answered after at most 0.2 s. */
static void wait_turn(daemon_state *d, const uint8_t *body, size_t len) {
  char source[JK_NODE_ID_MAX + 1];
  uint64_t first;
  if (jk_batch_peek(body, len, source, &first) != JK_OK || first == 0) return; /* receive refuses it */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  long waited_ms = 0;
  for (;;) {
    int64_t have;
    if (jk_store_notice_size(jk_node_store(d->node), source, &have) != JK_OK || first <= (uint64_t)have + 1) return;
    bool others = atomic_load(&d->batch_in) - atomic_load(&d->batch_waiting) > 1;
    if (waited_ms >= (others ? 5000 : 200) || atomic_load(&d->stopping)) return;
    until.tv_nsec += 20 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    atomic_fetch_add(&d->batch_waiting, 1);
    store_unlock(d); /* let the batch before it in */
    pthread_mutex_lock(&d->lock);
    pthread_cond_timedwait(&d->applied, &d->lock, &until);
    pthread_mutex_unlock(&d->lock);
    store_lock(d);
    atomic_fetch_sub(&d->batch_waiting, 1);
    waited_ms += 20;
  }
}

static void batch_done(daemon_state *d) {
  atomic_fetch_sub(&d->batch_in, 1);
  pthread_mutex_lock(&d->lock);
  pthread_cond_broadcast(&d->applied);
  pthread_mutex_unlock(&d->lock);
}

/* The sync service's answer as the HTTPS response (the body is handed over). */
static void from_answer(jk_https_response *resp, const jk_sync_answer *a) {
  resp->status = a->status;
  resp->content_type = a->content_type;
  resp->body = a->body;
  resp->body_len = a->body_len;
}

/* The request's body POSTed to the same path at this node's upstream, over the node's TLS. */
static jk_err post_upstream(daemon_state *d, const char *path, const jk_https_request *req, unsigned *status,
                            uint8_t **body, size_t *len) {
  const char *up = jk_node_upstream(d->node), *url = jk_node_upstream_url(d->node);
  if (!up || !url) return jk_error_set(JK_ENOTFOUND, "this node sends to no one ([sync] upstream)");
  char full[1024];
  snprintf(full, sizeof full, "%s%s", url, path);
  jk_https_client *c = NULL;
  jk_err e = jk_https_client_new(&c, d->tls);
  if (!e) e = jk_https_post(c, full, up, req->body, req->body_len, json_ctype, 10000, status, body, len);
  jk_https_client_free(c);
  return e;
}

/* A disclosure at a prefecture also gathers the nation's records: its answer's "disclosures"
 * are appended to ours, or, when the nation cannot answer, an entry saying so (the resident's
 * letter must not pass a missing tier off as "no provision"). */
static void disclose_upstream(daemon_state *d, const jk_https_request *req, json_t *list) {
  const char *up = jk_node_upstream(d->node);
  if (!up || !jk_node_upstream_url(d->node)) return;
  unsigned status = 0;
  uint8_t *body = NULL;
  size_t len = 0;
  jk_err e = post_upstream(d, "/sync/v1/disclose", req, &status, &body, &len);
  json_t *a = !e && status == 200 ? json_loadb((const char *)body, len, 0, NULL) : NULL;
  json_t *theirs = json_object_get(a, "disclosures");
  if (json_is_array(theirs)) json_array_extend(list, theirs);
  else {
    char why[300];
    snprintf(why, sizeof why, "%s", e ? jk_error_last() : "the nation refused the request");
    json_array_append_new(list, json_pack("{s:s,s:s,s:i}", "node", up, "error", why, "status", (int)status));
  }
  json_decref(a);
  jk_free(body);
}

/* POST /sync/v1/attest: the nation signs a fresh receipt; a prefecture carries the request up
 * for the asking municipality itself, and the nation's answer back as it is. */
static void on_attest(daemon_state *d, const jk_https_request *req, const jk_sync_peer *sp, jk_https_response *resp) {
  jk_sync_answer ans;
  if (jk_node_role(d->node) == JK_ROLE_NATIONAL) {
    store_lock(d);
    jk_sync_attest(&d->sync, sp, d->cert_pem, req->body, req->body_len, &ans);
    store_unlock(d);
    if (ans.status != 200) logmsg("warn", "attest request from %s refused (%u): %s", sp->node, ans.status, jk_error_last());
    return from_answer(resp, &ans);
  }
  char source[JK_NODE_ID_MAX + 1];
  if (jk_sync_attest_parse(req->body, req->body_len, source)) return answer_json(resp, 400, "INVALID", "attest: the body must be {\"source\": a node id}");
  if (strcmp(source, sp->node) != 0) return answer_json(resp, 403, "PERM", "a municipality asks for its own receipts only");
  if (!jk_node_upstream(d->node) || !jk_node_upstream_url(d->node))
    return answer_json(resp, 404, "NOTFOUND", "this node sends to no one");
  unsigned status = 0;
  uint8_t *body = NULL;
  size_t len = 0;
  jk_err e = post_upstream(d, "/sync/v1/attest", req, &status, &body, &len);
  if (e) {
    logmsg("warn", "attest for %s: the nation did not answer: %s", sp->node, jk_error_last());
    return answer_json(resp, 503, "IO", "the nation did not answer");
  }
  resp->status = status;
  resp->content_type = json_ctype;
  resp->body = body;
  resp->body_len = len;
}

static void on_disclose(daemon_state *d, const jk_https_request *req, const jk_sync_peer *sp, jk_https_response *resp) {
  jk_sync_answer ans;
  store_lock(d);
  jk_sync_disclose(&d->sync, sp, req->body, req->body_len, &ans);
  store_unlock(d);
  if (ans.status != 200) {
    logmsg("warn", "disclosure request from %s refused (%u): %s", sp->node, ans.status, jk_error_last());
    return from_answer(resp, &ans);
  }
  json_t *mine = json_loadb((const char *)ans.body, ans.body_len, 0, NULL);
  jk_free(ans.body);
  if (mine) json_object_set_new(mine, "name", json_string(jk_node_name(d->node))); /* for the letter */
  json_t *list = json_array();
  json_array_append_new(list, mine);
  if (jk_node_role(d->node) == JK_ROLE_PREFECTURAL) disclose_upstream(d, req, list);
  json_t *o = json_pack("{s:o}", "disclosures", list); /* takes list */
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  size_t n = s ? strlen(s) : 0;
  resp->body = s ? jk_malloc(n) : NULL;
  if (!resp->body) {
    free(s);
    return answer_json(resp, 500, "INTERNAL", "out of memory");
  }
  memcpy(resp->body, s, n);
  free(s);
  resp->body_len = n;
  resp->status = 200;
  resp->content_type = json_ctype;
}

static void on_sync(const jk_https_request *req, jk_https_response *resp, void *payload) {
  daemon_state *d = payload;
  bool batch = strcmp(req->url, "/sync/v1/batch") == 0, peer = strcmp(req->url, "/sync/v1/peer") == 0,
       state = strcmp(req->url, "/sync/v1/state") == 0, disclose = strcmp(req->url, "/sync/v1/disclose") == 0,
       attest = strcmp(req->url, "/sync/v1/attest") == 0;
  if (!batch && !peer && !state && !disclose && !attest) return answer_json(resp, 404, "NOTFOUND", "no such endpoint");
  if (strcmp(req->method, "POST") != 0) return answer_json(resp, 405, "INVALID", "method not allowed");
  if (!jk_node_peer_allowed(d->node, req->peer->node)) {
    logmsg("warn", "sync request from %s refused: not in [sync] allow", req->peer->node);
    return answer_json(resp, 403, "PERM", "this node is not among the peers allowed here");
  }
  if (atomic_load(&d->conn_stopped))
    return answer_json(resp, 503, "DISCONNECTED", "the connection of this node is stopped");
  jk_sync_peer sp;
  to_sync_peer(req->peer, &sp);
  if (disclose) return on_disclose(d, req, &sp, resp);
  if (attest) return on_attest(d, req, &sp, resp);
  jk_sync_answer ans;
  if (batch) atomic_fetch_add(&d->batch_in, 1);
  store_lock(d);
  if (batch) wait_turn(d, req->body, req->body_len);
  if (atomic_load(&d->conn_stopped)) { /* re-checked under the lock: a stop is final for this request */
    if (batch) batch_done(d);
    store_unlock(d);
    return answer_json(resp, 503, "DISCONNECTED", "the connection of this node is stopped");
  }
  if (batch) jk_sync_receive(&d->sync, &sp, req->body, req->body_len, &ans);
  else if (state) jk_sync_state(&d->sync, &sp, &ans);
  else jk_sync_receive_peer(&d->sync, &sp, d->ca_pem, d->crl_pem, req->body, req->body_len, &ans);
  if (batch) batch_done(d);
  store_unlock(d);
  if (batch && ans.status == 200) {
    atomic_fetch_add(&d->batches_in, 1);
    pthread_mutex_lock(&d->lock);
    pthread_cond_signal(&d->wake); /* forward at once */
    pthread_mutex_unlock(&d->lock);
  } else if (ans.status != 200 && ans.status != 204 && ans.status != 409) {
    atomic_fetch_add(&d->refused_in, 1);
    logmsg("warn", "sync request from %s refused (%u): %s", sp.node, ans.status, jk_error_last());
  }
  from_answer(resp, &ans);
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
  store_lock_first(d);
  jk_err e = jk_conn_get(jk_node_store(d->node), &c);
  store_unlock(d);
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

/* One batch on its way: posted on a thread of its own, so that the next batch is built and sent
 * while the receiver applies this one (JK_SYNC_WINDOW in flight). */
typedef struct post_job {
  daemon_state *d;
  jk_https_client *c;
  uint8_t *body;
  size_t len;
  jk_sync_batch_info info;
  pthread_t th;
  jk_err e; /* the transport's result; then the answer: */
  unsigned status;
  uint8_t *resp;
  size_t resp_len;
  char type[64];
  char err[512]; /* the transport error's text (errors are per thread) */
} post_job;

static void *post_run(void *arg) {
  post_job *j = arg;
  j->e = post(j->c, j->d, "/sync/v1/batch", j->body, j->len, "application/octet-stream", &j->status, &j->resp,
              &j->resp_len, j->type, sizeof j->type);
  if (j->e) snprintf(j->err, sizeof j->err, "%s", jk_error_last());
  jk_free(j->body);
  j->body = NULL;
  return NULL;
}

typedef struct sender_state {
  daemon_state *d;
  jk_https_client *cl[JK_SYNC_WINDOW]; /* one per batch in flight: each keeps its connection */
  bool cl_busy[JK_SYNC_WINDOW];
  jk_sync_sender *snd;
  post_job *jobs[JK_SYNC_WINDOW]; /* in flight, oldest first */
  size_t njobs;
  long backoff;
  bool need_probe, probe_restart;
} sender_state;

/* Wait for the oldest batch in flight; *job is the caller's to free (job_free). */
static post_job *job_join(sender_state *st) {
  post_job *j = st->jobs[0];
  pthread_join(j->th, NULL);
  st->njobs--;
  memmove(&st->jobs[0], &st->jobs[1], st->njobs * sizeof st->jobs[0]);
  for (size_t i = 0; i < JK_SYNC_WINDOW; i++)
    if (st->cl[i] == j->c) st->cl_busy[i] = false;
  return j;
}

static void job_free(post_job *j) {
  if (!j) return;
  jk_free(j->body);
  jk_free(j->resp);
  jk_free(j);
}

/* Start posting a built batch (body is taken). -1 when no thread could be started. */
static int job_start(sender_state *st, uint8_t *body, size_t len, const jk_sync_batch_info *info) {
  size_t k = 0;
  while (k < JK_SYNC_WINDOW && st->cl_busy[k]) k++;
  post_job *j = k < JK_SYNC_WINDOW ? jk_calloc(1, sizeof *j) : NULL;
  if (!j) {
    jk_free(body);
    return -1;
  }
  *j = (post_job){.d = st->d, .c = st->cl[k], .body = body, .len = len, .info = *info};
  if (pthread_create(&j->th, NULL, post_run, j) != 0) {
    job_free(j);
    return -1;
  }
  st->cl_busy[k] = true;
  st->jobs[st->njobs++] = j;
  return 0;
}

/* After an error: the batches still in flight were built on the one that failed. Their answers
 * are awaited and dropped (a receipt is cumulative: the next batch's answer says where the
 * receiver is), and the sender starts again from what was acknowledged. */
static void drop_flights(sender_state *st) {
  while (st->njobs) job_free(job_join(st));
  if (!st->snd) return;
  store_lock_first(st->d);
  jk_sync_sender_forget(st->snd);
  store_unlock(st->d);
}

static long more(long backoff, long first) { return backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : first; }

/* After the answer to the oldest batch in flight was taken (e: jk_sync_sender_reply's result,
 * under the store lock) or its transport failed (j->e): count it, or act on the error. */
static void answered(sender_state *st, post_job *j, jk_err e) {
  daemon_state *d = st->d;
  if (j->e) {
    logmsg("warn", "sending to %s: %s", jk_node_upstream(d->node), j->err);
    st->need_probe = st->probe_restart = true; /* the upstream may come back with less than it acknowledged */
    atomic_store(&d->link, 1);
    st->backoff = more(st->backoff, 100);
    drop_flights(st);
    return;
  }
  if (e == JK_OK) {
    atomic_fetch_add(&d->batches_out, 1);
    atomic_fetch_add(&d->notices_out, j->info.count);
    atomic_store(&d->link, 0);
    st->backoff = 0;
    return;
  }
  char why[512];
  snprintf(why, sizeof why, "%s", jk_error_last());
  drop_flights(st); /* the sender forgot them already; their answers are not taken */
  if (e == JK_ECONFLICT) {
    logmsg("info", "%s", why);
    st->backoff = 0;
  } else if (e == JK_ENOTFOUND) { /* the upstream does not know this source yet: introduce it */
    char *pem = NULL;
    unsigned status = 0;
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    char type[64];
    store_lock_first(d);
    e = jk_sync_sender_source_cert(st->snd, j->info.source, &pem);
    store_unlock(d);
    if (!e) {
      e = post(st->cl[0], d, "/sync/v1/peer", (const uint8_t *)pem, strlen(pem), "application/x-pem-file", &status, &resp,
               &resp_len, type, sizeof type);
      jk_free(resp);
      if (!e && status != 204)
        e = jk_error_set(JK_EPERM, "the upstream refused the certificate of %s (%u)", j->info.source, status);
    }
    jk_free(pem);
    if (e) {
      logmsg("error", "introducing %s upstream: %s", j->info.source, jk_error_last());
      st->backoff = 5000;
    }
  } else if (e == JK_ECRYPTO || e == JK_ECORRUPT || e == JK_EPERM || e == JK_EINVAL) {
    logmsg("error", "link to %s HALTED: %s (an incident: the operators must look; retrying in 60 s)",
           jk_node_upstream(d->node), why);
    atomic_store(&d->link, 2);
    st->backoff = 60000;
  } else {
    logmsg("warn", "upstream %s: %s", jk_node_upstream(d->node), why);
    atomic_store(&d->link, 1);
    st->backoff = more(st->backoff, 200);
  }
}

/* Every answer still awaited, taken in order (stopping the connection: batches sent before the
 * stop count). */
static void take_all(sender_state *st) {
  while (st->njobs) {
    post_job *j = job_join(st);
    jk_err e = JK_OK;
    if (!j->e) {
      store_lock_first(st->d);
      e = jk_sync_sender_reply(st->snd, j->status, j->type, j->resp, j->resp_len);
      store_unlock(st->d);
    }
    answered(st, j, e);
    job_free(j);
  }
}

/* Nothing to send: now and then ask whether the upstream still holds what it acknowledged (it
 * may have been restored from a backup, or failed over to a lagging replica, while we had
 * nothing to send); then wait for a change. */
static void idle(sender_state *st, time_t *last_state, bool municipal) {
  daemon_state *d = st->d;
  atomic_store(&d->link, 0);
  st->backoff = 0;
  time_t now = time(NULL);
  if (now - *last_state >= jk_node_sync_check_interval(d->node)) {
    *last_state = now;
    unsigned status = 0;
    uint8_t *body = NULL;
    size_t len = 0;
    char type[64];
    bool behind = false;
    if (post(st->cl[0], d, "/sync/v1/state", NULL, 0, "application/json", &status, &body, &len, type, sizeof type) ==
            JK_OK &&
        status == 200) {
      store_lock_first(d);
      jk_err e = jk_sync_sender_state_behind(st->snd, body, len, &behind);
      store_unlock(d);
      if (!e && behind) {
        logmsg("warn", "%s holds less than it acknowledged: asking it source by source", jk_node_upstream(d->node));
        st->need_probe = st->probe_restart = true;
      }
    }
    jk_free(body);
    if (st->need_probe) return;
  }
  if (!municipal) {
    sleep_ms(d, 250); /* a receiver wakes us when it applied something */
    return;
  }
  /* a municipality's registry is written by other processes (the CLI): poll its outbox's size,
   * one cheap query every 10 ms, and build a batch only when it grew */
  int64_t was = -1, now_size = -1;
  store_lock_first(d);
  jk_store_notice_size(jk_node_store(d->node), jk_node_id(d->node), &was);
  store_unlock(d);
  while (!atomic_load(&d->stopping) && !atomic_load(&d->conn_stopped)) {
    sleep_ms(d, 10);
    store_lock_first(d);
    jk_err pe = jk_store_notice_size(jk_node_store(d->node), jk_node_id(d->node), &now_size);
    store_unlock(d);
    if (pe || now_size != was) break;
  }
}

/* Learn the upstream's key from its certificate (the client exposes the server it verified). */
static jk_err sender_open(sender_state *st) {
  daemon_state *d = st->d;
  jk_err e = JK_OK;
  for (size_t i = 0; i < JK_SYNC_WINDOW && !e; i++)
    if (!st->cl[i]) e = jk_https_client_new(&st->cl[i], d->tls);
  if (e) {
    logmsg("error", "sync client: %s", jk_error_last());
    st->backoff = 5000;
    return e;
  }
  if (st->snd) return JK_OK;
  jk_tls_peer up;
  if ((e = jk_https_client_peer(st->cl[0], jk_node_upstream_url(d->node), jk_node_upstream(d->node), &up))) {
    logmsg("warn", "upstream %s: %s", jk_node_upstream(d->node), jk_error_last());
    atomic_store(&d->link, 1);
    st->backoff = more(st->backoff, 200);
    return e;
  }
  store_lock_first(d);
  e = jk_sync_sender_new(&st->snd, &d->sync, up.node, up.pubkey);
  store_unlock(d);
  jk_free(up.cert_pem);
  if (e) {
    logmsg("error", "sync sender: %s", jk_error_last());
    st->backoff = 5000;
  }
  return e;
}

static void *sender(void *arg) {
  daemon_state *d = arg;
  sender_state st = {.d = d, .need_probe = true, .probe_restart = true}; /* ask the upstream where it is, first */
  time_t last_state = time(NULL);
  bool municipal = jk_node_role(d->node) == JK_ROLE_MUNICIPAL;
  bool built_nothing = false;
  while (!atomic_load(&d->stopping)) {
    if (atomic_load(&d->conn_stopped)) {
      take_all(&st);
      sleep_ms(d, 100);
      continue;
    }
    if (st.backoff && !st.njobs) {
      sleep_ms(d, st.backoff);
      if (atomic_load(&d->stopping)) break;
    }
    if (sender_open(&st)) continue;
    /* Each round holds the store once: take the oldest answer (when the window is full, or
     * there was nothing more to send) and build the next batch. A prefecture's receivers hold
     * the store for a whole apply each; a forwarder that asked twice per batch would get one
     * turn per apply and feed the nation at half the rate. */
    post_job *done = st.njobs == JK_SYNC_WINDOW || (st.njobs && built_nothing) ? job_join(&st) : NULL;
    uint8_t *body = NULL;
    size_t len = 0;
    jk_sync_batch_info info;
    jk_err ae = JK_OK, e = JK_OK;
    int64_t pending = -1;
    store_lock_first(d);
    if (done && !done->e) ae = jk_sync_sender_reply(st.snd, done->status, done->type, done->resp, done->resp_len);
    if (!(done && (done->e || ae)) && st.njobs < JK_SYNC_WINDOW && !(st.need_probe && st.njobs)) {
      if (st.need_probe) { /* after (re)connecting: does the upstream still hold what it acknowledged? */
        e = jk_sync_sender_probe(st.snd, st.probe_restart, &body, &len, &info);
        st.probe_restart = false;
        if (!e && !body) st.need_probe = false; /* every source asked */
      }
      if (!st.need_probe && !body && !e) e = jk_sync_sender_next(st.snd, 0, &body, &len, &info);
      if (!e) jk_sync_pending(&d->sync, jk_node_upstream(d->node), &pending);
    }
    store_unlock(d);
    if (pending >= 0) atomic_store(&d->pending, pending);
    if (done) {
      bool failed = ae || done->e; /* then nothing was built: the window is dropped */
      answered(&st, done, ae);
      job_free(done);
      if (failed) continue;
    }
    built_nothing = !body;
    if (e) {
      logmsg("error", "cannot build the next batch: %s", jk_error_last());
      drop_flights(&st);
      st.backoff = e == JK_EBUSY ? 200 : 5000;
      continue;
    }
    if (body && atomic_load(&d->conn_stopped)) { /* stopped while we built it: it waits in the outbox */
      jk_free(body);
      take_all(&st);
      store_lock_first(d);
      jk_sync_sender_forget(st.snd);
      store_unlock(d);
      continue;
    }
    if (body) {
      if (job_start(&st, body, len, &info)) {
        logmsg("error", "cannot start a thread to send a batch");
        drop_flights(&st);
        st.backoff = 1000;
      }
      continue;
    }
    if (!st.njobs) idle(&st, &last_state, municipal);
  }
  while (st.njobs) job_free(job_join(&st));
  jk_sync_sender_free(st.snd);
  for (size_t i = 0; i < JK_SYNC_WINDOW; i++) jk_https_client_free(st.cl[i]);
  return NULL;
}

static pthread_t poll_thread;
static bool poll_running;

static jk_err read_text(const char *path, char **out) { return jk_file_read(path, 1u << 20, out, NULL); }

int net_start(daemon_state *d) {
  jk_node *n = d->node;
  pthread_cond_init(&d->wake, NULL);
  pthread_cond_init(&d->applied, NULL);
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
  if (!listen && !up && !jk_node_provision_listen(n)) return 0; /* a node on its own */
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
  if ((e = read_text(ca, &d->ca_pem)) || (have_crl && (e = read_text(crl, &d->crl_pem))) ||
      (e = read_text(cert, &d->cert_pem))) {
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
  if (provision_start(d) != 0) return -1;
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
  provision_stop(d);
  jk_https_stop(d->https);
  d->https = NULL;
  if (poll_running) pthread_join(poll_thread, NULL);
  poll_running = false;
  jk_tls_close(d->tls);
  d->tls = NULL;
  jk_free(d->ca_pem);
  jk_free(d->crl_pem);
  jk_free(d->cert_pem);
  d->ca_pem = d->crl_pem = d->cert_pem = NULL;
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
  store_lock(d);
  char *old = d->crl_pem;
  d->crl_pem = pem;
  store_unlock(d);
  jk_free(old);
  logmsg("info", "SIGHUP: CRL %s reloaded", crl);
  return 0;
}
