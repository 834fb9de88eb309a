//! Store tests on real SQLite files in temporary directories.

use super::*;
use std::time::Instant;

fn msg(conversation_id: &str, seq: i64) -> Message {
    Message {
        client_msg_id: format!("c-{conversation_id}-{seq}"),
        server_msg_id: format!("s-{conversation_id}-{seq}"),
        conversation_id: conversation_id.to_string(),
        send_id: "bob".into(),
        recv_id: "alice".into(),
        group_id: String::new(),
        sender_nickname: "Bob".into(),
        sender_platform_id: 5,
        session_type: 1,
        content_type: 101,
        content: format!("{{\"content\":\"hello {seq}\"}}"),
        text: Some(format!("hello {seq}")),
        seq,
        send_time: 1_700_000_000_000 + seq,
        create_time: 1_700_000_000_500 + seq,
        status: 2,
        is_notification: false,
    }
}

fn page(messages: Vec<Message>, cursors: &[(&str, i64)]) -> Page {
    Page {
        messages,
        delivered: false,
        cursors: cursors.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
        baseline_done: false,
    }
}

fn open(dir: &Path, user: &str) -> (Store, OpenOutcome) {
    Store::open(Some(dir), user).expect("open")
}

fn storage_detail(e: ImError) -> String {
    match e {
        ImError::Storage { detail } => detail,
        other => panic!("expected a Storage error, got {other:?}"),
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The seqs [`Store::undelivered`] returns, in order.
fn undelivered_seqs(store: &Store) -> Vec<i64> {
    store
        .undelivered(100)
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect()
}

fn keys(messages: &[Message]) -> Vec<(String, i64)> {
    messages
        .iter()
        .map(|m| (m.conversation_id.clone(), m.seq))
        .collect()
}

#[test]
fn create_then_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (store, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Created);
    let path = store.path().unwrap().to_path_buf();
    assert_eq!(path.file_name().unwrap(), "user-alice.sqlite3");
    assert!(!store.baseline_done().unwrap());
    let mut p = page(vec![msg("si_a_b", 1), msg("si_a_b", 2)], &[("si_a_b", 2)]);
    p.baseline_done = true;
    store.commit(&p).unwrap();
    store.set_cap("sg_g", 7).unwrap();
    drop(store);

    let (store, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Opened);
    assert!(store.baseline_done().unwrap());
    assert_eq!(store.message_count().unwrap(), 2);
    let cursors = store.cursors().unwrap();
    assert_eq!(
        cursors["si_a_b"],
        Cursor {
            synced_seq: 2,
            cap_seq: 0
        }
    );
    assert_eq!(
        cursors["sg_g"],
        Cursor {
            synced_seq: 0,
            cap_seq: 7
        }
    );
    // Every field round-trips.
    let stored = store.messages("si_a_b", None, 10).unwrap();
    assert_eq!(stored, vec![msg("si_a_b", 2), msg("si_a_b", 1)]);
    let mut no_text = msg("si_a_b", 3);
    no_text.text = None;
    no_text.is_notification = true;
    store.commit(&page(vec![no_text.clone()], &[])).unwrap();
    assert_eq!(store.messages("si_a_b", None, 1).unwrap(), vec![no_text]);
}

#[test]
fn in_memory_stores_work_and_are_never_shared() {
    let (a, outcome) = Store::open(None, "alice").unwrap();
    assert_eq!(outcome, OpenOutcome::Created);
    assert!(a.path().is_none());
    let (b, _) = Store::open(None, "alice").unwrap();
    a.commit(&page(vec![msg("si_a_b", 1)], &[("si_a_b", 1)]))
        .unwrap();
    assert_eq!(a.message_count().unwrap(), 1);
    assert_eq!(b.message_count().unwrap(), 0);
    assert!(b.cursors().unwrap().is_empty());
    assert_eq!(a.undelivered(10).unwrap().len(), 1);
}

/// SQLite's count of lookaside slots in use: (now, most ever).
fn lookaside_used(conn: &rusqlite::Connection) -> (i32, i32) {
    let (mut now, mut most) = (0, 0);
    // SAFETY: the handle is the open connection's, held under its store's lock.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_LOOKASIDE_USED,
            &mut now,
            &mut most,
            0,
        )
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    (now, most)
}

#[test]
fn an_in_memory_store_has_a_small_lookaside_and_a_file_store_the_default() {
    let (mem, _) = Store::open(None, "alice").unwrap();
    mem.commit(&page(
        (1..=50).map(|s| msg("si_a_b", s)).collect(),
        &[("si_a_b", 50)],
    ))
    .unwrap();
    assert_eq!(mem.messages("si_a_b", None, 50).unwrap().len(), 50);
    // About 9,600 bytes: 6 slots of 1,200 and 18 of 128 on Linux (SQLite's split; an
    // allocator that rounds up gives a slot or two more). The default has 123.
    let (_, most) = lookaside_used(&mem.conn.lock().unwrap());
    assert!((1..=32).contains(&most), "{most} slots used at most");
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = open(dir.path(), "alice");
    file.commit(&page(
        (1..=50).map(|s| msg("si_a_b", s)).collect(),
        &[("si_a_b", 50)],
    ))
    .unwrap();
    let (_, most) = lookaside_used(&file.conn.lock().unwrap());
    assert!(
        most > 32,
        "the default lookaside: {most} slots used at most"
    );
}

#[test]
fn undelivered_rows_are_found_through_the_cursors_not_by_reading_every_message() {
    let (store, _) = Store::open(None, "alice").unwrap();
    for c in 0..20 {
        let conv = format!("si_a_{c}");
        store
            .commit(&page(
                (1..=50).map(|s| msg(&conv, s)).collect(),
                &[(&conv, 50)],
            ))
            .unwrap();
    }
    let conn = store.conn.lock().unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", super::undelivered_sql()))
        .unwrap()
        .query_map([i64::MAX], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan.iter().any(|p| p == "SCAN c"), "{plan:?}");
    assert!(plan.iter().all(|p| p != "SCAN m"), "{plan:?}");
}

#[test]
fn bad_arguments_are_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    for (data_dir, user) in [
        (Some(Path::new("")), "alice"),
        (Some(Path::new("relative/dir")), "alice"),
        (Some(dir.path()), ""),
        (None, ""),
    ] {
        match Store::open(data_dir, user) {
            Err(ImError::InvalidArgument { .. }) => {}
            Err(e) => panic!("{data_dir:?} {user:?}: {e:?}"),
            Ok(_) => panic!("{data_dir:?} {user:?}: opened"),
        }
    }
    assert!(matches!(
        Store::erase(Path::new("rel"), "alice"),
        Err(ImError::InvalidArgument { .. })
    ));
    assert!(!Path::new("relative").exists());
    assert!(files_in(dir.path()).is_empty());
}

/// We run as root, which ignores permission bits, so "unwritable" is made from something
/// no user can get past: a data_dir below a regular file (ENOTDIR), and a data_dir that is
/// itself a file.
#[test]
fn unwritable_data_dir_is_a_clear_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();

    let below = file.join("store");
    let detail = storage_detail(Store::open(Some(&below), "alice").err().unwrap());
    assert!(detail.contains(&below.display().to_string()), "{detail}");
    assert!(
        detail.contains("cannot create the data directory"),
        "{detail}"
    );

    let detail = storage_detail(Store::open(Some(&file), "alice").err().unwrap());
    assert!(detail.contains(&file.display().to_string()), "{detail}");

    assert_eq!(files_in(dir.path()), vec!["plain-file"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn missing_data_dir_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    let (store, outcome) = open(&nested, "alice");
    assert_eq!(outcome, OpenOutcome::Created);
    assert!(store
        .path()
        .unwrap()
        .starts_with(nested.canonicalize().unwrap()));
}

#[test]
fn a_file_that_is_not_sqlite_is_set_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name("alice"));
    let junk = b"this is not a database, just some text that is long enough ".repeat(10);
    std::fs::write(&path, &junk).unwrap();

    let (store, outcome) = open(dir.path(), "alice");
    let OpenOutcome::Rebuilt { set_aside } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(std::fs::read(&set_aside).unwrap(), junk);
    let aside_name = set_aside
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        aside_name.starts_with("user-alice.sqlite3.corrupt-"),
        "{aside_name}"
    );
    // The fresh store works.
    store
        .commit(&page(vec![msg("si_a_b", 1)], &[("si_a_b", 1)]))
        .unwrap();
    assert_eq!(store.message_count().unwrap(), 1);
    drop(store);
    assert_eq!(open(dir.path(), "alice").1, OpenOutcome::Opened);

    // A short file (under the 100-byte header) too.
    std::fs::write(dir.path().join(file_name("bob")), b"SQLite").unwrap();
    assert!(matches!(
        open(dir.path(), "bob").1,
        OpenOutcome::Rebuilt { .. }
    ));
}

#[test]
fn another_applications_sqlite_database_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name("alice"));
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 9;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let (store, outcome) = open(dir.path(), "alice");
    let OpenOutcome::Rebuilt { set_aside } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(std::fs::read(&set_aside).unwrap(), before);
    assert!(store.cursors().unwrap().is_empty());
}

/// A real store with `n` messages in one conversation, closed (checkpointed).
fn real_store(dir: &Path, user: &str, n: i64) -> PathBuf {
    let (store, _) = open(dir, user);
    for start in (1..=n).step_by(100) {
        let end = (start + 99).min(n);
        let messages = (start..=end).map(|s| msg("si_a_b", s)).collect();
        store.commit(&page(messages, &[("si_a_b", end)])).unwrap();
    }
    let path = store.path().unwrap().to_path_buf();
    drop(store);
    assert!(!with_suffix(&path, "-wal").exists(), "closing checkpoints");
    path
}

#[test]
fn a_garbled_schema_page_is_set_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 50);
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[100..4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();

    let (store, outcome) = open(dir.path(), "alice");
    let OpenOutcome::Rebuilt { set_aside } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(std::fs::read(&set_aside).unwrap(), bytes);
    assert_eq!(store.message_count().unwrap(), 0);
    assert!(!store.baseline_done().unwrap());
}

#[test]
fn a_truncated_store_is_set_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 300);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 4 * 4096, "{len}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();

    let (store, outcome) = open(dir.path(), "alice");
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt { .. }),
        "{outcome:?}"
    );
    assert_eq!(store.message_count().unwrap(), 0);
}

/// Corruption deep in the message tree is not seen by the cheap open; once a read hits it,
/// the `-check` marker makes the next open run quick_check, which sets the file aside.
#[test]
fn corruption_found_later_is_checked_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 3000);
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    // Garble the last page's b-tree header (a leaf of the messages table).
    let last = (pages - 1) * 4096;
    for b in &mut bytes[last..last + 64] {
        *b = 0xFF;
    }
    std::fs::write(&path, &bytes).unwrap();

    let (store, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Opened, "the cheap open does not scan");
    let err = store
        .message_count()
        .expect_err("a scan meets the garbled page");
    let detail = storage_detail(err);
    assert!(detail.contains("malformed"), "{detail}");
    assert!(with_suffix(&path, "-check").exists());
    drop(store);

    let (store, outcome) = open(dir.path(), "alice");
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt { .. }),
        "{outcome:?}"
    );
    assert_eq!(store.message_count().unwrap(), 0);
    assert!(!with_suffix(&path, "-check").exists());
}

#[test]
fn a_check_marker_on_a_healthy_store_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 10);
    std::fs::write(with_suffix(&path, "-check"), b"").unwrap();
    let (store, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(store.message_count().unwrap(), 10);
    assert!(!with_suffix(&path, "-check").exists());
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 5);
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
    }
    assert!(!with_suffix(&path, "-wal").exists());
    let names_before = files_in(dir.path());
    let bytes_before = std::fs::read(&path).unwrap();
    let modified_before = std::fs::metadata(&path).unwrap().modified().unwrap();

    for _ in 0..2 {
        let detail = storage_detail(Store::open(Some(dir.path()), "alice").err().unwrap());
        assert!(detail.contains(&path.display().to_string()), "{detail}");
        assert!(detail.contains("newer than this library"), "{detail}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes_before);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified_before
    );
    assert_eq!(files_in(dir.path()), names_before);
    // The refusal released the file: erase (a user's choice) still works.
    Store::erase(dir.path(), "alice").unwrap();
    assert!(!path.exists());
}

#[test]
fn migrations_are_table_driven_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.sqlite3");
    let mut conn = Connection::open(&path).unwrap();
    let version = |c: &Connection| -> i32 {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    // v0 → v1 (this library's), then a fake v2 on top.
    schema::migrate(&mut conn, 0, MIGRATIONS).unwrap();
    assert_eq!(version(&conn), 1);
    const FAKE: &[schema::Migration] = &[
        MIGRATIONS[0],
        "ALTER TABLE messages ADD COLUMN reaction TEXT; CREATE TABLE extra (x INTEGER);",
        "CREATE TABLE more (y INTEGER); THIS IS NOT SQL;",
    ];
    schema::migrate(&mut conn, 1, &FAKE[..2]).unwrap();
    assert_eq!(version(&conn), 2);
    conn.execute("INSERT INTO extra VALUES (1)", []).unwrap();
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app_id, APPLICATION_ID);
    // A failing migration leaves the version and the schema as they were.
    assert!(schema::migrate(&mut conn, 2, FAKE).is_err());
    assert_eq!(version(&conn), 2);
    let more: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'more'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(more, 0);
    // Already current: nothing to do.
    schema::migrate(&mut conn, 2, &FAKE[..2]).unwrap();
    assert_eq!(version(&conn), 2);
}

#[test]
fn an_older_store_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = real_store(dir.path(), "alice", 3);
    // Pretend the file was written at v0 plus v1's tables: reopening must not re-run v1.
    let (store, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(store.message_count().unwrap(), 3);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let v: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, CURRENT_VERSION);
}

#[test]
fn a_full_disk_fails_the_page_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path(), "alice");
    store
        .commit(&page(
            (1..=10).map(|s| msg("si_a_b", s)).collect(),
            &[("si_a_b", 10)],
        ))
        .unwrap();
    let cursors_before = store.cursors().unwrap();
    let undelivered_before = store.undelivered(1000).unwrap();

    store.limit_pages(store.page_count().unwrap()).unwrap();
    let big: Vec<Message> = (11..=400)
        .map(|s| {
            let mut m = msg("si_a_b", s);
            m.content = "x".repeat(2000);
            m
        })
        .chain((1..=50).map(|s| msg("sg_new", s)))
        .collect();
    let mut failing = page(big.clone(), &[("si_a_b", 400), ("sg_new", 50)]);
    failing.baseline_done = true;
    let detail = storage_detail(store.commit(&failing).expect_err("disk full"));
    assert!(detail.contains("full"), "{detail}");
    assert!(detail.contains("user-alice.sqlite3"), "{detail}");
    assert!(!detail.contains("xxxx"), "no content in errors: {detail}");

    assert_eq!(store.cursors().unwrap(), cursors_before);
    assert_eq!(store.message_count().unwrap(), 10);
    assert_eq!(store.undelivered(1000).unwrap(), undelivered_before);
    assert!(!store.baseline_done().unwrap());
    assert!(store.messages("sg_new", None, 10).unwrap().is_empty());

    // Space again: the same page commits.
    store.limit_pages(u32::MAX).unwrap();
    store.commit(&failing).unwrap();
    assert_eq!(store.message_count().unwrap(), 450);
    assert_eq!(store.cursors().unwrap()["si_a_b"].synced_seq, 400);
    assert!(store.baseline_done().unwrap());
}

#[test]
fn invalid_messages_are_refused_before_writing() {
    let (store, _) = Store::open(None, "alice").unwrap();
    for bad in [msg("si_a_b", 0), msg("", 3)] {
        let p = page(vec![msg("si_a_b", 1), bad], &[("si_a_b", 1)]);
        assert!(matches!(
            store.commit(&p),
            Err(ImError::InvalidArgument { .. })
        ));
    }
    assert_eq!(store.message_count().unwrap(), 0);
    assert!(store.cursors().unwrap().is_empty());
}

#[test]
fn a_duplicate_is_ignored_and_keeps_the_stored_row() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store
        .commit(&page(vec![msg("si_a_b", 1)], &[("si_a_b", 1)]))
        .unwrap();
    let mut again = msg("si_a_b", 1);
    again.content = "other".into();
    let dup = page(vec![again, msg("si_a_b", 2)], &[("si_a_b", 2)]);
    store.commit(&dup).unwrap();
    assert_eq!(store.message_count().unwrap(), 2);
    let stored = store.messages("si_a_b", None, 10).unwrap();
    assert_eq!(stored[1], msg("si_a_b", 1), "the first row stays");
    assert_eq!(
        keys(&store.undelivered(10).unwrap()),
        vec![("si_a_b".to_string(), 1), ("si_a_b".to_string(), 2)]
    );
    // Marking row 2 delivered covers row 1 (delivery is in seq order); a duplicate of a
    // delivered row does not make it undelivered again.
    store.mark_delivered(&[("si_a_b", 2)]).unwrap();
    store.commit(&page(vec![msg("si_a_b", 1)], &[])).unwrap();
    assert!(store.undelivered(10).unwrap().is_empty());
}

#[test]
fn the_delivered_watermark_never_moves_back_and_covers_only_its_conversation() {
    let (store, _) = Store::open(None, "alice").unwrap();
    let rows = |c: &str| (1..=5).map(|s| msg(c, s)).collect::<Vec<_>>();
    store
        .commit(&page(
            [rows("si_a"), rows("sg_b")].concat(),
            &[("si_a", 5), ("sg_b", 5)],
        ))
        .unwrap();
    store.mark_delivered(&[("si_a", 4), ("si_a", 2)]).unwrap();
    // A late, lower mark changes nothing.
    store.mark_delivered(&[("si_a", 1)]).unwrap();
    let left = keys(&store.undelivered(100).unwrap());
    let want: Vec<(String, i64)> = std::iter::once(("si_a".to_string(), 5))
        .chain((1..=5).map(|s| ("sg_b".to_string(), s)))
        .collect();
    // sg_b sorts before si_a.
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(left, want_sorted);
    // Rows stored later, above the watermark, are undelivered; below it they are not.
    store
        .commit(&page(vec![msg("si_a", 6)], &[("si_a", 6)]))
        .unwrap();
    assert_eq!(
        keys(&store.undelivered(100).unwrap())
            .into_iter()
            .filter(|(c, _)| c == "si_a")
            .collect::<Vec<_>>(),
        vec![("si_a".to_string(), 5), ("si_a".to_string(), 6)]
    );
}

#[test]
fn a_cursor_never_moves_back() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store.commit(&page(vec![], &[("si_a_b", 10)])).unwrap();
    store.commit(&page(vec![], &[("si_a_b", 4)])).unwrap();
    assert_eq!(store.cursors().unwrap()["si_a_b"].synced_seq, 10);
    store.set_cap("si_a_b", 12).unwrap();
    store.commit(&page(vec![], &[("si_a_b", 11)])).unwrap();
    assert_eq!(
        store.cursors().unwrap()["si_a_b"],
        Cursor {
            synced_seq: 11,
            cap_seq: 12
        }
    );
    // A cap may go down (a left group's cap is the server's word); the cursor stays.
    store.set_cap("si_a_b", 3).unwrap();
    assert_eq!(
        store.cursors().unwrap()["si_a_b"],
        Cursor {
            synced_seq: 11,
            cap_seq: 3
        }
    );
    // A message alone gives its conversation a cursor row at 0.
    store.commit(&page(vec![msg("sg_x", 5)], &[])).unwrap();
    assert_eq!(store.cursors().unwrap()["sg_x"].synced_seq, 0);
}

#[test]
fn undelivered_rows_come_by_conversation_then_seq() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store
        .commit(&page(
            vec![
                msg("sg_b", 2),
                msg("si_a", 3),
                msg("sg_b", 1),
                msg("si_a", 1),
                msg("si_a", 2),
            ],
            &[],
        ))
        .unwrap();
    let mut baseline = page(vec![msg("n_c", 9)], &[]);
    baseline.delivered = true;
    store.commit(&baseline).unwrap();

    let all = keys(&store.undelivered(100).unwrap());
    let want: Vec<(String, i64)> = [
        ("sg_b", 1),
        ("sg_b", 2),
        ("si_a", 1),
        ("si_a", 2),
        ("si_a", 3),
    ]
    .iter()
    .map(|(c, s)| (c.to_string(), *s))
    .collect();
    assert_eq!(all, want);
    assert_eq!(keys(&store.undelivered(2).unwrap()), want[..2].to_vec());
    assert!(store.undelivered(0).unwrap().is_empty());

    store
        .mark_delivered(&[("sg_b", 1), ("si_a", 2), ("nowhere", 1)])
        .unwrap();
    // si_a 1 is covered by si_a 2 (a conversation is delivered in seq order).
    assert_eq!(
        keys(&store.undelivered(100).unwrap()),
        vec![want[1].clone(), want[4].clone()]
    );
    store
        .mark_delivered(&keys(&store.undelivered(100).unwrap()))
        .unwrap();
    assert!(store.undelivered(100).unwrap().is_empty());
    assert_eq!(store.message_count().unwrap(), 6);
}

#[test]
fn messages_page_newest_first_by_seq() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store
        .commit(&page(
            (1..=25)
                .map(|s| msg("si_a_b", s))
                .chain([msg("sg_other", 99)])
                .collect(),
            &[],
        ))
        .unwrap();
    let seqs = |v: Vec<Message>| v.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(store.messages("si_a_b", None, 3).unwrap()),
        vec![25, 24, 23]
    );
    assert_eq!(
        seqs(store.messages("si_a_b", Some(23), 3).unwrap()),
        vec![22, 21, 20]
    );
    assert_eq!(
        seqs(store.messages("si_a_b", Some(3), 10).unwrap()),
        vec![2, 1]
    );
    assert!(store.messages("si_a_b", Some(1), 10).unwrap().is_empty());
    assert!(store.messages("si_a_b", None, 0).unwrap().is_empty());
    assert!(store.messages("nowhere", None, 10).unwrap().is_empty());
    // Paging through visits every message once.
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let got = store.messages("si_a_b", before, 7).unwrap();
        let Some(last) = got.last() else { break };
        before = Some(last.seq);
        all.extend(seqs(got));
    }
    assert_eq!(all, (1..=25).rev().collect::<Vec<_>>());
}

#[test]
fn messages_reads_are_capped() {
    let (store, _) = Store::open(None, "alice").unwrap();
    for start in (1..=1200).step_by(100) {
        store
            .commit(&page(
                (start..start + 100).map(|s| msg("c", s)).collect(),
                &[],
            ))
            .unwrap();
    }
    let got = store.messages("c", None, u32::MAX).unwrap();
    assert_eq!(got.len(), MAX_MESSAGES_PER_READ as usize);
    assert_eq!(got[0].seq, 1200);
}

#[test]
fn conversations_are_newest_activity_first() {
    let (store, _) = Store::open(None, "alice").unwrap();
    let at = |c: &str, seq: i64, t: i64| Message {
        send_time: t,
        ..msg(c, seq)
    };
    store
        .commit(&page(
            vec![
                at("old", 1, 100),
                at("old", 2, 200), // latest of "old": seq 2
                at("new", 1, 900),
                at("tie_b", 1, 500),
                at("tie_a", 4, 500),
            ],
            &[("old", 2), ("new", 1)],
        ))
        .unwrap();
    store.set_cap("empty_z", 3).unwrap();
    store.commit(&page(vec![], &[("empty_a", 8)])).unwrap();

    let list = store.conversations().unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c.conversation_id.as_str()).collect();
    assert_eq!(ids, ["new", "tie_a", "tie_b", "old", "empty_a", "empty_z"]);
    assert_eq!(list[3].latest.as_ref().unwrap().seq, 2);
    assert_eq!(list[3].synced_seq, 2);
    assert_eq!(list[4].synced_seq, 8);
    assert!(list[4].latest.is_none());
    assert_eq!(list[1].latest.as_ref().unwrap(), &at("tie_a", 4, 500));
}

#[test]
fn a_second_open_in_the_process_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = open(dir.path(), "alice");
    let detail = storage_detail(Store::open(Some(dir.path()), "alice").err().unwrap());
    assert!(
        detail.contains("already open by another ImManager in this process"),
        "{detail}"
    );
    assert!(detail.contains("user-alice.sqlite3"), "{detail}");
    // The same directory through another spelling (a symlink) is the same file.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path(), &link).unwrap();
    assert!(Store::open(Some(&link), "alice").is_err());
    assert!(Store::open(Some(&link.join(".")), "alice").is_err());
    // Another user is another file.
    let (_bob, _) = open(dir.path(), "bob");
    first
        .commit(&page(vec![msg("si_a_b", 1)], &[("si_a_b", 1)]))
        .unwrap();
    drop(first);
    let (again, outcome) = open(&link, "alice");
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(again.message_count().unwrap(), 1);
}

#[test]
fn erase_deletes_the_users_files_only() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing there yet (and no directory at all): fine.
    Store::erase(&dir.path().join("absent"), "alice").unwrap();
    Store::erase(dir.path(), "alice").unwrap();

    let (bob, _) = open(dir.path(), "bob");
    bob.commit(&page(vec![msg("si_a_b", 1)], &[])).unwrap();
    std::fs::write(dir.path().join(file_name("alice")), b"junk, set aside").unwrap();
    let (alice, outcome) = open(dir.path(), "alice");
    assert!(matches!(outcome, OpenOutcome::Rebuilt { .. }));
    alice.commit(&page(vec![msg("si_a_b", 1)], &[])).unwrap();
    assert!(files_in(dir.path())
        .iter()
        .any(|n| n == "user-alice.sqlite3-wal"));

    let detail = storage_detail(Store::erase(dir.path(), "alice").err().unwrap());
    assert!(detail.contains("already open"), "{detail}");
    assert!(dir.path().join(file_name("alice")).exists());
    drop(alice);

    Store::erase(dir.path(), "alice").unwrap();
    let left = files_in(dir.path());
    assert!(
        left.iter().all(|n| !n.starts_with("user-alice")),
        "{left:?}"
    );
    assert!(left.iter().any(|n| n == "user-bob.sqlite3"), "{left:?}");
    assert_eq!(bob.message_count().unwrap(), 1);
    let (alice, outcome) = open(dir.path(), "alice");
    assert_eq!(outcome, OpenOutcome::Created);
    assert_eq!(alice.message_count().unwrap(), 0);
}

#[test]
fn file_names_are_safe_and_distinct() {
    assert_eq!(file_name("alice"), "user-alice.sqlite3");
    assert_eq!(file_name("1234567"), "user-1234567.sqlite3");
    assert_eq!(file_name("Alice"), "user-%41lice.sqlite3");
    assert_eq!(file_name("../x"), "user-%2E%2E%2Fx.sqlite3");
    assert_eq!(file_name("a%41"), "user-a%2541.sqlite3");
    assert_eq!(file_name("é"), "user-%C3%A9.sqlite3");
    let long = "u".repeat(151);
    let hashed = file_name(&long);
    assert!(
        hashed.starts_with("user-sha1.") && hashed.len() == 5 + 5 + 40 + 8,
        "{hashed}"
    );
    assert_ne!(file_name(&"u".repeat(150)), hashed);
    // Distinct even when case is folded (case-insensitive file systems).
    let ids = [
        "alice", "Alice", "ALICE", "a.b", "a_b", "a-b", "a/b", "a\0b", "%41lice",
    ];
    let mut folded: Vec<String> = ids.iter().map(|id| file_name(id).to_lowercase()).collect();
    folded.sort();
    folded.dedup();
    assert_eq!(folded.len(), ids.len());
    for id in ids {
        let name = file_name(id);
        assert!(!name.contains('/') && !name.contains('\0'), "{name}");
        assert_eq!(name.matches('.').count(), 1, "{name}");
    }
    // Every odd ID opens.
    let dir = tempfile::tempdir().unwrap();
    for id in ids.iter().copied().chain([long.as_str(), "..", "."]) {
        let (store, outcome) = open(dir.path(), id);
        assert_eq!(outcome, OpenOutcome::Created, "{id:?}");
        assert_eq!(
            store.path().unwrap().parent().unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }
}

/// Information only (no assertion on time): commit throughput, and the cost of opening a
/// store of 100,000 messages in 100 conversations versus an empty one (10,000 in debug).
/// `cargo test --release --lib store::tests::timing -- --nocapture` for meaningful numbers.
/// Commits `total` messages in pages of 100 into `user`'s store; `interleaved`: each page
/// holds one message of each of 100 conversations (the worst case: 100 b-tree leaves per
/// page); otherwise each page is 100 consecutive seqs of one conversation (a pull page).
fn fill(dir: &Path, user: &str, total: i64, interleaved: bool, mark: bool) -> (Duration, u64) {
    let (store, _) = open(dir, user);
    let started = Instant::now();
    for start in (0..total).step_by(100) {
        let (messages, cursors): (Vec<Message>, Vec<(String, i64)>) = if interleaved {
            let messages = (start..start + 100)
                .map(|i| {
                    let mut m = msg(&format!("si_alice_user{:03}", i % 100), i / 100 + 1);
                    m.content = format!("{{\"content\":\"message number {i} with some words\"}}");
                    m
                })
                .collect();
            let cursors = (0..100)
                .map(|c| (format!("si_alice_user{c:03}"), start / 100 + 1))
                .collect();
            (messages, cursors)
        } else {
            let conversation = format!("si_alice_user{:03}", (start / 100) % 100);
            let first = (start / 10_000) * 100 + 1;
            let messages = (first..first + 100)
                .map(|seq| {
                    let mut m = msg(&conversation, seq);
                    m.content = format!("{{\"content\":\"message number {seq} with some words\"}}");
                    m
                })
                .collect();
            (messages, vec![(conversation, first + 99)])
        };
        let delivered = if mark { keys(&messages) } else { Vec::new() };
        store
            .commit(&Page {
                messages,
                delivered: false,
                cursors,
                baseline_done: false,
            })
            .unwrap();
        if mark {
            store.mark_delivered(&delivered).unwrap();
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(store.message_count().unwrap(), total as u64);
    let size = std::fs::metadata(store.path().unwrap()).unwrap().len();
    (elapsed, size)
}

/// Information only (no assertion on time): commit throughput, and the cost of opening a
/// store of 100,000 messages in 100 conversations versus an empty one (10,000 in debug).
/// `cargo test --release --lib store::tests::timing -- --nocapture` for meaningful numbers.
#[test]
fn timing() {
    let dir = tempfile::tempdir().unwrap();
    // A tenth of it in debug builds, so `cargo test` stays quick.
    let total: i64 = if cfg!(debug_assertions) {
        10_000
    } else {
        100_000
    };
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    let (by_conversation, size) = fill(dir.path(), "big", total, false, false);
    let (interleaved, _) = fill(dir.path(), "mixed", total, true, false);
    let (flow, _) = fill(dir.path(), "flow", total, false, true);
    let (flow_mixed, _) = fill(dir.path(), "flow-mixed", total, true, true);

    let (store, _) = open(dir.path(), "big");
    let started = Instant::now();
    let undelivered = store.undelivered(1000).unwrap();
    store.mark_delivered(&keys(&undelivered)).unwrap();
    let mark = started.elapsed();
    drop(store);

    let (empty, _) = open(dir.path(), "empty");
    drop(empty);
    let measure = |user: &str| {
        let mut best = Duration::MAX;
        for _ in 0..20 {
            let started = Instant::now();
            let (store, outcome) = open(dir.path(), user);
            let cursors = store.cursors().unwrap();
            let _ = store.baseline_done().unwrap();
            best = best.min(started.elapsed());
            assert_eq!(outcome, OpenOutcome::Opened);
            drop((store, cursors));
        }
        best
    };
    let open_empty = measure("empty");
    let open_big = measure("big");
    let (big, _) = open(dir.path(), "big");
    let started = Instant::now();
    let conversations = big.conversations().unwrap();
    let list = started.elapsed();
    let started = Instant::now();
    let check: String = big
        .lock()
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .unwrap();
    let quick_check = started.elapsed();
    assert_eq!(check, "ok");
    assert_eq!(conversations.len(), 100);
    eprintln!(
        "store timing: {total} messages in pages of 100: one conversation per page {by_conversation:?} \
         ({:.0} msg/s, {:?}/page), 100 conversations per page {interleaved:?} ({:.0} msg/s, {:?}/page); \
         file {:.1} MiB; undelivered(1000)+mark_delivered(1000): {mark:?}; open+cursors: empty \
         {open_empty:?}, 100k/100 conversations {open_big:?}; conversations(): {list:?}; \
         quick_check: {quick_check:?}; commit+mark_delivered per page (the sync's flow): one \
         conversation per page {:.0} msg/s, 100 per page {:.0} msg/s",
        rate(by_conversation),
        by_conversation / (total / 100) as u32,
        rate(interleaved),
        interleaved / (total / 100) as u32,
        size as f64 / (1024.0 * 1024.0),
        rate(flow),
        rate(flow_mixed),
    );
}

#[test]
fn rows_of_a_dropped_batch_stay_undelivered_when_a_later_batch_is_marked() {
    let (store, _) = Store::open(None, "alice").unwrap();
    let rows: Vec<Message> = (1..=10).map(|s| msg("si_a", s)).collect();
    store.commit(&page(rows, &[("si_a", 10)])).unwrap();
    // Rows 1..5 reached no listener; 6..10 did.
    store
        .keep_undelivered(&(1..=5).map(|s| ("si_a".to_string(), s)).collect::<Vec<_>>())
        .unwrap();
    store
        .mark_delivered(
            &(6..=10)
                .map(|s| ("si_a".to_string(), s))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let left = keys(&store.undelivered(100).unwrap());
    assert_eq!(
        left,
        (1..=5).map(|s| ("si_a".to_string(), s)).collect::<Vec<_>>()
    );
    assert_eq!(store.listed_undelivered_count().unwrap(), 5);
    // Delivered later in two chunks: each unlists its own rows only.
    store.mark_delivered(&[("si_a", 1), ("si_a", 2)]).unwrap();
    assert_eq!(keys(&store.undelivered(100).unwrap()).len(), 3);
    store
        .mark_delivered(&keys(&store.undelivered(100).unwrap()))
        .unwrap();
    assert!(store.undelivered(100).unwrap().is_empty());
    assert_eq!(store.listed_undelivered_count().unwrap(), 0);
}

#[test]
fn a_failed_listing_stops_every_later_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path(), "alice");
    store
        .commit(&page(
            (1..=4).map(|s| msg("si_a", s)).collect(),
            &[("si_a", 4)],
        ))
        .unwrap();
    // A full disk: listing rows 1..2 as undelivered fails.
    store.limit_pages(store.page_count().unwrap()).unwrap();
    let many: Vec<(String, i64)> = (1..=2000).map(|s| (format!("{s:0>400}"), s)).collect();
    assert!(store.keep_undelivered(&many).is_err());
    store.limit_pages(u32::MAX / 2).unwrap();
    // Rows 3..4 delivered later: the watermark does not move over 1..2.
    store.mark_delivered(&[("si_a", 3), ("si_a", 4)]).unwrap();
    assert_eq!(keys(&store.undelivered(100).unwrap()).len(), 4);
}

#[test]
fn rows_handed_to_the_app_are_not_undelivered_until_their_outcome_is_recorded() {
    let (store, _) = Store::open(None, "alice").unwrap();
    let store = std::sync::Arc::new(store);
    let rows: Vec<Message> = (1..=6).map(|s| msg("si_a", s)).collect();
    store.commit(&page(rows.clone(), &[])).unwrap();
    let first = Handover::new(&store, &rows[..3], 0);
    assert_eq!(undelivered_seqs(&store), [4, 5, 6]);
    let second = Handover::new(&store, &rows[3..], 0);
    assert!(undelivered_seqs(&store).is_empty());
    // Dropped without an outcome (the batch was silenced): undelivered again.
    drop(second);
    assert_eq!(undelivered_seqs(&store), [4, 5, 6]);
    // Delivered: marked, and out of the registry.
    first.record(true).unwrap();
    assert_eq!(undelivered_seqs(&store), [4, 5, 6]);
    // Not delivered (no listener): listed, and back for the next session.
    Handover::new(&store, &rows[3..], 0).record(false).unwrap();
    assert_eq!(undelivered_seqs(&store), [4, 5, 6]);
    assert_eq!(store.listed_undelivered_count().unwrap(), 3);
    // Another conversation's rows in the same seq range are not held back.
    store.commit(&page(vec![msg("sg_g", 2)], &[])).unwrap();
    let held = Handover::new(&store, &rows[3..], 0);
    assert_eq!(undelivered_seqs(&store), [2]);
    drop(held);
    // A new session (epoch 3, everything below silenced): a queued batch of session 2
    // will be dropped by the hub, so its rows are undelivered; once it has passed the
    // hub's gate it reaches the app, and they are not.
    let now =
        |store: &Store| -> Vec<(String, i64)> { keys(&store.undelivered_now(100, 3).unwrap()) };
    let queued = Handover::new(&store, &rows[3..], 2);
    assert_eq!(now(&store).len(), 4);
    queued.start();
    assert_eq!(now(&store), [("sg_g".to_string(), 2)]);
    // A batch of the new session itself is left out, started or not.
    let _own = Handover::new(&store, &store.undelivered_now(100, 3).unwrap(), 3);
    assert!(now(&store).is_empty());
}

#[test]
fn a_delivered_batch_unlists_only_its_own_rows() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store
        .commit(&page((1..=6).map(|s| msg("si_a", s)).collect(), &[]))
        .unwrap();
    // 2..4 were dropped for want of a listener; a batch holding 1 and 5 is delivered.
    store
        .keep_undelivered(&[("si_a", 2), ("si_a", 3), ("si_a", 4)])
        .unwrap();
    store.mark_delivered(&[("si_a", 1), ("si_a", 5)]).unwrap();
    assert_eq!(undelivered_seqs(&store), [2, 3, 4, 6]);
}

#[test]
fn a_batch_in_flight_hides_its_own_rows_only() {
    let (store, _) = Store::open(None, "alice").unwrap();
    let store = std::sync::Arc::new(store);
    let rows: Vec<Message> = (1..=5).map(|s| msg("si_a", s)).collect();
    store.commit(&page(rows.clone(), &[])).unwrap();
    // A batch read from the file around rows of another batch in flight: 1 and 5.
    let _gappy = Handover::new(&store, &[rows[0].clone(), rows[4].clone()], 0);
    assert_eq!(undelivered_seqs(&store), [2, 3, 4]);
}

#[test]
fn a_row_both_listed_and_above_the_watermark_is_read_once() {
    let (store, _) = Store::open(None, "alice").unwrap();
    store
        .commit(&page((1..=3).map(|s| msg("si_a", s)).collect(), &[]))
        .unwrap();
    // Listed (its batch reached no listener) while no mark has moved the watermark.
    store.keep_undelivered(&[("si_a", 2), ("si_a", 3)]).unwrap();
    assert_eq!(undelivered_seqs(&store), [1, 2, 3]);
}

#[test]
fn an_open_waits_for_a_store_that_is_closing_and_fails_on_one_that_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = open(dir.path(), "alice");
    // Closed on another thread a moment later (a batch's last reference going).
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
    });
    let (second, _) = Store::open(Some(dir.path()), "alice").expect("waits for the close");
    closer.join().unwrap();
    // One that stays open: a clear error after the wait.
    let t = Instant::now();
    let err = Store::open(Some(dir.path()), "alice")
        .err()
        .expect("refused");
    assert!(storage_detail(err).contains("already open"));
    assert!(t.elapsed() >= CLAIM_WAIT);
    drop(second);
}
