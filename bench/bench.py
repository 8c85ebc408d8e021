#!/usr/bin/env python3
"""Measures acadex and its peers on a generated corpus and prints the Markdown table.

Called by bench/run.sh after it has built everything and generated the corpus; it can be run
again on its own (it only reads the corpus and the binaries, and rebuilds the indexes under
bench/.work/). Python 3 standard library only.

    bench.py --size N --acadex BIN --bench-search BIN [--tantivy BIN --bench-documents BIN] [--pymarc-lib DIR]
             [--quick] [--out bench/results-N.md]
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
PY = sys.executable

FACET_QUERY = "panda"
FACETS = ["type", "year", "language", "subject"]

# The targets of the performance issue (see bench/README.md).
TARGETS = {
    "import_rate": 40_000,  # records/s, and at least tantivy-cli's docs/s
    "gz_overhead": 0.05,  # .gz import time within 5% of .xml
    "peak_rss_mb_1m": 300,  # at 1M records
    "search_bytes_per_record": 500,
    "top10_p50": 1.0, "top10_p99": 10.0,
    "facets_p50": 10.0, "facets_p99": 50.0,
    "oneshot_p50": 15.0, "oneshot_p99": 60.0,
    "startup_p50": 5.0,
}


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cpu_busy_seconds():
    """CPU seconds spent busy by the whole machine so far (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait=300, threshold=0.25):
    """Waits (up to max_wait s) until the rest of the machine uses under `threshold` of a CPU,
    so that a concurrent build does not skew the figures. Returns the load it last saw."""
    deadline = time.time() + max_wait
    while True:
        before, started = cpu_busy_seconds(), time.perf_counter()
        time.sleep(2)
        after = cpu_busy_seconds()
        if before is None or after is None:
            return None
        load = (after - before) / (time.perf_counter() - started)
        if load < threshold or time.time() > deadline:
            if load >= threshold:
                log(f"the machine is busy ({load:.2f} CPUs used by other processes); measuring anyway")
            return load
        log(f"waiting for the machine to be quiet ({load:.2f} CPUs busy elsewhere)")
        time.sleep(8)


def run_measured(command, out_json, stdout=None, stdin=None, env=None):
    """Runs command under peak_rss.py; returns its JSON report, plus `other_cpus`: how many
    CPUs other processes kept busy on average meanwhile (0 on a quiet machine)."""
    wrapper = [PY, os.path.join(HERE, "peak_rss.py"), "--out", out_json]
    if stdout:
        wrapper += ["--stdout", stdout]
    if stdin:
        wrapper += ["--stdin", stdin]
    busy_before = cpu_busy_seconds()
    subprocess.run(wrapper + command, check=False, env=env)
    busy_after = cpu_busy_seconds()
    with open(out_json) as f:
        result = json.load(f)
    if busy_before is not None and busy_after is not None and result["wall_s"] > 0:
        other = (busy_after - busy_before) - result["user_s"] - result["sys_s"]
        result["other_cpus"] = round(max(other, 0.0) / result["wall_s"], 2)
    return result


def warm(path):
    """Reads a file once so imports are measured from the page cache, not the disk."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def folder_sizes(path):
    total = store = 0
    for dirpath, dirnames, filenames in os.walk(path):
        if os.path.basename(dirpath) == "rejects":
            continue
        for name in filenames:
            size = os.path.getsize(os.path.join(dirpath, name))
            total += size
            if name.endswith(".store"):
                store += size
    return total, store


def percentile(samples, q):
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


def time_processes(command, runs, warmup=3):
    """p50/p99/min in ms of a whole process, stdout and stderr to /dev/null (warm cache).
    close_fds=False lets subprocess use posix_spawn, the cheapest way Python has to start one."""
    samples = []
    codes = set()
    for i in range(warmup + runs):
        started = time.perf_counter()
        code = subprocess.call(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False)
        elapsed = (time.perf_counter() - started) * 1000
        codes.add(code)
        if i >= warmup:
            samples.append(elapsed)
    return {"p50_ms": round(percentile(samples, 0.5), 2), "p99_ms": round(percentile(samples, 0.99), 2),
            "min_ms": round(min(samples), 2), "runs": runs, "exit_codes": sorted(codes)}


def read_status(name):
    path = os.path.join(WORK, f"status-{name}.txt")
    if os.path.exists(path):
        return open(path).read().strip()
    return None


def git_state():
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                               capture_output=True, text=True).stdout.strip()
        return commit + (" + uncommitted src changes" if dirty else "")
    except OSError:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def best_of(repeats, measure):
    """Runs measure() `repeats` times and keeps the fastest run (see interleaved)."""
    return interleaved(repeats, {"run": measure})["run"]


def interleaved(repeats, measures):
    """Runs each of `measures` (name -> measure()) once per round, `repeats` rounds, so that
    runs compared with each other meet the same machine conditions (a shared machine drifts by
    ±10% over minutes). Each run waits (up to 90 s) for a machine as quiet as it gets; each
    measure keeps its fastest run (the least disturbed), with all runs' wall times in
    `walls_s`."""
    runs = {name: [] for name in measures}
    for _ in range(max(repeats, 1)):
        for name, measure in measures.items():
            wait_for_quiet(max_wait=90)
            runs[name].append(measure())
    best = {}
    for name, measured in runs.items():
        best[name] = min(measured, key=lambda r: r["wall_s"])
        best[name]["walls_s"] = [r["wall_s"] for r in measured]
    return best


def import_acadex(acadex, source, index, results, label):
    shutil.rmtree(index, ignore_errors=True)
    warm(source)
    report_path = os.path.join(results, f"import-{label}.stdout.json")
    measured = run_measured([acadex, "import", source, "--index", index, "--json", "--quiet"],
                            os.path.join(results, f"import-{label}.json"), stdout=report_path)
    try:
        with open(report_path) as f:
            measured["report"] = json.load(f)
        measured["report"].pop("errors", None)
    except (OSError, ValueError) as error:
        measured["report"] = {"error": str(error)}
    measured["index_bytes"], measured["store_bytes"] = folder_sizes(index)
    return measured


TANTIVY_SCHEMA = [
    {"name": "title", "type": "text", "options": {"indexing": {"record": "position", "fieldnorms": True, "tokenizer": "default"}, "stored": True, "fast": False}},
    {"name": "author", "type": "text", "options": {"indexing": {"record": "position", "fieldnorms": True, "tokenizer": "default"}, "stored": True, "fast": False}},
    {"name": "subject", "type": "text", "options": {"indexing": {"record": "position", "fieldnorms": True, "tokenizer": "default"}, "stored": True, "fast": False}},
    {"name": "abstract", "type": "text", "options": {"indexing": {"record": "position", "fieldnorms": True, "tokenizer": "default"}, "stored": True, "fast": False}},
    {"name": "year", "type": "u64", "options": {"indexed": True, "fieldnorms": False, "fast": True, "stored": True}},
]


def tantivy_meta():
    return {
        "index_settings": {"docstore_compression": "lz4", "docstore_blocksize": 16384},
        "segments": [],
        "schema": TANTIVY_SCHEMA,
        "opstamp": 0,
    }


def peer_tantivy(tantivy, jsonl, index, results, runs, meta=None, name="tantivy"):
    """tantivy-cli indexing `jsonl` into a fresh index with `meta` (default: the 5-field schema);
    one-shot searches are timed only on the 5-field index, whose schema they are written for."""
    shutil.rmtree(index, ignore_errors=True)
    os.makedirs(index)
    if meta is None:
        meta = tantivy_meta()
    with open(os.path.join(index, "meta.json"), "w") as f:
        json.dump(meta, f)
    warm(jsonl)
    measured = run_measured([tantivy, "index", "-i", index, "-t", "2", "-m", str(128 << 20)], os.path.join(results, f"{name}-index.json"),
                            stdin=jsonl, stdout=os.path.join(results, f"{name}-index.stdout.txt"))
    measured["index_bytes"], measured["store_bytes"] = folder_sizes(index)
    if measured["rc"] == 0 and name == "tantivy":
        # tantivy-cli's search prints every matching document; a selective query keeps the
        # output small so that the process, not the printing, is measured.
        measured["oneshot"] = time_processes([tantivy, "search", "-i", index, "-q", f"title:{FACET_QUERY}"], runs)
        # The closest to acadex's facet query tantivy-cli can run: one terms aggregation on the
        # year fast field, no hits printed.
        aggregation = json.dumps({"year": {"terms": {"field": "year", "size": 10}}})
        measured["oneshot_agg"] = time_processes([tantivy, "search", "-i", index, "-q", FACET_QUERY, "-a", aggregation], runs)
    return measured


def tantivy_documents(args, xml, size):
    """Writes acadex's own documents as JSON lines with acadex's schema (examples/bench_documents),
    for tantivy-cli: the engine's share of an import, with no XML and no mapping. Returns
    (jsonl, meta) or an "unavailable" reason."""
    docs = os.path.join(WORK, f"documents-{size}")
    shutil.rmtree(docs, ignore_errors=True)
    os.makedirs(docs)
    jsonl, meta = os.path.join(docs, "documents.jsonl"), os.path.join(docs, "meta.json")
    log("peer: writing acadex's documents as JSON (examples/bench_documents)")
    proc = subprocess.run([args.bench_documents, "--input", xml, "--jsonl", jsonl, "--meta", meta], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, {"unavailable": f"bench_documents failed: {proc.stderr.strip()[-300:]}"}
    return (jsonl, json.load(open(meta))), None


def tantivy_row(measured, size, work, notes):
    """(docs/s, table row) of a tantivy-cli peer; docs/s is None when it did not run or failed.
    `notes` is called only for a run that succeeded."""
    if "unavailable" in measured:
        return None, f"| tantivy-cli | {work} | – | – | – | – | not available: {measured['unavailable']} |"
    if measured["rc"] != 0:
        return None, f"| tantivy-cli | {work} | – | – | – | – | not available: `tantivy index` exited {measured['rc']} |"
    rate = size / measured["wall_s"]
    return rate, (f"| tantivy-cli {measured.get('version', '')} | {work} | {measured['wall_s']:.2f} | {fmt_rate(rate)} | "
                  f"{rss(measured)} | {measured.get('other_cpus', '?')} | {notes()} |")


def fmt_rate(value):
    return "–" if value is None else f"{value:,.0f}"


def fmt(value, digits=1):
    return "–" if value is None else f"{value:,.{digits}f}"


def rss(m):
    """Peak RSS in MB, with its sampled anonymous / file-backed peaks where known."""
    text = f"{m['max_rss_kb'] / 1024:,.0f}"
    if m.get("max_anon_kb") is not None:
        text += f" ({m['max_anon_kb'] / 1024:,.0f} + {m['max_file_kb'] / 1024:,.0f})"
    return text


def verdict(ok):
    return "✅" if ok else "❌"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--acadex", required=True)
    parser.add_argument("--bench-search", required=True)
    parser.add_argument("--tantivy")
    parser.add_argument("--bench-documents", help="examples/bench_documents, for tantivy-cli on acadex's own documents")
    parser.add_argument("--pymarc-lib")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--repeat", type=int,
                        help="rounds of the imports (the fastest of each counts); default 5 up to 200,000 records, "
                             "3 above (a 1M round takes over a minute), 1 with --quick")
    parser.add_argument("--label", help="what acadex was built from (commit); default: this checkout's git state")
    args = parser.parse_args()

    size = args.size
    corpus = os.path.join(WORK, f"corpus-{size}")
    results = os.path.join(WORK, f"results-{size}")
    os.makedirs(results, exist_ok=True)
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    xml, gz, jsonl = (os.path.join(corpus, name) for name in ("records.xml", "records.xml.gz", "records.jsonl"))
    runs = 20 if args.quick else 50
    iterations = 50 if args.quick else 200
    mb = manifest["xml_bytes"] / 1e6

    # The machine's speed drifts by tens of percent within minutes; more rounds give each import
    # more chances at a quiet one, where the rounds are cheap.
    repeat = args.repeat or (1 if args.quick else 5 if size <= 200_000 else 3)
    tantivy_ready = args.tantivy and os.access(args.tantivy, os.X_OK)
    documents, documents_unavailable = None, {"unavailable": read_status("tantivy-cli") or "not built"}
    if tantivy_ready and args.bench_documents:
        documents, documents_unavailable = tantivy_documents(args, xml, size)
    elif tantivy_ready:
        documents_unavailable = {"unavailable": "examples/bench_documents not given"}
    quiet_load = wait_for_quiet()
    index = os.path.join(WORK, f"index-{size}")
    measures = {
        "xml": lambda: import_acadex(args.acadex, xml, index, results, "xml"),
        "gz": lambda: import_acadex(args.acadex, gz, os.path.join(WORK, f"index-{size}-gz"), results, "gz"),
    }
    if documents:
        jsonl_docs, meta_docs = documents
        measures["tantivy_docs"] = lambda: peer_tantivy(args.tantivy, jsonl_docs, os.path.join(WORK, f"tantivy-docs-{size}"), results,
                                                        runs, meta=meta_docs, name="tantivy-docs")
        # The same, with the one engine setting acadex changes: stored documents compressed on
        # the indexing threads instead of a thread per segment (see src/index/writer.rs).
        meta_same = json.loads(json.dumps(meta_docs))
        meta_same["index_settings"]["docstore_compress_dedicated_thread"] = False
        measures["tantivy_docs_same"] = lambda: peer_tantivy(args.tantivy, jsonl_docs, os.path.join(WORK, f"tantivy-same-{size}"),
                                                             results, runs, meta=meta_same, name="tantivy-same")
    log(f"acadex import of {size:,} records (.xml, .gz){' and tantivy-cli on acadex documents' if documents else ''}, "
        f"interleaved, best of {repeat}")
    measured = interleaved(repeat, measures)
    imp_xml, imp_gz = measured["xml"], measured["gz"]
    shutil.rmtree(os.path.join(WORK, f"index-{size}-gz"), ignore_errors=True)
    if documents:
        measured["tantivy_docs"]["jsonl_bytes"] = os.path.getsize(documents[0])
        shutil.rmtree(os.path.dirname(documents[0]), ignore_errors=True)
        shutil.rmtree(os.path.join(WORK, f"tantivy-docs-{size}"), ignore_errors=True)
        shutil.rmtree(os.path.join(WORK, f"tantivy-same-{size}"), ignore_errors=True)

    wait_for_quiet(max_wait=90)
    log("in-process query latency (examples/bench_search)")
    proc = subprocess.run([args.bench_search, "--index", index, "--iterations", str(iterations)], capture_output=True, text=True)
    latency = json.loads(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr.strip()[-500:]}
    json.dump(latency, open(os.path.join(results, "latency.json"), "w"), indent=1, ensure_ascii=False)

    wait_for_quiet(max_wait=90)
    log("one-shot processes")
    search_cmd = [args.acadex, "search", FACET_QUERY, "--json", "--index", index]
    for facet in FACETS:
        search_cmd += ["--facet", facet]
    oneshot = time_processes(search_cmd, runs)
    oneshot_plain = time_processes([args.acadex, "search", FACET_QUERY, "--json", "--index", index], runs)
    startup = time_processes([args.acadex, "--version"], runs)
    floor = time_processes(["/bin/true"], runs)

    peers = {}
    status = read_status("tantivy-cli")
    if tantivy_ready:
        log("peer: tantivy-cli index (2 threads)")
        peers["tantivy"] = best_of(repeat, lambda: peer_tantivy(args.tantivy, jsonl, os.path.join(WORK, f"tantivy-{size}"), results, runs))
        peers["tantivy"]["version"] = read_status("tantivy-cli-version") or ""
        peers["tantivy"]["note"] = read_status("tantivy-cli-note") or ""
    else:
        peers["tantivy"] = {"unavailable": status or "not built"}
    peers["tantivy_docs"] = measured.get("tantivy_docs", documents_unavailable)
    peers["tantivy_docs_same"] = measured.get("tantivy_docs_same", documents_unavailable)
    log("peer: SQLite FTS5")
    fts_out = os.path.join(results, "fts5.stdout.json")

    def run_fts():
        fts = run_measured([PY, os.path.join(HERE, "peer_fts5.py"), jsonl, os.path.join(WORK, f"fts5-{size}.db")],
                           os.path.join(results, "fts5.json"), stdout=fts_out)
        try:
            fts.update(json.load(open(fts_out)))
        except (OSError, ValueError) as error:
            fts["unavailable"] = f"peer_fts5.py failed (rc {fts['rc']}): {error}"
        return fts

    fts = peers["fts5"] = best_of(repeat, run_fts)
    if os.path.exists(os.path.join(WORK, f"fts5-{size}.db")):
        os.unlink(os.path.join(WORK, f"fts5-{size}.db"))
    status = read_status("pymarc")
    if args.pymarc_lib and os.path.isdir(os.path.join(args.pymarc_lib, "pymarc")):
        log("peer: pymarc parse")
        pm_out = os.path.join(results, "pymarc.stdout.json")
        wait_for_quiet(max_wait=90)
        pm = run_measured([PY, os.path.join(HERE, "peer_pymarc.py"), xml, "--lib", args.pymarc_lib],
                          os.path.join(results, "pymarc.json"), stdout=pm_out)
        try:
            pm.update(json.load(open(pm_out)))
        except (OSError, ValueError) as error:
            pm["unavailable"] = f"peer_pymarc.py failed (rc {pm['rc']}): {error}"
        peers["pymarc"] = pm
    else:
        peers["pymarc"] = {"unavailable": status or "not installed"}

    raw = {"manifest": manifest, "import_xml": imp_xml, "import_gz": imp_gz, "latency": latency,
           "oneshot": {"search_facets": oneshot, "search_plain": oneshot_plain, "version": startup, "true": floor},
           "peers": peers}
    json.dump(raw, open(os.path.join(results, "all.json"), "w"), indent=1, ensure_ascii=False)

    # ------------------------------------------------------------------------------------------
    lines = []
    add = lines.append
    rate_xml = size / imp_xml["wall_s"] if imp_xml["rc"] in (0, 3) else None
    rate_gz = size / imp_gz["wall_s"] if imp_gz["rc"] in (0, 3) else None
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    add(f"## acadex benchmark: {size:,} records{' (quick)' if args.quick else ''}")
    add("")
    add(f"{now} · acadex {args.label or git_state()} · {os.cpu_count()} CPUs ({cpu_model()}) · "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB · "
        f"{subprocess.run(['rustc', '--version'], capture_output=True, text=True).stdout.strip()}")
    add("")
    if quiet_load is not None:
        add(f"Other processes used {quiet_load:.2f} CPUs just before measuring "
            f"(the \"other load\" columns give it during each run; above ~0.2 the figures are skewed).")
        add("")
    add(f"Corpus: {size:,} synthetic MARCXML records, {mb:,.1f} MB ({manifest['bytes_per_record']:,.0f} B/record), "
        f".gz {manifest['gz_bytes'] / 1e6:,.1f} MB; {manifest['distinct_subjects']:,} distinct subject headings, "
        f"{manifest['chinese_880_share']:.0%} with 880 hanzi titles, {manifest['meeting_share']:.0%} meetings; "
        f"seed {manifest['seed']}, sha256 {manifest['sha256'][:12]}…")
    add("")
    add(f"### Import (acadex import, defaults: a thread reading records and building documents, and 2 tantivy indexing threads; warm page cache; best of {repeat})")
    add("")
    add("acadex's two imports and tantivy-cli on acadex's documents (the peer of the import target, below) run "
        "interleaved, one of each per round, so that their ratio compares runs made under the same machine conditions.")
    add("")
    add("| input | wall s (all runs) | records/s | MB/s (XML) | peak RSS MB (anon + file) | CPU s (user+sys) | other load (CPUs) | indexed | target |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, m, rate in (("records.xml", imp_xml, rate_xml), ("records.xml.gz", imp_gz, rate_gz)):
        indexed = m.get("report", {}).get("indexed", "?")
        ok = rate is not None and rate >= TARGETS["import_rate"]
        walls = ", ".join(f"{w:.2f}" for w in m.get("walls_s", [m["wall_s"]]))
        add(f"| {label} | {m['wall_s']:.2f} ({walls}) | {fmt_rate(rate)} | {fmt(mb / m['wall_s'] if rate else None)} | "
            f"{rss(m)} | {m['user_s'] + m['sys_s']:.2f} | {m.get('other_cpus', '?')} | {indexed} | "
            f"≥ {TARGETS['import_rate']:,} rec/s {verdict(ok)} |")
    gz_ratio = imp_gz["wall_s"] / imp_xml["wall_s"]
    peak_mb = max(imp_xml["max_rss_kb"], imp_gz["max_rss_kb"]) / 1024
    anon_mb = max(imp_xml.get("max_anon_kb") or 0, imp_gz.get("max_anon_kb") or 0) / 1024
    target_mb = TARGETS["peak_rss_mb_1m"]
    judged = size >= 1_000_000
    add("")
    add(f"Peak RSS ({imp_xml['method']}): {peak_mb:,.0f} MB"
        f"{' ' + verdict(peak_mb <= target_mb) if judged else ''}; of which anonymous memory (heap, sampled "
        f"every 50 ms from /proc) peaked at {anon_mb:,.0f} MB{' ' + verdict(anon_mb <= target_mb) if judged else ''}. "
        f"The rest is file pages of the index that tantivy mmaps (mostly while merging), which the kernel can "
        f"reclaim. Target ≤ {target_mb} MB at 1M records{'' if judged else ' (judged at 1M only)'}.")
    add("")
    add("### Index size (index of the .xml import)")
    add("")
    total, store = imp_xml["index_bytes"], imp_xml["store_bytes"]
    search_bytes = total - store
    add("| part | MB | bytes/record | target |")
    add("|---|---:|---:|---|")
    add(f"| whole index folder | {total / 1e6:,.1f} | {total / size:,.0f} | |")
    add(f"| `.store` files (stored record JSON + original XML) | {store / 1e6:,.1f} | {store / size:,.0f} | |")
    add(f"| search index (everything but `.store`) | {search_bytes / 1e6:,.1f} | {search_bytes / size:,.0f} | "
        f"≤ {TARGETS['search_bytes_per_record']} B/record {verdict(search_bytes / size <= TARGETS['search_bytes_per_record'])} |")
    add("")
    add(f"### In-process query latency (examples/bench_search, top 10 hits with stored records and snippets; "
        f"{iterations} runs per query after 5 warm-up runs)")
    add("")
    if "error" in latency:
        add(f"not available: bench_search failed: {latency['error']}")
    else:
        add(f"Index opened in {latency['open_ms']:.1f} ms.")
        add("")
        add("| query class | queries | hits | top-10 p50 ms | top-10 p99 ms | 4 facets p50 ms | 4 facets p99 ms |")
        add("|---|---|---:|---:|---:|---:|---:|")
        order = list(dict.fromkeys(q["class"] for q in latency["queries"]))
        for cls in order:
            values = latency["classes"][cls]
            queries = [q for q in latency["queries"] if q["class"] == cls and not q["facets"]]
            names = ", ".join(f"`{q['query'] or '(all)'}`" for q in queries)
            hits = ", ".join(f"{q['hits']:,}" for q in queries)
            add(f"| {cls} | {names} | {hits} | {values['top10']['p50_ms']:.2f} | {values['top10']['p99_ms']:.2f} | "
                f"{values['facets4']['p50_ms']:.2f} | {values['facets4']['p99_ms']:.2f} |")
        o = latency["overall"]
        add(f"| **all** | | | **{o['top10']['p50_ms']:.2f}** | **{o['top10']['p99_ms']:.2f}** | "
            f"**{o['facets4']['p50_ms']:.2f}** | **{o['facets4']['p99_ms']:.2f}** |")
        add(f"| target | | | ≤ {TARGETS['top10_p50']} {verdict(o['top10']['p50_ms'] <= TARGETS['top10_p50'])} | "
            f"≤ {TARGETS['top10_p99']} {verdict(o['top10']['p99_ms'] <= TARGETS['top10_p99'])} | "
            f"≤ {TARGETS['facets_p50']} {verdict(o['facets4']['p50_ms'] <= TARGETS['facets_p50'])} | "
            f"≤ {TARGETS['facets_p99']} {verdict(o['facets4']['p99_ms'] <= TARGETS['facets_p99'])} |")
    add("")
    add(f"### One-shot processes (wall time of the whole process, {runs} runs after 3 warm-up runs, warm cache)")
    add("")
    add("| command | p50 ms | p99 ms | min ms | target |")
    add("|---|---:|---:|---:|---|")
    add(f"| `acadex search {FACET_QUERY} --json --facet {' --facet '.join(FACETS)}` | {oneshot['p50_ms']:.2f} | "
        f"{oneshot['p99_ms']:.2f} | {oneshot['min_ms']:.2f} | p50 ≤ {TARGETS['oneshot_p50']:g} "
        f"{verdict(oneshot['p50_ms'] <= TARGETS['oneshot_p50'])}, p99 ≤ {TARGETS['oneshot_p99']:g} "
        f"{verdict(oneshot['p99_ms'] <= TARGETS['oneshot_p99'])} |")
    add(f"| `acadex search {FACET_QUERY} --json` (no facets) | {oneshot_plain['p50_ms']:.2f} | {oneshot_plain['p99_ms']:.2f} | "
        f"{oneshot_plain['min_ms']:.2f} | |")
    add(f"| `acadex --version` (start-up) | {startup['p50_ms']:.2f} | {startup['p99_ms']:.2f} | {startup['min_ms']:.2f} | "
        f"p50 ≤ {TARGETS['startup_p50']:g} {verdict(startup['p50_ms'] <= TARGETS['startup_p50'])} |")
    t = peers["tantivy"]
    if "oneshot" in t:
        add(f"| `tantivy search -q title:{FACET_QUERY}` (tantivy-cli, prints every hit) | {t['oneshot']['p50_ms']:.2f} | "
            f"{t['oneshot']['p99_ms']:.2f} | {t['oneshot']['min_ms']:.2f} | |")
        add(f"| `tantivy search -q {FACET_QUERY} -a '<terms on year, 10>'` (tantivy-cli, 1 aggregation, no hits) | "
            f"{t['oneshot_agg']['p50_ms']:.2f} | {t['oneshot_agg']['p99_ms']:.2f} | {t['oneshot_agg']['min_ms']:.2f} | |")
    add(f"| `/bin/true` (harness floor: spawning from Python) | {floor['p50_ms']:.2f} | {floor['p99_ms']:.2f} | {floor['min_ms']:.2f} | |")
    add("")
    add("### Peers on the same records")
    add("")
    add("| tool | work | wall s | rate/s | peak RSS MB (anon + file) | other load (CPUs) | notes |")
    add("|---|---|---:|---:|---:|---:|---|")
    add(f"| acadex | import MARCXML → tantivy 0.27 (parse, map, ~20 fields, stores record JSON + original XML) | {imp_xml['wall_s']:.2f} | "
        f"{fmt_rate(rate_xml)} | {rss(imp_xml)} | {imp_xml.get('other_cpus', '?')} | |")
    fts_rate = pymarc_rate = None
    tantivy_rate, row = tantivy_row(
        t, size, "index JSON lines (5 fields, all stored), 2 threads, 128 MiB budget (acadex: 2 indexing threads, 96 MiB)",
        lambda: f"index {t['index_bytes'] / size:,.0f} B/doc{'; ' + t['note'] if t.get('note') else ''}")
    add(row)
    td = peers["tantivy_docs"]
    td["version"] = t.get("version", "")
    tantivy_docs_rate, row = tantivy_row(
        td, size, "index acadex's own documents as JSON lines (acadex's schema: the same fields, record JSON + original "
                  "stored; tantivy's `default`/`raw` analyzers), 2 threads, 128 MiB budget",
        lambda: f"input {td['jsonl_bytes'] / size:,.0f} B/doc; index {td['index_bytes'] / size:,.0f} B/doc")
    add(row)
    ts = peers["tantivy_docs_same"]
    ts["version"] = t.get("version", "")
    tantivy_same_rate, row = tantivy_row(
        ts, size, "the same, with acadex's store setting: stored documents compressed on the indexing threads "
                  "(`docstore_compress_dedicated_thread: false`)", lambda: "")
    add(row)
    if "unavailable" in fts:
        add(f"| SQLite FTS5 | index JSON lines | – | – | – | – | not available: {fts['unavailable']} |")
    else:
        fts_rate = fts["docs_per_s"]
        add(f"| SQLite FTS5 {fts['sqlite_version']} | index JSON lines (python3 sqlite3, 1 transaction, optimize) | "
            f"{fts['seconds']:.2f} | {fmt_rate(fts_rate)} | {rss(fts)} | {fts.get('other_cpus', '?')} | "
            f"db {fts['db_bytes'] / size:,.0f} B/doc; MATCH top-10 p50 {fts['query_p50_ms']:.2f} ms |")
    pm = peers["pymarc"]
    if "unavailable" in pm:
        add(f"| pymarc | parse MARCXML | – | – | – | – | not available: {pm['unavailable']} |")
    else:
        pymarc_rate = pm["records_per_s"]
        add(f"| pymarc {pm['version']} | parse MARCXML only (map_xml, xml.sax) | {pm['seconds']:.2f} | {fmt_rate(pymarc_rate)} | "
            f"{rss(pm)} | {pm.get('other_cpus', '?')} | |")
    add("")
    add("### Ratios")
    add("")
    add("| ratio | value | target |")
    add("|---|---:|---|")

    def ratio(a, b):
        return None if a is None or b is None else a / b

    r = ratio(rate_xml, tantivy_docs_rate)
    add(f"| acadex import rate / tantivy-cli rate on acadex's documents (same fields, same stored data, no XML) | {fmt(r, 2)} | "
        f"≥ 1.00 {verdict(r is not None and r >= 1) if r is not None else '(no peer)'} |")
    cpu_ratio = None
    if tantivy_docs_rate:
        cpu_ratio = (td["user_s"] + td["sys_s"]) / (imp_xml["user_s"] + imp_xml["sys_s"])
    add(f"| tantivy-cli CPU seconds / acadex CPU seconds, same runs (work per record; 1.00 = as little as the engine alone) | "
        f"{fmt(cpu_ratio, 2)} | |")
    add(f"| acadex import rate / tantivy-cli rate on acadex's documents with acadex's store setting | "
        f"{fmt(ratio(rate_xml, tantivy_same_rate), 2)} | |")
    add(f"| acadex import rate / tantivy-cli rate on 5 fields (a lighter job) | {fmt(ratio(rate_xml, tantivy_rate), 2)} | |")
    add(f"| acadex import rate / SQLite FTS5 rate | {fmt(ratio(rate_xml, fts_rate), 2)} | |")
    add(f"| acadex import rate / pymarc parse rate | {fmt(ratio(rate_xml, pymarc_rate), 2)} | |")
    add(f"| .gz import time / .xml import time | {gz_ratio:.3f} | ≤ {1 + TARGETS['gz_overhead']:.2f} "
        f"{verdict(gz_ratio <= 1 + TARGETS['gz_overhead'])} |")
    add("")
    add(f"Raw measurements: `bench/.work/results-{size}/all.json`.")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
        log(f"written to {os.path.relpath(args.out, ROOT)}")


if __name__ == "__main__":
    main()
