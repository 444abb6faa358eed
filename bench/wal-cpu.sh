#!/usr/bin/env bash
# CPU time per event of the wal flow against the in-memory flow (issue 15), the figure the machine's load does not
# distort the way it distorts throughput. For each checkout (a Release build: TREMOR_CONFIGURATION=Release
# ./tremor --help in it), in interleaved rounds:
#   memory: bench -> passthrough -> blackhole
#   wal:    bench -> wal (group commit 5 ms) -> passthrough -> blackhole
# each run once: after WARMUP seconds (start, JIT tiering) the process's user+system CPU (/proc/PID/stat) and the
# events the blackhole took in (the management API's /v1/status) are read, and again WINDOW seconds later; the
# difference of the two over the difference of the events is the CPU per event of the steady state, whatever share
# of the cores the run got. Also per run: cores busy (CPU over the window: only meaningful on a quiet machine) and
# voluntary context switches per event (threads that blocked to wait for another: the hops between threads).
# Usage: bench/wal-cpu.sh ROUNDS WARMUP WINDOW CHECKOUT...      e.g. bench/wal-cpu.sh 3 10 20 ../before .
# VARIANTS="wal" runs only the wal flow (comparing checkouts of the wal alone); the events per second of each run are
# printed with it (a throughput figure only on a quiet machine).
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,14p "$0" >&2; exit 2; }
variants=${VARIANTS:-memory wal}
rounds=$1 warmup=$2 window=$3
shift 3
source "$(dirname "$0")/checkouts.sh"
checkouts=()
for c in "$@"; do checkouts+=("$(release_checkout "$c")"); done
work=$(mktemp -d)
pid=""
# dotnet-counters (dotnet tool install -g dotnet-counters), when found, adds allocations and thread hops per event.
counters=$(command -v dotnet-counters || true)
counters=${DOTNET_COUNTERS:-$counters}
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

conf() { # variant -> file
  local file="$work/$1.conf" buffer="" link='"src -> main"'
  if [ "$1" = wal ]; then
    buffer='buffer { type = wal, config { max-bytes = 4GiB } }'
    link='"src -> buffer", "buffer -> main"'
  fi
  cat > "$file" <<CONF
tremor.data-dir = "$work/data"
tremor.api { enabled = on, port = $port, token = "$token" }
tremor.flows.walcpu {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = 100000000 } }
    $buffer
    snk { type = blackhole, codec = json }
  }
  pipelines { main { type = passthrough } }
  links = [$link, "main -> snk"]
}
CONF
  echo "$file"
}

events() { # the blackhole's events in, once the API answers
  local status
  for _ in $(seq 1 120); do
    if status=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/status"); then
      python3 -c 'import json,sys; print(next(c["events_in"] for c in json.load(sys.stdin)["connectors"] if c["alias"] == "walcpu::snk"))' <<<"$status"
      return
    fi
    sleep 0.5
  done
  echo "error: the management API did not answer" >&2
  exit 1
}

sample() { # -> "cpu_ticks events voluntary_switches"
  local ticks switches
  events >/dev/null
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  # Voluntary context switches of every thread: a thread that blocks to wait for another (a hop between threads).
  switches=$(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}')
  echo "$ticks $(events) $switches"
}

run() { # checkout variant -> µs CPU per event
  rm -rf "$work/data"
  (cd "$1" && exec dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll run "$(conf "$2")" >"$work/out" 2>&1) &
  pid=$!
  events >/dev/null # started
  sleep "$warmup"
  read -r t0 e0 s0 <<<"$(sample)"
  if [ -n "$counters" ]; then
    # Bytes allocated and thread-pool work items (hops between threads) in the same window: neither depends on load.
    "$counters" collect -p "$pid" --counters System.Runtime --format csv -o "$work/counters.csv" \
      --refresh-interval 1 --duration "$(printf '%02d:%02d:%02d' $((window / 3600)) $((window % 3600 / 60)) $((window % 60)))" >/dev/null 2>&1 || true
  else
    sleep "$window"
  fi
  read -r t1 e1 s1 <<<"$(sample)"
  kill -TERM "$pid"
  wait "$pid" || true
  pid=""
  local allocated=0 items=0
  if [ -f "$work/counters.csv" ]; then
    allocated=$(grep 'gc.heap.total_allocated' "$work/counters.csv" | awk -F, '{s += $NF} END {print s + 0}')
    items=$(grep 'thread_pool.work_item.count' "$work/counters.csv" | awk -F, '{s += $NF} END {print s + 0}')
    rm -f "$work/counters.csv"
  fi
  awk -v t="$((t1 - t0))" -v e="$((e1 - e0))" -v hz="$(getconf CLK_TCK)" -v a="${allocated:-0}" -v w="${items:-0}" -v s="$((s1 - s0))" -v win="$window" \
    'BEGIN { if (e > 0) printf "%.3f %d %.1f %.0f %.4f %.4f %.2f", 1e6 * t / hz / e, e, t / hz, a / e, w / e, s / e, t / hz / win; else print "nan 0 0 0 0 0 0" }'
}

results="$work/results"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 0; r < rounds; r++)); do
  for variant in $variants; do
    order=("${checkouts[@]}")
    if ((r % 2 == 1)); then order=($(printf '%s\n' "${checkouts[@]}" | tac)); fi
    for c in "${order[@]}"; do
      read -r us events cpu bytes items switches cores <<<"$(run "$c" "$variant")"
      echo "$c $variant $r $us $bytes $items $switches $cores $((events / window))" >>"$results"
      printf '  round %d %-6s %s: %s µs CPU/event (%s s CPU for %s events = %s events/s, %s cores busy), %s voluntary context switches, %s B allocated and %s thread-pool work items per event; load %s\n' \
        "$((r + 1))" "$variant" "$c" "$us" "$cpu" "$events" "$((events / window))" "$cores" "$switches" "$bytes" "$items" "$(cut -d' ' -f1 /proc/loadavg)" >&2
    done
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$results" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(list)
for checkout, variant, _, us, allocated, items, switches, cores, rate in (l.split() for l in open(sys.argv[1])):
    by[(checkout, variant)].append((float(us), float(allocated), float(items), float(switches), float(cores), float(rate)))
def med(c, v, i): return statistics.median(x[i] for x in by[(c, v)]) if by[(c, v)] else float("nan")
print("| checkout | memory µs CPU/event | wal µs CPU/event | wal - memory | memory / wal | cores busy memory, wal | voluntary switches/event memory, wal | B allocated/event memory, wal | work items/event memory, wal |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for checkout in dict.fromkeys(c for c, _ in by):
    m, w = med(checkout, "memory", 0), med(checkout, "wal", 0)
    if m != m or w != w:
        print("| %s | only the wal: %.3f µs CPU/event, %.0f events/s, cores busy %.2f, voluntary switches/event %.4f, B allocated/event %.0f |" % (checkout, w, med(checkout, "wal", 5), med(checkout, "wal", 4), med(checkout, "wal", 3), med(checkout, "wal", 1)))
        continue
    print("| %s | %.3f | %.3f | %.3f | %.1f %% | %.2f, %.2f | %.4f, %.4f | %.0f, %.0f | %.4f, %.4f |" % (checkout, m, w, w - m, 100 * m / w,
          med(checkout, "memory", 4), med(checkout, "wal", 4), med(checkout, "memory", 3), med(checkout, "wal", 3),
          med(checkout, "memory", 1), med(checkout, "wal", 1), med(checkout, "memory", 2), med(checkout, "wal", 2)))
PY
