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
# e.g. "process linger = 0").
isolated_sink_flow() {
  cat <<CONF
tremor.flows.bench {
 connectors {
  src { type = bench, codec = json, config { path = "$1/data/data.json.xz", iterations = $3 } }
  snk { type = c-blackhole, codec = json, isolation = ${2%% *}
${2#"${2%% *}"} }
 }
 pipelines { main { type = passthrough } }
 links = ["src -> main", "main -> snk"]
}
CONF
}
