#!/usr/bin/env bash
# imbridge through the FFI from Kotlin on the host JVM: login latency and push throughput
# (platforms/android/host-bench/Bench.kt). Results: target/bench/kotlin.json.
exec "$(dirname "$0")/run-host-tests.sh" --bench
