#!/usr/bin/env bash
# Interleaved A/B of two runtime settings given as environment variables (GC mode, thread-pool spinning, ...): the
# same Release build runs a bench flow with each setting in turn, alternating which goes first, 2 s warm-up excluded.
#   bench/env-ab.sh ROUNDS SECONDS "A=1 B=2" "A=3" [CONF]
# An empty setting ("") runs with the CLI's runtimeconfig as it is. Prints one line per run (MB/s, p50/p99 µs, GC
# pause ms, CPU ns per event, peak RSS MiB) and per setting the medians, then the median of the per-round ratios.
# Release build first: TREMOR_CONFIGURATION=Release ./tremor --help
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,7p "$0" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=$1 secs=$2 first=$3 second=$4 conf="${5:-$root/hocon/examples/bench-passthrough.conf}"
dll="$root/Tremor.Cli/bin/Release/net10.0/tremor.dll"
[ -f "$dll" ] || { echo "error: no Release build at $dll; run: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time (peak RSS) is missing; install Debian's 'time' package: apt-get install -y time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s/stop-after-secs = [0-9]*/stop-after-secs = $secs/" "$conf" >"$work/run.conf"
run() { # $1 = label (a or b), $2 = the setting
  local line rss
  # shellcheck disable=SC2086 # the setting is a list of assignments
  line=$(cd "$root" && /usr/bin/time -f "%M" -o "$work/rss" env $2 dotnet "$dll" run "$work/run.conf" 2>"$work/err" | grep '^BENCH ' | tail -1) || true
  [ -n "$line" ] || { tail -20 "$work/err" >&2; echo "error: the run with setting '$2' printed no BENCH line (its last log lines above)" >&2; exit 1; }
  rss=$(tail -1 "$work/rss")
  python3 -c 'import json,sys; b=json.loads(sys.argv[2][6:]); print("%s %.1f %.0f %.0f %.0f %.0f %.0f" % (sys.argv[1], b["mb_per_s"], b["p50_us"], b["p99_us"], b.get("gc_pause_ms", 0), b.get("cpu_ns_per_event", 0), int(sys.argv[3]) / 1024))' \
    "$1" "$line" "$rss" | tee -a "$work/results"
}
echo "a: '${first}'  b: '${second}'  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "label MB/s p50-µs p99-µs gc-pause-ms cpu-ns/event peak-RSS-MiB"
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then run a "$first"; run b "$second"
  else run b "$second"; run a "$first"; fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda label, i: statistics.median(float(x[i]) for x in rows if x[0] == label)
for label in ("a", "b"):
    r = [float(x[1]) for x in rows if x[0] == label]
    print("%s: median MB/s %.1f (min %.1f max %.1f), p50 %.0f µs, p99 %.0f µs, GC pause %.0f ms, CPU %.0f ns/event, peak RSS %.0f MiB"
          % (label, med(label, 1), min(r), max(r), med(label, 2), med(label, 3), med(label, 4), med(label, 5), med(label, 6)))
a = [float(x[1]) for x in rows if x[0] == "a"]; b = [float(x[1]) for x in rows if x[0] == "b"]
print("b / a, median of per-round ratios: %.2f (b faster in %d of %d rounds)" % (statistics.median(y / x for x, y in zip(a, b)), sum(y > x for x, y in zip(a, b)), len(a)))
PY
