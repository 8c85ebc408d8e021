#!/usr/bin/env bash
# acadex benchmark: builds acadex in release mode, installs the peers it can, generates a
# reproducible corpus and prints a Markdown table (also written to bench/results-<size>.md).
#
#   bench/run.sh                   # 100,000 records
#   bench/run.sh --size 1000000    # the big run
#   bench/run.sh --quick           # 20,000 records, fewer repetitions: a smoke run
#   bench/run.sh --no-peers        # acadex only
#   bench/run.sh --rev HEAD        # benchmark a commit (git archive into bench/.work/src-REV),
#                                  # not the working tree, e.g. while src/ is being edited
#
# Needs: cargo, python3. Optional: /usr/bin/time (Debian package `time`; otherwise peak RSS
# comes from getrusage), network access to crates.io (tantivy-cli) and PyPI (pymarc).
# Everything it makes goes under bench/.work/ and bench/.tools/ (both git-ignored).
set -euo pipefail

SIZE=""
QUICK=0
PEERS=1
REV=""
while [ $# -gt 0 ]; do
    case "$1" in
        --size) SIZE="${2:?--size needs a number}"; shift 2 ;;
        --size=*) SIZE="${1#--size=}"; shift ;;
        --quick) QUICK=1; shift ;;
        --no-peers) PEERS=0; shift ;;
        --rev) REV="${2:?--rev needs a commit}"; shift 2 ;;
        --rev=*) REV="${1#--rev=}"; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$SIZE" ]; then
    if [ "$QUICK" = 1 ]; then SIZE=20000; else SIZE=100000; fi
fi
case "$SIZE" in (*[!0-9]*|"") echo "run.sh: --size must be a number" >&2; exit 2 ;; esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
WORK="$HERE/.work"
TOOLS="$HERE/.tools"
mkdir -p "$WORK" "$TOOLS"
cd "$ROOT"
STARTED=$(date +%s)
step() { echo "[run.sh $(( $(date +%s) - STARTED ))s] $*" >&2; }

# --- build ------------------------------------------------------------------------------------
SRC="$ROOT"
if [ -n "$REV" ]; then
    COMMIT="$(git -C "$ROOT" rev-parse --short "$REV^{commit}")"
    SRC="$WORK/src-$COMMIT"
    step "exporting $REV ($COMMIT) into bench/.work/src-$COMMIT"
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$ROOT" archive "$COMMIT" | tar -x -C "$SRC"
    # The benchmark's own example always comes from this working tree, like the scripts.
    mkdir -p "$SRC/examples"
    cp "$ROOT/examples/bench_search.rs" "$SRC/examples/"
    LABEL="$COMMIT (git archive of $REV)"
else
    LABEL="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
        LABEL="$LABEL + uncommitted changes in src/"
    fi
fi
step "cargo build --release (acadex) and the bench_search example"
(cd "$SRC" && cargo build --release --quiet && cargo build --release --quiet --example bench_search)
target_dir() { (cd "$1" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'); }
TARGET_DIR="$(target_dir "$SRC")"
ACADEX="$TARGET_DIR/release/acadex"
BENCH_SEARCH="$TARGET_DIR/release/examples/bench_search"
[ -x "$ACADEX" ] && [ -x "$BENCH_SEARCH" ] || { echo "run.sh: build products not found under $TARGET_DIR" >&2; exit 2; }
# The documents tantivy-cli is given come from this working tree's mapping, also under --rev
# (older commits have no public document builder).
step "cargo build --release --example bench_documents (this working tree)"
cargo build --release --quiet --example bench_documents
BENCH_DOCUMENTS="$(target_dir "$ROOT")/release/examples/bench_documents"

# --- peers, each in its own guarded block -----------------------------------------------------
TANTIVY=""
PYMARC_LIB=""
if [ "$PEERS" = 1 ]; then
    # (a) tantivy-cli from crates.io, built with the local Rust; --locked first (its own
    # tested dependency versions), then without.
    rm -f "$WORK/status-tantivy-cli.txt"
    if [ ! -x "$TOOLS/bin/tantivy" ]; then
        step "cargo install tantivy-cli --root bench/.tools (first run only; several minutes)"
        rm -f "$WORK/status-tantivy-cli-note.txt"
        if cargo install tantivy-cli --root "$TOOLS" --locked >"$WORK/tantivy-cli-install.log" 2>&1; then
            :
        elif cargo install tantivy-cli --root "$TOOLS" >>"$WORK/tantivy-cli-install.log" 2>&1; then
            failed="$(grep -m1 -E '^error: could not compile' "$WORK/tantivy-cli-install.log" | sed 's/^error: //; s/ due to.*//')"
            echo "built without --locked: with its own Cargo.lock it fails on $(rustc --version | cut -d' ' -f1-2) (${failed:-see bench/.work/tantivy-cli-install.log})" \
                >"$WORK/status-tantivy-cli-note.txt"
        else
            reason="$(grep -m1 -E '^error' "$WORK/tantivy-cli-install.log" || tail -n1 "$WORK/tantivy-cli-install.log")"
            echo "cargo install tantivy-cli failed with $(rustc --version | cut -d' ' -f1-2): ${reason} (log: bench/.work/tantivy-cli-install.log)" \
                >"$WORK/status-tantivy-cli.txt"
            step "tantivy-cli not available: $(cat "$WORK/status-tantivy-cli.txt")"
        fi
    fi
    if [ -x "$TOOLS/bin/tantivy" ]; then
        TANTIVY="$TOOLS/bin/tantivy"
        cargo install --list --root "$TOOLS" 2>/dev/null | sed -n 's/^tantivy-cli \(v[^:]*\):.*/\1/p' >"$WORK/status-tantivy-cli-version.txt" || true
    fi

    # (c) pymarc from PyPI, into bench/.tools/py (not into the system's Python).
    rm -f "$WORK/status-pymarc.txt"
    if [ ! -d "$TOOLS/py/pymarc" ]; then
        step "pip install --target bench/.tools/py pymarc"
        if ! python3 -m pip install --quiet --disable-pip-version-check --target "$TOOLS/py" pymarc \
               >"$WORK/pymarc-install.log" 2>&1; then
            echo "pip install pymarc failed: $(grep -m1 -iE 'error' "$WORK/pymarc-install.log" || tail -n1 "$WORK/pymarc-install.log")" \
                >"$WORK/status-pymarc.txt"
            step "pymarc not available: $(cat "$WORK/status-pymarc.txt")"
        fi
    fi
    [ -d "$TOOLS/py/pymarc" ] && PYMARC_LIB="$TOOLS/py"
    # (b) SQLite FTS5 needs nothing but python3's sqlite3; bench.py reports if FTS5 is missing.
else
    echo "peers skipped (--no-peers)" >"$WORK/status-tantivy-cli.txt"
    echo "peers skipped (--no-peers)" >"$WORK/status-pymarc.txt"
fi

# --- corpus (regenerated only when the generator or the fixtures change) ------------------------
CORPUS="$WORK/corpus-$SIZE"
STAMP="$( (cat "$HERE/gen_corpus.py"; cat "$ROOT"/fixtures/valid/marcxml/*.xml "$ROOT"/fixtures/valid/oai_marc/*.xml 2>/dev/null; echo "$SIZE") | sha256sum | cut -c1-16)"
if [ -f "$CORPUS/manifest.json" ] && [ -f "$CORPUS/records.jsonl" ] && [ "$(cat "$CORPUS/stamp" 2>/dev/null)" = "$STAMP" ]; then
    step "corpus of $SIZE records is up to date ($CORPUS)"
else
    step "generating $SIZE records into bench/.work/corpus-$SIZE"
    rm -rf "$CORPUS"
    python3 "$HERE/gen_corpus.py" --records "$SIZE" --out "$CORPUS" >&2
    echo "$STAMP" >"$CORPUS/stamp"
fi

# --- measure ----------------------------------------------------------------------------------
step "measuring"
ARGS=(--size "$SIZE" --acadex "$ACADEX" --bench-search "$BENCH_SEARCH" --out "$HERE/results-$SIZE.md" --label "$LABEL")
[ -n "$TANTIVY" ] && ARGS+=(--tantivy "$TANTIVY" --bench-documents "$BENCH_DOCUMENTS")
[ -n "$PYMARC_LIB" ] && ARGS+=(--pymarc-lib "$PYMARC_LIB")
[ "$QUICK" = 1 ] && ARGS+=(--quick)
python3 "$HERE/bench.py" "${ARGS[@]}"
step "done"
