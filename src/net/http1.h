/*
 * http1.h — the request head parser of the event-loop HTTPS server (https_loop.c): one
 * HTTP/1.1 (or 1.0) request line and its header fields, strictly (RFC 9112), from bytes a
 * verified peer sent. Private to src/net; a libFuzzer target (tests/fuzz/fuzz_http_head.c).
 *
 * Strict on purpose, because the peer's bytes are hostile and nothing between us and it
 * normalises them: CRLF line ends only; no folded lines; no space before a field's colon; a
 * method of token characters; a request target of visible ASCII; Content-Length digits only,
 * and never two different ones; Content-Length together with Transfer-Encoding refused (the
 * request-smuggling ambiguity); HTTP/1.1 requires Host. Field values may carry UTF-8 bytes
 * (obs-text) but no control character except HTAB.
 */
#ifndef JK_NET_HTTP1_H
#define JK_NET_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JK__HTTP_METHOD_MAX 15
#define JK__HTTP_TARGET_MAX 1024
#define JK__HTTP_FIELDS_MAX 64

typedef struct jk__http_head {
  size_t head_len; /* bytes up to and including the empty line (leading empty lines too) */
  size_t method_off, method_len;
  size_t target_off, target_len; /* the request target as sent, query included */
  size_t path_len;                /* its part before '?' */
  bool http10;                    /* HTTP/1.0: the connection closes unless keep-alive was asked */
  bool has_length;
  uint64_t content_length;
  bool transfer_encoding; /* any Transfer-Encoding field (the server answers 411) */
  bool expect_continue;   /* "Expect: 100-continue" */
  bool close;             /* the client wants the connection closed after the answer */
} jk__http_head;

typedef enum jk__http_rc {
  JK__HTTP_MORE,      /* no complete head yet in buf[0..len) and not over max_head */
  JK__HTTP_OK,        /* *out is the head; the body (if any) starts at buf + head_len */
  JK__HTTP_BAD,       /* malformed: answer 400 and close; *why says what (static string) */
  JK__HTTP_TOO_LARGE, /* the head is longer than max_head: answer 431 and close */
} jk__http_rc;

/* Parse the request head at the start of buf[0..len) (empty lines before the request line are
 * skipped, RFC 9112 §2.2). Reads nothing past buf + len. *out is zeroed unless JK__HTTP_OK;
 * *why is set for BAD and TOO_LARGE (NULL otherwise). A caller that gets JK__HTTP_MORE calls
 * again with more bytes: each call looks for the empty line first (memmem), so a head that
 * trickles in costs a scan per piece, bounded by max_head. */
jk__http_rc jk__http_parse_head(const uint8_t *buf, size_t len, size_t max_head, jk__http_head *out,
                                const char **why);

#endif
