//! The store's schema and its migrations, table-driven.
//!
//! `PRAGMA user_version` is the schema version: 0 is an empty (new) database, `N` means
//! `MIGRATIONS[..N]` have been applied. Each migration runs in its own transaction together
//! with the `user_version` bump, so a crash leaves the database at the previous version or
//! the next, never in between. `PRAGMA application_id` marks the file as imbridge's.

use rusqlite::Connection;

/// `PRAGMA application_id` of an imbridge store ("IMBR").
pub(crate) const APPLICATION_ID: i32 = 0x494D_4252;

/// One step: the SQL that takes the schema from version `index` to `index + 1`.
pub(crate) type Migration = &'static str;

/// The migrations of this library, oldest first; `CURRENT_VERSION == MIGRATIONS.len()`.
/// Append only: a released migration is never edited.
pub(crate) const MIGRATIONS: &[Migration] = &[
    // v1
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value INTEGER NOT NULL
     ) WITHOUT ROWID;
     -- delivered_seq: every stored row at or below it has reached the app (delivery is in
     -- seq order per conversation); stored_seq: the highest stored row. A conversation
     -- has undelivered rows exactly when stored_seq > delivered_seq.
     CREATE TABLE cursors (
         conversation_id TEXT PRIMARY KEY,
         synced_seq      INTEGER NOT NULL DEFAULT 0,
         cap_seq         INTEGER NOT NULL DEFAULT 0,
         stored_seq      INTEGER NOT NULL DEFAULT 0,
         delivered_seq   INTEGER NOT NULL DEFAULT 0
     ) WITHOUT ROWID;
     CREATE TABLE messages (
         conversation_id    TEXT    NOT NULL,
         seq                INTEGER NOT NULL,
         client_msg_id      TEXT    NOT NULL,
         server_msg_id      TEXT    NOT NULL,
         send_id            TEXT    NOT NULL,
         recv_id            TEXT    NOT NULL,
         group_id           TEXT    NOT NULL,
         sender_nickname    TEXT    NOT NULL,
         sender_platform_id INTEGER NOT NULL,
         session_type       INTEGER NOT NULL,
         content_type       INTEGER NOT NULL,
         content            TEXT    NOT NULL,
         text               TEXT,
         send_time          INTEGER NOT NULL,
         create_time        INTEGER NOT NULL,
         status             INTEGER NOT NULL,
         is_notification    INTEGER NOT NULL,
         PRIMARY KEY (conversation_id, seq)
     ) WITHOUT ROWID;
     -- Rows of batches that were dropped before reaching the app (no listener set, or the
     -- session ended first): undelivered even where delivered_seq has moved past them.
     CREATE TABLE undelivered (
         conversation_id TEXT    NOT NULL,
         seq             INTEGER NOT NULL,
         PRIMARY KEY (conversation_id, seq)
     ) WITHOUT ROWID;",
];

/// The schema version this library writes and reads.
pub(crate) const CURRENT_VERSION: i32 = MIGRATIONS.len() as i32;

/// Applies `migrations[from..]` to `conn` (at version `from`), one transaction each.
pub(crate) fn migrate(
    conn: &mut Connection,
    from: i32,
    migrations: &[Migration],
) -> rusqlite::Result<()> {
    for (index, sql) in migrations.iter().enumerate().skip(from.max(0) as usize) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", index as i32 + 1)?;
        tx.commit()?;
        log::debug!("store: schema migrated to v{}", index + 1);
    }
    Ok(())
}
