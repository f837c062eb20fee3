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
#                                         user-agency-a-mallory; renews the
#                                         CRL in DIR/crl/
#   dev-pki.sh crl     DIR [DAYS]         renew the CRL in DIR/crl/, valid
#                                         for DAYS (default 30); run it from
#                                         cron well before it expires
#   dev-pki.sh cert    DIR NAME SANS START END
#                                         for tests of refusals: DIR/NAME.pem
#                                         with subjectAltName SANS (e.g.
#                                         "URI:spiffe://f/hub,URI:x", or ""
#                                         for none), valid from START to END
#                                         (YYYYMMDDHHMMSSZ)
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

usage() { sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
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
new_certs_dir = $dir/issued
serial = $dir/ca.srl
unique_subject = no
policy = any_subject
[any_subject]
organizationName = optional
commonName = supplied
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

# refresh_crl [DAYS]: a new CRL, replacing the old one in DIR/crl/ in one
# rename so that a server never reads a half-written file.
refresh_crl() {
  local days=${1:-30} validity
  validity=(-crldays "$days")
  # 0 days: valid for one second (for tests of an expired CRL).
  [[ "$days" == 0 ]] && validity=(-crlsec 1)
  mkdir -p "$dir/crl"
  openssl ca -config "$dir/ca.cnf" -gencrl "${validity[@]}" \
    -out "$dir/crl.pem" 2>/dev/null
  # Named by OpenSSL subject hash, as `openssl rehash` would.
  local name
  name="$(openssl crl -in "$dir/crl.pem" -hash -noout).r0"
  cp "$dir/crl.pem" "$dir/crl/.$name.new"
  chmod 644 "$dir/crl.pem" "$dir/crl/.$name.new"
  mv -f "$dir/crl/.$name.new" "$dir/crl/$name"
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
  crl)
    [[ $# -eq 2 || $# -eq 3 ]] || usage
    refresh_crl "${3:-30}"
    echo "renewed the CRL in $dir/crl/ for ${3:-30} days"
    ;;
  cert)
    [[ $# -eq 6 ]] || usage
    name=$3 sans=$4
    mkdir -p "$dir/issued"
    # A random serial: `openssl x509` (issue) writes the last one it used.
    openssl rand -hex 16 > "$dir/ca.srl"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$dir/$name.key.pem" 2>/dev/null
    openssl req -new -key "$dir/$name.key.pem" \
      -subj "/O=$(federation)/CN=$name" -out "$dir/$name.csr" 2>/dev/null
    extensions=("basicConstraints=critical,CA:FALSE"
      "keyUsage=critical,digitalSignature,keyEncipherment"
      "extendedKeyUsage=serverAuth,clientAuth")
    [[ -n "$sans" ]] && extensions+=("subjectAltName=$sans")
    openssl ca -batch -notext -config "$dir/ca.cnf" -in "$dir/$name.csr" \
      -startdate "$5" -enddate "$6" -out "$dir/$name.pem" \
      -extfile <(printf '%s\n' "${extensions[@]}") 2>/dev/null
    rm -f "$dir/$name.csr"
    chmod 600 "$dir/$name.key.pem"
    chmod 644 "$dir/$name.pem"
    echo "$dir/$name.pem  ${sans:-no subjectAltName}"
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
