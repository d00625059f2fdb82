/*
 * provision.c — jukinetd's query service for national agencies (docs/provision.md):
 * POST /api/v1/provision over HTTPS with mutual TLS 1.3 on [provision] listen, at a national or
 * prefectural node. Every verified certificate of the network may connect (a municipality's
 * too, so that its attempt is refused with a recorded 403 rather than a silent handshake
 * failure); src/provision/service.c decides, records and answers.
 *
 * Asynchronous: a request waits for the group commit that makes its record durable without
 * holding a thread, so two event-loop threads (src/net/https_loop.c, docs/decisions.md D16)
 * serve every connection and the groups fill from all of them (a thread per connection measured
 * 8,800 answers/s against 32 connections, most of it in context switches). The committer hands
 * a group's answers over with the threads' wake-ups held (jk_https_hold): one wake-up per
 * thread per group.
 */
#include "daemon.h"

#include "jukinet/pki.h"
#include "jukinet/provision.h"

#include <string.h>

#define PROVISION_BODY_MAX (JK_PROVISION_BODY_MAX + 1024) /* the parser names the 4 KiB limit itself */

/* The service's answer goes out on the connection it came from. */
static void answered(void *arg, unsigned status, char *body, size_t len) {
  jk_https_response resp = {.status = body ? status : 500, .content_type = json_ctype, .body = (uint8_t *)body,
                            .body_len = body ? len : 0};
  jk_https_finish(arg, &resp);
}

static void on_provision(const jk_https_request *req, jk_https_ticket *t, void *payload) {
  daemon_state *d = payload;
  jk_https_response resp = {0};
  if (strcmp(req->url, "/api/v1/provision") != 0) answer_json(&resp, 404, "NOTFOUND", "no such endpoint");
  else if (strcmp(req->method, "POST") != 0) answer_json(&resp, 405, "INVALID", "method not allowed (POST)");
  else {
    jk_provision_request pr = {.client = req->peer->node,
                               .role = req->peer->role,
                               .addr = req->addr,
                               .body = req->body,
                               .len = req->body_len};
    if (jk_provision_submit(d->prov, &pr, answered, t) == JK_OK) return;
    answer_json(&resp, 500, "INTERNAL", "out of memory");
  }
  jk_https_finish(t, &resp);
}

static void lock_store(void *payload) { store_lock(payload); }
static void hold_wakeups(void *payload) {
  (void)payload;
  jk_https_hold();
}
static void release_wakeups(void *payload) {
  (void)payload;
  jk_https_release();
}
static void unlock_store(void *payload) { store_unlock(payload); }

int provision_start(daemon_state *d) {
  const char *listen = jk_node_provision_listen(d->node);
  if (!listen) return 0;
  jk_role role = jk_node_role(d->node);
  if (role != JK_ROLE_NATIONAL && role != JK_ROLE_PREFECTURAL) {
    logmsg("error", "node.conf [provision] listen: only a national or prefectural node answers agencies");
    return -1;
  }
  const jk_purposes *table;
  jk_provision_hooks hooks = {.lock = lock_store,
                              .unlock = unlock_store,
                              .answers_begin = hold_wakeups,
                              .answers_end = release_wakeups,
                              .payload = d};
  jk_err e = jk_purposes_builtin(&table);
  if (!e) e = jk_provision_service_new(&d->prov, jk_node_store(d->node), jk_node_ledger(d->node), table, &hooks);
  if (e) {
    logmsg("error", "provision service: %s", jk_error_last());
    return -1;
  }
  /* jukinet's own event loop, not libmicrohttpd (docs/decisions.md D16): an answer that waits
   * for a group commit costs no suspend and resume of its connection */
  jk_https_options o = {.max_body = PROVISION_BODY_MAX,
                        .threads = 2,
                        .kinds = JK_PKI_NODE | JK_PKI_AGENCY,
                        .async = on_provision,
                        .event_loop = true};
  if ((e = jk_https_start_with(&d->prov_https, d->tls, listen, &o, NULL, d))) {
    logmsg("error", "provision service on %s: %s", listen, jk_error_last());
    return -1;
  }
  logmsg("info", "provision service for national agencies (mutual TLS 1.3) on %s", listen);
  return 0;
}

void provision_stop(daemon_state *d) {
  jk_https_stop(d->prov_https); /* waits for running handlers: they are answered first */
  d->prov_https = NULL;
  jk_provision_service_free(d->prov);
  d->prov = NULL;
}
