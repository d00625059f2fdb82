/*
 * node.h — a node is a directory: node.conf (INI) and node.db (or a PostgreSQL location).
 *
 *   [node]
 *   role   = municipal            ; municipal | prefectural | national
 *   lgcode = 272108               ; 地方公共団体コード of the municipality (with check digit)
 *   name   = 枚方市
 *   store  = node.db              ; relative to the directory, or sqlite:/abs/path
 *
 * The directory is created 0700: it holds personal data.
 */
#ifndef JUKINET_NODE_H
#define JUKINET_NODE_H

#include "jukinet/common.h"
#include "jukinet/err.h"
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
} jk_node_init_opts;

/* Create a new node in `dir`. The directory must not exist or be empty (JK_EEXISTS otherwise:
 * an existing node is never overwritten). */
JK_API jk_err jk_node_init(const char *dir, const jk_node_init_opts *opts);

/* Open the node in `dir`; flags as for jk_store_open (JK_STORE_READONLY for reads). */
JK_API jk_err jk_node_open(jk_node **out, const char *dir, unsigned flags);
JK_API void jk_node_close(jk_node *n);

/* Borrowed until jk_node_close. */
JK_API jk_store *jk_node_store(jk_node *n);
JK_API const char *jk_node_lgcode(const jk_node *n);
JK_API const char *jk_node_name(const jk_node *n);
JK_API const char *jk_node_dir(const jk_node *n);
JK_API jk_role jk_node_role(const jk_node *n);
JK_API const char *jk_role_token(jk_role r);

#ifdef __cplusplus
}
#endif
#endif
