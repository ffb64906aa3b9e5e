//! A keyboard stand-in for the call buttons: one letter a line on standard input (`n` call next,
//! `r` recall, `f` finish, `x` no-show). The demo and the tests drive the button path with it.

use std::time::Instant;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::mpsc;

use super::{Button, Press};

pub const HELP: &str = "buttons: n = call next, r = recall, f = finish, x = no-show";

pub fn button_for(line: &str) -> Option<Button> {
    match line.trim().to_ascii_lowercase().as_str() {
        "n" | "next" | "call" => Some(Button::CallNext),
        "r" | "recall" => Some(Button::Recall),
        "f" | "finish" => Some(Button::Finish),
        "x" | "noshow" | "no-show" => Some(Button::NoShow),
        _ => None,
    }
}

/// Reads presses from `input` until it ends; unknown lines get the help text.
pub async fn read_presses(input: impl AsyncBufRead + Unpin, presses: mpsc::Sender<Press>) {
    let mut lines = input.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match button_for(&line) {
            Some(button) => {
                let press = Press {
                    button,
                    at: Instant::now(),
                };
                if presses.send(press).await.is_err() {
                    return;
                }
            }
            None => eprintln!("unknown button {:?}; {HELP}", line.trim()),
        }
    }
}

/// Presses typed on this process's standard input.
pub fn spawn(presses: mpsc::Sender<Press>) {
    tokio::spawn(read_presses(
        tokio::io::BufReader::new(tokio::io::stdin()),
        presses,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_words_name_buttons() {
        assert_eq!(button_for("n"), Some(Button::CallNext));
        assert_eq!(button_for(" Recall "), Some(Button::Recall));
        assert_eq!(button_for("f"), Some(Button::Finish));
        assert_eq!(button_for("no-show"), Some(Button::NoShow));
        assert_eq!(button_for("q"), None);
    }
}
