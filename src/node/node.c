/*
 * node.c — the node directory: node.conf (INI, read with inih) and its store.
 *
 * node.conf is written once at init, atomically (temp file, fsync, rename, fsync of the
 * directory), so a crash leaves either no node or a whole one. Values read back are
 * validated like any other input.
 */
#include "jukinet/buf.h"
#include "jukinet/node.h"
#include "jukinet/sync.h"
#include "jukinet/rescode.h"
#include "jukinet/text.h"
#include "jukinet/token.h"

#include <sodium.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct jk_node {
  char *dir;
  char *lgcode, *name, *store_loc;
  char *key_module, *key_token, *key_label, *key_pin_file, *card_module, *listen;
  /* [sync]: the network (docs/protocol.md) */
  char *provision_listen;
  char *sync_listen, *upstream_url, *upstream_node, *allow, *tls_cert, *tls_ca, *tls_crl, *check_interval;
  char node_id[64];
  uint8_t pubkey[32]; /* as recorded at init */
  jk_role role;
  jk_store *store;
  jk_ledger *ledger;
  jk_token *token; /* opened and logged in on the first signature */
};

#define DEFAULT_KEY_LABEL "jukinet-node"
#define PIN_MAX 256

const char *jk_role_token(jk_role r) {
  switch (r) {
  case JK_ROLE_MUNICIPAL: return "municipal";
  case JK_ROLE_PREFECTURAL: return "prefectural";
  case JK_ROLE_NATIONAL: return "national";
  }
  return "";
}

static int role_parse(const char *s) {
  for (int r = JK_ROLE_MUNICIPAL; r <= JK_ROLE_NATIONAL; r++)
    if (strcmp(s, jk_role_token((jk_role)r)) == 0) return r;
  return 0;
}

static jk_err dir_usable(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT) return jk_error_set(JK_EIO, "cannot use %s: %s", dir, strerror(errno));
    if (mkdir(dir, 0700) != 0) return jk_error_set(JK_EIO, "cannot create %s: %s", dir, strerror(errno));
    return JK_OK;
  }
  if (!S_ISDIR(st.st_mode)) return jk_error_set(JK_EEXISTS, "%s exists and is not a directory", dir);
  DIR *d = opendir(dir);
  if (!d) return jk_error_set(JK_EIO, "cannot read %s: %s", dir, strerror(errno));
  struct dirent *e;
  bool empty = true;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
  closedir(d);
  if (!empty) return jk_error_set(JK_EEXISTS, "%s already exists and is not empty: a node is never overwritten", dir);
  if (chmod(dir, 0700) != 0) return jk_error_set(JK_EIO, "cannot chmod %s: %s", dir, strerror(errno));
  return JK_OK;
}

static jk_err write_file_atomic(const char *dir, const char *name, const char *data, size_t len) {
  char tmp[4096], path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
      (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= sizeof tmp)
    return jk_error_set(JK_ETOOLARGE, "path too long");
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return jk_error_set(JK_EIO, "cannot write %s: %s", tmp, strerror(errno));
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      unlink(tmp);
      return jk_error_set(JK_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
    unlink(tmp);
    return jk_error_set(JK_EIO, "cannot write %s: %s", path, strerror(errno));
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return JK_OK;
}

static jk_err store_location(const char *dir, const char *store, char *out, size_t n) {
  if (strncmp(store, "sqlite:", 7) == 0 || strncmp(store, "postgres", 8) == 0 || store[0] == '/') {
    if ((size_t)snprintf(out, n, "%s", store) >= n) return jk_error_set(JK_ETOOLARGE, "path too long");
  } else if ((size_t)snprintf(out, n, "%s/%s", dir, store) >= n) {
    return jk_error_set(JK_ETOOLARGE, "path too long");
  }
  return JK_OK;
}

/* Make sure the node key exists on its token (generate it when absent) and read its public
 * key. The PIN is checked here, once: a wrong one must not cost a retry per signature. */
static jk_err prepare_key(const jk_node_init_opts *o, const char *module, const char *label, uint8_t pk[32]) {
  jk_token *t = NULL;
  jk_err e = jk_token_open(&t, module, o->key_token);
  if (e) return jk_error_prefix("node key token: ");
  if ((e = jk_token_login(t, o->key_pin, o->key_pin_len))) {
    jk_error_prefix("node key token: ");
    goto out;
  }
  e = jk_token_public_key(t, label, pk);
  if (e == JK_ENOTFOUND) {
    jk_error_clear();
    if (!(e = jk_token_generate_key(t, label))) e = jk_token_public_key(t, label, pk);
  } else if (e == JK_OK && !o->reuse_key) {
    e = jk_error_set(JK_EEXISTS, "the token %s already holds a key labelled %s: give another --key-label, or "
                     "--reuse-key to restore the node that owns it", o->key_token, label);
    goto out;
  }
  if (e) jk_error_prefix("node key: ");
out:
  jk_token_close(t);
  return e;
}

static bool conf_value_ok(const char *v) { return v && *v && strlen(v) < 1024 && !strpbrk(v, "\r\n;#"); }

jk_err jk_node_init(const char *dir, const jk_node_init_opts *o) {
  jk_err e;
  char loc[4096], now[11];
  jk_buf conf = {0};
  jk_store *s = NULL;
  uint8_t pk[32], rnd[8];
  char pkhex[65], node_id[64], rndhex[17];
  const char *module = o->key_module ? o->key_module : jk_token_default_module();
  const char *label = o->key_label ? o->key_label : DEFAULT_KEY_LABEL;
  const char *card_module = o->card_module ? o->card_module : module;
  if (sodium_init() < 0) return jk_error_set(JK_ECRYPTO, "libsodium cannot start");
  jk_role role = o->role ? o->role : JK_ROLE_MUNICIPAL;
  const char *store = o->store ? o->store : "node.db";
  if (!o->lgcode || (e = jk_lgcode_validate(o->lgcode, strlen(o->lgcode))))
    return o->lgcode ? jk_error_prefix("--lgcode: ") : jk_error_set(JK_EINVAL, "--lgcode is required");
  if (!o->name || !*o->name) return jk_error_set(JK_EINVAL, "--name is required");
  if (strlen(o->name) > 200 || !jk_utf8_valid(o->name, strlen(o->name)) || strpbrk(o->name, "\r\n;#"))
    return jk_error_set(JK_EINVAL, "--name must be valid UTF-8 on one line, without ; or #");
  if (strpbrk(store, "\r\n;#")) return jk_error_set(JK_EINVAL, "bad store location");
  if (!conf_value_ok(o->key_token)) return jk_error_set(JK_EINVAL, "--key-token is required (the label of the node's key token)");
  if (!conf_value_ok(module) || !conf_value_ok(label) || !conf_value_ok(card_module))
    return jk_error_set(JK_EINVAL, "bad PKCS#11 module path or key label");
  if (!o->key_pin || o->key_pin_len == 0 || o->key_pin_len > PIN_MAX || memchr(o->key_pin, '\n', o->key_pin_len))
    return jk_error_set(JK_EINVAL, "the node key token's PIN is required (one line, at most %d bytes)", PIN_MAX);
  if ((e = prepare_key(o, module, label, pk))) return e;
  sodium_bin2hex(pkhex, sizeof pkhex, pk, sizeof pk);
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(rndhex, sizeof rndhex, rnd, sizeof rnd);
  snprintf(node_id, sizeof node_id, "%s-%s", o->lgcode, rndhex);
  if ((e = dir_usable(dir))) return e;
  if ((e = write_file_atomic(dir, "key.pin", o->key_pin, o->key_pin_len))) return e;
  if ((e = store_location(dir, store, loc, sizeof loc))) return e;
  if ((e = jk_store_open(&s, loc, JK_STORE_CREATE))) goto out;
  jk_date_format_iso(jk_date_today(), now);
  if ((e = jk_store_begin(s))) goto out;
  if ((e = jk_store_meta_set(s, "lgcode", o->lgcode)) || (e = jk_store_meta_set(s, "name", o->name)) ||
      (e = jk_store_meta_set(s, "role", jk_role_token(role))) || (e = jk_store_meta_set(s, "created_on", now)) ||
      (e = jk_store_meta_set(s, "node_id", node_id)) || (e = jk_store_meta_set(s, "node_pubkey", pkhex))) {
    jk_store_rollback(s);
    goto out;
  }
  if ((e = jk_store_commit(s))) goto out;
  if ((e = jk_buf_appendf(&conf,
                          "# jukinet node configuration (written by jukinet node init on %s)\n"
                          "[node]\nrole = %s\nlgcode = %s\nname = %s\nstore = %s\n\n"
                          "[key]\nmodule = %s\ntoken = %s\nlabel = %s\npin-file = key.pin\n\n"
                          "[auth]\ncard-module = %s\n\n"
                          "[daemon]\nlisten = 127.0.0.1:7410\n",
                          now, jk_role_token(role), o->lgcode, o->name, store, module, o->key_token, label,
                          card_module)))
    goto out;
  e = write_file_atomic(dir, "node.conf", conf.data, conf.len);
out:
  jk_store_close(s);
  jk_buf_free(&conf);
  return e;
}

typedef struct conf_state {
  jk_node *n;
  jk_err e;
  int line;
} conf_state;

static int on_conf(void *user, const char *section, const char *key, const char *value) {
  conf_state *cs = user;
  char **dst = NULL;
  if (strcmp(section, "key") == 0) {
    if (strcmp(key, "module") == 0) dst = &cs->n->key_module;
    else if (strcmp(key, "token") == 0) dst = &cs->n->key_token;
    else if (strcmp(key, "label") == 0) dst = &cs->n->key_label;
    else if (strcmp(key, "pin-file") == 0) dst = &cs->n->key_pin_file;
  } else if (strcmp(section, "auth") == 0) {
    if (strcmp(key, "card-module") == 0) dst = &cs->n->card_module;
  } else if (strcmp(section, "daemon") == 0) {
    if (strcmp(key, "listen") == 0) dst = &cs->n->listen;
  } else if (strcmp(section, "provision") == 0) {
    if (strcmp(key, "listen") == 0) dst = &cs->n->provision_listen;
    else {
      cs->e = jk_error_set(JK_EINVAL, "node.conf: unknown setting '%.40s' in [provision]", key);
      return 0;
    }
  } else if (strcmp(section, "sync") == 0) {
    if (strcmp(key, "listen") == 0) dst = &cs->n->sync_listen;
    else if (strcmp(key, "upstream") == 0) dst = &cs->n->upstream_url;
    else if (strcmp(key, "upstream-node") == 0) dst = &cs->n->upstream_node;
    else if (strcmp(key, "allow") == 0) dst = &cs->n->allow;
    else if (strcmp(key, "cert") == 0) dst = &cs->n->tls_cert;
    else if (strcmp(key, "ca") == 0) dst = &cs->n->tls_ca;
    else if (strcmp(key, "crl") == 0) dst = &cs->n->tls_crl;
    else if (strcmp(key, "check-interval") == 0) dst = &cs->n->check_interval;
    else {
      cs->e = jk_error_set(JK_EINVAL, "node.conf: unknown setting '%.40s' in [sync]", key);
      return 0;
    }
  }
  if (strcmp(section, "node") != 0) {
    if (!dst) return 1; /* other sections and settings belong to other modules */
    goto set;
  }
  if (strcmp(key, "lgcode") == 0) dst = &cs->n->lgcode;
  else if (strcmp(key, "name") == 0) dst = &cs->n->name;
  else if (strcmp(key, "store") == 0) dst = &cs->n->store_loc;
  else if (strcmp(key, "role") == 0) {
    int r = role_parse(value);
    if (!r) {
      cs->e = jk_error_set(JK_EINVAL, "node.conf: unknown role '%.20s' (municipal, prefectural, national)", value);
      return 0;
    }
    cs->n->role = (jk_role)r;
    return 1;
  } else {
    cs->e = jk_error_set(JK_EINVAL, "node.conf: unknown setting '%.40s' in [node]", key);
    return 0;
  }
set:
  jk_free(*dst);
  if (!(*dst = jk_strdup(value))) {
    cs->e = jk_error_set(JK_ENOMEM, NULL);
    return 0;
  }
  return 1;
}

/* node_id and the public key recorded at init. */
static jk_err load_identity(jk_node *n) {
  char *id = NULL, *pk = NULL;
  size_t got;
  jk_err e;
  if ((e = jk_store_meta_get(n->store, "node_id", &id)) || (e = jk_store_meta_get(n->store, "node_pubkey", &pk))) {
    if (e == JK_ENOTFOUND)
      e = jk_error_set(JK_ECORRUPT, "the node has no identity (node_id, node_pubkey): it was created by an older "
                       "jukinet or damaged");
    goto out;
  }
  if (strlen(id) >= sizeof n->node_id || strlen(pk) != 64 ||
      sodium_hex2bin(n->pubkey, 32, pk, 64, NULL, &got, NULL) != 0 || got != 32) {
    e = jk_error_set(JK_ECORRUPT, "the node's identity in node.db is malformed");
    goto out;
  }
  memcpy(n->node_id, id, strlen(id) + 1);
out:
  jk_free(id);
  jk_free(pk);
  return e;
}

static jk_err read_pin(const jk_node *n, char *pin, size_t cap, size_t *len) {
  char path[4096];
  const char *f = n->key_pin_file ? n->key_pin_file : "key.pin";
  if (f[0] == '/') snprintf(path, sizeof path, "%s", f);
  else snprintf(path, sizeof path, "%s/%s", n->dir, f);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return jk_error_set(JK_EPERM, "cannot read the node key PIN file %s: %s", path, strerror(errno));
  ssize_t r = read(fd, pin, cap);
  close(fd);
  if (r <= 0 || (size_t)r >= cap) return jk_error_set(JK_EINVAL, "the node key PIN file %s is empty or too long", path);
  *len = (size_t)r;
  while (*len && (pin[*len - 1] == '\n' || pin[*len - 1] == '\r')) (*len)--;
  return JK_OK;
}

static jk_err open_key(jk_node *n) {
  jk_err e;
  char *pin = sodium_malloc(PIN_MAX + 2);
  size_t len = 0;
  uint8_t pk[32];
  if (!pin) return jk_error_set(JK_ENOMEM, NULL);
  if ((e = read_pin(n, pin, PIN_MAX + 2, &len))) goto out;
  if ((e = jk_token_open(&n->token, n->key_module ? n->key_module : jk_token_default_module(),
                         n->key_token ? n->key_token : ""))) {
    jk_error_prefix("node key token: ");
    goto out;
  }
  if ((e = jk_token_login(n->token, pin, len))) {
    jk_error_prefix("node key token: ");
    goto out;
  }
  if ((e = jk_token_public_key(n->token, n->key_label ? n->key_label : DEFAULT_KEY_LABEL, pk))) goto out;
  if (sodium_memcmp(pk, n->pubkey, 32) != 0)
    e = jk_error_set(JK_ECORRUPT, "the key on the node's token is not the one recorded at init: wrong token?");
out:
  sodium_free(pin);
  if (e) {
    jk_token_close(n->token);
    n->token = NULL;
  }
  return e;
}

static jk_err node_sign(const void *msg, size_t len, uint8_t sig[64], void *payload) {
  jk_node *n = payload;
  jk_err e;
  if (!n->token && (e = open_key(n))) return e;
  return jk_token_sign(n->token, n->key_label ? n->key_label : DEFAULT_KEY_LABEL, msg, len, sig);
}

jk_err jk_node_public_key(jk_node *n, uint8_t pk[32]) {
  jk_token *t = NULL;
  jk_err e = jk_token_open(&t, n->key_module ? n->key_module : jk_token_default_module(), n->key_token ? n->key_token : "");
  if (e) return jk_error_prefix("node key token: ");
  e = jk_token_public_key(t, n->key_label ? n->key_label : DEFAULT_KEY_LABEL, pk);
  jk_token_close(t);
  if (!e && sodium_memcmp(pk, n->pubkey, 32) != 0)
    e = jk_error_set(JK_ECORRUPT, "the key on the node's token is not the one recorded at init: wrong token?");
  return e;
}

void jk_node_close(jk_node *n) {
  if (!n) return;
  jk_ledger_close(n->ledger);
  jk_store_close(n->store);
  jk_token_close(n->token);
  jk_free(n->key_module);
  jk_free(n->key_token);
  jk_free(n->key_label);
  jk_free(n->key_pin_file);
  jk_free(n->card_module);
  jk_free(n->listen);
  jk_free(n->sync_listen);
  jk_free(n->provision_listen);
  jk_free(n->upstream_url);
  jk_free(n->upstream_node);
  jk_free(n->allow);
  jk_free(n->tls_cert);
  jk_free(n->tls_ca);
  jk_free(n->tls_crl);
  jk_free(n->check_interval);
  jk_free(n->dir);
  jk_free(n->lgcode);
  jk_free(n->name);
  jk_free(n->store_loc);
  jk_free(n);
}

jk_err jk_node_open(jk_node **out, const char *dir, unsigned flags) {
  char path[4096], loc[4096];
  jk_err e;
  *out = NULL;
  if ((size_t)snprintf(path, sizeof path, "%s/node.conf", dir) >= sizeof path)
    return jk_error_set(JK_ETOOLARGE, "path too long");
  if (sodium_init() < 0) return jk_error_set(JK_ECRYPTO, "libsodium cannot start");
  jk_node *n = jk_calloc(1, sizeof *n);
  if (!n) return jk_error_set(JK_ENOMEM, NULL);
  n->role = JK_ROLE_MUNICIPAL;
  if (!(n->dir = jk_strdup(dir))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto fail;
  }
  FILE *f = fopen(path, "re");
  if (!f) {
    e = errno == ENOENT ? jk_error_set(JK_ENOTFOUND, "%s is not a node (no node.conf); create one with jukinet node init", dir)
                        : jk_error_set(JK_EIO, "cannot read %s: %s", path, strerror(errno));
    goto fail;
  }
  conf_state cs = {.n = n};
  int rc = ini_parse_file(f, on_conf, &cs);
  fclose(f);
  if (cs.e) {
    e = cs.e;
    goto fail;
  }
  if (rc != 0) {
    e = jk_error_set(JK_EINVAL, "node.conf: syntax error on line %d", rc);
    goto fail;
  }
  if (!n->lgcode || (e = jk_lgcode_validate(n->lgcode, strlen(n->lgcode)))) {
    e = n->lgcode ? jk_error_prefix("node.conf lgcode: ") : jk_error_set(JK_EINVAL, "node.conf: lgcode is missing");
    goto fail;
  }
  if (!n->name && !(n->name = jk_strdup(""))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto fail;
  }
  if ((e = store_location(dir, n->store_loc ? n->store_loc : "node.db", loc, sizeof loc))) goto fail;
  if ((e = jk_store_open(&n->store, loc, flags & ~(unsigned)JK_STORE_CREATE))) goto fail;
  if ((e = load_identity(n))) goto fail;
  jk_ledger_signer signer = {node_sign, n};
  if ((e = jk_ledger_open(&n->ledger, n->store, n->node_id, (flags & JK_STORE_READONLY) ? NULL : &signer)))
    goto fail;
  /* a municipality's registry writes record their change notices in the same transaction */
  if (n->role == JK_ROLE_MUNICIPAL && !(flags & JK_STORE_READONLY) && (e = jk_outbox_attach(n->store, n->node_id)))
    goto fail;
  *out = n;
  return JK_OK;
fail:
  jk_node_close(n);
  return e;
}

jk_store *jk_node_store(jk_node *n) { return n->store; }
jk_ledger_signer jk_node_signer(jk_node *n) { return (jk_ledger_signer){node_sign, n}; }
const char *jk_node_lgcode(const jk_node *n) { return n->lgcode; }
const char *jk_node_name(const jk_node *n) { return n->name; }
const char *jk_node_dir(const jk_node *n) { return n->dir; }
jk_role jk_node_role(const jk_node *n) { return n->role; }
jk_ledger *jk_node_ledger(jk_node *n) { return n->ledger; }
const char *jk_node_id(const jk_node *n) { return n->node_id; }
const char *jk_node_card_module(const jk_node *n) {
  return n->card_module ? n->card_module : n->key_module ? n->key_module : jk_token_default_module();
}
const char *jk_node_daemon_listen(const jk_node *n) { return n->listen; }
const char *jk_node_sync_listen(const jk_node *n) { return n->sync_listen; }
const char *jk_node_provision_listen(const jk_node *n) { return n->provision_listen; }
const char *jk_node_upstream(const jk_node *n) { return n->upstream_node; }
const char *jk_node_upstream_url(const jk_node *n) { return n->upstream_url; }

int jk_node_sync_check_interval(const jk_node *n) {
  if (!n->check_interval) return 60;
  char *end;
  long v = strtol(n->check_interval, &end, 10);
  return *end || v < 1 || v > 86400 ? 60 : (int)v;
}

bool jk_node_peer_allowed(const jk_node *n, const char *node_id) {
  size_t len = strlen(node_id);
  for (const char *p = n->allow; p && *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    size_t w = strcspn(p, " \t,");
    if (w && w == len && memcmp(p, node_id, len) == 0) return true;
    p += w;
  }
  return false;
}

jk_err jk_node_tls_files(const jk_node *n, char *cert, char *ca, char *crl, size_t cap) {
  jk_err e;
  if ((e = store_location(n->dir, n->tls_cert ? n->tls_cert : "node.crt", cert, cap)) ||
      (e = store_location(n->dir, n->tls_ca ? n->tls_ca : "ca.crt", ca, cap)) ||
      (e = store_location(n->dir, n->tls_crl ? n->tls_crl : "ca.crl", crl, cap)))
    return e;
  return JK_OK;
}

jk_err jk_node_key_uri(const jk_node *n, char *uri, size_t cap, char **pin, size_t *pin_len, const char **module) {
  *pin = NULL;
  *module = n->key_module ? n->key_module : jk_token_default_module();
  if ((size_t)snprintf(uri, cap, "pkcs11:token=%s;object=%s;type=private", n->key_token ? n->key_token : "",
                       n->key_label ? n->key_label : DEFAULT_KEY_LABEL) >= cap)
    return jk_error_set(JK_ETOOLARGE, "key URI too long");
  char *p = sodium_malloc(PIN_MAX + 2);
  if (!p) return jk_error_set(JK_ENOMEM, NULL);
  jk_err e = read_pin(n, p, PIN_MAX + 2, pin_len);
  if (e) {
    sodium_free(p);
    return e;
  }
  p[*pin_len] = '\0';
  *pin = p;
  return JK_OK;
}

void jk_node_pin_free(char *pin) {
  if (pin) sodium_free(pin);
}
