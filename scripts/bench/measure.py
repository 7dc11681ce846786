# Benchmark helper for scripts/bench.sh: runs one command under GNU time and samples every process of its tree for peak RSS and CPU.
"""Runs CMD as `/usr/bin/time -f '%e %M %U %S' CMD` and, while it runs, samples each process
of the tree below it from /proc: `VmHWM` (the kernel's own peak-RSS counter for that one
process, monotone, so the last sample is its peak up to that moment) and utime+stime.

Writes one JSON object to --out:
  wall_s          GNU time %e (elapsed seconds)
  time_maxrss_kb  GNU time %M: wait4() rusage, i.e. the largest peak RSS of the command
                  *or any descendant it waited for* (a max, never a sum: for `dbward` it
                  is max(dbward, pg_dump), not dbward alone)
  cpu_s           GNU time %U + %S (the command plus its waited-for descendants)
  exit            the command's exit status
  machine_busy_cpu_s  CPU seconds the whole machine was busy during the run (/proc/stat),
                  to compare with cpu_s: the rest is the database server and anything else
  procs           [{pid, ppid, comm, hwm_kb, cpu_s}] last sample of every process seen
                  below /usr/bin/time; each value is at most one interval stale (a process
                  can grow or burn CPU in its last interval without being seen); then one
                  entry per --watch PID (a process outside the command, e.g. a server it talks
                  to) with "watched": true, its CPU during the run (delta of utime+stime) and
                  its peak RSS during the run (VmHWM, reset through /proc/PID/clear_refs before
                  the run where permitted; otherwise the peak since it started)

stdin/stdout/stderr are passed through to CMD. Exits with CMD's status.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def read_stat(pid):
    """(ppid, cpu seconds) from /proc/<pid>/stat, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    rest = data[data.rindex(b")") + 2 :].split()
    # rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    ppid = int(rest[1])
    cpu = (int(rest[11]) + int(rest[12])) / TICK
    return ppid, cpu


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy (not idle, not iowait) since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already counted in user/nice.
    return (sum(fields[:8]) - idle) / TICK


def read_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0  # a zombie has no memory lines any more


def read_comm(pid):
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode(errors="replace").strip()
    except OSError:
        return "?"


def scan_children(known):
    """New pids whose parent is already known (one pass over /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in known:
            continue
        stat = read_stat(pid)
        if stat and stat[0] in known:
            found.append((pid, stat[0]))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--watch", type=int, action="append", default=[])
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("no command")

    fd, time_file = tempfile.mkstemp(prefix="bench-time.")
    os.close(fd)
    watched = {}
    for pid in args.watch:
        stat = read_stat(pid)
        if stat is None:
            continue
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            reset = True
        except OSError:
            reset = False
        watched[pid] = {"pid": pid, "ppid": stat[0], "comm": read_comm(pid), "hwm_kb": 0,
                        "cpu_s": 0.0, "watched": True, "hwm_reset": reset, "cpu_before": stat[1]}
    try:
        busy_before = busy_cpu_s()
        child = subprocess.Popen(["/usr/bin/time", "-f", "%e %M %U %S", "-o", time_file, *cmd])
        procs = {child.pid: {"pid": child.pid, "ppid": os.getpid(), "comm": "time", "hwm_kb": 0, "cpu_s": 0.0}}
        alive = {child.pid}
        started = time.monotonic()
        ticks = 0
        while child.poll() is None:
            # Processes are mostly started in the first second; look for new ones often then,
            # and every fifth tick afterwards to keep the sampler's own CPU small.
            if ticks % 5 == 0 or time.monotonic() - started < 1.0:
                for pid, ppid in scan_children(set(procs)):
                    procs[pid] = {"pid": pid, "ppid": ppid, "comm": read_comm(pid), "hwm_kb": 0, "cpu_s": 0.0}
                    alive.add(pid)
            for pid, w in watched.items():
                hwm = read_hwm_kb(pid)
                if hwm:
                    w["hwm_kb"] = max(w["hwm_kb"], hwm)
            for pid in list(alive):
                stat = read_stat(pid)
                hwm = read_hwm_kb(pid)
                if stat is None or hwm is None:
                    alive.discard(pid)
                    continue
                p = procs[pid]
                # Re-read: a forked shell takes its program's name only at exec.
                p["comm"] = read_comm(pid)
                p["cpu_s"] = max(p["cpu_s"], stat[1])
                p["hwm_kb"] = max(p["hwm_kb"], hwm)
            ticks += 1
            time.sleep(args.interval)
        busy = busy_cpu_s() - busy_before
        for pid, w in watched.items():
            stat = read_stat(pid)
            hwm = read_hwm_kb(pid)
            if stat is not None:
                w["cpu_s"] = round(stat[1] - w.pop("cpu_before"), 2)
            if hwm:
                w["hwm_kb"] = max(w["hwm_kb"], hwm)
        status = child.returncode if child.returncode >= 0 else 128 - child.returncode
        with open(time_file) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        # On failure GNU time writes "Command exited with non-zero status N" first.
        fields = lines[-1].split() if lines else []
        if len(fields) == 4:
            wall, maxrss, user, system = fields
            result = {
                "wall_s": float(wall),
                "time_maxrss_kb": int(maxrss),
                "cpu_s": float(user) + float(system),
            }
        else:
            result = {"wall_s": None, "time_maxrss_kb": None, "cpu_s": None}
        result["exit"] = status
        # CPU the machine spent on anything else meanwhile (other users, the server's own
        # processes, this sampler): a busy machine skews the timings.
        result["machine_busy_cpu_s"] = round(busy, 2)
        result["procs"] = [p for p in procs.values() if p["pid"] != child.pid] + list(watched.values())
        with open(args.out, "w") as f:
            json.dump(result, f)
        sys.exit(status)
    finally:
        os.unlink(time_file)


if __name__ == "__main__":
    main()
