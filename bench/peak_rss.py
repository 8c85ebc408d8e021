#!/usr/bin/env python3
"""Runs a command and reports its wall time and peak resident memory.

    peak_rss.py [--out FILE] [--stdin FILE] [--stdout FILE] CMD ARGS...

Prints (or writes to FILE) one JSON object:
    {"wall_s", "user_s", "sys_s", "max_rss_kb", "rc", "method"}

Peak RSS comes from `/usr/bin/time -v` when it is installed (Debian package `time`), otherwise
from getrusage(RUSAGE_CHILDREN) of this wrapper, which after one child has been waited for is
that child's (or its largest waited-for descendant's) peak. Both read the kernel's ru_maxrss.
Wall time is measured here, around the child, with a monotonic clock.
"""

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def main(argv):
    out = stdin = stdout = None
    while argv and argv[0].startswith("--"):
        flag = argv.pop(0)
        if flag == "--":
            break
        if flag in ("--out", "--stdin", "--stdout"):
            value = argv.pop(0)
            if flag == "--out":
                out = value
            elif flag == "--stdin":
                stdin = value
            else:
                stdout = value
        else:
            sys.exit(f"peak_rss.py: unknown option {flag}")
    if not argv:
        sys.exit(__doc__)
    use_time = os.access(GNU_TIME, os.X_OK) and not os.environ.get("PEAK_RSS_NO_TIME")
    report_file = None
    command = list(argv)
    if use_time:
        fd, report_file = tempfile.mkstemp(prefix="peak_rss.", suffix=".txt")
        os.close(fd)
        command = [GNU_TIME, "-v", "-o", report_file] + command
    stdin_handle = open(stdin, "rb") if stdin else None
    stdout_handle = open(stdout, "wb") if stdout else None
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.run(command, stdin=stdin_handle, stdout=stdout_handle)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wall_s": round(wall, 4),
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "max_rss_kb": after.ru_maxrss,
        "rc": process.returncode,
        "method": "getrusage",
    }
    if report_file:
        text = open(report_file).read()
        os.unlink(report_file)
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if match:
            result["max_rss_kb"] = int(match.group(1))
            result["method"] = "/usr/bin/time -v"
        status = re.search(r"Exit status: (\d+)", text)
        if status:
            result["rc"] = int(status.group(1))
        elif "Command terminated by signal" in text:
            result["rc"] = -1
    line = json.dumps(result)
    if out:
        with open(out, "w") as f:
            f.write(line + "\n")
    else:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
