/*
 * daemon.h — shared between the parts of jukinetd (private to cmd/jukinetd).
 */
#ifndef JK_DAEMON_H
#define JK_DAEMON_H

#include "jukinet/https.h"
#include "jukinet/node.h"
#include "jukinet/sync.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

typedef struct daemon_state {
  jk_node *node;
  pthread_mutex_t lock;     /* short-held: backs the condition variables and the store lock */
  pthread_cond_t store_free; /* the store lock (store_lock.c): held flag, priority waiters */
  bool store_held;
  int store_first_waiting;
  time_t started;
  int schema;                        /* the store's schema version, read at start */
  _Atomic unsigned long replies[6]; /* by status class: 1xx … 5xx (index 1..5) */
  /* the network (net.c) */
  jk_sync_ctx sync;
  jk_tls *tls;
  jk_https_server *https;
  jk_https_server *prov_https;       /* the provision service ([provision] listen, provision.c) */
  struct jk_provision_service *prov;
  char *ca_pem, *crl_pem;            /* for POST /sync/v1/peer */
  char *cert_pem;                    /* this node's certificate (POST /sync/v1/attest) */
  pthread_t sender;
  bool sender_running;
  pthread_cond_t wake;               /* signalled when there may be something to send */
  pthread_cond_t applied;            /* broadcast (under lock) when a batch request is done */
  _Atomic int batch_in, batch_waiting; /* batch requests in the handler, and those of them
                                          waiting for an earlier batch of their sender */
  _Atomic bool stopping;
  _Atomic bool conn_stopped;         /* 接続の停止, polled from the store */
  _Atomic int link;                  /* 0 idle/ok, 1 retrying, 2 halted (CRYPTO/CORRUPT) */
  _Atomic unsigned long batches_in, batches_out, notices_in, notices_out, refused_in;
  _Atomic long long pending;         /* notices not yet acknowledged upstream */
} daemon_state;

void logmsg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The store handle is single-threaded: every use holds the store lock (store_lock.c), never
 * across a network call. store_lock_first is for short, frequent uses that must not wait
 * behind queued batch receivers (the sender thread, the connection-switch poller);
 * store_lock_until gives up at `until` (CLOCK_REALTIME) and says whether it got the lock. */
void store_lock(daemon_state *d);
void store_lock_first(daemon_state *d);
bool store_lock_until(daemon_state *d, const struct timespec *until);
void store_unlock(daemon_state *d);

/* An HTTPS error answer: {"error":{"code","message"}}; msg is ours (English, no quotes or
 * backslashes). json_ctype is the JSON Content-Type. */
extern const char *const json_ctype;
void answer_json(jk_https_response *resp, unsigned status, const char *code, const char *msg);

/* Start / stop the network side: the HTTPS sync service ([sync] listen), the sender thread
 * ([sync] upstream) and the connection-switch poller. 0 or -1 (logged). */
int net_start(daemon_state *d);
void net_stop(daemon_state *d);
/* The provision service for national agencies ([provision] listen), on the TLS credentials of
 * net_start; stop before them. 0 (also when not configured) or -1 (logged). */
int provision_start(daemon_state *d);
void provision_stop(daemon_state *d);
/* SIGHUP: re-read the CRL for TLS and for the certificates posted to /sync/v1/peer. 0 or -1
 * (logged; the old CRL stays in force). */
int net_reload(daemon_state *d);

#endif
