#!/usr/bin/env bash
# A/B of one data-path hop per batch: tremor's actors with credits (ActorHopBenchmarks) against the same hop as an
# Akka.Streams stage on an async boundary (StreamsHopBenchmarks), same batch sizes. The figures decide where
# Akka.Streams belongs (docs/DESIGN.md, "Akka.Streams"). Run it on a quiet machine:
#   bench/streams-ab.sh              # BenchmarkDotNet's default job: the figures
#   bench/streams-ab.sh --job dry --inProcess   # one pass each, only to check that it runs
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd "$root"
exec dotnet run -c Release --project bench/Tremor.Benchmarks -- \
  --filter '*ActorHopBenchmarks.OneHopPerBatch*' '*StreamsHopBenchmarks.OneHopPerBatch*' "$@"
