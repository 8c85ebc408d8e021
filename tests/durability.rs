//! Durability and concurrency through the built binary: kill -9 in the middle of an import,
//! and two writers at once.

mod util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::{acadex, all_ids, fixture, large_marcxml, large_marcxml_with_rejects, record_count};

const RECORDS: usize = 12_000;

fn spawn_import(index: &std::path::Path, file: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("acadex"))
        .arg("--index")
        .arg(index)
        .arg("import")
        .args(if extra.contains(&"--commit-every") { &[][..] } else { &["--commit-every", "1000"][..] })
        .args(extra)
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn acadex")
}

/// The count of a `committed N records` line, the import's durability report.
fn committed_count(line: &str) -> Option<u64> {
    line.strip_prefix("committed ")?.split(' ').next()?.parse().ok()
}

/// Reads `committed N records` lines until `commits` have been reported; returns the last N.
fn wait_for_commits(child: &mut Child, commits: usize) -> u64 {
    let stderr = child.stderr.take().expect("stderr piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = 0;
    let mut last = 0;
    while seen < commits {
        let line = lines.next().expect("import still running").expect("utf-8 line");
        if let Some(count) = committed_count(&line) {
            last = count;
            seen += 1;
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    last
}

/// Rounds of kill -9 per run: 3 in CI; `ACADEX_KILL_ROUNDS=200 scripts/kill9-long.sh` for the
/// long version.
fn kill_rounds() -> usize {
    std::env::var("ACADEX_KILL_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(3)
}

/// A small deterministic generator for kill moments (xorshift), seeded so a failure can be
/// replayed with `ACADEX_KILL_SEED`.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[test]
fn kill_9_or_ctrl_c_at_random_moments_then_resume_neither_loses_skips_nor_repeats() {
    const BAD_EVERY: usize = 1000;
    // More records give the long run (in release mode) time to be killed mid-import.
    let records = std::env::var("ACADEX_KILL_RECORDS").ok().and_then(|n| n.parse().ok()).unwrap_or(RECORDS);
    let work = tempfile::tempdir().expect("tempdir");
    let file = large_marcxml_with_rejects(work.path(), records, BAD_EVERY);
    let bad = (records / BAD_EVERY) as u64;
    let index = work.path().join("index");
    let seed = std::env::var("ACADEX_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_acad);
    let mut moments = Moments(seed);
    let mut killed = 0;
    for round in 0..kill_rounds() {
        let mut child = spawn_import(&index, &file, &["--commit-every", "500"]);
        // Once the run has reported a commit, kill it a random moment later: often inside
        // the next commit, which comes every 500 records.
        let reported = wait_for_commits(&mut child, 1);
        std::thread::sleep(Duration::from_millis(moments.next_millis(400)));
        if round % 2 == 0 {
            child.kill().expect("kill -9");
        } else {
            // Ctrl-C: the same promise as kill -9.
            let pid = child.id().to_string();
            assert!(Command::new("kill").args(["-INT", &pid]).status().expect("kill runs").success());
        }
        let finished = child.wait().expect("reaped").success();
        killed += usize::from(!finished);
        let count = record_count(&index);
        // The committed count is of records read; the bad ones among them were rejected.
        let indexed = reported - reported / BAD_EVERY as u64;
        assert!(count >= indexed, "round {round} (seed {seed}): {count} records, {indexed} reported committed");
        let (check, code) = util::json_of(acadex(&index).args(["check", "--json"]));
        assert_eq!((code, &check["ok"]), (0, &serde_json::Value::Bool(true)), "round {round}: {check}");
        if finished {
            break;
        }
    }
    eprintln!("kill -9: {killed} imports killed (kill -9 and Ctrl-C in turn; seed {seed})");
    // A kill can land after the last commit, while the import tidies up: then there is
    // nothing to resume. Otherwise the next run must resume.
    let (check, _) = util::json_of(acadex(&index).args(["check", "--json"]));
    let interrupted = check["last_commit"]["import"]["finished"] == serde_json::Value::Bool(false);
    let (report, code) = util::import(&index, std::slice::from_ref(&file));
    assert_eq!(code, 3, "{report}");
    if interrupted {
        let committed = check["last_commit"]["import"]["read"].as_u64();
        assert_eq!(report["resumed"]["after_records"].as_u64(), committed, "the last run resumed: {report}");
    }
    // Counts carry over a resume: the report is the whole import's, as if never interrupted.
    assert_eq!(report["read"].as_u64(), Some(records as u64), "{report}");
    assert_eq!(report["rejected"].as_u64(), Some(bad), "{report}");
    // Every bad record is in the rejects file exactly once: none skipped, none repeated.
    let rejects = std::fs::read_to_string(report["rejects_file"].as_str().expect("rejects file")).expect("rejects");
    let mut rejected_ids: Vec<&str> = rejects.match_indices("synthetic").map(|(at, _)| &rejects[at..at + 17]).collect();
    rejected_ids.dedup();
    let expected: Vec<String> = (1..=bad).map(|k| format!("synthetic{:08}", k as usize * BAD_EVERY - 1)).collect();
    assert_eq!(rejected_ids, expected);
    assert_eq!(rejects.matches("<reject ").count() + rejects.matches("<reject>").count(), bad as usize);

    let ids = all_ids(&index);
    assert_eq!(ids.len(), records - bad as usize);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "no duplicates");
    assert_eq!(record_count(&index), (records as u64) - bad);

    // Facet counts equal those of the same file imported in one go.
    let clean = work.path().join("clean");
    util::import(&clean, &[file]);
    let mut facets = vec!["--limit", "0"];
    for facet in ["type", "year", "language", "country", "subject", "source"] {
        facets.extend(["--facet", facet]);
    }
    let (resumed, _) = util::search(&index, "", &facets);
    let (uninterrupted, _) = util::search(&clean, "", &facets);
    assert_eq!(resumed["facets"], uninterrupted["facets"]);
    assert_eq!(resumed["total"], uninterrupted["total"]);
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

#[test]
fn searches_during_an_import_see_only_committed_counts() {
    let work = tempfile::tempdir().expect("tempdir");
    let file = large_marcxml(work.path(), RECORDS);
    let index = work.path().join("index");
    let mut child = spawn_import(&index, &file, &[]);
    let stderr = child.stderr.take().expect("stderr");
    let committed_lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| committed_count(&l))
            .collect::<BTreeSet<u64>>()
    });
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    while child.try_wait().expect("poll").is_none() {
        let output = acadex(&index).args(["search", "--json", "--limit", "0", ""]).output().expect("search runs");
        match output.status.code() {
            Some(0) | Some(1) => {
                let results: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
                seen.push(results["total"].as_u64().expect("total"));
            }
            // Before the first commit there is no index yet.
            Some(2) if String::from_utf8_lossy(&output.stderr).contains("no index at") => {}
            _ => errors.push(String::from_utf8_lossy(&output.stderr).to_string()),
        }
    }
    assert!(child.wait().expect("import ends").success());
    let committed = committed_lines.join().expect("reader thread");
    assert!(errors.is_empty(), "searches failed during the import: {errors:?}");
    assert!(seen.len() >= 5, "searched {} times during the import", seen.len());
    for total in &seen {
        assert!(
            *total == 0 || committed.contains(total),
            "a search saw {total} records, not a committed count {committed:?}"
        );
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "counts never go back: {seen:?}");
}

#[test]
fn check_finds_a_corrupted_index_file() {
    let index = tempfile::tempdir().expect("tempdir");
    util::import(index.path(), &[fixture("valid/marcxml")]);
    acadex(index.path()).arg("check").assert().code(0);
    let store = std::fs::read_dir(index.path())
        .expect("index folder")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "store"))
        .expect("a store file");
    let mut bytes = std::fs::read(&store).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&store, bytes).expect("corrupt");
    let (report, code) = util::json_of(acadex(index.path()).args(["check", "--json"]));
    assert_eq!(code, 3);
    assert_eq!(report["ok"], false);
    let name = store.file_name().expect("name").to_string_lossy().to_string();
    assert!(report["corrupted_files"].to_string().contains(&name), "{report}");
}

/// Mounts a tiny tmpfs (this needs root, as CI and the developers' machines have); `None`
/// where mounting is not allowed, which the test reports.
struct TinyDisk(std::path::PathBuf);

impl TinyDisk {
    fn mount(dir: &std::path::Path) -> Option<TinyDisk> {
        let point = dir.join("tiny");
        std::fs::create_dir_all(&point).expect("mount point");
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"]).arg(&point).status().ok()?;
        status.success().then_some(TinyDisk(point))
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_import_with_a_clear_error_and_the_index_keeps_its_last_commit() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(disk) = TinyDisk::mount(work.path()) else {
        eprintln!("cannot mount a tmpfs here (not root?): the disk-full case is not exercised");
        return;
    };
    let index = disk.0.join("index");
    let (_, code) = util::import(&index, &[fixture("valid/oai_marc/vufindharvest_marc.xml")]);
    assert_eq!(code, 0);
    let file = large_marcxml(work.path(), 12_000);
    let output = acadex(&index).args(["import", "--commit-every", "1000"]).arg(&file).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("No space left on device") || stderr.contains("is the disk full"), "{stderr}");
    assert!(stderr.contains("hint: the index still holds everything reported committed"), "{stderr}");
    let committed: u64 = stderr.lines().filter_map(committed_count).max().unwrap_or(0);
    assert!(record_count(&index) >= 100 + committed);
    let (check, code) = util::json_of(acadex(&index).args(["check", "--json"]));
    assert_eq!((code, &check["ok"]), (0, &serde_json::Value::Bool(true)), "{check}");
}
