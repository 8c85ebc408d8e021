//! MARC records written plainly are read straight from the input buffer, others through
//! quick-xml (`marcxml::plain_marc`). Whatever the bytes, the two ways must agree: reading the
//! input with everything after its head in one buffer must yield exactly what reading it a byte
//! at a time yields, where no record is ever whole in memory and quick-xml reads them all.
#![no_main]

use std::io::{BufRead, BufReader, Read};

use acadex::formats::{self, Format};
use libfuzzer_sys::fuzz_target;

fn read_all(input: impl BufRead, forced: Option<Format>) -> Vec<String> {
    match formats::open(input, "fuzz.xml", forced) {
        Ok(records) => records.map(|item| format!("{item:?}")).collect(),
        Err(error) => vec![format!("{error:?}")],
    }
}

fuzz_target!(|data: &[u8]| {
    // Both readers see the same head, so they tell the encoding from the same bytes.
    let head = match data.starts_with(b"<?xml") {
        true => data.windows(2).position(|w| w == b"?>").map_or(data.len(), |at| at + 2),
        false => data.len().min(64),
    };
    let (head, rest) = data.split_at(head);
    for forced in [None, Some(Format::Marcxml), Some(Format::OaiPmh)] {
        let in_memory = read_all(head.chain(rest), forced);
        let byte_at_a_time = read_all(head.chain(BufReader::with_capacity(1, rest)), forced);
        assert_eq!(in_memory, byte_at_a_time);
    }
});
