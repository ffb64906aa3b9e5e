#!/usr/bin/env bash
# Installs the Debian packages hallq needs to build and test, skipping those already present.
# Build: pkg-config, fontconfig headers (Slint's software renderer), X11/xkb libraries for the desktop window,
# OpenSSL's libcrypto headers (SQLCipher, the database's encryption at rest, uses its AES and HMAC).
# Tests: Chromium for the web display page, espeak-ng and sox for the voice clip packs, Xvfb for a desktop run,
# systemd for systemd-analyze (the unit's system-call filter in tests/cli/systemd_sandbox.rs).
set -euo pipefail

packages=(
  pkg-config
  libfontconfig-dev
  libssl-dev
)
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium espeak-ng systemd)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
