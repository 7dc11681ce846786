"""Helpers of scripts/bench-catalog.sh: summarises `status --json`, turns hyperfine's and
lease_bench's JSON into result lines, and prints the report from those lines.

    catalog_report.py status-summary STATUS_JSON
    catalog_report.py record HYPERFINE_JSON CATALOG COMMAND TARGET_MS
    catalog_report.py leases LEASE_BENCH_JSON
    catalog_report.py report RESULTS_JSONL
"""

import collections
import json
import statistics
import sys

LEASE_TARGET = 1000  # cycles per second from 4 clients (the catalog-port issue)


def status_summary(path):
    with open(path) as f:
        doc = json.load(f)
    if "databases" not in doc:
        raise SystemExit(f"no report: {doc.get('error')}")
    kinds = collections.Counter(p["kind"] for p in doc["problems"])
    states = collections.Counter(d["state"] for d in doc["databases"])
    per_state = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    per_kind = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    print(f"state {doc['state']}; {len(doc['databases'])} databases ({per_state}); "
          f"{len(doc['problems'])} problems ({per_kind or 'none'})")


def record(path, catalog, command, target):
    with open(path) as f:
        times = json.load(f)["results"][0]["times"]
    ms = [t * 1000 for t in times]
    print(json.dumps({"kind": "time", "catalog": catalog, "command": command,
                      "target_ms": float(target), "runs": len(ms), "min": min(ms),
                      "median": statistics.median(ms), "mean": statistics.fmean(ms),
                      "max": max(ms)}))


def leases(path):
    with open(path) as f:
        doc = json.load(f)
    doc["kind"] = "leases"
    print(json.dumps(doc))


def report(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    for r in lines:
        if r["kind"] == "fill":
            print(f"{r['catalog']}: filled in {r['seconds']} s, {r['bytes'] / 2**20:.0f} MiB: {r['counts']}")
    for r in lines:
        if r["kind"] == "summary":
            print(f"{r['catalog']}: health summary of every database computed in {r['ms']} ms (once, after the fill)")
    for r in lines:
        if r["kind"] == "status":
            print(f"{r['catalog']}: status exit {r['exit']}: {r['summary']}")
    print()
    header = ("catalog", "command", "runs", "min ms", "median ms", "mean ms", "max ms", "target", "")
    rows = []
    for r in lines:
        if r["kind"] == "time":
            ok = "ok" if r["median"] < r["target_ms"] else "MISSED"
            rows.append((r["catalog"], r["command"], str(r["runs"]), f"{r['min']:.1f}",
                         f"{r['median']:.1f}", f"{r['mean']:.1f}", f"{r['max']:.1f}",
                         f"< {r['target_ms']:.0f} ms", ok))
    for r in lines:
        if r["kind"] == "leases":
            ok = "ok" if r["cycles_per_second"] >= LEASE_TARGET else "MISSED"
            rows.append(("postgres", f"lease claim+release, {r['clients']} clients", str(r["cycles"]),
                         "", f"{r['cycles_per_second']:.0f}/s", "", "", f">= {LEASE_TARGET}/s", ok))
    if rows:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def main(args):
    commands = {"status-summary": status_summary, "record": record, "leases": leases, "report": report}
    if not args or args[0] not in commands:
        raise SystemExit(__doc__)
    commands[args[0]](*args[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
