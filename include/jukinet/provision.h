/*
 * provision.h — a national agency's query for 本人確認情報 (issue 5, docs/provision.md):
 * the body of POST /api/v1/provision, parsed strictly before anything is looked up.
 *
 *   {"purpose": "B1-77", "code": "12345678901"}
 *   {"purpose": "B1-77", "kana": "ヤマダ タロウ", "birth": "1980-04-01", "sex": "男", "address": "…"}
 *
 * Exactly one way to name the resident: a 住民票コード, or 氏名かな + 生年月日 + 性別 (with the
 * 住所 optional). Nothing else is accepted: an unknown or repeated key, a wrong type, an empty or
 * oversized value, text that is not kana, an impossible date, both ways at once or neither.
 */
#ifndef JUKINET_PROVISION_H
#define JUKINET_PROVISION_H

#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"
#include "jukinet/ledger.h"
#include "jukinet/purpose.h"
#include "jukinet/rescode.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JK_PROVISION_BODY_MAX 4096 /* bytes of a query body */

typedef struct jk_provision_query {
  char purpose[JK_PURPOSE_CODE_MAX + 1]; /* well formed; whether the table has it is the caller's */
  bool by_code;                          /* true: code; false: kana + birth + sex (+ address) */
  char code[JK_RESCODE_LEN + 1];         /* a valid 住民票コード (check digit) */
  char kana[JK_NAME_MAX + 1];            /* NFC, kana only */
  jk_date birth;                         /* ISO 8601 or 和暦 in the body */
  jk_sex sex;
  char address[JK_ADDRESS_MAX + 1];      /* NFC; "" when not given */
} jk_provision_query;

/* Parse a query body (len bytes). JK_OK and *out filled; JK_EINVAL naming the key and the
 * problem; JK_ETOOLARGE over JK_PROVISION_BODY_MAX. *out is zeroed on failure. */
JK_API jk_err jk_provision_query_parse(const void *body, size_t len, jk_provision_query *out);

/* ---- the query service (src/provision/service.c) ----
 * The engine behind POST /api/v1/provision: a request in, its answer out, with the provision
 * record (store table `provision`) and its ledger entry durable before the answer is released.
 * Requests are group-committed: every caller waits on one committer thread, which takes all
 * the requests queued, decides them, writes their records in one transaction and commits once
 * (one fsync, one signed ledger head). Answers (docs/provision.md "Answer"):
 *   200  {"purpose","resident":{only the purpose's fields},"provision":id}
 *   200  {"purpose","result":"ambiguous","provision":id}   a name search matching several people
 *   404  NOTFOUND  no match, or a resident held back (erased): the same answer in every case
 *   400  INVALID   a malformed body, or a purpose code not in the table
 *   403  PERM      not an agency certificate, an unregistered or revoked agency, or a purpose
 *                  the agency is not registered for
 *   429  BUSY      over the agency's rate (answers per second, a bucket of one second's worth)
 *   503  IO        the record could not be made durable: nothing is disclosed
 * Every one of them, refusals included, is a provision row and a ledger entry (provision.answer
 * for 200 and 404, provision.refuse for the others) in the same transaction. */
typedef struct jk_provision_service jk_provision_service;

/* How the service gets the store: the daemon's store handle is shared, so the committer takes
 * it with lock() and gives it back with unlock() around each group, and around the signing of
 * the ledger's tail, which the committer does on its own timer when requests stop (D15). NULL
 * hooks: the service owns the handle alone, between requests too. answers_begin and answers_end
 * (each may be NULL) bracket the hand-over of one group's answers to their done callbacks, on
 * the committer's thread: the daemon holds its HTTPS threads' wake-ups meanwhile
 * (jk_https_hold), so that a group wakes each of them once, not once per answer. */
typedef struct jk_provision_hooks {
  void (*lock)(void *payload);
  void (*unlock)(void *payload);
  void (*answers_begin)(void *payload);
  void (*answers_end)(void *payload);
  void *payload;
} jk_provision_hooks;

/* s and l (the node's store and its attached ledger, with a signer) and table (the purposes,
 * e.g. jk_purposes_builtin) are borrowed and must outlive the service. Starts the committer.
 * JK_EINVAL bad argument, JK_ENOMEM, JK_EIO the thread cannot start. */
JK_API jk_err jk_provision_service_new(jk_provision_service **out, jk_store *s, jk_ledger *l,
                                       const jk_purposes *table, const jk_provision_hooks *hooks);
/* Answers the requests still queued with 503, stops the committer, frees. NULL is a no-op. */
JK_API void jk_provision_service_free(jk_provision_service *svc);

typedef struct jk_provision_request {
  const char *client;  /* the client certificate's identity (CN) */
  const char *role;    /* its role (OU): only "agency" may query */
  const char *addr;    /* "IPv4:port", for the ledger's terminal */
  const void *body;
  size_t len;
} jk_provision_request;

/* Handle one request; blocks until its answer and its record are durable (or it failed).
 * Thread-safe: call from as many threads as there are connections. *status the HTTP status,
 * *body (jk_free) a JSON body of *len bytes. JK_OK whenever an answer was produced (whatever
 * its status); JK_ENOMEM / JK_EINVAL (NULL argument) otherwise. */
JK_API jk_err jk_provision_handle(jk_provision_service *svc, const jk_provision_request *req, unsigned *status,
                                  char **body, size_t *len);

/* The same without waiting: done(arg, status, body, len) is called once the answer is ready —
 * on the committer's thread (or on this one, when the service is stopping); body is the
 * caller's (jk_free; NULL when out of memory, status then 500). req and everything it points to
 * must stay valid until then. JK_OK when submitted (done will be called); JK_EINVAL (NULL
 * argument) / JK_ENOMEM otherwise (done will not be called). */
typedef void (*jk_provision_done_fn)(void *arg, unsigned status, char *body, size_t len);
JK_API jk_err jk_provision_submit(jk_provision_service *svc, const jk_provision_request *req,
                                  jk_provision_done_fn done, void *arg);

/* Counters since the start (any thread): answers (200 and 404), refusals, commits. */
typedef struct jk_provision_stats {
  unsigned long answers, refusals, commits, failures;
} jk_provision_stats;
JK_API void jk_provision_stats_get(jk_provision_service *svc, jk_provision_stats *out);

#ifdef __cplusplus
}
#endif
#endif
