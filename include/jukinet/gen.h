/*
 * gen.h — realistic synthetic residents, for demos, tests and benchmarks.
 *
 * Names are drawn from shipped lists of common Japanese surnames and given names (kanji with
 * their kana reading, given names by sex) weighted by frequency; residents come in households
 * (a head, often a spouse, children, sometimes a parent) sharing a surname and an address in
 * the node's municipality; birth dates follow a plausible age pyramid. The stream depends only
 * on the seed: the same seed gives the same residents on every machine.
 */
#ifndef JUKINET_GEN_H
#define JUKINET_GEN_H

#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_gen jk_gen;

/* city: the municipality's name used as the address prefix, e.g. "大阪府枚方市"; NULL for
 * the default. today: the reference date for ages (births are never after it). */
JK_API jk_err jk_gen_new(jk_gen **out, uint64_t seed, const char *city, jk_date today);
JK_API void jk_gen_free(jk_gen *g);

/* The next synthetic resident. Fields are borrowed until the next call. code is "" (the
 * registry assigns codes); household_key groups members of one household (the first member
 * is its head, relation "世帯主"); reason is JK_MOVE_BIRTH for those born here, else
 * JK_MOVE_IN, with moved_on set accordingly. */
JK_API jk_err jk_gen_next(jk_gen *g, jk_identity *out, uint64_t *household_key);

#ifdef __cplusplus
}
#endif
#endif
