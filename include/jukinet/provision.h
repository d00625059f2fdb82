/*
 * provision.h — a national agency's query for 本人確認情報 (issue 5, docs/provision.md):
 * the body of POST /api/v1/provision, parsed strictly before anything is looked up.
 *
 *   {"purpose": "B1-77", "code": "12345678901"}
 *   {"purpose": "B1-77", "kana": "ヤマダ タロウ", "birth": "1980-04-01", "sex": "男", "address": "…"}
 *
 * Exactly one way to name the resident: a 住民票コード, or 氏名かな + 生年月日 + 性別 (with the
 * 住所 optional). Nothing else is accepted: an unknown or repeated key, a wrong type, an empty or
 * oversized value, text that is not kana, an impossible date, both ways at once or neither.
 */
#ifndef JUKINET_PROVISION_H
#define JUKINET_PROVISION_H

#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"
#include "jukinet/purpose.h"
#include "jukinet/rescode.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JK_PROVISION_BODY_MAX 4096 /* bytes of a query body */

typedef struct jk_provision_query {
  char purpose[JK_PURPOSE_CODE_MAX + 1]; /* well formed; whether the table has it is the caller's */
  bool by_code;                          /* true: code; false: kana + birth + sex (+ address) */
  char code[JK_RESCODE_LEN + 1];         /* a valid 住民票コード (check digit) */
  char kana[JK_NAME_MAX + 1];            /* NFC, kana only */
  jk_date birth;                         /* ISO 8601 or 和暦 in the body */
  jk_sex sex;
  char address[JK_ADDRESS_MAX + 1];      /* NFC; "" when not given */
} jk_provision_query;

/* Parse a query body (len bytes). JK_OK and *out filled; JK_EINVAL naming the key and the
 * problem; JK_ETOOLARGE over JK_PROVISION_BODY_MAX. *out is zeroed on failure. */
JK_API jk_err jk_provision_query_parse(const void *body, size_t len, jk_provision_query *out);

#ifdef __cplusplus
}
#endif
#endif
