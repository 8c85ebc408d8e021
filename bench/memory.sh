#!/usr/bin/env bash
# Peak memory of an import by input size: the first 100k, 200k, 300k and 500k records of the
# 1M-record benchmark corpus, all of it, and the 5.6 GB file of bench/make-5gb.sh (made here
# if missing), each imported into a new index under peak_rss.py. Prints a Markdown table.
#
# Usage: bench/memory.sh   (needs bench/.work/corpus-1000000, made by bench/run.sh --size 1000000;
#                           about 3 minutes once the 5.6 GB file exists, and 12 GB of disk)
set -euo pipefail
cd "$(dirname "$0")"
corpus=.work/corpus-1000000/records.xml
[ -f "$corpus" ] || { echo "missing $corpus: run bench/run.sh --size 1000000 first" >&2; exit 2; }
[ -f .work/records-5gb.xml ] || ./make-5gb.sh >&2
cargo build --release --quiet --manifest-path ../Cargo.toml
acadex=${CARGO_TARGET_DIR:-../target}/release/acadex
work=.work/memory
mkdir -p "$work"

# The first N records, closed like the whole file: records end with a line holding </record>.
prefix() {
  local records=$1 out=$work/records-$1.xml
  [ -f "$out" ] || {
    awk -v n="$records" '{ print } /<\/record>/ { c += gsub(/<\/record>/, "&"); if (c >= n) exit }' "$corpus"
    tail -n 1 "$corpus"
  } > "$out"
  echo "$out"
}

echo "| input | records | MB | wall s | peak RSS MB | anon MB | file MB | segments |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for input in "$(prefix 100000)" "$(prefix 200000)" "$(prefix 300000)" "$(prefix 500000)" "$corpus" .work/records-5gb.xml; do
  rm -rf "$work/index"
  ./peak_rss.py --out "$work/peak.json" "$acadex" --index "$work/index" import --quiet "$input"
  "$acadex" --index "$work/index" stats --json > "$work/stats.json"
  python3 - "$input" "$work/peak.json" "$work/stats.json" <<'EOF'
import json, os, sys
path, peak, stats = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
mb = lambda kb: round(kb / 1024)
print(f"| `{os.path.basename(path)}` | {stats['records']:,} | {os.path.getsize(path) / 1e6:,.0f} | "
      f"{peak['wall_s']:.1f} | {mb(peak['max_rss_kb'])} | {mb(peak['max_anon_kb'])} | "
      f"{mb(peak['max_file_kb'])} | {stats['segments']} |")
EOF
done
rm -rf "$work/index"
