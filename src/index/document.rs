//! Turns a record into a tantivy document: what is searched, filtered, faceted and stored.

use tantivy::TantivyDocument;
use tantivy::schema::{Field, Value};

use super::Fields;
use crate::formats::Original;
use crate::model::{IdScheme, Record, Role, identity_keys};

/// The tantivy document acadex indexes for a record read from `original`. Public so that the
/// benchmark can hand the very same documents to another tantivy front end (tantivy-cli), which
/// measures the engine's share of an import apart from reading and mapping XML.
pub fn build(fields: &Fields, record: &Record, original: &Original) -> TantivyDocument {
    let record_json = serde_json::to_string(record).unwrap_or_default();
    // The document copies every value into one buffer, which tantivy starts at 1 KiB and
    // doubles: three reallocations and copies per record. Sized once from what it will hold:
    // the original, the record's JSON and the searched text (a third of the original on the
    // benchmark's corpus; half is counted, so that the buffer rarely grows).
    let mut doc = TantivyDocument::with_capacity(original.xml.len() + record_json.len() + original.xml.len() / 2 + 64);
    doc.add_text(fields.id, &record.id);
    for key in identity_keys(record) {
        doc.add_text(fields.keys, &key);
    }
    doc.add_text(fields.item_type, record.item_type.as_str());
    if let Some(year) = record.year().and_then(|y| u64::try_from(y).ok()) {
        doc.add_u64(fields.year, year);
    }
    // Each facet value once per document: facet counts read column values as document counts.
    for language in distinct(&record.languages) {
        doc.add_text(fields.language, language);
    }
    for country in record.countries() {
        doc.add_text(fields.country, country);
    }
    for institution in institutions(record) {
        doc.add_text(fields.institution, institution);
    }
    for subject in distinct(&record.subjects) {
        doc.add_text(fields.subject_exact, subject);
        doc.add_text(fields.subject, subject);
    }
    let venue = record.container_title.as_deref().or(record.event.as_ref().and_then(|e| e.title.as_deref()));
    if let Some(venue) = venue {
        doc.add_text(fields.venue_exact, venue);
    }
    doc.add_text(fields.source, &record.source.format);
    if let Some(doi) = record.identifier(IdScheme::Doi) {
        doc.add_text(fields.doi, doi);
    }
    for title in record.all_titles() {
        doc.add_text(fields.title, title);
    }
    for contributor in &record.contributors {
        doc.add_text(fields.author, contributor.display_name());
        for name in &contributor.alternate_names {
            doc.add_text(fields.author, name);
        }
    }
    for venue in record.container_title.iter().chain(&record.collection_title) {
        doc.add_text(fields.venue, venue);
    }
    if let Some(event) = &record.event {
        for part in [&event.title, &event.place, &event.date_text].into_iter().flatten() {
            doc.add_text(fields.event, part);
        }
    }
    if let Some(text) = &record.abstract_text {
        doc.add_text(fields.abstract_text, text);
    }
    let notes = record.notes.iter().chain(&record.publisher).chain(&record.publisher_place).chain(&record.genre);
    for note in notes {
        doc.add_text(fields.note, note);
    }
    doc.add_text(fields.record, record_json);
    match std::str::from_utf8(&original.xml) {
        Ok(xml) => doc.add_text(fields.original, xml),
        Err(_) => doc.add_bytes(fields.original_bytes, &original.xml),
    }
    doc.add_text(fields.original_namespaces, &original.namespaces);
    doc
}

/// The values in first-seen order, without repeats.
fn distinct(values: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(&value.as_str()) {
            out.push(value);
        }
    }
    out
}

/// The institutions a record is associated with: contributors' affiliations, and bodies that
/// hosted or organised (or authored) it.
fn institutions(record: &Record) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for contributor in &record.contributors {
        let body = contributor.family.is_none() && contributor.given.is_none();
        let hosting = matches!(contributor.role, Role::Host | Role::Organizer);
        let names = contributor.affiliations.iter().map(|a| a.name.as_str());
        let own = contributor.literal.as_deref().filter(|_| body && (hosting || contributor.role == Role::Author));
        for name in names.chain(own) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The original record of a stored document: `original`, or `original_bytes` where it was not
/// UTF-8 (`None` for an index of schema version 1, which had no such field), with the namespace
/// declarations it was read under.
pub(crate) fn stored_original(
    doc: &TantivyDocument,
    original: Field,
    original_bytes: Option<Field>,
    namespaces: Field,
) -> Original {
    let xml = stored_bytes(doc, original).or_else(|| original_bytes.and_then(|field| stored_bytes(doc, field)));
    Original {
        xml: xml.unwrap_or_default().to_vec(),
        namespaces: stored_text(doc, namespaces).unwrap_or_default().to_string(),
    }
}

/// Reads a stored field holding bytes or text (schema version 1 stored as bytes what version
/// 2 stores as text), as bytes.
pub(crate) fn stored_bytes(doc: &TantivyDocument, field: Field) -> Option<&[u8]> {
    doc.get_first(field).and_then(|v| v.as_bytes().or_else(|| v.as_str().map(str::as_bytes)))
}

/// Reads a text field of a stored document.
pub(crate) fn stored_text(doc: &TantivyDocument, field: Field) -> Option<&str> {
    doc.get_first(field).and_then(|v| v.as_str())
}
