//! Writing: the lock, upserts, deletions and commits.
//!
//! Records are added to tantivy's in-memory segments by its indexing threads while the caller
//! keeps parsing; nothing is durable until [`Writer::commit`], which flushes segments, writes
//! `meta.json` atomically and syncs the folder (tantivy's `save_metas`). A commit carries a
//! payload (where the import had got to) in the same atomic step, so that a crash leaves the
//! index at its last commit with a checkpoint that matches it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tantivy::directory::error::LockError;
use tantivy::index::SegmentId;
use tantivy::indexer::{IndexWriterOptions, LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::query::{ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentMeta, SegmentReader,
    TantivyDocument, TantivyError, Term,
};

use super::{Fields, IndexError, WRITER_LOCK, document, lock_error, open_or_create, tantivy_error};
use crate::formats::Imported;

/// tantivy's log merge policy for the small segments while importing, and at the end of an
/// import, merges that leave about one segment per core: a search runs one thread per
/// segment, and facets cost per segment (each has its own dictionary to read values from), so
/// the dozen segments a 1M import writes made facet counts twice as slow as two.
///
/// At the end, a segment holding at least half its share of the records (the total over one
/// per core, but at most [`MERGED_SEGMENT_DOCS`]) is settled; when more segments than cores
/// are not, those are merged into groups of about equal size, one per core, or as many more
/// as keep each under [`MERGED_SEGMENT_DOCS`]. A bulk import's segments are merged once; the
/// next small import leaves them alone; one interrupted while merging (which changes no
/// record: the index stays at its last commit) is merged by the next import's end.
#[derive(Debug)]
struct ImportMergePolicy {
    small: LogMergePolicy,
    parts: usize,
    finishing: Arc<AtomicBool>,
}

/// The most records the final merge puts in one segment. A merge's memory grows with its
/// output: it keeps the term dictionaries of every segment it reads mapped, and reads the
/// new segment's field norms back whole, so two merges into 1.27M-record segments (a 5.6 GB
/// file) peaked at 448 MB RSS where two into 500k (a 1M import) took 243-266 MB. With this
/// cap, any import's final merges are no bigger than a 1M import's, and no more of them run
/// at once than there are cores (up to 4); a bigger index has more segments, each searched on
/// a core.
const MERGED_SEGMENT_DOCS: u64 = 500_000;

impl MergePolicy for ImportMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        if !self.finishing.load(Ordering::SeqCst) {
            return self.small.compute_merge_candidates(segments);
        }
        let total: u64 = segments.iter().map(|s| u64::from(s.num_docs())).sum();
        let settled = (total / (2 * self.parts as u64)).clamp(1, MERGED_SEGMENT_DOCS / 2);
        let mut unsettled: Vec<&SegmentMeta> = segments.iter().filter(|s| u64::from(s.num_docs()) < settled).collect();
        if unsettled.len() <= self.parts {
            return self.small.compute_merge_candidates(segments);
        }
        let unsettled_docs: u64 = unsettled.iter().map(|s| u64::from(s.num_docs())).sum();
        let parts = self.parts.max(unsettled_docs.div_ceil(MERGED_SEGMENT_DOCS) as usize);
        // Largest first, each to the lightest group: groups of about equal size.
        unsettled.sort_by_key(|s| std::cmp::Reverse(s.num_docs()));
        let mut groups: Vec<(u64, Vec<SegmentId>)> = vec![(0, Vec::new()); parts];
        for segment in unsettled {
            if let Some(lightest) = groups.iter_mut().min_by_key(|(docs, _)| *docs) {
                lightest.0 += u64::from(segment.num_docs());
                lightest.1.push(segment.id());
            }
        }
        groups.into_iter().filter(|(_, ids)| ids.len() > 1).map(|(_, ids)| MergeCandidate(ids)).collect()
    }
}

/// How the writer uses the machine.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    /// tantivy indexing threads. The import reads records and builds their documents on a
    /// thread of its own; see [`DEFAULT_THREADS`].
    pub threads: usize,
    /// Memory for tantivy's in-memory segments, all threads together.
    pub memory_bytes: usize,
    /// Wait this long for another writer to finish instead of failing at once.
    pub wait_lock: Option<Duration>,
    /// Largest segment (in records) that background merges take as input while importing, so
    /// they only gather the small segments small imports leave. Merging bigger ones as they
    /// appear would rewrite the same records again and again, on cores the import needs; an
    /// import's big segments are merged once, at its end (see [`Writer::finish`]).
    pub small_segment_docs: usize,
}

/// Two indexing threads: while one writes out a full segment, the other goes on indexing, so
/// the import never waits for a segment to be written. On 2 cores that kept both busy (1.88
/// cores against 1.60 with one thread) and imported 100k records 14% faster, for the same CPU
/// time. With one thread, reading cost more than indexing could overlap until records were
/// read without quick-xml's events; then one thread became the bottleneck.
pub const DEFAULT_THREADS: usize = 2;

/// 48 MiB per indexing thread, what the one thread had before: the same segment size, so the
/// final merge does the same work. Smaller segments cost more merging (one thread with 24 MiB
/// was 28% slower than with 48); 128 MiB for two threads was no faster and raises the peak.
pub const DEFAULT_MEMORY_MB: usize = 96;

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            threads: DEFAULT_THREADS,
            memory_bytes: DEFAULT_MEMORY_MB << 20,
            wait_lock: None,
            small_segment_docs: 20_000,
        }
    }
}

pub struct Writer {
    dir: PathBuf,
    writer: IndexWriter,
    fields: Fields,
    known: KnownIds,
    /// Tells the merge policy the import is over.
    finishing: Arc<AtomicBool>,
}

impl Writer {
    /// Opens (creating if needed) the index in `dir` for writing, taking its lock.
    pub fn open(dir: &Path, options: WriterOptions) -> Result<Writer, IndexError> {
        let (mut index, fields) = open_or_create(dir)?;
        // tantivy compresses stored documents on a thread of its own per segment by default,
        // woken for every 16 KiB block: 37k context switches per 100k records, on cores the
        // indexing threads already keep busy. On the indexing thread itself: 4k, and 6% less
        // CPU per import. The setting changes no file format; it is saved in meta.json.
        index.settings_mut().docstore_compress_dedicated_thread = false;
        let started = Instant::now();
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = options.threads.max(1);
        let memory = options.memory_bytes.max((threads * 16) << 20);
        // Merges at an import's end run side by side, and each holds memory for as long as it
        // runs: one merge thread per core, and no more than tantivy's default of 4.
        let writer_options = IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(memory / threads)
            .num_merge_threads(parts.min(4))
            .build();
        let writer = loop {
            match index.writer_with_options(writer_options.clone()) {
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
        let mut small = LogMergePolicy::default();
        small.set_max_docs_before_merge(options.small_segment_docs);
        let finishing = Arc::new(AtomicBool::new(false));
        writer.set_merge_policy(Box::new(ImportMergePolicy { small, parts, finishing: finishing.clone() }));
        let known = KnownIds::of(&index, dir)?;
        Ok(Writer { dir: dir.to_path_buf(), writer, fields, known, finishing })
    }

    /// The index's fields, for building documents apart from the writer ([`PreparedRecord`]).
    pub fn fields(&self) -> Fields {
        self.fields
    }

    /// Adds a record, replacing any record with the same id (committed or in this batch).
    pub fn upsert(&mut self, imported: &Imported) -> Result<(), IndexError> {
        let prepared = PreparedRecord::new(&self.fields, imported);
        self.upsert_prepared(prepared)
    }

    /// [`Writer::upsert`] of a record already made into its document.
    pub fn upsert_prepared(&mut self, prepared: PreparedRecord) -> Result<(), IndexError> {
        let PreparedRecord { id, document } = prepared;
        if self.known.may_hold(&id, &self.dir)? {
            self.delete_term(id)?;
        }
        self.writer.add_document(document).map_err(|error| match error {
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
    pub fn delete(&mut self, key: &str) -> Result<(), IndexError> {
        self.delete_term(Term::from_field_text(self.fields.keys, &key.to_lowercase()))
    }

    fn delete_term(&mut self, term: Term) -> Result<(), IndexError> {
        self.writer.delete_query(Box::new(TermDelete(term))).map_err(tantivy_error(&self.dir))?;
        Ok(())
    }

    /// The payload of the last commit, where the import that made it had got to.
    pub fn last_payload(&self) -> Result<Option<String>, IndexError> {
        let metas = self.writer.index().load_metas().map_err(tantivy_error(&self.dir))?;
        Ok(metas.payload)
    }

    /// Makes everything added so far durable, with `payload` stored in the same commit.
    pub fn commit(&mut self, payload: &str) -> Result<(), IndexError> {
        self.commit_with(Some(payload))
    }

    fn commit_with(&mut self, payload: Option<&str>) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit().map_err(tantivy_error(&self.dir))?;
        if let Some(payload) = payload {
            prepared.set_payload(payload);
        }
        prepared.commit().map_err(tantivy_error(&self.dir))?;
        Ok(())
    }

    /// Merges segments into about one per core (see `ImportMergePolicy`), and waits for every
    /// merge so the process leaves no half-merged files behind. Call it after the last commit;
    /// the merges keep that commit's payload.
    pub fn finish(mut self) -> Result<(), IndexError> {
        self.finishing.store(true, Ordering::SeqCst);
        // A commit is what makes tantivy ask the merge policy again; this one adds nothing.
        let payload = self.last_payload()?;
        self.commit_with(payload.as_deref())?;
        let dir = self.dir;
        self.writer.wait_merging_threads().map_err(tantivy_error(&dir))
    }
}

/// Deletes the documents that hold one term. tantivy's own `delete_term` keeps a `TermQuery`
/// weight per delete until the next commit, and that weight carries BM25's 1 KiB score cache
/// even with scoring off: 100k upserts between two commits held 110 MB more than 100k new
/// records. This one holds the term, and reads its postings when tantivy applies the delete.
#[derive(Debug, Clone)]
struct TermDelete(Term);

impl Query for TermDelete {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for TermDelete {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let postings = reader.inverted_index(self.0.field())?.read_postings(&self.0, IndexRecordOption::Basic)?;
        Ok(match postings {
            Some(postings) => Box::new(ConstScorer::new(postings, boost)),
            None => Box::new(EmptyScorer),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.scorer(reader, 1.0)?.seek(doc) == doc {
            Ok(Explanation::new("holds the deleted term", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!("document {doc} does not hold the deleted term")))
        }
    }
}

/// A record made into the document tantivy indexes, with the id term an upsert replaces.
/// It is built apart from the writer so that an import can build it on its reading thread,
/// next to the record's bytes, which that thread has just written and its core still caches.
pub struct PreparedRecord {
    id: Term,
    document: TantivyDocument,
}

impl PreparedRecord {
    pub fn new(fields: &Fields, imported: &Imported) -> PreparedRecord {
        PreparedRecord {
            id: Term::from_field_text(fields.id, &imported.record.id.to_lowercase()),
            document: document::build(fields, &imported.record, &imported.original),
        }
    }
}

/// The ids an upsert may have to replace: those committed before this writer opened, and
/// those it added since. tantivy applies every delete to every segment at each commit, so a
/// delete per record made the commits of a big import slower and slower (a commit of 100k
/// records took 6 s into an empty index and 9.5 s at 900k records, though nothing was there
/// to delete). Asking first costs a dictionary lookup per committed segment, and nothing on a
/// new index.
struct KnownIds {
    /// The index as it was when the writer opened; `None` when it held nothing.
    committed: Option<Searcher>,
    added: AddedIds,
}

impl KnownIds {
    fn of(index: &Index, dir: &Path) -> Result<KnownIds, IndexError> {
        let reader: IndexReader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(tantivy_error(dir))?;
        let searcher = reader.searcher();
        let committed = (searcher.num_docs() > 0).then_some(searcher);
        Ok(KnownIds { committed, added: AddedIds::new() })
    }

    /// Notes the id as added; says whether a record with it may already be in the index.
    fn may_hold(&mut self, id: &Term, dir: &Path) -> Result<bool, IndexError> {
        if self.added.insert(id.serialized_value_bytes()) {
            return Ok(true);
        }
        let Some(searcher) = &self.committed else { return Ok(false) };
        for segment in searcher.segment_readers() {
            let ids = segment.inverted_index(id.field()).map_err(tantivy_error(dir))?;
            let found = ids
                .get_term_info(id)
                .map_err(|source| IndexError::Io { context: format!("reading {}", dir.display()), source })?;
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A Bloom filter of the ids a writer added: "certainly not added" lets an upsert skip its
/// delete. Its size is fixed (2 MiB), so memory does not grow with the input; past a few
/// million records it says "maybe" more often, which only costs deletes.
struct AddedIds {
    bits: Vec<u64>,
}

impl AddedIds {
    const BITS: u64 = 1 << 24;

    fn new() -> AddedIds {
        AddedIds { bits: vec![0; (AddedIds::BITS / 64) as usize] }
    }

    /// Adds `id`; says whether it may have been added before.
    fn insert(&mut self, id: &[u8]) -> bool {
        let mut hasher = std::hash::DefaultHasher::new();
        id.hash(&mut hasher);
        let hash = hasher.finish();
        let mut present = true;
        for bit in [hash % AddedIds::BITS, (hash >> 32) % AddedIds::BITS] {
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            present &= self.bits[word] & mask != 0;
            self.bits[word] |= mask;
        }
        present
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use tantivy::index::SegmentId;
    use tantivy::indexer::{LogMergePolicy, MergePolicy};

    use super::{AddedIds, ImportMergePolicy, MERGED_SEGMENT_DOCS, Writer, WriterOptions};

    /// The final merges the policy asks for, as record counts per merge.
    fn final_merges(segment_docs: &[u32]) -> Vec<u64> {
        let index = tantivy::Index::create_in_ram(crate::index::schema::build());
        let segments: Vec<_> =
            segment_docs.iter().map(|&docs| index.new_segment_meta(SegmentId::generate_random(), docs)).collect();
        let policy = ImportMergePolicy {
            small: LogMergePolicy::default(),
            parts: 2,
            finishing: Arc::new(AtomicBool::new(true)),
        };
        let docs = |id: &SegmentId| segments.iter().find(|s| s.id() == *id).map_or(0, |s| u64::from(s.num_docs()));
        let mut merges: Vec<u64> =
            policy.compute_merge_candidates(&segments).iter().map(|merge| merge.0.iter().map(docs).sum()).collect();
        merges.sort_unstable();
        merges
    }

    #[test]
    fn the_final_merge_makes_one_segment_per_core_up_to_a_bounded_size() {
        // 1M records in 20 segments: one merge per core.
        assert_eq!(final_merges(&[50_000; 20]), vec![500_000, 500_000]);
        // 2.5M: no merge bigger than a 1M import's, so no more memory.
        let merges = final_merges(&[50_000; 50]);
        assert_eq!(merges.len(), 5, "{merges:?}");
        assert!(merges.iter().all(|&docs| docs <= MERGED_SEGMENT_DOCS), "{merges:?}");
        assert_eq!(merges.iter().sum::<u64>(), 2_500_000);
        // Segments already merged are settled; the new ones are merged beside them.
        let mut after_a_bulk_import = vec![500_000; 4];
        after_a_bulk_import.extend([40_000; 10]);
        assert_eq!(final_merges(&after_a_bulk_import), vec![200_000, 200_000]);
    }

    #[test]
    fn stored_documents_are_compressed_on_the_indexing_threads_and_the_index_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut writer = Writer::open(dir.path(), WriterOptions::default()).expect("writer");
        writer.commit("{}").expect("commit");
        drop(writer);
        let index = tantivy::Index::open_in_dir(dir.path()).expect("index");
        assert!(!index.settings().docstore_compress_dedicated_thread);
        assert_eq!(index.load_metas().expect("metas").payload.as_deref(), Some("{}"));
    }

    #[test]
    fn the_added_ids_filter_never_forgets_an_id() {
        let mut added = AddedIds::new();
        let ids: Vec<String> = (0..100_000).map(|n| format!("marc:{n:08}")).collect();
        let maybe_before = ids.iter().filter(|id| added.insert(id.as_bytes())).count();
        // A few false "maybe"s are allowed (they cost a delete); at 100k ids, well under 1%.
        assert!(maybe_before < 1_000, "{maybe_before}");
        assert!(ids.iter().all(|id| added.insert(id.as_bytes())));
    }
}
