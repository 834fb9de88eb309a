#!/usr/bin/env bash
# Compiles this Swift package and runs its XCTest suite on Linux, against the host-built
# libimbridge and dev gateway. CI runs it (.ci/run); a developer runs the same thing by hand.
# On a Mac, use plain `swift test` instead (README, "iOS / macOS" → "Tests").
#
# The compiler is Debian trixie's `swiftlang` (Swift 6.0.3), installed into a trixie chroot so
# the host's own apt sources stay as they are:
#   1. cargo builds libimbridge, uniffi-bindgen and imbridge-devserver (target/debug)
#   2. the C header the Linux build of the package links against is generated into
#      target/apple-linux (Package.swift's systemLibrary target points at it)
#   3. the chroot: made once with debootstrap and kept ($IMBRIDGE_SWIFT_ROOT, default
#      /var/cache/imbridge-swift-root); a half-made one (an interrupted run) is removed and redone
#   4. proc, dev and this repository (at the same path) are mounted into it, and unmounted on
#      every exit
#   5. `swift test` runs there; its last line is XCTest's "Executed N tests, with M failures …"
#
#   platforms/apple/test-linux.sh                    # build, run the suite
#   platforms/apple/test-linux.sh --filter ErrorTests   # extra arguments go to `swift test`
#
# Needs root (debootstrap, chroot, mount), apt-get, and about 3 GB on the chroot's disk.
# Exits non-zero if anything fails, a compile error or a failing test included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
swift_root=${IMBRIDGE_SWIFT_ROOT:-/var/cache/imbridge-swift-root}
swift_root=${swift_root%/}
# It may be removed and redone: an absolute path of its own, never / itself.
case "$swift_root" in /?*) ;; *) echo "IMBRIDGE_SWIFT_ROOT must be an absolute path, not '$swift_root'" >&2; exit 2 ;; esac
# Written into the chroot as its last step; a chroot without this exact line is redone.
recipe="debootstrap minbase trixie + swiftlang libc6-dev, v1"
ready="$swift_root/.imbridge-ready"

case "${1:-}" in -h|--help) sed -n '2,21p' "$0"; exit 0 ;; esac
[ "$(uname -s)" = Linux ] || { echo "test-linux.sh is for Linux; on a Mac run: swift test" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test-linux.sh needs root (debootstrap, chroot, mount)" >&2; exit 2; }

log() { printf '== %s\n' "$*"; }

# --- 1. the host side: library, generator, dev gateway ------------------------------------------
cd "$root"
log "cargo build: libimbridge, uniffi-bindgen, imbridge-devserver"
# The generator first (it builds the library with "cli"); the plain --lib build after it is the
# target/debug/libimbridge.so the tests load, as in check-bindings.sh.
cargo build --quiet -p imbridge --features cli --bin uniffi-bindgen
cargo build --quiet -p imbridge --lib
cargo build --quiet -p imbridge-devserver
lib_dir="$root/target/debug"

# --- 2. the header for Package.swift's Linux systemLibrary target --------------------------------
# --no-format: the toolchain brings a swift-format that would otherwise reformat the output.
ffi_dir="$root/target/apple-linux"
log "uniffi-bindgen: ImBridgeFFI.h → ${ffi_dir#"$root"/}"
rm -rf "$ffi_dir.tmp"
"$lib_dir/uniffi-bindgen" generate --library "$lib_dir/libimbridge.so" --language swift \
  --out-dir "$ffi_dir.tmp" --no-format >/dev/null
rm -rf "$ffi_dir" && mv "$ffi_dir.tmp" "$ffi_dir"
# The package compiles the committed bindings; they must be this generation (check-bindings.sh
# says so too, but a stale file would make the run below test the wrong thing).
cmp -s "$ffi_dir/ImBridge.swift" "$here/Sources/ImBridge/Generated/ImBridge.swift" || {
  echo "Sources/ImBridge/Generated/ImBridge.swift is not what the library generates:" \
       "run platforms/apple/check-bindings.sh --update" >&2
  exit 1
}

# --- 3. the chroot ------------------------------------------------------------------------------
# Every mount point under the chroot, deepest first.
mounts_under() {
  awk -v r="$swift_root/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
unmount_all() {
  local m
  for m in $(mounts_under); do umount "$m" || umount -l "$m"; done
}
# Never `rm -rf` a root with something mounted in it: dev and the repository are bound
# read-write, so that would delete them on the host.
remove_root() {
  unmount_all
  if [ -n "$(mounts_under)" ]; then
    echo "still mounted under $swift_root; not removing it:" >&2
    mounts_under >&2
    exit 1
  fi
  rm -rf --one-file-system "$swift_root"
}
trap unmount_all EXIT
trap 'exit 130' INT TERM   # so that the EXIT trap runs when the run is interrupted too

# One run at a time per chroot: another run's EXIT trap would unmount what this one uses.
mkdir -p "$(dirname "$swift_root")"
exec 9>"$swift_root.lock"
flock 9

# The Debian mirror the host's own apt sources name (one-line or deb822 format).
host_mirror() {
  # (cat fails on a glob that matches nothing; `|| true` keeps set -e/pipefail from exiting.)
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -v '^[[:space:]]*#' \
    | grep -oE '(https?://[^[:space:]]+/debian)/?([[:space:]]|$)' | head -n 1 | tr -d '[:space:]' || true
}

if [ "$(cat "$ready" 2>/dev/null)" != "$recipe" ]; then
  mirror=${IMBRIDGE_DEBIAN_MIRROR:-$(host_mirror)}
  mirror=${mirror%/}
  [ -n "$mirror" ] || { echo "no Debian mirror in /etc/apt/sources.list*; set IMBRIDGE_DEBIAN_MIRROR" >&2; exit 1; }
  if [ -e "$swift_root" ]; then
    log "removing the half-made chroot $swift_root (no '$recipe' marker)"
    remove_root
  fi
  if ! command -v debootstrap >/dev/null; then
    log "apt-get install debootstrap (host)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq debootstrap >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  fi
  log "debootstrap --variant=minbase trixie $swift_root $mirror"
  debootstrap --variant=minbase trixie "$swift_root" "$mirror" >"$swift_root.debootstrap.log" 2>&1 \
    || { tail -n 20 "$swift_root.debootstrap.log" >&2; exit 1; }
  rm -f "$swift_root.debootstrap.log"
fi

# --- 4. mounts (undone by the EXIT trap) --------------------------------------------------------
unmount_all   # left over from a killed run
mount -t proc proc "$swift_root/proc"
mount --bind /dev "$swift_root/dev"
mkdir -p "$swift_root$root"
mount --bind "$root" "$swift_root$root"
in_root() { chroot "$swift_root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
  PATH=/usr/libexec/swift/bin:/usr/local/bin:/usr/bin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

if [ "$(cat "$ready" 2>/dev/null)" != "$recipe" ]; then
  # libc6-dev: Glibc's and Foundation's headers; swiftlang brings clang, XCTest, swift-format.
  log "apt-get install swiftlang libc6-dev (in the chroot)"
  cp /etc/resolv.conf "$swift_root/etc/resolv.conf"
  in_root apt-get update -qq
  in_root apt-get install -y -qq --no-install-recommends swiftlang libc6-dev >/dev/null
  in_root apt-get clean
  echo "$recipe" >"$ready"
fi

# --- 5. swift test --------------------------------------------------------------------------------
# Build products under target/ (not platforms/apple/.build, which a Mac sharing this checkout
# would use). -warnings-as-errors: the package builds without diagnostics (Swift 6 mode, set per
# target in Package.swift), and a warning must not pass just because an incremental build did
# not recompile its file. -L/-rpath: where the systemLibrary's `link "imbridge"` finds
# libimbridge.so. Swift Testing is off: the suite is XCTest.
log "swift test (platforms/apple, $(in_root swift --version 2>/dev/null | head -n 1))"
in_root sh -c 'cd "$1" && shift && exec swift test "$@"' sh "$here" \
  --scratch-path "$root/target/swift-build" --disable-swift-testing -Xswiftc -warnings-as-errors \
  -Xlinker -L"$lib_dir" -Xlinker -rpath -Xlinker "$lib_dir" "$@"
