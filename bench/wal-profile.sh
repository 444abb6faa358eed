#!/usr/bin/env bash
# Where the wal flow's CPU per event goes, and how far that is from issue 15's goal (the wal flow at 50 % of the
# in-memory throughput). ROUNDS rounds of the two flows of bench/wal.sh, each round: the in-memory flow and the wal
# flow as they are (their throughput and CPU per event, measured by the sink and the process itself), then the wal
# flow again under `perf record` over its steady state only (attached after the warm-up; the .NET side through its
# perf map). Every sample goes to the first class its stack matches; a class's µs of CPU per event is its share of
# the samples times the CPU per event of the unprofiled wal run. Only the wal flow is profiled: on this VM perf
# itself takes the in-memory flow (many context switches per second) from ~1.2 M to ~0.6 M events/s, so its profile
# says little about its unprofiled self; the wal flow loses ~7 %.
# The bound printed: what the wal alone does per event (its classes marked "wal-only") added to the in-memory flow's
# whole CPU per event; at equal cores busy the ratio cannot pass in-memory / (in-memory + wal-only).
# Usage: bench/wal-profile.sh [ROUNDS] [SECONDS]      (defaults 2, 16; Release build of this checkout, made if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rounds=${1:-2}
seconds=${2:-16}
command -v perf > /dev/null || { echo "error: perf not found (apt-get install linux-perf)" >&2; exit 1; }
[ -f Tremor.Cli/bin/Release/net10.0/tremor.dll ] || dotnet build Tremor.sln -c Release -nologo -v q -clp:ErrorsOnly >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
warmup=6
stop=$(( warmup + seconds ))

flow() { # WAL: 1 for the wal flow, 0 for the in-memory one
  [ "$1" = 1 ] && echo "tremor.data-dir = \"$work/data\""
  cat <<CONF
tremor.flows.walprofile {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = 100000000 } }
    snk { type = blackhole, codec = json, config { warmup-secs = $warmup, stop-after-secs = $stop } }
$( [ "$1" = 1 ] && echo '    buffer { type = wal, config { max-bytes = 4GiB } }' )
  }
  pipelines { main { type = passthrough } }
  links = [$( [ "$1" = 1 ] && echo '"src -> buffer", "buffer -> main"' || echo '"src -> main"' ), "main -> snk"]
}
CONF
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
figure() { grep -o "\"$1\":[0-9.]*" "$work/run.log" | tail -1 | cut -d: -f2; }
for ((r = 1; r <= rounds; r++)); do
  declare -A eps cpu
  for variant in memory wal; do
    rm -rf "$work/data"
    flow "$([ "$variant" = wal ] && echo 1 || echo 0)" > "$work/flow.conf"
    dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$work/flow.conf" > "$work/run.log" 2>&1 || { tail -20 "$work/run.log" >&2; exit 1; }
    eps[$variant]=$(figure events_per_s) cpu[$variant]=$(figure cpu_ns_per_event)
    [ -n "${eps[$variant]}" ] && [ -n "${cpu[$variant]}" ] || { echo "no figure from the $variant run:" >&2; tail -20 "$work/run.log" >&2; exit 1; }
  done
  rm -rf "$work/data"
  flow 1 > "$work/flow.conf"
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$work/flow.conf" > "$work/run.log" 2>&1 &
  pid=$!
  # The sink measures from the end of its warm-up to its stop; perf records one second inside each end of that.
  sleep $(( warmup + 1 ))
  perf record -q -F 999 -g -p "$pid" -o "$work/perf.data" -- sleep $(( seconds - 2 )) 2> /dev/null
  wait "$pid" || { tail -20 "$work/run.log" >&2; exit 1; }
  perf script -i "$work/perf.data" -F comm,ip,sym,dso 2> /dev/null | PYTHONPATH=bench python3 -c '
import sys
from perf_samples import classify
r = sys.argv[1]
eps_memory, cpu_memory, eps_wal, cpu_wal, eps_profiled = (float(a) for a in sys.argv[2:])
cpu_memory, cpu_wal = cpu_memory / 1000, cpu_wal / 1000
def has(stack, *names):
    return any(n in f for f in stack for n in names)
classes = [
    ("idle workers spinning (sched_yield, spin-waits)", False, lambda s: has(s, "sched_yield", "SpinWait::", "UnfairSemaphore::Wait", "LowLevelLifoSemaphore::Wait")),
    ("disk writes and fsync (kernel)", True, lambda s: has(s, "__libc_pwrite", "fsync", "fdatasync", "RandomAccess::Write")),
    ("removing truncated segments and old commit files", True, lambda s: has(s, "Sys::Unlink", "FileSystem::DeleteFile", "::RemoveSegment")),
    ("FASTER (append, commit, epochs)", True, lambda s: has(s, "FASTER.core")),
    ("the wal connector (entries, handoff, pulls, acks)", True, lambda s: has(s, "Tremor.Connectors.Wal")),
    ("JSON decode (bench source)", False, lambda s: has(s, "JsonDecoder::", "SourceDecoder::")),
    ("msgpack encode (the wal sink side)", True, lambda s: has(s, "MsgpackCodec::")),
    ("JSON encode (blackhole)", False, lambda s: has(s, "JsonEncoder::")),
    ("acks of a transactional source (the wal source)", True, lambda s: has(s, "AckRouter::", "AckLedger::", "EmittedEntries::")),
    ("runtime: actors, links, pipeline, sink encoder", False, lambda s: has(s, "Tremor.Actors", "Tremor.Pipelines", "Akka")),
    ("JIT compiler", False, lambda s: has(s, "libclrjit")),
    ("kernel, other", False, lambda s: "kernel.kallsyms" in s[0]),
    ("other (GC, runtime native code)", False, lambda s: True),
]
counts, total = classify(sys.stdin, [(name, lambda comm, stack, match=match: match(stack)) for name, _, match in classes], "")
print("round %s: in memory %.0f events/s, %.3f us CPU/event; wal %.0f events/s (%.1f %%), %.3f us CPU/event; profiled wal run %.0f events/s, %d samples"
      % (r, eps_memory, cpu_memory, eps_wal, 100 * eps_wal / eps_memory, cpu_wal, eps_profiled, total))
wal_only = 0.0
for name, only, _ in classes:
    us = cpu_wal * counts[name] / max(total, 1)
    wal_only += us if only else 0
    if counts[name]:
        print("  %7.3f us  %5.1f %%  %s%s" % (us, 100.0 * counts[name] / total, "wal-only: " if only else "", name))
print("  wal-only work %.3f us/event; bound at equal cores busy: %.1f %% (in memory %.3f / (%.3f + %.3f)); the 50 %% goal allows %.3f us/event in all"
      % (wal_only, 100 * cpu_memory / (cpu_memory + wal_only), cpu_memory, cpu_memory, wal_only, 2 * cpu_memory))
' "$r" "${eps[memory]}" "${cpu[memory]}" "${eps[wal]}" "${cpu[wal]}" "$(figure events_per_s)"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
