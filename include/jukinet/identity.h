/*
 * identity.h — 本人確認情報 (identity confirmation information) and 異動 (moves).
 *
 * A jk_identity is one version of one resident's record: 氏名 (kanji and kana), 生年月日,
 * 性別, 住所, 住民票コード, and the change that produced this version (異動事由 and
 * 異動年月日). History is append-only: every move is a new version; 消除 (removal) keeps the
 * record, marked removed.
 */
#ifndef JUKINET_IDENTITY_H
#define JUKINET_IDENTITY_H

#include "jukinet/common.h"
#include "jukinet/date.h"
#include "jukinet/err.h"
#include "jukinet/rescode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 男女の別. Values are those of the registry's CSV and wire formats. */
typedef enum jk_sex { JK_SEX_NONE = 0, JK_SEX_MALE = 1, JK_SEX_FEMALE = 2 } jk_sex;

/* 異動事由: the reason of a version. Values are stored; never renumber. */
typedef enum jk_move_kind {
  JK_MOVE_NONE = 0,
  JK_MOVE_IN = 1,             /* 転入: moved in from another municipality (entry) */
  JK_MOVE_OUT = 2,            /* 転出: moved out to another municipality (removal) */
  JK_MOVE_WITHIN = 3,         /* 転居: new address inside the municipality */
  JK_MOVE_BIRTH = 4,          /* 出生: birth (entry) */
  JK_MOVE_DEATH = 5,          /* 死亡: death (removal) */
  JK_MOVE_ENTRY = 6,          /* 職権記載: entry by the mayor's authority */
  JK_MOVE_CORRECTION = 7,     /* 職権修正: correction by the mayor's authority */
  JK_MOVE_REMOVAL = 8,        /* 職権消除: removal by the mayor's authority */
  JK_MOVE_CODE_CHANGE = 9,    /* 住民票コード変更: new resident code, the old one retired */
  JK_MOVE__COUNT
} jk_move_kind;

/* How a move kind acts on the record. */
typedef enum jk_move_class {
  JK_MOVE_CLASS_ENTRY = 1,      /* creates (or re-enters) a resident: 転入, 出生, 職権記載 */
  JK_MOVE_CLASS_CHANGE = 2,     /* new version of an active resident: 転居, 職権修正, コード変更 */
  JK_MOVE_CLASS_REMOVAL = 3     /* the resident leaves the register (消除): 転出, 死亡, 職権消除 */
} jk_move_class;

typedef enum jk_status { JK_STATUS_ACTIVE = 1, JK_STATUS_REMOVED = 2 } jk_status;

/* Field lengths (bytes of UTF-8, NFC) past which input is refused with JK_ETOOLARGE. */
#define JK_NAME_MAX 200
#define JK_ADDRESS_MAX 600
#define JK_RELATION_MAX 60
#define JK_NOTE_MAX 1000

typedef struct jk_identity {
  int64_t resident_id;          /* registry-internal, stable across code changes; 0 = new */
  int version;                  /* 1, 2, … */
  char code[JK_RESCODE_LEN + 1];/* 住民票コード of this version; "" = assign a new one */
  char *name;                   /* 氏名 (kanji), NFC */
  char *kana;                   /* 氏名かな (katakana as entered, NFC) */
  jk_date birth;                /* 生年月日 */
  jk_sex sex;                   /* 性別 */
  char *address;                /* 住所, NFC */
  int64_t household_id;         /* 世帯; 0 = none */
  char *relation;               /* 続柄 to the head of household ("世帯主", "妻", "子" …), may be NULL */
  jk_move_kind reason;          /* 異動事由 of this version */
  jk_date moved_on;             /* 異動年月日 */
  jk_status status;
  char *note;                   /* free text for the move (転出先 etc.), may be NULL */
  char recorded_at[32];         /* when this version was stored (UTC ISO 8601), filled by the store */
} jk_identity;

/* Release the strings inside (not the struct itself); fields become NULL. NULL is a no-op. */
JK_API void jk_identity_clear(jk_identity *id);
/* Deep copy; dst must be empty (zeroed). */
JK_API jk_err jk_identity_copy(jk_identity *dst, const jk_identity *src);

/* Move kinds: stable token ("move-in"), Japanese name ("転入"), class. */
JK_API const char *jk_move_token(jk_move_kind k);
JK_API const char *jk_move_name_ja(jk_move_kind k);
JK_API jk_move_class jk_move_class_of(jk_move_kind k);
/* Accepts the token, the Japanese name, or the decimal value. JK_EINVAL when unknown. */
JK_API jk_err jk_move_parse(const char *s, jk_move_kind *out);

/* 性別: accepts 男/女, 男性/女性, M/F, male/female, 1/2. */
JK_API jk_err jk_sex_parse(const char *s, jk_sex *out);
JK_API const char *jk_sex_name_ja(jk_sex s);  /* "男" / "女" */
JK_API const char *jk_sex_token(jk_sex s);    /* "male" / "female" */

/* Validate a record's fields as the registry stores them (already NFC): name and kana not
 * empty and within limits, kana is kana, birth a real date not in the future, sex set,
 * address not empty, moved_on not before birth nor in the future. The detail names the
 * field. */
JK_API jk_err jk_identity_check(const jk_identity *id);

#ifdef __cplusplus
}
#endif
#endif
