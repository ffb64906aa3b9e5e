//! The pure domain of the hall queue: tickets, numbering, lifecycle, call-next policy, appointments and
//! ratings. No I/O: everything here is a function of the configuration, the state and the hall's time.

pub mod card_tap;
pub mod command;
pub mod day;
pub mod decide;
pub mod event;
pub mod index;
pub mod policy;
pub mod rating;
pub mod refusal;
pub mod state;
pub mod stats;
pub mod ticket;

pub use card_tap::{CardTap, SlotWords, TapDetail};
pub use command::{Booking, Command, RatingInput, StaffProof, TransferTarget};
pub use decide::{Drawn, Reply, day_opening, decide, is_staff_number, reply_for};
pub use event::{Event, Recorded, StoredEvent};
pub use rating::{
    CaseNumber, CaseNumberError, Evaluator, Indicator, Indicators, RatedVisit, RatingRequest,
    SatisfactionLevel,
};
pub use refusal::{Refusal, RefusalWire};
pub use state::HallState;
pub use ticket::*;
