#!/usr/bin/env python3
"""Peer: pymarc parsing the corpus's MARCXML (streaming, pymarc.map_xml over xml.sax).

    peer_pymarc.py records.xml [--lib DIR]

Parses every record into a pymarc.Record and reads its title (so the fields are really
built), nothing else. Prints JSON: records, seconds, records/s, pymarc version.
"""

import json
import sys
import time


def main():
    source = sys.argv[1]
    if "--lib" in sys.argv:
        sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
    import pymarc

    count = 0
    titled = 0

    def handle(record):
        nonlocal count, titled
        count += 1
        title = record.title
        if callable(title):  # pymarc < 5: a method
            title = title()
        if title:
            titled += 1

    started = time.perf_counter()
    pymarc.map_xml(handle, source)
    seconds = time.perf_counter() - started
    version = getattr(pymarc, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version
            version = dist_version("pymarc")
        except Exception:
            version = "unknown"
    print(json.dumps({"records": count, "titled": titled, "seconds": round(seconds, 3),
                      "records_per_s": round(count / seconds, 1), "version": version}))


if __name__ == "__main__":
    main()
