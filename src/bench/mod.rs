//! `hallq bench`: figures measured on this machine, each section by the part of hallq it measures.

pub mod engine;
pub mod floor;
pub mod platform;
pub mod screens;

/// Latency percentiles of a set of samples, in milliseconds.
pub fn percentiles_ms(samples: &mut [std::time::Duration]) -> (f64, f64) {
    samples.sort();
    let sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let at = |p: f64| crate::queue::stats::percentile(&sorted, p).unwrap_or(f64::NAN);
    (at(0.50), at(0.99))
}

/// Rounds for printing: figures carry no false precision.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
