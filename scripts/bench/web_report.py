"""The report of scripts/bench-web.sh from its result lines (JSON, one a line):

    web_report.py RESULTS_JSONL

`request` lines hold curl's `http_code time_pretransfer time_starttransfer size_download`
of one timed request; the server time is starttransfer - pretransfer. `page` holds the
bytes of the first page load, `memory` the server's RSS idle and at its peak.
"""

import collections
import json
import statistics
import sys

SERVER_MS_TARGET = 300  # the Overview with 10,000 databases (the web dashboard issue)
PAGE_KB_TARGET = 250
RSS_MIB_TARGET = 20


def main(path):
    times = collections.defaultdict(list)
    sizes = collections.defaultdict(set)
    page = memory = None
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "request":
                _, pre, start, size = r["line"].split()
                times[r["page"]].append((float(start) - float(pre)) * 1000)
                sizes[r["page"]].add(int(size))
            elif r["kind"] == "page":
                page = r
            elif r["kind"] == "memory":
                memory = r
    print(f"{'request':<12} {'runs':>4} {'min ms':>8} {'median ms':>10} {'max ms':>8} {'bytes':>10}")
    for name, ms in times.items():
        print(f"{name:<12} {len(ms):>4} {min(ms):>8.1f} {statistics.median(ms):>10.1f} "
              f"{max(ms):>8.1f} {max(sizes[name]):>10}")
    if "overview" in times:
        median = statistics.median(times["overview"])
        print(f"overview server time: median {median:.1f} ms, target < {SERVER_MS_TARGET} ms: "
              f"{'met' if median < SERVER_MS_TARGET else 'MISSED'}")
    if page:
        total = page["html"] + page["js"]
        zipped = page["html_gzip"] + page["js_gzip"]
        print(f"first page load: {total / 1000:.1f} kB ({page['html']} B page with "
              f"{page['rows']} rows + {page['js']} B script; {zipped / 1000:.1f} kB gzip'd), "
              f"target < {PAGE_KB_TARGET} kB: {'met' if total < PAGE_KB_TARGET * 1000 else 'MISSED'}")
    if memory:
        idle, peak = memory["idle_kib"] / 1024, memory["peak_kib"] / 1024
        print(f"server RSS: {idle:.1f} MiB idle, {peak:.1f} MiB peak; the requests added "
              f"{peak - idle:.1f} MiB, target < {RSS_MIB_TARGET} MiB: "
              f"{'met' if peak - idle < RSS_MIB_TARGET else 'MISSED'}")


if __name__ == "__main__":
    main(sys.argv[1])
