#!/usr/bin/env bash
# Cross-target check of imbridge for a mobile target, on a Linux machine with no NDK
# and no Xcode: `cargo check` plus a staticlib build, so target-only code (android_logger,
# the Apple cfgs) is compiled on every change.
#
#   scripts/cross-check.sh aarch64-linux-android
#   scripts/cross-check.sh aarch64-apple-ios
#
# ring (rustls' crypto provider) compiles C; here it is compiled with Debian's clang
# against a stub sysroot of four declaration-only headers. The objects are only
# type-checked and linked into a staticlib that is never shipped: real builds use the
# NDK (platforms/android) or Xcode (platforms/apple).
set -euo pipefail
target=${1:?usage: scripts/cross-check.sh <rust target triple>}
cd "$(dirname "$0")/.."

for tool in clang llvm-ar; do
  command -v "$tool" >/dev/null || { echo "cross-check: $tool is missing (apt-get install clang llvm)"; exit 1; }
done
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

source scripts/stub-sysroot.sh
stub_env "$target"

echo "cross-check: cargo check --target $target"
cargo check -p imbridge --lib --target "$target"
echo "cross-check: staticlib build for $target (type-check only, never shipped)"
cargo rustc -p imbridge --lib --target "$target" --crate-type staticlib
echo "cross-check: $target ok"
