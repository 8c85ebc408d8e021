//! Opening inputs: files, folders (walked recursively, in name order), gzip files, and
//! standard input (`-`). Everything is streamed; nothing is read whole into memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use flate2::read::MultiGzDecoder;

/// Large enough that quick-xml rarely refills mid-event; small enough to stay in L2.
const READ_BUFFER: usize = 256 * 1024;

/// One input to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How the input is named in messages and in records' `source.file`.
    pub fn label(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(path) => path.display().to_string(),
        }
    }

    /// Opens the input for reading, decompressing gzip (by magic number, whatever its name).
    pub fn open(&self) -> io::Result<Box<dyn BufRead>> {
        let raw: Box<dyn Read + Send> = match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(path) => Box::new(File::open(path)?),
        };
        let mut reader = BufReader::with_capacity(READ_BUFFER, raw);
        let gzipped = reader.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok(if gzipped { Box::new(Inflater::spawn(reader)) } else { Box::new(reader) })
    }
}

/// Decompresses gzip on a thread of its own, so that on two cores gunzip overlaps with
/// parsing instead of adding to it (`.gz` input then costs about what plain input does).
/// The reader reads the decompressed chunks where they are (it is a `BufRead`, not a `Read`
/// behind another buffer) and hands each one back when done, for the next chunk to be
/// decompressed into: no copy, no zeroing of fresh buffers.
struct Inflater {
    chunks: Receiver<io::Result<Vec<u8>>>,
    /// Chunks read to the end, back to the decompressing thread.
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

/// Chunks decompressed ahead of the reader.
const CHUNKS_AHEAD: usize = 4;

impl Inflater {
    fn spawn(compressed: BufReader<Box<dyn Read + Send>>) -> Inflater {
        let (sender, chunks) = sync_channel(CHUNKS_AHEAD);
        // Room for every chunk in flight, so handing one back never blocks the reader.
        let (spent, recycled) = sync_channel::<Vec<u8>>(CHUNKS_AHEAD + 2);
        let spawned = std::thread::Builder::new().name("gunzip".into()).spawn({
            let sender = sender.clone();
            move || {
                let mut decoder = MultiGzDecoder::new(compressed);
                loop {
                    let mut chunk = recycled.try_recv().unwrap_or_default();
                    chunk.resize(READ_BUFFER, 0);
                    match decoder.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            chunk.truncate(n);
                            if sender.send(Ok(chunk)).is_err() {
                                break;
                            }
                        }
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => {
                            let _ = sender.send(Err(error));
                            break;
                        }
                    }
                }
            }
        });
        if let Err(error) = spawned {
            let _ = sender.send(Err(error));
        }
        Inflater { chunks, spent, current: Vec::new(), at: 0 }
    }
}

impl BufRead for Inflater {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.current.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    let done = std::mem::replace(&mut self.current, chunk?);
                    self.at = 0;
                    if done.capacity() > 0 {
                        let _ = self.spent.try_send(done);
                    }
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(self.current.get(self.at..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

impl Read for Inflater {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        super::xml::read_buffered(self, out)
    }
}

/// File name endings a folder walk picks up; files named on the command line are read whatever
/// their name. Keeps READMEs and scripts that live beside the data out of the import.
const IMPORTABLE_ENDINGS: [&str; 4] = [".xml", ".gz", ".marcxml", ".oai"];

/// Expands paths into inputs: a folder becomes the importable files under it (recursively,
/// sorted, hidden files skipped); `-` is standard input. A path that does not exist is an error for that path
/// only, returned alongside the inputs that do.
pub fn expand(paths: &[PathBuf]) -> (Vec<Input>, Vec<(PathBuf, io::Error)>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else if path.is_dir() {
            walk(path, &mut inputs, &mut errors);
        } else if path.exists() {
            inputs.push(Input::File(path.clone()));
        } else {
            errors.push((path.clone(), io::Error::new(io::ErrorKind::NotFound, "no such file or folder")));
        }
    }
    (inputs, errors)
}

fn walk(folder: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<(PathBuf, io::Error)>) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push((folder.to_path_buf(), error));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
        if path.is_dir() {
            walk(&path, inputs, errors);
        } else if IMPORTABLE_ENDINGS.iter().any(|ending| name.ends_with(ending)) {
            inputs.push(Input::File(path));
        }
    }
}
