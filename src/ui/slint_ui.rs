//! The screens' Slint components and the types they share with Rust, generated from `ui/*.slint`.

slint::include_modules!();
