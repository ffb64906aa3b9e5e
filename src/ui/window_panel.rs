//! A window panel's controller: binds `PanelAdapter` for one window. Staff actions become engine
//! commands; a refused action (say, "call next" while a citizen is still at the window) comes back as
//! a notice naming what to do first.

use std::cell::Cell;
use std::rc::{Rc, Weak};

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::hub::{Hub, Screen};
use super::slint_ui::{
    Choice, Locale, PanelAction, PanelAdapter, PanelNotice, QueueLength, WindowPanel,
};
use super::views;
use crate::config::{SignInBy, localized};
use crate::identity::StaffPin;
use crate::ports::CommandError;
use chrono::Timelike;

use crate::queue::{Command, TicketState, TransferTarget};
use crate::store::{CommandResult, Outcome};

pub struct PanelController {
    ui: WindowPanel,
    window: u16,
    /// How far staff have moved the date and time to confirm from the board's clock, in minutes.
    clock_correction_minutes: Cell<i64>,
}

impl PanelController {
    pub fn bind(hub: &Rc<Hub>, ui: WindowPanel, window: u16) -> Rc<PanelController> {
        let controller = Rc::new(PanelController {
            ui: ui.clone_strong(),
            window,
            clock_correction_minutes: Cell::new(0),
        });
        let adapter = ui.global::<PanelAdapter>();
        adapter.set_window_number(i32::from(window));
        let weak = Rc::downgrade(hub);
        adapter.set_pin_required(hub.setup().config.staff.sign_in == SignInBy::Pin);
        adapter.on_sign_in(move |staff, pin| {
            with_panel_of(&weak, window, |hub, p| {
                p.sign_in(hub, staff.as_str(), pin.as_str())
            })
        });
        let weak = Rc::downgrade(hub);
        adapter.on_act(move |action| with_panel_of(&weak, window, |hub, p| p.act(hub, action)));
        let weak = Rc::downgrade(hub);
        adapter.on_transfer_to_service(move |code| {
            let to = TransferTarget::Service(code.to_string());
            with_panel_of(&weak, window, |hub, p| p.transfer(hub, to))
        });
        let weak = Rc::downgrade(hub);
        adapter.on_transfer_to_window(move |code| {
            if let Ok(number) = code.parse::<u16>() {
                let to = TransferTarget::Window(number);
                with_panel_of(&weak, window, |hub, p| p.transfer(hub, to));
            }
        });
        let weak = Rc::downgrade(hub);
        adapter.on_adjust_clock(move |minutes| {
            with_panel_of(&weak, window, |hub, p| {
                p.adjust_clock(hub, i64::from(minutes))
            })
        });
        let weak = Rc::downgrade(hub);
        adapter
            .on_confirm_clock(move || with_panel_of(&weak, window, |hub, p| p.confirm_clock(hub)));
        hub.keep_controller(controller.clone());
        hub.add_screen(controller.clone());
        controller
    }

    fn adapter(&self) -> PanelAdapter<'_> {
        self.ui.global::<PanelAdapter>()
    }

    /// Signs `staff` in; `pin` is "" where the hall asks for none.
    pub fn sign_in(&self, hub: &Rc<Hub>, staff: &str, pin: &str) {
        let pin = if pin.is_empty() {
            None
        } else {
            match StaffPin::new(pin) {
                Ok(pin) => Some(pin),
                // Not a PIN's form: it cannot match, and the hall node need not be asked.
                Err(_) => {
                    self.adapter().set_notice(PanelNotice::WrongPin);
                    return;
                }
            }
        };
        let window = self.window;
        hub.sign_in(window, staff.to_string(), pin, move |hub, outcome| {
            if let Some(panel) = panel_at(hub, window) {
                panel.answer(hub, outcome);
            }
        });
    }

    pub fn act(&self, hub: &Rc<Hub>, action: PanelAction) {
        let window = self.window;
        let command = match action {
            PanelAction::CallNext => Command::CallNext { window },
            PanelAction::Recall => Command::Recall { window },
            PanelAction::Start => Command::StartService { window },
            PanelAction::Finish => Command::Finish { window },
            PanelAction::NoShow => Command::NoShow { window },
            PanelAction::Pause => Command::Pause { window },
            PanelAction::Resume => Command::Resume { window },
            PanelAction::SignOut => Command::SignOut { window },
        };
        self.run(hub, command);
    }

    /// The date and time staff are about to confirm: the board's clock as they have corrected it.
    fn clock_to_confirm(&self, hub: &Hub) -> chrono::NaiveDateTime {
        let local =
            hub.local_now() + chrono::Duration::minutes(self.clock_correction_minutes.get());
        // Staff confirm whole minutes, as they read them off a watch.
        local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(local)
    }

    fn adjust_clock(&self, hub: &Rc<Hub>, minutes: i64) {
        self.clock_correction_minutes
            .set(self.clock_correction_minutes.get() + minutes);
        self.show_clock_to_confirm(hub);
    }

    fn show_clock_to_confirm(&self, hub: &Hub) {
        let shown = self
            .clock_to_confirm(hub)
            .format("%Y-%m-%d %H:%M")
            .to_string();
        self.adapter().set_clock_shown(shown.into());
    }

    fn confirm_clock(&self, hub: &Rc<Hub>) {
        let local = self.clock_to_confirm(hub);
        self.clock_correction_minutes.set(0);
        self.run(
            hub,
            Command::ConfirmClock {
                window: self.window,
                local,
            },
        );
    }

    fn transfer(&self, hub: &Rc<Hub>, to: TransferTarget) {
        self.run(
            hub,
            Command::Transfer {
                window: self.window,
                to,
            },
        );
    }

    fn run(&self, hub: &Rc<Hub>, command: Command) {
        let window = self.window;
        hub.execute(command, move |hub, outcome| {
            if let Some(panel) = panel_at(hub, window) {
                panel.answer(hub, outcome);
            }
        });
    }

    fn answer(&self, hub: &Rc<Hub>, outcome: Result<Outcome, CommandError>) {
        let adapter = self.adapter();
        match outcome.map(|o| o.result) {
            Ok(CommandResult::Done(_)) => adapter.set_notice(PanelNotice::None),
            Ok(CommandResult::Refused(refusal)) => {
                let current = hub
                    .state()
                    .current_ticket(self.window)
                    .map(|t| t.number.clone())
                    .unwrap_or_default();
                let (notice, arg) = match refusal.code.as_str() {
                    "window_busy" => (PanelNotice::WindowBusy, current),
                    "queue_empty" => (PanelNotice::QueueEmpty, String::new()),
                    "recall_limit" => (PanelNotice::RecallLimit, current),
                    "not_signed_in" => (PanelNotice::NotSignedIn, String::new()),
                    "window_paused" => (PanelNotice::WindowPaused, String::new()),
                    "already_signed_in" | "staff_at_another_window" => {
                        (PanelNotice::StaffElsewhere, String::new())
                    }
                    "wrong_staff_pin" => (PanelNotice::WrongPin, String::new()),
                    "staff_locked" => (
                        PanelNotice::StaffLocked,
                        hub.setup().config.staff.lockout_minutes.to_string(),
                    ),
                    _ => (PanelNotice::Other, refusal.message),
                };
                adapter.set_notice(notice);
                adapter.set_notice_arg(arg.into());
            }
            Err(e @ CommandError::NotReached(_)) => {
                tracing::warn!("a window command did not reach the hall node: {e}");
                adapter.set_notice(PanelNotice::NotSent);
            }
            Err(e) => {
                adapter.set_notice(PanelNotice::Other);
                adapter.set_notice_arg(e.to_string().into());
            }
        }
    }
}

fn panel_at(hub: &Hub, window: u16) -> Option<Rc<PanelController>> {
    hub.controllers::<PanelController>()
        .into_iter()
        .find(|p| p.window == window)
}

fn with_panel_of(hub: &Weak<Hub>, window: u16, f: impl FnOnce(&Rc<Hub>, &PanelController)) {
    let Some(hub) = hub.upgrade() else { return };
    if let Some(panel) = panel_at(&hub, window) {
        f(&hub, &panel);
    }
}

impl Screen for PanelController {
    fn refresh(&self, hub: &Rc<Hub>) {
        let setup = hub.setup().clone();
        let state = hub.state();
        let lang = hub.lang();
        let adapter = self.adapter();
        adapter.set_hall_unreachable(hub.hall_unreachable());
        adapter.set_terminal_unpaired(hub.terminal_unpaired());
        adapter.set_platform_cut_off(hub.platform_cut_off());
        let config = setup.window(self.window);
        adapter.set_window_name(
            config
                .map(|w| localized(&w.name, lang).to_string())
                .unwrap_or_default()
                .into(),
        );
        let window = state.window(self.window);
        let staff = window.and_then(|w| w.staff.clone());
        adapter.set_signed_in(staff.is_some());
        adapter.set_staff(staff.unwrap_or_default().into());
        adapter.set_paused(window.is_some_and(|w| w.paused));
        let current = state.current_ticket(self.window);
        adapter.set_has_current(current.is_some());
        if let Some(ticket) = current {
            adapter.set_current_number(ticket.number.as_str().into());
            adapter.set_current_name(
                ticket
                    .citizen
                    .as_ref()
                    .map(|c| c.masked_name.as_str())
                    .unwrap_or("")
                    .into(),
            );
            adapter.set_serving(ticket.state == TicketState::Serving);
            adapter.set_calls(i32::from(ticket.calls));
            adapter.set_waited_minutes(views::waited_minutes(ticket, state_now(hub)));
        }
        let services: Vec<String> = config.map(|w| w.services.clone()).unwrap_or_default();
        let queues: Vec<QueueLength> = services
            .iter()
            .map(|s| QueueLength {
                name: views::service_name(&setup, s, lang).into(),
                waiting: views::waiting_count(&state, s) as i32,
            })
            .collect();
        adapter.set_queues(ModelRc::new(VecModel::from(queues)));
        let faults: Vec<SharedString> = state
            .faults
            .iter()
            .map(|(device, fault)| format!("{device}: {}", fault.message).into())
            .collect();
        adapter.set_faults(ModelRc::new(VecModel::from(faults)));
        let transfer_services: Vec<Choice> = setup
            .config
            .services
            .iter()
            .map(|s| Choice {
                code: s.code.as_str().into(),
                name: localized(&s.name, lang).into(),
                selected: false,
            })
            .collect();
        adapter.set_transfer_services(ModelRc::new(VecModel::from(transfer_services)));
        let transfer_windows: Vec<Choice> = setup
            .config
            .windows
            .iter()
            .filter(|w| w.number != self.window)
            .map(|w| Choice {
                code: w.number.to_string().into(),
                name: w.number.to_string().into(),
                selected: false,
            })
            .collect();
        adapter.set_transfer_windows(ModelRc::new(VecModel::from(transfer_windows)));
        // The clock: confirmed by staff where nothing else vouches for it, and any gap between the
        // board's clock and the hall's time shown until they agree again.
        let anchor = state.clock.as_ref();
        let signed_in = window.is_some_and(|w| w.staff.is_some());
        // A staff confirmation stands for the rest of the boot it was given in.
        let vouched = anchor.is_none_or(|a| a.trusted || a.staff_reference.is_some());
        adapter.set_clock_unconfirmed(signed_in && !vouched);
        self.show_clock_to_confirm(hub);
        let gap = anchor
            .and_then(|a| a.disagreement_ms(&setup))
            .map(hours_and_minutes)
            .unwrap_or_default();
        adapter.set_clock_gap(gap.into());
    }

    fn set_direction(&self, right_to_left: bool) {
        self.ui.global::<Locale>().set_rtl(right_to_left);
    }
}

/// A signed span as hours and minutes, "+25:03" or "−0:40": the same in every language.
fn hours_and_minutes(ms: i64) -> String {
    let minutes = ms.abs() / 60_000;
    let sign = if ms < 0 { '−' } else { '+' };
    format!("{sign}{}:{:02}", minutes / 60, minutes % 60)
}

/// The hall's time now in ms, for the wait of a ticket not yet called.
fn state_now(hub: &Hub) -> i64 {
    crate::queue::day::instant_of(hub.setup(), hub.local_now())
}

#[cfg(test)]
mod tests {
    use super::hours_and_minutes;

    #[test]
    fn a_clock_gap_reads_as_signed_hours_and_minutes() {
        assert_eq!(hours_and_minutes(25 * 3_600_000 + 3 * 60_000), "+25:03");
        assert_eq!(hours_and_minutes(-40 * 60_000 - 59_000), "−0:40");
        assert_eq!(hours_and_minutes(0), "+0:00");
    }
}
