/*
 * query.c — the body of an agency's query (provision.h), parsed strictly: it is the first thing
 * a hostile or buggy client controls, and nothing is looked up until it is whole and sane.
 */
#include "jukinet/provision.h"

#include "jukinet/common.h"
#include "jukinet/text.h"

#include <jansson.h>
#include <string.h>

/* A string member: present, a string, no NUL, 1 .. cap - 1 bytes after NFC. *have false when the
 * key is absent. */
static jk_err text_member(json_t *o, const char *key, char *out, size_t cap, bool *have) {
  json_t *v = json_object_get(o, key);
  *have = v != NULL;
  out[0] = '\0';
  if (!v) return JK_OK;
  if (!json_is_string(v)) return jk_error_set(JK_EINVAL, "query: \"%s\" must be a string", key);
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n == 0) return jk_error_set(JK_EINVAL, "query: \"%s\" is empty", key);
  if (memchr(s, '\0', n)) return jk_error_set(JK_EINVAL, "query: \"%s\" contains a NUL character", key);
  char *nfc = NULL;
  jk_err e = jk_text_nfc(s, n, &nfc);
  if (e) return jk_error_prefix("query: \"%s\": ", key);
  size_t m = strlen(nfc);
  if (m >= cap) {
    jk_free(nfc);
    return jk_error_set(JK_EINVAL, "query: \"%s\" is longer than %zu bytes", key, cap - 1);
  }
  memcpy(out, nfc, m + 1);
  jk_free(nfc);
  return JK_OK;
}

static const char *const KEYS[] = {"purpose", "code", "kana", "birth", "sex", "address"};

jk_err jk_provision_query_parse(const void *body, size_t len, jk_provision_query *out) {
  memset(out, 0, sizeof *out);
  if (len > JK_PROVISION_BODY_MAX)
    return jk_error_set(JK_ETOOLARGE, "query: %zu bytes, more than %d", len, JK_PROVISION_BODY_MAX);
  if (!body || len == 0) return jk_error_set(JK_EINVAL, "query: the body is empty");
  if (!jk_utf8_valid(body, len)) return jk_error_set(JK_EINVAL, "query: the body is not valid UTF-8");
  json_error_t je;
  json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
  if (!o) return jk_error_set(JK_EINVAL, "query: not JSON (%s at character %d)", je.text, je.position);
  jk_err e = JK_OK;
  if (!json_is_object(o)) {
    e = jk_error_set(JK_EINVAL, "query: the body must be a JSON object");
    goto out;
  }
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    size_t k = 0;
    while (k < sizeof KEYS / sizeof *KEYS && strcmp(KEYS[k], key) != 0) k++;
    if (k == sizeof KEYS / sizeof *KEYS) {
      e = jk_error_set(JK_EINVAL, "query: unknown key \"%.40s\" (purpose, code, kana, birth, sex, address)", key);
      goto out;
    }
  }
  bool have_purpose, have_code, have_kana, have_birth, have_sex, have_address;
  char birth[64], sex[16];
  if ((e = text_member(o, "purpose", out->purpose, sizeof out->purpose, &have_purpose)) ||
      (e = text_member(o, "code", out->code, sizeof out->code, &have_code)) ||
      (e = text_member(o, "kana", out->kana, sizeof out->kana, &have_kana)) ||
      (e = text_member(o, "birth", birth, sizeof birth, &have_birth)) ||
      (e = text_member(o, "sex", sex, sizeof sex, &have_sex)) ||
      (e = text_member(o, "address", out->address, sizeof out->address, &have_address)))
    goto out;
  if (!have_purpose) {
    e = jk_error_set(JK_EINVAL, "query: \"purpose\" is missing (a code of 住民基本台帳法 別表, e.g. B1-77)");
  } else if (!jk_purpose_code_valid(out->purpose, strlen(out->purpose))) {
    e = jk_error_set(JK_EINVAL, "query: \"purpose\" is not a purpose code (e.g. B1-77)");
  } else if (have_code && (have_kana || have_birth || have_sex || have_address)) {
    e = jk_error_set(JK_EINVAL, "query: name the resident by \"code\", or by \"kana\", \"birth\" and \"sex\" — not both");
  } else if (have_code) {
    out->by_code = true;
    if ((e = jk_rescode_validate(out->code, strlen(out->code)))) jk_error_prefix("query: \"code\": ");
  } else if (!have_kana || !have_birth || !have_sex) {
    e = jk_error_set(JK_EINVAL, "query: name the resident by \"code\", or by \"kana\", \"birth\" and \"sex\" together");
  } else if (!jk_text_is_kana(out->kana, strlen(out->kana))) {
    e = jk_error_set(JK_EINVAL, "query: \"kana\" must be written in kana");
  } else if ((e = jk_date_parse(birth, &out->birth))) {
    jk_error_prefix("query: \"birth\": ");
  } else if ((e = jk_sex_parse(sex, &out->sex))) {
    jk_error_prefix("query: \"sex\": ");
  }
out:
  json_decref(o);
  if (e) memset(out, 0, sizeof *out);
  return e;
}
