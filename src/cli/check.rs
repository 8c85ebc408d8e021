//! `acadex check`.

use std::io::Write;
use std::path::Path;

use clap::Args;

use super::{CliError, exit, output};
use crate::index::IndexReader;

/// Verify the index: file checksums, that every stored record reads back, that no id is
/// indexed twice, and that counts agree (like Lucene's CheckIndex).
///
/// Exit status: 0 the index is sound; 3 a problem was found; 2 the index cannot be opened.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(index: &Path, args: CheckArgs) -> Result<u8, CliError> {
    let report = IndexReader::open(index)?.check()?;
    if args.json {
        output::json(&report)?;
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "index:             {}", report.path.display())?;
        writeln!(out, "schema version:    {}", report.schema_version)?;
        writeln!(out, "records:           {} ({} found in segments)", report.records, report.stored_records)?;
        writeln!(out, "unreadable:        {}", report.unreadable_records)?;
        writeln!(out, "duplicate ids:     {}", report.duplicate_ids)?;
        writeln!(out, "corrupted files:   {}", report.corrupted_files.len())?;
        for file in &report.corrupted_files {
            writeln!(out, "  {file}")?;
        }
        if let Some(commit) = &report.last_commit {
            writeln!(out, "last import:       {}", describe_import(commit))?;
        }
        writeln!(out, "{}", if report.ok { "ok" } else { "PROBLEMS FOUND" })?;
    }
    Ok(if report.ok { exit::OK } else { exit::REJECTED })
}

/// The import state a commit's payload records, in a line.
fn describe_import(payload: &serde_json::Value) -> String {
    let import = &payload["import"];
    let count = |key: &str| import[key].as_u64().unwrap_or(0);
    let counts = format!(
        "{} records read ({} indexed, {} rejected, {} deleted)",
        count("read"),
        count("indexed"),
        count("rejected"),
        count("deleted")
    );
    if import["finished"].as_bool().unwrap_or(true) {
        return format!("finished, {counts}");
    }
    let file = import["inputs"][count("files_done") as usize]["file"].as_str().unwrap_or("?");
    let next = import["position"]["record"].as_u64().map_or(1, |n| n + 1);
    format!("interrupted after {counts}; running the same import again resumes at record {next} of {file}")
}
