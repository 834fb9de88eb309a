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
#
# Bundled SQLite (rusqlite) compiles sqlite3.c too. Here it is built without its OS layer
# (SQLITE_OS_OTHER: no unix VFS, so no unistd/fcntl/pthread headers; single-threaded; no
# Apple zone malloc), which needs four more declaration-only headers (stdio.h, ctype.h,
# time.h, math.h) added to the stub below. Real builds compile SQLite with its OS layer,
# and with the flags of .cargo/config.toml, which this script's own LIBSQLITE3_FLAGS
# replaces (Cargo's [env] does not override a variable already set).
set -euo pipefail
target=${1:?usage: scripts/cross-check.sh <rust target triple>}
cd "$(dirname "$0")/.."

for tool in clang llvm-ar; do
  command -v "$tool" >/dev/null || { echo "cross-check: $tool is missing (apt-get install clang llvm)"; exit 1; }
done
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

source scripts/stub-sysroot.sh
stub_env "$target"
cat > "$stub/usr/include/stdio.h" <<'H'
#define FILENAME_MAX 4096
H
: > "$stub/usr/include/ctype.h"
cat > "$stub/usr/include/time.h" <<'H'
typedef long time_t;
struct tm { int tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_wday, tm_yday, tm_isdst; long tm_gmtoff; const char *tm_zone; };
struct tm *localtime_r(const time_t *, struct tm *);
H
cat > "$stub/usr/include/math.h" <<'H'
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
H
export LIBSQLITE3_FLAGS="-DSQLITE_OS_OTHER=1 -USQLITE_THREADSAFE -DSQLITE_THREADSAFE=0 -DSQLITE_WITHOUT_ZONEMALLOC"

echo "cross-check: cargo check --target $target"
cargo check -p imbridge --lib --target "$target"
echo "cross-check: staticlib build for $target (type-check only, never shipped)"
cargo rustc -p imbridge --lib --target "$target" --crate-type staticlib
echo "cross-check: $target ok"
