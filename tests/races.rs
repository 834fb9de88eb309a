//! Races: calls that cross each other, and shutdown while things are running.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use common::*;
use imbridge::{ImError, ImManager, LoginStatus, StateReason};
use imbridge_devserver::Faults;

#[tokio::test(flavor = "multi_thread")]
async fn logout_during_a_redial_returns_at_once() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    server.set_faults(Faults {
        upgrade_delay: Some(Duration::from_secs(30)),
        ..Faults::default()
    });
    server.drop_connections();
    rec.wait_state("redialing", |s| {
        matches!(
            s.reason,
            StateReason::Redialing | StateReason::ConnectionLost
        ) && s.connection == imbridge::ConnectionState::Connecting
    })
    .await;
    let started = Instant::now();
    m.logout(None).await.unwrap();
    let returned = Instant::now();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    // A fresh login on the cleared server proves the manager is usable and the old
    // dial left nothing behind.
    server.set_faults(Faults::default());
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
    let stray: Vec<_> = rec
        .since(returned)
        .into_iter()
        .filter(|e| matches!(e, Ev::ConnectFailed(..)))
        .collect();
    assert!(
        stray.is_empty(),
        "the cancelled dial reported nothing: {stray:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_racing_a_kick_ends_cleanly_either_way() {
    let server = server().await;
    for round in 0..20 {
        let (m, rec) = logged_in(&server, "alice").await;
        let kick = {
            let server_kick = server.force_logout("alice", 2);
            async move { server_kick }
        };
        let (kicked, out) = tokio::join!(kick, m.logout(None));
        let returned = Instant::now();
        out.unwrap();
        assert!(kicked <= 1, "round {round}");
        assert_eq!(m.login_status(), LoginStatus::LoggedOut, "round {round}");
        assert!(rec.count(|e| *e == Ev::Kicked) <= 1, "round {round}");
        assert!(
            rec.since(returned).is_empty(),
            "round {round}: {:?}",
            rec.since(returned)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logins_from_two_threads_at_once_make_one_session() {
    let server = server().await;
    for round in 0..10 {
        let user = format!("user{round}");
        let (m, _rec) = manager(config(&server));
        let token = server.user_token(&user, 2);
        let a = std::thread::spawn({
            let (m, user, token) = (m.clone(), user.clone(), token.clone());
            move || block_on(m.login(user, token, None))
        });
        let b = std::thread::spawn({
            let (m, user, token) = (m.clone(), user.clone(), token.clone());
            move || block_on(m.login(user, token, None))
        });
        let results = [a.join().unwrap(), b.join().unwrap()];
        assert!(results.iter().any(Result::is_ok), "{results:?}");
        for r in &results {
            if let Err(e) = r {
                assert_eq!(*e, ImError::LoginInProgress, "round {round}");
            }
        }
        assert_eq!(m.login_status(), LoginStatus::LoggedIn);
        wait_dials(&server, &user, 1).await;
        assert_eq!(dials(&server, &user), 1, "round {round}: one session");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn account_switch_while_the_old_session_is_reconnecting() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    cut_and_refuse(&server);
    rec.wait_for("a failed redial", |e| matches!(e, Ev::ConnectFailed(..)))
        .await;
    server.set_faults(Faults::default());
    let alice_dials = dials(&server, "alice");
    let synced = rec.count(|e| *e == Ev::SyncFinished);
    m.login("bob".into(), server.user_token("bob", 2), None)
        .await
        .unwrap();
    assert_eq!(m.login_user_id().as_deref(), Some("bob"));
    assert!(server.wait_online("bob", 1, WAIT).await);
    assert!(
        requests(&server, "alice", 2003).is_empty(),
        "alice was offline"
    );
    // Bob's first login takes the baseline: send after it (README, "The baseline").
    rec.wait_count("bob's baseline", synced + 1, |e| *e == Ev::SyncFinished)
        .await;
    // Bob's session runs; alice's dial loop is gone.
    server.push_text("carol", "bob", "hi bob");
    rec.wait_for(
        "bob's message",
        |e| matches!(e, Ev::Message(m) if m.recv_id == "bob"),
    )
    .await;
    assert_eq!(dials(&server, "alice"), alice_dials);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_during_login_ends_the_login() {
    let server = server().await;
    let (m, rec, login) = pending_login(&server).await;
    m.shutdown();
    let returned = Instant::now();
    let err = tokio::time::timeout(WAIT, login)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, ImError::LoginCancelled | ImError::Shutdown),
        "{err:?}"
    );
    assert!(rec.since(returned).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_while_reconnecting_and_from_inside_a_callback() {
    let server = server().await;
    let (m, rec) = logged_in(&server, "alice").await;
    let weak = Arc::downgrade(&m);
    // Waiters hear of an event before the hook runs: the test goes on once the hook's
    // shutdown has returned.
    let shut = Arc::new(tokio::sync::Notify::new());
    let shut_in_hook = shut.clone();
    *rec.hook.lock().unwrap() = Some(Box::new(move |ev| {
        if matches!(ev, Ev::ConnectFailed(..)) {
            if let Some(m) = weak.upgrade() {
                m.shutdown();
                assert_eq!(m.network_changed(true), Err(ImError::Shutdown));
                shut_in_hook.notify_one();
            }
        }
    }));
    cut_and_refuse(&server);
    tokio::time::timeout(WAIT, shut.notified())
        .await
        .expect("the failed redial that shuts down");
    assert_eq!(
        m.login("alice".into(), "a.b.c".into(), None).await,
        Err(ImError::Shutdown)
    );
    // The dial loop is gone: with the fault cleared nobody dials alice again.
    server.set_faults(Faults::default());
    let before = dials(&server, "alice");
    let (_other, _r) = logged_in(&server, "dave").await;
    assert_eq!(dials(&server, "alice"), before);
    assert_eq!(rec.count(|e| matches!(e, Ev::ConnectFailed(..))), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_managers_in_one_process_are_independent() {
    let server = server().await;
    let mut managers: Vec<Arc<ImManager>> = Vec::new();
    for i in 0..20 {
        let (m, _rec) = logged_in(&server, &format!("u{i}")).await;
        managers.push(m);
    }
    for (i, m) in managers.iter().enumerate() {
        assert_eq!(m.login_user_id(), Some(format!("u{i}")));
    }
    managers[3].logout(None).await.unwrap();
    assert_eq!(managers[3].login_status(), LoginStatus::LoggedOut);
    assert_eq!(managers[4].login_status(), LoginStatus::LoggedIn);
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_login_future_cancels_the_login_and_says_so() {
    let server = server().await;
    let (m, rec, login) = pending_login(&server).await;
    login.abort(); // drops the login future, as a cancelled Kotlin coroutine does
    let s = rec
        .wait_state("cancelled", |s| s.reason == StateReason::LoginCancelled)
        .await;
    assert_eq!(s.login_status, LoginStatus::LoggedOut);
    assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    // The manager is usable again.
    server.set_faults(Faults::default());
    m.login("alice".into(), server.user_token("alice", 2), None)
        .await
        .unwrap();
}
