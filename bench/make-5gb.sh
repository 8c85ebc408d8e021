#!/usr/bin/env bash
# Builds a ~5.6 GB MARCXML file for the memory figure "a 5 GB file must not use more memory
# than a 100k-record one": three copies of the 1M-record benchmark corpus with the DOIs and
# control numbers of copies 2 and 3 renamed (2.53M distinct ids: records identified otherwise,
# e.g. by ISBN, update their first copy, which exercises upserts too).
#
# Usage: bench/make-5gb.sh   (needs bench/.work/corpus-1000000, made by bench/run.sh --size 1000000)
# Then:  bench/peak_rss.py target/release/acadex --index /tmp/i5 import -q bench/.work/records-5gb.xml
set -euo pipefail
cd "$(dirname "$0")"
source_file=.work/corpus-1000000/records.xml
out=.work/records-5gb.xml
[ -f "$source_file" ] || { echo "missing $source_file: run bench/run.sh --size 1000000 first" >&2; exit 2; }
{
  head -n 2 "$source_file"
  for copy in 1 2 3; do
    if [ "$copy" = 1 ]; then
      sed '1,2d;$d' "$source_file"
    else
      sed "1,2d;\$d;s|10\\.46424/acx\\.|10.46424/acx${copy}.|g;s|>acx0|>ac${copy}x0|g" "$source_file"
    fi
  done
  tail -n 1 "$source_file"
} > "$out"
ls -l "$out"
