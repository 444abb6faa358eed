#!/usr/bin/env bash
# Plugin matrix: the same passthrough-json flow (bench source -> passthrough -> sink) with three sinks,
# interleaved, several rounds, in one run so the ratios are comparable on a noisy machine:
#   builtin   the bench connector's own sink side (managed, loaded as a plugin like every connector)
#   managed   the blackhole connector (managed plugin)
#   native    c-blackhole (C, loaded with dlopen, in-process, behind the proxy actor)
# Each run replays data.json ITERATIONS times; the time is from "flow deployed" to "flow completed".
# Usage: bench/plugin-matrix.sh [ROUNDS] [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rounds=${1:-5}
iterations=${2:-20000}
echo "==> building Release" >&2
dotnet build Tremor.sln -c Release -nologo -v q -clp:ErrorsOnly >&2
tremor="dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

write_conf() { # name sink-type
  cat > "$work/$1.conf" <<CONF
tremor.flows.matrix {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = $iterations } }
    snk { type = $2, codec = json }
  }
  pipelines { main { type = passthrough } }
  links = ["src -> main", "main -> snk"]
}
CONF
}
cat > "$work/builtin.conf" <<CONF
tremor.flows.matrix {
  connectors {
    src { type = bench, codec = json, config { path = "data/data.json.xz", iterations = $iterations } }
  }
  pipelines { main { type = passthrough } }
  links = ["src -> main", "main -> src"]
}
CONF
write_conf managed blackhole
write_conf native c-blackhole

to_ms() { IFS=':.' read -r h m s ms <<<"$1"; echo $(( ((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$ms )); }
declare -A times
for round in $(seq 1 "$rounds"); do
  for variant in builtin managed native; do
    log=$($tremor run "$work/$variant.conf" 2>&1 >/dev/null)
    start=$(grep -m1 "flow 'matrix' deployed" <<<"$log" | cut -d' ' -f1)
    end=$(grep -m1 "flow 'matrix' completed" <<<"$log" | cut -d' ' -f1)
    ms=$(( $(to_ms "$end") - $(to_ms "$start") ))
    times[$variant]+="$ms "
    printf '\r  round %d/%d %-8s %6d ms' "$round" "$rounds" "$variant" "$ms" >&2
  done
done
echo >&2
events=$((iterations * 100))
bytes=$((iterations * 63015))
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk 'NR==1{min=$1} {max=$1} END {print min "-" max}'; }
base=$(median "${times[builtin]}")
printf '| sink | median ms | spread ms | MB/s | events/s | vs built-in |\n|---|---:|---:|---:|---:|---:|\n'
for variant in builtin managed native; do
  m=$(median "${times[$variant]}")
  awk -v v="$variant" -v m="$m" -v s="$(spread "${times[$variant]}")" -v b="$bytes" -v e="$events" -v base="$base" \
    'BEGIN { printf "| %s | %d | %s | %.1f | %.0f | %.1f %% |\n", v, m, s, b/1e6/(m/1000), e/(m/1000), 100*base/m }'
done
