/*
 * merkle.h — the Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2): tree hashes,
 * an incremental builder, and inclusion and consistency proofs with their verification.
 *
 * Pure computation: nothing here stores, allocates or opens anything. Leaves and cached interior
 * nodes come from the caller through a jk_merkle_source (the ledger backs it with its store).
 *
 * Definitions (RFC 9162 §2.1.1), with SHA-256 and D[n] the list of n entries:
 *   leaf hash       SHA-256(0x00 || entry)
 *   node hash       SHA-256(0x01 || left || right)
 *   MTH({})         SHA-256("")                     (the empty tree)
 *   MTH({d0})       leaf hash of d0
 *   MTH(D[n])       node hash of MTH(D[0:k]) and MTH(D[k:n]), k the largest power of 2 < n
 * Every function below works on leaf hashes (32 bytes), never on the entries themselves.
 *
 * Subtrees are named (level, index): the complete, aligned subtree of 2^level leaves covering the
 * 0-based leaves [index << level, (index + 1) << level). Once the tree holds all of its leaves,
 * such a subtree never changes, which is what makes caching it sound.
 *
 * Sizes: a tree holds at most JK_MERKLE_MAX_SIZE (2^63) leaves; every proof has at most
 * JK_MERKLE_MAX_PATH (64) hashes. Functions taking sizes beyond that fail (JK_EINVAL) or, for
 * the verifiers, return false.
 *
 * Thread safety: no shared state; distinct objects may be used from distinct threads.
 */
#ifndef JUKINET_MERKLE_H
#define JUKINET_MERKLE_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JK_MERKLE_HASH_LEN 32
/* The most leaves a tree may hold. */
#define JK_MERKLE_MAX_SIZE (UINT64_C(1) << 63)
/* The most hashes an inclusion or a consistency proof holds: size a path array with this. */
#define JK_MERKLE_MAX_PATH 64
/* The most leaf hashes jk_merkle_source.leaves is asked for in one call. */
#define JK_MERKLE_LEAF_BATCH 256

/* ---- hashes (RFC 9162 §2.1.1) ----
 * Outputs may alias inputs (jk_merkle_node_hash(a, b, a) is fine). Cannot fail. */
JK_API void jk_merkle_leaf_hash(const void *data, size_t len, uint8_t out[JK_MERKLE_HASH_LEN]);
JK_API void jk_merkle_node_hash(const uint8_t left[JK_MERKLE_HASH_LEN], const uint8_t right[JK_MERKLE_HASH_LEN],
                                uint8_t out[JK_MERKLE_HASH_LEN]);
/* MTH of the empty tree: SHA-256 of nothing (e3b0c442…b855). */
JK_API void jk_merkle_empty_root(uint8_t out[JK_MERKLE_HASH_LEN]);

/* ---- where hashes come from ----
 * leaves (required): fill out[0 .. count-1] with the leaf hashes of the 0-based leaves
 *   first .. first+count-1. count is 1 .. JK_MERKLE_LEAF_BATCH; the library only asks for leaves
 *   below the tree size it was given. Return JK_OK having filled all `count`, or an error
 *   (with its detail set through jk_error_set), which the calling function returns unchanged.
 * subtree (may be NULL): fill out with the cached hash of subtree (level, index), level >= 1,
 *   and return JK_OK; or return JK_ENOTFOUND when it is not cached, and the hash is computed
 *   from the children instead (a level <= 8 subtree straight from its leaves). Any other error
 *   is returned unchanged by the calling function. The library asks only for subtrees that are
 *   complete in the tree it works on, each at most once per needed node; a source caching only
 *   levels >= L should answer JK_ENOTFOUND for lower levels without doing any work.
 * The library trusts what the source returns: a wrong leaf or cached hash yields a wrong root
 *   or a proof that does not verify; it never reads or writes outside the given buffers.
 * payload: passed to both callbacks, borrowed. */
typedef struct jk_merkle_source {
  jk_err (*leaves)(uint64_t first, size_t count, uint8_t (*out)[JK_MERKLE_HASH_LEN], void *payload);
  jk_err (*subtree)(unsigned level, uint64_t index, uint8_t out[JK_MERKLE_HASH_LEN], void *payload);
  void *payload;
} jk_merkle_source;

/* ---- the incremental builder (the "frontier" or compact range) ----
 * Holds, for a tree of `size` leaves, one complete subtree per bit set in size: when bit l is set,
 * stack[l] is the hash of subtree (l, (size >> l) - 1), the 2^l leaves that follow those of the
 * higher set bits; otherwise stack[l] is meaningless. The root folds them from the lowest set bit
 * up: node(stack[high], … node(stack[next], stack[low]) …). Appending a leaf and taking the root
 * are O(log n). Plain data: may be copied with memcpy or stored; treat the fields as read-only
 * (use the functions to change them). Zero-initialised ({0}), it is the empty tree, the same as
 * after jk_merkle_frontier_init. */
typedef struct jk_merkle_frontier {
  uint64_t size; /* leaves pushed so far */
  uint8_t stack[64][JK_MERKLE_HASH_LEN];
} jk_merkle_frontier;

/* Called by jk_merkle_frontier_push for each subtree (level, index) the push completes; `hash`
 * is borrowed for the call. Return JK_OK to go on; any other value aborts the push (see there). */
typedef jk_err (*jk_merkle_subtree_done_cb)(unsigned level, uint64_t index, const uint8_t hash[JK_MERKLE_HASH_LEN],
                                            void *payload);

/* An empty tree. Cannot fail. */
JK_API void jk_merkle_frontier_init(jk_merkle_frontier *f);

/* Append one leaf hash. When done is non-NULL it is called, lowest level first, for every
 * complete aligned subtree whose last leaf is this one and whose level is >= min_level (level 0
 * is the leaf itself): that is how a store caches interior nodes (e.g. min_level 8 caches one
 * hash per 256 leaves, about 1/128 of the leaf count in all).
 * Fails with JK_ETOOLARGE when the tree already holds JK_MERKLE_MAX_SIZE leaves, or with what
 * done returned; on failure f is unchanged (calls of done made before the failing one are not
 * undone: the caller rolls back whatever it stored). */
JK_API jk_err jk_merkle_frontier_push(jk_merkle_frontier *f, const uint8_t leaf[JK_MERKLE_HASH_LEN],
                                      unsigned min_level, jk_merkle_subtree_done_cb done, void *payload);

/* MTH of the f->size leaves pushed so far (the empty root when none). Cannot fail. */
JK_API void jk_merkle_frontier_root(const jk_merkle_frontier *f, uint8_t out[JK_MERKLE_HASH_LEN]);

/* Rebuild the frontier of a tree of `size` leaves from src (e.g. when a ledger is reopened):
 * reads one subtree per bit set in size (O(log n) cached subtrees plus at most 255 leaves with a
 * cache of every level >= 8; every leaf without a cache). src may be NULL when size is 0.
 * JK_EINVAL when size > JK_MERKLE_MAX_SIZE or src is missing; else what src returned.
 * On failure f is left empty (size 0). */
JK_API jk_err jk_merkle_frontier_load(jk_merkle_frontier *f, uint64_t size, const jk_merkle_source *src);

/* ---- tree hashes and proofs from a source ----
 * Cost: a complete aligned subtree is asked of src->subtree first (levels >= 1); on a miss it is
 * computed from its two halves, and at level 8 and below from its leaves in one src->leaves call.
 * With a source that caches every complete subtree of level >= 8, a proof reads O(log n) cached
 * subtrees and fewer than 3 x 256 leaves, whatever the tree size. Without a cache
 * (subtree NULL or always JK_ENOTFOUND), it reads every leaf of the tree it needs, up to all of
 * them: fine for small trees and for tests, not for a ledger. */

/* MTH(D[start : start+size]) into out: the empty root when size is 0. With an unaligned start
 * (start not a multiple of the subtrees' sizes) the cache cannot help and leaves are read.
 * JK_EINVAL when start + size exceeds JK_MERKLE_MAX_SIZE or src is missing (src may be NULL when
 * size is 0); else what src returned (out unspecified). */
JK_API jk_err jk_merkle_range_root(uint64_t start, uint64_t size, const jk_merkle_source *src,
                                   uint8_t out[JK_MERKLE_HASH_LEN]);

/* The inclusion proof (RFC 9162 §2.1.3.1, PATH) of leaf `index` in the tree of the first `size`
 * leaves: path (caller's array of at least JK_MERKLE_MAX_PATH hashes) receives *path_len hashes,
 * from the leaf's sibling up to the root's child. Empty for a one-leaf tree.
 * JK_EINVAL when index >= size, size > JK_MERKLE_MAX_SIZE or src is missing; else what src
 * returned. On failure *path_len is 0 and path is unspecified. */
JK_API jk_err jk_merkle_inclusion_proof(uint64_t index, uint64_t size, const jk_merkle_source *src,
                                        uint8_t (*path)[JK_MERKLE_HASH_LEN], size_t *path_len);

/* Inclusion proofs of a run of consecutive leaves at once (a sync batch), in O(leaves) hashes
 * instead of one tree walk per leaf. The tree is D[0 : f->size + count]: the leaves before the
 * run are summed up by `f` (the frontier of the first f->size leaves), then `leaves` holds the
 * count leaf hashes that follow. Proofs are made for the first `proved` (<= count) of them
 * (0-based leaves f->size .. f->size + proved - 1); the others only complete the tree. Proof i
 * goes to paths[i * stride ..] (stride >= the tree's depth, jk_merkle_depth), its length to
 * lens[i]; each is what jk_merkle_inclusion_proof would give. root receives the tree's MTH. */
JK_API unsigned jk_merkle_depth(uint64_t size);
JK_API jk_err jk_merkle_range_proofs(const jk_merkle_frontier *f, const uint8_t (*leaves)[JK_MERKLE_HASH_LEN],
                                     size_t count, size_t proved, uint8_t (*paths)[JK_MERKLE_HASH_LEN], size_t stride,
                                     uint8_t *lens, uint8_t root[JK_MERKLE_HASH_LEN]);

/* RFC 9162 §2.1.3.2: true when path proves that `leaf` (a leaf hash) is leaf `index` of the tree
 * of `size` leaves whose root is `root`. False — never a crash, never a read past
 * path[path_len - 1] — for index >= size, size > JK_MERKLE_MAX_SIZE, path_len > JK_MERKLE_MAX_PATH,
 * a path of the wrong length, a NULL pointer, or any hash that does not match. */
JK_API bool jk_merkle_inclusion_verify(uint64_t index, uint64_t size, const uint8_t leaf[JK_MERKLE_HASH_LEN],
                                       const uint8_t (*path)[JK_MERKLE_HASH_LEN], size_t path_len,
                                       const uint8_t root[JK_MERKLE_HASH_LEN]);

/* The consistency proof (RFC 9162 §2.1.4.1, PROOF) that the tree of the first old_size leaves is
 * a prefix of the tree of the first new_size: path as for inclusion proofs. Needs
 * 0 < old_size <= new_size <= JK_MERKLE_MAX_SIZE (else JK_EINVAL); old_size == new_size gives an
 * empty proof. Failure as for jk_merkle_inclusion_proof. */
JK_API jk_err jk_merkle_consistency_proof(uint64_t old_size, uint64_t new_size, const jk_merkle_source *src,
                                          uint8_t (*path)[JK_MERKLE_HASH_LEN], size_t *path_len);

/* RFC 9162 §2.1.4.2: true when path proves that old_root (of old_size leaves) and new_root (of
 * new_size leaves) are the roots of one append-only tree. Sizes must satisfy
 * 0 < old_size <= new_size <= JK_MERKLE_MAX_SIZE; when they are equal (outside the RFC's
 * algorithm) the proof must be empty and the roots equal. False, never a crash, for anything
 * malformed, as for jk_merkle_inclusion_verify. */
JK_API bool jk_merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                                         const uint8_t old_root[JK_MERKLE_HASH_LEN],
                                         const uint8_t new_root[JK_MERKLE_HASH_LEN],
                                         const uint8_t (*path)[JK_MERKLE_HASH_LEN], size_t path_len);

#ifdef __cplusplus
}
#endif
#endif
