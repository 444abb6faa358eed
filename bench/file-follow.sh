#!/usr/bin/env bash
# file follow throughput against the read-once mode, on one generated file of SIZE_MB megabytes of JSON lines
# (~100 bytes each). Both variants run the same flow: file -> query pipeline -> blackhole, and a last line "END"
# routed to the exit connector ends the run:
#   read     mode = read, preprocessors = ["separate"] (the file streamed in 64 KiB chunks, lines split by the runtime)
#   follow   mode = follow (lines framed by the source, one event each, acknowledged end to end, checkpointed)
# Interleaved, ROUNDS rounds, one run, so the ratio is comparable on a noisy machine. The time is the whole
# `tremor run` (start-up included: about a second, small against 1 GB).
# Usage: bench/file-follow.sh [SIZE_MB] [ROUNDS]
#   CONFIGURATION=Debug NO_BUILD=1 bench/file-follow.sh 1 1    (a quick check that it runs end to end)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
size_mb=${1:-1024}
rounds=${2:-3}
configuration=${CONFIGURATION:-Release}
if [[ -z "${NO_BUILD:-}" ]]; then
  echo "==> building $configuration" >&2
  dotnet build Tremor.sln -c "$configuration" -nologo -v q -clp:ErrorsOnly >&2
fi
tremor="dotnet Tremor.Cli/bin/$configuration/net10.0/tremor.dll"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

lines=$(( size_mb * 1024 * 1024 / 100 ))
echo "==> writing $size_mb MB ($lines lines) to $work/in.log" >&2
awk -v n="$lines" 'BEGIN { pad = sprintf("%58s", ""); gsub(/ /, "x", pad);
  for (i = 0; i < n; i++) printf "{\"n\":%09d,\"level\":\"info\",\"msg\":\"%s\"}\n", i, pad; print "END" }' > "$work/in.log"
bytes=$(stat -c %s "$work/in.log")

write_conf() { # variant connector-config preprocessors
  cat > "$work/$1.conf" <<CONF
tremor {
  data-dir = "$work/data-$1"
  flows.bench {
    connectors {
      src { type = file, codec = string, preprocessors = [$3], config { $2 } }
      hole { type = blackhole, codec = string }
      done { type = exit }
    }
    pipelines {
      main {
        query = """
          select event from in into out;
          select event from in where event == "END" into out/done;
        """
      }
    }
    links = ["src -> main", "main/out -> hole", "main/done -> done"]
  }
}
CONF
}
write_conf read "path = \"$work/in.log\", mode = read" '"separate"'
write_conf follow "path = \"$work/in.log\", mode = follow" ''

declare -A total
for round in $(seq 1 "$rounds"); do
  for variant in read follow; do
    rm -rf "$work/data-$variant"
    start=$(date +%s%N)
    if ! $tremor run "$work/$variant.conf" >"$work/$variant.out" 2>"$work/$variant.err"; then
      echo "$variant failed:" >&2; tail -5 "$work/$variant.err" >&2; exit 1
    fi
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    total[$variant]=$(( ${total[$variant]:-0} + ms ))
    printf '%-7s round %d: %6d ms  %8.1f MB/s\n' "$variant" "$round" "$ms" "$(echo "$bytes / 1048576 / ($ms / 1000)" | bc -l)"
  done
done
read_ms=$(( total[read] / rounds )); follow_ms=$(( total[follow] / rounds ))
printf 'mean: read %d ms, follow %d ms; follow/read throughput = %.2f\n' "$read_ms" "$follow_ms" "$(echo "$read_ms / $follow_ms" | bc -l)"
