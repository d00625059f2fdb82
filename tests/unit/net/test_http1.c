/*
 * test_http1.c — the strict request head parser of the event-loop HTTPS server
 * (src/net/http1.c): what it accepts, and every kind of head it refuses.
 */
#include "testutil.h"

#include "net/http1.h"

static jk__http_rc parse(const char *text, jk__http_head *h, const char **why) {
  return jk__http_parse_head((const uint8_t *)text, strlen(text), 8192, h, why);
}

static void test_accepted(void **state) {
  (void)state;
  jk__http_head h;
  const char *why;
  const char *req = "POST /api/v1/provision?x=1 HTTP/1.1\r\nHost: nation\r\nContent-Type: application/json\r\n"
                    "Content-Length:  42 \r\nConnection: Keep-Alive, Close\r\n\r\n{\"body\":1}";
  assert_int_equal(parse(req, &h, &why), JK__HTTP_OK);
  assert_null(why);
  assert_int_equal(h.head_len, strstr(req, "\r\n\r\n") - req + 4);
  assert_memory_equal(req + h.method_off, "POST", 4);
  assert_int_equal(h.method_len, 4);
  assert_int_equal(h.target_len, strlen("/api/v1/provision?x=1"));
  assert_int_equal(h.path_len, strlen("/api/v1/provision"));
  assert_memory_equal(req + h.target_off, "/api/v1/provision", h.path_len);
  assert_true(h.has_length);
  assert_int_equal(h.content_length, 42);
  assert_true(h.close);
  assert_false(h.http10);
  assert_false(h.expect_continue);
  /* HTTP/1.0: closes unless keep-alive is asked; no Host needed */
  assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &why), JK__HTTP_OK);
  assert_true(h.http10);
  assert_true(h.close);
  assert_int_equal(parse("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n", &h, &why), JK__HTTP_OK);
  assert_false(h.close);
  /* empty lines before the request line are skipped; the same Content-Length twice is one */
  assert_int_equal(parse("\r\n\r\nPOST / HTTP/1.1\r\nHOST: a\r\ncontent-length: 3\r\nContent-Length: 3\r\n\r\n", &h, &why),
                   JK__HTTP_OK);
  assert_int_equal(h.content_length, 3);
  assert_int_equal(h.method_off, 4);
  /* 100-continue, chunked (the server answers 411), UTF-8 in a value, an empty value */
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n", &h, &why),
                   JK__HTTP_OK);
  assert_true(h.expect_continue);
  assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &why), JK__HTTP_OK);
  assert_true(h.transfer_encoding);
  assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Name: \xe5\xb1\xb1\xe7\x94\xb0\r\nX-Empty:\r\n\r\n", &h, &why),
                   JK__HTTP_OK);
}

static void test_more(void **state) {
  (void)state;
  jk__http_head h;
  const char *why;
  const char *req = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n";
  for (size_t n = 0; n < strlen(req); n++) { /* every prefix: not yet */
    assert_int_equal(jk__http_parse_head((const uint8_t *)req, n, 8192, &h, &why), JK__HTTP_MORE);
    assert_null(why);
    assert_int_equal(h.head_len, 0);
  }
  assert_int_equal(parse(req, &h, &why), JK__HTTP_OK);
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *text, *why;
  } bad[] = {
      {"POST / HTTP/1.1\nHost: a\r\n\r\n", "not an HTTP/1.0"},                     /* bare LF */
      {"POST / HTTP/2.0\r\nHost: a\r\n\r\n", "not an HTTP/1.0"},
      {"POST  / HTTP/1.1\r\nHost: a\r\n\r\n", "target"},                           /* two spaces */
      {"PO(ST / HTTP/1.1\r\nHost: a\r\n\r\n", "method"},
      {"/ HTTP/1.1\r\nHost: a\r\n\r\n", "method"},
      {"POSTPOSTPOSTPOSTX / HTTP/1.1\r\nHost: a\r\n\r\n", "method is too long"},
      {"POST /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", "target"},
      {"POST /\xe3\x81\x82 HTTP/1.1\r\nHost: a\r\n\r\n", "target"},              /* raw UTF-8 in the path */
      {"POST / HTTP/1.1\r\n\r\n", "no Host"},
      {"POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two Host"},
      {"POST / HTTP/1.1\r\nHost : a\r\n\r\n", "field name"},                       /* space before the colon */
      {"POST / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "field name"},           /* obs-fold */
      {"POST / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", "control character"},
      {"POST / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", "without CRLF"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "Content-Length"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", "Content-Length"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", "Content-Length"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "two different"},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both"},
      {"POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", "Expect"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jk__http_head h;
    const char *why = NULL;
    jk__http_rc rc = parse(bad[i].text, &h, &why);
    if (rc != JK__HTTP_BAD) fail_msg("case %zu accepted (%d)", i, (int)rc);
    if (!why || !strstr(why, bad[i].why)) fail_msg("case %zu: \"%s\", not \"%s\"", i, why ? why : "", bad[i].why);
    assert_int_equal(h.head_len, 0);
  }
  /* 65 fields */
  char many[4096];
  int n = snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: a\r\n");
  for (int i = 0; i < 64; i++)
    n += snprintf(many + n, sizeof many - (size_t)n, "X: y\r\n");
  snprintf(many + n, sizeof many - (size_t)n, "\r\n");
  jk__http_head h;
  const char *why;
  assert_int_equal(parse(many, &h, &why), JK__HTTP_BAD);
  assert_non_null(strstr(why, "too many"));
}

static void test_too_large(void **state) {
  (void)state;
  jk__http_head h;
  const char *why;
  char *big = jk_malloc(9000);
  snprintf(big, 9000, "POST / HTTP/1.1\r\nHost: a\r\nX: ");
  size_t n = strlen(big);
  memset(big + n, 'x', 9000 - n - 1);
  big[8999] = 0;
  /* no end in 8 KiB: too large, before the end has come */
  assert_int_equal(jk__http_parse_head((const uint8_t *)big, 8192, 8192, &h, &why), JK__HTTP_TOO_LARGE);
  assert_non_null(why);
  /* an end that comes after 8 KiB */
  memcpy(big + 8994, "\r\n\r\n", 4);
  assert_int_equal(jk__http_parse_head((const uint8_t *)big, 8998, 8192, &h, &why), JK__HTTP_TOO_LARGE);
  /* 8,191 bytes without an end: still waiting */
  assert_int_equal(jk__http_parse_head((const uint8_t *)big, 8191, 8192, &h, &why), JK__HTTP_MORE);
  /* a target over 1 KiB */
  snprintf(big, 9000, "GET /");
  memset(big + 5, 'a', 1100);
  snprintf(big + 1105, 100, " HTTP/1.1\r\nHost: a\r\n\r\n");
  assert_int_equal(parse(big, &h, &why), JK__HTTP_BAD);
  assert_non_null(strstr(why, "target is too long"));
  jk_free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepted),
      cmocka_unit_test(test_more),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_too_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
