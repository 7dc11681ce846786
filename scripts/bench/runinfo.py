# Benchmark helper for scripts/bench.sh: small JSON chores on one run (read dbward's --json summary, append a result line, print a progress line).
import json
import sys


def dbward_summary(path):
    """Prints `ok|failed DUMP_BYTES STORED_BYTES REASON` from `dbward --json backup` output."""
    try:
        doc = json.load(open(path))
        backups = doc["backups"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"failed null null cannot read dbward's --json output: {e}")
        return
    if not backups:
        print("failed null null no backup in dbward's output")
        return
    b = backups[0]
    ok = len(backups) == 1 and b.get("status") == "succeeded"
    reason = " ".join(str(b.get("error") or "").split())
    print("ok" if ok else "failed", b.get("dump_bytes") or "null", b.get("stored_bytes") or "null", reason)


def record(measure, engine, case, rnd, kind, out_bytes, dump_bytes, cmd):
    """Prints measure.py's result plus what the run was, as one JSON line."""
    m = json.load(open(measure))
    m.update(engine=engine, case=case, round=int(rnd), kind=kind,
             out_bytes=json.loads(out_bytes), dump_bytes=json.loads(dump_bytes), cmd=cmd)
    print(json.dumps(m))


def line(measure):
    """`wall` then `comm=peakMB/cpu` for each process, for the progress log."""
    m = json.load(open(measure))
    procs = " ".join(
        "{}={:.0f}MB/{:.1f}s".format(p["comm"], p["hwm_kb"] / 1024, p["cpu_s"])
        for p in m["procs"] if p["comm"] not in ("bash", "sh")
    )
    print(f"{m['wall_s']:7.2f} s  {procs}")


if __name__ == "__main__":
    {"dbward-summary": dbward_summary, "record": record, "line": line}[sys.argv[1]](*sys.argv[2:])
