//! A batch import: inputs in, records upserted, deletions applied, bad records reported and
//! written verbatim to a rejects file, commits at measured intervals.
//!
//! The batch never stops for a bad record or an unreadable file; it stops only when the index
//! itself fails (disk full, lock lost). Every record read is accounted for:
//! `read = indexed + rejected + deleted`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::formats::input::Input;
use crate::formats::{self, Format, Item, RecordError};
use crate::index::{IndexError, Writer};

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
}

/// The outcome of an import, as `acadex import --json` prints it.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportReport {
    pub read: u64,
    pub indexed: u64,
    pub rejected: u64,
    pub deleted: u64,
    /// Records made durable so far (everything, once the import has finished).
    #[serde(skip)]
    pub committed: u64,
    pub rejects_file: Option<PathBuf>,
    pub errors: Vec<ErrorEntry>,
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
    fn record_read(&mut self, _report: &ImportReport) {}
    fn committed(&mut self, _report: &ImportReport) {}
    fn error(&mut self, _error: &RecordError) {}
}

/// An observer that wants to know nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// Runs the import into `writer`. Returns the report, or the index error that stopped it (the
/// index then holds everything reported committed before it).
pub fn run(plan: &ImportPlan, writer: &mut Writer, observer: &mut dyn Observer) -> Result<ImportReport, IndexError> {
    let mut report = ImportReport::default();
    let mut rejects = Rejects::new(&plan.rejects_path);
    let mut pending = 0usize;
    let mut last_commit = Instant::now();
    for (number, input) in plan.inputs.iter().enumerate() {
        let label = input.label();
        observer.file_started(&label);
        let records = input
            .open()
            .map_err(|e| file_error(&label, format!("cannot read: {e}")))
            .and_then(|reader| formats::open(reader, &label, plan.format));
        let records = match records {
            Ok(records) => records,
            Err(error) => {
                note_error(&mut report, &mut rejects, observer, &error)?;
                continue;
            }
        };
        let mut records = records;
        loop {
            // A bug in a reader must not take the batch down: a panic ends this file, reported
            // like any other error, and the import goes on with the next file.
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| records.next()));
            let item = match next {
                Ok(Some(item)) => item,
                Ok(None) => break,
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
                    note_error(&mut report, &mut rejects, observer, &file_error(&label, reason))?;
                    break;
                }
            };
            match item {
                Ok(Item::Record(imported)) => {
                    writer.upsert(&imported)?;
                    report.indexed += 1;
                    report.read += 1;
                }
                Ok(Item::Delete { key }) => {
                    writer.delete(&key);
                    report.deleted += 1;
                    report.read += 1;
                }
                Err(error) => {
                    if error.record.is_some() {
                        report.rejected += 1;
                        report.read += 1;
                    }
                    note_error(&mut report, &mut rejects, observer, &error)?;
                }
            }
            pending += 1;
            observer.record_read(&report);
            if pending >= plan.commit_every || last_commit.elapsed() >= plan.commit_interval {
                commit(writer, &mut report, &label, number, observer)?;
                pending = 0;
                last_commit = Instant::now();
            }
        }
    }
    rejects.finish().map_err(|source| IndexError::Io {
        context: format!("cannot write the rejects file {}", plan.rejects_path.display()),
        source,
    })?;
    report.rejects_file = rejects.path_if_written();
    let last = plan.inputs.last().map(Input::label).unwrap_or_default();
    commit(writer, &mut report, &last, plan.inputs.len(), observer)?;
    Ok(report)
}

fn commit(
    writer: &mut Writer,
    report: &mut ImportReport,
    file: &str,
    files_done: usize,
    observer: &mut dyn Observer,
) -> Result<(), IndexError> {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let payload = serde_json::json!({
        "import": { "file": file, "files_done": files_done, "read": report.read, "indexed": report.indexed },
        "committed_at": seconds,
    });
    writer.commit(&payload.to_string())?;
    report.committed = report.read;
    observer.committed(report);
    Ok(())
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
