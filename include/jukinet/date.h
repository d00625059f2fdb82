/*
 * date.h — calendar dates in 西暦 (ISO 8601) and 和暦 (Japanese era).
 *
 * Dates are stored as ISO 8601 (YYYY-MM-DD) and shown in both forms. Eras, first day each:
 *   明治 (M) 1868-10-23 (for our purposes; the Gregorian calendar itself began 1873-01-01)
 *   大正 (T) 1912-07-30    昭和 (S) 1926-12-25    平成 (H) 1989-01-08    令和 (R) 2019-05-01
 * The first year of an era is 元年 (year 1). A date outside its era is impossible:
 * 昭和64年1月7日 exists, 昭和64年1月8日 does not (it is 平成元年1月8日).
 */
#ifndef JUKINET_DATE_H
#define JUKINET_DATE_H

#include "jukinet/common.h"
#include "jukinet/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jk_date {
  int y, m, d; /* proleptic Gregorian; all zero = "no date" */
} jk_date;

typedef enum jk_era { JK_ERA_NONE = 0, JK_ERA_MEIJI, JK_ERA_TAISHO, JK_ERA_SHOWA, JK_ERA_HEISEI, JK_ERA_REIWA } jk_era;

/* Longest text jk_date_format_* writes, with the NUL ("令和99年12月31日" fits easily). */
#define JK_DATE_TEXT_MAX 64

/* True when y-m-d is a real Gregorian date with 1 <= y <= 9999. */
JK_API bool jk_date_valid(jk_date d);

/* Parse `text` (UTF-8, NUL-terminated). Accepted forms, surrounding spaces ignored:
 *   ISO 8601 "2002-08-05"; "2002/8/5"; "2002.8.5"; "2002年8月5日"; "20020805"
 *   和暦 "平成14年8月5日", "平成元年1月8日", "H14.8.5", "H14/8/5", "h14-8-5", "Ｈ１４．８．５"
 * Full-width digits and letters are accepted anywhere; "元" means year 1. Western years need
 * 4 digits. Eras: kanji names, their ligatures (㍻) or initials M/T/S/H/R in either case.
 * Spaces (space, tab, CR, LF, U+3000) are allowed only before and after the date.
 * Errors (JK_EINVAL, detail says which): empty, unknown era, impossible date (2001-02-30,
 * 平成31年5月1日 since 令和 began), out of range, trailing text, invalid UTF-8. On failure
 * *out is the zero date. Never reads past the NUL; never allocates. */
JK_API jk_err jk_date_parse(const char *text, jk_date *out);

/* "2002-08-05" into buf (>= 11 bytes); "" when d is not valid (e.g. the zero date). */
JK_API void jk_date_format_iso(jk_date d, char buf[11]);
/* "平成14年8月5日" / "令和元年5月1日" into buf (JK_DATE_TEXT_MAX). Dates before 明治 are
 * written in 西暦 with 4 digits ("1850年1月1日", "0850年3月4日") so they parse back;
 * "" when d is not valid. */
JK_API void jk_date_format_wareki(jk_date d, char buf[JK_DATE_TEXT_MAX]);
/* The era of a date (JK_ERA_NONE before 明治) and the year in that era (era_year may be
 * NULL). Before 明治 *era_year is the 西暦 year; for an invalid date, JK_ERA_NONE and 0. */
JK_API jk_era jk_date_era(jk_date d, int *era_year);
/* Kanji name of an era ("平成"), or "" for JK_ERA_NONE. */
JK_API const char *jk_era_name(jk_era e);

/* Days since 1970-01-01 (may be negative) and back, proleptic Gregorian. to_days is
 * meaningful only for valid dates; from_days gives the zero date outside 0001-01-01 ..
 * 9999-12-31. */
JK_API int64_t jk_date_to_days(jk_date d);
JK_API jk_date jk_date_from_days(int64_t days);
/* <0, 0, >0 like strcmp. */
JK_API int jk_date_cmp(jk_date a, jk_date b);
/* Today in Japan (JST, UTC+9), or the date in env JUKINET_TODAY (ISO) when set — for tests
 * and reproducible demos. JUKINET_TODAY other than a valid "YYYY-MM-DD" is ignored. */
JK_API jk_date jk_date_today(void);
/* The current UTC time, plus_minutes ahead, as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (the ledger's and
 * the operators' tables' format; fixed width, so the texts sort like the times). */
JK_API void jk_utc_now(char out[32], int plus_minutes);
/* Age in full years on `on` (a year older on the birthday; born 2/29: on 3/1 in common
 * years). -1 when `on` is before `birth` or either date is invalid. */
JK_API int jk_date_age(jk_date birth, jk_date on);

#ifdef __cplusplus
}
#endif
#endif
