/*
 * store_lock.c — who may use the node's store handle, and in what order.
 *
 * The store handle is single-threaded, so every use holds the store lock. It is not a plain
 * mutex because the users are unequal: a batch being received holds it for the whole apply
 * (~170 ms for 10,000 notices), while the sender thread's uses — take a receipt, build the next
 * batch — are short and keep the next tier busy. With a plain mutex, a prefecture whose
 * municipalities keep two batches in flight always has a receiver queued, the forwarder loses
 * most races for the lock, and the nation idles. So the sender (and the connection-switch
 * poller, whose 1 s promise must hold) ask with store_lock_first and are served before the
 * receivers waiting; between themselves the receivers are served in any order.
 *
 * Ownership is the store_held flag, changed under d->lock, which is only ever held for a few
 * instructions (it also backs the daemon's condition variables).
 */
#include "daemon.h"

static void take(daemon_state *d, bool first) {
  pthread_mutex_lock(&d->lock);
  if (first) d->store_first_waiting++;
  while (d->store_held || (!first && d->store_first_waiting)) pthread_cond_wait(&d->store_free, &d->lock);
  if (first) d->store_first_waiting--;
  d->store_held = true;
  pthread_mutex_unlock(&d->lock);
}

void store_lock(daemon_state *d) { take(d, false); }

void store_lock_first(daemon_state *d) { take(d, true); }

bool store_lock_until(daemon_state *d, const struct timespec *until) {
  pthread_mutex_lock(&d->lock);
  int rc = 0;
  while ((d->store_held || d->store_first_waiting) && rc == 0)
    rc = pthread_cond_timedwait(&d->store_free, &d->lock, until);
  bool got = !d->store_held && !d->store_first_waiting;
  if (got) d->store_held = true;
  pthread_mutex_unlock(&d->lock);
  return got;
}

void store_unlock(daemon_state *d) {
  pthread_mutex_lock(&d->lock);
  d->store_held = false;
  pthread_cond_broadcast(&d->store_free);
  pthread_mutex_unlock(&d->lock);
}
