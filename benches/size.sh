#!/usr/bin/env bash
# Size of the shipped library: the cdylib built with the `mobile` profile (opt "z",
# fat LTO, 1 codegen unit, panic unwind, strip), for the host and for the aarch64 and x86_64
# Android ABIs.
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

source scripts/stub-sysroot.sh
# The bundled SQLite is C that needs a real libc's headers (stdio.h, …), which the stub
# sysroot does not have. Without an NDK, Debian's glibc headers for the same CPU stand in
# for Bionic's (aarch64: apt install libc6-dev-arm64-cross; x86_64: the host's own):
# SQLite's code is the same, only the headers it is compiled against differ. Without them
# the size is reported as not measured.
# android_size TARGET CLANG_TARGET GLIBC_INCLUDE_DIRS...: prints the size, sets $size.
android_size() {
  local target=$1 clang_target=$2; shift 2
  local var=${target//-/_} includes="" dir headers=""
  size=null
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  for l in c m dl log; do
    clang --target="$clang_target" -shared -nostdlib -fuse-ld=lld -o "$stub/lib/lib$l.so" "$stub/empty.c"
  done
  llvm-ar rc "$stub/lib/libunwind.a"
  cat > "$stub/ld.sh" <<LD
#!/bin/sh
exec clang --target=$clang_target -fuse-ld=lld -nostdlib -L$stub/lib -Wl,--allow-shlib-undefined "\$@"
LD
  chmod +x "$stub/ld.sh"
  for dir in "$@"; do [ -d "$dir" ] && includes="$includes -isystem $dir"; done
  if [ -n "$includes" ]; then
    export "CC_${var}=clang" "AR_${var}=llvm-ar" "CFLAGS_${var}=--target=${clang_target}${includes}"
    headers=", SQLite compiled against glibc's headers"
  else
    stub_env "$target"
  fi
  local linker="CARGO_TARGET_${var^^}_LINKER"
  if env "$linker=$stub/ld.sh" \
    cargo rustc -q -p imbridge --profile mobile --lib --target "$target" --crate-type cdylib -- \
    -C linker-flavor=gcc -C link-arg=-Wl,-z,max-page-size=16384 \
    -C link-arg=-Wl,--pack-dyn-relocs=android 2>"$stub/android.log"; then
    size=$(stat -c %s "$out/$target/mobile/libimbridge.so")
    # Linked with --allow-shlib-undefined: a SQLite function taken out by a flag would
    # only fail when the app loads the library.
    local undefined
    undefined=$(llvm-nm -D --undefined-only "$out/$target/mobile/libimbridge.so")
    grep -q ' U ' <<<"$undefined" || { echo "$target: llvm-nm listed no imports: the check read nothing"; exit 1; }
    if grep -w 'sqlite3_[A-Za-z0-9_]*' <<<"$undefined"; then
      echo "$target: undefined SQLite functions (see .cargo/config.toml)"; exit 1
    fi
    echo "$target cdylib (mobile profile, stripped, 16 KB pages, packed relocations, without NDK libunwind$headers): $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1048576}") MiB)"
  else
    echo "$target cdylib: NOT MEASURED here (the bundled SQLite needs libc headers: $(grep -m1 -o "fatal error: [^']*'[^']*' file not found" "$stub/android.log" || tail -n 1 "$stub/android.log"))"
  fi
}
echo '' > "$stub/empty.c"
android_size aarch64-linux-android aarch64-linux-android24 /usr/aarch64-linux-gnu/include
arm64=$size
android_size x86_64-linux-android x86_64-linux-android24 /usr/include/x86_64-linux-gnu /usr/include
x64=$size
mkdir -p "$out/bench"
printf '{"host_bytes":%s,"aarch64_linux_android_bytes":%s,"x86_64_linux_android_bytes":%s}\n' "$host" "$arm64" "$x64" > "$out/bench/size.json"
