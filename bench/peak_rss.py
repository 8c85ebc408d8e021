#!/usr/bin/env python3
"""Runs a command and reports its wall time and peak resident memory.

    peak_rss.py [--out FILE] [--stdin FILE] [--stdout FILE] CMD ARGS...

Prints (or writes to FILE) one JSON object:
    {"wall_s", "user_s", "sys_s", "max_rss_kb", "rc", "method", "max_anon_kb", "max_file_kb"}

Peak RSS comes from `/usr/bin/time -v` when it is installed (Debian package `time`), otherwise
from getrusage(RUSAGE_CHILDREN) of this wrapper, which after one child has been waited for is
that child's (or its largest waited-for descendant's) peak. Both read the kernel's ru_maxrss.
Wall time is measured here, around the child, with a monotonic clock.

ru_maxrss counts file-backed pages too: for a process that mmaps its files (tantivy reads
segments through mmap while it merges them) that includes page-cache pages the kernel can drop
at will. So this wrapper also samples /proc/PID/status of the command (and its descendants)
every 50 ms and reports the largest RssAnon (heap, stacks: the memory the process really
needs) and RssFile it saw, summed over the process tree. Being sampled, they can miss a spike
shorter than the period.
"""

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time


def descendants(pid):
    """pid and every process below it, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def sample_memory(pid):
    """(RssAnon, RssFile) in kB summed over the tree, or None if /proc cannot tell."""
    anon = file = 0
    seen = False
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        anon += int(line.split()[1])
                        seen = True
                    elif line.startswith("RssFile:"):
                        file += int(line.split()[1])
        except OSError:
            pass
    return (anon, file) if seen else None

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
    process = subprocess.Popen(command, stdin=stdin_handle, stdout=stdout_handle)
    peaks = {"anon": None, "file": None}
    done = threading.Event()

    def sampler():
        while not done.is_set():
            sample = sample_memory(process.pid)
            if sample:
                peaks["anon"] = max(peaks["anon"] or 0, sample[0])
                peaks["file"] = max(peaks["file"] or 0, sample[1])
            done.wait(0.05)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    process.wait()
    wall = time.perf_counter() - started
    done.set()
    thread.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wall_s": round(wall, 4),
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "max_rss_kb": after.ru_maxrss,
        "rc": process.returncode,
        "method": "getrusage",
        "max_anon_kb": peaks["anon"],
        "max_file_kb": peaks["file"],
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
