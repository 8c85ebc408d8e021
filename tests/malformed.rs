//! Malformed input, for every importer (issue 4, "Reliability").
//!
//! Two harnesses, both table-driven so that a new importer plugs in without new test code:
//! - every `fixtures/malformed/NAME.expect` with its input `NAME.*` is imported by the built
//!   binary, within a time bound, and must give exactly the outcome its sidecar describes (the
//!   format of `.expect` is documented at the top of `fixtures/malformed/make.py`);
//! - every file under the folders of [`IMPORTERS`] is mutated (truncated, bytes flipped, an end
//!   tag deleted, a start tag duplicated) by a seeded PRNG, and each mutant is read in-process:
//!   no panic, no hang, every error located, every record accounted for, and the intact records
//!   still read.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use acadex::formats::{self, Format, Item, RecordError};
use regex::bytes::Regex;
use util::{all_ids, fixture, import};

/// How long the binary may take over one malformed fixture (they are a few KiB each).
const FIXTURE_TIME_BOUND: Duration = Duration::from_secs(20);
/// How long the library may take over one mutant (at most a few hundred KiB, debug build).
const MUTANT_TIME_BOUND: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------ the fixture corpus

/// A malformed fixture: its input and its sidecar's `key: value` lines.
struct Case {
    name: String,
    input: PathBuf,
    expect: BTreeMap<String, String>,
}

/// Every `fixtures/malformed/*.expect`, with the one other file of the same name beside it.
fn malformed_cases() -> Vec<Case> {
    let folder = fixture("malformed");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&folder).expect("fixtures/malformed").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let stem = |path: &Path| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut cases = Vec::new();
    for expect_file in files.iter().filter(|p| p.extension().is_some_and(|e| e == "expect")) {
        let name = stem(expect_file);
        let inputs: Vec<&PathBuf> =
            files.iter().filter(|p| stem(p) == name && p.extension().is_some_and(|e| e != "expect")).collect();
        assert_eq!(inputs.len(), 1, "{name}.expect needs exactly one input {name}.* beside it, found {inputs:?}");
        let text = std::fs::read_to_string(expect_file).expect("readable .expect");
        let expect = text
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        cases.push(Case { name, input: inputs[0].clone(), expect });
    }
    cases
}

/// Decodes a `kept:` value: `\xNN` is a byte, `\\` a backslash.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1)) {
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                at += 2;
            }
            (b'\\', Some(b'x')) => {
                let hex = text.get(at + 2..at + 4).expect("two hex digits after \\x");
                out.push(u8::from_str_radix(hex, 16).expect("hex byte"));
                at += 4;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window == needle)
}

/// Whether byte offsets in the reader's messages are offsets in the file itself: not so for
/// input converted from UTF-16 or from an encoding its declaration names.
fn offsets_are_of_the_file(bytes: &[u8]) -> bool {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || (bytes.len() > 1 && (bytes[0] == 0 || bytes[1] == 0));
    let declaration = Regex::new(r#"^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']"#).expect("regex");
    let declared_other = declaration.captures(bytes).is_some_and(|c| !c[1].eq_ignore_ascii_case(b"utf-8"));
    !utf16 && !declared_other
}

/// The 1-based line of a byte offset.
fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// What is wrong with one import of one malformed fixture, compared with its sidecar.
fn check_case(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, problem: String| {
        if !ok {
            problems.push(problem);
        }
    };
    let (name, expect) = (&case.name, &case.expect);
    let file_name = case.input.file_name().expect("file name").to_string_lossy().into_owned();
    let bytes = std::fs::read(&case.input).expect("fixture readable");
    let index = tempfile::tempdir().expect("tempdir");

    let started = Instant::now();
    let (report, code) = import(index.path(), std::slice::from_ref(&case.input));
    let took = started.elapsed();
    check(took < FIXTURE_TIME_BOUND, format!("took {took:?}, over the bound of {FIXTURE_TIME_BOUND:?}"));

    let count = |key: &str| report[key].as_u64().unwrap_or(u64::MAX);
    let expected_error = expect.get("error");
    let expected_code = if expected_error.is_some() { 3 } else { 0 };
    check(code == expected_code, format!("exit code {code}, expected {expected_code}"));
    check(
        count("indexed").to_string() == expect["good_records"],
        format!("indexed {}, expected good_records {}", report["indexed"], expect["good_records"]),
    );
    check(
        count("rejected").to_string() == expect["rejected"],
        format!("rejected {}, expected {}", report["rejected"], expect["rejected"]),
    );
    check(
        count("read") == count("indexed") + count("rejected") + count("deleted"),
        format!("read {} is not indexed + rejected + deleted: {report}", report["read"]),
    );

    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    match expect.get("errors") {
        Some(n) => check(errors.len().to_string() == *n, format!("{} errors, expected {n}: {errors:?}", errors.len())),
        None if expected_error.is_none() => check(errors.is_empty(), format!("errors, expected none: {errors:?}")),
        None => check(!errors.is_empty(), "no error reported".into()),
    }
    let located = Regex::new(r"at line (\d+), byte (\d+)").expect("regex");
    for error in &errors {
        let reason = error["reason"].as_str().unwrap_or_default();
        check(
            error["file"].as_str().is_some_and(|f| f.ends_with(&file_name)),
            format!("an error does not name the file {file_name}: {error}"),
        );
        check(error["line"].as_u64().is_some(), format!("an error has no line: {error}"));
        // A break found inside a record is placed by line and byte: both must point at one place.
        if let Some(at) = located.captures(reason.as_bytes())
            && offsets_are_of_the_file(&bytes)
        {
            let number = |i: usize| String::from_utf8_lossy(&at[i]).parse::<usize>().expect("number");
            let (line, byte) = (number(1), number(2));
            check(
                line_at(&bytes, byte) == line && byte <= bytes.len(),
                format!("'{reason}': byte {byte} is on line {}, not line {line}", line_at(&bytes, byte)),
            );
        }
    }

    if let (Some(phrase), Some(first)) = (expected_error, errors.first()) {
        let reason = first["reason"].as_str().unwrap_or_default();
        check(
            reason.to_lowercase().contains(&phrase.to_lowercase()),
            format!("the error '{reason}' does not say '{phrase}'"),
        );
        check(
            first["line"].as_u64() == expect["line"].parse().ok(),
            format!("the error is on line {}, expected {}", first["line"], expect["line"]),
        );
        if let Some(record) = expect.get("record") {
            check(
                first["record"].as_u64() == record.parse().ok(),
                format!("the error names record {}, expected {record}", first["record"]),
            );
        }
    }

    // A rejected record is kept, byte for byte, in the rejects file or a .bin sidecar beside it.
    if count("rejected") > 0 || expect.contains_key("kept") {
        match report["rejects_file"].as_str().map(PathBuf::from) {
            None => check(false, "no rejects file".into()),
            Some(rejects) => {
                let mut kept = std::fs::read(&rejects).unwrap_or_default();
                let mut sidecars = 0;
                while let Ok(sidecar) = std::fs::read(rejects.with_extension(format!("{}.bin", sidecars + 1))) {
                    kept.extend_from_slice(&sidecar);
                    sidecars += 1;
                }
                check(kept.len() > 200 || sidecars > 0, format!("the rejects file keeps only {} bytes", kept.len()));
                if let Some(phrase) = expect.get("kept") {
                    check(
                        contains(&kept, &unescape(phrase)),
                        format!("the rejects file (and {sidecars} .bin sidecars) does not hold '{phrase}' verbatim"),
                    );
                }
            }
        }
    }

    if let Some(good) = expect.get("good_ids") {
        let ids = all_ids(index.path());
        for id in good.split(',').map(str::trim) {
            check(ids.iter().any(|i| i.ends_with(id)), format!("{id} is not indexed; the index holds {ids:?}"));
        }
    }
    problems.into_iter().map(|p| format!("{name}: {p}")).collect()
}

#[test]
fn every_malformed_fixture_gives_its_expected_located_errors_and_loses_nothing() {
    let cases = malformed_cases();
    assert!(cases.len() >= 17, "the malformed corpus is all there: {} cases", cases.len());
    let problems: Vec<String> = cases.iter().flat_map(check_case).collect();
    eprintln!("malformed fixtures: {} files imported, {} problems", cases.len(), problems.len());
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

// ------------------------------------------------------------------------ generated mutants

/// An importer under test: a new format adds a row.
struct Importer {
    /// Its valid fixtures, every file of which is mutated.
    folder: &'static str,
    /// The format forced on the reader, as `--format` does; `None` to detect it.
    format: Option<Format>,
    /// Start and end tags of its record element. Only the outermost count: an OAI-PMH record
    /// that wraps a MARC record is one record.
    record_element: &'static str,
}

const IMPORTERS: [Importer; 3] = [
    Importer { folder: "valid/marcxml", format: None, record_element: r"</?(?:marc:)?record[\s>]" },
    Importer { folder: "valid/oai_dc", format: None, record_element: r"</?record[\s>]" },
    Importer { folder: "valid/oai_marc", format: Some(Format::OaiPmh), record_element: r"</?record[\s>]" },
];

/// Mutants made of each valid file, times `ACADEX_MUTANT_ROUNDS` (1 unless set: CI runs the
/// short version; `ACADEX_MUTANT_ROUNDS=30` is the long one that found the `MUTANT_BUGS` of
/// `fixtures/malformed/make.py`).
const TRUNCATIONS: usize = 20;
const FLIPS: usize = 30;
const DELETED_END_TAGS: usize = 5;
const DUPLICATED_START_TAGS: usize = 5;

fn rounds() -> usize {
    std::env::var("ACADEX_MUTANT_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(1)
}

/// xorshift64: deterministic, and enough to scatter mutations over a file.
struct XorShift(u64);

impl XorShift {
    fn seeded(name: &str) -> Self {
        // FNV-1a of the file name, so each file gets its own mutants, the same on every run.
        let hash =
            name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        XorShift(hash ^ 0x2545_f491_4f6c_dd1d)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate { at: usize },
    Flip { at: usize, to: u8 },
    DeleteEndTag { at: usize, len: usize },
    DuplicateStartTag { at: usize, len: usize },
}

impl Mutation {
    fn apply(&self, original: &[u8]) -> Vec<u8> {
        let mut bytes = original.to_vec();
        match *self {
            Mutation::Truncate { at } => bytes.truncate(at),
            Mutation::Flip { at, to } => bytes[at] = to,
            Mutation::DeleteEndTag { at, len } => {
                bytes.drain(at..at + len);
            }
            Mutation::DuplicateStartTag { at, len } => {
                let tag = original[at..at + len].to_vec();
                bytes.splice(at..at, tag);
            }
        }
        bytes
    }

    /// Where the mutation is in the original.
    fn point(&self) -> usize {
        match *self {
            Mutation::Truncate { at }
            | Mutation::Flip { at, .. }
            | Mutation::DeleteEndTag { at, .. }
            | Mutation::DuplicateStartTag { at, .. } => at,
        }
    }
}

/// Offsets and lengths of the tags whose text starts with `<` followed by a byte `first` accepts.
fn tags(bytes: &[u8], first: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (at, window) in bytes.windows(2).enumerate() {
        if window[0] == b'<'
            && first(window[1])
            && let Some(end) = bytes[at..].iter().position(|&b| b == b'>')
        {
            found.push((at, end + 1));
        }
    }
    found
}

/// The mutants of one file, in a fixed order for a fixed seed.
fn mutations(name: &str, original: &[u8], rounds: usize) -> Vec<Mutation> {
    let mut rng = XorShift::seeded(name);
    let len = original.len();
    let mut out = Vec::new();
    let truncations = TRUNCATIONS * rounds;
    for n in 0..truncations {
        // Half spread evenly over the file, half anywhere.
        let at = if n % 2 == 0 { len * (n + 1) / (truncations + 1) } else { rng.below(len) };
        out.push(Mutation::Truncate { at });
    }
    // Bytes that change the XML's structure, NUL, a byte that is never UTF-8, and any byte.
    let flips = [b'<', b'>', b'&', b'"', 0, 0xFF];
    for n in 0..FLIPS * rounds {
        let to = flips.get(n % (flips.len() + 1)).copied().unwrap_or_else(|| rng.next() as u8);
        out.push(Mutation::Flip { at: rng.below(len), to });
    }
    let end_tags = tags(original, |b| b == b'/');
    for _ in 0..DELETED_END_TAGS * rounds {
        let (at, len) = end_tags[rng.below(end_tags.len())];
        out.push(Mutation::DeleteEndTag { at, len });
    }
    let start_tags = tags(original, |b| b.is_ascii_alphabetic());
    for _ in 0..DUPLICATED_START_TAGS * rounds {
        let (at, len) = start_tags[rng.below(start_tags.len())];
        out.push(Mutation::DuplicateStartTag { at, len });
    }
    out
}

/// Byte spans (start, end) of the outermost record elements.
fn record_spans(bytes: &[u8], record_element: &Regex) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for tag in record_element.find_iter(bytes) {
        if tag.as_bytes().starts_with(b"</") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                let close = bytes[tag.start()..].iter().position(|&b| b == b'>').expect("end tag closes");
                spans.push((start, tag.start() + close + 1));
            }
        } else {
            if depth == 0 {
                start = tag.start();
            }
            depth += 1;
        }
    }
    spans
}

/// What a reader made of some input, read to the end under `catch_unwind`.
struct Outcome {
    items: Vec<Result<Item, RecordError>>,
    panic: Option<String>,
    /// The reader kept yielding past any plausible number of items.
    endless: bool,
    took: Duration,
}

fn read_all(bytes: &[u8], label: &str, format: Option<Format>) -> Outcome {
    let started = Instant::now();
    let mut items = Vec::new();
    let mut endless = false;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match formats::open(Cursor::new(bytes), label, format) {
            Ok(records) => {
                for item in records {
                    items.push(item);
                    // Every item takes at least one byte of input.
                    if items.len() > bytes.len() + 1 {
                        endless = true;
                        break;
                    }
                }
            }
            Err(error) => items.push(Err(error)),
        }
    }));
    let panic = result.err().map(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    });
    Outcome { items, panic, endless, took: started.elapsed() }
}

fn records(outcome: &Outcome) -> Vec<&formats::Imported> {
    outcome
        .items
        .iter()
        .filter_map(|item| match item {
            Ok(Item::Record(imported)) => Some(&**imported),
            _ => None,
        })
        .collect()
}

/// What is wrong with one mutant's outcome: the invariants every reader keeps on any input.
fn invariants(outcome: &Outcome, mutant: &[u8], label: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(panic) = &outcome.panic {
        problems.push(format!("panicked: {panic}"));
    }
    if outcome.endless {
        problems.push(format!("yielded more than {} items", mutant.len() + 1));
    }
    if outcome.took > MUTANT_TIME_BOUND {
        problems.push(format!("took {:?}", outcome.took));
    }
    let (mut deletes, mut numbers) = (0u64, Vec::new());
    for item in &outcome.items {
        match item {
            Ok(Item::Record(imported)) => numbers.push(imported.record.source.record),
            Ok(Item::Delete { .. }) => deletes += 1,
            Err(error) => {
                if error.file != label || error.line.is_none() {
                    problems.push(format!("an error does not name the file and a line: {error}"));
                }
                // Where a byte offset is given, it is on the line given.
                if let (Some(line), Some(byte)) = (error.line, error.byte)
                    && offsets_are_of_the_file(mutant)
                    && (byte as usize > mutant.len() || line_at(mutant, byte as usize) as u64 != line)
                {
                    let on = line_at(mutant, byte as usize);
                    problems.push(format!("'{error}' says line {line}, byte {byte}, but that byte is on line {on}"));
                }
                if error.record.is_some() {
                    numbers.push(error.record);
                }
                let verbatim = &error.verbatim;
                if !verbatim.is_empty() && std::str::from_utf8(verbatim).is_ok() && !contains(mutant, verbatim) {
                    problems.push(format!("the verbatim bytes of '{error}' are not in the input"));
                }
            }
        }
    }
    // read = records + deletes + errors with a record number, and each number is used once.
    let read = numbers.len() as u64 + deletes;
    let distinct: BTreeSet<u64> = numbers.iter().flatten().copied().collect();
    if numbers.iter().any(Option::is_none) || distinct.len() != numbers.len() || distinct.last() > Some(&read) {
        problems.push(format!("record numbers {numbers:?} do not count {read} records read ({deletes} deletes)"));
    }
    problems
}

/// A mutant that broke an invariant, saved so it can be read again by hand.
fn save_mutant(name: &str, n: usize, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("acadex-mutant-{name}-{n}"));
    std::fs::write(&path, bytes).expect("write the mutant to the temp dir");
    path
}

#[test]
fn mutants_of_every_valid_fixture_never_panic_or_hang_and_keep_their_intact_records() {
    let (mut tried, mut panics, mut errors, mut files) = (0usize, 0usize, 0usize, 0usize);
    let (mut recovered, mut possible) = (0usize, 0usize);
    let mut failures = Vec::new();
    for importer in &IMPORTERS {
        let record_element = Regex::new(importer.record_element).expect("record element regex");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture(importer.folder))
            .expect("fixture folder")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            files += 1;
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            let label = format!("{}/{name}", importer.folder);
            let original = std::fs::read(&path).expect("fixture readable");

            let baseline = read_all(&original, &label, importer.format);
            let problems = invariants(&baseline, &original, &label);
            assert!(problems.is_empty(), "{label} as it is: {problems:?}");
            let spans = record_spans(&original, &record_element);
            let good_xml: Vec<&[u8]> = records(&baseline).iter().map(|r| r.original.xml.as_slice()).collect();
            assert!(!good_xml.is_empty(), "{label} holds records");
            let good: Vec<(usize, usize)> =
                spans.iter().copied().filter(|&(s, e)| good_xml.contains(&&original[s..e])).collect();
            assert_eq!(good.len(), good_xml.len(), "{label}: the record element regex finds every record read");

            let mutants: Arc<Vec<(Mutation, Vec<u8>)>> = Arc::new(
                mutations(&name, &original, rounds()).into_iter().map(|m| (m.clone(), m.apply(&original))).collect(),
            );
            // A worker reads the mutants, so that a hang is caught here by a timeout.
            let (sender, receiver) = mpsc::channel();
            let worker = {
                let (mutants, label, format) = (Arc::clone(&mutants), label.clone(), importer.format);
                std::thread::spawn(move || {
                    for (_, bytes) in mutants.iter() {
                        if sender.send(read_all(bytes, &label, format)).is_err() {
                            return;
                        }
                    }
                })
            };
            for (n, (mutation, bytes)) in mutants.iter().enumerate() {
                tried += 1;
                let outcome = match receiver.recv_timeout(MUTANT_TIME_BOUND) {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let saved = save_mutant(&name, n, bytes);
                        panic!(
                            "{label}: mutant {n} ({mutation:?}) hangs: over {MUTANT_TIME_BOUND:?}; saved as {}",
                            saved.display()
                        );
                    }
                };
                let mut problems = invariants(&outcome, bytes, &label);
                panics += usize::from(outcome.panic.is_some());
                errors += outcome.items.iter().filter(|item| item.is_err()).count();
                let yielded = records(&outcome).len();
                let (minimum, lost) = match *mutation {
                    Mutation::Truncate { at } => (good.iter().filter(|&&(_, e)| e <= at).count(), 0),
                    // Damage to the declaration or the root element may refuse the whole file,
                    // as long as it says so.
                    _ if good.first().is_some_and(|&(start, _)| mutation.point() < start)
                        && outcome.items.iter().any(|item| item.as_ref().is_err_and(|e| e.record.is_none())) =>
                    {
                        (0, 0)
                    }
                    _ => {
                        let hit = good.iter().filter(|&&(s, e)| s <= mutation.point() && mutation.point() < e).count();
                        (good.len().saturating_sub(hit + 1), hit)
                    }
                };
                if yielded < minimum {
                    problems.push(format!(
                        "{yielded} records read, expected at least {minimum} of {} ({lost} damaged)",
                        good.len()
                    ));
                }
                recovered += yielded;
                possible += minimum;
                if !problems.is_empty() {
                    let saved = save_mutant(&name, n, bytes);
                    failures.push(format!(
                        "{label}: mutant {n} ({mutation:?}), saved as {}: {problems:?}",
                        saved.display()
                    ));
                }
            }
            worker.join().expect("the worker catches the readers' panics");
        }
    }
    eprintln!(
        "malformed mutants: {tried} tried over {files} files, {panics} panics, {} failing; \
         {recovered} records recovered (at least {possible} required), {errors} located errors",
        failures.len()
    );
    assert!(failures.is_empty(), "{} mutants broke an invariant:\n{}", failures.len(), failures.join("\n"));
}
