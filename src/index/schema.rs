//! The tantivy schema: which record fields are searched, filtered, faceted and stored.
//! `schema/index.md` describes it for people; [`SCHEMA_VERSION`] changes whenever it changes.

use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};

use super::tokenizer::{KEYWORD, TEXT};

/// Bumped whenever the schema or the analysis changes; an index of another version must be
/// rebuilt with `acadex reindex`.
pub const SCHEMA_VERSION: u32 = 2;

/// Fields the query parser knows by name, searched when a query names no field, with boosts:
/// titles, people and subjects weigh more than abstracts and notes.
pub const DEFAULT_FIELDS: [(&str, f32); 7] = [
    ("title", 3.0),
    ("author", 2.0),
    ("subject", 2.0),
    ("event", 1.5),
    ("venue", 1.0),
    ("abstract", 1.0),
    ("note", 0.5),
];

/// Facets users can ask for, and the fast field behind each.
pub const FACETS: [(&str, &str); 8] = [
    ("type", "type"),
    ("year", "year"),
    ("language", "language"),
    ("country", "country"),
    ("institution", "institution"),
    ("subject", "subject_exact"),
    ("venue", "venue_exact"),
    ("source", "source"),
];

/// Handles on every field of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub keys: Field,
    pub item_type: Field,
    pub year: Field,
    pub language: Field,
    pub country: Field,
    pub institution: Field,
    pub subject_exact: Field,
    pub venue_exact: Field,
    pub source: Field,
    pub doi: Field,
    pub title: Field,
    pub author: Field,
    pub subject: Field,
    pub venue: Field,
    pub event: Field,
    pub abstract_text: Field,
    pub note: Field,
    /// The record in the model, as JSON: what hits and `show` are made from.
    pub record: Field,
    /// The verbatim source record, for `reindex`; read only by `show --original` and `reindex`.
    pub original: Field,
    /// The verbatim source record when it is not UTF-8 (bytes in a comment, say), instead of
    /// `original`.
    pub original_bytes: Field,
    pub original_namespaces: Field,
}

pub fn build() -> Schema {
    let mut builder = Schema::builder();
    let full_text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TEXT).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let keyword = || {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(KEYWORD).set_index_option(IndexRecordOption::Basic),
        )
    };
    // Facet fields: matched case-insensitively, counted and shown as stored ("CN", "Peking University").
    let facet = || keyword().set_fast("raw");
    builder.add_text_field("id", keyword());
    builder.add_text_field("keys", keyword());
    builder.add_text_field("type", facet());
    builder.add_u64_field("year", INDEXED | FAST);
    builder.add_text_field("language", facet());
    builder.add_text_field("country", facet());
    builder.add_text_field("institution", facet());
    builder.add_text_field("subject_exact", facet());
    builder.add_text_field("venue_exact", facet());
    builder.add_text_field("source", facet());
    builder.add_text_field("doi", keyword());
    for name in ["title", "author", "subject", "venue", "event", "abstract", "note"] {
        builder.add_text_field(name, full_text.clone());
    }
    // Stored as text, not bytes: tantivy 0.27 writes and reads a bytes value one byte at a
    // time, a string with one copy (3% of an import's CPU, and every hit reads `record`).
    builder.add_text_field("record", STORED);
    builder.add_text_field("original", STORED);
    builder.add_bytes_field("original_bytes", STORED);
    builder.add_text_field("original_namespaces", STORED);
    builder.build()
}

impl Fields {
    /// Looks up every field; fails if the index was built with another schema.
    pub fn of(schema: &Schema) -> tantivy::Result<Fields> {
        let get = |name: &str| schema.get_field(name);
        Ok(Fields {
            id: get("id")?,
            keys: get("keys")?,
            item_type: get("type")?,
            year: get("year")?,
            language: get("language")?,
            country: get("country")?,
            institution: get("institution")?,
            subject_exact: get("subject_exact")?,
            venue_exact: get("venue_exact")?,
            source: get("source")?,
            doi: get("doi")?,
            title: get("title")?,
            author: get("author")?,
            subject: get("subject")?,
            venue: get("venue")?,
            event: get("event")?,
            abstract_text: get("abstract")?,
            note: get("note")?,
            record: get("record")?,
            original: get("original")?,
            original_bytes: get("original_bytes")?,
            original_namespaces: get("original_namespaces")?,
        })
    }
}
