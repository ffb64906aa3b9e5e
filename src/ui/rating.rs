//! The rating screen's controller (好差评): one per window, facing the citizen. A prompt opens when
//! the engine records a finished visit at the window (from the panel, a GPIO button or the LAN), or
//! when the window's business system asks for a rating under a case number (the rating then carries
//! the case); a tap on a level records the rating with the chosen reason codes, and a timeout records
//! the visit as unrated, never as a default score.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use slint::{ComponentHandle, ModelRc, VecModel};

use super::hub::{Hub, Screen};
use super::slint_ui::{Choice, Locale, RatingAdapter, RatingScreen};
use crate::config::localized;
use crate::queue::{
    Command, Evaluator, Event, Indicators, RatingChannel, RatingInput, StoredEvent, UnratedWhy,
};

pub struct RatingController {
    ui: RatingScreen,
    window: u16,
    /// The finished ticket waiting for its rating.
    number: RefCell<Option<String>>,
    /// The case the business system asked the rating for, if it did.
    case_number: RefCell<Option<String>>,
    reasons: RefCell<BTreeSet<String>>,
}

impl RatingController {
    pub fn bind(hub: &Rc<Hub>, ui: RatingScreen, window: u16) -> Rc<RatingController> {
        let controller = Rc::new(RatingController {
            ui: ui.clone_strong(),
            window,
            number: RefCell::default(),
            case_number: RefCell::default(),
            reasons: RefCell::default(),
        });
        let adapter = ui.global::<RatingAdapter>();
        adapter.set_window_number(i32::from(window));
        adapter.set_timeout(
            i64::from(hub.setup().config.screens.rating_timeout_seconds.max(1)) * 1000,
        );
        let weak = Rc::downgrade(hub);
        adapter.on_toggle_reason(move |code| {
            with_rating(&weak, window, |hub, r| r.toggle_reason(hub, code.as_str()))
        });
        let weak = Rc::downgrade(hub);
        adapter.on_rate(move |score| {
            let rating = |r: &RatingController| RatingInput::Rated {
                score: score.clamp(1, 5) as u8,
                reasons: r.reasons.borrow().iter().cloned().collect(),
                comment: None,
                channel: RatingChannel::WindowTablet,
                indicators: Indicators::default(),
                case_number: r.case_number.borrow().clone(),
            };
            with_rating(&weak, window, |hub, r| r.submit(hub, rating(r)))
        });
        let weak = Rc::downgrade(hub);
        adapter.on_timed_out(move || {
            let unrated = RatingInput::Unrated {
                why: UnratedWhy::TimedOut,
            };
            with_rating(&weak, window, |hub, r| r.submit(hub, unrated))
        });
        hub.keep_controller(controller.clone());
        hub.add_screen(controller.clone());
        controller
    }

    fn open(&self, hub: &Rc<Hub>, number: &str, case_number: Option<&str>) {
        *self.number.borrow_mut() = Some(number.to_string());
        *self.case_number.borrow_mut() = case_number.map(str::to_string);
        self.reasons.borrow_mut().clear();
        let adapter = self.ui.global::<RatingAdapter>();
        adapter.set_number(number.into());
        adapter.set_open(true);
        self.refresh(hub);
    }

    fn toggle_reason(&self, hub: &Rc<Hub>, code: &str) {
        {
            let mut reasons = self.reasons.borrow_mut();
            if !reasons.remove(code) {
                reasons.insert(code.to_string());
            }
        }
        self.refresh(hub);
    }

    fn submit(&self, hub: &Rc<Hub>, rating: RatingInput) {
        let Some(number) = self.number.borrow_mut().take() else {
            return;
        };
        self.case_number.borrow_mut().take();
        self.ui.global::<RatingAdapter>().set_open(false);
        hub.execute(Command::Rate { number, rating }, |_, outcome| {
            if let Err(e) = outcome {
                tracing::warn!("a rating was not recorded: {e}");
            }
        });
    }
}

/// Opens the rating prompt at `window` for ticket `number`, if the window has a rating screen here.
pub fn prompt(hub: &Rc<Hub>, window: u16, number: &str) {
    if let Some(screen) = rating_at(hub, window) {
        screen.open(hub, number, None);
    }
}

fn rating_at(hub: &Hub, window: u16) -> Option<Rc<RatingController>> {
    hub.controllers::<RatingController>()
        .into_iter()
        .find(|r| r.window == window)
}

fn with_rating(hub: &Weak<Hub>, window: u16, f: impl FnOnce(&Rc<Hub>, &RatingController)) {
    let Some(hub) = hub.upgrade() else { return };
    if let Some(screen) = rating_at(&hub, window) {
        f(&hub, &screen);
    }
}

impl Screen for RatingController {
    fn refresh(&self, hub: &Rc<Hub>) {
        let lang = hub.lang();
        let chosen = self.reasons.borrow();
        let reasons: Vec<Choice> = hub
            .setup()
            .config
            .rating_reasons
            .iter()
            .map(|r| Choice {
                code: r.code.as_str().into(),
                name: localized(&r.name, lang).into(),
                selected: chosen.contains(&r.code),
            })
            .collect();
        self.ui
            .global::<RatingAdapter>()
            .set_reasons(ModelRc::new(VecModel::from(reasons)));
    }

    fn on_events(&self, hub: &Rc<Hub>, events: &[Arc<StoredEvent>]) {
        let state = hub.state();
        for stored in events {
            if let Event::TicketFinished { ticket, window, .. } = &stored.event
                && *window == self.window
                && let Some(t) = state.tickets.get(ticket)
                && t.rating.is_none()
            {
                self.open(hub, &t.number, None);
            }
            // The business system's request names the case: the prompt (open already, or opened now)
            // rates the visit under it.
            if let Event::RatingRequested {
                ticket,
                window,
                case_number,
                evaluator: Evaluator::Window,
            } = &stored.event
                && *window == self.window
                && let Some(t) = state.tickets.get(ticket)
                && t.rating.is_none()
            {
                let open_for_it = self.number.borrow().as_deref() == Some(t.number.as_str());
                if open_for_it {
                    // Keep what the citizen has chosen so far.
                    *self.case_number.borrow_mut() = Some(case_number.to_string());
                } else {
                    self.open(hub, &t.number, Some(case_number.as_str()));
                }
            }
        }
    }

    fn set_direction(&self, right_to_left: bool) {
        self.ui.global::<Locale>().set_rtl(right_to_left);
    }
}
