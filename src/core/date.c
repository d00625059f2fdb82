/*
 * date.c — 西暦 (ISO 8601) and 和暦 (Japanese era) dates: parse, format, day arithmetic.
 *
 * Invariants:
 *   - Nothing here allocates; all text goes into caller buffers or fixed local arrays.
 *   - jk_date_parse reads its input strictly up to the NUL and never further (UTF-8 sequences
 *     are checked byte by byte, so a NUL inside a truncated sequence stops the scan). Input
 *     is untrusted: invalid UTF-8, control characters and arbitrarily long text are refused
 *     with a message that says why, never a crash.
 *   - A jk_date handed out by this module is either valid (jk_date_valid) or the zero date.
 *
 * Parsing works in two steps: a lexer turns the text into tokens after folding full-width
 * ASCII (U+FF01..U+FF5E) to ASCII and U+3000 to a space, then a small grammar reads
 *
 *   western   NUM4 SEP NUM1-2 SEP NUM1-2     SEP is one of - / . , the same both times
 *             NUM4 年 NUM1-2 月 NUM1-2 日
 *             NUM8                            (YYYYMMDD)
 *   wareki    ERA (NUM1-4 | 元) then either tail above
 *
 * with optional spaces (ASCII or U+3000) only before and after. ERA is a kanji name, its
 * one-character ligature (㍻) or its initial M/T/S/H/R in either case.
 *
 * Days are counted from 1970-01-01 in the proleptic Gregorian calendar with Howard Hinnant's
 * days_from_civil / civil_from_days (http://howardhinnant.github.io/date_algorithms.html).
 */
#include "jukinet/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- eras ---------------------------------------------------------------------------- */

struct era_row {
  jk_era era;
  const char *name;      /* kanji, UTF-8 */
  const char *ligature;  /* the one-character form (U+337B ㍻ …), UTF-8 */
  char letter;           /* upper-case initial */
  jk_date first, last;   /* first and last day; last all zero while the era lasts */
};

/* 明治 starts on 1868-10-23 (the day the era was proclaimed) for our purposes, so 明治元年
 * dates before then are refused as before the era. Each era ends the day before the next. */
static const struct era_row eras[] = {
    {JK_ERA_MEIJI, "明治", "㍾", 'M', {1868, 10, 23}, {1912, 7, 29}},
    {JK_ERA_TAISHO, "大正", "㍽", 'T', {1912, 7, 30}, {1926, 12, 24}},
    {JK_ERA_SHOWA, "昭和", "㍼", 'S', {1926, 12, 25}, {1989, 1, 7}},
    {JK_ERA_HEISEI, "平成", "㍻", 'H', {1989, 1, 8}, {2019, 4, 30}},
    {JK_ERA_REIWA, "令和", "㋿", 'R', {2019, 5, 1}, {0, 0, 0}},
};
#define N_ERAS (sizeof eras / sizeof eras[0])

static const struct era_row *era_row(jk_era e) {
  for (size_t i = 0; i < N_ERAS; i++)
    if (eras[i].era == e) return &eras[i];
  return NULL;
}

const char *jk_era_name(jk_era e) {
  const struct era_row *r = era_row(e);
  return r ? r->name : "";
}

/* ---- calendar ------------------------------------------------------------------------ */

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : dim[m - 1];
}

bool jk_date_valid(jk_date d) {
  return d.y >= 1 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1 && d.d <= days_in_month(d.y, d.m);
}

int jk_date_cmp(jk_date a, jk_date b) {
  if (a.y != b.y) return a.y < b.y ? -1 : 1;
  if (a.m != b.m) return a.m < b.m ? -1 : 1;
  if (a.d != b.d) return a.d < b.d ? -1 : 1;
  return 0;
}

/* All arithmetic in int64_t, so any int fields (even nonsense ones) cannot overflow. */
int64_t jk_date_to_days(jk_date d) {
  int64_t y = (int64_t)d.y - (d.m <= 2);
  int64_t m = d.m;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* [0, 399] */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d.d - 1; /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

#define DAYS_MIN INT64_C(-719162) /* 0001-01-01 */
#define DAYS_MAX INT64_C(2932896) /* 9999-12-31 */

jk_date jk_date_from_days(int64_t days) {
  jk_date r = {0, 0, 0};
  if (days < DAYS_MIN || days > DAYS_MAX) return r;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                        /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                                      /* [0, 11] */
  r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
  r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
  r.y = (int)(yoe + era * 400 + (r.m <= 2));
  return r;
}

int jk_date_age(jk_date birth, jk_date on) {
  if (!jk_date_valid(birth) || !jk_date_valid(on) || jk_date_cmp(on, birth) < 0) return -1;
  int age = on.y - birth.y;
  if (on.m < birth.m || (on.m == birth.m && on.d < birth.d)) age--;
  return age;
}

jk_era jk_date_era(jk_date d, int *era_year) {
  int ey = 0;
  jk_era e = JK_ERA_NONE;
  if (jk_date_valid(d)) {
    ey = d.y;
    for (size_t i = N_ERAS; i-- > 0;)
      if (jk_date_cmp(d, eras[i].first) >= 0) {
        e = eras[i].era;
        ey = d.y - eras[i].first.y + 1;
        break;
      }
  }
  if (era_year) *era_year = ey;
  return e;
}

/* ---- formatting ---------------------------------------------------------------------- */

/* Write v (0 <= v < 10^width) as exactly `width` digits. */
static void put_digits(char *p, int v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void jk_date_format_iso(jk_date d, char buf[11]) {
  if (!jk_date_valid(d)) {
    buf[0] = '\0';
    return;
  }
  put_digits(buf, d.y, 4);
  buf[4] = '-';
  put_digits(buf + 5, d.m, 2);
  buf[7] = '-';
  put_digits(buf + 8, d.d, 2);
  buf[10] = '\0';
}

void jk_date_format_wareki(jk_date d, char buf[JK_DATE_TEXT_MAX]) {
  int ey;
  jk_era e = jk_date_era(d, &ey);
  if (!jk_date_valid(d))
    buf[0] = '\0';
  else if (e == JK_ERA_NONE) /* 4 digits, so the text parses back (2-digit years are refused) */
    snprintf(buf, JK_DATE_TEXT_MAX, "%04d年%d月%d日", d.y, d.m, d.d);
  else if (ey == 1)
    snprintf(buf, JK_DATE_TEXT_MAX, "%s元年%d月%d日", jk_era_name(e), d.m, d.d);
  else
    snprintf(buf, JK_DATE_TEXT_MAX, "%s%d年%d月%d日", jk_era_name(e), ey, d.m, d.d);
}

/* ---- today --------------------------------------------------------------------------- */

/* Exactly "YYYY-MM-DD" and a valid date; no error is recorded (jk_date_today cannot fail). */
static bool parse_iso_strict(const char *s, jk_date *out) {
  int v[3] = {0, 0, 0};
  static const int width[3] = {4, 2, 2};
  for (int f = 0; f < 3; f++) {
    for (int i = 0; i < width[f]; i++, s++) {
      if (*s < '0' || *s > '9') return false;
      v[f] = v[f] * 10 + (*s - '0');
    }
    if (*s++ != (f < 2 ? '-' : '\0')) return false;
  }
  jk_date d = {v[0], v[1], v[2]};
  if (!jk_date_valid(d)) return false;
  *out = d;
  return true;
}

jk_date jk_date_today(void) {
  jk_date d;
  const char *env = getenv("JUKINET_TODAY");
  if (env && parse_iso_strict(env, &d)) return d;
  /* JST is UTC+9 all year (no summer time), so no TZ database is needed. */
  int64_t t = (int64_t)time(NULL) + 9 * 3600;
  int64_t days = t / 86400 - (t % 86400 < 0);
  return jk_date_from_days(days);
}

/* ---- lexer --------------------------------------------------------------------------- */

enum tok_kind { T_END, T_NUM, T_SEP, T_NEN, T_TSUKI, T_NICHI, T_WORD, T_SPACE, T_OTHER };

struct tok {
  enum tok_kind kind;
  size_t start, end; /* bytes of the token in the text */
  size_t pos;        /* 1-based character number of its first character */
  uint32_t cp;       /* T_SEP, T_OTHER: the (folded) character */
  uint32_t value;    /* T_NUM: value of its first 9 digits */
  size_t ndigits;    /* T_NUM: number of digits */
};

struct lexer {
  const unsigned char *s;
  size_t i;     /* byte offset of the next character */
  size_t chars; /* characters before i */
};

/* Decode one UTF-8 character at p. Returns its length (1..4), or 0 when the bytes are not
 * shortest-form UTF-8 of a scalar value. Stops at the first bad byte, so never reads past
 * a NUL (which is never a continuation byte). */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp) {
  uint32_t c = p[0], min;
  size_t n;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) n = 2, c &= 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, c &= 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, c &= 0x07, min = 0x10000;
  else return 0;
  for (size_t k = 1; k < n; k++) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (p[k] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return n;
}

/* Full-width ASCII (Ｈ１４．) to ASCII and the ideographic space to a space. */
static uint32_t fold(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFF01 + 0x21;
  if (cp == 0x3000) return ' ';
  return cp;
}

enum cclass { C_DIGIT, C_SEP, C_SPACE, C_NEN, C_TSUKI, C_NICHI, C_WORD, C_OTHER };

static enum cclass classify(uint32_t c) {
  if (c >= '0' && c <= '9') return C_DIGIT;
  if (c == '-' || c == '/' || c == '.') return C_SEP;
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return C_SPACE;
  if (c == 0x5E74) return C_NEN;   /* 年 */
  if (c == 0x6708) return C_TSUKI; /* 月 */
  if (c == 0x65E5) return C_NICHI; /* 日 */
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return C_WORD;
  if (c >= 0xA0) return C_WORD; /* kanji and other letters: era names, known or not */
  return C_OTHER;               /* ASCII punctuation, C0 and C1 controls */
}

/* The next character without consuming it; false at the NUL. The text was checked to be
 * UTF-8 before lexing; should a bad byte appear anyway it reads as one C_OTHER byte. */
static bool peek(const struct lexer *L, uint32_t *cp, size_t *len) {
  if (!L->s[L->i]) return false;
  *len = utf8_decode(L->s + L->i, cp);
  if (!*len) *len = 1, *cp = L->s[L->i];
  *cp = fold(*cp);
  return true;
}

static void skip_spaces(struct lexer *L) {
  uint32_t cp;
  size_t len;
  while (peek(L, &cp, &len) && classify(cp) == C_SPACE) L->i += len, L->chars++;
}

static void lex(struct lexer *L, struct tok *t) {
  uint32_t cp;
  size_t len;
  memset(t, 0, sizeof *t);
  t->start = L->i;
  t->pos = L->chars + 1;
  if (!peek(L, &cp, &len)) {
    t->kind = T_END;
    t->end = L->i;
    return;
  }
  enum cclass c = classify(cp);
  L->i += len, L->chars++;
  t->cp = cp;
  switch (c) {
  case C_DIGIT:
    t->kind = T_NUM;
    t->value = cp - '0';
    t->ndigits = 1;
    while (peek(L, &cp, &len) && classify(cp) == C_DIGIT) {
      if (t->ndigits < 9) t->value = t->value * 10 + (cp - '0');
      t->ndigits++;
      L->i += len, L->chars++;
    }
    break;
  case C_SPACE:
    skip_spaces(L);
    t->kind = L->s[L->i] ? T_SPACE : T_END; /* spaces at the very end are allowed */
    break;
  case C_WORD:
    t->kind = T_WORD;
    while (peek(L, &cp, &len) && classify(cp) == C_WORD) L->i += len, L->chars++;
    break;
  case C_SEP: t->kind = T_SEP; break;
  case C_NEN: t->kind = T_NEN; break;
  case C_TSUKI: t->kind = T_TSUKI; break;
  case C_NICHI: t->kind = T_NICHI; break;
  case C_OTHER: t->kind = T_OTHER; break;
  }
  t->end = L->i;
}

/* The token as it was written, for messages: at most ~40 bytes cut at a character boundary
 * ("…" marks a cut); control characters as U+XXXX so the message stays printable. */
#define SHOW_MAX 48
static void show(const struct lexer *L, const struct tok *t, char out[SHOW_MAX]) {
  if (t->kind == T_OTHER && (t->cp < 0x20 || (t->cp >= 0x7F && t->cp < 0xA0))) {
    snprintf(out, SHOW_MAX, "U+%04X", (unsigned)t->cp);
    return;
  }
  size_t i = t->start, n = 0;
  while (i < t->end) {
    uint32_t cp;
    size_t len = utf8_decode(L->s + i, &cp);
    if (!len) len = 1;
    if (n + len > SHOW_MAX - 4) {
      memcpy(out + n, "…", 3);
      n += 3;
      break;
    }
    memcpy(out + n, L->s + i, len);
    n += len, i += len;
  }
  out[n] = '\0';
}

/* ---- grammar ------------------------------------------------------------------------- */

static jk_err unexpected(const struct lexer *L, const struct tok *t) {
  char txt[SHOW_MAX];
  if (t->kind == T_SPACE) return jk_error_set(JK_EINVAL, "unexpected space inside the date (character %1$zu)", t->pos);
  show(L, t, txt);
  return jk_error_set(JK_EINVAL, "unexpected '%1$s' at character %2$zu", txt, t->pos);
}

static jk_err check_calendar(int y, int m, int d) {
  if (m < 1 || m > 12)
    return jk_error_set(JK_EINVAL, "impossible date: %1$04d-%2$02d-%3$02d does not exist (months run from 1 to 12)",
                        y, m, d);
  if (d < 1)
    return jk_error_set(JK_EINVAL, "impossible date: %1$04d-%2$02d-%3$02d does not exist (days start at 1)", y, m,
                        d);
  if (d > days_in_month(y, m))
    return jk_error_set(JK_EINVAL, "impossible date: %1$04d-%2$02d-%3$02d does not exist (that month has %4$d days)",
                        y, m, d, days_in_month(y, m));
  return JK_OK;
}

/* After the year: "-8-5", "/8/5", ".8.5" or "年8月5日", then the end of the text. */
static jk_err parse_month_day(struct lexer *L, int *m, int *d) {
  struct tok sep, t;
  lex(L, &sep);
  if (sep.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: the month and day are missing");
  if (sep.kind != T_SEP && sep.kind != T_NEN) return unexpected(L, &sep);

  lex(L, &t);
  if (t.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: the month is missing");
  if (t.kind != T_NUM) return unexpected(L, &t);
  if (t.ndigits > 2) return jk_error_set(JK_EINVAL, "the month must have 1 or 2 digits, this one has %1$zu", t.ndigits);
  *m = (int)t.value;

  lex(L, &t);
  if (t.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: the day is missing");
  if (sep.kind == T_NEN && t.kind != T_TSUKI) return unexpected(L, &t);
  if (sep.kind == T_SEP && t.kind == T_SEP && t.cp != sep.cp)
    return jk_error_set(JK_EINVAL, "mixed separators: '%1$c' after the year but '%2$c' after the month", (int)sep.cp,
                        (int)t.cp);
  if (sep.kind == T_SEP && t.kind != T_SEP) return unexpected(L, &t);

  lex(L, &t);
  if (t.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: the day is missing");
  if (t.kind != T_NUM) return unexpected(L, &t);
  if (t.ndigits > 2) return jk_error_set(JK_EINVAL, "the day must have 1 or 2 digits, this one has %1$zu", t.ndigits);
  *d = (int)t.value;

  if (sep.kind == T_NEN) {
    lex(L, &t);
    if (t.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: '日' is missing after the day");
    if (t.kind != T_NICHI) return unexpected(L, &t);
  }
  lex(L, &t);
  if (t.kind == T_SPACE) return unexpected(L, &t);
  if (t.kind != T_END) {
    char txt[SHOW_MAX];
    show(L, &t, txt);
    return jk_error_set(JK_EINVAL, "unexpected '%1$s' after the end of the date (character %2$zu)", txt, t.pos);
  }
  return JK_OK;
}

static jk_err parse_western(struct lexer *L, const struct tok *year, jk_date *out) {
  jk_err e;
  int y, m = 0, d = 0;
  if (year->ndigits == 8) { /* YYYYMMDD */
    struct tok t;
    lex(L, &t);
    if (t.kind != T_END) {
      char txt[SHOW_MAX];
      if (t.kind == T_SPACE) return unexpected(L, &t);
      show(L, &t, txt);
      return jk_error_set(JK_EINVAL, "unexpected '%1$s' after the end of the date (character %2$zu)", txt, t.pos);
    }
    y = (int)(year->value / 10000), m = (int)(year->value / 100 % 100), d = (int)(year->value % 100);
  } else {
    if (year->ndigits != 4)
      return jk_error_set(JK_EINVAL, "a western year must have 4 digits, this one has %1$zu", year->ndigits);
    y = (int)year->value;
    if ((e = parse_month_day(L, &m, &d))) return e;
  }
  if (y == 0) return jk_error_set(JK_EINVAL, "year 0 does not exist (the calendar starts at year 1)");
  if ((e = check_calendar(y, m, d))) return e;
  *out = (jk_date){y, m, d};
  return JK_OK;
}

/* The era named by `w` (already folded to ASCII where full-width); NULL when unknown. */
static const struct era_row *era_lookup(const char *w, size_t n) {
  for (size_t i = 0; i < N_ERAS; i++) {
    const struct era_row *r = &eras[i];
    if ((n == strlen(r->name) && memcmp(w, r->name, n) == 0) ||
        (n == strlen(r->ligature) && memcmp(w, r->ligature, n) == 0) ||
        (n == 1 && (w[0] == r->letter || w[0] == r->letter - 'A' + 'a')))
      return r;
  }
  return NULL;
}

#define GAN "元" /* first year of an era, 元年 */

static jk_err parse_wareki(struct lexer *L, const struct tok *word, jk_date *out) {
  char w[32] = {0}, txt[SHOW_MAX];
  size_t n = 0;
  bool gan = false;
  const struct era_row *era = NULL;
  jk_err e;

  /* Fold the word (full-width letters to ASCII); a word longer than any era name is
   * unknown without looking further. */
  for (size_t i = word->start; i < word->end && n != SIZE_MAX;) {
    uint32_t cp;
    size_t len = utf8_decode(L->s + i, &cp);
    if (!len) len = 1, cp = L->s[i];
    cp = fold(cp);
    if (cp < 0x80 && n + 1 < sizeof w) w[n++] = (char)cp;
    else if (cp >= 0x80 && len <= 4 && n + len < sizeof w) memcpy(w + n, L->s + i, len), n += len;
    else n = SIZE_MAX;
    i += len;
  }
  if (n != SIZE_MAX) {
    size_t gl = strlen(GAN);
    if (n > gl && memcmp(w + n - gl, GAN, gl) == 0 && (era = era_lookup(w, n - gl))) gan = true;
    else era = era_lookup(w, n);
    if (!era && n == gl && memcmp(w, GAN, gl) == 0)
      return jk_error_set(JK_EINVAL, "'元' (year 1) needs an era name before it, as in 令和元年");
  }
  if (!era) {
    show(L, word, txt);
    return jk_error_set(JK_EINVAL, "unknown era '%1$s' (known: 明治, 大正, 昭和, 平成, 令和 or M, T, S, H, R)", txt);
  }

  int ey = 1, m = 0, d = 0;
  if (!gan) {
    struct tok t;
    lex(L, &t);
    if (t.kind == T_END) return jk_error_set(JK_EINVAL, "incomplete date: the year is missing after the era %1$s", era->name);
    if (t.kind != T_NUM) return unexpected(L, &t);
    if (t.ndigits > 4)
      return jk_error_set(JK_EINVAL, "the era year must have 1 to 4 digits, this one has %1$zu", t.ndigits);
    ey = (int)t.value;
    if (ey == 0)
      return jk_error_set(JK_EINVAL, "%1$s year 0 does not exist (the first year is 元年, year 1)", era->name);
  }
  if ((e = parse_month_day(L, &m, &d))) return e;

  int y = era->first.y + ey - 1;
  if (y > 9999) return jk_error_set(JK_EINVAL, "out of range: %1$s year %2$d would be %3$d, after 9999", era->name, ey, y);
  if ((e = check_calendar(y, m, d))) return e;
  jk_date r = {y, m, d};
  char when[11];
  if (jk_date_cmp(r, era->first) < 0) {
    jk_date_format_iso(era->first, when);
    return jk_error_set(JK_EINVAL, "%1$s year %2$d month %3$d day %4$d is before the era began on %5$s", era->name, ey,
                        m, d, when);
  }
  if (era->last.y && jk_date_cmp(r, era->last) > 0) {
    jk_date_format_iso(era->last, when);
    return jk_error_set(JK_EINVAL, "%1$s year %2$d month %3$d day %4$d is outside the era (it ended on %5$s)",
                        era->name, ey, m, d, when);
  }
  *out = r;
  return JK_OK;
}

jk_err jk_date_parse(const char *text, jk_date *out) {
  struct lexer L = {(const unsigned char *)(text ? text : ""), 0, 0};
  struct tok t;
  jk_date r = {0, 0, 0};
  jk_err e;

  if (!out) return jk_error_set(JK_EINVAL, "jk_date_parse: out is NULL");
  *out = r;
  /* Check the encoding first, so the lexer and the messages only ever see whole characters. */
  for (size_t i = 0; L.s[i];) {
    uint32_t cp;
    size_t len = utf8_decode(L.s + i, &cp);
    if (!len) return jk_error_set(JK_EINVAL, "the date is not valid UTF-8 (byte %1$zu)", i + 1);
    i += len;
  }
  skip_spaces(&L);
  lex(&L, &t);
  if (t.kind == T_END) e = jk_error_set(JK_EINVAL, "the date is empty");
  else if (t.kind == T_NUM) e = parse_western(&L, &t, &r);
  else if (t.kind == T_WORD) e = parse_wareki(&L, &t, &r);
  else e = unexpected(&L, &t);
  if (e == JK_OK) *out = r;
  return e;
}

void jk_utc_now(char out[32], int plus_minutes) {
  struct timespec ts;
  struct tm tm;
  char sec[24];
  clock_gettime(CLOCK_REALTIME, &ts);
  time_t t = ts.tv_sec + (time_t)plus_minutes * 60;
  gmtime_r(&t, &tm);
  strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%.19s.%06dZ", sec, (int)(ts.tv_nsec / 1000) % 1000000);
}
