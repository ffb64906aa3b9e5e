//! Talking to the reader: one command, one reply, with every failure typed.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use serde::Serialize;
use serialport::{ClearBuffer, SerialPort, TTYPort};
use zeroize::{Zeroize, Zeroizing};

use super::card_text::{CardFacts, CardTextError, TEXT_LEN, parse_card_text};
use super::frame::{Command, FrameDecoder, FrameError, MAX_FRAME, Reply, SamId, SamStatus};
use crate::config::idcard::IdCardReaderConfig;
use crate::devices::serial::{FlowControl, open_port, wire_millis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum ReaderError {
    #[error("card reader port failed: {0}")]
    Port(String),
    #[error("card reader did not answer {0}")]
    NoReply(&'static str),
    #[error("card reader's answer to {command} stopped after {got} bytes")]
    Truncated { command: &'static str, got: usize },
    #[error("card reader sent a broken frame: {0}")]
    Frame(#[from] FrameError),
    #[error("{command}: {status}")]
    Status {
        command: &'static str,
        status: SamStatus,
    },
    #[error("{command}: malformed reply: {reason}")]
    MalformedReply {
        command: &'static str,
        reason: String,
    },
    #[error("card text refused: {0}")]
    CardText(#[from] CardTextError),
}

impl ReaderError {
    /// The reader or its link is at fault, not the card on it.
    pub fn is_reader_fault(&self) -> bool {
        match self {
            ReaderError::Port(_) | ReaderError::NoReply(_) => true,
            ReaderError::Status { status, .. } => status.is_sam_fault(),
            _ => false,
        }
    }
}

/// A SAM reader on a serial port.
pub struct SamReader {
    port: TTYPort,
    decoder: FrameDecoder,
    /// Kept here rather than on the stack so a read's last chunk of photo can be wiped.
    chunk: [u8; 512],
    reply_timeout: Duration,
}

impl SamReader {
    pub fn open(config: &IdCardReaderConfig) -> Result<Self, ReaderError> {
        let port = open_port(
            &config.port,
            config.baud,
            FlowControl::None,
            Duration::from_millis(config.reply_timeout_ms),
        )
        .map_err(|e| ReaderError::Port(format!("{}: {e}", config.port)))?;
        // The longest reply must fit in the wait, whatever the baud rate.
        let wire = Duration::from_millis(wire_millis(MAX_FRAME, config.baud).ceil() as u64);
        Ok(Self {
            port,
            decoder: FrameDecoder::new(),
            chunk: [0; 512],
            reply_timeout: Duration::from_millis(config.reply_timeout_ms) + wire,
        })
    }

    /// Sends `command` and waits for its reply. A status other than the command's success value
    /// is returned as a reply for the caller to judge.
    pub fn transact(&mut self, command: Command) -> Result<Reply, ReaderError> {
        self.decoder.clear();
        let _ = self.port.clear(ClearBuffer::Input);
        self.port
            .write_all(&command.frame())
            .and_then(|()| self.port.flush())
            .map_err(|e| ReaderError::Port(e.to_string()))?;
        let deadline = Instant::now() + self.reply_timeout;
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                let reply = Reply::from_body(frame?)?;
                return Ok(reply);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(match self.decoder.buffered() {
                    0 => ReaderError::NoReply(command.name()),
                    got => ReaderError::Truncated {
                        command: command.name(),
                        got,
                    },
                });
            }
            self.port
                .set_timeout(deadline - now)
                .map_err(|e| ReaderError::Port(e.to_string()))?;
            match self.port.read(&mut self.chunk) {
                Ok(0) => return Err(ReaderError::Port("port closed".into())),
                Ok(n) => self.decoder.push(&self.chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(ReaderError::Port(e.to_string())),
            }
        }
    }

    /// Sends `command` and insists on its success status.
    fn expect_success(&mut self, command: Command) -> Result<Reply, ReaderError> {
        let reply = self.transact(command)?;
        if reply.status.byte() != command.success() {
            return Err(ReaderError::Status {
                command: command.name(),
                status: reply.status,
            });
        }
        Ok(reply)
    }

    pub fn reset_sam(&mut self) -> Result<(), ReaderError> {
        self.expect_success(Command::ResetSam).map(drop)
    }

    pub fn sam_status(&mut self) -> Result<(), ReaderError> {
        self.expect_success(Command::SamStatus).map(drop)
    }

    /// The security module's id, for logs and the device inventory; it prints as the reader's
    /// own tools print it.
    pub fn sam_id(&mut self) -> Result<SamId, ReaderError> {
        let reply = self.expect_success(Command::SamId)?;
        SamId::from_bytes(&reply.data).ok_or_else(|| ReaderError::MalformedReply {
            command: Command::SamId.name(),
            reason: format!("{} id bytes, expected {}", reply.data.len(), SamId::LEN),
        })
    }

    /// Whether a card (not yet read) is in the field.
    pub fn find_card(&mut self) -> Result<bool, ReaderError> {
        let reply = self.transact(Command::FindCard)?;
        match reply.status {
            SamStatus::FindOk => Ok(true),
            SamStatus::NoCard => Ok(false),
            status => Err(ReaderError::Status {
                command: Command::FindCard.name(),
                status,
            }),
        }
    }

    pub fn select_card(&mut self) -> Result<(), ReaderError> {
        self.expect_success(Command::SelectCard).map(drop)
    }

    /// Reads the card text and photo, drops the photo at once, and returns the card's facts.
    /// Every copy of the text is wiped: the reply as it is dropped (it holds the face image too),
    /// the decoder's buffer and the last chunk read here.
    pub fn read_card(&mut self) -> Result<CardFacts, ReaderError> {
        let reply = self.expect_success(Command::ReadTextPhoto);
        self.decoder.wipe();
        self.chunk.zeroize();
        let text = card_text_of(&reply?.data)?;
        Ok(parse_card_text(&*text)?)
    }

    /// Whether the card carries an extra address record (a move since issue). Its content is not
    /// needed by the hall, so it is discarded.
    pub fn read_extra_address(&mut self) -> Result<bool, ReaderError> {
        let reply = self.transact(Command::ReadExtraAddress)?;
        match reply.status {
            SamStatus::Ok => Ok(true),
            SamStatus::NoContent => Ok(false),
            status => Err(ReaderError::Status {
                command: Command::ReadExtraAddress.name(),
                status,
            }),
        }
    }
}

/// Takes the text out of a `30 01` reply: text length, photo length, text, photo.
fn card_text_of(data: &[u8]) -> Result<Zeroizing<[u8; TEXT_LEN]>, ReaderError> {
    let malformed = |reason: String| ReaderError::MalformedReply {
        command: Command::ReadTextPhoto.name(),
        reason,
    };
    if data.len() < 4 {
        return Err(malformed(format!("{} data bytes", data.len())));
    }
    let text_len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let photo_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    if text_len != TEXT_LEN {
        return Err(malformed(format!(
            "text length {text_len}, expected {TEXT_LEN}"
        )));
    }
    if data.len() != 4 + text_len + photo_len {
        return Err(malformed(format!(
            "{} data bytes for text {text_len} and photo {photo_len}",
            data.len()
        )));
    }
    let mut text = Zeroizing::new([0u8; TEXT_LEN]);
    text.copy_from_slice(&data[4..4 + TEXT_LEN]);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_from_a_read_reply() {
        let mut data = vec![0x01, 0x00, 0x04, 0x00];
        data.extend([7u8; 256]);
        data.extend([9u8; 1024]);
        assert_eq!(*card_text_of(&data).unwrap(), [7u8; 256]);
    }

    #[test]
    fn read_replies_with_wrong_lengths_are_malformed() {
        let mut short = vec![0x01, 0x00, 0x04, 0x00];
        short.extend([0u8; 300]);
        let mut wrong_text = vec![0x00, 0x80, 0x00, 0x00];
        wrong_text.extend([0u8; 128]);
        for data in [vec![0x01], short, wrong_text] {
            assert!(matches!(
                card_text_of(&data),
                Err(ReaderError::MalformedReply { .. })
            ));
        }
    }

    #[test]
    fn reader_faults_are_told_from_card_faults() {
        assert!(ReaderError::NoReply("find card").is_reader_fault());
        assert!(ReaderError::Port("gone".into()).is_reader_fault());
        assert!(
            ReaderError::Status {
                command: "reset SAM",
                status: SamStatus::SamNotAuthorised
            }
            .is_reader_fault()
        );
        assert!(
            !ReaderError::Status {
                command: "read text and photo",
                status: SamStatus::CardOperationFailed
            }
            .is_reader_fault()
        );
    }
}
