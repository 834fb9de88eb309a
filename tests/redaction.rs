//! A token never appears in a log line, an error, an event text or a Debug string.

mod common;

use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use imbridge::ImError;
use imbridge_devserver::Faults;

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static C: OnceLock<&'static Capture> = OnceLock::new();
    C.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
        c
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_stay_out_of_logs_errors_and_debug_output() {
    let logs = capture();
    let server = server().await;
    let cfg = config(&server);
    let (m, rec) = manager(cfg.clone());

    let good = server.user_token("alice", 2);
    let mut texts: Vec<String> = Vec::new();

    // A login that works, a kick, an expired token, a malformed token, a dead server.
    m.login("alice".into(), good.clone(), None).await.unwrap();
    assert!(server.wait_online("alice", 1, WAIT).await);
    server.force_logout("alice", 2);
    rec.wait_for("kicked", |e| *e == Ev::Kicked).await;
    let expired = server.user_token("alice", 2);
    server.advance_clock(std::time::Duration::from_secs(91 * 86_400));
    let e1 = m
        .login("alice".into(), expired.clone(), None)
        .await
        .unwrap_err();
    let malformed = "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln".to_owned();
    let e2 = m
        .login("alice".into(), malformed.clone(), None)
        .await
        .unwrap_err();
    server.set_faults(Faults {
        dial_error: Some((1505, format!("echoing {malformed}"))),
        ..Faults::default()
    });
    let e3 = m
        .login("alice".into(), malformed.clone(), None)
        .await
        .unwrap_err();
    for e in [&e1, &e2, &e3] {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    assert!(matches!(e3, ImError::TokenInvalid { .. }));
    texts.push(format!("{cfg:?}"));
    texts.extend(rec.all().iter().map(|e| format!("{e:?}")));
    texts.extend(logs.0.lock().unwrap().iter().cloned());
    assert!(
        logs.0
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("imbridge")),
        "the SDK logged something at trace level"
    );
    for secret in [&good, &expired, &malformed] {
        for t in &texts {
            assert!(!t.contains(secret.as_str()), "token leaked in: {t}");
        }
    }
    drop(m);
    let _ = Arc::new(());
}

/// Proxy credentials, like tokens, never reach a log line, an error, an event or a
/// Debug string: neither through a working proxy nor a dead one.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_credentials_stay_out_of_logs_errors_and_debug_output() {
    let logs = capture();
    let server = server().await;
    let proxy = common::loopback::TestProxy::start().await;
    let (user, pass) = ("proxyuser7", "pr0xyPassw0rd");
    let mut texts: Vec<String> = Vec::new();
    for (url, ok) in [
        (format!("http://{user}:{pass}@{}", proxy.addr), true),
        (format!("socks5://{user}:{pass}@{}", proxy.addr), true),
        (format!("http://{user}:{pass}@127.0.0.1:1"), false),
    ] {
        let mut cfg = config(&server);
        cfg.login_timeout_ms = Some(1_000);
        cfg.proxy = Some(url);
        texts.push(format!("{cfg:?}"));
        let (m, rec) = manager(cfg);
        let r = m
            .login("alice".into(), server.user_token("alice", 2), None)
            .await;
        assert_eq!(r.is_ok(), ok, "{r:?}");
        if let Err(e) = &r {
            texts.push(format!("{e}"));
            texts.push(format!("{e:?}"));
        }
        m.logout(None).await.unwrap();
        texts.extend(rec.all().iter().map(|e| format!("{e:?}")));
    }
    assert_eq!(proxy.auth().len(), 4, "the proxy did get the credentials");
    texts.extend(logs.0.lock().unwrap().iter().cloned());
    assert!(texts.iter().any(|t| t.contains("proxy")), "{texts:?}");
    for t in &texts {
        assert!(
            !t.contains(pass) && !t.contains(user),
            "proxy credentials leaked in: {t}"
        );
    }
}
