//! The hall LAN over real loopback sockets: the API, window terminals, buttons, pairing, the web
//! display page and the benchmark.

#[path = "../lan_support/mod.rs"]
mod lan_support;

mod lan_api;
mod lan_bench;
mod lan_buttons;
mod lan_cards;
mod lan_display_page;
mod lan_limits;
mod lan_pairing;
mod lan_personal_data;
mod lan_platform_link;
mod lan_ratings;
mod lan_requests;
mod lan_staff;
mod lan_terminal;
mod lan_tls;
