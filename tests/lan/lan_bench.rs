//! The LAN benchmark runs end to end and reports its figures. The full run (20 window terminals,
//! 4 displays) is ignored by default: `cargo test --release --test lan lan_bench -- --ignored --nocapture`.

use hallq::lan::bench::{self, BenchOptions};

fn assert_figures(figures: &serde_json::Value, calls: u64) {
    let number = |key: &str| {
        figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {figures}"))
    };
    assert!(number("api_issues_per_s") > 0.0);
    let (p50, p99) = (
        number("call_to_display_p50_ms"),
        number("call_to_display_p99_ms"),
    );
    assert!(p50 > 0.0 && p50 <= p99, "{figures}");
    assert_eq!(figures["lan_call_samples"], calls);
    let one = &figures["one_client"];
    let one_number = |key: &str| {
        one[key]
            .as_f64()
            .unwrap_or_else(|| panic!("one_client.{key} missing in {figures}"))
    };
    assert!(one_number("issue_p50_ms") > 0.0, "{figures}");
    assert!(one_number("issue_p50_ms") <= one_number("issue_p99_ms"));
    assert!(one_number("server_cpu_ms_per_issue") > 0.0, "{figures}");
    assert!(one_number("kiosk_cpu_ms_per_issue") > 0.0, "{figures}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_lan_bench_measures_every_call_at_every_display() {
    let options = BenchOptions {
        counters: 3,
        displays: 2,
        issues: 60,
        concurrency: 4,
        calls_per_counter: 4,
        one_client_issues: 30,
    };
    let figures = bench::run_with(options).await.unwrap();
    assert_figures(&figures, 3 * 4 * 2);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "the full benchmark; run it on its own, in release mode"]
async fn the_full_lan_bench() {
    let figures = bench::run().await.unwrap();
    println!("{figures}");
    assert_figures(&figures, 20 * 10 * 4);
}
