#!/usr/bin/env bash
# Size of the shipped library: the cdylib built with the `mobile` profile (opt "z",
# fat LTO, 1 codegen unit, panic unwind, strip), for the host and for aarch64 Android.
#
# Cargo applies LTO only when the crate types exclude rlib, so the library is built
# with `cargo rustc --crate-type cdylib` (the Android build does the same).
# With no NDK here, the Android library is linked with lld against empty stubs of
# libc/libm/libdl/liblog and without the NDK's libunwind (tens of KiB in a real build).
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CARGO_TARGET_DIR:-target}
cargo rustc -q -p imbridge --profile mobile --lib --crate-type cdylib
host=$(stat -c %s "$out/mobile/libimbridge.so")
echo "host $(uname -m) cdylib (mobile profile, stripped): $host bytes ($(awk "BEGIN{printf \"%.2f\", $host/1048576}") MiB)"

target=aarch64-linux-android
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
source scripts/stub-sysroot.sh
stub_env "$target"
echo '' > "$stub/empty.c"
for l in c m dl log; do
  clang --target="$stub_clang_target" -shared -nostdlib -fuse-ld=lld -o "$stub/lib/lib$l.so" "$stub/empty.c"
done
llvm-ar rc "$stub/lib/libunwind.a"
cat > "$stub/ld.sh" <<LD
#!/bin/sh
exec clang --target=$stub_clang_target -fuse-ld=lld -nostdlib -L$stub/lib -Wl,--allow-shlib-undefined "\$@"
LD
chmod +x "$stub/ld.sh"
# The bundled SQLite is C that needs a real libc's headers (stdio.h, …), which the stub
# sysroot does not have. Without an NDK, Debian's aarch64 glibc headers stand in for
# Bionic's (apt install libc6-dev-arm64-cross): SQLite's code is the same, only the headers
# it is compiled against differ. Without them the Android size is reported as not measured.
android=null
headers=""
if [ -d /usr/aarch64-linux-gnu/include ]; then
  export CFLAGS_aarch64_linux_android="--target=$stub_clang_target -isystem /usr/aarch64-linux-gnu/include"
  headers=", SQLite compiled against glibc's aarch64 headers"
fi
if CARGO_TARGET_AARCH64_LINUX_ANDROID_LINKER="$stub/ld.sh" \
  cargo rustc -q -p imbridge --profile mobile --lib --target "$target" --crate-type cdylib -- \
  -C linker-flavor=gcc -C link-arg=-Wl,-z,max-page-size=16384 2>"$stub/android.log"; then
  android=$(stat -c %s "$out/$target/mobile/libimbridge.so")
  echo "$target cdylib (mobile profile, stripped, 16 KB pages, without NDK libunwind$headers): $android bytes ($(awk "BEGIN{printf \"%.2f\", $android/1048576}") MiB)"
else
  echo "$target cdylib: NOT MEASURED here (the bundled SQLite needs the NDK's libc headers: $(grep -m1 -o "fatal error: [^']*'[^']*' file not found" "$stub/android.log" || tail -n 1 "$stub/android.log"))"
fi
mkdir -p "$out/bench"
printf '{"host_bytes":%s,"aarch64_linux_android_bytes":%s}\n' "$host" "$android" > "$out/bench/size.json"
