//! `acadex import`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, exit, output};
use crate::formats::{Format, RecordError, input};
use crate::import::{ImportPlan, ImportReport, Observer, Resumed};
use crate::index::{DEFAULT_MEMORY_MB, DEFAULT_THREADS, Writer, WriterOptions};

/// Import records from files, folders, gzip files or standard input.
///
/// The format is told from each file's content (MARCXML, OAI-PMH, Dublin Core); --format
/// overrides it. Records are upserted: importing the same records again, from any path,
/// updates them and never duplicates them. OAI-PMH records marked deleted are deleted.
///
/// A bad record never stops the batch: it is reported (file, record number, line, reason),
/// written verbatim to a rejects file you can fix and import again, and the rest is indexed.
///
/// An import that was interrupted (kill, crash, Ctrl-C, full disk) keeps everything it reported
/// committed; running the same command again carries on after the last committed record, as
/// long as the files have not changed since (--restart reads them all again instead).
///
/// Exit status: 0 all indexed; 3 finished, but something was rejected; 2 fatal error;
/// 4 another process is writing to the index.
///
/// Examples:
///   acadex import catalogue/ harvest.xml.gz
///   curl -s "$OAI?verb=ListRecords&metadataPrefix=marc21" | acadex import -
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ImportArgs {
    /// Files or folders to import (folders are walked recursively); - reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Read every input as this format: marcxml, oai_dc or oai-pmh.
    #[arg(long, value_parser = parse_format)]
    format: Option<Format>,

    /// Where to write rejected records [default: INDEX/rejects/rejects-TIME.xml].
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Commit (make durable) after this many records.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    commit_every: usize,

    /// Wait up to this long for another writer to finish, e.g. 30s or 5m [default: fail at once].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    wait_lock: Option<Duration>,

    /// tantivy indexing threads, beside the thread that reads the input and builds documents.
    /// On 2 cores two keep both busy; more only add segments to merge.
    #[arg(long, default_value_t = DEFAULT_THREADS, value_name = "N")]
    threads: usize,

    /// Memory for records being indexed, in MB, all threads together: more means fewer, larger
    /// segments; the import's peak is about twice this (about 180 MB at the default, 1M records).
    #[arg(long, default_value_t = DEFAULT_MEMORY_MB, value_name = "MB")]
    memory: usize,

    /// Read every input from the start, even if an interrupted import of the same files could
    /// be resumed (records are upserted, so this only costs time).
    #[arg(long)]
    restart: bool,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_format(value: &str) -> Result<Format, String> {
    value.parse()
}

/// Reads `30s`, `5m`, `2h`, `1500ms` or a number of seconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("'{value}' is not a duration like 30s or 5m"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("unknown unit '{unit}' in '{value}' (use ms, s, m or h)")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

pub fn run(index: &Path, args: ImportArgs) -> Result<u8, CliError> {
    let (inputs, missing) = input::expand(&args.paths);
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| index.join("rejects").join(format!("rejects-{seconds}-{}.xml", std::process::id())));
    let plan = ImportPlan {
        inputs,
        format: args.format,
        rejects_path,
        commit_every: args.commit_every.max(1),
        commit_interval: Duration::from_secs(30),
        resume: !args.restart,
    };
    let options = WriterOptions {
        threads: args.threads.max(1),
        memory_bytes: args.memory << 20,
        wait_lock: args.wait_lock,
        ..WriterOptions::default()
    };
    let mut writer = Writer::open(index, options)?;
    let mut progress = Progress::new(args.quiet || args.json);
    for (path, error) in &missing {
        progress.bar.suspend(|| eprintln!("error: {}: {error}", path.display()));
    }
    let result = crate::import::run(&plan, &mut writer, &mut progress);
    let finished = result.and_then(|report| {
        progress.bar.set_message("merging the new segments for faster searches");
        writer.finish().map(|()| report)
    });
    progress.bar.finish_and_clear();
    let mut report = finished?;
    for (path, error) in missing {
        report.errors.push(crate::import::ErrorEntry {
            file: path.display().to_string(),
            record: None,
            line: None,
            reason: error.to_string(),
        });
    }
    print_report(&report, &args)?;
    Ok(if report.errors.is_empty() { exit::OK } else { exit::REJECTED })
}

fn print_report(report: &ImportReport, args: &ImportArgs) -> Result<(), CliError> {
    if args.json {
        return output::json(report);
    }
    if args.quiet {
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "read {} records: {} indexed, {} rejected, {} deleted",
        report.read, report.indexed, report.rejected, report.deleted
    )?;
    if let Some(path) = &report.rejects_file {
        writeln!(err, "rejected records were written to {}", path.display())?;
        writeln!(err, "hint: fix them there and run: acadex import {}", path.display())?;
    }
    Ok(())
}

/// Progress on stderr: a bar with records/s on a terminal, nothing on a pipe; errors as they
/// happen.
struct Progress {
    bar: ProgressBar,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {human_pos} records read ({rate}), {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.0} records/s", state.per_sec());
                });
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        };
        Progress { bar, quiet }
    }
}

impl Observer for Progress {
    fn file_started(&mut self, label: &str) {
        self.bar.set_message(label.to_string());
    }

    fn resumed(&mut self, resumed: &Resumed) {
        if !self.quiet {
            self.bar.suspend(|| {
                eprintln!(
                    "resuming an interrupted import of these files: {} records were committed; \
                     carrying on at record {} of {}",
                    resumed.after_records, resumed.at_record, resumed.file
                )
            });
        }
    }

    fn record_read(&mut self, report: &ImportReport) {
        self.bar.set_position(report.read);
    }

    fn committed(&mut self, report: &ImportReport) {
        // Printed on pipes too: it is the durability promise, what survives a crash from here.
        if !self.quiet {
            self.bar.suspend(|| eprintln!("committed {} records", report.committed));
        }
    }

    fn error(&mut self, error: &RecordError) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("error: {error}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("soon").is_err());
    }
}
