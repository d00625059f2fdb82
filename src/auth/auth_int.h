/*
 * auth_int.h — shared between the files of src/auth (private).
 */
#ifndef JK_AUTH_INT_H
#define JK_AUTH_INT_H

#include "jukinet/auth.h"
#include "jukinet/ledger.h"

#define JK_CARD_KEY_LABEL "jukinet-operator" /* the Ed25519 key on an operator's card */
#define PASSWORD_MAX_BYTES 256
#define PIN_MAX_BYTES 256

struct jk_session {
  jk_node *node;
  jk_store *store;
  jk_ledger *ledger;
  int64_t session_id, operator_id, card_id;
  char staff_id[JK_STAFF_ID_MAX + 1];
  char name[JK_OP_TEXT_MAX + 1];
  char roles[512];  /* in force today, comma-separated */
  bool designated;
  char terminal[JK_OP_TEXT_MAX + 1];
  char role_used[32];
  bool touch;       /* mark the session used in the next transaction with entries */
  bool ended;
};

/* Seconds from an ISO UTC time ("YYYY-MM-DDTHH:MM:SS…") to now; a very large number when the
 * text cannot be read (treated as long past: expired). */
long long jk__auth_seconds_since(const char *iso);
/* Record a refusal (or any outcome) at once, in a transaction of its own. */
jk_err jk__auth_record(jk_node *n, const char *staff_id, const char *role, const char *terminal, const char *action,
                       const char *object, jk_err result);
/* Roles in force on `today` for an operator: comma-separated into out; *designated. */
jk_err jk__auth_roles(jk_store *s, int64_t operator_id, jk_date today, char *out, size_t cap, bool *designated);
/* Whether any of `have` (comma list) is in `allowed` (comma list or "*"); the first match goes
 * to matched (or "-" for "*" with no roles). */
bool jk__auth_roles_match(const char *have, const char *allowed, char matched[32]);

/* A staff id: 1..JK_STAFF_ID_MAX of [A-Za-z0-9._-]. */
bool jk__auth_staff_id_ok(const char *s);

/* Passwords (password.c). */
jk_err jk__password_check_policy(jk_store *s, const jk_auth_policy *p, int64_t operator_id, const char *pw,
                                 size_t len);
jk_err jk__password_hash(const char *pw, size_t len, char out[128]);
/* JK_OK when pw matches the operator's current password; JK_EAUTH when not. *expired set. */
jk_err jk__password_verify(jk_store *s, const jk_auth_policy *p, int64_t operator_id, const char *pw, size_t len,
                           bool *expired);
jk_err jk__password_store(jk_store *s, int64_t operator_id, const char *pw, size_t len, const char *by);

/* Cards (card.c): open the card, log in with the PIN, have it sign a fresh challenge and check
 * the signature against pubkey (when given) or return the card's key in pk_out. serial and
 * label of the token are copied out (65 bytes each). */
jk_err jk__card_prove(const char *module, const char *token_label, const char *pin, size_t pin_len,
                      const uint8_t *expected_pk, uint8_t pk_out[32], char serial[65], char label[65]);
/* Only the token's identity (no PIN): serial and label. */
jk_err jk__card_identify(const char *module, const char *token_label, char serial[65], char label[65]);

#endif
