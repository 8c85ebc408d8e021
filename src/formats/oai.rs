//! OAI-PMH records (`ListRecords`, `GetRecord` responses): a header and the metadata in some
//! format. The header gives the OAI identifier and datestamp; `status="deleted"` deletes the
//! record from the index. MARCXML and oai_dc metadata go to their own mappers; other metadata
//! formats are read by the generic element mapper of [`super::dublin_core`].

use std::io::BufRead;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::xml::{self, MARC_NS, OAI_DC_NS, XmlFault, XmlReader};
use super::{ParseResult, Parsed, RecordContext, dublin_core, marcxml};
use crate::model::{IdScheme, ItemType, Record, oai_key, stable_id};

#[derive(Default)]
struct Header {
    identifier: Option<String>,
    datestamp: Option<String>,
    deleted: bool,
}

/// Reads the OAI `record` whose start tag was just read.
pub(crate) fn read_record<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    context: &RecordContext,
) -> ParseResult {
    let mut header = Header::default();
    let mut metadata: Option<Result<Record, String>> = None;
    let mut problem: Option<String> = None;
    loop {
        let (_, event) = xml::next_event(reader, buf)?;
        match event {
            Event::Start(start) => {
                let start = start.into_owned();
                match xml::local_name(&start).as_str() {
                    "header" => {
                        header.deleted = xml::attribute(&start, "status").ok().flatten().as_deref() == Some("deleted");
                        if let Err(reason) = read_header(reader, buf, &mut header)? {
                            problem.get_or_insert(reason);
                        }
                    }
                    "metadata" => metadata = read_metadata(reader, buf, context)?,
                    _ => xml::skip_element(reader, buf)?,
                }
            }
            Event::End(_) => break,
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside an OAI-PMH <record>")),
            _ => {}
        }
    }
    if let Some(reason) = problem {
        return Ok(Err(reason));
    }
    let Some(identifier) = header.identifier.filter(|i| !i.is_empty()) else {
        return Ok(Err("OAI-PMH record without a header identifier".into()));
    };
    if header.deleted {
        return Ok(Ok(Parsed::Delete(oai_key(&identifier))));
    }
    match metadata {
        None => Ok(Ok(Parsed::Nothing)),
        Some(Err(reason)) => Ok(Err(reason)),
        Some(Ok(mut record)) => {
            record.add_identifier(IdScheme::Oai, identifier);
            record.source.datestamp = header.datestamp.or(record.source.datestamp);
            record.id = stable_id(&record);
            Ok(Ok(Parsed::Record(Box::new(record))))
        }
    }
}

fn read_header<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    header: &mut Header,
) -> Result<Result<(), String>, XmlFault> {
    // A bad field is noted and the header read to its end, so the record's end is found.
    let mut problem = None;
    loop {
        let (_, event) = xml::next_event(reader, buf)?;
        match event {
            Event::Start(start) => {
                let name = xml::local_name(&start);
                let text = match xml::read_element_text(reader, buf)? {
                    Ok(text) => text.trim().to_string(),
                    Err(reason) => {
                        problem.get_or_insert(reason);
                        continue;
                    }
                };
                match name.as_str() {
                    "identifier" => header.identifier = Some(text),
                    "datestamp" => header.datestamp = Some(text),
                    _ => {}
                }
            }
            Event::End(_) => return Ok(problem.map_or(Ok(()), Err)),
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside an OAI-PMH <header>")),
            _ => {}
        }
    }
}

/// Reads `<metadata>`: its one child is the record in some metadata format.
fn read_metadata<R: BufRead>(
    reader: &mut XmlReader<R>,
    buf: &mut Vec<u8>,
    context: &RecordContext,
) -> Result<Option<Result<Record, String>>, XmlFault> {
    let mut record = None;
    loop {
        let (resolved, event) = xml::next_event(reader, buf)?;
        match event {
            Event::Start(start) if record.is_none() => {
                let local = xml::local_name(&start);
                let is_marc = local == "record"
                    && (xml::in_namespace(&resolved, Some(MARC_NS)) || matches!(resolved, ResolveResult::Unbound));
                record = Some(if is_marc {
                    let source = context.source("oai-pmh+marcxml");
                    marcxml::read_marc(reader, buf, |marc| marcxml::to_record(marc, source))?
                } else {
                    let format =
                        if xml::in_namespace(&resolved, Some(OAI_DC_NS)) { "oai_dc".to_string() } else { local };
                    let names_an_article = format.to_lowercase().contains("article");
                    dublin_core::read_elements(reader, buf)?.map(|elements| {
                        let mut record = dublin_core::to_record(&elements, context.source(format!("oai-pmh+{format}")));
                        // A format whose root names what it holds (DOAJ's `doajArticle`) types
                        // records that carry no type of their own.
                        if names_an_article && record.item_type == ItemType::Document {
                            record.item_type = ItemType::ArticleJournal;
                        }
                        record
                    })
                });
            }
            Event::Start(_) => xml::skip_element(reader, buf)?,
            Event::End(_) => return Ok(record),
            Event::Eof => return Err(XmlFault::at(reader, "unexpected end of file inside OAI-PMH <metadata>")),
            _ => {}
        }
    }
}
