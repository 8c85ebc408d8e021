//! The index folder as the filesystem hands it over (issue 4): read-only, missing, a file where
//! a folder should be, a folder that holds something else. Each case must end in a clear error
//! (exit 2, `error:` then `hint:`) or, for reading a read-only index, just work; never a panic,
//! never a write where there should be none.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use util::{acadex, fixture, json_of, record_count};

/// 100 real OAI-PMH MARC records.
const RECORDS: &str = "valid/oai_marc/vufindharvest_marc.xml";
const READERS: [&[&str]; 4] = [&["search", "panda"], &["stats"], &["show", "marc:anything"], &["check"]];

/// A small tmpfs that can be remounted read-only (mounting needs root, as CI and the
/// developers' machines have); `None` where mounting is not allowed, which the test reports.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Option<Tmpfs> {
        let point = dir.join("tmpfs");
        std::fs::create_dir_all(&point).expect("mount point");
        let status =
            Command::new("mount").args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"]).arg(&point).status().ok()?;
        status.success().then_some(Tmpfs(point))
    }

    /// `mount -o remount,MODE`, MODE being `ro` or `rw`.
    fn remount(&self, mode: &str) {
        let status =
            Command::new("mount").args(["-o", &format!("remount,{mode}")]).arg(&self.0).status().expect("mount runs");
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A tmpfs holding an index of [`RECORDS`], remounted read-only, and the index's path.
fn read_only_index(work: &Path) -> Option<(Tmpfs, PathBuf)> {
    let disk = Tmpfs::mount(work)?;
    let index = disk.0.join("index");
    let (report, code) = util::import(&index, &[fixture(RECORDS)]);
    assert_eq!(code, 0, "{report}");
    disk.remount("ro");
    Some((disk, index))
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Every file and folder under `dir`, relative to it, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        walk(dir).iter().map(|p| p.strip_prefix(dir).expect("under dir").display().to_string()).collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read folder")
        .map(|e| e.expect("entry").path())
        .flat_map(|p| if p.is_dir() { std::iter::once(p.clone()).chain(walk(&p)).collect() } else { vec![p] })
        .collect()
}

#[test]
fn import_into_a_read_only_index_fails_naming_the_folder_and_corrupts_nothing() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some((disk, index)) = read_only_index(work.path()) else {
        eprintln!("cannot mount a tmpfs here (not root?): the read-only cases are not exercised");
        return;
    };
    let before = listing(&index);
    let output = acadex(&index).arg("import").arg(fixture("valid/marcxml/marc4j_chabon.xml")).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains(&format!("error: the index folder {} is not writable", index.display())), "{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(stderr.contains("hint: search, show, stats and check work on a read-only index"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    disk.remount("rw");
    assert_eq!(listing(&index), before, "nothing was written");
    let (check, code) = json_of(acadex(&index).args(["check", "--json"]));
    assert_eq!((code, &check["ok"]), (0, &Value::Bool(true)), "{check}");
    assert_eq!(check["records"], 100);
    assert_eq!(record_count(&index), 100);
}

#[test]
fn search_stats_show_and_check_work_on_a_read_only_index() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some((_disk, index)) = read_only_index(work.path()) else {
        eprintln!("cannot mount a tmpfs here (not root?): the read-only cases are not exercised");
        return;
    };
    let (all, code) = util::search(&index, "", &["--limit", "1"]);
    assert_eq!((code, &all["total"]), (0, &Value::from(100)), "{all}");
    let id = all["hits"][0]["id"].as_str().expect("an id").to_string();

    let (stats, code) = json_of(acadex(&index).args(["stats", "--json"]));
    assert_eq!((code, &stats["records"]), (0, &Value::from(100)), "{stats}");

    let (record, code) = json_of(acadex(&index).args(["show", "--json"]).arg(&id));
    assert_eq!((code, &record["id"]), (0, &Value::from(id.as_str())), "{record}");

    let (check, code) = json_of(acadex(&index).args(["check", "--json"]));
    assert_eq!((code, &check["ok"], &check["records"]), (0, &Value::Bool(true), &Value::from(100)), "{check}");

    // A query with words goes through the term dictionaries, not only the document count.
    let title = record["title"].as_str().expect("a title");
    let word = title.split_whitespace().find(|w| w.len() > 3 && w.chars().all(char::is_alphabetic)).expect("a word");
    let (found, code) = util::search(&index, &format!("title:{word}"), &[]);
    assert_eq!(code, 0, "{found}");
    assert!(found["hits"].to_string().contains(&id), "{word}: {found}");
}

#[test]
fn reading_a_missing_index_says_there_is_none_and_how_to_make_one() {
    let work = tempfile::tempdir().expect("tempdir");
    let index = work.path().join("nowhere");
    for args in READERS {
        let output = acadex(&index).args(args).output().expect("runs");
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("error: no index at {}", index.display())), "{args:?}: {stderr}");
        assert!(stderr.contains("hint: import records first: acadex import FILES..."), "{args:?}: {stderr}");
        assert!(!index.exists(), "{args:?} created the folder");
    }
}

#[test]
fn an_index_path_that_is_a_file_or_under_a_file_is_refused_and_left_alone() {
    let work = tempfile::tempdir().expect("tempdir");
    let file = work.path().join("notes.txt");
    std::fs::write(&file, "not an index\n").expect("write");
    for index in [file.clone(), file.join("index")] {
        let mut commands: Vec<Vec<&str>> = READERS.iter().map(|a| a.to_vec()).collect();
        let input = fixture("valid/marcxml/marc4j_chabon.xml");
        commands.push(vec!["import", input.to_str().expect("utf-8 path")]);
        for args in commands {
            let output = acadex(&index).args(&args).output().expect("runs");
            let stderr = stderr_of(&output);
            assert_eq!(output.status.code(), Some(2), "{args:?} {}: {stderr}", index.display());
            assert!(
                stderr.contains(&format!(
                    "error: the index folder {} cannot be used: {} is a file",
                    index.display(),
                    file.display()
                )),
                "{args:?}: {stderr}"
            );
            assert!(stderr.contains("hint: pass --index"), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    }
    assert_eq!(std::fs::read_to_string(&file).expect("still a file"), "not an index\n");
    assert_eq!(listing(work.path()), ["notes.txt"]);
}

#[test]
fn import_refuses_a_folder_that_holds_other_files_and_writes_nothing_there() {
    let work = tempfile::tempdir().expect("tempdir");
    let folder = work.path().join("papers");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::write(folder.join("thesis.tex"), "\\documentclass{book}\n").expect("write");
    let output = acadex(&folder).arg("import").arg(fixture(RECORDS)).output().expect("runs");
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {} is not an acadex index and is not empty (it holds thesis.tex)",
            folder.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("hint: pass --index with a new or empty folder"), "{stderr}");
    assert_eq!(listing(&folder), ["thesis.tex"]);

    // Readers see no index there either.
    let output = acadex(&folder).arg("stats").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains(&format!("error: no index at {}", folder.display())));
}

#[test]
fn import_makes_an_index_in_an_existing_empty_folder() {
    let work = tempfile::tempdir().expect("tempdir");
    let (report, code) = util::import(work.path(), &[fixture(RECORDS)]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(record_count(work.path()), 100);
}
