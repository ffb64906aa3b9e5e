//! Figures for `hallq bench --json`: the software renderer's time for a full display-wall frame and a
//! full kiosk frame, and the process's resident memory with all three screens open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::clock::ManualClock;
use crate::devices::SimulatedPrinter;
use crate::queue::Command;
use crate::ui::{ScreenKind, ScreenOptions, Screens, headless};

const FRAMES: u32 = 20;

/// Runs on the calling thread, which must not have another Slint platform. The engine works in a
/// temporary directory; nothing of the hall's own database is touched.
pub fn frame_times() -> anyhow::Result<serde_json::Value> {
    headless::install().map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = tempfile::tempdir()?;
    let mut setup = crate::config::example();
    setup.open_around_the_clock();
    let setup = Arc::new(setup);
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let (engine, writer) =
        crate::engine::start(setup.clone(), &dir.path().join("bench.db"), clock.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // A busy morning: tickets in every walk-in service and a call at window 1.
    runtime.block_on(async {
        for (i, service) in ["SB", "YB", "SCZT", "GJJ", "SB", "YB"].iter().enumerate() {
            for j in 0..5 {
                let _ = engine
                    .execute(
                        format!("bench-issue-{i}-{j}"),
                        Command::IssueTicket {
                            service: service.to_string(),
                            citizen: None,
                            by_staff: false,
                        },
                    )
                    .await;
            }
        }
        let _ = engine
            .execute("bench-signin", Command::sign_in_by_number(1, "1001"))
            .await;
        let _ = engine
            .execute("bench-call", Command::CallNext { window: 1 })
            .await;
    });
    let options = ScreenOptions {
        kinds: vec![
            ScreenKind::Kiosk,
            ScreenKind::Window(1),
            ScreenKind::Display,
        ],
        printer: Arc::new(SimulatedPrinter),
        on_kiosk: None,
    };
    let screens = Screens::open(engine.clone(), clock, runtime.handle(), &options)?;
    screens.show()?;
    headless::pump_until(Duration::from_secs(2), || false);
    let kiosk = window_of(screens.kiosk.as_ref().map(slint::ComponentHandle::window))?;
    let wall = window_of(screens.wall.as_ref().map(slint::ComponentHandle::window))?;
    let display_frame_ms = time_frames(&wall, 1920, 1080);
    let kiosk_frame_ms = time_frames(&kiosk, 1080, 1920);
    let rss_mb = resident_mb();
    drop(screens);
    drop(engine);
    drop(runtime);
    writer.join();
    Ok(json!({
        "display_frame_ms": display_frame_ms,
        "kiosk_frame_ms": kiosk_frame_ms,
        "rss_mb_all_screens": rss_mb,
        "frames": FRAMES,
        "renderer": "software",
    }))
}

fn window_of(
    window: Option<&slint::Window>,
) -> anyhow::Result<std::rc::Rc<slint::platform::software_renderer::MinimalSoftwareWindow>> {
    let window = window.ok_or_else(|| anyhow::anyhow!("the screen did not open"))?;
    headless::adapter_of(window).ok_or_else(|| anyhow::anyhow!("not a headless window"))
}

/// The mean time of a full redraw at `width`×`height`, after one warm-up frame (glyph caches).
fn time_frames(
    window: &slint::platform::software_renderer::MinimalSoftwareWindow,
    width: u32,
    height: u32,
) -> f64 {
    headless::render(window, width, height);
    let start = Instant::now();
    for _ in 0..FRAMES {
        headless::render(window, width, height);
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(FRAMES);
    (ms * 100.0).round() / 100.0
}

/// VmRSS from /proc, in MB.
pub fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}
