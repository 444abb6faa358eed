#!/usr/bin/env bash
# Interleaved A/B of two Release builds on bench/run's whole-run passthrough-json flow (2,000,000 events by default,
# process start and JIT warm-up included): every round runs each build once, alternating which goes first. Prints
# every run (CPU seconds user + sys of the whole process, seconds from flow deployed to flow completed, MB/s) and
# the medians and per-round after/before ratios. CPU seconds are what load does not distort much; MB/s needs a
# quiet machine.
#   bench/warmup-ab.sh BEFORE-CHECKOUT AFTER-CHECKOUT ROUNDS [ITERATIONS]
# Each checkout is built with `TREMOR_CONFIGURATION=Release ./tremor --help` first.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,8p "$0" >&2; exit 2; }
before=$(cd "$1" && pwd) after=$(cd "$2" && pwd) rounds=$3 iterations=${4:-20000}
for build in "$before" "$after"; do
  [ -f "$build/Tremor.Cli/bin/Release/net10.0/tremor.dll" ] || { echo "error: no Release build in $build; run there: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # checkout label round
  cat >"$work/$2.conf" <<EOF
tremor.flows.bench {
 connectors { src { type = bench, codec = json, config { path = "$1/data/data.json.xz", iterations = $iterations } } }
 pipelines { main { type = passthrough } }
 links = ["src -> main", "main -> src"]
}
EOF
  (cd "$1" && /usr/bin/time -f "TIME %U %S" dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$work/$2.conf" >/dev/null 2>"$work/err") ||
    { cat "$work/err" >&2; echo "error: $2 failed" >&2; exit 1; }
  python3 - "$work/err" "$2" "$3" "$iterations" <<'PY' | tee -a "$work/results"
import re, sys
err = open(sys.argv[1]).read()
user, sys_ = re.search(r"TIME ([\d.]+) ([\d.]+)", err).groups()
def ms(line):
    h, m, s = line.split(" ")[0].split(":")
    return (int(h) * 60 + int(m)) * 60 + float(s)
t = [ms(l) for l in err.splitlines() if "flow 'bench' deployed" in l or "flow 'bench' completed" in l]
elapsed = t[1] - t[0]
print("%s %s %.2f %.2f %.1f" % (sys.argv[3], sys.argv[2], float(user) + float(sys_), elapsed, int(sys.argv[4]) * 63015 / 1e6 / elapsed))
PY
}
echo "round build cpu_s run_s MB/s"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then run "$before" before "$r"; run "$after" after "$r"
  else run "$after" after "$r"; run "$before" before "$r"; fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(dict)
for r, label, cpu, run_s, mbs in (l.split() for l in open(sys.argv[1])):
    by[label][int(r)] = (float(cpu), float(run_s), float(mbs))
b, a = by["before"], by["after"]
med = lambda d, i: statistics.median(v[i] for v in d.values())
cpu = [a[r][0] / b[r][0] for r in b if r in a]
run = [a[r][1] / b[r][1] for r in b if r in a]
print("before: CPU %.2f s, run %.2f s, %.1f MB/s; after: CPU %.2f s, run %.2f s, %.1f MB/s (medians)"
      % (med(b, 0), med(b, 1), med(b, 2), med(a, 0), med(a, 1), med(a, 2)))
print("after/before per round (median): CPU %.2f (less in %d of %d rounds), run time %.2f (shorter in %d of %d)"
      % (statistics.median(cpu), sum(x < 1 for x in cpu), len(cpu), statistics.median(run), sum(x < 1 for x in run), len(run)))
PY
