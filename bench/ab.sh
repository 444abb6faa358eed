#!/usr/bin/env bash
# Interleaved A/B of two Release builds (two checkouts of this repository, each built with
# `TREMOR_CONFIGURATION=Release ./tremor --help`) on bench flows: every round runs each flow once with each build,
# alternating which goes first, so the load of the machine hits both alike. Prints every run and, per flow, the
# median events/s of each build and the median of the per-round after/before ratios, the spread of each build's runs
# (min / median: a bimodal flow shows it) and CPU ns per event (when both builds' bench sinks report it; what a loaded
# machine distorts least).
#   bench/ab.sh BEFORE-CHECKOUT AFTER-CHECKOUT ROUNDS FLOW.conf...
# A flow is a bench flow run from the checkout's root (relative paths such as data/... resolve there), e.g.
# hocon/examples/bench-passthrough.conf.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,8p "$0" >&2; exit 2; }
before=$(cd "$1" && pwd) after=$(cd "$2" && pwd) rounds=$3
shift 3
for build in "$before" "$after"; do
  [ -f "$build/Tremor.Cli/bin/Release/net10.0/tremor.dll" ] || { echo "error: no Release build in $build; run there: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() { # build label conf
  local line
  line=$(cd "$1" && dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$3" 2>/dev/null | grep '^BENCH ' | tail -1) || true
  [ -n "$line" ] || { echo "error: $2 on $3 printed no BENCH line" >&2; exit 1; }
  python3 -c 'import json,sys; b=json.loads(sys.argv[3][6:]); print("%s %s %d %.0f %.0f %.0f %.0f" % (sys.argv[1], sys.argv[2], int(sys.argv[4]), b["events_per_s"], b["p50_us"], b["p99_us"], b.get("cpu_ns_per_event", 0)))' \
    "$(basename "$3")" "$2" "$line" "$r" | tee -a "$results"
}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < rounds; r++)); do
  for conf in "$@"; do
    conf=$(realpath "$conf")
    if ((r % 2 == 0)); then run "$before" before "$conf"; run "$after" after "$conf"
    else run "$after" after "$conf"; run "$before" before "$conf"; fi
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for flow, label, r, eps, p50, p99, cpu in (l.split() for l in open(sys.argv[1])):
    runs[flow].setdefault(label, {})[int(r)] = (float(eps), float(p50), float(p99), float(cpu))
for flow, by in runs.items():
    b, a = by["before"], by["after"]
    med = lambda d, i: statistics.median(v[i] for v in d.values())
    ratios = [a[r][0] / b[r][0] for r in b if r in a]
    print("%s: before %.0f events/s (p50 %.0f, p99 %.0f µs), after %.0f events/s (p50 %.0f, p99 %.0f µs), after/before %.2f (faster in %d of %d rounds)"
          % (flow, med(b, 0), med(b, 1), med(b, 2), med(a, 0), med(a, 1), med(a, 2), statistics.median(ratios), sum(x > 1 for x in ratios), len(ratios)))
    spread = lambda d: min(v[0] for v in d.values()) / med(d, 0)
    cpu = lambda d: "%.0f ns/event" % med(d, 3) if all(v[3] > 0 for v in d.values()) else "not reported"
    print("  min / median: before %.0f %%, after %.0f %%; CPU: before %s, after %s" % (100 * spread(b), 100 * spread(a), cpu(b), cpu(a)))
PY
