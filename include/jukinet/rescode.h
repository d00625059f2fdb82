/*
 * rescode.h — 住民票コード (resident code) and 地方公共団体コード (local-government code).
 *
 * Resident code: 11 digits = 10 random digits (CSPRNG) + 1 check digit.
 *   Check digit (ASSUMPTION, see docs/decisions.md: the official formula is 平成14年総務省告示
 *   第436号, not at hand): weights 2,3,4,5,6,7,2,3,4,5 applied from the rightmost body digit
 *   leftwards, r = Σ(digit·weight) mod 11, check = 0 if r <= 1 else 11 − r.
 *   The formula lives only in jk_rescode_check_digit().
 * Local-government code: 5 digits + check digit = (11 − (d1·6 + d2·5 + d3·4 + d4·3 + d5·2)
 *   mod 11) mod 10. 枚方市 272108, 門真市 272230.
 * Uniqueness ("a code is never reused") is the registry's job: it keeps every code it ever
 * assigned (src/registry).
 */
#ifndef JUKINET_RESCODE_H
#define JUKINET_RESCODE_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JK_RESCODE_LEN 11
#define JK_LGCODE_LEN 6

/* Check digit (0..9) of a 10-digit ASCII body. */
JK_API int jk_rescode_check_digit(const char body[10]);
/* Validate an 11-digit code (ASCII digits only). JK_EINVAL with the reason in the detail:
 * wrong length, a non-digit (position given), wrong check digit (expected digit given). */
JK_API jk_err jk_rescode_validate(const char *s, size_t n);
/* A fresh random code from the OS CSPRNG into out (NUL-terminated). */
JK_API void jk_rescode_random(char out[JK_RESCODE_LEN + 1]);

/* Code slices: the network gives each municipality its own slice of the code space (its node
 * certificate names it, docs/pki.md), so that two municipalities never mint the same code for
 * two different people — as 指定情報処理機関 designates the numbers each 市町村 may assign. A code
 * is in slice k when its 10-digit body mod JK_RESCODE_SLICES is k. */
#define JK_RESCODE_SLICES 4096
/* A fresh random code in `slice` (0 .. JK_RESCODE_SLICES-1; negative: any). */
JK_API void jk_rescode_random_slice(char out[JK_RESCODE_LEN + 1], int slice);
/* The slice of a valid code. */
JK_API int jk_rescode_slice(const char *code);

/* Check digit of a 5-digit ASCII body. */
JK_API int jk_lgcode_check_digit(const char body[5]);
/* Validate a 6-digit local-government code; JK_EINVAL with the reason (5 digits given: the
 * detail names the full code with its check digit). */
JK_API jk_err jk_lgcode_validate(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
