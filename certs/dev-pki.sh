#!/usr/bin/env bash
# Development PKI for a deconfliction federation: a federation CA and
# certificates that name their holders with SPIFFE-style URI SANs.
# For development and tests only: production federations use their own PKI
# with the profile described in certs/README.md.
#
# Usage:
#   dev-pki.sh init    DIR FEDERATION     new CA (DIR/ca.pem) for FEDERATION
#   dev-pki.sh hub     DIR                DIR/hub.pem, DIR/hub.key.pem
#   dev-pki.sh node    DIR AGENCY         DIR/node-AGENCY.pem (+ .key.pem)
#   dev-pki.sh user    DIR AGENCY NAME    DIR/user-AGENCY-NAME.pem (+ .key.pem)
#   dev-pki.sh custodian DIR NAME         DIR/custodian-NAME.pem (+ .key.pem)
#   dev-pki.sh revoke  DIR CERT_NAME      revoke DIR/CERT_NAME.pem, e.g.
#                                         user-agency-a-mallory; refreshes
#                                         the CRL in DIR/crl/
#   dev-pki.sh token-key DIR EPOCH THRESHOLD NAME...
#                                         the token key's ceremony
#                                         (deconflict-keys generate): each
#                                         custodian's DIR/token-key/NAME.
#                                         share.textproto (mode 600) and the
#                                         nodes' token-key-bundle.textproto.
#                                         The tool is $DECONFLICT_KEYS, else
#                                         deconflict-keys on the PATH.
# Private keys and shares are written with mode 600 and must never be
# committed.
set -euo pipefail

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 ]] || usage
command=$1
dir=$2
umask 077

ca_config() {
  cat > "$dir/ca.cnf" <<CNF
[ca]
default_ca = federation_ca
[federation_ca]
database = $dir/index.txt
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key.pem
default_md = sha256
default_crl_days = 30
CNF
}

federation() { cat "$dir/federation"; }

# issue NAME SPIFFE_ID [extra SANs]
issue() {
  local name=$1 id=$2 extra=${3:-}
  [[ -f "$dir/ca.pem" ]] || { echo "dev-pki: run 'init' first" >&2; exit 1; }
  local san="URI:$id"
  [[ -n "$extra" ]] && san="$san,$extra"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$dir/$name.key.pem" 2>/dev/null
  openssl req -new -key "$dir/$name.key.pem" -subj "/O=$(federation)/CN=$name" \
    -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" \
    -CAkey "$dir/ca.key.pem" -CAcreateserial -days 365 -sha256 \
    -out "$dir/$name.pem" -extfile <(printf '%s\n' \
      "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" \
      "subjectAltName=$san") 2>/dev/null
  rm -f "$dir/$name.csr"
  chmod 600 "$dir/$name.key.pem"
  chmod 644 "$dir/$name.pem"
  echo "$dir/$name.pem  $id"
}

refresh_crl() {
  mkdir -p "$dir/crl"
  openssl ca -config "$dir/ca.cnf" -gencrl -out "$dir/crl.pem" 2>/dev/null
  rm -f "$dir"/crl/*
  # gRPC reads CRLs from a directory by OpenSSL subject hash.
  cp "$dir/crl.pem" "$dir/crl/$(openssl crl -in "$dir/crl.pem" -hash -noout).r0"
  chmod 644 "$dir/crl.pem" "$dir"/crl/*
}

case "$command" in
  init)
    [[ $# -eq 3 ]] || usage
    mkdir -p "$dir"
    printf '%s' "$3" > "$dir/federation"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$dir/ca.key.pem" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key.pem" -days 3650 -sha256 \
      -subj "/O=$3/CN=$3 federation CA (development)" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.pem" 2>/dev/null
    chmod 644 "$dir/ca.pem" "$dir/federation"
    : > "$dir/index.txt"
    echo 01 > "$dir/crlnumber"
    ca_config
    refresh_crl
    echo "$dir/ca.pem  federation CA for $3"
    ;;
  hub)
    issue hub "spiffe://$(federation)/hub" "DNS:localhost,IP:127.0.0.1"
    ;;
  node)
    [[ $# -eq 3 ]] || usage
    issue "node-$3" "spiffe://$(federation)/agency/$3/node" \
      "DNS:localhost,IP:127.0.0.1"
    ;;
  user)
    [[ $# -eq 4 ]] || usage
    issue "user-$3-$4" "spiffe://$(federation)/agency/$3/user/$4"
    ;;
  custodian)
    [[ $# -eq 3 ]] || usage
    issue "custodian-$3" "spiffe://$(federation)/custodian/$3" \
      "DNS:localhost,IP:127.0.0.1"
    ;;
  revoke)
    [[ $# -eq 3 ]] || usage
    openssl ca -config "$dir/ca.cnf" -revoke "$dir/$3.pem" 2>/dev/null
    refresh_crl
    echo "revoked $dir/$3.pem; CRL in $dir/crl/"
    ;;
  token-key)
    [[ $# -ge 6 ]] || usage
    epoch=$3 threshold=$4
    shift 4
    custodians=$(IFS=,; echo "$*")
    mkdir -p "$dir/token-key"
    "${DECONFLICT_KEYS:-deconflict-keys}" generate --epoch="$epoch" \
      --threshold="$threshold" --custodians="$custodians" \
      --out_dir="$dir/token-key"
    ;;
  *) usage ;;
esac
