//! Call buttons on a Raspberry Pi's GPIO header (feature `gpio`): each button pulls its pin to ground,
//! so a press is a falling edge on an input with the internal pull-up. rppal debounces in its interrupt
//! thread; the shared [`super::Debouncer`] still applies after it.

use std::time::{Duration, Instant};

use rppal::gpio::{Gpio, InputPin, Trigger};
use tokio::sync::mpsc;

use super::{Button, Press};
use crate::config::ButtonsConfig;

/// Holds the pins; dropping it stops the interrupts.
pub struct GpioButtons {
    _pins: Vec<InputPin>,
}

/// Watches the pins named in `[buttons]`. Fails off a Raspberry Pi ("Unknown Raspberry Pi model").
pub fn watch(config: &ButtonsConfig, presses: mpsc::Sender<Press>) -> anyhow::Result<GpioButtons> {
    let gpio = Gpio::new()?;
    let debounce = Duration::from_millis(u64::from(config.debounce_ms));
    let mut pins = Vec::new();
    for (button, pin) in [
        (Button::CallNext, config.call_next),
        (Button::Recall, config.recall),
        (Button::Finish, config.finish),
        (Button::NoShow, config.no_show),
    ] {
        let Some(pin) = pin else { continue };
        let mut input = gpio.get(pin)?.into_input_pullup();
        let presses = presses.clone();
        input.set_async_interrupt(Trigger::FallingEdge, Some(debounce), move |_| {
            // The interrupt thread must not block: a full queue means the press is one too many.
            let _ = presses.try_send(Press {
                button,
                at: Instant::now(),
            });
        })?;
        pins.push(input);
    }
    Ok(GpioButtons { _pins: pins })
}
