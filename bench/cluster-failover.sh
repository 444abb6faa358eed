#!/usr/bin/env bash
# Cluster failover time: starts the three nodes of hocon/examples/cluster on this machine (each in a working
# directory of its own), waits until every node sees all three up and the `ticker` flow prints, kills the node
# running it with SIGKILL, and measures the time from the kill to the first tick on the node that took over (the
# tick's ingest_ns, wall clock). Repeats ROUNDS times (default 5) and prints each figure and the median.
#   bench/cluster-failover.sh [ROUNDS]
# Needs curl. Uses the example's ports (4053-4055, API 9901-9903): nothing else may listen there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
config="${TREMOR_CONFIGURATION:-Debug}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
for project in Tremor.Cli/Tremor.Cli.csproj connectors/Tremor.Connectors.Std/Tremor.Connectors.Std.csproj connectors/Tremor.Connectors.File/Tremor.Connectors.File.csproj; do
  dotnet build "$root/$project" -c "$config" -nologo -v q -clp:ErrorsOnly >/dev/null
done
tremor_dll="$root/Tremor.Cli/bin/$config/net10.0/tremor.dll"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# All up in the node's own view and in the coordinator's: 6 times "status": "up" in GET /v1/cluster.
all_up() {
  local dir="$1" port="$2"
  [ -s "$dir/tremor-api.token" ] || return 1
  local body
  body=$(curl -s --max-time 5 -H "Authorization: Bearer $(cat "$dir/tremor-api.token")" "http://127.0.0.1:$port/v1/cluster") || return 1
  [ "$(grep -o '"status": "up"' <<<"$body" | wc -l)" -ge 6 ]
}

first_ns() { { head -1 "$1" 2>/dev/null | grep -o '"ingest_ns":[0-9]*' | cut -d: -f2; } || true; }

results=()
for round in $(seq 1 "$rounds"); do
  pids=()
  for i in 1 2 3; do
    dir="$work/r$round/n$i"
    mkdir -p "$dir"
    (cd "$dir" && exec dotnet "$tremor_dll" run "$root/hocon/examples/cluster/node$i.conf" >out.txt 2>err.txt) &
    pids+=($!)
  done
  deadline=$(( $(date +%s) + 120 ))
  runner=""
  until [ -n "$runner" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "round $round: the cluster did not form within 120 s" >&2; exit 1; }
    sleep 0.5
    ready=1
    for i in 1 2 3; do all_up "$work/r$round/n$i" $((9900 + i)) || ready=0; done
    [ "$ready" = 1 ] || continue
    for i in 1 2 3; do [ -n "$(first_ns "$work/r$round/n$i/out.txt")" ] && runner=$i; done
  done
  killed_at=$(now_ns)
  kill -9 "${pids[$((runner - 1))]}"
  took=""
  deadline=$(( $(date +%s) + 60 ))
  until [ -n "$took" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "round $round: no survivor took the ticker over within 60 s" >&2; exit 1; }
    sleep 0.05
    for i in 1 2 3; do
      [ "$i" = "$runner" ] && continue
      ns=$(first_ns "$work/r$round/n$i/out.txt")
      if [ -n "$ns" ]; then took=$(( (ns - killed_at) / 1000000 )); echo "round $round: killed node $runner, node $i ticked after $took ms"; break; fi
    done
  done
  results+=("$took")
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
echo "failover (SIGKILL to first event on the new node), $rounds rounds: ${sorted[*]} ms; median ${sorted[$(( rounds / 2 ))]} ms"
