#!/usr/bin/env bash
# The network PKI: a CA directory, a node certificate for a devnode's token key (issued by its
# administrator, recorded as pki.install; the clerk is refused and that is recorded too), show,
# verify, revoke, the CRL; and a TLS 1.3 handshake by GnuTLS's own tools with the certificate
# and the key on the node's token (skipped when gnutls-serv/gnutls-cli are missing).
. "$(dirname "$0")/lib.sh"
J() { "$JUKINET" --lang en "$@"; }
A() { as_admin --lang en "$@"; }
CA=$T/ca

# ---- the CA: an offline directory, no node, no login ----
expect_exit 0 env -u JUKINET_DIR "$JUKINET" --lang en pki ca-init --ca "$CA" --name "jukinet test network"
expect_in "$T/out" "created"
for f in ca.key ca.crt ca.crl serial crlnumber index.tsv; do [ -f "$CA/$f" ] || fail "the CA lacks $f"; done
expect_eq "$(stat -c %a "$CA/ca.key")" 600 "(ca.key mode)"
expect_eq "$(stat -c %a "$CA")" 700 "(CA directory mode)"
expect_exit 4 J pki ca-init --ca "$CA" --name again          # never over an existing CA
expect_exit 2 J pki ca-init --ca "$CA"
expect_exit 0 J pki show --cert "$CA/ca.crt"
expect_in "$T/out" "CN=jukinet test network"

# ---- a node: the clerk may not install a certificate; the administrator may ----
devnode "$T/n1"
since=$(ledger_last)
expect_exit 6 J pki issue --ca "$CA"
[ -e "$JUKINET_DIR/node.crt" ] && fail "the clerk's refused issue wrote node.crt"
expect_recorded "$since" pki.install PERM clerk01
expect_exit 0 A pki issue --ca "$CA" --days 30
expect_in "$T/out" "issued to node"
expect_recorded "$since" pki.install ok admin01
for f in node.crt ca.crt ca.crl; do [ -f "$JUKINET_DIR/$f" ] || fail "the node lacks $f"; done
cmp -s "$CA/ca.crt" "$JUKINET_DIR/ca.crt" || fail "the node's ca.crt differs from the CA's"
NODE_ID=$(sqlite3 "$JUKINET_DIR/node.db" "SELECT value FROM node_meta WHERE key = 'node_id'" 2>/dev/null)

# show: subject, serial, validity, fingerprint of the token's key
expect_exit 0 J pki show
expect_in "$T/out" "OU=municipal"
expect_in "$T/out" "serial: 1"
expect_in "$T/out" "key fingerprint"
expect_exit 0 J --json pki show
ID=$(jq -r .identity "$T/out")
[ -n "$NODE_ID" ] && expect_eq "$ID" "$NODE_ID" "(certificate CN = node id)"
expect_eq "$(jq -r .ca "$T/out")" false

# verify: valid with the CA's CRL
expect_exit 0 J pki verify --ca "$CA" "$JUKINET_DIR/node.crt"
expect_in "$T/out" "valid: node $ID"
expect_exit 0 J --json pki verify --ca "$CA" --crl "$JUKINET_DIR/ca.crl" "$JUKINET_DIR/node.crt"
expect_eq "$(jq -r .identity "$T/out")" "$ID"
expect_exit 1 J pki verify --ca "$CA" "$CA/index.tsv"        # not a certificate
expect_exit 6 J pki verify --ca "$CA" "$CA/ca.crt"           # the CA is not a node

# a certificate of another CA is refused
expect_exit 0 J pki ca-init --ca "$T/ca2" --name "another network"
expect_exit 6 J pki verify --ca "$T/ca2" "$JUKINET_DIR/node.crt"
expect_in "$T/err" "not signed by the network CA"

# ---- TLS 1.3, mutual authentication, key on the token (GnuTLS's tools) ----
tls_check() {
  command -v gnutls-serv >/dev/null && command -v gnutls-cli >/dev/null || { echo "skip: no gnutls-bin"; return; }
  local key token port pid i
  token=$(sed -n 's/^token *= *//p' "$JUKINET_DIR/node.conf")
  key="pkcs11:token=$token;object=jukinet-node;type=private"
  export GNUTLS_PIN; GNUTLS_PIN=$(cat "$JUKINET_DIR/key.pin")
  for i in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    ss -ltn 2>/dev/null | grep -q ":$port " || break
  done
  gnutls-serv --port="$port" --priority='NORMAL:-VERS-ALL:+VERS-TLS1.3' --require-client-cert \
    --verify-client-cert --x509cafile="$CA/ca.crt" --x509certfile="$JUKINET_DIR/node.crt" \
    --x509keyfile="$key" >"$T/serv.log" 2>&1 &
  pid=$!
  for i in $(seq 50); do ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
  if ! ss -ltn 2>/dev/null | grep -q ":$port "; then
    echo "skip: gnutls-serv did not start"; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; unset GNUTLS_PIN; return
  fi
  # the node's certificate has no DNS name (peers are checked by identity): --insecure skips only
  # gnutls-cli's host name check; the chain is checked below with jukinet pki verify
  printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --port="$port" --priority='NORMAL:-VERS-ALL:+VERS-TLS1.3' \
    --x509cafile="$CA/ca.crt" --x509certfile="$JUKINET_DIR/node.crt" --x509keyfile="$key" --insecure \
    --save-cert="$T/peer.pem" localhost >"$T/cli.log" 2>&1 || fail "gnutls-cli with the node's certificate and token key"
  expect_in "$T/cli.log" "(TLS1.3-X.509)"
  expect_in "$T/cli.log" "(EdDSA-Ed25519)"
  expect_in "$T/cli.log" "HTTP/1.0 200 OK"
  expect_in "$T/cli.log" "CN=$ID"                     # the server saw and echoed our client certificate
  expect_exit 0 J pki verify --ca "$CA" "$T/peer.pem"
  # without a client certificate the server refuses
  printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 gnutls-cli --port="$port" --priority='NORMAL:-VERS-ALL:+VERS-TLS1.3' \
    --x509cafile="$CA/ca.crt" --insecure localhost >"$T/cli2.log" 2>&1
  if grep -qF "HTTP/1.0 200 OK" "$T/cli2.log"; then fail "a client without a certificate was served"; fi
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  unset GNUTLS_PIN
}
tls_check

# ---- revoke, CRL ----
expect_exit 0 J pki revoke --ca "$CA" "$ID" --reason "key compromise"
expect_in "$T/out" "1 certificate(s) revoked"
expect_in "$CA/index.tsv" "key compromise"
expect_exit 6 J pki verify --ca "$CA" "$JUKINET_DIR/node.crt"
expect_in "$T/err" "revoked"
# the node's old copy of the CRL does not know yet; the new CRL does
expect_exit 0 J pki verify --ca "$CA" --crl "$JUKINET_DIR/ca.crl" "$JUKINET_DIR/node.crt"
expect_exit 0 J pki crl --ca "$CA" --output "$T/new.crl"
expect_in "$T/new.crl" "BEGIN X509 CRL"
expect_exit 6 J pki verify --ca "$CA" --crl "$T/new.crl" "$JUKINET_DIR/node.crt"
expect_exit 0 J pki crl --ca "$CA"
expect_in "$T/out" "BEGIN X509 CRL"
expect_exit 3 J pki revoke --ca "$CA" "$ID"                  # nothing valid left
expect_exit 3 J pki revoke --ca "$CA" 99
expect_exit 2 J pki revoke --ca "$CA"

# a new certificate for the same node (serial 2) is valid again
expect_exit 0 A pki issue --ca "$CA"
expect_exit 0 J pki verify --ca "$CA" "$JUKINET_DIR/node.crt"
expect_exit 0 J pki show
expect_in "$T/out" "serial: 2"
expect_exit 0 A pki revoke --ca "$CA" 2 --reason test
expect_exit 6 J pki verify --ca "$CA" "$JUKINET_DIR/node.crt"

# Japanese messages by default
expect_exit 6 "$JUKINET" pki verify --ca "$CA" "$JUKINET_DIR/node.crt"
expect_in "$T/err" "失効"
finish
