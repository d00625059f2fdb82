/*
 * node.h — a node is a directory: node.conf (INI) and node.db (or a PostgreSQL location).
 *
 *   [node]
 *   role   = municipal            ; municipal | prefectural | national
 *   lgcode = 272108               ; 地方公共団体コード of the municipality (with check digit)
 *   name   = 枚方市
 *   store  = node.db              ; relative to the directory, or sqlite:/abs/path
 *
 *   [key]                         ; the node's own signing key (ledger tree heads)
 *   module   = /usr/lib/softhsm/libsofthsm2.so   ; PKCS#11 module
 *   token    = jukinet-node-272108               ; token label
 *   label    = jukinet-node                      ; Ed25519 key label on the token
 *   pin-file = key.pin                           ; relative to the directory, mode 0600
 *
 *   [auth]
 *   card-module = /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so  ; operators' IC cards
 *
 *   [daemon]
 *   listen = 127.0.0.1:7410       ; jukinetd's address (its --listen overrides)
 *
 *   [sync]                        ; the network (docs/protocol.md, docs/network.md)
 *   listen        = 127.0.0.1:7420          ; HTTPS, mutual TLS: batches from the nodes below
 *   upstream      = https://127.0.0.1:7420  ; where this node sends its batches
 *   upstream-node = 270008-…               ; the node id the upstream's certificate must name
 *   allow         = 272108-… 272230-…      ; node ids that may connect (space separated)
 *   cert = node.crt   ca = ca.crt   crl = ca.crl   ; (defaults, relative to the directory)
 *   check-interval = 60                    ; seconds: is the upstream still where it was?
 *
 * The directory is created 0700: it holds personal data.
 */
#ifndef JUKINET_NODE_H
#define JUKINET_NODE_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/ledger.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_node jk_node;

typedef enum jk_role { JK_ROLE_MUNICIPAL = 1, JK_ROLE_PREFECTURAL = 2, JK_ROLE_NATIONAL = 3 } jk_role;

typedef struct jk_node_init_opts {
  jk_role role;        /* 0 = municipal */
  const char *lgcode;  /* required, validated */
  const char *name;    /* required, UTF-8 */
  const char *store;   /* NULL = "node.db" in the directory */
  /* The node's key token: an Ed25519 key labelled key_label is generated on it when absent.
   * The PIN is written to DIR/key.pin (0600) for the node's own use. */
  const char *key_module; /* NULL = jk_token_default_module() */
  const char *key_token;  /* token label, required */
  const char *key_label;  /* NULL = "jukinet-node" */
  const char *key_pin;    /* required */
  size_t key_pin_len;
  const char *card_module; /* operators' cards; NULL = key_module */
  bool reuse_key; /* use a key already on the token (restoring a node); otherwise an existing key
                     with that label is refused, so two nodes never share a signing key */
} jk_node_init_opts;

/* Create a new node in `dir`. The directory must not exist or be empty (JK_EEXISTS otherwise:
 * an existing node is never overwritten). */
JK_API jk_err jk_node_init(const char *dir, const jk_node_init_opts *opts);

/* Open the node in `dir`; flags as for jk_store_open (JK_STORE_READONLY for reads). */
JK_API jk_err jk_node_open(jk_node **out, const char *dir, unsigned flags);
JK_API void jk_node_close(jk_node *n);

/* Borrowed until jk_node_close. */
JK_API jk_store *jk_node_store(jk_node *n);
/* The node's ledger, attached to its store. It signs tree heads with the node key (the token is
 * opened and logged in on first use); read-only when the node was opened JK_STORE_READONLY. */
JK_API jk_ledger *jk_node_ledger(jk_node *n);
/* Node id: "<lgcode>-<16 hex>", fixed at init, part of every ledger entry. */
JK_API const char *jk_node_id(const jk_node *n);
/* The node's public key, read from its token (no PIN needed); JK_ECORRUPT when it differs from
 * the one recorded at init (the token was swapped). */
JK_API jk_err jk_node_public_key(jk_node *n, uint8_t pk[32]);
/* [daemon] listen, or NULL when not set. */
JK_API const char *jk_node_daemon_listen(const jk_node *n);
/* [sync] (docs/protocol.md): the HTTPS address batches are accepted on (NULL: none), the next
 * node up (its node id and URL; NULL at the nation), and whether a node id is on the allowlist
 * of peers that may connect. */
JK_API const char *jk_node_sync_listen(const jk_node *n);
JK_API const char *jk_node_upstream(const jk_node *n);
JK_API const char *jk_node_upstream_url(const jk_node *n);
JK_API bool jk_node_peer_allowed(const jk_node *n, const char *node_id);
/* [provision] listen (docs/provision.md): the HTTPS address national agencies query on (a
 * national or prefectural node), or NULL when the node serves none. */
JK_API const char *jk_node_provision_listen(const jk_node *n);
/* [sync] check-interval: seconds between two checks, while idle, that the upstream still holds
 * what it acknowledged (1 .. 86400, default 60). */
JK_API int jk_node_sync_check_interval(const jk_node *n);
/* Paths of the node certificate, the network CA certificate and its CRL (cap bytes each). */
JK_API jk_err jk_node_tls_files(const jk_node *n, char *cert, char *ca, char *crl, size_t cap);
/* The node key as a pkcs11: URI for TLS, its module, and its PIN (*pin: guarded memory,
 * NUL-terminated; free with jk_node_pin_free). */
JK_API jk_err jk_node_key_uri(const jk_node *n, char *uri, size_t cap, char **pin, size_t *pin_len,
                              const char **module);
JK_API void jk_node_pin_free(char *pin);
/* PKCS#11 module for operators' cards. */
JK_API const char *jk_node_card_module(const jk_node *n);
JK_API const char *jk_node_lgcode(const jk_node *n);
JK_API const char *jk_node_name(const jk_node *n);
JK_API const char *jk_node_dir(const jk_node *n);
JK_API jk_role jk_node_role(const jk_node *n);
/* The node key as a signer (tree heads, outbox heads, receipts); valid while n is open. */
JK_API jk_ledger_signer jk_node_signer(jk_node *n);
JK_API const char *jk_role_token(jk_role r);

#ifdef __cplusplus
}
#endif
#endif
