//! Telling an XML file's character encoding from its first bytes, and converting it to UTF-8.
//!
//! The readers work on UTF-8. Old catalogue exports also come as UTF-16 (with or without a byte
//! order mark) or declare a legacy encoding such as ISO-8859-1 or GBK; those are converted as
//! they stream in, strictly: a byte that is not valid in the declared encoding stops the file
//! with an error saying where, rather than becoming a replacement character in the index.

use std::io::{self, BufRead, Read};

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE};

use super::xml::read_buffered;

/// What the first bytes of a file say about its encoding.
pub(crate) enum Sniffed {
    Utf8,
    Convert(&'static Encoding),
    /// It declares an encoding nobody knows by that name.
    Unknown(String),
}

/// Reads the byte order mark, the UTF-16 shape of `<?`, or the XML declaration's `encoding`.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Sniffed::Utf8;
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[b'<', 0]) {
        return Sniffed::Convert(UTF_16LE);
    }
    if head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0, b'<']) {
        return Sniffed::Convert(UTF_16BE);
    }
    let Some(label) = declared_encoding(head) else {
        return Sniffed::Utf8;
    };
    // ASCII is UTF-8 already (the WHATWG labels would map it to windows-1252).
    if label.eq_ignore_ascii_case("us-ascii") || label.eq_ignore_ascii_case("ascii") {
        return Sniffed::Utf8;
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(encoding) if encoding == encoding_rs::UTF_8 => Sniffed::Utf8,
        Some(encoding) => Sniffed::Convert(encoding),
        None => Sniffed::Unknown(label),
    }
}

/// The `encoding="..."` of an XML declaration at the very start of `head`.
fn declared_encoding(head: &[u8]) -> Option<String> {
    let declaration = head.strip_prefix(b"<?xml")?;
    let end = declaration.windows(2).take(1024).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&declaration[..end]).ok()?;
    let after = declaration.split_once("encoding")?.1.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let label = after[1..].split(quote).next()?;
    Some(label.trim().to_string())
}

/// Converts input in `encoding` to UTF-8 as it is read.
pub(crate) struct ToUtf8<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: &'static Encoding,
    out: Vec<u8>,
    at: usize,
    /// Bytes of the original input converted so far, to say where a bad byte is.
    consumed: u64,
    /// A bad byte, reported once the text converted before it has been read.
    bad_byte: Option<io::Error>,
    done: bool,
}

/// Input converted per call: enough to amortise the call, small enough to stay in cache.
const CHUNK: usize = 64 * 1024;

impl<R: BufRead> ToUtf8<R> {
    pub fn new(inner: R, encoding: &'static Encoding) -> Self {
        // The decoder drops a byte order mark, and one that disagrees with `encoding` wins.
        let decoder = encoding.new_decoder();
        ToUtf8 { inner, decoder, encoding, out: Vec::new(), at: 0, consumed: 0, bad_byte: None, done: false }
    }

    fn refill(&mut self) -> io::Result<()> {
        let input = self.inner.fill_buf()?;
        let last = input.is_empty();
        let input = &input[..input.len().min(CHUNK)];
        let room = self.decoder.max_utf8_buffer_length_without_replacement(input.len()).unwrap_or(4 * CHUNK + 16);
        self.out.clear();
        self.out.resize(room, 0);
        self.at = 0;
        let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(input, &mut self.out, last);
        self.out.truncate(written);
        self.inner.consume(read);
        self.consumed += read as u64;
        match result {
            DecoderResult::InputEmpty => self.done = last,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, after) => {
                let at = self.consumed - u64::from(bad) - u64::from(after);
                let message =
                    format!("byte {at} is not valid {} (the encoding the file declares)", self.encoding.name());
                self.bad_byte = Some(io::Error::new(io::ErrorKind::InvalidData, message));
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for ToUtf8<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, out)
    }
}

impl<R: BufRead> BufRead for ToUtf8<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.out.len() && !self.done {
            // Sticky: whoever asks next hears of the bad byte too (a reader that peeks and
            // drops an error must not turn it into a clean end of input).
            if let Some(error) = &self.bad_byte {
                return Err(io::Error::new(error.kind(), error.to_string()));
            }
            self.refill()?;
        }
        Ok(&self.out[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(bytes: &[u8]) -> io::Result<String> {
        let Sniffed::Convert(encoding) = sniff(bytes) else { panic!("not sniffed as convertible") };
        let mut out = String::new();
        ToUtf8::new(bytes, encoding).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn declared_legacy_encodings_and_utf16_are_converted() {
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>Qu\xe9bec</a>";
        assert_eq!(convert(latin1).expect("latin-1"), "<?xml version='1.0' encoding='ISO-8859-1'?><a>Québec</a>");
        let gbk = b"<?xml version=\"1.0\" encoding=\"GBK\"?><a>\xd0\xdc\xc3\xa8</a>";
        assert!(convert(gbk).expect("gbk").ends_with("<a>熊猫</a>"));
        let text = "<a>大熊猫</a>";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be_bom: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(convert(&le).expect("utf-16le"), text);
        assert_eq!(convert(&be_bom).expect("utf-16be"), text);
    }

    #[test]
    fn utf8_and_unknown_labels_are_not_converted() {
        assert!(matches!(sniff(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>"), Sniffed::Utf8));
        assert!(matches!(sniff(b"<?xml version=\"1.0\" encoding=\"US-ASCII\"?><a/>"), Sniffed::Utf8));
        assert!(matches!(sniff(b"<collection/>"), Sniffed::Utf8));
        assert!(matches!(sniff(b"<?xml encoding=\"MARC-8\"?><a/>"), Sniffed::Unknown(label) if label == "MARC-8"));
    }

    #[test]
    fn a_byte_invalid_in_the_declared_encoding_is_an_error_saying_where() {
        let bad = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>\x82\xa0\xff\xff</a>";
        let error = convert(bad).expect_err("invalid Shift_JIS");
        assert!(error.to_string().contains("is not valid Shift_JIS"), "{error}");
    }
}
