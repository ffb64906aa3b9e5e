//! `hallq sim printer|idcard --pty`: the device simulators as standalone processes for the demo
//! hall and for trying a kiosk without hardware. Each reads control lines on stdin (`help` lists
//! them) and keeps running when stdin closes, until it is killed.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::idcard::sim::{CardReaderSim, ReaderFault, TestCard};
use super::printer::sim::interpret::PrintedTicket;
use super::printer::sim::render::{load_font, render};
use super::printer::sim::{MidTicketFault, Paper, PrinterSim};

#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// A thermal ticket printer speaking ESC/POS.
    Printer(PrinterSimArgs),
    /// A second-generation ID-card reader speaking the SAM protocol.
    Idcard(IdcardSimArgs),
}

#[derive(Debug, clap::Args)]
pub struct PrinterSimArgs {
    /// Serve on a pseudo-terminal pair (the only transport).
    #[arg(long)]
    pub pty: bool,
    /// Symlink to the pty's device; point `[printer] port` at it.
    #[arg(long, default_value = "/tmp/hallq-printer")]
    pub link: PathBuf,
    /// Folder for each ticket as text and PNG.
    #[arg(long, default_value = "sim-tickets")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct IdcardSimArgs {
    /// Serve on a pseudo-terminal pair (the only transport).
    #[arg(long)]
    pub pty: bool,
    /// Symlink to the pty's device; point `[idcard] port` at it.
    #[arg(long, default_value = "/tmp/hallq-idcard")]
    pub link: PathBuf,
    /// Test cards the reader knows, by layout: resident, j, i, y.
    #[arg(long, value_delimiter = ',', default_value = "resident,j,i,y")]
    pub cards: Vec<String>,
    /// Lay this card on the reader at start.
    #[arg(long)]
    pub place: Option<String>,
}

pub fn run(command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Printer(args) => run_printer(args),
        SimCommand::Idcard(args) => run_idcard(args),
    }
}

/// Control lines, read on their own thread so the simulator keeps serving while stdin waits.
fn control_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterControl {
    Paper(Paper),
    Cover { open: bool },
    Silent(bool),
    FailAfter(usize, MidTicketFault),
    Help,
    Quit,
}

pub const PRINTER_HELP: &str = "paper-ok | paper-low | paper-out | cover-open | cover-close | \
silent | awake | run-out-after <bytes> | silent-after <bytes> | help | quit";

fn byte_count(word: &str) -> Result<usize, String> {
    word.parse()
        .map_err(|_| format!("{word:?} is not a byte count"))
}

pub fn parse_printer_control(line: &str) -> Result<PrinterControl, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["paper-ok"] => PrinterControl::Paper(Paper::Plenty),
        ["paper-low"] => PrinterControl::Paper(Paper::NearEnd),
        ["paper-out"] => PrinterControl::Paper(Paper::Out),
        ["cover-open"] => PrinterControl::Cover { open: true },
        ["cover-close"] => PrinterControl::Cover { open: false },
        ["silent"] => PrinterControl::Silent(true),
        ["awake"] => PrinterControl::Silent(false),
        ["run-out-after", n] => PrinterControl::FailAfter(byte_count(n)?, MidTicketFault::PaperOut),
        ["silent-after", n] => PrinterControl::FailAfter(byte_count(n)?, MidTicketFault::Silent),
        ["help"] => PrinterControl::Help,
        ["quit"] => PrinterControl::Quit,
        _ => return Err(format!("unknown command {line:?}; try: {PRINTER_HELP}")),
    })
}

fn run_printer(args: PrinterSimArgs) -> anyhow::Result<()> {
    if !args.pty {
        bail!("only --pty is supported: the simulator serves on a pseudo-terminal pair");
    }
    let font = load_font()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let sim = PrinterSim::start(Some(&args.link))?;
    println!(
        "printer simulator on {} (tickets go to {})",
        sim.port_path(),
        args.out.display()
    );
    println!("commands: {PRINTER_HELP}");
    let controls = control_lines();
    let mut count = 0;
    loop {
        if let Some(ticket) = sim.next_ticket(Duration::from_millis(100)) {
            count += 1;
            let base = args.out.join(format!("ticket-{count:03}"));
            save_ticket(&ticket, &font, &base)?;
            let number = ticket.text_at_scale(4).join(" ");
            println!("ticket {count} {number}: {}.png", base.display());
        }
        match controls.try_recv() {
            Ok(line) if line.trim().is_empty() => {}
            Ok(line) => match parse_printer_control(&line) {
                Ok(PrinterControl::Quit) => return Ok(()),
                Ok(PrinterControl::Help) => println!("commands: {PRINTER_HELP}"),
                Ok(control) => {
                    sim.update(|s| match control {
                        PrinterControl::Paper(paper) => s.paper = paper,
                        PrinterControl::Cover { open } => s.cover_open = open,
                        PrinterControl::Silent(silent) => s.silent = silent,
                        PrinterControl::FailAfter(bytes, fault) => {
                            s.fails_after = Some((bytes, fault))
                        }
                        PrinterControl::Help | PrinterControl::Quit => {}
                    });
                    println!("ok: {:?}", sim.state());
                }
                Err(message) => println!("{message}"),
            },
            Err(_) => {}
        }
    }
}

pub fn save_ticket(
    ticket: &PrintedTicket,
    font: &ab_glyph::FontVec,
    base: &Path,
) -> anyhow::Result<()> {
    let png = render(ticket, font)?.to_png()?;
    std::fs::write(base.with_extension("png"), png)?;
    std::fs::write(base.with_extension("txt"), ticket.text())?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdcardControl {
    Place(String),
    Remove,
    Fault(ReaderFault),
    Unplug,
    Replug,
    Help,
    Quit,
}

pub const IDCARD_HELP: &str = "place <resident|j|i|y> | remove | garbage | truncate | \
bad-checksum | silence | yank (card pulled away mid-read) | unplug | replug | help | quit";

pub fn parse_idcard_control(line: &str) -> Result<IdcardControl, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["place", label] => IdcardControl::Place((*label).to_owned()),
        ["remove"] => IdcardControl::Remove,
        ["garbage"] => IdcardControl::Fault(ReaderFault::Garbage),
        ["truncate"] => IdcardControl::Fault(ReaderFault::Truncate),
        ["bad-checksum"] => IdcardControl::Fault(ReaderFault::BadChecksum),
        ["silence"] => IdcardControl::Fault(ReaderFault::Silence),
        ["yank"] => IdcardControl::Fault(ReaderFault::CardRemovedMidRead),
        ["unplug"] => IdcardControl::Unplug,
        ["replug"] => IdcardControl::Replug,
        ["help"] => IdcardControl::Help,
        ["quit"] => IdcardControl::Quit,
        _ => return Err(format!("unknown command {line:?}; try: {IDCARD_HELP}")),
    })
}

fn cards_from_labels(labels: &[String]) -> anyhow::Result<Vec<TestCard>> {
    labels
        .iter()
        .map(|label| {
            TestCard::by_label(label)
                .with_context(|| format!("unknown test card {label:?}; known: resident, j, i, y"))
        })
        .collect()
}

fn place(sim: &CardReaderSim, cards: &[TestCard], label: &str) -> Result<(), String> {
    let index = cards
        .iter()
        .position(|c| c.label == label)
        .ok_or_else(|| format!("no test card {label:?} on this reader"))?;
    sim.place(index);
    Ok(())
}

fn run_idcard(args: IdcardSimArgs) -> anyhow::Result<()> {
    if !args.pty {
        bail!("only --pty is supported: the simulator serves on a pseudo-terminal pair");
    }
    let cards = cards_from_labels(&args.cards)?;
    let mut sim = CardReaderSim::start(cards.clone(), &args.link)?;
    if let Some(label) = &args.place {
        place(&sim, &cards, label).map_err(anyhow::Error::msg)?;
    }
    println!("ID-card reader simulator on {}", sim.port_path());
    println!("commands: {IDCARD_HELP}");
    let controls = control_lines();
    loop {
        let Ok(line) = controls.recv() else {
            // Stdin closed: keep serving until killed.
            std::thread::park();
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let result = match parse_idcard_control(&line) {
            Ok(IdcardControl::Quit) => return Ok(()),
            Ok(IdcardControl::Help) => Ok(()),
            Ok(IdcardControl::Place(label)) => place(&sim, &cards, &label),
            Ok(IdcardControl::Remove) => {
                sim.remove_card();
                Ok(())
            }
            Ok(IdcardControl::Fault(fault)) => {
                sim.inject(fault);
                Ok(())
            }
            Ok(IdcardControl::Unplug) => {
                sim.unplug();
                Ok(())
            }
            Ok(IdcardControl::Replug) => sim.replug().map_err(|e| e.to_string()),
            Err(message) => Err(message),
        };
        match result {
            Ok(()) => println!("ok"),
            Err(message) => println!("{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_controls_parse() {
        assert_eq!(
            parse_printer_control("paper-out"),
            Ok(PrinterControl::Paper(Paper::Out))
        );
        assert_eq!(
            parse_printer_control(" run-out-after 120 "),
            Ok(PrinterControl::FailAfter(120, MidTicketFault::PaperOut))
        );
        assert!(
            parse_printer_control("run-out-after lots")
                .unwrap_err()
                .contains("byte count")
        );
        assert!(
            parse_printer_control("jam")
                .unwrap_err()
                .contains("paper-ok")
        );
    }

    #[test]
    fn idcard_controls_parse() {
        assert_eq!(
            parse_idcard_control("place y"),
            Ok(IdcardControl::Place("y".into()))
        );
        assert_eq!(
            parse_idcard_control("yank"),
            Ok(IdcardControl::Fault(ReaderFault::CardRemovedMidRead))
        );
        assert!(parse_idcard_control("place").is_err());
    }

    #[test]
    fn unknown_test_cards_are_named() {
        let err = cards_from_labels(&["resident".into(), "x".into()]).unwrap_err();
        assert!(err.to_string().contains("\"x\""), "{err}");
        assert_eq!(cards_from_labels(&["i".into()]).unwrap()[0].label, "i");
    }
}
