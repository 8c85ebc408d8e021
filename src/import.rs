//! A batch import: inputs in, records upserted, deletions applied, bad records reported and
//! written verbatim to a rejects file, commits at measured intervals.
//!
//! The batch never stops for a bad record or an unreadable file; it stops only when the index
//! itself fails (disk full, lock lost). Every record read is accounted for:
//! `read = indexed + rejected + deleted`.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::formats::input::Input;
use crate::formats::{self, Checkpoint, Format, Item, RecordError};
use crate::index::{Fields, IndexError, PreparedRecord, Writer};

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    pub inputs: Vec<Input>,
    /// Read every input as this format instead of telling it from the content.
    pub format: Option<Format>,
    /// Where rejected records go; the file is created only if something is rejected.
    pub rejects_path: PathBuf,
    /// Commit after this many records...
    pub commit_every: usize,
    /// ...or after this long, whichever comes first, so a slow import still makes progress durable.
    pub commit_interval: Duration,
    /// Carry on where an interrupted import of the same inputs stopped, if the index's last
    /// commit says there was one.
    pub resume: bool,
}

/// The outcome of an import, as `acadex import --json` prints it. When the import resumed an
/// interrupted one, the counts include what that one committed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    pub read: u64,
    pub indexed: u64,
    pub rejected: u64,
    pub deleted: u64,
    /// Records made durable so far (everything, once the import has finished).
    #[serde(skip)]
    pub committed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Resumed>,
    pub rejects_file: Option<PathBuf>,
    pub errors: Vec<ErrorEntry>,
}

/// Where a resumed import picked up.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    /// Records the interrupted import had committed; this run read the ones after them.
    pub after_records: u64,
    pub file: String,
    /// The first record this run read in that file.
    pub at_record: u64,
}

/// One problem, located.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    pub file: String,
    pub record: Option<u64>,
    pub line: Option<u64>,
    pub reason: String,
}

/// Told about an import's progress; the CLI draws a progress bar and prints errors from it.
pub trait Observer {
    fn file_started(&mut self, _label: &str) {}
    fn resumed(&mut self, _resumed: &Resumed) {}
    fn record_read(&mut self, _report: &ImportReport) {}
    fn committed(&mut self, _report: &ImportReport) {}
    fn error(&mut self, _error: &RecordError) {}
}

/// An observer that wants to know nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// Where an import had got to, stored in the payload of each of its commits: the durable
/// checkpoint that makes a re-run of an interrupted import carry on exactly after the last
/// committed record, neither skipping nor repeating any.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportState {
    /// Which inputs, as they were: a changed file is not resumed.
    inputs: Vec<Fingerprint>,
    /// Inputs read to the end.
    files_done: usize,
    /// Where reading stopped in input `files_done`.
    position: Option<Checkpoint>,
    read: u64,
    indexed: u64,
    rejected: u64,
    deleted: u64,
    /// The rejects file and how much of it belongs to committed records.
    rejects: Option<RejectsState>,
    finished: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Fingerprint {
    file: String,
    bytes: u64,
    modified_ns: u128,
}

impl Fingerprint {
    /// `None` for standard input, which cannot be read again.
    fn of(input: &Input) -> Option<Fingerprint> {
        let Input::File(path) = input else { return None };
        let metadata = std::fs::metadata(path).ok()?;
        let modified_ns = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
        Some(Fingerprint { file: path.display().to_string(), bytes: metadata.len(), modified_ns })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RejectsState {
    path: PathBuf,
    length: u64,
    sidecars: usize,
}

/// The commit payload: `{"import": ImportState, "committed_at": seconds}`.
#[derive(Serialize, Deserialize)]
struct Payload {
    import: ImportState,
    committed_at: u64,
}

/// The interrupted import of exactly these inputs that the index's last commit records, if any.
fn interrupted_import(writer: &Writer, fingerprints: &Option<Vec<Fingerprint>>) -> Option<ImportState> {
    let payload = writer.last_payload().ok()??;
    let state = serde_json::from_str::<Payload>(&payload).ok()?.import;
    (!state.finished && Some(&state.inputs) == fingerprints.as_ref()).then_some(state)
}

/// Runs the import into `writer`. Returns the report, or the index error that stopped it (the
/// index then holds everything reported committed before it).
///
/// Reading, mapping and building documents run on a thread of its own while this one hands the
/// documents to tantivy's indexing threads (and keeps the counts, the rejects and the commits):
/// overlapping them leaves the import bound by their CPU time together rather than by any one
/// thread.
pub fn run(plan: &ImportPlan, writer: &mut Writer, observer: &mut dyn Observer) -> Result<ImportReport, IndexError> {
    let fingerprints: Option<Vec<Fingerprint>> = plan.inputs.iter().map(Fingerprint::of).collect();
    let resume_state = if plan.resume { interrupted_import(writer, &fingerprints) } else { None };
    let mut report = ImportReport::default();
    let mut rejects = Rejects::new(&plan.rejects_path);
    let mut start = Start { file: 0, position: None };
    if let Some(state) = resume_state {
        report.read = state.read;
        report.indexed = state.indexed;
        report.rejected = state.rejected;
        report.deleted = state.deleted;
        report.committed = state.read;
        if let Some(saved) = &state.rejects {
            rejects = Rejects::reopen(saved).map_err(|source| IndexError::Io {
                context: format!("cannot reopen the rejects file {}", saved.path.display()),
                source,
            })?;
        }
        let file = plan.inputs.get(state.files_done).map(Input::label).unwrap_or_default();
        let at_record = state.position.as_ref().map_or(1, Checkpoint::next_record);
        let resumed = Resumed { after_records: state.read, file, at_record };
        observer.resumed(&resumed);
        report.resumed = Some(resumed);
        start = Start { file: state.files_done, position: state.position };
    }
    let mut progress = Progress { fingerprints, files_done: start.file };
    std::thread::scope(|scope| {
        let (sender, batches) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let fields = writer.fields();
        std::thread::Builder::new()
            .name("acadex-reader".into())
            .spawn_scoped(scope, move || read_inputs(plan, &fields, start, &sender))
            .map_err(|source| IndexError::Io { context: "cannot start the reading thread".into(), source })?;
        // Returning early drops `batches`, which stops the reader at its next send.
        for message in batches {
            match message {
                FromReader::FileStarted(number) => {
                    progress.files_done = number;
                    observer.file_started(&plan.inputs[number].label());
                }
                FromReader::FileFailed(error) => note_error(&mut report, &mut rejects, observer, &error)?,
                FromReader::Batch { items, commit } => {
                    for item in items {
                        apply(item, writer, &mut report, &mut rejects, observer)?;
                        observer.record_read(&report);
                    }
                    if let Some(position) = commit {
                        progress.commit(writer, &mut report, &mut rejects, Some(position), false, observer)?;
                    }
                }
            }
        }
        Ok::<(), IndexError>(())
    })?;
    progress.files_done = plan.inputs.len();
    rejects.finish().map_err(|source| IndexError::Io {
        context: format!("cannot write the rejects file {}", rejects.path.display()),
        source,
    })?;
    report.rejects_file = rejects.path_if_written();
    progress.commit(writer, &mut report, &mut rejects, None, true, observer)?;
    Ok(report)
}

/// Indexes, deletes or rejects one item read, and counts it.
fn apply(
    item: Result<Ready, RecordError>,
    writer: &mut Writer,
    report: &mut ImportReport,
    rejects: &mut Rejects,
    observer: &mut dyn Observer,
) -> Result<(), IndexError> {
    match item {
        Ok(Ready::Record(prepared)) => {
            writer.upsert_prepared(prepared)?;
            report.indexed += 1;
            report.read += 1;
        }
        Ok(Ready::Delete { key }) => {
            writer.delete(&key)?;
            report.deleted += 1;
            report.read += 1;
        }
        Err(error) => {
            // An error of a whole file (no record number) is reported but is no record read.
            if error.record.is_some() {
                report.rejected += 1;
                report.read += 1;
            }
            note_error(report, rejects, observer, &error)?;
        }
    }
    Ok(())
}

/// Records handed from the reading thread to the indexing side at a time: enough that the two
/// threads do not wake each other for every record.
const BATCH: usize = 64;
/// Batches queued between the two threads; with the one each side holds, a few hundred records
/// in memory at most.
const BATCHES_IN_FLIGHT: usize = 4;

/// Where reading starts: the first input to read, and where in it (when resuming).
struct Start {
    file: usize,
    position: Option<Checkpoint>,
}

/// What the reading thread tells the indexing side, in input order.
enum FromReader {
    /// Input number `n` is being read from now on.
    FileStarted(usize),
    /// The input could not be opened or resumed, or its reader failed: nothing more comes of it.
    FileFailed(RecordError),
    /// Records read in order, and, when a commit is due after the last of them, where the
    /// reader is then: the checkpoint that commit stores.
    Batch { items: Vec<Result<Ready, RecordError>>, commit: Option<Checkpoint> },
}

/// An item read, its record already made into a document on the reading thread: building it
/// there reads the record's bytes while that core still caches them, and the record's many
/// small allocations are freed by the thread that made them (a free from another thread costs
/// mimalloc more).
enum Ready {
    Record(PreparedRecord),
    Delete { key: String },
}

impl Ready {
    fn of(item: Item, fields: &Fields) -> Ready {
        match item {
            Item::Record(imported) => Ready::Record(PreparedRecord::new(fields, &imported)),
            Item::Delete { key } => Ready::Delete { key },
        }
    }
}

/// The reading thread: every input from `start` on, in batches, deciding when a commit is due
/// (every `commit_every` records or `commit_interval`, whichever comes first). Returns when the
/// inputs are read or the indexing side has stopped listening.
fn read_inputs(plan: &ImportPlan, fields: &Fields, start: Start, out: &SyncSender<FromReader>) {
    let mut clock = CommitClock { pending: 0, last: Instant::now() };
    let mut position = start.position;
    for (number, input) in plan.inputs.iter().enumerate().skip(start.file) {
        if out.send(FromReader::FileStarted(number)).is_err() {
            return;
        }
        let label = input.label();
        // A bug in a reader must not take the batch down: a panic ends this file, reported
        // like any other error, and the import goes on with the next file.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_input(plan, fields, input, &label, position.take(), &mut clock, out)
        }));
        let stopped = match outcome {
            Ok(stopped) => stopped,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let reason = format!(
                    "internal error in acadex's reader ({message}); the rest of this file was not read \
                     - please report it with this file"
                );
                out.send(FromReader::FileFailed(file_error(&label, reason))).is_err()
            }
        };
        if stopped {
            return;
        }
    }
}

/// Reads one input to its end, sending its records in batches. Returns true if the indexing
/// side has stopped listening. Records read before a panic in the reader are sent first, with
/// no commit: the reader's position is not to be trusted after it.
fn read_input(
    plan: &ImportPlan,
    fields: &Fields,
    input: &Input,
    label: &str,
    position: Option<Checkpoint>,
    clock: &mut CommitClock,
    out: &SyncSender<FromReader>,
) -> bool {
    let records = input
        .open()
        .map_err(|e| file_error(label, format!("cannot read: {e}")))
        .and_then(|reader| formats::open(reader, label, plan.format));
    let mut records = match records {
        Ok(records) => records,
        Err(error) => return out.send(FromReader::FileFailed(error)).is_err(),
    };
    if let Some(checkpoint) = position
        && let Err(error) = records.resume_from(&checkpoint)
    {
        return out.send(FromReader::FileFailed(error)).is_err();
    }
    let mut items = Vec::with_capacity(BATCH);
    let flush = |items: &mut Vec<_>, commit| {
        let batch = std::mem::replace(items, Vec::with_capacity(BATCH));
        out.send(FromReader::Batch { items: batch, commit }).is_err()
    };
    loop {
        let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            records.next().map(|item| item.map(|item| Ready::of(item, fields)))
        }));
        match next {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return !items.is_empty() && flush(&mut items, None),
            Err(panic) => {
                if !items.is_empty() && flush(&mut items, None) {
                    return true;
                }
                std::panic::resume_unwind(panic);
            }
        }
        clock.pending += 1;
        let stopped = if clock.due(plan) {
            clock.pending = 0;
            clock.last = Instant::now();
            flush(&mut items, Some(records.checkpoint()))
        } else if items.len() == BATCH {
            flush(&mut items, None)
        } else {
            false
        };
        if stopped {
            return true;
        }
    }
}

/// When the reading thread last asked for a commit, and how many records it has read since.
struct CommitClock {
    pending: usize,
    last: Instant,
}

impl CommitClock {
    fn due(&self, plan: &ImportPlan) -> bool {
        self.pending >= plan.commit_every || self.last.elapsed() >= plan.commit_interval
    }
}

/// What the indexing side needs to make commits.
struct Progress {
    fingerprints: Option<Vec<Fingerprint>>,
    files_done: usize,
}

impl Progress {
    /// Commits, with where the import has got to in the payload. The rejects written so far are
    /// synced first, so the length recorded is durable too.
    fn commit(
        &mut self,
        writer: &mut Writer,
        report: &mut ImportReport,
        rejects: &mut Rejects,
        position: Option<Checkpoint>,
        finished: bool,
        observer: &mut dyn Observer,
    ) -> Result<(), IndexError> {
        let rejects_state = rejects.sync().map_err(|source| IndexError::Io {
            context: format!("cannot write the rejects file {}", rejects.path.display()),
            source,
        })?;
        let state = ImportState {
            inputs: self.fingerprints.clone().unwrap_or_default(),
            files_done: self.files_done,
            position,
            read: report.read,
            indexed: report.indexed,
            rejected: report.rejected,
            deleted: report.deleted,
            rejects: rejects_state,
            finished: finished || self.fingerprints.is_none(),
        };
        let committed_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let payload = serde_json::to_string(&Payload { import: state, committed_at }).unwrap_or_default();
        writer.commit(&payload)?;
        report.committed = report.read;
        observer.committed(report);
        Ok(())
    }
}

fn file_error(file: &str, reason: String) -> RecordError {
    RecordError {
        file: file.to_string(),
        record: None,
        line: None,
        byte: None,
        reason,
        verbatim: Vec::new(),
        well_formed: false,
        namespaces: String::new(),
    }
}

fn note_error(
    report: &mut ImportReport,
    rejects: &mut Rejects,
    observer: &mut dyn Observer,
    error: &RecordError,
) -> Result<(), IndexError> {
    observer.error(error);
    report.errors.push(ErrorEntry {
        file: error.file.clone(),
        record: error.record,
        line: error.line,
        reason: error.reason.clone(),
    });
    rejects.write(error).map_err(|source| IndexError::Io {
        context: format!("cannot write the rejects file {}", rejects.path.display()),
        source,
    })
}

/// The rejects file: an XML document acadex can import again once the records are fixed. Each
/// rejected record is wrapped in a `<reject>` that re-declares the namespaces it was read
/// under, preceded by a comment saying where it came from and why it was rejected. Bytes that
/// are not well-formed XML (a truncated record, a file that is not XML) are kept verbatim in
/// CDATA, so the file stays readable around them.
struct Rejects {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    sidecars: usize,
}

impl Rejects {
    fn new(path: &Path) -> Rejects {
        Rejects { path: path.to_path_buf(), out: None, sidecars: 0 }
    }

    /// The rejects file of an interrupted import, cut back to what its last commit covered
    /// (records read after it are read again, and rejected again).
    fn reopen(saved: &RejectsState) -> std::io::Result<Rejects> {
        let file = std::fs::OpenOptions::new().write(true).open(&saved.path)?;
        file.set_len(saved.length)?;
        let mut out = BufWriter::new(file);
        out.seek(std::io::SeekFrom::End(0))?;
        Ok(Rejects { path: saved.path.clone(), out: Some(out), sidecars: saved.sidecars })
    }

    /// Makes what was written so far durable and says how long it is.
    fn sync(&mut self) -> std::io::Result<Option<RejectsState>> {
        let Some(out) = &mut self.out else { return Ok(None) };
        out.flush()?;
        out.get_ref().sync_data()?;
        let length = out.get_ref().metadata()?.len();
        Ok(Some(RejectsState { path: self.path.clone(), length, sidecars: self.sidecars }))
    }

    fn write(&mut self, error: &RecordError) -> std::io::Result<()> {
        if error.verbatim.is_empty() {
            return Ok(());
        }
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                if let Some(parent) = self.path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let mut out = BufWriter::new(File::create(&self.path)?);
                out.write_all(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                      <!-- Records acadex could not import. Fix them and run: acadex import THIS-FILE -->\n\
                      <acadex-rejects>\n",
                )?;
                self.out.insert(out)
            }
        };
        let comment = error.to_string().replace("--", "- -");
        writeln!(out, "<!-- {comment} -->")?;
        if std::str::from_utf8(&error.verbatim).is_err() {
            // Bytes that are not UTF-8 cannot go into this UTF-8 file; they go beside it, verbatim.
            self.sidecars += 1;
            let sidecar = self.path.with_extension(format!("{}.bin", self.sidecars));
            std::fs::write(&sidecar, &error.verbatim)?;
            writeln!(out, "<!-- not UTF-8: its bytes are in {} -->", sidecar.display())?;
            return Ok(());
        }
        write!(out, "<reject{}>", error.namespaces)?;
        if error.well_formed {
            out.write_all(&error.verbatim)?;
        } else {
            out.write_all(b"<![CDATA[")?;
            out.write_all(&split_cdata_ends(&error.verbatim))?;
            out.write_all(b"]]>")?;
        }
        out.write_all(b"</reject>\n")?;
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(out) = &mut self.out {
            out.write_all(b"</acadex-rejects>\n")?;
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        Ok(())
    }

    fn path_if_written(&self) -> Option<PathBuf> {
        self.out.as_ref().map(|_| self.path.clone())
    }
}

/// CDATA cannot hold `]]>`; split it across two sections.
fn split_cdata_ends(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(3).position(|w| w == b"]]>") {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"]]]]><![CDATA[>");
        rest = &rest[at + 3..];
    }
    out.extend_from_slice(rest);
    out
}
