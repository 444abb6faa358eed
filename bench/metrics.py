#!/usr/bin/env python3
"""What the runtime's own metrics cost (issue 19): passthrough-json with metrics on against metrics off, one run.

Both scenarios run with the management API on, so the only difference is tremor.metrics.enabled: "on" has the
OpenTelemetry SDK collecting the Tremor.Runtime meter (the batch-duration histograms recorded per batch) and a
client scraping /metrics every --scrape-interval seconds while the flow runs, as Prometheus would; "off" has no
meter. The rounds are interleaved (round r runs both once, so machine noise hits them alike); the table has the
medians and the ratio on/off (goal: at least 98 %). The flow and its timing are bench/run's passthrough-json.

    bench/metrics.py [--rounds 7] [--iterations 20000] [--scrape-interval 1] [--no-append]

TREMOR_CONFIGURATION=Debug uses the Debug build (for checking the script, not for figures); TREMOR_SKIP_BUILD=1
uses the build as it is.
"""
import argparse, datetime, importlib.machinery, importlib.util, os, platform, re, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(ROOT, "bench", "run"))
_spec = importlib.util.spec_from_loader("bench_run", _loader)
run = importlib.util.module_from_spec(_spec)
_loader.exec_module(run)  # bench/run's flow helpers and data; its main() is not called


def config(work, name, iterations, metrics):
    return "tremor.api { enabled = on, port = 0, token-file = \"%s\" }\ntremor.metrics.enabled = %s\n%s" % (
        os.path.join(work, name + ".token"), "on" if metrics else "off",
        run.flow([run.bench_source("src", iterations)], ["  main { type = passthrough }"], ["src -> main", "main -> src"]))


def ms(stamp):
    h, m, rest = stamp.split(":")
    s, frac = rest.split(".")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac)


def run_tremor(tremor, conf_path, token_path, scrape_interval):
    """Runs one flow to its end; while it runs, scrapes /metrics every scrape_interval seconds (0: never)."""
    p = subprocess.Popen(tremor + ["run", conf_path], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, scrapes, failures = [], [0], []
    address = threading.Event()
    completed = threading.Event()
    url = [None]

    def read_stderr():
        for line in p.stderr:
            lines.append(line)
            if "flow 'bench' completed" in line:
                completed.set()
            found = re.search(r"management API on (\S+)", line)
            if found:
                url[0] = found.group(1).rstrip("/")
                address.set()
        address.set()

    def scrape():
        address.wait()
        if url[0] is None or scrape_interval <= 0:
            return
        token = open(token_path).read().strip()
        while not completed.is_set():
            try:
                request = urllib.request.Request(url[0] + "/metrics", headers={"Authorization": "Bearer " + token})
                with urllib.request.urlopen(request, timeout=10) as response:
                    body = response.read().decode()
                    if "tremor_connector_events_total" not in body:
                        failures.append("a scrape without tremor_connector_events_total")
                scrapes[0] += 1
            except OSError as e:
                # The API stops with the run, right after the flow completed.
                if not completed.is_set():
                    failures.append(str(e))
            time.sleep(scrape_interval)

    reader = threading.Thread(target=read_stderr, daemon=True)
    scraper = threading.Thread(target=scrape, daemon=True)
    reader.start()
    scraper.start()
    p.stdout.read()  # the bench report; read so a full pipe never holds tremor back
    p.wait()
    reader.join()
    scraper.join(timeout=15)
    err = "".join(lines)
    if p.returncode != 0:
        raise SystemExit("tremor failed on %s:\n%s" % (conf_path, err[-3000:]))
    if failures and scrape_interval > 0:
        raise SystemExit("scraping /metrics failed during %s: %s" % (conf_path, failures[0]))
    times = [line.split(" ")[0] for line in err.splitlines() if "flow 'bench' deployed" in line or "flow 'bench' completed" in line]
    if len(times) < 2:
        raise SystemExit("tremor did not report the flow deployed and completed on %s:\n%s" % (conf_path, err[-3000:]))
    return {"elapsed": (ms(times[1]) - ms(times[0])) / 1000.0, "scrapes": scrapes[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=20000, help="replays of data.json per run (100 events each)")
    ap.add_argument("--scrape-interval", type=float, default=1.0, help="seconds between scrapes of /metrics in the metrics-on runs (0: none)")
    ap.add_argument("--no-append", action="store_true", help="do not append to BENCHMARKS.md")
    args = ap.parse_args()

    configuration = os.environ.get("TREMOR_CONFIGURATION", "Release")
    if not os.environ.get("TREMOR_SKIP_BUILD"):
        print("==> building %s" % configuration, file=sys.stderr)
        subprocess.run(["dotnet", "build", "Tremor.sln", "-c", configuration, "-nologo", "-v", "q", "-clp:ErrorsOnly"], cwd=ROOT, check=True,
                       env=dict(os.environ, PATH=os.path.expanduser("~/.cargo/bin") + ":" + os.environ["PATH"]))
    tremor = ["dotnet", os.path.join(ROOT, "Tremor.Cli/bin/%s/net10.0/tremor.dll" % configuration)]

    work = tempfile.mkdtemp(prefix="tremor-bench-metrics-")
    scenarios = {"metrics off": False, "metrics on, scraped every %gs" % args.scrape_interval: True}
    confs = {}
    for i, (name, on) in enumerate(scenarios.items()):
        confs[name] = os.path.join(work, "m%d.conf" % i)
        with open(confs[name], "w") as f:
            f.write(config(work, "m%d" % i, args.iterations, on))

    results = {name: [] for name in scenarios}
    total = args.rounds * len(scenarios)
    done = 0
    for r in range(args.rounds):
        # Alternate which goes first, so neither always runs on a machine the other just warmed up.
        order = list(scenarios) if r % 2 == 0 else list(reversed(scenarios))
        for name in order:
            done += 1
            print("\r[%d/%d] round %d: %-32s" % (done, total, r + 1, name), end="", file=sys.stderr, flush=True)
            token = os.path.join(work, os.path.basename(confs[name])[:-5] + ".token")
            results[name].append(run_tremor(tremor, confs[name], token, args.scrape_interval if scenarios[name] else 0))
    print(file=sys.stderr)

    mb = args.iterations * run.JSON_BYTES_PER_ITERATION / 1e6
    events = args.iterations * 100
    lines = ["| scenario | MB/s | events/s | run s (min-max) | scrapes per run | vs metrics off |", "|---|---|---|---|---|---|"]
    off = statistics.median(x["elapsed"] for x in results["metrics off"])
    for name, runs in results.items():
        el = statistics.median(x["elapsed"] for x in runs)
        lines.append("| %s | %.1f | %.0f | %.2f-%.2f | %s | %.1f %% |" % (
            name, mb / el, events / el, min(x["elapsed"] for x in runs), max(x["elapsed"] for x in runs),
            "%.0f" % statistics.median(x["scrapes"] for x in runs) if scenarios[name] else "-", 100 * off / el))
    table = "\n".join(lines)
    print(table)

    if not args.no_append:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
        with open(os.path.join(ROOT, "BENCHMARKS.md"), "a") as f:
            f.write("\n## bench/metrics.py, %s, commit %s\n\nMachine: %s, %d cores. Command: `bench/metrics.py --rounds %d --iterations %d "
                    "--scrape-interval %g` (%d events, %.0f MB of JSON per run, %s build). passthrough-json with the management API on in "
                    "both; medians of %d interleaved rounds; time from flow deployed to flow completed. Goal: metrics on at least 98 %% "
                    "of metrics off.\n\n%s\n" % (datetime.date.today().isoformat(), commit, cpu_model, os.cpu_count(), args.rounds,
                                                   args.iterations, args.scrape_interval, events, mb, configuration, args.rounds, table))


if __name__ == "__main__":
    main()
