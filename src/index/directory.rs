//! tantivy's folder as acadex opens it: readable without write access; for a writer, segment
//! files read rather than mapped where a merge streams through them, and new files written
//! back to disk while they are written, not all at their close.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::HasLen;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, META_LOCK, MmapDirectory, OwnedBytes, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

use super::{IndexError, not_writable, tantivy_error};

/// tantivy's folder, with two changes to how it is read and one to how it is written.
///
/// It is readable also where this process cannot write it: a read-only mount, or another
/// user's index. tantivy's readers take its meta lock, a file it opens for writing, only so
/// that a writer's garbage collection cannot delete segment files while they are opened.
/// Without write access the lock is skipped: on a read-only mount there is no writer; on another
/// user's index, that user's import could collect files under a search, which then fails (and
/// can be run again) but changes nothing.
///
/// For a writer, the files a merge streams through are read, not mapped: see [`ReadFile`].
///
/// And new files are written back to disk as they grow: see [`WriteFile`].
#[derive(Debug, Clone)]
pub(super) struct IndexDirectory {
    root: PathBuf,
    files: MmapDirectory,
    access: FileAccess,
    /// Started by the first file written, shared by the clones tantivy makes.
    write_back: Arc<OnceLock<WriteBack>>,
}

/// How the segment files a merge streams through are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum FileAccess {
    /// Mapped, like every other file: a search reads a few posting lists and a block or two of
    /// stored documents per hit, from skip indexes it needs only a few pages of.
    Mapped,
    /// With plain reads ([`ReadFile`]): what merges read, they read once.
    Read,
}

/// The segment files a writer reads with [`ReadFile`]: stored documents, postings, positions
/// and fast fields, each read once, in order, by a merge. Measured on the final merge of a 1M
/// import, the peak RSS was 320 MB with `.store` alone, 243-266 MB with these four. The term
/// dictionaries stay mapped: tantivy reads each whole and keeps it for the whole merge, so a
/// buffer would only move the same bytes from mapped pages to the heap (271 MB with them).
const READ_NOT_MAPPED: [&str; 4] = ["store", "idx", "pos", "fast"];

impl IndexDirectory {
    pub(super) fn open(dir: &Path, access: FileAccess) -> Result<IndexDirectory, IndexError> {
        let files = MmapDirectory::open(dir).map_err(|e| tantivy_error(dir)(e.into()))?;
        Ok(IndexDirectory { root: dir.to_path_buf(), files, access, write_back: Arc::default() })
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let read = self.access == FileAccess::Read
            && path.extension().is_some_and(|extension| READ_NOT_MAPPED.iter().any(|read| extension == *read));
        if !read {
            return self.files.get_file_handle(path);
        }
        // Mapping first also answers tantivy's "does not exist" for a missing file.
        let mapped = self.files.get_file_handle(path)?;
        let file = ReadFile::open(&self.root.join(path), mapped)
            .map_err(|error| OpenReadError::wrap_io_error(error, path.to_path_buf()))?;
        Ok(Arc::new(file))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.files.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.files.exists(path)
    }

    /// As tantivy's folder creates a file (a new one only), with the file written back as it
    /// grows: see [`WriteFile`].
    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let full_path = self.root.join(path);
        let file = File::options().write(true).create_new(true).open(&full_path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                OpenWriteError::FileAlreadyExists(path.to_path_buf())
            } else {
                OpenWriteError::wrap_io_error(error, path.to_path_buf())
            }
        })?;
        let write_back = self.write_back.get_or_init(WriteBack::start).clone();
        Ok(BufWriter::new(Box::new(WriteFile { file, path: full_path, unsynced: 0, write_back })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.files.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.files.atomic_write(path, data)
    }

    fn sync_directory(&self) -> std::io::Result<()> {
        self.files.sync_directory()
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.files.watch(watch_callback)
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        match self.files.acquire_lock(lock) {
            Err(LockError::IoError(error)) if lock.filepath == META_LOCK.filepath && not_writable(&error) => {
                Ok(DirectoryLock::from(Box::new(())))
            }
            other => other,
        }
    }
}

/// A new segment file. tantivy syncs each file as it closes it, so that a commit only names
/// files on disk; until then the kernel, with memory to spare, writes back nothing, and the
/// close waits for all of the file at once. Over a 1M import the indexing threads spent 4 s in
/// those syncs, with nothing else to run, and each final merge 1.6 s at its very end. So every
/// [`WRITE_BACK_EVERY`] bytes written, the directory's write-back thread syncs the file while
/// the writer goes on; the sync at the close, on the writer's thread as in tantivy, then has
/// little left to wait for (0.9 s and 0.2 s). The 1M import took 4% less time.
struct WriteFile {
    file: File,
    path: PathBuf,
    unsynced: usize,
    write_back: WriteBack,
}

/// Bytes written between two write-back requests: a few per segment file that matters (the
/// stored documents of a segment take tens of MB), few enough that each sync has work to do.
const WRITE_BACK_EVERY: usize = 8 << 20;

impl Write for WriteFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.unsynced += written;
        if self.unsynced >= WRITE_BACK_EVERY {
            self.unsynced = 0;
            self.write_back.request(&self.path);
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for WriteFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// The thread that syncs files while they are written. It opens each file anew: an error
/// writing it back is then reported both to that sync and to the writer's own at the close
/// (Linux reports a write-back error once to each open file, and a duplicated descriptor would
/// share the writer's). A request that finds the thread busy is dropped, and if the thread
/// cannot start, every request is: the sync at the close writes back whatever is left.
#[derive(Debug, Clone)]
struct WriteBack(SyncSender<PathBuf>);

impl WriteBack {
    fn start() -> WriteBack {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<PathBuf>(4);
        let started = std::thread::Builder::new().name("acadex-write-back".into()).spawn(move || {
            for path in receiver {
                // A file deleted meanwhile needs no sync; any other error is the close's.
                let _ = File::open(&path).and_then(|file| file.sync_data());
            }
        });
        drop(started);
        WriteBack(sender)
    }

    fn request(&self, path: &Path) {
        let _ = self.0.try_send(path.to_path_buf());
    }
}

/// A segment file read with plain reads instead of a mapping. tantivy's directory maps a whole
/// file once, for as long as a segment is open, so every page a merge reads stays in the
/// process's resident memory until the merge ends. A merge copies each segment's stored
/// documents in one read of the whole block area, and the final merge of a 1M-record import
/// held 771 MB of `.store` pages (the RSS peaked at 1 GB, though the heap never passed 135 MB);
/// and it reads every posting and position list once, in order, which kept another 80 MB of
/// `.idx` and `.pos` pages. Read into buffers, they leave memory with the part of the merge
/// that needed them.
///
/// A read that starts where the last one ended is taken as a stream: the file is read ahead
/// [`READ_AHEAD`] bytes at a time and what follows is served from that buffer, so a merge's
/// thousands of small reads of one posting list after another cost a few hundred system calls.
/// Any other small read (a delete's one posting list, a skip index) comes from the mapping, as
/// before: a page or two each, and no system call for the thousands of deletes of a re-import.
#[derive(Debug)]
struct ReadFile {
    mapped: Arc<dyn FileHandle>,
    state: Mutex<ReadState>,
}

/// Bytes read ahead per file: small beside a segment (tens of MB), large beside a posting list.
const READ_AHEAD: usize = 256 << 10;

/// The open file, its bytes from `start` (read ahead), and where the last read ended.
#[derive(Debug)]
struct ReadState {
    file: File,
    start: usize,
    bytes: OwnedBytes,
    last_end: usize,
}

impl ReadFile {
    /// `mapped` is the same file as tantivy's directory maps it.
    fn open(path: &Path, mapped: Arc<dyn FileHandle>) -> std::io::Result<ReadFile> {
        let file = File::open(path)?;
        let state = ReadState { file, start: 0, bytes: OwnedBytes::empty(), last_end: 0 };
        Ok(ReadFile { mapped, state: Mutex::new(state) })
    }
}

impl ReadState {
    fn read_exactly(&mut self, range: Range<usize>) -> std::io::Result<OwnedBytes> {
        let mut bytes = vec![0; range.len()];
        self.file.seek(SeekFrom::Start(range.start as u64))?;
        self.file.read_exact(&mut bytes)?;
        Ok(OwnedBytes::new(bytes))
    }
}

impl HasLen for ReadFile {
    fn len(&self) -> usize {
        self.mapped.len()
    }
}

impl FileHandle for ReadFile {
    fn read_bytes(&self, range: Range<usize>) -> std::io::Result<OwnedBytes> {
        let len = self.len();
        if range.end > len || range.start > range.end {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("bytes {range:?} of a {len}-byte segment file"),
            ));
        }
        // A poisoned lock only means another read panicked: every read seeks first, and the
        // read-ahead bytes are only a cache.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let streaming = range.start == state.last_end;
        state.last_end = range.end;
        if range.start >= state.start && range.end <= state.start + state.bytes.len() {
            return Ok(state.bytes.slice(range.start - state.start..range.end - state.start));
        }
        if range.len() >= READ_AHEAD {
            return state.read_exactly(range);
        }
        if !streaming {
            return self.mapped.read_bytes(range);
        }
        let ahead = state.read_exactly(range.start..len.min(range.start + READ_AHEAD))?;
        state.start = range.start;
        state.bytes = ahead.clone();
        Ok(ahead.slice(0..range.len()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use tantivy::directory::error::OpenWriteError;
    use tantivy::directory::{Directory, MmapDirectory, TerminatingWrite};

    use super::{FileAccess, FileHandle, HasLen, IndexDirectory, READ_AHEAD, ReadFile, WRITE_BACK_EVERY};

    fn read_file(dir: &Path, bytes: &[u8]) -> ReadFile {
        std::fs::write(dir.join("segment.idx"), bytes).expect("write");
        let mapped = MmapDirectory::open(dir).expect("dir").get_file_handle(Path::new("segment.idx")).expect("map");
        ReadFile::open(&dir.join("segment.idx"), mapped).expect("open")
    }

    #[test]
    fn a_read_file_reads_exactly_the_bytes_asked_for_and_nothing_past_its_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 251 is prime: a byte read from the wrong offset is a different byte.
        let bytes: Vec<u8> = (0..1_000_000usize).map(|i| (i % 251) as u8).collect();
        let file = read_file(dir.path(), &bytes);
        assert_eq!(file.len(), 1_000_000);
        assert_eq!(file.read_bytes(0..1_000_000).expect("all").as_slice(), &bytes[..]);
        assert_eq!(file.read_bytes(4_097..70_001).expect("middle").as_slice(), &bytes[4_097..70_001]);
        assert!(file.read_bytes(5..5).expect("empty").is_empty());
        assert!(file.read_bytes(999_999..1_000_001).is_err());
        #[allow(clippy::reversed_empty_ranges)] // tantivy never asks for one, but must not panic
        let reversed = 10..9;
        assert!(file.read_bytes(reversed).is_err());
    }

    #[test]
    fn a_stream_of_small_reads_is_served_from_reads_ahead_to_the_end_of_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes: Vec<u8> = (0..1_000_000usize).map(|i| (i % 251) as u8).collect();
        let file = read_file(dir.path(), &bytes);
        let mut start = 8;
        let mut windows = Vec::new();
        for length in [1_000, 37, 250_000, 9_000, 333].into_iter().cycle() {
            let end = (start + length).min(bytes.len());
            assert_eq!(file.read_bytes(start..end).expect("stream").as_slice(), &bytes[start..end]);
            let state = file.state.lock().expect("state");
            if windows.last() != Some(&state.start) {
                windows.push(state.start);
            }
            start = end;
            if start == bytes.len() {
                break;
            }
        }
        // The first read starts no stream (it came from the mapping); then every read ahead
        // covers about READ_AHEAD bytes, so a million bytes take a handful.
        assert!(windows.len() <= 1 + bytes.len() / (READ_AHEAD / 2), "{windows:?}");
        assert!(windows.len() >= bytes.len() / READ_AHEAD, "{windows:?}");
    }

    #[test]
    fn a_read_that_starts_no_stream_leaves_the_read_ahead_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes: Vec<u8> = (0..1_000_000usize).map(|i| (i % 251) as u8).collect();
        let file = read_file(dir.path(), &bytes);
        file.read_bytes(50..100).expect("first");
        file.read_bytes(100..200).expect("stream");
        assert_eq!(file.state.lock().expect("state").start, 100);
        assert_eq!(file.read_bytes(700_000..700_050).expect("apart").as_slice(), &bytes[700_000..700_050]);
        assert_eq!(file.state.lock().expect("state").start, 100);
        assert_eq!(file.read_bytes(200..300).expect("inside").as_slice(), &bytes[200..300]);
    }

    #[test]
    fn a_new_file_holds_every_byte_written_while_it_is_written_back_and_is_never_created_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let directory = IndexDirectory::open(dir.path(), FileAccess::Read).expect("directory");
        let bytes: Vec<u8> = (0..3 * WRITE_BACK_EVERY + 12_345).map(|i| (i % 251) as u8).collect();
        let mut writer = directory.open_write(Path::new("segment.store")).expect("create");
        for chunk in bytes.chunks(100_000) {
            writer.write_all(chunk).expect("write");
        }
        writer.terminate().expect("close");
        assert_eq!(std::fs::read(dir.path().join("segment.store")).expect("read back"), bytes);
        let again = directory.open_write(Path::new("segment.store"));
        assert!(matches!(again, Err(OpenWriteError::FileAlreadyExists(path)) if path == Path::new("segment.store")));
    }
}
