//! A Slint platform without a display: every window is a `MinimalSoftwareWindow` drawn by the
//! software renderer into memory. The benchmark measures frames with it, and the UI tests use it to
//! tap, pump the event loop by hand, move time and take screenshots.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{EventLoopProxy, Platform, WindowAdapter};
use slint::{EventLoopError, PlatformError};

type Posted = Box<dyn FnOnce() + Send>;

thread_local! {
    static WINDOWS: RefCell<Vec<Rc<MinimalSoftwareWindow>>> = RefCell::default();
    static NOW: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Closures posted with `slint::invoke_from_event_loop`, from any thread, until [`pump`] runs them.
static POSTED: Mutex<VecDeque<Posted>> = Mutex::new(VecDeque::new());

struct HeadlessPlatform;

struct Proxy;

impl EventLoopProxy for Proxy {
    fn quit_event_loop(&self) -> Result<(), EventLoopError> {
        Ok(())
    }

    fn invoke_from_event_loop(&self, event: Posted) -> Result<(), EventLoopError> {
        POSTED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(event);
        Ok(())
    }
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        // A new buffer per frame: every frame is drawn whole, as the benchmark wants to measure.
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        WINDOWS.with(|w| w.borrow_mut().push(window.clone()));
        Ok(window)
    }

    fn duration_since_start(&self) -> Duration {
        NOW.with(Cell::get)
    }

    fn new_event_loop_proxy(&self) -> Option<Box<dyn EventLoopProxy>> {
        Some(Box::new(Proxy))
    }
}

/// Makes the headless platform this thread's Slint platform. Slint allows one platform per process
/// (its event loop proxy is global): call it from one thread only. Calling it again is harmless.
pub fn install() -> Result<(), PlatformError> {
    if INSTALLED.with(Cell::get) {
        return Ok(());
    }
    slint::platform::set_platform(Box::new(HeadlessPlatform))
        .map_err(|e| PlatformError::Other(e.to_string()))?;
    INSTALLED.with(|i| i.set(true));
    Ok(())
}

/// The window adapter created last, i.e. the one of the component just created.
pub fn last_window() -> Option<Rc<MinimalSoftwareWindow>> {
    WINDOWS.with(|w| w.borrow().last().cloned())
}

/// Runs everything posted to the event loop so far, then due timers and animations.
pub fn pump() {
    loop {
        let next = POSTED.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match next {
            Some(posted) => posted(),
            None => break,
        }
    }
    slint::platform::update_timers_and_animations();
}

/// Moves the platform's clock: Slint timers and animations see `by` pass.
pub fn advance_time(by: Duration) {
    NOW.with(|now| now.set(now.get() + by));
    slint::platform::update_timers_and_animations();
}

/// The platform's clock, as Slint timers and animations see it.
pub fn now() -> Duration {
    NOW.with(Cell::get)
}

/// Pumps until `done` holds or `timeout` of real time passes; the engine answers from other threads.
pub fn pump_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        pump();
        if done() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Renders `window` at `width`×`height` with the software renderer into an RGB buffer.
pub fn render(window: &MinimalSoftwareWindow, width: u32, height: u32) -> Vec<slint::Rgb8Pixel> {
    window.set_size(slint::PhysicalSize::new(width, height));
    let mut buffer = vec![slint::Rgb8Pixel::default(); (width * height) as usize];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, width as usize);
    });
    buffer
}

/// The headless adapter behind a component's window, to render it or to take its screenshot.
pub fn adapter_of(window: &slint::Window) -> Option<Rc<MinimalSoftwareWindow>> {
    WINDOWS.with(|w| {
        w.borrow()
            .iter()
            .find(|candidate| std::ptr::eq(candidate.window(), window))
            .cloned()
    })
}
