#!/usr/bin/env bash
# Interleaved A/B of the thread pool's spinning: the same Release build with .NET's default (idle workers spin before
# blocking, what the CLI runs with) and with spinning off (UnfairSemaphoreSpinLimit = 0), alternating, on
# bench-passthrough (2 s warm-up excluded). A case of bench/env-ab.sh, which prints the runs and the medians.
#   bench/spin-ab.sh [ROUNDS] [SECONDS] [CONF]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/env-ab.sh" "${1:-5}" "${2:-10}" "" "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0" ${3:+"$3"}
