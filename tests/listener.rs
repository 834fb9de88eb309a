//! Listener guarantees: re-entrant calls, the current state first, a panicking listener.

mod common;

use std::sync::{Arc, Mutex, Weak};

use common::*;
use imbridge::{ImEvent, ImListener, ImManager, LoginStatus};

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_may_call_the_manager_from_inside_callbacks() {
    let server = server().await;
    let (m, rec) = manager(config(&server));
    let weak: Weak<ImManager> = Arc::downgrade(&m);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let logged_out = Arc::new(tokio::sync::Notify::new());
    let logged_out_in_hook = logged_out.clone();
    *rec.hook.lock().unwrap() = Some(Box::new(move |ev| {
        let Some(m) = weak.upgrade() else { return };
        // Synchronous getters from inside any callback.
        seen2
            .lock()
            .unwrap()
            .push((m.login_status(), m.session_state().seq));
        if *ev == Ev::Kicked {
            // Even a blocking logout from inside a callback must not deadlock.
            block_on(m.logout(None)).unwrap();
            logged_out_in_hook.notify_one();
        }
    }));
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    rec.wait_for("connect_success", |e| *e == Ev::ConnectSuccess)
        .await;
    assert!(!seen.lock().unwrap().is_empty());
    assert!(server.wait_online("alice", 1, WAIT).await);
    server.force_logout("alice", 2);
    rec.wait_for("kicked", |e| *e == Ev::Kicked).await;
    // The hook ran logout inside the callback; it returned and the state is final.
    // (Waiters hear of an event before its hook runs: wait for the hook's logout, or
    // the login below would race it and be cancelled by it.)
    tokio::time::timeout(WAIT, logged_out.notified())
        .await
        .expect("the logout inside the kick callback returned");
    assert_eq!(
        seen.lock().unwrap().last().map(|s| s.0),
        Some(LoginStatus::LoggedOut)
    );
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    // And the manager still works afterwards.
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    assert_eq!(m.login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_listener_hears_the_current_state_first() {
    let server = server().await;
    let (m, _rec) = logged_in(&server, "alice").await;
    let late = Recorder::new();
    m.set_listener(Some(late.clone() as Arc<dyn ImListener>));
    let s = late
        .wait_state("current state", |s| s.login_status == LoginStatus::LoggedIn)
        .await;
    assert_eq!(s.user_id.as_deref(), Some("alice"));
    assert_eq!(s, m.session_state());
}

#[tokio::test(flavor = "multi_thread")]
async fn state_changes_arrive_in_order_with_growing_seq() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    server.drop_connections();
    rec.wait_count("two connect_success", 2, |e| *e == Ev::ConnectSuccess)
        .await;
    m.logout(None).await.unwrap();
    let seqs: Vec<u64> = rec
        .all()
        .into_iter()
        .filter_map(|e| match e {
            Ev::State(s) => Some(s.seq),
            _ => None,
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

struct Panicker(Arc<Recorder>);

impl ImListener for Panicker {
    fn on_event(&self, event: ImEvent) {
        match event {
            ImEvent::Connecting => panic!("listener bug"),
            other => self.0.on_event(other),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_listener_does_not_break_delivery() {
    let server = server().await;
    let m = ImManager::new(config(&server)).unwrap();
    let rec = Recorder::new();
    m.set_listener(Some(Arc::new(Panicker(rec.clone()))));
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    rec.wait_for("connect_success after a panic", |e| {
        *e == Ev::ConnectSuccess
    })
    .await;
}
