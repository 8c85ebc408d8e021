//! The command-line interface: argument parsing, output, exit codes. The only module that
//! prints or reads the environment; everything it does is a call into the library.
//!
//! Exit codes are a contract, as ripgrep's are: 0 success; 1 a search or `show` found nothing;
//! 2 a usage or fatal error; 3 an import finished but some records (or files) were rejected, or
//! `check` found a problem;
//! 4 another process holds the index's writer lock.

mod check;
mod completions;
mod import;
mod output;
mod reindex;
mod search;
mod show;
mod stats;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::index::IndexError;

/// Exit statuses, as documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const NOTHING_FOUND: u8 = 1;
    pub const FAILURE: u8 = 2;
    /// An import finished with rejects, or `check` found a problem.
    pub const REJECTED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

/// Index and search records of international academic exchange: papers, talks, lectures,
/// visiting-scholar exchanges and their bibliographies.
///
/// acadex reads MARCXML, Dublin Core and OAI-PMH files into a local search index (no server),
/// and searches it with fields, phrases, year ranges, filters and facet counts, in Chinese and
/// English alike.
///
/// Start with:
///   acadex import records/          # files, folders, .gz, or - for stdin
///   acadex search 'panda AND year:[2015 TO 2022]' --facet year --facet type
#[derive(Debug, Parser)]
#[command(name = "acadex", version, max_term_width = 100, verbatim_doc_comment)]
pub struct Cli {
    /// The index folder [default: the per-user data folder, e.g. ~/.local/share/acadex/index]
    #[arg(long, global = true, env = "ACADEX_INDEX", value_name = "DIR")]
    index: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Import(import::ImportArgs),
    Search(search::SearchArgs),
    Show(show::ShowArgs),
    Stats(stats::StatsArgs),
    Reindex(reindex::ReindexArgs),
    Check(check::CheckArgs),
    Completions(completions::CompletionsArgs),
}

/// Parses the arguments, runs the command and turns the outcome into an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let index = cli.index.clone().unwrap_or_else(default_index_dir);
    let outcome = match cli.command {
        Command::Import(args) => import::run(&index, args),
        Command::Search(args) => search::run(&index, args),
        Command::Show(args) => show::run(&index, args),
        Command::Stats(args) => stats::run(&index, args),
        Command::Reindex(args) => reindex::run(&index, args),
        Command::Check(args) => check::run(&index, args),
        Command::Completions(args) => completions::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(CliError::Io(error)) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(exit::OK),
        Err(error) => {
            report(&error);
            ExitCode::from(error.exit_code())
        }
    }
}

fn default_index_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("acadex").join("index")
}

/// A command that failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write output: {0}")]
    Io(#[from] io::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Index(IndexError::Locked { .. }) => exit::LOCKED,
            _ => exit::FAILURE,
        }
    }
}

fn report(error: &CliError) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    let hint = match error {
        CliError::Index(error) => error.hint(),
        _ => None,
    };
    if let Some(hint) = hint {
        for (number, line) in hint.lines().enumerate() {
            let prefix = if number == 0 && !line.starts_with("  ") { "hint: " } else { "" };
            let _ = writeln!(stderr, "{prefix}{line}");
        }
    }
}
