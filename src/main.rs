//! The `acadex` binary: everything is in the library; see `acadex::cli`.

fn main() -> std::process::ExitCode {
    acadex::cli::main()
}
