//! Importers: one module per format, each turning input into [`Item`]s of the record model.
//!
//! Every reader is an iterator of `Result<Item, RecordError>`: bad data is a value, never a
//! panic, and one bad record never stops the records after it. A [`RecordError`] carries where
//! the record was (file, record number, line, byte) and its verbatim bytes, so the caller can
//! report it and write it to a rejects file. Formats are told apart by [`open`] from the root
//! element and namespace, unless the caller forces one.
//!
//! The XML formats share one walker ([`XmlRecords`]) because OAI-PMH wraps the others: it finds
//! MARC records, OAI-PMH records and `oai_dc:dc` documents at any depth and hands each to its
//! format module. Formats that are not XML plug in beside it in [`open`].

mod dublin_core;
pub mod input;
mod language;
mod marcxml;
mod oai;
pub mod xml;

use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::model::Record;
use xml::{MARC_NS, MAX_DEPTH, MAX_RECORD_BYTES, OAI_DC_NS, OAI_NS, XmlFault, XmlReader};

/// The formats acadex reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// MARC 21 slim XML: a `collection` of `record`s, or one `record`.
    Marcxml,
    /// Simple Dublin Core: `oai_dc:dc` documents.
    OaiDc,
    /// OAI-PMH responses (`ListRecords`, `GetRecord`) wrapping MARCXML, oai_dc or other metadata.
    OaiPmh,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Marcxml => "marcxml",
            Format::OaiDc => "oai_dc",
            Format::OaiPmh => "oai-pmh",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "marcxml" | "marc-xml" | "marc21" => Ok(Format::Marcxml),
            "oai-dc" | "dc" | "dublin-core" => Ok(Format::OaiDc),
            "oai-pmh" | "oai" | "oaipmh" => Ok(Format::OaiPmh),
            _ => Err(format!("unknown format '{name}' (known: marcxml, oai_dc, oai-pmh)")),
        }
    }
}

/// What a reader yields for each record it finds.
#[derive(Debug)]
pub enum Item {
    /// A record to add or replace.
    Record(Box<Imported>),
    /// A record the source says is deleted (OAI-PMH `status="deleted"`), by identity key.
    Delete { key: String },
}

/// A record with the verbatim bytes it was read from.
#[derive(Debug)]
pub struct Imported {
    pub record: Record,
    pub original: Original,
}

/// The original bytes of a record, kept in the index so it can be rebuilt without the source
/// files (`acadex reindex`).
#[derive(Debug, Clone, Default)]
pub struct Original {
    /// The record element exactly as it was in the file.
    pub xml: Vec<u8>,
    /// Namespace declarations that were in scope from enclosing elements
    /// (` xmlns:marc="..."`), needed to read `xml` on its own.
    pub namespaces: String,
}

/// A record (or a whole file) that could not be imported.
#[derive(Debug, Clone)]
pub struct RecordError {
    pub file: String,
    /// 1-based record number in the file; `None` when the file as a whole failed.
    pub record: Option<u64>,
    pub line: Option<u64>,
    pub byte: Option<u64>,
    pub reason: String,
    /// The bytes of the rejected record (or of the unread rest of the file), as they came.
    pub verbatim: Vec<u8>,
    /// Whether `verbatim` is well-formed XML that can be written into the rejects file as is.
    pub well_formed: bool,
    pub namespaces: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(record) = self.record {
            write!(f, ": record {record}")?;
        }
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if self.record.is_none()
            && let Some(byte) = self.byte
        {
            write!(f, ", byte {byte}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RecordError {}

/// Where a record is: filled into the record's `source`.
#[derive(Debug, Clone)]
pub(crate) struct RecordContext {
    pub file: String,
    pub number: u64,
    pub line: u64,
}

impl RecordContext {
    pub fn source(&self, format: impl Into<String>) -> crate::model::Source {
        crate::model::Source {
            format: format.into(),
            file: Some(self.file.clone()),
            record: Some(self.number),
            line: Some(self.line),
            ..crate::model::Source::default()
        }
    }
}

/// What a format module makes of one record element.
pub(crate) enum Parsed {
    Record(Box<Record>),
    Delete(String),
    /// An element that holds no record (an OAI header without metadata).
    Nothing,
}

/// A format module's answer: the XML broke (`Err`), or the record was read and is good or bad.
pub(crate) type ParseResult = Result<Result<Parsed, String>, XmlFault>;

/// Opens a reader of records over `input`, telling the format from its content unless `forced`.
/// A file that cannot be read as any format is one `RecordError` with no record number.
pub fn open<'a, R: BufRead + 'a>(
    input: R,
    file: &str,
    forced: Option<Format>,
) -> Result<Box<dyn Iterator<Item = Result<Item, RecordError>> + 'a>, RecordError> {
    XmlRecords::new(input, file, forced).map(|records| Box::new(records) as Box<_>)
}

/// Reads a stored original back into a record, for `acadex reindex`.
pub fn reparse(original: &Original, file: &str) -> Result<Item, RecordError> {
    let mut wrapped = Vec::with_capacity(original.xml.len() + original.namespaces.len() + 40);
    wrapped.extend_from_slice(b"<acadex-original");
    wrapped.extend_from_slice(original.namespaces.as_bytes());
    wrapped.push(b'>');
    wrapped.extend_from_slice(&original.xml);
    wrapped.extend_from_slice(b"</acadex-original>");
    let mut records = XmlRecords::new(wrapped.as_slice(), file, None)?;
    records.next().unwrap_or_else(|| {
        Err(RecordError {
            file: file.to_string(),
            record: None,
            line: None,
            byte: None,
            reason: "the stored original holds no record".into(),
            verbatim: original.xml.clone(),
            well_formed: true,
            namespaces: original.namespaces.clone(),
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKind {
    Marc,
    Oai,
    Dc,
}

/// The walker over XML input that finds records at any depth.
pub struct XmlRecords<R: BufRead> {
    reader: XmlReader<R>,
    buf: Vec<u8>,
    record_buf: Vec<u8>,
    file: String,
    forced: Option<Format>,
    /// The root was an unqualified MARC `collection` or `record` (or an SRU response, which
    /// wraps unqualified MARC records), so unqualified `record`s are MARC records.
    unqualified_marc: bool,
    record_number: u64,
    depth: usize,
    /// Namespace declarations of each open ancestor element.
    namespaces: Vec<Vec<(String, String)>>,
    finished: bool,
}

impl<R: BufRead> XmlRecords<R> {
    /// Checks that the input is XML acadex can read (not UTF-16, not another format), then
    /// positions the walker at its start.
    pub fn new(mut input: R, file: &str, forced: Option<Format>) -> Result<Self, RecordError> {
        let file_error = |reason: String, verbatim: Vec<u8>| RecordError {
            file: file.to_string(),
            record: None,
            line: Some(1),
            byte: Some(0),
            reason,
            verbatim,
            well_formed: false,
            namespaces: String::new(),
        };
        let head = match input.fill_buf() {
            Ok(head) => head,
            Err(e) => return Err(file_error(format!("cannot read: {e}"), Vec::new())),
        };
        if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            input.consume(3);
        } else if let Some(reason) = sniff_unsupported(head) {
            let mut verbatim = Vec::new();
            let _ = std::io::Read::read_to_end(&mut input.take(MAX_RECORD_BYTES as u64), &mut verbatim);
            return Err(file_error(reason, verbatim));
        }
        Ok(XmlRecords {
            reader: xml::hardened_reader(input),
            buf: Vec::with_capacity(1024),
            record_buf: Vec::with_capacity(4096),
            file: file.to_string(),
            forced,
            unqualified_marc: forced == Some(Format::Marcxml),
            record_number: 0,
            depth: 0,
            namespaces: Vec::new(),
            finished: false,
        })
    }

    fn classify(&self, resolved: &ResolveResult<'_>, local: &str) -> Option<RecordKind> {
        let unbound = matches!(resolved, ResolveResult::Unbound);
        match local {
            "record" if xml::in_namespace(resolved, Some(MARC_NS)) => Some(RecordKind::Marc),
            "record" if unbound && self.unqualified_marc => Some(RecordKind::Marc),
            "record" if xml::in_namespace(resolved, Some(OAI_NS)) => Some(RecordKind::Oai),
            "dc" if xml::in_namespace(resolved, Some(OAI_DC_NS)) || self.forced == Some(Format::OaiDc) => {
                Some(RecordKind::Dc)
            }
            _ => None,
        }
    }

    /// Checks the root element: is this a format acadex reads?
    fn check_root(&mut self, resolved: &ResolveResult<'_>, local: &str) -> Result<(), String> {
        match local {
            // acadex's own wrappers (rejects files, stored originals) hold records cut out of
            // such files: an unqualified `record` in them is a MARC record too.
            "collection" | "record" | "searchRetrieveResponse" | "acadex-rejects" | "acadex-original"
                if !matches!(resolved, ResolveResult::Bound(_)) =>
            {
                self.unqualified_marc = true;
                Ok(())
            }
            "collection" | "record" | "OAI-PMH" | "dc" | "acadex-rejects" | "acadex-original" => Ok(()),
            _ if self.forced.is_some() => Ok(()),
            _ => Err(format!(
                "the root element <{local}> is not one acadex reads (MARCXML <collection> or <record>, \
                 OAI-PMH, oai_dc:dc); if it wraps such records, pass --format"
            )),
        }
    }

    /// In-scope namespace declarations, innermost winning, as attribute text.
    fn scoped_namespaces(&self) -> String {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (key, value) in self.namespaces.iter().flatten() {
            match seen.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => seen.push((key, value)),
            }
        }
        seen.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect()
    }

    fn error(&self, record: Option<u64>, line: u64, byte: u64, reason: String) -> RecordError {
        RecordError {
            file: self.file.clone(),
            record,
            line: Some(line),
            byte: Some(byte),
            reason,
            verbatim: Vec::new(),
            well_formed: false,
            namespaces: self.scoped_namespaces(),
        }
    }

    /// The XML broke: reject everything from here to the end of the file, as one piece.
    fn fatal(&mut self, record: Option<u64>, record_start_line: Option<u64>, fault: XmlFault) -> RecordError {
        self.finished = true;
        let truncated = self.reader.get_mut().record_rest(MAX_RECORD_BYTES);
        let mut error = self.error(record, fault.line, fault.byte, fault.reason);
        if let Some(start) = record_start_line {
            error.line = Some(start);
            error.reason = format!("{} (at line {}, byte {})", error.reason, fault.line, fault.byte);
        }
        if record.is_none() {
            error.reason.push_str("; the rest of the file was not read");
        } else {
            error.reason.push_str("; records after this one in the file were not read");
        }
        if truncated {
            error.reason.push_str(" (the rejects file holds its first 64 MiB)");
        }
        error.verbatim = self.reader.get_mut().take_recorded();
        error
    }

    /// An OAI-PMH `<error>` response: reported, unless it only says there was nothing to send.
    fn oai_error(&mut self, start: &BytesStart<'_>, line: u64, byte: u64) -> Option<Result<Item, RecordError>> {
        let code = xml::attribute(start, "code").ok().flatten().unwrap_or_default();
        let message = match xml::read_element_text(&mut self.reader, &mut self.record_buf) {
            Ok(text) => text.unwrap_or_default(),
            Err(fault) => return Some(Err(self.fatal(None, None, fault))),
        };
        if code == "noRecordsMatch" {
            return None;
        }
        let reason = format!("the file is an OAI-PMH error response: {code}: {}", message.trim());
        Some(Err(self.error(None, line, byte, reason)))
    }

    fn read_record(
        &mut self,
        kind: RecordKind,
        start: &BytesStart<'_>,
        line: u64,
        byte: u64,
    ) -> Option<Result<Item, RecordError>> {
        self.record_number += 1;
        let context = RecordContext { file: self.file.clone(), number: self.record_number, line };
        let buf = &mut self.record_buf;
        let parsed = match kind {
            RecordKind::Marc => marcxml::read_record(&mut self.reader, buf, start, &context),
            RecordKind::Oai => oai::read_record(&mut self.reader, buf, &context),
            RecordKind::Dc => dublin_core::read_record(&mut self.reader, buf, &context),
        };
        let number = Some(self.record_number);
        Some(match parsed {
            Err(fault) => Err(self.fatal(number, Some(line), fault)),
            Ok(_) if self.reader.get_ref().overflowed() => {
                let mut error =
                    self.error(number, line, byte, format!("record larger than {} MiB", MAX_RECORD_BYTES >> 20));
                error.verbatim = self.reader.get_mut().take_recorded();
                Err(error)
            }
            Ok(Err(reason)) => {
                let mut error = self.error(number, line, byte, reason);
                error.verbatim = self.reader.get_mut().take_recorded();
                error.well_formed = true;
                Err(error)
            }
            Ok(Ok(Parsed::Delete(key))) => Ok(Item::Delete { key }),
            // An OAI header without metadata is not a record: it takes no record number.
            Ok(Ok(Parsed::Nothing)) => {
                self.record_number -= 1;
                return None;
            }
            Ok(Ok(Parsed::Record(record))) => {
                let original =
                    Original { xml: self.reader.get_mut().take_recorded(), namespaces: self.scoped_namespaces() };
                Ok(Item::Record(Box::new(Imported { record: *record, original })))
            }
        })
    }
}

impl<R: BufRead> Iterator for XmlRecords<R> {
    type Item = Result<Item, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            self.reader.get_mut().restart();
            let (line, byte) = (self.reader.get_ref().line(), self.reader.get_ref().offset());
            let (resolved, event) = match xml::next_event(&mut self.reader, &mut self.buf) {
                Ok(next) => next,
                Err(fault) => return Some(Err(self.fatal(None, None, fault))),
            };
            match event {
                Event::Decl(decl) => {
                    let encoding = match decl.encoding() {
                        Some(Ok(encoding)) if !is_utf8_label(&encoding) => encoding.into_owned(),
                        _ => continue,
                    };
                    let reason = format!(
                        "the file declares encoding {encoding}; acadex reads UTF-8 XML \
                         (convert it first, e.g. iconv -f {encoding} -t UTF-8)"
                    );
                    return Some(Err(self.fatal(None, None, XmlFault { reason, line, byte })));
                }
                Event::Start(start) => {
                    let start = start.into_owned();
                    let local = xml::local_name(&start);
                    if self.depth == 0
                        && let Err(reason) = self.check_root(&resolved, &local)
                    {
                        return Some(Err(self.fatal(None, None, XmlFault { reason, line, byte })));
                    }
                    // Set and repository descriptions (ListSets, Identify) may hold oai_dc
                    // documents that describe the set, not a record.
                    let describes_set = matches!(local.as_str(), "setDescription" | "description" | "about");
                    if describes_set && xml::in_namespace(&resolved, Some(OAI_NS)) {
                        if let Err(fault) = xml::skip_element(&mut self.reader, &mut self.record_buf) {
                            return Some(Err(self.fatal(None, None, fault)));
                        }
                        continue;
                    }
                    if local == "error" && xml::in_namespace(&resolved, Some(OAI_NS)) {
                        if let Some(error) = self.oai_error(&start, line, byte) {
                            return Some(error);
                        }
                        continue;
                    }
                    self.namespaces.push(xml::namespace_declarations(&start));
                    if let Some(kind) = self.classify(&resolved, &local) {
                        let item = self.read_record(kind, &start, line, byte);
                        self.namespaces.pop();
                        match item {
                            Some(item) => return Some(item),
                            None => continue,
                        }
                    }
                    self.depth += 1;
                    if self.depth >= MAX_DEPTH {
                        let reason = format!("elements nested deeper than {MAX_DEPTH}");
                        return Some(Err(self.fatal(None, None, XmlFault { reason, line, byte })));
                    }
                }
                Event::Empty(start) if self.depth == 0 => {
                    let local = xml::local_name(&start);
                    if let Err(reason) = self.check_root(&resolved, &local) {
                        return Some(Err(self.fatal(None, None, XmlFault { reason, line, byte })));
                    }
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.namespaces.pop();
                }
                Event::Eof => {
                    self.finished = true;
                    if self.depth > 0 {
                        let reason =
                            "unexpected end of file: the file is truncated (its enclosing elements are not closed)";
                        let (line, byte) = (self.reader.get_ref().line(), self.reader.get_ref().offset());
                        return Some(Err(self.error(None, line, byte, reason.into())));
                    }
                }
                _ => {}
            }
        }
        None
    }
}

fn is_utf8_label(label: &str) -> bool {
    matches!(label.to_ascii_lowercase().as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
}

/// Recognises input that is certainly not UTF-8 XML from its first bytes.
fn sniff_unsupported(head: &[u8]) -> Option<String> {
    if head.starts_with(&[0xFF, 0xFE])
        || head.starts_with(&[0xFE, 0xFF])
        || head.starts_with(&[0, b'<'])
        || head.starts_with(&[b'<', 0])
    {
        return Some(
            "the file is UTF-16; acadex reads UTF-8 XML (convert it first, e.g. iconv -f UTF-16 -t UTF-8)".into(),
        );
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some("the file is gzip-compressed but its name does not end in .gz".into());
    }
    let first = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if head[first] == b'<' {
        return None;
    }
    let preview: String = String::from_utf8_lossy(&head[first..head.len().min(first + 24)])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some(format!("not XML: the file starts with \"{preview}\" where XML starts with '<'"))
}
