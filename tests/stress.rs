//! Randomized stress: several threads issue thousands of random operations on two
//! managers while the server drops, kicks and pushes. The seed is printed, and every
//! failure message names it; rerun with `IMBRIDGE_STRESS_SEED=<seed>`.
//!
//! Invariants checked on every manager's event stream:
//! - state snapshots arrive in order (`seq` never goes back);
//! - connect_success always follows a Connected state; messages only while LoggedIn;
//! - each session-ending event fires at most once per session;
//! - nothing arrives after a logout returned, unless a later login was under way;
//! - no call hangs past its timeout (so nothing deadlocks).

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::*;
use imbridge::{ConnectionState, LoginStatus, StateReason};

const TASKS_PER_MANAGER: usize = 3;
const OPS_PER_TASK: usize = 800;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Login,
    Logout,
}

struct OpLog(Mutex<Vec<(usize, Kind, Instant, Instant)>>);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_operations_keep_every_invariant() {
    let seed: u64 = std::env::var("IMBRIDGE_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("stress seed = {seed} (IMBRIDGE_STRESS_SEED={seed} to replay the same choices)");
    let server = Arc::new(server().await);
    let mut cfg = config(&server);
    cfg.login_timeout_ms = Some(2_000);
    cfg.request_timeout_ms = Some(1_000);
    cfg.logout_timeout_ms = Some(500);
    cfg.reconnect_base_ms = Some(5);
    cfg.reconnect_cap_ms = Some(50);
    let devices: Vec<_> = (0..2).map(|_| manager(cfg.clone())).collect();
    // The listener's first call is the current-state snapshot `set_listener` queues; it
    // belongs to no session, so let it arrive before the operations begin.
    for (_, rec) in &devices {
        rec.wait_state("the initial snapshot", |s| s.seq == 0).await;
    }
    let log = Arc::new(OpLog(Mutex::new(Vec::new())));
    let op_timeout = Duration::from_secs(10);

    let mut tasks = Vec::new();
    for (d, (m, _)) in devices.iter().enumerate() {
        for t in 0..TASKS_PER_MANAGER {
            let (m, server, log) = (m.clone(), server.clone(), log.clone());
            let mut rng = fastrand::Rng::with_seed(seed ^ ((d * 16 + t) as u64 + 1));
            tasks.push(tokio::spawn(async move {
                for i in 0..OPS_PER_TASK {
                    let op = rng.u8(0..100);
                    let started = Instant::now();
                    let what = format!("seed {seed}: device {d} task {t} op {i} ({op})");
                    match op {
                        0..=24 => {
                            let user = if rng.bool() { "alice" } else { "bob" };
                            let token = server.user_token(user, 2);
                            let r =
                                tokio::time::timeout(op_timeout, m.login(user.into(), token, None))
                                    .await;
                            r.unwrap_or_else(|_| panic!("login hung: {what}")).ok();
                            log.0
                                .lock()
                                .unwrap()
                                .push((d, Kind::Login, started, Instant::now()));
                        }
                        25..=44 => {
                            let r = tokio::time::timeout(op_timeout, m.logout(None)).await;
                            r.unwrap_or_else(|_| panic!("logout hung: {what}"))
                                .unwrap_or_else(|e| panic!("logout failed: {e}: {what}"));
                            log.0
                                .lock()
                                .unwrap()
                                .push((d, Kind::Logout, started, Instant::now()));
                        }
                        45..=54 => {
                            let r =
                                tokio::time::timeout(op_timeout, m.set_app_background(rng.bool()))
                                    .await;
                            r.unwrap_or_else(|_| panic!("set_app_background hung: {what}"))
                                .ok();
                        }
                        55..=62 => {
                            // Mostly up: a down network that is never restored ends the fun.
                            m.network_changed(rng.u8(0..4) != 0).unwrap();
                        }
                        63..=74 => {
                            let s = m.session_state();
                            if s.login_status == LoginStatus::LoggedOut {
                                assert_eq!(s.user_id, None, "{what}");
                            }
                        }
                        75..=82 => {
                            server.drop_connections();
                        }
                        83..=87 => {
                            server.force_logout("alice", 2);
                        }
                        _ => {
                            server.push_text("carol", "alice", "ping");
                            server.push_text("carol", "bob", "ping");
                        }
                    }
                    if rng.u8(0..8) == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: a task hung"))
            .unwrap_or_else(|e| panic!("seed {seed}: a task panicked: {e}"));
    }
    // Settle: restore the network and end every session.
    for (d, (m, _)) in devices.iter().enumerate() {
        m.network_changed(true).unwrap();
        let started = Instant::now();
        tokio::time::timeout(op_timeout, m.logout(None))
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: final logout hung"))
            .unwrap();
        log.0
            .lock()
            .unwrap()
            .push((d, Kind::Logout, started, Instant::now()));
        assert_eq!(m.login_status(), LoginStatus::LoggedOut);
    }
    // logout() returned for every device, so no older event can still start.
    let ops = log.0.lock().unwrap().clone();
    for (d, (_, rec)) in devices.iter().enumerate() {
        check(seed, d, &rec.timed(), &ops);
    }
    let total: usize = devices.iter().map(|(_, r)| r.all().len()).sum();
    println!(
        "stress seed {seed}: {} ops, {total} events checked",
        ops.len()
    );
}

fn check(seed: u64, d: usize, events: &[(Instant, Ev)], ops: &[(usize, Kind, Instant, Instant)]) {
    let ctx = |i: usize| format!("seed {seed}, device {d}, event {i}: {:?}", events[i].1);
    let mut last_state: Option<imbridge::SessionState> = None;
    let mut endings_this_session = 0;
    let logouts: Vec<(Instant, Instant)> = ops
        .iter()
        .filter(|o| o.0 == d && o.1 == Kind::Logout)
        .map(|o| (o.2, o.3))
        .collect();
    let logins: Vec<(Instant, Instant)> = ops
        .iter()
        .filter(|o| o.0 == d && o.1 == Kind::Login)
        .map(|o| (o.2, o.3))
        .collect();
    for (i, (at, ev)) in events.iter().enumerate() {
        // Nothing after a logout returned unless a session was started after it began (a
        // login running at any time between the logout's start and this event), or — the
        // end of a session only: its final LoggedOut state and the failure of a sync it cut
        // short — another logout ended one in the meantime.
        if let Some(&(began, ended)) = logouts
            .iter()
            .filter(|(_, e)| e <= at)
            .max_by_key(|(_, e)| *e)
        {
            let login_since = logins.iter().any(|(s, e)| *e >= began && s <= at);
            let logout_since = logouts.iter().any(|(s, e)| *e >= ended && s <= at);
            // (LoginCancelled when that logout ended a pending login.)
            let session_end = matches!(ev, Ev::SyncFailed(..))
                || matches!(ev, Ev::State(s)
                if matches!(s.reason, StateReason::LoggedOut | StateReason::LoginCancelled)
                    && s.login_status == LoginStatus::LoggedOut);
            assert!(
                login_since || (session_end && logout_since),
                "after a logout returned: {}",
                ctx(i)
            );
        }
        match ev {
            Ev::State(s) => {
                if let Some(prev) = &last_state {
                    assert!(s.seq >= prev.seq, "seq went back: {}", ctx(i));
                    if s.seq == prev.seq {
                        assert_eq!(s, prev, "same seq, other state: {}", ctx(i));
                    }
                }
                if s.reason == StateReason::LoginStarted {
                    endings_this_session = 0;
                }
                last_state = Some(s.clone());
            }
            Ev::ConnectSuccess => {
                let s = last_state.as_ref().unwrap_or_else(|| panic!("{}", ctx(i)));
                assert_eq!(s.connection, ConnectionState::Connected, "{}", ctx(i));
            }
            Ev::Message(_) | Ev::Batch(_) | Ev::SyncStarted | Ev::SyncFinished => {
                let s = last_state.as_ref().unwrap_or_else(|| panic!("{}", ctx(i)));
                assert_eq!(s.login_status, LoginStatus::LoggedIn, "{}", ctx(i));
            }
            Ev::Kicked | Ev::TokenExpired | Ev::TokenInvalid(_) => {
                endings_this_session += 1;
                assert_eq!(
                    endings_this_session,
                    1,
                    "second session-ending event: {}",
                    ctx(i)
                );
            }
            Ev::Connecting | Ev::ConnectFailed(..) | Ev::SyncFailed(..) => {}
        }
    }
}
