#!/usr/bin/env bash
# Builds platforms/apple/ImBridgeFFI.xcframework: the static libimbridge for
#   ios-arm64                       aarch64-apple-ios
#   ios-arm64_x86_64-simulator      aarch64-apple-ios-sim + x86_64-apple-ios   (lipo)
#   macos-arm64_x86_64              aarch64-apple-darwin + x86_64-apple-darwin (lipo)
# with the C header and module.modulemap of the ImBridgeFFI module, and regenerates the Swift
# bindings (Sources/ImBridge/Generated/ImBridge.swift) from the same library.
#
#   platforms/apple/build-xcframework.sh                 # all slices, cargo profile "mobile"
#   platforms/apple/build-xcframework.sh --macos-only    # just macOS (enough for `swift test`)
#   platforms/apple/build-xcframework.sh --profile dev   # unoptimised, faster to build
#   platforms/apple/build-xcframework.sh --zip           # also ImBridgeFFI.xcframework.zip + its
#                                                        # SwiftPM checksum (for a release)
#
# Needs a Mac with Xcode (xcodebuild, lipo, the iOS and macOS SDKs) and rustup. Every library is
# built with --features oslog (unified logging). Nothing here runs on Linux: there, CI compiles
# the package against the host library and runs its tests with test-linux.sh instead.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

profile=mobile
macos_only=0
zip=0
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs a value}; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    --macos-only) macos_only=1; shift ;;
    --zip) zip=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "build-xcframework.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

# --- what this machine must have -------------------------------------------------------------
missing=()
[ "$(uname -s)" = Darwin ] || missing+=("macOS (this is $(uname -s))")
for tool in xcodebuild xcrun lipo cargo rustup; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v xcrun >/dev/null 2>&1; then
  for sdk in iphoneos iphonesimulator macosx; do
    if [ "$macos_only" = 1 ] && [ "$sdk" != macosx ]; then continue; fi
    xcrun --sdk "$sdk" --show-sdk-path >/dev/null 2>&1 || missing+=("the $sdk SDK (xcrun --sdk $sdk)")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "build-xcframework.sh: cannot build the XCFramework on this machine; missing:"
    for m in "${missing[@]}"; do echo "  - $m"; done
    echo "It needs a Mac with Xcode 15.3 or later (xcode-select --install is not enough:"
    echo "xcodebuild -create-xcframework and the iOS SDKs come with Xcode) and rustup."
    echo "On Linux, platforms/apple/test-linux.sh builds and tests the package against the host library."
  } >&2
  exit 1
fi

# --- targets -----------------------------------------------------------------------------------
ios=(aarch64-apple-ios)
sim=(aarch64-apple-ios-sim x86_64-apple-ios)
mac=(aarch64-apple-darwin x86_64-apple-darwin)
if [ "$macos_only" = 1 ]; then
  targets=("${mac[@]}")
else
  targets=("${ios[@]}" "${sim[@]}" "${mac[@]}")
fi

installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

case "$profile" in
  dev|test) profile_dir=debug ;;
  *) profile_dir=$profile ;;
esac

export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0

cd "$root"
for t in "${targets[@]}"; do
  echo "== cargo: libimbridge.a for $t (profile $profile, --features oslog)"
  cargo rustc -p imbridge --lib --crate-type staticlib --profile "$profile" --features oslog --target "$t"
done
lib() { echo "$root/target/$1/$profile_dir/libimbridge.a"; }

work="$root/target/apple-xcframework"
rm -rf "$work"
mkdir -p "$work/headers" "$work/bindings"

# Each slice: one (fat) static library.
slices=()
add_slice() { # name targets...
  local name=$1; shift
  mkdir -p "$work/$name"
  local inputs=()
  for t in "$@"; do inputs+=("$(lib "$t")"); done
  if [ $# -eq 1 ]; then
    cp "${inputs[0]}" "$work/$name/libimbridge.a"
  else
    lipo -create "${inputs[@]}" -output "$work/$name/libimbridge.a"
  fi
  slices+=("$work/$name/libimbridge.a")
}
if [ "$macos_only" = 0 ]; then
  add_slice ios "${ios[@]}"
  add_slice ios-simulator "${sim[@]}"
fi
add_slice macos "${mac[@]}"

# --- bindings: Swift, header, module map (from an unstripped static library) -------------------
# Static archives are never stripped by cargo (the "mobile" profile's strip applies when linking
# a binary), so they still hold the UniFFI metadata the generator reads.
echo "== uniffi-bindgen: Swift bindings"
cargo run --quiet -p imbridge --features cli --bin uniffi-bindgen -- generate \
  --library "$(lib "${targets[0]}")" --language swift --out-dir "$work/bindings" --no-format
for f in ImBridge.swift ImBridgeFFI.h ImBridgeFFI.modulemap; do
  [ -f "$work/bindings/$f" ] || { echo "build-xcframework.sh: the generator did not write $f" >&2; exit 1; }
done
cp "$work/bindings/ImBridgeFFI.h" "$work/headers/ImBridgeFFI.h"
# In an XCFramework the module map must be called module.modulemap, in the Headers directory.
cp "$work/bindings/ImBridgeFFI.modulemap" "$work/headers/module.modulemap"

generated="$here/Sources/ImBridge/Generated/ImBridge.swift"
if ! cmp -s "$work/bindings/ImBridge.swift" "$generated"; then
  cp "$work/bindings/ImBridge.swift" "$generated"
  echo "== NOTE: $generated changed (the exported API changed): commit it with the Rust change."
fi

# --- the XCFramework ---------------------------------------------------------------------------
out="$here/ImBridgeFFI.xcframework"
rm -rf "$out"
args=()
for s in "${slices[@]}"; do
  args+=(-library "$s" -headers "$work/headers")
done
echo "== xcodebuild -create-xcframework"
xcodebuild -create-xcframework "${args[@]}" -output "$out"

if [ "$zip" = 1 ]; then
  (cd "$here" && rm -f ImBridgeFFI.xcframework.zip \
    && ditto -c -k --sequesterRsrc --keepParent ImBridgeFFI.xcframework ImBridgeFFI.xcframework.zip)
  checksum=$(cd "$here" && swift package compute-checksum ImBridgeFFI.xcframework.zip)
  echo "== $here/ImBridgeFFI.xcframework.zip"
  echo "   checksum: $checksum   (for .binaryTarget(name:url:checksum:) in Package.swift)"
fi

echo "== built $out"
for s in "${slices[@]}"; do
  printf '   %-16s %s  (%s)\n' "$(basename "$(dirname "$s")")" "$(lipo -archs "$s")" "$(du -h "$s" | cut -f1)"
done
