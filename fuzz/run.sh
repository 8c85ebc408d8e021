#!/usr/bin/env bash
# Runs every fuzz target for N minutes each (default 5): fuzz/run.sh [MINUTES]
# Needs cargo-fuzz (cargo install cargo-fuzz). The machine's stable toolchain is told to accept
# the nightly flags cargo-fuzz passes (RUSTC_BOOTSTRAP=1). Crashes land in
# fuzz/artifacts/TARGET/; copy each into fixtures/malformed/ with a regression test.
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:-5}
mkdir -p corpus/xml_records corpus/plain_reading corpus/resume corpus/encoding
# Seed the XML target with the real fixtures.
find ../fixtures -name "*.xml" -size -200k -exec cp {} corpus/xml_records/ \;
find ../fixtures -name "*.xml" -size -200k -exec cp {} corpus/resume/ \;
find ../fixtures -name "*.xml" -size -200k -exec cp {} corpus/plain_reading/ \;
find ../fixtures/encodings -name "*.xml" -exec cp {} corpus/encoding/ \;
for target in xml_records plain_reading resume encoding text_analysis query; do
  echo "== $target: $minutes min"
  # tantivy 0.27's phrase scorer has a debug assertion that queries like `b -L-u-j` trip
  # (release builds answer correctly; tests/search.rs pins the answer): fuzz the query
  # language as it ships, without debug assertions (-O), or every run stops there.
  release=()
  if [ "$target" = query ]; then release=(-O); fi
  RUSTC_BOOTSTRAP=1 cargo fuzz run "${release[@]}" "$target" -- -max_total_time=$((minutes * 60)) -rss_limit_mb=2048 -timeout=10 \
    2>&1 | grep -E '^(#[0-9]+.*(DONE|pulse)|==|SUMMARY|Done)' || true
done
