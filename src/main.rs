use std::process::ExitCode;

use clap::Parser;
use folio::cli::{self, Cli};
use folio::config::Settings;

/// mimalloc rather than the system allocator: an import allocates rows on its reading thread
/// and frees them on the writing one, which glibc's per-thread arenas make costly, and a server
/// under load allocates per request on every worker.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("folio: {err}");
            return ExitCode::from(2);
        }
    };
    folio::telemetry::init(&settings);
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
    match runtime.block_on(cli::run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.into(),
    }
}
