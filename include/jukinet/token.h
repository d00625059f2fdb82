/*
 * token.h — a thin PKCS#11 client for operators' IC cards and the nodes' key tokens.
 *
 * Operators log in with an IC card (a PKCS#11 token: SoftHSM2 in tests, OpenSC's module with real
 * readers); each node signs its tree heads with an Ed25519 key held on its own token. This module
 * loads a PKCS#11 module with dlopen (no GnuTLS, no p11-kit proxy), finds a token by its label,
 * logs in with a PIN, reads Ed25519 public keys, signs with CKM_EDDSA and generates key pairs.
 *
 * Errors. Every PKCS#11 return value is translated here and never leaks: the detail
 * (jk_error_last) names the PKCS#11 function and the CKR_ name ("C_Sign failed:
 * CKR_KEY_HANDLE_INVALID") or says in words what happened ("wrong PIN for token 'op1'").
 * The generic mapping, for every function below (the full table is CKR_LIST in src/token/token.c):
 *   CKR_HOST_MEMORY, CKR_DEVICE_MEMORY                          -> JK_ENOMEM
 *   CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE,
 *   CKR_USER_NOT_LOGGED_IN, CKR_USER_PIN_NOT_INITIALIZED        -> JK_EAUTH
 *   CKR_PIN_LOCKED, CKR_PIN_EXPIRED, CKR_TOKEN_WRITE_PROTECTED,
 *   CKR_SESSION_READ_ONLY, CKR_KEY_FUNCTION_NOT_PERMITTED,
 *   CKR_ACTION_PROHIBITED, CKR_USER_ANOTHER_ALREADY_LOGGED_IN   -> JK_EPERM
 *   CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED, CKR_SLOT_ID_INVALID,
 *   CKR_TOKEN_NOT_RECOGNIZED                                    -> JK_ENOTFOUND (card removed)
 *   CKR_MECHANISM_INVALID, CKR_FUNCTION_NOT_SUPPORTED,
 *   CKR_CURVE_NOT_SUPPORTED, CKR_KEY_TYPE_INCONSISTENT          -> JK_EUNSUPPORTED
 *   CKR_DATA_LEN_RANGE                                          -> JK_ETOOLARGE
 *   CKR_DEVICE_ERROR, CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED    -> JK_EIO
 *   CKR_SESSION_COUNT, CKR_OPERATION_ACTIVE,
 *   CKR_USER_ALREADY_LOGGED_IN (see jk_token_login)             -> JK_EBUSY
 *   anything else                                               -> JK_ECRYPTO
 * No PIN ever reaches an error message, a log or a copy (see jk_token_login).
 *
 * Modules. A module is dlopen'ed and C_Initialize'd (CKF_OS_LOCKING_OK) once per process per
 * path (symlinks resolved), refcounted by the open tokens, and C_Finalize'd and unloaded when
 * the last one closes. When the module was already initialised by someone else in the process
 * (CKR_CRYPTOKI_ALREADY_INITIALIZED) it is used as is and never finalised by this module.
 *
 * Threads. A jk_token is used by one thread at a time; different tokens may be used from
 * different threads at once (the module table is mutex-protected, the module does its own
 * locking). jk_token_verify, jk_token_default_module and jk_token_list are thread-safe.
 *
 * Fork. PKCS#11 requires a child process to call C_Initialize before using a module. Every
 * function below notices when it runs in a child (the pid differs from the one that
 * initialised the module), calls C_Initialize in the child and opens a fresh session for the
 * token. Whether the child is still logged in depends on the module: SoftHSM keeps the parent's
 * login by default (library.reset_on_fork = false), a real card and SoftHSM with
 * reset_on_fork = true do not: the child then gets JK_EAUTH from jk_token_sign until it calls
 * jk_token_login. Tokens opened before fork are still closed with jk_token_close in the child.
 *
 * PKCS#11 login is per process and per token, not per handle: two jk_token handles on the same
 * token share one login, and jk_token_close of either logs both out when it is the last one.
 */
#ifndef JUKINET_TOKEN_H
#define JUKINET_TOKEN_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes of raw Ed25519 keys and signatures. */
#define JK_TOKEN_PK_LEN 32
#define JK_TOKEN_SIG_LEN 64
/* A token label is at most 32 bytes (PKCS#11 CK_TOKEN_INFO.label); a key label at most 128. */
#define JK_TOKEN_LABEL_MAX 32
#define JK_TOKEN_KEY_LABEL_MAX 128

/* An open session on one token (one IC card, one node key token). Opaque. */
typedef struct jk_token jk_token;

/* The PKCS#11 module to use when none is configured: $JUKINET_PKCS11_MODULE if set and not
 * empty, else SoftHSM2's "/usr/lib/softhsm/libsofthsm2.so" if that file exists, else OpenSC's
 * "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so". Never NULL; borrowed (static storage or the
 * environment, valid until the environment changes). */
JK_API const char *jk_token_default_module(void);

/* Open the token labelled `label` (compared without PKCS#11's trailing blank padding) in the
 * PKCS#11 module at path `module`, and open a read-write session on it (read-only when the
 * token is write-protected). No login happens here.
 * On success *out is a new token the caller closes with jk_token_close; on failure *out is
 * NULL and nothing stays open.
 *   JK_EINVAL       NULL argument, empty label or one longer than JK_TOKEN_LABEL_MAX bytes.
 *   JK_ENOTFOUND    no module file at `module` ("PKCS#11 module /x.so not found"), or no token
 *                   labelled `label` in it (the message names the label and the module).
 *   JK_ECONFLICT    more than one token present carries that label.
 *   JK_EUNSUPPORTED the file is not a loadable PKCS#11 module, or the module lacks a function
 *                   this module needs.
 *   others          from C_Initialize / C_GetSlotList / C_OpenSession (mapping above). */
JK_API jk_err jk_token_open(jk_token **out, const char *module, const char *label);

/* Log out (unless another open jk_token of this process shares the login on the same token),
 * close the session and release the module (finalised and unloaded with its last token).
 * NULL is a no-op. Cannot fail; errors of C_Logout / C_CloseSession are ignored. */
JK_API void jk_token_close(jk_token *t);

/* Facts read from CK_TOKEN_INFO at open: the label, the serial number, the manufacturer and
 * the model, each without PKCS#11's blank padding, control characters replaced by '?'.
 * Borrowed until jk_token_close; never NULL (possibly empty). SoftHSM's serial is 16 lower-case
 * hex digits whose last 8 are the slot id. */
JK_API const char *jk_token_label(const jk_token *t);
JK_API const char *jk_token_serial(const jk_token *t);
JK_API const char *jk_token_manufacturer(const jk_token *t);
JK_API const char *jk_token_model(const jk_token *t);

/* Log in as the token's user (C_Login, CKU_USER) with `pin` (pin_len bytes, not necessarily
 * NUL-terminated). The PIN is not copied: it is passed by pointer to C_Login and nowhere else,
 * and it never appears in an error message. A reader with its own PIN pad
 * (CKF_PROTECTED_AUTHENTICATION_PATH) is used when pin is NULL and pin_len is 0.
 * When this process is already logged in to the token (another handle, or a login inherited
 * across fork), the PIN is still checked: the token is logged out and logged in again, so a
 * wrong PIN is never reported as success (the other handles are then logged out too).
 *   JK_OK           logged in.
 *   JK_EAUTH        wrong PIN: "wrong PIN for token 'L'", completed with "one try left
 *                   before the card locks" (CKF_USER_PIN_FINAL_TRY) or "few tries left
 *                   before the card locks" (CKF_USER_PIN_COUNT_LOW) when the token says so —
 *                   PKCS#11 reports no exact count. Also a PIN of a length or form the token
 *                   refuses, and a token whose user PIN was never set.
 *   JK_EPERM        the card is locked (CKR_PIN_LOCKED, or locked by this very attempt),
 *                   or its PIN has expired.
 *   JK_EBUSY        another thread of this process logged in to the same token between this
 *                   call's log-out and log-in: the PIN was not checked; try again.
 *   JK_EINVAL       NULL token, or NULL pin on a token without a PIN pad, or NULL pin with a
 *                   non-zero pin_len. (An empty PIN is JK_EAUTH.) */
JK_API jk_err jk_token_login(jk_token *t, const char *pin, size_t pin_len);

/* The raw 32-byte Ed25519 public key of the public key object labelled key_label (its
 * CKA_EC_POINT: a DER OCTET STRING wrapping the 32 bytes, as SoftHSM stores it, or the bare 32
 * bytes). Works without login. An Ed25519 key has CKA_KEY_TYPE CKK_EC_EDWARDS and CKA_EC_PARAMS
 * naming edwards25519 as the OID 1.3.101.112, the PrintableString "edwards25519" or the GnuPG
 * OID 1.3.6.1.4.1.11591.15.1.
 *   JK_ENOTFOUND    no public key object with that label.
 *   JK_ECONFLICT    more than one public key object with that label.
 *   JK_EUNSUPPORTED the key is not Ed25519 (another type or curve, or a point of another size).
 *   JK_EINVAL       NULL argument, empty key_label or one longer than JK_TOKEN_KEY_LABEL_MAX. */
JK_API jk_err jk_token_public_key(jk_token *t, const char *key_label, uint8_t pk[32]);

/* Sign msg (len bytes; pure Ed25519 has no prehash, so the whole message goes to the token)
 * with the private key labelled key_label, mechanism CKM_EDDSA without parameters; the 64-byte
 * signature goes to sig (unchanged on failure).
 *   JK_EAUTH        not logged in ("not logged in to token 'L'").
 *   JK_ENOTFOUND    no private key with that label.  JK_ECONFLICT  more than one.
 *   JK_EUNSUPPORTED not an Ed25519 key, or the token lacks CKM_EDDSA.
 *   JK_EINVAL       NULL argument (msg may be NULL when len is 0), bad key_label. */
JK_API jk_err jk_token_sign(jk_token *t, const char *key_label, const void *msg, size_t len,
                            uint8_t sig[64]);

/* Generate an Ed25519 key pair on the token (CKM_EC_EDWARDS_KEY_PAIR_GEN), both objects
 * labelled key_label and sharing a random 16-byte CKA_ID, both persistent (CKA_TOKEN); the
 * private key is CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE and may only sign. CKA_EC_PARAMS
 * is the DER OID 1.3.101.112 (RFC 8410); a token that refuses it is asked again with the
 * PrintableString "edwards25519" (SoftHSM 2.6 accepts both). Read the new public key with
 * jk_token_public_key.
 *   JK_EAUTH        not logged in.
 *   JK_EEXISTS      an object labelled key_label (public or private) is already on the token.
 *                   Two processes generating the same label at the same moment can both
 *                   succeed: PKCS#11 has no unique constraint.
 *   JK_EPERM        the token or the session is read-only.
 *   JK_EUNSUPPORTED the token cannot generate Ed25519 keys.
 *   JK_EINVAL       NULL argument, bad key_label. */
JK_API jk_err jk_token_generate_key(jk_token *t, const char *key_label);

/* Verify an Ed25519 signature in software (libsodium crypto_sign_verify_detached; msg may be
 * NULL when len is 0). True only for a valid signature of exactly this message by pk. */
JK_API bool jk_token_verify(const uint8_t pk[32], const void *msg, size_t len,
                            const uint8_t sig[64]);

/* Call cb once per initialised token present in the module at `module`, in slot order, with
 * its label and serial (as jk_token_label / jk_token_serial; borrowed for the call). A slot
 * whose token is not initialised (SoftHSM always offers one) is skipped. When cb returns
 * anything but JK_OK the walk stops and jk_token_list returns that value.
 *   JK_ENOTFOUND / JK_EUNSUPPORTED for the module as for jk_token_open; JK_EINVAL NULL module
 *   or cb. Zero tokens is JK_OK. */
JK_API jk_err jk_token_list(const char *module,
                            jk_err (*cb)(const char *label, const char *serial, void *payload),
                            void *payload);

#ifdef __cplusplus
}
#endif
#endif
