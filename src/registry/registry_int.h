/*
 * registry_int.h — shared between registry.c and import.c (private).
 */
#ifndef JK_REGISTRY_INT_H
#define JK_REGISTRY_INT_H

#include "jukinet/registry.h"

/* Search keys of a record, owned. */
typedef struct jk__keys {
  char *name, *kana, *address;
  jk_resident_keys view;
} jk__keys;

jk_err jk__keys_make(const jk_identity *rec, jk__keys *k);
void jk__keys_free(jk__keys *k);
/* Draw a code never assigned here. */
jk_err jk__assign_code(jk_store *s, char out[JK_RESCODE_LEN + 1]);
/* Insert a normalised, checked new resident inside an open transaction. */
/* slice: the node's resident-code slice (jk__code_slice), -1 = any. */
jk_err jk__add_in_tx(jk_store *s, jk_identity *rec, const jk__keys *keys, int slice);
/* The slice of the code space this municipality mints in (node metadata registry.code_slice,
 * set from its node certificate by `jukinet pki issue`); -1 = any (a node not in a network). */
int jk__code_slice(jk_store *s);

#endif
