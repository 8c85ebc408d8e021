//! `acadex reindex`.

use std::path::Path;

use clap::Args;

use super::{CliError, exit};
use crate::formats::{self, Item};
use crate::index::{IndexReader, Writer, WriterOptions};

/// Rebuild the index from the original records it stores, without the source files.
///
/// Needed after an upgrade of acadex that changes how records are mapped or indexed. Every
/// stored original is read again with the current importers.
#[derive(Debug, Args)]
pub struct ReindexArgs {}

pub fn run(index: &Path, _args: ReindexArgs) -> Result<u8, CliError> {
    let reader = IndexReader::open(index)?;
    let mut writer = Writer::open(index, WriterOptions::default())?;
    writer.delete_all()?;
    let (mut rebuilt, mut failed) = (0u64, 0u64);
    for stored in reader.originals() {
        let (original, old) = stored?;
        let file = old.source.file.clone().unwrap_or_default();
        match formats::reparse(&original, &file) {
            Ok(Item::Record(mut imported)) => {
                imported.record.source = old.source;
                writer.upsert(&imported)?;
                rebuilt += 1;
            }
            Ok(Item::Delete { .. }) => {}
            Err(error) => {
                eprintln!("error: {}: cannot be read again: {}", old.id, error.reason);
                failed += 1;
            }
        }
    }
    writer.commit(&serde_json::json!({ "reindex": { "records": rebuilt } }).to_string())?;
    writer.finish()?;
    eprintln!("reindexed {rebuilt} records{}", if failed > 0 { format!(", {failed} failed") } else { String::new() });
    Ok(if failed == 0 { exit::OK } else { exit::REJECTED })
}
