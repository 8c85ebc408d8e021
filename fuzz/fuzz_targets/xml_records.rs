//! Every XML reader (MARCXML, Dublin Core, OAI-PMH, rejects files, stored originals), with and
//! without a forced format, including the encoding sniffing at the start of a file: whatever
//! the bytes, reading them must end, without a panic, every record accounted for.
#![no_main]

use acadex::formats::{self, Format, Item, Original};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let forced = [None, Some(Format::Marcxml), Some(Format::OaiDc), Some(Format::OaiPmh)];
    for format in forced {
        if let Ok(records) = formats::open(data, "fuzz.xml", format) {
            for item in records {
                if let Ok(Item::Record(imported)) = item {
                    // What was imported must read back from its stored original.
                    assert!(formats::reparse(&imported.original, "fuzz.xml").is_ok());
                }
            }
        }
    }
    let original = Original { xml: data.to_vec(), namespaces: String::new() };
    let _ = formats::reparse(&original, "fuzz.xml");
});
