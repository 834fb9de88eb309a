#!/usr/bin/env bash
# Runs the JS client's login / push / reconnect gap fill / kick flow (flow.mjs) against the dev
# gateway binary on 127.0.0.1, once with the package's ES-module build and once with its
# CommonJS build (its "main"). Results: target/bench/js_flow_esm.json, js_flow_cjs.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v node >/dev/null || { echo "node (20+) is needed"; exit 1; }
cargo build -q -p imbridge-devserver
(cd benches/js && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p target/bench
# Events on: /dev/pull_requests reads what the client asked for.
coproc SRV { exec target/debug/imbridge-devserver --ws-port 0 --api-port 0 --log-level warn --record-events --exit-on-stdin-eof; }
read -r line <&"${SRV[0]}"; ws=${line#ws_addr=}
read -r line <&"${SRV[0]}"; api=${line#api_addr=}
status=0
for build in esm cjs; do
  echo "== @openim/client-sdk $build build"
  JS_SDK_BUILD=$build node benches/js/flow.mjs "$ws" "$api" "target/bench/js_flow_$build.json" || status=$?
done
exec {SRV[1]}>&-
wait "$SRV_PID" 2>/dev/null || true
exit $status
