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

stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/usr/include"
cat > "$stub/usr/include/string.h" <<'H'
typedef __SIZE_TYPE__ size_t;
void *memcpy(void *, const void *, size_t);
void *memmove(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
H
cat > "$stub/usr/include/stdlib.h" <<'H'
typedef __SIZE_TYPE__ size_t;
void abort(void);
void *malloc(size_t);
void free(void *);
H
cat > "$stub/usr/include/assert.h" <<'H'
#define assert(x) ((void)0)
#define static_assert _Static_assert
H
cat > "$stub/usr/include/TargetConditionals.h" <<'H'
#define TARGET_OS_IPHONE 1
#define TARGET_OS_OSX 0
H

clang_target=$target
case "$target" in
  *-apple-ios) clang_target="arm64-apple-ios15.0" ; export SDKROOT="$stub" ;;
  aarch64-linux-android) clang_target="aarch64-linux-android24" ;;
esac
var=${target//-/_}
export "CC_${var}=clang"
export "AR_${var}=llvm-ar"
export "CFLAGS_${var}=--target=${clang_target} --sysroot=${stub} -isystem ${stub}/usr/include -ffreestanding"

echo "cross-check: cargo check --target $target"
cargo check --lib --target "$target"
echo "cross-check: staticlib build for $target (type-check only, never shipped)"
cargo rustc --lib --target "$target" --crate-type staticlib
echo "cross-check: $target ok"
