#!/usr/bin/env python3
"""Peer: SQLite FTS5 (through python3's sqlite3) indexing the corpus's JSON lines.

    peer_fts5.py records.jsonl DB [--query WORDS]

One FTS5 table (title, author, subject, abstract; year unindexed), default unicode61
tokenizer, all rows in one transaction, then `optimize`. Prints JSON: docs, seconds, docs/s
(reading and decoding the JSON lines included), database bytes, and the p50 time of a MATCH
query (top 10 by rank) in-process.
"""

import json
import os
import sqlite3
import statistics
import sys
import time


def main():
    source, db = sys.argv[1], sys.argv[2]
    query = sys.argv[sys.argv.index("--query") + 1] if "--query" in sys.argv else "panda"
    for suffix in ("", "-wal", "-journal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    started = time.perf_counter()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE VIRTUAL TABLE records USING fts5(title, author, subject, abstract, year UNINDEXED)")
    docs = 0

    def rows():
        nonlocal docs
        with open(source, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                docs += 1
                yield (" ".join(d["title"]), "; ".join(d["author"]), "; ".join(d["subject"]), d["abstract"], d["year"])

    with con:
        con.executemany("INSERT INTO records(title, author, subject, abstract, year) VALUES (?, ?, ?, ?, ?)", rows())
    con.execute("INSERT INTO records(records) VALUES('optimize')")
    con.commit()
    seconds = time.perf_counter() - started
    latencies = []
    for _ in range(50):
        t = time.perf_counter()
        con.execute("SELECT rowid, title FROM records WHERE records MATCH ? ORDER BY rank LIMIT 10", (query,)).fetchall()
        latencies.append((time.perf_counter() - t) * 1000)
    con.close()
    print(json.dumps({
        "docs": docs,
        "seconds": round(seconds, 3),
        "docs_per_s": round(docs / seconds, 1),
        "db_bytes": os.path.getsize(db),
        "query": query,
        "query_p50_ms": round(statistics.median(latencies), 3),
        "sqlite_version": sqlite3.sqlite_version,
    }))


if __name__ == "__main__":
    main()
