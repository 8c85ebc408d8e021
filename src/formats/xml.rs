//! The one hardened quick-xml set-up every XML format reads through.
//!
//! What it guarantees, whatever the format: no entity beyond XML's predefined five and
//! character references is expanded, no DTD or external entity is fetched (quick-xml never
//! does; `&custom;` is an error here), end tags must match, a record cannot grow past
//! [`MAX_RECORD_BYTES`] in memory, elements cannot nest past [`MAX_DEPTH`]. It also keeps the
//! verbatim bytes of the record being read (the [`Tape`]) and the line it is on, because a
//! rejected record is written out exactly as it came and reported by line.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, BufRead, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::{NsReader, XmlVersion};

/// A record larger than this is rejected rather than held in memory.
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Deeper nesting than any bibliographic format uses; deeper input is hostile or broken.
pub const MAX_DEPTH: usize = 256;

pub const MARC_NS: &str = "http://www.loc.gov/MARC21/slim";
pub const OAI_NS: &str = "http://www.openarchives.org/OAI/2.0/";
pub const OAI_DC_NS: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";

/// A `BufRead` that counts lines and bytes as quick-xml consumes them, and records the bytes
/// consumed since the last [`Tape::restart`].
pub struct Tape<R> {
    inner: R,
    offset: u64,
    /// The line after the counted bytes. Recorded bytes are counted when a line is asked for,
    /// in one pass over the record rather than a pass per quick-xml read of a few bytes;
    /// bytes consumed but not recorded are counted as they go by.
    line: Cell<u64>,
    /// How many of the recorded bytes `line` has counted.
    counted: Cell<usize>,
    bytes: Vec<u8>,
    overflowed: bool,
    /// Bytes consumed since the last restart, recorded or not: past twice the record cap the
    /// input is refused, because quick-xml would otherwise buffer a single huge text node whole.
    since_restart: usize,
    /// Input offset of the first recorded byte.
    restart_offset: u64,
    /// What to add to quick-xml's own positions to get offsets in the input, for a reader that
    /// was started part-way through it behind a re-opening prefix (see [`Spliced`]).
    position_skew: i64,
}

impl<R: BufRead> Tape<R> {
    pub fn new(inner: R) -> Self {
        Tape {
            inner,
            offset: 0,
            line: Cell::new(1),
            counted: Cell::new(0),
            bytes: Vec::new(),
            overflowed: false,
            since_restart: 0,
            restart_offset: 0,
            position_skew: 0,
        }
    }

    /// Makes the counters say `offset` and `line` from here on, for a reader that starts
    /// part-way through the input; `reader_position` is quick-xml's position at this point.
    pub fn reposition(&mut self, offset: u64, line: u64, reader_position: u64) {
        self.offset = offset;
        self.line.set(line);
        self.counted.set(self.bytes.len());
        self.position_skew = offset as i64 - reader_position as i64;
        self.restart();
    }

    /// An offset in the input from a position quick-xml reports.
    pub fn input_offset(&self, reader_position: u64) -> u64 {
        (reader_position as i64 + self.position_skew).max(0) as u64
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Forgets what was recorded and starts recording afresh from the next byte.
    pub fn restart(&mut self) {
        self.count_recorded_lines();
        self.restart_offset = self.offset;
        self.bytes.clear();
        self.counted.set(0);
        self.overflowed = false;
        self.since_restart = 0;
    }

    /// The bytes consumed since the last restart.
    pub fn recorded(&self) -> &[u8] {
        &self.bytes
    }

    pub fn take_recorded(&mut self) -> Vec<u8> {
        self.count_recorded_lines();
        self.counted.set(0);
        // The next record is likely about as long: one allocation instead of a dozen growths.
        let capacity = self.bytes.len();
        std::mem::replace(&mut self.bytes, Vec::with_capacity(capacity))
    }

    /// Consumes `amount` bytes that the caller read from [`BufRead::fill_buf`] and parsed
    /// itself, behind quick-xml's back: the tape records them as usual, and positions quick-xml
    /// reports later are moved on by as much, so they still name the right input byte.
    pub fn consume_parsed_elsewhere(&mut self, amount: usize) {
        self.consume(amount);
        self.position_skew += amount as i64;
    }

    /// True when more than [`MAX_RECORD_BYTES`] went by since the last restart.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// 1-based line of the next byte to be consumed.
    pub fn line(&self) -> u64 {
        self.count_recorded_lines();
        self.line.get()
    }

    /// Brings `line` up to date with the recorded bytes.
    fn count_recorded_lines(&self) {
        let counted = self.counted.get();
        if let Some(uncounted) = self.bytes.get(counted..) {
            self.line.set(self.line.get() + count_lines(uncounted));
            self.counted.set(self.bytes.len());
        }
    }

    /// The line of input offset `byte`, if it is among the recorded bytes (else the current line).
    pub fn line_at(&self, byte: u64) -> u64 {
        let line = self.line();
        let Some(after) = byte.checked_sub(self.restart_offset).and_then(|at| self.bytes.get(at as usize..)) else {
            return line;
        };
        if self.overflowed {
            return line;
        }
        line - count_lines(after)
    }

    /// The input offset of the first byte that is not UTF-8 among the recorded bytes.
    fn first_non_utf8(&self) -> Option<u64> {
        let error = std::str::from_utf8(&self.bytes).err()?;
        Some(self.restart_offset + error.valid_up_to() as u64)
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the rest of the input (up to `limit` bytes) onto the tape, for a reject that has
    /// to carry everything from a fatal error onwards.
    pub fn record_rest(&mut self, limit: usize) -> bool {
        self.since_restart = 0;
        let mut rest = Vec::new();
        let mut truncated = false;
        if let Ok(n) = self.by_ref().take(limit as u64).read_to_end(&mut rest) {
            truncated = n == limit && !self.fill_buf().map(<[u8]>::is_empty).unwrap_or(true);
        }
        truncated
    }
}

/// Newlines in `bytes`. Every byte of the input is counted here once (a record's in one pass),
/// so it uses memchr's vectorised search instead of a byte loop.
pub(crate) fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// `Read` for a reader whose `BufRead` side does the work: copies from its buffer.
pub(crate) fn read_buffered(reader: &mut impl BufRead, out: &mut [u8]) -> io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(out.len());
    out[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

impl<R: BufRead> Read for Tape<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, out)
    }
}

impl<R: BufRead> BufRead for Tape<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_restart > 2 * MAX_RECORD_BYTES {
            let message = format!("a record or text larger than {} MiB", MAX_RECORD_BYTES >> 20);
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buffered) = self.inner.fill_buf() {
            let consumed = &buffered[..amount.min(buffered.len())];
            if !self.overflowed && self.bytes.len() + consumed.len() > MAX_RECORD_BYTES {
                self.overflowed = true;
            }
            if self.overflowed {
                self.line.set(self.line.get() + count_lines(consumed));
            } else {
                self.bytes.extend_from_slice(consumed);
            }
        }
        self.offset += amount as u64;
        self.since_restart += amount;
        self.inner.consume(amount);
    }
}

/// Input with bytes put back in front of it: after broken XML, the walker carries on from
/// the next record with a fresh reader, fed first with start tags that re-open the elements
/// the record sat in (so namespaces resolve and end tags match) and the bytes it had already
/// consumed past the break.
pub struct Spliced<R> {
    front: Vec<u8>,
    at: usize,
    /// `None` for the placeholder a reader holds while its input is handed to a new one.
    inner: Option<R>,
}

impl<R: BufRead> Spliced<R> {
    pub fn new(inner: R) -> Self {
        Spliced { front: Vec::new(), at: 0, inner: Some(inner) }
    }

    /// Input with nothing in it.
    pub fn empty() -> Self {
        Spliced { front: Vec::new(), at: 0, inner: None }
    }

    /// Puts `bytes` in front of what is still to be read.
    pub fn put_back(&mut self, mut bytes: Vec<u8>) {
        bytes.extend_from_slice(&self.front[self.at..]);
        self.front = bytes;
        self.at = 0;
    }
}

impl<R: BufRead> Read for Spliced<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, out)
    }
}

impl<R: BufRead> BufRead for Spliced<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.front.len() {
            return Ok(&self.front[self.at..]);
        }
        match &mut self.inner {
            Some(inner) => inner.fill_buf(),
            None => Ok(&[]),
        }
    }

    fn consume(&mut self, amount: usize) {
        if self.at < self.front.len() {
            self.at = (self.at + amount).min(self.front.len());
        } else if let Some(inner) = &mut self.inner {
            inner.consume(amount);
        }
    }
}

pub type XmlReader<R> = NsReader<Tape<Spliced<R>>>;

/// Builds the reader every XML format uses.
pub fn hardened_reader<R: BufRead>(input: R) -> XmlReader<R> {
    reader_over(Spliced::new(input))
}

/// A hardened reader over input that may have bytes put back in front of it.
pub fn reader_over<R: BufRead>(input: Spliced<R>) -> XmlReader<R> {
    let mut reader = NsReader::from_reader(Tape::new(input));
    let config = reader.config_mut();
    config.check_end_names = true;
    // `McFarland & Company` with a bare `&` is the commonest defect of real catalogue exports;
    // reading it as the character it plainly is beats rejecting the record.
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    reader
}

/// A failure of the XML itself: after it the stream cannot be trusted, so the rest of the
/// file is rejected as one piece.
#[derive(Debug, Clone)]
pub struct XmlFault {
    pub reason: String,
    pub line: u64,
    pub byte: u64,
}

impl XmlFault {
    pub fn at<R: BufRead>(reader: &XmlReader<R>, reason: impl Into<String>) -> Self {
        XmlFault { reason: reason.into(), line: reader.get_ref().line(), byte: reader.get_ref().offset() }
    }
}

/// Reads the next event, turning quick-xml errors into [`XmlFault`]s that say where.
pub fn next_event<'b, R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &'b mut Vec<u8>,
) -> Result<(ResolveResult<'static>, Event<'b>), XmlFault> {
    buf.clear();
    match reader.read_resolved_event_into(buf) {
        Ok((resolved, event)) => Ok((own_resolution(resolved), event)),
        Err(error) => Err(fault(reader, &error)),
    }
}

/// Reads the next event without resolving its namespace, for use inside a record whose
/// elements are told apart by local name alone.
pub fn next_plain_event<'b, R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &'b mut Vec<u8>,
) -> Result<Event<'b>, XmlFault> {
    buf.clear();
    reader.read_event_into(buf).map_err(|error| fault(reader, &error))
}

fn fault<R: BufRead>(reader: &XmlReader<R>, error: &quick_xml::Error) -> XmlFault {
    let tape = reader.get_ref();
    let (reason, byte) = match error {
        // Reading failed, not parsing: quick-xml has no position for it, the tape has.
        quick_xml::Error::Io(io) => (io.to_string(), tape.offset()),
        // quick-xml reports no position for text that is not UTF-8; the recorded bytes tell.
        quick_xml::Error::Encoding(_) => (
            format!("invalid UTF-8 ({error}); acadex reads UTF-8 XML"),
            tape.first_non_utf8().unwrap_or_else(|| tape.input_offset(reader.error_position())),
        ),
        _ => (format!("malformed XML: {error}"), tape.input_offset(reader.error_position())),
    };
    XmlFault { reason, line: tape.line_at(byte), byte }
}

/// The namespace an element resolved to, owned, so the event buffer can be reused.
fn own_resolution(resolved: ResolveResult<'_>) -> ResolveResult<'static> {
    match resolved {
        ResolveResult::Bound(Namespace(ns)) => match ns {
            MARC_NS => ResolveResult::Bound(Namespace(MARC_NS)),
            OAI_NS => ResolveResult::Bound(Namespace(OAI_NS)),
            OAI_DC_NS => ResolveResult::Bound(Namespace(OAI_DC_NS)),
            _ => ResolveResult::Bound(Namespace("")),
        },
        ResolveResult::Unbound => ResolveResult::Unbound,
        ResolveResult::Unknown(_) => ResolveResult::Unknown(String::new()),
    }
}

/// True if the element is in namespace `ns` (`None`: in no namespace).
pub fn in_namespace(resolved: &ResolveResult<'_>, ns: Option<&str>) -> bool {
    match (resolved, ns) {
        (ResolveResult::Bound(Namespace(bound)), Some(ns)) => *bound == ns,
        (ResolveResult::Unbound, None) => true,
        _ => false,
    }
}

/// The local name of an element, as text.
pub fn local_name(element: &BytesStart<'_>) -> String {
    element.local_name().as_ref().to_string()
}

/// The unescaped value of an attribute (by local name), if present and well-formed.
pub fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for attr in element.attributes().with_checks(false) {
        let attr = attr.map_err(|e| format!("bad attribute in <{}>: {e}", local_name(element)))?;
        if attr.key.local_name().as_ref() == name {
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("bad value of attribute {name} in <{}>: {e}", local_name(element)))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// The values of the attributes `names` of a start tag whose attributes are all written the
/// plain way: ` name="value"`, separated by XML whitespace, names of ASCII letters and digits
/// (no prefix), each at most once, values without `&`, `<` or `"`. For any other tag it returns
/// `None` and the caller reads the attributes with quick-xml's parser, which gives the same
/// values for plain tags. Catalogue files write every field and subfield the plain way, and
/// this scan costs a fraction of the general parser's (2 of an import's instructions in 100).
pub fn plain_attributes<'a, const N: usize>(
    start: &'a BytesStart<'_>,
    names: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    plain_attribute_values(start.attributes_raw(), names)
}

/// [`plain_attributes`] of a tag's attributes as written (`raw`), for values that outlive the
/// tag: [`PlainMarkup`] gives them with its start tags.
pub fn plain_attribute_values<'a, const N: usize>(raw: &'a str, names: [&str; N]) -> Option<[Option<&'a str>; N]> {
    if let Some(values) = attributes_in_order(raw, names) {
        return Some(values);
    }
    let bytes = raw.as_bytes();
    let is_space = |at: usize| matches!(bytes.get(at), Some(b' ' | b'\t' | b'\r' | b'\n'));
    let mut values = [None; N];
    // Names met so far, to leave repeated attributes to the general parser; more than a few
    // attributes is not a plain catalogue tag either.
    let mut seen = [""; 8];
    let mut count = 0;
    let mut at = 0;
    loop {
        let spaces_from = at;
        while is_space(at) {
            at += 1;
        }
        if at == bytes.len() {
            return Some(values);
        }
        let name_from = at;
        while bytes.get(at).is_some_and(u8::is_ascii_alphanumeric) {
            at += 1;
        }
        if name_from == spaces_from || at == name_from || bytes.get(at..at + 2) != Some(b"=\"") {
            return None;
        }
        let name = raw.get(name_from..at)?;
        at += 2;
        let value_from = at;
        while bytes.get(at).is_some_and(|b| !matches!(b, b'"' | b'&' | b'<')) {
            at += 1;
        }
        if bytes.get(at) != Some(&b'"') || seen[..count].contains(&name) || count == seen.len() {
            return None;
        }
        let value = raw.get(value_from..at)?;
        at += 1;
        seen[count] = name;
        count += 1;
        if let Some(slot) = names.iter().position(|wanted| *wanted == name) {
            values[slot] = Some(value);
        }
    }
}

/// Markup read from a slice, without quick-xml, when it is written the plainest way: start
/// tags (not empty-element tags) whose attributes [`plain_attributes`] reads, end tags written
/// `</name>`, and text with no `\r`, no NUL and no `&` but the predefined five entity
/// references. On anything else (comments, CDATA, character references, a tag or text cut off
/// by the end of the slice) it gives up with `None`, and the caller reads the same bytes with
/// quick-xml, which gives the same names and text for plain markup. Reading a catalogue
/// record this way skips quick-xml's event buffer, namespace scopes and per-event checks, and
/// checks the record's UTF-8 in one pass instead of one per event.
pub struct PlainMarkup<'a> {
    text: &'a str,
    at: usize,
    /// Where the last tag read starts.
    tag_at: usize,
}

/// A tag read by [`PlainMarkup`].
pub enum PlainTag<'a> {
    /// A start tag: its name, and its attributes as written (what [`plain_attribute_values`]
    /// reads).
    Start { name: &'a str, attributes: &'a str },
    /// An end tag, with its name.
    End(&'a str),
}

impl<'a> PlainMarkup<'a> {
    /// The markup in `bytes` up to the end of the first end tag named `local_name` (with or
    /// without a prefix); `None` if `bytes` holds no such end tag or is not UTF-8 before it.
    pub fn up_to_end_tag(bytes: &'a [u8], local_name: &str) -> Option<Self> {
        let is_name_byte = |b: u8| !matches!(b, b'<' | b'>' | b'/' | b'"' | b'\'' | b' ' | b'\t' | b'\r' | b'\n');
        for at in memchr::memmem::find_iter(bytes, local_name.as_bytes()) {
            let after = at + local_name.len();
            if bytes.get(after) != Some(&b'>') {
                continue;
            }
            let mut name_at = at;
            if at > 0 && bytes[at - 1] == b':' {
                name_at -= 1;
                while name_at > 0 && is_name_byte(bytes[name_at - 1]) {
                    name_at -= 1;
                }
            }
            if name_at >= 2 && &bytes[name_at - 2..name_at] == b"</" {
                let text = std::str::from_utf8(&bytes[..=after]).ok()?;
                return Some(PlainMarkup { text, at: 0, tag_at: 0 });
            }
        }
        None
    }

    /// Where the last tag read starts: what lies before it has been read.
    pub fn last_tag_at(&self) -> usize {
        self.tag_at
    }

    /// True when everything has been read.
    pub fn is_at_end(&self) -> bool {
        self.at == self.text.len()
    }

    /// Steps over XML whitespace and then reads a tag; `None` if anything else comes first.
    pub fn tag_after_whitespace(&mut self) -> Option<PlainTag<'a>> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
        self.tag()
    }

    /// Reads the tag that starts here.
    fn tag(&mut self) -> Option<PlainTag<'a>> {
        let rest = self.text.get(self.at..)?;
        if !rest.starts_with('<') {
            return None;
        }
        self.tag_at = self.at;
        let close = memchr::memchr(b'>', rest.as_bytes())?;
        let content = &rest[1..close];
        self.at += close + 1;
        if let Some(name) = content.strip_prefix('/') {
            return Some(PlainTag::End(name));
        }
        if content.starts_with(['!', '?']) || content.ends_with('/') {
            return None;
        }
        let name_len = content.bytes().position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')).unwrap_or(content.len());
        let (name, attributes) = content.split_at(name_len);
        Some(PlainTag::Start { name, attributes })
    }

    /// Reads the text of the element `name` just opened, and its end tag; `None` if the element
    /// holds anything but plain text.
    pub fn element_text(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let rest = self.text.get(self.at..)?;
        // The end of the text, then whether it holds anything that needs a closer look: two
        // vector scans (subfield values average about 30 bytes) cost half a byte-by-byte loop.
        let end = memchr::memchr(b'<', rest.as_bytes())?;
        let raw = &rest[..end];
        let special = memchr::memchr3(b'&', b'\r', b'\0', raw.as_bytes()).is_some();
        let text = match special {
            false => Cow::Borrowed(raw),
            true if raw.contains(['\r', '\0']) => return None,
            true => Cow::Owned(unescape_predefined(raw)?),
        };
        // The end tag, `</name>`, follows the text.
        let after_text = &rest.as_bytes()[end..];
        let end_tag_length = name.len() + 3;
        let closes = after_text.get(..end_tag_length).is_some_and(|tag| {
            tag.starts_with(b"</") && &tag[2..end_tag_length - 1] == name.as_bytes() && tag[end_tag_length - 1] == b'>'
        });
        if !closes {
            return None;
        }
        self.tag_at = self.at + end;
        self.at += end + end_tag_length;
        Some(text)
    }
}

/// The local part of a tag name (`marc:subfield` gives `subfield`), as quick-xml's `local_name`
/// gives it, but found with a byte loop: names are a few bytes long, and `str::find(char)`'s
/// set-up cost more than the search (3.7% of reading a catalogue, on every start tag).
pub fn local_part(name: &str) -> &str {
    match name.bytes().position(|b| b == b':') {
        Some(colon) => name.get(colon + 1..).unwrap_or(name),
        None => name,
    }
}

/// Text with its predefined entity references replaced; `None` if it holds any other `&`.
fn unescape_predefined(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        let semicolon = rest.find(';')?;
        out.push(match &rest[..semicolon] {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ => return None,
        });
        rest = &rest[semicolon + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The values of `names` when the attributes are exactly ` name="value"` for each of them, in
/// that order, one space apart: how catalogue software writes a field (`tag="245" ind1="1"
/// ind2="0"`) and a subfield (`code="a"`). Checking that one layout costs less than the general
/// scan in [`plain_attributes`], which handles every other plain tag.
fn attributes_in_order<'a, const N: usize>(raw: &'a str, names: [&str; N]) -> Option<[Option<&'a str>; N]> {
    let mut values = [None; N];
    let mut rest = raw;
    for (slot, name) in values.iter_mut().zip(names) {
        let value_and_rest = rest.strip_prefix(' ')?.strip_prefix(name)?.strip_prefix("=\"")?;
        // Values are a few bytes long: a plain loop beats memchr's set-up.
        let end = value_and_rest.bytes().position(|b| matches!(b, b'"' | b'&' | b'<'))?;
        let (value, after) = value_and_rest.split_at(end);
        *slot = Some(value);
        rest = after.strip_prefix('"')?;
    }
    rest.is_empty().then_some(values)
}

/// The quote a start tag's name leaves open, the way quick-xml scans for the tag's end:
/// a name read from broken XML (`su1="`) can hold one.
pub fn unclosed_quote(name: &[u8]) -> Option<u8> {
    let mut open = None;
    for &byte in name {
        match (open, byte) {
            (None, b'"' | b'\'') => open = Some(byte),
            (Some(quote), _) if byte == quote => open = None,
            _ => {}
        }
    }
    open
}

/// The namespace declarations an element makes (`xmlns:marc="..."`), so that a record cut out
/// of its file can be read again on its own.
pub fn namespace_declarations(element: &BytesStart<'_>) -> Vec<(String, String)> {
    // Up to the first malformed attribute, as quick-xml's own resolver does: a declaration
    // after it is not in scope for the reader that read it, so a reader resumed behind these
    // declarations must not have it either.
    element
        .attributes()
        .with_checks(false)
        .map_while(Result::ok)
        .filter(|a| a.key.as_ref() == "xmlns" || a.key.as_ref().starts_with("xmlns:"))
        .map(|a| (a.key.as_ref().to_string(), a.value.to_string()))
        .collect()
}

/// Appends the character data of a text-like event to `out`. Entity references other than the
/// predefined five and character references are refused: acadex never expands DTD entities.
pub fn append_text(event: &Event<'_>, out: &mut String) -> Result<(), String> {
    let text = match event {
        Event::Text(text) => Some(text.xml10_content()),
        Event::CData(data) => Some(data.xml10_content()),
        _ => None,
    };
    if let Some(text) = text {
        if text.contains('\0') {
            return Err("a NUL byte in text (XML does not allow U+0000)".into());
        }
        out.push_str(&text);
        return Ok(());
    }
    if let Event::GeneralRef(reference) = event {
        let resolved = match reference.resolve_char_ref() {
            Ok(Some(c)) => Some(c),
            Ok(None) => match &**reference {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "apos" => Some('\''),
                "quot" => Some('"'),
                _ => None,
            },
            Err(_) => None,
        };
        match resolved {
            Some(c) => out.push(c),
            None => return Err(format!("undefined entity &{};", &**reference)),
        }
    }
    Ok(())
}

/// Reads the text content of the element just opened, up to its end tag, including the text of
/// any child elements. Child elements' names are not checked.
pub fn read_element_text<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
) -> Result<Result<String, String>, XmlFault> {
    let mut out = String::new();
    let mut depth = 1usize;
    let mut problem = None;
    loop {
        let event = next_plain_event(reader, buf)?;
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return Ok(problem.map_or(Ok(out), Err));
                }
            }
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file: the file is truncated")),
            other => {
                if let Err(reason) = append_text(other, &mut out) {
                    problem.get_or_insert(reason);
                }
            }
        }
        if depth > MAX_DEPTH {
            return Err(XmlFault::at(reader, format!("elements nested deeper than {MAX_DEPTH}")));
        }
    }
}

/// Skips the element just opened, up to its end tag.
pub fn skip_element<R: BufRead>(reader: &mut XmlReader<R>, buf: &mut Vec<u8>) -> Result<(), XmlFault> {
    read_element_text(reader, buf).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_part_drops_the_prefix_like_quick_xml() {
        for name in ["subfield", "marc:subfield", "a:b:c", ":x", "x:", ""] {
            let start = BytesStart::new(name);
            assert_eq!(local_part(name), start.local_name().as_ref(), "{name:?}");
        }
    }

    #[test]
    fn tape_records_exactly_what_the_reader_consumed() {
        let xml = "<a>\n  <b x=\"1\">t&amp;u</b>\n</a>";
        let mut reader = hardened_reader(xml.as_bytes());
        let mut buf = Vec::new();
        next_event(&mut reader, &mut buf).expect("a"); // <a>
        next_event(&mut reader, &mut buf).expect("ws");
        reader.get_mut().restart();
        let line = reader.get_ref().line();
        let (_, event) = next_event(&mut reader, &mut buf).expect("b");
        assert!(matches!(event, Event::Start(_)));
        let text = read_element_text(&mut reader, &mut buf).expect("xml").expect("text");
        assert_eq!(text, "t&u");
        assert_eq!(line, 2);
        assert_eq!(reader.get_ref().recorded(), b"<b x=\"1\">t&amp;u</b>");
    }

    #[test]
    fn plain_attributes_are_read_as_quick_xml_reads_them_and_others_are_left_to_it() {
        let first_tag = |xml: &str| {
            let mut reader = hardened_reader(xml.as_bytes());
            let mut buf = Vec::new();
            match next_event(&mut reader, &mut buf).expect("xml").1 {
                Event::Start(start) | Event::Empty(start) => start.into_owned(),
                other => panic!("not a tag: {other:?}"),
            }
        };
        let names = ["tag", "ind1", "ind2"];
        let plain = [
            (r#"<datafield tag="245" ind1="1" ind2="0">"#, [Some("245"), Some("1"), Some("0")]),
            ("<datafield\n  ind2=\"\"\ttag=\"100\" other=\"x>y\">", [Some("100"), None, Some("")]),
            (r#"<datafield xmlns="http://www.loc.gov/MARC21/slim" tag="880"/>"#, [Some("880"), None, None]),
            ("<leader>", [None, None, None]),
        ];
        for (xml, expected) in plain {
            let start = first_tag(xml);
            assert_eq!(plain_attributes(&start, names), Some(expected), "{xml}");
            for (name, value) in names.iter().zip(expected) {
                let general =
                    start.attributes().with_checks(false).map_while(Result::ok).find(|a| a.key.as_ref() == *name);
                assert_eq!(general.map(|a| a.value.into_owned()).as_deref(), value, "{xml}: {name}");
            }
        }
        let not_plain = [
            "<datafield tag='245'>",
            r#"<datafield marc:tag="245">"#,
            r#"<datafield tag="2&amp;5">"#,
            r#"<datafield tag="245" tag="246">"#,
            r#"<datafield tag = "245">"#,
            r#"<datafield tag="245"ind1="1">"#,
            r#"<datafield tag="245" ind1>"#,
        ];
        for xml in not_plain {
            assert_eq!(plain_attributes(&first_tag(xml), names), None, "{xml}");
        }
    }

    #[test]
    fn custom_entities_are_refused_not_expanded() {
        let xml = "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>";
        let mut reader = hardened_reader(xml.as_bytes());
        let mut buf = Vec::new();
        loop {
            let (_, event) = next_event(&mut reader, &mut buf).expect("xml");
            if matches!(event, Event::Start(_)) {
                break;
            }
        }
        let text = read_element_text(&mut reader, &mut buf).expect("xml");
        assert_eq!(text, Err("undefined entity &e;".to_string()));
    }
}
