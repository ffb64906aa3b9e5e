//! How rows of the event log and of kept results are written small and read back whole.
//!
//! A board keeps months of trail on an SD card, five events and five kept results per visitor, so each
//! byte of a row counts many times over: ids are their 16 bytes rather than 36 characters of text,
//! what every row of a hall repeats (its id, the boot, the kind's name) lives once in its own table,
//! days are day numbers, and a hall time equal to the wall time is not written twice. The JSON of an
//! event or of a ticket row is deflated against a dictionary of the JSON hallq writes, so what every
//! payload of a kind repeats (its field names, its usual values) costs a few bits. Reading gives back
//! exactly what was written.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreError;
use crate::queue::Recorded;

/// The columns of an event row, as the log keeps them for every reader.
pub struct EventRow<'a> {
    pub seq: u64,
    pub event_id: uuid::Uuid,
    pub hall_id: &'a str,
    pub command_id: Option<&'a str>,
    pub kind: &'a str,
    pub version: u32,
    /// The ticket the event names, so a retry's ticket is found without reading every payload.
    pub ticket: Option<i64>,
    /// The payload's JSON as serde wrote it.
    pub payload: &'a str,
    pub recorded: &'a Recorded,
}

/// The numbers the log has given its boots and kinds, and the id of the hall it belongs to, as
/// committed. Numbers never change once given (the tables are append-only by trigger), so what is
/// known here stays true; it only grows, and only by a commit, so a batch rolled back leaves no number
/// behind that the tables lack. A number another connection gave is looked up the first time it is met.
#[derive(Debug, Default)]
pub struct LogCodes {
    hall_id: Option<String>,
    boots: HashMap<String, i64>,
    kinds: HashMap<String, i64>,
}

impl LogCodes {
    /// What the database holds now.
    pub fn read(conn: &Connection) -> Result<LogCodes, StoreError> {
        let pairs = |sql: &str| -> Result<HashMap<String, i64>, StoreError> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok(LogCodes {
            hall_id: conn
                .query_row(
                    "SELECT value FROM hall_meta WHERE key = 'hall_id'",
                    [],
                    |r| r.get(0),
                )
                .optional()?,
            boots: pairs("SELECT boot_id, id FROM boots")?,
            kinds: pairs("SELECT kind, code FROM event_kinds")?,
        })
    }

    /// Takes in the numbers a batch gave, once that batch is committed.
    pub fn commit(&mut self, given: GivenCodes) {
        self.boots.extend(given.boots);
        self.kinds.extend(given.kinds);
    }
}

/// Numbers given within one transaction, not yet committed.
#[derive(Debug, Default)]
pub struct GivenCodes {
    boots: HashMap<String, i64>,
    kinds: HashMap<String, i64>,
}

/// Where a row's codes come from: what is committed, then what this transaction gave.
pub struct Codes<'a> {
    pub committed: &'a LogCodes,
    pub given: &'a mut GivenCodes,
}

/// The two things an event row names by number.
#[derive(Clone, Copy)]
enum Numbered {
    Boot,
    Kind,
}

impl Numbered {
    fn known(self, codes: &LogCodes) -> &HashMap<String, i64> {
        match self {
            Numbered::Boot => &codes.boots,
            Numbered::Kind => &codes.kinds,
        }
    }

    fn given(self, codes: &mut GivenCodes) -> &mut HashMap<String, i64> {
        match self {
            Numbered::Boot => &mut codes.boots,
            Numbered::Kind => &mut codes.kinds,
        }
    }

    /// Numbers `name` if it is new to the table, and reads its number.
    fn number_in(self, conn: &Connection, name: &str) -> Result<i64, StoreError> {
        let (insert, select) = match self {
            Numbered::Boot => (
                "INSERT OR IGNORE INTO boots (boot_id) VALUES (?1)",
                "SELECT id FROM boots WHERE boot_id = ?1",
            ),
            Numbered::Kind => (
                "INSERT OR IGNORE INTO event_kinds (kind) VALUES (?1)",
                "SELECT code FROM event_kinds WHERE kind = ?1",
            ),
        };
        conn.prepare_cached(insert)?.execute([name])?;
        Ok(conn
            .prepare_cached(select)?
            .query_row([name], |r| r.get(0))?)
    }
}

impl Codes<'_> {
    fn number(&mut self, conn: &Connection, what: Numbered, name: &str) -> Result<i64, StoreError> {
        let known = what.known(self.committed).get(name);
        if let Some(&number) = known.or_else(|| what.given(self.given).get(name)) {
            return Ok(number);
        }
        let number = what.number_in(conn, name)?;
        what.given(self.given).insert(name.to_string(), number);
        Ok(number)
    }

    fn boot(&mut self, conn: &Connection, boot_id: &str) -> Result<i64, StoreError> {
        self.number(conn, Numbered::Boot, boot_id)
    }

    fn kind(&mut self, conn: &Connection, kind: &str) -> Result<i64, StoreError> {
        self.number(conn, Numbered::Kind, kind)
    }
}

/// Appends one event row. The boot and the kind get their number the first time they are seen; the
/// hall's id is written only when it is not the hall the database belongs to.
pub fn insert_event(
    conn: &Connection,
    codes: &mut Codes,
    row: &EventRow,
) -> Result<(), StoreError> {
    let r = row.recorded;
    let boot = codes.boot(conn, &r.boot_id)?;
    let kind = codes.kind(conn, row.kind)?;
    let foreign_hall =
        (codes.committed.hall_id.as_deref() != Some(row.hall_id)).then_some(row.hall_id);
    conn.prepare_cached(
        "INSERT INTO events (seq, event_id, hall_id, command_id, kind, event_version, ticket,
                             payload, wall_ms, hall_ms, boot, mono_ms, clock_trusted, business_day)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        seq_value(row.seq)?,
        row.event_id.as_bytes().as_slice(),
        foreign_hall,
        row.command_id.map(command_id_value),
        kind,
        row.version,
        row.ticket,
        pack(row.payload),
        r.wall_ms,
        (r.hall_ms != r.wall_ms).then_some(r.hall_ms),
        boot,
        r.mono_ms,
        r.clock_trusted,
        day_number(r.business_day),
    ])?;
    Ok(())
}

/// The columns of `events` that [`super::upcast::stored_event_from_row`] reads, in its order, each
/// as it was recorded.
pub const EVENT_COLUMNS: &str = "seq, event_id, \
     COALESCE(hall_id, (SELECT value FROM hall_meta WHERE key = 'hall_id')), command_id, payload, \
     wall_ms, COALESCE(hall_ms, wall_ms), (SELECT boot_id FROM boots WHERE id = events.boot), \
     mono_ms, clock_trusted, business_day, \
     (SELECT kind FROM event_kinds WHERE code = events.kind), event_version";

/// The first byte of a packed JSON: which dictionary it was deflated against.
const DICTIONARY_1: u8 = 1;

/// JSON as hallq writes it, one of each common shape, the most frequent last (deflate reaches back
/// into it as into text just written). Rows deflated against it are read with it for as long as they
/// are kept: it never changes. A better one would be dictionary 2, beside it.
const DICTIONARY_1_TEXT: &[u8] = include_bytes!("payload_dictionary_1.txt");

/// Where a JSON that names a citizen starts: such JSON stays text, so retention finds it with SQL
/// (`LIKE`) and strips it once its day is old enough; stripped, it is packed like any other.
pub const PERSONAL_DATA_MARKERS: [&str; 2] = ["\"id_hash\":\"", "\"masked_name\":\""];

thread_local! {
    static DEFLATE: RefCell<Compress> =
        RefCell::new(Compress::new_with_window_bits(Compression::best(), false, 15));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new_with_window_bits(false, 15));
}

/// JSON as stored: deflated against the dictionary, behind the dictionary's number, unless it names a
/// citizen or deflating does not make it smaller.
pub fn pack(json: &str) -> Value {
    if PERSONAL_DATA_MARKERS.iter().any(|m| json.contains(m)) {
        return Value::Text(json.to_string());
    }
    let packed = DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        deflate.set_dictionary(DICTIONARY_1_TEXT).ok()?;
        let mut out = Vec::with_capacity(json.len() + 64);
        out.push(DICTIONARY_1);
        match deflate.compress_vec(json.as_bytes(), &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => Some(out),
            _ => None,
        }
    });
    match packed {
        Some(bytes) if bytes.len() < json.len() => Value::Blob(bytes),
        _ => Value::Text(json.to_string()),
    }
}

/// The JSON a stored value holds, as [`pack`] was given it.
pub fn unpack(value: ValueRef, whose: impl FnOnce() -> String) -> Result<String, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("{}: {what}", whose()));
    let packed = match value {
        ValueRef::Text(text) => {
            return String::from_utf8(text.to_vec()).map_err(|e| corrupt(e.to_string()));
        }
        ValueRef::Blob(bytes) => bytes,
        other => return Err(corrupt(format!("JSON stored as {}", other.data_type()))),
    };
    let Some((&DICTIONARY_1, deflated)) = packed.split_first() else {
        return Err(corrupt(format!(
            "JSON packed with dictionary {:?}, which this hallq does not know",
            packed.first()
        )));
    };
    let json = INFLATE.with_borrow_mut(|inflate| -> Result<Vec<u8>, String> {
        inflate.reset(false);
        inflate
            .set_dictionary(DICTIONARY_1_TEXT)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(deflated.len() * 8 + 64);
        loop {
            let read = inflate.total_in() as usize;
            let status = inflate
                .decompress_vec(&deflated[read..], &mut out, FlushDecompress::Finish)
                .map_err(|e| e.to_string())?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ if out.len() == out.capacity() => out.reserve(out.capacity()),
                _ => return Err("packed JSON cut short".into()),
            }
        }
    });
    json.and_then(|bytes| String::from_utf8(bytes).map_err(|e| e.to_string()))
        .map_err(corrupt)
}

/// Event kinds by name, as the `kind` column holds them.
pub fn kind_codes(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "(SELECT code FROM event_kinds WHERE kind IN ({}))",
        names.join(", ")
    )
}

fn seq_value(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange(seq))
}

/// A day as the store keeps it: days from the common era, as chrono counts them (0001-01-01 is 1).
pub fn day_number(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}

/// The day a stored day number stands for.
pub fn day_of(number: i64, whose: impl FnOnce() -> String) -> Result<NaiveDate, StoreError> {
    i32::try_from(number)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| StoreError::Corrupt(format!("{}: bad day number {number}", whose())))
}

/// A command id as stored: the 16 bytes of a UUID written in its usual lower-case form (what the
/// hall's terminals send), any other id as its text, so reading it back gives the same text.
pub fn command_id_value(id: &str) -> Value {
    match uuid::Uuid::try_parse(id) {
        Ok(uuid) if uuid.hyphenated().to_string() == id => Value::Blob(uuid.as_bytes().to_vec()),
        _ => Value::Text(id.to_string()),
    }
}

/// A stored command id as the text it was given as.
pub fn command_id_of(
    value: ValueRef,
    whose: impl FnOnce() -> String,
) -> Result<Option<String>, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("{}: {what}", whose()));
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(text) => Ok(Some(String::from_utf8_lossy(text).into_owned())),
        ValueRef::Blob(bytes) => uuid::Uuid::from_slice(bytes)
            .map(|u| Some(u.hyphenated().to_string()))
            .map_err(|e| corrupt(format!("a command id of {} bytes: {e}", bytes.len()))),
        other => Err(corrupt(format!(
            "a command id of type {}",
            other.data_type()
        ))),
    }
}

/// An event id as stored: its 16 bytes.
pub fn event_id_of(seq: u64, bytes: &[u8]) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("event {seq}: bad id: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once its batch commits, a number is answered from memory: the writer runs no statement for the
    /// boot and the kind of each event.
    #[test]
    fn a_number_given_in_a_committed_batch_is_known_without_a_query() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE hall_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE boots (id INTEGER PRIMARY KEY, boot_id TEXT NOT NULL UNIQUE);
             CREATE TABLE event_kinds (code INTEGER PRIMARY KEY, kind TEXT NOT NULL UNIQUE);
             INSERT INTO boots (boot_id) VALUES ('boot-a');",
        )
        .unwrap();
        let mut committed = LogCodes::read(&conn).unwrap();
        let mut given = GivenCodes::default();
        let mut codes = Codes {
            committed: &committed,
            given: &mut given,
        };
        assert_eq!(codes.boot(&conn, "boot-a").unwrap(), 1, "read at open");
        assert_eq!(codes.boot(&conn, "boot-b").unwrap(), 2);
        assert_eq!(codes.kind(&conn, "ticket_called").unwrap(), 1);
        committed.commit(given);

        conn.execute_batch("DROP TABLE boots; DROP TABLE event_kinds;")
            .unwrap();
        let mut codes = Codes {
            committed: &committed,
            given: &mut GivenCodes::default(),
        };
        assert_eq!(codes.boot(&conn, "boot-b").unwrap(), 2);
        assert_eq!(codes.kind(&conn, "ticket_called").unwrap(), 1);
        assert!(
            codes.boot(&conn, "boot-c").is_err(),
            "a new boot is looked up"
        );
    }

    #[test]
    fn command_ids_read_back_as_the_text_they_were_given_as() {
        let uuid = uuid::Uuid::now_v7();
        let ids = [
            uuid.to_string(),
            uuid.to_string().to_uppercase(),
            uuid.simple().to_string(),
            "kiosk-1".to_string(),
            String::new(),
        ];
        for id in &ids {
            let stored = command_id_value(id);
            let back = match &stored {
                Value::Blob(b) => command_id_of(ValueRef::Blob(b), String::new),
                Value::Text(t) => command_id_of(ValueRef::Text(t.as_bytes()), String::new),
                other => panic!("{other:?}"),
            };
            assert_eq!(back.unwrap().as_deref(), Some(id.as_str()));
        }
        assert_eq!(
            command_id_value(&ids[0]),
            Value::Blob(uuid.as_bytes().to_vec()),
            "a terminal's id takes 16 bytes"
        );
        assert!(matches!(command_id_value(&ids[1]), Value::Text(_)));
        let err = command_id_of(ValueRef::Blob(&[1, 2, 3]), || "event 7".into()).unwrap_err();
        assert!(
            err.to_string().contains("event 7: a command id of 3 bytes"),
            "{err}"
        );
    }

    fn unpacked(value: &Value) -> Result<String, StoreError> {
        match value {
            Value::Blob(b) => unpack(ValueRef::Blob(b), || "row 1".into()),
            Value::Text(t) => unpack(ValueRef::Text(t.as_bytes()), || "row 1".into()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn packed_json_reads_back_as_written_and_names_of_citizens_stay_text() {
        let called = r#"{"type":"ticket_called","ticket":2489,"window":3,"staff":"B2","at_ms":1795896618594}"#;
        let packed = pack(called);
        let Value::Blob(bytes) = &packed else {
            panic!("{packed:?}")
        };
        assert!(bytes.len() < called.len() / 2, "{} bytes", bytes.len());
        assert_eq!(unpacked(&packed).unwrap(), called);

        let long = format!(r#"{{"detail":"{}"}}"#, "纸张用尽 ".repeat(500));
        assert_eq!(unpacked(&pack(&long)).unwrap(), long);
        for json in [
            r#"{"citizen":{"id_hash":"ab12","masked_name":"张*"}}"#,
            r#"{"masked_name":"张*"}"#,
            "{}",
        ] {
            assert_eq!(pack(json), Value::Text(json.into()), "{json}");
        }
    }

    #[test]
    fn a_packed_json_of_an_unknown_dictionary_or_cut_short_is_corrupt() {
        let Value::Blob(mut bytes) = pack(&"{\"ticket\":1}".repeat(20)) else {
            panic!("not packed")
        };
        bytes.truncate(bytes.len() / 2);
        let err = unpack(ValueRef::Blob(&bytes), || "event 9".into()).unwrap_err();
        assert!(err.to_string().contains("event 9:"), "{err}");
        bytes[0] = 7;
        let err = unpack(ValueRef::Blob(&bytes), || "event 9".into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("dictionary Some(7), which this hallq does not know"),
            "{err}"
        );
    }

    /// Rows packed with dictionary 1 are read with it as long as they are kept.
    #[test]
    fn dictionary_1_never_changes() {
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(DICTIONARY_1_TEXT)),
            "3b3b4e4ea7436fa0a9f8433141457c91ff3aa95c8c3a17e1f533f3055d528e3e"
        );
    }

    #[test]
    fn day_numbers_count_as_chrono_and_as_sqlite_count_them() {
        let conn = Connection::open_in_memory().unwrap();
        for day in ["0001-01-01", "1970-01-01", "2026-11-29", "2100-02-28"] {
            let date: NaiveDate = day.parse().unwrap();
            let number = day_number(date);
            let sqlite: i64 = conn
                .query_row(
                    "SELECT CAST(julianday(?1) - 1721424.5 AS INTEGER)",
                    [day],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(sqlite, i64::from(number), "{day}");
            assert_eq!(day_of(number.into(), String::new).unwrap(), date);
        }
        let err = day_of(i64::MAX, || "event 4".into()).unwrap_err();
        assert!(err.to_string().contains("event 4: bad day number"), "{err}");
    }
}
