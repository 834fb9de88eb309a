//! Lossless delivery against the dev gateway's message store: every message of the user,
//! exactly once, in seq order per conversation — across reconnects, faults, background,
//! logout → login and restarts — and the local store readable offline.

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use common::*;
use imbridge::{ImError, ImManager, LoginStatus, Message, StateReason};
use imbridge_devserver::{DevServer, Faults, Outgoing, ServerEvent};

/// The texts received so far, in order.
fn texts(rec: &Recorder) -> Vec<String> {
    rec.messages().into_iter().filter_map(|m| m.text).collect()
}

/// `"m1"…"mN"`, as `send_texts` sends them.
fn numbered(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

async fn wait_messages(rec: &Recorder, n: usize) {
    rec.wait_count(&format!("{n} messages"), n, |e| matches!(e, Ev::Message(_)))
        .await;
}

async fn wait_syncs(rec: &Recorder, n: usize) {
    rec.wait_count(&format!("{n} finished syncs"), n, |e| {
        *e == Ev::SyncFinished
    })
    .await;
}

/// Every (conversation, seq) delivered at most once, and in seq order per conversation.
fn assert_once_in_order(messages: &[Message]) {
    let mut last: HashMap<&str, i64> = HashMap::new();
    for m in messages.iter().filter(|m| m.seq > 0) {
        let prev = last.insert(&m.conversation_id, m.seq).unwrap_or(0);
        assert!(
            m.seq > prev,
            "{} seq {} after {prev}: a duplicate or out of order",
            m.conversation_id,
            m.seq
        );
    }
}

/// Logs in with `data_dir` and waits for the first sync.
async fn logged_in_with(
    server: &DevServer,
    user: &str,
    data_dir: Option<&std::path::Path>,
) -> (Arc<ImManager>, Arc<Recorder>) {
    let (m, rec) = manager(match data_dir {
        Some(d) => with_dir(server, d),
        None => config(server),
    });
    m.login(user.into(), server.user_token(user, 2), None)
        .await
        .expect("login succeeds");
    wait_syncs(&rec, 1).await;
    (m, rec)
}

/// Cuts the connection and keeps the client away while `away` runs.
async fn while_away(server: &DevServer, rec: &Recorder, away: impl FnOnce()) {
    let failed = rec.count(|e| matches!(e, Ev::ConnectFailed(..)));
    cut_and_wait_failed_redial(server, rec, failed + 1).await;
    away();
    server.set_faults(Faults::default());
}

/// A config for `server` with the store under `dir`.
fn with_dir(server: &DevServer, dir: &std::path::Path) -> imbridge::ImConfig {
    let mut c = config(server);
    c.data_dir = Some(dir.to_string_lossy().into_owned());
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_sent_while_disconnected_are_all_delivered_once_in_order() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    server.send_texts("bob", "alice", 3);
    wait_messages(&rec, 3).await;
    while_away(&server, &rec, || {
        server.send_texts("bob", "alice", 20);
        server.send_texts("carol", "alice", 5);
    })
    .await;
    wait_messages(&rec, 28).await;
    let got = rec.messages();
    assert_once_in_order(&got);
    let bob: Vec<_> = got
        .iter()
        .filter(|m| m.conversation_id == "si_alice_bob")
        .filter_map(|m| m.text.clone())
        .collect();
    let mut want = numbered(1..=3);
    want.extend(numbered(1..=20));
    assert_eq!(bob, want);
    // The cursors equal the server's newest seqs.
    let newest = server.newest_seqs("alice");
    let convs = m.conversations().unwrap();
    for c in &convs {
        assert_eq!(Some(&c.synced_seq), newest.get(&c.conversation_id), "{c:?}");
    }
    assert_eq!(newest["si_alice_bob"], 23);
}

#[tokio::test(flavor = "multi_thread")]
async fn network_loss_then_back_delivers_what_was_pushed_meanwhile() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    m.network_changed(false).unwrap();
    server.drop_connections();
    rec.wait_state("offline", |s| s.reason == StateReason::NetworkUnavailable)
        .await;
    server.send_texts("bob", "alice", 20);
    m.network_changed(true).unwrap();
    wait_messages(&rec, 20).await;
    assert_eq!(texts(&rec), numbered(1..=20));
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_sent_between_logout_and_login_arrive_at_the_login() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    server.send_texts("bob", "alice", 2);
    wait_messages(&rec, 2).await;
    m.logout(None).await.unwrap();
    for i in 3..=7 {
        server
            .send(Outgoing::text("bob", "alice", &format!("m{i}")))
            .unwrap();
    }
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_messages(&rec, 7).await;
    assert_eq!(texts(&rec), numbered(1..=7));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_on_the_same_data_dir_resumes_without_loss_or_duplicate() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec) = logged_in_with(&server, "alice", Some(dir.path())).await;
    server.send_texts("bob", "alice", 4);
    wait_messages(&rec, 4).await;
    m.shutdown();
    drop(m);
    assert!(server.wait_online("alice", 0, WAIT).await);
    // Sent while the app is not running.
    for i in 5..=9 {
        server
            .send(Outgoing::text("bob", "alice", &format!("m{i}")))
            .unwrap();
    }
    let (m2, rec2) = manager(with_dir(&server, dir.path()));
    m2.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_messages(&rec2, 5).await;
    wait_syncs(&rec2, 1).await;
    assert_eq!(
        texts(&rec2),
        numbered(5..=9),
        "only what the first run did not get"
    );
    // The history of both runs is in the store, newest first.
    let stored = m2.messages("si_alice_bob".into(), None, 100).unwrap();
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=9).rev().collect::<Vec<i64>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_login_on_a_device_takes_the_baseline() {
    let server = server().await;
    // History from before this device existed.
    server.send_texts("bob", "alice", 30);
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    assert!(texts(&rec).is_empty(), "nothing older than the baseline");
    let convs = m.conversations().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].synced_seq, 30);
    assert_eq!(
        convs[0]
            .latest
            .as_ref()
            .and_then(|l| l.text.clone())
            .as_deref(),
        Some("m30"),
        "the conversation list shows the newest message"
    );
    server.send_texts("bob", "alice", 1);
    wait_messages(&rec, 1).await;
    assert_eq!(rec.messages()[0].seq, 31);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_reordered_and_dropped_pushes_deliver_each_message_once_in_order() {
    let server = server().await;
    let (_m, rec) = logged_in_with(&server, "alice", None).await;
    server.duplicate_next_pushes("alice", 3);
    server.send_texts("bob", "alice", 3);
    wait_messages(&rec, 3).await;
    server.reorder_next_pushes("alice", 1);
    server.send_texts("bob", "alice", 3); // m1 held back, sent after m2
    server.drop_next_pushes("alice", 2);
    server.send_texts("bob", "alice", 3); // two never pushed; the third shows the gap
    wait_messages(&rec, 9).await;
    let got = rec.messages();
    assert_once_in_order(&got);
    assert_eq!(
        got.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    // Nothing more arrives: the held reordered push (if re-sent) is a duplicate.
    server.send_texts("bob", "alice", 1);
    wait_messages(&rec, 10).await;
    assert_eq!(rec.messages().len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn holes_and_history_below_min_seq_are_skipped_and_the_cursor_moves_past() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    while_away(&server, &rec, || {
        server.send_texts("bob", "alice", 2);
        server.add_hole("si_alice_bob");
        server.send_texts("bob", "alice", 2);
        // Carol's conversation is cleared below seq 4.
        server.send_texts("carol", "alice", 5);
        server.set_user_min_seq("alice", "si_alice_carol", 4);
    })
    .await;
    wait_syncs(&rec, 2).await;
    let got = rec.messages();
    let seqs = |conv: &str| -> Vec<i64> {
        got.iter()
            .filter(|m| m.conversation_id == conv)
            .map(|m| m.seq)
            .collect()
    };
    assert_eq!(
        seqs("si_alice_bob"),
        [1, 2, 4, 5],
        "the hole (3) is skipped"
    );
    assert_eq!(seqs("si_alice_carol"), [4, 5], "below min seq is skipped");
    let convs: HashMap<_, _> = m
        .conversations()
        .unwrap()
        .into_iter()
        .map(|c| (c.conversation_id.clone(), c.synced_seq))
        .collect();
    assert_eq!(convs["si_alice_bob"], 5);
    assert_eq!(convs["si_alice_carol"], 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_left_group_costs_a_bounded_number_of_requests_per_sync() {
    let server = server().await;
    assert!(server.create_group("g1", "bob", &["alice", "carol"]));
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    server.send_group_texts("bob", "g1", 2);
    wait_messages(&rec, 2).await;
    server.leave_group("g1", "alice");
    // The group keeps growing; alice's cap is frozen at 2.
    server.send_group_texts("carol", "g1", 50);
    let before = server.pull_requests("alice").len();
    for i in 0..3 {
        m.set_app_background(true).await.unwrap();
        m.set_app_background(false).await.unwrap(); // back to the foreground: a sync
        wait_syncs(&rec, 2 + i).await;
    }
    let pulls = server.pull_requests("alice").len() - before;
    assert!(pulls <= 3, "{pulls} pull requests for 3 syncs");
    assert_eq!(rec.messages().len(), 2, "nothing past the cap");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_that_fails_hangs_or_loses_its_connection_loses_nothing() {
    let server = server().await;
    let (_m, rec) = logged_in_with(&server, "alice", None).await;
    // An error reply, then a reply cut in half (the connection drops), then a pull that
    // never answers (the request times out): each fails its sync; the next completes.
    server.fail_next_pulls("alice", 1, 500);
    server.cut_next_pull_replies("alice", 1);
    server.hang_next_pulls("alice", 1);
    while_away(&server, &rec, || {
        server.send_texts("bob", "alice", 30);
    })
    .await;
    wait_messages(&rec, 30).await;
    assert_eq!(texts(&rec), numbered(1..=30));
    let failed = rec.count(|e| matches!(e, Ev::SyncFailed(..)));
    assert!(failed >= 3, "{failed} failed syncs");
    // One start per sync, then one end.
    let starts = rec.count(|e| *e == Ev::SyncStarted);
    let ends = rec.count(|e| matches!(e, Ev::SyncFinished | Ev::SyncFailed(..)));
    assert!(
        starts == ends || starts == ends + 1,
        "{starts} starts, {ends} ends"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_online_only_message_is_delivered_once_and_not_stored() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    server
        .send(Outgoing::text("bob", "alice", "typing…").online_only())
        .unwrap();
    server.send_texts("bob", "alice", 1);
    wait_messages(&rec, 2).await;
    let got = rec.messages();
    assert_eq!(got[0].seq, 0);
    assert_eq!(got[0].text.as_deref(), Some("typing…"));
    assert_eq!(got[1].seq, 1);
    let stored = m.messages("si_alice_bob".into(), None, 10).unwrap();
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_backlog_is_paged_under_the_frame_limit() {
    let server = server().await;
    let (_m, rec) = logged_in_with(&server, "alice", None).await;
    while_away(&server, &rec, || {
        server.send_texts("bob", "alice", 1000);
        for i in 0..300 {
            server.send_texts(&format!("peer{i:03}"), "alice", 1);
        }
    })
    .await;
    wait_messages(&rec, 1300).await;
    assert_once_in_order(&rec.messages());
    let pulls: Vec<usize> = server
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Request {
                user_id,
                req_identifier: 1005,
                data,
                ..
            } if user_id == "alice" => Some(data.len()),
            _ => None,
        })
        .collect();
    assert!(pulls.len() >= 13, "{} pages", pulls.len());
    for len in &pulls {
        // base64 of the payload inside the JSON envelope
        assert!(len * 4 / 3 + 512 < 51_200, "a {len}-byte payload");
    }
    for p in server.pull_requests("alice") {
        let seqs: usize = p.seqs.iter().map(|c| c.seqs.len()).sum();
        assert!(seqs <= 100, "{seqs} seqs in one page");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_but_undelivered_messages_come_first_at_the_next_login() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec, gate) = listener_held_in_the_first_of_ten(&server, dir.path()).await;
    // "Crash": the manager is shut down with batches still queued.
    m.shutdown();
    gate.wait();
    drop(m);
    let delivered_before = rec.messages().len();
    assert!(delivered_before < 10, "{delivered_before}");
    let (m2, rec2) = manager(with_dir(&server, dir.path()));
    m2.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_syncs(&rec2, 1).await;
    let mut all = rec.messages();
    all.extend(rec2.messages());
    assert_one_to(&all, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_data_is_readable_after_a_failed_login_and_with_no_network() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec) = logged_in_with(&server, "alice", Some(dir.path())).await;
    server.send_texts("bob", "alice", 3);
    wait_messages(&rec, 3).await;
    m.shutdown();
    drop(m);
    // A new process, no server.
    let mut cfg = with_dir(&server, dir.path());
    cfg.login_timeout_ms = Some(300);
    cut_and_refuse(&server);
    let (m2, _rec2) = manager(cfg);
    assert_eq!(m2.conversations().unwrap_err(), ImError::NotLoggedIn);
    let err = m2
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImError::Network { .. } | ImError::Timeout { .. }),
        "{err:?}"
    );
    let convs = m2.conversations().unwrap();
    assert_eq!(convs.len(), 1);
    let msgs = m2.messages("si_alice_bob".into(), None, 2).unwrap();
    assert_eq!(msgs.iter().map(|m| m.seq).collect::<Vec<_>>(), [3, 2]);
    let older = m2.messages("si_alice_bob".into(), Some(2), 10).unwrap();
    assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), [1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_switch_shows_nothing_of_the_other_user() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec) = logged_in_with(&server, "alice", Some(dir.path())).await;
    server.send_texts("bob", "alice", 2);
    wait_messages(&rec, 2).await;
    m.login("dave".into(), server.user_token("dave", 2), None)
        .await
        .unwrap();
    assert!(
        m.conversations().unwrap().is_empty(),
        "dave sees none of alice's"
    );
    assert!(m
        .messages("si_alice_bob".into(), None, 10)
        .unwrap()
        .is_empty());
    // Erasing alice's data while dave is logged in works; erasing dave's is refused.
    m.erase_local_data("alice".into()).await.unwrap();
    assert!(matches!(
        m.erase_local_data("dave".into()).await,
        Err(ImError::InvalidArgument { .. })
    ));
    m.logout(None).await.unwrap();
    let syncs = rec.count(|e| *e == Ev::SyncFinished);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    // A fresh store: the baseline again, the list from the server's newest messages.
    wait_syncs(&rec, syncs + 1).await;
    let convs = m.conversations().unwrap();
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].synced_seq, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn ios_in_the_background_gets_no_pushes_and_the_foreground_sync_delivers_them() {
    let server = server().await;
    let mut cfg = config(&server);
    cfg.platform = imbridge::Platform::Ios;
    let (m, rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 1), None)
        .await
        .unwrap();
    wait_syncs(&rec, 1).await;
    m.set_app_background(true).await.unwrap();
    let sent = server.send_texts("bob", "alice", 5);
    assert!(
        sent.iter().all(|s| s.delivered == 0),
        "no push to a background iOS app"
    );
    m.set_app_background(false).await.unwrap();
    wait_messages(&rec, 5).await;
    assert_eq!(texts(&rec), numbered(1..=5));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_fails_the_sync_moves_no_cursor_and_loses_nothing() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec) = logged_in_with(&server, "alice", Some(dir.path())).await;
    m.test_fill_store(true).unwrap();
    server.send_texts("bob", "alice", 300);
    rec.wait_for("a failed sync", |e| matches!(e, Ev::SyncFailed(19003, _)))
        .await;
    // What was delivered is a prefix that was stored; the cursor is not past it.
    let delivered: Vec<i64> = rec.messages().iter().map(|m| m.seq).collect();
    assert!(delivered.len() < 300, "the disk was full");
    assert_eq!(delivered, (1..=delivered.len() as i64).collect::<Vec<_>>());
    let synced = m
        .conversations()
        .unwrap()
        .iter()
        .map(|c| c.synced_seq)
        .max()
        .unwrap_or(0);
    assert!(
        synced <= delivered.len() as i64 + 1,
        "cursor {synced} past the stored"
    );
    // Space again: the retry delivers the rest, once, in order.
    m.test_fill_store(false).unwrap();
    wait_messages(&rec, 300).await;
    assert_eq!(texts(&rec), numbered(1..=300));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_data_dirs_and_foreign_files_get_clear_outcomes() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    // A data_dir whose parent is a file: not creatable, even for root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let mut cfg = config(&server);
    cfg.data_dir = Some(file.join("sub").to_string_lossy().into_owned());
    let (m, _rec) = manager(cfg);
    let err = m
        .login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap_err();
    match &err {
        ImError::Storage { detail } => assert!(detail.contains("plain-file"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    // A file that is not SQLite where the store goes: set aside, rebuilt, login works.
    let (probe, _) = logged_in_with(&server, "erin", Some(dir.path())).await;
    let path = probe.test_store_path().unwrap();
    probe.shutdown();
    drop(probe);
    std::fs::write(&path, b"this is not a database, it is a shopping list").unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    let (m2, rec2) = logged_in_with(&server, "erin", Some(dir.path())).await;
    assert_eq!(m2.login_status(), LoginStatus::LoggedIn);
    let set_aside = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".corrupt-"));
    assert!(set_aside, "the foreign file was set aside");
    server.send_texts("bob", "erin", 1);
    wait_messages(&rec2, 1).await;
    // Two managers on the same user and data_dir in one process: a clear error.
    let (m3, _rec3) = manager(with_dir(&server, dir.path()));
    let err = m3
        .login("erin".into(), server.user_token("erin", 2), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ImError::Storage { detail } if detail.contains("already open")),
        "{err:?}"
    );
    assert_eq!(
        m2.session_state().reason,
        StateReason::LoggedIn,
        "the first is unaffected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_sync_starts_once_and_ends_once() {
    let server = server().await;
    let (m, rec) = logged_in_with(&server, "alice", None).await;
    for _ in 0..3 {
        server.drop_connections();
        m.set_app_background(false).await.ok();
    }
    server.send_texts("bob", "alice", 2);
    wait_messages(&rec, 2).await;
    m.logout(None).await.unwrap();
    let mut open = 0i32;
    for e in rec.all() {
        match e {
            Ev::SyncStarted => {
                assert_eq!(open, 0, "a start inside a running sync");
                open += 1;
            }
            Ev::SyncFinished | Ev::SyncFailed(..) => {
                assert_eq!(open, 1, "an end without a start");
                open -= 1;
            }
            _ => {}
        }
    }
    let _ = Duration::ZERO;
}

/// Pushes already waiting at the client are committed and delivered together (the
/// runner coalesces them), each exactly once and in order, and what the gateway sent
/// after them (here a kick) comes after all of them.
#[tokio::test(flavor = "multi_thread")]
async fn pushes_waiting_together_arrive_in_one_batch_and_before_what_followed_them() {
    let server = server().await;
    let relay = common::relay::Relay::to(&server.ws_addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = with_dir(&server, dir.path());
    cfg.ws_addr = relay.ws_addr();
    let (m, rec) = manager(cfg);
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .expect("login succeeds");
    wait_syncs(&rec, 1).await;

    // Below the gateway's 256-frame send queue, which `send_texts` fills without waiting.
    const N: usize = 200;
    relay.pause();
    server.send_texts("bob", "alice", N);
    assert_eq!(server.force_logout("alice", 2), 1, "one connection kicked");
    // The N pushes and the 2002 kick frame are all held back, then handed over at once.
    assert!(relay.wait_held(N + 1, WAIT).await, "the gateway sent them");
    relay.resume();
    rec.wait_for("the kick", |e| *e == Ev::Kicked).await;

    let all = rec.all();
    let kick = all.iter().position(|e| *e == Ev::Kicked).unwrap();
    let before: Vec<Message> = all[..kick]
        .iter()
        .filter_map(|e| match e {
            Ev::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        before
            .iter()
            .filter_map(|m| m.text.clone())
            .collect::<Vec<_>>(),
        numbered(1..=N),
        "every push, once, in order, before the kick"
    );
    assert_once_in_order(&rec.messages());
    let largest = all
        .iter()
        .filter_map(|e| match e {
            Ev::Batch(n) => Some(*n),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert!(
        largest > 1,
        "pushes waiting together came in one batch: largest {largest}"
    );
    // All of them stored (read offline, after the kick ended the session).
    let stored = m.messages("si_alice_bob".into(), None, 1000).unwrap();
    assert_eq!(stored.len(), N);
    assert_eq!(stored[0].seq, N as i64, "newest first");
}

/// Messages that reach no listener (none is set) are not covered by later deliveries:
/// they come, once each, at the next login.
#[tokio::test(flavor = "multi_thread")]
async fn messages_dropped_for_want_of_a_listener_come_at_the_next_login() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, _first) = logged_in_with(&server, "alice", Some(dir.path())).await;
    m.set_listener(None);
    server.send_texts("bob", "alice", 3);
    let dropped = tokio::time::timeout(WAIT, async {
        while m.test_listed_undelivered().unwrap() < 3 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(dropped.is_ok(), "the 3 messages were dropped and listed");
    let rec = Recorder::new();
    m.set_listener(Some(rec.clone() as Arc<dyn imbridge::ImListener>));
    server.send(Outgoing::text("bob", "alice", "m4")).unwrap();
    wait_messages(&rec, 1).await;
    assert_eq!(texts(&rec), vec!["m4".to_string()]);
    m.logout(None).await.unwrap();
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_messages(&rec, 4).await;
    wait_syncs(&rec, 1).await;
    let got = texts(&rec);
    assert_eq!(got, ["m4", "m1", "m2", "m3"].map(String::from).to_vec());
    assert_eq!(m.test_listed_undelivered().unwrap(), 0);
}

/// Undelivered rows at login are delivered in batches of 500, in order, once each, also
/// when there are more than one batch of them.
#[tokio::test(flavor = "multi_thread")]
async fn many_undelivered_messages_come_at_login_in_batches_of_500() {
    const N: usize = 1_200;
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, _first) = logged_in_with(&server, "alice", Some(dir.path())).await;
    m.set_listener(None);
    server.send_burst("bob", "alice", N, 100);
    let dropped = tokio::time::timeout(WAIT, async {
        while m.test_listed_undelivered().unwrap() < N as u64 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(dropped.is_ok(), "the {N} messages were dropped and listed");
    m.logout(None).await.unwrap();
    let rec = Recorder::new();
    m.set_listener(Some(rec.clone() as Arc<dyn imbridge::ImListener>));
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    wait_messages(&rec, N).await;
    wait_syncs(&rec, 1).await;
    assert_one_to(&rec.messages(), N as i64);
    let batches: Vec<usize> = rec
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Ev::Batch(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(batches, [500, 500, 200]);
    assert_eq!(m.test_listed_undelivered().unwrap(), 0);
}

/// Logs in `user` while the listener may be busy: the login must not wait for it.
async fn login_beside_a_busy_listener(
    server: &DevServer,
    m: &ImManager,
    user: &str,
) -> Result<imbridge::UserInfo, ImError> {
    tokio::time::timeout(WAIT, m.login(user.into(), server.user_token(user, 2), None))
        .await
        .expect("login returns with the listener busy")
}

/// Waits until the session is logged out, read from the manager (the listener may be
/// busy, so its state events are not heard yet).
async fn wait_logged_out(m: &ImManager, why: &str) {
    let out = tokio::time::timeout(WAIT, async {
        while m.login_status() != LoginStatus::LoggedOut {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(out.is_ok(), "{why}");
}

/// Exactly seqs 1..=n, once each, in order.
fn assert_one_to(messages: &[Message], n: i64) {
    assert_once_in_order(messages);
    assert_eq!(
        messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
}

/// Logs alice in on `dir` and blocks the listener in the first of 10 messages, with the
/// other 9 stored and queued behind it (pushes read together form one batch, so the 9
/// are sent once the listener is blocked). Returns the gate that lets the listener go.
async fn listener_held_in_the_first_of_ten(
    server: &DevServer,
    dir: &std::path::Path,
) -> (Arc<ImManager>, Arc<Recorder>, Arc<std::sync::Barrier>) {
    let (m, rec) = logged_in_with(server, "alice", Some(dir)).await;
    let gate = Arc::new(std::sync::Barrier::new(2));
    {
        let gate = gate.clone();
        let first = std::sync::atomic::AtomicBool::new(true);
        *rec.hook.lock().unwrap() = Some(Box::new(move |e| {
            if matches!(e, Ev::Message(_)) && first.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                gate.wait();
            }
        }));
    }
    server.send_texts("bob", "alice", 1);
    rec.wait_for("the first message", |e| matches!(e, Ev::Message(_)))
        .await;
    for i in 2..=10 {
        server
            .send(Outgoing::text("bob", "alice", &format!("m{i}")))
            .unwrap();
    }
    let stored = tokio::time::timeout(WAIT, async {
        while m.test_stored_messages().unwrap() < 10 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(stored.is_ok(), "the 9 later messages are stored");
    (m, rec, gate)
}

/// A kick (or a token expiry) ends the session without dropping what is queued for the
/// listener. A login right after it, while the listener is still in the first batch, must
/// not read the queued rows as undelivered and deliver them a second time behind the
/// first: every message arrives once, in order.
#[tokio::test(flavor = "multi_thread")]
async fn a_relogin_right_after_a_kick_delivers_what_was_queued_once() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec, gate) = listener_held_in_the_first_of_ten(&server, dir.path()).await;
    assert_eq!(server.force_logout("alice", 2), 1);
    wait_logged_out(&m, "the kick logs the session out").await;
    login_beside_a_busy_listener(&server, &m, "alice")
        .await
        .unwrap();
    gate.wait();
    wait_syncs(&rec, 2).await;
    rec.wait_for("the kick notice", |e| *e == Ev::Kicked).await;
    assert_one_to(&rec.messages(), 10);
}

/// A logout drops what is queued for the listener (its session is silenced), but not
/// the batch the listener is in. A login that starts before that logout returned (here:
/// from another task; also from inside the callback) delivers the dropped rows — once,
/// and not the batch the listener was in.
#[tokio::test(flavor = "multi_thread")]
async fn a_login_while_the_logout_waits_for_the_listener_delivers_the_dropped_rows_once() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec, gate) = listener_held_in_the_first_of_ten(&server, dir.path()).await;
    let logout = tokio::spawn({
        let m = m.clone();
        async move { m.logout(None).await }
    });
    wait_logged_out(&m, "the logout ended the session").await;
    login_beside_a_busy_listener(&server, &m, "alice")
        .await
        .unwrap();
    gate.wait();
    logout.await.unwrap().unwrap();
    wait_syncs(&rec, 2).await;
    assert_one_to(&rec.messages(), 10);
}

/// Switching to another user and back while the listener is still inside a batch of the
/// first: the login back works (the first user's store, still held by that batch, is
/// taken up again), and every message of the first user arrives once.
#[tokio::test(flavor = "multi_thread")]
async fn switching_away_and_back_while_the_listener_is_in_a_batch_works() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let (m, rec, gate) = listener_held_in_the_first_of_ten(&server, dir.path()).await;
    login_beside_a_busy_listener(&server, &m, "bob")
        .await
        .unwrap();
    // alice's data is still in use by the batches on their way: erasing it is refused,
    // with a reason.
    match m.erase_local_data("alice".into()).await {
        Err(ImError::Storage { detail }) => assert!(detail.contains("still in use"), "{detail}"),
        other => panic!("erase while in use: {other:?}"),
    }
    login_beside_a_busy_listener(&server, &m, "alice")
        .await
        .expect("alice's store opens again");
    gate.wait();
    // alice's first sync, then (bob's session silenced by the switch back) alice's second.
    wait_syncs(&rec, 2).await;
    let alices: Vec<Message> = rec
        .messages()
        .into_iter()
        .filter(|m| m.recv_id == "alice")
        .collect();
    assert_one_to(&alices, 10);
}
