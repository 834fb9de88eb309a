#!/usr/bin/env bash
# The checks of the Apple package that compiling it on Linux (test-linux.sh) does not make:
#
#   1. the host library and the bindings generator build (cargo build --lib; --features cli)
#   2. the Swift bindings generate from the library (ImBridge.swift, ImBridgeFFI.h, module map)
#   3. the committed Sources/ImBridge/Generated/ImBridge.swift is exactly that generation (and,
#      if scripts/cross-check.sh aarch64-apple-ios built it, the iOS static library generates
#      the same Swift and header)
#   4. the header parses as C (clang -fsyntax-only -x c), for the host and the Apple targets
#      (the Linux build compiles it for the host only)
#   5. the generated module map, named module.modulemap as in the XCFramework, builds the
#      ImBridgeFFI Clang module for the host and iOS (the Linux build uses its own module map,
#      Linux/ImBridgeFFI/module.modulemap)
#
# What this used to check through C and tree-sitter, because there was no Swift compiler here,
# test-linux.sh now does for real: swiftc compiles the bindings and the hand-written Swift (the
# inactive UIKit/AppKit/Network branches are parsed too), links them against libimbridge, and
# the bindings' load-time check (contract version, one checksum per API item) runs when the
# tests first touch the library.
#
#   platforms/apple/check-bindings.sh            # run the checks
#   platforms/apple/check-bindings.sh --update   # first rewrite Generated/ImBridge.swift from
#                                                # the library (after an API change), then check
#
# Ends with "apple checks: N passed, M failed"; exits non-zero if anything failed.
# (The cross-target `cargo check` for aarch64-apple-ios is scripts/cross-check.sh.)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
committed="$here/Sources/ImBridge/Generated/ImBridge.swift"

update=0
case "${1:-}" in
  "") ;;
  --update) update=1 ;;
  -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
  *) echo "check-bindings.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

passed=0
failed=0
pass() { printf 'PASS  %s\n' "$1"; passed=$((passed + 1)); }
fail() {
  printf 'FAIL  %s\n' "$1"; shift
  for line in "$@"; do printf '      %s\n' "$line"; done
  failed=$((failed + 1))
}
summary() {
  echo "apple checks: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0 || exit 1
}
abort() { fail "$@"; summary; }
indent() { sed 's/^/      /'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$root" || exit 1
for tool in cargo clang; do
  command -v "$tool" >/dev/null 2>&1 || abort "tools" "$tool is missing (apt-get install clang)"
done

case "$(uname -s)" in
  Darwin) lib="$root/target/debug/libimbridge.dylib" ;;
  *)      lib="$root/target/debug/libimbridge.so" ;;
esac

# --- 1. build ------------------------------------------------------------------------------------
# The generator first: building it builds the library with the "cli" feature, and the plain
# `cargo build --lib` after it leaves target/debug/libimbridge.* as CI and the tests use it.
echo "== cargo build --features cli --bin uniffi-bindgen && cargo build --lib"
if cargo build --quiet -p imbridge --features cli --bin uniffi-bindgen && cargo build --quiet -p imbridge --lib && [ -f "$lib" ]; then
  pass "the host library and uniffi-bindgen build ($lib)"
else
  abort "the host library and uniffi-bindgen build"
fi

# --- 2. generate ---------------------------------------------------------------------------------
# The generator binary itself, not `cargo run` (that would rebuild the library with "cli").
# It runs inside the workspace (it reads uniffi.toml through cargo metadata); --no-format so a
# Mac with swift-format installed generates the same bytes as CI.
gen="$tmp/gen"
if "$root/target/debug/uniffi-bindgen" generate --library "$lib" --language swift \
     --out-dir "$gen" --no-format >"$tmp/gen.log" 2>&1 \
   && [ -s "$gen/ImBridge.swift" ] && [ -s "$gen/ImBridgeFFI.h" ] && [ -s "$gen/ImBridgeFFI.modulemap" ]; then
  pass "Swift bindings generate from the library (ImBridge.swift, ImBridgeFFI.h, ImBridgeFFI.modulemap)"
else
  fail "Swift bindings generate from the library"
  indent <"$tmp/gen.log"
  summary
fi
swift="$gen/ImBridge.swift"
header="$gen/ImBridgeFFI.h"

# --- 3. committed == generated -------------------------------------------------------------------
if [ "$update" = 1 ] && ! cmp -s "$swift" "$committed"; then
  mkdir -p "$(dirname "$committed")"
  cp "$swift" "$committed"
  echo "== updated ${committed#"$root"/}: commit it"
fi
if cmp -s "$swift" "$committed"; then
  pass "the committed Generated/ImBridge.swift is what the library generates"
else
  fail "the committed ${committed#"$root"/} differs from a fresh generation" \
       "the exported API changed: run platforms/apple/check-bindings.sh --update and commit the result"
  diff -u "$committed" "$swift" 2>&1 | head -n 40 | indent
fi

# --- 3b. the same bindings from the iOS static library (when scripts/cross-check.sh built it) -----
# Catches an exported item that exists only on one side of a cfg(target_os). Skipped (not
# counted) when that archive is missing or older than the sources.
ios_lib="$root/target/aarch64-apple-ios/debug/libimbridge.a"
if [ -f "$ios_lib" ] && [ -z "$(find "$root/src" "$root/Cargo.toml" "$root/uniffi.toml" -newer "$ios_lib" -print -quit)" ]; then
  if "$root/target/debug/uniffi-bindgen" generate --library "$ios_lib" --language swift \
       --out-dir "$tmp/gen-ios" --no-format >"$tmp/gen-ios.log" 2>&1 \
     && cmp -s "$tmp/gen-ios/ImBridge.swift" "$swift" && cmp -s "$tmp/gen-ios/ImBridgeFFI.h" "$header"; then
    pass "the aarch64-apple-ios static library generates the same Swift and header"
  else
    fail "the aarch64-apple-ios static library generates the same Swift and header"
    { cat "$tmp/gen-ios.log"; diff -u "$swift" "$tmp/gen-ios/ImBridge.swift" | head -n 20; } | indent
  fi
else
  echo "skip  bindings from the aarch64-apple-ios library (run scripts/cross-check.sh aarch64-apple-ios first)"
fi

# --- 4. the header parses ------------------------------------------------------------------------
cflags=(-fsyntax-only -x c -std=c11 -Wall -Wextra -Werror -Wno-pragma-once-outside-header)
if clang "${cflags[@]}" "$header" 2>"$tmp/hdr.log"; then
  pass "clang -fsyntax-only -x c ImBridgeFFI.h (host)"
else
  fail "clang -fsyntax-only -x c ImBridgeFFI.h (host)"; indent <"$tmp/hdr.log"
fi
apple_ok=1
: >"$tmp/hdr-apple.log"
# No Apple SDK here: -ffreestanding keeps to clang's own stdint.h / stdbool.h / stddef.h.
for t in arm64-apple-ios15.0 arm64-apple-ios15.0-simulator x86_64-apple-ios15.0-simulator \
         arm64-apple-macos12.0 x86_64-apple-macos12.0; do
  clang --target="$t" -ffreestanding "${cflags[@]}" "$header" >>"$tmp/hdr-apple.log" 2>&1 || { apple_ok=0; echo "($t)" >>"$tmp/hdr-apple.log"; }
done
if [ "$apple_ok" = 1 ]; then
  pass "the header parses for ios-arm64, the simulators and macOS (clang --target, freestanding)"
else
  fail "the header parses for the Apple targets"; indent <"$tmp/hdr-apple.log"
fi

# --- 5. the module map ---------------------------------------------------------------------------
mod="$tmp/Headers"
mkdir -p "$mod"
cp "$header" "$mod/ImBridgeFFI.h"
cp "$gen/ImBridgeFFI.modulemap" "$mod/module.modulemap"
printf '@import ImBridgeFFI;\nint main(void) { return (int)ffi_imbridge_uniffi_contract_version(); }\n' >"$tmp/use-module.m"
module_ok=1
: >"$tmp/mod.log"
for t in "" "--target=arm64-apple-ios15.0"; do
  # shellcheck disable=SC2086 # $t is empty or one flag
  clang $t -ffreestanding -fmodules -fmodules-cache-path="$tmp/module-cache" -I "$mod" \
    -fsyntax-only -x objective-c "$tmp/use-module.m" >>"$tmp/mod.log" 2>&1 || module_ok=0
done
if [ "$module_ok" = 1 ] && grep -q '^module ImBridgeFFI ' "$mod/module.modulemap"; then
  pass "Headers/module.modulemap builds the ImBridgeFFI Clang module (@import ImBridgeFFI)"
else
  fail "Headers/module.modulemap builds the ImBridgeFFI Clang module"; indent <"$tmp/mod.log"
fi

summary
