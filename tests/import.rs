//! Import, end to end through the built binary, on the real records of the shared corpus and
//! the fixtures: counts against an independent reading of the files, upserts, rejects, exit codes.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use util::{acadex, all_ids, corpus, fixture, import, record_count, search, segment_count, segment_ids};

/// Corpus files that are malformed, by what the corpus README and a reading of them say, with
/// how many records each holds that must be rejected.
const MALFORMED: [(&str, u64); 5] = [
    ("marcxml/marc4j_chabon-bad-subfields-element.xml", 1),
    ("marcxml/marc4j_chabon-missing-subfield-code.xml", 1),
    ("marcxml/pymarc_bad_tag.xml", 1),
    ("oai_dc/sickle_ListRecords4.xml", 1), // a deleted header without an identifier
    ("oai_dc/sickle_ListRecordsBroken.xml", 0),
];

/// Files that fail as a whole but hold no rejected record: OAI-PMH error responses, and a
/// response cut after its last record.
const FILE_ERRORS: [&str; 4] = [
    "oai_dc/sickle_badResumptionToken.xml",
    "http/oai_pmh/scythe_list_records_i10_badResumptionToken.xml",
    "http/oai_pmh/scythe_list_records_i3_badArgument.xml",
    "marcxml/jabref_MarcXmlParserTestArticle.xml",
];

const CORPUS_FOLDERS: [&str; 3] = ["marcxml", "oai_dc", "http/oai_pmh"];

fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in CORPUS_FOLDERS {
        let mut in_folder: Vec<PathBuf> = std::fs::read_dir(corpus(folder))
            .expect("corpus folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        in_folder.sort();
        files.extend(in_folder);
    }
    files
}

/// The identities the corpus should leave in the index, computed from the files with regular
/// expressions, independently of the importer: DOI, else OAI identifier, else (003)001;
/// OAI-PMH deletions remove the record with that OAI identifier.
fn expected_identities(files: &[PathBuf]) -> BTreeSet<String> {
    let doi_patterns = [
        Regex::new(r#"(?s)tag="024"[^>]*>\s*<[^>]*code="a">([^<]+)</[^>]*>\s*<[^>]*code="2">doi<"#).expect("re"),
        Regex::new(r#"code="u">https?://(?:dx\.)?doi\.org/(10\.[^<]+)<"#).expect("re"),
        Regex::new(r#"identifierType="DOI">([^<]+)<"#).expect("re"),
        Regex::new(r#"<(?:\w+:)?doi>([^<]+)<"#).expect("re"),
        Regex::new(r#"<dc:identifier>(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.[^<\s]+)</dc:identifier>"#).expect("re"),
    ];
    let control = |tag: &str| Regex::new(&format!(r#"controlfield tag="{tag}">([^<]*)<"#)).expect("re");
    let (control_001, control_003) = (control("001"), control("003"));
    let marc_start = Regex::new(r"<(?:marc:|marcxml:|ns0:)?record[\s>]").expect("re");
    let oai_identifier = Regex::new(r"<identifier>([^<]+)</identifier>").expect("re");
    let doi_of = |chunk: &str| {
        doi_patterns.iter().find_map(|re| re.captures(chunk)).map(|c| format!("doi:{}", c[1].trim().to_lowercase()))
    };
    let marc_id = |chunk: &str| {
        let number = control_001.captures(chunk)?[1].trim().to_string();
        Some(match control_003.captures(chunk) {
            Some(agency) => format!("marc:({}){number}", agency[1].trim()),
            None => format!("marc:{number}"),
        })
    };
    // identity -> OAI identifier, so deletions can find records whatever their identity.
    let mut live: BTreeMap<String, Option<String>> = BTreeMap::new();
    for file in files {
        let name = file.strip_prefix(corpus("")).expect("in corpus").to_string_lossy().to_string();
        if MALFORMED.iter().any(|(m, _)| *m == name) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("corpus file is UTF-8");
        if text.contains("<OAI-PMH") {
            for chunk in text.split("<header").skip(1) {
                let Some(oai) = oai_identifier.captures(chunk).map(|c| c[1].trim().to_string()) else { continue };
                let header_end = chunk.find('>').unwrap_or(0);
                if chunk[..header_end].contains("status=\"deleted\"") {
                    live.retain(|_, o| o.as_deref() != Some(oai.as_str()));
                } else if chunk.contains("<metadata") {
                    let identity = doi_of(chunk).unwrap_or_else(|| oai.clone());
                    live.insert(identity, Some(oai));
                }
            }
        } else {
            let starts: Vec<usize> = marc_start.find_iter(&text).map(|m| m.start()).collect();
            for (n, start) in starts.iter().enumerate() {
                let chunk = &text[*start..starts.get(n + 1).copied().unwrap_or(text.len())];
                if let Some(identity) = doi_of(chunk).or_else(|| marc_id(chunk)) {
                    live.insert(identity, None);
                }
            }
        }
    }
    live.into_keys().collect()
}

fn import_corpus(index: &Path) -> (serde_json::Value, i32) {
    let folders: Vec<PathBuf> = CORPUS_FOLDERS.iter().map(|f| corpus(f)).collect();
    import(index, &folders)
}

#[test]
fn every_marcxml_and_oai_file_of_the_corpus_imports_with_its_bad_records_accounted_for() {
    let index = tempfile::tempdir().expect("tempdir");
    let (report, code) = import_corpus(index.path());
    assert_eq!(code, 3, "some corpus records are malformed, so the import exits 3: {report}");

    let expected = expected_identities(&corpus_files());
    let ids: BTreeSet<String> = all_ids(index.path()).into_iter().collect();
    let missing: Vec<_> = expected.difference(&ids).collect();
    let extra: Vec<_> = ids.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, unexpected {extra:?}");
    assert_eq!(record_count(index.path()), expected.len() as u64, "stats counts distinct identities");

    let rejected: u64 = MALFORMED.iter().map(|(_, n)| n).sum();
    assert_eq!(report["rejected"], rejected);
    let read = report["read"].as_u64().expect("read");
    let accounted = ["indexed", "rejected", "deleted"].iter().map(|k| report[k].as_u64().expect("count")).sum::<u64>();
    assert_eq!(read, accounted, "read = indexed + rejected + deleted");

    let errors = report["errors"].as_array().expect("errors");
    for name in MALFORMED.iter().map(|(name, _)| *name).chain(FILE_ERRORS) {
        let error = errors.iter().find(|e| e["file"].as_str().is_some_and(|f| f.ends_with(name)));
        let error = error.unwrap_or_else(|| panic!("{name} is reported: {errors:?}"));
        assert!(error["line"].as_u64().is_some(), "{name} error has a line");
        assert!(!error["reason"].as_str().unwrap_or_default().is_empty());
    }
    assert_eq!(errors.len(), MALFORMED.len() + FILE_ERRORS.len(), "{errors:?}");

    let rejects = std::fs::read_to_string(report["rejects_file"].as_str().expect("rejects file")).expect("readable");
    assert!(rejects.contains(r#"tag="42""#), "pymarc_bad_tag's record is in the rejects file verbatim");
    assert!(rejects.contains("<subfields code=\"a\">0679450041 (acid-free paper)</subfields>"));
    assert!(rejects.contains("broken xml"), "a file that is not XML is kept verbatim too");
}

#[test]
fn every_record_has_a_type_so_type_counts_add_up_to_the_total() {
    let index = tempfile::tempdir().expect("tempdir");
    import_corpus(index.path());
    let (results, code) = search(index.path(), "", &["--facet", "type", "--facet-size", "100", "--limit", "0"]);
    assert_eq!(code, 0);
    let total = results["total"].as_u64().expect("total");
    let counted: u64 = results["facets"]["type"]
        .as_array()
        .expect("type facet")
        .iter()
        .map(|b| b["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(counted, total);
    assert_eq!(total, record_count(index.path()));
}

#[test]
fn importing_the_same_records_again_updates_them_and_never_duplicates() {
    let index = tempfile::tempdir().expect("tempdir");
    let (first, _) = import_corpus(index.path());
    let before = all_ids(index.path());
    let (second, _) = import_corpus(index.path());
    assert_eq!(second["indexed"], first["indexed"], "the second import read everything again");
    assert_eq!(all_ids(index.path()), before);
    assert_eq!(record_count(index.path()), before.len() as u64);

    // The same records under another path are the same records.
    let copy = tempfile::tempdir().expect("tempdir");
    let renamed = copy.path().join("renamed.xml");
    std::fs::copy(corpus("marcxml/marc4j_chabon.xml"), &renamed).expect("copy");
    import(index.path(), &[renamed]);
    assert_eq!(record_count(index.path()), before.len() as u64);
}

/// Within one import too, committed or not: the second copy of a record replaces the first.
#[test]
fn a_record_given_twice_in_one_import_is_indexed_once() {
    let index = tempfile::tempdir().expect("tempdir");
    let file = fixture("valid/marcxml/pymarc_batch.xml");
    import(index.path(), std::slice::from_ref(&file));
    let once = all_ids(index.path());
    assert!(once.len() >= 2);
    let twice = tempfile::tempdir().expect("tempdir");
    for commit_every in ["1", "1000"] {
        let (report, code) = util::json_of(
            acadex(twice.path())
                .args(["import", "--json", "--restart", "--commit-every", commit_every])
                .arg(&file)
                .arg(&file),
        );
        assert_eq!((code, report["indexed"].as_u64()), (0, Some(2 * once.len() as u64)));
        assert_eq!(all_ids(twice.path()), once, "--commit-every {commit_every}");
    }
}

/// Inputs are read on a thread of their own, which decides when a commit is due: every
/// `--commit-every` records read, counted across files and including rejected ones, each
/// commit at exactly that count.
#[test]
fn commits_come_every_n_records_read_across_files() {
    let index = tempfile::tempdir().expect("tempdir");
    let (dir_a, dir_b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    // Records 50, 100... of the first file are rejected; the second repeats ids 0..169.
    let first = util::large_marcxml_with_rejects(dir_a.path(), 250, 50);
    let second = util::large_marcxml(dir_b.path(), 170);
    let output =
        acadex(index.path()).args(["import", "--commit-every", "100"]).arg(&first).arg(&second).output().expect("runs");
    // Exit 3: some records were rejected.
    assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let commits: Vec<u64> =
        stderr.lines().filter_map(|line| line.strip_prefix("committed ")?.split(' ').next()?.parse().ok()).collect();
    assert_eq!(commits, [100, 200, 300, 400, 420], "{stderr}");
    // 245 good records in the first file; of the second, 3 are ids rejected in the first.
    assert_eq!(record_count(index.path()), 248);
}

#[test]
fn oai_pmh_deletions_remove_records_whatever_their_identity() {
    let index = tempfile::tempdir().expect("tempdir");
    // The page's deleted header still carries metadata: the record must not be indexed.
    let (report, code) = import(index.path(), &[fixture("valid/oai_dc/scythe_list_records_i9_token.xml")]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["deleted"], 1);
    assert_eq!(report["indexed"], 2);
    let ids = all_ids(index.path());
    assert_eq!(ids.len(), 2);
    assert!(!ids.iter().any(|id| id.contains("8433364")), "the deleted record is not there: {ids:?}");
}

#[test]
fn a_fixed_rejects_file_imports_the_records_it_holds() {
    let index = tempfile::tempdir().expect("tempdir");
    let (report, _) = import(index.path(), &[fixture("malformed/broken_field.xml"), fixture("malformed/bad_tag.xml")]);
    let rejects = PathBuf::from(report["rejects_file"].as_str().expect("rejects file"));
    let before = record_count(index.path());

    // Unfixed, the same records are rejected again, and nothing else breaks.
    let (again, code) = import(index.path(), std::slice::from_ref(&rejects));
    assert_eq!((code, again["rejected"].as_u64(), again["indexed"].as_u64()), (3, Some(2), Some(0)));

    // Fixed by hand, as a librarian would, they import.
    let fixed = std::fs::read_to_string(&rejects)
        .expect("rejects")
        .replacen("<subfield>", "<subfield code=\"a\">", 1)
        .replace(r#"tag="42""#, r#"tag="042""#);
    let fixed_path = index.path().join("fixed.xml");
    std::fs::write(&fixed_path, fixed).expect("write fixed");
    let (after, code) = import(index.path(), &[fixed_path]);
    assert_eq!((code, after["indexed"].as_u64(), after["rejected"].as_u64()), (0, Some(2), Some(0)), "{after}");
    assert_eq!(record_count(index.path()), before + 2);
    assert!(all_ids(index.path()).contains(&"marc:11939876".to_string()));
}

#[test]
fn gzip_folders_and_standard_input_are_inputs_too() {
    use std::io::Write;
    let work = tempfile::tempdir().expect("tempdir");
    let source = std::fs::read(fixture("valid/marcxml/marc4j_chabon.xml")).expect("fixture");
    let gz = work.path().join("chabon.xml.gz");
    let mut encoder = flate2_writer(&gz);
    encoder.write_all(&source).expect("gzip");
    drop(encoder);

    let index = tempfile::tempdir().expect("tempdir");
    let (report, code) = import(index.path(), &[gz]);
    assert_eq!((code, report["indexed"].as_u64()), (0, Some(2)), "{report}");

    let stdin_index = tempfile::tempdir().expect("tempdir");
    let output = acadex(stdin_index.path())
        .args(["import", "--json", "-"])
        .write_stdin(std::fs::read(fixture("valid/marcxml/pymarc_batch.xml")).expect("fixture"))
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["indexed"], 2);
    let (shown, _) = util::json_of(acadex(stdin_index.path()).args(["show", "marc:(DLC)5637241"]));
    assert_eq!(shown["source"]["file"], "-");
}

/// gzip without a dependency of the tests: the system's gzip, as a librarian would make one.
fn flate2_writer(path: &Path) -> impl std::io::Write {
    struct Gzip {
        path: PathBuf,
        bytes: Vec<u8>,
    }
    impl std::io::Write for Gzip {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Gzip {
        fn drop(&mut self) {
            let plain = self.path.with_extension("");
            std::fs::write(&plain, &self.bytes).expect("write");
            let status = std::process::Command::new("gzip").arg("-f").arg(&plain).status().expect("gzip runs");
            assert!(status.success());
        }
    }
    Gzip { path: path.to_path_buf(), bytes: Vec::new() }
}

#[test]
fn exit_codes_follow_the_contract() {
    let index = tempfile::tempdir().expect("tempdir");
    let (_, code) = import(index.path(), &[fixture("valid/marcxml")]);
    assert_eq!(code, 0, "everything indexed");
    let missing = index.path().join("no-such-file.xml");
    let (report, code) = import(index.path(), &[missing]);
    assert_eq!(code, 3, "a path that does not exist is reported, the run finishes");
    assert!(report["errors"][0]["reason"].as_str().expect("reason").contains("no such file"));
    acadex(index.path()).args(["import", "--format", "bibtex", "x"]).assert().code(2);
    acadex(index.path()).args(["search", "nonexistentwordzzz"]).assert().code(1);
    acadex(index.path()).args(["show", "doi:10.0/none"]).assert().code(1);
    let nowhere = tempfile::tempdir().expect("tempdir");
    acadex(&nowhere.path().join("absent"))
        .args(["search", "x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no index at"));
}

/// An import that wrote many segments (one per commit and indexing thread here, each too big
/// for the background merges) merges them into one per core at its end, for faster searches, keeping every record
/// and the commit's payload; a later small import leaves those merged segments alone. An
/// import whose end never came (here: no `finish`, as when killed while merging) leaves its
/// segments to the next import's end.
#[test]
fn a_bulk_import_leaves_one_segment_per_core() {
    use acadex::formats::input::Input;
    use acadex::import::{ImportPlan, Quiet};
    use acadex::index::{Writer, WriterOptions};

    let index = tempfile::tempdir().expect("tempdir");
    let inputs = tempfile::tempdir().expect("tempdir");
    let file = util::large_marcxml(inputs.path(), 2_000);
    let plan = ImportPlan {
        inputs: vec![Input::File(file)],
        format: None,
        rejects_path: inputs.path().join("rejects.xml"),
        commit_every: 200,
        commit_interval: std::time::Duration::from_secs(600),
        resume: true,
    };
    // Each commit of 200 records leaves about 100 on each of the two indexing threads.
    let options = WriterOptions { small_segment_docs: 10, ..WriterOptions::default() };
    let mut writer = Writer::open(index.path(), options).expect("writer");
    let report = acadex::import::run(&plan, &mut writer, &mut Quiet).expect("import");
    assert_eq!(report.indexed, 2_000);
    assert!(segment_count(index.path()) >= 8, "one segment per commit before the import ends");
    drop(writer);
    assert!(segment_count(index.path()) >= 8, "nothing merged without an end");
    let writer = Writer::open(index.path(), options).expect("writer");
    writer.finish().expect("finish");

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let merged = segment_count(index.path());
    assert!(merged <= cores, "{merged} segments on {cores} cores");
    let ids = all_ids(index.path());
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 2_000);
    assert!(ids.iter().any(|id| id.ends_with("synthetic00001999")), "{:?}", ids.last());
    let check = acadex(index.path()).arg("check").output().expect("check runs");
    assert!(check.status.success());
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(said.contains("finished, 2000 records read"), "{said}");

    let merged_ids = segment_ids(index.path());
    import(index.path(), &[fixture("valid/marcxml/marc4j_chabon.xml")]);
    let after = segment_ids(index.path());
    assert!(after.is_superset(&merged_ids), "the merged segments are left alone");
    let added = after.len() - merged_ids.len();
    assert!((1..=acadex::index::DEFAULT_THREADS).contains(&added), "{added} segments for 2 records");
    assert_eq!(record_count(index.path()), 2_002);
}
