/*
 * http1.c — the strict HTTP/1.1 request head parser (http1.h).
 *
 * Invariants
 * - Nothing is read past buf + len; every offset in the result lies inside the head.
 * - A head is accepted only whole: the request line, every field line and the empty line end in
 *   CRLF, and nothing the grammar does not allow passes (see http1.h for the rules).
 */
#include "net/http1.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP, HTAB and obs-text: what a field value may hold */
static bool is_value_char(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

static bool name_is(const uint8_t *p, size_t n, const char *name) {
  return n == strlen(name) && strncasecmp((const char *)p, name, n) == 0;
}

/* Does the comma-separated list v[0..n) hold the token tok (case-insensitive)? */
static bool list_has(const uint8_t *v, size_t n, const char *tok) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      i++;
    size_t s = i;
    while (i < n && v[i] != ',')
      i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
      e--;
    if (e > s && name_is(v + s, e - s, tok)) return true;
  }
  return false;
}

static jk__http_rc bad(jk__http_head *out, const char **why, const char *reason) {
  memset(out, 0, sizeof *out);
  *why = reason;
  return JK__HTTP_BAD;
}

/* Content-Length: 1*DIGIT, at most 19 of them (fits in uint64_t). */
static bool parse_length(const uint8_t *v, size_t n, uint64_t *out) {
  if (n == 0 || n > 19) return false;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') return false;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  *out = x;
  return true;
}

jk__http_rc jk__http_parse_head(const uint8_t *buf, size_t len, size_t max_head, jk__http_head *out,
                                const char **why) {
  memset(out, 0, sizeof *out);
  *why = NULL;
  size_t start = 0;
  while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
    start += 2;
  if (start >= max_head) {
    *why = "the request head is too large";
    return JK__HTTP_TOO_LARGE;
  }
  const uint8_t *end = len > start ? memmem(buf + start, len - start, "\r\n\r\n", 4) : NULL;
  if (!end) {
    if (len >= max_head) {
      *why = "the request head is too large";
      return JK__HTTP_TOO_LARGE;
    }
    return JK__HTTP_MORE;
  }
  size_t head_len = (size_t)(end - buf) + 4;
  if (head_len > max_head) {
    *why = "the request head is too large";
    return JK__HTTP_TOO_LARGE;
  }
  jk__http_head h = {.head_len = head_len};

  /* request-line = method SP request-target SP HTTP-version CRLF */
  size_t i = start;
  while (i < head_len && is_tchar(buf[i]))
    i++;
  if (i == start || buf[i] != ' ') return bad(out, why, "a malformed request line (method)");
  if (i - start > JK__HTTP_METHOD_MAX) return bad(out, why, "the method is too long");
  h.method_off = start;
  h.method_len = i - start;
  size_t t = ++i;
  while (i < head_len && buf[i] > 0x20 && buf[i] < 0x7f)
    i++;
  if (i == t || buf[i] != ' ') return bad(out, why, "a malformed request line (target)");
  if (i - t > JK__HTTP_TARGET_MAX) return bad(out, why, "the request target is too long");
  h.target_off = t;
  h.target_len = i - t;
  const uint8_t *q = memchr(buf + t, '?', h.target_len);
  h.path_len = q ? (size_t)(q - (buf + t)) : h.target_len;
  i++;
  if (head_len - i < 10 || memcmp(buf + i, "HTTP/1.", 7) != 0 || (buf[i + 7] != '0' && buf[i + 7] != '1') ||
      buf[i + 8] != '\r' || buf[i + 9] != '\n')
    return bad(out, why, "not an HTTP/1.0 or HTTP/1.1 request");
  h.http10 = buf[i + 7] == '0';
  i += 10;

  /* field-line = field-name ":" OWS field-value OWS CRLF, until the empty line */
  bool host = false, keep_alive = false;
  unsigned fields = 0;
  while (i + 2 <= head_len && !(buf[i] == '\r' && buf[i + 1] == '\n')) {
    if (++fields > JK__HTTP_FIELDS_MAX) return bad(out, why, "too many header fields");
    size_t ns = i;
    while (i < head_len && is_tchar(buf[i]))
      i++;
    if (i == ns || buf[i] != ':') return bad(out, why, "a malformed header field name");
    size_t nl = i - ns;
    i++;
    while (i < head_len && (buf[i] == ' ' || buf[i] == '\t'))
      i++;
    size_t vs = i;
    while (i < head_len && buf[i] != '\r') {
      if (!is_value_char(buf[i])) return bad(out, why, "a control character in a header field");
      i++;
    }
    if (i + 1 >= head_len || buf[i + 1] != '\n') return bad(out, why, "a header line without CRLF");
    size_t ve = i;
    while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
      ve--;
    i += 2;
    const uint8_t *name = buf + ns, *v = buf + vs;
    size_t vn = ve - vs;
    if (name_is(name, nl, "Content-Length")) {
      uint64_t x;
      if (!parse_length(v, vn, &x)) return bad(out, why, "a malformed Content-Length");
      if (h.has_length && x != h.content_length) return bad(out, why, "two different Content-Length fields");
      h.has_length = true;
      h.content_length = x;
    } else if (name_is(name, nl, "Transfer-Encoding")) {
      h.transfer_encoding = true;
    } else if (name_is(name, nl, "Host")) {
      if (host) return bad(out, why, "two Host fields");
      host = true;
    } else if (name_is(name, nl, "Connection")) {
      if (list_has(v, vn, "close")) h.close = true;
      if (list_has(v, vn, "keep-alive")) keep_alive = true;
    } else if (name_is(name, nl, "Expect")) {
      if (name_is(v, vn, "100-continue")) h.expect_continue = true;
      else return bad(out, why, "an Expect other than 100-continue");
    }
  }
  if (i + 2 != head_len) return bad(out, why, "a malformed request head"); /* cannot happen: the first CRLFCRLF */
  if (h.has_length && h.transfer_encoding) return bad(out, why, "both Content-Length and Transfer-Encoding");
  if (!h.http10 && !host) return bad(out, why, "no Host field");
  if (h.http10 && !keep_alive) h.close = true;
  *out = h;
  return JK__HTTP_OK;
}
