//! The local store of one user: messages, per-conversation cursors and the baseline flag,
//! in one SQLite file (bundled SQLite through `rusqlite`), or in memory.
//!
//! # Guarantees
//! - **Atomic pages.** [`Store::commit`] writes a page's messages, cursors and the baseline
//!   flag in one transaction: after an error (including a full disk) nothing of the page
//!   is visible and the cursors are unchanged.
//! - **Cursors never move back.** A cursor update keeps `max(old, new)`.
//! - **Duplicates are harmless.** A message whose `(conversation_id, seq)` is stored already
//!   is ignored, keeping the stored row.
//! - **Delivered is a watermark.** Each conversation keeps `delivered_seq`: its rows at or
//!   below it have reached the app. The session delivers a conversation's rows in seq
//!   order, so one number per conversation says it; marking a batch delivered is one
//!   update per conversation, and an insert touches no second index (measured: a
//!   per-row flag with a partial index of undelivered rows cost an index insert, a row
//!   update and an index delete per message). A batch dropped before reaching the app
//!   ([`Store::keep_undelivered`]) is listed row by row, so that a later batch's mark
//!   does not cover it.
//! - **Durability.** WAL with `synchronous=NORMAL`: a committed transaction survives the
//!   app crashing or being killed (SIGKILL, the OS reclaiming it). On power loss or a kernel
//!   crash the last transactions before the latest checkpoint may be rolled back, but the
//!   database stays consistent and a page is lost whole, rows and cursor together: the
//!   messages are fetched again (a lost `mark_delivered` redelivers its rows once).
//! - **One owner per file in a process.** A second [`Store::open`] of the same file in this
//!   process fails with [`ImError::Storage`] until the first [`Store`] is dropped.
//! - **No message content in errors or logs** (counts and keys only; content at most at
//!   trace level — currently never).
//!
//! # Files
//! Under `data_dir`, user `U` has `user-<enc(U)>.sqlite3` (plus SQLite's `-wal` and `-shm`),
//! where `enc` keeps `a-z`, `0-9`, `_` and `-` and writes every other byte of `U`'s UTF-8 as
//! `%XX` (upper-case hex). Names are therefore distinct even on case-insensitive file
//! systems (`Alice` → `%41lice`, `alice` → `alice`), contain no `/`, `.` or NUL, and need no
//! Unicode normalisation. An ID whose encoding would pass 150 bytes uses
//! `user-sha1.<40 hex of SHA-1(U)>.sqlite3` (the `.` never occurs in an encoding).
//!
//! # Opening: what is checked, and when `quick_check` runs
//! `PRAGMA quick_check` reads the whole file (tens of milliseconds for 100,000 messages), so
//! opening never runs it. Opening reads the 100-byte header (magic, `application_id`,
//! `user_version`), parses the schema and touches each table's root: a file that is not
//! SQLite, is another application's SQLite database, or makes SQLite report corruption
//! (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) while doing so is renamed aside
//! (`<name>.corrupt-<unix ms>`, its `-wal` beside it as `<name>.corrupt-<unix ms>-wal`) and a
//! fresh store is created ([`OpenOutcome::Rebuilt`], with a warning logged). Corruption found
//! later, by a read or a write, is an [`ImError::Storage`] and leaves a marker file
//! (`<name>-check`); the next open then runs `quick_check`, and sets the file aside if it
//! fails. Other errors (I/O, permissions, locks) never set a file aside.

mod handover;
mod schema;
#[cfg(test)]
mod tests;

pub(crate) use handover::Handover;

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::ImError;
use crate::model::Message;

use schema::{APPLICATION_ID, CURRENT_VERSION, MIGRATIONS};

/// At most this many rows per [`Store::messages`] call.
pub(crate) const MAX_MESSAGES_PER_READ: u32 = 1000;

/// How long a write waits for another process's lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest encoded user ID kept in a file name (longer ones are hashed).
const MAX_ENCODED_ID: usize = 150;

/// A user's local store: one SQLite file per user under `data_dir`, or in memory.
///
/// Every method takes `&self`; calls are serialised by an internal mutex.
pub(crate) struct Store {
    // Field order matters: the connection closes (and checkpoints) before the file is
    // released for another `open` in this process.
    conn: Mutex<Connection>,
    /// Set when [`Store::keep_undelivered`] failed: from then on no mark moves a
    /// watermark (that could cover the rows it failed to list). Rows are then delivered
    /// again at the next login rather than lost.
    hold_watermarks: std::sync::atomic::AtomicBool,
    /// Batches handed to the app whose outcome is not recorded yet ([`Handover`]).
    in_flight: handover::InFlight,
    path: Option<PathBuf>,
    claim: Mutex<Option<Claim>>,
}

/// A conversation's cursor: every seq at or below `synced_seq` is resolved (stored, or known
/// to be absent); `cap_seq` is the highest seq the server will serve the user (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cursor {
    pub synced_seq: i64,
    pub cap_seq: i64,
}

/// One entry of the cached conversation list (the exported record).
pub(crate) use crate::model::Conversation;

/// What one page commits, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Page {
    /// Inserted (seq ≥ 1); a `(conversation_id, seq)` already stored is ignored.
    pub messages: Vec<Message>,
    /// True for the baseline (rows stored, never delivered to the app): its conversations
    /// count as delivered up to the page's highest seq (message or cursor) in each.
    pub delivered: bool,
    /// `conversation_id` → new `synced_seq`; a cursor keeps `max(old, new)`.
    pub cursors: Vec<(String, i64)>,
    /// Sets the "baseline done" flag (never cleared).
    pub baseline_done: bool,
}

impl Page {
    /// True when the page's messages go to the app once stored: every page but the
    /// baseline, whose rows are stored as delivered.
    pub fn delivers(&self) -> bool {
        !self.delivered
    }
}

/// How [`Store::open`] found the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenOutcome {
    /// An existing store, opened (and migrated to the current schema if older).
    Opened,
    /// No store existed (or it was in memory): a new, empty one.
    Created,
    /// The file was not a usable store: it was renamed to `set_aside` and a new, empty
    /// store created in its place.
    Rebuilt { set_aside: PathBuf },
}

const MESSAGE_COLUMNS: &str = "conversation_id, seq, client_msg_id, server_msg_id, send_id, \
     recv_id, group_id, sender_nickname, sender_platform_id, session_type, content_type, \
     content, text, send_time, create_time, status, is_notification";

impl Store {
    /// Opens (creating if absent) the store of `user_id`; `data_dir` `None` → in memory
    /// (never shared, gone when dropped).
    ///
    /// `data_dir` must be absolute and is created if missing. Errors:
    /// [`ImError::InvalidArgument`] for an empty `user_id` or an empty or relative
    /// `data_dir`; [`ImError::Storage`] (naming the path and the cause) when `data_dir` is
    /// not a writable directory, when the file's schema is newer than this library (the
    /// file is left untouched: not renamed, not written), when the file is open by another
    /// [`Store`] in this process, or on an I/O error. A file that is not a usable store is
    /// set aside and replaced ([`OpenOutcome::Rebuilt`]); see the module docs.
    pub fn open(data_dir: Option<&Path>, user_id: &str) -> Result<(Store, OpenOutcome), ImError> {
        if user_id.is_empty() {
            return Err(ImError::invalid("the user ID is empty"));
        }
        let Some(data_dir) = data_dir else {
            let mut conn =
                open_in_memory().map_err(|e| storage("in-memory store", "cannot open", e))?;
            schema::migrate(&mut conn, 0, MIGRATIONS)
                .map_err(|e| storage("in-memory store", "cannot create the schema", e))?;
            conn.set_prepared_statement_cache_capacity(32);
            let store = Store {
                conn: Mutex::new(conn),
                hold_watermarks: Default::default(),
                in_flight: Default::default(),
                path: None,
                claim: Mutex::new(None),
            };
            return Ok((store, OpenOutcome::Created));
        };
        let dir = prepare_dir(data_dir)?;
        let path = dir.join(file_name(user_id));
        let claim = Claim::take(&path)?;
        let (conn, outcome) = match try_open(&path) {
            Ok((conn, created)) => (
                conn,
                if created {
                    OpenOutcome::Created
                } else {
                    OpenOutcome::Opened
                },
            ),
            Err(Failure::Unusable(why)) => {
                let set_aside = set_aside(&path)?;
                log::warn!(
                    "store: {} is not a usable store ({why}); set aside as {}, starting a new store",
                    path.display(),
                    set_aside.display()
                );
                match try_open(&path) {
                    Ok((conn, _)) => (conn, OpenOutcome::Rebuilt { set_aside }),
                    Err(Failure::Fatal(e)) => return Err(e),
                    Err(Failure::Unusable(why)) => {
                        return Err(storage_msg(
                            &path,
                            format!("a new store is unusable too: {why}"),
                        ))
                    }
                }
            }
            Err(Failure::Fatal(e)) => return Err(e),
        };
        let store = Store {
            conn: Mutex::new(conn),
            hold_watermarks: Default::default(),
            in_flight: Default::default(),
            path: Some(path),
            claim: Mutex::new(Some(claim)),
        };
        Ok((store, outcome))
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether a page with `baseline_done` has been committed.
    pub fn baseline_done(&self) -> Result<bool, ImError> {
        let conn = self.lock();
        let value: Option<i64> = conn
            .prepare_cached("SELECT value FROM meta WHERE key = 'baseline_done'")
            .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
            .map_err(|e| self.fail("cannot read the baseline flag", e))?;
        Ok(value == Some(1))
    }

    /// Every conversation's cursor (conversations that have a stored message or a cursor).
    pub fn cursors(&self) -> Result<HashMap<String, Cursor>, ImError> {
        let conn = self.lock();
        let read = || -> rusqlite::Result<HashMap<String, Cursor>> {
            let mut stmt =
                conn.prepare_cached("SELECT conversation_id, synced_seq, cap_seq FROM cursors")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Cursor {
                        synced_seq: r.get(1)?,
                        cap_seq: r.get(2)?,
                    },
                ))
            })?;
            rows.collect()
        };
        read().map_err(|e| self.fail("cannot read the cursors", e))
    }

    /// Commits `page` in one transaction: inserts its messages (existing keys ignored),
    /// raises its cursors (`max(old, new)`), gives every conversation of its messages a
    /// cursor row, and sets the baseline flag if asked. On any error nothing has changed.
    /// A message with `seq < 1` or an empty `conversation_id` is
    /// [`ImError::InvalidArgument`] (nothing written).
    pub fn commit(&self, page: &Page) -> Result<(), ImError> {
        if let Some(bad) = page
            .messages
            .iter()
            .find(|m| m.seq < 1 || m.conversation_id.is_empty())
        {
            return Err(ImError::invalid(format!(
                "cannot store a message with seq {} in conversation {:?}",
                bad.seq, bad.conversation_id
            )));
        }
        let mut conn = self.lock();
        let write = |conn: &mut Connection| -> rusqlite::Result<usize> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut inserted = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO messages (conversation_id, seq, client_msg_id, server_msg_id, \
                     send_id, recv_id, group_id, sender_nickname, sender_platform_id, \
                     session_type, content_type, content, text, send_time, create_time, status, \
                     is_notification) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, ?17) \
                     ON CONFLICT (conversation_id, seq) DO NOTHING",
                )?;
                for m in &page.messages {
                    inserted += insert.execute(params![
                        m.conversation_id,
                        m.seq,
                        m.client_msg_id,
                        m.server_msg_id,
                        m.send_id,
                        m.recv_id,
                        m.group_id,
                        m.sender_nickname,
                        m.sender_platform_id,
                        m.session_type,
                        m.content_type,
                        m.content,
                        m.text,
                        m.send_time,
                        m.create_time,
                        m.status,
                        m.is_notification,
                    ])?;
                }
                // Per conversation: the highest stored seq, and (baseline) delivered seq.
                let mut highest: HashMap<&str, i64> = HashMap::new();
                for m in &page.messages {
                    let h = highest.entry(m.conversation_id.as_str()).or_default();
                    *h = (*h).max(m.seq);
                }
                let mut stored = tx.prepare_cached(
                    "INSERT INTO cursors (conversation_id, stored_seq) VALUES (?1, ?2) \
                     ON CONFLICT (conversation_id) \
                     DO UPDATE SET stored_seq = max(stored_seq, excluded.stored_seq)",
                )?;
                for (id, seq) in &highest {
                    stored.execute(params![id, seq])?;
                }

                let mut raise = tx.prepare_cached(
                    "INSERT INTO cursors (conversation_id, synced_seq) VALUES (?1, ?2) \
                     ON CONFLICT (conversation_id) \
                     DO UPDATE SET synced_seq = max(synced_seq, excluded.synced_seq)",
                )?;
                for (id, seq) in &page.cursors {
                    raise.execute(params![id, seq])?;
                }
                // The baseline: delivered up to its highest seq (every cursor row exists now).
                if page.delivered {
                    for (id, seq) in &page.cursors {
                        let h = highest.entry(id.as_str()).or_default();
                        *h = (*h).max(*seq);
                    }
                    for (id, seq) in &highest {
                        raise_delivered(&tx, id, *seq)?;
                    }
                }
                if page.baseline_done {
                    tx.prepare_cached(
                        "INSERT INTO meta (key, value) VALUES ('baseline_done', 1) \
                         ON CONFLICT (key) DO UPDATE SET value = 1",
                    )?
                    .execute([])?;
                }
            }
            tx.commit()?;
            Ok(inserted)
        };
        match write(&mut conn) {
            Ok(inserted) => {
                log::trace!(
                    "store: page committed: {inserted} of {} messages new, {} cursors",
                    page.messages.len(),
                    page.cursors.len()
                );
                Ok(())
            }
            Err(e) => Err(self.fail("cannot commit a page (nothing of it was stored)", e)),
        }
    }

    /// Sets a conversation's `cap_seq` (creating its cursor row if needed).
    #[cfg(test)]
    pub fn set_cap(&self, conversation_id: &str, cap_seq: i64) -> Result<(), ImError> {
        let conn = self.lock();
        conn.prepare_cached(
            "INSERT INTO cursors (conversation_id, cap_seq) VALUES (?1, ?2) \
             ON CONFLICT (conversation_id) DO UPDATE SET cap_seq = excluded.cap_seq",
        )
        .and_then(|mut s| s.execute(params![conversation_id, cap_seq]))
        .map(|_| ())
        .map_err(|e| self.fail("cannot store a cap", e))
    }

    /// Marks the rows of a delivered batch `(conversation_id, seq)`: each conversation
    /// counts as delivered up to the highest seq given for it — with its rows below,
    /// which the session delivered before (in seq order) — and the batch's rows listed by
    /// [`Store::keep_undelivered`] are unlisted (other listed rows stay); one transaction
    /// (unknown conversations are ignored). On error none is marked. After a failed
    /// listing it marks nothing (see [`Store::keep_undelivered`]).
    pub fn mark_delivered<S: AsRef<str>>(&self, keys: &[(S, i64)]) -> Result<(), ImError> {
        if self
            .hold_watermarks
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            log::debug!("store: watermarks held since a failed listing; not marking");
            return Ok(());
        }
        // Per conversation: the lowest and highest seq of the batch.
        let mut span: HashMap<&str, (i64, i64)> = HashMap::new();
        for (id, seq) in keys {
            let s = span.entry(id.as_ref()).or_insert((*seq, *seq));
            *s = (s.0.min(*seq), s.1.max(*seq));
        }
        let mut conn = self.lock();
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                // Only the batch's own listed rows are unlisted: a span may hold rows of
                // another batch still on its way (left out of it while in flight).
                let mut listed = tx.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM undelivered WHERE conversation_id = ?1 \
                     AND seq BETWEEN ?2 AND ?3)",
                )?;
                let mut unlist = tx.prepare_cached(
                    "DELETE FROM undelivered WHERE conversation_id = ?1 AND seq = ?2",
                )?;
                for (id, (lo, hi)) in &span {
                    raise_delivered(&tx, id, *hi)?;
                    if listed.query_row(params![id, lo, hi], |r| r.get::<_, bool>(0))? {
                        for (_, seq) in keys.iter().filter(|(c, _)| c.as_ref() == *id) {
                            unlist.execute(params![id, seq])?;
                        }
                    }
                }
            }
            tx.commit()
        };
        write(&mut conn).map_err(|e| self.fail("cannot mark messages delivered", e))
    }

    /// Lists the rows of a batch that was dropped before reaching the app as undelivered,
    /// in one transaction: they stay undelivered whatever later batches are marked, and
    /// [`Store::undelivered`] returns them (at the next login). If that fails, this store
    /// marks nothing delivered any more (its rows come again at the next login: duplicates
    /// rather than a loss).
    pub fn keep_undelivered<S: AsRef<str>>(&self, keys: &[(S, i64)]) -> Result<(), ImError> {
        let mut conn = self.lock();
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut list = tx.prepare_cached(
                    "INSERT INTO undelivered (conversation_id, seq) VALUES (?1, ?2) \
                     ON CONFLICT DO NOTHING",
                )?;
                for (id, seq) in keys {
                    list.execute(params![id.as_ref(), seq])?;
                }
            }
            tx.commit()
        };
        write(&mut conn).map_err(|e| {
            self.hold_watermarks
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.fail("cannot keep messages undelivered", e)
        })
    }

    /// Undelivered rows (above their conversation's delivered seq, or listed by
    /// [`Store::keep_undelivered`]), ordered by `conversation_id` then `seq`, at most
    /// `limit`, leaving out the rows of every batch handed to the app ([`Handover`]) and
    /// not yet recorded. Only conversations with undelivered rows are read (`stored_seq >
    /// delivered_seq` in the small cursor table).
    #[cfg(test)]
    pub fn undelivered(&self, limit: usize) -> Result<Vec<Message>, ImError> {
        self.undelivered_now(limit, 0)
    }

    /// [`Store::undelivered`] as a new session reads it: the rows of batches handed to
    /// the app are left out only while they will still reach it — started, or of a
    /// session at or above `silenced_below` (the event hub drops the queued batches of
    /// the sessions below it, so their rows are undelivered).
    pub fn undelivered_now(
        &self,
        limit: usize,
        silenced_below: u64,
    ) -> Result<Vec<Message>, ImError> {
        let in_flight = self.in_flight.hold();
        let conn = self.lock();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = undelivered_sql();
        // Read once per login: not kept in the statement cache (8 KiB a session).
        let rows: Vec<Message> = conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map([limit], read_message)?.collect())
            .map_err(|e| self.fail("cannot read undelivered messages", e))?;
        Ok(rows
            .into_iter()
            .filter(|m| in_flight.keeps(m, silenced_below))
            .collect())
    }

    /// The cached conversation list, newest activity first: by the latest message's
    /// `send_time` descending, then by `conversation_id`; conversations without a stored
    /// message last (by `conversation_id`).
    pub fn conversations(&self) -> Result<Vec<Conversation>, ImError> {
        let conn = self.lock();
        let read = || -> rusqlite::Result<Vec<Conversation>> {
            let mut list = conn
                .prepare_cached("SELECT conversation_id, synced_seq FROM cursors")?
                .query_map([], |r| {
                    Ok(Conversation {
                        conversation_id: r.get(0)?,
                        synced_seq: r.get(1)?,
                        latest: None,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut latest = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 \
                 ORDER BY seq DESC LIMIT 1"
            ))?;
            for c in &mut list {
                c.latest = latest
                    .query_row([&c.conversation_id], read_message)
                    .optional()?;
            }
            Ok(list)
        };
        let mut list = read().map_err(|e| self.fail("cannot read the conversations", e))?;
        list.sort_by(|a, b| {
            let time = |c: &Conversation| c.latest.as_ref().map(|m| m.send_time);
            time(b)
                .cmp(&time(a))
                .then_with(|| a.conversation_id.cmp(&b.conversation_id))
        });
        Ok(list)
    }

    /// A conversation's stored messages, newest (highest seq) first: those with
    /// `seq < before_seq` (`None` = from the newest), at most `limit` (capped at
    /// [`MAX_MESSAGES_PER_READ`]). Pass the last returned seq as `before_seq` for the next page.
    pub fn messages(
        &self,
        conversation_id: &str,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, ImError> {
        let conn = self.lock();
        let limit = limit.min(MAX_MESSAGES_PER_READ);
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 AND seq < ?2 \
             ORDER BY seq DESC LIMIT ?3"
        );
        conn.prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(
                    params![conversation_id, before_seq.unwrap_or(i64::MAX), limit],
                    read_message,
                )?
                .collect()
            })
            .map_err(|e| self.fail("cannot read messages", e))
    }

    /// Rows listed by [`Store::keep_undelivered`] and not delivered since.
    pub fn listed_undelivered_count(&self) -> Result<u64, ImError> {
        self.count(
            "SELECT count(*) FROM undelivered",
            "cannot count undelivered rows",
        )
    }

    /// Rows stored.
    pub fn message_count(&self) -> Result<u64, ImError> {
        self.count("SELECT count(*) FROM messages", "cannot count messages")
    }

    fn count(&self, sql: &str, what: &str) -> Result<u64, ImError> {
        let conn = self.lock();
        conn.prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(|e| self.fail(what, e))
    }

    /// Deletes `user_id`'s store under `data_dir`: the database, its `-wal`, `-shm` and
    /// `-check` files, and any copies set aside as corrupt (they hold the user's messages
    /// too). `Ok` if none exist (also when `data_dir` does not). Fails with
    /// [`ImError::Storage`] if the store is open in this process; an open during the erase
    /// fails the same way.
    pub fn erase(data_dir: &Path, user_id: &str) -> Result<(), ImError> {
        if user_id.is_empty() {
            return Err(ImError::invalid("the user ID is empty"));
        }
        check_dir_argument(data_dir)?;
        let dir = match data_dir.canonicalize() {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(storage(data_dir, "cannot resolve the data directory", e)),
        };
        let name = file_name(user_id);
        let path = dir.join(&name);
        let _claim = Claim::take(&path)?;
        // The WAL first: a database left without its WAL is an older consistent state, a
        // WAL left without its database would be stale.
        for suffix in ["-wal", "-shm", "", "-check"] {
            remove_if_present(&with_suffix(&path, suffix))?;
        }
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| storage(&dir, "cannot list the data directory", e))?;
        let aside = format!("{name}.corrupt-");
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&aside) {
                remove_if_present(&entry.path())?;
            }
        }
        log::info!("store: erased {}", path.display());
        Ok(())
    }

    /// Test hook: limits the database to `pages` pages (`PRAGMA max_page_count`; never
    /// below its current size), so writes that need more fail with `SQLITE_FULL`, as on
    /// a full disk. Returns nothing; see [`Store::page_count`].
    pub fn limit_pages(&self, pages: u32) -> Result<(), ImError> {
        let conn = self.lock();
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(|e| self.fail("cannot limit the page count", e))
    }

    /// Gives up this store's claim on its file: another `open` in this process may take
    /// it now (the manager that owned it has shut down), while this connection finishes
    /// what it was doing and closes when the last reference goes.
    pub fn release(&self) {
        self.claim.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The database's size in pages (for [`Store::limit_pages`]).
    pub fn page_count(&self) -> Result<u32, ImError> {
        let conn = self.lock();
        conn.query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| self.fail("cannot read the page count", e))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open (it rolls back
        // on drop), so the connection is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The error for a failed operation; corruption also leaves the `-check` marker.
    fn fail(&self, what: &str, e: rusqlite::Error) -> ImError {
        match &self.path {
            Some(path) => {
                if is_corruption(&e) {
                    log::warn!(
                        "store: {} reports corruption ({e}); it is checked at the next open",
                        path.display()
                    );
                    let _ = std::fs::File::create(with_suffix(path, "-check"));
                }
                storage(path, what, e)
            }
            None => storage("in-memory store", what, e),
        }
    }
}

/// The file name of `user_id`'s store (see the module docs).
pub(crate) fn file_name(user_id: &str) -> String {
    let mut enc = String::with_capacity(user_id.len());
    for &b in user_id.as_bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    if enc.len() > MAX_ENCODED_ID {
        let digest = sha1_smol::Sha1::from(user_id.as_bytes()).digest().bytes();
        let digest: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("user-sha1.{digest}.sqlite3")
    } else {
        format!("user-{enc}.sqlite3")
    }
}

/// Why opening a file failed.
enum Failure {
    /// Not a usable store: set it aside and start anew.
    Unusable(String),
    /// A real error: report it, touch nothing.
    Fatal(ImError),
}

/// The query of [`Store::undelivered_now`] (`?1`: the limit). `CROSS JOIN` keeps the
/// cursor table (one row per conversation) as the outer loop, so only conversations with
/// undelivered rows are read: left to itself, SQLite's planner scanned every stored
/// message in key order to spare sorting the result (50 ms at each login with 100,000
/// stored, against 0.3 ms).
fn undelivered_sql() -> String {
    let columns: Vec<String> = MESSAGE_COLUMNS
        .split(',')
        .map(|c| format!("m.{}", c.trim()))
        .collect();
    let columns = columns.join(", ");
    format!(
        "SELECT {columns} FROM cursors c CROSS JOIN messages m \
         ON m.conversation_id = c.conversation_id AND m.seq > c.delivered_seq \
         WHERE c.stored_seq > c.delivered_seq \
         UNION \
         SELECT {columns} FROM undelivered u CROSS JOIN messages m \
         ON m.conversation_id = u.conversation_id AND m.seq = u.seq \
         ORDER BY 1, 2 LIMIT ?1"
    )
}

/// SQLite's lookaside (the connection's pool for small allocations) of an in-memory
/// store, as (slot size, slots): about 9,600 bytes, which SQLite splits into slots of
/// 1,200 and of 128 bytes (6 and 18 on Linux; the count follows the allocator's
/// rounding), instead of the default 48,000. In-memory stores are what a
/// process runs many of (load tests, tests): in a heap profile of 1,000 sessions the
/// default lookaside was 48 KiB of each session's ~240 KiB. A file store keeps the
/// default; an app has one.
const IN_MEMORY_LOOKASIDE: (i32, i32) = (1200, 8);

fn open_in_memory() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    let (size, slots) = IN_MEMORY_LOOKASIDE;
    // SAFETY: `conn` is open and used on this thread only; a null buffer makes SQLite
    // allocate the slots itself; no statement has run yet, as the option requires (it
    // answers SQLITE_BUSY otherwise and the default stays, which is only more memory).
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
            std::ptr::null_mut::<std::ffi::c_void>(),
            size,
            slots,
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        log::debug!("store: the in-memory store keeps SQLite's default lookaside (code {rc})");
    }
    Ok(conn)
}

/// Opens `path` as a store at the current schema; `Ok((conn, created))`.
fn try_open(path: &Path) -> Result<(Connection, bool), Failure> {
    let fatal = |what: &str, e: &dyn std::fmt::Display| Failure::Fatal(storage(path, what, e));
    let existed = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Failure::Fatal(storage_msg(path, "is a directory".into())))
        }
        Ok(m) => m.len() > 0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(fatal("cannot read", &e)),
    };
    if existed {
        // The header, read without SQLite: a newer store is refused before SQLite opens
        // it, so not a byte of it (nor a -wal or -shm) is written.
        let mut header = Vec::with_capacity(100);
        std::fs::File::open(path)
            .and_then(|f| f.take(100).read_to_end(&mut header))
            .map_err(|e| fatal("cannot read", &e))?;
        if header.len() < 100 || !header.starts_with(b"SQLite format 3\0") {
            return Err(Failure::Unusable("not an SQLite database".into()));
        }
        let be = |at: usize| i32::from_be_bytes(header[at..at + 4].try_into().unwrap());
        let (user_version, application_id) = (be(60), be(68));
        if application_id == APPLICATION_ID && user_version > CURRENT_VERSION {
            return Err(Failure::Fatal(newer(path, user_version)));
        }
    }
    let unusable_or_fatal = |what: &str, e: rusqlite::Error| {
        if is_corruption(&e) {
            Failure::Unusable(format!("{what}: {e}"))
        } else {
            Failure::Fatal(storage(path, what, e))
        }
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_EXRESCODE;
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| unusable_or_fatal("cannot open", e))?;
    // Until the file is known to be ours, closing must not checkpoint a WAL into it.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| unusable_or_fatal("cannot configure", e))?;
    let probe = |conn: &Connection| -> rusqlite::Result<(i32, i32, i64)> {
        let application_id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let user_version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((application_id, user_version, objects))
    };
    let (application_id, user_version, objects) =
        probe(&conn).map_err(|e| unusable_or_fatal("cannot read the schema", e))?;
    if (user_version != 0 || objects != 0) && application_id != APPLICATION_ID {
        return Err(Failure::Unusable(format!(
            "an SQLite database of another application (application_id {application_id:#x}, \
             user_version {user_version})"
        )));
    }
    if user_version > CURRENT_VERSION {
        return Err(Failure::Fatal(newer(path, user_version)));
    }
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| fatal("cannot configure", &e))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| unusable_or_fatal("cannot switch to WAL", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::Fatal(storage_msg(
            path,
            format!("cannot switch to WAL (journal mode stays {mode})"),
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| fatal("cannot configure", &e))?;
    let check_marker = with_suffix(path, "-check");
    if check_marker.exists() {
        let result: String = conn
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| unusable_or_fatal("quick_check failed", e))?;
        if result != "ok" {
            return Err(Failure::Unusable(format!("quick_check: {result}")));
        }
        log::info!("store: {} passed quick_check", path.display());
        let _ = std::fs::remove_file(&check_marker);
    }
    schema::migrate(&mut conn, user_version, MIGRATIONS)
        .map_err(|e| unusable_or_fatal("cannot migrate the schema", e))?;
    // Touch every table's root page (cheap: no scan), so a garbled tree is found now.
    conn.query_row(
        "SELECT (SELECT count(*) FROM meta), (SELECT 1 FROM cursors LIMIT 1), \
         (SELECT 1 FROM messages LIMIT 1)",
        [],
        |_| Ok(()),
    )
    .map_err(|e| unusable_or_fatal("cannot read the tables", e))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .map_err(|e| fatal("cannot configure", &e))?;
    conn.set_prepared_statement_cache_capacity(32);
    if !existed {
        log::info!("store: created {}", path.display());
    }
    Ok((conn, !existed))
}

/// Checks `data_dir`, creates it if missing, and returns its canonical form.
fn prepare_dir(data_dir: &Path) -> Result<PathBuf, ImError> {
    check_dir_argument(data_dir)?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| storage(data_dir, "cannot create the data directory", e))?;
    let dir = data_dir
        .canonicalize()
        .map_err(|e| storage(data_dir, "cannot resolve the data directory", e))?;
    if !dir.is_dir() {
        return Err(storage_msg(&dir, "is not a directory".into()));
    }
    Ok(dir)
}

fn check_dir_argument(data_dir: &Path) -> Result<(), ImError> {
    if data_dir.as_os_str().is_empty() {
        return Err(ImError::invalid("data_dir is empty"));
    }
    if !data_dir.is_absolute() {
        return Err(ImError::invalid(format!(
            "data_dir must be an absolute path, not {}",
            data_dir.display()
        )));
    }
    Ok(())
}

/// Renames `path` (and its WAL) aside as `<name>.corrupt-<unix ms>`; drops its `-shm` and
/// `-check` files. Returns the new name of the database file.
fn set_aside(path: &Path) -> Result<PathBuf, ImError> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut aside = with_suffix(path, &format!(".corrupt-{ms}"));
    let mut n = 1;
    while aside.exists() || with_suffix(&aside, "-wal").exists() {
        aside = with_suffix(path, &format!(".corrupt-{ms}-{n}"));
        n += 1;
    }
    let wal = with_suffix(path, "-wal");
    if wal.exists() {
        std::fs::rename(&wal, with_suffix(&aside, "-wal"))
            .map_err(|e| storage(&wal, "cannot set the WAL aside", e))?;
    }
    remove_if_present(&with_suffix(path, "-shm"))?;
    std::fs::rename(path, &aside).map_err(|e| storage(path, "cannot set the file aside", e))?;
    remove_if_present(&with_suffix(path, "-check"))?;
    Ok(aside)
}

fn remove_if_present(path: &Path) -> Result<(), ImError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(storage(path, "cannot delete", e)),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

fn newer(path: &Path, version: i32) -> ImError {
    storage_msg(
        path,
        format!(
            "schema version {version} is newer than this library's ({CURRENT_VERSION}): \
             written by a newer imbridge; the file was left untouched"
        ),
    )
}

fn storage(path: impl AsRef<Path>, what: &str, cause: impl std::fmt::Display) -> ImError {
    storage_msg(path, format!("{what}: {cause}"))
}

fn storage_msg(path: impl AsRef<Path>, what: String) -> ImError {
    ImError::Storage {
        detail: format!("{}: {what}", path.as_ref().display()),
    }
}

/// Raises `delivered_seq` of `conversation_id` to `seq` (never lowers it).
fn raise_delivered(
    tx: &rusqlite::Transaction<'_>,
    conversation_id: &str,
    seq: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE cursors SET delivered_seq = max(delivered_seq, ?2) WHERE conversation_id = ?1",
    )?
    .execute(params![conversation_id, seq])
    .map(|_| ())
}

fn read_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    Ok(Message {
        conversation_id: r.get(0)?,
        seq: r.get(1)?,
        client_msg_id: r.get(2)?,
        server_msg_id: r.get(3)?,
        send_id: r.get(4)?,
        recv_id: r.get(5)?,
        group_id: r.get(6)?,
        sender_nickname: r.get(7)?,
        sender_platform_id: r.get(8)?,
        session_type: r.get(9)?,
        content_type: r.get(10)?,
        content: r.get(11)?,
        text: r.get(12)?,
        send_time: r.get(13)?,
        create_time: r.get(14)?,
        status: r.get(15)?,
        is_notification: r.get(16)?,
    })
}

/// The canonical paths of the store files open (or being erased) in this process.
static OPEN_FILES: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
/// Signalled whenever a claim is released.
static RELEASED: std::sync::Condvar = std::sync::Condvar::new();

/// How long [`Claim::take`] waits for a claim being released. A store whose last
/// reference just went (a batch delivered on the listener's thread) closes its connection
/// — a WAL checkpoint, milliseconds — before its claim goes; a login or an erase of the
/// same user at that moment waits that long rather than failing.
const CLAIM_WAIT: Duration = Duration::from_millis(500);

/// A path's entry in [`OPEN_FILES`], released on drop.
struct Claim(PathBuf);

impl Claim {
    fn take(path: &Path) -> Result<Claim, ImError> {
        let deadline = std::time::Instant::now() + CLAIM_WAIT;
        let mut open = OPEN_FILES.lock().unwrap_or_else(|p| p.into_inner());
        while open.contains(path) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(storage_msg(
                    path,
                    "already open by another ImManager in this process".into(),
                ));
            }
            open = RELEASED
                .wait_timeout(open, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        open.insert(path.to_path_buf());
        Ok(Claim(path.to_path_buf()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        OPEN_FILES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
        RELEASED.notify_all();
    }
}
