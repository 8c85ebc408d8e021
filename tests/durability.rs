//! Durability and concurrency through the built binary: kill -9 in the middle of an import,
//! and two writers at once.

mod util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::{acadex, all_ids, fixture, large_marcxml, record_count};

const RECORDS: usize = 12_000;

fn spawn_import(index: &std::path::Path, file: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("acadex"))
        .arg("--index")
        .arg(index)
        .args(["import", "--commit-every", "1000"])
        .args(extra)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn acadex")
}

/// Reads `committed N records` lines until `commits` have been reported; returns the last N.
fn wait_for_commits(child: &mut Child, commits: usize) -> u64 {
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = 0;
    let mut last = 0;
    while seen < commits {
        let line = lines.next().expect("import still running").expect("utf-8 line");
        if let Some(count) = line.strip_prefix("committed ").and_then(|l| l.split(' ').next()) {
            last = count.parse().expect("a count");
            seen += 1;
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    last
}

#[test]
fn kill_9_mid_import_keeps_every_reported_commit_and_a_rerun_completes_without_duplicates() {
    let work = tempfile::tempdir().expect("tempdir");
    let file = large_marcxml(work.path(), RECORDS);
    let index = work.path().join("index");
    for round in 0..3 {
        let mut child = spawn_import(&index, &file, &[]);
        let reported = wait_for_commits(&mut child, 2 + round);
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
        let count = record_count(&index);
        assert!(count >= reported, "round {round}: {count} records, but {reported} were reported committed");
    }
    let (report, code) = util::import(&index, &[file]);
    assert_eq!(code, 0, "{report}");
    let ids = all_ids(&index);
    assert_eq!(ids.len(), RECORDS);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), RECORDS, "no duplicates");
    assert_eq!(record_count(&index), RECORDS as u64);
}

#[test]
fn a_second_writer_fails_fast_naming_the_lock_and_can_wait_for_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let file = large_marcxml(work.path(), RECORDS);
    let index = work.path().join("index");
    let mut first = spawn_import(&index, &file, &[]);
    wait_for_commits(&mut first, 1);

    let small = fixture("valid/marcxml/marc4j_chabon.xml");
    let started = Instant::now();
    let output = acadex(&index).arg("import").arg(&small).output().expect("runs");
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast, took {:?}", started.elapsed());
    assert_eq!(output.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".tantivy-writer.lock"), "{stderr}");
    assert!(stderr.contains("--wait-lock"), "{stderr}");

    // Searches run while the first writer works, and see only committed data.
    let (results, _) = util::search(&index, "", &["--limit", "0"]);
    assert!(results["total"].as_u64().expect("total") <= RECORDS as u64);

    let waiting = acadex(&index).args(["import", "--wait-lock", "10m"]).arg(&small).output().expect("runs");
    assert_eq!(waiting.status.code(), Some(0), "{}", String::from_utf8_lossy(&waiting.stderr));
    assert!(first.wait().expect("first finishes").success());
    assert_eq!(record_count(&index), RECORDS as u64 + 2);
}
