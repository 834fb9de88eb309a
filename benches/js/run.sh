#!/usr/bin/env bash
# Runs the JS peer benchmark: installs @openim/client-sdk and ws (npm), starts the dev
# gateway as a process on 127.0.0.1, and runs bench.mjs. Results: target/bench/js.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v node >/dev/null || { echo "node (20+) is needed"; exit 1; }
cargo build -q --release -p imbridge-devserver
(cd benches/js && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p target/bench
coproc SRV { exec target/release/imbridge-devserver --ws-port 0 --api-port 0 --log-level warn --exit-on-stdin-eof; }
read -r line <&"${SRV[0]}"; ws=${line#ws_addr=}
read -r line <&"${SRV[0]}"; api=${line#api_addr=}
node --expose-gc benches/js/bench.mjs "$ws" "$api" target/bench
exec {SRV[1]}>&-
wait "$SRV_PID" 2>/dev/null || true
