//! The kiosk's controller: binds `KioskAdapter`, turns taps into engine commands and engine answers
//! into pages. Refusals are the engine's; this file only picks the sentence that explains them.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;

use slint::{ComponentHandle, Image, ModelRc, SharedString, VecModel};

use super::hub::{CardTaker, Hub, Screen};
use super::qr::qr_pixels;
use super::slint_ui::{Kiosk, KioskAdapter, KioskNotice, KioskPage, Locale, ServiceTile, Theme};
use super::views;
use crate::config::{Lang, Orientation, localized};
use crate::identity::CardRead;
use crate::ports::CardTapOutcome;
use crate::ports::CommandError;
use crate::ports::{PrintJob, TicketOutput};
use crate::queue::{CardTap, Command, Reply, TapDetail, Ticket};
use crate::store::{CommandResult, Outcome};

use crate::ports::IDCARD_READER as READER_DEVICE;
pub use crate::ports::TICKET_PRINTER as PRINTER_DEVICE;

pub struct KioskController {
    ui: Kiosk,
    printer: Arc<dyn TicketOutput>,
    /// The service a citizen chose that needs their ID card; the next card tap takes its ticket.
    awaiting_card_for: RefCell<Option<String>>,
    large_text: Cell<bool>,
}

impl KioskController {
    pub fn bind(hub: &Rc<Hub>, ui: Kiosk, printer: Arc<dyn TicketOutput>) -> Rc<KioskController> {
        let screens = &hub.setup().config.screens;
        let adapter = ui.global::<KioskAdapter>();
        adapter.set_landscape(screens.kiosk_orientation == Orientation::Landscape);
        adapter.set_return_after(i64::from(screens.kiosk_return_seconds.max(1)) * 1000);
        let controller = Rc::new(KioskController {
            ui: ui.clone_strong(),
            printer,
            awaiting_card_for: RefCell::default(),
            large_text: Cell::new(false),
        });
        let weak = Rc::downgrade(hub);
        let on = move |f: fn(&Rc<Hub>, &KioskController)| {
            let weak: Weak<Hub> = weak.clone();
            move || {
                if let Some(hub) = weak.upgrade()
                    && let Some(kiosk) = hub.controllers::<KioskController>().pop()
                {
                    f(&hub, &kiosk);
                }
            }
        };
        adapter.on_cancel(on(|hub, k| k.go_home(hub)));
        adapter.on_toggle_large_text(on(|_, k| k.toggle_large_text()));
        let weak = Rc::downgrade(hub);
        adapter.on_tap_service(move |code| {
            if let Some(hub) = weak.upgrade()
                && let Some(kiosk) = hub.controllers::<KioskController>().pop()
            {
                kiosk.tap_service(&hub, code.as_str());
            }
        });
        let weak = Rc::downgrade(hub);
        adapter.on_choose_language(move |code| {
            let lang = Lang::ALL.into_iter().find(|l| l.code() == code.as_str());
            if let (Some(hub), Some(lang)) = (weak.upgrade(), lang) {
                hub.set_language(lang);
            }
        });
        hub.replace_controller(controller.clone());
        hub.set_card_taker(controller.clone());
        hub.add_screen(controller.clone());
        controller
    }

    fn adapter(&self) -> KioskAdapter<'_> {
        self.ui.global::<KioskAdapter>()
    }

    /// A citizen tapped a service tile: ask the engine for a ticket without an ID card. A service that
    /// needs the card is refused with `id_card_required`, which leads to the card page.
    pub fn tap_service(&self, hub: &Rc<Hub>, service: &str) {
        *self.awaiting_card_for.borrow_mut() = None;
        if self.refuse_while_unreachable(hub) {
            return;
        }
        let service = service.to_string();
        hub.execute(
            Command::IssueTicket {
                service: service.clone(),
                citizen: None,
                by_staff: false,
            },
            move |hub, outcome| with_kiosk(hub, |k| k.answer(hub, outcome, Some(&service), None)),
        );
    }

    /// A card on the reader: the ticket for the service waiting for it, or else an appointment
    /// check-in. The hall node hashes the card and answers what the tap came to, with what this
    /// kiosk needs to word a refusal; `expired` marks a card past its expiry date, which the service
    /// it is for may refuse (`accepts_expired_id_card`).
    pub fn tap_card_read(&self, hub: &Rc<Hub>, card: CardRead, expired: bool) {
        let service = self.awaiting_card_for.borrow_mut().take();
        if self.refuse_while_unreachable(hub) {
            return;
        }
        let tap = CardTap {
            card,
            service: service.clone(),
            expired,
        };
        hub.tap_card(tap, move |hub, answer| {
            with_kiosk(hub, |k| match answer {
                Ok(CardTapOutcome { outcome, detail }) => {
                    k.answer(hub, Ok(outcome), service.as_deref(), Some(&detail))
                }
                Err(e) => k.answer(hub, Err(e), service.as_deref(), None),
            })
        });
    }

    /// A card lay on the reader and could not be read: say so, and what to do, in the citizen's
    /// language. A kiosk waiting for a card keeps waiting, so placing it again still takes the ticket.
    pub fn card_unreadable(&self) {
        self.notice(KioskNotice::CardUnreadable, "", "");
    }

    /// Without the hall node no number can be given: say so at once rather than keep a citizen
    /// waiting on retries, and send nothing that could issue a ticket nobody collects.
    fn refuse_while_unreachable(&self, hub: &Rc<Hub>) -> bool {
        let unreachable = hub.hall_unreachable();
        if unreachable {
            self.notice(KioskNotice::OutOfOrder, "", "");
        }
        unreachable
    }

    fn answer(
        &self,
        hub: &Rc<Hub>,
        outcome: Result<Outcome, CommandError>,
        service: Option<&str>,
        card: Option<&TapDetail>,
    ) {
        match outcome.map(|o| o.result) {
            Ok(CommandResult::Done(Reply::Ticket {
                ticket,
                people_ahead,
            })) => self.show_ticket(hub, &ticket, people_ahead.unwrap_or(0)),
            Ok(CommandResult::Done(_)) => self.notice(KioskNotice::OutOfOrder, "", ""),
            Ok(CommandResult::Refused(refusal)) => {
                self.explain(hub, &refusal.code, service, card);
            }
            Err(e) => {
                tracing::warn!("the kiosk's command failed: {e}");
                self.notice(KioskNotice::OutOfOrder, "", "");
            }
        }
    }

    /// Puts a refusal into the citizen's words. `card` is what the hall node told of a card tap's
    /// refusal; `None` for a tap on a service tile.
    fn explain(&self, hub: &Rc<Hub>, code: &str, service: Option<&str>, card: Option<&TapDetail>) {
        let setup = hub.setup().clone();
        let state = hub.state();
        let name = service
            .map(|s| views::service_name(&setup, s, hub.lang()))
            .unwrap_or_default();
        let slot = card.and_then(|c| c.slot.as_ref());
        match code {
            "id_card_required" if state.faults.contains_key(READER_DEVICE) => {
                // A reader that takes no cards (unplugged, or a kiosk without the hall key) would
                // leave the citizen waiting at the card page: send them to the staff instead.
                tracing::info!("a service needs the ID card but the reader is out of order");
                self.notice(KioskNotice::OutOfOrder, "", "");
            }
            "id_card_required" if card.is_none() => {
                *self.awaiting_card_for.borrow_mut() = service.map(str::to_string);
                self.adapter().set_card_service_name(name.into());
                self.adapter().set_page(KioskPage::Card);
            }
            "id_card_required" => self.notice(KioskNotice::CardNeeded, &name, ""),
            "appointment_only" => self.notice(KioskNotice::AppointmentOnly, &name, ""),
            "daily_cap_reached" => self.notice(KioskNotice::DailyCap, &name, ""),
            "card_expired" => {
                let refusing = card.and_then(|c| c.service.as_deref()).unwrap_or_default();
                let name = views::service_name(&setup, refusing, hub.lang());
                self.notice(KioskNotice::CardExpired, &name, "");
            }
            "already_holds_ticket" => {
                let held = card
                    .and_then(|c| c.held_ticket.as_deref())
                    .unwrap_or_default();
                self.notice(KioskNotice::AlreadyHolds, held, "");
            }
            "no_booking" => self.notice(KioskNotice::NoBooking, "", ""),
            "too_early" => match slot {
                Some(s) => self.notice(KioskNotice::TooEarly, &s.slot, &s.check_in_from),
                None => self.notice(KioskNotice::OutOfOrder, "", ""),
            },
            "too_late" => match slot {
                Some(s) => self.notice(KioskNotice::TooLate, &s.slot, &s.check_in_until),
                None => self.notice(KioskNotice::OutOfOrder, "", ""),
            },
            "hall_closed" => self.notice(KioskNotice::HallClosed, "", ""),
            // The list of bookings is stale and staff check citizens in: the citizen learns why
            // the card was not enough, and whom to ask.
            "bookings_stale_ask_staff" => self.notice(KioskNotice::BookingsStale, "", ""),
            other => {
                tracing::info!(code = other, "kiosk refusal without a citizen sentence");
                self.notice(KioskNotice::OutOfOrder, "", "");
            }
        }
    }

    fn notice(&self, notice: KioskNotice, arg1: &str, arg2: &str) {
        let adapter = self.adapter();
        adapter.set_notice(notice);
        adapter.set_notice_arg1(arg1.into());
        adapter.set_notice_arg2(arg2.into());
        adapter.set_page(KioskPage::Notice);
    }

    fn show_ticket(&self, hub: &Rc<Hub>, ticket: &Ticket, people_ahead: u32) {
        let setup = hub.setup().clone();
        let lang = hub.lang();
        let adapter = self.adapter();
        let status_url = setup
            .config
            .ticket
            .status_url(ticket.status_token.as_deref().unwrap_or_default(), lang);
        adapter.set_number(ticket.number.as_str().into());
        adapter.set_ticket_service_name(views::service_name(&setup, &ticket.service, lang).into());
        adapter.set_windows(views::windows_text(&setup, ticket).into());
        adapter.set_people_ahead(people_ahead as i32);
        let job = PrintJob {
            setup,
            ticket: ticket.clone(),
            people_ahead,
            lang,
        };
        if let Some(pixels) = qr_pixels(&status_url) {
            adapter.set_qr(Image::from_rgb8(pixels));
        }
        adapter.set_page(KioskPage::Issued);
        if hub.state().faults.contains_key(PRINTER_DEVICE) {
            // Known to be out of order: do not make the citizen wait for a print that cannot come.
            self.print_failed(hub, &ticket.number, "the printer reports a fault".into());
            return;
        }
        adapter.set_printed(true);
        let printer = self.printer.clone();
        let number = ticket.number.clone();
        hub.run_blocking(
            move || printer.print(&job),
            move |hub, result| {
                let result = result.unwrap_or_else(|| Err("the print task stopped".into()));
                match result {
                    Ok(()) => record_print(hub, &number, true, None),
                    Err(detail) => with_kiosk(hub, |k| k.print_failed(hub, &number, detail)),
                }
            },
        );
    }

    /// The citizen still leaves with a number: it stays on screen with its QR code.
    fn print_failed(&self, hub: &Rc<Hub>, number: &str, detail: String) {
        let adapter = self.adapter();
        if adapter.get_number().as_str() == number {
            adapter.set_printed(false);
        }
        record_print(hub, number, false, Some(detail));
    }

    fn go_home(&self, hub: &Rc<Hub>) {
        *self.awaiting_card_for.borrow_mut() = None;
        self.adapter().set_page(KioskPage::Home);
        self.refresh(hub);
    }

    fn toggle_large_text(&self) {
        self.large_text.set(!self.large_text.get());
        self.ui
            .global::<Theme>()
            .set_large_text(self.large_text.get());
    }
}

fn record_print(hub: &Rc<Hub>, number: &str, printed: bool, detail: Option<String>) {
    hub.execute(
        Command::RecordPrint {
            number: number.to_string(),
            printed,
            detail,
        },
        |_, outcome| {
            if let Ok(Outcome {
                result: CommandResult::Refused(refusal),
                ..
            }) = outcome
            {
                tracing::debug!("print record refused: {}", refusal.message);
            }
        },
    );
}

fn with_kiosk(hub: &Rc<Hub>, f: impl FnOnce(&KioskController)) {
    let kiosk = hub.controllers::<KioskController>().pop();
    if let Some(kiosk) = kiosk {
        f(&kiosk);
    }
}

impl CardTaker for KioskController {
    fn take_card(&self, hub: &Rc<Hub>, card: CardRead, expired: bool) {
        self.tap_card_read(hub, card, expired);
    }

    fn take_unreadable_card(&self) {
        self.card_unreadable();
    }
}

impl Screen for KioskController {
    fn refresh(&self, hub: &Rc<Hub>) {
        let setup = hub.setup().clone();
        let state = hub.state();
        let lang = hub.lang();
        let adapter = self.adapter();
        adapter.set_language(lang.code().into());
        adapter.set_hall_name(localized(&setup.config.hall.name, lang).into());
        adapter.set_printer_faulty(state.faults.contains_key(PRINTER_DEVICE));
        adapter.set_hall_unreachable(hub.hall_unreachable());
        adapter.set_terminal_unpaired(hub.terminal_unpaired());
        // Staff must know while the hall's fallback for bookings applies, not only when a citizen
        // is refused.
        adapter.set_bookings_stale(state.bookings_stale);
        let tiles: Vec<ServiceTile> = setup
            .config
            .services
            .iter()
            .map(|s| ServiceTile {
                code: s.code.as_str().into(),
                name: localized(&s.name, lang).into(),
                waiting: views::waiting_count(&state, &s.code) as i32,
                wait_minutes: views::estimated_wait_minutes(&setup, &state, &s.code) as i32,
                needs_card: s.requires_id_card,
                appointment_only: s.appointment_only,
                full: s
                    .daily_cap
                    .is_some_and(|cap| views::issued_count(&state, &s.code) >= cap),
            })
            .collect();
        adapter.set_services(ModelRc::new(VecModel::from(tiles)));
        // Outside opening hours the home page gives way to the closed page; a result on screen stays.
        let now = hub.local_now();
        let open = setup.hours.is_open_at(now);
        let page = adapter.get_page();
        if !open && page == KioskPage::Home {
            let opens = setup.hours.next_opening(now).map(|at| {
                if at.date() == now.date() {
                    at.format("%H:%M").to_string()
                } else {
                    at.format("%Y-%m-%d %H:%M").to_string()
                }
            });
            adapter.set_opens_at(SharedString::from(opens.unwrap_or_default()));
            adapter.set_page(KioskPage::Closed);
        } else if open && page == KioskPage::Closed {
            adapter.set_page(KioskPage::Home);
        }
    }

    fn set_direction(&self, right_to_left: bool) {
        self.ui.global::<Locale>().set_rtl(right_to_left);
    }
}
