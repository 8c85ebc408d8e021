//! `acadex show`.

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::{CliError, exit, output};
use crate::index::IndexReader;

/// Show one record, by its id (as `search` prints it).
///
/// Prints the record in acadex's model (schema/record.schema.json) as JSON; --original prints
/// the record exactly as it was imported instead.
///
/// Exit status: 0 shown; 1 no record has that id.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The record id, e.g. doi:10.1000/xyz or marc:(OCoLC)ocm63111280.
    id: String,

    /// Print the original record as imported (e.g. its MARCXML).
    #[arg(long, conflicts_with = "json")]
    original: bool,

    /// Print the record as compact JSON on one line (the default is indented JSON).
    #[arg(long)]
    json: bool,
}

pub fn run(index: &Path, args: ShowArgs) -> Result<u8, CliError> {
    let reader = IndexReader::open(index)?;
    let Some(stored) = reader.get(&args.id)? else {
        eprintln!("error: no record with id {}", args.id);
        eprintln!("hint: ids are printed by acadex search; quote ids with brackets in the shell");
        return Ok(exit::NOTHING_FOUND);
    };
    let mut out = std::io::stdout().lock();
    if args.original {
        out.write_all(&stored.original.xml)?;
        writeln!(out)?;
    } else if args.json {
        serde_json::to_writer(&mut out, &stored.record).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        drop(out);
        output::json(&stored.record)?;
    }
    Ok(exit::OK)
}
