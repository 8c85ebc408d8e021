//! Helpers shared by the integration tests: run the built binary against a fresh index, find
//! the fixtures and the shared corpus.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("fixtures").join(path)
}

/// The shared corpus of real records (`../shared/corpus`). A test that needs it fails saying
/// so, not with an import that found nothing.
pub fn corpus(path: &str) -> PathBuf {
    let corpus = root().join("..").join("shared").join("corpus");
    assert!(corpus.is_dir(), "the tests read real records from {}, beside this repository", corpus.display());
    corpus.join(path)
}

/// `acadex` with a hermetic environment and the given index.
pub fn acadex(index: &Path) -> Command {
    let mut command = Command::cargo_bin("acadex").expect("the acadex binary is built");
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).arg("--index").arg(index);
    command
}

/// Runs a command and parses its stdout as JSON, returning it with the exit code.
pub fn json_of(command: &mut Command) -> (Value, i32) {
    let output = command.output().expect("acadex runs");
    let code = output.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (json, code)
}

/// `acadex import --json PATHS...`, returning the report and the exit code.
pub fn import(index: &Path, paths: &[PathBuf]) -> (Value, i32) {
    json_of(acadex(index).arg("import").arg("--json").args(paths))
}

/// `acadex search --json QUERY ARGS...`.
pub fn search(index: &Path, query: &str, args: &[&str]) -> (Value, i32) {
    json_of(acadex(index).arg("search").arg("--json").arg(query).args(args))
}

pub fn record_count(index: &Path) -> u64 {
    let (stats, code) = json_of(acadex(index).arg("stats").arg("--json"));
    assert_eq!(code, 0, "stats succeeds");
    stats["records"].as_u64().expect("records is a number")
}

/// How many segments the index's last commit holds, from tantivy's `meta.json`.
pub fn segment_count(index: &Path) -> usize {
    segment_ids(index).len()
}

/// The ids of the index's committed segments.
pub fn segment_ids(index: &Path) -> std::collections::BTreeSet<String> {
    let meta: Value =
        serde_json::from_slice(&std::fs::read(index.join("meta.json")).expect("meta.json")).expect("json");
    let segments = meta["segments"].as_array().expect("segments");
    segments.iter().map(|segment| segment["segment_id"].as_str().expect("segment_id").to_string()).collect()
}

/// Ids of every record in the index.
pub fn all_ids(index: &Path) -> Vec<String> {
    let (results, _) = search(index, "", &["--limit", "100000"]);
    let mut ids: Vec<String> =
        results["hits"].as_array().expect("hits").iter().map(|h| h["id"].as_str().expect("id").to_string()).collect();
    ids.sort();
    ids
}

/// A record of a bigger file made from real records: `count` copies of a real MARCXML record
/// with distinct control numbers, for tests that need an import to take a while.
pub fn large_marcxml(dir: &Path, count: usize) -> PathBuf {
    large_marcxml_with_rejects(dir, count, usize::MAX)
}

/// Like [`large_marcxml`], but every `bad_every`-th record (numbers `bad_every`, `2 * bad_every`...)
/// has a subfield without a code, which rejects it.
pub fn large_marcxml_with_rejects(dir: &Path, count: usize, bad_every: usize) -> PathBuf {
    let source =
        std::fs::read_to_string(fixture("valid/marcxml/CONVERTED_pymarc_from_marc4j_oclc_63111280_chinese_880.xml"))
            .expect("fixture");
    let start = source.find("<record>").expect("record start");
    let end = source.rfind("</record>").expect("record end") + "</record>".len();
    let record = &source[start..end];
    let mut out = String::with_capacity(record.len() * count + 200);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n");
    for n in 0..count {
        let copy = record.replace("ocm63111280 ", &format!("synthetic{n:08}"));
        let number = n + 1;
        out.push_str(&if number % bad_every == 0 {
            copy.replacen("<subfield code=\"a\">", "<subfield>", 1)
        } else {
            copy
        });
        out.push('\n');
    }
    out.push_str("</collection>\n");
    let path = dir.join(format!("large-{count}.xml"));
    std::fs::write(&path, out).expect("write large file");
    path
}
