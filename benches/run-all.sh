#!/usr/bin/env bash
# Every measurement behind the README's results table, in one run:
#   1. cargo bench --bench perf -- all   (login, redial, kick, push, idle 2×60 s, 1k/10k sessions)
#   1b. cargo bench --bench sync -- all  (lossless delivery: catch-up vs the JS client, stored
#                                         pushes, login with a 100,000-message store)
#   2. benches/size.sh                    (mobile-profile cdylib, host and aarch64 Android)
#   3. benches/js/run.sh                  (the OpenIM JS client as a peer, same gateway)
#   4. platforms/android/run-host-bench.sh, if present (the same through Kotlin/JNA)
#   5. benches/plot.py                    (benches/results/login_latency.png)
# Results: target/bench/*.json and *.csv. Takes about 20 minutes; run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p imbridge-devserver
cargo bench -q --bench perf -- all 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'
(cd benches/js && npm ci --no-audit --no-fund --loglevel=error)
cargo bench -q --bench sync -- all 2>&1 | grep -v '^ *\(Compiling\|Finished\|Running\)'
benches/size.sh
benches/js/run.sh
if [ -x platforms/android/run-host-bench.sh ]; then platforms/android/run-host-bench.sh; fi
python3 -c 'import matplotlib' 2>/dev/null || pip install -q matplotlib
python3 benches/plot.py
