//! MARC 21 slim XML (MARCXML): records as catalogued by libraries.
//!
//! A record is read into a small [`MarcRecord`] (leader, control fields, data fields) and then
//! mapped onto the record model. Conferences and talks are catalogued as meetings (111/711);
//! records in non-Latin scripts carry 880 fields, each linked to its romanised partner field
//! through `$6` (`880-02` in the 245, `245-02/$1` in the 880): the 880 is mapped exactly like
//! its partner and kept with it, so a title catalogued in pinyin with 880 hanzi is found by
//! either script.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use super::xml::{self, XmlFault, XmlReader};
use super::{ParseResult, Parsed, RecordContext, language};
use crate::model::{
    Affiliation, Contributor, Event as Meeting, IdScheme, ItemType, PartialDate, Record, Role, TitleKind, TitleVariant,
    clean_owned_text, clean_text, country, stable_id, trim_punctuation,
};

/// A MARC record as it stands in the XML, before mapping. Read the fast way
/// ([`plain_marc`]), its text is borrowed from the input: a record's hundred-odd tags and
/// subfield values are not copied one allocation at a time only to be mapped and dropped.
#[derive(Debug, Default)]
pub(crate) struct MarcRecord<'a> {
    pub leader: Cow<'a, str>,
    pub control: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub fields: Vec<DataField<'a>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct DataField<'a> {
    pub tag: Cow<'a, str>,
    pub ind1: char,
    pub ind2: char,
    pub subfields: Vec<(char, Cow<'a, str>)>,
}

impl DataField<'_> {
    fn first(&self, code: char) -> Option<&str> {
        self.subfields.iter().find(|(c, _)| *c == code).map(|(_, v)| v.as_ref())
    }

    fn all(&self, code: char) -> impl Iterator<Item = &str> {
        self.subfields.iter().filter(move |(c, _)| *c == code).map(|(_, v)| v.as_ref())
    }

    /// The subfields with the given codes, in order, joined by spaces and cleaned of ISBD
    /// punctuation.
    fn joined(&self, codes: &str) -> Option<String> {
        let mut joined = String::new();
        for (_, value) in self.subfields.iter().filter(|(c, _)| codes.contains(*c)) {
            let value = trim_punctuation(value);
            if value.is_empty() {
                continue;
            }
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(value);
        }
        (!joined.is_empty()).then(|| clean_owned_text(joined))
    }

    /// The `$6` linkage: (partner tag, occurrence, script) for an 880, or (880, occurrence) for
    /// a field that has an 880 partner.
    fn linkage(&self) -> Option<(String, String, Option<&'static str>)> {
        let link = self.first('6')?;
        let (tag_occ, script) = link.split_once('/').map_or((link, None), |(a, b)| (a, Some(b)));
        let (tag, occurrence) = tag_occ.split_once('-')?;
        let occurrence: String = occurrence.chars().take(2).collect();
        Some((tag.to_string(), occurrence, script.and_then(script_code)))
    }
}

/// MARC 880 `$6` script identification codes to ISO 15924.
fn script_code(code: &str) -> Option<&'static str> {
    match code.get(..2)? {
        "$1" => Some("Hani"),
        "(3" => Some("Arab"),
        "(B" => Some("Latn"),
        "(N" => Some("Cyrl"),
        "(S" => Some("Grek"),
        "(2" => Some("Hebr"),
        _ => None,
    }
}

/// Reads the MARC record whose start tag was just read, up to its end tag.
pub(crate) fn read_record<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    _start: &BytesStart<'_>,
    context: &RecordContext,
) -> ParseResult {
    let source = context.source("marcxml");
    Ok(read_marc(reader, buf, |marc| to_record(marc, source))?.map(|record| Parsed::Record(Box::new(record))))
}

/// Reads a MARC record's content up to its end tag, and maps it with `map` (while its text may
/// still be borrowed from the input). A record that breaks MARC's own rules (a field without a
/// tag, a subfield without a code, an element MARC does not have) is read to its end and
/// returned as `Ok(Err(reason))`.
pub(crate) fn read_marc<R: BufRead, T>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    map: impl FnOnce(&MarcRecord<'_>) -> T,
) -> Result<Result<T, String>, XmlFault> {
    let map = match read_marc_in_memory(reader, buf, map)? {
        Ok(mapped) => return Ok(Ok(mapped)),
        Err(map) => map,
    };
    let mut marc = MarcRecord::default();
    let mut problem: Option<String> = None;
    loop {
        // Inside a record namespaces need no resolving: elements are told apart by local name.
        let event = xml::next_plain_event(reader, buf)?;
        let outcome = match event {
            Event::Start(start) => match start.local_name().as_ref() {
                "leader" => xml::read_element_text(reader, buf)?.map(|text| marc.leader = text.into()),
                "controlfield" => {
                    let tag = field_attributes(&start, "controlfield").map(|(tag, _, _)| tag);
                    let text = xml::read_element_text(reader, buf)?;
                    tag.and_then(|tag| text.map(|text| marc.control.push((tag.into(), text.into()))))
                }
                "datafield" => {
                    let attributes = field_attributes(&start, "datafield");
                    read_datafield(reader, buf, attributes)?.map(|field| marc.fields.push(field))
                }
                // Elements MARC does not have, beside the fields (Koha puts its OAI
                // identifier and datestamp there), carry nothing acadex maps: skipped.
                _ => xml::skip_element(reader, buf).map(Ok)?,
            },
            Event::Empty(start) => match start.local_name().as_ref() {
                "controlfield" => field_attributes(&start, "controlfield")
                    .map(|(tag, _, _)| marc.control.push((tag.into(), Cow::Borrowed("")))),
                "datafield" => field_attributes(&start, "datafield")
                    .and_then(|(tag, _, _)| Err(format!("datafield {tag} has no subfields"))),
                _ => Ok(()),
            },
            Event::End(_) => break,
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside a MARC <record>")),
            _ => Ok(()),
        };
        if let Err(reason) = outcome {
            problem.get_or_insert(reason);
        }
    }
    if let Some(reason) = problem {
        return Ok(Err(reason));
    }
    if marc.control.is_empty() && marc.fields.is_empty() {
        return Ok(Err("MARC record has no fields".into()));
    }
    Ok(Ok(map(&marc)))
}

/// Reads a MARC record the fast way, straight from the input in memory that quick-xml has not
/// read yet, when the whole record is there and written plainly (see [`xml::PlainMarkup`]):
/// nearly every record of a catalogue export. `None` leaves the record to quick-xml, with
/// nothing read; a record that breaks a MARC rule is always left to it, so it is reported the
/// one way. The record is mapped with `map` before its input is consumed; `Err(map)` hands
/// `map` back unused when the record is left to quick-xml.
fn read_marc_in_memory<R: BufRead, T, F: FnOnce(&MarcRecord<'_>) -> T>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    map: F,
) -> Result<Result<T, F>, XmlFault> {
    let Ok(input) = reader.get_mut().fill_buf() else { return Ok(Err(map)) };
    let Some((marc, length)) = plain_marc(input) else { return Ok(Err(map)) };
    let mapped = map(&marc);
    drop(marc);
    reader.get_mut().consume_parsed_elsewhere(length);
    // quick-xml reads the record's end tag and checks that it closes the record.
    match xml::next_plain_event(reader, buf)? {
        Event::End(_) => Ok(Ok(mapped)),
        other => Err(XmlFault::at(reader, format!("expected the end of a MARC <record>, found {other:?}"))),
    }
}

/// A plainly written MARC record's content, and its length: up to its end tag.
fn plain_marc(input: &[u8]) -> Option<(MarcRecord<'_>, usize)> {
    let mut xml = xml::PlainMarkup::up_to_end_tag(input, "record")?;
    let mut marc = MarcRecord::default();
    loop {
        let (name, attributes) = match xml.tag_after_whitespace()? {
            xml::PlainTag::Start { name, attributes } => (name, attributes),
            xml::PlainTag::End(_) if marc.control.is_empty() && marc.fields.is_empty() => return None,
            xml::PlainTag::End(_) => return xml.is_at_end().then(|| (marc, xml.last_tag_at())),
        };
        match xml::local_part(name) {
            "leader" => {
                xml::plain_attribute_values(attributes, [])?;
                marc.leader = xml.element_text(name)?;
            }
            "controlfield" => {
                let [tag] = xml::plain_attribute_values(attributes, ["tag"])?;
                let tag = checked_tag(tag.map(Cow::Borrowed), "controlfield").ok()?;
                marc.control.push((tag, xml.element_text(name)?));
            }
            "datafield" => {
                let [tag, ind1, ind2] = xml::plain_attribute_values(attributes, ["tag", "ind1", "ind2"])?;
                let tag = checked_tag(tag.map(Cow::Borrowed), "datafield").ok()?;
                let subfields = Vec::with_capacity(4);
                let mut field = DataField { tag, ind1: indicator(ind1), ind2: indicator(ind2), subfields };
                loop {
                    match xml.tag_after_whitespace()? {
                        xml::PlainTag::Start { name: subfield, attributes }
                            if xml::local_part(subfield) == "subfield" =>
                        {
                            let [code] = xml::plain_attribute_values(attributes, ["code"])?;
                            let code = checked_code(code, &field.tag).ok()?;
                            let text = xml.element_text(subfield)?;
                            field.subfields.push((code, text));
                        }
                        xml::PlainTag::End(end) if end == name => break,
                        _ => return None,
                    }
                }
                marc.fields.push(field);
            }
            _ => return None,
        }
    }
}

/// The tag and indicators of a field, read in one pass over its attributes.
fn field_attributes(start: &BytesStart<'_>, element: &str) -> Result<(String, char, char), String> {
    let (tag, ind1, ind2) = match xml::plain_attributes(start, ["tag", "ind1", "ind2"]) {
        Some([tag, ind1, ind2]) => (tag.map(str::to_string), indicator(ind1), indicator(ind2)),
        None => {
            let (mut tag, mut ind1, mut ind2) = (None, ' ', ' ');
            // Without the duplicate check, which is quadratic in the number of attributes.
            for attribute in start.attributes().with_checks(false) {
                let attribute = attribute.map_err(|e| format!("bad attribute in <{element}>: {e}"))?;
                match attribute.key.local_name().as_ref() {
                    "tag" => tag = Some(attribute.value.to_string()),
                    "ind1" => ind1 = indicator(Some(&attribute.value)),
                    "ind2" => ind2 = indicator(Some(&attribute.value)),
                    _ => {}
                }
            }
            (tag, ind1, ind2)
        }
    };
    Ok((checked_tag(tag.map(Cow::Owned), element)?.into_owned(), ind1, ind2))
}

/// An indicator: the first character of its attribute, blank if there is none.
fn indicator(value: Option<&str>) -> char {
    value.and_then(|v| v.chars().next()).unwrap_or(' ')
}

/// A field's tag, if it has one of three letters or digits.
fn checked_tag<'a>(tag: Option<Cow<'a, str>>, element: &str) -> Result<Cow<'a, str>, String> {
    let tag = tag.ok_or_else(|| format!("{element} without a tag"))?;
    let valid = tag.len() == 3 && tag.bytes().all(|b| b.is_ascii_alphanumeric());
    if valid { Ok(tag) } else { Err(format!("{element} tag \"{tag}\" is not three letters or digits")) }
}

fn read_datafield<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    attributes: Result<(String, char, char), String>,
) -> Result<Result<DataField<'static>, String>, XmlFault> {
    let (mut field, mut problem) = match attributes {
        Ok((tag, ind1, ind2)) => (DataField { tag: tag.into(), ind1, ind2, subfields: Vec::with_capacity(4) }, None),
        Err(reason) => (DataField::default(), Some(reason)),
    };
    loop {
        let event = xml::next_plain_event(reader, buf)?;
        match event {
            Event::Start(start) => {
                let code = match start.local_name().as_ref() {
                    "subfield" => subfield_code(&start, &field.tag),
                    other => Err(format!("unexpected element <{other}> in datafield {}", field.tag)),
                };
                match (code, xml::read_element_text(reader, buf)?) {
                    (Ok(code), Ok(text)) => field.subfields.push((code, text.into())),
                    (Err(reason), _) | (_, Err(reason)) => {
                        problem.get_or_insert(reason);
                    }
                }
            }
            Event::Empty(start) => {
                let code = match start.local_name().as_ref() {
                    "subfield" => subfield_code(&start, &field.tag),
                    other => Err(format!("unexpected element <{other}> in datafield {}", field.tag)),
                };
                if let Err(reason) = code {
                    problem.get_or_insert(reason);
                }
            }
            Event::End(_) => break,
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside a MARC <datafield>")),
            _ => {}
        }
    }
    Ok(problem.map_or(Ok(field), Err))
}

fn subfield_code(start: &BytesStart<'_>, tag: &str) -> Result<char, String> {
    if let Some([plain]) = xml::plain_attributes(start, ["code"]) {
        return checked_code(plain, tag);
    }
    // Without the duplicate check, which is quadratic in the number of attributes.
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(|e| format!("bad attribute in a subfield of datafield {tag}: {e}"))?;
        if attribute.key.local_name().as_ref() == "code" {
            return checked_code(Some(&attribute.value), tag);
        }
    }
    checked_code(None, tag)
}

/// A subfield's code, if it has one of one printable ASCII character.
fn checked_code(code: Option<&str>, tag: &str) -> Result<char, String> {
    let code = code.ok_or_else(|| format!("subfield without a code in datafield {tag}"))?;
    let mut chars = code.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_graphic() => Ok(c),
        _ => Err(format!("subfield code \"{code}\" in datafield {tag} is not one character")),
    }
}

/// Maps a MARC record onto the record model.
pub(crate) fn to_record(marc: &MarcRecord<'_>, source: crate::model::Source) -> Record {
    let mut record = Record { source, ..Record::default() };
    let control = |tag: &str| marc.control.iter().find(|(t, _)| t == tag).map(|(_, v)| v.trim());
    let fixed = control("008").unwrap_or_default();
    let fixed_at = |range: std::ops::Range<usize>| fixed.get(range).unwrap_or_default();

    if let Some(number) = control("001").filter(|n| !n.is_empty()) {
        let value = match control("003").filter(|a| !a.is_empty()) {
            Some(agency) => ["(", agency, ")", number].concat(),
            None => number.to_string(),
        };
        record.add_identifier(IdScheme::ControlNumber, value);
    }
    if let Some(stamp) = control("005") {
        record.source.datestamp = Some(stamp.to_string());
    }
    if let Ok(year) = fixed_at(7..11).parse::<i32>()
        && (1000..3000).contains(&year)
    {
        record.issued = Some(PartialDate::year(year));
    }
    record.country = country::from_marc_code(fixed_at(15..18)).map(str::to_string);
    if let Some(code) = language::normalise(fixed_at(35..38)) {
        record.add_language(&code);
    }

    let mut mapper = FieldMapper { record, links: Vec::new(), saw_meeting: false, thesis: false, genres: Vec::new() };
    for field in &marc.fields {
        if field.tag == "880" {
            continue;
        }
        let contributors_before = mapper.record.contributors.len();
        mapper.map(field, None);
        if let Some((tag, occurrence, _)) = field.linkage().filter(|(tag, occ, _)| tag == "880" && occ != "00") {
            let contributor = (mapper.record.contributors.len() > contributors_before).then_some(contributors_before);
            mapper.links.push(([&field.tag, "-", occurrence.as_str()].concat(), contributor));
            let _ = tag;
        }
    }
    for field in marc.fields.iter().filter(|f| f.tag == "880") {
        if let Some((partner, occurrence, script)) = field.linkage() {
            let mut partner_field = field.clone();
            partner_field.tag = partner.into();
            let key = [&partner_field.tag, "-", occurrence.as_str()].concat();
            let linked = mapper.links.iter().find(|(k, _)| *k == key).and_then(|(_, c)| *c);
            mapper.map(&partner_field, Some(AltScript { script, contributor: linked }));
        }
    }
    let leader = marc.leader.as_bytes();
    mapper.record.item_type = item_type(
        leader.get(6).copied().unwrap_or(b' '),
        leader.get(7).copied().unwrap_or(b' '),
        fixed_at(24..28),
        &mapper,
    );
    let mut record = mapper.record;
    record.id = stable_id(&record);
    record
}

/// An 880 being mapped: its script, and the contributor its partner field made, if any.
#[derive(Clone, Copy)]
struct AltScript {
    script: Option<&'static str>,
    contributor: Option<usize>,
}

struct FieldMapper {
    record: Record,
    /// `tag-occurrence` of fields with an 880 partner, and the contributor each one made.
    links: Vec<(String, Option<usize>)>,
    saw_meeting: bool,
    thesis: bool,
    genres: Vec<String>,
}

impl FieldMapper {
    fn map(&mut self, field: &DataField, alt: Option<AltScript>) {
        let record = &mut self.record;
        match field.tag.as_ref() {
            "020" => {
                for isbn in field.all('a') {
                    let isbn = isbn.split_whitespace().next().unwrap_or_default();
                    record.add_identifier(IdScheme::Isbn, isbn.replace('-', ""));
                }
            }
            "022" => field.all('a').for_each(|issn| record.add_identifier(IdScheme::Issn, issn.trim())),
            "024" => {
                let scheme = field.first('2').unwrap_or_default().to_ascii_lowercase();
                if let Some(value) = field.first('a') {
                    match scheme.as_str() {
                        "doi" => record.add_identifier(IdScheme::Doi, crate::model::normalise_doi(value)),
                        "hdl" | "handle" => record.add_identifier(IdScheme::Handle, value.trim()),
                        "uri" | "url" => record.add_identifier(IdScheme::Url, value.trim()),
                        _ => record.add_identifier(IdScheme::Other, value.trim()),
                    }
                }
            }
            "010" => field.all('a').for_each(|n| record.add_identifier(IdScheme::Lccn, n.trim())),
            "035" => field.all('a').for_each(|n| record.add_identifier(IdScheme::SystemNumber, n.trim())),
            "041" => {
                for codes in field.all('a') {
                    let codes = codes.trim();
                    for at in (0..codes.len()).step_by(3) {
                        if let Some(code) = codes.get(at..at + 3).and_then(language::normalise) {
                            record.add_language(&code);
                        }
                    }
                }
            }
            "100" | "700" => self.add_person(field, alt),
            "110" | "710" => self.add_body(field, alt, "abcdn"),
            "111" | "711" => self.add_meeting(field, alt),
            "245" => {
                if let Some(title) = title_of(field) {
                    match alt {
                        None if record.title.is_none() => record.title = Some(title),
                        None => add_variant(record, title, TitleKind::Alternative, None),
                        Some(alt) => add_variant(record, title, TitleKind::AlternateScript, alt.script),
                    }
                }
            }
            "246" | "240" | "242" | "130" => {
                if let Some(title) = title_of(field) {
                    add_variant(record, title, TitleKind::Alternative, alt.and_then(|a| a.script));
                }
            }
            "250" => set_or_parallel(&mut record.edition, field.joined("ab")),
            "260" | "264" => {
                if field.tag == "264" && !matches!(field.ind2, '1' | ' ') {
                    return;
                }
                set_or_parallel(&mut record.publisher_place, field.first('a').map(|p| clean_text(trim_punctuation(p))));
                set_or_parallel(&mut record.publisher, field.first('b').map(|p| clean_text(trim_punctuation(p))));
                if record.issued.is_none() {
                    record.issued = field.first('c').and_then(PartialDate::find_year);
                }
            }
            "300" => set_or_parallel(&mut record.number_of_pages, field.joined("a")),
            "490" | "440" | "830" if (record.collection_title.is_none() || alt.is_some()) => {
                set_or_parallel(&mut record.collection_title, field.joined("a"));
            }
            "500" | "546" | "504" | "505" => {
                if let Some(note) = field.joined("a") {
                    record.notes.push(note);
                }
            }
            "502" => {
                self.thesis = true;
                record.genre = field.first('b').map(|d| clean_text(trim_punctuation(d)));
                if let Some(note) = field.joined("abcd") {
                    record.notes.push(note);
                }
                if record.publisher.is_none() {
                    record.publisher = field.first('c').map(|p| clean_text(trim_punctuation(p)));
                }
            }
            "520" => {
                if let Some(summary) = field.joined("ab") {
                    match &mut record.abstract_text {
                        Some(text) => {
                            text.push_str("\n\n");
                            text.push_str(&summary);
                        }
                        None => record.abstract_text = Some(summary),
                    }
                }
            }
            "600" | "610" | "611" | "630" | "648" | "650" | "651" | "654" | "655" | "656" | "657" => {
                if let Some(subject) = subject_heading(field) {
                    if field.tag == "655" {
                        self.genres.push(subject.to_lowercase());
                    }
                    self.record.add_subject(subject);
                }
            }
            "653" | "690" => field.all('a').for_each(|k| record.add_subject(clean_text(trim_punctuation(k)))),
            "773" => {
                set_or_parallel(
                    &mut record.container_title,
                    field.first('t').or(field.first('a')).map(|t| clean_text(trim_punctuation(t))),
                );
                if let Some(issn) = field.first('x') {
                    record.add_identifier(IdScheme::Issn, issn.trim());
                }
                if let Some(related) = field.first('g') {
                    parse_related_parts(record, related);
                }
            }
            "856" => {
                for url in field.all('u') {
                    let url = url.trim();
                    if let Some(at) = url.find("doi.org/10.") {
                        record.add_identifier(IdScheme::Doi, crate::model::normalise_doi(&url[at + 8..]));
                    } else if url.contains("hdl.handle.net/") {
                        record.add_identifier(IdScheme::Handle, url);
                    } else {
                        record.add_identifier(IdScheme::Url, url);
                    }
                }
            }
            _ => {}
        }
    }

    fn add_person(&mut self, field: &DataField, alt: Option<AltScript>) {
        let Some(name) = field.first('a').map(|n| clean_text(trim_punctuation(n))).filter(|n| !n.is_empty()) else {
            return;
        };
        if let Some(index) = alt.and_then(|a| a.contributor)
            && let Some(contributor) = self.record.contributors.get_mut(index)
        {
            contributor.alternate_names.push(name);
            return;
        }
        let (family, given, literal) = match (field.ind1, name.split_once(", ")) {
            ('1' | '3', Some((family, given))) => (Some(family.to_string()), Some(given.to_string()), None),
            ('1' | '3', None) => (Some(name), None, None),
            _ => (None, None, Some(name)),
        };
        let contributor = Contributor {
            role: role_of(field),
            family,
            given,
            literal,
            affiliations: affiliations_of(field),
            ..Contributor::default()
        };
        self.record.contributors.push(contributor);
    }

    fn add_body(&mut self, field: &DataField, alt: Option<AltScript>, codes: &str) {
        let Some(name) = field.joined(codes) else { return };
        if let Some(index) = alt.and_then(|a| a.contributor)
            && let Some(contributor) = self.record.contributors.get_mut(index)
        {
            contributor.alternate_names.push(name);
            return;
        }
        let contributor = Contributor {
            role: role_of(field),
            literal: Some(name),
            affiliations: affiliations_of(field),
            ..Contributor::default()
        };
        self.record.contributors.push(contributor);
    }

    /// 111/711: a meeting. The first becomes the record's event; its sponsor or host ($e, $j)
    /// does not make it a contributor.
    fn add_meeting(&mut self, field: &DataField, alt: Option<AltScript>) {
        self.saw_meeting = true;
        let Some(title) = field.joined("aenq").map(|t| clean_text(&t.replace(['(', ')'], ""))) else { return };
        let event = self.record.event.get_or_insert_with(Meeting::default);
        match (&mut event.title, alt) {
            (None, _) => {
                event.title = Some(title);
                event.place = field.first('c').map(|p| clean_text(trim_punctuation(p).trim_matches(['(', ')'])));
                let date = field.first('d').map(|d| clean_text(trim_punctuation(d).trim_matches(['(', ')', ' '])));
                event.date = date.as_deref().and_then(PartialDate::find_year);
                event.date_text = date;
                event.country = event.place.as_deref().and_then(country::from_text).map(str::to_string);
            }
            (Some(existing), Some(_)) => {
                existing.push_str(" = ");
                existing.push_str(&title);
            }
            (Some(_), None) => add_variant(&mut self.record, title, TitleKind::Alternative, None),
        }
    }
}

fn add_variant(record: &mut Record, title: String, kind: TitleKind, script: Option<&'static str>) {
    if record.all_titles().any(|t| t == title) {
        return;
    }
    record.title_variants.push(TitleVariant { title, kind, language: None, script: script.map(str::to_string) });
}

/// Sets a single-valued field; an 880 partner's value is added as an ISBD parallel form
/// (`Da xin shu ju = 大新書局`), which keeps both scripts searchable.
fn set_or_parallel(slot: &mut Option<String>, value: Option<String>) {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return };
    match slot {
        None => *slot = Some(value),
        Some(existing) if !existing.contains(&value) => {
            existing.push_str(" = ");
            existing.push_str(&value);
        }
        Some(_) => {}
    }
}

/// Title proper with remainder and parts: `$a : $b. $n, $p`.
fn title_of(field: &DataField) -> Option<String> {
    let main = field.joined("a")?;
    match field.joined("bnp") {
        Some(rest) => Some([main.as_str(), ": ", &rest].concat()),
        None => Some(main),
    }
}

/// A subject heading with its subdivisions joined as librarians write them:
/// `China -- Social life and customs`.
fn subject_heading(field: &DataField) -> Option<String> {
    // At most every subfield, each after the longest separator.
    let at_most = field.subfields.iter().map(|(_, value)| value.len() + " -- ".len()).sum();
    let mut heading = String::with_capacity(at_most);
    for (code, value) in &field.subfields {
        let value = trim_punctuation(value);
        if value.is_empty() || code.is_ascii_digit() {
            continue;
        }
        let separator = if matches!(code, 'v' | 'x' | 'y' | 'z') { " -- " } else { " " };
        if !heading.is_empty() {
            heading.push_str(separator);
        }
        heading.push_str(value);
    }
    (!heading.is_empty()).then(|| clean_owned_text(heading))
}

/// Relator term ($e) or code ($4) to a role.
fn role_of(field: &DataField) -> Role {
    let terms =
        field.all('e').chain(field.all('4')).chain(field.all('j')).map(|t| trim_punctuation(t).to_ascii_lowercase());
    for term in terms {
        let role = match term.as_str() {
            "spk" | "speaker" | "lecturer" | "presenter" | "pre" => Role::Speaker,
            "edt" | "editor" | "ed" | "eds" | "edc" => Role::Editor,
            "his" | "host" | "host institution" => Role::Host,
            "trl" | "translator" | "tr" => Role::Translator,
            "orm" | "organizer" | "organiser" | "spn" | "sponsor" | "sponsoring body" => Role::Organizer,
            "ths" | "thesis advisor" | "dgs" | "degree supervisor" | "supervisor" => Role::Supervisor,
            "aut" | "author" | "cre" | "creator" => Role::Author,
            "ctb" | "contributor" => Role::Contributor,
            _ => continue,
        };
        return role;
    }
    Role::Author
}

/// Affiliations from `$u`, with the country read from their text.
fn affiliations_of(field: &DataField) -> Vec<Affiliation> {
    field
        .all('u')
        .map(|u| clean_text(trim_punctuation(u)))
        .filter(|u| !u.is_empty())
        .map(|name| Affiliation { country: country::from_text(&name).map(str::to_string), name })
        .collect()
}

/// Reads volume, issue and pages out of a 773 `$g` such as `Vol. 12, no. 3 (2010), p. 45-67`.
fn parse_related_parts(record: &mut Record, related: &str) {
    let lower = related.to_lowercase();
    let number_after = |marker: &str| -> Option<String> {
        let at = lower.find(marker)? + marker.len();
        let rest = related.get(at..)?.trim_start_matches(['.', ' ']);
        let value: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
        (!value.is_empty()).then_some(value)
    };
    record.volume = record.volume.take().or_else(|| number_after("vol"));
    record.issue = record.issue.take().or_else(|| number_after("no"));
    record.page = record.page.take().or_else(|| number_after("p"));
    if record.issued.is_none() {
        record.issued = PartialDate::find_year(related);
    }
}

/// Chooses the CSL type from the leader (06 type of record, 07 bibliographic level), 008
/// nature of contents, and what the fields said (a 502 dissertation note, a meeting, genre
/// headings such as `Lectures`).
fn item_type(record_type: u8, level: u8, contents: &str, fields: &FieldMapper) -> ItemType {
    let genre = |words: &[&str]| fields.genres.iter().any(|g| words.iter().any(|w| g.contains(w)));
    let host = fields.record.container_title.as_deref().unwrap_or_default().to_lowercase();
    let host_is_meeting = ["proceedings", "conference", "symposium", "workshop", "congress", "colloquium"]
        .iter()
        .any(|w| host.contains(w));
    let textual = matches!(record_type, b'a' | b't');
    if fields.thesis || (textual && contents.contains('m')) || genre(&["thesis", "theses", "dissertation"]) {
        return ItemType::Thesis;
    }
    if genre(&["lecture", "speech", "addresses", "talk"]) {
        return ItemType::Speech;
    }
    if textual && matches!(level, b'a' | b'b' | b'd') {
        if fields.saw_meeting || host_is_meeting || genre(&["conference paper"]) {
            return ItemType::PaperConference;
        }
        let host_is_serial = fields.record.identifier(IdScheme::Issn).is_some() || level == b'b';
        return if host_is_serial || !host.is_empty() && !host.contains("book") {
            ItemType::ArticleJournal
        } else {
            ItemType::Chapter
        };
    }
    match record_type {
        b'a' | b't' if level == b's' || level == b'i' => ItemType::Periodical,
        b'a' if contents.contains('t') => ItemType::Report,
        b'a' | b't' => ItemType::Book,
        b'e' | b'f' => ItemType::Map,
        b'g' => ItemType::MotionPicture,
        b'i' => ItemType::Speech,
        b'j' => ItemType::Song,
        b'c' | b'd' => ItemType::MusicalScore,
        b'k' => ItemType::Graphic,
        b'm' => ItemType::Software,
        _ => ItemType::Document,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a reader yields, in full: records with their originals, errors with their
    /// positions and verbatim bytes.
    fn read_all(input: impl BufRead) -> Vec<String> {
        match crate::formats::open(input, "in.xml", None) {
            Ok(records) => records.map(|item| format!("{item:?}")).collect(),
            Err(error) => vec![format!("{error:?}")],
        }
    }

    /// After the XML declaration (or the first 64 bytes of a file without one), from which the
    /// encoding is told, the input comes a byte at a time: no record is ever whole in memory,
    /// so every one goes through quick-xml.
    fn read_all_through_quick_xml(input: &[u8]) -> Vec<String> {
        let declaration = match input.starts_with(b"<?xml") {
            true => input.windows(2).position(|w| w == b"?>").map_or(input.len(), |at| at + 2),
            false => input.len().min(64),
        };
        let (head, rest) = input.split_at(declaration);
        read_all(std::io::Read::chain(head, std::io::BufReader::with_capacity(1, rest)))
    }

    fn marc_collection(record: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<collection xmlns=\"http://www.loc.gov/MARC21/slim\">\n\
             <record>{record}</record>\n<record><controlfield tag=\"001\">next</controlfield></record>\n</collection>\n"
        )
    }

    #[test]
    fn plain_records_are_read_in_memory_exactly_as_quick_xml_reads_them() {
        let plain = [
            r#"<leader>00000nam a2200000 a 4500</leader><controlfield tag="001">x1</controlfield>"#,
            "\n  <datafield tag=\"245\" ind1=\"1\" ind2=\"0\">\n    <subfield code=\"a\">Fish &amp; chips &lt;3 &quot;&apos;&gt;</subfield>\n  </datafield>",
            r#"<datafield tag="650" ind2="7"><subfield code="a"></subfield><subfield code="2">熊猫</subfield></datafield>"#,
            r#"<datafield tag="999"></datafield><controlfield tag="001"></controlfield>"#,
        ];
        let not_plain = [
            // quick-xml reads these to the same record, or rejects them; either way it decides.
            r#"<controlfield tag="001">a&#x41;</controlfield>"#,
            r#"<controlfield tag="001">a&nbsp;</controlfield>"#,
            r#"<controlfield tag="001">fish & chips</controlfield>"#,
            "<controlfield tag=\"001\">a\r\nb</controlfield>",
            r#"<controlfield tag="001"><![CDATA[a<b]]></controlfield>"#,
            r#"<!-- note --><controlfield tag="001">a</controlfield>"#,
            r#"<controlfield tag='001'>a</controlfield>"#,
            r#"<controlfield tag="001" x="a>b">a</controlfield>"#,
            r#"<controlfield tag="001">a</controlfield ><controlfield tag="003">b</controlfield>"#,
            r#"<controlfield tag="001"/><controlfield tag="003">b</controlfield>"#,
            r#"<datafield tag="245"><subfield code="a"/></datafield>"#,
            r#"<datafield tag="245"><subfield code="a">a<i>b</i></subfield></datafield>"#,
            r#"<datafield tag="245">text<subfield code="a">a</subfield></datafield>"#,
            r#"<koha>x</koha><controlfield tag="001">a</controlfield>"#,
            // Broken MARC: rejected, by the one path that reports it.
            r#"<datafield tag="24"><subfield code="a">a</subfield></datafield>"#,
            r#"<datafield tag="245"><subfield>a</subfield></datafield>"#,
            r#"<datafield tag="245"><subfield code="ab">a</subfield></datafield>"#,
            r#"<controlfield>a</controlfield>"#,
            "<leader>a\0</leader>",
            // Broken XML.
            r#"<datafield tag="245"><subfield code="a">a</subfeld></datafield>"#,
            r#"<datafield tag="245"><subfield code="a">a</subfield></record>"#,
        ];
        for (content, expect_plain) in plain.iter().map(|c| (c, true)).chain(not_plain.iter().map(|c| (c, false))) {
            let with_end = format!("{content}</record>");
            assert_eq!(plain_marc(with_end.as_bytes()).is_some(), expect_plain, "{content}");
            let xml = marc_collection(content);
            assert_eq!(read_all(xml.as_bytes()), read_all_through_quick_xml(xml.as_bytes()), "{content}");
        }
        // Cut off by the end of what is in memory: left to quick-xml, which reads on.
        let chabon = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/valid/marcxml/marc4j_chabon.xml"),
        )
        .expect("fixture");
        let content = &chabon[chabon.find("<leader").expect("leader")..];
        let end = content.find("</record>").expect("end");
        let (marc, length) = plain_marc(content.as_bytes()).expect("read in memory");
        assert_eq!(length, end);
        assert_eq!(
            marc.fields.iter().find(|f| f.tag == "245").and_then(|f| f.first('a')),
            Some("The amazing adventures of Kavalier and Clay :")
        );
        for cut in [1, end / 2, end - 1] {
            assert!(plain_marc(&content.as_bytes()[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn every_xml_fixture_reads_the_same_in_memory_and_through_quick_xml() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut folders = vec![root];
        let mut files = 0;
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "xml") {
                    let bytes = std::fs::read(&path).expect("fixture");
                    assert_eq!(read_all(bytes.as_slice()), read_all_through_quick_xml(&bytes), "{}", path.display());
                    files += 1;
                }
            }
        }
        assert!(files > 30, "only {files} fixtures");
    }

    fn field(tag: &'static str, ind1: char, subfields: &[(char, &'static str)]) -> DataField<'static> {
        DataField {
            tag: tag.into(),
            ind1,
            ind2: ' ',
            subfields: subfields.iter().map(|(c, v)| (*c, (*v).into())).collect(),
        }
    }

    fn chinese_book() -> MarcRecord<'static> {
        MarcRecord {
            leader: "01685cam a2200421Ia 4500".into(),
            control: vec![
                ("001".into(), "ocm63111280 ".into()),
                ("003".into(), "OCoLC".into()),
                ("008".into(), "060119s2005    ch a     b    000 0 chi d".into()),
            ],
            fields: vec![
                field("100", '1', &[('6', "880-01"), ('a', "Ye, Hanao,"), ('d', "1952-")]),
                field(
                    "245",
                    '1',
                    &[
                        ('6', "880-02"),
                        ('a', "Riben min su, xin yang, yi neng, yu Zhongguo wen hua /"),
                        ('c', "Ye Hanao zhu."),
                    ],
                ),
                field("260", ' ', &[('6', "880-03"), ('a', "Taibei Shi :"), ('b', "Da xin shu ju,"), ('c', "[2005]")]),
                field("651", ' ', &[('a', "China"), ('x', "Social life and customs.")]),
                field("880", '1', &[('6', "100-01/$1"), ('a', "葉漢鰲,"), ('d', "1952-")]),
                field("880", '1', &[('6', "245-02/$1"), ('a', "日本民俗·信仰·藝能·與中國文化 /"), ('c', "葉漢鰲著.")]),
                field("880", ' ', &[('6', "260-03/$1"), ('a', "台北市 :"), ('b', "大新書局,"), ('c', "[2005]")]),
            ],
        }
    }

    #[test]
    fn fields_linked_by_880_keep_both_scripts_together() {
        let record = to_record(&chinese_book(), crate::model::Source::default());
        assert_eq!(record.id, "marc:(OCoLC)ocm63111280");
        assert_eq!(record.title.as_deref(), Some("Riben min su, xin yang, yi neng, yu Zhongguo wen hua"));
        assert_eq!(record.title_variants[0].title, "日本民俗·信仰·藝能·與中國文化");
        assert_eq!(record.title_variants[0].script.as_deref(), Some("Hani"));
        assert_eq!(record.contributors.len(), 1);
        assert_eq!(record.contributors[0].family.as_deref(), Some("Ye"));
        assert_eq!(record.contributors[0].alternate_names, vec!["葉漢鰲"]);
        assert_eq!(record.publisher.as_deref(), Some("Da xin shu ju = 大新書局"));
        assert_eq!(record.country.as_deref(), Some("TW"));
        assert_eq!(record.languages, vec!["chi"]);
        assert_eq!(record.year(), Some(2005));
        assert_eq!(record.item_type, ItemType::Book);
        assert_eq!(record.subjects, vec!["China -- Social life and customs"]);
    }

    #[test]
    fn meetings_become_the_event_and_make_papers_conference_papers() {
        let marc = MarcRecord {
            leader: "00000naa a2200000 a 4500".into(),
            control: vec![("001".into(), "42".into())],
            fields: vec![
                field("245", '0', &[('a', "Panda habitat in Sichuan.")]),
                field(
                    "711",
                    '2',
                    &[
                        ('a', "International Bear Conference"),
                        ('n', "(12th :"),
                        ('d', "2019 :"),
                        ('c', "Chengdu, China)"),
                    ],
                ),
                field(
                    "773",
                    '0',
                    &[('t', "Proceedings of the 12th International Bear Conference"), ('g', "Vol. 3, p. 45-67")],
                ),
            ],
        };
        let record = to_record(&marc, crate::model::Source::default());
        assert_eq!(record.item_type, ItemType::PaperConference);
        let event = record.event.expect("event");
        assert_eq!(event.title.as_deref(), Some("International Bear Conference 12th"));
        assert_eq!(event.place.as_deref(), Some("Chengdu, China"));
        assert_eq!(event.country.as_deref(), Some("CN"));
        assert_eq!(event.date.map(|d| d.year), Some(2019));
        assert_eq!(record.volume.as_deref(), Some("3"));
        assert_eq!(record.page.as_deref(), Some("45-67"));
    }

    #[test]
    fn relator_codes_give_roles() {
        assert_eq!(role_of(&field("700", '1', &[('a', "Wu, Yongsheng"), ('4', "spk")])), Role::Speaker);
        assert_eq!(role_of(&field("700", '1', &[('a', "Li, Ming"), ('e', "editor.")])), Role::Editor);
        assert_eq!(role_of(&field("700", '1', &[('a', "Li, Ming")])), Role::Author);
    }
}
