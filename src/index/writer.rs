//! Writing: the lock, upserts, deletions and commits.
//!
//! Records are added to tantivy's in-memory segments by its indexing threads while the caller
//! keeps parsing; nothing is durable until [`Writer::commit`], which flushes segments, writes
//! `meta.json` atomically and syncs the folder (tantivy's `save_metas`). A commit carries a
//! payload (where the import had got to) in the same atomic step, so that a crash leaves the
//! index at its last commit with a checkpoint that matches it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tantivy::directory::error::LockError;
use tantivy::{IndexWriter, TantivyError, Term};

use super::{Fields, IndexError, WRITER_LOCK, document, lock_error, open_or_create, tantivy_error};
use crate::formats::Imported;

/// Largest segment (in records) that merges still take as input. Merging holds the merged
/// segments' dictionaries in memory, so merging large segments made memory grow with the index
/// (1.1 GB peak at 1M records); with this cap only the small segments that small imports leave
/// are merged, and a bulk import's segments (one per memory budget) stay as they are.
const MAX_DOCS_BEFORE_MERGE: usize = 20_000;

/// How the writer uses the machine.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// tantivy indexing threads. The caller's thread parses, so on 2 cores one indexing thread
    /// keeps both busy.
    pub threads: usize,
    /// Memory for tantivy's in-memory segments, all threads together.
    pub memory_bytes: usize,
    /// Wait this long for another writer to finish instead of failing at once.
    pub wait_lock: Option<Duration>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { threads: 1, memory_bytes: 64 << 20, wait_lock: None }
    }
}

pub struct Writer {
    dir: PathBuf,
    writer: IndexWriter,
    fields: Fields,
}

impl Writer {
    /// Opens (creating if needed) the index in `dir` for writing, taking its lock.
    pub fn open(dir: &Path, options: WriterOptions) -> Result<Writer, IndexError> {
        let (index, fields) = open_or_create(dir)?;
        let started = Instant::now();
        let writer = loop {
            let threads = options.threads.max(1);
            let memory = options.memory_bytes.max((threads * 16) << 20);
            match index.writer_with_num_threads(threads, memory) {
                Ok(writer) => break writer,
                Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
                    let waited_enough = options.wait_lock.is_none_or(|limit| started.elapsed() >= limit);
                    if waited_enough {
                        return Err(IndexError::Locked { lock: dir.join(WRITER_LOCK) });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(error) => return Err(lock_error(dir, error)),
            }
        };
        // Segments past this size are not merged further while importing: merging reads every
        // input segment whole, so an unbounded merge makes memory grow with the index.
        let mut merge_policy = tantivy::indexer::LogMergePolicy::default();
        merge_policy.set_max_docs_before_merge(MAX_DOCS_BEFORE_MERGE);
        writer.set_merge_policy(Box::new(merge_policy));
        Ok(Writer { dir: dir.to_path_buf(), writer, fields })
    }

    /// Adds a record, replacing any record with the same id (committed or in this batch).
    pub fn upsert(&mut self, imported: &Imported) -> Result<(), IndexError> {
        let record = &imported.record;
        self.writer.delete_term(Term::from_field_text(self.fields.id, &record.id.to_lowercase()));
        let doc = document::build(&self.fields, record, &imported.original);
        self.writer.add_document(doc).map_err(|error| match error {
            // The indexing thread died, and tantivy only says so; its cause is almost always
            // the disk (full, or not writable), which the user can act on.
            TantivyError::ErrorInThread(_) => IndexError::Io {
                context: format!("indexing into {} failed", self.dir.display()),
                source: std::io::Error::other(
                    "tantivy's indexing thread stopped on an I/O error: is the disk full or not writable?",
                ),
            },
            other => tantivy_error(&self.dir)(other),
        })?;
        Ok(())
    }

    /// Deletes every record that has `key` among its identity keys.
    pub fn delete(&mut self, key: &str) {
        self.writer.delete_term(Term::from_field_text(self.fields.keys, &key.to_lowercase()));
    }

    /// The payload of the last commit, where the import that made it had got to.
    pub fn last_payload(&self) -> Result<Option<String>, IndexError> {
        let metas = self.writer.index().load_metas().map_err(tantivy_error(&self.dir))?;
        Ok(metas.payload)
    }

    /// Makes everything added so far durable, with `payload` stored in the same commit.
    pub fn commit(&mut self, payload: &str) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit().map_err(tantivy_error(&self.dir))?;
        prepared.set_payload(payload);
        prepared.commit().map_err(tantivy_error(&self.dir))?;
        Ok(())
    }

    /// Waits for background merges so the process leaves no half-merged files behind.
    pub fn finish(self) -> Result<(), IndexError> {
        let dir = self.dir;
        self.writer.wait_merging_threads().map_err(tantivy_error(&dir))
    }
}
