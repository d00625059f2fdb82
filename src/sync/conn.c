/*
 * conn.c — 接続の停止: the persistent switch that cuts a node off the network (Hirakata art. 7,
 * Kadoma answer 3). Kept in node metadata so that a restart keeps it; the daemon reads it
 * before every batch it sends or accepts and polls it several times a second.
 */
#include "sync_int.h"

#include "jukinet/text.h"

#include <string.h>

#define K_STATE "connection.state"
#define K_REASON "connection.reason"
#define K_BY "connection.by"
#define K_AT "connection.at"

static void meta_into(jk_store *s, const char *key, char *out, size_t cap) {
  char *v = NULL;
  out[0] = 0;
  if (jk_store_meta_get(s, key, &v) == JK_OK && v) snprintf(out, cap, "%s", v);
  jk_free(v);
}

jk_err jk_conn_get(jk_store *s, jk_conn_state *out) {
  memset(out, 0, sizeof *out);
  char *v = NULL;
  jk_err e = jk_store_meta_get(s, K_STATE, &v);
  if (e == JK_ENOTFOUND) return JK_OK;
  if (e) return e;
  if (strcmp(v, "stopped") != 0 && strcmp(v, "connected") != 0) {
    jk_free(v);
    return jk_error_set(JK_ECORRUPT, "node metadata %s holds an unknown value", K_STATE);
  }
  out->stopped = strcmp(v, "stopped") == 0;
  jk_free(v);
  meta_into(s, K_REASON, out->reason, sizeof out->reason);
  meta_into(s, K_BY, out->by, sizeof out->by);
  meta_into(s, K_AT, out->at, sizeof out->at);
  return JK_OK;
}

jk_err jk_conn_set(jk_store *s, bool stopped, const char *reason, const char *by) {
  if (!by || !*by || strlen(by) > JK_STAFF_ID_MAX) return jk_error_set(JK_EINVAL, "jk_conn_set: bad operator");
  if (stopped) {
    size_t n = reason ? strlen(reason) : 0;
    if (n == 0) return jk_error_set(JK_EINVAL, "a reason is required to stop the connection");
    if (n > JK_OP_TEXT_MAX) return jk_error_set(JK_ETOOLARGE, "the reason is longer than %d bytes", JK_OP_TEXT_MAX);
    if (!jk_utf8_valid(reason, n)) return jk_error_set(JK_EINVAL, "the reason is not valid UTF-8");
    for (const unsigned char *p = (const unsigned char *)reason; *p; p++)
      if (*p < 0x20 || *p == 0x7f) return jk_error_set(JK_EINVAL, "the reason contains a control character");
  }
  jk_conn_state cur;
  jk_err e = jk_conn_get(s, &cur);
  if (e) return e;
  if (cur.stopped == stopped)
    return jk_error_set(JK_ECONFLICT, stopped ? "the connection is already stopped" : "the connection is not stopped");
  char at[32];
  jk_utc_now(at, 0);
  if ((e = jk_store_meta_set(s, K_STATE, stopped ? "stopped" : "connected")) ||
      (e = jk_store_meta_set(s, K_REASON, stopped ? reason : "")) || (e = jk_store_meta_set(s, K_BY, by)) ||
      (e = jk_store_meta_set(s, K_AT, at)))
    return e;
  return JK_OK;
}
