//! The day's figures per service: issued, served, waiting, and how long citizens waited.

use serde::Serialize;

use super::ticket::{Ticket, TicketState};
use crate::config::HallSetup;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStats {
    pub service: String,
    pub issued: u32,
    pub served: u32,
    pub waiting: u32,
    /// From issue to first call, in seconds, over tickets called so far.
    pub avg_wait_s: Option<f64>,
    pub p90_wait_s: Option<f64>,
    /// From start of service to finish, in seconds.
    pub avg_service_s: Option<f64>,
}

/// Figures per configured service over `tickets` (normally one business day's).
pub fn per_service<'a>(
    setup: &HallSetup,
    tickets: impl IntoIterator<Item = &'a Ticket>,
) -> Vec<ServiceStats> {
    let tickets: Vec<&Ticket> = tickets.into_iter().collect();
    setup
        .config
        .services
        .iter()
        .map(|service| {
            let mine: Vec<&Ticket> = tickets
                .iter()
                .copied()
                .filter(|t| t.service == service.code)
                .collect();
            let mut waits: Vec<f64> = mine
                .iter()
                .filter_map(|t| t.first_called_ms.map(|c| (c - t.issued_ms) as f64 / 1000.0))
                .collect();
            waits.sort_by(f64::total_cmp);
            let services: Vec<f64> = mine
                .iter()
                .filter_map(|t| Some((t.finished_ms? - t.started_ms?) as f64 / 1000.0))
                .collect();
            ServiceStats {
                service: service.code.clone(),
                issued: mine.len() as u32,
                served: mine
                    .iter()
                    .filter(|t| t.state == TicketState::Finished)
                    .count() as u32,
                waiting: mine
                    .iter()
                    .filter(|t| t.state == TicketState::Waiting)
                    .count() as u32,
                avg_wait_s: mean(&waits),
                p90_wait_s: percentile(&waits, 0.90),
                avg_service_s: mean(&services),
            }
        })
        .collect()
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.90), Some(9.0));
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&[3.0], 0.99), Some(3.0));
        assert_eq!(percentile(&[], 0.9), None);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
    }
}
