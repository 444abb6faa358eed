#!/usr/bin/env bash
# Interleaved A/B of the thread pool's spinning: the same Release build run with the CLI's runtimeconfig (workers
# block at once, UnfairSemaphoreSpinLimit = 0) and with the .NET default (70 spins, set back by the environment
# variable, which overrides the runtimeconfig), alternating, on bench-passthrough (2 s warm-up excluded).
#   bench/spin-ab.sh [ROUNDS] [SECONDS] [CONF]
# Prints one line per run (MB/s, p50/p99 µs) and the medians. Release build first: TREMOR_CONFIGURATION=Release ./tremor --help
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}" secs="${2:-10}" conf="${3:-$root/hocon/examples/bench-passthrough.conf}"
dll="$root/Tremor.Cli/bin/Release/net10.0/tremor.dll"
[ -f "$dll" ] || { echo "error: no Release build at $dll; run: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s/stop-after-secs = [0-9]*/stop-after-secs = $secs/" "$conf" >"$work/run.conf"
run() { # $1 = label, rest = env assignments
  local label=$1; shift
  local line
  line=$(cd "$root" && env "$@" dotnet "$dll" run "$work/run.conf" 2>/dev/null | grep '^BENCH ' | tail -1)
  python3 -c 'import json,sys; b=json.loads(sys.argv[2][6:]); print("%s %.1f %.0f %.0f" % (sys.argv[1], b["mb_per_s"], b["p50_us"], b["p99_us"]))' "$label" "$line" | tee -a "$work/results"
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then run no-spin; run spin DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70
  else run spin DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=70; run no-spin; fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for label in ("no-spin", "spin"):
    r = [row for row in rows if row[0] == label]
    print("%-8s median MB/s %.1f (min %.1f max %.1f), median p50 %.0f µs, median p99 %.0f µs" % (label,
        statistics.median(float(x[1]) for x in r), min(float(x[1]) for x in r), max(float(x[1]) for x in r),
        statistics.median(float(x[2]) for x in r), statistics.median(float(x[3]) for x in r)))
ns = [float(x[1]) for x in rows if x[0] == "no-spin"]; sp = [float(x[1]) for x in rows if x[0] == "spin"]
print("no-spin / spin, median of per-round ratios: %.2f" % statistics.median(a / b for a, b in zip(ns, sp)))
PY
