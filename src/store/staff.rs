//! The staff book: which staff numbers have a PIN, kept as its Argon2id hash, and how many wrong PINs
//! each has had in a row. The hall node checks a sign-in's PIN here, on its own connection beside the
//! engine, and hands the engine only the verdict ([`StaffProof`]).

use rusqlite::{Connection, OptionalExtension, params};

use super::error::StoreError;
use crate::identity::{StaffPin, hash_pin, pin_matches};
use crate::queue::{StaffProof, is_staff_number};

/// How many wrong PINs lock a number, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinLimits {
    pub attempts: u32,
    pub lockout_ms: i64,
}

/// One line of `hallq staff list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEntry {
    pub staff: String,
    pub set_ms: i64,
    pub wrong_in_a_row: u32,
    pub locked_until_ms: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffBookError {
    #[error("\"{0}\" is not a staff number: 1 to 32 letters or digits")]
    BadStaffNumber(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for StaffBookError {
    fn from(e: rusqlite::Error) -> Self {
        StaffBookError::Store(e.into())
    }
}

/// The book in the hall's database: open it with [`super::Store::into_staff_book`].
pub struct StaffBook {
    conn: Connection,
}

impl StaffBook {
    pub(super) fn new(conn: Connection) -> StaffBook {
        StaffBook { conn }
    }

    /// Gives `staff` a PIN, or a new one; a lock and the count of wrong PINs are cleared.
    pub fn set_pin(&self, staff: &str, pin: &StaffPin, now_ms: i64) -> Result<(), StaffBookError> {
        if !is_staff_number(staff) {
            return Err(StaffBookError::BadStaffNumber(staff.to_string()));
        }
        self.conn.execute(
            "INSERT INTO staff (staff, pin_hash, set_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (staff) DO UPDATE SET pin_hash = ?2, set_ms = ?3,
                 wrong_in_a_row = 0, locked_until_ms = NULL",
            params![staff, hash_pin(pin), now_ms],
        )?;
        Ok(())
    }

    /// Takes `staff` out of the book; false if the number was not in it.
    pub fn remove(&self, staff: &str) -> Result<bool, StaffBookError> {
        Ok(self
            .conn
            .execute("DELETE FROM staff WHERE staff = ?1", [staff])?
            > 0)
    }

    /// Clears a lock before its time, e.g. once the staff member has been seen at the desk.
    pub fn unlock(&self, staff: &str) -> Result<bool, StaffBookError> {
        Ok(self.conn.execute(
            "UPDATE staff SET wrong_in_a_row = 0, locked_until_ms = NULL WHERE staff = ?1",
            [staff],
        )? > 0)
    }

    pub fn list(&self) -> Result<Vec<StaffEntry>, StaffBookError> {
        let mut stmt = self.conn.prepare(
            "SELECT staff, set_ms, wrong_in_a_row, locked_until_ms FROM staff ORDER BY staff",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StaffEntry {
                staff: r.get(0)?,
                set_ms: r.get(1)?,
                wrong_in_a_row: r.get(2)?,
                locked_until_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Checks `pin` for `staff` at `now_ms` and counts a wrong one: the verdict the engine decides a
    /// sign-in by. A number without a PIN gets the same verdict as a wrong PIN, so the answer does
    /// not tell a guesser which numbers exist. While a number is locked its PIN is not even checked.
    pub fn check(
        &self,
        staff: &str,
        pin: &StaffPin,
        now_ms: i64,
        limits: PinLimits,
    ) -> Result<StaffProof, StaffBookError> {
        let row: Option<(String, u32, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT pin_hash, wrong_in_a_row, locked_until_ms FROM staff WHERE staff = ?1",
                [staff],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((pin_hash, wrong_in_a_row, locked_until_ms)) = row else {
            return Ok(StaffProof::WrongPin);
        };
        if locked_until_ms.is_some_and(|until| now_ms < until) {
            return Ok(StaffProof::Locked);
        }
        if pin_matches(&pin_hash, pin) {
            self.conn.execute(
                "UPDATE staff SET wrong_in_a_row = 0, locked_until_ms = NULL WHERE staff = ?1",
                [staff],
            )?;
            return Ok(StaffProof::Pin);
        }
        // A lock that has run out starts a fresh count.
        let wrong = if locked_until_ms.is_some() {
            1
        } else {
            wrong_in_a_row + 1
        };
        let lock = (wrong >= limits.attempts).then(|| now_ms + limits.lockout_ms);
        self.conn.execute(
            "UPDATE staff SET wrong_in_a_row = ?2, locked_until_ms = ?3 WHERE staff = ?1",
            params![staff, wrong, lock],
        )?;
        Ok(if lock.is_some() {
            StaffProof::Locked
        } else {
            StaffProof::WrongPin
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PinLimits = PinLimits {
        attempts: 3,
        lockout_ms: 15 * 60_000,
    };

    fn book() -> (tempfile::TempDir, StaffBook) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("hall.db")).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let book = StaffBook::new(conn);
        (dir, book)
    }

    fn pin(text: &str) -> StaffPin {
        StaffPin::new(text).unwrap()
    }

    #[test]
    fn the_right_pin_vouches_and_the_pin_is_not_stored() {
        let (dir, book) = book();
        book.set_pin("1001", &pin("482913"), 1_000).unwrap();
        assert_eq!(
            book.check("1001", &pin("482913"), 2_000, LIMITS).unwrap(),
            StaffProof::Pin
        );
        let bytes = std::fs::read(dir.path().join("hall.db")).unwrap();
        let wal = std::fs::read(dir.path().join("hall.db-wal")).unwrap_or_default();
        for file in [bytes, wal] {
            assert!(
                !file.windows(6).any(|w| w == b"482913"),
                "the PIN is stored in clear"
            );
        }
    }

    #[test]
    fn wrong_pins_in_a_row_lock_the_number_for_the_lockout_then_count_afresh() {
        let (_dir, book) = book();
        book.set_pin("1001", &pin("1234"), 0).unwrap();
        let wrong = pin("9999");
        assert_eq!(
            book.check("1001", &wrong, 10, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
        assert_eq!(
            book.check("1001", &wrong, 20, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
        assert_eq!(
            book.check("1001", &wrong, 30, LIMITS).unwrap(),
            StaffProof::Locked
        );
        // Locked: even the right PIN is refused until the time is up.
        let right = pin("1234");
        assert_eq!(
            book.check("1001", &right, 31, LIMITS).unwrap(),
            StaffProof::Locked
        );
        let until = 30 + LIMITS.lockout_ms;
        assert_eq!(book.list().unwrap()[0].locked_until_ms, Some(until));
        assert_eq!(
            book.check("1001", &right, until - 1, LIMITS).unwrap(),
            StaffProof::Locked
        );
        assert_eq!(
            book.check("1001", &wrong, until, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
        assert_eq!(book.list().unwrap()[0].wrong_in_a_row, 1, "a fresh count");
        assert_eq!(
            book.check("1001", &right, until + 1, LIMITS).unwrap(),
            StaffProof::Pin
        );
        assert_eq!(
            book.list().unwrap()[0].wrong_in_a_row,
            0,
            "the right PIN clears the count"
        );
    }

    #[test]
    fn a_right_pin_between_wrong_ones_starts_the_count_again() {
        let (_dir, book) = book();
        book.set_pin("1001", &pin("1234"), 0).unwrap();
        let wrong = pin("0000");
        book.check("1001", &wrong, 1, LIMITS).unwrap();
        book.check("1001", &wrong, 2, LIMITS).unwrap();
        book.check("1001", &pin("1234"), 3, LIMITS).unwrap();
        assert_eq!(
            book.check("1001", &wrong, 4, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
        assert_eq!(
            book.check("1001", &wrong, 5, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
    }

    #[test]
    fn an_unknown_number_looks_like_a_wrong_pin_and_leaves_no_row() {
        let (_dir, book) = book();
        assert_eq!(
            book.check("7777", &pin("1234"), 0, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
        assert!(book.list().unwrap().is_empty());
    }

    #[test]
    fn a_new_pin_or_an_unlock_clears_the_lock_and_removal_forgets_the_number() {
        let (_dir, book) = book();
        book.set_pin("1001", &pin("1234"), 0).unwrap();
        for t in 1..=3 {
            book.check("1001", &pin("0000"), t, LIMITS).unwrap();
        }
        assert!(book.unlock("1001").unwrap());
        assert_eq!(
            book.check("1001", &pin("1234"), 4, LIMITS).unwrap(),
            StaffProof::Pin
        );
        for t in 5..=7 {
            book.check("1001", &pin("0000"), t, LIMITS).unwrap();
        }
        book.set_pin("1001", &pin("5678"), 8).unwrap();
        assert_eq!(
            book.check("1001", &pin("5678"), 9, LIMITS).unwrap(),
            StaffProof::Pin
        );
        assert!(book.remove("1001").unwrap());
        assert!(!book.remove("1001").unwrap());
        assert!(!book.unlock("1001").unwrap());
        assert_eq!(
            book.check("1001", &pin("5678"), 10, LIMITS).unwrap(),
            StaffProof::WrongPin
        );
    }

    #[test]
    fn a_malformed_staff_number_gets_no_pin() {
        let (_dir, book) = book();
        for bad in ["", "10 01", "工号1", &"9".repeat(33)] {
            let err = book.set_pin(bad, &pin("1234"), 0).unwrap_err();
            assert!(
                matches!(err, StaffBookError::BadStaffNumber(_)),
                "{bad}: {err}"
            );
        }
        assert!(book.list().unwrap().is_empty());
    }
}
