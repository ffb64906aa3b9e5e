#!/usr/bin/env bash
# The main job: the demo hall with simulated devices (installs build packages first if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo run --release --locked -- "$@"
