#!/bin/sh
# Builds the voice clip pack for a hall with espeak-ng (voices cmn, ug, kk, en), one folder per
# language: voice/zh, voice/ug, voice/kk, voice/en. Clips already there (a hall's own recordings,
# 16-bit mono WAV at the pack's rate) are kept; pass --replace to regenerate them.
#
#   tools/make-clip-pack.sh [--config hall.toml] [--out /usr/share/hallq/voice] [--replace]
#
# Needs: apt-get install espeak-ng
set -eu
if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "make-clip-pack: espeak-ng is not installed (apt-get install espeak-ng)" >&2
    exit 1
fi
HALLQ=${HALLQ:-hallq}
exec "$HALLQ" voice make-pack "$@"
