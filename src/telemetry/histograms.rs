//! Histograms with fixed buckets, counted as they are recorded: the `metrics` facade's
//! histograms for folio's recorder.
//!
//! The Prometheus exporter keeps every sample until its upkeep folds them into buckets; at a
//! few thousand requests a second, two samples a request meant blocks of samples allocated and
//! freed all the time, and the allocator handing pages back to the kernel (`madvise`, with a
//! TLB shootdown on every core each time) cost a page of 20 books 8 % of its requests a second
//! (bench/README.md, "Metrics"). Here a sample is three atomic additions and nothing else.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use metrics::{HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::PrometheusRecorder;

/// One histogram: a count per bucket (the last is `+Inf`), the sum and the count.
struct Buckets {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// The sum's f64 bits.
    sum: AtomicU64,
    count: AtomicU64,
}

impl Buckets {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(self.bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

/// The exporter for counters and gauges; the histograms here.
pub(super) struct BucketedRecorder {
    pub(super) prometheus: PrometheusRecorder,
    pub(super) histograms: Arc<Histograms>,
}

#[derive(Default)]
pub(super) struct Histograms {
    bounds: &'static [f64],
    all: RwLock<HashMap<Key, Arc<Buckets>>>,
    help: RwLock<HashMap<String, String>>,
}

impl Histograms {
    pub(super) fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            ..Self::default()
        }
    }

    fn get(&self, key: &Key) -> Arc<Buckets> {
        if let Some(found) = self
            .all
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return found.clone();
        }
        let mut all = self.all.write().unwrap_or_else(PoisonError::into_inner);
        all.entry(key.clone())
            .or_insert_with(|| Arc::new(Buckets::new(self.bounds)))
            .clone()
    }

    /// The text format of every histogram, grouped by name, in a stable order.
    pub(super) fn render(&self) -> String {
        let all = self.all.read().unwrap_or_else(PoisonError::into_inner);
        let help = self.help.read().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<&Key> = all.keys().collect();
        keys.sort_by_key(|k| (k.name().to_string(), labels(k, None)));
        let mut text = String::new();
        let mut last_name = "";
        for key in keys {
            let name = key.name();
            if name != last_name {
                if let Some(help) = help.get(name) {
                    let _ = writeln!(text, "# HELP {name} {help}");
                }
                let _ = writeln!(text, "# TYPE {name} histogram");
                last_name = name;
            }
            let buckets = &all[key];
            let mut cumulative = 0;
            for (at, count) in buckets.counts.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let le = match buckets.bounds.get(at) {
                    Some(bound) => bound.to_string(),
                    None => "+Inf".to_string(),
                };
                let labels = labels(key, Some(&le));
                let _ = writeln!(text, "{name}_bucket{labels} {cumulative}");
            }
            let plain = labels(key, None);
            let sum = f64::from_bits(buckets.sum.load(Ordering::Relaxed));
            let _ = writeln!(text, "{name}_sum{plain} {sum}");
            let count = buckets.count.load(Ordering::Relaxed);
            let _ = writeln!(text, "{name}_count{plain} {count}");
        }
        text
    }
}

/// `{a="x",b="y"}` (with `le` last when given), the values escaped as the format says.
fn labels(key: &Key, le: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = key
        .labels()
        .map(|l| (l.key().to_string(), l.value().to_string()))
        .collect();
    if let Some(le) = le {
        pairs.push(("le".into(), le.into()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let escaped: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", escaped.join(","))
}

impl Recorder for BucketedRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.prometheus.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.histograms
            .help
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.as_str().to_string(), description.to_string());
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Counter {
        self.prometheus.register_counter(key, metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> metrics::Gauge {
        self.prometheus.register_gauge(key, metadata)
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::from_arc(self.histograms.get(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_cumulative_buckets_with_their_sum_and_count() {
        static BOUNDS: &[f64] = &[0.1, 1.0];
        let histograms = Histograms::new(BOUNDS);
        let key = Key::from_parts("t_seconds", vec![metrics::Label::new("route", "/a/{id}")]);
        let buckets = histograms.get(&key);
        for value in [0.05, 0.1, 0.5, 3.0] {
            buckets.record(value);
        }
        histograms
            .help
            .write()
            .unwrap()
            .insert("t_seconds".into(), "Time".into());
        let text = histograms.render();
        assert_eq!(
            text,
            "# HELP t_seconds Time\n# TYPE t_seconds histogram\n\
             t_seconds_bucket{route=\"/a/{id}\",le=\"0.1\"} 2\n\
             t_seconds_bucket{route=\"/a/{id}\",le=\"1\"} 3\n\
             t_seconds_bucket{route=\"/a/{id}\",le=\"+Inf\"} 4\n\
             t_seconds_sum{route=\"/a/{id}\"} 3.65\n\
             t_seconds_count{route=\"/a/{id}\"} 4\n"
        );
    }
}
