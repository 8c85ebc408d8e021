//! `acadex stats`.

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::{CliError, exit, output};
use crate::index::IndexReader;

/// Show what the index holds: records by type and by source, size, last commit.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print as JSON: {"records": N, "types": {...}, "sources": {...}, ...}.
    #[arg(long)]
    json: bool,
}

pub fn run(index: &Path, args: StatsArgs) -> Result<u8, CliError> {
    let stats = IndexReader::open(index)?.stats()?;
    if args.json {
        output::json(&stats)?;
        return Ok(exit::OK);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "index:    {}", stats.path.display())?;
    writeln!(out, "records:  {}", stats.records)?;
    writeln!(out, "size:     {:.1} MiB in {} segments", stats.index_bytes as f64 / 1048576.0, stats.segments)?;
    for (title, counts) in [("by type", &stats.types), ("by source", &stats.sources)] {
        writeln!(out, "{title}:")?;
        for (value, count) in counts {
            writeln!(out, "  {value:<20} {count:>9}")?;
        }
    }
    Ok(exit::OK)
}
