//! The display wall's controller: binds `WallAdapter`. Calls come from engine events (a recall blinks
//! again); counts and the per-window layout come from the hall state.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use slint::{ComponentHandle, ModelRc, VecModel};

use super::hub::{Hub, Screen};
use super::slint_ui::{CallItem, DisplayWall, Locale, WaitingItem, WallAdapter, WindowItem};
use super::views::{self, Call};
use crate::config::{HallSetup, Lang, localized};
use crate::queue::{Event, StoredEvent};

pub struct WallController {
    ui: DisplayWall,
    recent: RefCell<VecDeque<Call>>,
    limit: usize,
    clock: slint::Timer,
}

impl WallController {
    pub fn bind(hub: &Rc<Hub>, ui: DisplayWall) -> Rc<WallController> {
        let screens = &hub.setup().config.screens;
        // The latest call plus the list beside it.
        let limit = screens.recent_calls as usize + 1;
        let adapter = ui.global::<WallAdapter>();
        adapter.set_per_window(screens.per_window_layout);
        adapter.set_blink_count(screens.call_blinks as i32);
        let controller = Rc::new(WallController {
            ui: ui.clone_strong(),
            recent: RefCell::new(views::recent_calls(&hub.state(), limit).into()),
            limit,
            clock: slint::Timer::default(),
        });
        let weak_hub = Rc::downgrade(hub);
        let weak_ui = ui.as_weak();
        controller.clock.start(
            slint::TimerMode::Repeated,
            std::time::Duration::from_secs(1),
            move || {
                if let (Some(hub), Some(ui)) = (weak_hub.upgrade(), weak_ui.upgrade()) {
                    show_time(&hub, &ui);
                }
            },
        );
        show_time(hub, &ui);
        hub.add_screen(controller.clone());
        controller
    }

    fn show_calls(&self, setup: &HallSetup, lang: Lang) {
        let adapter = self.ui.global::<WallAdapter>();
        let item = |call: &Call| CallItem {
            number: call.number.as_str().into(),
            window: i32::from(call.window),
            window_name: setup
                .window(call.window)
                .map(|w| localized(&w.name, lang).to_string())
                .unwrap_or_default()
                .into(),
        };
        let recent = self.recent.borrow();
        adapter.set_has_call(!recent.is_empty());
        if let Some(latest) = recent.front() {
            adapter.set_latest(item(latest));
        }
        let rest: Vec<CallItem> = recent.iter().skip(1).map(item).collect();
        adapter.set_recent(ModelRc::new(VecModel::from(rest)));
    }
}

fn show_time(hub: &Hub, ui: &DisplayWall) {
    let now = hub.local_now();
    ui.global::<WallAdapter>()
        .set_date_time(now.format("%Y-%m-%d  %H:%M").to_string().into());
}

impl Screen for WallController {
    fn refresh(&self, hub: &Rc<Hub>) {
        let setup = hub.setup().clone();
        let state = hub.state();
        let lang = hub.lang();
        let adapter = self.ui.global::<WallAdapter>();
        adapter.set_hall_unreachable(hub.hall_unreachable());
        adapter.set_terminal_unpaired(hub.terminal_unpaired());
        adapter.set_hall_name(localized(&setup.config.hall.name, lang).into());
        // A language the hall gave no notice in gets the general notice in that language, not
        // another language's text.
        let notice = setup.config.screens.notice.get(&lang).cloned();
        adapter.set_notice(notice.unwrap_or_default().into());
        let waiting: Vec<WaitingItem> = setup
            .config
            .services
            .iter()
            .map(|s| WaitingItem {
                name: localized(&s.name, lang).into(),
                waiting: views::waiting_count(&state, &s.code) as i32,
            })
            .collect();
        adapter.set_waiting(ModelRc::new(VecModel::from(waiting)));
        let windows: Vec<WindowItem> = setup
            .config
            .windows
            .iter()
            .map(|w| WindowItem {
                window: i32::from(w.number),
                name: localized(&w.name, lang).into(),
                number: state
                    .current_ticket(w.number)
                    .map(|t| t.number.as_str())
                    .unwrap_or("")
                    .into(),
            })
            .collect();
        adapter.set_windows(ModelRc::new(VecModel::from(windows)));
        self.show_calls(&setup, lang);
    }

    fn on_events(&self, hub: &Rc<Hub>, events: &[Arc<StoredEvent>]) {
        let state = hub.state();
        let mut called = false;
        for stored in events {
            let (ticket, window) = match &stored.event {
                Event::TicketCalled { ticket, window, .. }
                | Event::TicketRecalled { ticket, window, .. } => (*ticket, *window),
                _ => continue,
            };
            let Some(number) = state.tickets.get(&ticket).map(|t| t.number.clone()) else {
                continue;
            };
            let mut recent = self.recent.borrow_mut();
            recent.retain(|c| c.number != number);
            recent.push_front(Call { number, window });
            recent.truncate(self.limit);
            called = true;
        }
        if called {
            self.show_calls(hub.setup(), hub.lang());
            let adapter = self.ui.global::<WallAdapter>();
            adapter.set_call_serial(adapter.get_call_serial() + 1);
        }
    }

    fn set_direction(&self, right_to_left: bool) {
        self.ui.global::<Locale>().set_rtl(right_to_left);
    }
}
