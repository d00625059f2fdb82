/*
 * text.c — UTF-8 validation, the NFC storage form, search keys and CP932 at the edges.
 *
 * Invariants:
 *   - Every string handed out is valid UTF-8 (strict: no overlongs, surrogates, code points
 *     above U+10FFFF or NUL bytes), NUL-terminated, and allocated with jk_malloc. utf8proc is
 *     driven through utf8proc_decompose/utf8proc_reencode into our own buffers, so even the
 *     normaliser's memory goes through jk_malloc (and failure injection reaches it).
 *   - Input is untrusted: lengths are explicit, nothing reads past s[n), and a failure says
 *     where (byte offset for invalid UTF-8, line and column in characters for CP932).
 *   - CP932 never loses a character silently. glibc's CP932 encoder maps some characters
 *     "irreversibly" (U+301C WAVE DASH → 0x8160, which reads back as U+FF5E; U+00A5 → 0x5C;
 *     U+2212 → 0x817C …), so every encoded text is decoded again and compared with the input;
 *     the first character that does not come back is reported like an unencodable one.
 *
 * Speed. Validation and normalisation run on every field of million-row imports, so:
 *   - jk_utf8_valid_prefix checks 8 ASCII bytes at a time;
 *   - jk_text_nfc copies the text without calling utf8proc when every code point is
 *     "NFC-inert": combining class 0, NFC_Quick_Check=Yes, and never the second half of a
 *     canonical composition (nfc_inert() below lists the ranges: ASCII/Latin, kana, CJK
 *     unified ideographs, CJK punctuation, full/half-width forms …). A string made only of
 *     such code points is already NFC, because nothing in it can compose or reorder;
 *   - jk_text_search_key maps such text code point by code point (key_map() below) when the
 *     whole text is in its simple set (ASCII, full-width ASCII, hiragana, katakana, CJK).
 * tests/unit/core/test_text.c checks both tables against utf8proc for every code point.
 */
#include "jukinet/text.h"
#include "core/text_int.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <utf8proc.h>



/* ---- UTF-8 ----------------------------------------------------------------------------- */

#define ONES8 UINT64_C(0x0101010101010101)
#define HIGH8 UINT64_C(0x8080808080808080)

size_t jk_utf8_valid_prefix(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      /* ASCII fast path: 8 bytes at a time while none has the high bit set or is NUL */
      while (i + 8 <= n) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if ((v & HIGH8) || ((v - ONES8) & ~v & HIGH8)) break;
        i += 8;
      }
      while (i < n && p[i] < 0x80) {
        if (p[i] == 0) return i;
        i++;
      }
      continue;
    }
    /* Unicode Table 3-7, well-formed byte sequences */
    if (c < 0xC2) return i; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) {
      if (n - i < 2 || (p[i + 1] & 0xC0) != 0x80) return i;
      i += 2;
    } else if (c < 0xF0) {
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (n - i < 3 || p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80) return i;
      i += 3;
    } else if (c < 0xF5) {
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (n - i < 4 || p[i + 1] < lo || p[i + 1] > hi || (p[i + 2] & 0xC0) != 0x80 ||
          (p[i + 3] & 0xC0) != 0x80)
        return i;
      i += 4;
    } else {
      return i;
    }
  }
  return n;
}

bool jk_utf8_valid(const char *s, size_t n) { return jk_utf8_valid_prefix(s, n) == n; }

bool jk_text_is_plain(const char *s, size_t n) {
  if (!jk_utf8_valid(s, n)) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) return false; /* U+0080 .. U+009F (valid: i + 1 < n) */
  }
  return true;
}

size_t jk_utf8_len(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
  return count;
}

/* Decode one code point of *valid* UTF-8 at p; *len gets its length in bytes. */
static inline uint32_t decode(const unsigned char *p, size_t *len) {
  unsigned c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if (c < 0xE0) {
    *len = 2;
    return ((uint32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (c < 0xF0) {
    *len = 3;
    return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  *len = 4;
  return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
         ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

/* Encode cp (valid scalar value) at p; returns the number of bytes written (1..4). */
static inline size_t encode(unsigned char *p, uint32_t cp) {
  if (cp < 0x80) {
    p[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    p[0] = (unsigned char)(0xC0 | (cp >> 6));
    p[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (unsigned char)(0xE0 | (cp >> 12));
    p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    p[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  p[0] = (unsigned char)(0xF0 | (cp >> 18));
  p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  p[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* 1-based line and column (in characters) of byte offset off of valid UTF-8 s. */
static void position(const char *s, size_t off, size_t *line, size_t *column) {
  size_t ln = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') {
      ln++;
      col = 1;
    } else if ((c & 0xC0) != 0x80) {
      col++;
    }
  }
  *line = ln;
  *column = col;
}

static jk_err invalid_utf8(const char *s, size_t n) {
  return jk_error_set(JK_EINVAL, "invalid UTF-8 at byte %1$zu", jk_utf8_valid_prefix(s, n) + 1);
}

static char *dup_bytes(const char *s, size_t n) {
  char *d = jk_malloc(n + 1);
  if (!d) return NULL;
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* ---- utf8proc, through our allocator ---------------------------------------------------- */

/* Map valid UTF-8 s[0..n) with utf8proc options opts into a new jk_malloc'd NUL-terminated
 * string (*out, *out_len): utf8proc_map_custom, but with jk_malloc. */
static jk_err umap(const char *s, size_t n, utf8proc_option_t opts, char **out, size_t *out_len) {
  *out = NULL;
  *out_len = 0;
  if (n == 0) {
    if (!(*out = dup_bytes("", 0))) return jk_error_set(JK_ENOMEM, NULL);
    return JK_OK;
  }
  if (n > (size_t)PTRDIFF_MAX / 8) return jk_error_set(JK_ETOOLARGE, "the text is too long (%1$zu bytes)", n);
  const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
  utf8proc_ssize_t cnt = utf8proc_decompose(u, (utf8proc_ssize_t)n, NULL, 0, opts), len;
  utf8proc_int32_t *buf = NULL;
  if (cnt >= 0) {
    if (!(buf = jk_malloc((size_t)cnt * sizeof *buf + 1))) return jk_error_set(JK_ENOMEM, NULL);
    cnt = utf8proc_decompose(u, (utf8proc_ssize_t)n, buf, cnt, opts);
  }
  len = cnt >= 0 ? utf8proc_reencode(buf, cnt, opts) : cnt;
  if (len < 0) {
    jk_free(buf);
    if (len == UTF8PROC_ERROR_NOMEM) return jk_error_set(JK_ENOMEM, NULL);
    if (len == UTF8PROC_ERROR_OVERFLOW) return jk_error_set(JK_ETOOLARGE, "the text is too long (%1$zu bytes)", n);
    return jk_error_set(JK_EINVAL, "Unicode normalisation failed");
  }
  *out = (char *)buf; /* reencode wrote UTF-8 and a NUL over the code point array */
  *out_len = (size_t)len;
  return JK_OK;
}

/* ---- NFC -------------------------------------------------------------------------------- */

/* True when cp cannot take part in composition or reordering and NFC leaves it alone (see the
 * file comment). Ordered by how often the ranges occur in Japanese registry text. */
bool jk__text_nfc_inert(uint32_t cp) {
  if (cp < 0x300) return true;                      /* ASCII, Latin-1, Latin Extended-A/B, IPA */
  if (cp >= 0x3000 && cp <= 0x30FF)                 /* CJK punctuation, hiragana, katakana */
    return !(cp >= 0x302A && cp <= 0x302F) && cp != 0x3099 && cp != 0x309A; /* but marks */
  if (cp >= 0x4E00 && cp <= 0x9FFF) return true;    /* CJK unified ideographs */
  if (cp >= 0xFF00 && cp <= 0xFFEF) return true;    /* full-width ASCII, half-width kana */
  if (cp >= 0x2010 && cp <= 0x2027) return true;    /* dashes, quotes, dots */
  if (cp >= 0x2460 && cp <= 0x24FF) return true;    /* ① … */
  if (cp >= 0x25A0 && cp <= 0x25FF) return true;    /* ■ □ ○ ◎ … */
  if (cp >= 0x3200 && cp <= 0x33FF) return true;    /* ㈱ ㍻ … */
  if (cp >= 0x3400 && cp <= 0x4DBF) return true;    /* CJK extension A */
  return false;
}

static inline bool ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static inline bool is_ideo_space(const char *p) { /* U+3000 IDEOGRAPHIC SPACE */
  return (unsigned char)p[0] == 0xE3 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0x80;
}

jk_err jk_text_nfc(const char *s, size_t n, char **out) {
  const unsigned char *p = (const unsigned char *)s;
  size_t b = 0, e = n, chars = 0, len = 0;
  bool inert = true;
  *out = NULL;
  if (!jk_utf8_valid(s, n)) return invalid_utf8(s, n);

  /* trim white space: ASCII (tab, newline … included) and U+3000 */
  for (;;) {
    if (b < e && ascii_space(p[b])) b += 1;
    else if (e - b >= 3 && is_ideo_space(s + b)) b += 3;
    else break;
    chars++;
  }
  for (;;) {
    if (e > b && ascii_space(p[e - 1])) e -= 1;
    else if (e - b >= 3 && is_ideo_space(s + e - 3)) e -= 3;
    else break;
  }

  /* control characters (C0, DEL, C1) are refused; note whether utf8proc is needed */
  for (size_t i = b; i < e; i += len) {
    chars++;
    if (p[i] >= 0x20 && p[i] < 0x7F) {
      len = 1;
      continue;
    }
    uint32_t cp = decode(p + i, &len);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
      return jk_error_set(JK_EINVAL, "control character U+%1$04X at character %2$zu", (unsigned)cp, chars);
    if (inert && !jk__text_nfc_inert(cp)) inert = false;
  }

  if (inert) {
    if (!(*out = dup_bytes(s + b, e - b))) return jk_error_set(JK_ENOMEM, NULL);
    return JK_OK;
  }
  return umap(s + b, e - b, UTF8PROC_STABLE | UTF8PROC_COMPOSE, out, &len);
}

/* ---- search keys ------------------------------------------------------------------------ */

/* The key of a single code point when it needs no utf8proc: its NFKC case fold with hiragana
 * turned to katakana (a code point), KEY_DROP for white space, KEY_SLOW otherwise. Every code
 * point accepted here, and every result, is NFKC-inert in the sense of jk__text_nfc_inert, so
 * a text made of them is keyed code point by code point. */
int32_t jk__text_key_map(uint32_t cp) {
  if (cp < 0x80) {
    if (cp >= 'A' && cp <= 'Z') return (int32_t)(cp + 0x20);
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return KEY_DROP;
    return (int32_t)cp;
  }
  if (cp >= 0x3000 && cp <= 0x30FF) {
    if (cp == 0x3000) return KEY_DROP;
    if (cp >= 0x3041 && cp <= 0x3096) return (int32_t)(cp + 0x60); /* ぁ..ゖ → ァ..ヶ */
    if (cp == 0x309D || cp == 0x309E) return (int32_t)(cp + 0x60); /* ゝゞ → ヽヾ */
    if (cp >= 0x30A0 && cp <= 0x30FE) return (int32_t)cp;           /* katakana, ・, ー */
    if (cp <= 0x3029) return (int32_t)cp;                           /* 、。「」〜 々 〒 … */
    return KEY_SLOW;
  }
  if (cp >= 0x4E00 && cp <= 0x9FFF) return (int32_t)cp;
  if (cp >= 0xFF01 && cp <= 0xFF5E) { /* full-width ASCII → ASCII, folded */
    cp -= 0xFEE0;
    return (int32_t)(cp >= 'A' && cp <= 'Z' ? cp + 0x20 : cp);
  }
  return KEY_SLOW;
}

/* After NFKC + case fold: hiragana → katakana and white space out, in place (never grows:
 * both kana blocks are 3 bytes in UTF-8). Returns the new length. */
static size_t key_fold(char *s, size_t n) {
  unsigned char *p = (unsigned char *)s;
  size_t w = 0, len;
  for (size_t i = 0; i < n; i += len) {
    uint32_t cp = decode(p + i, &len);
    if ((cp >= 0x3041 && cp <= 0x3096) || cp == 0x309D || cp == 0x309E) cp += 0x60;
    else if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
             (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
             cp == 0x205F || cp == 0x3000)
      continue; /* Unicode White_Space */
    w += encode(p + w, cp);
  }
  p[w] = '\0';
  return w;
}

/* True when key_map leaves every code point of valid UTF-8 s as it is (a finished key). */
static bool key_stable(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t len;
  for (size_t i = 0; i < n; i += len) {
    uint32_t cp = decode(p + i, &len);
    if (jk__text_key_map(cp) != (int32_t)cp) return false;
  }
  return true;
}

#define KEY_OPTS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

/* One round of the full key function with utf8proc. The text is put in canonical order (NFD)
 * first: utf8proc case-folds code point by code point before it reorders marks, and folding
 * can turn a mark into a starter (U+0345 → ι), so without this U+0345 U+0339 and its NFC
 * U+0339 U+0345 would get different keys. */
static jk_err key_round(const char *s, size_t n, char **out, size_t *out_len) {
  char *nfd = NULL;
  size_t nfd_len;
  jk_err e = umap(s, n, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, &nfd, &nfd_len);
  if (e == JK_OK) e = umap(nfd, nfd_len, KEY_OPTS, out, out_len);
  if (e == JK_OK) *out_len = key_fold(*out, *out_len);
  jk_free(nfd);
  return e;
}

jk_err jk_text_search_key(const char *s, size_t n, char **out) {
  const unsigned char *p = (const unsigned char *)s;
  char *k = NULL, *k2 = NULL;
  size_t klen = 0, k2len = 0, len;
  jk_err e = JK_OK;
  *out = NULL;
  if (!jk_utf8_valid(s, n)) return invalid_utf8(s, n);

  /* fast path: the key never is longer than the text here */
  if (!(k = jk_malloc(n + 1))) return jk_error_set(JK_ENOMEM, NULL);
  for (size_t i = 0; i < n; i += len) {
    int32_t m;
    if (p[i] < 0x80) {
      len = 1;
      m = jk__text_key_map(p[i]);
    } else {
      m = jk__text_key_map(decode(p + i, &len));
    }
    if (m == KEY_SLOW) goto slow;
    if (m != KEY_DROP) klen += encode((unsigned char *)k + klen, (uint32_t)m);
  }
  k[klen] = '\0';
  *out = k;
  return JK_OK;

slow:
  /* NFKC_CF, then hiragana → katakana and white space out. Removing a space can bring a base
   * and a combining mark together (か゛ → か + space + U+3099 → カ + U+3099), so repeat until
   * nothing changes: the key of a key is the key itself. */
  jk_free(k);
  if ((e = key_round(s, n, &k, &klen))) return e;
  for (int round = 0; round < 8 && !key_stable(k, klen); round++) {
    if ((e = key_round(k, klen, &k2, &k2len))) goto out;
    bool same = k2len == klen && memcmp(k, k2, klen) == 0;
    jk_free(k);
    k = k2;
    klen = k2len;
    k2 = NULL;
    if (same) break;
  }
  *out = k;
  k = NULL;
out:
  jk_free(k);
  return e;
}

/* ---- kana ------------------------------------------------------------------------------- */

/* What a 氏名かな field may hold: hiragana U+3041..U+309F (with the combining and spacing
 * (han)dakuten and ゝゞ, but not the unassigned U+3097, U+3098), katakana U+30A0..U+30FF (with
 * ・ and ー), half-width katakana U+FF65..U+FF9F, and spaces (U+0020, U+3000). Empty or
 * invalid UTF-8 → false; a text of spaces only is true (jk_text_nfc trims it to empty, which
 * the record check refuses). */
bool jk_text_is_kana(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t len;
  if (n == 0 || !jk_utf8_valid(s, n)) return false;
  for (size_t i = 0; i < n; i += len) {
    uint32_t cp = decode(p + i, &len);
    if (!(cp == 0x20 || cp == 0x3000 || (cp >= 0x3041 && cp <= 0x30FF && cp != 0x3097 && cp != 0x3098) ||
          (cp >= 0xFF65 && cp <= 0xFF9F)))
      return false;
  }
  return true;
}

/* ---- CP932 ------------------------------------------------------------------------------ */

/* Convert s[0..n) with a fresh iconv descriptor. On success *bad_at is SIZE_MAX; when the
 * input holds a sequence iconv cannot convert, *bad_at is its byte offset in s and *out holds
 * (NUL-terminated) what was converted before it. *out is jk_malloc'd in both cases. Errors
 * (JK_ENOMEM, JK_EUNSUPPORTED, JK_ETOOLARGE) leave *out NULL. */
static jk_err conv(const char *to, const char *from, const char *s, size_t n, size_t expand, char **out,
                   size_t *out_len, size_t *bad_at) {
  jk_err e = JK_OK;
  char *buf = NULL;
  size_t cap;
  iconv_t cd;
  *out = NULL;
  *out_len = 0;
  *bad_at = SIZE_MAX;
  if (n > (SIZE_MAX - 16) / expand) return jk_error_set(JK_ETOOLARGE, "the text is too long (%1$zu bytes)", n);
  cap = n * expand + 16;
  if ((cd = iconv_open(to, from)) == (iconv_t)-1)
    return jk_error_set(JK_EUNSUPPORTED, "the CP932 converter is not available on this system");
  if (!(buf = jk_malloc(cap))) {
    e = jk_error_set(JK_ENOMEM, NULL);
    goto out;
  }
  char *in = (char *)s, *op = buf; /* iconv does not write through in */
  size_t inleft = n, outleft = cap - 1;
  while (inleft > 0) {
    if (iconv(cd, &in, &inleft, &op, &outleft) != (size_t)-1) break;
    if (errno == E2BIG) { /* cannot happen with our estimates, but stay correct */
      size_t used = (size_t)(op - buf);
      if (cap > SIZE_MAX / 2) {
        e = jk_error_set(JK_ETOOLARGE, "the text is too long (%1$zu bytes)", n);
        goto out;
      }
      char *nb = jk_realloc(buf, cap * 2);
      if (!nb) {
        e = jk_error_set(JK_ENOMEM, NULL);
        goto out;
      }
      buf = nb;
      cap *= 2;
      op = buf + used;
      outleft = cap - 1 - used;
      continue;
    }
    *bad_at = (size_t)(in - s); /* EILSEQ, or EINVAL: incomplete sequence at the end */
    break;
  }
  *op = '\0';
  *out_len = (size_t)(op - buf);
  *out = buf;
  buf = NULL;
out:
  jk_free(buf);
  iconv_close(cd);
  return e;
}

jk_err jk_cp932_to_utf8(const char *s, size_t n, char **out, size_t *out_len) {
  char *u = NULL;
  size_t ulen, bad, line, col;
  jk_err e;
  *out = NULL;
  if (out_len) *out_len = 0;
  /* each CP932 byte or pair becomes at most 3 bytes of UTF-8 */
  if ((e = conv("UTF-8", "CP932", s, n, 3, &u, &ulen, &bad))) return e;
  if (bad != SIZE_MAX) {
    position(u, ulen, &line, &col); /* the output so far is exactly the text before it */
    e = jk_error_set(JK_EINVAL, "line %1$zu, column %2$zu: byte sequence is not valid CP932", line, col);
    goto out;
  }
  size_t ok = jk_utf8_valid_prefix(u, ulen);
  if (ok != ulen) {
    position(u, ok, &line, &col);
    if (u[ok] == '\0')
      e = jk_error_set(JK_EINVAL, "line %1$zu, column %2$zu: the text contains a NUL byte", line, col);
    else
      e = jk_error_set(JK_EINVAL, "line %1$zu, column %2$zu: byte sequence is not valid CP932", line, col);
    goto out;
  }
  if (ulen + 1 < n * 3 + 16) { /* give back the slack; keep the big buffer if that fails */
    char *shrunk = jk_realloc(u, ulen + 1);
    if (shrunk) u = shrunk;
  }
  *out = u;
  u = NULL;
  if (out_len) *out_len = ulen;
out:
  jk_free(u);
  return e;
}

static jk_err unencodable(const char *s, size_t off, jk_text_pos *bad) {
  jk_text_pos pos;
  size_t len;
  char ch[5] = {0};
  position(s, off, &pos.line, &pos.column);
  pos.cp = decode((const unsigned char *)s + off, &len);
  memcpy(ch, s + off, len);
  if (bad) *bad = pos;
  return jk_error_set(JK_EINVAL, "line %1$zu, column %2$zu: U+%3$04X '%4$s' cannot be written in CP932", pos.line,
                      pos.column, (unsigned)pos.cp, ch);
}

jk_err jk_utf8_to_cp932(const char *s, size_t n, char **out, size_t *out_len, jk_text_pos *bad) {
  char *c = NULL, *back = NULL;
  size_t clen = 0, blen, at;
  jk_err e;
  *out = NULL;
  *out_len = 0;
  if (bad) memset(bad, 0, sizeof *bad);
  if (!jk_utf8_valid(s, n)) return invalid_utf8(s, n);
  /* a character's CP932 form is never longer than its UTF-8 form */
  if ((e = conv("CP932", "UTF-8", s, n, 1, &c, &clen, &at))) return e;
  if (at != SIZE_MAX) {
    e = unencodable(s, at, bad);
    goto out;
  }
  /* read it back: whatever does not come back unchanged was replaced, not encoded */
  if ((e = conv("UTF-8", "CP932", c, clen, 3, &back, &blen, &at))) goto out;
  if (at != SIZE_MAX || blen != n || memcmp(back, s, n) != 0) {
    size_t d = 0;
    while (d < n && d < blen && back[d] == s[d]) d++;
    if (d == n) d = n - 1; /* cannot happen: the text came back longer */
    while (d > 0 && ((unsigned char)s[d] & 0xC0) == 0x80) d--;
    e = unencodable(s, d, bad);
    goto out;
  }
  *out = c;
  *out_len = clen;
  c = NULL;
out:
  jk_free(c);
  jk_free(back);
  return e;
}
