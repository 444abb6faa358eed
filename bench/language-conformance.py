#!/usr/bin/env python3
"""Runs Tremor's own language test cases through `tremor run` and prints pass/fail per category.

Usage: bench/language-conformance.py SUITE_DIR [--tremor "dotnet path/to/tremor.dll"] [--verbose] [--only NAME]

SUITE_DIR holds Tremor's case folders, laid out as in Tremor's repository (tremor-rs/tremor-runtime, tests/):
  queries/CASE/{query.trickle,in,out}            scripts/CASE/{script.tremor,in,out}
  query_errors/CASE/{query.trickle,error.txt}    script_errors/CASE/{script.tremor,error.txt}
  query_runtime_errors/CASE/{query.trickle,in,out[,error.txt]}
  script_runtime_errors/CASE/{script.tremor,in,error.txt}
Nothing is fetched: copy the cases there yourself. Each case runs as Tremor's test harness runs it: every line of
`in` one event, ingest_ns = its index, no flush at the end (`--ingest-ns Index --no-flush`).

What counts as a pass:
- queries, scripts: the output values equal `out`, in order, integers and floats told apart (Tremor compares
  sorted serialisations). An error output ({"error": ..., "event": ...}) matches on `event` only: the message
  texts are Tremor.NET's own.
- *_errors: the file does not compile, and the position Tremor's error.txt points at (line and column of the
  first caret) is the line:col of our error. error.re cases (a regular expression over Tremor's message)
  pass when the file does not compile.
- *_runtime_errors: outputs as for queries; where error.txt exists, an error (in the output, or reported on
  stderr as `tremor run` reports errors the query did not route) names its line:col.
A query or script case without `in`/`out` (Tremor keeps many only as in.xz/out.xz) is run on no events and
counted in the `compiles` column only: whether Tremor.NET accepts the file.
"""

import argparse
import json
import os
import re
import subprocess
import sys

CATEGORIES = ["queries", "query_errors", "query_runtime_errors", "scripts", "script_errors", "script_runtime_errors"]


def default_tremor():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for config in ("Release", "Debug"):
        dll = os.path.join(root, "Tremor.Cli", "bin", config, "net10.0", "tremor.dll")
        if os.path.exists(dll):
            return ["dotnet", dll]
    sys.exit("no built tremor.dll found; build Tremor.Cli or pass --tremor")


def load_events(path):
    """Tremor's load_event_file: one JSON value per non-empty line."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def canonical(v):
    """A comparable form that tells 1 from 1.0 and true from 1, as Tremor's sorted serialisation does."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int):
        return ("i", v)
    if isinstance(v, float):
        return ("f", v)
    if isinstance(v, str):
        return ("s", v)
    if v is None:
        return ("n",)
    if isinstance(v, list):
        return ("a", tuple(canonical(x) for x in v))
    if isinstance(v, dict):
        if set(v.keys()) == {"error", "event"} and isinstance(v["error"], str):
            return ("error", canonical(v["event"]))
        return ("r", tuple(sorted((k, canonical(x)) for k, x in v.items())))
    return ("?", repr(v))


def expected_position(text):
    """(line, column) of the first caret in a Tremor error rendering, or None."""
    line = None
    for row in text.splitlines():
        m = re.match(r"^\s*(\d+) \| ", row)
        if m:
            line = int(m.group(1))
            continue
        m = re.match(r"^(\s*\| ?)(\s*)\^", row)
        if m and line is not None:
            gutter = row.index("|") + 2
            return line, row.index("^") - gutter + 1
    return None


def our_positions(text):
    return {(int(l), int(c)) for l, c in re.findall(r":(\d+):(\d+): ", text)}


def run(tremor, source, events, timeout=60):
    stdin = "".join(json.dumps(e) + "\n" for e in events)
    p = subprocess.run(tremor + ["run", source, "--ingest-ns", "Index", "--no-flush"], input=stdin,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def outputs(stdout):
    values = []
    for line in stdout.splitlines():
        if line.strip():
            values.append(json.loads(line))
    return values


def check_case(tremor, category, folder):
    """Returns ("pass" | "fail" | "skip", reason)."""
    source = os.path.join(folder, "query.trickle" if category.startswith("quer") else "script.tremor")
    if not os.path.exists(source):
        return "skip", "no source"
    has = lambda name: os.path.exists(os.path.join(folder, name))
    if category.endswith("_errors") and "runtime" not in category:
        if not (has("error.txt") or has("error.re")):
            return "skip", "no error.txt"
        code, out, err = run(tremor, source, [])
        if code != 2:
            return "fail", f"compiled (exit {code}), Tremor refuses it"
        if has("error.re"):
            return "pass", ""
        want = expected_position(open(os.path.join(folder, "error.txt"), encoding="utf-8").read())
        got = our_positions(err)
        if want is None or want in got:
            return "pass", ""
        return "fail", f"error at {sorted(got)}, Tremor at {want}: {err.strip().splitlines()[0] if err.strip() else ''}"
    if not has("in") or not (has("out") or has("error.txt")):
        code, out, err = run(tremor, source, [])
        if code == 2:
            return "refused", "does not compile: " + err.strip().splitlines()[0]
        return "compiles", ""
    events = load_events(os.path.join(folder, "in"))
    code, out, err = run(tremor, source, events)
    if code == 2:
        return "fail", "does not compile: " + err.strip().splitlines()[0]
    try:
        got = outputs(out)
    except json.JSONDecodeError as e:
        return "fail", f"output is not JSON lines: {e}"
    if has("error.txt"):
        want = expected_position(open(os.path.join(folder, "error.txt"), encoding="utf-8").read())
        positions = set()
        # Errors the query routed itself are in the output; the others were reported on stderr.
        for v in got + [json.loads(line) for line in err.splitlines() if line.startswith("{")]:
            if isinstance(v, dict) and isinstance(v.get("error"), str):
                positions |= our_positions(v["error"])
        if want is not None and want not in positions:
            return "fail", f"no error at {want} (errors at {sorted(positions)})"
        if category.startswith("script"):
            return "pass", ""
    if not has("out"):
        return ("pass", "") if has("error.txt") else ("skip", "no out")
    expected = load_events(os.path.join(folder, "out"))
    if [canonical(v) for v in got] == [canonical(v) for v in expected]:
        return "pass", ""
    return "fail", f"got {json.dumps(got)[:300]}, want {json.dumps(expected)[:300]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite")
    ap.add_argument("--tremor", help="the command that runs tremor, e.g. \"dotnet Tremor.Cli/bin/Release/net10.0/tremor.dll\"")
    ap.add_argument("--verbose", action="store_true", help="print every case, with the reason of a failure")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    args = ap.parse_args()
    tremor = args.tremor.split() if args.tremor else default_tremor()
    totals = []
    for category in CATEGORIES:
        root = os.path.join(args.suite, category)
        if not os.path.isdir(root):
            continue
        passed = failed = skipped = compiled = refused = 0
        for name in sorted(os.listdir(root)):
            folder = os.path.join(root, name)
            if not os.path.isdir(folder) or name.startswith("_") or (args.only and args.only not in name):
                continue
            try:
                status, reason = check_case(tremor, category, folder)
            except subprocess.TimeoutExpired:
                status, reason = "fail", "timed out"
            passed += status == "pass"
            failed += status == "fail"
            skipped += status == "skip"
            compiled += status == "compiles"
            refused += status == "refused"
            if args.verbose or status in ("fail", "refused"):
                print(f"{status:8} {category}/{name}" + (f": {reason}" if reason else ""))
        totals.append((category, passed, passed + failed, compiled, compiled + refused, skipped))
    print()
    print("passed: output (or error position) as Tremor's; compiles: of the cases without in/out, those Tremor.NET accepts")
    print(f"{'category':24} {'passed':>8} {'of':>4} {'compiles':>9} {'of':>4} {'skipped':>8}")
    for category, passed, total, compiled, compile_total, skipped in totals:
        print(f"{category:24} {passed:8} {total:4} {compiled:9} {compile_total:4} {skipped:8}")
    print(f"{'all':24} {sum(t[1] for t in totals):8} {sum(t[2] for t in totals):4} {sum(t[3] for t in totals):9} {sum(t[4] for t in totals):4}")


if __name__ == "__main__":
    main()
