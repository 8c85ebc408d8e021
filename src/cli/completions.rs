//! `acadex completions`: shell completion scripts, generated from the same clap definitions.

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
    clap_complete::generate(args.shell, &mut command, "acadex", &mut std::io::stdout());
    Ok(exit::OK)
}
