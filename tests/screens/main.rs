//! The screens under Slint's testing backend, their golden screenshots, and their translations.
//! Slint allows one platform per process: `ui_screens` owns it through its single UI thread, and
//! `ui_translations` reads files only.

#[path = "../lan_support/mod.rs"]
mod lan_support;

mod ui_screens;
mod ui_translations;
