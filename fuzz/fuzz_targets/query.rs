//! The query language: whatever a user types (quotes, brackets, fields, stars, ranges), search
//! answers or says why it cannot, and never panics.
#![no_main]

use std::sync::OnceLock;

use acadex::formats::{self, Item};
use acadex::index::{IndexReader, SearchRequest, Sort, Writer, WriterOptions};
use libfuzzer_sys::fuzz_target;

/// A small real index, built once per fuzzing process from a fixture.
fn reader() -> &'static IndexReader {
    static READER: OnceLock<IndexReader> = OnceLock::new();
    READER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("acadex-fuzz-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut writer = Writer::open(&dir, WriterOptions::default()).expect("index");
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/valid/oai_marc/vufindharvest_marc.xml");
        let file = std::fs::File::open(fixture).expect("fixture");
        for item in formats::open(std::io::BufReader::new(file), fixture, None).expect("readable") {
            if let Ok(Item::Record(imported)) = item {
                writer.upsert(&imported).expect("upsert");
            }
        }
        writer.commit("{}").expect("commit");
        writer.finish().expect("finish");
        IndexReader::open(&dir).expect("reader")
    })
}

fuzz_target!(|query: &str| {
    let request = SearchRequest {
        query: query.to_string(),
        filters: Vec::new(),
        facets: vec!["type".to_string(), "year".to_string()],
        facet_size: 5,
        limit: 5,
        offset: 0,
        sort: Sort::Relevance,
    };
    let _ = reader().search(&request);
});
