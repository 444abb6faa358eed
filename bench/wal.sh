#!/usr/bin/env bash
# The wal's cost and its recovery time (issue 15), in one run so the ratio is comparable on a noisy machine:
#   1. throughput, interleaved rounds: bench -> passthrough -> blackhole against
#      bench -> wal (default group commit, 5 ms) -> passthrough -> blackhole; blackhole's own figure after its warm-up.
#      Goal: with the wal at least 50 % of the in-memory throughput.
#   2. recovery: a wal filled with RECOVERY_MB of events (bench -> wal, nothing downstream, so nothing is truncated),
#      then opened again: the wal logs how long opening took (recovery and the check of every entry).
# Usage: bench/wal.sh [ROUNDS] [SECONDS] [RECOVERY_MB]      (defaults 3, 10, 1024)
# TREMOR_CONFIGURATION=Debug uses the Debug build (for checking the script, not for figures); TREMOR_SKIP_BUILD=1
# uses the build as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rounds=${1:-3}
seconds=${2:-10}
recovery_mb=${3:-1024}
config=${TREMOR_CONFIGURATION:-Release}
if [ -z "${TREMOR_SKIP_BUILD:-}" ]; then
  echo "==> building $config" >&2
  dotnet build Tremor.sln -c "$config" -nologo -v q -clp:ErrorsOnly >&2
fi
tremor="dotnet Tremor.Cli/bin/$config/net10.0/tremor.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
warmup=$(( seconds / 5 ))
stop=$(( seconds + warmup ))

cat > "$work/memory.conf" <<CONF
tremor.flows.walbench {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = 100000000 } }
    snk { type = blackhole, codec = json, config { warmup-secs = $warmup, stop-after-secs = $stop } }
  }
  pipelines { main { type = passthrough } }
  links = ["src -> main", "main -> snk"]
}
CONF
cat > "$work/wal.conf" <<CONF
tremor.data-dir = "$work/data-throughput"
tremor.flows.walbench {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = 100000000 } }
    buffer { type = wal, config { max-bytes = 4GiB } }
    snk { type = blackhole, codec = json, config { warmup-secs = $warmup, stop-after-secs = $stop } }
  }
  pipelines { main { type = passthrough } }
  links = ["src -> buffer", "buffer -> main", "main -> snk"]
}
CONF

throughput() { grep -m1 -o 'throughput: [0-9.]* MB/s' <<<"$1" | awk '{print $2}'; }
declare -A figures
for round in $(seq 1 "$rounds"); do
  for variant in memory wal; do
    rm -rf "$work/data-throughput"
    out=$($tremor run "$work/$variant.conf" 2>"$work/$variant.err" || true)
    mbs=$(throughput "$out")
    if [ -z "$mbs" ]; then echo "no throughput from the $variant run:" >&2; tail -20 "$work/$variant.err" >&2; exit 1; fi
    figures[$variant]+="$mbs "
    printf '  round %d/%d %-6s %10s MB/s\n' "$round" "$rounds" "$variant" "$mbs" >&2
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
memory=$(median "${figures[memory]}")
wal=$(median "${figures[wal]}")
echo
echo "date $(date -u +%F), commit $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds of ${seconds}s"
echo "| flow | median MB/s | rounds | vs in memory |"
echo "|---|---:|---|---:|"
echo "| bench -> passthrough -> blackhole | $memory | ${figures[memory]}| 100 % |"
echo "| bench -> wal (group commit 5 ms) -> passthrough -> blackhole | $wal | ${figures[wal]}| $(awk -v a="$wal" -v b="$memory" 'BEGIN {printf "%.1f %%", 100 * a / b}') |"

# Recovery: fill (the wal's out is not linked: nothing reads, nothing is truncated), then open it again.
iterations=$(( recovery_mb * 1048576 / 50000 + 1 ))
cat > "$work/fill.conf" <<CONF
tremor.data-dir = "$work/data-recovery"
tremor.flows.walbench {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = $iterations } }
    buffer { type = wal, config { max-bytes = $(( recovery_mb * 2 + 64 ))MiB } }
  }
  links = ["src -> buffer"]
}
CONF
cat > "$work/recover.conf" <<CONF
tremor.data-dir = "$work/data-recovery"
tremor.flows.walbench {
  connectors {
    buffer { type = wal, config { max-bytes = $(( recovery_mb * 2 + 64 ))MiB } }
    snk { type = blackhole, codec = json }
  }
  links = ["buffer -> snk"]
}
CONF
echo "==> filling a wal with $iterations replays of data.json" >&2
$tremor run "$work/fill.conf" >/dev/null 2>"$work/fill.err" || { tail -20 "$work/fill.err" >&2; exit 1; }
size=$(du -sm "$work/data-recovery" | cut -f1)
$tremor run "$work/recover.conf" >/dev/null 2>"$work/recover.err" &
pid=$!
line=""
for _ in $(seq 1 600); do
  line=$(grep -m1 'recovered [0-9]* entries' "$work/recover.err" || true)
  [ -n "$line" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
if [ -z "$line" ]; then echo "the wal reported no recovery:" >&2; tail -20 "$work/recover.err" >&2; exit 1; fi
echo
echo "recovery of a wal of $size MiB on disk: ${line#*: }"
