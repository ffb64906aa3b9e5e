//! Reads ESC/POS the way a Chinese thermal printer does and keeps what it would put on paper.
//! Buffers are bounded: a runaway text line is wrapped, an oversized command is skipped.

use serde::Serialize;

/// Longest QR payload a model 2 symbol holds, plus the store command's header.
const MAX_COMMAND_BYTES: usize = 7089 + 8;
/// A printer wraps long lines; the interpreter wraps them at the first character boundary from
/// here on. No GB18030 character is longer than four bytes, so whatever the bytes, a line never
/// holds more than `MAX_LINE_BYTES + 3`.
const MAX_LINE_BYTES: usize = 512;
/// Tickets longer than this are not tickets: the rest is dropped with a warning.
const MAX_ELEMENTS: usize = 256;
const MAX_WARNINGS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Align {
    #[default]
    Left,
    Centre,
    Right,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextRun {
    pub text: String,
    /// Character scale from GS ! (1-8).
    pub width: u8,
    pub height: u8,
    pub bold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TicketElement {
    Line {
        align: Align,
        runs: Vec<TextRun>,
    },
    Qr {
        data: String,
        model: u8,
        module_size: u8,
        level: char,
        align: Align,
    },
    /// `ESC d n`: n blank lines.
    Feed(u8),
    /// The n of `GS V 65/66 n`: vertical motion units past the cutting position, one dot row
    /// each on the 203-dpi heads of 58 mm printers (their `GS P` default).
    FeedDots(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cut {
    Full,
    Partial,
}

/// One ticket as printed up to its cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintedTicket {
    pub elements: Vec<TicketElement>,
    pub cut: Cut,
    pub warnings: Vec<String>,
    pub bytes: usize,
}

impl PrintedTicket {
    /// The ticket as plain text, one line per printed line; a QR code shows as `[QR …]`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for element in &self.elements {
            match element {
                TicketElement::Line { runs, .. } => {
                    for run in runs {
                        out.push_str(&run.text);
                    }
                    out.push('\n');
                }
                TicketElement::Qr { data, .. } => {
                    out.push_str(&format!("[QR {data}]\n"));
                }
                TicketElement::Feed(n) => {
                    for _ in 0..*n {
                        out.push('\n');
                    }
                }
                TicketElement::FeedDots(_) => {}
            }
        }
        out
    }

    pub fn qr_payloads(&self) -> Vec<&str> {
        self.elements
            .iter()
            .filter_map(|e| match e {
                TicketElement::Qr { data, .. } => Some(data.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The text of the runs printed at `scale` times normal size, such as the ticket number.
    pub fn text_at_scale(&self, scale: u8) -> Vec<&str> {
        self.elements
            .iter()
            .filter_map(|e| match e {
                TicketElement::Line { runs, .. } => Some(runs),
                _ => None,
            })
            .flatten()
            .filter(|r| r.width == scale && r.height == scale)
            .map(|r| r.text.as_str())
            .collect()
    }
}

/// What the interpreter hands back to the simulator as it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterInput {
    /// DLE EOT n: the simulator must answer at once.
    StatusQuery(u8),
    Cut(PrintedTicket),
}

#[derive(Debug, Clone)]
struct QrSetup {
    model: u8,
    module_size: u8,
    level: char,
    stored: Option<Vec<u8>>,
}

impl Default for QrSetup {
    fn default() -> Self {
        // Power-on defaults of common printers: model 2, size 3, level L.
        Self {
            model: 2,
            module_size: 3,
            level: 'L',
            stored: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct EscPosInterpreter {
    pending: Vec<u8>,
    line: Vec<u8>,
    /// How much of `line` is known to be whole characters, so a boundary is found by scanning
    /// only the bytes that arrived since.
    line_whole: usize,
    runs: Vec<TextRun>,
    chinese: bool,
    width: u8,
    height: u8,
    bold: bool,
    align: Align,
    line_align: Option<Align>,
    qr: QrSetup,
    elements: Vec<TicketElement>,
    warnings: Vec<String>,
    bytes: usize,
}

enum Step {
    /// The command is complete and was `n` bytes long.
    Consumed(usize),
    /// More bytes are needed.
    Incomplete,
}

impl EscPosInterpreter {
    pub fn new() -> Self {
        let mut me = Self::default();
        me.reset();
        me
    }

    fn reset(&mut self) {
        self.chinese = false;
        self.width = 1;
        self.height = 1;
        self.bold = false;
        self.align = Align::Left;
        self.qr = QrSetup::default();
    }

    /// Bytes held while waiting for the rest of a command or line.
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.line.len()
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<PrinterInput> {
        self.bytes += bytes.len();
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match self.step(at, &mut out) {
                Step::Consumed(n) => at += n,
                Step::Incomplete => break,
            }
        }
        self.pending.drain(..at);
        if self.pending.len() > MAX_COMMAND_BYTES {
            self.warn(format!(
                "dropped an oversized command of {} bytes",
                self.pending.len()
            ));
            self.pending.clear();
        }
        out
    }

    fn step(&mut self, at: usize, out: &mut Vec<PrinterInput>) -> Step {
        let rest = &self.pending[at..];
        match rest[0] {
            0x0A => {
                self.end_line();
                Step::Consumed(1)
            }
            0x10 => self.dle(at, out),
            0x1B => self.esc(at),
            0x1C => self.fs(at),
            0x1D => self.gs(at, out),
            byte if byte < 0x20 => Step::Consumed(1),
            byte => {
                self.line.push(byte);
                if self.line.len() >= MAX_LINE_BYTES && self.at_char_boundary() {
                    self.end_line();
                }
                Step::Consumed(1)
            }
        }
    }

    fn arg(&self, at: usize, index: usize) -> Option<u8> {
        self.pending.get(at + index).copied()
    }

    fn dle(&mut self, at: usize, out: &mut Vec<PrinterInput>) -> Step {
        let (Some(function), Some(n)) = (self.arg(at, 1), self.arg(at, 2)) else {
            return Step::Incomplete;
        };
        match function {
            0x04 => out.push(PrinterInput::StatusQuery(n)),
            other => self.warn(format!("ignored DLE {other:#04x}")),
        }
        Step::Consumed(3)
    }

    fn esc(&mut self, at: usize) -> Step {
        let Some(command) = self.arg(at, 1) else {
            return Step::Incomplete;
        };
        if command == b'@' {
            self.end_line_if_any();
            self.reset();
            return Step::Consumed(2);
        }
        if matches!(command, b'2') {
            return Step::Consumed(2);
        }
        let Some(n) = self.arg(at, 2) else {
            return Step::Incomplete;
        };
        match command {
            b'a' => {
                self.align = match n {
                    0 | 48 => Align::Left,
                    1 | 49 => Align::Centre,
                    _ => Align::Right,
                }
            }
            b'd' => {
                self.end_line_if_any();
                self.push_element(TicketElement::Feed(n));
            }
            b'E' => self.set_style(self.width, self.height, n & 1 == 1),
            b'!' => self.set_style(1 + (n >> 5 & 1), 1 + (n >> 4 & 1), n & 0x08 != 0),
            b'3' | b'J' | b't' | b'M' | b'-' | b'G' | b'R' | b'{' | b'V' => {}
            other => self.warn(format!("ignored ESC {:?}", other as char)),
        }
        Step::Consumed(3)
    }

    fn fs(&mut self, at: usize) -> Step {
        let Some(command) = self.arg(at, 1) else {
            return Step::Incomplete;
        };
        match command {
            b'&' => {
                self.chinese = true;
                Step::Consumed(2)
            }
            b'.' => {
                self.end_run();
                self.chinese = false;
                Step::Consumed(2)
            }
            b'!' | b'-' | b'C' | b'W' => match self.arg(at, 2) {
                Some(_) => Step::Consumed(3),
                None => Step::Incomplete,
            },
            other => {
                self.warn(format!("ignored FS {:?}", other as char));
                Step::Consumed(2)
            }
        }
    }

    fn gs(&mut self, at: usize, out: &mut Vec<PrinterInput>) -> Step {
        let Some(command) = self.arg(at, 1) else {
            return Step::Incomplete;
        };
        match command {
            b'(' => self.gs_paren(at),
            b'V' => {
                let Some(mode) = self.arg(at, 2) else {
                    return Step::Incomplete;
                };
                let (cut, len) = match mode {
                    0 | 48 => (Cut::Full, 3),
                    1 | 49 => (Cut::Partial, 3),
                    65 | 97 => (Cut::Full, 4),
                    _ => (Cut::Partial, 4),
                };
                // Function B (`GS V 65/66 n`) feeds to the cutting position plus n vertical
                // motion units, not n lines (Epson TM-T88, Zijiang ZJ-58 and SPRT manuals). The
                // feed to the cutter only brings the last printed line to the blade, so on this
                // ticket it adds nothing below that line; the head-to-cutter gap becomes the
                // next ticket's top margin.
                if len == 4 {
                    let Some(units) = self.arg(at, 3) else {
                        return Step::Incomplete;
                    };
                    self.end_line_if_any();
                    if units > 0 {
                        self.push_element(TicketElement::FeedDots(units));
                    }
                }
                self.cut(cut, out);
                Step::Consumed(len)
            }
            b'!' => {
                let Some(n) = self.arg(at, 2) else {
                    return Step::Incomplete;
                };
                self.set_style((n >> 4) + 1, (n & 0x0F) + 1, self.bold);
                if n & 0x88 != 0 {
                    self.warn(format!("GS ! {n:#04x} asks for a size above 8"));
                }
                Step::Consumed(3)
            }
            b'a' | b'B' | b'h' | b'w' | b'H' | b'f' => match self.arg(at, 2) {
                Some(_) => Step::Consumed(3),
                None => Step::Incomplete,
            },
            b'L' | b'W' => match self.arg(at, 3) {
                Some(_) => Step::Consumed(4),
                None => Step::Incomplete,
            },
            other => {
                self.warn(format!("ignored GS {:?}", other as char));
                Step::Consumed(2)
            }
        }
    }

    /// `GS ( k pL pH cn fn …`: 2D codes. Only QR (cn = 0x31) is printed.
    fn gs_paren(&mut self, at: usize) -> Step {
        let (Some(_), Some(pl), Some(ph)) = (self.arg(at, 2), self.arg(at, 3), self.arg(at, 4))
        else {
            return Step::Incomplete;
        };
        let len = usize::from(pl) | usize::from(ph) << 8;
        let total = 5 + len;
        if self.pending.len() - at < total {
            if total > MAX_COMMAND_BYTES {
                self.warn(format!("skipped a 2D-code command of {total} bytes"));
                return Step::Consumed(self.pending.len() - at);
            }
            return Step::Incomplete;
        }
        let body = self.pending[at + 5..at + total].to_vec();
        if self.pending[at + 2] == b'k' && body.len() >= 3 && body[0] == 0x31 {
            self.qr_function(body[1], &body[2..]);
        } else {
            self.warn("ignored a GS ( command other than QR".into());
        }
        Step::Consumed(total)
    }

    fn qr_function(&mut self, function: u8, args: &[u8]) {
        match (function, args) {
            (0x41, [model, ..]) => self.qr.model = model.saturating_sub(0x30),
            (0x43, [size, ..]) => self.qr.module_size = *size,
            (0x45, [level, ..]) => {
                self.qr.level = match level {
                    0x30 => 'L',
                    0x31 => 'M',
                    0x32 => 'Q',
                    _ => 'H',
                }
            }
            (0x50, [0x30, data @ ..]) => self.qr.stored = Some(data.to_vec()),
            (0x51, _) => {
                self.end_line_if_any();
                match self.qr.stored.clone() {
                    Some(data) => {
                        let element = TicketElement::Qr {
                            data: String::from_utf8_lossy(&data).into_owned(),
                            model: self.qr.model,
                            module_size: self.qr.module_size,
                            level: self.qr.level,
                            align: self.align,
                        };
                        self.push_element(element);
                    }
                    None => self.warn("QR print with no stored data".into()),
                }
            }
            (other, _) => self.warn(format!("ignored QR function {other:#04x}")),
        }
    }

    fn set_style(&mut self, width: u8, height: u8, bold: bool) {
        let (width, height) = (width.clamp(1, 8), height.clamp(1, 8));
        if (width, height, bold) != (self.width, self.height, self.bold) {
            self.end_run();
            (self.width, self.height, self.bold) = (width, height, bold);
        }
    }

    /// Whether the line buffer ends on a whole character, so wrapping never splits a GBK pair.
    /// Scans on from the last boundary found: re-decoding the whole line per byte made a long
    /// line quadratic, and a byte GB18030 rejects kept the old check from ever passing.
    fn at_char_boundary(&mut self) -> bool {
        if !self.chinese {
            self.line_whole = self.line.len();
            return true;
        }
        while let Some(len) = gb18030_char_len(&self.line[self.line_whole..]) {
            self.line_whole += len;
        }
        self.line_whole == self.line.len()
    }

    fn clear_line(&mut self) {
        self.line.clear();
        self.line_whole = 0;
    }

    fn end_run(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = if self.chinese {
            encoding_rs::GB18030.decode(&self.line).0.into_owned()
        } else {
            self.line
                .iter()
                .map(|&b| if b < 0x80 { b as char } else { '?' })
                .collect()
        };
        self.clear_line();
        self.line_align.get_or_insert(self.align);
        self.runs.push(TextRun {
            text,
            width: self.width,
            height: self.height,
            bold: self.bold,
        });
    }

    fn end_line(&mut self) {
        self.end_run();
        let align = self.line_align.take().unwrap_or(self.align);
        let runs = std::mem::take(&mut self.runs);
        self.push_element(TicketElement::Line { align, runs });
    }

    fn end_line_if_any(&mut self) {
        if !self.line.is_empty() || !self.runs.is_empty() {
            self.end_line();
        }
    }

    fn push_element(&mut self, element: TicketElement) {
        if self.elements.len() < MAX_ELEMENTS {
            self.elements.push(element);
        } else if self.elements.len() == MAX_ELEMENTS {
            self.warn("ticket too long: later lines dropped".into());
        }
    }

    fn cut(&mut self, cut: Cut, out: &mut Vec<PrinterInput>) {
        self.end_line_if_any();
        out.push(PrinterInput::Cut(PrintedTicket {
            elements: std::mem::take(&mut self.elements),
            cut,
            warnings: std::mem::take(&mut self.warnings),
            bytes: std::mem::take(&mut self.bytes),
        }));
    }

    /// Forgets a ticket in progress, as paper running out does.
    pub fn discard_ticket(&mut self) {
        self.clear_line();
        self.runs.clear();
        self.elements.clear();
    }

    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }
}

/// The length of the character `bytes` starts with, or `None` when `bytes` ends inside it.
/// Follows the GB18030 byte ranges: one byte below 0x81 or at 0xFF; a lead byte 0x81-0xFE with a
/// trail 0x40-0x7E or 0x80-0xFE; or four bytes, lead, 0x30-0x39, 0x81-0xFE, 0x30-0x39. A byte
/// that fits none of these counts as a character of its own, as the decoder replaces it.
fn gb18030_char_len(bytes: &[u8]) -> Option<usize> {
    let lead = *bytes.first()?;
    if !(0x81..=0xFE).contains(&lead) {
        return Some(1);
    }
    let second = *bytes.get(1)?;
    match second {
        0x40..=0x7E | 0x80..=0xFE => Some(2),
        0x30..=0x39 => {
            let third = *bytes.get(2)?;
            if !(0x81..=0xFE).contains(&third) {
                return Some(1);
            }
            let fourth = *bytes.get(3)?;
            Some(if fourth.is_ascii_digit() { 4 } else { 1 })
        }
        _ => Some(1),
    }
}

/// Fuzz and property-test entry point: any bytes through the interpreter in uneven chunks.
/// Returns how many tickets were cut; must never panic nor let its buffers grow past a bound.
pub fn interpret_untrusted(bytes: &[u8]) -> usize {
    let mut interpreter = EscPosInterpreter::new();
    let mut tickets = 0;
    for chunk in bytes.chunks(61) {
        for input in interpreter.feed(chunk) {
            if let PrinterInput::Cut(ticket) = input {
                assert!(ticket.elements.len() <= MAX_ELEMENTS);
                let _ = ticket.text();
                tickets += 1;
            }
        }
        assert!(interpreter.buffered() <= MAX_COMMAND_BYTES + MAX_LINE_BYTES + 61);
    }
    tickets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::escpos_ticket::ticket_bytes;
    use crate::devices::printer::example::example_ticket;
    use crate::devices::printer::{PrinterConfig, TicketTextConfig};

    fn cuts(inputs: Vec<PrinterInput>) -> Vec<PrintedTicket> {
        inputs
            .into_iter()
            .filter_map(|i| match i {
                PrinterInput::Cut(t) => Some(t),
                PrinterInput::StatusQuery(_) => None,
            })
            .collect()
    }

    #[test]
    fn reads_the_example_ticket_back() {
        let bytes = ticket_bytes(
            &example_ticket(),
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap();
        let tickets = cuts(EscPosInterpreter::new().feed(&bytes));
        assert_eq!(tickets.len(), 1);
        let ticket = &tickets[0];
        assert_eq!(ticket.cut, Cut::Partial);
        assert_eq!(ticket.text_at_scale(4), ["A012"]);
        assert_eq!(ticket.qr_payloads(), [example_ticket().status_url.as_str()]);
        let text = ticket.text();
        for expected in [
            "天山区政务服务中心",
            "社会保障",
            "前面还有 7 人",
            "预约时段 09:30-10:00",
        ] {
            assert!(text.contains(expected), "{expected} missing from\n{text}");
        }
        assert!(ticket.warnings.is_empty(), "{:?}", ticket.warnings);
        assert!(matches!(
            ticket
                .elements
                .iter()
                .find(|e| matches!(e, TicketElement::Qr { .. })),
            Some(TicketElement::Qr {
                model: 2,
                level: 'M',
                ..
            })
        ));
    }

    #[test]
    fn same_result_when_bytes_arrive_one_at_a_time() {
        let bytes = ticket_bytes(
            &example_ticket(),
            &TicketTextConfig::default(),
            &PrinterConfig::default(),
        )
        .unwrap();
        let mut whole = EscPosInterpreter::new();
        let expected = cuts(whole.feed(&bytes));
        let mut interpreter = EscPosInterpreter::new();
        let mut got = Vec::new();
        for byte in &bytes {
            got.extend(cuts(interpreter.feed(std::slice::from_ref(byte))));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn status_queries_are_seen_in_order() {
        let inputs = EscPosInterpreter::new().feed(&[0x10, 0x04, 0x01, b'x', 0x10, 0x04, 0x04]);
        assert_eq!(
            inputs,
            [PrinterInput::StatusQuery(1), PrinterInput::StatusQuery(4)]
        );
    }

    #[test]
    fn long_lines_wrap_without_splitting_chinese() {
        let mut interpreter = EscPosInterpreter::new();
        let mut bytes = vec![0x1C, 0x26];
        bytes.extend(encoding_rs::GBK.encode(&"号".repeat(400)).0.iter());
        bytes.extend([0x1D, 0x56, 0x01]);
        let tickets = cuts(interpreter.feed(&bytes));
        let text = tickets[0].text();
        assert!(text.lines().all(|l| l.chars().all(|c| c == '号')), "{text}");
        assert_eq!(text.chars().filter(|&c| c == '号').count(), 400);
    }

    #[test]
    fn a_line_of_bytes_gb18030_rejects_is_wrapped_at_its_bound() {
        let mut bytes = vec![0x1C, 0x26];
        bytes.extend(std::iter::repeat_n(0xFF, 7671));
        let mut interpreter = EscPosInterpreter::new();
        for chunk in bytes.chunks(61) {
            interpreter.feed(chunk);
            assert!(interpreter.buffered() <= MAX_LINE_BYTES + 3 + 61);
        }
        interpret_untrusted(&bytes);
    }

    #[test]
    fn a_rejected_byte_does_not_stop_wrapping_at_whole_characters() {
        let mut bytes = vec![0x1C, 0x26, 0xFF];
        bytes.extend(encoding_rs::GBK.encode(&"号".repeat(400)).0.iter());
        bytes.extend([0x1D, 0x56, 0x01]);
        let tickets = cuts(EscPosInterpreter::new().feed(&bytes));
        let text = tickets[0].text();
        assert!(text.lines().count() > 1, "{text}");
        assert!(
            text.chars().all(|c| matches!(c, '号' | '\u{FFFD}' | '\n')),
            "{text}"
        );
        assert_eq!(text.chars().filter(|&c| c == '号').count(), 400);
    }

    #[test]
    fn the_n_of_a_feed_and_cut_is_motion_units_and_esc_d_is_lines() {
        let mut bytes = b"hi\n".to_vec();
        bytes.extend([0x1D, 0x56, 0x42, 0x03]);
        bytes.extend(b"ho\n");
        bytes.extend([0x1B, 0x64, 0x03, 0x1D, 0x56, 0x42, 0x00]);
        let tickets = cuts(EscPosInterpreter::new().feed(&bytes));
        assert_eq!(tickets[0].text(), "hi\n");
        assert_eq!(
            tickets[0].elements.last(),
            Some(&TicketElement::FeedDots(3))
        );
        assert_eq!(tickets[1].text(), "ho\n\n\n\n");
        assert_eq!(tickets[1].elements.last(), Some(&TicketElement::Feed(3)));
    }

    #[test]
    fn the_example_ticket_ends_with_its_configured_blank_lines() {
        let config = PrinterConfig {
            feed_before_cut: 4,
            ..PrinterConfig::default()
        };
        let bytes = ticket_bytes(&example_ticket(), &TicketTextConfig::default(), &config).unwrap();
        let ticket = &cuts(EscPosInterpreter::new().feed(&bytes))[0];
        assert_eq!(ticket.elements.last(), Some(&TicketElement::Feed(4)));
        assert!(
            ticket.text().ends_with("过号请重新取号\n\n\n\n\n"),
            "{}",
            ticket.text()
        );
    }

    #[test]
    fn unknown_commands_become_warnings() {
        let tickets =
            cuts(EscPosInterpreter::new().feed(&[0x1D, b'Z', b'h', b'i', 0x0A, 0x1D, 0x56, 0x00]));
        assert_eq!(tickets[0].cut, Cut::Full);
        assert_eq!(tickets[0].warnings, ["ignored GS 'Z'"]);
        assert_eq!(tickets[0].text(), "hi\n");
    }

    #[test]
    fn an_oversized_2d_command_is_skipped_not_buffered() {
        let mut interpreter = EscPosInterpreter::new();
        interpreter.feed(&[0x1D, b'(', b'k', 0xFF, 0xFF, 0x31, 0x50, 0x30]);
        interpreter.feed(&[b'a'; 9000]);
        assert!(interpreter.buffered() <= MAX_COMMAND_BYTES + MAX_LINE_BYTES);
    }
}
