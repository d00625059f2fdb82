/*
 * cmd_provision.c — `jukinet provision query`: the national agency's side of the query service
 * (docs/provision.md). It asks a national or prefectural node's POST /api/v1/provision over
 * mutual TLS 1.3 with the agency's certificate, its key on the agency's own token, and prints
 * the answer. Not an operation on a node (no --dir, no login): the node it asks records it.
 */
#include "cli.h"

#include "jukinet/https.h"
#include "jukinet/pki.h"
#include "jukinet/provision.h"
#include "jukinet/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                                          \
  "usage: jukinet provision query --url URL --server NODE-ID --cert FILE --ca FILE [--crl FILE] --token LABEL "        \
  "[--key LABEL] [--module PATH] [--pin-file FILE] (--purpose CODE (--code CODE | --kana KANA --birth DATE --sex SEX " \
  "[--address ADDRESS]) | --body FILE)"

/* The body from the flags: only the keys given (the service says what is missing). */
static char *body_from_flags(const char *purpose, const char *code, const char *kana, const char *birth,
                             const char *sex, const char *address) {
  json_t *o = json_object();
  if (!o) return NULL;
  const char *k[] = {"purpose", "code", "kana", "birth", "sex", "address"};
  const char *v[] = {purpose, code, kana, birth, sex, address};
  for (size_t i = 0; i < 6; i++)
    if (v[i]) json_object_set_new(o, k[i], json_string(v[i]));
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static int exit_for(unsigned status) {
  switch (status) {
  case 200: return 0;
  case 404: return EXIT_NOTFOUND;
  case 400: case 411: case 413: case 431: return EXIT_INVALID;
  case 403: return EXIT_PERM;
  case 429: return EXIT_BUSY;
  default: return EXIT_IO;
  }
}

/* What a refusal means and what to do, in the operator's language: the node's message (the
 * detail, e.g. the field at fault) is English, as every daemon's is. */
static void explain(unsigned status) {
  switch (status) {
  case 400: cli_out("  the query is malformed (the detail above names the field); correct it and ask again\n"); break;
  case 403:
    cli_out("  this agency may not ask this: it is not registered at the node for this purpose, its registration "
            "was revoked, or the certificate is not an agency's\n");
    break;
  case 411: case 413: case 431: cli_out("  the request is too large or not framed as the API requires\n"); break;
  case 429: cli_out("  over this agency's rate of answers per second: wait a moment and ask again\n"); break;
  case 503: cli_out("  the node could not make its record of the query durable, so nothing was disclosed; ask again later\n"); break;
  default: break;
  }
}

/* The answer for people: the fields given, or why there are none. */
static void show(unsigned status, json_t *a) {
  json_t *err = json_object_get(a, "error");
  json_int_t id = json_integer_value(json_object_get(a, "provision"));
  if (err) {
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (status == 404) {
      cli_out("no resident matches (provision %lld)\n", (long long)id);
      return;
    }
    cli_out("refused (%u %s): %s\n", status, json_string_value(json_object_get(err, "code")), msg ? msg : "");
    explain(status);
    return;
  }
  if (json_object_get(a, "result")) {
    cli_out("several residents match: nothing is disclosed; name the resident by code (provision %lld)\n",
            (long long)id);
    return;
  }
  cli_out("provision %lld, purpose %s\n", (long long)id, json_string_value(json_object_get(a, "purpose")));
  json_t *r = json_object_get(a, "resident"), *c = json_object_get(r, "change");
  const char *keys[] = {"name", "birth", "sex", "address"};
  const unsigned bits[] = {JK_FIELD_NAME, JK_FIELD_BIRTH, JK_FIELD_SEX, JK_FIELD_ADDRESS};
  bool ja = jk_lang_get() == JK_LANG_JA;
  for (size_t i = 0; i < 4; i++) {
    const char *v = json_string_value(json_object_get(r, keys[i]));
    if (v) cli_out("  %s: %s\n", ja ? jk_field_name_ja(bits[i]) : keys[i], v);
  }
  if (c) {
    const char *date = json_string_value(json_object_get(c, "date"));
    cli_out("  change: %s %s (%s)\n", json_string_value(json_object_get(c, "reason")), date ? date : "-",
            json_string_value(json_object_get(c, "status")));
  }
}

static int query(int argc, char **argv, cli_global *g) {
  const char *url = NULL, *server = NULL, *cert = NULL, *ca = NULL, *crl = NULL, *token = NULL, *key = NULL,
             *module = NULL, *pin_file = NULL, *purpose = NULL, *code = NULL, *kana = NULL, *birth = NULL,
             *sex = NULL, *address = NULL, *body_file = NULL;
  const cli_opt opts[] = {{"url", &url, NULL},         {"server", &server, NULL},   {"cert", &cert, NULL},
                          {"ca", &ca, NULL},           {"crl", &crl, NULL},         {"token", &token, NULL},
                          {"key", &key, NULL},         {"module", &module, NULL},   {"pin-file", &pin_file, NULL},
                          {"purpose", &purpose, NULL}, {"code", &code, NULL},       {"kana", &kana, NULL},
                          {"birth", &birth, NULL},     {"sex", &sex, NULL},         {"address", &address, NULL},
                          {"body", &body_file, NULL},  {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!url || !server || !cert || !ca || !token || (!purpose && !body_file) || (purpose && body_file))
    return cli_usage(USAGE);
  char *body = NULL, *pin = NULL;
  size_t body_len = 0, pin_len = 0;
  jk_err e;
  if (body_file) e = cli_read_file(body_file, JK_PROVISION_BODY_MAX * 4, &body, &body_len);
  else {
    char *s = body_from_flags(purpose, code, kana, birth, sex, address);
    e = s ? JK_OK : jk_error_set(JK_ENOMEM, NULL);
    if (s) {
      body_len = strlen(s);
      body = jk_malloc(body_len + 1);
      if (body) memcpy(body, s, body_len + 1);
      else e = jk_error_set(JK_ENOMEM, NULL);
      free(s);
    }
  }
  if (e) return cli_fail(e);
  char uri[512], full[1024];
  snprintf(uri, sizeof uri, "pkcs11:token=%s;object=%s;type=private", token, key ? key : "jukinet-agency");
  snprintf(full, sizeof full, "%s%s", url, strstr(url, "/api/") ? "" : "/api/v1/provision");
  jk_tls *t = NULL;
  jk_https_client *c = NULL;
  unsigned status = 0;
  uint8_t *resp = NULL;
  size_t resp_len = 0;
  e = cli_secret("JUKINET_AGENCY_PIN", pin_file, "agency token PIN: ", &pin, &pin_len);
  if (!e) {
    jk_tls_config cfg = {.module = module ? module : jk_token_default_module(), .key_uri = uri, .pin = pin,
                         .pin_len = pin_len, .cert_file = cert, .ca_file = ca, .crl_file = crl};
    e = jk_tls_open(&t, &cfg);
  }
  cli_secret_free(pin);
  if (!e) e = jk_https_client_new(&c, t);
  if (!e) e = jk_https_post(c, full, server, body, body_len, "application/json", 30000, &status, &resp, &resp_len);
  jk_https_client_free(c);
  jk_tls_close(t);
  jk_free(body);
  if (e) return cli_fail(e);
  json_error_t je;
  json_t *a = json_loadb((const char *)resp, resp_len, 0, &je);
  int rc = exit_for(status);
  if (!a) {
    jk_free(resp);
    return cli_fail(jk_error_set(JK_EIO, "the node's answer (HTTP %u) is not JSON", status));
  }
  if (g->json) {
    json_object_set_new(a, "status", json_integer(status));
    cli_json(a);
  } else {
    show(status, a);
    json_decref(a);
  }
  jk_free(resp);
  return rc;
}

int cmd_provision(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage(USAGE);
  if (strcmp(argv[0], "query") == 0) return query(argc - 1, argv + 1, g);
  return cli_usage("unknown verb '%s' for %s", argv[0], "provision");
}
