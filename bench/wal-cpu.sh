#!/usr/bin/env bash
# CPU time per event of the wal flow against the in-memory flow (issue 15), the figure the machine's load does not
# distort the way it distorts throughput. For each checkout (a Release build: TREMOR_CONFIGURATION=Release
# ./tremor --help in it), in interleaved rounds:
#   memory: bench -> passthrough -> blackhole
#   wal:    bench -> wal (group commit 5 ms) -> passthrough -> blackhole
# each run twice, for SHORT and for LONG seconds (the blackhole stops the run), with the user+system CPU seconds of
# the whole process (/usr/bin/time) and the events the blackhole received: (CPU long - CPU short) / (events long -
# events short) is the CPU per event with the start, the JIT's warm-up and the stop taken out.
# Usage: bench/wal-cpu.sh ROUNDS SHORT LONG CHECKOUT...      e.g. bench/wal-cpu.sh 3 3 11 . ../before
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,11p "$0" >&2; exit 2; }
rounds=$1 short=$2 long=$3
shift 3
checkouts=()
for c in "$@"; do
  c=$(cd "$c" && pwd)
  [ -f "$c/Tremor.Cli/bin/Release/net10.0/tremor.dll" ] || { echo "error: no Release build in $c; run there: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
  checkouts+=("$c")
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

conf() { # variant seconds -> file
  local file="$work/$1-$2.conf" buffer="" link='"src -> main"'
  if [ "$1" = wal ]; then
    buffer='buffer { type = wal, config { max-bytes = 4GiB } }'
    link='"src -> buffer", "buffer -> main"'
  fi
  cat > "$file" <<CONF
tremor.data-dir = "$work/data"
tremor.flows.walcpu {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = 100000000 } }
    $buffer
    snk { type = blackhole, codec = json, config { stop-after-secs = $2 } }
  }
  pipelines { main { type = passthrough } }
  links = [$link, "main -> snk"]
}
CONF
  echo "$file"
}

run() { # checkout variant seconds -> "cpu_seconds events"
  rm -rf "$work/data"
  local out cpu events
  out=$(cd "$1" && /usr/bin/time -f 'CPU %U %S' dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$(conf "$2" "$3")" 2>&1) || true
  cpu=$(grep -m1 '^CPU ' <<<"$out" | awk '{print $2 + $3}')
  events=$(grep -m1 -o '"events":[0-9]*' <<<"$out" | cut -d: -f2)
  warm=$(grep -m1 -o '"warmup_events":[0-9]*' <<<"$out" | cut -d: -f2)
  [ -n "$cpu" ] && [ -n "$events" ] || { echo "error: no figures from $2 in $1:" >&2; tail -20 <<<"$out" >&2; exit 1; }
  echo "$cpu $((events + ${warm:-0}))"
}

results="$work/results"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 0; r < rounds; r++)); do
  for variant in memory wal; do
    order=("${checkouts[@]}")
    if ((r % 2 == 1)); then order=($(printf '%s\n' "${checkouts[@]}" | tac)); fi
    for c in "${order[@]}"; do
      read -r cpu_s events_s <<<"$(run "$c" "$variant" "$short")"
      read -r cpu_l events_l <<<"$(run "$c" "$variant" "$long")"
      us=$(awk -v a="$cpu_s" -v b="$cpu_l" -v x="$events_s" -v y="$events_l" 'BEGIN { if (y > x) printf "%.3f", 1e6 * (b - a) / (y - x); else print "nan" }')
      echo "$c $variant $r $us" >>"$results"
      printf '  round %d %-6s %s: %s µs CPU/event (%.1f s for %d events, %.1f s for %d)\n' "$((r + 1))" "$variant" "$c" "$us" "$cpu_s" "$events_s" "$cpu_l" "$events_l" >&2
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$results" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(list)
for checkout, variant, _, us in (l.split() for l in open(sys.argv[1])):
    by[(checkout, variant)].append(float(us))
print("| checkout | memory µs CPU/event | wal µs CPU/event | wal - memory | memory / wal |")
print("|---|---:|---:|---:|---:|")
for checkout in dict.fromkeys(c for c, _ in by):
    m, w = statistics.median(by[(checkout, "memory")]), statistics.median(by[(checkout, "wal")])
    print("| %s | %.3f | %.3f | %.3f | %.1f %% |" % (checkout, m, w, w - m, 100 * m / w))
PY
