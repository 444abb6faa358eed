#!/usr/bin/env bash
# Memory while a broker is down (issue 16): a metronome (1 ms) -> passthrough -> mqtt sink (QoS 1, reconnect on)
# runs against a mosquitto started here as a plain process; after WARMUP seconds the server is killed for DOWN
# seconds, then started again on the same port. The runtime's RSS (VmRSS of the tremor process) is sampled every
# second: flat while the server is down means the circuit breaker stopped the source instead of buffering.
# Prints one line per sample and a summary (RSS before, max while down, after), and whether events flowed again.
# Usage: bench/broker-outage.sh [DOWN_SECONDS] [WARMUP_SECONDS]     (defaults 30, 10)
#   TREMOR_CONFIGURATION=Debug checks the script (figures want Release); TREMOR_SKIP_BUILD=1 uses the build as it is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
down="${1:-30}"
warmup="${2:-10}"
config="${TREMOR_CONFIGURATION:-Release}"
export PATH="$HOME/.cargo/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mosquitto=/usr/sbin/mosquitto
[ -x "$mosquitto" ] || { echo "error: mosquitto is needed (apt-get install mosquitto mosquitto-clients)" >&2; exit 2; }
command -v mosquitto_sub >/dev/null || { echo "error: mosquitto_sub is needed (apt-get install mosquitto-clients)" >&2; exit 2; }
if [ -z "${TREMOR_SKIP_BUILD:-}" ]; then
  echo "==> building $config" >&2
  for project in Tremor.Cli/Tremor.Cli.csproj connectors/Tremor.Connectors.Std/Tremor.Connectors.Std.csproj connectors/Tremor.Connectors.Mqtt/Tremor.Connectors.Mqtt.csproj; do
    dotnet build "$root/$project" -c "$config" -nologo -v q -clp:ErrorsOnly >/dev/null
  done
fi

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$work/m.conf"
start_server() {
  "$mosquitto" -c "$work/m.conf" >>"$work/mosquitto.log" 2>&1 &
  server=$!; pids+=("$server")
  for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "error: mosquitto did not listen on $port" >&2; exit 1
}
start_server

cat >"$work/flow.conf" <<CONF
tremor.flows.outage {
  connectors {
    tick { type = metronome, config { interval = 1ms } }
    out {
      type = mqtt, codec = json
      config { url = "mqtt://127.0.0.1:$port", client-id = outage-sink, topic = outage/ticks, qos = 1 }
      reconnect { interval = 200ms, growth-rate = 2, max-interval = 2s }
    }
  }
  pipelines { main { type = passthrough } }
  links = ["tick -> main", "main -> out"]
}
CONF
dotnet "$root/Tremor.Cli/bin/$config/net10.0/tremor.dll" run "$work/flow.conf" >"$work/tremor.out" 2>"$work/tremor.err" &
tremor=$!; pids+=("$tremor")
rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$tremor/status"; }
received() { timeout 3 mosquitto_sub -h 127.0.0.1 -p "$port" -t outage/ticks -C 50 2>/dev/null | wc -l; }

echo "second phase rss_mib"
for s in $(seq 1 "$warmup"); do sleep 1; echo "$s up $(rss)"; done
before=$(rss)
kill -9 "$server"; wait "$server" 2>/dev/null || true
max=0
for s in $(seq 1 "$down"); do
  sleep 1; r=$(rss); [ "$r" -gt "$max" ] && max=$r
  echo "$((warmup + s)) down $r"
done
start_server
for s in $(seq 1 5); do sleep 1; echo "$((warmup + down + s)) up-again $(rss)"; done
after=$(rss)
flowing=$(received)
kill -TERM "$tremor"; wait "$tremor" 2>/dev/null || true
echo "summary: rss before the outage ${before} MiB, max while down ${max} MiB ($(( (max - before) * 100 / (before > 0 ? before : 1) )) %), after ${after} MiB; ticks received within 3 s after the restart: ${flowing} of 50 asked"
grep -m3 -i "connection\|breaker\|reconnect" "$work/tremor.err" | sed 's/^/tremor: /' || true
