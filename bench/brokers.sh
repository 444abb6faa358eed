#!/usr/bin/env bash
# Broker connectors on loopback: events/s through each connector's sink side and source side, beside the server's own
# tool where Debian ships one. Every server is started here as a plain process on a free port in a temp dir (as the
# tests do) and stopped at the end. Per connector, with EVENTS records of data/data.json.xz (630 bytes of JSON each):
#   sink    bench source -> passthrough -> CONNECTOR sink; time from "flow deployed" to "flow completed" (every
#           event acknowledged by the server: confirms, PUBACKs, PubAcks, commits)
#   source  the EVENTS the sink run left in the server (queue, stream, table; for mqtt a persistent session made
#           before) read by CONNECTOR source -> passthrough -> stdout; time from the flow deployed to the last line
#   tool    mosquitto_pub -l (QoS 1) / redis-benchmark XADD (pipelined 16) / psql \copy into a jsonb table, on the
#           same server; amqp and nats have no client tool in Debian
# Usage: bench/brokers.sh [EVENTS] [CONNECTOR...]   (EVENTS a multiple of 100, default 100000; connectors: mqtt redis
# nats amqp postgres, default all). Needs the Debian packages mosquitto mosquitto-clients redis-server redis-tools
# nats-server rabbitmq-server postgresql-15 (postgresql-client for psql).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
events="${1:-100000}"
shift || true
connectors=("$@")
[ ${#connectors[@]} -gt 0 ] || connectors=(mqtt redis nats amqp postgres)
[ $((events % 100)) -eq 0 ] || { echo "error: EVENTS must be a multiple of 100 (data.json.xz holds 100 records)" >&2; exit 2; }
iterations=$((events / 100))
config="${TREMOR_CONFIGURATION:-Release}"
export PATH="$HOME/.cargo/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "==> building $config: the runtime and the connector plugins" >&2
for project in Tremor.Cli/Tremor.Cli.csproj $(cd "$root" && find connectors -maxdepth 2 -name '*.csproj' | sort); do
  dotnet build "$root/$project" -c "$config" -nologo -v q -clp:ErrorsOnly >/dev/null
done
tremor=(dotnet "$root/Tremor.Cli/bin/$config/net10.0/tremor.dll")

work="$(mktemp -d)"
chmod 755 "$work"
groups=()
cleanup() {
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  sleep 1
  for group in "${groups[@]}"; do kill -9 -- "-$group" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
started() { groups+=("$1"); }
wait_port() { # port what
  for _ in $(seq 1 600); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "error: $2 did not listen on $1" >&2; exit 1
}
as_server_user() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi; }

start_server() { # connector -> sets url
  local dir="$work/$1-server" port
  mkdir -p "$dir"
  port=$(free_port)
  case "$1" in
    mqtt)
      printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n' "$port" >"$dir/m.conf"
      setsid /usr/sbin/mosquitto -c "$dir/m.conf" >"$dir/log" 2>&1 &
      url="mqtt://127.0.0.1:$port" ;;
    redis)
      setsid redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/log" 2>&1 &
      url="redis://127.0.0.1:$port" ;;
    nats)
      setsid "$(command -v nats-server || echo /usr/sbin/nats-server)" -a 127.0.0.1 -p "$port" -js -sd "$dir" >"$dir/log" 2>&1 &
      url="nats://127.0.0.1:$port" ;;
    amqp)
      echo "[]." >"$dir/enabled_plugins"; : >"$dir/rabbitmq.conf"; : >"$dir/env.conf"
      HOME="$dir" RABBITMQ_NODENAME="rabbit-bench-$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
        RABBITMQ_DIST_PORT="$(free_port)" RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log.d" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$dir/env.conf" \
        setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/log" 2>&1 &
      url="amqp://127.0.0.1:$port" ;;
    postgres)
      [ "$(id -u)" -ne 0 ] || chown nobody "$dir"
      echo tremor >"$dir/pw"; [ "$(id -u)" -ne 0 ] || chown nobody "$dir/pw"
      as_server_user /usr/lib/postgresql/15/bin/initdb -D "$dir/data" -U tremor --pwfile "$dir/pw" --auth-host=scram-sha-256 --auth-local=trust --no-sync >"$dir/initdb.log" 2>&1
      local postgres=(/usr/lib/postgresql/15/bin/postgres -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1)
      if [ "$(id -u)" -eq 0 ]; then
        setsid setpriv --reuid=nobody --regid=nogroup --clear-groups -- "${postgres[@]}" >"$dir/log" 2>&1 &
      else
        setsid "${postgres[@]}" >"$dir/log" 2>&1 &
      fi
      url="postgres://127.0.0.1:$port/postgres" ;;
  esac
  started $!
  wait_port "$port" "$1"
  server_port=$port
  if [ "$1" = postgres ]; then
    for _ in $(seq 1 100); do psql_bench -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.2; done
    psql_bench -c "CREATE TABLE bench (id bigserial PRIMARY KEY, payload jsonb); CREATE TABLE baseline (payload jsonb)" >/dev/null
  fi
}
psql_bench() { PGPASSWORD=tremor psql -h 127.0.0.1 -p "$server_port" -U tremor -d postgres -q "$@"; }

sink_config() { # connector
  case "$1" in
    mqtt) echo "type = mqtt, codec = json, config { url = \"$url\", client-id = bench-sink, topic = bench/data, qos = 1 }" ;;
    redis) echo "type = redis, codec = json, config { url = \"$url\", sink { stream = bench } }" ;;
    nats) echo "type = nats, codec = json, config { url = \"$url\", sink { subject = bench.data, jetstream = true } }" ;;
    amqp) echo "type = amqp, codec = json, config { url = \"$url\", sink { routing-key = bench } }" ;;
    postgres) echo "type = postgres, config { url = \"$url\", username = tremor, password = tremor, sink { table = bench } }" ;;
  esac
}
source_config() { # connector
  case "$1" in
    mqtt) echo "type = mqtt, codec = json, config { url = \"$url\", client-id = bench-source, topics = [\"bench/#\"], qos = 1 }" ;;
    redis) echo "type = redis, codec = json, config { url = \"$url\", source { stream = bench, group = bench, start = \"0\" } }" ;;
    nats) echo "type = nats, codec = json, config { url = \"$url\", source { stream = BENCH, consumer = bench, subjects = [\"bench.>\"] } }" ;;
    amqp) echo "type = amqp, codec = json, config { url = \"$url\", source { queue = bench, prefetch = 512 } }" ;;
    postgres) echo "type = postgres, config { url = \"$url\", username = tremor, password = tremor, source { query = \"SELECT id, payload FROM bench WHERE id > \$1 ORDER BY id LIMIT 1000\", cursor = id, interval = 100ms } }" ;;
  esac
}

# A postgres row carries the record as payload; every other connector carries the record itself.
shape() { if [ "$1" = postgres ]; then echo 'query = """select { "payload": event } from in into out;"""'; else echo 'type = passthrough'; fi; }

to_ms() { IFS=':.' read -r h m s ms <<<"$1"; echo $(( ((10#$h * 60 + 10#$m) * 60 + 10#$s) * 1000 + 10#$ms )); }

run_sink() { # connector -> ms
  cat >"$work/$1-sink.conf" <<CONF
tremor.flows.bench_sink {
  connectors {
    src { type = bench, codec = json, config { path = "$root/data/data.json.xz", iterations = $iterations } }
    snk { $(sink_config "$1") }
  }
  pipelines { main { $(shape "$1") } }
  links = ["src -> main", "main -> snk"]
}
CONF
  local log start end
  log=$("${tremor[@]}" run "$work/$1-sink.conf" 2>&1 >/dev/null) || { echo "$log" >&2; exit 1; }
  start=$(grep -m1 "flow 'bench_sink' deployed" <<<"$log" | cut -d' ' -f1)
  end=$(grep -m1 "flow 'bench_sink' completed" <<<"$log" | cut -d' ' -f1)
  echo $(( $(to_ms "$end") - $(to_ms "$start") ))
}

start_source() { # connector -> the tremor process group in source_group, its output in $work/$1-source.out
  cat >"$work/$1-source.conf" <<CONF
tremor.data-dir = "$work/$1-data"
tremor.flows.bench_source {
  connectors {
    src { $(source_config "$1") }
    out { type = stdio, codec = json, postprocessors = ["separate"] }
  }
  pipelines { main { type = passthrough } }
  links = ["src -> main", "main -> out"]
}
CONF
  : >"$work/$1-source.out"
  setsid "${tremor[@]}" run "$work/$1-source.conf" >"$work/$1-source.out" 2>"$work/$1-source.log" &
  source_group=$!
  started "$source_group"
}

wait_source() { # connector -> ms from the flow deployed to the last of EVENTS lines
  local deployed="" t0 n
  for _ in $(seq 1 1200); do
    if grep -q "flow 'bench_source' deployed" "$work/$1-source.log" 2>/dev/null; then deployed=1; break; fi
    sleep 0.05
  done
  [ -n "$deployed" ] || { cat "$work/$1-source.log" >&2; echo "error: the $1 source flow did not deploy" >&2; exit 1; }
  t0=$(now_ms)
  while true; do
    n=$(wc -l <"$work/$1-source.out")
    [ "$n" -ge "$events" ] && break
    kill -0 "$source_group" 2>/dev/null || { cat "$work/$1-source.log" >&2; echo "error: the $1 source flow ended after $n events" >&2; exit 1; }
    sleep 0.05
  done
  echo $(( $(now_ms) - t0 ))
  kill -TERM -- "-$source_group" 2>/dev/null || true
  wait "$source_group" 2>/dev/null || true
}

tool() { # connector -> "ms" or "-"
  local lines="$work/data.jsonl"
  [ -s "$lines" ] || for _ in $(seq 1 "$iterations"); do xz -dc "$root/data/data.json.xz"; done >"$lines"
  local t0
  case "$1" in
    mqtt)
      command -v mosquitto_pub >/dev/null || { echo "-"; return; }
      t0=$(now_ms); mosquitto_pub -p "$server_port" -q 1 -t baseline/data -l <"$lines"; echo $(( $(now_ms) - t0 )) ;;
    redis)
      command -v redis-benchmark >/dev/null || { echo "-"; return; }
      t0=$(now_ms); redis-benchmark -p "$server_port" -n "$events" -P 16 -q XADD baseline '*' data "$(head -c 630 "$lines" | tr -d '\n')" >/dev/null; echo $(( $(now_ms) - t0 )) ;;
    postgres)
      command -v psql >/dev/null || { echo "-"; return; }
      # CSV with a quote character no record contains: each line is one jsonb value as it is.
      t0=$(now_ms); psql_bench -c "\\copy baseline(payload) from '$lines' with (format csv, quote e'\\x01', delimiter e'\\x02')"; echo $(( $(now_ms) - t0 )) ;;
    *) echo "-" ;;
  esac
}

rate() { if [ "$1" = "-" ] || [ "$1" -le 0 ]; then echo "-"; else awk -v e="$events" -v ms="$1" 'BEGIN { printf "%.0f", e / (ms / 1000) }'; fi; }

results=()
for connector in "${connectors[@]}"; do
  echo "==> $connector: starting the server" >&2
  start_server "$connector"
  if [ "$connector" = mqtt ] || [ "$connector" = nats ] || [ "$connector" = amqp ]; then
    # The source connects once first: an mqtt persistent session, the JetStream stream, the amqp queue, so the server
    # keeps what the sink publishes for the source.
    start_source "$connector"
    for _ in $(seq 1 1200); do grep -q "connected to" "$work/$connector-source.log" 2>/dev/null && break; sleep 0.05; done
    kill -TERM -- "-$source_group" 2>/dev/null || true
    wait "$source_group" 2>/dev/null || true
  fi
  echo "==> $connector: sink side, $events events" >&2
  sink_ms=$(run_sink "$connector")
  echo "==> $connector: source side, $events events" >&2
  start_source "$connector"
  source_ms=$(wait_source "$connector")
  echo "==> $connector: the server's own tool" >&2
  tool_ms=$(tool "$connector")
  results+=("| $connector | $sink_ms | $(rate "$sink_ms") | $source_ms | $(rate "$source_ms") | $tool_ms | $(rate "$tool_ms") |")
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  sleep 1
  for group in "${groups[@]}"; do kill -9 -- "-$group" 2>/dev/null || true; done
  groups=()
done

echo "$events events of data/data.json.xz per run, $config build, $(date -u +%Y-%m-%d), commit $(git -C "$root" rev-parse --short HEAD)"
echo "| connector | sink ms | sink events/s | source ms | source events/s | tool ms | tool events/s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}"
