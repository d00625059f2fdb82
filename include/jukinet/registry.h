/*
 * registry.h — the resident registry (住民基本台帳) of a municipal node: residents,
 * households, moves (異動), search, history, CSV import and export.
 *
 * The registry holds the rules; the store only stores. Rules:
 *  REQ-CODE-2  a resident code is never reused: every code ever assigned is kept, and a code
 *              change (住民票コード変更) retires the old code for good.
 *  REQ-HIST-1  nothing is overwritten: every move is a new version with its reason and date;
 *              removed residents (消除) stay, marked removed.
 *  REQ-TEXT-1  text is validated UTF-8, stored NFC; search keys fold width, kana and case.
 *  REQ-IMP-1   an import is all or nothing: one bad row and nothing is stored.
 * Every write is one store transaction, durable when the call returns JK_OK.
 */
#ifndef JUKINET_REGISTRY_H
#define JUKINET_REGISTRY_H

#include "jukinet/buf.h"
#include "jukinet/common.h"
#include "jukinet/err.h"
#include "jukinet/identity.h"
#include "jukinet/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Normalise a record's text fields in place (NFC, trimmed; fields are replaced by newly
 * allocated strings owned by rec) and check it (jk_identity_check). */
JK_API jk_err jk_registry_normalize(jk_identity *rec);

/* Register a new resident (転入, 出生, 職権記載). rec: normalised or raw text (it is normalised
 * here), reason of class ENTRY (default 転入). code "" → a fresh code is assigned; a given
 * code is kept (a 転入 brings the resident's code with them) unless it was ever assigned
 * here to someone else or retired. A 転入 with the code of a resident removed here earlier
 * re-enters that same resident as a new version. household_id 0 → a new household with this
 * resident as 世帯主. moved_on unset → today (出生: the birth date).
 * On success rec holds what was stored (resident_id, version, code, recorded_at). */
JK_API jk_err jk_registry_add(jk_store *s, jk_identity *rec);

/* What a move changes; NULL fields are unchanged. */
typedef struct jk_move_change {
  const char *name, *kana, *address, *relation, *note;
  jk_date birth;          /* y == 0: unchanged */
  jk_sex sex;             /* JK_SEX_NONE: unchanged */
  int64_t household_id;   /* 0: unchanged; -1: a new household */
  jk_date moved_on;       /* y == 0: today */
} jk_move_change;

/* Apply a move to the resident currently holding `code`:
 *   転居 (move-within)         new address required, resident active
 *   職権修正 (correction)       at least one field changes, resident active
 *   住民票コード変更 (code-change) new random code, old one retired, resident active
 *   転出, 死亡, 職権消除         resident active → removed (note: e.g. the 転出先)
 *   転入, 職権記載 (entry kinds)  re-enter a removed resident (new address for 転入)
 * out (zeroed, may be NULL) receives the new version; caller clears with jk_identity_clear. */
JK_API jk_err jk_registry_move(jk_store *s, const char *code, jk_move_kind kind, const jk_move_change *chg,
                               jk_identity *out);

/* The current record of the resident holding `code` now. A retired code → JK_ENOTFOUND with
 * the detail naming the code that replaced it. out zeroed; caller clears. */
JK_API jk_err jk_registry_get(jk_store *s, const char *code, jk_identity *out);

/* Every version of the resident who holds or held `code`, oldest first (across code changes). */
JK_API jk_err jk_registry_history(jk_store *s, const char *code, jk_identity_cb cb, void *payload);

/* Search with text as people type it: kana in hiragana, katakana or half-width; kanji name
 * prefix; address prefix. Conditions are ANDed; at least one must be given. */
typedef struct jk_registry_query {
  const char *kana, *name, *address;
  jk_date birth;
  jk_sex sex;
  int status;       /* 0 any, JK_STATUS_ACTIVE, JK_STATUS_REMOVED */
  int64_t household_id; /* 0 any: the members of one 世帯 */
  size_t limit, offset;
} jk_registry_query;
JK_API jk_err jk_registry_search(jk_store *s, const jk_registry_query *q, jk_identity_cb cb, void *payload);

/* CSV import/export (UTF-8 here; the CLI converts CP932 at the edge).
 * Columns (header row, Japanese or English names, any order; * = required):
 *   住民票コード|code  氏名|name*  氏名かな|kana*  生年月日|birth*  性別|sex*  住所|address*
 *   世帯|household  続柄|relation  異動事由|reason  異動年月日|moved_on  状態|status  備考|note
 * household: rows with the same value form one household (first row = 世帯主 unless relation
 * says otherwise). Dates in 西暦 or 和暦. */
typedef struct jk_import_result {
  size_t rows;         /* residents stored (0 on failure) */
  size_t households;
  size_t errors;       /* rows refused (reported in the error detail, up to 20) */
} jk_import_result;

/* All or nothing: on any error nothing is stored and the detail lists up to 20 bad rows as
 * "row N (line L), field: reason". max_rows 0 = no limit. */
JK_API jk_err jk_registry_import_csv(jk_store *s, const char *csv, size_t len, jk_import_result *res);
/* Every current record (active and removed) as CSV with a Japanese header; dates ISO. */
JK_API jk_err jk_registry_export_csv(jk_store *s, jk_buf *out, size_t *rows);

/* Search keys of a text (NFKC, katakana, case-folded, no spaces); caller frees with jk_free. */
JK_API jk_err jk_registry_key(const char *text, char **out);

#ifdef __cplusplus
}
#endif
#endif
