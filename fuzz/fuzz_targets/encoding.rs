//! Encoding sniffing and conversion: any bytes behind a declaration of any encoding acadex
//! converts (or a UTF-16 byte order mark) must read to the end without a panic, and whatever
//! is imported must read back from its stored original.
#![no_main]

use acadex::formats::{self, Item};
use libfuzzer_sys::fuzz_target;

const LABELS: [&str; 10] =
    ["GBK", "Big5", "Shift_JIS", "EUC-KR", "ISO-8859-1", "windows-1251", "UTF-16", "UTF-16BE", "gb18030", "KOI8-R"];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let mut input = Vec::with_capacity(body.len() + 64);
    match choice % 12 {
        10 => input.extend_from_slice(&[0xFF, 0xFE]),
        11 => input.extend_from_slice(&[0xFE, 0xFF]),
        n => {
            let label = LABELS[usize::from(n)];
            input.extend_from_slice(format!("<?xml version=\"1.0\" encoding=\"{label}\"?>").as_bytes());
        }
    }
    input.extend_from_slice(body);
    if let Ok(records) = formats::open(input.as_slice(), "fuzz.xml", None) {
        for item in records {
            if let Ok(Item::Record(imported)) = item {
                assert!(formats::reparse(&imported.original, "fuzz.xml").is_ok());
            }
        }
    }
});
