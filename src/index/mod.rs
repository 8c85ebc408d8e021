//! The local tantivy index: opening and creating it, writing records into it, searching it.
//!
//! An index is a folder holding tantivy's files plus `acadex.json` (the schema version). One
//! process writes at a time (tantivy's OS lock, released if the process dies); any number read,
//! and they only ever see committed data.

mod directory;
mod document;
mod facets;
mod query;
pub mod schema;
pub mod tokenizer;
mod writer;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::LockError;
use tantivy::{Index, IndexSettings, TantivyError};

use directory::{FileAccess, IndexDirectory};

pub use document::build as build_document;
pub use query::{
    CheckReport, FacetCount, Hit, IndexReader, QueryError, SearchRequest, SearchResults, Snippet, Sort, Stats,
    StoredRecord,
};
pub use schema::{FACETS, Fields, SCHEMA_VERSION};
pub use writer::{DEFAULT_MEMORY_MB, DEFAULT_THREADS, PreparedRecord, Writer, WriterOptions};

/// The file, beside tantivy's, that records which acadex schema built the index.
const MANIFEST: &str = "acadex.json";
/// tantivy's writer lock file, named in messages when another writer holds it.
pub const WRITER_LOCK: &str = ".tantivy-writer.lock";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("no index at {path}")]
    Missing { path: PathBuf },
    #[error("the index folder {path} cannot be used: {file} is a file, not a folder")]
    NotAFolder { path: PathBuf, file: PathBuf },
    #[error("{path} is not an acadex index and is not empty (it holds {entry})")]
    NotAnIndex { path: PathBuf, entry: String },
    #[error("the index folder {path} is not writable: {reason}")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("another acadex process is writing to the index (lock {lock})")]
    Locked { lock: PathBuf },
    #[error("the index at {path} was built with schema version {found}; this acadex uses version {expected}")]
    SchemaVersion { path: PathBuf, found: u32, expected: u32 },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("index at {path}: {source}")]
    Tantivy { path: PathBuf, source: tantivy::TantivyError },
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl IndexError {
    /// What the user can do about it, where there is something obvious.
    pub fn hint(&self) -> Option<String> {
        match self {
            IndexError::Missing { .. } => Some("import records first: acadex import FILES...".into()),
            IndexError::NotAFolder { .. } => {
                Some("pass --index with the path of a folder (acadex makes it if it does not exist)".into())
            }
            IndexError::NotAnIndex { .. } => {
                Some("pass --index with a new or empty folder; acadex does not mix its files with others".into())
            }
            IndexError::ReadOnly { .. } => Some(
                "search, show, stats and check work on a read-only index; to import, make the folder \
                 writable, or copy the index and pass --index COPY"
                    .into(),
            ),
            IndexError::Locked { .. } => Some(
                "wait for the other import to finish, or pass --wait-lock 60s to wait for it; \
                 a lock left by a killed process is released by the OS, never remove it by hand"
                    .into(),
            ),
            IndexError::SchemaVersion { .. } => Some("rebuild it from its stored records: acadex reindex".into()),
            IndexError::Query(error) => error.hint(),
            IndexError::Tantivy { .. } | IndexError::Io { .. } => Some(
                "the index still holds everything reported committed (acadex check verifies it); \
                 fix the cause (disk space, permissions) and run the import again"
                    .into(),
            ),
        }
    }
}

pub(crate) fn tantivy_error(path: &Path) -> impl Fn(TantivyError) -> IndexError + '_ {
    move |source| IndexError::Tantivy { path: path.to_path_buf(), source }
}

/// The error for a writer lock that could not be taken.
pub(crate) fn lock_error(dir: &Path, error: TantivyError) -> IndexError {
    match error {
        TantivyError::LockFailure(LockError::LockBusy, _) => IndexError::Locked { lock: dir.join(WRITER_LOCK) },
        TantivyError::LockFailure(LockError::IoError(source), _) if not_writable(&source) => {
            IndexError::ReadOnly { path: dir.to_path_buf(), reason: source.to_string() }
        }
        other => tantivy_error(dir)(other),
    }
}

fn not_writable(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied)
}

/// `dir` or the first of its ancestors that exists, if that is not a folder.
fn file_in_the_way(dir: &Path) -> Result<(), IndexError> {
    match dir.ancestors().find(|path| path.exists()) {
        Some(file) if !file.is_dir() => {
            Err(IndexError::NotAFolder { path: dir.to_path_buf(), file: file.to_path_buf() })
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    schema_version: u32,
}

/// Opens an existing index, checking that this acadex can read it.
pub fn open(dir: &Path) -> Result<(Index, Fields), IndexError> {
    open_with(dir, FileAccess::Mapped)
}

fn open_with(dir: &Path, access: FileAccess) -> Result<(Index, Fields), IndexError> {
    file_in_the_way(dir)?;
    let manifest_path = dir.join(MANIFEST);
    let manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(IndexError::Missing { path: dir.to_path_buf() });
        }
        Err(source) => {
            return Err(IndexError::Io { context: format!("cannot read {}", manifest_path.display()), source });
        }
    };
    let found = serde_json::from_slice::<Manifest>(&manifest).map(|m| m.schema_version).unwrap_or(0);
    if found != SCHEMA_VERSION {
        return Err(IndexError::SchemaVersion { path: dir.to_path_buf(), found, expected: SCHEMA_VERSION });
    }
    let index = Index::open(IndexDirectory::open(dir, access)?).map_err(tantivy_error(dir))?;
    tokenizer::register(&index);
    let fields = Fields::of(&index.schema()).map_err(tantivy_error(dir))?;
    Ok((index, fields))
}

/// Opens the index for writing, creating an empty one (and its folder) if there is none. The
/// files its merges stream through are read, not mapped: see [`directory`].
pub fn open_or_create(dir: &Path) -> Result<(Index, Fields), IndexError> {
    if dir.join(MANIFEST).exists() {
        return open_with(dir, FileAccess::Read);
    }
    file_in_the_way(dir)?;
    std::fs::create_dir_all(dir).map_err(|source| match not_writable(&source) {
        true => IndexError::ReadOnly { path: dir.to_path_buf(), reason: source.to_string() },
        false => IndexError::Io { context: format!("cannot create the index folder {}", dir.display()), source },
    })?;
    let index = match Index::open(IndexDirectory::open(dir, FileAccess::Read)?) {
        // tantivy files without a manifest: an index made by a crashed first run; keep it.
        Ok(index) => index,
        Err(_) => {
            let io_error = |source| IndexError::Io { context: format!("cannot read {}", dir.display()), source };
            if let Some(entry) = std::fs::read_dir(dir).map_err(io_error)?.next() {
                let entry = entry.map_err(io_error)?.file_name().to_string_lossy().into_owned();
                return Err(IndexError::NotAnIndex { path: dir.to_path_buf(), entry });
            }
            Index::create(IndexDirectory::open(dir, FileAccess::Read)?, schema::build(), IndexSettings::default())
                .map_err(tantivy_error(dir))?
        }
    };
    let manifest = serde_json::to_vec(&Manifest { schema_version: SCHEMA_VERSION }).unwrap_or_default();
    write_durably(&dir.join(MANIFEST), &manifest)?;
    tokenizer::register(&index);
    let fields = Fields::of(&index.schema()).map_err(tantivy_error(dir))?;
    Ok((index, fields))
}

/// Calls `each` with every stored original (and the record's stored `source`), in an index of
/// any schema version, while holding its writer lock; then, if `rebuilt` names a folder,
/// replaces the index with it. This is `acadex reindex`'s half that touches tantivy.
pub fn rebuild_from_originals(
    dir: &Path,
    each: &mut dyn FnMut(crate::formats::Original, Option<crate::model::Source>) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    if !dir.join(MANIFEST).exists() {
        return Err(IndexError::Missing { path: dir.to_path_buf() });
    }
    let index = Index::open_in_dir(dir).map_err(tantivy_error(dir))?;
    let _lock =
        index.writer_with_num_threads::<tantivy::TantivyDocument>(1, 15_000_000).map_err(|e| lock_error(dir, e))?;
    let schema = index.schema();
    let field = |name: &str| schema.get_field(name).map_err(tantivy_error(dir));
    let (original_field, namespaces_field, record_field) =
        (field("original")?, field("original_namespaces")?, field("record")?);
    // Absent before schema version 2.
    let original_bytes_field = schema.get_field("original_bytes").ok();
    let reader = index.reader().map_err(tantivy_error(dir))?;
    let searcher = reader.searcher();
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(16)
            .map_err(|source| IndexError::Io { context: format!("cannot read {}", dir.display()), source })?;
        for doc_id in segment.doc_ids_alive() {
            let doc: tantivy::TantivyDocument = store.get(doc_id).map_err(tantivy_error(dir))?;
            let original = document::stored_original(&doc, original_field, original_bytes_field, namespaces_field);
            let source = document::stored_bytes(&doc, record_field)
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
                .and_then(|record| serde_json::from_value(record["source"].clone()).ok());
            each(original, source)?;
        }
    }
    Ok(())
}

/// Replaces the index in `dir` with the one built in `rebuilt`.
pub fn replace(dir: &Path, rebuilt: &Path) -> Result<(), IndexError> {
    let io_error = |context: String| move |source| IndexError::Io { context, source };
    let old = dir.with_extension(format!("old-{}", std::process::id()));
    std::fs::rename(dir, &old).map_err(io_error(format!("cannot move {} aside", dir.display())))?;
    std::fs::rename(rebuilt, dir).map_err(io_error(format!("cannot move {} into place", rebuilt.display())))?;
    std::fs::remove_dir_all(&old).map_err(io_error(format!("cannot remove the old index {}", old.display())))
}

/// Writes a small file so that after a crash it is either absent or whole.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    use std::io::Write;
    let io_error = |source| IndexError::Io { context: format!("cannot write {}", path.display()), source };
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary).map_err(io_error)?;
    file.write_all(bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent).and_then(|d| d.sync_all()).map_err(io_error)?;
    }
    Ok(())
}
