//! Dublin Core (`oai_dc:dc`), and the fallback for metadata formats acadex has no importer for
//! yet.
//!
//! Simple DC is a flat list of fifteen elements; many richer formats (DataCite, DOAJ,
//! `oai_doaj`) are nested lists of elements with DC-like names. So the reader collects every
//! element's text with its local name and maps names, DC's and their common aliases, onto the
//! model. OAI-PMH records in a format without its own importer are indexed this way instead of
//! being rejected: a title, creators, a date and identifiers are enough to find them.

use std::io::BufRead;

use quick_xml::events::Event;

use super::xml::{self, MAX_DEPTH, XmlFault, XmlReader};
use super::{ParseResult, Parsed, RecordContext, language};
use crate::model::{
    Affiliation, Contributor, IdScheme, ItemType, PartialDate, Record, Role, Source, TitleKind, TitleVariant,
    clean_text, country, normalise_doi, stable_id,
};

/// One element's text, with its local name and the attributes the mapping looks at.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub lang: Option<String>,
    /// `identifierType`, `resourceTypeGeneral`, `xsi:type` and the like.
    pub kind: Option<String>,
}

/// Reads a bare `oai_dc:dc` document whose start tag was just read.
pub(crate) fn read_record<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    context: &RecordContext,
) -> ParseResult {
    let elements = read_elements(reader, buf)?;
    Ok(elements.map(|elements| {
        let mut record = to_record(&elements, context.source("oai_dc"));
        record.id = stable_id(&record);
        Parsed::Record(Box::new(record))
    }))
}

/// Collects the text of every leaf element up to the end tag of the element just opened.
pub(crate) fn read_elements<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
) -> Result<Result<Vec<Element>, String>, XmlFault> {
    let mut elements = Vec::new();
    let mut open: Vec<Element> = Vec::new();
    let mut problem = None;
    loop {
        let (_, event) = xml::next_event(reader, buf)?;
        match &event {
            Event::Start(start) | Event::Empty(start) => {
                let element = Element {
                    name: xml::local_name(start),
                    lang: xml::attribute(start, "lang").ok().flatten(),
                    kind: ["identifierType", "resourceTypeGeneral", "type", "titleType", "descriptionType"]
                        .iter()
                        .find_map(|a| xml::attribute(start, a).ok().flatten()),
                    text: String::new(),
                };
                if matches!(event, Event::Start(_)) {
                    open.push(element);
                } else if carries_meaning_when_empty(&element) {
                    elements.push(element);
                    if open.len() > MAX_DEPTH {
                        return Err(XmlFault::at(reader, format!("elements nested deeper than {MAX_DEPTH}")));
                    }
                }
            }
            Event::End(_) => match open.pop() {
                Some(element) => {
                    if !element.text.trim().is_empty() || carries_meaning_when_empty(&element) {
                        elements.push(element);
                    }
                }
                None => break,
            },
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside a record")),
            other => {
                if let Some(element) = open.last_mut()
                    && let Err(reason) = xml::append_text(other, &mut element.text)
                {
                    problem.get_or_insert(reason);
                }
            }
        }
    }
    Ok(problem.map_or(Ok(elements), Err))
}

/// DataCite's `<resourceType resourceTypeGeneral="Dataset"/>` says everything in its attribute.
fn carries_meaning_when_empty(element: &Element) -> bool {
    element.name == "resourceType" && element.kind.is_some()
}

/// Maps DC elements (and their aliases in other formats) onto the model.
pub(crate) fn to_record(elements: &[Element], source: Source) -> Record {
    let mut record = Record { source, ..Record::default() };
    let mut types = Vec::new();
    for element in elements {
        let text = clean_text(&element.text);
        match element.name.as_str() {
            "title" => match record.title {
                None => record.title = Some(text),
                Some(_) => record.title_variants.push(TitleVariant {
                    title: text,
                    kind: TitleKind::Alternative,
                    language: element.lang.as_deref().and_then(language::normalise),
                    script: None,
                }),
            },
            // `name` is DOAJ's author name (`author/name`).
            "creator" | "creatorName" | "author" | "name" => record.contributors.push(person(&text, Role::Author)),
            "contributor" | "contributorName" => record.contributors.push(person(&text, Role::Contributor)),
            "affiliation" => {
                if let Some(last) = record.contributors.last_mut() {
                    let country = country::from_text(&text).map(str::to_string);
                    last.affiliations.push(Affiliation { name: text, country });
                }
            }
            "subject" | "keyword" => {
                for subject in text.split(';').map(str::trim) {
                    record.add_subject(subject.to_string());
                }
            }
            "description" | "abstract" => match (&record.abstract_text, element.kind.as_deref()) {
                (None, None | Some("Abstract")) => record.abstract_text = Some(text),
                _ => record.notes.push(text),
            },
            "publisher" => record.publisher = record.publisher.take().or(Some(text)),
            "date" | "publicationYear" | "publicationDate" | "issued" if record.issued.is_none() => {
                record.issued = PartialDate::parse_iso(&text).or_else(|| PartialDate::find_year(&text));
            }
            "type" | "resourceType" => {
                types.push(text.to_lowercase());
                if let Some(general) = &element.kind {
                    types.push(general.to_lowercase());
                }
            }
            "identifier" | "doi" | "alternateIdentifier" => add_identifier(&mut record, &text, element.kind.as_deref()),
            "issn" | "eissn" => record.add_identifier(IdScheme::Issn, text),
            "language" => {
                if let Some(code) = language::normalise(&text) {
                    record.add_language(&code);
                }
            }
            "source" | "journalTitle" => record.container_title = record.container_title.take().or(Some(text)),
            "relation" | "coverage" => record.notes.push(text),
            _ => {}
        }
    }
    record.item_type = types.iter().find_map(|t| item_type(t)).unwrap_or(ItemType::Document);
    record
}

/// `Family, Given` as DC creators are usually written; anything else is kept whole.
fn person(name: &str, role: Role) -> Contributor {
    match name.split_once(", ") {
        Some((family, given)) if !family.contains(' ') || family.split(' ').count() <= 3 => Contributor {
            role,
            family: Some(family.to_string()),
            given: Some(given.to_string()),
            ..Contributor::default()
        },
        _ => Contributor { role, literal: Some(name.to_string()), ..Contributor::default() },
    }
}

fn add_identifier(record: &mut Record, text: &str, kind: Option<&str>) {
    let lower = text.to_lowercase();
    let kind = kind.unwrap_or_default().to_lowercase();
    if kind == "doi" || lower.starts_with("10.") || lower.contains("doi.org/10.") || lower.starts_with("doi:") {
        record.add_identifier(IdScheme::Doi, normalise_doi(text));
    } else if lower.starts_with("oai:") {
        record.add_identifier(IdScheme::Oai, text);
    } else if lower.contains("hdl.handle.net/") || kind == "handle" {
        record.add_identifier(IdScheme::Handle, text);
    } else if lower.starts_with("http://") || lower.starts_with("https://") || kind == "url" {
        record.add_identifier(IdScheme::Url, text);
    } else if kind == "isbn" || lower.starts_with("isbn") {
        record.add_identifier(IdScheme::Isbn, text.trim_start_matches(|c: char| !c.is_ascii_digit()).replace('-', ""));
    } else if kind == "issn" || lower.starts_with("issn") {
        record.add_identifier(IdScheme::Issn, text.trim_start_matches(|c: char| !c.is_ascii_digit()));
    } else {
        record.add_identifier(IdScheme::Other, text);
    }
}

/// DC `type` values (DCMI types, COAR/info:eu-repo terms, DataCite resource types, free text)
/// to CSL types.
fn item_type(value: &str) -> Option<ItemType> {
    let value = value.rsplit(['/', '#']).next().unwrap_or(value);
    let has = |words: &[&str]| words.iter().any(|w| value.contains(w));
    Some(if has(&["conferencepaper", "conference paper", "conferenceobject", "conference object", "proceedings"]) {
        ItemType::PaperConference
    } else if has(&["lecture", "speech", "presentation", "talk", "conferenceposter", "poster"]) {
        ItemType::Speech
    } else if has(&["thesis", "dissertation"]) {
        ItemType::Thesis
    } else if has(&["article", "journal"]) {
        ItemType::ArticleJournal
    } else if has(&["bookpart", "book part", "chapter"]) {
        ItemType::Chapter
    } else if has(&["book"]) {
        ItemType::Book
    } else if has(&["report", "workingpaper", "working paper", "preprint"]) {
        ItemType::Report
    } else if has(&["dataset", "data set"]) {
        ItemType::Dataset
    } else if has(&["software"]) {
        ItemType::Software
    } else if has(&["image", "figure", "graphic"]) {
        ItemType::Graphic
    } else if has(&["movingimage", "video", "audiovisual"]) {
        ItemType::MotionPicture
    } else if has(&["sound", "audio"]) {
        ItemType::Song
    } else if has(&["interview"]) {
        ItemType::Interview
    } else if has(&["patent"]) {
        ItemType::Patent
    } else if has(&["standard"]) {
        ItemType::Standard
    } else if has(&["review"]) {
        ItemType::Review
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(name: &str, text: &str) -> Element {
        Element { name: name.into(), text: text.into(), ..Element::default() }
    }

    #[test]
    fn dc_elements_map_onto_the_model() {
        let record = to_record(
            &[
                element("title", "Giant panda habitat"),
                element("title", "大熊猫栖息地"),
                element("creator", "Wu, Yongsheng"),
                element("subject", "pandas; conservation"),
                element("date", "2019-06-04"),
                element("type", "info:eu-repo/semantics/conferencePaper"),
                element("identifier", "https://doi.org/10.1000/XYZ"),
                element("language", "en"),
            ],
            Source::default(),
        );
        assert_eq!(record.title.as_deref(), Some("Giant panda habitat"));
        assert_eq!(record.title_variants[0].title, "大熊猫栖息地");
        assert_eq!(record.contributors[0].family.as_deref(), Some("Wu"));
        assert_eq!(record.subjects, vec!["pandas", "conservation"]);
        assert_eq!(record.issued, Some(PartialDate { year: 2019, month: Some(6), day: Some(4) }));
        assert_eq!(record.item_type, ItemType::PaperConference);
        assert_eq!(record.identifier(IdScheme::Doi), Some("10.1000/xyz"));
        assert_eq!(record.languages, vec!["eng"]);
    }

    #[test]
    fn datacite_general_resource_types_give_the_type() {
        let element =
            Element { name: "resourceType".into(), kind: Some("JournalArticle".into()), ..Element::default() };
        assert!(carries_meaning_when_empty(&element));
        assert_eq!(to_record(&[element], Source::default()).item_type, ItemType::ArticleJournal);
        let dataset = Element { name: "resourceType".into(), kind: Some("Dataset".into()), ..Element::default() };
        assert_eq!(to_record(&[dataset], Source::default()).item_type, ItemType::Dataset);
    }

    #[test]
    fn unknown_types_fall_back_to_document() {
        let record = to_record(&[element("type", "Text")], Source::default());
        assert_eq!(record.item_type, ItemType::Document);
    }
}
