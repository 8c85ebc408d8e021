//! The `acadex` binary: everything is in the library; see `acadex::cli`.

/// mimalloc instead of glibc's allocator: parsing allocates many small strings on one thread
/// while tantivy frees on others, which glibc answers with per-thread arenas that hold on to
/// freed memory; mimalloc is faster here and returns memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    acadex::cli::main()
}
