//! One test per (state, input) pair that matters, written as tables: a state reached
//! through inputs, one more input, and the effects expected, in order, spelled short.

use std::time::{Duration, Instant};

use super::*;
use crate::config::{ImConfig, Platform};

fn machine() -> Machine {
    let mut c = ImConfig::new("http://127.0.0.1:1", "ws://127.0.0.1:2", Platform::Android);
    c.login_timeout_ms = Some(5_000);
    c.reconnect_base_ms = Some(100);
    c.reconnect_cap_ms = Some(1_000);
    c.logout_timeout_ms = Some(2_000);
    Machine::new(&Config::from_im(c).unwrap(), 7)
}

fn user(id: &str) -> UserInfo {
    UserInfo {
        user_id: id.into(),
        ..UserInfo::default()
    }
}

fn msg(seq: i64) -> Message {
    Message {
        seq,
        ..Message::default()
    }
}

fn store_opened() -> Input {
    Input::StoreOpened(Ok(SyncInput::Loaded {
        cursors: Default::default(),
        baseline_done: true,
    }))
}

fn login(id: &str, ticket: u64) -> Input {
    Input::Login {
        user_id: id.into(),
        token: Token::new(format!("tok-{id}")),
        operation_id: format!("op{ticket}"),
        ticket,
    }
}

/// The effects, spelled short so a table reads like the contract.
fn spell(fx: &[Effect]) -> Vec<String> {
    let no_ms = |s: String| match s.find(", retry_in_ms") {
        Some(i) => format!(
            "{}{}",
            &s[..i],
            &s[s[i..].find(" }").map_or(s.len(), |j| i + j)..]
        ),
        None => s,
    };
    fx.iter().map(|e| no_ms(spell_one(e))).collect()
}

fn spell_one(e: &Effect) -> String {
    [e].iter()
        .map(|e| match e {
            Effect::Publish { epoch, change } => format!(
                "state {:?}/{:?}/{:?} e{epoch}",
                change.login_status, change.connection, change.reason
            )
            .replace("WaitingToReconnect", "Waiting"),
            // Jitter: the exact wait is the backoff's business (reconnect.rs tests it).
            Effect::Emit { epoch, event } => match event {
                ImEvent::ConnectFailed { code, .. } => format!("connect_failed {code} e{epoch}"),
                ImEvent::Messages { messages } => format!(
                    "messages {:?} e{epoch}",
                    messages.iter().map(|m| m.seq).collect::<Vec<_>>()
                ),
                ImEvent::UserTokenInvalid { .. } => format!("token_invalid e{epoch}"),
                ImEvent::SyncFailed { code, .. } => format!("sync_failed {code} e{epoch}"),
                other => format!("{other:?} e{epoch}"),
            },
            Effect::Silence { before } => format!("silence <{before}"),
            Effect::Dial {
                operation_id,
                background,
                ..
            } => format!("dial {operation_id:?} bg={background}"),
            Effect::Wait(d) => format!("wait {}", if d.is_zero() { "0" } else { ">0" }),
            Effect::CloseLink { logout: None } => "close".into(),
            Effect::CloseLink { logout: Some(l) } => {
                format!("close+2003 {}ms", l.grace.as_millis())
            }
            Effect::FetchUser { operation_id, .. } => format!("fetch {operation_id}"),
            Effect::ArmLoginDeadline(d) => format!("deadline {}ms", d.as_millis()),
            Effect::AttemptOver => "attempt over".into(),
            Effect::Answer { ticket, result } => match result {
                Ok(u) => format!("answer #{ticket} ok {}", u.user_id),
                Err(e) => format!("answer #{ticket} err {}", e.code()),
            },
            Effect::SendBackground { background, .. } => format!("send 2004 {background}"),
            Effect::AckBackground => "ack 2004".into(),
            Effect::Probe => "probe".into(),
            Effect::LogoutDone => "logout done".into(),
            Effect::Stop => "stop".into(),
            Effect::OpenStore { user_id } => format!("open store {user_id}"),
            Effect::DeliverStored { epoch } => format!("deliver stored e{epoch}"),
            Effect::Commit { page, .. } => format!(
                "commit deliver{:?}",
                page.messages
                    .iter()
                    .filter(|_| page.delivers())
                    .map(|m| m.seq)
                    .collect::<Vec<_>>()
            ),
            Effect::Sync(e) => format!("sync {e:?}"),
        })
        .next()
        .unwrap()
}

/// Named starting states, each reached through the machine's own inputs.
#[derive(Debug, Clone, Copy)]
enum At {
    LoggedOut,
    /// Logging in, the store not opened yet.
    Opening,
    /// Logging in, the first dial running.
    Dialing,
    /// Logging in, connected, the user-info call running.
    Fetching,
    /// Logging in, waiting to retry after a failed dial.
    LoginWaiting,
    /// Logged in and connected (connected at t0).
    Online,
    /// Logged in, waiting to redial.
    OnlineWaiting,
    /// Logged in, a redial running after one failed.
    Redialing,
    /// Logged in, the network down.
    Offline,
}

struct Run {
    m: Machine,
    t0: Instant,
}

/// The inputs that lead to `state`, each state built on the one before it.
fn steps(state: At) -> Vec<Input> {
    let dial_failed = || Input::DialFailed(DialError::Network("refused".into()));
    let then = |before: At, more: Vec<Input>| {
        let mut v = steps(before);
        v.extend(more);
        v
    };
    match state {
        At::LoggedOut | At::Opening => vec![],
        At::Dialing => vec![login("alice", 1)],
        At::Fetching => then(At::Dialing, vec![Input::Connected]),
        At::LoginWaiting => then(At::Dialing, vec![dial_failed()]),
        At::Online => then(At::Fetching, vec![Input::UserFetched(Ok(user("alice")))]),
        At::OnlineWaiting => then(
            At::Online,
            vec![
                Input::Lost { why: "cut".into() },
                Input::RetryDue,
                dial_failed(),
            ],
        ),
        At::Redialing => then(At::OnlineWaiting, vec![Input::RetryDue]),
        At::Offline => then(
            At::Online,
            vec![
                Input::NetworkChanged { available: false },
                Input::Lost { why: "cut".into() },
            ],
        ),
    }
}

impl Run {
    fn at(state: At) -> Run {
        let mut r = Run {
            m: machine(),
            t0: Instant::now(),
        };
        if let At::Opening = state {
            r.m.handle(r.t0, login("alice", 1));
            return r;
        }
        let steps = steps(state);
        for input in steps {
            let opens = matches!(input, Input::Login { .. });
            let logs_in = matches!(input, Input::UserFetched(Ok(_)));
            r.m.handle(r.t0, input);
            if opens {
                r.m.handle(r.t0, store_opened());
            }
            if logs_in {
                // The first sync finds nothing missing.
                r.m.handle(r.t0, Input::Sync(SyncInput::Newest(Ok(Default::default()))));
            }
        }
        r
    }

    fn feed(&mut self, after: Duration, input: Input) -> Vec<String> {
        spell(&self.m.handle(self.t0 + after, input))
    }
}

fn check(table: Vec<(At, Input, &[&str])>) {
    for (at, input, want) in table {
        let label = format!("{at:?} + {input:?}");
        let got = Run::at(at).feed(Duration::from_secs(1), input);
        assert_eq!(got, want, "{label}");
    }
}

#[test]
fn logging_in() {
    check(vec![
        (
            At::LoggedOut,
            login("alice", 2),
            &[
                "open store alice",
                "deadline 5000ms",
                "state LoggingIn/Connecting/LoginStarted e1",
                "Connecting e1",
            ],
        ),
        (
            At::Opening,
            store_opened(),
            &["dial Some(\"op1\") bg=false", "fetch op1"],
        ),
        (
            At::Opening,
            Input::StoreOpened(Err(ImError::Storage {
                detail: "/data/x: read-only".into(),
            })),
            &[
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 19003",
            ],
        ),
        (At::Dialing, store_opened(), &[]),
        (At::Dialing, login("bob", 2), &["answer #2 err 10102"]),
        (At::Fetching, login("alice", 2), &["answer #2 err 10102"]),
        (At::Online, login("alice", 2), &["answer #2 ok alice"]),
        (
            At::Online,
            login("bob", 2),
            &[
                "silence <2",
                "close+2003 2000ms",
                "state LoggedOut/Disconnected/LoggedOut e2",
                "open store bob",
                "deadline 5000ms",
                "state LoggingIn/Connecting/LoginStarted e2",
                "Connecting e2",
            ],
        ),
        // The user-info call runs beside the dial: connected first, the login waits for it.
        (At::Dialing, Input::Connected, &[]),
        // The user known first, the login waits for the connection.
        (At::Dialing, Input::UserFetched(Ok(user("alice"))), &[]),
        (
            At::Fetching,
            Input::UserFetched(Ok(user("alice"))),
            &[
                "attempt over",
                "state LoggedIn/Connected/LoggedIn e1",
                "ConnectSuccess e1",
                "deliver stored e1",
                "answer #1 ok alice",
                "SyncStarted e1",
                "sync RequestNewest",
            ],
        ),
        (
            At::Fetching,
            Input::UserFetched(Err(ImError::from_server(1501, "expired".into()))),
            &[
                "close",
                "connect_failed 1501 e1",
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 1501",
            ],
        ),
        (At::Online, Input::UserFetched(Ok(user("x"))), &[]),
    ]);
}

#[test]
fn the_login_completes_when_both_the_connection_and_the_user_are_there() {
    let mut r = Run::at(At::Dialing);
    assert!(r
        .feed(Duration::ZERO, Input::UserFetched(Ok(user("alice"))))
        .is_empty());
    // A failed dial does not lose the user: the retry's connection completes the login.
    r.feed(
        Duration::ZERO,
        Input::DialFailed(DialError::Network("refused".into())),
    );
    r.feed(Duration::from_millis(100), Input::RetryDue);
    let got = r.feed(Duration::from_millis(200), Input::Connected);
    assert_eq!(
        got[..3],
        [
            "attempt over",
            "state LoggedIn/Connected/LoggedIn e1",
            "ConnectSuccess e1"
        ]
    );
    // The API unreachable while the dial still tries: no failure yet; the call runs again
    // once a connection is up.
    let mut r = Run::at(At::Dialing);
    let got = r.feed(
        Duration::ZERO,
        Input::UserFetched(Err(ImError::network("refused"))),
    );
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(r.feed(Duration::ZERO, Input::Connected), ["fetch op1"]);
}

#[test]
fn a_login_retries_inside_its_deadline_and_fails_with_the_last_error() {
    check(vec![
        (
            At::Dialing,
            Input::DialFailed(DialError::Network("refused".into())),
            &[
                "close",
                "connect_failed 10000 e1",
                "wait >0",
                "state LoggingIn/Waiting { attempt: 1 }/DialFailed e1",
            ],
        ),
        (
            At::Dialing,
            Input::DialFailed(DialError::Refused(crate::protocol::dial::DialRefusal {
                err_code: 1501,
                err_msg: "expired".into(),
                err_dlt: String::new(),
            })),
            &[
                "close",
                "connect_failed 1501 e1",
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 1501",
            ],
        ),
        (
            At::LoginWaiting,
            Input::RetryDue,
            &[
                "state LoggingIn/Connecting/Redialing e1",
                "Connecting e1",
                "dial None bg=false",
            ],
        ),
        (
            At::LoginWaiting,
            Input::LoginDeadline,
            &[
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 10000",
            ],
        ),
        (
            At::Dialing,
            Input::LoginDeadline,
            &[
                "connect_failed 10001 e1",
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 10001",
            ],
        ),
        (At::Online, Input::LoginDeadline, &[]),
    ]);
    // A wait that would end past the deadline fails the login at once.
    let mut r = Run::at(At::Dialing);
    let got = r.feed(
        Duration::from_millis(4_990),
        Input::DialFailed(DialError::Timeout),
    );
    assert_eq!(got.last().unwrap(), "answer #1 err 10001", "{got:?}");
}

#[test]
fn cancelling_and_logging_out() {
    check(vec![
        (
            At::Dialing,
            Input::CancelLogin { ticket: None },
            &[
                "close",
                "attempt over",
                "state LoggedOut/Disconnected/LoginCancelled e1",
                "answer #1 err 19001",
            ],
        ),
        (At::Dialing, Input::CancelLogin { ticket: Some(9) }, &[]),
        (At::Online, Input::CancelLogin { ticket: None }, &[]),
        (At::LoggedOut, Input::CancelLogin { ticket: None }, &[]),
        (
            At::Fetching,
            Input::Logout { operation_id: None },
            &[
                "silence <2",
                "close",
                "attempt over",
                "state LoggedOut/Disconnected/LoginCancelled e2",
                "answer #1 err 19001",
                "logout done",
            ],
        ),
        (
            At::Online,
            Input::Logout { operation_id: None },
            &[
                "silence <2",
                "close+2003 2000ms",
                "state LoggedOut/Disconnected/LoggedOut e2",
                "logout done",
            ],
        ),
        (
            At::OnlineWaiting,
            Input::Logout { operation_id: None },
            &[
                "silence <2",
                "close",
                "state LoggedOut/Disconnected/LoggedOut e2",
                "logout done",
            ],
        ),
        (
            At::LoggedOut,
            Input::Logout { operation_id: None },
            &[
                "silence <2",
                "close",
                "state LoggedOut/Disconnected/LoggedOut e2",
                "logout done",
            ],
        ),
        (
            At::Online,
            Input::Shutdown,
            &[
                "silence <2",
                "close+2003 500ms",
                "state LoggedOut/Disconnected/LoggedOut e2",
                "stop",
            ],
        ),
    ]);
}

#[test]
fn staying_connected() {
    check(vec![
        (
            At::Online,
            Input::Lost { why: "cut".into() },
            &[
                "close",
                "state LoggedIn/Connecting/ConnectionLost e1",
                "Connecting e1",
                "dial None bg=false",
            ],
        ),
        (
            At::OnlineWaiting,
            Input::RetryDue,
            &[
                "state LoggedIn/Connecting/Redialing e1",
                "Connecting e1",
                "dial None bg=false",
            ],
        ),
        (At::Online, Input::RetryDue, &[]),
        (
            At::OnlineWaiting,
            Input::DialFailed(DialError::HttpStatus(502)),
            &[],
        ),
        (
            At::Redialing,
            Input::DialFailed(DialError::HttpStatus(502)),
            &[
                "close",
                "connect_failed 502 e1",
                "wait >0",
                "state LoggedIn/Waiting { attempt: 3 }/DialFailed e1",
            ],
        ),
        (
            At::Offline,
            Input::NetworkChanged { available: true },
            &[
                "state LoggedIn/Connecting/NetworkAvailable e1",
                "Connecting e1",
                "dial None bg=false",
            ],
        ),
        (
            At::OnlineWaiting,
            Input::NetworkChanged { available: false },
            &["close", "state LoggedIn/Disconnected/NetworkUnavailable e1"],
        ),
        (
            At::Online,
            Input::NetworkChanged { available: true },
            &["probe", "SyncStarted e1", "sync RequestNewest"],
        ),
        (At::Online, Input::NetworkChanged { available: false }, &[]),
        (At::Dialing, Input::NetworkChanged { available: false }, &[]),
    ]);
    // The connection of a session that went offline while up dies: no redial.
    let mut r = Run::at(At::Online);
    r.feed(Duration::ZERO, Input::NetworkChanged { available: false });
    let got = r.feed(Duration::from_secs(2), Input::Lost { why: "cut".into() });
    assert_eq!(
        got,
        ["close", "state LoggedIn/Disconnected/NetworkUnavailable e1"]
    );
}

#[test]
fn a_connection_that_dies_young_waits_out_the_backoff() {
    // Online connected at t0; stable_after is 2 × 100 ms.
    let mut r = Run::at(At::Online);
    let got = r.feed(Duration::from_millis(50), Input::Lost { why: "cut".into() });
    assert_eq!(got[1..2], ["wait >0".to_string()], "{got:?}");
    let mut r = Run::at(At::Online);
    let got = r.feed(
        Duration::from_millis(250),
        Input::Lost { why: "cut".into() },
    );
    assert_eq!(got.last().unwrap(), "dial None bg=false", "{got:?}");
}

#[test]
fn the_server_ends_a_session_once() {
    let expired = || {
        Input::DialFailed(DialError::Refused(crate::protocol::dial::DialRefusal {
            err_code: 1501,
            err_msg: "expired".into(),
            err_dlt: String::new(),
        }))
    };
    check(vec![
        (
            At::Online,
            Input::Kicked,
            &[
                "close",
                "KickedOffline e1",
                "state LoggedOut/Disconnected/Kicked e1",
            ],
        ),
        (
            At::Fetching,
            Input::Kicked,
            &[
                "close",
                "connect_failed 1506 e1",
                "close",
                "state LoggedOut/Disconnected/LoginFailed e1",
                "attempt over",
                "answer #1 err 1506",
            ],
        ),
        (
            At::Redialing,
            expired(),
            &[
                "close",
                "connect_failed 1501 e1",
                "close",
                "UserTokenExpired e1",
                "state LoggedOut/Disconnected/TokenExpired e1",
            ],
        ),
        (At::LoggedOut, Input::Kicked, &[]),
        (At::LoggedOut, expired(), &[]),
    ]);
}

#[test]
fn pushes_are_delivered_only_to_a_logged_in_session() {
    check(vec![
        (
            At::Online,
            Input::Pushed(vec![msg(1), msg(2)]),
            &["commit deliver[1, 2]"],
        ),
        (At::Online, Input::Pushed(vec![]), &[]),
        (At::LoggedOut, Input::Pushed(vec![msg(1)]), &[]),
        (At::Fetching, Input::Pushed(vec![msg(1)]), &[]),
    ]);
    // Held during the login, delivered right after connect_success.
    let mut r = Run::at(At::Fetching);
    r.feed(Duration::ZERO, Input::Pushed(vec![msg(4)]));
    let got = r.feed(Duration::ZERO, Input::UserFetched(Ok(user("alice"))));
    // (stored-but-undelivered ones first, then the sync; msg(4) is beyond a gap: held)
    assert_eq!(
        got[2..],
        [
            "ConnectSuccess e1".to_string(),
            "deliver stored e1".into(),
            "answer #1 ok alice".into(),
            "SyncStarted e1".into(),
            "sync RequestNewest".into(),
        ]
    );
}

#[test]
fn background_and_foreground() {
    check(vec![
        (
            At::Online,
            Input::SetBackground { background: true },
            &["send 2004 true"],
        ),
        (
            At::LoggedOut,
            Input::SetBackground { background: true },
            &["ack 2004"],
        ),
        (
            At::OnlineWaiting,
            Input::SetBackground { background: true },
            &["ack 2004"],
        ),
    ]);
    // Back to the foreground while waiting: redial now, flag off on the dial.
    let mut r = Run::at(At::OnlineWaiting);
    r.feed(Duration::ZERO, Input::SetBackground { background: true });
    let got = r.feed(Duration::ZERO, Input::SetBackground { background: false });
    assert_eq!(
        got,
        [
            "ack 2004",
            "state LoggedIn/Connecting/AppForeground e1",
            "Connecting e1",
            "dial None bg=false"
        ]
    );
    // The flag rides on the next dial.
    let mut r = Run::at(At::LoggedOut);
    r.feed(Duration::ZERO, Input::SetBackground { background: true });
    r.feed(Duration::ZERO, login("alice", 2));
    let got = r.feed(Duration::ZERO, store_opened());
    assert_eq!(got, ["dial Some(\"op2\") bg=true", "fetch op2"]);
}

#[test]
fn tokens_are_scrubbed_from_failure_texts() {
    let mut m = machine();
    let t = Instant::now();
    m.handle(t, login("alice", 1));
    m.handle(t, store_opened());
    let fx = m.handle(
        t,
        Input::DialFailed(DialError::Network("reset on tok-alice".into())),
    );
    let texts: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Emit {
                event: ImEvent::ConnectFailed { detail, .. },
                ..
            } => Some(detail.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(texts.len(), 1);
    assert!(!texts[0].contains("tok-alice"), "{texts:?}");
}
