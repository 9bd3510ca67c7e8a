//! Structured logs: human-readable or JSON lines on standard error, filtered by `FOLIO_LOG`.
//! HTTP requests open a span carrying the request id, so every line a request logs has it.
//! Prometheus metrics are in [`metrics`].

mod batched;
mod histograms;
pub mod metrics;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

pub use batched::Flush;

use crate::config::{LogFormat, Settings};

/// Installs the global subscriber once; later calls (tests) are ignored. Lines for a person at
/// a terminal are written as they come; otherwise (a file, a pipe to a log collector) in
/// batches, and what the returned [`Flush`] holds is written when it is dropped: keep it
/// until the process exits.
pub fn init(settings: &Settings) -> Option<Flush> {
    // Validated when the settings were read, so this parses.
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, flush) = if std::io::stderr().is_terminal() {
        (BoxMakeWriter::new(std::io::stderr), None)
    } else {
        let (batched, flush) = batched::start();
        (BoxMakeWriter::new(move || batched.clone()), Some(flush))
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    let installed = match settings.log_format {
        // Colours only for a person at a terminal, not for a file or a log collector.
        LogFormat::Pretty => builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            // The innermost span as `span`, and every span from the request's down as `spans`:
            // a line logged inside a service's span (`service.store.purchase`) still carries
            // the request's id.
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    // Another subscriber was there first: its writer, not this one, gets the lines.
    flush.filter(|_| installed.is_ok())
}
