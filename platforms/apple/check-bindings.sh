#!/usr/bin/env bash
# What CI checks of the Apple package on a machine with no Swift compiler and no Xcode:
#
#   1. the host library and the bindings generator build (cargo build --lib; --features cli)
#   2. the Swift bindings generate from the library (ImBridge.swift, ImBridgeFFI.h, module map)
#   3. the committed Sources/ImBridge/Generated/ImBridge.swift is exactly that generation (and,
#      if scripts/cross-check.sh aarch64-apple-ios built it, the iOS static library generates
#      the same Swift and header)
#   4. the header parses as C (clang -fsyntax-only -x c), for the host and the Apple targets
#   5. the module map, named module.modulemap as in the XCFramework, builds the ImBridgeFFI
#      Clang module (what Swift's `import ImBridgeFFI` loads)
#   6. every C function the Swift calls is declared in the header, and the header's checksum
#      functions are exactly the ones the Swift verifies
#   7. a C program that uses every function the header declares links against the library
#      and loads
#   8. the load-time check: the contract version and every API checksum that the committed
#      Swift bindings verify, parsed out of the Swift source, equal what the library returns
#      (check/checksums.c, compiled with clang, dlopen()s target/debug/libimbridge.so)
#   9. negative controls: the same checker, fed a tampered checksum and a tampered contract
#      version, must fail (so a green step 8 means something)
#  10. the hand-written Swift (layer, tests, Package.swift) parses: tree-sitter-swift from PyPI,
#      installed into target/pydeps on first use (syntax only; skipped if PyPI is unreachable)
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
  -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
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
for tool in cargo clang nm; do
  command -v "$tool" >/dev/null 2>&1 || abort "tools" "$tool is missing (apt-get install clang binutils)"
done

case "$(uname -s)" in
  Darwin) lib="$root/target/debug/libimbridge.dylib"
          exports() { nm -gU "$1" | awk '{print $3}' | sed 's/^_//'; } ;;
  *)      lib="$root/target/debug/libimbridge.so"
          exports() { nm -D --defined-only "$1" | awk '$2 == "T" {print $3}'; } ;;
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

# --- 6. Swift <-> header -------------------------------------------------------------------------
grep -oE '\b(uniffi|ffi)_imbridge_[A-Za-z0-9_]+' "$swift" | sort -u >"$tmp/swift-calls"
grep -oE '\b(uniffi|ffi)_imbridge_[A-Za-z0-9_]+\(' "$header" | tr -d '(' | sort -u >"$tmp/header-fns"
undeclared=$(comm -23 "$tmp/swift-calls" "$tmp/header-fns")
grep -oE 'uniffi_imbridge_checksum_[A-Za-z0-9_]+' "$tmp/header-fns" | sort -u >"$tmp/header-checksums"
# "symbol value" for every `if (uniffi_imbridge_checksum_X() != N)` of a Swift source.
swift_checksums() {
  grep -oE 'if \(uniffi_imbridge_checksum_[A-Za-z0-9_]+\(\) != [0-9]+\)' "$1" \
    | sed -E 's/^if \((uniffi_imbridge_checksum_[A-Za-z0-9_]+)\(\) != ([0-9]+)\)$/\1 \2/'
}
swift_checksums "$swift" >"$tmp/swift-checksums"
checksum_diff=$(diff <(cut -d' ' -f1 "$tmp/swift-checksums" | sort -u) "$tmp/header-checksums")
if [ -z "$undeclared" ] && [ -z "$checksum_diff" ] && [ -s "$tmp/swift-checksums" ]; then
  pass "the Swift calls only functions the header declares ($(wc -l <"$tmp/swift-calls")), and verifies exactly its $(wc -l <"$tmp/header-checksums") checksums"
else
  fail "the Swift bindings and the header agree"
  [ -n "$undeclared" ] && printf 'called by the Swift, not declared in the header:\n%s\n' "$undeclared" | indent
  [ -n "$checksum_diff" ] && printf 'checksums (< Swift, > header):\n%s\n' "$checksum_diff" | indent
  [ -s "$tmp/swift-checksums" ] || echo "no checksum checks found in the Swift source" | indent
fi

# --- 7. header <-> library: link and load ----------------------------------------------------------
{
  echo '#include "ImBridgeFFI.h"'
  echo '#include <stdio.h>'
  echo 'void *const functions[] = {'
  sed 's/.*/    (void *)\&&,/' "$tmp/header-fns"
  echo '};'
  echo 'int main(void) {'
  echo '    size_t resolved = 0;'
  echo '    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) resolved += functions[i] != NULL;'
  # shellcheck disable=SC2028 # the \n is for C, not for echo
  echo '    printf("%zu\n", resolved);'
  echo '    return 0;'
  echo '}'
} >"$tmp/link.c"
if clang -std=c11 -Wall -Wextra -Werror -Wno-pragma-once-outside-header -I "$gen" -o "$tmp/link" "$tmp/link.c" \
     -L "$(dirname "$lib")" -limbridge -Wl,-rpath,"$(dirname "$lib")" >"$tmp/link.log" 2>&1 \
   && linked=$(LD_BIND_NOW=1 "$tmp/link" 2>>"$tmp/link.log") && [ "$linked" = "$(wc -l <"$tmp/header-fns" | tr -d ' ')" ]; then
  pass "a C program using all $linked functions of the header links against libimbridge and loads"
else
  fail "every function of the header is exported by libimbridge (link + load)"; indent <"$tmp/link.log"
fi

# --- 8. the load-time check: contract version and checksums ----------------------------------------
# Of the Swift that ships: the committed file (the fresh generation if there is none).
shipped="$committed"
[ -f "$shipped" ] || shipped="$swift"
swift_checksums "$shipped" >"$tmp/shipped-checksums"
contract=$(grep -oE 'let bindings_contract_version = [0-9]+' "$shipped" | grep -oE '[0-9]+$')
contract_fn=$(grep -oE 'let scaffolding_contract_version = [A-Za-z0-9_]+\(\)' "$shipped" | sed -E 's/.*= ([A-Za-z0-9_]+)\(\)$/\1/')
expect="$tmp/expectations"
if [ -z "$contract" ] || [ -z "$contract_fn" ] || [ ! -s "$tmp/shipped-checksums" ]; then
  abort "the contract version and checksums can be read from ${shipped#"$root"/}" \
        "found contract='$contract' via '$contract_fn', $(wc -l <"$tmp/shipped-checksums") checksums: did UniFFI change its Swift template?"
fi
{
  echo "contract $contract_fn $contract"
  sed 's/^/checksum /' "$tmp/shipped-checksums"
} >"$expect"
n_checksums=$(wc -l <"$tmp/shipped-checksums" | tr -d ' ')
if ! clang -std=c11 -Wall -Wextra -Werror -o "$tmp/checksums" "$here/check/checksums.c" -ldl 2>"$tmp/cc.log"; then
  fail "check/checksums.c compiles"; indent <"$tmp/cc.log"; summary
fi
if "$tmp/checksums" "$lib" "$expect" >"$tmp/checksums.log" 2>&1; then
  pass "contract version $contract and all $n_checksums API checksums verified by ${shipped#"$here"/} match the library"
else
  fail "the Swift bindings' contract version and checksums match the library (the app would stop with 'UniFFI API checksum mismatch')"
  indent <"$tmp/checksums.log"
fi

# --- 9. negative controls: the checker must catch a tampered value ---------------------------------
first=$(sed -n '1p' "$tmp/shipped-checksums")
tampered_value=$(( ($(cut -d' ' -f2 <<<"$first") + 1) % 65536 ))
{
  echo "contract $contract_fn $contract"
  echo "checksum $(cut -d' ' -f1 <<<"$first") $tampered_value"
  sed '1d; s/^/checksum /' "$tmp/shipped-checksums"
} >"$tmp/tampered-checksum"
{
  echo "contract $contract_fn $((contract + 1))"
  sed 's/^/checksum /' "$tmp/shipped-checksums"
} >"$tmp/tampered-contract"
"$tmp/checksums" "$lib" "$tmp/tampered-checksum" >"$tmp/neg1.log" 2>&1; neg1=$?
"$tmp/checksums" "$lib" "$tmp/tampered-contract" >"$tmp/neg2.log" 2>&1; neg2=$?
if [ "$neg1" = 1 ] && grep -q '^MISMATCH' "$tmp/neg1.log" && [ "$neg2" = 1 ] && grep -q '^MISMATCH' "$tmp/neg2.log"; then
  pass "negative controls: a tampered checksum and a tampered contract version are caught"
else
  fail "negative controls: the checker must reject tampered values (exit $neg1 and $neg2, want 1 and 1)"
  cat "$tmp/neg1.log" "$tmp/neg2.log" | indent
fi

# --- 10. the hand-written Swift parses (tree-sitter-swift; there is no Swift compiler here) ----------
# Installed from PyPI into target/pydeps on first use; skipped (not counted) if that fails.
pydeps="$root/target/pydeps"
if ! PYTHONPATH="$pydeps" python3 -c 'import tree_sitter, tree_sitter_swift' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check --target "$pydeps" \
    'tree-sitter==0.26.1' 'tree-sitter-swift==0.7.4' >"$tmp/pip.log" 2>&1 || true
fi
if PYTHONPATH="$pydeps" python3 -c 'import tree_sitter, tree_sitter_swift' >/dev/null 2>&1; then
  handwritten=("$here/Package.swift")
  while IFS= read -r f; do handwritten+=("$f"); done < <(
    find "$here/Sources" "$here/Tests" -name '*.swift' -not -path '*/Generated/*' | sort)
  if PYTHONPATH="$pydeps" python3 "$here/check/swift_syntax.py" "${handwritten[@]}" >"$tmp/syntax.log" 2>&1; then
    pass "the hand-written Swift parses ($(tail -n 1 "$tmp/syntax.log" | sed 's/^swift_syntax: //'))"
  else
    fail "the hand-written Swift parses (tree-sitter-swift)"; sed "s|$here/||" "$tmp/syntax.log" | indent
  fi
else
  echo "skip  Swift syntax check: could not install tree-sitter-swift from PyPI into ${pydeps#"$root"/}"
  [ -s "$tmp/pip.log" ] && tail -n 3 "$tmp/pip.log" | indent
fi

# --- note (not a check): checksums the library exports that the Swift does not verify ----------------
exports "$lib" | grep -E '^uniffi_imbridge_checksum_' | sort -u >"$tmp/lib-checksums"
unverified=$(comm -23 "$tmp/lib-checksums" <(cut -d' ' -f1 "$tmp/swift-checksums" | sort -u))
if [ -n "$unverified" ]; then
  echo "note: exported by the library but not verified by UniFFI's Swift bindings (methods on error types):"
  echo "$unverified" | indent
fi

summary
