#!/usr/bin/env bash
# Where a flow's GC work comes from: runs CONF with this checkout's Release build, traces the runtime's GC events for
# SECONDS after WARMUP seconds (dotnet-trace, installed as a .NET tool when missing), and prints bytes allocated by
# type, why each collection ran, what survived (promoted bytes per collection), the pauses (count, total, share of the
# time) and the stacks of large-object allocations and of the TYPES named (substrings of type names, e.g. "EventId[]").
# These figures do not depend on the machine's load the way throughput does.
# Usage: bench/gc-trace.sh CONF [SECONDS] [WARMUP] [TYPE...]      e.g. bench/gc-trace.sh flow.conf 5 10 "EventId[]"
# (Release build first: TREMOR_CONFIGURATION=Release ./tremor --help)
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,8p "$0" >&2; exit 2; }
conf=$(realpath "$1")
seconds=${2:-5}
warmup=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
cd "$(dirname "$0")/.."
source bench/checkouts.sh
checkout=$(release_checkout .)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-trace >/dev/null || dotnet tool install -g dotnet-trace >&2
dotnet build bench/Tremor.GcTrace -c Release -nologo -v q -clp:ErrorsOnly >&2
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
dotnet "$checkout/Tremor.Cli/bin/Release/net10.0/tremor.dll" run "$conf" >"$work/out" 2>&1 &
pid=$!
sleep "$warmup"
kill -0 "$pid" 2>/dev/null || { echo "error: the flow ended within the warm-up of ${warmup}s:" >&2; tail -20 "$work/out" >&2; exit 1; }
dotnet-trace collect -p "$pid" --providers Microsoft-Windows-DotNETRuntime:0x1:5 \
  --duration "$(printf '00:%02d:%02d:%02d' $((seconds / 3600)) $((seconds % 3600 / 60)) $((seconds % 60)))" -o "$work/gc.nettrace" >/dev/null
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet bench/Tremor.GcTrace/bin/Release/net10.0/Tremor.GcTrace.dll "$work/gc.nettrace" "$@"
