//! The analysis and clean-up every indexed string goes through: tokens must point at character
//! boundaries inside the text, and nothing may panic on any string.
#![no_main]

use acadex::index::tokenizer::text_analyzer;
use acadex::model::{PartialDate, clean_text, country, trim_punctuation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut analyzer = text_analyzer();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let token = stream.token();
        assert!(text.get(token.offset_from..token.offset_to).is_some(), "token offsets inside the text");
        assert!(!token.text.is_empty());
    }
    let cleaned = clean_text(text);
    assert_eq!(clean_text(&cleaned), cleaned, "clean_text is idempotent");
    let _ = trim_punctuation(text);
    let _ = PartialDate::find_year(text);
    let _ = PartialDate::parse_iso(text);
    let _ = country::from_text(text);
    let _ = country::from_marc_code(text);
});
