#!/bin/sh
# Test PKI for the HTTPS tests (tests/unit/push): a CA, a server certificate
# for 127.0.0.1 signed by it, and an unrelated self-signed "wrong" one.
# EC P-256 keys, so the whole run takes a few tens of milliseconds.
#
#   make_test_ca.sh DIR
#
# DIR/ca.pem ca.key          the test CA (give ca.pem to the client as ca_file)
# DIR/server.pem server.key  CN/SAN 127.0.0.1 and localhost, signed by the CA
# DIR/wrong.pem wrong.key    self-signed, same names: must fail verification
# DIR/server.pin wrong.pin   "sha256//BASE64" public-key pins (CURLOPT_PINNEDPUBLICKEY)
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
command -v openssl >/dev/null 2>&1 || {
    echo "$0: openssl not found in PATH" >&2
    exit 1
}
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
names="subjectAltName=IP:127.0.0.1,DNS:localhost"

# shellcheck disable=SC2086
openssl req -x509 $newkey -keyout ca.key -out ca.pem -days 30 -subj "/CN=elevate test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# shellcheck disable=SC2086
openssl req -new $newkey -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
cat >server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
$names
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl

# shellcheck disable=SC2086
openssl req -x509 $newkey -keyout wrong.key -out wrong.pem -days 30 -subj "/CN=127.0.0.1" \
    -addext "$names" 2>/dev/null

pin() {
    printf 'sha256//%s' "$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null |
        openssl dgst -sha256 -binary | openssl base64 -A)"
}
pin server.key >server.pin
pin wrong.key >wrong.pin
chmod 644 ./*.pem ./*.pin
cat server.pin
echo
