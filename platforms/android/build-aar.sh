#!/usr/bin/env bash
# Builds the imbridge AAR: the Gradle module here runs cargo-ndk (arm64-v8a, armeabi-v7a,
# x86_64; cargo profile `mobile`; 16 KB pages), generates the Android flavour of the Kotlin
# bindings, compiles the Kotlin layer and packages target/android/imbridge-release.aar.
#
#   platforms/android/build-aar.sh            # release AAR
#   platforms/android/build-aar.sh --debug    # debug AAR
#
# Needs: the Android SDK (ANDROID_HOME / ANDROID_SDK_ROOT, or sdk.dir in local.properties) with
# the NDK version pinned in build.gradle.kts, Gradle 9.1+ (a ./gradlew here, or `gradle` on
# PATH), Java 17+, cargo-ndk, and the three Rust Android targets. On a machine without them it
# lists what is missing and exits with status 1 before building anything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

variant=release
case "${1:-}" in
  "") ;;
  --debug) variant=debug ;;
  -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "build-aar.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

missing=()

# Android SDK and the pinned NDK.
ndk_version="$(sed -n 's/^ *ndkVersion = "\(.*\)".*/\1/p' "$here/build.gradle.kts")"
sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}"
if [ -z "$sdk" ] && [ -f "$here/local.properties" ]; then
  sdk="$(sed -n 's/^sdk\.dir=//p' "$here/local.properties")"
fi
if [ -z "$sdk" ] || [ ! -d "$sdk" ]; then
  missing+=("the Android SDK with NDK $ndk_version: install it (Android Studio or the command-line tools), set ANDROID_HOME, then sdkmanager --install \"ndk;$ndk_version\"")
elif [ ! -d "$sdk/ndk/$ndk_version" ] && [ ! -d "${ANDROID_NDK_HOME:-/nonexistent}" ]; then
  missing+=("Android NDK $ndk_version: sdkmanager --install \"ndk;$ndk_version\"")
fi

# Gradle 9.1+ (AGP 9.0).
gradle=""
if [ -x "$here/gradlew" ]; then
  gradle="$here/gradlew"
elif command -v gradle >/dev/null; then
  gradle_version="$(gradle --version 2>/dev/null | sed -n 's/^Gradle \([0-9][0-9.]*\).*/\1/p')"
  if [ -z "$gradle_version" ] || [ "$(printf '%s\n' 9.1 "$gradle_version" | sort -V | head -n 1)" != 9.1 ]; then
    missing+=("Gradle 9.1 or newer (found: ${gradle_version:-unknown}): https://gradle.org/install/")
  else
    gradle=gradle
  fi
else
  missing+=("Gradle 9.1 or newer: https://gradle.org/install/ (or a Gradle wrapper in platforms/android)")
fi

# Java 17+.
java_major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  missing+=("Java 17 or newer (found: ${java_major:-none})")
fi

# Rust side.
if ! cargo ndk --version >/dev/null 2>&1; then
  missing+=("cargo-ndk: cargo install cargo-ndk --locked")
fi
installed_targets="$(rustup target list --installed 2>/dev/null || true)"
for t in aarch64-linux-android armv7-linux-androideabi x86_64-linux-android; do
  grep -qx "$t" <<<"$installed_targets" || missing+=("Rust target $t: rustup target add $t")
done

if ((${#missing[@]})); then
  {
    echo "build-aar.sh: cannot build the Android AAR on this machine. Missing:"
    printf '  - %s\n' "${missing[@]}"
    echo "(The Kotlin layer and the bindings are tested without any of these: platforms/android/run-host-tests.sh)"
  } >&2
  exit 1
fi

cd "$here"
task="assemble$(tr '[:lower:]' '[:upper:]' <<<"${variant:0:1}")${variant:1}"
"$gradle" --no-daemon -p "$here" "$task"

aar="$(ls "$here/build/outputs/aar/"*"-$variant.aar" | head -n 1)"
mkdir -p "$root/target/android"
cp "$aar" "$root/target/android/imbridge-$variant.aar"
echo "AAR: $root/target/android/imbridge-$variant.aar"
unzip -l "$root/target/android/imbridge-$variant.aar" | grep -E 'jni/.*\.so$' || true
