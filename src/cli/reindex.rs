//! `acadex reindex`.

use std::path::Path;

use clap::Args;

use super::{CliError, exit};
use crate::formats::{self, Item};
use crate::index::{self, Writer, WriterOptions};

/// Rebuild the index from the original records it stores, without the source files.
///
/// Needed after an upgrade of acadex that changes the index schema or how records are mapped:
/// every stored original is read again with the current importers into a new index, which then
/// replaces the old one. The old index stays untouched (and locked) until the new one is whole.
#[derive(Debug, Args)]
pub struct ReindexArgs {}

pub fn run(dir: &Path, _args: ReindexArgs) -> Result<u8, CliError> {
    let rebuilt_dir = dir.with_extension(format!("reindex-{}", std::process::id()));
    let mut writer = Writer::open(&rebuilt_dir, WriterOptions::default())?;
    let (mut rebuilt, mut failed) = (0u64, 0u64);
    let outcome = index::rebuild_from_originals(dir, &mut |original, source| {
        let file = source.as_ref().and_then(|s| s.file.clone()).unwrap_or_default();
        match formats::reparse(&original, &file) {
            Ok(Item::Record(mut imported)) => {
                if let Some(source) = source {
                    imported.record.source = source;
                }
                writer.upsert(&imported)?;
                rebuilt += 1;
            }
            Ok(Item::Delete { .. }) => {}
            Err(error) => {
                eprintln!("error: a stored record of {file} cannot be read again: {}", error.reason);
                failed += 1;
            }
        }
        Ok(())
    });
    if let Err(error) = outcome {
        drop(writer);
        let _ = std::fs::remove_dir_all(&rebuilt_dir);
        return Err(error.into());
    }
    writer.commit(&serde_json::json!({ "reindex": { "records": rebuilt } }).to_string())?;
    writer.finish()?;
    index::replace(dir, &rebuilt_dir)?;
    let failures = if failed > 0 { format!(", {failed} could not be read again") } else { String::new() };
    eprintln!("reindexed {rebuilt} records{failures}");
    Ok(if failed == 0 { exit::OK } else { exit::REJECTED })
}
