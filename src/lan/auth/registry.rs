//! The terminal registry: one-time pairing codes and hashed device tokens, in the hall's database.
//!
//! A terminal is paired once: staff read a one-time code off the hall node (printed at start, or minted
//! with `hallq pair`), the terminal sends it with the role it wants, and gets back a random device token.
//! The hall node keeps only SHA-256 hashes of codes and tokens, in the hall's database, so a copied
//! database does not let anyone act as a terminal. Every later request carries the token, and the
//! token's role decides which commands it may send ([`super::roles`]). Staff list the paired terminals and revoke a lost
//! one (`hallq pair list|revoke`); its token fails from the next request on.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rand::Rng;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::roles::Role;
use crate::clock::{Clock, SystemClock};

/// Letters and digits that cannot be misread off a screen (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;
const TOKEN_BYTES: usize = 32;
/// A device's last-seen time is written at most this often: it answers "is that terminal still in
/// use?", which needs minutes, not every request.
const LAST_SEEN_STEP_MS: i64 = 60_000;
/// How long a token lookup waits for a busy database before the request is answered 503.
const LOOKUP_PATIENCE: std::time::Duration = std::time::Duration::from_millis(200);
/// A paired terminal as the hall node knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub name: String,
    #[serde(flatten)]
    pub role: Role,
}

/// A paired terminal as staff see it in `hallq pair list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedDevice {
    /// Short and unique, for revoking one of two terminals with the same name.
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub role: Role,
    pub paired_ms: i64,
    /// The last request it made, to the minute; `None` if it never made one after pairing.
    pub last_seen_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// Why a revocation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no paired device has the id or name \"{0}\" (see `hallq pair list`)")]
    Unknown(String),
    #[error("device {id} \"{name}\" is already revoked")]
    AlreadyRevoked { id: i64, name: String },
    #[error("{} paired devices are named \"{name}\": revoke one by its id ({})", ids.len(), ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))]
    Ambiguous { name: String, ids: Vec<i64> },
    #[error("database error: {0}")]
    Store(#[from] rusqlite::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("the pairing code is wrong, used or expired")]
    BadCode,
    #[error("this pairing code is for a {0}, not for the role asked")]
    WrongRole(String),
    #[error("database error: {0}")]
    Store(#[from] rusqlite::Error),
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Codes are compared case-insensitively and without the dashes shown for readability.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

const DEVICE_COLUMNS: &str = "id, name, role, window, paired_ms, last_seen_ms, revoked_ms";

/// A row of [`DEVICE_COLUMNS`].
fn paired_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairedDevice> {
    let role: String = r.get(2)?;
    let role = Role::from_parts(&role, r.get(3)?).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(PairedDevice {
        id: r.get(0)?,
        name: r.get(1)?,
        role,
        paired_ms: r.get(4)?,
        last_seen_ms: r.get(5)?,
        revoked_ms: r.get(6)?,
    })
}

/// A device token as the database keeps it. Open push streams hold this, not the token, to check
/// that their device is still paired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(sha256_hex(token))
    }
}

/// The hall node's register of pairing codes and paired devices.
///
/// Tokens are looked up in the database on every request, not cached: `hallq pair revoke` runs as
/// another process, and its revocation must count from the very next request. (A cache checked
/// against `PRAGMA data_version` would not save the read: the engine commits between two requests
/// of a terminal, so the version has moved at nearly every request, and reading it opens the same
/// read transaction the lookup does.) The lookup is one indexed read of a table of a few dozen rows,
/// on a connection of its own: it never queues behind a pairing's write transaction, and in WAL a
/// read never waits for a writer, so a request's own thread can make it. Last-seen times are
/// written on a third connection, so a lookup never waits behind a write's fsync.
#[derive(Clone)]
pub struct Registry {
    /// Shared, not owned: the register is cloned for every LAN request.
    db_path: Arc<Path>,
    /// Codes expire, and devices are seen, by the hall's clock.
    clock: Arc<dyn Clock>,
    conn: Arc<Mutex<Connection>>,
    /// Token lookups only.
    lookups: Arc<Mutex<Connection>>,
    seen_writer: Arc<Mutex<Option<Connection>>>,
    /// Last-seen times already decided on in this process, ahead of their write.
    noted: Arc<Mutex<HashMap<i64, i64>>>,
}

/// A device was seen, and its last-seen time is due to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    id: i64,
    at_ms: i64,
}

/// The role column of a code good for any terminal role but not admin.
const TERMINAL_ROLES: &str = "terminal";

impl Registry {
    /// Opens the register in the hall's database, on the board's own clock. The engine has created
    /// the tables already.
    pub fn open(db_path: &Path) -> Result<Registry, crate::store::StoreError> {
        Registry::open_with_clock(db_path, Arc::new(SystemClock::new(false)))
    }

    /// Opens the register in the hall's database, reading the time off `clock`.
    pub fn open_with_clock(
        db_path: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Registry, crate::store::StoreError> {
        let conn = crate::store::encryption::connect(db_path, OpenFlags::default())?;
        let lookups = crate::store::encryption::connect(db_path, OpenFlags::default())?;
        // A lookup runs on a request's thread: should a read ever find the database busy (only
        // while SQLite recovers a WAL), it gives up soon and the terminal retries, rather than hold
        // that thread and every connection it serves.
        lookups.busy_timeout(LOOKUP_PATIENCE)?;
        Ok(Registry {
            db_path: Arc::from(db_path),
            clock,
            conn: Arc::new(Mutex::new(conn)),
            lookups: Arc::new(Mutex::new(lookups)),
            seen_writer: Arc::default(),
            noted: Arc::default(),
        })
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// Mints a one-time code, optionally tied to one role, valid for `minutes`. Returns it as shown to
    /// staff, e.g. `KX4M-9QTR-B2`.
    pub fn mint_code(&self, role: Option<Role>, minutes: u32) -> Result<String, rusqlite::Error> {
        self.insert_code(role.map(Role::name), role.and_then(Role::window), minutes)
    }

    /// A code for any terminal role (kiosk, counter, display) but not admin: the code a hall node
    /// makes at start, enough for a hall to begin, with nothing of the hall's administration in it.
    pub fn mint_terminal_code(&self, minutes: u32) -> Result<String, rusqlite::Error> {
        self.insert_code(Some(TERMINAL_ROLES), None, minutes)
    }

    fn insert_code(
        &self,
        role: Option<&str>,
        window: Option<u16>,
        minutes: u32,
    ) -> Result<String, rusqlite::Error> {
        let mut rng = rand::rng();
        let raw: String = (0..CODE_LEN)
            .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
            .collect();
        self.lock().execute(
            "INSERT INTO lan_pairing_codes (code_hash, role, window, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![
                sha256_hex(&raw),
                role,
                window,
                self.now_ms() + i64::from(minutes) * 60_000
            ],
        )?;
        Ok(format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]))
    }

    /// Spends `code` on a new device with `role`, and returns the device's token (shown only once).
    pub fn pair(&self, code: &str, name: &str, role: Role) -> Result<String, PairingError> {
        let code_hash = sha256_hex(&normalise_code(code));
        let token = hex::encode(rand::rng().random::<[u8; TOKEN_BYTES]>());
        let mut conn = self.lock();
        // The write lock first: a read-then-write transaction would fail at once, not wait, if the
        // engine or a last-seen write committed in between.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let bound: Option<(Option<String>, Option<u16>)> = tx
            .query_row(
                "SELECT role, window FROM lan_pairing_codes
                 WHERE code_hash = ?1 AND used = 0 AND expires_ms > ?2",
                params![code_hash, self.now_ms()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((bound_role, bound_window)) = bound else {
            return Err(PairingError::BadCode);
        };
        let refused =
            match bound_role.as_deref() {
                Some(TERMINAL_ROLES) => (role == Role::Admin)
                    .then(|| "terminal (kiosk, counter or display)".to_string()),
                Some(bound) => (bound != role.name() || bound_window != role.window())
                    .then(|| bound.to_string()),
                None => None,
            };
        if let Some(bound) = refused {
            return Err(PairingError::WrongRole(bound));
        }
        tx.execute(
            "UPDATE lan_pairing_codes SET used = 1 WHERE code_hash = ?1",
            [&code_hash],
        )?;
        tx.execute(
            "INSERT INTO lan_devices (token_hash, name, role, window, paired_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha256_hex(&token), name, role.name(), role.window(), self.now_ms()],
        )?;
        tx.commit()?;
        Ok(token)
    }

    /// The device holding `token`, if it is paired and not revoked.
    pub fn device(&self, token: &str) -> Option<Device> {
        self.device_by(&TokenHash::of(token))
    }

    /// The device whose token hashes to `hash`, if it is paired and not revoked. Notes that it was
    /// seen.
    pub fn device_by(&self, hash: &TokenHash) -> Option<Device> {
        let (device, seen) = self
            .lookup(hash)
            .inspect_err(|e| tracing::error!("reading paired devices: {e}"))
            .ok()
            .flatten()?;
        if let Some(seen) = seen {
            self.note_seen(seen);
        }
        Some(device)
    }

    /// The device whose token hashes to `hash`, and whether its last-seen time is due: at most once a
    /// minute per device. Reads only, and briefly enough for a request's own thread;
    /// [`Registry::note_seen`] writes.
    pub fn lookup(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(Device, Option<Seen>)>, rusqlite::Error> {
        let found = {
            let conn = self.lookups.lock().expect("no panic holds the lock");
            let mut select = conn.prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM lan_devices WHERE token_hash = ?1 AND revoked_ms IS NULL"
            ))?;
            select.query_row([&hash.0], paired_device).optional()?
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let now = self.now_ms();
        let seen = {
            let mut noted = self.noted.lock().expect("no panic holds the lock");
            let last = found.last_seen_ms.max(noted.get(&found.id).copied());
            last.is_none_or(|seen| now - seen >= LAST_SEEN_STEP_MS)
                .then(|| {
                    noted.insert(found.id, now);
                    Seen {
                        id: found.id,
                        at_ms: now,
                    }
                })
        };
        let device = Device {
            name: found.name,
            role: found.role,
        };
        Ok(Some((device, seen)))
    }

    /// Writes a last-seen time. Losing one costs nothing but a stale list entry.
    pub fn note_seen(&self, seen: Seen) {
        let mut writer = self.seen_writer.lock().expect("no panic holds the lock");
        if writer.is_none() {
            // No fsync of its own: a last-seen time lost to a power cut costs nothing, and the lock
            // it holds is then too short to delay the engine's next batch.
            let opened = crate::store::encryption::connect(&self.db_path, OpenFlags::default())
                .map_err(|e| e.to_string())
                .and_then(|conn| {
                    conn.pragma_update(None, "synchronous", "NORMAL")
                        .map_err(|e| e.to_string())?;
                    Ok(conn)
                });
            match opened {
                Ok(conn) => *writer = Some(conn),
                Err(e) => return tracing::debug!("last-seen time not kept: {e}"),
            }
        }
        let conn = writer.as_ref().expect("opened above");
        if let Err(e) = conn.execute(
            "UPDATE lan_devices SET last_seen_ms = ?2 WHERE id = ?1",
            params![seen.id, seen.at_ms],
        ) {
            tracing::debug!(device = seen.id, "last-seen time not kept: {e}");
        }
    }

    /// Every device ever paired, revoked ones included, oldest first.
    pub fn list(&self) -> Result<Vec<PairedDevice>, rusqlite::Error> {
        let conn = self.lock();
        let mut select = conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM lan_devices ORDER BY id"
        ))?;
        let rows = select.query_map([], paired_device)?;
        rows.collect()
    }

    /// Revokes the device with id `which`, or else the one device named `which`; its token is refused
    /// from the next request on. Returns the device as it now stands.
    pub fn revoke(&self, which: &str) -> Result<PairedDevice, RevokeError> {
        let which = which.trim();
        let devices = self.list()?;
        let by_id = which
            .parse::<i64>()
            .ok()
            .and_then(|id| devices.iter().find(|d| d.id == id));
        let target = match by_id {
            Some(device) => device,
            None => {
                let named: Vec<&PairedDevice> =
                    devices.iter().filter(|d| d.name == which).collect();
                let active: Vec<&PairedDevice> = named
                    .iter()
                    .copied()
                    .filter(|d| d.revoked_ms.is_none())
                    .collect();
                match (active.as_slice(), named.first()) {
                    ([one], _) => *one,
                    ([], Some(revoked)) => *revoked,
                    ([], None) => return Err(RevokeError::Unknown(which.to_string())),
                    (several, _) => {
                        return Err(RevokeError::Ambiguous {
                            name: which.to_string(),
                            ids: several.iter().map(|d| d.id).collect(),
                        });
                    }
                }
            }
        };
        if target.revoked_ms.is_some() {
            return Err(RevokeError::AlreadyRevoked {
                id: target.id,
                name: target.name.clone(),
            });
        }
        let now = self.now_ms();
        let changed = self.lock().execute(
            "UPDATE lan_devices SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL",
            params![target.id, now],
        )?;
        if changed == 0 {
            // Revoked by another process between the list and the update.
            return Err(RevokeError::AlreadyRevoked {
                id: target.id,
                name: target.name.clone(),
            });
        }
        Ok(PairedDevice {
            revoked_ms: Some(now),
            ..target.clone()
        })
    }

    /// How many terminals are paired and not revoked, for /metrics.
    pub fn paired_count(&self) -> u64 {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM lan_devices WHERE revoked_ms IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .unwrap_or(0)
    }

    /// The wall clock in milliseconds: what expiry and last-seen times are written in.
    fn now_ms(&self) -> i64 {
        self.clock.read().wall_ms
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("no panic holds the lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// 2026-11-20 09:00 in Ürümqi, a working morning.
    const MORNING_MS: i64 = 1_795_570_800_000;

    /// A register on the board's own clock.
    fn registry() -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        crate::store::Store::open(&path, "H1").unwrap();
        (dir, Registry::open(&path).unwrap())
    }

    /// A register whose time the test sets by hand.
    fn registry_on_manual_clock() -> (tempfile::TempDir, Registry, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        crate::store::Store::open(&path, "H1").unwrap();
        let clock = Arc::new(ManualClock::new(MORNING_MS));
        let registry = Registry::open_with_clock(&path, clock.clone()).unwrap();
        (dir, registry, clock)
    }

    #[test]
    fn a_code_pairs_once_and_the_token_finds_its_device() {
        let (_dir, registry) = registry();
        let code = registry.mint_code(None, 10).unwrap();
        let token = registry.pair(&code, "kiosk-1", Role::Kiosk).unwrap();
        assert_eq!(
            registry.device(&token),
            Some(Device {
                name: "kiosk-1".into(),
                role: Role::Kiosk
            })
        );
        assert!(matches!(
            registry.pair(&code, "kiosk-2", Role::Kiosk),
            Err(PairingError::BadCode)
        ));
        assert_eq!(registry.device("not-a-token"), None);
    }

    #[test]
    fn codes_are_read_without_dashes_or_case() {
        let (_dir, registry) = registry();
        let code = registry.mint_code(None, 10).unwrap();
        let typed = code.replace('-', " ").to_lowercase();
        assert!(registry.pair(&typed, "d", Role::Display).is_ok());
    }

    #[test]
    fn a_code_pairs_until_its_minutes_run_out_and_is_refused_after() {
        let (_dir, registry, clock) = registry_on_manual_clock();
        let used_in_time = registry.mint_code(None, 10).unwrap();
        let left_too_long = registry.mint_code(None, 10).unwrap();
        clock.advance(10 * 60_000 - 1);
        assert!(
            registry
                .pair(&used_in_time, "display-1", Role::Display)
                .is_ok(),
            "a millisecond before expiry the code still pairs"
        );
        clock.advance(1);
        let before = registry.list().unwrap();
        assert!(matches!(
            registry.pair(&left_too_long, "display-2", Role::Display),
            Err(PairingError::BadCode)
        ));
        assert_eq!(registry.list().unwrap(), before, "nothing paired");
    }

    #[test]
    fn a_code_minted_for_no_minutes_is_refused_at_once() {
        let (_dir, registry, _clock) = registry_on_manual_clock();
        let code = registry.mint_code(None, 0).unwrap();
        assert!(matches!(
            registry.pair(&code, "d", Role::Display),
            Err(PairingError::BadCode)
        ));
    }

    #[test]
    fn a_code_minted_for_a_role_pairs_only_that_role() {
        let (_dir, registry) = registry();
        let code = registry
            .mint_code(Some(Role::Counter { window: 3 }), 10)
            .unwrap();
        assert!(matches!(
            registry.pair(&code, "c", Role::Counter { window: 4 }),
            Err(PairingError::WrongRole(_))
        ));
        assert!(matches!(
            registry.pair(&code, "c", Role::Admin),
            Err(PairingError::WrongRole(_))
        ));
        assert!(
            registry
                .pair(&code, "c", Role::Counter { window: 3 })
                .is_ok()
        );
    }

    #[test]
    fn the_start_up_code_pairs_any_terminal_but_never_an_administrator() {
        let (_dir, registry) = registry();
        let code = registry.mint_terminal_code(10).unwrap();
        assert_eq!(
            registry
                .pair(&code, "a", Role::Admin)
                .unwrap_err()
                .to_string(),
            "this pairing code is for a terminal (kiosk, counter or display), not for the role asked"
        );
        assert!(
            registry
                .pair(&code, "w", Role::Counter { window: 2 })
                .is_ok()
        );
        for role in [Role::Kiosk, Role::Display, Role::Counter { window: 1 }] {
            let code = registry.mint_terminal_code(10).unwrap();
            assert!(registry.pair(&code, "t", role).is_ok(), "{role:?}");
        }
    }

    #[test]
    fn only_hashes_reach_the_database() {
        let (_dir, registry) = registry();
        let code = registry.mint_code(None, 10).unwrap();
        let token = registry.pair(&code, "k", Role::Kiosk).unwrap();
        let conn = Connection::open(registry.db_path()).unwrap();
        let stored: String = conn
            .query_row("SELECT token_hash FROM lan_devices", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(stored, sha256_hex(&token));
    }

    fn pair(registry: &Registry, name: &str, role: Role) -> String {
        let code = registry.mint_code(None, 10).unwrap();
        registry.pair(&code, name, role).unwrap()
    }

    #[test]
    fn pairing_waits_for_writes_from_other_connections_instead_of_failing() {
        let (_dir, registry) = registry();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Another connection keeps committing, as the engine and last-seen writes do.
        let writer = {
            let path = registry.db_path().to_path_buf();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let conn = Connection::open(path).unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .unwrap();
                conn.pragma_update(None, "synchronous", "OFF").unwrap();
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    conn.execute(
                        "INSERT OR REPLACE INTO hall_meta (key, value) VALUES ('other_writer', ?1)",
                        [n.to_string()],
                    )
                    .unwrap();
                }
            })
        };
        for n in 0..200 {
            let code = registry.mint_code(None, 10).unwrap();
            if let Err(e) = registry.pair(&code, &format!("kiosk-{n}"), Role::Kiosk) {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                panic!("pairing {n} failed beside another writer: {e}");
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert_eq!(registry.paired_count(), 200);
    }

    #[test]
    fn the_list_shows_each_paired_device_with_its_id_and_role() {
        let (_dir, registry, _clock) = registry_on_manual_clock();
        assert_eq!(registry.list().unwrap(), vec![]);
        pair(&registry, "kiosk-1", Role::Kiosk);
        pair(&registry, "窗口3", Role::Counter { window: 3 });
        let list = registry.list().unwrap();
        let shown: Vec<_> = list
            .iter()
            .map(|d| (d.id, d.name.as_str(), d.role, d.revoked_ms))
            .collect();
        assert_eq!(
            shown,
            vec![
                (1, "kiosk-1", Role::Kiosk, None),
                (2, "窗口3", Role::Counter { window: 3 }, None)
            ]
        );
        assert!(list.iter().all(|d| d.paired_ms == MORNING_MS));
        assert!(list.iter().all(|d| d.last_seen_ms.is_none()));
    }

    #[test]
    fn a_used_token_is_seen_and_seen_again_only_after_a_minute() {
        let (_dir, registry, clock) = registry_on_manual_clock();
        let token = pair(&registry, "kiosk-1", Role::Kiosk);
        let last_seen = |registry: &Registry| registry.list().unwrap()[0].last_seen_ms;
        registry.device(&token).unwrap();
        assert_eq!(last_seen(&registry), Some(MORNING_MS));
        clock.advance(LAST_SEEN_STEP_MS - 1);
        registry.device(&token).unwrap();
        assert_eq!(
            last_seen(&registry),
            Some(MORNING_MS),
            "not rewritten within the minute"
        );
        clock.advance(1);
        registry.device(&token).unwrap();
        assert_eq!(last_seen(&registry), Some(MORNING_MS + LAST_SEEN_STEP_MS));

        // A register opened later goes by the table: long ago, so it writes at once.
        let conn = Connection::open(registry.db_path()).unwrap();
        conn.execute("UPDATE lan_devices SET last_seen_ms = 5", [])
            .unwrap();
        let restarted = Registry::open_with_clock(registry.db_path(), clock.clone()).unwrap();
        restarted.device(&token).unwrap();
        assert_eq!(last_seen(&restarted), Some(clock.wall_ms()));
        // Within this register the minute counts from its own note, whatever the table says.
        conn.execute("UPDATE lan_devices SET last_seen_ms = 5", [])
            .unwrap();
        restarted.device(&token).unwrap();
        assert_eq!(last_seen(&restarted), Some(5));
    }

    #[test]
    fn a_revoked_token_is_refused_at_once_and_stays_listed() {
        let (_dir, registry) = registry();
        let lost = pair(&registry, "kiosk-1", Role::Kiosk);
        let kept = pair(&registry, "display", Role::Display);
        assert!(registry.device(&lost).is_some());
        let revoked = registry.revoke("kiosk-1").unwrap();
        assert_eq!((revoked.id, revoked.name.as_str()), (1, "kiosk-1"));
        assert!(revoked.revoked_ms.is_some());
        assert_eq!(registry.device(&lost), None);
        assert!(registry.device(&kept).is_some(), "only that device");
        assert_eq!(registry.paired_count(), 1);
        let list = registry.list().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].revoked_ms, revoked.revoked_ms);
        assert!(matches!(
            registry.revoke("1"),
            Err(RevokeError::AlreadyRevoked { id: 1, .. })
        ));
        assert!(matches!(
            registry.revoke("kiosk-1"),
            Err(RevokeError::AlreadyRevoked { id: 1, .. })
        ));
    }

    #[test]
    fn a_revocation_by_another_handle_counts_on_the_next_lookup() {
        let (_dir, server) = registry();
        let token = pair(&server, "kiosk-1", Role::Kiosk);
        assert!(server.device(&token).is_some());
        let staff = Registry::open(server.db_path()).unwrap();
        staff.revoke("kiosk-1").unwrap();
        assert_eq!(server.device(&token), None);
    }

    #[test]
    fn revoking_an_unknown_or_ambiguous_device_changes_nothing() {
        let (_dir, registry) = registry();
        let first = pair(&registry, "window", Role::Counter { window: 1 });
        let second = pair(&registry, "window", Role::Counter { window: 2 });
        let before = registry.list().unwrap();
        let unknown = registry.revoke("kiosk-9").unwrap_err();
        assert!(matches!(unknown, RevokeError::Unknown(_)));
        assert!(unknown.to_string().contains("kiosk-9"), "{unknown}");
        assert!(matches!(registry.revoke("7"), Err(RevokeError::Unknown(_))));
        let ambiguous = registry.revoke("window").unwrap_err();
        assert_eq!(
            ambiguous.to_string(),
            "2 paired devices are named \"window\": revoke one by its id (1, 2)"
        );
        assert_eq!(registry.list().unwrap(), before);
        assert!(registry.device(&first).is_some());
        registry.revoke("2").unwrap();
        assert!(registry.device(&first).is_some());
        assert_eq!(registry.device(&second), None);
        registry.revoke("window").unwrap();
        assert_eq!(
            registry.device(&first),
            None,
            "the name is no longer ambiguous once the other is revoked"
        );
    }
}
