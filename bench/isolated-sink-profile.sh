#!/usr/bin/env bash
# Where the isolated native C sink's extra CPU goes (issue 22): one checkout (Release build), the flow of
# bench/isolated-sink.sh (bench -> passthrough -> c-blackhole) in process and with isolation = process, each run
# `perf record`ed (tremor and its plugin host, call graphs, the .NET side through its perf map), ROUNDS interleaved
# pairs. Samples (1 ms of CPU each at -F 999) are put in the first class their stack matches, so the two modes compare
# class by class: the same decode and encode code in both, and what only isolation adds (the sink call with its
# copy into the shared region, the host process, wake-ups).
# Usage: bench/isolated-sink-profile.sh ROUNDS ITERATIONS [CHECKOUT]      e.g. bench/isolated-sink-profile.sh 3 20000
# MODES="process" profiles one mode only (default "in-process|process"; |-separated, a mode may carry settings of the
# sink connector, as in bench/isolated-sink.sh: MODES="process linger = 0|process"); BATCH_SIZE=512 sets
# tremor.data-path.batch-size (default 128): the per-call classes fall with the calls, the per-event ones do not.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,10p "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/checkouts.sh"
rounds=$1 iterations=$2 c=$(release_checkout "${3:-.}")
command -v perf > /dev/null || { echo "error: perf not found (apt-get install linux-perf)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  IFS='|' read -ra modes <<< "${MODES:-in-process|process}"
  for mode in "${modes[@]}"; do
    { echo "tremor.data-path.batch-size = ${BATCH_SIZE:-128}"; isolated_sink_flow "$c" "$mode" "$iterations"; } > "$work/flow.conf"
    (cd "$c" && DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F 999 -g -o "$work/perf.data" \
      -- dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$work/flow.conf" > "$work/run.log" 2>&1) \
      || { tail -20 "$work/run.log" >&2; exit 1; }
    perf script -i "$work/perf.data" -F comm,ip,sym,dso 2> /dev/null | PYTHONPATH="$here" python3 -c '
import sys
from perf_samples import classify
r, mode = sys.argv[1:]
classes = [
    ("plugin host process", lambda comm, stack: comm.startswith("tremor-plugin")),
    ("decode, user code", lambda comm, stack: any("SourceDecoder" in f or "JsonDecoder" in f for f in stack) and "kernel.kallsyms" not in stack[0] and "libcoreclr" not in stack[0]),
    ("encode, user code", lambda comm, stack: any("SinkEncoder" in f or "JsonEncoder" in f for f in stack) and "kernel.kallsyms" not in stack[0] and "libcoreclr" not in stack[0]),
    ("sink call: copy into region", lambda comm, stack: any("IsolatedConnector" in f for f in stack) and "memmove" in stack[0]),
    ("sink call: kernel (pipe, poll, wake-ups)", lambda comm, stack: any("IsolatedConnector" in f or "PluginHostProcess" in f or "NativeConnector" in f for f in stack) and "kernel.kallsyms" in stack[0]),
    ("sink call: the rest", lambda comm, stack: any("IsolatedConnector" in f or "PluginHostProcess" in f or "NativeConnector" in f for f in stack)),
    ("runtime under decode/encode (allocation, GC)", lambda comm, stack: "libcoreclr" in stack[0] and any("SourceDecoder" in f or "JsonDecoder" in f or "SinkEncoder" in f or "JsonEncoder" in f for f in stack)),
    ("JIT compiler", lambda comm, stack: any("libclrjit" in f for f in stack)),
    ("other kernel", lambda comm, stack: "kernel.kallsyms" in stack[0]),
]
counts, total = classify(sys.stdin, classes, "other")
print("round %s %s: %d samples" % (r, mode, total))
for name, _ in classes + [("other", None)]:
    print("  %6d  %5.1f %%  %s" % (counts[name], 100.0 * counts[name] / max(total, 1), name))
' "$r" "$mode"
    grep -o "c-blackhole: .*" "$work/run.log" | tail -1 | sed 's/^/  /' || true # the last log line can miss the run's end
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
