//! The Rust side of the hall's screens: the ticket kiosk, the window panels with their rating screens,
//! and the lobby display wall.
//!
//! The `.slint` files in `ui/` hold no rules. Each page exports a global adapter; one controller here
//! binds it: callbacks become engine commands, the engine's answers and events become properties.

mod display_wall;
pub mod headless;
mod hub;
mod kiosk;
mod qr;
mod rating;
mod slint_ui;
mod views;
mod window_panel;

use std::rc::Rc;
use std::sync::Arc;

use slint::ComponentHandle;

pub use hub::{CardReaderHandle, Hub};
pub use kiosk::PRINTER_DEVICE;
pub use qr::qr_pixels;
pub use rating::prompt as prompt_rating;
pub use slint_ui::*;

use crate::clock::Clock;
use crate::config::HallSetup;
use crate::config::NodeRole;
use crate::ports::{Hall, OnKioskBound, TicketOutput};

/// One screen this node shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenKind {
    Kiosk,
    /// The staff panel of a window, with the rating screen facing its citizens.
    Window(u16),
    Display,
}

impl std::str::FromStr for ScreenKind {
    type Err = String;

    /// `kiosk`, `window:3` or `display`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "kiosk" => Ok(ScreenKind::Kiosk),
            "display" => Ok(ScreenKind::Display),
            other => other
                .strip_prefix("window:")
                .and_then(|n| n.parse().ok())
                .map(ScreenKind::Window)
                .ok_or_else(|| {
                    format!("unknown screen \"{other}\": use kiosk, window:<number> or display")
                }),
        }
    }
}

/// Which screens to open and what they drive.
#[derive(Clone)]
pub struct ScreenOptions {
    pub kinds: Vec<ScreenKind>,
    /// The kiosk's ticket printer.
    pub printer: Arc<dyn TicketOutput>,
    /// Told where the kiosk takes card reads once it is bound, so a card reader started before
    /// the screens can hand cards to it.
    pub on_kiosk: Option<OnKioskBound>,
}

/// The open screens and the hub behind them. Dropping it closes them.
pub struct Screens {
    hub: Rc<Hub>,
    pub kiosk: Option<Kiosk>,
    pub panels: Vec<(u16, WindowPanel, RatingScreen)>,
    pub wall: Option<DisplayWall>,
    /// Re-checks opening hours now and then, since no event marks the hall opening or closing.
    _hours: slint::Timer,
    _wall: Option<Rc<display_wall::WallController>>,
}

impl Screens {
    /// Creates and binds the screens. Call on the thread that runs the Slint event loop.
    pub fn open(
        hall: impl Into<Hall>,
        clock: Arc<dyn Clock>,
        runtime: &tokio::runtime::Handle,
        options: &ScreenOptions,
    ) -> anyhow::Result<Screens> {
        let hall = hall.into();
        let setup = hall.setup().clone();
        for kind in &options.kinds {
            if let ScreenKind::Window(n) = kind
                && setup.window(*n).is_none()
            {
                anyhow::bail!("the hall has no window {n}");
            }
        }
        let hub = Hub::start(hall, clock, runtime);
        let mut screens = Screens {
            hub: hub.clone(),
            kiosk: None,
            panels: Vec::new(),
            wall: None,
            _hours: slint::Timer::default(),
            _wall: None,
        };
        for kind in &options.kinds {
            match *kind {
                ScreenKind::Kiosk => {
                    let ui = Kiosk::new()?;
                    kiosk::KioskController::bind(&hub, ui.clone_strong(), options.printer.clone());
                    if let Some(on_kiosk) = &options.on_kiosk {
                        on_kiosk(Arc::new(hub.card_reader()));
                    }
                    screens.kiosk = Some(ui);
                }
                ScreenKind::Window(number) => {
                    let panel = WindowPanel::new()?;
                    window_panel::PanelController::bind(&hub, panel.clone_strong(), number);
                    let rating = RatingScreen::new()?;
                    rating::RatingController::bind(&hub, rating.clone_strong(), number);
                    screens.panels.push((number, panel, rating));
                }
                ScreenKind::Display => {
                    let ui = DisplayWall::new()?;
                    screens._wall =
                        Some(display_wall::WallController::bind(&hub, ui.clone_strong()));
                    screens.wall = Some(ui);
                }
            }
        }
        // The process-wide translation starts in the hall's first language.
        hub.set_language(hub.lang());
        let weak = Rc::downgrade(&hub);
        screens._hours.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_secs(30),
            move || {
                if let Some(hub) = weak.upgrade() {
                    hub.refresh_all();
                }
            },
        );
        Ok(screens)
    }

    pub fn hub(&self) -> &Rc<Hub> {
        &self.hub
    }

    pub fn show(&self) -> Result<(), slint::PlatformError> {
        if let Some(k) = &self.kiosk {
            k.show()?;
        }
        for (_, panel, rating) in &self.panels {
            panel.show()?;
            rating.show()?;
        }
        if let Some(w) = &self.wall {
            w.show()?;
        }
        Ok(())
    }
}

/// The screens a hall node shows for its roles (`--role`): a kiosk board the kiosk, a counter board
/// the panel of its `[buttons] window`, a display board the wall. No role named means every role.
pub fn screens_for_roles(setup: &HallSetup, roles: &[NodeRole]) -> Vec<ScreenKind> {
    let has = |role: NodeRole| roles.is_empty() || roles.contains(&role);
    let counter_window = setup.config.buttons.window;
    let mut kinds = Vec::new();
    if has(NodeRole::Kiosk) {
        kinds.push(ScreenKind::Kiosk);
    }
    if has(NodeRole::Counter)
        && let Some(window) = counter_window
    {
        kinds.push(ScreenKind::Window(window));
    }
    if has(NodeRole::Display) {
        kinds.push(ScreenKind::Display);
    }
    kinds
}

/// Why the screens could not open; the hall node keeps running without them.
#[derive(Debug, thiserror::Error)]
pub enum ScreensError {
    #[error(
        "no display: DISPLAY and WAYLAND_DISPLAY are unset (on the board, build with --features board)"
    )]
    NoDisplay,
    #[error("the screens could not start: {0}")]
    Failed(String),
}

/// Whether a display can be expected: an X or Wayland session, or a board build that draws on the
/// DRM device directly.
pub fn display_available() -> bool {
    cfg!(feature = "board")
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some()
        || std::env::var("SLINT_BACKEND").is_ok_and(|b| b.starts_with("linuxkms"))
}

/// Opens `kinds` and runs the Slint event loop on this thread until the last window closes or
/// `slint::quit_event_loop` is called (e.g. on Ctrl-C).
pub fn run_screens(
    hall: impl Into<Hall>,
    clock: Arc<dyn Clock>,
    runtime: &tokio::runtime::Handle,
    options: &ScreenOptions,
) -> Result<(), ScreensError> {
    if !display_available() {
        return Err(ScreensError::NoDisplay);
    }
    let failed = |e: &dyn std::fmt::Display| ScreensError::Failed(e.to_string());
    let screens = Screens::open(hall, clock, runtime, options).map_err(|e| failed(&e))?;
    screens.show().map_err(|e| failed(&e))?;
    slint::run_event_loop_until_quit().map_err(|e| failed(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ScreenKind;

    #[test]
    fn each_role_brings_its_screen() {
        use crate::config::NodeRole;
        let setup = crate::config::example();
        let all = [
            ScreenKind::Kiosk,
            ScreenKind::Window(1),
            ScreenKind::Display,
        ];
        let mut every_role = setup.clone();
        every_role.config.buttons.window = Some(1);
        assert_eq!(super::screens_for_roles(&every_role, &[]), all);
        assert_eq!(
            super::screens_for_roles(&setup, &[NodeRole::Hall, NodeRole::Display]),
            [ScreenKind::Display]
        );
        // A counter board without `[buttons] window` does not know its window: no panel.
        assert!(super::screens_for_roles(&setup, &[NodeRole::Counter]).is_empty());
        let mut counter = setup.clone();
        counter.config.buttons.window = Some(4);
        assert_eq!(
            super::screens_for_roles(&counter, &[NodeRole::Counter]),
            [ScreenKind::Window(4)]
        );
    }

    #[test]
    fn screens_are_named_on_the_command_line() {
        assert_eq!("kiosk".parse(), Ok(ScreenKind::Kiosk));
        assert_eq!(" window:3".parse(), Ok(ScreenKind::Window(3)));
        assert_eq!("display".parse(), Ok(ScreenKind::Display));
        assert!("window:x".parse::<ScreenKind>().is_err());
        assert!("wall".parse::<ScreenKind>().is_err());
    }
}
