use std::process::ExitCode;

use clap::Parser;
use folio::cli::{self, Cli};
use folio::config::Settings;

/// mimalloc rather than the system allocator: an import allocates rows on its reading thread
/// and frees them on the writing one, which glibc's per-thread arenas make costly, and a server
/// under load allocates per request on every worker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's own setter (`mimalloc.h`); the `mimalloc` crate links the library.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in `mimalloc.h` (the same in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Gives freed memory back to the system at once instead of after mimalloc's default second.
/// Serving a 1,000,000-book SQLite catalog, folio's peak RSS went from 64 MiB to 45–51 MiB at
/// the same requests per second (bench/README.md). Only the server, which runs for long: an
/// import ran about a tenth slower with it. `MIMALLOC_PURGE_DELAY` still overrides it.
fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a documented option set to a documented value, at the top of main, before
        // any other thread exists: mimalloc stores and reads options with plain accesses.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, cli::Command::Serve(_)) {
        purge_freed_memory_at_once();
    }
    // Before anything opens SQLite, which fixes its allocator when it first starts.
    if !folio::db::sqlite_memory::use_mimalloc() {
        eprintln!("folio: SQLite keeps the C library's allocator (it had already started)");
    }
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("folio: {err}");
            return ExitCode::from(2);
        }
    };
    let logs = folio::telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("folio: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli, settings));
    drop(runtime);
    // The log lines still buffered go out before the error that ends the command, if any.
    drop(logs);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.into(),
    }
}
