# Sourced by the bench scripts that compare checkouts of this repository (each a Release build).

# Prints the absolute path of checkout $1, or stops the script with what to run there when it has no Release build.
release_checkout() {
  local c
  c=$(cd "$1" && pwd)
  [ -f "$c/Tremor.Cli/bin/Release/net10.0/tremor.dll" ] || { echo "error: no Release build in $c; run there: TREMOR_CONFIGURATION=Release ./tremor --help" >&2; exit 1; }
  echo "$c"
}

# Prints the flow of the isolated-sink benchmarks: bench (checkout $1's data.json, $3 x 100 events) -> passthrough ->
# c-blackhole with isolation = $2 (in-process | process, optionally followed by more settings of the sink connector,
# e.g. "process linger = 0"). With INTERVAL (e.g. 3300ns) the source is throttled to one event per interval; with
# LATENCY=1 c-blackhole records each event's latency after the first quarter of the run (a build that has latency-after).
isolated_sink_flow() {
  local throttle="" latency=""
  [ -n "${INTERVAL:-}" ] && throttle=", interval = \"$INTERVAL\""
  [ "${LATENCY:-0}" = 1 ] && latency="config { latency-after = $(($3 * 25)) }"
  cat <<CONF
tremor.flows.bench {
 connectors {
  src { type = bench, codec = json, config { path = "$1/data/data.json.xz", iterations = $3$throttle } }
  snk { type = c-blackhole, codec = json, isolation = ${2%% *}
${2#"${2%% *}"}
$latency }
 }
 pipelines { main { type = passthrough } }
 links = ["src -> main", "main -> snk"]
}
CONF
}
