# Sourced by scripts/cross-check.sh and benches/size.sh: a throwaway sysroot of
# declaration-only headers (enough for ring's C code) and empty Android system
# libraries, so mobile targets compile and link on a machine with no NDK or Xcode.
# Nothing built against it is ever shipped. Sets $stub (removed on exit).
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
mkdir -p "$stub/usr/include" "$stub/lib"
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

# stub_env TARGET: exports the cc-rs variables that compile ring for TARGET against the stub.
stub_env() {
  local target=$1 clang_target=$1
  case "$target" in
    *-apple-ios) clang_target="arm64-apple-ios15.0"; export SDKROOT="$stub" ;;
    aarch64-linux-android) clang_target="aarch64-linux-android24" ;;
  esac
  local var=${target//-/_}
  export "CC_${var}=clang" "AR_${var}=llvm-ar"
  export "CFLAGS_${var}=--target=${clang_target} --sysroot=${stub} -isystem ${stub}/usr/include -ffreestanding"
  stub_clang_target=$clang_target
}
