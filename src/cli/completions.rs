//! `acadex completions`: shell completion scripts, generated from the same clap definitions.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, CliError, exit};

/// Print a shell completion script.
///
/// For example: acadex completions bash > ~/.local/share/bash-completion/completions/acadex
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<u8, CliError> {
    let mut command = Cli::command();
    // Generated into memory first: clap_complete panics when its writer fails, as stdout does
    // into a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "acadex", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(exit::OK)
}
