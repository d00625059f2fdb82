/*
 * token.c — the PKCS#11 edge: IC cards and node key tokens (include/jukinet/token.h).
 *
 * Invariants
 *   - Every CK_RV is translated to a jk_err here (ckr_err) with an English detail naming the
 *     PKCS#11 function and the CKR_ name; PKCS#11 types never leave this file.
 *   - The PIN is never copied: jk_token_login hands the caller's pointer to C_Login and nowhere
 *     else; no message is ever formatted with it.
 *   - A module is loaded and C_Initialize'd once per process per real path: `modules` below,
 *     guarded by `lock`, refcounted by open tokens (and by jk_token_list while it runs).
 *   - A session belongs to one module "generation". After fork the child's first call
 *     re-initialises the module (new generation) and the token reopens its session; handles of
 *     the parent's generation are never used in the child.
 *   - Data read from the token (labels, serials, attributes) is untrusted: lengths are capped,
 *     encodings checked, control characters replaced before the text is shown.
 */
#include "jukinet/token.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>
#include <sodium.h>

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define OPENSC_MODULE "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
#define MAX_SLOTS 1024 /* more slots than this is a broken module, not a card reader */
#define MAX_PIN 1024

/* ---- CK_RV names and their jk_err ---------------------------------------------------------- */

#define CKR_LIST(X)                                                                         \
  X(CKR_OK, JK_OK)                                                                          \
  X(CKR_CANCEL, JK_ECRYPTO)                                                                 \
  X(CKR_HOST_MEMORY, JK_ENOMEM)                                                             \
  X(CKR_SLOT_ID_INVALID, JK_ENOTFOUND)                                                      \
  X(CKR_GENERAL_ERROR, JK_EIO)                                                              \
  X(CKR_FUNCTION_FAILED, JK_EIO)                                                            \
  X(CKR_ARGUMENTS_BAD, JK_EINVAL)                                                           \
  X(CKR_NO_EVENT, JK_ECRYPTO)                                                               \
  X(CKR_NEED_TO_CREATE_THREADS, JK_EUNSUPPORTED)                                            \
  X(CKR_CANT_LOCK, JK_EUNSUPPORTED)                                                         \
  X(CKR_ATTRIBUTE_READ_ONLY, JK_EPERM)                                                      \
  X(CKR_ATTRIBUTE_SENSITIVE, JK_EPERM)                                                      \
  X(CKR_ATTRIBUTE_TYPE_INVALID, JK_EUNSUPPORTED)                                            \
  X(CKR_ATTRIBUTE_VALUE_INVALID, JK_EUNSUPPORTED)                                           \
  X(CKR_ACTION_PROHIBITED, JK_EPERM)                                                        \
  X(CKR_DATA_INVALID, JK_EINVAL)                                                            \
  X(CKR_DATA_LEN_RANGE, JK_ETOOLARGE)                                                       \
  X(CKR_DEVICE_ERROR, JK_EIO)                                                               \
  X(CKR_DEVICE_MEMORY, JK_ENOMEM)                                                           \
  X(CKR_DEVICE_REMOVED, JK_ENOTFOUND)                                                       \
  X(CKR_ENCRYPTED_DATA_INVALID, JK_ECRYPTO)                                                 \
  X(CKR_ENCRYPTED_DATA_LEN_RANGE, JK_ECRYPTO)                                               \
  X(CKR_FUNCTION_CANCELED, JK_ECRYPTO)                                                      \
  X(CKR_FUNCTION_NOT_PARALLEL, JK_ECRYPTO)                                                  \
  X(CKR_FUNCTION_NOT_SUPPORTED, JK_EUNSUPPORTED)                                            \
  X(CKR_KEY_HANDLE_INVALID, JK_ECRYPTO)                                                     \
  X(CKR_KEY_SIZE_RANGE, JK_EUNSUPPORTED)                                                    \
  X(CKR_KEY_TYPE_INCONSISTENT, JK_EUNSUPPORTED)                                             \
  X(CKR_KEY_NOT_NEEDED, JK_ECRYPTO)                                                         \
  X(CKR_KEY_CHANGED, JK_ECRYPTO)                                                            \
  X(CKR_KEY_NEEDED, JK_ECRYPTO)                                                             \
  X(CKR_KEY_INDIGESTIBLE, JK_ECRYPTO)                                                       \
  X(CKR_KEY_FUNCTION_NOT_PERMITTED, JK_EPERM)                                               \
  X(CKR_KEY_NOT_WRAPPABLE, JK_ECRYPTO)                                                      \
  X(CKR_KEY_UNEXTRACTABLE, JK_EPERM)                                                        \
  X(CKR_MECHANISM_INVALID, JK_EUNSUPPORTED)                                                 \
  X(CKR_MECHANISM_PARAM_INVALID, JK_EUNSUPPORTED)                                           \
  X(CKR_OBJECT_HANDLE_INVALID, JK_ECRYPTO)                                                  \
  X(CKR_OPERATION_ACTIVE, JK_EBUSY)                                                         \
  X(CKR_OPERATION_NOT_INITIALIZED, JK_ECRYPTO)                                              \
  X(CKR_PIN_INCORRECT, JK_EAUTH)                                                            \
  X(CKR_PIN_INVALID, JK_EAUTH)                                                              \
  X(CKR_PIN_LEN_RANGE, JK_EAUTH)                                                            \
  X(CKR_PIN_EXPIRED, JK_EPERM)                                                              \
  X(CKR_PIN_LOCKED, JK_EPERM)                                                               \
  X(CKR_SESSION_CLOSED, JK_ECRYPTO)                                                         \
  X(CKR_SESSION_COUNT, JK_EBUSY)                                                            \
  X(CKR_SESSION_HANDLE_INVALID, JK_ECRYPTO)                                                 \
  X(CKR_SESSION_PARALLEL_NOT_SUPPORTED, JK_EUNSUPPORTED)                                    \
  X(CKR_SESSION_READ_ONLY, JK_EPERM)                                                        \
  X(CKR_SESSION_EXISTS, JK_EBUSY)                                                           \
  X(CKR_SESSION_READ_ONLY_EXISTS, JK_EBUSY)                                                 \
  X(CKR_SESSION_READ_WRITE_SO_EXISTS, JK_EBUSY)                                             \
  X(CKR_SIGNATURE_INVALID, JK_ECRYPTO)                                                      \
  X(CKR_SIGNATURE_LEN_RANGE, JK_ECRYPTO)                                                    \
  X(CKR_TEMPLATE_INCOMPLETE, JK_EUNSUPPORTED)                                               \
  X(CKR_TEMPLATE_INCONSISTENT, JK_EUNSUPPORTED)                                             \
  X(CKR_TOKEN_NOT_PRESENT, JK_ENOTFOUND)                                                    \
  X(CKR_TOKEN_NOT_RECOGNIZED, JK_ENOTFOUND)                                                 \
  X(CKR_TOKEN_WRITE_PROTECTED, JK_EPERM)                                                    \
  X(CKR_UNWRAPPING_KEY_HANDLE_INVALID, JK_ECRYPTO)                                          \
  X(CKR_UNWRAPPING_KEY_SIZE_RANGE, JK_ECRYPTO)                                              \
  X(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, JK_ECRYPTO)                                       \
  X(CKR_USER_ALREADY_LOGGED_IN, JK_EBUSY)                                                   \
  X(CKR_USER_NOT_LOGGED_IN, JK_EAUTH)                                                       \
  X(CKR_USER_PIN_NOT_INITIALIZED, JK_EAUTH)                                                 \
  X(CKR_USER_TYPE_INVALID, JK_EINVAL)                                                       \
  X(CKR_USER_ANOTHER_ALREADY_LOGGED_IN, JK_EPERM)                                           \
  X(CKR_USER_TOO_MANY_TYPES, JK_EBUSY)                                                      \
  X(CKR_WRAPPED_KEY_INVALID, JK_ECRYPTO)                                                    \
  X(CKR_WRAPPED_KEY_LEN_RANGE, JK_ECRYPTO)                                                  \
  X(CKR_WRAPPING_KEY_HANDLE_INVALID, JK_ECRYPTO)                                            \
  X(CKR_WRAPPING_KEY_SIZE_RANGE, JK_ECRYPTO)                                                \
  X(CKR_WRAPPING_KEY_TYPE_INCONSISTENT, JK_ECRYPTO)                                         \
  X(CKR_RANDOM_SEED_NOT_SUPPORTED, JK_EUNSUPPORTED)                                         \
  X(CKR_RANDOM_NO_RNG, JK_EUNSUPPORTED)                                                     \
  X(CKR_DOMAIN_PARAMS_INVALID, JK_EUNSUPPORTED)                                             \
  X(CKR_CURVE_NOT_SUPPORTED, JK_EUNSUPPORTED)                                               \
  X(CKR_BUFFER_TOO_SMALL, JK_ECRYPTO)                                                       \
  X(CKR_SAVED_STATE_INVALID, JK_ECRYPTO)                                                    \
  X(CKR_INFORMATION_SENSITIVE, JK_EPERM)                                                    \
  X(CKR_STATE_UNSAVEABLE, JK_ECRYPTO)                                                       \
  X(CKR_CRYPTOKI_NOT_INITIALIZED, JK_ECRYPTO)                                               \
  X(CKR_CRYPTOKI_ALREADY_INITIALIZED, JK_OK)                                                \
  X(CKR_MUTEX_BAD, JK_ECRYPTO)                                                              \
  X(CKR_MUTEX_NOT_LOCKED, JK_ECRYPTO)                                                       \
  X(CKR_NEW_PIN_MODE, JK_EAUTH)                                                             \
  X(CKR_NEXT_OTP, JK_EAUTH)                                                                 \
  X(CKR_EXCEEDED_MAX_ITERATIONS, JK_ECRYPTO)                                                \
  X(CKR_FIPS_SELF_TEST_FAILED, JK_EIO)                                                      \
  X(CKR_LIBRARY_LOAD_FAILED, JK_EIO)                                                        \
  X(CKR_PIN_TOO_WEAK, JK_EAUTH)                                                             \
  X(CKR_PUBLIC_KEY_INVALID, JK_ECRYPTO)                                                     \
  X(CKR_FUNCTION_REJECTED, JK_EPERM)

static const struct ckr_row {
  CK_RV rv;
  jk_err err;
  const char *name;
} ckr_rows[] = {
#define CKR_ROW(r, e) {r, e, #r},
    CKR_LIST(CKR_ROW)
#undef CKR_ROW
};

static const struct ckr_row *ckr_find(CK_RV rv) {
  for (size_t i = 0; i < sizeof ckr_rows / sizeof ckr_rows[0]; i++)
    if (ckr_rows[i].rv == rv) return &ckr_rows[i];
  return NULL;
}

/* "CKR_PIN_LOCKED", or "CKR_0x80000123" for a value this table does not know. Borrowed until
 * the next call on this thread. */
static const char *ckr_name(CK_RV rv) {
  static _Thread_local char unknown[32];
  const struct ckr_row *r = ckr_find(rv);
  if (r) return r->name;
  snprintf(unknown, sizeof unknown, "CKR_0x%08lX", (unsigned long)rv);
  return unknown;
}

static jk_err ckr_err(CK_RV rv) {
  const struct ckr_row *r = ckr_find(rv);
  return r ? r->err : JK_ECRYPTO;
}

/* The one way a PKCS#11 failure becomes a jk_err. */
static jk_err p11_fail(const char *fn, CK_RV rv) {
  jk_err e = ckr_err(rv);
  if (e == JK_OK) e = JK_ECRYPTO;
  return jk_error_set(e, "%s failed: %s", fn, ckr_name(rv));
}

/* ---- modules: loaded once per process per path ------------------------------------------- */

typedef struct module {
  struct module *next;
  char *path;                /* real path, the key of the table */
  void *dl;                  /* dlopen handle */
  CK_FUNCTION_LIST_PTR f;    /* owned by the module */
  unsigned long refs;        /* open tokens + running jk_token_list calls */
  pid_t pid;                 /* the process in which C_Initialize was last called */
  unsigned long generation;  /* bumped at every C_Initialize: sessions of older ones are dead */
  bool finalize;             /* we initialised it, so we C_Finalize it */
  struct jk_token *tokens;   /* open tokens, for the shared-login rule of jk_token_close */
} module;

struct jk_token {
  struct jk_token *next; /* in module.tokens */
  module *mod;
  CK_SLOT_ID slot;
  CK_SESSION_HANDLE session;
  unsigned long generation; /* the module generation `session` belongs to */
  char wanted[JK_TOKEN_LABEL_MAX + 1]; /* the label asked for at open, to find it again */
  char label[JK_TOKEN_LABEL_MAX + 1];
  char serial[16 + 1];
  char manufacturer[32 + 1];
  char model[16 + 1];
};

/* Recursive: a module that forks inside C_Initialize (p11-kit's proxy can spawn remote modules)
 * runs atfork_prepare on the thread that already holds the lock. */
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static module *modules;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork while another thread holds `lock` would leave it locked forever in the child: hold it
 * across fork. The child gets a fresh mutex instead of an unlock, because a recursive mutex
 * remembers its owner's thread id, which is a different one in the child (unlock would fail). */
static void atfork_prepare(void) { pthread_mutex_lock(&lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&lock); }
static void atfork_child(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&lock, &attr);
  pthread_mutexattr_destroy(&attr);
}
static void atfork_register(void) {
  if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0) abort();
}

static CK_RV module_initialize(module *m) {
  CK_C_INITIALIZE_ARGS args;
  memset(&args, 0, sizeof args);
  args.flags = CKF_OS_LOCKING_OK; /* the module may use its own (OS) locks: we use threads */
  return m->f->C_Initialize(&args);
}

/* Make the module usable in this process: after fork, C_Initialize again (PKCS#11 requires it;
 * SoftHSM answers CKR_CRYPTOKI_ALREADY_INITIALIZED unless reset_on_fork is set, and keeps its
 * state). Called with `lock` held. */
static jk_err module_fresh_locked(module *m) {
  pid_t me = getpid();
  if (m->pid == me) return JK_OK;
  CK_RV rv = module_initialize(m);
  if (rv == CKR_OK) m->finalize = true;
  else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return p11_fail("C_Initialize", rv);
  m->pid = me;
  m->generation++;
  return JK_OK;
}

static const char *module_missing_function(const CK_FUNCTION_LIST *f) {
#define NEED(fn) \
  if (!f->fn) return #fn;
  NEED(C_Initialize)
  NEED(C_Finalize)
  NEED(C_GetSlotList)
  NEED(C_GetTokenInfo)
  NEED(C_OpenSession)
  NEED(C_CloseSession)
  NEED(C_GetSessionInfo)
  NEED(C_Login)
  NEED(C_Logout)
  NEED(C_FindObjectsInit)
  NEED(C_FindObjects)
  NEED(C_FindObjectsFinal)
  NEED(C_GetAttributeValue)
  NEED(C_SignInit)
  NEED(C_Sign)
  NEED(C_GenerateKeyPair)
#undef NEED
  return NULL;
}

/* Load (or find) the module at `path`, initialised for this process, and take a reference.
 * Release with module_release. */
static jk_err module_acquire(module **out, const char *path) {
  char real[PATH_MAX];
  module *m = NULL;
  jk_err err = JK_OK;
  *out = NULL;
  if (!realpath(path, real)) {
    if (errno == ENOENT || errno == ENOTDIR)
      return jk_error_set(JK_ENOTFOUND, "PKCS#11 module %s not found", path);
    return jk_error_set(JK_EIO, "cannot use PKCS#11 module %s: %s", path, strerror(errno));
  }
  if (sodium_init() < 0) return jk_error_set(JK_ECRYPTO, "libsodium cannot be initialised");
  pthread_once(&atfork_once, atfork_register);

  pthread_mutex_lock(&lock);
  for (m = modules; m; m = m->next)
    if (strcmp(m->path, real) == 0) break;
  if (m) {
    if ((err = module_fresh_locked(m)) == JK_OK) {
      m->refs++;
      *out = m;
    }
    goto out;
  }

  if (!(m = jk_calloc(1, sizeof *m)) || !(m->path = jk_strdup(real))) {
    err = jk_error_set(JK_ENOMEM, NULL);
    goto fail;
  }
  if (!(m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL))) {
    const char *why = dlerror();
    err = jk_error_set(JK_EUNSUPPORTED, "cannot load PKCS#11 module %s: %s", path,
                       why ? why : "?");
    goto fail;
  }
  void *sym = dlsym(m->dl, "C_GetFunctionList");
  CK_C_GetFunctionList get_list;
  if (!sym) {
    err = jk_error_set(JK_EUNSUPPORTED, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    goto fail;
  }
  memcpy(&get_list, &sym, sizeof get_list); /* object pointer to function pointer (POSIX) */
  CK_RV rv = get_list(&m->f);
  if (rv != CKR_OK) {
    err = p11_fail("C_GetFunctionList", rv);
    goto fail;
  }
  if (!m->f) {
    err = jk_error_set(JK_EUNSUPPORTED, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    goto fail;
  }
  const char *missing = module_missing_function(m->f);
  if (missing) {
    err = jk_error_set(JK_EUNSUPPORTED, "PKCS#11 module %s lacks %s", path, missing);
    goto fail;
  }
  /* CKR_CRYPTOKI_ALREADY_INITIALIZED: someone else in this process initialised it (GnuTLS,
   * p11-kit): share it and leave C_Finalize to them. */
  rv = module_initialize(m);
  if (rv == CKR_OK) m->finalize = true;
  else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    err = p11_fail("C_Initialize", rv);
    goto fail;
  }
  m->pid = getpid();
  m->generation = 1;
  m->refs = 1;
  m->next = modules;
  modules = m;
  *out = m;
  goto out;

fail:
  if (m) {
    if (m->dl) dlclose(m->dl);
    jk_free(m->path);
    jk_free(m);
  }
out:
  pthread_mutex_unlock(&lock);
  return err;
}

/* Drop a reference; the last one finalises and unloads the module. In a forked child that never
 * re-initialised the module, nothing is called in it (PKCS#11 forbids it) and it stays mapped. */
static void module_release(module *m) {
  if (!m) return;
  pthread_mutex_lock(&lock);
  if (--m->refs > 0) {
    pthread_mutex_unlock(&lock);
    return;
  }
  for (module **p = &modules; *p; p = &(*p)->next)
    if (*p == m) {
      *p = m->next;
      break;
    }
  if (m->pid == getpid()) {
    if (m->finalize) m->f->C_Finalize(NULL);
    dlclose(m->dl);
  }
  pthread_mutex_unlock(&lock);
  jk_free(m->path);
  jk_free(m);
}

/* ---- token facts ---------------------------------------------------------------------------- */

/* Length of a blank-padded PKCS#11 text field: up to the first NUL, trailing blanks removed. */
static size_t padded_len(const CK_UTF8CHAR *s, size_t n) {
  size_t len = 0;
  while (len < n && s[len] != 0) len++;
  while (len > 0 && s[len - 1] == ' ') len--;
  return len;
}

/* Copy a padded field for display: trimmed, control characters replaced by '?'. */
static void padded_copy(char *dst, size_t cap, const CK_UTF8CHAR *s, size_t n) {
  size_t len = padded_len(s, n);
  if (len >= cap) len = cap - 1;
  for (size_t i = 0; i < len; i++) dst[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
  dst[len] = '\0';
}

static bool label_is(const CK_TOKEN_INFO *ti, const char *label) {
  size_t len = padded_len(ti->label, sizeof ti->label);
  return len == strlen(label) && memcmp(ti->label, label, len) == 0;
}

/* The slots with a token present. Caller frees *out with jk_free. */
static jk_err slot_list(module *m, CK_SLOT_ID **out, CK_ULONG *count) {
  CK_SLOT_ID *slots = NULL;
  CK_ULONG n = 0;
  CK_RV rv;
  *out = NULL;
  *count = 0;
  for (int attempt = 0; attempt < 4; attempt++) {
    if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) return p11_fail("C_GetSlotList", rv);
    if (n > MAX_SLOTS) return jk_error_set(JK_ETOOLARGE, "PKCS#11 module reports %lu slots", (unsigned long)n);
    jk_free(slots);
    if (!(slots = jk_calloc(n ? n : 1, sizeof *slots))) return jk_error_set(JK_ENOMEM, NULL);
    rv = m->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv == CKR_BUFFER_TOO_SMALL) continue; /* a reader appeared in between: ask again */
    if (rv != CKR_OK) {
      jk_free(slots);
      return p11_fail("C_GetSlotList", rv);
    }
    *out = slots;
    *count = n;
    return JK_OK;
  }
  jk_free(slots);
  return p11_fail("C_GetSlotList", CKR_BUFFER_TOO_SMALL);
}

static void token_facts(jk_token *t, const CK_TOKEN_INFO *ti) {
  padded_copy(t->label, sizeof t->label, ti->label, sizeof ti->label);
  padded_copy(t->serial, sizeof t->serial, ti->serialNumber, sizeof ti->serialNumber);
  padded_copy(t->manufacturer, sizeof t->manufacturer, ti->manufacturerID, sizeof ti->manufacturerID);
  padded_copy(t->model, sizeof t->model, ti->model, sizeof ti->model);
}

static jk_err check_label(const char *label) {
  if (!label || !*label) return jk_error_set(JK_EINVAL, "a token label is required");
  if (strlen(label) > JK_TOKEN_LABEL_MAX)
    return jk_error_set(JK_EINVAL, "token label is longer than %d bytes", JK_TOKEN_LABEL_MAX);
  return JK_OK;
}

static jk_err check_key_label(const char *key_label) {
  if (!key_label || !*key_label) return jk_error_set(JK_EINVAL, "a key label is required");
  if (strlen(key_label) > JK_TOKEN_KEY_LABEL_MAX)
    return jk_error_set(JK_EINVAL, "key label is longer than %d bytes", JK_TOKEN_KEY_LABEL_MAX);
  return JK_OK;
}

static jk_err open_session(jk_token *t) {
  CK_FUNCTION_LIST_PTR f = t->mod->f;
  CK_RV rv = f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &t->session);
  if (rv == CKR_TOKEN_WRITE_PROTECTED) /* a read-only card still logs in and signs */
    rv = f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &t->session);
  if (rv != CKR_OK) return p11_fail("C_OpenSession", rv);
  return JK_OK;
}

/* Before every operation: re-initialise the module in a forked child and reopen the session. */
static jk_err token_fresh(jk_token *t) {
  unsigned long gen;
  pthread_mutex_lock(&lock);
  jk_err err = module_fresh_locked(t->mod);
  gen = t->mod->generation;
  pthread_mutex_unlock(&lock);
  if (err != JK_OK || gen == t->generation) return err;

  CK_TOKEN_INFO ti;
  CK_RV rv = t->mod->f->C_GetTokenInfo(t->slot, &ti);
  if (rv != CKR_OK || !label_is(&ti, t->wanted))
    return jk_error_set(JK_ENOTFOUND, "token '%s' is no longer present", t->label);
  if ((err = open_session(t)) != JK_OK) return err;
  t->generation = gen;
  return JK_OK;
}

/* ---- public: modules and tokens ----------------------------------------------------------- */

const char *jk_token_default_module(void) {
  const char *env = getenv("JUKINET_PKCS11_MODULE");
  if (env && *env) return env;
  if (access(SOFTHSM_MODULE, F_OK) == 0) return SOFTHSM_MODULE;
  return OPENSC_MODULE;
}

jk_err jk_token_open(jk_token **out, const char *module_path, const char *label) {
  module *m = NULL;
  jk_token *t = NULL;
  CK_SLOT_ID *slots = NULL, found = 0;
  CK_ULONG n = 0, matches = 0;
  CK_TOKEN_INFO ti, found_info = {0};
  jk_err err;

  if (!out) return jk_error_set(JK_EINVAL, "jk_token_open: NULL argument");
  *out = NULL;
  if (!module_path) return jk_error_set(JK_EINVAL, "jk_token_open: NULL argument");
  if ((err = check_label(label)) != JK_OK) return err;
  if ((err = module_acquire(&m, module_path)) != JK_OK) return err;
  if ((err = slot_list(m, &slots, &n)) != JK_OK) goto out;
  for (CK_ULONG i = 0; i < n; i++) {
    CK_RV rv = m->f->C_GetTokenInfo(slots[i], &ti);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_REMOVED ||
        rv == CKR_SLOT_ID_INVALID)
      continue; /* card pulled out while we looked */
    if (rv != CKR_OK) {
      err = p11_fail("C_GetTokenInfo", rv);
      goto out;
    }
    if (!(ti.flags & CKF_TOKEN_INITIALIZED) || !label_is(&ti, label)) continue;
    if (matches++ == 0) {
      found = slots[i];
      found_info = ti;
    }
  }
  if (matches == 0) {
    err = jk_error_set(JK_ENOTFOUND, "no token labelled '%s' in PKCS#11 module %s", label, module_path);
    goto out;
  }
  if (matches > 1) {
    err = jk_error_set(JK_ECONFLICT, "%lu tokens are labelled '%s' in PKCS#11 module %s",
                       (unsigned long)matches, label, module_path);
    goto out;
  }
  if (!(t = jk_calloc(1, sizeof *t))) {
    err = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  t->mod = m;
  t->slot = found;
  memcpy(t->wanted, label, strlen(label) + 1); /* length checked by check_label */
  token_facts(t, &found_info);
  if ((err = open_session(t)) != JK_OK) goto out;
  pthread_mutex_lock(&lock);
  t->generation = m->generation;
  t->next = m->tokens;
  m->tokens = t;
  pthread_mutex_unlock(&lock);
  *out = t;
  t = NULL;
  m = NULL;

out:
  jk_free(slots);
  jk_free(t);
  module_release(m);
  return err;
}

void jk_token_close(jk_token *t) {
  if (!t) return;
  module *m = t->mod;
  bool current, shared = false;
  pthread_mutex_lock(&lock);
  for (jk_token **p = &m->tokens; *p; p = &(*p)->next)
    if (*p == t) {
      *p = t->next;
      break;
    }
  current = m->pid == getpid() && t->generation == m->generation;
  for (jk_token *o = m->tokens; o; o = o->next)
    if (o->slot == t->slot && o->generation == m->generation) shared = true;
  pthread_mutex_unlock(&lock);
  if (current) {
    /* Login is per process and token: logging out here would log the other handle out too.
     * Closing the last session logs out anyway (PKCS#11 v2.40 §5.6 C_CloseSession). */
    if (!shared) (void)m->f->C_Logout(t->session);
    (void)m->f->C_CloseSession(t->session);
  }
  module_release(m);
  jk_free(t);
}

const char *jk_token_label(const jk_token *t) { return t ? t->label : ""; }
const char *jk_token_serial(const jk_token *t) { return t ? t->serial : ""; }
const char *jk_token_manufacturer(const jk_token *t) { return t ? t->manufacturer : ""; }
const char *jk_token_model(const jk_token *t) { return t ? t->model : ""; }

jk_err jk_token_list(const char *module_path,
                     jk_err (*cb)(const char *label, const char *serial, void *payload),
                     void *payload) {
  module *m = NULL;
  CK_SLOT_ID *slots = NULL;
  CK_ULONG n = 0;
  jk_err err;
  if (!module_path || !cb) return jk_error_set(JK_EINVAL, "jk_token_list: NULL argument");
  if ((err = module_acquire(&m, module_path)) != JK_OK) return err;
  if ((err = slot_list(m, &slots, &n)) != JK_OK) goto out;
  for (CK_ULONG i = 0; i < n && err == JK_OK; i++) {
    CK_TOKEN_INFO ti;
    jk_token facts; /* only for the display copies */
    CK_RV rv = m->f->C_GetTokenInfo(slots[i], &ti);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_REMOVED ||
        rv == CKR_SLOT_ID_INVALID)
      continue;
    if (rv != CKR_OK) {
      err = p11_fail("C_GetTokenInfo", rv);
      break;
    }
    if (!(ti.flags & CKF_TOKEN_INITIALIZED)) continue;
    token_facts(&facts, &ti);
    err = cb(facts.label, facts.serial, payload);
  }
out:
  jk_free(slots);
  module_release(m);
  return err;
}

/* ---- login ------------------------------------------------------------------------------- */

jk_err jk_token_login(jk_token *t, const char *pin, size_t pin_len) {
  CK_TOKEN_INFO ti;
  CK_RV rv;
  jk_err err;
  if (!t) return jk_error_set(JK_EINVAL, "jk_token_login: NULL argument");
  if (pin && pin_len == 0) return jk_error_set(JK_EAUTH, "empty PIN for token '%s'", t->label);
  if (!pin && pin_len != 0) return jk_error_set(JK_EINVAL, "jk_token_login: NULL argument");
  if (pin_len > MAX_PIN) return jk_error_set(JK_EAUTH, "wrong PIN for token '%s' (the token refuses its length or characters)", t->label);
  if ((err = token_fresh(t)) != JK_OK) return err;
  CK_FUNCTION_LIST_PTR f = t->mod->f;
  if (!pin) {
    if ((rv = f->C_GetTokenInfo(t->slot, &ti)) != CKR_OK) return p11_fail("C_GetTokenInfo", rv);
    if (!(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH))
      return jk_error_set(JK_EINVAL, "token '%s' has no PIN pad: a PIN is required", t->label);
  }
  /* The caller's bytes go to the token as they are: no copy, no message ever shows them. */
  CK_UTF8CHAR_PTR p = (CK_UTF8CHAR_PTR)pin;
  rv = f->C_Login(t->session, CKU_USER, p, (CK_ULONG)pin_len);
  if (rv == CKR_USER_ALREADY_LOGGED_IN) {
    /* Logged in by another handle or before fork: check this PIN all the same, so that a
     * wrong PIN is never reported as a successful log-in. */
    (void)f->C_Logout(t->session);
    rv = f->C_Login(t->session, CKU_USER, p, (CK_ULONG)pin_len);
  }
  switch (rv) {
  case CKR_OK:
    return JK_OK; /* CKR_USER_ALREADY_LOGGED_IN again (another thread logged in between our
                   * log-out and log-in) is JK_EBUSY below: this PIN was not checked */
  case CKR_PIN_INCORRECT:
    if (f->C_GetTokenInfo(t->slot, &ti) == CKR_OK) {
      if (ti.flags & CKF_USER_PIN_LOCKED)
        return jk_error_set(JK_EPERM, "wrong PIN for token '%s'; the card is now locked", t->label);
      if (ti.flags & CKF_USER_PIN_FINAL_TRY)
        return jk_error_set(JK_EAUTH, "wrong PIN for token '%s'; one try left before the card locks", t->label);
      if (ti.flags & CKF_USER_PIN_COUNT_LOW)
        return jk_error_set(JK_EAUTH, "wrong PIN for token '%s'; few tries left before the card locks", t->label);
    }
    return jk_error_set(JK_EAUTH, "wrong PIN for token '%s'", t->label);
  case CKR_PIN_LOCKED:
    return jk_error_set(JK_EPERM, "card locked: token '%s' refuses every PIN after too many wrong ones", t->label);
  case CKR_PIN_EXPIRED:
    return jk_error_set(JK_EPERM, "the PIN of token '%s' has expired and must be changed", t->label);
  case CKR_PIN_INVALID:
  case CKR_PIN_LEN_RANGE:
    return jk_error_set(JK_EAUTH, "wrong PIN for token '%s' (the token refuses its length or characters)", t->label);
  case CKR_USER_PIN_NOT_INITIALIZED:
    return jk_error_set(JK_EAUTH, "token '%s' has no user PIN yet", t->label);
  default:
    return p11_fail("C_Login", rv);
  }
}

/* ---- objects ------------------------------------------------------------------------------ */

static jk_err need_login(jk_token *t) {
  CK_SESSION_INFO si;
  CK_RV rv = t->mod->f->C_GetSessionInfo(t->session, &si);
  if (rv != CKR_OK) return p11_fail("C_GetSessionInfo", rv);
  if (si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS) return JK_OK;
  return jk_error_set(JK_EAUTH, "not logged in to token '%s'", t->label);
}

enum obj_kind { OBJ_PUBLIC, OBJ_PRIVATE, OBJ_ANY };

/* Find the one object of `kind` labelled `key_label`. *count gets 0, 1 or 2 (= more than one);
 * JK_OK even when none is found. */
static jk_err find_objects(jk_token *t, enum obj_kind kind, const char *key_label,
                           CK_OBJECT_HANDLE *h, CK_ULONG *count) {
  CK_FUNCTION_LIST_PTR f = t->mod->f;
  CK_OBJECT_CLASS cls = kind == OBJ_PUBLIC ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY;
  CK_ATTRIBUTE tmpl[2] = {
      {CKA_LABEL, (void *)key_label, (CK_ULONG)strlen(key_label)},
      {CKA_CLASS, &cls, sizeof cls},
  };
  CK_OBJECT_HANDLE found[2];
  CK_RV rv = f->C_FindObjectsInit(t->session, tmpl, kind == OBJ_ANY ? 1 : 2);
  *count = 0;
  if (rv != CKR_OK) return p11_fail("C_FindObjectsInit", rv);
  rv = f->C_FindObjects(t->session, found, 2, count);
  CK_RV rv2 = f->C_FindObjectsFinal(t->session);
  if (rv != CKR_OK) return p11_fail("C_FindObjects", rv);
  if (rv2 != CKR_OK) return p11_fail("C_FindObjectsFinal", rv2);
  if (*count > 2) *count = 2;
  if (*count >= 1) *h = found[0];
  return JK_OK;
}

static jk_err find_key(jk_token *t, enum obj_kind kind, const char *key_label, CK_OBJECT_HANDLE *h) {
  CK_ULONG count;
  jk_err err = find_objects(t, kind, key_label, h, &count);
  if (err != JK_OK) return err;
  if (count == 0)
    return kind == OBJ_PUBLIC
               ? jk_error_set(JK_ENOTFOUND, "no public key labelled '%s' on token '%s'", key_label, t->label)
               : jk_error_set(JK_ENOTFOUND, "no private key labelled '%s' on token '%s'", key_label, t->label);
  if (count > 1)
    return kind == OBJ_PUBLIC
               ? jk_error_set(JK_ECONFLICT, "more than one public key labelled '%s' on token '%s'", key_label, t->label)
               : jk_error_set(JK_ECONFLICT, "more than one private key labelled '%s' on token '%s'", key_label, t->label);
  return JK_OK;
}

/* CKA_EC_PARAMS encodings that name edwards25519. */
static const CK_BYTE ED25519_OID[] = {0x06, 0x03, 0x2b, 0x65, 0x70}; /* 1.3.101.112, RFC 8410 */
static const CK_BYTE ED25519_NAME[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd',
                                       's',  '2',  '5', '5', '1', '9'}; /* PrintableString */
static const CK_BYTE ED25519_GNU_OID[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
                                          0x01, 0xda, 0x47, 0x0f, 0x01}; /* 1.3.6.1.4.1.11591.15.1 */

static bool is_ed25519_params(const CK_BYTE *p, CK_ULONG n) {
  return (n == sizeof ED25519_OID && memcmp(p, ED25519_OID, n) == 0) ||
         (n == sizeof ED25519_NAME && memcmp(p, ED25519_NAME, n) == 0) ||
         (n == sizeof ED25519_GNU_OID && memcmp(p, ED25519_GNU_OID, n) == 0);
}

/* Check that the key is Ed25519: CKK_EC_EDWARDS, and edwards25519 parameters when the token
 * shows them (some cards do not expose CKA_EC_PARAMS on private keys). */
static jk_err check_ed25519(jk_token *t, CK_OBJECT_HANDLE h, const char *key_label) {
  CK_FUNCTION_LIST_PTR f = t->mod->f;
  CK_KEY_TYPE kt = 0;
  CK_BYTE params[64];
  CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt};
  CK_RV rv = f->C_GetAttributeValue(t->session, h, &a, 1);
  if (rv != CKR_OK) return p11_fail("C_GetAttributeValue", rv);
  if (a.ulValueLen != sizeof kt || kt != CKK_EC_EDWARDS) goto not_ed25519;
  CK_ATTRIBUTE p = {CKA_EC_PARAMS, params, sizeof params};
  rv = f->C_GetAttributeValue(t->session, h, &p, 1);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE) return JK_OK;
  if (rv == CKR_BUFFER_TOO_SMALL) goto not_ed25519;
  if (rv != CKR_OK) return p11_fail("C_GetAttributeValue", rv);
  if (p.ulValueLen > sizeof params || !is_ed25519_params(params, p.ulValueLen)) goto not_ed25519;
  return JK_OK;
not_ed25519:
  return jk_error_set(JK_EUNSUPPORTED, "key '%s' on token '%s' is not an Ed25519 key", key_label, t->label);
}

jk_err jk_token_public_key(jk_token *t, const char *key_label, uint8_t pk[32]) {
  CK_OBJECT_HANDLE h = 0;
  CK_BYTE point[64];
  jk_err err;
  if (!t || !pk) return jk_error_set(JK_EINVAL, "jk_token_public_key: NULL argument");
  if ((err = check_key_label(key_label)) != JK_OK) return err;
  if ((err = token_fresh(t)) != JK_OK) return err;
  if ((err = find_key(t, OBJ_PUBLIC, key_label, &h)) != JK_OK) return err;
  if ((err = check_ed25519(t, h, key_label)) != JK_OK) return err;
  CK_ATTRIBUTE a = {CKA_EC_POINT, point, sizeof point};
  CK_RV rv = t->mod->f->C_GetAttributeValue(t->session, h, &a, 1);
  if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) return p11_fail("C_GetAttributeValue", rv);
  /* DER OCTET STRING (04 20 + 32 bytes), as SoftHSM and PKCS#11 v2.40 store it, or raw. */
  if (rv == CKR_OK && a.ulValueLen == 34 && point[0] == 0x04 && point[1] == 0x20) {
    memcpy(pk, point + 2, 32);
    return JK_OK;
  }
  if (rv == CKR_OK && a.ulValueLen == 32) {
    memcpy(pk, point, 32);
    return JK_OK;
  }
  return jk_error_set(JK_EUNSUPPORTED, "public key '%s' on token '%s' is not a 32-byte Ed25519 point",
                      key_label, t->label);
}

jk_err jk_token_sign(jk_token *t, const char *key_label, const void *msg, size_t len, uint8_t sig[64]) {
  static const CK_BYTE empty[1];
  CK_OBJECT_HANDLE h = 0;
  CK_BYTE out[128]; /* room for an Ed448 signature (114), so a wrong key fails cleanly */
  CK_ULONG out_len = sizeof out;
  jk_err err;
  if (!t || !sig || (!msg && len)) return jk_error_set(JK_EINVAL, "jk_token_sign: NULL argument");
  if ((err = check_key_label(key_label)) != JK_OK) return err;
  if (len > ULONG_MAX) return jk_error_set(JK_ETOOLARGE, "message too large to sign");
  if ((err = token_fresh(t)) != JK_OK) return err;
  if ((err = need_login(t)) != JK_OK) return err;
  if ((err = find_key(t, OBJ_PRIVATE, key_label, &h)) != JK_OK) return err;
  if ((err = check_ed25519(t, h, key_label)) != JK_OK) return err;

  CK_FUNCTION_LIST_PTR f = t->mod->f;
  CK_MECHANISM mech = {CKM_EDDSA, NULL, 0}; /* no CK_EDDSA_PARAMS: pure Ed25519 */
  CK_RV rv = f->C_SignInit(t->session, &mech, h);
  if (rv == CKR_MECHANISM_INVALID)
    return jk_error_set(JK_EUNSUPPORTED, "token '%s' cannot make Ed25519 signatures (no CKM_EDDSA)", t->label);
  if (rv != CKR_OK) return p11_fail("C_SignInit", rv);
  rv = f->C_Sign(t->session, len ? (CK_BYTE_PTR)msg : (CK_BYTE_PTR)empty, (CK_ULONG)len, out, &out_len);
  if (rv != CKR_OK) return p11_fail("C_Sign", rv);
  if (out_len != 64)
    return jk_error_set(JK_EUNSUPPORTED, "key '%s' on token '%s' is not an Ed25519 key", key_label, t->label);
  memcpy(sig, out, 64);
  return JK_OK;
}

static CK_RV generate(jk_token *t, const char *key_label, const CK_BYTE *params, CK_ULONG params_len) {
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_BYTE id[16];
  CK_OBJECT_HANDLE pub, priv;
  CK_MECHANISM mech = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
  CK_ULONG label_len = (CK_ULONG)strlen(key_label);
  randombytes_buf(id, sizeof id);
  CK_ATTRIBUTE pub_tmpl[] = {
      {CKA_EC_PARAMS, (void *)params, params_len},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &no, sizeof no},
      {CKA_VERIFY, &yes, sizeof yes},
      {CKA_LABEL, (void *)key_label, label_len},
      {CKA_ID, id, sizeof id},
  };
  CK_ATTRIBUTE priv_tmpl[] = {
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_SIGN, &yes, sizeof yes},
      {CKA_DERIVE, &no, sizeof no},
      {CKA_LABEL, (void *)key_label, label_len},
      {CKA_ID, id, sizeof id},
  };
  return t->mod->f->C_GenerateKeyPair(t->session, &mech, pub_tmpl, sizeof pub_tmpl / sizeof pub_tmpl[0],
                                      priv_tmpl, sizeof priv_tmpl / sizeof priv_tmpl[0], &pub, &priv);
}

jk_err jk_token_generate_key(jk_token *t, const char *key_label) {
  CK_OBJECT_HANDLE h;
  CK_ULONG count;
  jk_err err;
  if (!t) return jk_error_set(JK_EINVAL, "jk_token_generate_key: NULL argument");
  if ((err = check_key_label(key_label)) != JK_OK) return err;
  if ((err = token_fresh(t)) != JK_OK) return err;
  if ((err = need_login(t)) != JK_OK) return err;
  if ((err = find_objects(t, OBJ_ANY, key_label, &h, &count)) != JK_OK) return err;
  if (count > 0)
    return jk_error_set(JK_EEXISTS, "a key labelled '%s' already exists on token '%s'", key_label, t->label);
  CK_RV rv = generate(t, key_label, ED25519_OID, sizeof ED25519_OID);
  if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_DOMAIN_PARAMS_INVALID || rv == CKR_CURVE_NOT_SUPPORTED ||
      rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED)
    rv = generate(t, key_label, ED25519_NAME, sizeof ED25519_NAME); /* the PKCS#11 3.0 curve name */
  if (rv == CKR_MECHANISM_INVALID)
    return jk_error_set(JK_EUNSUPPORTED,
                        "token '%s' cannot generate Ed25519 keys (no CKM_EC_EDWARDS_KEY_PAIR_GEN)", t->label);
  if (rv != CKR_OK) return p11_fail("C_GenerateKeyPair", rv);
  return JK_OK;
}

bool jk_token_verify(const uint8_t pk[32], const void *msg, size_t len, const uint8_t sig[64]) {
  static const unsigned char empty[1];
  if (!pk || !sig || (!msg && len)) return false;
  if (sodium_init() < 0) return false;
  return crypto_sign_verify_detached(sig, len ? msg : empty, len, pk) == 0;
}
