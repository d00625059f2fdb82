/*
 * auth.h — operators, the regulation's roles, handling designations, IC card + password login,
 * sessions, the card ledger and the one place where permissions are checked.
 *
 * Regulation (Hirakata 訓令第25号): art. 11 operator IC card + password, operation history kept
 * (REQ-ACCESS-11-1/2/3); art. 12 card and password rules set by the アクセス管理責任者
 * (REQ-ACCESS-12); art. 13 card ledger (REQ-ACCESS-13); art. 14-16 only operators designated
 * by the 本人確認情報管理責任者 handle 本人確認情報 (REQ-ASSET-15).
 *
 * Login = the card (PKCS#11 C_Login with its PIN, then the card signs a fresh random challenge
 * that must verify against the public key enrolled for the operator) + the operator's password
 * (Argon2id). Every login attempt, every refusal and every operation is a ledger entry. Secrets
 * (PIN, password, session token) are held in libsodium guarded memory, compared in constant
 * time, and never written to the ledger, an error message or a log.
 *
 * Permissions are the table data/permissions.tsv (compiled in): action, the roles that may do
 * it, and whether the handling designation is also needed. jk_auth_begin is the only check.
 */
#ifndef JUKINET_AUTH_H
#define JUKINET_AUTH_H

#include "jukinet/common.h"
#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/node.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- roles ---- */
/* Role tokens: security_chief, deputy_chief, system_admin, security_officer, entry_manager,
 * access_manager, identity_manager, asset_manager, operator, auditor; and "handler" for the
 * handling designation. */
JK_API bool jk_auth_role_valid(const char *token);
/* Japanese name of a role token (セキュリティ総括責任者 …), or NULL. */
JK_API const char *jk_auth_role_name_ja(const char *token);
/* Iterate over the role tokens in regulation order: i = 0, 1 … until NULL. */
JK_API const char *jk_auth_role_at(size_t i);

/* The permission row of an action: roles allowed (comma-separated tokens) and whether the
 * handling designation is needed. JK_ENOTFOUND for an unknown action. */
JK_API jk_err jk_auth_permission(const char *action, const char **roles, bool *needs_designation);
/* Iterate over the permission table: returns false past the end. */
JK_API bool jk_auth_permission_at(size_t i, const char **action, const char **roles, bool *needs_designation,
                                  const char **description);

/* ---- policy (art. 12: set by the アクセス管理責任者) ---- */
typedef struct jk_auth_policy {
  int min_length;        /* password length in characters (default 12) */
  int history;           /* the last N passwords may not be reused (default 5) */
  int max_age_days;      /* a password expires after this many days (default 90; 0 = never) */
  int lockout_threshold; /* consecutive failures that lock the operator (default 5) */
  int lockout_minutes;   /* how long (default 30) */
  int idle_minutes;      /* a session ends after this long unused (default 15) */
} jk_auth_policy;
JK_API jk_err jk_auth_policy_get(jk_node *n, jk_auth_policy *out);

/* ---- sessions ---- */
typedef struct jk_session jk_session;

/* Credentials for a login. Borrowed; the caller wipes them. */
typedef struct jk_login_req {
  const char *staff_id;     /* NULL: whoever the card is enrolled to */
  const char *card_token;   /* the card's token label */
  const char *pin;
  size_t pin_len;
  const char *password;
  size_t password_len;
  const char *new_password; /* to change an expired password at login (optional) */
  size_t new_password_len;
  const char *terminal;     /* where from, for the ledger */
} jk_login_req;

#define JK_SESSION_TOKEN_LEN 64 /* hex characters */

/* Log in. On success token (JK_SESSION_TOKEN_LEN hex + NUL) is the session's bearer token: only
 * its SHA-256 is stored. Failures: JK_EAUTH (wrong PIN, card, password — the message does not
 * say which secret was wrong beyond PIN vs password), JK_EPERM (locked out, card lost/revoked/
 * returned, operator disabled, password expired and no new one given). Each is recorded. */
JK_API jk_err jk_auth_login(jk_node *n, const jk_login_req *req, char token[JK_SESSION_TOKEN_LEN + 1]);

/* Resume a session from its token: JK_EAUTH when unknown, tampered, ended or idle too long
 * (recorded). Caller frees with jk_session_free. */
JK_API jk_err jk_auth_resume(jk_node *n, const char *token, const char *terminal, jk_session **out);
JK_API void jk_session_free(jk_session *s);
/* End the session (recorded). */
JK_API jk_err jk_auth_logout(jk_session *s);

JK_API const char *jk_session_staff_id(const jk_session *s);
JK_API const char *jk_session_name(const jk_session *s);
JK_API int64_t jk_session_operator_id(const jk_session *s);
/* Roles in force today, comma-separated ("" when none); whether designated as a handler. */
JK_API const char *jk_session_roles(const jk_session *s);
JK_API bool jk_session_designated(const jk_session *s);
JK_API jk_node *jk_session_node(jk_session *s);
/* Roles in force today of any operator (comma-separated into out), and the designation. */
JK_API jk_err jk_auth_roles_of(jk_node *n, int64_t operator_id, char *out, size_t cap, bool *designated);

/* ---- authorisation: the one check ---- */
/* Check that the session may perform `action` on `object` and stage its ledger entry (result
 * "ok"). `object_late`, when given, is read when the entry is written (at commit) instead of
 * object: for objects that exist only once the operation has run (a new resident's code).
 * On refusal: the refusal is recorded at once and JK_EPERM returned. */
JK_API jk_err jk_auth_begin(jk_session *s, const char *action, const char *object, const char *object_late);
/* Finish the operation: entries not yet written by a commit are written now, with result = the
 * error name when e != JK_OK. Returns e, or the ledger's error when the entry could not be
 * written (the operation's result must then not be shown). */
JK_API jk_err jk_auth_end(jk_session *s, jk_err e);

/* ---- administration (each checks its permission through jk_auth_begin) ---- */
typedef struct jk_operator_info {
  const char *staff_id, *name, *department;
} jk_operator_info;

/* The first system administrator, at node init: creates the operator, appoints
 * system_admin, access_manager and identity_manager, enrols the card (proved by PIN and a
 * signed challenge) and sets the password. Only on a node with no operator. */
JK_API jk_err jk_auth_bootstrap(jk_node *n, const jk_operator_info *admin, const char *card_token, const char *pin,
                                size_t pin_len, const char *password, size_t password_len, const char *terminal);

JK_API jk_err jk_auth_operator_add(jk_session *s, const jk_operator_info *op);
JK_API jk_err jk_auth_operator_disable(jk_session *s, const char *staff_id);
/* Appoint to a role (or "handler": the designation, only by an identity_manager), from a date
 * (y == 0: today). */
JK_API jk_err jk_auth_appoint(jk_session *s, const char *staff_id, const char *role, jk_date from);
/* End an appointment or designation (its last day: y == 0 = today). */
JK_API jk_err jk_auth_dismiss(jk_session *s, const char *staff_id, const char *role, jk_date until);
/* Set an operator's password: one's own (any logged-in operator, old password needed) or
 * another's (access_manager: an initial or reset password). Policy checked. */
JK_API jk_err jk_auth_set_password(jk_session *s, const char *staff_id, const char *old_pw, size_t old_len,
                                   const char *new_pw, size_t new_len);
JK_API jk_err jk_auth_policy_set(jk_session *s, const jk_auth_policy *p);

/* Card ledger (art. 13). enrol: the card must be present (its public key is read from it and
 * it signs a challenge after C_Login with its PIN). */
JK_API jk_err jk_auth_card_enrol(jk_session *s, const char *staff_id, const char *card_token, const char *pin,
                                 size_t pin_len, const char *note, int64_t *card_id);
/* event: "lend", "return", "lost", "revoke". replace = revoke old + enrol new. */
JK_API jk_err jk_auth_card_event(jk_session *s, int64_t card_id, const char *event, const char *note);
JK_API jk_err jk_auth_card_replace(jk_session *s, int64_t old_card_id, const char *card_token, const char *pin,
                                   size_t pin_len, const char *note, int64_t *new_card_id);

#ifdef __cplusplus
}
#endif
#endif
