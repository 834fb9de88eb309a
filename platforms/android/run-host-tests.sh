#!/usr/bin/env bash
# The Kotlin suite on the host JVM: the generated bindings (default flavour, with checksums),
# the Kotlin layer (src/main/kotlin) and host-test/, compiled with kotlinc against local stubs of
# the few android/androidx types the layer touches, run against the host cdylib and a dev
# gateway process on 127.0.0.1 (ephemeral ports).
#
#   platforms/android/run-host-tests.sh                 # everything
#   IMBRIDGE_TESTS=kick,token platforms/android/run-host-tests.sh   # tests whose name contains a word
#   IMBRIDGE_LOG=debug ...                               # imbridge's own log on stderr
#
#   platforms/android/run-host-tests.sh --bench         # the FFI benchmark (host-bench/), release build
#
# Installs what is missing (kotlinc from npm under target/, JNA from apt). The last line printed
# is the runner's `N passed, N failed`; the exit status is non-zero on any failure.
set -euo pipefail
mode=tests
[ "${1:-}" = "--bench" ] && mode=bench
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

KOTLIN_VERSION=2.4.20
target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="$target_dir/android-host-$mode"
tools="$target_dir/android-tools"
kotlin_home="$tools/node_modules/kotlin-compiler"
jna=/usr/share/java/jna.jar
mkdir -p "$work" "$tools"

say() { printf '== %s\n' "$*"; }

# (a) tools -------------------------------------------------------------------------------
if ! grep -qs "\"version\": \"$KOTLIN_VERSION\"" "$kotlin_home/package.json"; then
  say "installing kotlin-compiler@$KOTLIN_VERSION (npm) into $tools"
  command -v npm >/dev/null || { echo "run-host-tests.sh: npm is missing (Node.js is needed for kotlinc)" >&2; exit 1; }
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
fi
if [ ! -f "$jna" ]; then
  say "installing libjna-java (apt)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq libjna-java >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq libjna-java >/dev/null; }
fi
command -v java >/dev/null || { echo "run-host-tests.sh: java (17+) is missing" >&2; exit 1; }
kotlinc="$kotlin_home/bin/kotlinc"
stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
for f in "$kotlinc" "$stdlib" "$coroutines" "$jna"; do
  [ -e "$f" ] || { echo "run-host-tests.sh: $f is missing after install" >&2; exit 1; }
done

# (b) host library, dev gateway, bindings -----------------------------------------------------
say "cargo build --lib; cargo build -p imbridge-devserver"
profile_flag=""; profile_dir=debug
[ "$mode" = bench ] && { profile_flag="--release"; profile_dir=release; }
cargo build -p imbridge --lib --quiet $profile_flag
cargo build -p imbridge-devserver --quiet $profile_flag
lib_dir="$target_dir/$profile_dir"

say "generating the Kotlin bindings (default flavour)"
rm -rf "$work/bindings.new"
cargo run --quiet -p imbridge --features cli --bin uniffi-bindgen -- generate \
  --library "$lib_dir/libimbridge.so" --language kotlin --out-dir "$work/bindings.new" --no-format
# The library the bindings were generated from, copied so that a concurrent cargo build in this
# target directory cannot swap it under the tests.
mkdir -p "$work/native"
for f in libimbridge.so imbridge-devserver; do
  cp "$lib_dir/$f" "$work/native/$f.tmp" && mv -f "$work/native/$f.tmp" "$work/native/$f"
done
devserver="$work/native/imbridge-devserver"
# Keep the old files (and their timestamps) when nothing changed, so the jar can be reused.
if [ -d "$work/bindings" ] && diff -rq "$work/bindings" "$work/bindings.new" >/dev/null; then
  rm -rf "$work/bindings.new"
else
  rm -rf "$work/bindings" && mv "$work/bindings.new" "$work/bindings"
fi

# (c) compile ------------------------------------------------------------------------------------
extra=(); [ "$mode" = bench ] && extra=("$here/host-bench")
mapfile -t sources < <(find "$work/bindings" "$here/src/main/kotlin" "$here/host-test/src" \
  "$here/host-test/stubs" "${extra[@]}" -name '*.kt' | sort)
jar="$work/host-tests.jar"
if [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar" -print -quit)" ] ||
  [ "$(printf '%s\n' "${sources[@]}" | md5sum)" != "$(cat "$work/sources.md5" 2>/dev/null)" ]; then
  say "kotlinc: ${#sources[@]} files"
  rm -f "$jar"
  "$kotlinc" -J-XX:TieredStopAtLevel=1 -nowarn -cp "$jna:$coroutines" -d "$jar" "${sources[@]}" ||
    { echo "run-host-tests.sh: kotlinc failed"; echo "0 passed, 1 failed"; exit 1; }
  printf '%s\n' "${sources[@]}" | md5sum > "$work/sources.md5"
else
  say "kotlinc: up to date"
fi

# (d) dev gateway ------------------------------------------------------------------------------
# Its stdin is this script's pipe: when the script ends, however it ends, the gateway sees EOF.
coproc GATEWAY { exec "$devserver" --ws-port 0 --api-port 0 --exit-on-stdin-eof --log-level warn 2>"$work/gateway.log"; }
gateway_pid=$GATEWAY_PID
stop_gateway() {
  exec {GATEWAY[1]}>&- 2>/dev/null || true
  kill "$gateway_pid" 2>/dev/null || true
  wait "$gateway_pid" 2>/dev/null || true
}
trap stop_gateway EXIT
ws_addr="" api_addr=""
while [ -z "$ws_addr" ] || [ -z "$api_addr" ]; do
  IFS= read -r -t 30 -u "${GATEWAY[0]}" line ||
    { echo "run-host-tests.sh: the dev gateway did not start:" >&2; cat "$work/gateway.log" >&2; exit 1; }
  case "$line" in
    ws_addr=*) ws_addr="${line#ws_addr=}" ;;
    api_addr=*) api_addr="${line#api_addr=}" ;;
  esac
done
say "dev gateway: $ws_addr $api_addr"

if [ "$mode" = bench ]; then
  mkdir -p "$target_dir/bench"
  java -Djna.library.path="$work/native" -Dimbridge.ws="$ws_addr" -Dimbridge.api="$api_addr" \
    -Dimbridge.out="$target_dir/bench" -cp "$jar:$stdlib:$coroutines:$jna" io.imbridge.hostbench.BenchKt
  exit $?
fi

# (e) run ------------------------------------------------------------------------------------------
status=0
java -Djna.library.path="$work/native" \
  -Dimbridge.ws="$ws_addr" -Dimbridge.api="$api_addr" -Dimbridge.devserver="$devserver" \
  ${IMBRIDGE_TESTS:+-Dimbridge.tests="$IMBRIDGE_TESTS"} ${IMBRIDGE_LOG:+-Dimbridge.log="$IMBRIDGE_LOG"} \
  -cp "$jar:$stdlib:$coroutines:$jna" io.imbridge.hosttest.RunnerKt 2>"$work/jvm-stderr.log" |
  tee "$work/results.txt" || status=$?
stop_gateway
trap - EXIT
if [ "$status" -ne 0 ]; then
  summary="$(tail -n 1 "$work/results.txt")"
  if [ -s "$work/jvm-stderr.log" ]; then
    echo "-- JVM stderr (last 30 lines of $work/jvm-stderr.log):"
    tail -n 30 "$work/jvm-stderr.log"
    summary="${summary:-none}"
  fi
  # The summary stays the last line (a runner that died before printing it counts as a failure).
  case "$summary" in
    *" passed, "*" failed") [ -s "$work/jvm-stderr.log" ] && echo "$summary" ;;
    *) echo "0 passed, 1 failed" ;;
  esac
fi
exit "$status"
