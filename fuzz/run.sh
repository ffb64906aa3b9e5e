#!/usr/bin/env bash
# Runs each fuzz target for a while (default 60 s each) with inputs up to 16 KiB.
# libFuzzer's default cap of 4,096 bytes is shorter than a SAM read reply with fingerprint
# (2,407 bytes) plus noise, and far shorter than a QR store command (up to 7,097 bytes) or the
# runs of text past the printer's 512-byte line that once made the ESC/POS interpreter quadratic.
#   fuzz/run.sh [seconds]        needs cargo-fuzz and a nightly toolchain
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
for target in sam_frames escpos_stream; do
    cargo +nightly fuzz run "$target" -- -max_len=16384 -max_total_time="$seconds"
done
