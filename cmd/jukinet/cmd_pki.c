/*
 * cmd_pki.c — `jukinet pki ca-init|issue|revoke|crl|show|verify`: the network CA and the nodes'
 * certificates (docs/pki.md).
 *
 * The CA is an offline directory (--ca DIR) run by the network operator, like an openssl CA:
 * ca-init, revoke and crl work on that directory only and are not node operations (no login,
 * nothing recorded in a node's ledger). show and verify only read files.
 * `pki issue` is also an operation on the node in --dir / $JUKINET_DIR: it reads the node's
 * public key from its token, writes node.crt, ca.crt and ca.crl into the node directory, and is
 * recorded as action pki.install (system_admin) like every command on a node.
 */
#include "cli.h"

#include "jukinet/node.h"
#include "jukinet/pki.h"
#include "jukinet/token.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PEM_MAX (1u << 20)

static void fmt_time(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(out, 32, "%lld", (long long)t);
}

static jk_err read_in(const char *dir, const char *name, char **out) {
  char path[4096];
  size_t len;
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return jk_error_set(JK_ETOOLARGE, "path too long");
  return cli_read_file(path, PEM_MAX, out, &len);
}

static int pki_ca_init(int argc, char **argv, cli_global *g) {
  const char *ca = NULL, *name = NULL;
  const cli_opt opts[] = {{"ca", &ca, NULL}, {"name", &name, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!ca || !name) return cli_usage("usage: jukinet pki ca-init --ca DIR --name NAME");
  jk_err e = jk_pki_ca_init(ca, name);
  if (e) return cli_fail(e);
  if (g->json) return cli_json(json_pack("{s:s,s:s}", "ca", ca, "name", name));
  cli_out("network CA '%s' created in %s (keep this directory offline)\n", name, ca);
  return 0;
}

/* `pki issue --agency ID`: a national agency's client certificate, for the Ed25519 key on the
 * agency's own token (read without its PIN: only the public key is needed). Like revoke, a CA
 * operation, not a node's: no login, nothing in a node's ledger. */
static int pki_issue_agency(cli_global *g, const char *ca, const char *id, const char *module, const char *label,
                            const char *key, const char *out, int days) {
  if (!label || !out)
    return cli_usage("usage: jukinet pki issue --ca DIR --agency ID --token LABEL --out FILE [--key LABEL] "
                     "[--module PATH] [--days N]");
  jk_token *t = NULL;
  uint8_t pk[32];
  char *pem = NULL;
  jk_pki_info info;
  jk_err e = jk_token_open(&t, module ? module : jk_token_default_module(), label);
  if (!e) e = jk_token_public_key(t, key ? key : "jukinet-agency", pk);
  jk_token_close(t);
  if (!e) e = jk_pki_issue(ca, pk, id, NULL, JK_PKI_ROLE_AGENCY, days, &pem);
  if (!e) e = jk_pki_info_read(pem, &info);
  if (!e) e = cli_write_file(out, pem, strlen(pem));
  jk_free(pem);
  if (e) return cli_fail(e);
  char until[32];
  fmt_time(info.not_after, until);
  if (g->json)
    return cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "agency", info.identity, "role", info.role, "serial",
                              info.serial, "not_after", until, "certificate", out, "key_fingerprint",
                              info.key_fingerprint));
  cli_out("certificate %s issued to agency %s, valid until %s: %s\n", info.serial, info.identity, until, out);
  return 0;
}

static int pki_issue(int argc, char **argv, cli_global *g) {
  const char *ca = NULL, *days_s = NULL, *agency = NULL, *module = NULL, *token = NULL, *key = NULL, *out = NULL;
  const cli_opt opts[] = {{"ca", &ca, NULL},         {"days", &days_s, NULL}, {"agency", &agency, NULL},
                          {"module", &module, NULL}, {"token", &token, NULL}, {"key", &key, NULL},
                          {"out", &out, NULL},       {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!ca)
    return cli_usage("usage: jukinet pki issue --ca DIR [--days N] (for the node in --dir) | jukinet pki issue --ca DIR "
                     "--agency ID --token LABEL --out FILE [--key LABEL] [--module PATH] [--days N]");
  int days = 365;
  if (days_s) {
    char *end;
    long x = strtol(days_s, &end, 10);
    if (!*days_s || *end || x < 1 || x > JK_PKI_MAX_DAYS) return cli_usage("--days must be 1 to %d", JK_PKI_MAX_DAYS);
    days = (int)x;
  }
  if (agency) return pki_issue_agency(g, ca, agency, module, token, key, out, days);
  if (module || token || key || out) return cli_usage("--module, --token, --key and --out are for --agency");
  char late[80] = "-";
  cli_op op;
  int rc = cli_op_begin(g, "pki.install", "-", late, &op);
  if (rc) return rc;
  uint8_t pk[32];
  char *pem = NULL, *ca_crt = NULL, *ca_crl = NULL;
  jk_pki_info info;
  const char *dir = jk_node_dir(op.node);
  jk_err e = jk_node_public_key(op.node, pk);
  if (!e) e = read_in(ca, "ca.crt", &ca_crt);
  if (!e) e = read_in(ca, "ca.crl", &ca_crl);
  if (!e) e = jk_pki_issue(ca, pk, jk_node_id(op.node), jk_node_lgcode(op.node), jk_role_token(jk_node_role(op.node)),
                           days, &pem);
  if (!e) e = jk_pki_info_read(pem, &info);
  if (!e) snprintf(late, sizeof late, "serial %s", info.serial);
  char path[4096];
  if (!e && (size_t)snprintf(path, sizeof path, "%s/ca.crt", dir) < sizeof path) e = cli_write_file(path, ca_crt, strlen(ca_crt));
  if (!e && (size_t)snprintf(path, sizeof path, "%s/ca.crl", dir) < sizeof path) e = cli_write_file(path, ca_crl, strlen(ca_crl));
  if (!e && (size_t)snprintf(path, sizeof path, "%s/node.crt", dir) < sizeof path) e = cli_write_file(path, pem, strlen(pem));
  if (!e && info.code_slice >= 0) { /* a municipality mints resident codes in its slice from now on */
    jk_store *s = jk_node_store(op.node);
    char v[16];
    snprintf(v, sizeof v, "%d", info.code_slice);
    if (!(e = jk_store_begin(s))) {
      if ((e = jk_store_meta_set(s, "registry.code_slice", v))) jk_store_rollback(s);
      else e = jk_store_commit(s);
    }
  }
  if (!e) {
    char until[32];
    fmt_time(info.not_after, until);
    if (g->json)
      cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "node", info.identity, "serial", info.serial, "not_after", until,
                         "certificate", path, "key_fingerprint", info.key_fingerprint, "code_slice", info.code_slice));
    else cli_out("certificate %s issued to node %s, valid until %s: %s\n", info.serial, info.identity, until, path);
  }
  jk_free(pem);
  jk_free(ca_crt);
  jk_free(ca_crl);
  return cli_op_end(&op, e);
}

static int pki_revoke(int argc, char **argv, cli_global *g) {
  const char *ca = NULL, *reason = NULL;
  const cli_opt opts[] = {{"ca", &ca, NULL}, {"reason", &reason, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (!ca || npos != 1) return cli_usage("usage: jukinet pki revoke --ca DIR NODE-ID|SERIAL [--reason TEXT]");
  size_t n = 0;
  jk_err e = jk_pki_revoke(ca, pos[0], reason, &n);
  if (e) return cli_fail(e);
  if (g->json) return cli_json(json_pack("{s:s,s:I}", "revoked", pos[0], "count", (json_int_t)n));
  cli_out("%zu certificate(s) revoked (%s); the new CRL is %s/ca.crl: give it to every node\n", n, pos[0], ca);
  return 0;
}

static int pki_crl(int argc, char **argv, cli_global *g) {
  const char *ca = NULL, *output = NULL;
  const cli_opt opts[] = {{"ca", &ca, NULL}, {"output", &output, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  if (!ca) return cli_usage("usage: jukinet pki crl --ca DIR [--output FILE]");
  char *pem = NULL;
  jk_err e = jk_pki_crl(ca, &pem);
  if (!e) e = cli_write_file(output, pem, strlen(pem));
  jk_free(pem);
  return e ? cli_fail(e) : 0;
}

static int pki_show(int argc, char **argv, cli_global *g) {
  const char *cert = NULL;
  const cli_opt opts[] = {{"cert", &cert, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 0, &npos, g)) return EXIT_USAGE;
  char *pem = NULL;
  jk_err e;
  if (cert) {
    size_t len;
    e = cli_read_file(cert, PEM_MAX, &pem, &len);
  } else {
    if (!g->dir) return cli_usage("usage: jukinet pki show [--cert FILE] (default: node.crt of --dir)");
    e = read_in(g->dir, "node.crt", &pem);
  }
  jk_pki_info info;
  if (!e) e = jk_pki_info_read(pem, &info);
  jk_free(pem);
  if (e) return cli_fail(e);
  char from[32], until[32];
  fmt_time(info.not_before, from);
  fmt_time(info.not_after, until);
  if (g->json)
    return cli_json(json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "subject", info.subject, "issuer", info.issuer,
                              "serial", info.serial, "identity", info.identity, "role", info.role, "not_before", from,
                              "not_after", until, "key_fingerprint", info.key_fingerprint, "ca", info.is_ca));
  cli_out("subject: %s\n", info.subject);
  cli_out("issuer: %s\n", info.issuer);
  cli_out("serial: %s\n", info.serial);
  cli_out("valid: %s to %s\n", from, until);
  cli_out("key fingerprint (SHA-256): %s\n", info.key_fingerprint);
  return 0;
}

static int pki_verify(int argc, char **argv, cli_global *g) {
  const char *ca = NULL, *crl = NULL;
  const cli_opt opts[] = {{"ca", &ca, NULL}, {"crl", &crl, NULL}, {NULL, NULL, NULL}};
  const char *pos[1];
  int npos;
  if (cli_parse(argc, argv, opts, pos, 1, &npos, g)) return EXIT_USAGE;
  if (!ca || npos != 1) return cli_usage("usage: jukinet pki verify --ca DIR [--crl FILE] CERT");
  char *ca_pem = NULL, *crl_pem = NULL, *cert = NULL, id[JK_PKI_ID_MAX];
  size_t len;
  jk_err e = read_in(ca, "ca.crt", &ca_pem);
  if (!e) e = crl ? cli_read_file(crl, PEM_MAX, &crl_pem, &len) : read_in(ca, "ca.crl", &crl_pem);
  if (!e) e = cli_read_file(pos[0], PEM_MAX, &cert, &len);
  if (!e) e = jk_pki_verify_as(ca_pem, crl_pem, cert, 0, JK_PKI_NODE | JK_PKI_AGENCY, id);
  jk_pki_info info;
  if (!e) e = jk_pki_info_read(cert, &info);
  jk_free(ca_pem);
  jk_free(crl_pem);
  jk_free(cert);
  if (e) return cli_fail(e);
  bool agency = strcmp(info.role, JK_PKI_ROLE_AGENCY) == 0;
  if (g->json) return cli_json(json_pack("{s:b,s:s,s:s}", "valid", 1, "identity", id, "role", info.role));
  if (agency) cli_out("valid: agency %s\n", id);
  else cli_out("valid: node %s\n", id);
  return 0;
}

int cmd_pki(int argc, char **argv, cli_global *g) {
  if (argc < 1) return cli_usage("usage: jukinet pki ca-init|issue|revoke|crl|show|verify");
  const char *v = argv[0];
  argc--;
  argv++;
  if (strcmp(v, "ca-init") == 0) return pki_ca_init(argc, argv, g);
  if (strcmp(v, "issue") == 0) return pki_issue(argc, argv, g);
  if (strcmp(v, "revoke") == 0) return pki_revoke(argc, argv, g);
  if (strcmp(v, "crl") == 0) return pki_crl(argc, argv, g);
  if (strcmp(v, "show") == 0) return pki_show(argc, argv, g);
  if (strcmp(v, "verify") == 0) return pki_verify(argc, argv, g);
  return cli_usage("unknown verb '%s' for %s", v, "pki");
}
