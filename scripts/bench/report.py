# Benchmark helper for scripts/bench.sh: turns the per-run JSON lines into the report (median table per engine, ratios dbward / baseline, targets, raw rounds).
import json
import statistics
import sys
from collections import defaultdict

MB = 1e6

LABELS = {
    ("postgres", "dbward"): "dbward backup (custom -Z0 | zstd-3 mt, fs)",
    ("postgres", "plain_null"): "pg_dump > /dev/null",
    ("postgres", "custom_file"): "pg_dump -Fc > file",
    ("postgres", "gzip_file"): "pg_dump | gzip > file",
    ("postgres", "zstd_file"): "pg_dump | zstd -T0 -3 > file",
    ("mariadb", "dbward"): "dbward backup (zstd-3 mt, fs)",
    ("mariadb", "plain_null"): "mariadb-dump > /dev/null",
    ("mariadb", "gzip_file"): "mariadb-dump | gzip > file",
    ("mariadb", "zstd_file"): "mariadb-dump | zstd -T0 -3 > file",
    ("postgres", "dbward_fanout"): "dbward backup (fs + S3)",
    ("mariadb", "dbward_fanout"): "dbward backup (fs + S3)",
    ("postgres", "dbward_enc"): "dbward backup (fs, age recipient)",
    ("mariadb", "dbward_enc"): "dbward backup (fs, age recipient)",
    ("postgres", "dbward_restore"): "dbward restore --to-database",
    ("postgres", "plain_restore"): "zstd -dc | pg_restore",
    ("mariadb", "dbward_restore"): "dbward restore --to-database",
    ("mariadb", "dbward_restore_jobs"): "dbward restore --jobs N",
    ("postgres", "dbward_auto"): "dbward backup (zstd auto, fs)",
    ("mariadb", "dbward_auto"): "dbward backup (zstd auto, fs)",
    ("mariadb", "plain_restore"): "zstd -dc | mariadb",
    ("postgres", "dbward_drill"): "dbward verify --level drill",
    ("postgres", "plain_drill"): "zstd -dc | pg_restore + counts + drop",
    ("mariadb", "dbward_drill"): "dbward verify --level drill",
    ("mariadb", "plain_drill"): "zstd -dc | mariadb + counts + drop",
}
ORDER = ["dbward", "dbward_auto", "plain_null", "custom_file", "gzip_file", "zstd_file", "dbward_fanout", "dbward_enc",
         "dbward_restore", "dbward_restore_jobs", "plain_restore", "dbward_drill", "plain_drill"]
# (suite, subject, baseline, wall target (subject/baseline), dbward peak RSS target MiB, issue text)
TARGETS = [
    ("restore", "dbward_restore", "plain_restore", 1.10, 64, "dbward restore <= 1.10x decompress-and-load, peak RSS <= 64 MiB"),
    ("drill", "dbward_drill", "plain_drill", 1.15, None, "verify --level drill <= 1.15x (plain restore + counts + drop)"),
    ("fanout", "dbward_fanout", "dbward", 1.15, 96, "fs + S3 <= 1.15x one fs destination, peak RSS <= 96 MiB"),
    ("encryption", "dbward_enc", "dbward", 1.05, None, "encryption adds <= 5% wall"),
    ("restore", "dbward_restore_jobs", "dbward_restore", 1.00, 64, "restore --jobs N no slower than the one-stream restore"),
    ("backup", "dbward_auto", "dbward", 1.00, None, "compression_level auto never slower than level 3"),
]
# (suite, subject, baseline, stored-bytes target (subject/baseline), issue text)
SIZE_TARGETS = [
    ("backup", "dbward_auto", "dbward", 1.10, "compression_level auto stores <= 1.10x level 3's bytes"),
]
RATIOS = {
    "postgres": ["plain_null", "custom_file", "gzip_file", "zstd_file"],
    "mariadb": ["plain_null", "gzip_file", "zstd_file"],
}
ENGINE_NAMES = {"postgres": "PostgreSQL", "mariadb": "MariaDB"}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def per_process(run):
    """comm -> (peak RSS kB, CPU s); the shells are left out. Processes of one name (dbward's
    short `pg_dump --version` probe and the dump itself) add their CPU; their RSS is the
    largest one's, since they do not run at the same time."""
    out = defaultdict(lambda: [0, 0.0])
    for p in run["procs"]:
        if p["comm"] in ("bash", "sh", "time"):
            continue
        name = p["comm"] + ("*" if p.get("watched") else "")
        out[name][0] = max(out[name][0], p["hwm_kb"])
        out[name][1] += p["cpu_s"]
    return out


def watched_cpu(run):
    return sum(p["cpu_s"] for p in run["procs"] if p.get("watched"))


def summarize(runs):
    """Medians over the rounds of one case."""
    procs = defaultdict(lambda: ([], []))
    for run in runs:
        for comm, (hwm, cpu) in per_process(run).items():
            procs[comm][0].append(hwm)
            procs[comm][1].append(cpu)
    walls = [r["wall_s"] for r in runs]
    return {
        "n": len(runs),
        "wall": med(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "out": med([r["out_bytes"] for r in runs]),
        "dump": med([r["dump_bytes"] for r in runs]),
        "cpu": med([r["cpu_s"] for r in runs]),
        "cpu_all": med([r["cpu_s"] + watched_cpu(r) for r in runs]),
        "other": med([r["machine_busy_cpu_s"] - r["cpu_s"] - watched_cpu(r) for r in runs]),
        "setup": med([r.get("setup_s") for r in runs]),
        "info": {k: med([(r.get("info") or {}).get(k) for r in runs])
                 for k in ("duration_ms", "restore_ms", "tables", "rows")},
        "phases": {k: med([(r.get("phases") or {}).get(k) for r in runs]) for k in ("restore", "count", "drop")},
        "rounds": {r["round"]: r for r in runs},
        "time_maxrss": med([r["time_maxrss_kb"] for r in runs]),
        "tree_rss": med([sum(h for h, _ in per_process(r).values()) for r in runs]),
        "dbward_rss": med([per_process(r)["dbward"][0] for r in runs]) if any(
            p["comm"] == "dbward" for r in runs for p in r["procs"]) else None,
        "procs": {c: (med(h), med(cpu)) for c, (h, cpu) in procs.items()},
        "cmd": runs[0]["cmd"],
    }


def paired(subject, baseline):
    """subject/baseline wall of each round both ran in: (min, max), or None."""
    both = sorted(set(subject["rounds"]) & set(baseline["rounds"]))
    ratios = [subject["rounds"][r]["wall_s"] / baseline["rounds"][r]["wall_s"] for r in both]
    return (min(ratios), max(ratios)) if ratios else None


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    plain = {(r["engine"], r["database"]): r["bytes"] for r in rows if r.get("kind") == "plain_size"}
    fixtures = {r["engine"]: r for r in rows if r.get("kind") == "fixture"}
    timed = defaultdict(list)
    bigger = defaultdict(list)
    for r in rows:
        if r.get("kind") == "timed":
            timed[(r["engine"], r["case"])].append(r)
        elif str(r.get("kind", "")).startswith("x"):
            bigger[(r["engine"], r["kind"])].append(r)
    databases = {}
    for (engine, database) in plain:
        databases.setdefault(engine, database)  # the first one recorded is the 1x database

    print()
    print("MB = 10^6 bytes, MiB = 2^20 (RSS columns are MiB). MB/s = plain dump size / wall time (the same")
    print("basis for every row of an engine, restores included).")
    print("wall: median [min-max] of the rounds. RSS: each process's own peak (VmHWM sampled from /proc);")
    print("'dbward' = the dbward process alone; 'sum' = sum of every program's peak (dump tool included);")
    print("'%M' = GNU time's max RSS (max over the process and the children it waited for, not a sum).")
    print("CPU s = user+sys of the command and its children (GNU time); other = CPU the rest of the machine")
    print("was busy meanwhile (/proc/stat): the database server's backends (which do the loading in a")
    print("restore), the sampler, and anything else running. s3_server* = the S3 server process, outside")
    print("the command: its CPU during the run is in neither 'CPU s' nor 'other'.")
    verdicts = []
    sized = []
    for engine in ("postgres", "mariadb"):
        cases = [c for (e, c) in timed if e == engine]
        if not cases:
            continue
        basis = plain[(engine, databases[engine])]
        print()
        print(f"== {ENGINE_NAMES[engine]}: database {databases[engine]}, plain dump {basis / MB:.1f} MB ==")
        head = f"{'case':<44} {'wall s':>17} {'MB/s':>7} {'out MB':>8} {'out/plain':>9} {'RSS dbward':>10} {'RSS sum':>8} {'%M':>6} {'CPU s':>6} {'other':>6}  CPU s/peak RSS MiB by process"
        print(head)
        print("-" * len(head))
        summaries = {}
        for case in ORDER:
            if (engine, case) not in timed:
                continue
            s = summarize(timed[(engine, case)])
            summaries[case] = s
            by_proc = ", ".join(
                f"{c} {cpu:.1f}s/{h / 1024:.0f}MB" for c, (h, cpu) in sorted(s["procs"].items(), key=lambda kv: -kv[1][1])
            )
            wall = f"{s['wall']:.2f} [{s['wall_min']:.2f}-{s['wall_max']:.2f}]"
            print(
                f"{LABELS[(engine, case)]:<44} {wall:>17} {basis / MB / s['wall']:>7.1f} "
                f"{fmt(s['out'] and s['out'] / MB, '8.1f'):>8} {fmt(s['out'] and s['out'] / basis, '9.3f'):>9} "
                f"{fmt(s['dbward_rss'] and s['dbward_rss'] / 1024, '10.1f'):>10} {s['tree_rss'] / 1024:>8.1f} "
                f"{s['time_maxrss'] / 1024:>6.0f} {s['cpu']:>6.2f} {s['other']:>6.2f}  {by_proc}"
            )
        d = summaries.get("dbward")
        if d and d["dump"]:
            what = "pg_dump --format=custom --compress=0" if engine == "postgres" else "mariadb-dump SQL"
            print(f"(dbward's dump: {d['dump'] / MB:.1f} MB of {what}, stored as {d['out'] / MB:.1f} MB)")
        fx = fixtures.get(engine)
        if fx and ("dbward_restore" in summaries or "dbward_drill" in summaries):
            print(f"(restores read backup {fx['backup_id']}: {fx['bytes'] / MB:.1f} MB artifact of the dbward backup above, zstd 3, on fs)")
        for case in ("plain_restore", "plain_drill"):
            s = summaries.get(case)
            if s and s["setup"] is not None:
                print(f"({LABELS[(engine, case)]}: its scratch database was created before the run, untimed: median {s['setup']:.2f} s)")
        s = summaries.get("dbward_restore")
        if s and s["info"]["duration_ms"] is not None:
            print(f"(dbward restore's own duration_ms: {s['info']['duration_ms'] / 1000:.2f} s of {s['wall']:.2f} s wall; "
                  f"it reports {fmt(s['info']['tables'], '.0f')} tables / {fmt(s['info']['rows'], '.0f')} rows restored)")
        s = summaries.get("dbward_drill")
        if s and s["info"]["restore_ms"] is not None:
            print(f"(dbward drill: restore_ms {s['info']['restore_ms'] / 1000:.2f} s, duration_ms {s['info']['duration_ms'] / 1000:.2f} s, wall {s['wall']:.2f} s)")
        s = summaries.get("plain_drill")
        if s and s["phases"]["restore"] is not None:
            ph = s["phases"]
            print(f"(plain drill phases, medians: load {ph['restore']:.2f} s, counts {ph['count']:.2f} s, drop {ph['drop']:.2f} s)")

        if d and any(c in summaries for c in RATIOS[engine]):
            print()
            print(f"ratios dbward / baseline ({ENGINE_NAMES[engine]}, medians; < 1 means dbward is faster / smaller):")
            for case in RATIOS[engine]:
                b = summaries.get(case)
                if not b:
                    continue
                size = f"   size {d['out'] / b['out']:.2f}x" if b["out"] else ""
                rss = f"   RSS dbward/sum {d['dbward_rss'] / b['tree_rss']:.2f}x" if d["dbward_rss"] else ""
                print(f"  dbward / {LABELS[(engine, case)]:<36} wall {d['wall'] / b['wall']:.2f}x   CPU {d['cpu'] / b['cpu']:.2f}x{size}{rss}")

        lines = []
        for suite, subj, base, wall_target, rss_target, text in TARGETS:
            a, b = summaries.get(subj), summaries.get(base)
            if not a or not b:
                continue
            ratio = a["wall"] / b["wall"]
            pr = paired(a, b)
            rss = a["dbward_rss"] / 1024 if a["dbward_rss"] else None
            ok_wall = ratio <= wall_target
            ok_rss = rss_target is None or (rss is not None and rss <= rss_target)
            cpu = f"CPU {a['cpu_all'] / b['cpu_all']:.2f}x" if b["cpu_all"] else ""
            other = f"other {a['other'] / b['other']:.2f}x" if b["other"] > 0.05 else ""
            lines.append(
                f"  {suite:<10} {LABELS[(engine, subj)]:<34} / {LABELS[(engine, base)]:<42} wall {ratio:.3f}x "
                f"(rounds {pr[0]:.3f}-{pr[1]:.3f}) {cpu:>10}  {other:<12}"
                + (f" dbward RSS {rss:.1f} MiB" if rss is not None else "")
            )
            verdicts.append((ok_wall and ok_rss, suite, engine, ratio, wall_target, rss, rss_target, text, a, b))
        for suite, subj, base, size_target, text in SIZE_TARGETS:
            a, b = summaries.get(subj), summaries.get(base)
            if not a or not b or not a["out"] or not b["out"]:
                continue
            ratio = a["out"] / b["out"]
            both = sorted(set(a["rounds"]) & set(b["rounds"]))
            per_round = [a["rounds"][r]["out_bytes"] / b["rounds"][r]["out_bytes"] for r in both
                         if a["rounds"][r]["out_bytes"] and b["rounds"][r]["out_bytes"]]
            span = f"(rounds {min(per_round):.3f}-{max(per_round):.3f})" if per_round else ""
            lines.append(
                f"  {suite:<10} {LABELS[(engine, subj)]:<34} / {LABELS[(engine, base)]:<42} size {ratio:.3f}x {span} "
                f"{a['out'] / MB:.1f} MB / {b['out'] / MB:.1f} MB"
            )
            sized.append((ratio <= size_target, suite, engine, ratio, size_target, text, a, b))
        if lines:
            print()
            print(f"ratios against the targets ({ENGINE_NAMES[engine]}, medians; rounds = min-max of the per-round ratios;")
            print("CPU = command + S3 server; other = the rest of the machine, mostly the database server):")
            for l in lines:
                print(l)

        for (e, kind), runs in sorted(bigger.items()):
            if e != engine or not d:
                continue
            s = summarize(runs)
            big_db = [db for (en, db) in plain if en == engine and db != databases[engine]]
            big_plain = plain[(engine, big_db[0])] if big_db else None
            print()
            print(
                f"peak RSS at {kind[1:]}x the data ({big_db[0] if big_db else '?'}, plain dump "
                f"{fmt(big_plain and big_plain / MB, '.1f')} MB, {s['n']} runs): dbward {s['dbward_rss'] / 1024:.1f} MB "
                f"vs {d['dbward_rss'] / 1024:.1f} MB at 1x ({s['dbward_rss'] / d['dbward_rss']:.2f}x); "
                f"wall {s['wall']:.2f} s, {fmt(big_plain and big_plain / MB / s['wall'], '.1f')} MB/s"
            )

    if verdicts or sized:
        print()
        print("targets (medians of the timed rounds):")
        for ok, suite, engine, ratio, wall_target, rss, rss_target, text, a, b in verdicts:
            rss_part = ""
            if rss_target is not None:
                rss_part = f", dbward peak RSS {fmt(rss, '.1f')} MiB (<= {rss_target})"
            print(
                f"  {'met   ' if ok else 'MISSED'} {suite:<10} {ENGINE_NAMES[engine]:<10} wall {a['wall']:.2f} s / {b['wall']:.2f} s "
                f"= {ratio:.3f}x (<= {wall_target:.2f}x){rss_part}   [{text}]"
            )
        for ok, suite, engine, ratio, size_target, text, a, b in sized:
            print(
                f"  {'met   ' if ok else 'MISSED'} {suite:<10} {ENGINE_NAMES[engine]:<10} size {a['out'] / MB:.1f} MB / {b['out'] / MB:.1f} MB "
                f"= {ratio:.3f}x (<= {size_target:.2f}x)   [{text}]"
            )

    print()
    print("commands (bash -o pipefail -c; $OUT is a file in a temporary directory, removed after each run;")
    print("$PHASES collects the plain drill's phase marks):")
    seen = set()
    for (engine, case), runs in timed.items():
        if runs[0]["cmd"] not in seen:
            seen.add(runs[0]["cmd"])
            print(f"  {engine:<8} {case:<14} {runs[0]['cmd']}")
    print()
    print("every run (round 0 = untimed warm-up):")
    print(f"  {'engine':<8} {'case':<14} {'kind':<6} {'round':>5} {'wall s':>7} {'out MB':>8} {'RSS dbward':>10} {'CPU s':>6} {'other':>6}")
    for r in rows:
        if r.get("kind") in ("plain_size", "fixture"):
            continue
        rss = per_process(r)["dbward"][0] / 1024 if any(p["comm"] == "dbward" for p in r["procs"]) else None
        print(
            f"  {r['engine']:<8} {r['case']:<14} {r['kind']:<6} {r['round']:>5} {r['wall_s']:>7.2f} "
            f"{fmt(r['out_bytes'] and r['out_bytes'] / MB, '8.1f'):>8} {fmt(rss, '10.1f'):>10} {r['cpu_s']:>6.2f} "
            f"{r['machine_busy_cpu_s'] - r['cpu_s'] - watched_cpu(r):>6.2f}"
        )


if __name__ == "__main__":
    main()
