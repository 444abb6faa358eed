#!/usr/bin/env bash
# The one command that builds everything (managed and native plugins included) and runs every test.
# Prints a closing line "N passed, N failed, N skipped" and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

for tool in dotnet gcc cargo xz; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "$tool" = xz ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing xz-utils (the file connector tests make .xz files)" >&2
      (apt-get update -qq && apt-get install -y -qq xz-utils) >/dev/null
    else
      echo "error: '$tool' is needed to build and test Tremor.NET; install it and run again" >&2
      exit 2
    fi
  fi
done

# The broker connector tests start real servers as plain processes on free ports (never as system services).
missing=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
# The syslog tests send with util-linux's logger (Debian package bsdutils).
command -v logger >/dev/null 2>&1 || missing+=(bsdutils)
# rsyslog relays syslog to the runtime in the forwarding test; npm (Debian's nodejs) installs the statsd client.
[ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
# tremor top is tested in a real terminal (tmux), the status page in headless Chromium.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (the broker connector tests run them)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null
  # Debian may start them as services; the tests use their own ports, so a stopped service is only tidier.
  for service in mosquitto redis-server nats-server rabbitmq-server postgresql prometheus prometheus-node-exporter rsyslog; do service "$service" stop >/dev/null 2>&1 || true; done
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

echo "==> building (Debug): runtime, connector plugins, native plugins (gcc, cargo), tests" >&2
dotnet build Tremor.sln -c Debug -nologo -v q -clp:ErrorsOnly

echo "==> testing" >&2
status=0
# The console logger at minimal verbosity prints each failed test's message and stack trace (quiet prints only its name).
dotnet test Tremor.sln -c Debug --no-build -nologo -v q --logger "console;verbosity=minimal" \
  --logger "trx;LogFilePrefix=run" --results-directory "$results" || status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); p=${p:-0}
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=${f:-0}
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); t=${t:-0}
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters"); e=${e:-0}
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - e))
done
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "error: no test ran" >&2
  status=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
