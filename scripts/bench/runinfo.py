# Benchmark helper for scripts/bench.sh: small JSON chores on one run (read dbward's --json result, append a result line, print a progress line).
import json
import sys


def dbward_result(kind, path):
    """Prints `ok|failed DUMP_BYTES STORED_BYTES INFO REASON` from dbward's --json output of
    `backup`, `restore` or `verify` (KIND). INFO is a JSON object without spaces (durations dbward
    reports itself) or null."""
    def bad(reason):
        print("failed null null null", " ".join(str(reason).split()))

    try:
        doc = json.load(open(path))
    except (OSError, ValueError) as e:
        return bad(f"cannot read dbward's --json output: {e}")
    if not isinstance(doc, dict):
        return bad("unexpected --json output")
    if "error" in doc and kind != "verify":
        return bad(doc.get("error"))
    info = None
    if kind == "backup":
        backups = doc.get("backups") or []
        if not backups:
            return bad("no backup in dbward's output")
        b = backups[0]
        ok = len(backups) == 1 and b.get("status") == "succeeded"
        reason = b.get("error") or ""
        dump, stored = b.get("dump_bytes"), b.get("stored_bytes")
        info = {"copies": [c.get("destination") for c in b.get("copies", []) if c.get("status") == "committed"]}
    elif kind == "restore":
        ok = bool(doc.get("backup_id"))
        reason = "" if ok else doc.get("error") or "no backup_id in the output"
        dump = stored = None
        info = {k: doc.get(k) for k in ("duration_ms", "tables", "rows")}
    elif kind == "verify":
        runs = doc.get("verifications") or []
        ok = bool(doc.get("ok")) and len(runs) == 1
        v = runs[0] if runs else {}
        reason = v.get("error") or doc.get("error") or ("" if ok else "verification failed")
        dump = stored = None
        info = {k: v.get(k) for k in ("duration_ms", "restore_ms")}
    else:
        return bad(f"unknown kind {kind}")
    print("ok" if ok else "failed", dump or "null", stored or "null",
          json.dumps(info, separators=(",", ":")) if info is not None else "null",
          " ".join(str(reason).split()))


def backup_copy(path):
    """Prints `ID PATH` of the one committed copy of `dbward --json backup` output."""
    doc = json.load(open(path))
    b = doc["backups"][0]
    if b.get("status") != "succeeded":
        sys.exit(f"backup {b.get('status')}: {b.get('error')}")
    copy = next(c for c in b["copies"] if c.get("status") == "committed")
    print(b["id"], copy["path"])


def phases(path):
    """`NAME EPOCH` lines -> {name: seconds since the previous mark}, the first mark the start."""
    try:
        marks = [l.split() for l in open(path) if l.strip()]
    except OSError:
        return None
    if len(marks) < 2:
        return None
    out = {}
    for (_, a), (name, b) in zip(marks, marks[1:]):
        out[name] = round(float(b) - float(a), 3)
    return out


def record(measure, engine, case, rnd, kind, out_bytes, dump_bytes, cmd, info="null", setup_s="null", phases_file=""):
    """Prints measure.py's result plus what the run was, as one JSON line."""
    m = json.load(open(measure))
    m.update(engine=engine, case=case, round=int(rnd), kind=kind,
             out_bytes=json.loads(out_bytes), dump_bytes=json.loads(dump_bytes), cmd=cmd,
             info=json.loads(info), setup_s=json.loads(setup_s),
             phases=phases(phases_file) if phases_file else None)
    print(json.dumps(m))


def line(measure):
    """`wall` then `comm=peakMB/cpu` for each process, for the progress log."""
    m = json.load(open(measure))
    procs = " ".join(
        "{}={:.0f}MB/{:.1f}s".format(p["comm"], p["hwm_kb"] / 1024, p["cpu_s"])
        for p in m["procs"] if p["comm"] not in ("bash", "sh")
    )
    print(f"{m['wall_s']:7.2f} s  {procs}  (other CPU {m['machine_busy_cpu_s'] - (m['cpu_s'] or 0):.1f} s)")


if __name__ == "__main__":
    {"dbward-result": dbward_result, "backup-copy": backup_copy, "record": record, "line": line}[sys.argv[1]](*sys.argv[2:])
