/*
 * identity.c — the 本人確認情報 record: move kinds (異動事由), sex, field validation.
 *
 * The table of move kinds is the one place that says how each 異動 acts on a record
 * (entry / change / removal); the registry consults it, it does not repeat it.
 */
#include "jukinet/identity.h"
#include "jukinet/i18n.h"
#include "jukinet/text.h"

#include <string.h>

struct move_row {
  jk_move_kind kind;
  const char *token, *ja;
  jk_move_class cls;
};

static const struct move_row moves[] = {
    {JK_MOVE_IN, "move-in", "転入", JK_MOVE_CLASS_ENTRY},
    {JK_MOVE_OUT, "move-out", "転出", JK_MOVE_CLASS_REMOVAL},
    {JK_MOVE_WITHIN, "move-within", "転居", JK_MOVE_CLASS_CHANGE},
    {JK_MOVE_BIRTH, "birth", "出生", JK_MOVE_CLASS_ENTRY},
    {JK_MOVE_DEATH, "death", "死亡", JK_MOVE_CLASS_REMOVAL},
    {JK_MOVE_ENTRY, "entry", "職権記載", JK_MOVE_CLASS_ENTRY},
    {JK_MOVE_CORRECTION, "correction", "職権修正", JK_MOVE_CLASS_CHANGE},
    {JK_MOVE_REMOVAL, "removal", "職権消除", JK_MOVE_CLASS_REMOVAL},
    {JK_MOVE_CODE_CHANGE, "code-change", "住民票コード変更", JK_MOVE_CLASS_CHANGE},
};
#define NMOVES (sizeof moves / sizeof moves[0])

static const struct move_row *move_row(jk_move_kind k) {
  for (size_t i = 0; i < NMOVES; i++)
    if (moves[i].kind == k) return &moves[i];
  return NULL;
}

const char *jk_move_token(jk_move_kind k) {
  const struct move_row *r = move_row(k);
  return r ? r->token : "";
}

const char *jk_move_name_ja(jk_move_kind k) {
  const struct move_row *r = move_row(k);
  return r ? r->ja : "";
}

jk_move_class jk_move_class_of(jk_move_kind k) {
  const struct move_row *r = move_row(k);
  return r ? r->cls : (jk_move_class)0;
}

jk_err jk_move_parse(const char *s, jk_move_kind *out) {
  for (size_t i = 0; i < NMOVES; i++) {
    if (strcmp(s, moves[i].token) == 0 || strcmp(s, moves[i].ja) == 0) {
      *out = moves[i].kind;
      return JK_OK;
    }
  }
  /* the stored decimal value, as written by older exports */
  if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0') {
    *out = (jk_move_kind)(s[0] - '0');
    return JK_OK;
  }
  return jk_error_set(JK_EINVAL,
                      "unknown move kind '%.40s' (move-in 転入, move-out 転出, move-within 転居, birth 出生, "
                      "death 死亡, entry 職権記載, correction 職権修正, removal 職権消除, code-change 住民票コード変更)",
                      s);
}

jk_err jk_sex_parse(const char *s, jk_sex *out) {
  static const struct {
    const char *text;
    jk_sex sex;
  } forms[] = {{"男", JK_SEX_MALE},   {"男性", JK_SEX_MALE},     {"M", JK_SEX_MALE},
               {"m", JK_SEX_MALE},    {"male", JK_SEX_MALE},     {"1", JK_SEX_MALE},
               {"女", JK_SEX_FEMALE}, {"女性", JK_SEX_FEMALE},   {"F", JK_SEX_FEMALE},
               {"f", JK_SEX_FEMALE},  {"female", JK_SEX_FEMALE}, {"2", JK_SEX_FEMALE}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    if (strcmp(s, forms[i].text) == 0) {
      *out = forms[i].sex;
      return JK_OK;
    }
  return jk_error_set(JK_EINVAL, "unknown sex '%.20s' (男/女, M/F, 1/2)", s);
}

const char *jk_sex_name_ja(jk_sex s) { return s == JK_SEX_MALE ? "男" : s == JK_SEX_FEMALE ? "女" : ""; }
const char *jk_sex_token(jk_sex s) { return s == JK_SEX_MALE ? "male" : s == JK_SEX_FEMALE ? "female" : ""; }

void jk_identity_clear(jk_identity *id) {
  if (!id) return;
  jk_free(id->name);
  jk_free(id->kana);
  jk_free(id->address);
  jk_free(id->relation);
  jk_free(id->note);
  id->name = id->kana = id->address = id->relation = id->note = NULL;
}

static jk_err dup_field(char **dst, const char *src) {
  if (!src) {
    *dst = NULL;
    return JK_OK;
  }
  *dst = jk_strdup(src);
  return *dst ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
}

jk_err jk_identity_copy(jk_identity *dst, const jk_identity *src) {
  *dst = *src;
  dst->name = dst->kana = dst->address = dst->relation = dst->note = NULL;
  jk_err e;
  if ((e = dup_field(&dst->name, src->name)) || (e = dup_field(&dst->kana, src->kana)) ||
      (e = dup_field(&dst->address, src->address)) || (e = dup_field(&dst->relation, src->relation)) ||
      (e = dup_field(&dst->note, src->note))) {
    jk_identity_clear(dst);
    return e;
  }
  return JK_OK;
}

static jk_err check_text(const char *v, const char *field, size_t max, bool required) {
  if (!v || !*v) {
    if (!required) return JK_OK;
    return jk_error_set(JK_EINVAL, "%s: must not be empty", jk_tr(field));
  }
  size_t n = strlen(v);
  if (n > max)
    return jk_error_set(JK_ETOOLARGE, "%s: %zu bytes is longer than the limit of %zu", jk_tr(field), n, max);
  if (!jk_utf8_valid(v, n)) return jk_error_set(JK_EINVAL, "%s: invalid UTF-8", jk_tr(field));
  return JK_OK;
}

jk_err jk_identity_check(const jk_identity *id) {
  jk_err e;
  jk_date today = jk_date_today();
  if ((e = check_text(id->name, JK_N_("name"), JK_NAME_MAX, true))) return e;
  if ((e = check_text(id->kana, JK_N_("kana"), JK_NAME_MAX, true))) return e;
  if (!jk_text_is_kana(id->kana, strlen(id->kana)))
    return jk_error_set(JK_EINVAL, "%s: only kana may be written here", jk_tr("kana"));
  if ((e = check_text(id->address, JK_N_("address"), JK_ADDRESS_MAX, true))) return e;
  if ((e = check_text(id->relation, JK_N_("relation"), JK_RELATION_MAX, false))) return e;
  if ((e = check_text(id->note, JK_N_("note"), JK_NOTE_MAX, false))) return e;
  if (!jk_date_valid(id->birth)) return jk_error_set(JK_EINVAL, "%s: not a valid date", jk_tr("birth date"));
  if (jk_date_cmp(id->birth, today) > 0)
    return jk_error_set(JK_EINVAL, "%s: %04d-%02d-%02d is in the future", jk_tr("birth date"), id->birth.y,
                        id->birth.m, id->birth.d);
  if (id->birth.y < 1868)
    return jk_error_set(JK_EINVAL, "%s: %04d-%02d-%02d is before 1868", jk_tr("birth date"), id->birth.y,
                        id->birth.m, id->birth.d);
  if (id->sex != JK_SEX_MALE && id->sex != JK_SEX_FEMALE)
    return jk_error_set(JK_EINVAL, "%s: must be 男 or 女", jk_tr("sex"));
  if (id->reason != JK_MOVE_NONE && !move_row(id->reason))
    return jk_error_set(JK_EINVAL, "%s: unknown move kind %d", jk_tr("reason"), (int)id->reason);
  if (id->moved_on.y) {
    if (!jk_date_valid(id->moved_on)) return jk_error_set(JK_EINVAL, "%s: not a valid date", jk_tr("move date"));
    if (jk_date_cmp(id->moved_on, today) > 0)
      return jk_error_set(JK_EINVAL, "%s: %04d-%02d-%02d is in the future", jk_tr("move date"), id->moved_on.y,
                          id->moved_on.m, id->moved_on.d);
    if (jk_date_cmp(id->moved_on, id->birth) < 0)
      return jk_error_set(JK_EINVAL, "%s: %04d-%02d-%02d is before the birth date", jk_tr("move date"),
                          id->moved_on.y, id->moved_on.m, id->moved_on.d);
  }
  if (id->code[0] && (e = jk_rescode_validate(id->code, strlen(id->code))))
    return jk_error_prefix("%s: ", jk_tr("resident code"));
  return JK_OK;
}
