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
mod encoding;
pub mod input;
mod language;
mod marcxml;
mod oai;
pub mod xml;

use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use serde::{Deserialize, Serialize};

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

/// A reader of records: an iterator that can also say where it is between records, so that an
/// interrupted import resumes exactly after the last record it committed.
pub trait Records: Iterator<Item = Result<Item, RecordError>> {
    /// Where the reader is now, to be stored with a commit.
    fn checkpoint(&self) -> Checkpoint;

    /// Moves a freshly opened reader of the same input to `checkpoint`.
    fn resume_from(&mut self, checkpoint: &Checkpoint) -> Result<(), RecordError>;
}

/// A position between two records of an input, with everything a reader needs to carry on
/// from there as if it had read up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Records read before this point (the next record is number `record + 1`).
    record: u64,
    line: u64,
    /// Offset in the input as read (after decompression and conversion to UTF-8).
    byte: u64,
    /// Elements open at this point, outermost first: name and namespace declarations.
    open: Vec<(String, Vec<(String, String)>)>,
    /// Whether unqualified `record` elements are MARC records in this input.
    unqualified_marc: bool,
    /// The last record element's name and kind, where reading picks up after broken XML.
    last_record: Option<(String, RecordKind)>,
    /// The reader had read all it could of the input: nothing follows.
    #[serde(default)]
    finished: bool,
    /// Why no record may be found, to report at the end if none is (see `XmlRecords`).
    #[serde(default)]
    no_records_because: Option<(String, u64, u64)>,
}

impl Checkpoint {
    /// The number of the record a reader resumed here reads first.
    pub fn next_record(&self) -> u64 {
        self.record + 1
    }
}

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
/// Input in UTF-16 or in an encoding its XML declaration names is converted to UTF-8 first.
pub fn open<'a, R: BufRead + 'a>(
    mut input: R,
    file: &str,
    forced: Option<Format>,
) -> Result<Box<dyn Records + 'a>, RecordError> {
    let sniffed = input.fill_buf().map(encoding::sniff).unwrap_or(encoding::Sniffed::Utf8);
    match sniffed {
        encoding::Sniffed::Utf8 => XmlRecords::new(input, file, forced).map(|records| Box::new(records) as Box<_>),
        encoding::Sniffed::Convert(from) => {
            let converted = encoding::ToUtf8::new(input, from);
            let mut records = XmlRecords::new(converted, file, forced)?;
            records.converted_from = Some(from.name());
            Ok(Box::new(records))
        }
        encoding::Sniffed::Unknown(label) => {
            let mut verbatim = Vec::new();
            let _ = std::io::Read::read_to_end(&mut input.take(MAX_RECORD_BYTES as u64), &mut verbatim);
            Err(RecordError {
                file: file.to_string(),
                record: None,
                line: Some(1),
                byte: Some(0),
                reason: format!(
                    "the file declares encoding {label}, which acadex does not know; \
                     convert it to UTF-8 first (e.g. iconv -f {label} -t UTF-8)"
                ),
                verbatim,
                well_formed: false,
                namespaces: String::new(),
            })
        }
    }
}

/// Reads a stored original back into a record, for `acadex reindex`.
pub fn reparse(original: &Original, file: &str) -> Result<Item, RecordError> {
    let mut wrapped = Vec::with_capacity(original.xml.len() + original.namespaces.len() + 40);
    wrapped.extend_from_slice(b"<acadex-original");
    wrapped.extend_from_slice(original.namespaces.as_bytes());
    wrapped.push(b'>');
    wrapped.extend_from_slice(&original.xml);
    wrapped.extend_from_slice(b"</acadex-original>");
    // A record imported with `--format` may be one only that format reads (a Dublin Core `dc`
    // in a misspelt namespace, an unqualified MARC `record`): what the original does not say
    // by itself, each format that relaxes the reading is asked in turn.
    for forced in [None, Some(Format::OaiDc), Some(Format::Marcxml)] {
        if let Some(item) = XmlRecords::new(wrapped.as_slice(), file, forced)?.next() {
            return item;
        }
    }
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The elements open around the current position, outermost first.
    open: Vec<OpenElement>,
    /// The name and kind of the last record element seen, which is where the walker picks up
    /// again after broken XML.
    last_record: Option<(Vec<u8>, RecordKind)>,
    /// The encoding the input was converted from, when it was not UTF-8.
    converted_from: Option<&'static str>,
    /// A `collection` or `record` element that is not MARC's, and where: if the file yields
    /// no record, that is the likely reason, and it is reported.
    no_records_because: Option<(String, u64, u64)>,
    finished: bool,
}

/// An open element: its name and namespace declarations, enough to re-open it in a fresh
/// reader after broken XML, or to read a record cut out of it on its own.
struct OpenElement {
    name: Vec<u8>,
    namespaces: Vec<(String, String)>,
}

/// Where a broken record began.
struct BrokenRecord {
    number: u64,
    line: u64,
    byte: u64,
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
            open: Vec::new(),
            last_record: None,
            converted_from: None,
            no_records_because: None,
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

    /// Why a `collection` or `record` element is not read as MARC: its prefix is declared
    /// nowhere, or it is in another namespace. `None` if it is MARC's or in no namespace.
    fn why_not_marc(&self, start: &BytesStart<'_>, resolved: &ResolveResult<'_>) -> Option<String> {
        let name = start.name().as_ref().to_string();
        let prefix = name.split_once(':').map(|(prefix, _)| prefix.to_string());
        match resolved {
            ResolveResult::Unknown(_) => {
                let prefix = prefix.unwrap_or_default();
                Some(format!("the namespace prefix '{prefix}' of <{name}> is not declared (xmlns:{prefix}=\"...\")"))
            }
            ResolveResult::Bound(Namespace("")) => {
                let key = prefix.map_or("xmlns".to_string(), |p| format!("xmlns:{p}"));
                let declared = self
                    .open
                    .iter()
                    .flat_map(|e| &e.namespaces)
                    .chain(&xml::namespace_declarations(start))
                    .filter(|(k, _)| *k == key)
                    .map(|(_, ns)| ns.clone())
                    .next_back()
                    .unwrap_or_default();
                Some(format!("<{name}> is in namespace \"{declared}\", not MARCXML's \"{MARC_NS}\""))
            }
            _ => None,
        }
    }

    /// In-scope namespace declarations, innermost winning, as attribute text.
    fn scoped_namespaces(&self) -> String {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (key, value) in self.open.iter().flat_map(|element| &element.namespaces) {
            match seen.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => seen.push((key, value)),
            }
        }
        // ` key="value"`: four bytes around each pair.
        let mut declarations = String::with_capacity(seen.iter().map(|(k, v)| k.len() + v.len() + 4).sum());
        for piece in seen.iter().flat_map(|(k, v)| [" ", k, "=\"", v, "\""]) {
            declarations.push_str(piece);
        }
        declarations
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

    /// The XML broke where nothing can say where the next record starts: reject everything from
    /// here to the end of the file, as one piece.
    fn fatal(&mut self, fault: XmlFault) -> RecordError {
        self.finished = true;
        let truncated = self.reader.get_mut().record_rest(MAX_RECORD_BYTES);
        let mut error = self.error(None, fault.line, fault.byte, fault.reason);
        error.reason.push_str("; the rest of the file was not read");
        if truncated {
            error.reason.push_str(" (the rejects file holds its first 64 MiB)");
        }
        error.verbatim = self.reader.get_mut().take_recorded();
        error
    }

    /// The XML broke, inside the record `broken` or between records (starting at `line` and
    /// `byte`, where the tape was last restarted). Everything from there to the start of the
    /// next record is rejected verbatim as one piece, and the walker carries on from that record
    /// with a fresh reader, so one damaged record costs only itself.
    fn recover(&mut self, broken: Option<BrokenRecord>, line: u64, byte: u64, fault: XmlFault) -> RecordError {
        if self.reader.get_ref().overflowed() {
            return self.fatal(fault);
        }
        let mut piece = self.reader.get_mut().take_recorded();
        let mut finder = match &self.last_record {
            // Records do not nest, so the next record starts at the first start tag of that name
            // after the broken one's own, even when the break is found later (a truncated record
            // swallows the next one's start tag as a child and breaks at its end tag).
            Some((name, kind)) => ResyncFinder::new(Some(name), *kind == RecordKind::Oai && broken.is_some(), 1),
            // Before any record nothing says what one looks like: carry on at the next element
            // after the break (a bad byte in a comment, a broken wrapper tag).
            None => ResyncFinder::new(None, false, fault.byte.saturating_sub(byte) as usize + 1),
        };
        let mut input =
            std::mem::replace(&mut self.reader, xml::reader_over(xml::Spliced::empty())).into_inner().into_inner();
        let mut found = finder.scan(&piece);
        while found.is_none() && piece.len() < MAX_RECORD_BYTES {
            let chunk = match input.fill_buf() {
                Ok(chunk) if !chunk.is_empty() => chunk,
                _ => break,
            };
            let n = chunk.len().min(MAX_RECORD_BYTES - piece.len());
            piece.extend_from_slice(&chunk[..n]);
            input.consume(n);
            found = finder.scan(&piece);
        }
        let mut error = match &broken {
            Some(record) => {
                let reason = format!("{} (at line {}, byte {})", fault.reason, fault.line, fault.byte);
                self.error(Some(record.number), record.line, record.byte, reason)
            }
            None => self.error(None, fault.line, fault.byte, fault.reason),
        };
        let resumed = found.and_then(|at| {
            let rest = piece.split_off(at);
            let line = line + xml::count_lines(&piece);
            let ancestors = self.open.len() - usize::from(broken.is_some());
            self.resume(input, ancestors, rest, byte + at as u64, line)
        });
        if resumed.is_none() {
            self.finished = true;
            if piece.len() >= MAX_RECORD_BYTES {
                error.reason.push_str("; the rest of the file was not read (the rejects file holds its first 64 MiB)");
            }
        }
        error.verbatim = piece;
        error
    }

    /// Starts a fresh reader at a record start: `rest` (bytes already read from there on), then
    /// `input`, behind start tags that re-open the first `ancestors` open elements, which the
    /// record sits in. The counters then say `byte` and `line` as if the reader had got there.
    fn resume(
        &mut self,
        mut input: xml::Spliced<R>,
        ancestors: usize,
        rest: Vec<u8>,
        byte: u64,
        line: u64,
    ) -> Option<()> {
        let mut front = Vec::with_capacity(rest.len() + 256);
        for element in &self.open[..ancestors] {
            front.push(b'<');
            front.extend_from_slice(&element.name);
            if let Some(quote) = xml::unclosed_quote(&element.name) {
                // quick-xml ends a start tag at the first `>` outside quotes, quotes in the name
                // included; closing the name's stray quote after a space keeps the name intact.
                front.extend_from_slice(&[b' ', quote]);
            }
            for (key, value) in &element.namespaces {
                front.extend_from_slice(format!(" {key}=\"{value}\"").as_bytes());
            }
            front.push(b'>');
        }
        front.extend_from_slice(&rest);
        input.put_back(front);
        self.reader = xml::reader_over(input);
        for _ in 0..ancestors {
            match xml::next_event(&mut self.reader, &mut self.buf) {
                Ok((_, Event::Start(_))) => {}
                _ => return None,
            }
        }
        let position = self.reader.buffer_position();
        self.reader.get_mut().reposition(byte, line, position);
        Some(())
    }

    /// An OAI-PMH `<error>` response: reported, unless it only says there was nothing to send.
    fn oai_error(&mut self, start: &BytesStart<'_>, line: u64, byte: u64) -> Option<Result<Item, RecordError>> {
        let code = xml::attribute(start, "code").ok().flatten().unwrap_or_default();
        let message = match xml::read_element_text(&mut self.reader, &mut self.record_buf) {
            Ok(text) => text.unwrap_or_default(),
            Err(fault) => return Some(Err(self.recover(None, line, byte, fault))),
        };
        if code == "noRecordsMatch" {
            return None;
        }
        let reason = format!("the file is an OAI-PMH error response: {code}: {}", message.trim());
        Some(Err(self.error(None, line, byte, reason)))
    }

    /// A record whose bytes hold the start of another record is broken XML that quick-xml let
    /// through: an attribute value with a stray quote runs on over the records after it. That
    /// is found here and treated as broken XML. MARC and Dublin Core records do not nest; an
    /// OAI-PMH record holds one header (its metadata may hold an inner `record`).
    fn swallowed_record(&self, kind: RecordKind, start: &BytesStart<'_>, byte: u64) -> Option<XmlFault> {
        let tape = self.reader.get_ref();
        if tape.overflowed() {
            return None;
        }
        let bytes = tape.recorded();
        let qualified = start.name();
        let name = qualified.as_ref().as_bytes();
        let record_tag = [b"<", name].concat();
        let at = if kind == RecordKind::Oai {
            let prefix = name.iter().position(|&b| b == b':').map_or(&name[..0], |colon| &name[..=colon]);
            let header_tag = [b"<", prefix, b"header"].concat();
            let Found::At(first) = find_tag(bytes, 1, &header_tag) else { return None };
            let Found::At(second) = find_tag(bytes, first + 1, &header_tag) else { return None };
            // The swallowed record starts at the last record start tag before its header.
            bytes[..second].windows(record_tag.len()).rposition(|w| w == record_tag).filter(|&at| at > 0)?
        } else {
            let Found::At(at) = find_tag(bytes, 1, &record_tag) else { return None };
            at
        };
        let at = byte + at as u64;
        Some(XmlFault {
            reason: "malformed XML: a tag or attribute value is not closed, so the record runs into the next one"
                .into(),
            line: tape.line_at(at),
            byte: at,
        })
    }

    fn read_record(
        &mut self,
        kind: RecordKind,
        start: &BytesStart<'_>,
        line: u64,
        byte: u64,
    ) -> Option<Result<Item, RecordError>> {
        self.record_number += 1;
        self.last_record = Some((start.name().as_ref().as_bytes().to_vec(), kind));
        let context = RecordContext { file: self.file.clone(), number: self.record_number, line };
        let buf = &mut self.record_buf;
        let parsed = match kind {
            RecordKind::Marc => marcxml::read_record(&mut self.reader, buf, start, &context),
            RecordKind::Oai => oai::read_record(&mut self.reader, buf, &context),
            RecordKind::Dc => dublin_core::read_record(&mut self.reader, buf, &context),
        };
        let number = Some(self.record_number);
        let parsed = match parsed {
            Ok(_) => self.swallowed_record(kind, start, byte).map_or(parsed, Err),
            other => other,
        };
        Some(match parsed {
            Err(fault) => {
                let broken = BrokenRecord { number: self.record_number, line, byte };
                Err(self.recover(Some(broken), line, byte, fault))
            }
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

impl<R: BufRead> Records for XmlRecords<R> {
    fn checkpoint(&self) -> Checkpoint {
        let tape = self.reader.get_ref();
        Checkpoint {
            record: self.record_number,
            line: tape.line(),
            byte: tape.offset(),
            open: self
                .open
                .iter()
                .map(|e| (String::from_utf8_lossy(&e.name).into_owned(), e.namespaces.clone()))
                .collect(),
            unqualified_marc: self.unqualified_marc,
            last_record: self
                .last_record
                .as_ref()
                .map(|(name, kind)| (String::from_utf8_lossy(name).into_owned(), *kind)),
            // After broken XML that nothing followed, the reader no longer holds the input, so
            // its position says nothing: the checkpoint says the input is done.
            finished: self.finished,
            no_records_because: self.no_records_because.clone(),
        }
    }

    fn resume_from(&mut self, checkpoint: &Checkpoint) -> Result<(), RecordError> {
        self.no_records_because = checkpoint.no_records_because.clone();
        if checkpoint.finished {
            self.finished = true;
            self.record_number = checkpoint.record;
            return Ok(());
        }
        let (line, byte) = (checkpoint.line, checkpoint.byte);
        let mut input =
            std::mem::replace(&mut self.reader, xml::reader_over(xml::Spliced::empty())).into_inner().into_inner();
        let skipped = std::io::copy(&mut std::io::Read::take(&mut input, byte), &mut std::io::sink());
        if skipped.ok() != Some(byte) {
            self.finished = true;
            let reason = "the file is shorter than where the interrupted import had got to".to_string();
            return Err(self.error(None, line, byte, reason));
        }
        self.open = checkpoint
            .open
            .iter()
            .map(|(name, namespaces)| OpenElement { name: name.as_bytes().to_vec(), namespaces: namespaces.clone() })
            .collect();
        self.depth = self.open.len();
        self.record_number = checkpoint.record;
        self.unqualified_marc = checkpoint.unqualified_marc;
        self.last_record = checkpoint.last_record.as_ref().map(|(name, kind)| (name.as_bytes().to_vec(), *kind));
        self.resume(input, self.open.len(), Vec::new(), byte, line).ok_or_else(|| {
            self.finished = true;
            self.error(None, line, byte, "cannot resume reading at the interrupted import's checkpoint".into())
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
                Err(fault) => return Some(Err(self.recover(None, line, byte, fault))),
            };
            match event {
                Event::Decl(decl) => {
                    let encoding = match decl.encoding() {
                        Some(Ok(encoding)) if !is_utf8_label(&encoding) && self.converted_from.is_none() => {
                            encoding.into_owned()
                        }
                        _ => continue,
                    };
                    let reason = format!(
                        "the file declares encoding {encoding}; acadex reads UTF-8 XML \
                         (convert it first, e.g. iconv -f {encoding} -t UTF-8)"
                    );
                    return Some(Err(self.fatal(XmlFault { reason, line, byte })));
                }
                Event::Start(start) => {
                    let start = start.into_owned();
                    let local = xml::local_name(&start);
                    let looks_marc = matches!(local.as_str(), "collection" | "record");
                    if looks_marc && self.no_records_because.is_none() {
                        self.no_records_because = self.why_not_marc(&start, &resolved).map(|why| (why, line, byte));
                    }
                    if self.depth == 0
                        && let Err(reason) = self.check_root(&resolved, &local)
                    {
                        return Some(Err(self.fatal(XmlFault { reason, line, byte })));
                    }
                    // Set and repository descriptions (ListSets, Identify) may hold oai_dc
                    // documents that describe the set, not a record.
                    let describes_set = matches!(local.as_str(), "setDescription" | "description" | "about");
                    if describes_set && xml::in_namespace(&resolved, Some(OAI_NS)) {
                        if let Err(fault) = xml::skip_element(&mut self.reader, &mut self.record_buf) {
                            return Some(Err(self.recover(None, line, byte, fault)));
                        }
                        continue;
                    }
                    if local == "error" && xml::in_namespace(&resolved, Some(OAI_NS)) {
                        if let Some(error) = self.oai_error(&start, line, byte) {
                            return Some(error);
                        }
                        continue;
                    }
                    let name = start.name().as_ref().as_bytes().to_vec();
                    self.open.push(OpenElement { name, namespaces: xml::namespace_declarations(&start) });
                    if let Some(kind) = self.classify(&resolved, &local) {
                        let item = self.read_record(kind, &start, line, byte);
                        self.open.pop();
                        match item {
                            Some(item) => return Some(item),
                            None => continue,
                        }
                    }
                    self.depth += 1;
                    if self.depth >= MAX_DEPTH {
                        let reason = format!("elements nested deeper than {MAX_DEPTH}");
                        return Some(Err(self.fatal(XmlFault { reason, line, byte })));
                    }
                }
                Event::Empty(start) if self.depth == 0 => {
                    let local = xml::local_name(&start);
                    if let Err(reason) = self.check_root(&resolved, &local) {
                        return Some(Err(self.fatal(XmlFault { reason, line, byte })));
                    }
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.open.pop();
                }
                Event::Eof => {
                    self.finished = true;
                    if let Some((why, line, byte)) = self.no_records_because.take()
                        && self.record_number == 0
                    {
                        return Some(Err(self.error(None, line, byte, format!("no records read: {why}"))));
                    }
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

/// Recognises input that is certainly not XML from its first bytes.
fn sniff_unsupported(head: &[u8]) -> Option<String> {
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

/// Finds where the next record starts in the bytes after broken XML: the next start tag with
/// the record's name (for OAI-PMH records, the next one after the broken record's end tag,
/// since their metadata may hold an inner `record` of the same name).
struct ResyncFinder {
    /// `None`: any element's start tag.
    start_tag: Option<Vec<u8>>,
    end_tag: Option<Vec<u8>>,
    from: usize,
}

impl ResyncFinder {
    fn new(name: Option<&[u8]>, after_end_tag: bool, from: usize) -> Self {
        let start_tag = name.map(|name| [b"<", name].concat());
        let end_tag = name.filter(|_| after_end_tag).map(|name| [b"</", name].concat());
        ResyncFinder { start_tag, end_tag, from }
    }

    /// Scans `bytes` (which only ever grows between calls) from where the last call stopped.
    fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        if let Some(end_tag) = &self.end_tag {
            match find_tag(bytes, self.from, end_tag) {
                Found::At(at) => {
                    self.from = at + end_tag.len();
                    self.end_tag = None;
                }
                Found::NotBefore(from) => {
                    self.from = from;
                    return None;
                }
            }
        }
        let found = match &self.start_tag {
            Some(tag) => find_tag(bytes, self.from, tag),
            None => find_element_start(bytes, self.from),
        };
        match found {
            Found::At(at) => Some(at),
            Found::NotBefore(from) => {
                self.from = from;
                None
            }
        }
    }
}

enum Found {
    At(usize),
    /// Not found; a later scan of more bytes can start here.
    NotBefore(usize),
}

/// Finds `<` followed by the first byte of an element name.
fn find_element_start(bytes: &[u8], from: usize) -> Found {
    let mut at = from;
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr::memchr(b'<', rest)) {
        at += offset;
        match bytes.get(at + 1) {
            None => return Found::NotBefore(at),
            Some(next) if next.is_ascii_alphabetic() || *next == b'_' || *next >= 0x80 => return Found::At(at),
            Some(_) => at += 1,
        }
    }
    Found::NotBefore(bytes.len().max(from))
}

/// Finds `<name` (or `</name`) followed by a byte that ends a tag name. memmem's vectorised
/// search passes over the other tags (a record has about a hundred) without stopping at each.
fn find_tag(bytes: &[u8], from: usize, tag: &[u8]) -> Found {
    let Some(rest) = bytes.get(from..) else { return Found::NotBefore(from) };
    for offset in memchr::memmem::find_iter(rest, tag) {
        let at = from + offset;
        match bytes.get(at + tag.len()) {
            None => return Found::NotBefore(at),
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') => return Found::At(at),
            Some(_) => {}
        }
    }
    // The tag may yet start in the last bytes, cut off where they end.
    let tail = bytes.len().saturating_sub(tag.len()).max(from);
    match bytes.get(tail..).and_then(|tail_bytes| memchr::memchr(b'<', tail_bytes)) {
        Some(offset) => Found::NotBefore(tail + offset),
        None => Found::NotBefore(bytes.len().max(from)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reader yields, as comparable text (ids, deletions, errors with their positions).
    fn outcome(item: Result<Item, RecordError>) -> String {
        match item {
            Ok(Item::Record(imported)) => format!("record {}", imported.record.id),
            Ok(Item::Delete { key }) => format!("delete {key}"),
            Err(error) => format!("error {error} [{} bytes]", error.verbatim.len()),
        }
    }

    /// Reads `input` through, taking a checkpoint after every item; then, from each checkpoint,
    /// a fresh reader resumed there must yield exactly what the first one yielded after it.
    fn assert_resumes_anywhere(name: &str, input: &[u8]) {
        let mut records = open(input, name, None).expect("opens");
        let mut outcomes = Vec::new();
        let mut checkpoints = vec![records.checkpoint()];
        while let Some(item) = records.next() {
            outcomes.push(outcome(item));
            checkpoints.push(records.checkpoint());
        }
        for (done, checkpoint) in checkpoints.iter().enumerate() {
            let mut resumed = open(input, name, None).expect("opens");
            resumed.resume_from(checkpoint).expect("resumes");
            let rest: Vec<String> = resumed.map(outcome).collect();
            assert_eq!(rest, outcomes[done..], "{name}: resumed after item {done}");
        }
    }

    /// Found by fuzz/xml_records: `--format oai_dc` reads a `dc` in a misspelt namespace, and
    /// `reindex` must read its stored original back, though the original does not say the format.
    #[test]
    fn a_record_only_a_forced_format_reads_reads_back_from_its_original() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let file =
            std::fs::read_to_string(root.join("valid/oai_dc/scythe_list_records_i5_oai_dc.xml")).expect("fixture");
        // Its first Dublin Core record as a document of its own, as the fuzzer had it.
        let start = file.find("<oai_dc:dc").expect("a dc record");
        let end = file.find("</oai_dc:dc>").expect("its end") + "</oai_dc:dc>".len();
        let misspelt = file[start..end].replace(OAI_DC_NS, "http://www.openarchives.org/OAI/2.0/oai_dc");
        let read = |forced| -> Vec<Box<Imported>> {
            let records = open(misspelt.as_bytes(), "misspelt.xml", forced).expect("opens");
            records
                .filter_map(|item| if let Ok(Item::Record(imported)) = item { Some(imported) } else { None })
                .collect()
        };
        assert!(read(None).is_empty(), "only --format oai_dc reads it");
        let imported = read(Some(Format::OaiDc));
        assert_eq!(imported.len(), 1);
        match reparse(&imported[0].original, "misspelt.xml") {
            Ok(Item::Record(again)) => assert_eq!(again.record, imported[0].record),
            other => panic!("did not read back: {other:?}"),
        }
    }

    #[test]
    fn a_reader_resumed_at_any_checkpoint_carries_on_exactly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for file in [
            "valid/oai_marc/vufindharvest_marc.xml",
            "valid/oai_dc/sickle_ListRecords.xml",
            "encodings/chinese_880.gbk.xml",
            "malformed/broken_field.xml",
            // Found by the resume fuzz target: a checkpoint taken after broken XML that nothing
            // followed used to point back at the start of the file.
            "malformed/jabref_truncated_sru_response.xml",
            // Also found by it: why no record was read must survive a resume.
            "fuzz/resume_no_records_after_an_error.xml",
            // And: a bad byte in a converted encoding must be reported the same way both times.
            "fuzz/resume_bad_byte_in_utf16.xml",
            // And: a bad header field ended the OAI record at the header, so its metadata was
            // read as a record of its own (and a resumed reader disagreed).
            "fuzz/resume_bad_oai_header_field.xml",
            // And: an element name with a stray quote (`su1="`) must be re-opened as the same
            // name, so that errors after a resume name the same expected end tag.
            "fuzz/resume_unbalanced_quote_in_element_name.xml",
            // And: a namespace declared after a malformed attribute is not in scope for
            // quick-xml, so it must not be re-declared when resuming either.
            "fuzz/resume_namespace_after_a_malformed_attribute.xml",
        ] {
            let bytes = std::fs::read(root.join(file)).expect("fixture");
            assert_resumes_anywhere(file, &bytes);
        }
        // Broken XML too: the reader recovers the same way whether or not it was resumed.
        let chabon = std::fs::read_to_string(root.join("valid/marcxml/marc4j_chabon.xml")).expect("fixture");
        let broken =
            chabon.replacen("</subfield>", "</subfeld>", 1).replacen("<datafield tag=\"245\"", "<<datafield", 1);
        assert_resumes_anywhere("broken", broken.as_bytes());
    }
}
