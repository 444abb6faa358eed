#!/usr/bin/env bash
# The native C sink in process and isolated (issue 22): CPU per event, context switches per call and events per call,
# the figures the machine's load distorts least. For each checkout (a Release build: TREMOR_CONFIGURATION=Release
# ./tremor --help in it), in interleaved rounds, each of
#   bench (data.json, ITERATIONS x 100 events) -> passthrough -> c-blackhole, isolation = in-process | process
# runs once under `perf stat` (task-clock and context switches of tremor and its plugin host), and c-blackhole's own
# count of calls is read from its last log line.
# MODES (default "in-process|process") lists the runs per checkout and round, separated by |: an isolation mode, then
# optionally settings for the sink connector, e.g. MODES="in-process|process linger = 0|process" (a build that knows them).
# LATENCY=1 adds c-blackhole's p50 / p99 (after the first quarter of the events), INTERVAL=3300ns throttles the source
# (e.g. to half of the isolated flow's maximum, as bench/targets does for its latency row).
# Usage: bench/isolated-sink.sh ROUNDS ITERATIONS CHECKOUT...      e.g. bench/isolated-sink.sh 5 20000 ../before .
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,8p "$0" >&2; exit 2; }
rounds=$1 iterations=$2
shift 2
command -v perf > /dev/null || { echo "error: perf not found (apt-get install linux-perf)" >&2; exit 1; }
source "$(dirname "$0")/checkouts.sh"
checkouts=()
for c in "$@"; do checkouts+=("$(release_checkout "$c")"); done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
IFS='|' read -ra modes <<< "${MODES:-in-process|process}"
printf '%-40s %-24s %10s %10s %8s %8s %8s\n' checkout isolation "CPU ms" "ns/event" calls ev/call cs/call
for ((r = 0; r < rounds; r++)); do
  for c in "${checkouts[@]}"; do
    for mode in "${modes[@]}"; do
      isolated_sink_flow "$c" "$mode" "$iterations" > "$work/flow.conf"
      out=$(cd "$c" && perf stat -x, -e task-clock,context-switches dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$work/flow.conf" 2>&1) || { echo "$out" | tail -20 >&2; exit 1; }
      python3 - "$c" "$mode" "$out" <<'PY'
import re, sys
c, mode, out = sys.argv[1:]
clock = float(re.search(r"^([\d.]+),msec,task-clock", out, re.M).group(1))
cs = int(re.search(r"^(\d+),,context-switches", out, re.M).group(1))
m = re.search(r"c-blackhole: (\d+) events, \d+ bytes in (\d+) batches", out)
if m is None:
    # The plugin's last log line can be lost when the run's logging stops first: the row is left out, not guessed.
    print("%-40s %-24s %10.0f   (no c-blackhole count in the output)" % (c[-40:], mode, clock))
    sys.exit(0)
events, calls = int(m.group(1)), int(m.group(2))
lat = re.search(r"latency p50 (\d+) us, p99 (\d+) us", out)
print("%-40s %-24s %10.0f %10.0f %8d %8.0f %8.1f%s" % (c[-40:], mode, clock, clock * 1e6 / events, calls, events / calls, cs / calls,
      "   p50 %s us, p99 %s us" % lat.groups() if lat else ""))
PY
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
