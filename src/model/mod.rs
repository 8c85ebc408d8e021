//! The record model: the one contract between importers, the index and the outputs.
//!
//! Field names follow CSL-JSON where CSL has the field (`type`, `title`, `container-title`,
//! `publisher-place`, `issued` as `date-parts`, ...), so exports to reference managers are a
//! rename away. Where exchange records carry more than CSL can hold (several titles in several
//! scripts, contributors with affiliations and roles such as speaker or host, many identifiers,
//! the meeting a talk was given at) the model extends CSL rather than flattening the data.
//! `schema/record.schema.json` documents this model; keep the two in step.
//!
//! This module does no I/O and knows nothing of tantivy or XML.

pub mod country;
mod identity;
mod text;

pub use identity::{identity_keys, normalise_doi, oai_key, stable_id};
pub use text::{clean_owned_text, clean_text, trim_punctuation};

use serde::{Deserialize, Serialize};

/// One bibliographic record of academic exchange: a paper, a talk, a lecture, a book, a thesis...
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Record {
    /// Stable identity derived from the best identifier (see [`stable_id`]); re-importing a record
    /// with the same identity replaces it.
    pub id: String,
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// The main title as catalogued (for a romanised catalogue record, the romanised form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Every other title: parallel, translated, alternate-script (MARC 880), varying forms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_variants: Vec<TitleVariant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contributors: Vec<Contributor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// The venue: journal, proceedings or book a part was published in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_title: Option<String>,
    /// The series (MARC 490).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_place: Option<String>,
    /// ISO 3166-1 alpha-2 code of the country of publication, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// Physical or digital extent as catalogued (MARC 300), e.g. `xiv, 332 pages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_pages: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<PartialDate>,
    /// Languages as ISO 639-2/B codes (`eng`, `chi`, `ger`), lower case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Subject headings and keywords, each as catalogued (`Giant panda -- Behavior`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(rename = "abstract", default, skip_serializing_if = "Option::is_none")]
    pub abstract_text: Option<String>,
    /// Free-text notes, one per catalogued note.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Kind of the item within its type, e.g. the degree of a thesis (`Ph.D.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    pub source: Source,
}

impl Record {
    /// The publication year, from `issued`.
    pub fn year(&self) -> Option<i32> {
        self.issued.as_ref().map(|d| d.year)
    }

    /// Every title this record carries, main title first.
    pub fn all_titles(&self) -> impl Iterator<Item = &str> {
        self.title.iter().map(String::as_str).chain(self.title_variants.iter().map(|v| v.title.as_str()))
    }

    /// The value of the first identifier of `scheme`.
    pub fn identifier(&self, scheme: IdScheme) -> Option<&str> {
        self.identifiers.iter().find(|i| i.scheme == scheme).map(|i| i.value.as_str())
    }

    /// Adds an identifier unless the record already has the same one.
    pub fn add_identifier(&mut self, scheme: IdScheme, value: impl Into<String>) {
        let value = value.into();
        if value.is_empty() || self.identifiers.iter().any(|i| i.scheme == scheme && i.value == value) {
            return;
        }
        self.identifiers.push(Identifier { scheme, value });
    }

    /// Adds a subject unless the record already has it.
    pub fn add_subject(&mut self, subject: String) {
        if !subject.is_empty() && !self.subjects.contains(&subject) {
            self.subjects.push(subject);
        }
    }

    /// Adds a language code (lower-cased) unless the record already has it.
    pub fn add_language(&mut self, code: &str) {
        let code = code.trim().to_ascii_lowercase();
        if !code.is_empty() && !self.languages.contains(&code) {
            self.languages.push(code);
        }
    }

    /// Every country the record is associated with: of publication, of the event, of the
    /// contributors' affiliations. Deduplicated, in that order.
    pub fn countries(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let event = self.event.as_ref().and_then(|e| e.country.as_deref());
        let affiliations =
            self.contributors.iter().flat_map(|c| c.affiliations.iter().filter_map(|a| a.country.as_deref()));
        for country in self.country.as_deref().into_iter().chain(event).chain(affiliations) {
            if !out.contains(&country) {
                out.push(country);
            }
        }
        out
    }
}

/// CSL item types. `Document` is the fallback when nothing better is known, so every record
/// has a type and type facet counts always add up to the hit total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemType {
    #[serde(rename = "article-journal")]
    ArticleJournal,
    #[serde(rename = "article-magazine")]
    ArticleMagazine,
    #[serde(rename = "article-newspaper")]
    ArticleNewspaper,
    #[serde(rename = "paper-conference")]
    PaperConference,
    /// Talks, lectures, conference presentations.
    #[serde(rename = "speech")]
    Speech,
    #[serde(rename = "book")]
    Book,
    #[serde(rename = "chapter")]
    Chapter,
    #[serde(rename = "thesis")]
    Thesis,
    #[serde(rename = "report")]
    Report,
    #[serde(rename = "dataset")]
    Dataset,
    #[serde(rename = "software")]
    Software,
    #[serde(rename = "webpage")]
    Webpage,
    #[serde(rename = "manuscript")]
    Manuscript,
    #[serde(rename = "map")]
    Map,
    #[serde(rename = "graphic")]
    Graphic,
    #[serde(rename = "motion_picture")]
    MotionPicture,
    #[serde(rename = "song")]
    Song,
    #[serde(rename = "musical_score")]
    MusicalScore,
    #[serde(rename = "periodical")]
    Periodical,
    #[serde(rename = "interview")]
    Interview,
    #[serde(rename = "patent")]
    Patent,
    #[serde(rename = "standard")]
    Standard,
    #[serde(rename = "review")]
    Review,
    #[serde(rename = "document")]
    #[default]
    Document,
}

impl ItemType {
    /// The CSL name of the type, as stored in the index and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::ArticleJournal => "article-journal",
            ItemType::ArticleMagazine => "article-magazine",
            ItemType::ArticleNewspaper => "article-newspaper",
            ItemType::PaperConference => "paper-conference",
            ItemType::Speech => "speech",
            ItemType::Book => "book",
            ItemType::Chapter => "chapter",
            ItemType::Thesis => "thesis",
            ItemType::Report => "report",
            ItemType::Dataset => "dataset",
            ItemType::Software => "software",
            ItemType::Webpage => "webpage",
            ItemType::Manuscript => "manuscript",
            ItemType::Map => "map",
            ItemType::Graphic => "graphic",
            ItemType::MotionPicture => "motion_picture",
            ItemType::Song => "song",
            ItemType::MusicalScore => "musical_score",
            ItemType::Periodical => "periodical",
            ItemType::Interview => "interview",
            ItemType::Patent => "patent",
            ItemType::Standard => "standard",
            ItemType::Review => "review",
            ItemType::Document => "document",
        }
    }
}

/// A title other than the main one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TitleVariant {
    pub title: String,
    pub kind: TitleKind,
    /// ISO 639-2/B code, where the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// ISO 15924 script code (`Hani`, `Latn`), where the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TitleKind {
    /// The main title in another script (MARC 880 linked to 245).
    AlternateScript,
    /// A varying form, parallel or translated title (MARC 246, DC repeated title).
    Alternative,
}

/// A person or body who made the item, with the role they played in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Contributor {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    /// The whole name when it cannot be split: organisations, meetings, names as catalogued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// The same name in other scripts (MARC 880), e.g. hanzi for a name catalogued in pinyin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<Affiliation>,
}

impl Contributor {
    /// The name as people read it in a list: `Family, Given`, or the literal name.
    pub fn display_name(&self) -> String {
        match (&self.family, &self.given, &self.literal) {
            (Some(family), Some(given), _) => [family.as_str(), ", ", given].concat(),
            (Some(family), None, _) => family.clone(),
            (None, Some(given), _) => given.clone(),
            (None, None, Some(literal)) => literal.clone(),
            (None, None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    #[default]
    Author,
    Editor,
    /// Gave a talk or lecture.
    Speaker,
    /// Hosted a visiting scholar, a lecture or a meeting.
    Host,
    Translator,
    /// Organised or sponsored a meeting.
    Organizer,
    /// A thesis supervisor.
    Supervisor,
    Contributor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affiliation {
    pub name: String,
    /// ISO 3166-1 alpha-2, where it can be told from the affiliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    pub scheme: IdScheme,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdScheme {
    Doi,
    Isbn,
    Issn,
    Handle,
    Url,
    /// An OAI-PMH item identifier (`oai:zenodo.org:10357859`).
    Oai,
    /// A local control number, qualified by the cataloguing agency (`(OCoLC)ocm63111280`).
    ControlNumber,
    /// A system control number from MARC 035.
    SystemNumber,
    Lccn,
    Other,
}

/// A meeting: conference, workshop, lecture series, exchange visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// The event date as catalogued when it is not a plain date (`1979 June 4-8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_text: Option<String>,
}

/// Where a record came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Source {
    /// The format the record was read in: `marcxml`, `oai_dc`, `oai-pmh`.
    pub format: String,
    /// The file it was imported from (`-` for standard input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The endpoint it was harvested from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// 1-based number of the record within its file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// 1-based line where the record starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The OAI-PMH datestamp (or MARC 005) of the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datestamp: Option<String>,
}

/// A date that may lack its month or day, as bibliographic dates often do. Serialised as CSL's
/// `{"date-parts": [[year, month, day]]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CslDate", try_from = "CslDate")]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl PartialDate {
    pub fn year(year: i32) -> Self {
        PartialDate { year, month: None, day: None }
    }

    /// Reads the leading `YYYY`, `YYYY-MM` or `YYYY-MM-DD` of an ISO-8601-like string, as found
    /// in DC dates and OAI datestamps. Anything after the date (a time) is ignored.
    pub fn parse_iso(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut parts = text.splitn(3, '-');
        let year = parts.next()?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let number = |part: Option<&str>, max: u8| {
            part.and_then(|p| p.get(..2)).and_then(|p| p.parse::<u8>().ok()).filter(|n| (1..=max).contains(n))
        };
        let month = number(parts.next(), 12);
        let day = month.and_then(|_| number(parts.next(), 31));
        Some(PartialDate { year: year.parse().ok()?, month, day })
    }

    /// Finds the first plausible four-digit year (1000–2999) anywhere in catalogued text such as
    /// `[c2005]`, `1979 June 4-8` or `Taibei, 2005.`
    pub fn find_year(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        bytes.windows(4).enumerate().find_map(|(at, w)| {
            let before_ok = at == 0 || !bytes[at - 1].is_ascii_digit();
            let after_ok = bytes.get(at + 4).is_none_or(|b| !b.is_ascii_digit());
            let digits = w.iter().all(u8::is_ascii_digit) && (w[0] == b'1' || w[0] == b'2');
            (before_ok && after_ok && digits)
                .then(|| std::str::from_utf8(w).ok()?.parse().ok().map(PartialDate::year))
                .flatten()
        })
    }
}

#[derive(Serialize, Deserialize)]
struct CslDate {
    #[serde(rename = "date-parts")]
    date_parts: Vec<Vec<i32>>,
}

impl From<PartialDate> for CslDate {
    fn from(date: PartialDate) -> Self {
        let mut parts = vec![date.year];
        if let Some(month) = date.month {
            parts.push(i32::from(month));
            if let Some(day) = date.day {
                parts.push(i32::from(day));
            }
        }
        CslDate { date_parts: vec![parts] }
    }
}

impl TryFrom<CslDate> for PartialDate {
    type Error = String;

    fn try_from(csl: CslDate) -> Result<Self, Self::Error> {
        let parts = csl.date_parts.first().ok_or("date-parts is empty")?;
        let year = *parts.first().ok_or("date-parts has no year")?;
        let small = |i: usize| parts.get(i).and_then(|v| u8::try_from(*v).ok());
        Ok(PartialDate { year, month: small(1), day: small(2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_keep_what_is_there() {
        let date = PartialDate::parse_iso("2011-09-05T12:51:52Z");
        assert_eq!(date, Some(PartialDate { year: 2011, month: Some(9), day: Some(5) }));
        assert_eq!(PartialDate::parse_iso("2011").map(|d| d.month), Some(None));
        assert_eq!(PartialDate::parse_iso("n.d."), None);
    }

    #[test]
    fn years_are_found_in_catalogued_text() {
        assert_eq!(PartialDate::find_year("[c2005]").map(|d| d.year), Some(2005));
        assert_eq!(PartialDate::find_year("Taibei, 1979 June 4-8").map(|d| d.year), Some(1979));
        assert_eq!(PartialDate::find_year("12345 pages"), None);
        assert_eq!(PartialDate::find_year("no date"), None);
    }

    #[test]
    fn dates_serialise_as_csl_date_parts() {
        let date = PartialDate { year: 2020, month: Some(5), day: None };
        let json = serde_json::to_string(&date).expect("serialises");
        assert_eq!(json, r#"{"date-parts":[[2020,5]]}"#);
        let back: PartialDate = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, date);
    }

    #[test]
    fn countries_are_collected_without_repeats() {
        let record = Record {
            country: Some("CN".into()),
            event: Some(Event { country: Some("US".into()), ..Event::default() }),
            contributors: vec![Contributor {
                affiliations: vec![Affiliation { name: "Peking University".into(), country: Some("CN".into()) }],
                ..Contributor::default()
            }],
            ..Record::default()
        };
        assert_eq!(record.countries(), vec!["CN", "US"]);
    }
}
