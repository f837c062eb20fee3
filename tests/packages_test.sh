#!/usr/bin/env bash
# The Debian packages as an operator receives them: built with CPack from
# this build, extracted into a scratch root (nothing is installed on this
# machine), each program run from there with --version, each server's
# example configuration (packaging/examples/, with the scratch root's paths
# and a throw-away PKI and token key) checked with --check_config, and the
# systemd units verified with systemd-analyze against the scratch root.
# Usage: tests/packages_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
scratch=$(mktemp -d /tmp/deconfliction-packages.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "packages_test: $*" >&2; exit 1; }

# 1. Build the packages.
cpack --config "$build/CPackConfig.cmake" -B "$scratch/out" \
  > "$scratch/cpack.log" 2>&1 || { cat "$scratch/cpack.log" >&2; fail "cpack failed"; }
root=$scratch/root
mkdir -p "$root"
for package in node hub custodian cli; do
  deb=$(ls "$scratch"/out/deconfliction-"$package"_*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || fail "no deconfliction-$package package"
  depends=$(dpkg-deb -f "$deb" Depends)
  [[ $depends == *libgrpc* ]] || fail "deconfliction-$package depends on '$depends'"
  dpkg-deb -x "$deb" "$root"
  echo "packages_test: $(basename "$deb"): Depends: $depends"
done
[[ $(dpkg-deb -f "$scratch"/out/deconfliction-node_*.deb Depends) == *iso-codes* ]] ||
  fail "deconfliction-node does not depend on iso-codes"

# 2. Every program runs from the scratch root and says its version.
for program in deconflict-node deconflict-hub deconflict-custodian \
               deconflict-keys deconflict deconflict-audit; do
  binary=$root/usr/bin/$program
  [[ -x $binary ]] || fail "$program is not in the packages"
  version=$("$binary" --version) || fail "$program --version failed"
  [[ $version == "$program "* ]] || fail "$program --version said: $version"
  echo "packages_test: $version"
done

# 3. The examples, with a throw-away PKI and token key under the scratch
#    root's /etc, pass --check_config.
etc=$root/etc/deconfliction
mkdir -p "$etc/tls"
pki() { bash "$source/certs/dev-pki.sh" "$@" > /dev/null; }
pki init "$etc/tls" example.federation
pki hub "$etc/tls"
pki node "$etc/tls" north
pki custodian "$etc/tls" alpha
pki crl "$etc/tls"
DECONFLICT_KEYS=$root/usr/bin/deconflict-keys \
  pki token-key "$etc/tls" example-epoch 2 alpha beta gamma
cp "$etc/tls/token-key/token-key-bundle.textproto" "$etc/"
cp "$etc/tls/token-key/alpha.share.textproto" "$etc/"
for server in node hub custodian; do
  example=$root/usr/share/doc/deconfliction-$server/examples/$server.textproto
  [[ -f $example ]] || fail "no example configuration for the $server"
  sed -e "s|/etc/deconfliction|$etc|g" \
      -e "s|/var/lib/deconfliction|$root/var/lib/deconfliction|g" \
      "$example" > "$etc/$server.textproto"
  output=$("$root/usr/bin/deconflict-$server" --config="$etc/$server.textproto" \
             --check_config 2>&1) ||
    fail "deconflict-$server --check_config: $output"
  [[ $output == "$etc/$server.textproto: valid" ]] ||
    fail "deconflict-$server --check_config said: $output"
  echo "packages_test: deconflict-$server --check_config: valid"
done
[[ ! -e $root/var/lib/deconfliction ]] || fail "--check_config wrote data"

# 4. The units verify against the scratch root (the host's own units give
#    them their targets); any warning fails.
if ! command -v systemd-analyze > /dev/null; then
  fail "systemd-analyze is missing (tools/install-deps installs systemd)"
fi
cp -rn /lib/systemd/system/. "$root/usr/lib/systemd/system/"
mkdir -p "$root/bin"
[[ -e $root/bin/kill ]] || cp /bin/kill "$root/bin/kill"
for server in node hub custodian; do
  unit=usr/lib/systemd/system/deconflict-$server.service
  [[ -f $root/$unit ]] || fail "no unit for the $server"
  verified=$(systemd-analyze verify --root="$root" "$root/$unit" 2>&1) ||
    fail "systemd-analyze verify $unit: $verified"
  [[ -z $verified ]] || fail "systemd-analyze verify $unit: $verified"
  for setting in "User=deconfliction" "ProtectSystem=strict" \
                 "NoNewPrivileges=yes" \
                 "ReadWritePaths=/var/lib/deconfliction/$server" \
                 "ExecReload=/bin/kill -HUP \$MAINPID"; do
    grep -qxF "$setting" "$root/$unit" || fail "$unit lacks $setting"
  done
  echo "packages_test: $unit verified"
done
# The node's and the hub's backup units (ReadWritePaths must exist).
for server in node hub; do
  mkdir -p "$root/var/backups/deconfliction/$server"
  for unit in usr/lib/systemd/system/deconflict-$server-backup.service \
              usr/lib/systemd/system/deconflict-$server-backup.timer; do
    [[ -f $root/$unit ]] || fail "no $unit"
    verified=$(systemd-analyze verify --root="$root" "$root/$unit" 2>&1) ||
      fail "systemd-analyze verify $unit: $verified"
    [[ -z $verified ]] || fail "systemd-analyze verify $unit: $verified"
    echo "packages_test: $unit verified"
  done
done
echo "packages_test: the packages extract, run and verify"
