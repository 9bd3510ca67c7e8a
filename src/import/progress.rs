//! Progress of a long import: a bar on a terminal, a log line every few seconds otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::Summary;

const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_log: Instant,
}

impl Progress {
    pub fn new(total_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total_bytes);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg} ({eta} left)",
                )
                .expect("a valid template"),
            );
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            last_log: Instant::now(),
        }
    }

    pub fn update(&mut self, position: u64, summary: &Summary) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(format!("{} rows", summary.read));
            }
            None if self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                tracing::info!(
                    read = summary.read,
                    created = summary.created,
                    matched = summary.matched,
                    rejected = summary.rejected,
                    rows_per_second = rate(summary.read, self.started.elapsed()),
                    "importing"
                );
            }
            None => {}
        }
    }

    pub fn finish(&self, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::debug!(
            read = summary.read,
            seconds = self.started.elapsed().as_secs_f64(),
            "import finished"
        );
    }
}

fn rate(rows: u64, elapsed: Duration) -> u64 {
    (rows as f64 / elapsed.as_secs_f64().max(0.001)) as u64
}
